import { existsSync } from 'node:fs';
import { cachePath, importModelClass, ModuleCacheError, sourceKey, storeModule, type ModelClass } from '../../codegen/cache.ts';
import type { SourceFile } from '../diagnostics/span.ts';
import { printable } from '../diagnostics/render.ts';
import { analyzeFile } from '../pipeline.ts';
import { InputError } from '../runtime/inputs.ts';
import { SolverError, type SolverErrorCode } from '../runtime/status.ts';
import { CliFileError, MAX_INPUT_BYTES, readModelFile, readTextFile } from './files.ts';
import { toJsonText } from './json.ts';
import { EXIT, PROCESS_IO, printDiagnostics, quoted, usageError, type CliIo } from './output.ts';

export interface SolveOptions {
  input: string;
  model?: string;
  jacobian: boolean;
  method: 'auto' | 'fixed-point' | 'anderson' | 'newton';
  tol?: number;
  maxIter?: number;
  /** Seconds. */
  timeLimit?: number;
  /** The module cache folder (codegen/cache.ts `cacheFolder`); default $IMPLC_CACHE_DIR, else the OS cache folder. */
  cacheDir?: string;
}

/**
 * How deep the input JSON may nest: the object of inputs, then one array level per dimension.
 * Checked on the text before JSON.parse, so that no later walk meets a deeper value.
 */
export const MAX_INPUT_DEPTH = 64;

/** The codes of a {@link SolverError} that blame the caller's inputs or options, not the numerics. */
const INPUT_ERROR_CODES: ReadonlySet<SolverErrorCode> = new Set(['invalid-option', 'dimension-mismatch', 'non-finite-input']);

/** What `solve` prints, as far as the command reads it (LANGUAGE.md "Command line"). */
interface SolveResult {
  status: string;
  /** `none` when no solve was made (a `require` clause on the inputs failed). */
  method?: string;
  /** With status 'assumption-failed': the `require` clauses that do not hold. */
  failedRequires?: { clause: string; at: string }[];
  certificate: { verdict: string; detail?: string };
  jacobian?: unknown;
  /** Paths of non-finite numbers the runtime found (status 'non-finite'). */
  nonFinite?: string[];
  /** Why the derivatives are missing, where the runtime says. */
  derivatives?: { status?: string; reason?: string; detail?: string };
}

/** `implc solve FILE --input IN.json`: solve, certify, differentiate; print the JSON of LANGUAGE.md. */
export async function runSolve(file: string, options: SolveOptions, io: CliIo = PROCESS_IO): Promise<number> {
  const text = readModelFile(file, io.stderr);
  if (text === null) return EXIT.usage;
  const result = analyzeFile(file, text);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    // stdout carries the JSON result only.
    printDiagnostics(errors, new Map<string, SourceFile>([[file, result.source]]), io.stderr);
    return EXIT.errors;
  }
  const names = result.analyses.map((a) => quoted(a.model.name));
  const analysis = options.model !== undefined ? result.analyses.find((a) => a.model.name === options.model) : result.analyses.length === 1 ? result.analyses[0] : undefined;
  if (!analysis) {
    usageError(
      options.model !== undefined
        ? `no model ${quoted(options.model)} in ${quoted(file)}; it has ${names.join(', ') || 'none'}`
        : result.analyses.length === 0
          ? `${quoted(file)} has no model`
          : `${quoted(file)} has several models (${names.join(', ')}): choose one with --model`,
      io.stderr,
    );
    return EXIT.usage;
  }
  const name = analysis.model.name;
  let inputs: Record<string, unknown>;
  try {
    inputs = readInputs(options.input);
  } catch (e) {
    if (!(e instanceof CliFileError)) throw e;
    usageError(e.message, io.stderr);
    return EXIT.usage;
  }

  let Model: ModelClass;
  try {
    // A module generated from this very text by this very compiler is loaded as it is: the
    // code generator (ts-morph, and the TypeScript compiler under it) is loaded only to make one.
    const path = cachePath(name, sourceKey(file, text, name), options.cacheDir);
    if (!existsSync(path)) {
      const { emitModule } = await import('../../codegen/emit-module.ts');
      storeModule(path, emitModule(analysis, file).text);
    }
    Model = await importModelClass(path, name);
  } catch (e) {
    if (!(e instanceof ModuleCacheError)) throw e;
    usageError(printable(e.message), io.stderr);
    return EXIT.usage;
  }
  let out: SolveResult;
  try {
    const instance = new Model(inputs);
    if ((options.method === 'fixed-point' || options.method === 'anderson') && (instance as { hasMap?: boolean }).hasMap === false) {
      usageError(
        `--method ${options.method} needs a fixpoint model (\`fixpoint y = ...\`); model ${quoted(name)} is given by \`solve\` equations: use --method newton or auto`,
        io.stderr,
      );
      return EXIT.usage;
    }
    // Hoisted data-only values are computed on first use, inside the solve: it can still
    // find a bad input.
    out = instance.solve(solveOptions(options)) as SolveResult;
  } catch (e) {
    const typed = typedError(e);
    if (typed?.blamesInput) {
      usageError(`invalid input for model ${name} [${typed.code}]: ${printable(typed.message)}`, io.stderr);
      return EXIT.usage;
    }
    if (typed) {
      // A numerical failure the runtime reports by throwing: no result to print.
      usageError(`solving model ${name} failed [${typed.code}]: ${printable(typed.message)}`, io.stderr);
      return EXIT.errors;
    }
    throw e;
  }

  const json = toJsonText(out);
  io.stdout.write(`${json.text}\n`);
  let code: number = out.status === 'converged' && out.certificate.verdict !== 'violated' ? EXIT.ok : EXIT.errors;
  const nonFinite = [...new Set([...(out.nonFinite ?? []), ...json.nonFinite])];
  if (nonFinite.length) {
    const shown = nonFinite.slice(0, 8).join(', ') + (nonFinite.length > 8 ? `, and ${nonFinite.length - 8} more` : '');
    usageError(`model ${name}: non-finite numbers in the result (written as strings): ${shown}`, io.stderr);
    code = EXIT.errors;
  }
  if (out.status === 'assumption-failed') {
    // One line naming the clause where the file shows it (`FILE:line:column`); the JSON lists every one.
    const [first, ...more] = out.failedRequires ?? [];
    const where = out.method === 'none' ? 'for these inputs' : 'at the solution';
    const clause = first ? `\`require ${printable(first.clause)}\` at ${printable(file)}:${first.at}` : 'a `require` clause';
    usageError(`model ${name}: assumption failed: ${clause} does not hold ${where}${more.length ? ` (and ${more.length} more clause${more.length > 1 ? 's' : ''})` : ''}; no certificate, no derivatives`, io.stderr);
  } else if (options.jacobian && out.jacobian === undefined) {
    usageError(`model ${name}: the Jacobian was requested but is unavailable: ${jacobianMissingReason(out)}`, io.stderr);
    code = EXIT.errors;
  }
  return code;
}

/** The options the CLI passes on, without the ones not given (the runtime checks every key it gets). */
function solveOptions(options: SolveOptions): Record<string, unknown> {
  const given: Record<string, unknown> = { method: options.method, jacobian: options.jacobian };
  if (options.tol !== undefined) given.tol = options.tol;
  if (options.maxIter !== undefined) given.maxIter = options.maxIter;
  if (options.timeLimit !== undefined) given.timeLimitMs = 1000 * options.timeLimit;
  return given;
}

/**
 * Read the input file: a regular UTF-8 file of at most MAX_INPUT_BYTES holding one JSON
 * object nested at most MAX_INPUT_DEPTH deep. Throws a CliFileError naming the file.
 */
export function readInputs(path: string): Record<string, unknown> {
  const text = readTextFile(path, 'input file', MAX_INPUT_BYTES);
  const fail = (reason: string) => new CliFileError(`cannot read inputs from ${quoted(path)}: ${reason}`);
  const depth = jsonDepth(text);
  if (depth > MAX_INPUT_DEPTH) throw fail(`arrays and objects nest ${depth} deep; at most ${MAX_INPUT_DEPTH}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw fail(`not JSON (${printable((e as Error).message)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw fail(`it holds ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}, not one JSON object keyed by input names`);
  }
  return parsed as Record<string, unknown>;
}

/** The deepest nesting of `[` and `{` in JSON text (brackets inside strings do not count). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, over escapes.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/** A typed error of the runtime, and whether it blames the inputs or options (exit 2). */
function typedError(e: unknown): { code: string; message: string; blamesInput: boolean } | null {
  if (e instanceof InputError || (e instanceof Error && e.name === 'InputError')) {
    return { code: String((e as { code?: unknown }).code ?? 'E0901'), message: e.message, blamesInput: true };
  }
  if (e instanceof SolverError || (e instanceof Error && e.name === 'SolverError')) {
    const code = String((e as { code?: unknown }).code);
    return { code, message: e.message, blamesInput: INPUT_ERROR_CODES.has(code as SolverErrorCode) };
  }
  return null;
}

function jacobianMissingReason(out: SolveResult): string {
  if (out.derivatives?.detail) return out.derivatives.reason ? `${out.derivatives.detail} [${out.derivatives.reason}]` : out.derivatives.detail;
  if (out.status === 'non-finite') return 'the result has non-finite numbers';
  if (out.status !== 'converged') return `the solve did not converge (${out.status})`;
  if (out.certificate.verdict === 'violated') return 'the certificate is violated: there is no implicit function here';
  return out.certificate.detail ?? 'the derivative solves failed';
}
