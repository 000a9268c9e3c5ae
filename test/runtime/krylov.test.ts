import { describe, it, expect } from 'vitest';
import { bicgstab, gmres, luFactor, luSolve, matvec, norm2, normInf, SolverError } from '../../src/runtime/index.ts';
import type { KrylovResult, LinearOperator, Matrix } from '../../src/runtime/index.ts';
import { mulberry32, randomShifted, randomVector } from './rng.ts';

const operator =
  (A: Matrix): LinearOperator =>
  (x, out) => {
    matvec(A, x, out);
  };

function trueResidual(A: Matrix, x: Float64Array, b: Float64Array): number {
  return norm2(matvec(A, x).map((t, i) => b[i] - t));
}

function luReference(A: Matrix, b: Float64Array): Float64Array {
  const f = luFactor(A);
  if (f.singular) throw new Error('reference system is singular');
  return luSolve(f, b);
}

function expectFinite(r: KrylovResult): void {
  expect(r.x.every((t) => Number.isFinite(t))).toBe(true);
  expect(Number.isNaN(r.residual)).toBe(false);
}

const solvers = { gmres, bicgstab } as const;

describe.each(Object.entries(solvers))('%s', (name, solve) => {
  it('converges to 1e-10 on a random nonsymmetric diagonally dominant 50x50 system', () => {
    const rng = mulberry32(314);
    const n = 50;
    // Off-diagonal row sums are < 49, so a shift of 55 makes A strictly diagonally dominant.
    const A = randomShifted(rng, n, 55);
    const b = randomVector(rng, n);
    const r = solve(operator(A), b, { tol: 1e-10, maxIter: 500 });
    expect(r.status).toBe('converged');
    const res = trueResidual(A, r.x, b);
    expect(res).toBeLessThanOrEqual(1e-10 * norm2(b));
    expect(Math.abs(r.residual - res)).toBeLessThan(1e-12 * norm2(b));
    const xRef = luReference(A, b);
    expect(normInf(r.x.map((t, i) => t - xRef[i])) / normInf(xRef)).toBeLessThan(1e-9);
  });

  it('converges on a harder, non-dominant system and honours x0', () => {
    const rng = mulberry32(2718);
    const n = 60;
    const A = randomShifted(rng, n, 6);
    const b = randomVector(rng, n);
    const r = solve(operator(A), b, { tol: 1e-10, maxIter: 2000, ...(name === 'gmres' ? { restart: 20 } : {}) });
    expect(r.status).toBe('converged');
    expect(trueResidual(A, r.x, b)).toBeLessThanOrEqual(1e-10 * norm2(b));
    const again = solve(operator(A), b, { tol: 1e-8, x0: r.x });
    expect(again.status).toBe('converged');
    expect(again.iterations).toBe(0);
  });

  it('returns zero for a zero right-hand side and reports max-iterations honestly', () => {
    const rng = mulberry32(1);
    const A = randomShifted(rng, 30, 6);
    const zero = solve(operator(A), new Float64Array(30));
    expect(zero.status).toBe('converged');
    expect(normInf(zero.x)).toBe(0);
    const b = randomVector(rng, 30);
    const r = solve(operator(A), b, { tol: 1e-14, maxIter: 2 });
    expect(r.status).toBe('max-iterations');
    expect(r.iterations).toBe(2);
    expect(r.residual).toBeCloseTo(trueResidual(A, r.x, b), 12);
  });

  it('does not claim convergence on a singular inconsistent system', () => {
    const rng = mulberry32(77);
    const n = 50;
    const A = randomShifted(rng, n, 55);
    // Zero last row: (A x)_n = 0 for every x, so ||b - A x|| >= |b_n| = 1.
    A.data.fill(0, (n - 1) * n);
    const b = randomVector(rng, n);
    b[n - 1] = 1;
    const r = solve(operator(A), b, { tol: 1e-10, maxIter: 3000 });
    expect(r.status).not.toBe('converged');
    expect(r.residual).toBeGreaterThanOrEqual(1 - 1e-12);
    expect(r.residual).toBeCloseTo(trueResidual(A, r.x, b), 10);
    expectFinite(r);
  });

  it('stops with a finite x when the operator produces NaN', () => {
    const n = 10;
    let calls = 0;
    const apply: LinearOperator = (x, out) => {
      calls++;
      for (let i = 0; i < n; i++) out[i] = calls > 3 ? NaN : 2 * x[i] + 0.1 * x[(i + 1) % n];
    };
    const r = solve(apply, randomVector(mulberry32(3), n), { tol: 1e-14 });
    expect(r.status).toBe('non-finite');
    expectFinite(r);
  });

  it('rejects invalid input', () => {
    const apply: LinearOperator = (x, out) => out.set(x);
    expect(() => solve(apply, Float64Array.from([1, NaN]))).toThrow(SolverError);
    expect(() => solve(apply, Float64Array.from([1, 2]), { x0: new Float64Array(3) })).toThrow(SolverError);
    expect(() => solve(apply, Float64Array.from([1, 2]), { tol: -1 })).toThrow(SolverError);
  });
});

describe('gmres specifics', () => {
  it('reports breakdown when the Krylov space is invariant but the system inconsistent', () => {
    // A = diag(1, ..., 1, 0), b = ones: K = span{(1..1,0), e_n}, least-squares residual 1.
    const n = 20;
    const apply: LinearOperator = (x, out) => {
      out.set(x);
      out[n - 1] = 0;
    };
    const r = gmres(apply, new Float64Array(n).fill(1), { tol: 1e-12 });
    expect(r.status).toBe('breakdown');
    expect(r.iterations).toBeLessThanOrEqual(3);
    expect(r.residual).toBeCloseTo(1, 12);
    for (let i = 0; i < n - 1; i++) expect(r.x[i]).toBeCloseTo(1, 12);
  });

  it('solves an exactly representable system in one Krylov space (happy breakdown)', () => {
    const apply: LinearOperator = (x, out) => {
      for (let i = 0; i < x.length; i++) out[i] = 3 * x[i];
    };
    const r = gmres(apply, Float64Array.from([3, 6, -9]));
    expect(r.status).toBe('converged');
    expect(r.iterations).toBe(1);
    expect(Array.from(r.x).map((t) => Math.round(t * 1e12) / 1e12)).toEqual([1, 2, -3]);
  });
});

describe('bicgstab specifics', () => {
  it('reports breakdown on a skew-symmetric system (r . A r = 0), which GMRES solves', () => {
    const apply: LinearOperator = (x, out) => {
      out[0] = x[1];
      out[1] = -x[0];
    };
    const b = Float64Array.from([1, 0]);
    const r = bicgstab(apply, b);
    expect(r.status).toBe('breakdown');
    expect(r.residual).toBe(1);
    expectFinite(r);
    const g = gmres(apply, b);
    expect(g.status).toBe('converged');
    expect(Array.from(g.x).map((t) => Math.round(t * 1e12) / 1e12)).toEqual([0, 1]);
  });
});
