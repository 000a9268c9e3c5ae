/**
 * The module cache of `implc solve` and of in-process compilation (`compileModel`,
 * `loadModule`): generated modules written to the user's cache folder, never into the package
 * (an install may be read-only, and is shared).
 *
 *   folder   `--cache-dir` (solve), else $IMPLC_CACHE_DIR, else the OS cache folder
 *            ({@link defaultCacheDir}); in it one subfolder per runtime (a hash of the runtime's
 *            path), so that two installs, or the sources and the build of one, never share files
 *   runtime  a generated module imports `implc/runtime` by name. Each subfolder holds
 *            node_modules/implc: a package.json whose `exports["./runtime"]` points into
 *            `runtime`, a link to the runtime folder of the process that writes it (src/runtime
 *            under tsx, dist/src/runtime in the build). Node and Vite resolve the link to the real
 *            file, so the module shares the very runtime instance of its caller (its classes,
 *            `instanceof` included), and a package.json `{"type": "module"}` beside the modules
 *   loader   the modules are TypeScript: the sources already run under a TypeScript loader; the
 *            build registers tsx's (a dependency) on its first module, in this process only
 *
 * This file does not import the code generator: a solve whose module is already cached never
 * loads ts-morph (and the TypeScript compiler under it, 0.6 s of every start here).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BatchInstance } from '../src/runtime/batch.ts';

/** The compiled tree this file belongs to: the repository (sources) or dist/ (the build). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Whether this process runs the TypeScript sources (then under a TypeScript loader). */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
/** The runtime folder generated modules must share, and its entry file. */
const RUNTIME_DIR = fileURLToPath(new URL('../src/runtime', import.meta.url));
const RUNTIME_ENTRY = FROM_SOURCES ? 'index.ts' : 'index.js';

/**
 * The OS cache folder of implc: %LOCALAPPDATA%\implc\Cache on Windows, ~/Library/Caches/implc
 * on macOS, $XDG_CACHE_HOME/implc elsewhere ($XDG_CACHE_HOME when set to an absolute path, as the
 * XDG base directory specification asks, else ~/.cache).
 */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env, platform: string = process.platform, home: string = homedir()): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'implc', 'Cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'implc');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'implc');
}

/**
 * The folder of this runtime's modules under cache folder `dir` (default $IMPLC_CACHE_DIR, else
 * {@link defaultCacheDir}).
 */
export function cacheFolder(dir?: string): string {
  const base = resolve(dir ?? (process.env.IMPLC_CACHE_DIR || defaultCacheDir()));
  const key = createHash('sha256').update(`${RUNTIME_DIR}\0${RUNTIME_ENTRY}`).digest('hex').slice(0, 12);
  return join(base, `runtime-${key}`);
}

/** The module cache cannot be written (a read-only cache folder, say): nothing was loaded. */
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
 * The cache file of model `model` whose module hashes to `hash`, in cache folder `dir` (see
 * {@link cacheFolder}): the hash names it, and the model's name (its first 40 characters: a file
 * name holds at most 255 bytes) helps a reader.
 */
export function cachePath(model: string, hash: string, dir?: string): string {
  return join(cacheFolder(dir), `${[...model].slice(0, 40).join('')}-${hash}.ts`);
}

/**
 * Write `text` to `path` unless a file is there: whole under a temporary name, then renamed,
 * so that a process solving the same model at the same time never imports half a file. Every
 * cache file is named by a hash of what determines its content, so a file that is there is
 * the right one.
 */
export function storeModule(path: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) return;
    const temporary = `${path}.${process.pid}-${randomUUID()}.tmp`;
    writeFileSync(temporary, text, { flag: 'wx' });
    renameSync(temporary, path);
  } catch (e) {
    throw new ModuleCacheError(`cannot write the generated module to ${dirname(path)}: ${(e as Error).message}`);
  }
}

/**
 * Make `implc/runtime` resolve, from the modules of cache folder `folder`, to this process's
 * runtime: node_modules/implc there, a package.json and a link `runtime` to the runtime folder
 * (a junction on Windows, which needs no privilege). Made whole under a temporary name and
 * renamed; a concurrent process that made it first wins, and its link is the same.
 */
function linkRuntime(folder: string): void {
  const scope = join(folder, 'package.json');
  const pkg = join(folder, 'node_modules', 'implc');
  if (existsSync(scope) && existsSync(join(pkg, 'runtime', RUNTIME_ENTRY))) return;
  const temporary = `${pkg}.${process.pid}-${randomUUID()}.tmp`;
  try {
    // The modules are ES modules: without this, a loader takes a .ts file outside any package
    // scope for CommonJS.
    if (!existsSync(scope)) writeModuleScope(scope);
    mkdirSync(temporary, { recursive: true });
    const manifest = { name: 'implc', private: true, type: 'module', exports: { './runtime': `./runtime/${RUNTIME_ENTRY}` } };
    writeFileSync(join(temporary, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    symlinkSync(RUNTIME_DIR, join(temporary, 'runtime'), 'junction');
    // A link left by a runtime since removed (same path, so same folder) is replaced.
    if (existsSync(pkg)) rmSync(pkg, { recursive: true, force: true });
    renameSync(temporary, pkg);
  } catch (e) {
    rmSync(temporary, { recursive: true, force: true });
    if (existsSync(scope) && existsSync(join(pkg, 'runtime', RUNTIME_ENTRY))) return;
    throw new ModuleCacheError(`cannot link the runtime into ${folder}: ${(e as Error).message}`);
  }
}

/** `{"type": "module"}` at `path`, written whole under a temporary name, then renamed. */
function writeModuleScope(path: string): void {
  const temporary = `${path}.${process.pid}-${randomUUID()}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ private: true, type: 'module' })}\n`, { flag: 'wx' });
  renameSync(temporary, path);
}

let loader: Promise<void> | undefined;

/** The build runs plain JavaScript: tsx's loader, registered once, imports the TypeScript modules. */
function typeScriptLoader(): Promise<void> {
  loader ??= FROM_SOURCES ? Promise.resolve() : import('tsx/esm/api').then(({ register }) => void register());
  return loader;
}

/** Import a cached module and return its class of model `model`. */
export async function importModelClass(path: string, model: string): Promise<ModelClass> {
  linkRuntime(dirname(path));
  await typeScriptLoader();
  const loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const cls = loaded[model] as ModelClass;
  if (!Object.hasOwn(cls, 'modulePath')) Object.defineProperty(cls, 'modulePath', { value: path, enumerable: false });
  return cls;
}

let fingerprint: string | undefined;

/**
 * What the generated text depends on besides the model: the package's version and the path,
 * size and time of every file of the compiler (codegen/, src/ but the runtime, grammar/; of the
 * sources or of the build, whichever runs), so that a module cached before a change to the
 * compiler is never taken for a new one.
 */
function compilerFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const hash = createHash('sha256');
  // package.json is beside the sources' tree, one folder above the build's (dist/).
  const manifest = [join(ROOT, 'package.json'), join(ROOT, '..', 'package.json')].find((p) => existsSync(p));
  if (manifest) hash.update(readFileSync(manifest));
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
  for (const dir of ['codegen', 'src', 'grammar']) if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir));
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
