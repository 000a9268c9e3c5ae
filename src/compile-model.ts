/**
 * The whole pipeline for one model, in process: front end, analysis, code generation, and the
 * generated class loaded through the module cache. It lives here, above codegen: codegen reads
 * the analysis's structure and imports nothing from it.
 */
import { readFileSync } from 'node:fs';
import { loadModule, type ModelClass } from '../codegen/build.ts';
import { emitModule } from '../codegen/emit-module.ts';
import { analyzeFile } from './pipeline.ts';

/**
 * Compile one model of a file (the first, unless named) and load its generated class through
 * the module cache, as `implc solve` does on a cache miss (solve keys its cache by the source
 * instead, see cache.ts `sourceKey`): for
 * demos, tests and benchmarks that use the generated modules in process.
 */
export async function compileModel(file: string, model?: string, text = readFileSync(file, 'utf8')): Promise<ModelClass> {
  const r = analyzeFile(file, text);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`${file}: ${errors.map((d) => d.message).join('; ')}`);
  const a = model ? r.analyses.find((x) => x.model.name === model) : r.analyses[0];
  if (!a) throw new Error(`no model ${model} in ${file}`);
  return loadModule(emitModule(a, file));
}
