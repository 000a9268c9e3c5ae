/**
 * Coordinate descent on a separable composite quadratic problem (composite.ts),
 *
 *     min_y  1/2 y' H y - c' y + sum_j g_j(y_j),
 *
 * the method of glmnet and scikit-learn generalized from the Lasso to any H the analysis
 * assembles: each coordinate in turn is set to the exact minimizer of the problem
 * in that coordinate, y_j = prox_{g_j / H_jj}(y_j - g_j / H_jj) with g = H y - c, which for
 * a separable g_j is the closed form of the penalty (soft thresholding, clipping, none).
 * Cyclic sweeps with an active set: a full sweep lets coordinates leave their kink or bound,
 * sweeps over the free ones alone run to convergence in between.
 *
 * The gradient is never formed whole. With one Gram term (the common case: a Lasso, an
 * elastic net, NNLS, a box-constrained least squares) r = Z y is kept current, so that
 * coordinate j costs two passes over the column z_j (a dot, an axpy):
 *
 *     g_j = coef z_j' r + (identity + d_j) y_j - c_j,
 *
 * and those sweeps run in WebAssembly SIMD (kernels.wat `cd_sweep_composite`) where it is
 * available. Several Gram terms keep one residual each; dense Q terms, the product with
 * their sum, updated by a row of the sum per change (Q is symmetric: row j is column j).
 *
 * `polish` then solves the stationarity conditions on the piece the iterate selects
 * (Newton's step on that piece, in closed form), and `residual` is the natural residual of
 * the prox-gradient map at unit step, the fixpoint the analysis recognized: 0 exactly at a
 * solution. The caller judges the result by the model's own F.
 */
import type { CompositeProblem, GramTerm, Penalty } from './composite.ts';
import { dotAt, matvecAt } from './dot.ts';
import { luFactor, luSolve } from './lu.ts';
import { isFiniteVector } from './validate.ts';
import { placePadded, WasmKernels, wasmModule } from './wasm.ts';

/**
 * One Gram term's Z = M (M row-major n x p) or Z = M' (M row-major p x n, its rows Z's
 * columns), with what a design needs once for any number of solvers and runs: the squared
 * column norms, and a column-major copy made only when a JavaScript sweep needs one. The
 * WebAssembly sweeps transpose M straight into their own memory instead, and products and
 * polish read M as it lies: a fresh n x p copy costs more than a whole descent (first touch
 * of its pages: 120 to 220 ms for 1000 x 5000 here, against 17 ms for the same transposition
 * into memory already in use; scratch/composite-bench.ts).
 */
interface Columns {
  source: Float64Array;
  transposed: boolean;
  /** Rows of Z. */
  n: number;
  /** Columns of Z (the problem's size). */
  p: number;
  /** ||z_j||^2; a non-finite one means a non-finite (or overflowing) column. */
  norms: Float64Array;
  /** Column j of Z at j n; the source itself when transposed, else made on first use. */
  copy: Float64Array | null;
}

/**
 * Columns prepared per data matrix, one entry per reading (Z = M or Z = M'): the instances a
 * Lasso path derives with `with` share their hoisted design tensor, so the norms (and any
 * copy) are made once per path. Keyed by the data array itself, which the runtime never
 * writes in place (a tensor's data is a value): a changed design comes as a new array.
 */
const prepared = new WeakMap<Float64Array, { plain?: Columns; transposed?: Columns }>();

/** Z's columns for `term`, prepared or taken from the cache; the shape must already be checked. */
function columnsOf(term: GramTerm): Columns {
  const { data, shape } = term.matrix;
  const [rows, cols] = shape;
  const n = term.transposed ? cols : rows;
  const p = term.transposed ? rows : cols;
  let entry = prepared.get(data);
  if (!entry) {
    entry = {};
    prepared.set(data, entry);
  }
  const key = term.transposed ? 'transposed' : 'plain';
  const have = entry[key];
  if (have && have.n === n && have.p === p) return have;
  const norms = new Float64Array(p);
  if (term.transposed) {
    for (let j = 0; j < p; j++) norms[j] = dotAt(data, j * n, data, j * n, n);
  } else {
    // Four rows at a time: one contiguous pass over M, one load and store of norms per four entries.
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const o = i * p;
      for (let j = 0; j < p; j++) {
        const a = data[o + j];
        const b = data[o + p + j];
        const c = data[o + 2 * p + j];
        const d = data[o + 3 * p + j];
        norms[j] += a * a + b * b + (c * c + d * d);
      }
    }
    for (; i < n; i++) for (let j = 0, o = i * p; j < p; j++) norms[j] += data[o + j] * data[o + j];
  }
  const made: Columns = { source: data, transposed: term.transposed, n, p, norms, copy: term.transposed ? data : null };
  entry[key] = made;
  return made;
}

/** Column j of Z at j n in the returned array (a copy of M' made once, or M' itself). */
function columnMajor(cols: Columns): Float64Array {
  if (cols.copy) return cols.copy;
  const { source, n, p } = cols;
  const z = new Float64Array(n * p);
  transposeInto(z, 0, source, n, p, n);
  cols.copy = z;
  return z;
}

/**
 * dst[at + j stride + i] = src[i p + j] for the row-major n x p `src`, entries n..stride of
 * each column set to 0 (the kernels' padding). Eight rows at a time: each column's run of 8
 * is written while those rows' cache lines are still in cache.
 */
function transposeInto(dst: Float64Array, at: number, src: Float64Array, n: number, p: number, stride: number): void {
  for (let i0 = 0; i0 < n; i0 += 8) {
    const i1 = Math.min(n, i0 + 8);
    for (let j = 0; j < p; j++) {
      const o = at + j * stride;
      for (let i = i0; i < i1; i++) dst[o + i] = src[i * p + j];
    }
  }
  if (stride > n) for (let j = 0; j < p; j++) dst.fill(0, at + j * stride + n, at + (j + 1) * stride);
}

/** The penalty as the sweeps take it: 0 none, 1 l1 (a = weights), 2 box (a = lower, b = upper). */
type Mode = 0 | 1 | 2;

export interface CompositeRunResult {
  y: Float64Array;
  /** Full sweeps plus sweeps over the free coordinates. */
  sweeps: number;
  /** Largest coordinate change of the last full sweep, times sqrt(H_jj). */
  change: number;
}

/** A Gram term ready for the sweeps. */
interface Gram {
  coef: number;
  cols: Columns;
}

/** Per square matrix: why it cannot be a dense term (non-finite, not symmetric), or null; checked once. */
const MATRIX_REFUSALS = new WeakMap<Float64Array, string | null>();

/**
 * Why the p x p matrix `data` cannot be a dense term of H, or null, computed once per array
 * (O(p^2); the instances of a batch or a path share their hoisted matrices, which are never
 * written once made, and so the check: a DEQ's W, refused as not symmetric, costs one pass
 * per training run instead of one per sample).
 */
function squareMatrixRefusal(data: Float64Array, p: number): string | null {
  const known = MATRIX_REFUSALS.get(data);
  if (known !== undefined) return known;
  let why: string | null = null;
  if (!isFiniteVector(data)) why = 'non-finite entries';
  else {
    let big = 0;
    for (let i = 0; i < data.length; i++) big = Math.max(big, Math.abs(data[i]));
    outer: for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) {
        if (Math.abs(data[i * p + j] - data[j * p + i]) > 1e-12 * big) {
          why = `not symmetric (entry ${i}, ${j})`;
          break outer;
        }
      }
    }
  }
  MATRIX_REFUSALS.set(data, why);
  return why;
}

/**
 * Coordinate descent for a {@link CompositeProblem}, prepared once (columns, curvatures, the
 * sum of the dense terms) for any number of runs from any start.
 */
export class CompositeSolver {
  private readonly p: number;
  private readonly grams: Gram[];
  /** sum_k coef_k Q_k (the one Q itself when there is one, times denseCoef), or null. */
  private readonly dense: Float64Array | null;
  private readonly denseCoef: number;
  /** identity + d_j: the part of H_jj outside the Gram and dense terms. */
  private readonly shift: Float64Array;
  /** H_jj. */
  private readonly h: Float64Array;
  private readonly c: Float64Array;
  private readonly mode: Mode;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  /** The one-Gram sweeps in WebAssembly, or null (several terms, no SIMD, a small design). */
  private readonly wasm: ResidentGram | null;

  /**
   * Why coordinate descent cannot take `problem`, or null. Each reason is one the sweeps
   * cannot survive: sizes that do not fit, non-finite data, a Q that is not symmetric (row j
   * stands for column j), a negative Gram coefficient (the problem is then not what the
   * analysis proved convex), a curvature H_jj <= 0 (the coordinate's minimizer does not
   * exist), an empty box or a negative l1 weight (no minimizer at all).
   */
  static refusal(problem: CompositeProblem): string | null {
    const { size: p, offset, diagonal, penalty } = problem;
    if (!Number.isInteger(p) || p < 0) return `size ${p} is not a count`;
    if (!(offset instanceof Float64Array) || offset.length !== p) return `offset has ${offset?.length} entries, not ${p}`;
    if (!isFiniteVector(offset)) return 'offset has non-finite entries';
    if (!Number.isFinite(problem.identity)) return 'identity coefficient is not finite';
    if (diagonal !== null) {
      if (!(diagonal instanceof Float64Array) || diagonal.length !== p) return `diagonal has ${diagonal?.length} entries, not ${p}`;
      if (!isFiniteVector(diagonal)) return 'diagonal has non-finite entries';
    }
    const h = new Float64Array(p).fill(problem.identity);
    if (diagonal) for (let j = 0; j < p; j++) h[j] += diagonal[j];
    for (const [k, term] of problem.grams.entries()) {
      const { shape, data } = term.matrix;
      if (!Number.isFinite(term.coef)) return `Gram term ${k}: coefficient is not finite`;
      if (term.coef < 0) return `Gram term ${k}: coefficient ${term.coef} < 0`;
      if (shape.length !== 2 || data.length !== shape[0] * shape[1]) return `Gram term ${k}: not a matrix (shape [${shape}], ${data.length} entries)`;
      const cols = term.transposed ? shape[0] : shape[1];
      if (cols !== p) return `Gram term ${k}: Z has ${cols} columns, not ${p}`;
      const { norms } = columnsOf(term);
      if (!isFiniteVector(norms)) return `Gram term ${k}: non-finite entries (or entries whose squares overflow)`;
      for (let j = 0; j < p; j++) h[j] += term.coef * norms[j];
    }
    for (const [k, term] of problem.matrices.entries()) {
      const { shape, data } = term.matrix;
      if (!Number.isFinite(term.coef)) return `matrix term ${k}: coefficient is not finite`;
      if (shape.length !== 2 || shape[0] !== p || shape[1] !== p || data.length !== p * p) return `matrix term ${k}: shape [${shape}], not [${p}, ${p}]`;
      const why = squareMatrixRefusal(data, p);
      if (why !== null) return `matrix term ${k}: ${why}`;
      for (let j = 0; j < p; j++) h[j] += term.coef * data[j * p + j];
    }
    for (let j = 0; j < p; j++) if (!(h[j] > 0) || !Number.isFinite(h[j])) return `H_${j}${j} = ${h[j]} is not positive`;
    return penaltyRefusal(penalty, p);
  }

  constructor(problem: CompositeProblem, engine: 'auto' | 'js' = 'auto') {
    const why = CompositeSolver.refusal(problem);
    if (why !== null) throw new Error(`CompositeSolver: ${why} (check CompositeSolver.refusal first)`);
    const p = problem.size;
    this.p = p;
    this.c = problem.offset;
    this.grams = problem.grams.filter((t) => t.coef !== 0).map((t) => ({ coef: t.coef, cols: columnsOf(t) }));
    const qs = problem.matrices.filter((t) => t.coef !== 0);
    if (qs.length === 1) {
      this.dense = qs[0].matrix.data;
      this.denseCoef = qs[0].coef;
    } else if (qs.length > 1) {
      const sum = new Float64Array(p * p);
      for (const { coef, matrix } of qs) for (let i = 0; i < p * p; i++) sum[i] += coef * matrix.data[i];
      this.dense = sum;
      this.denseCoef = 1;
    } else {
      this.dense = null;
      this.denseCoef = 0;
    }
    const shift = new Float64Array(p).fill(problem.identity);
    if (problem.diagonal) for (let j = 0; j < p; j++) shift[j] += problem.diagonal[j];
    const h = shift.slice();
    for (const { coef, cols } of this.grams) for (let j = 0; j < p; j++) h[j] += coef * cols.norms[j];
    if (this.dense) for (let j = 0; j < p; j++) h[j] += this.denseCoef * this.dense[j * p + j];
    this.shift = shift;
    this.h = h;
    const pen = problem.penalty;
    this.mode = pen.kind === 'l1' ? 1 : pen.kind === 'box' ? 2 : 0;
    this.lo = pen.kind === 'l1' ? pen.weights : pen.kind === 'box' ? pen.lower : new Float64Array(p);
    this.hi = pen.kind === 'box' ? pen.upper : new Float64Array(p);
    const one = this.grams.length === 1 && this.dense === null ? this.grams[0] : null;
    this.wasm =
      engine === 'js' || one === null || one.cols.n * p < RESIDENT_MIN_ENTRIES || wasmModule() === null ? null : new ResidentGram(one.cols);
  }

  /** Which engine runs the sweeps. */
  get engine(): 'wasm-simd' | 'js' {
    return this.wasm ? 'wasm-simd' : 'js';
  }

  /**
   * From `y0` until a full sweep changes no coordinate by more than `tol` (times sqrt(H_jj),
   * the scale of a coordinate's effect on the objective's quadratic part) or `maxSweeps`.
   */
  run(y0: Float64Array, tol: number, maxSweeps = 10_000): CompositeRunResult {
    const { p, grams } = this;
    if (y0.length !== p) throw new Error(`CompositeSolver.run: start has ${y0.length} entries, not ${p}`);
    const y = y0.slice();
    const residuals = grams.map(({ cols }) => productZ(cols, y));
    const active = new Int32Array(p);
    const free = this.freeTest(y);
    if (grams.length === 1 && this.dense === null) {
      const { coef, cols } = grams[0];
      const r = residuals[0];
      const fast = this.wasm?.run(coef, this.h, this.shift, this.c, y, r, this.mode, this.lo, this.hi, tol, maxSweeps, (v) => this.freeTest(v)) ?? null;
      if (fast) return fast;
      const z = columnMajor(cols);
      const done = cycle(
        (which, count) => sweepGram(z, cols.n, coef, this.h, this.shift, this.c, y, r, this.mode, this.lo, this.hi, which, count),
        p,
        active,
        free,
        tol,
        maxSweeps,
      );
      return { y, ...done };
    }
    // The dense terms' share of the gradient, sum_k coef_k Q_k y, kept current.
    const gq = new Float64Array(p);
    if (this.dense) {
      matvecAt(this.dense, p, p, y, 0, gq, 0);
      for (let j = 0; j < p; j++) gq[j] *= this.denseCoef;
    }
    const done = cycle((which, count) => this.sweepGeneral(y, residuals, gq, which, count), p, active, free, tol, maxSweeps);
    return { y, ...done };
  }

  /**
   * The exact stationary point on the piece of `y`: with F its free coordinates (l1: nonzero,
   * sigma their signs; box: strictly inside; none: all) and the others held where they are
   * (0, or at their bound),
   *
   *     H_FF y_F = c_F - w_F sigma_F - H_{F, fixed} y_fixed,
   *
   * solved by LU. On that piece the prox-gradient map is affine, so this is the semismooth
   * Newton step there, in closed form: |F|^2 n / 2 multiply-adds per Gram term over
   * contiguous columns. Null when |F| > maxFree, H_FF is singular to working precision, or
   * the solution leaves the piece (a sign flips, a bound is crossed): the iterate's piece was
   * not yet the solution's. The coordinates held fixed are not checked (`residual` does).
   */
  polish(y: Float64Array, maxFree: number): Float64Array | null {
    const { p, grams, shift, c, dense, denseCoef, mode, lo, hi } = this;
    if (y.length !== p) throw new Error(`CompositeSolver.polish: point has ${y.length} entries, not ${p}`);
    const isFree = this.freeTest(y);
    const F: number[] = [];
    for (let j = 0; j < p; j++) if (isFree(j)) F.push(j);
    const m = F.length;
    const out = y.slice();
    if (m === 0) return out;
    if (m > maxFree) return null;
    // H_{F, fixed} y_fixed: nonzero only where a box holds coordinates at nonzero bounds.
    const fixed = y.slice();
    for (const j of F) fixed[j] = 0;
    let coupled: Float64Array | null = null;
    if (fixed.some((v) => v !== 0)) {
      coupled = new Float64Array(p);
      this.applyH(fixed, coupled);
    }
    const A = new Float64Array(m * m);
    const rhs = new Float64Array(m);
    for (const { coef, cols } of grams) {
      const { n } = cols;
      const zF = gatherColumns(cols, F);
      for (let a = 0; a < m; a++) {
        for (let b = a; b < m; b++) {
          const v = coef * dotAt(zF, a * n, zF, b * n, n);
          A[a * m + b] += v;
          if (b !== a) A[b * m + a] += v;
        }
      }
    }
    for (let a = 0; a < m; a++) {
      const ja = F[a];
      A[a * m + a] += shift[ja];
      if (dense) for (let b = 0; b < m; b++) A[a * m + b] += denseCoef * dense[ja * p + F[b]];
      rhs[a] = c[ja] - (mode === 1 ? lo[ja] * Math.sign(y[ja]) : 0) - (coupled ? coupled[ja] : 0);
    }
    if (!isFiniteVector(A) || !isFiniteVector(rhs)) return null;
    const f = luFactor({ rows: m, cols: m, data: A });
    if (f.singular) return null;
    const x = luSolve(f, rhs);
    for (let a = 0; a < m; a++) {
      const j = F[a];
      const v = x[a];
      // 0 itself is still on the l1 piece's closure (its subgradient condition holds there).
      if (mode === 1 && !(v * Math.sign(y[j]) >= 0)) return null;
      if (mode === 2 && !(lo[j] <= v && v <= hi[j])) return null;
      if (!Number.isFinite(v)) return null;
      out[j] = v;
    }
    return out;
  }

  /** ||y - P(y - (H y - c))||_inf, P the prox of the penalty at unit step: 0 exactly at a solution. */
  residual(y: Float64Array): number {
    const { p, c, mode, lo, hi } = this;
    const g = new Float64Array(p);
    this.applyH(y, g);
    let worst = 0;
    for (let j = 0; j < p; j++) {
      const z = y[j] - (g[j] - c[j]);
      const next = mode === 1 ? soft(z, lo[j]) : mode === 2 ? Math.min(hi[j], Math.max(lo[j], z)) : z;
      const d = Math.abs(y[j] - next);
      if (!(d <= worst)) worst = d; // NaN propagates
    }
    return worst;
  }

  /** out = H v. */
  applyH(v: Float64Array, out: Float64Array): void {
    const { p, shift, dense, denseCoef } = this;
    for (let j = 0; j < p; j++) out[j] = shift[j] * v[j];
    for (const { coef, cols } of this.grams) addProductZt(cols, productZ(cols, v), coef, out);
    if (dense) {
      const t = new Float64Array(p);
      matvecAt(dense, p, p, v, 0, t, 0);
      for (let j = 0; j < p; j++) out[j] += denseCoef * t[j];
    }
  }

  /** Whether coordinate j of `y` is off its kink or bound (for the active set and polish). */
  private freeTest(y: Float64Array): (j: number) => boolean {
    const { mode, lo, hi } = this;
    if (mode === 1) return (j) => y[j] !== 0;
    if (mode === 2) return (j) => y[j] > lo[j] && y[j] < hi[j];
    return () => true;
  }

  /**
   * One sweep over which[0..count) (all when null) with any terms: one residual r_k = Z_k y
   * per Gram term, `gq` = the dense terms' product, both updated by each change.
   */
  private sweepGeneral(y: Float64Array, residuals: Float64Array[], gq: Float64Array, which: Int32Array | null, count: number): number {
    const { p, grams, shift, h, c, dense, denseCoef, mode, lo, hi } = this;
    const zs = grams.map(({ cols }) => columnMajor(cols));
    let change = 0;
    for (let t = 0; t < count; t++) {
      const j = which ? which[t] : t;
      const old = y[j];
      let g = shift[j] * old - c[j] + gq[j];
      for (let k = 0; k < grams.length; k++) {
        const { coef, cols } = grams[k];
        g += coef * dotAt(zs[k], j * cols.n, residuals[k], 0, cols.n);
      }
      const hj = h[j];
      const next = mode === 1 ? soft(hj * old - g, lo[j]) / hj : mode === 2 ? Math.min(hi[j], Math.max(lo[j], old - g / hj)) : old - g / hj;
      const delta = next - old;
      if (delta === 0) continue;
      y[j] = next;
      for (let k = 0; k < grams.length; k++) {
        const { n } = grams[k].cols;
        const data = zs[k];
        const r = residuals[k];
        for (let i = 0, o = j * n; i < n; i++) r[i] += delta * data[o + i];
      }
      if (dense) {
        const step = denseCoef * delta;
        for (let i = 0, o = j * p; i < p; i++) gq[i] += step * dense[o + i];
      }
      change = Math.max(change, Math.abs(delta) * Math.sqrt(hj));
    }
    return change;
  }
}

function penaltyRefusal(penalty: Penalty, p: number): string | null {
  if (penalty.kind === 'l1') {
    const w = penalty.weights;
    if (!(w instanceof Float64Array) || w.length !== p) return `l1 weights have ${w?.length} entries, not ${p}`;
    for (let j = 0; j < p; j++) if (!(w[j] >= 0) || !Number.isFinite(w[j])) return `l1 weight ${j} is ${w[j]}, not finite and >= 0`;
  } else if (penalty.kind === 'box') {
    const { lower, upper } = penalty;
    if (!(lower instanceof Float64Array) || lower.length !== p) return `box lower bounds have ${lower?.length} entries, not ${p}`;
    if (!(upper instanceof Float64Array) || upper.length !== p) return `box upper bounds have ${upper?.length} entries, not ${p}`;
    for (let j = 0; j < p; j++) {
      const l = lower[j];
      const u = upper[j];
      if (Number.isNaN(l) || Number.isNaN(u)) return `box bound ${j} is NaN`;
      if (l > u) return `box ${j} is empty: lower ${l} > upper ${u}`;
      if (l === Infinity || u === -Infinity) return `box ${j} lies at infinity`;
    }
  } else if (penalty.kind !== 'none') {
    return `unknown penalty ${(penalty as { kind: unknown }).kind}`;
  }
  return null;
}

/** sign(x) max(|x| - w, 0), as the sweeps compute it. */
function soft(x: number, w: number): number {
  return x > w ? x - w : x < -w ? x + w : 0;
}

/** Z v, from M as it lies (v = 0, a cold start, costs nothing). */
function productZ(cols: Columns, v: Float64Array): Float64Array {
  const { source, n, p } = cols;
  const out = new Float64Array(n);
  if (!v.some((x) => x !== 0)) return out;
  if (cols.transposed) {
    // Z v = sum_j v_j (row j of M).
    for (let j = 0; j < p; j++) {
      const s = v[j];
      if (s === 0) continue;
      for (let i = 0, o = j * n; i < n; i++) out[i] += s * source[o + i];
    }
  } else {
    matvecAt(source, n, p, v, 0, out, 0);
  }
  return out;
}

/** out += coef Z' t, from M as it lies. */
function addProductZt(cols: Columns, t: Float64Array, coef: number, out: Float64Array): void {
  const { source, n, p } = cols;
  if (cols.transposed) {
    for (let j = 0; j < p; j++) out[j] += coef * dotAt(source, j * n, t, 0, n);
    return;
  }
  // Z' t = sum_i t_i (row i of M).
  const acc = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const s = t[i];
    if (s === 0) continue;
    for (let j = 0, o = i * p; j < p; j++) acc[j] += s * source[o + j];
  }
  for (let j = 0; j < p; j++) out[j] += coef * acc[j];
}

/** The columns F of Z, column a at a n: rows of M when transposed, else gathered row by row. */
function gatherColumns(cols: Columns, F: number[]): Float64Array {
  const { source, n, p } = cols;
  const m = F.length;
  const out = new Float64Array(m * n);
  if (cols.transposed || cols.copy) {
    const z = cols.copy ?? source;
    for (let a = 0; a < m; a++) out.set(z.subarray(F[a] * n, F[a] * n + n), a * n);
    return out;
  }
  for (let i = 0; i < n; i++) {
    const o = i * p;
    for (let a = 0; a < m; a++) out[a * n + i] = source[o + F[a]];
  }
  return out;
}

/**
 * The schedule of the sweeps (glmnet's and scikit-learn's): a full sweep lets coordinates
 * enter or leave, then sweeps over the free coordinates alone run to convergence, cheap over
 * few of them; until a full sweep changes nothing by more than `tol`, or `maxSweeps`. When
 * every coordinate is free (no penalty, or an interior solution) the inner sweeps would be
 * full sweeps, and are skipped.
 */
function cycle(
  sweep: (which: Int32Array | null, count: number) => number,
  p: number,
  active: Int32Array,
  free: (j: number) => boolean,
  tol: number,
  maxSweeps: number,
): { sweeps: number; change: number } {
  let sweeps = 0;
  let change = Infinity;
  while (sweeps < maxSweeps) {
    change = sweep(null, p);
    sweeps++;
    if (change <= tol) break;
    let k = 0;
    for (let j = 0; j < p; j++) if (free(j)) active[k++] = j;
    if (k === p) continue;
    while (sweeps < maxSweeps) {
      const inner = sweep(active, k);
      sweeps++;
      if (inner <= tol) break;
    }
  }
  return { sweeps, change };
}

/**
 * The JavaScript twin of kernels.wat `cd_sweep_composite`, the same operations in the same
 * order (the dot's four partial sums in lanes e mod 4, combined (s0 + s2) + (s1 + s3); a
 * multiply, then an add): the two engines give the same iterates, bit for bit. Column j of Z
 * is cols[j n .. j n + n), r = Z y.
 */
function sweepGram(
  cols: Float64Array,
  n: number,
  coef: number,
  h: Float64Array,
  shift: Float64Array,
  c: Float64Array,
  y: Float64Array,
  r: Float64Array,
  mode: Mode,
  a: Float64Array,
  b: Float64Array,
  which: Int32Array | null,
  count: number,
): number {
  let change = 0;
  for (let t = 0; t < count; t++) {
    const j = which ? which[t] : t;
    const hj = h[j];
    const off = j * n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let e = 0;
    for (; e + 3 < n; e += 4) {
      s0 += cols[off + e] * r[e];
      s1 += cols[off + e + 1] * r[e + 1];
      s2 += cols[off + e + 2] * r[e + 2];
      s3 += cols[off + e + 3] * r[e + 3];
    }
    if (e < n) s0 += cols[off + e] * r[e];
    if (e + 1 < n) s1 += cols[off + e + 1] * r[e + 1];
    if (e + 2 < n) s2 += cols[off + e + 2] * r[e + 2];
    const dot = s0 + s2 + (s1 + s3);
    const old = y[j];
    const g = coef * dot + shift[j] * old - c[j];
    let next: number;
    if (mode === 1) {
      const rho = hj * old - g;
      const w = a[j];
      next = rho > w ? (rho - w) / hj : rho < -w ? (rho + w) / hj : 0;
    } else {
      next = old - g / hj;
      if (mode === 2) next = Math.min(b[j], Math.max(a[j], next));
    }
    const delta = next - old;
    if (delta === 0) continue;
    y[j] = next;
    for (let i = 0; i < n; i++) r[i] += delta * cols[off + i];
    change = Math.max(change, Math.abs(delta) * Math.sqrt(hj));
  }
  return change;
}


/**
 * The WebAssembly instance the one-Gram sweeps run in, one per process, and the column array
 * whose padded copy it holds: solvers that share a design (a path's instances) find it in
 * place; a new design replaces it. Runs are synchronous calls and do not interleave. Its
 * memory grows to the largest design seen and stays.
 */
let sweeper: WasmKernels | null | undefined;
/** The Columns whose Z lies at the start of the sweeper's memory. */
let loaded: Columns | null = null;

/**
 * The sweeps of one Gram term in WebAssembly: Z's columns (padded to nP) at 0, then one run's
 * curvatures, shifts, offsets, penalty vectors, coordinates, residual and active list.
 */
class ResidentGram {
  private readonly nP: number;

  constructor(private readonly cols: Columns) {
    this.nP = cols.n + (cols.n % 2);
  }

  /** The descent of CompositeSolver.run, its sweeps in WebAssembly; null when they cannot run there. */
  run(
    coef: number,
    h: Float64Array,
    shift: Float64Array,
    c: Float64Array,
    y: Float64Array,
    r: Float64Array,
    mode: Mode,
    lo: Float64Array,
    hi: Float64Array,
    tol: number,
    maxSweeps: number,
    freeOf: (y: Float64Array) => (j: number) => boolean,
  ): CompositeRunResult | null {
    const { nP } = this;
    const { n, p, source } = this.cols;
    const hAt = p * nP;
    const shiftAt = hAt + p;
    const cAt = shiftAt + p;
    const loAt = cAt + p;
    const hiAt = loAt + p;
    const yAt = hiAt + p;
    const rAt = yAt + p;
    const whichAt = rAt + nP;
    if (sweeper === undefined) sweeper = WasmKernels.create();
    if (sweeper === null) return null;
    const f64 = sweeper.ensure(whichAt + Math.ceil(p / 2) + 1);
    if (f64 === null) return null;
    if (loaded !== this.cols) {
      if (this.cols.transposed) placePadded(f64, 0, source, p, n, nP);
      else transposeInto(f64, 0, source, n, p, nP);
      loaded = this.cols;
    }
    f64.set(h, hAt);
    f64.set(shift, shiftAt);
    f64.set(c, cAt);
    f64.set(lo, loAt);
    f64.set(hi, hiAt);
    f64.set(y, yAt);
    f64.set(r, rAt);
    if (nP > n) f64[rAt + n] = 0;
    const kernel = sweeper.exports.cd_sweep_composite;
    const yView = f64.subarray(yAt, yAt + p);
    const active = new Int32Array(f64.buffer, 8 * whichAt, p);
    const done = cycle(
      (which, count) => kernel(0, nP, coef, 8 * hAt, 8 * shiftAt, 8 * cAt, 8 * yAt, 8 * rAt, mode, 8 * loAt, 8 * hiAt, which ? which.byteOffset : 0, count),
      p,
      active,
      freeOf(yView),
      tol,
      maxSweeps,
    );
    y.set(yView);
    return { y, ...done };
  }
}

/**
 * Below this many entries of Z the sweeps stay in JavaScript: a guess, not a measurement
 * (the copies and calls cost little either way).
 */
const RESIDENT_MIN_ENTRIES = 1024;
