import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitAll, loadModule } from '../../codegen/build.ts';
import { cachePath, sourceKey } from '../../codegen/cache.ts';
import { emitModule } from '../../codegen/emit-module.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import { implcInProcess } from '../cli/in-process.ts';

const sampleFiles = [
  ...readdirSync('samples').filter((f) => f.endsWith('.impl')).map((f) => `samples/${f}`),
  ...readdirSync('samples/pathological').filter((f) => f.endsWith('.impl')).map((f) => `samples/pathological/${f}`),
];
const emit = (file: string) => emitAll(analyzeFile(file, readFileSync(file, 'utf8')).analyses, file);

describe('generated modules', () => {
  it('type-check under strict TypeScript, importing implc/runtime by package name', () => {
    // Inside the package, so that `implc/runtime` resolves by self-reference.
    mkdirSync('.build', { recursive: true });
    const dir = mkdtempSync('.build/typecheck-');
    try {
      const names: string[] = [];
      for (const file of sampleFiles) {
        for (const m of emit(file)) {
          expect(m.text).toContain("from \"implc/runtime\"");
          writeFileSync(join(dir, m.fileName), m.text);
          names.push(m.fileName);
        }
      }
      expect(names.length).toBeGreaterThanOrEqual(sampleFiles.length);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['./*.ts'] }));
      const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', dir], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are deterministic: the same model gives the same bytes', () => {
    for (const file of sampleFiles) {
      const first = emit(file).map((m) => m.text);
      const second = emit(file).map((m) => m.text);
      expect(second).toEqual(first);
    }
  });

  it('show F, B and the solver by name, with the verdict in the doc comment', () => {
    const [deq] = emit('samples/deq.impl');
    expect(deq.text).toContain('Verdict: guarded (contraction), guard `opnorm(W) < 1`');
    for (const name of ['residual(', 'jvpY(', 'vjpY(', 'jvpX(', 'vjpX(', 'kinkFactors(', 'guardBound(', 'solve(']) expect(deq.text).toContain(name);
    expect(deq.text).toContain('K.relu(');
  });
});

describe('implc build', () => {
  it('writes one module per model', () => {
    mkdirSync('.build', { recursive: true });
    const dir = mkdtempSync('.build/out-');
    try {
      const r = spawnSync(process.execPath, ['bin/implc.js', 'build', 'samples/pathological/relu_unit_weight.impl', '-o', dir], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['ReluUnitWeight.ts', 'ReluWeightParam.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the module cache of implc solve', () => {
  it('writes each module whole under a temporary name, then renames it; a module there is reused as it is', async () => {
    const text = 'model CacheProbe {\n  param x: real\n  unknown y: real = 0\n  fixpoint y = 0.5 * y + x\n}\n';
    const emitted = emitModule(analyzeFile('probe.impl', text).analyses[0], 'probe.impl');
    // Removed first: a module left by an earlier run would skip the write under test.
    rmSync(cachePath('CacheProbe', createHash('sha256').update(emitted.text).digest('hex').slice(0, 16)), { force: true });
    const loaded = await Promise.all([loadModule(emitted), loadModule(emitted)]);
    const path = loaded[0].modulePath;
    expect(loaded[1].modulePath).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(emitted.text);
    expect(readdirSync(dirname(path)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const before = statSync(path).mtimeMs;
    await loadModule(emitted);
    expect(statSync(path).mtimeMs).toBe(before);
  });
});

describe('the source-keyed cache of implc solve', () => {
  it('names files a file system can hold, whatever the model is called (300 letters, Greek)', () => {
    for (const model of ['M'.repeat(300), 'λ'.repeat(300)]) {
      const name = basename(cachePath(model, sourceKey('m.impl', 'text', model)));
      expect(Buffer.byteLength(name)).toBeLessThan(255);
      expect(name.startsWith(model.slice(0, 40))).toBe(true);
    }
  });


  it('names a module by the compiler, the file, the model and the text; a second solve reuses it as it is', async () => {
    const text = 'model KeyProbe {\n  param x: real\n  unknown y: real = 0\n  fixpoint y = 0.25 * y + x\n}\n';
    const key = sourceKey('probe.impl', text, 'KeyProbe');
    expect(sourceKey('probe.impl', text, 'KeyProbe')).toBe(key);
    expect(sourceKey('other.impl', text, 'KeyProbe')).not.toBe(key);
    expect(sourceKey('probe.impl', `${text} `, 'KeyProbe')).not.toBe(key);
    expect(sourceKey('probe.impl', text, 'Other')).not.toBe(key);
    const dir = mkdtempSync(join(tmpdir(), 'implc-key-'));
    try {
      const file = join(dir, 'probe.impl');
      writeFileSync(file, text);
      writeFileSync(join(dir, 'x.json'), '{"x": 3}');
      const solve = () => implcInProcess(['solve', file, '--input', join(dir, 'x.json')]);
      const first = await solve();
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout).solution.y).toBeCloseTo(4, 9);
      const path = cachePath('KeyProbe', sourceKey(file, text, 'KeyProbe'));
      const made = statSync(path).mtimeMs;
      const second = await solve();
      expect(second.stdout).toBe(first.stdout);
      expect(statSync(path).mtimeMs).toBe(made);
      // The folder is new each run, so is the key: leave no module behind.
      rmSync(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
