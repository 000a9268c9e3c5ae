import { describe, expect, it } from 'vitest';
import { solveInstance, type ModelInstance, type Tensor } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

// The generated Lasso models, solved through compositeProblem() by coordinate descent and
// Newton (the solver itself: composite-cd.test.ts).

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
