import pc from 'picocolors';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { printable, renderSummary, renderText, toJson } from '../diagnostics/render.ts';
import type { SourceFile } from '../diagnostics/span.ts';

export type Format = 'text' | 'json';

/** Colors only on a terminal, and never when NO_COLOR is set (picocolors decides). */
export const useColor = pc.isColorSupported && Boolean(process.stdout.isTTY);

/**
 * Exit codes of every command (README "Command line"). `internal` (70, EX_SOFTWARE of
 * sysexits.h) is a bug of implc itself: an exception no command expected.
 */
export const EXIT = { ok: 0, errors: 1, usage: 2, internal: 70 } as const;

/** Where a command writes: anything with `write(text)` (process streams, or a buffer in tests). */
export interface Writer {
  write(text: string): unknown;
}

/** The two output streams of one run of the command line. */
export interface CliIo {
  stdout: Writer;
  stderr: Writer;
}

export const PROCESS_IO: CliIo = { stdout: process.stdout, stderr: process.stderr };

export function printDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>, out: Writer = process.stdout): void {
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
export function usageError(message: string, err: Writer = process.stderr): void {
  err.write(`${pc.createColors(useColor).red('error')}: ${message}\n`);
}

/**
 * A path (or any name from the user) as messages print it: in backticks, with control
 * characters escaped, so that a name holding a newline or a terminal escape prints as text.
 */
export function quoted(name: string): string {
  return `\`${printable(name)}\``;
}

