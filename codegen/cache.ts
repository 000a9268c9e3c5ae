/**
 * The module cache of `implc solve` and of in-process compilation: generated modules written
 * inside this package, so that their `implc/runtime` import resolves to this very runtime
 * (package self-reference), and loaded through the running TypeScript loader.
 *
 * This file does not import the code generator: a solve whose module is already cached never
 * loads ts-morph (and the TypeScript compiler under it, 0.6 s of every start here).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BatchInstance } from '../src/runtime/batch.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, '.build', 'cache');

/** The module cache cannot be written (a read-only install, say): nothing was loaded. */
export class ModuleCacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleCacheError';
  }
}

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

/**
 * The cache file of model `model` whose module hashes to `hash`: the hash names it, and the
 * model's name (its first 40 characters: a file name holds at most 255 bytes) helps a reader.
 */
export function cachePath(model: string, hash: string): string {
  return join(CACHE, `${[...model].slice(0, 40).join('')}-${hash}.ts`);
}

/**
 * Write `text` to `path` unless a file is there: whole under a temporary name, then renamed,
 * so that a process solving the same model at the same time never imports half a file. Every
 * cache file is named by a hash of what determines its content, so a file that is there is
 * the right one.
 */
export function storeModule(path: string, text: string): void {
  try {
    mkdirSync(CACHE, { recursive: true });
    if (existsSync(path)) return;
    const temporary = `${path}.${process.pid}-${randomUUID()}.tmp`;
    writeFileSync(temporary, text, { flag: 'wx' });
    renameSync(temporary, path);
  } catch (e) {
    throw new ModuleCacheError(`cannot write the generated module to ${CACHE}: ${(e as Error).message}`);
  }
}

/** Import a cached module and return its class of model `model`. */
export async function importModelClass(path: string, model: string): Promise<ModelClass> {
  const loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const cls = loaded[model] as ModelClass;
  if (!Object.hasOwn(cls, 'modulePath')) Object.defineProperty(cls, 'modulePath', { value: path, enumerable: false });
  return cls;
}

let fingerprint: string | undefined;

/**
 * What the generated text depends on besides the model: the package's version and the size
 * and time of every source file of the compiler (codegen/, src/ but the runtime, grammar/),
 * so that a module cached before a change to the compiler is never taken for a new one.
 */
function compilerFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const hash = createHash('sha256');
  hash.update(readFileSync(join(ROOT, 'package.json')));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== join(ROOT, 'src', 'runtime')) walk(path);
      } else if (/\.(ts|js|ohm)$/.test(entry.name)) {
        const s = statSync(path);
        hash.update(`${path}\0${s.size}\0${s.mtimeMs}\n`);
      }
    }
  };
  for (const dir of ['codegen', 'src', 'grammar']) walk(join(ROOT, dir));
  return (fingerprint = hash.digest('hex'));
}

/**
 * The hash that names the module of model `model` of the file `file` whose text is `text`,
 * as this compiler generates it (for {@link cachePath}).
 */
export function sourceKey(file: string, text: string, model: string): string {
  const hash = createHash('sha256').update(compilerFingerprint()).update('\0').update(file).update('\0').update(model).update('\0').update(text);
  return `src-${hash.digest('hex').slice(0, 16)}`;
}
