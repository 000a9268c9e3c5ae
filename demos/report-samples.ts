/**
 * The first step of `npm start`: compile every sample model as `implc check` and `implc build`
 * do (analysis, then code generation), and classify each model for the report.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitAll } from '../codegen/build.ts';
import { analyzeFile } from '../src/pipeline.ts';
import type { SampleRow } from './report.ts';

/** The package root (where samples/ is). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** samples/*.impl, then samples/pathological/*.impl, each sorted; paths relative to the root. */
export function sampleFiles(root = ROOT): string[] {
  const list = (dir: string) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.impl'))
      .sort()
      .map((f) => `${dir}/${f}`);
  return [...list('samples'), ...list('samples/pathological')];
}

export interface CompiledSample {
  file: string;
  rows: SampleRow[];
  /** The error diagnostics of the file, rendered in one line each. */
  errors: string[];
  warnings: number;
  /** Generated modules: their total size in characters. */
  moduleChars: number;
}

/** Analyze one file and generate its modules (in memory; nothing is written). */
export function compileSample(file: string, root = ROOT): CompiledSample {
  const text = readFileSync(join(root, file), 'utf8');
  const name = relative(root, join(root, file));
  const result = analyzeFile(name, text);
  const errors = result.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => `${d.code} ${d.span.file}:${d.span.start.line}:${d.span.start.column}: ${d.message}`);
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning').length;
  if (errors.length) {
    return { file: name, rows: [{ file: name, model: '-', verdict: 'error', test: '-', guard: null, error: errors[0] }], errors, warnings, moduleChars: 0 };
  }
  const modules = emitAll(result.analyses, name);
  const rows: SampleRow[] = result.analyses.map((a) => ({
    file: name,
    model: a.model.name,
    verdict: a.certificate.verdict,
    test: a.certificate.test,
    guard: a.certificate.guard,
    definability: a.classes.definability,
    lipschitz: a.classes.lipschitz,
    B: a.B,
  }));
  return { file: name, rows, errors, warnings, moduleChars: modules.reduce((s, m) => s + m.text.length, 0) };
}

/** Every sample, compiled. */
export function compileSamples(root = ROOT): CompiledSample[] {
  return sampleFiles(root).map((f) => compileSample(f, root));
}
