import { describe, expect, it } from 'vitest';
import { jacobian, runModel, solveInstance, SolverError } from '../../src/runtime/index.ts';
import type { SolveInstanceResult } from '../../src/runtime/index.ts';
import { AbsModel, KinkScalar, Lasso, NanMap, NoFixpoint } from './models.ts';
import { makeDeq, makeLasso } from './driver-fixtures.ts';

function expectFinite(r: SolveInstanceResult): void {
  expect(r.y.every((v) => Number.isFinite(v))).toBe(true);
  expect(Number.isNaN(r.residual)).toBe(false);
}

describe('solveInstance: (a) the scalar kink F = y - 0.5|y| - x', () => {
  // y = x / (1 - 0.5 sign(y)): 2x for x > 0, 2x/3 for x < 0.
  for (const x of [1, -1, 0.3, -2.5]) {
    it(`x = ${x}: Newton finds the closed form, dy/dx = 1 / (1 - 0.5 sign(y))`, () => {
      const model = new KinkScalar(x);
      const r = solveInstance(model, { tol: 1e-14 });
      expect(r.method).toBe('newton');
      expect(r.status).toBe('converged');
      const exact = x > 0 ? 2 * x : (2 * x) / 3;
      expect(r.y[0]).toBeCloseTo(exact, 14);
      expect(r.residual).toBeLessThanOrEqual(1e-14);
      // Piecewise linear: Newton is exact once on the right piece.
      expect(r.iterations).toBeLessThanOrEqual(3);
      const J = jacobian(model, r.y);
      expect(J.data[0]).toBeCloseTo(1 / (1 - 0.5 * Math.sign(exact)), 14);
    });
  }

  it('runModel: output gradient d(y^2 + x)/dx = 2 y dy/dx + 1, certified by the compiled scalar interval', () => {
    const out = runModel(new KinkScalar(1), { tol: 1e-13, jacobian: true });
    expect(out.certificate.verdict).toBe('certified');
    expect(out.certificate.test).toBe('scalar interval');
    expect(out.solution.y).toBeCloseTo(2, 12);
    expect(out.jacobian?.y.x).toBeCloseTo(2, 12);
    expect(out.gradients?.o.x).toBeCloseTo(2 * 2 * 2 + 1, 11);
  });
});

describe('solveInstance: methods', () => {
  it('auto on a contractive map: Anderson alone reaches the tolerance', () => {
    const model = makeDeq(3);
    const r = solveInstance(model, { tol: 1e-12 });
    expect(r.status).toBe('converged');
    expect(r.method).toBe('anderson');
    expect(r.residual).toBeLessThanOrEqual(1e-12);
  });

  it('fixed-point, anderson and newton agree on the DEQ solution', () => {
    const model = makeDeq(3);
    const ys = (['fixed-point', 'anderson', 'newton'] as const).map((method) => {
      const r = solveInstance(model, { method, tol: 1e-13 });
      expect(r.status).toBe('converged');
      expect(r.method).toBe(method);
      return r.y;
    });
    for (const y of ys.slice(1)) for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(ys[0][i], 11);
  });

  it('auto on the Lasso map converges; maxIter caps all its phases together', () => {
    const model = makeLasso(11);
    const r = solveInstance(model, { tol: 1e-13 });
    expect(['anderson', 'anderson+newton']).toContain(r.method);
    expect(r.status).toBe('converged');
    expect(r.residual).toBeLessThanOrEqual(1e-13);
    const capped = solveInstance(model, { tol: 1e-13, maxIter: 3 });
    expect(capped.status).toBe('max-iterations');
    expect(capped.iterations).toBeLessThanOrEqual(3);
  });

  it('Newton beyond the dense limit steps with GMRES on jvpY, to the same solution', () => {
    const model = makeDeq(5, undefined, 40);
    const dense = solveInstance(model, { method: 'newton', tol: 1e-13 });
    const free = solveInstance(model, { method: 'newton', tol: 1e-13, denseNewtonLimit: 10 });
    expect(free.status).toBe('converged');
    for (let i = 0; i < model.n; i++) expect(free.y[i]).toBeCloseTo(dense.y[i], 11);
  });

  it('a start on a kink with a singular selected B (abs at 0) is moved once, and Newton converges', () => {
    const r = solveInstance(new AbsModel(1), { y0: Float64Array.of(0), tol: 1e-14 });
    expect(r.status).toBe('converged');
    expect(r.y[0]).toBeCloseTo(1, 14);
  });

  it('misuse throws typed errors: a map method without a map, a y0 of the wrong length', () => {
    expect(() => solveInstance(new KinkScalar(1), { method: 'anderson' })).toThrow(SolverError);
    expect(() => solveInstance(new KinkScalar(1), { y0: new Float64Array(2) })).toThrow(/length 2, expected 1/);
    expect(() => solveInstance(new KinkScalar(1), { y0: Float64Array.of(NaN) })).toThrow(SolverError);
  });
});

describe('solveInstance: (g) statuses, never NaN', () => {
  it('a map with no fixed point diverges under plain iteration', () => {
    const r = solveInstance(new NoFixpoint(), { method: 'fixed-point' });
    expect(['diverged', 'non-finite']).toContain(r.status);
    expectFinite(r);
  });

  it('auto on a map with no fixed point: Anderson fails, Newton cannot succeed either', () => {
    const r = solveInstance(new NoFixpoint());
    expect(r.status).not.toBe('converged');
    expectFinite(r);
    expect(Number.isFinite(r.residual)).toBe(true);
  });

  it('a map that leaves its domain reports non-finite and returns the last finite iterate', () => {
    const r = solveInstance(new NanMap(), { method: 'fixed-point' });
    expect(r.status).toBe('non-finite');
    expectFinite(r);
    expect(r.y[0]).toBe(0);
  });

  it('an iteration cap is max-iterations', () => {
    const r = solveInstance(makeLasso(11), { method: 'fixed-point', maxIter: 2 });
    expect(r.status).toBe('max-iterations');
    expectFinite(r);
  });

  it('runModel on a failed solve: no jacobian, no gradients, an unverified certificate', () => {
    const out = runModel(new NoFixpoint(), { method: 'fixed-point', jacobian: true });
    expect(out.status).not.toBe('converged');
    expect(out.jacobian).toBeUndefined();
    expect(out.gradients).toBeUndefined();
    expect(out.certificate.verdict).toBe('unverified');
    expect(Number.isFinite(out.solution.y as number)).toBe(true);
  });

  it('Lasso model sanity: the solution is sparse and F vanishes', () => {
    const model: Lasso = makeLasso(11);
    const r = solveInstance(model, { tol: 1e-13 });
    expect(r.status).toBe('converged');
    const support = [...r.y].filter((v) => v !== 0).length;
    expect(support).toBeGreaterThan(0);
    expect(support).toBeLessThan(model.n);
  });
});
