import pc from 'picocolors';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { renderSummary, renderText, toJson } from '../diagnostics/render.ts';
import type { SourceFile } from '../diagnostics/span.ts';

export type Format = 'text' | 'json';

/** Colors only on a terminal, and never when NO_COLOR is set (picocolors decides). */
export const useColor = pc.isColorSupported && Boolean(process.stdout.isTTY);

/** Exit codes of every command (README "Command line"). */
export const EXIT = { ok: 0, errors: 1, usage: 2 } as const;

export function printDiagnostics(
  diagnostics: readonly Diagnostic[],
  sources: ReadonlyMap<string, SourceFile>,
  out: NodeJS.WritableStream = process.stdout,
): void {
  for (const d of diagnostics) {
    out.write(`${renderText(d, sources.get(d.span.file), { color: useColor })}\n\n`);
  }
  const summary = renderSummary(diagnostics, { color: useColor });
  if (summary) out.write(`${summary}\n`);
}

export function diagnosticsJson(diagnostics: readonly Diagnostic[]) {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  return { diagnostics: diagnostics.map(toJson), errors, warnings: diagnostics.length - errors };
}

/** A failure of the command itself (not of the model): message on stderr. */
export function usageError(message: string): void {
  process.stderr.write(`${pc.createColors(useColor).red('error')}: ${message}\n`);
}
