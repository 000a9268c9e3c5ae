import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromRows, luFactor, luSolve } from '../../src/runtime/index.ts';
import { generatedClass, readCsv, standardize } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

interface Result {
  status: string;
  residual: number;
  solution: Record<string, unknown>;
  certificate: { verdict: string; ties: number; errorBound: number | null };
  jacobian?: Record<string, Record<string, unknown>>;
  gradients?: Record<string, Record<string, unknown>>;
}
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

function solveDense(A: number[][], b: number[]): number[] {
  const f = luFactor(fromRows(A));
  if (f.singular) throw new Error('singular');
  return Array.from(luSolve(f, Float64Array.from(b)));
}

describe('derivatives against independent references', () => {
  it('Lasso on diabetes: d beta_S / d lambda = -(X_S^T X_S)^{-1} sign(beta_S)', async () => {
    const { rows } = readCsv('samples/data/diabetes.csv');
    const z = standardize(rows);
    const X = z.slice(0, 300).map((r) => r.slice(0, 10));
    const y = z.slice(0, 300).map((r) => r[10]);
    const Xv = z.slice(300).map((r) => r.slice(0, 10));
    const yv = z.slice(300).map((r) => r[10]);
    const Lasso = await generatedClass('samples/lasso.impl');
    const r = new Lasso({ X, y, Xv, yv, lambda: 20 }).solve({ tol: 1e-13, jacobian: true }) as Result;
    expect(r.status).toBe('converged');
    expect(r.residual).toBeLessThan(1e-10);
    expect(r.certificate.verdict).toBe('certified');
    const beta = flat(r.solution.beta);
    const S = beta.map((b, j) => (b !== 0 ? j : -1)).filter((j) => j >= 0);
    expect(S.length).toBeGreaterThan(2);
    expect(S.length).toBeLessThan(10);
    const XS = X.map((row) => S.map((j) => row[j]));
    const G = S.map((_, a) => S.map((_, b) => XS.reduce((s, row) => s + row[a] * row[b], 0)));
    const closed = solveDense(G, S.map((j) => -Math.sign(beta[j])));
    const J = flat(r.jacobian!.beta.lambda);
    S.forEach((j, a) => expect(Math.abs(J[j] - closed[a])).toBeLessThan(1e-8 * Math.max(1, Math.abs(closed[a]))));
    beta.forEach((b, j) => (b === 0 ? expect(Math.abs(J[j])).toBe(0) : undefined));
  });

  it('DEQ: the Jacobian in b matches (I - D W)^{-1} D from an independent f64 solve', async () => {
    const rng = mulberry32(3);
    const h = 8;
    const d = 4;
    const rnd = () => 2 * rng() - 1;
    const W = Array.from({ length: h }, () => Array.from({ length: h }, () => rnd() * 0.15));
    const U = Array.from({ length: h }, () => Array.from({ length: d }, rnd));
    const b = Array.from({ length: h }, rnd);
    const u = Array.from({ length: d }, rnd);
    // Independent solve: plain fixed-point iteration, no code of the compiler involved.
    let z = new Array<number>(h).fill(0);
    for (let it = 0; it < 500; it++) z = W.map((row, i) => Math.max(0, row.reduce((s, w, k) => s + w * z[k], 0) + U[i].reduce((s, v, k) => s + v * u[k], 0) + b[i]));
    const D = W.map((row, i) => (row.reduce((s, w, k) => s + w * z[k], 0) + U[i].reduce((s, v, k) => s + v * u[k], 0) + b[i] > 0 ? 1 : 0));
    const Deq = await generatedClass('samples/deq.impl');
    const r = new Deq({ W, U, b, u }).solve({ tol: 1e-13, jacobian: true }) as Result;
    flat(r.solution.z).forEach((v, i) => expect(Math.abs(v - z[i])).toBeLessThan(1e-10));
    const M = W.map((row, i) => row.map((w, j) => (i === j ? 1 : 0) - D[i] * w));
    const J = flat(r.jacobian!.z.b);
    for (let j = 0; j < h; j++) {
      const col = solveDense(M, D.map((di, i) => (i === j ? di : 0)));
      col.forEach((v, i) => expect(Math.abs(J[i * h + j] - v)).toBeLessThan(1e-10));
    }
  });

  it('sparsemax: the Jacobian of proj_simplex is diag(s) - s s^T / |S|', async () => {
    const text = 'model Sparsemax {\n  dim k\n  param v: real[k]\n  unknown y: real[k]\n  solve y - proj_simplex(v) = 0\n}\n';
    const Model = await generatedClass('sparsemax.impl', undefined, text);
    const v = [0.9, 0.1, 0.7, -1.2, 0.5];
    const r = new Model({ v }).solve({ jacobian: true }) as Result;
    const y = flat(r.solution.y);
    const s: number[] = y.map((x) => (x > 0 ? 1 : 0));
    const size = s.reduce((a, b) => a + b, 0);
    expect(size).toBeGreaterThan(1);
    expect(size).toBeLessThan(5);
    const J = flat(r.jacobian!.y.v);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(J[i * 5 + j]).toBeCloseTo((i === j ? s[i] : 0) - (s[i] * s[j]) / size, 12);
  });

  it('a loose tolerance shows in the error bound', async () => {
    const Lasso = await generatedClass('samples/lasso.impl');
    const rng = mulberry32(11);
    const m = (r: number, c: number) => Array.from({ length: r }, () => Array.from({ length: c }, () => 2 * rng() - 1));
    const inputs = { X: m(30, 8), y: m(1, 30)[0], Xv: m(5, 8), yv: m(1, 5)[0], lambda: 0.5 };
    // Plain Anderson stops where the tolerance says ('auto' finishes the Lasso by Newton, exactly).
    const loose = new Lasso(inputs).solve({ method: 'anderson', tol: 1e-3 }) as Result;
    const tight = new Lasso(inputs).solve({ method: 'anderson', tol: 1e-12 }) as Result;
    expect(loose.certificate.errorBound!).toBeGreaterThan(1e-6);
    expect(tight.certificate.errorBound!).toBeLessThan(1e-10);
    expect(loose.certificate.errorBound!).toBeGreaterThan(1000 * tight.certificate.errorBound!);
  });
});

describe('the pathological samples are refused at their bad points', () => {
  const cases: [string, string | undefined, Record<string, number>][] = [
    ['samples/pathological/abs_kink.impl', undefined, { x: 0 }],
    ['samples/pathological/relu_identity.impl', undefined, { x: 0 }],
    ['samples/pathological/cubic.impl', undefined, { x: 0 }],
  ];
  for (const [file, model, inputs] of cases) {
    it(`${file} at ${JSON.stringify(inputs)}: violated, no derivatives`, async () => {
      const Model = await generatedClass(file, model);
      const r = new Model(inputs).solve({ jacobian: true }) as Result;
      expect(r.certificate.verdict).toBe('violated');
      expect(r.jacobian).toBeUndefined();
      expect(r.gradients).toBeUndefined();
    });
  }

  it('the Lasso with two equal columns (X = [[1, 1]], one row) is violated', async () => {
    const Model = await generatedClass('samples/pathological/lasso_segment.impl');
    const inputs = JSON.parse(readFileSync('samples/inputs/lasso_segment.json', 'utf8'));
    const r = new Model(inputs).solve({ jacobian: true }) as Result;
    expect(r.status).toBe('converged');
    expect(r.certificate.verdict).toBe('violated');
    expect(r.jacobian).toBeUndefined();
  });

  it('y^3 = x at x = 0 stopped near y = 1e-4 is not certified: B is too close to singular for the residual', async () => {
    const Model = await generatedClass('samples/pathological/cubic.impl');
    const r = new Model({ x: 0 }).solve({ y0: Float64Array.of(1), jacobian: true }) as Result;
    expect(r.status).toBe('converged');
    expect(Math.abs(flat(r.solution.y)[0])).toBeGreaterThan(0);
    expect(r.certificate.verdict).not.toBe('certified');
  });

  it('y = relu(y + x) at x = 0 is violated; with w = 0.5 it is certified by the guard', async () => {
    const Unit = await generatedClass('samples/pathological/relu_unit_weight.impl', 'ReluUnitWeight');
    const bad = new Unit({ x: 0 }).solve({ y0: Float64Array.of(0.5), jacobian: true }) as Result;
    expect(bad.certificate.verdict).toBe('violated');
    expect(bad.jacobian).toBeUndefined();
    const Param = await generatedClass('samples/pathological/relu_unit_weight.impl', 'ReluWeightParam');
    const ok = new Param({ x: 1, w: 0.5 }).solve({ jacobian: true }) as Result;
    expect(ok.certificate.verdict).toBe('certified');
    expect(flat(ok.solution.y)[0]).toBeCloseTo(2, 8);
    expect(flat(ok.jacobian!.y.x)[0]).toBeCloseTo(2, 8);
  });
});
