import { describe, it, expect } from 'vitest';
import {
  conditionEstimate1,
  determinantSign,
  fromRows,
  inverseNorm1Estimate,
  logAbsDet,
  luFactor,
  luSolve,
  luSolveTranspose,
  matNorm1,
  matTvec,
  matvec,
  normInf,
  SolverError,
  zeros,
} from '../../src/runtime/index.ts';
import type { LuResult, Matrix } from '../../src/runtime/index.ts';
import { mulberry32, randomMatrix, randomShifted, randomVector } from './rng.ts';

function factor(A: Matrix): LuResult {
  const f = luFactor(A);
  if (f.singular) throw new Error(`unexpectedly singular at column ${f.column}`);
  return f;
}

/** Reference inverse by Gauss-Jordan elimination with partial pivoting on [A | I], independent of the runtime's LU. */
function gaussJordanInverse(A: Matrix): number[][] {
  const n = A.rows;
  const M = Array.from({ length: n }, (_, i) => [
    ...Array.from(A.data.subarray(i * n, (i + 1) * n)),
    ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  ]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i][k]) > Math.abs(M[p][k])) p = i;
    [M[k], M[p]] = [M[p], M[k]];
    const piv = M[k][k];
    for (let j = 0; j < 2 * n; j++) M[k][j] /= piv;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const l = M[i][k];
      for (let j = 0; j < 2 * n; j++) M[i][j] -= l * M[k][j];
    }
  }
  return M.map((row) => row.slice(n));
}

function norm1Rows(B: number[][]): number {
  let best = 0;
  for (let j = 0; j < B.length; j++) {
    let s = 0;
    for (const row of B) s += Math.abs(row[j]);
    best = Math.max(best, s);
  }
  return best;
}

function hilbert(n: number): Matrix {
  return fromRows(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 1 / (i + j + 1))));
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Exact integer inverse of the n x n Hilbert matrix (Choi, Amer. Math. Monthly 90 (1983)); 1-based i, j. */
function hilbertInverse(n: number): number[][] {
  return Array.from({ length: n }, (_, a) =>
    Array.from({ length: n }, (_, b) => {
      const i = a + 1;
      const j = b + 1;
      return (-1) ** (i + j) * (i + j - 1) * binomial(n + i - 1, n - j) * binomial(n + j - 1, n - i) * binomial(i + j - 2, i - 1) ** 2;
    }),
  );
}

describe('LU factorization and solves', () => {
  it('solves a hand-computed 3x3 system and its determinant', () => {
    // Strang, Linear Algebra and its Applications, sec. 1.3: solution (1, 1, 2), det -16.
    const A = fromRows([
      [2, 1, 1],
      [4, -6, 0],
      [-2, 7, 2],
    ]);
    const f = factor(A);
    const x = luSolve(f, Float64Array.from([5, -2, 9]));
    expect(Array.from(x).map((t) => Math.round(t * 1e12) / 1e12)).toEqual([1, 1, 2]);
    expect(determinantSign(f)).toBe(-1);
    expect(logAbsDet(f)).toBeCloseTo(Math.log(16), 13);
    // A^T y = b with y = (1, -1, 1): A^T y = (2 - 4 - 2, 1 + 6 + 7, 1 - 0 + 2).
    const y = luSolveTranspose(f, Float64Array.from([-4, 14, 3]));
    expect(Array.from(y).map((t) => Math.round(t * 1e12) / 1e12)).toEqual([1, -1, 1]);
  });

  it('has small backward error on random well-conditioned systems, for A and A^T', () => {
    const rng = mulberry32(2024);
    for (const n of [1, 2, 5, 17, 40, 80]) {
      const A = randomShifted(rng, n, 3);
      const f = factor(A);
      const b = randomVector(rng, n);
      const x = luSolve(f, b);
      const r = matvec(A, x).map((t, i) => t - b[i]);
      expect(normInf(r) / (matNorm1(A) * normInf(x) + normInf(b))).toBeLessThan(1e-14);
      const z = luSolveTranspose(f, b);
      const rt = matTvec(A, z).map((t, i) => t - b[i]);
      expect(normInf(rt) / (matNorm1(A) * normInf(z) + normInf(b))).toBeLessThan(1e-14);
      // In-place (out aliases b) gives the same answer.
      const bCopy = b.slice();
      luSolve(f, bCopy, bCopy);
      expect(Array.from(bCopy)).toEqual(Array.from(x));
      const bCopyT = b.slice();
      luSolveTranspose(f, bCopyT, bCopyT);
      expect(Array.from(bCopyT)).toEqual(Array.from(z));
    }
  });

  it('gets the determinant sign and magnitude of a permuted triangular matrix', () => {
    // Rows of upper-triangular diag(2, -3, 0.5) swapped once: det = -(2 * -3 * 0.5) = 3.
    const A = fromRows([
      [0, -3, 1],
      [2, 1, 4],
      [0, 0, 0.5],
    ]);
    const f = factor(A);
    expect(determinantSign(f)).toBe(1);
    expect(logAbsDet(f)).toBeCloseTo(Math.log(3), 14);
  });

  it('detects exactly and numerically singular matrices', () => {
    const s1 = luFactor(
      fromRows([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ]),
    );
    expect(s1.singular).toBe(true);
    if (s1.singular) expect(s1.column).toBe(2);
    const s0 = luFactor(zeros(3, 3));
    expect(s0).toEqual({ singular: true, column: 0, pivot: 0 });
    // Random rank-deficient: last row is a combination of the others.
    const rng = mulberry32(5);
    const n = 12;
    const A = randomMatrix(rng, n, n);
    for (let j = 0; j < n; j++) A.data[(n - 1) * n + j] = 0.3 * A.data[j] - 1.7 * A.data[n + j] + A.data[5 * n + j];
    expect(luFactor(A).singular).toBe(true);
    // A tiny but nonzero matrix is fine: the threshold is relative to ||A||.
    expect(luFactor(fromRows([[1e-300]])).singular).toBe(false);
  });

  it('rejects non-square and non-finite input', () => {
    expect(() => luFactor(zeros(2, 3))).toThrow(SolverError);
    expect(() => luFactor(fromRows([[1, NaN], [0, 1]]))).toThrow(SolverError);
    const f = factor(fromRows([[2]]));
    expect(() => luSolve(f, new Float64Array(2))).toThrow(SolverError);
  });
});

describe('conditionEstimate1 (Hager-Higham)', () => {
  it('is within a factor 3 of the true 1-norm condition number on random matrices', () => {
    const rng = mulberry32(99);
    for (const n of [2, 3, 5, 10, 20, 40]) {
      for (let trial = 0; trial < 5; trial++) {
        const A = randomMatrix(rng, n, n);
        const f = factor(A);
        const exact = matNorm1(A) * norm1Rows(gaussJordanInverse(A));
        const est = conditionEstimate1(A, f);
        expect(est).toBeLessThanOrEqual(exact * (1 + 1e-8));
        expect(est).toBeGreaterThanOrEqual(exact / 3);
      }
    }
  });

  it('handles the ill-conditioned Hilbert 6x6 matrix (kappa_1 ~ 2.9e7)', () => {
    const H = hilbert(6);
    const exact = matNorm1(H) * norm1Rows(hilbertInverse(6));
    expect(exact).toBeGreaterThan(2.9e7);
    expect(exact).toBeLessThan(3.0e7);
    const est = conditionEstimate1(H, factor(H));
    expect(est).toBeLessThanOrEqual(exact * (1 + 1e-6));
    expect(est).toBeGreaterThanOrEqual(exact / 3);
  });

  it('is exact for 1x1 and diagonal matrices', () => {
    const A = fromRows([[-4]]);
    expect(conditionEstimate1(A, factor(A))).toBe(1);
    const D = fromRows([
      [1, 0, 0],
      [0, 1e-3, 0],
      [0, 0, 10],
    ]);
    expect(inverseNorm1Estimate(factor(D))).toBeCloseTo(1e3, 9);
    expect(conditionEstimate1(D, factor(D))).toBeCloseTo(1e4, 7);
    expect(() => conditionEstimate1(zeros(2, 2), factor(A))).toThrow(SolverError);
  });
});
