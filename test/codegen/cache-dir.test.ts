// Where the module cache of `implc solve` lives (issue 17): the OS cache folder, or
// IMPLC_CACHE_DIR, or `--cache-dir`; never the package. And how a module there reaches the
// runtime: node_modules/implc in the folder links to the runtime of the process that wrote it.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheFolder, cachePath, defaultCacheDir, sourceKey } from '../../codegen/cache.ts';
import { implcInProcess, scratch } from '../cli/in-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { dir, file } = scratch('implc-cache-dir-');
const MODEL = 'model CacheDirProbe {\n  param x: real\n  unknown y: real = 0\n  fixpoint y = 0.5 * y + x\n}\n';

describe('the default cache folder', () => {
  it('follows each OS: XDG on Linux (absolute values only), Library/Caches on macOS, LOCALAPPDATA on Windows', () => {
    expect(defaultCacheDir({}, 'linux', '/home/u')).toBe('/home/u/.cache/implc');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/var/cache/u' }, 'linux', '/home/u')).toBe('/var/cache/u/implc');
    // The XDG specification: a relative path is invalid and ignored.
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u')).toBe('/home/u/.cache/implc');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' }, 'darwin', '/Users/u')).toBe('/Users/u/Library/Caches/implc');
    expect(defaultCacheDir({ LOCALAPPDATA: 'C:/Users/u/AppData/Local' }, 'win32', 'C:/Users/u')).toBe(join('C:/Users/u/AppData/Local', 'implc', 'Cache'));
    expect(defaultCacheDir({}, 'win32', 'C:/Users/u')).toBe(join('C:/Users/u', 'AppData', 'Local', 'implc', 'Cache'));
  });
});

describe('the cache folder chosen', () => {
  const saved = process.env.IMPLC_CACHE_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.IMPLC_CACHE_DIR;
    else process.env.IMPLC_CACHE_DIR = saved;
  });

  it('IMPLC_CACHE_DIR moves it, an explicit folder wins over it, and neither is in the package', () => {
    process.env.IMPLC_CACHE_DIR = join(dir, 'env');
    expect(cacheFolder().startsWith(join(dir, 'env'))).toBe(true);
    expect(cacheFolder(join(dir, 'explicit')).startsWith(join(dir, 'explicit'))).toBe(true);
    delete process.env.IMPLC_CACHE_DIR;
    expect(cacheFolder().startsWith(root)).toBe(false);
  });

  it('implc solve --cache-dir writes the module there, linked to this runtime, and a second solve reuses it', async () => {
    const model = file('probe.impl', MODEL);
    const inputs = file('x.json', '{"x": 2}');
    const cache = join(dir, 'solve-cache');
    const first = await implcInProcess(['solve', model, '--input', inputs, '--cache-dir', cache]);
    expect(first.code, first.stderr).toBe(0);
    // y = 0.5 y + x at x = 2: y = 4.
    expect(JSON.parse(first.stdout).solution.y).toBeCloseTo(4, 9);
    const path = cachePath('CacheDirProbe', sourceKey(model, MODEL, 'CacheDirProbe'), cache);
    expect(existsSync(path)).toBe(true);
    const folder = cacheFolder(cache);
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')).type).toBe('module');
    // The link resolves to the runtime these tests run (the sources).
    expect(realpathSync(join(folder, 'node_modules', 'implc', 'runtime', 'index.ts'))).toBe(realpathSync(join(root, 'src', 'runtime', 'index.ts')));
    const made = statSync(path).mtimeMs;
    const second = await implcInProcess(['solve', model, '--input', inputs, '--cache-dir', cache]);
    expect(second.stdout).toBe(first.stdout);
    expect(statSync(path).mtimeMs).toBe(made);
  });

  it('--cache-dir with an empty path is a usage error', async () => {
    const r = await implcInProcess(['solve', file('e.impl', MODEL), '--input', file('e.json', '{"x": 1}'), '--cache-dir', '']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cache-dir/);
  });
});
