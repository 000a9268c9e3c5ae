// package.json's `exports`: every path exists (in dist/ after `npm run build`, which `npm test`
// runs first), and `implc` loads by its package name.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
type Target = string | { [condition: string]: Target };
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, Target>; bin: Record<string, string> };
/** Every file path of a conditional export target. */
const targets = (t: Target): string[] => (typeof t === 'string' ? [t] : Object.values(t).flatMap(targets));

describe('package.json', () => {
  it('every path in exports and bin exists', () => {
    const paths = [...Object.values(pkg.exports).flatMap(targets), ...Object.values(pkg.bin)];
    expect(paths.length).toBeGreaterThanOrEqual(5);
    expect(paths.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });

  it('`implc` and `implc/runtime` load by package name and give the compiler and the runtime', async () => {
    // Imported the way a user's code imports them: by name, resolved by package self-reference.
    // Typed by the build's declarations (dist/**/*.d.ts), as a user's code is.
    const api = await import('implc');
    const runtime = await import('implc/runtime');
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

  it('and so does plain Node, with no TypeScript loader, outside the test runner', () => {
    const script = "const api = await import('implc'); const rt = await import('implc/runtime'); console.log(typeof api.analyzeFile, typeof api.emitModule, typeof rt.solveInstance);";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function function');
  });
});
