import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Analysis } from '../src/analysis/analyze.ts';
import { analyzeFile } from '../src/pipeline.ts';
import type { BatchInstance } from '../src/runtime/batch.ts';
import { emitModule, type EmittedModule } from './emit-module.ts';

/** One module per model of an analyzed file. */
export function emitAll(analyses: readonly Analysis[], sourceFile: string): EmittedModule[] {
  return analyses.map((a) => emitModule(a, sourceFile));
}

/**
 * Where `implc solve` puts the modules it loads: inside this package, so that their
 * `implc/runtime` import resolves to this very runtime (package self-reference).
 */
const CACHE = fileURLToPath(new URL('../.build/cache/', import.meta.url));

/** An instance of a generated class, as the runtime and callers that load it see it. */
export type GeneratedInstance = BatchInstance & {
  solve(options: object): unknown;
  /** The same model with some inputs replaced; values that do not depend on them are shared. */
  with(changes: Record<string, unknown>): GeneratedInstance;
};

/**
 * The generated class of a module, loaded through the running TypeScript loader; its
 * `modulePath` is the file it was loaded from (worker threads load it again from there).
 */
export type ModelClass = (new (inputs: Record<string, unknown>) => GeneratedInstance) & { readonly modulePath: string };

/** The module cache cannot be written (a read-only install, say): nothing was loaded. */
export class ModuleCacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleCacheError';
  }
}

export async function loadModule(module: EmittedModule): Promise<ModelClass> {
  // Named by content: the same model gives the same file, and a changed model a new one.
  const hash = createHash('sha256').update(module.text).digest('hex').slice(0, 16);
  const path = join(CACHE, `${module.model}-${hash}.ts`);
  try {
    mkdirSync(CACHE, { recursive: true });
    // Written whole under a temporary name, then renamed: a process solving the same model at
    // the same time never imports half a file. The name holds its content, so a file that is
    // there is the right one.
    if (!existsSync(path)) {
      const temporary = `${path}.${process.pid}-${randomUUID()}.tmp`;
      writeFileSync(temporary, module.text, { flag: 'wx' });
      renameSync(temporary, path);
    }
  } catch (e) {
    throw new ModuleCacheError(`cannot write the generated module to ${CACHE}: ${(e as Error).message}`);
  }
  const loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const cls = loaded[module.model] as ModelClass;
  if (!Object.prototype.hasOwnProperty.call(cls, 'modulePath')) Object.defineProperty(cls, 'modulePath', { value: path, enumerable: false });
  return cls;
}

/**
 * Compile one model of a file and load its generated class, as `implc solve` does: for
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
