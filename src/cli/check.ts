import { analyzeFiles } from './files.ts';
import { toJsonText } from './json.ts';
import { diagnosticsJson, EXIT, PROCESS_IO, printDiagnostics, type CliIo, type Format } from './output.ts';

export interface CheckOptions {
  format: Format;
  denyWarnings: boolean;
}

/** `implc check FILE...`: diagnostics only. */
export function runCheck(files: string[], options: CheckOptions, io: CliIo = PROCESS_IO): number {
  const { diagnostics, sources, unreadable } = analyzeFiles(files, io);
  if (options.format === 'json') io.stdout.write(`${toJsonText(diagnosticsJson(diagnostics)).text}\n`);
  else printDiagnostics(diagnostics, sources, io.stdout);
  if (unreadable) return EXIT.usage;
  const failing = diagnostics.some((d) => d.severity === 'error' || (options.denyWarnings && d.severity === 'warning'));
  return failing ? EXIT.errors : EXIT.ok;
}
