// package.json's `exports`: every path exists, and `implc` loads by its package name.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string>; bin: Record<string, string> };

describe('package.json', () => {
  it('every path in exports and bin exists', () => {
    const paths = [...Object.values(pkg.exports), ...Object.values(pkg.bin)];
    expect(paths.length).toBeGreaterThanOrEqual(3);
    expect(paths.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });

  it('`implc` and `implc/runtime` load by package name and give the compiler and the runtime', async () => {
    // Imported the way a user's code imports them: by name, resolved by package self-reference.
    const api = (await import('implc')) as typeof import('../../src/index.ts');
    const runtime = (await import('implc/runtime')) as typeof import('../../src/runtime/index.ts');
    const text = 'model Half {\n  param x: real\n  unknown y: real = 0\n  fixpoint y = 0.5 * y + x\n}\n';
    const analyzed = api.analyzeFile('half.impl', text);
    expect(analyzed.diagnostics).toEqual([]);
    const module = api.emitModule(analyzed.analyses[0], 'half.impl');
    expect(module.text).toContain(`from "${api.RUNTIME_IMPORT}"`);
    expect(api.CATALOG.E0108.title).toBe('duplicate model');
    expect(typeof api.runCli).toBe('function');
    expect(typeof runtime.runModel).toBe('function');
    expect(typeof runtime.InputError).toBe('function');
  });

  it('and so does plain Node with the tsx loader, outside the test runner', () => {
    const script = "const api = await import('implc'); const rt = await import('implc/runtime'); console.log(typeof api.analyzeFile, typeof api.emitModule, typeof rt.solveInstance);";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function function');
  });
});
