// Models with outputs only (issue 15): an explicit map params/data -> outputs, no unknown, no
// B; differentiated by AD, certificate test `explicit`, its kinks reported in outputKinks.
import { writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import { implcInProcess } from '../cli/in-process.ts';

type Instance = ModelInstance & { solve(o?: object): RunResult };

const simplexLayer = `model L {
  dim n
  param theta: real[n]
  data tau: real
  output p = proj_simplex(theta / tau)
}`;
const reluLayer = `model R {
  dim n
  param theta: real[n]
  data tau: real
  output p = relu(theta / tau)
}`;

/** Sparsemax by sorting (Martins and Astudillo 2016), independent of the runtime's kernel. */
function sparsemax(v: number[]): number[] {
  const s = [...v].sort((a, b) => b - a);
  let sum = 0;
  let tau = 0;
  for (let k = 0; k < s.length; k++) {
    sum += s[k];
    const t = (sum - 1) / (k + 1);
    if (s[k] > t) tau = t;
  }
  return v.map((x) => Math.max(x - tau, 0));
}

mkdirSync('.build', { recursive: true });
const dir = mkdtempSync('.build/explicit-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('explicit layers', () => {
  it('proj_simplex(theta / tau): outputs, certificate `explicit`, Jacobian against finite differences and the sparsemax formula', async () => {
    const C = (await compileModel('l.impl', undefined, simplexLayer)) as unknown as new (x: object) => Instance;
    const theta = [0.9, 0.35, -0.4, 0.6];
    const tau = 0.5;
    const r = new C({ theta, tau }).solve();
    expect(r.status).toBe('converged');
    expect(r.method).toBe('none');
    expect(r.solution).toEqual({});
    expect(r.certificate.verdict).toBe('certified');
    expect(r.certificate.test).toBe('explicit');
    const p = r.outputs.p as unknown as number[];
    const want = sparsemax(theta.map((t) => t / tau));
    p.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-12));
    const J = r.gradients!.p.theta as number[][];
    expect([J.length, J[0].length]).toEqual([4, 4]);
    // Sparsemax Jacobian (diag(s) - s s^T / |S|) / tau, S the support.
    const S = want.map((v) => (v > 0 ? 1 : 0));
    const size = S.reduce((a: number, b) => a + b, 0);
    const h = 1e-6;
    for (let j = 0; j < 4; j++) {
      const plus = sparsemax(theta.map((t, i) => (t + (i === j ? h : 0)) / tau));
      const minus = sparsemax(theta.map((t, i) => (t - (i === j ? h : 0)) / tau));
      for (let i = 0; i < 4; i++) {
        const formula = ((i === j ? S[i] : 0) - (S[i] * S[j]) / size) / tau;
        expect(Math.abs(J[i][j] - formula)).toBeLessThan(1e-12);
        expect(Math.abs(J[i][j] - (plus[i] - minus[i]) / (2 * h))).toBeLessThan(1e-6 * Math.max(1, Math.abs(formula)));
      }
    }
  });

  it('relu(theta / tau): a kink of the output at a zero of theta is reported in outputKinks, and none away from it', async () => {
    const C = (await compileModel('r.impl', undefined, reluLayer)) as unknown as new (x: object) => Instance;
    const at = new C({ theta: [1, 0, -2], tau: 2 }).solve();
    expect(at.certificate.test).toBe('explicit');
    expect(at.outputs.p).toEqual([0.5, 0, 0]);
    expect(at.gradients!.p.theta).toEqual([[0.5, 0, 0], [0, 0, 0], [0, 0, 0]]);
    const kinks = at.outputKinks!.p;
    expect(kinks).toHaveLength(1);
    expect(kinks[0].ties).toBe(1);
    expect(kinks[0].site).toMatch(/^relu at /);
    const away = new C({ theta: [1, 0.5, -2], tau: 2 }).solve();
    expect(away.outputKinks).toBeUndefined();
  });

  it('implc solve prints outputs and Jacobians with their shapes, and check accepts the model', async () => {
    const file = join(dir, 'l.impl');
    writeFileSync(file, simplexLayer);
    const input = join(dir, 'in.json');
    writeFileSync(input, JSON.stringify({ theta: [0.9, 0.35, -0.4], tau: 0.5 }));
    const r = await implcInProcess(['solve', file, '--input', input]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.outputs.p).toHaveLength(3);
    expect(out.gradients.p.theta).toHaveLength(3);
    expect(out.gradients.p.theta[0]).toHaveLength(3);
    expect(out.certificate.test).toBe('explicit');
    const c = await implcInProcess(['check', file]);
    expect(c.code).toBe(0);
  });
});
