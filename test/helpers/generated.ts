import { readFileSync } from 'node:fs';
import { loadModule, type ModelClass } from '../../codegen/build.ts';
import { emitModule } from '../../codegen/emit-module.ts';
import { analyzeFile } from '../../src/pipeline.ts';

/** The generated class of one model of a file, compiled and loaded as `implc solve` does. */
export async function generatedClass(file: string, model?: string, text = readFileSync(file, 'utf8')): Promise<ModelClass> {
  const r = analyzeFile(file, text);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map((d) => d.message).join('\n'));
  const a = model ? r.analyses.find((x) => x.model.name === model) : r.analyses[0];
  if (!a) throw new Error(`no model ${model} in ${file}`);
  return loadModule(emitModule(a, file));
}

/** Rows of a CSV file with a header: the header and the numeric rows. */
export function readCsv(path: string): { header: string[]; rows: number[][] } {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  return { header: head.split(','), rows: lines.map((l) => l.split(',').map(Number)) };
}

/** Columns standardized to mean 0 and unit variance; the target centered. */
export function standardize(rows: number[][]): number[][] {
  const p = rows[0].length;
  const mean = Array.from({ length: p }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
  const sd = Array.from({ length: p }, (_, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / rows.length) || 1);
  return rows.map((r) => r.map((v, j) => (v - mean[j]) / sd[j]));
}
