import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import type { SourceFile } from '../diagnostics/span.ts';
import { analyzeFile, type AnalyzedFile } from '../pipeline.ts';
import { quoted, usageError, type CliIo, type Writer } from './output.ts';

/**
 * The largest model file the commands read (512 KiB). A model is text a person writes, and the
 * parser (Ohm, memoizing every rule at every position) needs up to 6 KB of memory per byte of
 * dense expressions: 2.9 GB for 500 KB of `y+y+...`, against a 4 GB heap. A bigger file is
 * refused at once rather than left to run out of memory after a minute.
 */
export const MAX_MODEL_BYTES = 512 * 1024;

/** The largest input file `solve` reads (256 MiB of JSON, some 10^7 numbers). */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** A file the command line cannot read or write; its message names the file and says why. */
export class CliFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFileError';
  }
}

/** The reason of a failed system call, in words (the errno code where it has none here). */
export function systemReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Read a regular file of at most `maxBytes` bytes as UTF-8 text, or throw a
 * {@link CliFileError} naming it. Never blocks: a FIFO, a device (/dev/zero), a socket or a
 * directory is refused from its `fstat` before anything is read (the file is opened
 * non-blocking, so opening a FIFO with no writer returns at once). Files that report no
 * size (procfs) are read up to the limit and refused past it. A UTF-8 byte order mark is kept:
 * the front end decides what it means.
 */
export function readTextFile(path: string, what: string, maxBytes: number): string {
  const fail = (reason: string) => new CliFileError(`cannot read ${what} ${quoted(path)}: ${reason}`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fail(systemReason(e));
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw fail('it is a directory');
    if (!stat.isFile()) throw fail('not a regular file (a FIFO, a device or a socket)');
    if (stat.size > maxBytes) throw fail(`${stat.size} bytes, over the limit of ${maxBytes}`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        throw fail(systemReason(e));
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw fail(`over the limit of ${maxBytes} bytes`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks, total));
    } catch {
      throw fail('not UTF-8 text');
    }
  } finally {
    closeSync(fd);
  }
}

/** Read a model file; report an unreadable one as a usage error (on `err`) instead of throwing. */
export function readModelFile(path: string, err: Writer = process.stderr): string | null {
  try {
    return readTextFile(path, 'model file', MAX_MODEL_BYTES);
  } catch (e) {
    if (!(e instanceof CliFileError)) throw e;
    usageError(e.message, err);
    return null;
  }
}

/** Each readable model file, analyzed: what `check` and `build` report from. */
export interface AnalyzedFiles {
  results: { file: string; result: AnalyzedFile }[];
  sources: Map<string, SourceFile>;
  diagnostics: Diagnostic[];
  /** Some file could not be read (its error is printed): exit 2. */
  unreadable: boolean;
}

/** Read and analyze each file once (a path listed twice is read once). */
export function analyzeFiles(files: readonly string[], io: CliIo): AnalyzedFiles {
  const out: AnalyzedFiles = { results: [], sources: new Map(), diagnostics: [], unreadable: false };
  for (const file of new Set(files)) {
    const text = readModelFile(file, io.stderr);
    if (text === null) {
      out.unreadable = true;
      continue;
    }
    const result = analyzeFile(file, text);
    out.results.push({ file, result });
    out.sources.set(file, result.source);
    out.diagnostics.push(...result.diagnostics);
  }
  return out;
}
