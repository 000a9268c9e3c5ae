// `implc demo` as users run it (a subprocess), the demo registry, and the first step of
// `npm start` (every sample compiled and classified).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEMO_NAMES, DEMOS, findDemo } from '../../demos/index.ts';
import { compileSamples, sampleFiles } from '../../demos/report-samples.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin/implc.js');

function implc(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const NAMES = ['lasso', 'deq', 'qp', 'pathological', 'group-lasso', 'cone-layers'];

describe('implc demo', () => {
  it('--list lists the six demos, one a line', async () => {
    const r = await implc(['demo', '--list']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const names = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(NAMES);
  });

  it('exits 2 with a message for an unknown demo', async () => {
    const r = await implc(['demo', 'nosuch']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no demo `nosuch`');
    for (const n of NAMES) expect(r.stderr).toContain(n);
  });

  it('exits 2 without a name', async () => {
    const r = await implc(['demo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--list');
  });

  it('documents the report page in its help', async () => {
    const r = await implc(['demo', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--list');
    expect(r.stdout).toContain('<name>.html');
  });
});

describe('the demo registry', () => {
  it('has the six demos in the order npm start runs them', () => {
    expect(DEMO_NAMES).toEqual(NAMES);
    expect(DEMOS.map((d) => d.name)).toEqual(NAMES);
    expect(findDemo('deq')?.name).toBe('deq');
    expect(findDemo('nosuch')).toBeUndefined();
  });
});

describe('npm start, step 1: the samples', () => {
  it('compiles every sample and classifies every model', () => {
    const files = sampleFiles();
    expect(files).toContain('samples/deq.impl');
    expect(files.some((f) => f.startsWith('samples/pathological/'))).toBe(true);
    const compiled = compileSamples();
    expect(compiled.map((c) => c.file)).toEqual(files);
    for (const c of compiled) {
      expect(c.errors, c.file).toEqual([]);
      expect(c.rows.length, c.file).toBeGreaterThan(0);
      expect(c.moduleChars, c.file).toBeGreaterThan(0);
    }
    const rows = compiled.flatMap((c) => c.rows);
    const deq = rows.find((r) => r.file === 'samples/deq.impl');
    expect(deq).toMatchObject({ verdict: 'guarded', test: 'contraction', guard: 'opnorm(W) < 1', definability: 'semialgebraic' });
    expect(deq?.B).toBe('I - D_relu * W');
    for (const r of rows) expect(['certified', 'guarded', 'runtime', 'violated', 'unverified'], r.model).toContain(r.verdict);
    expect(rows.find((r) => r.model === 'AbsKink')).toMatchObject({ verdict: 'violated', test: 'counterexample', guard: null });
  });
});
