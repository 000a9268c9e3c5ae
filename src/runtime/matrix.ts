/**
 * Dense f64 matrices (row-major) and vector norms.
 *
 * Entry (i, j) of a {@link Matrix} lives at `data[i * cols + j]`. Helpers that
 * produce a vector accept an optional `out` buffer so that solvers can reuse
 * storage inside their iteration loops.
 */
import { SolverError } from './status.ts';
import type { NormKind } from './status.ts';

export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Unit roundoff of IEEE binary64. */
export const UNIT_ROUNDOFF = 2 ** -53;

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function identity(n: number): Matrix {
  const A = zeros(n, n);
  for (let i = 0; i < n; i++) A.data[i * n + i] = 1;
  return A;
}

/** Builds a matrix from an array of equally long rows. */
export function fromRows(rows: readonly (readonly number[])[]): Matrix {
  const m = rows.length;
  const n = m === 0 ? 0 : rows[0].length;
  const A = zeros(m, n);
  for (let i = 0; i < m; i++) {
    const row = rows[i];
    if (row.length !== n) {
      throw new SolverError('dimension-mismatch', `fromRows: row ${i} has ${row.length} entries, expected ${n}`);
    }
    A.data.set(row, i * n);
  }
  return A;
}

export function toRows(A: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < A.rows; i++) out.push(Array.from(A.data.subarray(i * A.cols, (i + 1) * A.cols)));
  return out;
}

function checkLength(what: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new SolverError('dimension-mismatch', `${what}: length ${actual}, expected ${expected}`);
  }
}

/** out = A x. */
export function matvec(A: Matrix, x: Float64Array, out: Float64Array = new Float64Array(A.rows)): Float64Array {
  const { rows, cols, data } = A;
  checkLength('matvec x', x.length, cols);
  checkLength('matvec out', out.length, rows);
  // Four accumulators: independent add chains (V8 does not vectorize), about 1.3x faster.
  for (let i = 0, base = 0; i < rows; i++, base += cols) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j + 3 < cols; j += 4) {
      s0 += data[base + j] * x[j];
      s1 += data[base + j + 1] * x[j + 1];
      s2 += data[base + j + 2] * x[j + 2];
      s3 += data[base + j + 3] * x[j + 3];
    }
    for (; j < cols; j++) s0 += data[base + j] * x[j];
    out[i] = s0 + s1 + (s2 + s3);
  }
  return out;
}

/** out = A^T x, accumulated row by row so that A is read contiguously. */
export function matTvec(A: Matrix, x: Float64Array, out: Float64Array = new Float64Array(A.cols)): Float64Array {
  const { rows, cols, data } = A;
  checkLength('matTvec x', x.length, rows);
  checkLength('matTvec out', out.length, cols);
  out.fill(0);
  for (let i = 0, base = 0; i < rows; i++, base += cols) {
    const xi = x[i];
    if (xi === 0) continue;
    for (let j = 0; j < cols; j++) out[j] += data[base + j] * xi;
  }
  return out;
}

/** A B, in i-k-j order so the inner loop streams rows of B and C. */
export function matmul(A: Matrix, B: Matrix): Matrix {
  if (A.cols !== B.rows) {
    throw new SolverError('dimension-mismatch', `matmul: ${A.rows}x${A.cols} times ${B.rows}x${B.cols}`);
  }
  const m = A.rows;
  const p = A.cols;
  const n = B.cols;
  const C = zeros(m, n);
  const a = A.data;
  const b = B.data;
  const c = C.data;
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let k = 0; k < p; k++) {
      const aik = a[i * p + k];
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  }
  return C;
}

export function transpose(A: Matrix): Matrix {
  const { rows, cols, data } = A;
  const T = zeros(cols, rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) T.data[j * rows + i] = data[i * cols + j];
  }
  return T;
}

export function dot(x: Float64Array, y: Float64Array): number {
  checkLength('dot', y.length, x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** max_i |x_i|; NaN if any entry is NaN (solvers rely on this to detect non-finite iterates). */
export function normInf(x: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (a > m) m = a;
    else if (a !== a) return NaN;
  }
  return m;
}

/**
 * Euclidean norm. The plain sum of squares is used unless it overflowed or
 * may have lost entries to underflow; only then is the vector rescaled by its
 * largest entry (the LAPACK dnrm2 concern, at the cost of a second pass only
 * in the rare extreme-range case).
 */
export function norm2(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  if (s < Infinity && s > 1e-280) return Math.sqrt(s);
  const scale = normInf(x);
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  const inv = 1 / scale;
  let t = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] * inv;
    t += v * v;
  }
  return scale * Math.sqrt(t);
}

export function vecNorm(x: Float64Array, kind: NormKind): number {
  return kind === 'inf' ? normInf(x) : norm2(x);
}

export function frobenius(A: Matrix): number {
  return norm2(A.data);
}

/** Induced 1-norm: largest absolute column sum. */
export function matNorm1(A: Matrix): number {
  const { rows, cols, data } = A;
  const sums = new Float64Array(cols);
  for (let i = 0, base = 0; i < rows; i++, base += cols) {
    for (let j = 0; j < cols; j++) sums[j] += Math.abs(data[base + j]);
  }
  return normInf(sums);
}

/** Induced infinity-norm: largest absolute row sum. */
export function matNormInf(A: Matrix): number {
  const { rows, cols, data } = A;
  let m = 0;
  for (let i = 0, base = 0; i < rows; i++, base += cols) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.abs(data[base + j]);
    if (s > m) m = s;
    else if (s !== s) return NaN;
  }
  return m;
}

export interface OpNorm2Options {
  /** Target relative accuracy of sigma_max^2 (default 1e-10). */
  tol?: number;
  /** Iteration cap (default 1000). */
  maxIter?: number;
}

/**
 * Spectral norm ||A||_2 (largest singular value), ESTIMATED by power iteration
 * on A^T A (Golub & Van Loan, Matrix Computations, 4th ed., sec. 8.2.1).
 *
 * The Rayleigh quotients ||A v_k||^2 of the power iterates increase
 * monotonically to sigma_max^2, so in exact arithmetic the result is a LOWER
 * bound on ||A||_2. Iteration stops when the last increase, and an Aitken-style
 * extrapolation of the remaining error from the last two increases, are both
 * below `tol` relative (or at rounding level), or at `maxIter`. With clustered
 * top singular values the cap may be reached before `tol`; use
 * {@link opnorm2Upper} where a certified bound is needed.
 *
 * The start vector is a fixed quasi-random vector (golden-ratio sequence) with
 * every entry nonzero, so the result is deterministic and has a component along
 * every coordinate direction.
 */
export function opnorm2(A: Matrix, options: OpNorm2Options = {}): number {
  const tol = options.tol ?? 1e-10;
  const maxIter = options.maxIter ?? 1000;
  const { rows: m, cols: n } = A;
  if (m === 0 || n === 0) return 0;
  const v = new Float64Array(n);
  const z = new Float64Array(n);
  const golden = 0.6180339887498949;
  for (let j = 0; j < n; j++) {
    const u = ((j + 1) * golden) % 1;
    v[j] = u < 0.5 ? -(0.5 + u) : 0.5 + u;
  }
  scaleInPlace(v, 1 / norm2(v));
  let theta = 0;
  let prevDelta = Infinity;
  for (let k = 0; k < maxIter; k++) {
    // ||A v||^2 and z = A^T A v in one pass over A.
    let thetaNew = gramStep(A, v, z);
    if (k === 0 && thetaNew === 0) {
      // The start vector happens to lie in the null space. The largest row r of A
      // cannot: (A r)_i = ||r||^2 > 0 for its own index i.
      const i = largestRow(A);
      if (i < 0) return 0;
      v.set(A.data.subarray(i * n, (i + 1) * n));
      scaleInPlace(v, 1 / norm2(v));
      thetaNew = gramStep(A, v, z);
    }
    if (!Number.isFinite(thetaNew)) {
      throw new SolverError('non-finite-input', 'opnorm2: matrix has non-finite entries or its norm overflows');
    }
    const delta = thetaNew - theta;
    theta = Math.max(theta, thetaNew);
    if (delta <= 4 * UNIT_ROUNDOFF * theta) break;
    const q = delta / prevDelta;
    const remaining = q < 1 ? (delta * q) / (1 - q) : Infinity;
    if (delta <= tol * theta && remaining <= tol * theta) break;
    prevDelta = delta;
    const zn = norm2(z);
    if (zn === 0) break;
    for (let j = 0; j < n; j++) v[j] = z[j] / zn;
  }
  return Math.sqrt(theta);
}

/** z = A^T A v, row by row (w_i = a_i . v, z += w_i a_i); returns ||A v||^2. */
function gramStep(A: Matrix, v: Float64Array, z: Float64Array): number {
  const { rows, cols, data } = A;
  z.fill(0);
  let theta = 0;
  for (let i = 0, base = 0; i < rows; i++, base += cols) {
    let s0 = 0;
    let s1 = 0;
    let j = 0;
    for (; j + 1 < cols; j += 2) {
      s0 += data[base + j] * v[j];
      s1 += data[base + j + 1] * v[j + 1];
    }
    if (j < cols) s0 += data[base + j] * v[j];
    const w = s0 + s1;
    theta += w * w;
    if (w === 0) continue;
    for (let t = 0; t < cols; t++) z[t] += w * data[base + t];
  }
  return theta;
}

export interface OpNorm2UpperOptions {
  /** Number of repeated squarings of the Gram matrix (default 5); more is tighter and costs k^3 each. */
  squarings?: number;
}

/**
 * GUARANTEED UPPER BOUND on ||A||_2, including floating-point rounding.
 *
 * Returns the minimum of three rigorous bounds, each inflated by a rounding
 * margin: ||A||_F, sqrt(||A||_1 ||A||_inf) (Higham, Accuracy and Stability,
 * 2nd ed., Table 6.2), and a Gelfand-formula bound from repeated squaring of
 * the k x k Gram matrix G (k = min(rows, cols)):
 *
 *   sigma_max^2 = rho(G) <= ||G^(2^p)||_inf^(1/2^p),
 *
 * which overestimates sigma_max by at most a factor k^(1/2^(p+2)) (1.037 for
 * k = 100, p = 5) because ||S||_inf <= sqrt(k) ||S||_2 for symmetric S.
 *
 * Rounding: all rescalings are by powers of two (exact). For a symmetric
 * computed square, |fl(S^2) - S^2| <= gamma_k |S|^2 entrywise (Higham, eq.
 * 3.13), and || |S|^2 ||_2 <= ||S||_F^2 <= k ||S||_2^2, so each squaring loses
 * at most a factor (1 - k gamma_k) in rho; the product over p squarings, after
 * the 2^p-th root, is bounded by one such factor. Forming G itself costs one
 * factor (1 - k gamma_N), N = max(rows, cols). The final margin
 * 1 + 2 k gamma_N + 64u covers both, the infinity-norm sum, and the scalar
 * log2 / root / pow evaluations at the end (whose arguments are kept O(10) so
 * their error is a few ulps). Results in the subnormal range are not covered.
 */
export function opnorm2Upper(A: Matrix, options: OpNorm2UpperOptions = {}): number {
  const p = options.squarings ?? 5;
  const { rows: m, cols: n } = A;
  if (m === 0 || n === 0) return 0;
  const amax = normInf(A.data);
  if (!Number.isFinite(amax)) {
    throw new SolverError('non-finite-input', 'opnorm2Upper: matrix has non-finite entries');
  }
  if (amax === 0) return 0;
  const k = Math.min(m, n);
  const N = Math.max(m, n);
  const gammaN = (N * UNIT_ROUNDOFF) / (1 - N * UNIT_ROUNDOFF);
  const margin = 1 + 2 * k * gammaN + 64 * UNIT_ROUNDOFF;

  const classical = Math.min(frobenius(A), Math.sqrt(matNorm1(A) * matNormInf(A)));

  // Scale A by 2^-e so its largest entry lies in [1, 2): the Gram product cannot overflow.
  const e = Math.floor(Math.log2(amax));
  const scaled = new Float64Array(A.data);
  scalePow2(scaled, -e);
  let G = gram(scaled, m, n);
  // log2 of the factor by which the stored G must be multiplied to give the true power.
  let log2Scale = 0;
  let S: Float64Array = new Float64Array(k * k);
  for (let s = 0; s < p; s++) {
    const gmax = normInf(G);
    if (gmax === 0) return 0;
    const ge = Math.floor(Math.log2(gmax));
    scalePow2(G, -ge);
    log2Scale += ge;
    squareSymmetric(G, S, k);
    [G, S] = [S, G];
    log2Scale *= 2;
  }
  const gNormInf = matNormInf({ rows: k, cols: k, data: G });
  if (gNormInf === 0) return 0;
  // The root is taken of the normalized value only; the exact power of two 2^e
  // is applied separately so the exponent arithmetic stays small (a few ulps).
  const gelfand = 2 ** ((Math.log2(gNormInf) + log2Scale) / 2 ** (p + 1)) * 2 ** e;
  return Math.min(classical, gelfand) * margin;
}

function scaleInPlace(x: Float64Array, s: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= s;
}

/** x *= 2^t, as two power-of-two factors so that neither factor over- or underflows. */
function scalePow2(x: Float64Array, t: number): void {
  const t1 = Math.trunc(t / 2);
  const f1 = 2 ** t1;
  const f2 = 2 ** (t - t1);
  for (let i = 0; i < x.length; i++) x[i] = x[i] * f1 * f2;
}

function largestRow(A: Matrix): number {
  let best = -1;
  let bestNorm = 0;
  for (let i = 0; i < A.rows; i++) {
    const r = norm2(A.data.subarray(i * A.cols, (i + 1) * A.cols));
    if (r > bestNorm) {
      bestNorm = r;
      best = i;
    }
  }
  return best;
}

/** Exactly symmetric Gram matrix of the smaller side: A^T A if m >= n, else A A^T. */
function gram(a: Float64Array, m: number, n: number): Float64Array {
  if (m < n) {
    const G = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        let s = 0;
        for (let l = 0; l < n; l++) s += a[i * n + l] * a[j * n + l];
        G[i * m + j] = s;
        G[j * m + i] = s;
      }
    }
    return G;
  }
  const G = new Float64Array(n * n);
  // Sum of outer products of the rows of A, upper triangle only.
  for (let r = 0; r < m; r++) {
    const base = r * n;
    for (let i = 0; i < n; i++) {
      const ai = a[base + i];
      if (ai === 0) continue;
      for (let j = i; j < n; j++) G[i * n + j] += ai * a[base + j];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) G[j * n + i] = G[i * n + j];
  }
  return G;
}

/** out = S S for symmetric S: (S S)_ij is the dot product of rows i and j, so S is read contiguously. */
function squareSymmetric(S: Float64Array, out: Float64Array, k: number): void {
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += S[i * k + l] * S[j * k + l];
      out[i * k + j] = s;
      out[j * k + i] = s;
    }
  }
}
