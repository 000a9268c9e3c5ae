import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import type { SourceFile } from '../diagnostics/span.ts';
import { analyzeFile } from '../pipeline.ts';
import { readModelFile } from './files.ts';
import { diagnosticsJson, EXIT, PROCESS_IO, printDiagnostics, type CliIo, type Format } from './output.ts';

export interface CheckOptions {
  format: Format;
  denyWarnings: boolean;
}

/** `implc check FILE...`: diagnostics only. */
export function runCheck(files: string[], options: CheckOptions, io: CliIo = PROCESS_IO): number {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceFile>();
  let unreadable = false;
  for (const file of files) {
    const text = readModelFile(file, io.stderr);
    if (text === null) {
      unreadable = true;
      continue;
    }
    const result = analyzeFile(file, text);
    sources.set(file, result.source);
    diagnostics.push(...result.diagnostics);
  }
  if (options.format === 'json') io.stdout.write(`${JSON.stringify(diagnosticsJson(diagnostics), null, 2)}\n`);
  else printDiagnostics(diagnostics, sources, io.stdout);
  if (unreadable) return EXIT.usage;
  const failing = diagnostics.some((d) => d.severity === 'error' || (options.denyWarnings && d.severity === 'warning'));
  return failing ? EXIT.errors : EXIT.ok;
}
