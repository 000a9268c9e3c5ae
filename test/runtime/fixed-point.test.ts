import { describe, it, expect } from 'vitest';
import { fixedPoint, luFactor, luSolve, matmul, matvec, normInf, SolverError, transpose } from '../../src/runtime/index.ts';
import type { FixedPointMap, FixedPointResult, Matrix } from '../../src/runtime/index.ts';
import { mulberry32, randomVector } from './rng.ts';
import type { Rng } from './rng.ts';

function expectFinite(r: FixedPointResult): void {
  expect(r.y.every((t) => Number.isFinite(t))).toBe(true);
  expect(Number.isNaN(r.residual)).toBe(false);
}

/** Random orthogonal matrix: a product of random plane rotations. */
function randomOrthogonal(rng: Rng, n: number): Matrix {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let k = 0; k < 4 * n; k++) {
    const i = Math.floor(rng() * n);
    const j = (i + 1 + Math.floor(rng() * (n - 1))) % n;
    const th = 2 * Math.PI * rng();
    const c = Math.cos(th);
    const s = Math.sin(th);
    for (let col = 0; col < n; col++) {
      const a = q[i * n + col];
      const b = q[j * n + col];
      q[i * n + col] = c * a - s * b;
      q[j * n + col] = s * a + c * b;
    }
  }
  return { rows: n, cols: n, data: q };
}

/** Root of y = 0.5 cos(y) by bisection on [0, 0.5] (independent reference). */
function halfCosRoot(): number {
  let lo = 0;
  let hi = 0.5;
  for (let k = 0; k < 200; k++) {
    const mid = 0.5 * (lo + hi);
    if (mid - 0.5 * Math.cos(mid) > 0) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

describe('fixedPoint', () => {
  it('solves y = 0.5 cos(y) with and without Anderson', () => {
    const n = 8;
    const T: FixedPointMap = (y, out) => {
      for (let i = 0; i < n; i++) out[i] = 0.5 * Math.cos(y[i]);
    };
    const y0 = Float64Array.from({ length: n }, (_, i) => i - 4);
    const root = halfCosRoot();
    const plain = fixedPoint(T, y0, { tol: 1e-12 });
    const aa = fixedPoint(T, y0, { tol: 1e-12, anderson: 3 });
    for (const r of [plain, aa]) {
      expect(r.status).toBe('converged');
      expect(r.residual).toBeLessThanOrEqual(1e-12);
      for (const yi of r.y) expect(Math.abs(yi - root)).toBeLessThan(1e-11);
    }
    expect(aa.evaluations).toBeLessThan(plain.evaluations);
  });

  it('solves a linear contraction with ||M|| = 0.9; Anderson needs far fewer evaluations', () => {
    const rng = mulberry32(11);
    const n = 40;
    // M = Q diag(lambda) Q^T with lambda spread over [0, 0.9]: ||M||_2 = rho(M) = 0.9.
    // (Anderson is a Krylov method on linear maps, so it cannot beat plain
    // iteration when M's spectrum fills a circle |z| = 0.9.)
    const Q = randomOrthogonal(rng, n);
    const D: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
    for (let i = 0; i < n; i++) D.data[i * n + i] = 0.45 * (1 + Math.cos((Math.PI * i) / (n - 1)));
    const M = matmul(matmul(Q, D), transpose(Q));
    const c = randomVector(rng, n);
    const T: FixedPointMap = (y, out) => {
      matvec(M, y, out);
      for (let i = 0; i < n; i++) out[i] += c[i];
    };
    // Exact solution of (I - M) y = c.
    const IM: Matrix = { rows: n, cols: n, data: M.data.map((t) => -t) };
    for (let i = 0; i < n; i++) IM.data[i * n + i] += 1;
    const f = luFactor(IM);
    if (f.singular) throw new Error('I - M singular');
    const exact = luSolve(f, c);

    const y0 = new Float64Array(n);
    const plain = fixedPoint(T, y0, { tol: 1e-10, maxIter: 5000 });
    const aa = fixedPoint(T, y0, { tol: 1e-10, anderson: { memory: 10 }, history: true, norm: '2' });
    for (const r of [plain, aa]) {
      expect(r.status).toBe('converged');
      // ||y - y*|| <= ||T(y) - y|| / (1 - 0.9).
      expect(normInf(r.y.map((t, i) => t - exact[i]))).toBeLessThan(1e-8);
    }
    // Plain Picard contracts by 0.9 per step asymptotically: about log(1e-10 / r0) / log(0.9) steps.
    expect(plain.iterations).toBeGreaterThan(200);
    expect(aa.evaluations * 4).toBeLessThan(plain.evaluations);
    // The safeguard only accepts non-increasing residuals; plain steps shrink the 2-norm residual (M symmetric, ||M|| < 1).
    const h = aa.history!;
    expect(h.length).toBe(aa.iterations + 1);
    for (let k = 1; k < h.length; k++) expect(h[k]).toBeLessThanOrEqual(h[k - 1]);
  });

  it('damping turns a non-contractive reflection into a convergent iteration', () => {
    // T(y) = 2 - y oscillates forever undamped; with damping 1/2 it lands on y = 1 in one step.
    const T: FixedPointMap = (y, out) => {
      out[0] = 2 - y[0];
    };
    const undamped = fixedPoint(T, Float64Array.from([0]), { maxIter: 50 });
    expect(undamped.status).toBe('max-iterations');
    const damped = fixedPoint(T, Float64Array.from([0]), { damping: 0.5 });
    expect(damped.status).toBe('converged');
    expect(damped.iterations).toBe(1);
    expect(damped.y[0]).toBe(1);
  });

  it('reports divergence of y = 2y + 1 without returning NaN', () => {
    const T: FixedPointMap = (y, out) => {
      for (let i = 0; i < y.length; i++) out[i] = 2 * y[i] + 1;
    };
    const r = fixedPoint(T, new Float64Array(3), { maxIter: 10000 });
    expect(r.status).toBe('diverged');
    expectFinite(r);
    const capped = fixedPoint(T, new Float64Array(3), { maxIter: 5 });
    expect(capped.status).toBe('max-iterations');
    expect(capped.iterations).toBe(5);
    // Anderson is a secant method here and finds the repelling fixed point y = -1.
    const aa = fixedPoint(T, new Float64Array(3), { anderson: 2 });
    expect(aa.status).toBe('converged');
    for (const yi of aa.y) expect(yi).toBeCloseTo(-1, 12);
  });

  it("reports 'non-finite' with the last finite iterate", () => {
    // T(y) = y + 1 until y exceeds 10, then NaN.
    const T: FixedPointMap = (y, out) => {
      for (let i = 0; i < y.length; i++) out[i] = y[i] <= 10 ? y[i] + 1 : NaN;
    };
    for (const anderson of [0, 3]) {
      const r = fixedPoint(T, new Float64Array(2), { anderson });
      expect(r.status).toBe('non-finite');
      expectFinite(r);
      expect(r.residual).toBe(1);
    }
    const plain = fixedPoint(T, new Float64Array(2));
    expect(Array.from(plain.y)).toEqual([10, 10]);
    const atStart = fixedPoint(() => {}, Float64Array.from([1]));
    expect(atStart.status).toBe('converged');
    const nanAtStart = fixedPoint((_, out) => out.fill(NaN), Float64Array.from([1, 2]));
    expect(nanAtStart.status).toBe('non-finite');
    expect(Array.from(nanAtStart.y)).toEqual([1, 2]);
    expect(nanAtStart.residual).toBe(Infinity);
  });

  it('falls back to plain steps when an Anderson step is rejected, without cycling', () => {
    // Not a global contraction (Lipschitz constant 1.7), but plain iteration converges from these
    // starts. Comparing Anderson candidates with the current (not the best) residual made
    // memory 2 cycle forever on the second start.
    const T: FixedPointMap = (y, out) => {
      for (let i = 0; i < y.length; i++) out[i] = 0.5 * Math.sin(3 * y[i]) + 0.2 * Math.abs(y[i]) + 0.1;
    };
    const rng = mulberry32(5);
    for (let trial = 0; trial < 4; trial++) {
      const y0 = Float64Array.from({ length: 6 }, () => 6 * rng() - 3);
      const plain = fixedPoint(T, y0, { tol: 1e-12, maxIter: 2000 });
      expect(plain.status).toBe('converged');
      for (const memory of [1, 2, 4]) {
        const r = fixedPoint(T, y0, { anderson: memory, tol: 1e-12, history: true, maxIter: 2000 });
        expect(r.status).toBe('converged');
        expect(r.evaluations).toBeLessThan(plain.evaluations * 1.5);
        for (let i = 0; i < y0.length; i++) expect(r.y[i]).toBeCloseTo(plain.y[i], 10);
        const h = r.history!;
        // Accepted Anderson steps never increase the residual; plain steps may, by at most the Lipschitz constant.
        for (let k = 1; k < h.length; k++) expect(h[k]).toBeLessThanOrEqual(1.7 * h[k - 1]);
      }
    }
    // Some Anderson candidates were rejected (two evaluations in one iteration).
    const r = fixedPoint(T, Float64Array.from([2, -2, 0.3, 5]), { anderson: 4, tol: 1e-12 });
    expect(r.evaluations).toBeGreaterThan(r.iterations + 1);
  });

  it('supports a relative tolerance and validates options', () => {
    const T: FixedPointMap = (y, out) => {
      out[0] = 0.5 * y[0] + 1e6;
    };
    const r = fixedPoint(T, Float64Array.from([0]), { tol: 0, rtol: 1e-12 });
    expect(r.status).toBe('converged');
    expect(r.y[0]).toBeCloseTo(2e6, 4);
    expect(() => fixedPoint(T, Float64Array.from([0]), { damping: 0 })).toThrow(SolverError);
    expect(() => fixedPoint(T, Float64Array.from([0]), { anderson: -1 })).toThrow(SolverError);
    expect(() => fixedPoint(T, Float64Array.from([NaN]))).toThrow(SolverError);
  });
});
