import { describe, expect, it } from 'vitest';
import { LassoCoordinateDescent, solveInstance, stepOf, type ModelInstance, type Tensor } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

// The structure-specific forward solver of a recognized least-squares prox fixpoint.

const rng = mulberry32(17);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

function problem(n: number, p: number, correlation = 0) {
  const A = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const f = normal();
    for (let j = 0; j < p; j++) A[i * p + j] = Math.sqrt(1 - correlation) * normal() + Math.sqrt(correlation) * f;
  }
  const b = Float64Array.from({ length: n }, normal);
  return { A: { shape: [n, p], data: A } as Tensor, b: { shape: [n], data: b } as Tensor };
}

/** Largest violation of the Lasso's optimality conditions, relative to lambda. */
function kkt(A: Tensor, b: Tensor, beta: Float64Array, lambda: (j: number) => number): number {
  const [n, p] = A.shape;
  const r = Float64Array.from(b.data);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) r[i] -= A.data[i * p + j] * beta[j];
  let worst = 0;
  for (let j = 0; j < p; j++) {
    let g = 0;
    for (let i = 0; i < n; i++) g -= A.data[i * p + j] * r[i];
    const l = lambda(j);
    const v = beta[j] !== 0 ? Math.abs(g + l * Math.sign(beta[j])) : Math.max(0, Math.abs(g) - l);
    worst = Math.max(worst, v / l);
  }
  return worst;
}

describe('coordinate descent for the Lasso', () => {
  it('meets the optimality conditions, with scalar and per-coordinate penalties, from any start', () => {
    for (const [n, p, corr] of [
      [40, 10, 0],
      [30, 80, 0.5],
    ] as const) {
      const { A, b } = problem(n, p, corr);
      const lambdas = Float64Array.from({ length: p }, () => 1 + 4 * rng());
      for (const lambda of [() => 3, (j: number) => lambdas[j]]) {
        const cd = new LassoCoordinateDescent(A, b, lambda);
        const zero = cd.run(new Float64Array(p), 1e-13);
        expect(kkt(A, b, zero.beta, lambda)).toBeLessThan(1e-9);
        const warm = cd.run(Float64Array.from({ length: p }, normal), 1e-13);
        expect(kkt(A, b, warm.beta, lambda)).toBeLessThan(1e-9);
      }
    }
  });

  it('sweeps in WebAssembly and in JavaScript reach the same solution (odd n pads the columns)', () => {
    for (const [n, p, corr] of [
      [41, 60, 0.5],
      [300, 40, 0.3],
    ] as const) {
      const { A, b } = problem(n, p, corr);
      const lambda = () => 4;
      const wasm = new LassoCoordinateDescent(A, b, lambda);
      const js = new LassoCoordinateDescent(A, b, lambda, undefined, 'js');
      expect(wasm.engine).toBe('wasm-simd');
      expect(js.engine).toBe('js');
      const w = wasm.run(new Float64Array(p), 1e-13);
      const j = js.run(new Float64Array(p), 1e-13);
      expect(kkt(A, b, w.beta, lambda)).toBeLessThan(1e-9);
      w.beta.forEach((v, k) => expect(Math.abs(v - j.beta[k])).toBeLessThan(1e-10));
      // The same path of iterates up to rounding: the same number of sweeps, give or take.
      expect(Math.abs(w.sweeps - j.sweeps)).toBeLessThanOrEqual(2);
      // A second run from a warm start reuses the resident columns.
      const again = wasm.run(w.beta, 1e-13);
      expect(kkt(A, b, again.beta, lambda)).toBeLessThan(1e-9);
    }
  });

  it('solvers of different designs take turns in the one WebAssembly instance', () => {
    const first = problem(50, 40, 0.2);
    const second = problem(64, 30, 0.6);
    const lambda = () => 3;
    const a = new LassoCoordinateDescent(first.A, first.b, lambda);
    const b = new LassoCoordinateDescent(second.A, second.b, lambda);
    expect([a.engine, b.engine]).toEqual(['wasm-simd', 'wasm-simd']);
    // a, b, a: each run finds its own columns in place (copied back in when the design changed).
    for (const [cd, P, p] of [
      [a, first, 40],
      [b, second, 30],
      [a, first, 40],
    ] as const) {
      const r = cd.run(new Float64Array(p), 1e-13);
      expect(kkt(P.A, P.b, r.beta, lambda)).toBeLessThan(1e-9);
    }
  });

  it('a huge penalty gives zero, and with orthonormal columns the answer is soft thresholding', () => {
    // A = [I; 0]: beta_j = S(b_j, lambda).
    const p = 5;
    const A: Tensor = { shape: [7, p], data: new Float64Array(7 * p) };
    for (let j = 0; j < p; j++) A.data[j * p + j] = 1;
    const b: Tensor = { shape: [7], data: Float64Array.of(3, -0.5, 1.5, -4, 0.2, 9, 9) };
    const beta = new LassoCoordinateDescent(A, b, () => 1).run(new Float64Array(p), 1e-15).beta;
    expect(Array.from(beta)).toEqual([2, 0, 0.5, -3, 0]);
    expect(Array.from(new LassoCoordinateDescent(A, b, () => 100).run(new Float64Array(p), 1e-15).beta)).toEqual([0, 0, 0, 0, 0]);
  });

  it('polish: the exact minimizer on a support and its signs, null when they are not the solution\'s', () => {
    for (const [n, p, corr] of [
      [40, 10, 0],
      [30, 80, 0.5],
    ] as const) {
      const { A, b } = problem(n, p, corr);
      const lambdas = Float64Array.from({ length: p }, () => 1 + 4 * rng());
      for (const lambda of [() => 3, (j: number) => lambdas[j]]) {
        const cd = new LassoCoordinateDescent(A, b, lambda);
        // A loose run finds the support; the polished point meets the conditions to rounding,
        // where the loose one does not.
        const loose = cd.run(new Float64Array(p), 1e-3);
        const exact = cd.polish(loose.beta, 100);
        expect(exact).not.toBeNull();
        expect(kkt(A, b, loose.beta, lambda)).toBeGreaterThan(1e-9);
        expect(kkt(A, b, exact!, lambda)).toBeLessThan(1e-11);
        exact!.forEach((v, j) => expect(v === 0).toBe(loose.beta[j] === 0));
      }
    }
    const { A, b } = problem(40, 10, 0.3);
    const cd = new LassoCoordinateDescent(A, b, () => 3);
    const beta = cd.run(new Float64Array(10), 1e-13).beta;
    const j = beta.findIndex((v) => v !== 0);
    // The wrong sign on one coordinate: its equation pulls it across zero.
    const flipped = beta.slice();
    flipped[j] = -flipped[j];
    expect(cd.polish(flipped, 100)).toBeNull();
    // No support: zero; a support above the limit: no answer.
    expect(Array.from(cd.polish(new Float64Array(10), 100)!)).toEqual(new Array(10).fill(0));
    expect(cd.polish(Float64Array.from({ length: 10 }, () => 1), 5)).toBeNull();
  });

  it('stepOf: the s of G = s A^T, and null for anything else', () => {
    const { A } = problem(6, 4);
    const G = (f: (i: number, j: number) => number): Tensor => ({ shape: [4, 6], data: Float64Array.from({ length: 24 }, (_, k) => f(Math.floor(k / 6), k % 6)) });
    const at = (j: number, i: number) => A.data[i * 4 + j];
    const b: Tensor = { shape: [6], data: new Float64Array(6) };
    const tau: Tensor = { shape: [], data: Float64Array.of(1) };
    expect(stepOf({ A, b, tau, G: G((j, i) => 0.25 * at(j, i)) })).toBeCloseTo(0.25, 14);
    expect(stepOf({ A, b, tau, G: G((j, i) => -0.25 * at(j, i)) })).toBeNull();
    expect(stepOf({ A, b, tau, G: G((j, i) => 0.25 * at(j, i) + (i === 2 && j === 1 ? 1e-3 : 0)) })).toBeNull();
    expect(stepOf({ A, b, tau, G: { shape: [6, 4], data: new Float64Array(24) } })).toBeNull();
  });
});

describe('the generated Lasso solves by coordinate descent and Newton', () => {
  const inputs = (n: number, p: number, lambda: number) => {
    const { A, b } = problem(n, p, 0.5);
    const X = Array.from({ length: n }, (_, i) => Array.from(A.data.subarray(i * p, (i + 1) * p)));
    return { X, y: Array.from(b.data), Xv: X.slice(0, 3), yv: Array.from(b.data.subarray(0, 3)), lambda };
  };

  it('samples/lasso.impl: the same solution as Anderson, to the tolerance, found far faster', async () => {
    const Lasso = await generatedClass('samples/lasso.impl');
    const given = inputs(40, 120, 4);
    const model = new Lasso(given) as ModelInstance;
    const fast = solveInstance(model, { tol: 1e-12 });
    expect(fast.status).toBe('converged');
    expect(fast.method).toBe('coordinate-descent+newton');
    // The analysis read the map as the composite problem with H = step X'X, c = step X'y,
    // weights step * lambda: checked against those values computed here.
    const cp = model.compositeProblem!()!;
    const step = (model as unknown as { value(name: string): Tensor }).value('step').data[0];
    const { X, y } = given;
    expect(cp.grams).toHaveLength(1);
    expect(cp.grams[0].coef).toBeCloseTo(step, 15);
    expect(cp.grams[0].transposed).toBe(false);
    expect(cp.matrices).toHaveLength(0);
    expect(Math.abs(cp.identity)).toBeLessThan(1e-15);
    expect(cp.penalty.kind).toBe('l1');
    if (cp.penalty.kind === 'l1') cp.penalty.weights.forEach((w) => expect(w).toBeCloseTo(step * 4, 14));
    cp.offset.forEach((v, j) => expect(v).toBeCloseTo(step * X.reduce((acc, row, i) => acc + row[j] * y[i], 0), 12));
    const slow = solveInstance(model, { method: 'anderson', tol: 1e-12, maxIter: 200_000 });
    expect(slow.status).toBe('converged');
    fast.y.forEach((v, i) => expect(Math.abs(v - slow.y[i])).toBeLessThan(1e-9));
    expect(fast.y.some((v) => v !== 0)).toBe(true);
  });

  it('samples/weighted_lasso.impl: per-coordinate thresholds', async () => {
    const WLasso = await generatedClass('samples/weighted_lasso.impl');
    const { lambda, ...rest } = inputs(30, 20, 0);
    void lambda;
    const model = new WLasso({ ...rest, lambdas: Array.from({ length: 20 }, () => 1 + 5 * rng()) }) as ModelInstance;
    const r = solveInstance(model, { tol: 1e-12 });
    expect(r.status).toBe('converged');
    expect(r.method).toBe('coordinate-descent+newton');
    expect(r.residual).toBeLessThanOrEqual(1e-12);
  });

  it('a look-alike whose gradient operator is not s X^T is not handed to coordinate descent', async () => {
    const source = `model NotLasso {
  dim n, p
  data X: real[n, p]
  data Z: real[n, p]
  data y: real[n]
  param lambda: real
  let step = 1 / (opnorm(X) * opnorm(Z))
  unknown beta: real[p] = 0
  fixpoint beta = soft_threshold(beta - step * Z' * (X * beta - y), step * lambda)
}
`;
    const NotLasso = await generatedClass('not-lasso.impl', undefined, source);
    const { X, y } = inputs(30, 5, 0);
    const Z = X.map((row) => row.map((v) => v + 0.05 * normal()));
    const model = new NotLasso({ X, Z, y, lambda: 1 }) as ModelInstance;
    // Z'X is not a Gram product (nor symmetric): not the composite form, whatever the tree looks like.
    expect(model.compositeProblem?.()).toBeNull();
    const r = solveInstance(model, { tol: 1e-11 });
    expect(r.method).not.toBe('coordinate-descent+newton');
    expect(r.status).toBe('converged');
  });
});
