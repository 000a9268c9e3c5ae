import { describe, it, expect } from 'vitest';
import {
  dot,
  fromRows,
  frobenius,
  identity,
  matmul,
  matNorm1,
  matNormInf,
  matTvec,
  matvec,
  norm2,
  normInf,
  opnorm2,
  opnorm2Upper,
  SolverError,
  toRows,
  transpose,
  vecNorm,
  zeros,
} from '../../src/runtime/index.ts';
import type { Matrix } from '../../src/runtime/index.ts';
import { mulberry32, randomMatrix } from './rng.ts';

const v = (...xs: number[]) => Float64Array.from(xs);

/** Largest singular value of [[a, b], [c, d]] in closed form: the larger root of s^4 - ||A||_F^2 s^2 + det^2. */
function sigmaMax2x2(a: number, b: number, c: number, d: number): number {
  const f2 = a * a + b * b + c * c + d * d;
  const det = a * d - b * c;
  return Math.sqrt((f2 + Math.sqrt(Math.max(0, f2 * f2 - 4 * det * det))) / 2);
}

describe('matrix helpers', () => {
  it('builds, converts and rejects ragged rows', () => {
    const A = fromRows([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(A.rows).toBe(2);
    expect(A.cols).toBe(3);
    expect(Array.from(A.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(toRows(A)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(toRows(identity(2))).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(Array.from(zeros(2, 2).data)).toEqual([0, 0, 0, 0]);
    expect(() => fromRows([[1, 2], [3]])).toThrow(SolverError);
  });

  it('multiplies', () => {
    const A = fromRows([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(Array.from(matvec(A, v(1, 0, -1)))).toEqual([-2, -2]);
    expect(Array.from(matTvec(A, v(1, -1)))).toEqual([-3, -3, -3]);
    expect(toRows(transpose(A))).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(toRows(matmul(A, transpose(A)))).toEqual([
      [14, 32],
      [32, 77],
    ]);
    expect(dot(v(1, 2, 3), v(4, 5, 6))).toBe(32);
    try {
      matmul(A, A);
      expect.unreachable();
    } catch (e) {
      expect((e as SolverError).code).toBe('dimension-mismatch');
    }
    expect(() => matvec(A, v(1, 2))).toThrow(SolverError);
  });

  it('computes vector and matrix norms, without overflow or underflow', () => {
    expect(norm2(v(3, -4))).toBe(5);
    expect(normInf(v(3, -4, 1))).toBe(4);
    expect(vecNorm(v(3, -4), '2')).toBe(5);
    expect(vecNorm(v(3, -4), 'inf')).toBe(4);
    expect(norm2(v(3e200, 4e200))).toBeCloseTo(5e200, -188);
    expect(norm2(v(3e-200, 4e-200)) / 5e-200).toBeCloseTo(1, 14);
    expect(norm2(new Float64Array(0))).toBe(0);
    expect(normInf(v(1, NaN, 0))).toBeNaN();
    expect(norm2(v(1, NaN))).toBeNaN();
    expect(norm2(v(1, Infinity))).toBe(Infinity);
    const A = fromRows([
      [1, -2],
      [-3, 4],
    ]);
    expect(frobenius(A)).toBeCloseTo(Math.sqrt(30), 14);
    expect(matNorm1(A)).toBe(6);
    expect(matNormInf(A)).toBe(7);
  });
});

describe('opnorm2 / opnorm2Upper', () => {
  it('matches the closed-form largest singular value of 2x2 matrices', () => {
    const rng = mulberry32(7);
    const cases = [
      [1, 2, 3, 4],
      [2, 0, 0, 1],
      [1, 1, 0, 1],
      [0, 0, 0, 1e-3],
    ];
    for (let k = 0; k < 20; k++) cases.push([rng() - 0.5, rng() - 0.5, rng() - 0.5, rng() - 0.5].map((x) => 10 * x));
    for (const [a, b, c, d] of cases) {
      const A = fromRows([
        [a, b],
        [c, d],
      ]);
      const exact = sigmaMax2x2(a, b, c, d);
      expect(Math.abs(opnorm2(A) - exact) / exact).toBeLessThan(1e-10);
      const upper = opnorm2Upper(A);
      expect(upper).toBeGreaterThanOrEqual(exact);
      // k^(1/2^(p+2)) with k = 2, p = 5, plus the rounding margin.
      expect(upper / exact).toBeLessThan(2 ** (1 / 128) + 1e-12);
    }
  });

  it('is exact on diagonal matrices', () => {
    const A = fromRows([
      [1, 0, 0, 0, 0],
      [0, -5, 0, 0, 0],
      [0, 0, 3, 0, 0],
      [0, 0, 0, 4.5, 0],
      [0, 0, 0, 0, 0],
    ]);
    expect(opnorm2(A)).toBeCloseTo(5, 9);
    expect(opnorm2Upper(A)).toBeGreaterThanOrEqual(5);
    expect(opnorm2Upper(A)).toBeLessThan(5 * (1 + 1e-12));
    expect(opnorm2(zeros(3, 4))).toBe(0);
    expect(opnorm2Upper(zeros(3, 4))).toBe(0);
    expect(opnorm2(zeros(0, 0))).toBe(0);
  });

  it('brackets the spectral norm of random square and rectangular matrices', () => {
    const rng = mulberry32(42);
    const shapes: [number, number][] = [
      [10, 10],
      [30, 30],
      [40, 12],
      [12, 40],
      [1, 25],
      [60, 60],
    ];
    for (const [m, n] of shapes) {
      for (const scale of [1, 1e-150, 1e150]) {
        const A: Matrix = randomMatrix(rng, m, n);
        for (let i = 0; i < A.data.length; i++) A.data[i] *= scale;
        const est = opnorm2(A);
        const upper = opnorm2Upper(A);
        expect(upper).toBeGreaterThanOrEqual(est);
        expect(upper / est).toBeLessThan(Math.min(m, n) ** (1 / 128) * (1 + 1e-9));
        expect(Math.abs(opnorm2(transpose(A)) - est) / est).toBeLessThan(1e-9);
        // sigma_max >= ||A x|| / ||x|| for any x: the estimate beats every column.
        expect(est).toBeGreaterThanOrEqual(norm2(matvec(A, Float64Array.from({ length: n }, (_, j) => (j === 0 ? 1 : 0)))) * (1 - 1e-12));
      }
    }
  });

  it('is tight on matrices with known singular values, clustered and repeated ones included (the Cholesky certificate)', () => {
    const rng = mulberry32(99);
    /** Apply the reflection I - 2 v v^T / v^T v to the rows (left) or columns (right) of A. */
    const reflect = (A: Matrix, side: 'left' | 'right'): void => {
      const k = side === 'left' ? A.rows : A.cols;
      const v = Float64Array.from({ length: k }, () => rng() - 0.5);
      const vv = v.reduce((s, x) => s + x * x, 0);
      if (side === 'left') {
        for (let j = 0; j < A.cols; j++) {
          let d = 0;
          for (let i = 0; i < A.rows; i++) d += v[i] * A.data[i * A.cols + j];
          for (let i = 0; i < A.rows; i++) A.data[i * A.cols + j] -= (2 * d * v[i]) / vv;
        }
      } else {
        for (let i = 0; i < A.rows; i++) {
          let d = 0;
          for (let j = 0; j < A.cols; j++) d += v[j] * A.data[i * A.cols + j];
          for (let j = 0; j < A.cols; j++) A.data[i * A.cols + j] -= (2 * d * v[j]) / vv;
        }
      }
    };
    const spectra: number[][] = [
      Array.from({ length: 40 }, (_, i) => 3 / (1 + i)),
      Array.from({ length: 40 }, (_, i) => (i < 5 ? 2 - 1e-10 * i : 1)),
      Array.from({ length: 40 }, (_, i) => (i < 3 ? 0.9 : 0.89)),
      Array.from({ length: 120 }, () => 1),
    ];
    for (const s of spectra) {
      const n = s.length;
      const A = zeros(n, n);
      s.forEach((v, i) => (A.data[i * n + i] = v));
      for (let r = 0; r < 3; r++) {
        reflect(A, 'left');
        reflect(A, 'right');
      }
      const sigma = Math.max(...s);
      const upper = opnorm2Upper(A);
      expect(upper).toBeGreaterThanOrEqual(sigma * (1 - 1e-13));
      expect(upper / sigma).toBeLessThan(1 + 1e-6);
    }
  });

  it('converges on clustered top singular values, where power iteration crawls (Lanczos)', () => {
    const n = 80;
    const A = zeros(n + 20, n);
    // Five singular values within 4e-6 of the top one (1), the rest below 0.9: the estimate
    // lands inside the cluster (a Krylov method cannot tell such values apart sooner), from below.
    for (let i = 0; i < n; i++) A.data[i * n + i] = i < 5 ? 1 - 1e-6 * i : 0.9 * (1 - i / n);
    const top = opnorm2(A);
    expect(top).toBeLessThanOrEqual(1 + 1e-15);
    expect(top).toBeGreaterThan(1 - 4.1e-6);
    // A wide Gaussian matrix: the top singular values are close together.
    const rng = mulberry32(4);
    const G = randomMatrix(rng, 60, 400);
    const s = opnorm2(G);
    expect(opnorm2Upper(G)).toBeGreaterThanOrEqual(s);
    expect(opnorm2Upper(G) / s).toBeLessThan(1 + 1e-6);
  });

  it('a narrow matrix (Householder on its short side\'s Gram matrix): known singular values, vectors, rank deficiency', () => {
    // A = Q diag(s) with orthonormal columns Q (from a Householder reflection): ||A|| = max s.
    const rng = mulberry32(19);
    for (const k of [1, 2, 3, 7, 32]) {
      const m = 50;
      const u = Float64Array.from({ length: m }, () => rng() - 0.5);
      const uu = u.reduce((a, x) => a + x * x, 0);
      const s = Array.from({ length: k }, (_, j) => (j === Math.floor(k / 2) ? 9.5 : 1 + 8 * rng()));
      const A = zeros(m, k);
      for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) A.data[i * k + j] = ((i === j ? 1 : 0) - (2 * u[i] * u[j]) / uu) * s[j];
      expect(Math.abs(opnorm2(A) - 9.5) / 9.5).toBeLessThan(1e-13);
      expect(Math.abs(opnorm2(transpose(A)) - 9.5) / 9.5).toBeLessThan(1e-13);
    }
    // Rank one, with zero columns: x y^T has norm ||x|| ||y||.
    const x = [3, 0, 4];
    const y = [0, 1, 0, 0, 2];
    const R = fromRows(x.map((a) => y.map((b) => a * b)));
    expect(Math.abs(opnorm2(R) - 5 * Math.sqrt(5)) / (5 * Math.sqrt(5))).toBeLessThan(1e-14);
  });

  it('narrow matrices with entries far from 1: the same norm, scaled (Householder scales its vectors)', () => {
    const A = randomMatrix(mulberry32(23), 40, 5);
    const base = opnorm2(A);
    for (const c of [1e-80, 1e-100, 1e-200, 1e77, 1e100, 1e200]) {
      const B = { rows: 40, cols: 5, data: A.data.map((x) => x * c) };
      expect(Math.abs(opnorm2(B) / (c * base) - 1)).toBeLessThan(1e-13);
      const upper = opnorm2Upper(B);
      expect(upper / (c * base)).toBeGreaterThanOrEqual(1 - 1e-13);
      expect(upper / (c * base)).toBeLessThan(1 + 1e-6);
    }
    // Columns of 1e-160 beside columns of 1: the Gram matrix spans 320 orders of magnitude.
    const M = { rows: 50, cols: 3, data: Float64Array.from({ length: 150 }, (_, i) => (i % 3 === 0 ? 1 : 1e-160)) };
    expect(Math.abs(opnorm2(M) / Math.sqrt(50) - 1)).toBeLessThan(1e-14);
    expect(opnorm2Upper(M)).toBeGreaterThanOrEqual(Math.sqrt(50));
  });

  it('recovers when the deterministic start vector is in the null space', () => {
    // The start vector is u_j = +-(0.5 + frac((j + 1) * golden)); [u_1, -u_0] annihilates it.
    const golden = 0.6180339887498949;
    const u = [0, 1].map((j) => {
      const f = ((j + 1) * golden) % 1;
      return f < 0.5 ? -(0.5 + f) : 0.5 + f;
    });
    const A = fromRows([[u[1], -u[0]]]);
    expect(opnorm2(A)).toBeCloseTo(Math.hypot(u[0], u[1]), 12);
  });

  it('rejects non-finite matrices', () => {
    expect(() => opnorm2Upper(fromRows([[NaN]]))).toThrow(SolverError);
    expect(() => opnorm2(fromRows([[Infinity]]))).toThrow(SolverError);
  });

  /**
   * m x n with the given singular values (min(m, n) of them): H_u diag(s) H_v, Householder
   * reflections H_u, H_v from random vectors, so the singular values are known exactly (to the
   * rounding of forming A).
   */
  function withSingularValues(rng: () => number, m: number, n: number, s: readonly number[]): Matrix {
    const u = Float64Array.from({ length: m }, () => rng() - 0.5);
    const v = Float64Array.from({ length: n }, () => rng() - 0.5);
    const uu = u.reduce((a, x) => a + x * x, 0);
    const vv = v.reduce((a, x) => a + x * x, 0);
    // B = diag(s) H_v, then A = H_u B = B - 2 u (u^T B) / uu.
    const B = zeros(m, n);
    for (let k = 0; k < s.length; k++) for (let j = 0; j < n; j++) B.data[k * n + j] = s[k] * ((k === j ? 1 : 0) - (2 * v[k] * v[j]) / vv);
    const uB = new Float64Array(n);
    for (let k = 0; k < m; k++) for (let j = 0; j < n; j++) uB[j] += u[k] * B.data[k * n + j];
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) B.data[i * n + j] -= (2 * u[i] * uB[j]) / uu;
    return B;
  }

  it('wide and tall matrices, in JavaScript and resident in WebAssembly: known singular values, from below', () => {
    const rng = mulberry32(31);
    // 40 x 90 stays in JavaScript; 200 x 400 (80000 entries) goes resident.
    for (const [m, n] of [[40, 90], [200, 400]]) {
      const k = Math.min(m, n);
      // A well separated top, then a cluster within 5e-11 relative (any value in it is within the contract).
      for (const top of [[10, 8.5], [10, 10 * (1 - 5e-11)]]) {
        const s = Array.from({ length: k }, (_, i) => (i < top.length ? top[i] : 1 + 7 * rng()));
        const A = withSingularValues(rng, m, n, s);
        for (const M of [A, transpose(A)]) {
          const est = opnorm2(M);
          // Lower bound in exact arithmetic: above 10 by rounding only.
          expect(est).toBeLessThanOrEqual(10 * (1 + 1e-13));
          expect(Math.abs(est - 10) / 10).toBeLessThan(1e-10);
        }
      }
    }
  });

  it('a wide matrix whose first start is annihilated: the fallback start (the largest row) finds the norm', () => {
    // Lanczos on A A^T (40 rows: past the dense path of narrow matrices) starts from
    // v = u / ||u||, u_i = +-(0.5 + frac((i + 1) * golden)), as lanczosLargest makes it. Rows 0
    // and 1 are v_1 t and -v_0 t, the others 0, with t_j powers of two, so
    // (A^T v)_j = v_0 v_1 t_j - v_1 v_0 t_j is exactly 0. Rank one: the norm is ||t|| hypot(v_0, v_1).
    const golden = 0.6180339887498949;
    const m = 40;
    const n = 50;
    const u = Float64Array.from({ length: m }, (_, i) => {
      const f = ((i + 1) * golden) % 1;
      return f < 0.5 ? -(0.5 + f) : 0.5 + f;
    });
    const inv = 1 / norm2(u);
    const v = u.map((x) => x * inv);
    const t = Array.from({ length: n }, (_, j) => 2 ** (j % 3));
    const A = zeros(m, n);
    for (let j = 0; j < n; j++) {
      A.data[j] = v[1] * t[j];
      A.data[n + j] = -v[0] * t[j];
    }
    expect(normInf(matTvec(A, v))).toBe(0);
    const exact = Math.hypot(...t) * Math.hypot(v[0], v[1]);
    expect(Math.abs(opnorm2(A) - exact) / exact).toBeLessThan(1e-13);
  });

  it('resident sizes (the one-pass Gram kernel, A^T copied for a wide A): a clustered top, rank one, a start orthogonal to the top', () => {
    const rng = mulberry32(61);
    // 300 x 400 and 400 x 300 (120000 entries) go resident; a top cluster spaced like a
    // Gaussian matrix's edge (relative gaps of a few 1e-3), and one within 1e-11.
    for (const [m, n] of [[300, 400], [400, 300]]) {
      for (const top of [[10, 9.97, 9.95, 9.92, 9.9], [10, 10 * (1 - 1e-11), 10 * (1 - 2e-11)]]) {
        const k = Math.min(m, n);
        const s = Array.from({ length: k }, (_, i) => (i < top.length ? top[i] : 8 * rng()));
        const A = withSingularValues(rng, m, n, s);
        const est = opnorm2(A);
        expect(est).toBeLessThanOrEqual(10 * (1 + 1e-13));
        expect(Math.abs(est - 10) / 10).toBeLessThan(1e-10);
      }
      // Rank one: x y^T, norm ||x|| ||y||.
      const x = Float64Array.from({ length: m }, () => rng() - 0.5);
      const y = Float64Array.from({ length: n }, () => rng() - 0.5);
      const R = zeros(m, n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) R.data[i * n + j] = x[i] * y[j];
      const exact = norm2(x) * norm2(y);
      expect(Math.abs(opnorm2(R) - exact) / exact).toBeLessThan(1e-13);
      // The deterministic start (u_i = +-(0.5 + frac((i + 1) golden)), wide: in R^m) orthogonal
      // to the top left singular vector q: A = 5 q e_0^T + B with B's columns orthogonal to q
      // (norm about 1.5 to 3.2). The Krylov space reaches q through rounding only; it must
      // still find 5, not B's norm.
      if (m < n) {
        const golden = 0.6180339887498949;
        const u = Float64Array.from({ length: m }, (_, i) => {
          const f = ((i + 1) * golden) % 1;
          return f < 0.5 ? -(0.5 + f) : 0.5 + f;
        });
        const q = Float64Array.from({ length: m }, () => rng() - 0.5);
        const qu = dot(q, u) / dot(u, u);
        for (let i = 0; i < m; i++) q[i] -= qu * u[i];
        const nq = norm2(q);
        for (let i = 0; i < m; i++) q[i] /= nq;
        const O = zeros(m, n);
        for (let i = 0; i < m; i++) for (let j = 1; j < n; j++) O.data[i * n + j] = (rng() - 0.5) * 0.3;
        for (let j = 1; j < n; j++) {
          let d = 0;
          for (let i = 0; i < m; i++) d += q[i] * O.data[i * n + j];
          for (let i = 0; i < m; i++) O.data[i * n + j] -= d * q[i];
        }
        for (let i = 0; i < m; i++) O.data[i * n] = 5 * q[i];
        expect(Math.abs(dot(q, u))).toBeLessThan(1e-12);
        expect(Math.abs(opnorm2(O) - 5) / 5).toBeLessThan(1e-12);
      }
    }
  });

  it('a wide resident matrix whose first start is annihilated: the fallback start finds the norm', () => {
    // As for the 40 x 50 case above, at 300 x 400 (resident): rows 0 and 1 are v_1 t and
    // -v_0 t, so A^T v is exactly 0 for the deterministic start v, whatever the summation order.
    const golden = 0.6180339887498949;
    const m = 300;
    const n = 400;
    const u = Float64Array.from({ length: m }, (_, i) => {
      const f = ((i + 1) * golden) % 1;
      return f < 0.5 ? -(0.5 + f) : 0.5 + f;
    });
    const inv = 1 / norm2(u);
    const v = u.map((x) => x * inv);
    const t = Array.from({ length: n }, (_, j) => 2 ** (j % 3));
    const A = zeros(m, n);
    for (let j = 0; j < n; j++) {
      A.data[j] = v[1] * t[j];
      A.data[n + j] = -v[0] * t[j];
    }
    expect(normInf(matTvec(A, v))).toBe(0);
    const exact = Math.hypot(...t) * Math.hypot(v[0], v[1]);
    expect(Math.abs(opnorm2(A) - exact) / exact).toBeLessThan(1e-13);
    expect(Math.abs(opnorm2(transpose(A)) - exact) / exact).toBeLessThan(1e-13);
  });
});
