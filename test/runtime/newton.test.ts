import { describe, it, expect } from 'vitest';
import { fromRows, identity, semismoothNewton, SolverError } from '../../src/runtime/index.ts';
import type { Matrix, NewtonProblem, NewtonResult } from '../../src/runtime/index.ts';
import { mulberry32, randomVector } from './rng.ts';

function expectFinite(r: NewtonResult): void {
  expect(r.y.every((t) => Number.isFinite(t))).toBe(true);
  expect(Number.isNaN(r.residual)).toBe(false);
}

function diagonal(d: Float64Array): Matrix {
  const n = d.length;
  const B = { rows: n, cols: n, data: new Float64Array(n * n) };
  for (let i = 0; i < n; i++) B.data[i * n + i] = d[i];
  return B;
}

describe('semismoothNewton', () => {
  // F(y) = y - 0.5 |y| - x elementwise; root y = 2x for x >= 0, y = 2x / 3 for x < 0.
  const n = 20;
  const x = randomVector(mulberry32(8), n);
  const closedForm = x.map((t) => (t >= 0 ? 2 * t : (2 * t) / 3));
  const residual = (y: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) out[i] = y[i] - 0.5 * Math.abs(y[i]) - x[i];
  };
  const slope = (y: Float64Array) => y.map((t) => 1 - 0.5 * Math.sign(t));

  it('solves a piecewise-linear system in a few steps (dense Jacobian element)', () => {
    const problem: NewtonProblem = { residual, jacobian: (y) => diagonal(slope(y)) };
    const r = semismoothNewton(problem, new Float64Array(n), { tol: 1e-14, history: true });
    expect(r.status).toBe('converged');
    expect(r.iterations).toBeLessThanOrEqual(3);
    for (let i = 0; i < n; i++) expect(r.y[i]).toBeCloseTo(closedForm[i], 14);
    expect(r.history).toHaveLength(r.iterations + 1);
  });

  it('solves the same system through a step solver', () => {
    const problem: NewtonProblem = {
      residual,
      solveStep: (y, rhs) => {
        const d = slope(y);
        return rhs.map((t, i) => t / d[i]);
      },
    };
    const r = semismoothNewton(problem, Float64Array.from({ length: n }, (_, i) => (i % 2 ? 3 : -3)), { tol: 1e-14 });
    expect(r.status).toBe('converged');
    expect(r.iterations).toBeLessThanOrEqual(3);
    for (let i = 0; i < n; i++) expect(r.y[i]).toBeCloseTo(closedForm[i], 14);
  });

  it('converges quadratically on the smooth system y^3 + y = x', () => {
    const m = 10;
    const xs = Float64Array.from({ length: m }, (_, i) => -5 + i * 1.1);
    // Cardano: the unique real root of y^3 + y - x.
    const exact = xs.map((t) => {
      const s = Math.sqrt((t * t) / 4 + 1 / 27);
      return Math.cbrt(t / 2 + s) + Math.cbrt(t / 2 - s);
    });
    const problem: NewtonProblem = {
      residual: (y, out) => {
        for (let i = 0; i < m; i++) out[i] = y[i] ** 3 + y[i] - xs[i];
      },
      jacobian: (y) => diagonal(y.map((t) => 3 * t * t + 1)),
    };
    const r = semismoothNewton(problem, new Float64Array(m), { tol: 1e-13, history: true });
    expect(r.status).toBe('converged');
    expect(r.iterations).toBeLessThanOrEqual(12);
    for (let i = 0; i < m; i++) expect(r.y[i]).toBeCloseTo(exact[i], 12);
    // Quadratic convergence in the final phase: r_{k+1} <= C r_k^2 with a moderate C, until
    // r_{k+1} reaches the rounding floor (about eps |y^3| ~ 1e-15 here).
    const h = r.history!;
    let quadraticSteps = 0;
    for (let k = 0; k + 1 < h.length; k++) {
      if (h[k] < 1e-2 && h[k + 1] > 1e-13) {
        expect(h[k + 1]).toBeLessThanOrEqual(10 * h[k] * h[k]);
        quadraticSteps++;
      }
    }
    expect(quadraticSteps).toBeGreaterThanOrEqual(2);
  });

  it('uses a gradient step when the Jacobian element is singular', () => {
    // F = (y0 + y1 - 1, y0 + y1 - 1): B is singular everywhere, but the roots y0 + y1 = 1 are reachable.
    const problem: NewtonProblem = {
      residual: (y, out) => {
        out[0] = y[0] + y[1] - 1;
        out[1] = y[0] + y[1] - 1;
      },
      jacobian: () =>
        fromRows([
          [1, 1],
          [1, 1],
        ]),
    };
    const r = semismoothNewton(problem, Float64Array.from([3, 4]));
    expect(r.status).toBe('converged');
    expect(r.y[0] + r.y[1]).toBeCloseTo(1, 12);
    const noFallback = semismoothNewton(problem, Float64Array.from([3, 4]), { fallback: 'none' });
    expect(noFallback.status).toBe('singular');
    expect(Array.from(noFallback.y)).toEqual([3, 4]);
  });

  it("reports 'singular' at a non-root minimum of ||F|| and when the step solver fails", () => {
    // Inconsistent: ||F|| is minimized (not zeroed) on y0 + y1 = 0, where B^T F = 0.
    const problem: NewtonProblem = {
      residual: (y, out) => {
        out[0] = y[0] + y[1] - 1;
        out[1] = y[0] + y[1] + 1;
      },
      jacobian: () =>
        fromRows([
          [1, 1],
          [1, 1],
        ]),
    };
    const r = semismoothNewton(problem, Float64Array.from([1, 2]));
    expect(r.status).toBe('singular');
    expect(r.y[0] + r.y[1]).toBeCloseTo(0, 12);
    expect(r.residual).toBeCloseTo(1, 12);
    const viaSolver = semismoothNewton({ residual: problem.residual, solveStep: () => null }, Float64Array.from([1, 2]));
    expect(viaSolver.status).toBe('singular');
    expectFinite(viaSolver);
  });

  it('backtracks out of the domain of F instead of returning NaN', () => {
    // F(y) = log(y): the full Newton step from y = 10 lands at y < 0 where log is NaN.
    const problem: NewtonProblem = {
      residual: (y, out) => {
        out[0] = Math.log(y[0]);
      },
      jacobian: (y) => fromRows([[1 / y[0]]]),
    };
    const r = semismoothNewton(problem, Float64Array.from([10]));
    expect(r.status).toBe('converged');
    expect(r.y[0]).toBeCloseTo(1, 10);
  });

  it("reports 'non-finite' and 'line-search-failed' with a finite iterate", () => {
    const nanAtStart = semismoothNewton(
      { residual: (_, out) => out.fill(NaN), jacobian: () => identity(2) },
      Float64Array.from([1, 2]),
    );
    expect(nanAtStart.status).toBe('non-finite');
    expect(Array.from(nanAtStart.y)).toEqual([1, 2]);
    expect(nanAtStart.residual).toBe(Infinity);

    const nanJacobian = semismoothNewton(
      { residual: (y, out) => out.set(y), jacobian: () => fromRows([[NaN]]) },
      Float64Array.from([1]),
    );
    expect(nanJacobian.status).toBe('non-finite');
    expectFinite(nanJacobian);

    // A wrong-signed Jacobian points uphill; the gradient built from it does too.
    const wrong: NewtonProblem = {
      residual: (y, out) => {
        out[0] = y[0] - 1;
      },
      jacobian: () => fromRows([[-1]]),
    };
    const r = semismoothNewton(wrong, Float64Array.from([3]));
    expect(r.status).toBe('line-search-failed');
    expect(r.y[0]).toBe(3);
    const viaSolver = semismoothNewton(
      { residual: wrong.residual, solveStep: (_, rhs) => rhs.map((t) => -t) },
      Float64Array.from([3]),
    );
    expect(viaSolver.status).toBe('line-search-failed');
  });

  it('stops at maxIter and validates its inputs', () => {
    const problem: NewtonProblem = {
      residual: (y, out) => {
        out[0] = Math.atan(y[0]);
      },
      jacobian: (y) => fromRows([[1 / (1 + y[0] * y[0])]]),
    };
    const r = semismoothNewton(problem, Float64Array.from([5]), { maxIter: 1 });
    expect(r.status).toBe('max-iterations');
    expect(r.iterations).toBe(1);
    expect(semismoothNewton(problem, Float64Array.from([5])).status).toBe('converged');
    expect(() => semismoothNewton(problem, Float64Array.from([NaN]))).toThrow(SolverError);
    expect(() => semismoothNewton({ residual: problem.residual, jacobian: () => identity(2) }, Float64Array.from([1]))).toThrow(
      SolverError,
    );
    expect(() => semismoothNewton(problem, Float64Array.from([1]), { backtrack: 1 })).toThrow(SolverError);
  });
});
