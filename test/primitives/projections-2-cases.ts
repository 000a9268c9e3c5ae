import { expect } from 'vitest';
import type { Tensor } from '../../src/primitives/types.ts';
import type { ArgSpec, Spec } from './cases.ts';
import { centralDifference, num, tensor, vec } from './harness.ts';
import { uniform } from './rng.ts';

// Registry test cases (test/primitives/cases.ts spreads them into SPECS) of the l2 ball, the
// l-infinity ball and the PSD cone, with references written independently of the kernels:
// the l2 ball by its closed form, the l-infinity ball as a scalar clip, and the PSD cone as
// (S + S sign(S)) / 2 with the matrix sign function by Newton's iteration (no eigenvalues).

const real = (...shape: number[]): ArgSpec => ({ shape });
const within = (lo: number, hi: number, ...shape: number[]): ArgSpec => ({ shape, sample: (r) => uniform(r, lo, hi) });
const delta = 1e-5;

/** Closed form: v when |v|_2 <= r, else r v / |v|_2. */
export function l2BallRef([v, r]: Tensor[]): number[] {
  const norm = Math.hypot(...v.data);
  const c = norm <= r.data[0] ? 1 : r.data[0] / norm;
  return Array.from(v.data, (x) => c * x);
}

export type Mat = number[][];

export const matOf = (t: Tensor): Mat => Array.from({ length: t.shape[0] }, (_, i) => Array.from(t.data.subarray(i * t.shape[1], (i + 1) * t.shape[1])));
export const flatOf = (A: Mat): number[] => A.flat();
export const mul = (A: Mat, B: Mat): Mat => A.map((row) => B[0].map((_, j) => row.reduce((s, a, k) => s + a * B[k][j], 0)));
export const add = (A: Mat, B: Mat, b = 1): Mat => A.map((row, i) => row.map((a, j) => a + b * B[i][j]));
export const transposed = (A: Mat): Mat => A[0].map((_, j) => A.map((row) => row[j]));
export const sym = (A: Mat): Mat => A.map((row, i) => row.map((a, j) => (a + A[j][i]) / 2));
export const identity = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

/** A^{-1} by Gauss-Jordan elimination with partial pivoting. */
export function inverse(A: Mat): Mat {
  const n = A.length;
  const M = A.map((row, i) => [...row, ...identity(n)[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(M[i][c]) > Math.abs(M[p][c])) p = i;
    [M[c], M[p]] = [M[p], M[c]];
    const d = M[c][c];
    for (let j = 0; j < 2 * n; j++) M[c][j] /= d;
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = M[i][c];
      for (let j = 0; j < 2 * n; j++) M[i][j] -= f * M[c][j];
    }
  }
  return M.map((row) => row.slice(n));
}

/**
 * The matrix sign of a symmetric nonsingular A by Newton's iteration X <- (X + X^{-1}) / 2
 * (Higham, Functions of Matrices, 5.3), to convergence; then the PSD projection is
 * (A + A sign(A)) / 2 = Q diag(max(l, 0)) Q^T, with no eigendecomposition.
 */
export function psdRef(S: Tensor): number[] {
  const A = sym(matOf(S));
  let X = A;
  for (let k = 0; k < 100; k++) {
    const next = add(X, inverse(X)).map((row) => row.map((x) => x / 2));
    const change = Math.max(...add(next, X, -1).flat().map(Math.abs));
    X = next;
    if (change < 1e-15) break;
  }
  return flatOf(add(A, mul(A, X)).map((row) => row.map((x) => x / 2)));
}

const diag3 = (a: number, b: number, c: number) => tensor([3, 3], [a, 0, 0, 0, b, 0, 0, 0, c]);

export const PROJECTION_SPECS_2: Record<string, Spec> = {
  proj_l2ball: {
    cases: [
      { args: [real(5), within(0.5, 1.5)], expected: l2BallRef, check: ([, r], p) => expect(Math.hypot(...p.data)).toBeLessThanOrEqual(r.data[0] * (1 + 1e-15)) },
      { args: [real(4), within(20, 30)], expected: ([v]) => v.data },
      { args: [real(3), within(-2, -0.5)], expected: ([v]) => Array.from(v.data, () => NaN), valuesOnly: true },
    ],
    faceTies: [
      // On the sphere |(3, 4)| = 5: the inside piece [I, 0] (used) and the outside one [I - u u^T, u].
      { args: [vec(3, 4), num(5)], tied: [0, 1], nearby: [[vec(3, 4), num(5 + delta)], [vec(3, 4), num(5 - delta)]], usedFace: 0 },
    ],
  },
  proj_linf_ball: {
    cases: [[real(4), within(0.5, 1.5)], [real(2, 3), within(0.2, 1)]].map((args) => ({
      args,
      expected: ([v, r]: Tensor[]) => Array.from(v.data, (x) => (x > r.data[0] ? r.data[0] : x < -r.data[0] ? -r.data[0] : x)),
    })),
    diagonalTies: [{ args: [vec(1, 0.25, -1, 3), num(1)], tied: [0, 2], used: 0 }],
  },
  proj_psd: {
    cases: [
      { args: [real(3, 3)], expected: ([S]) => psdRef(S), tol: 1e-12 },
      { args: [real(4, 4)], expected: ([S]) => psdRef(S), tol: 1e-12 },
      // 2 x 2 in closed form: eigenvalues m +- h of [[p, q], [q, s]], m = (p + s) / 2, h = hypot((p - s) / 2, q).
      {
        args: [real(2, 2)],
        expected: ([S]) => {
          const [p, q1, q2, s] = S.data;
          const q = (q1 + q2) / 2;
          const m = (p + s) / 2;
          const h = Math.hypot((p - s) / 2, q);
          if (m + h <= 0) return [0, 0, 0, 0];
          if (m - h >= 0) return [p, q, q, s];
          // One positive eigenvalue m + h with eigenvector (q, m + h - p) (or (m + h - s, q)).
          const [x, y] = Math.abs(m + h - p) > Math.abs(m + h - s) ? [q, m + h - p] : [m + h - s, q];
          const c = (m + h) / (x * x + y * y);
          return [c * x * x, c * x * y, c * x * y, c * y * y];
        },
        tol: 1e-12,
      },
    ],
    faceTies: [
      // A simple zero eigenvalue: Gamma_22 in {0, 1} on the two sides; 0 (the negative side) is used.
      { args: [diag3(2, 0, -1)], tied: [0, 1, 2, 3, 4, 5, 6, 7, 8], nearby: [[diag3(2, delta, -1)], [diag3(2, -delta, -1)]], usedFace: 1 },
    ],
  },
  proj_l2ball_jvp: {
    cases: [
      { args: [real(5), within(0.5, 1.5), real(5)], expected: ([v, r, t]) => centralDifference('proj_l2ball', [v, r], [t, null]), tol: 1e-8 },
      { args: [real(4), within(20, 30), real(4)], expected: ([, , t]) => t.data },
    ],
  },
  proj_l2ball_dr: {
    cases: [
      { args: [real(5), within(0.5, 1.5)], expected: ([v, r]) => centralDifference('proj_l2ball', [v, r], [null, num(1)]), tol: 1e-8 },
      { args: [real(4), within(20, 30)], expected: () => [0, 0, 0, 0] },
    ],
  },
  proj_linf_ball_d: {
    cases: [
      { args: [real(4), within(0.5, 1.5)], expected: ([v, r]) => Array.from(v.data, (x) => (Math.abs(x) < r.data[0] ? 1 : 0)) },
      { args: [{ shape: [4], sample: (_r, i) => i - 2 }, { shape: [], sample: () => 1 }], expected: () => [0, 0, 1, 0], valuesOnly: true },
    ],
  },
  proj_psd_jvp: {
    cases: [
      { args: [real(3, 3), real(3, 3)], expected: ([S, T]) => centralDifference('proj_psd', [S], [T]), tol: 1e-7 },
      // Positive definite S: P = sym(S), dP = sym(T).
      {
        args: [{ shape: [3, 3], sample: (r, i) => (i % 4 === 0 ? uniform(r, 5, 6) : uniform(r, -0.5, 0.5)) }, real(3, 3)],
        expected: ([, T]) => flatOf(sym(matOf(T))),
      },
    ],
  },
};

