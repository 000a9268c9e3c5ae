// Vector and matrix outputs (issue 15): the flat outputs' layout, the full Jacobian of an
// output through the implicit function, and the vector-Jacobian product, each against central
// finite differences of the solution map (re-solving at perturbed params).
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import { ImplicitDerivatives } from '../../src/runtime/derivatives.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';

type Instance = ModelInstance & { solve(o?: object): RunResult };

const deq = (outputs: string) => `model DeqScores {
  dim d, h, k
  param W: real[h, h]
  param U: real[h, d]
  param b: real[h]
  param V: real[k, h]
  param c: real[k]
  data u: real[d]
  unknown z: real[h]
  fixpoint z = tanh(W * z + U * u + b)
  ${outputs}
}`;

const inputs = {
  W: [[0.1, 0.2, -0.1], [0.0, -0.3, 0.2], [0.15, 0.05, 0.1]],
  U: [[1, 0], [0.2, -1], [0.3, 0.4]],
  b: [0.1, 0.2, -0.05],
  V: [[1, 2, -1], [3, -4, 0.5]],
  c: [1, -1],
  u: [0.7, -0.4],
};

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

/** The params as one flat vector, in declaration order, and back. */
const PARAMS = ['W', 'U', 'b', 'V', 'c'] as const;
function perturbed(x: Record<string, unknown>, j: number, h: number): Record<string, unknown> {
  let at = j;
  const out: Record<string, unknown> = { ...x };
  for (const p of PARAMS) {
    const values = flat(x[p]);
    if (at < values.length) {
      values[at] += h;
      const shape = Array.isArray((x[p] as unknown[])[0]) ? [(x[p] as unknown[]).length, ((x[p] as unknown[])[0] as unknown[]).length] : [values.length];
      out[p] = shape.length === 2 ? Array.from({ length: shape[0] }, (_, i) => values.slice(i * shape[1], (i + 1) * shape[1])) : values;
      return out;
    }
    at -= values.length;
  }
  throw new Error('no such param');
}

/** Central differences of the solved outputs (flat), one column per flat param. */
function finiteDifferences(C: new (x: object) => Instance, x: Record<string, unknown>, m: number): number[][] {
  const h = 1e-6;
  const cols: number[][] = [];
  for (let j = 0; j < m; j++) {
    const plus = new C(perturbed(x, j, h)).solve({ tol: 1e-14 });
    const minus = new C(perturbed(x, j, -h)).solve({ tol: 1e-14 });
    const a = Object.values(plus.outputs).flatMap(flat);
    const b = Object.values(minus.outputs).flatMap(flat);
    cols.push(a.map((v, i) => (v - b[i]) / (2 * h)));
  }
  return cols;
}

function expectClose(actual: number, expected: number, rel = 1e-6): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

describe('vector outputs', () => {
  it("a DEQ's scores s = V z + c: outputs with s's shape, a layout, and the full Jacobian against finite differences", async () => {
    const C = (await compileModel('deq.impl', undefined, deq('output s = V * z + c'))) as unknown as new (x: object) => Instance;
    const inst = new C(inputs);
    expect(inst.outputLayout).toEqual([{ name: 's', shape: [2], size: 2, offset: 0 }]);
    const r = inst.solve({ tol: 1e-14 });
    expect(r.status).toBe('converged');
    const z = r.solution.z as number[];
    // s = V z + c, from the solution independently.
    const s = r.outputs.s as unknown as number[];
    expect(s).toHaveLength(2);
    for (let i = 0; i < 2; i++) expectClose(s[i], inputs.V[i].reduce((a, v, j) => a + v * z[j], inputs.c[i]), 1e-12);
    // gradients.s.P: the shape of s followed by the shape of P.
    const g = r.gradients!.s;
    expect((g.W as number[][][]).length).toBe(2);
    expect((g.W as number[][][])[0].length).toBe(3);
    expect((g.W as number[][][])[0][0].length).toBe(3);
    expect((g.c as number[][])).toEqual([[1, 0], [0, 1]]);
    const m = inst.m;
    const fd = finiteDifferences(C, inputs, m);
    // The analytic Jacobian, row e = gradient of s[e], params flat in declaration order.
    const rows = [0, 1].map((e) => PARAMS.flatMap((p) => flat((g[p] as unknown[])[e])));
    for (let e = 0; e < 2; e++) for (let j = 0; j < m; j++) expectClose(rows[e][j], fd[j][e]);
    // The runtime's Jacobian (reverse and, with fewer params than entries, forward) agrees.
    const y = Float64Array.from(z);
    const d = new ImplicitDerivatives(inst, y);
    const J = d.outputJacobian(0);
    expect([J.rows, J.cols]).toEqual([2, m]);
    for (let e = 0; e < 2; e++) for (let j = 0; j < m; j++) expectClose(J.data[e * m + j], rows[e][j], 1e-10);
    // VJP against the Jacobian: obar^T J.
    const obar = Float64Array.of(0.3, -1.7);
    const v = d.outputVjp(0, obar);
    for (let j = 0; j < m; j++) expectClose(v[j], 0.3 * rows[0][j] - 1.7 * rows[1][j], 1e-10);
    expect(() => d.outputVjp(0, new Float64Array(3))).toThrow();
    expect(() => d.outputVjp(1, obar)).toThrow(/no output 1/);
  });

  it('a matrix output and a scalar one after it: flat layout, shapes and Jacobians against finite differences', async () => {
    const C = (await compileModel('deq.impl', undefined, deq('output M = V * (z * z\')\n  output t = sum(z)'))) as unknown as new (x: object) => Instance;
    const inst = new C(inputs);
    expect(inst.outputLayout).toEqual([{ name: 'M', shape: [2, 3], size: 6, offset: 0 }, { name: 't', shape: [], size: 1, offset: 6 }]);
    const r = inst.solve({ tol: 1e-14 });
    const z = r.solution.z as number[];
    const M = r.outputs.M as unknown as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expectClose(M[i][j], inputs.V[i].reduce((a, v, l) => a + v * z[l] * z[j], 0), 1e-12);
    expect(typeof r.outputs.t).toBe('number');
    // gradients.M.b: [2, 3] then [3]; gradients.t.b: [3] (a scalar output keeps its gradient's shape).
    const gb = r.gradients!.M.b as number[][][];
    expect([gb.length, gb[0].length, gb[0][0].length]).toEqual([2, 3, 3]);
    expect((r.gradients!.t.b as number[]).length).toBe(3);
    const fd = finiteDifferences(C, inputs, inst.m);
    const rowsM = Array.from({ length: 6 }, (_, e) => PARAMS.flatMap((p) => flat((r.gradients!.M[p] as unknown[][])[Math.floor(e / 3)][e % 3])));
    const rowT = PARAMS.flatMap((p) => flat(r.gradients!.t[p]));
    for (let j = 0; j < inst.m; j++) {
      for (let e = 0; e < 6; e++) expectClose(rowsM[e][j], fd[j][e]);
      expectClose(rowT[j], fd[j][6]);
    }
  });
});
