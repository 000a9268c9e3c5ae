// The text the CLI prints for one file's diagnostics (src/cli/output.ts printDiagnostics):
// each diagnostic rendered without color and followed by a blank line, then the summary.
import { analyzeFile } from '../../src/pipeline.ts';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.ts';
import { renderSummary, renderText } from '../../src/diagnostics/render.ts';
import type { SourceFile } from '../../src/diagnostics/span.ts';

export function renderDiagnostics(diagnostics: readonly Diagnostic[], source: SourceFile): string {
  let out = '';
  for (const d of diagnostics) out += `${renderText(d, d.span.file === source.name ? source : undefined, { color: false })}\n\n`;
  const summary = renderSummary(diagnostics, { color: false });
  if (summary) out += `${summary}\n`;
  return out;
}

/** Check one file's text under `fileName` and render all its diagnostics as `implc check` does. */
export function renderFile(fileName: string, text: string): string {
  // The whole pipeline: the analysis's W04xx and W05xx diagnostics are golden too.
  const result = analyzeFile(fileName, text);
  return renderDiagnostics(result.diagnostics, result.source);
}
