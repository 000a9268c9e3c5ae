/**
 * Dense f64 matrices (row-major) and vector norms.
 *
 * Entry (i, j) of a {@link Matrix} lives at `data[i * cols + j]`. Helpers that
 * produce a vector accept an optional `out` buffer so that solvers can reuse
 * storage inside their iteration loops.
 */
import { dotAt, matvecAt } from './dot.ts';
import { SolverError } from './status.ts';
import { ResidentMatrix } from './products.ts';
import { placePadded, roundUp, SCRATCH_MIN_ORDER, scratchKernels } from './wasm.ts';
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
  matvecAt(data, rows, cols, x, 0, out, 0);
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
 * Spectral norm ||A||_2 (largest singular value), ESTIMATED by the Lanczos process on
 * the Gram operator of A's short side (A^T A, or A A^T for a wide A) with full reorthogonalization (Golub & Van Loan, Matrix Computations, 4th ed.,
 * sec. 10.1; in exact arithmetic the Golub-Kahan bidiagonalization of sec. 10.4, with half
 * its passes over A).
 *
 * The largest Ritz values of the tridiagonal T_k increase monotonically to sigma_max^2,
 * so in exact arithmetic the result is a LOWER bound on ||A||_2. Iteration stops when
 * lambda_max(T_k) has changed by at most `tol` relative on two consecutive steps, when the
 * Krylov space is exhausted (then it is exact to rounding), or at `maxIter`; within a cluster
 * of top singular values closer together than the changes it can resolve, it may stop at a
 * value inside the cluster. Use {@link opnorm2Upper} where a certified bound is needed.
 *
 * A narrow matrix (short side at most NARROW, long side longer) works on the Gram matrix of its short side,
 * formed once, whose largest eigenvalue comes from a dense tridiagonalization (exact to
 * rounding, not iterative: `tol` and `maxIter` do not apply); otherwise A^T A is applied as
 * A^T (A v) (A A^T as A (A^T u) when A is wide), in WebAssembly when A is large (for a tall
 * A one pass over its copy per step, ResidentMatrix.gram). The result is
 * deterministic (see lanczosLargest for the start).
 *
 * A block Krylov method (several vectors per pass) was measured and not taken: on a 1000 x
 * 5000 Gaussian design, Rayleigh-Ritz on block Krylov spaces needed 54, 45, 33 and 26 block
 * steps to 1e-10 for blocks of 1, 2, 4 and 8 (scratch/opnorm-block-proto.ts), while a pass of
 * the products kernel costs about 1.5 + 0.45 b ms for b vectors: every block size costs more
 * passes' worth than the single vector saves.
 */
export function opnorm2(A: Matrix, options: OpNorm2Options = {}): number {
  const tol = options.tol ?? 1e-10;
  const maxIter = options.maxIter ?? 1000;
  const { rows: m, cols: n } = A;
  if (m === 0 || n === 0) return 0;
  const amax = normInf(A.data);
  if (!Number.isFinite(amax)) throw new SolverError('non-finite-input', 'opnorm2: matrix has non-finite entries');
  if (amax === 0) return 0;
  // A^T A squares the entries: far from 1, scale A by a power of 2 first (exact), and back.
  const e = Math.floor(Math.log2(amax));
  if (Math.abs(e) > 400) {
    const scaled = new Float64Array(A.data);
    scalePow2(scaled, -e);
    return opnorm2({ rows: m, cols: n, data: scaled }, options) * 2 ** e;
  }
  // The operator: the Gram matrix of the short side formed once for a narrow matrix (k x k,
  // k <= NARROW: a 442 x 10 design then costs one Gram product instead of up to k pairs of
  // passes over A), else the short side's Gram operator applied as two products.
  const k = Math.min(m, n);
  if (k <= NARROW && Math.max(m, n) > k) return Math.sqrt(denseSymmetricLargest(gram(A.data, m, n), k));
  // A copy of A in WebAssembly memory for the products, in the scratch instance (nothing else
  // runs there until this returns). A tall A's steps are one pass over it (ResidentMatrix.gram);
  // a wide A's two (mulT, then mul): a transposed copy would make them one, but placing it
  // cost 15 ms at 1000 x 5000, which a correlated design's few steps never paid back (24 to 26
  // ms became 35 to 39; a Gaussian design's 181 to 186 ms, 167 to 170: measured,
  // scratch/opnorm-ab2.ts).
  const resident = m * n >= OPNORM_RESIDENT_MIN_ENTRIES ? ResidentMatrix.create(A, scratchKernels()) : null;
  if (m < n) {
    // Wide: Lanczos on A A^T, in R^m. The same products per step as on A^T A, but the basis
    // vectors (orthogonalized against each other every step) are m long, not n: at 1000 x 5000
    // a Gaussian design's 50 steps spent about a fifth of their time there (measured).
    const inner = new Float64Array(n);
    // A fallback start: e_i for the largest row a_i, for which (A A^T e_i)_i = ||a_i||^2 > 0.
    const largest = (): Float64Array => {
      const e = new Float64Array(m);
      e[largestRow(A)] = 1;
      return e;
    };
    const apply = resident
      ? (u: Float64Array, out?: Float64Array) => resident.mul(resident.mulT(u, inner), out)
      : (u: Float64Array, out: Float64Array = new Float64Array(m)) => matvec(A, matTvec(A, u, inner), out);
    return Math.sqrt(lanczosLargest(apply, m, largest, tol, maxIter));
  }
  // A fallback start: the largest row r of A, for which (A r)_i = ||r||^2 > 0 at its own index.
  const largest = (): Float64Array => {
    const i = largestRow(A);
    const r = A.data.slice(i * n, (i + 1) * n);
    scaleInPlace(r, 1 / norm2(r));
    return r;
  };
  const inner = new Float64Array(m);
  const apply = resident
    ? (v: Float64Array, out?: Float64Array) => resident.gram(v, out)
    : (v: Float64Array, out: Float64Array = new Float64Array(n)) => matTvec(A, matvec(A, v, inner), out);
  return Math.sqrt(lanczosLargest(apply, n, largest, tol, maxIter));
}

/**
 * lambda_max of the symmetric k x k matrix G, by Householder tridiagonalization and bisection:
 * exact to rounding, 4 k^3 / 3 flops (14 us for a 10 x 10 Gram matrix, where Lanczos with a
 * bisection per step took 70, side by side). For small k.
 */
function denseSymmetricLargest(G: Float64Array, k: number): number {
  const { d, e } = householderTridiagonal(G, k);
  const lambda = tridiagonalLargestScaled(d, e);
  if (!Number.isFinite(lambda)) throw new SolverError('non-finite-input', 'opnorm2: the norm overflows');
  return lambda;
}

/** lambda_max of the symmetric k x k matrix G (a Gram matrix): densely for k <= NARROW, else by {@link lanczosLargest}. */
function symmetricLargest(G: Float64Array, k: number, tol: number, maxIter: number): number {
  if (k <= NARROW) return denseSymmetricLargest(G, k);
  // G in WebAssembly memory for its products when large (the scratch instance: nothing else
  // runs there until this returns); at k = 512 the estimate took 20 ms in JavaScript.
  const resident = k * k >= OPNORM_RESIDENT_MIN_ENTRIES ? ResidentMatrix.create({ rows: k, cols: k, data: G }, scratchKernels()) : null;
  const apply = (v: Float64Array, out?: Float64Array): Float64Array => {
    const o = out ?? new Float64Array(k);
    if (resident) return resident.mul(v, o);
    matvecAt(G, k, k, v, 0, o, 0);
    return o;
  };
  // A fallback start: e_i for the largest diagonal entry, for which (G e_i)_i = G_ii > 0.
  const largest = (): Float64Array => {
    let best = 0;
    for (let i = 1; i < k; i++) if (G[i * k + i] > G[best * k + best]) best = i;
    const e = new Float64Array(k);
    e[best] = 1;
    return e;
  };
  return lanczosLargest(apply, k, largest, tol, maxIter);
}

/**
 * The largest eigenvalue of a symmetric positive semidefinite operator on R^dim (A^T A, a
 * Gram matrix) by Lanczos with full reorthogonalization (Golub & Van Loan, sec. 10.1): the
 * largest Ritz value approaches it from below, in tens of steps where power iteration needs
 * hundreds to thousands (a Gaussian design, say); on A^T A, the same Krylov spaces as
 * Golub-Kahan bidiagonalization of A. Stops after two consecutive steps that change the
 * estimate by at most `tol` relative (Lanczos converges superlinearly but not steadily: one
 * small change can precede a jump), when the Krylov space is exhausted (a relatively zero
 * beta: the value is then exact to rounding), or at `maxIter`. The start is a fixed
 * quasi-random vector (golden-ratio sequence) with every entry nonzero, so the result is
 * deterministic; `fallback` gives one the operator does not annihilate, when it does.
 */
function lanczosLargest(
  apply: (v: Float64Array, out?: Float64Array) => Float64Array,
  dim: number,
  fallback: () => Float64Array,
  tol: number,
  maxIter: number,
): number {
  let v: Float64Array = new Float64Array(dim);
  const golden = 0.6180339887498949;
  for (let j = 0; j < dim; j++) {
    const u = ((j + 1) * golden) % 1;
    v[j] = u < 0.5 ? -(0.5 + u) : 0.5 + u;
  }
  scaleInPlace(v, 1 / norm2(v));
  let w = apply(v);
  if (norm2(w) === 0) {
    v = fallback();
    w = apply(v);
  }
  const V: Float64Array[] = [v];
  const alphas: number[] = [];
  const betas: number[] = [];
  let lambda = 0;
  let steady = 0;
  const steps = Math.min(maxIter, dim);
  for (let step = 0; step < steps; step++) {
    const vk = V[step];
    const alpha = dotAt(vk, 0, w, 0, dim);
    alphas.push(alpha);
    const lambdaNew = tridiagonalLargestScaled(alphas, betas);
    const change = lambdaNew - lambda;
    lambda = Math.max(lambda, lambdaNew);
    if (!Number.isFinite(lambda)) throw new SolverError('non-finite-input', 'opnorm2: the norm overflows');
    steady = change <= tol * lambda ? steady + 1 : 0;
    if (steady >= 2 || step === steps - 1) break;
    const prev = step > 0 ? V[step - 1] : null;
    const betaPrev = step > 0 ? betas[step - 1] : 0;
    for (let j = 0; j < dim; j++) w[j] -= alpha * vk[j] + (prev ? betaPrev * prev[j] : 0);
    orthogonalize(w, V);
    const beta = norm2(w);
    if (!(beta > 1e-13 * lambda)) break;
    betas.push(beta);
    const next = w.map((x) => x / beta);
    V.push(next);
    w = apply(next, w);
  }
  return lambda;
}

/** Up to this short side, opnorm2 forms the Gram matrix of the short side once (and symmetricLargest tridiagonalizes it densely). */
const NARROW = 32;

/**
 * From this many entries opnorm2 copies A into WebAssembly memory for its products: a guess.
 * At 1000 x 5000 the copy (2 ms into the scratch instance's memory once grown, 15 ms
 * transposed; about 110 ms when the 40 MB are fresh pages) pays for itself within a few
 * steps (2.3 against 24 to 31 ms per step); smaller sizes were not measured.
 */
const OPNORM_RESIDENT_MIN_ENTRIES = 1 << 16;

/** The largest eigenvalue of the symmetric tridiagonal (alphas; betas), scaled to entries of order 1 for the Sturm count. */
function tridiagonalLargestScaled(alphas: readonly number[], betas: readonly number[]): number {
  const k = alphas.length;
  const off = betas.slice(0, k - 1);
  const s = Math.max(...alphas.map(Math.abs), ...off.map(Math.abs));
  if (s !== s) return NaN;
  if (s === 0) return 0;
  return tridiagonalLargest(
    alphas.map((x) => x / s),
    off.map((x) => x / s),
  ) * s;
}

/**
 * The symmetric tridiagonal matrix (diagonal d, off-diagonal e) orthogonally similar to the
 * symmetric k x k matrix G (row-major, not modified), by Householder reflections (Golub & Van
 * Loan, Matrix Computations, 4th ed., Alg. 8.3.1): the same eigenvalues, to rounding.
 */
function householderTridiagonal(G: Float64Array, k: number): { d: number[]; e: number[] } {
  const a = G.slice(0, k * k);
  const d: number[] = [];
  const e: number[] = [];
  const v = new Float64Array(k);
  const p = new Float64Array(k);
  for (let j = 0; j < k - 2; j++) {
    d.push(a[j * k + j]);
    // x = a[j+1.., j], gathered into v scaled by its largest entry (a Gram matrix's entries
    // can be far from 1, and v^T v squares them again; H does not depend on v's scale). With
    // x = big x', v = x' + sign(x'_0) ||x'|| e_1 and H = I - 2 v v^T / v^T v, H x = alpha e_1.
    let big = 0;
    for (let i = j + 1; i < k; i++) {
      v[i] = a[i * k + j];
      big = Math.max(big, Math.abs(v[i]));
    }
    if (big === 0) {
      e.push(0);
      continue;
    }
    for (let i = j + 1; i < k; i++) v[i] /= big;
    const norm = norm2(v.subarray(j + 1, k));
    const alpha = v[j + 1] >= 0 ? -norm : norm;
    v[j + 1] -= alpha;
    e.push(alpha * big);
    // v^T v >= 1: its entry j + 1 is x'_0 - alpha, of magnitude |x'_0| + ||x'|| >= 1.
    let vv = 0;
    for (let i = j + 1; i < k; i++) vv += v[i] * v[i];
    const beta = 2 / vv;
    // p = beta A v on the trailing block, w = p - (beta p^T v / 2) v, A -= v w^T + w v^T.
    let pv = 0;
    for (let i = j + 1; i < k; i++) {
      p[i] = beta * dotAt(a, i * k + j + 1, v, j + 1, k - j - 1);
      pv += p[i] * v[i];
    }
    const c = (beta * pv) / 2;
    for (let i = j + 1; i < k; i++) p[i] -= c * v[i];
    for (let i = j + 1; i < k; i++) for (let l = j + 1; l < k; l++) a[i * k + l] -= v[i] * p[l] + p[i] * v[l];
  }
  if (k >= 2) {
    d.push(a[(k - 2) * k + k - 2]);
    e.push(a[(k - 1) * k + k - 2]);
  }
  if (k >= 1) d.push(a[(k - 1) * k + k - 1]);
  return { d, e };
}

/** x minus its components along the orthonormal `basis`, twice (Kahan: twice is enough). */
function orthogonalize(x: Float64Array, basis: readonly Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      const c = dotAt(q, 0, x, 0, x.length);
      for (let i = 0; i < x.length; i++) x[i] -= c * q[i];
    }
  }
}

/**
 * The largest eigenvalue of the symmetric tridiagonal matrix with diagonal `d` and
 * off-diagonal `e`, by bisection on the Sturm sequence count (Golub & Van Loan, sec. 8.4.1)
 * between Gershgorin bounds, to relative precision 1e-15.
 */
function tridiagonalLargest(d: readonly number[], e: readonly number[]): number {
  const t = d.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < t; i++) {
    const r = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < t - 1 ? Math.abs(e[i]) : 0);
    lo = Math.min(lo, d[i] - r);
    hi = Math.max(hi, d[i] + r);
  }
  /** How many eigenvalues are below x. */
  const below = (x: number): number => {
    let count = 0;
    let q = 1;
    for (let i = 0; i < t; i++) {
      q = d[i] - x - (i > 0 ? (e[i - 1] * e[i - 1]) / q : 0);
      if (q === 0) q = -1e-300;
      if (q < 0) count++;
    }
    return count;
  };
  for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(Math.abs(hi), Math.abs(lo)); it++) {
    const mid = 0.5 * (lo + hi);
    if (below(mid) < t) lo = mid;
    else hi = mid;
  }
  return hi;
}

export interface OpNorm2UpperOptions {
  /** Number of repeated squarings of the Gram matrix (default 5); more is tighter and costs k^3 each. */
  squarings?: number;
}

/**
 * GUARANTEED UPPER BOUND on ||A||_2, including floating-point rounding.
 *
 * First a certificate by Cholesky: with G the k x k Gram matrix (k = min(rows,
 * cols)) and c slightly above an estimate of its largest eigenvalue (symmetricLargest), a
 * Cholesky factorization of c I - G that runs to completion proves
 * lambda_max(G) <= c plus explicit rounding terms (see choleskyLambdaMaxBound):
 * typically within 1e-7 of ||A||_2, for k^3 / 3 work. When no certificate is
 * found, the minimum of three rigorous bounds, each inflated by a rounding
 * margin: ||A||_F, sqrt(||A||_1 ||A||_inf) (Higham, Accuracy and Stability,
 * 2nd ed., Table 6.2), and a Gelfand-formula bound from repeated squaring of G:
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

  // The square roots taken apart: the product of the two norms underflows (or overflows) where
  // the matrix's entries are far from 1 (entries of 1e-200 gave a bound of 0).
  const classical = Math.min(frobenius(A), Math.sqrt(matNorm1(A)) * Math.sqrt(matNormInf(A)));

  // Scale A by 2^-e so its largest entry lies in [1, 2): the Gram product cannot overflow.
  const e = Math.floor(Math.log2(amax));
  const scaled = new Float64Array(A.data);
  scalePow2(scaled, -e);
  let G = gram(scaled, m, n);
  // First the Cholesky certificate: tight, and k^3 / 3 work where the squarings take 5 k^3.
  const estimate = symmetricLargest(G, k, 1e-10, 1000);
  const viaCholesky = choleskyLambdaMaxBound(G, k, estimate, gammaN * frobeniusSquared(scaled));
  if (viaCholesky !== null) return Math.min(classical * margin, Math.sqrt(viaCholesky) * (1 + 64 * UNIT_ROUNDOFF) * 2 ** e);
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

/**
 * A GUARANTEED upper bound on lambda_max(G_exact), the largest eigenvalue of the exact Gram
 * matrix whose computed version G (k x k, symmetric) is within `gramError` of it in the
 * 2-norm, or null when no certificate was found. `theta` estimates lambda (from below:
 * symmetricLargest of G); c a little above it is certified when the Cholesky factorization of
 * M = fl(c I - G) runs to completion: then R^T R = M + dM with |dM| <= gamma_(k+1) |R^T| |R|
 * (Higham, Accuracy and Stability, 2nd ed., Thm. 10.3), so ||dM||_2 <= gamma_(k+1) ||R||_F^2,
 * and c I - G_exact = R^T R - dM + E + (G - G_exact), with E the rounding of the diagonal of
 * M (|E_ii| <= u |M_ii|). R^T R is positive definite, so
 *
 *   lambda_max(G_exact) <= c + gamma_(k+1) ||R||_F^2 + u max |M_ii| + gramError,
 *
 * returned inflated by (1 + 8u) for the rounding of this sum. When the estimate is low
 * (clustered top eigenvalues) c is raised and the factorization tried again, three times.
 */
function choleskyLambdaMaxBound(G: Float64Array, k: number, theta: number, gramError: number): number | null {
  const u = UNIT_ROUNDOFF;
  if (!(theta > 0) || !Number.isFinite(theta)) return null;
  const gamma = ((k + 1) * u) / (1 - (k + 1) * u);
  const M = new Float64Array(k * k);
  for (const slack of [1e-7, 1e-4, 1e-2]) {
    const c = theta * (1 + slack);
    let maxDiag = 0;
    for (let i = 0; i < k * k; i++) M[i] = -G[i];
    for (let i = 0; i < k; i++) {
      M[i * k + i] = c - G[i * k + i];
      maxDiag = Math.max(maxDiag, Math.abs(M[i * k + i]));
    }
    const rFrob2 = choleskyInPlace(M, k);
    if (rFrob2 === null) continue;
    return (c + gamma * rFrob2 + u * maxDiag + gramError) * (1 + 8 * u);
  }
  return null;
}

/**
 * Cholesky factorization of the symmetric k x k matrix in `a` (upper triangle read), in
 * place (R in the upper triangle); the sum of squares of R's entries, or null when a pivot
 * is not positive (the matrix is not positive definite to working precision). From order
 * SCRATCH_MIN_ORDER the trailing updates run in WebAssembly SIMD (kernels.wat
 * `chol_update`, over a copy in the scratch instance), unless `engine` is 'js'; both engines
 * give the same factor, bit for bit.
 */
export function choleskyInPlace(a: Float64Array, k: number, engine: 'auto' | 'js' = 'auto'): number | null {
  const wasm = k >= SCRATCH_MIN_ORDER && engine !== 'js' ? scratchKernels() : null;
  const memory = wasm?.ensure(k * k) ?? null;
  if (wasm && memory) {
    memory.set(a.subarray(0, k * k));
    const frob2 = choleskyRows(memory, k, (j) => wasm.exports.chol_update(0, k, j));
    a.set(memory.subarray(0, k * k));
    return frob2;
  }
  return choleskyRows(a, k, (j) => choleskyUpdate(a, k, j));
}

/** The right-looking (outer product) form: row j of R, then `update(j)` of the trailing upper triangle. */
function choleskyRows(a: Float64Array, k: number, update: (j: number) => void): number | null {
  let frob2 = 0;
  for (let j = 0; j < k; j++) {
    const jj = j * k + j;
    const d = a[jj];
    if (!(d > 0)) return null;
    const r = Math.sqrt(d);
    a[jj] = r;
    frob2 += r * r;
    const rowJ = j * k;
    for (let l = j + 1; l < k; l++) {
      const v = a[rowJ + l] / r;
      a[rowJ + l] = v;
      frob2 += v * v;
    }
    update(j);
  }
  return Number.isFinite(frob2) ? frob2 : null;
}

/** Rows i > j: a[i, i..k) -= a[j, i] a[j, i..k) (kernels.wat chol_update in JavaScript): every loop runs along a row. */
function choleskyUpdate(a: Float64Array, k: number, j: number): void {
  const rowJ = j * k;
  for (let i = j + 1; i < k; i++) {
    const rji = a[rowJ + i];
    if (rji === 0) continue;
    const rowI = i * k;
    for (let l = i; l < k; l++) a[rowI + l] -= rji * a[rowJ + l];
  }
}

function frobeniusSquared(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
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

/** Exactly symmetric Gram matrix of the smaller side: A^T A if m >= n, else A A^T (exported for its tests). */
export function gram(a: Float64Array, m: number, n: number): Float64Array {
  // The Gram matrix of the shorter side, as dot products of contiguous rows (of A, or of a
  // transposed copy): four accumulators, about 3x the speed of summing outer products.
  let rowsData = a;
  let k = m;
  let len = n;
  if (m >= n) {
    rowsData = new Float64Array(m * n);
    for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) rowsData[c * m + r] = a[r * n + c];
    k = n;
    len = m;
  }
  const G = new Float64Array(k * k);
  if (k >= GRAM_WASM_MIN_ORDER && gramWasm(rowsData, k, len, G)) return G;
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const v = dotAt(rowsData, i * len, rowsData, j * len, len);
      G[i * k + j] = v;
      G[j * k + i] = v;
    }
  }
  return G;
}

/**
 * G = R R^T for the k rows of R (each `len` long) in WebAssembly SIMD (kernels.wat
 * `products`, the rows serving as both the matrix and the vectors, in the scratch instance),
 * one triangle only: for each block of GRAM_BLOCK rows b, the products with the rows r up to
 * the block's end, then mirrored, so G is exactly symmetric. About 4x the JavaScript speed;
 * half the work of all k^2 products (34 ms at k = 512 before). Any summation order keeps the
 * gamma_len bound the callers use. False (G untouched) without WebAssembly SIMD or memory.
 */
function gramWasm(R: Float64Array, k: number, len: number, G: Float64Array): boolean {
  const kernels = scratchKernels();
  const rowsP = roundUp(k, 4);
  const colsP = roundUp(len, 2);
  const outAt = rowsP * colsP;
  const memory = kernels?.ensure(outAt + GRAM_BLOCK * rowsP) ?? null;
  if (kernels === null || memory === null) return false;
  placePadded(memory, 0, R, k, len, colsP, rowsP);
  for (let b0 = 0; b0 < k; b0 += GRAM_BLOCK) {
    // Samples b0 .. b0 + count (count even: rowsP is a multiple of 4, GRAM_BLOCK of 2), rows r
    // below the block's end (a multiple of 4): out[(b - b0) rows + r] = R_r . R_b.
    const count = Math.min(GRAM_BLOCK, rowsP - b0);
    const rows = Math.min(rowsP, b0 + count);
    kernels.exports.products(0, rows, colsP, 8 * b0 * colsP, count, 8 * outAt);
    for (let b = b0; b < Math.min(k, b0 + count); b++) {
      const o = outAt + (b - b0) * rows;
      for (let r = 0; r <= b; r++) {
        const v = memory[o + r];
        G[r * k + b] = v;
        G[b * k + r] = v;
      }
    }
  }
  return true;
}

/** From this order the Gram product runs in WebAssembly (below it, the copies cost more than the SIMD saves). */
const GRAM_WASM_MIN_ORDER = 32;

/** Samples per call of the blocked Gram product: the smaller, the closer to one triangle's work. */
const GRAM_BLOCK = 64;

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
