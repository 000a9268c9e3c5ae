import { createHash } from 'node:crypto';
import type { ModelStructure } from '../src/structure/types.ts';
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
