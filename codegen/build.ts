import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ModelStructure } from '../src/structure/types.ts';
import { analyzeFile } from '../src/pipeline.ts';
import { cachePath, importModelClass, storeModule, type ModelClass } from './cache.ts';
import { emitModule, type EmittedModule } from './emit-module.ts';

/** One module per model of an analyzed file. */
export function emitAll(analyses: readonly { readonly structure: ModelStructure }[], sourceFile: string): EmittedModule[] {
  return analyses.map((a) => emitModule(a, sourceFile));
}

export type { GeneratedInstance, ModelClass } from './cache.ts';

/** Store a generated module in the cache (named by its content) and load its class. */
export async function loadModule(module: EmittedModule): Promise<ModelClass> {
  // Named by content: the same model gives the same file, and a changed model a new one.
  const hash = createHash('sha256').update(module.text).digest('hex').slice(0, 16);
  const path = cachePath(module.model, hash);
  storeModule(path, module.text);
  return importModelClass(path, module.model);
}

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
