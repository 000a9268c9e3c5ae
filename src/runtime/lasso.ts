/**
 * A structure-specific forward solver (DESIGN.md "Generated modules", Forward solvers): the
 * fixpoint
 *
 *     beta = soft_threshold(beta - G (A beta - b), tau),   G = s A^T, s > 0,
 *
 * is proximal gradient on the Lasso min 1/2 ||A beta - b||^2 + sum_j (tau_j / s) |beta_j|,
 * and its fixed points are exactly that problem's minimizers, whatever the step s. Codegen
 * recognizes the shape of the map and hands over A, b, G and tau (`leastSquaresProx`), and s
 * when it read the map's `s * A'`; without s, `stepOf` checks numerically that G is a positive
 * multiple of A^T. The solver then runs cyclic coordinate
 * descent with residual updates and an active set (the method of glmnet and scikit-learn),
 * which is insensitive to the conditioning that makes the map itself crawl (a step 1 /
 * ||A||^2 set by one large singular value). The sweeps run in WebAssembly SIMD (kernels.wat
 * `cd_sweep`) where it is available, over a copy of the columns made once per design.
 * `polish` then solves the optimality conditions on the support found (Newton's step on that
 * piece, in closed form). The caller judges every point by the model's own F (the generated
 * residual), and finishes with semismooth Newton on it when the polished point falls short.
 */
import type { Tensor } from './tensor.ts';
import { luFactor, luSolve } from './lu.ts';
import { dotAt } from './dot.ts';
import { isFiniteVector } from './validate.ts';
import { placePadded, WasmKernels, wasmModule } from './wasm.ts';

/** The pieces of a recognized least-squares prox fixpoint, as hoisted values of the model. */
export interface LeastSquaresProx {
  /** n x p design. */
  A: Tensor;
  /** n targets. */
  b: Tensor;
  /** p x n gradient operator, G = s A^T. */
  G: Tensor;
  /** Thresholds: a scalar or p entries, s * lambda. */
  tau: Tensor;
  /**
   * s, when G = s A^T holds by construction (codegen read the map's `s * A'`): then no
   * numerical check is needed. Absent: {@link stepOf} finds s, or refuses.
   */
  s?: number;
}

export interface CoordinateDescentResult {
  beta: Float64Array;
  /** Full sweeps over all coordinates plus sweeps over the active set. */
  sweeps: number;
  /** Largest coordinate change of the last full sweep, scaled by the column norm. */
  change: number;
}

/**
 * s with G = s A^T to rounding, checked on up to 64 rows of A (all of them when fewer), or
 * null when G is not a positive multiple of A^T there. A screen, not a proof: the solver
 * judges its result by the model's own residual, so a G that differs elsewhere only costs
 * the time of a wasted start.
 */
export function stepOf(p: LeastSquaresProx): number | null {
  const { A, G } = p;
  if (A.shape.length !== 2 || G.shape.length !== 2) return null;
  const [n, m] = A.shape;
  if (G.shape[0] !== m || G.shape[1] !== n || n === 0 || m === 0) return null;
  const stride = Math.max(1, Math.floor(n / 64));
  let num = 0;
  let den = 0;
  let big = 0;
  for (let i = 0; i < n; i += stride) {
    for (let j = 0; j < m; j++) {
      const a = A.data[i * m + j];
      const g = G.data[j * n + i];
      num += a * g;
      den += a * a;
      big = Math.max(big, Math.abs(g));
    }
  }
  if (!(den > 0)) return null;
  const s = num / den;
  if (!(s > 0) || !Number.isFinite(s)) return null;
  for (let i = 0; i < n; i += stride) {
    for (let j = 0; j < m; j++) {
      if (Math.abs(G.data[j * n + i] - s * A.data[i * m + j]) > 1e-12 * big) return null;
    }
  }
  return s;
}

/**
 * Coordinate descent on min 1/2 ||A beta - b||^2 + sum_j lambda_j |beta_j|, the method of
 * glmnet and scikit-learn: cyclic updates with the residual kept current, full sweeps to let
 * coordinates enter, sweeps over the nonzero ones in between. Columns and their norms are
 * prepared once, for any number of runs from any start.
 */
export class LassoCoordinateDescent {
  private readonly n: number;
  private readonly p: number;
  /** Column j of A at j * n, times 1 / colScale. */
  private readonly cols: Float64Array;
  private readonly colScale: number;
  private readonly norms: Float64Array;
  /** The sweeps in WebAssembly, or null (no SIMD, a small design): then they run here. */
  private readonly wasm: ResidentColumns | null;

  /**
   * `columns` gives A's columns ready-made, times `scale` (G = s A^T holds them times s);
   * without it A is transposed here.
   */
  constructor(
    A: Tensor,
    private readonly b: Tensor,
    private readonly lambda: (j: number) => number,
    columns?: { data: Float64Array; scale: number },
    engine: 'auto' | 'js' = 'auto',
  ) {
    const [n, p] = A.shape;
    this.n = n;
    this.p = p;
    // Used in place when given: a copy of a large design costs more than the whole descent.
    let cols: Float64Array;
    if (columns) {
      cols = columns.data;
      this.colScale = 1 / columns.scale;
    } else {
      cols = new Float64Array(n * p);
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) cols[j * n + i] = A.data[i * p + j];
      this.colScale = 1;
    }
    const norms = new Float64Array(p);
    const k2 = this.colScale * this.colScale;
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let i = j * n, end = i + n; i < end; i++) s += cols[i] * cols[i];
      norms[j] = k2 * s;
    }
    this.cols = cols;
    this.norms = norms;
    this.wasm = engine === 'js' || n * p < RESIDENT_MIN_ENTRIES || wasmModule() === null ? null : new ResidentColumns(cols, n, p);
  }

  /** Which engine runs the sweeps. */
  get engine(): 'wasm-simd' | 'js' {
    return this.wasm ? 'wasm-simd' : 'js';
  }

  /**
   * From `beta0`, until a full sweep changes no coordinate by more than `tol` (in units of
   * the column norm, the scale of a coordinate's effect on the fit) or after `maxSweeps`.
   */
  run(beta0: Float64Array, tol: number, maxSweeps = 10_000): CoordinateDescentResult {
    const { n, p, cols, norms, colScale } = this;
    const beta = beta0.slice();
    const r = Float64Array.from(this.b.data);
    for (let j = 0; j < p; j++) {
      if (beta[j] === 0) continue;
      for (let i = 0; i < n; i++) r[i] -= colScale * cols[j * n + i] * beta[j];
    }
    const lambdas = new Float64Array(p);
    for (let j = 0; j < p; j++) lambdas[j] = this.lambda(j);
    const fast = this.wasm?.run(beta, r, norms, lambdas, colScale, tol, maxSweeps) ?? null;
    if (fast) return fast;
    const done = cycle((which, count) => sweep(cols, colScale, norms, lambdas, beta, r, n, which, count), beta, new Int32Array(p), tol, maxSweeps);
    return { beta, ...done };
  }

  /**
   * The exact zero of the Lasso's optimality conditions on the support and signs of `beta`
   * (a coordinate-descent iterate): with S its nonzeros and sigma their signs,
   *
   *     A_S^T A_S beta_S = A_S^T b - lambda_S sigma,   beta elsewhere 0,
   *
   * solved by LU on the |S| x |S| Gram matrix. This is the semismooth Newton step on the
   * piece of F that the support selects (F is affine there), taken in closed form: |S|^2 n / 2
   * multiply-adds over contiguous columns instead of assembling B through the generic
   * kernels. Null when S is larger than `maxSupport` (the caller's limit on a reduced Newton
   * step) or than n, the Gram matrix is singular
   * to working precision, or a sign flips (the support or signs were not yet the solution's).
   * A screen, like the sweeps: the caller judges the point by the model's residual.
   */
  polish(beta: Float64Array, maxSupport: number): Float64Array | null {
    const { n, p, cols, colScale: k } = this;
    const support: number[] = [];
    for (let j = 0; j < p; j++) if (beta[j] !== 0) support.push(j);
    const m = support.length;
    const out = new Float64Array(p);
    if (m === 0) return out;
    if (m > maxSupport || m > n) return null;
    const gram = new Float64Array(m * m);
    const rhs = new Float64Array(m);
    const b = this.b.data;
    for (let a = 0; a < m; a++) {
      const ja = support[a] * n;
      for (let c = a; c < m; c++) {
        const v = k * k * dotAt(cols, ja, cols, support[c] * n, n);
        gram[a * m + c] = v;
        gram[c * m + a] = v;
      }
      rhs[a] = k * dotAt(cols, ja, b, 0, n) - this.lambda(support[a]) * Math.sign(beta[support[a]]);
    }
    if (!isFiniteVector(gram) || !isFiniteVector(rhs)) return null;
    const f = luFactor({ rows: m, cols: m, data: gram });
    if (f.singular) return null;
    const x = luSolve(f, rhs);
    for (let a = 0; a < m; a++) {
      const j = support[a];
      if (!(x[a] * beta[j] > 0)) return null;
      out[j] = x[a];
    }
    return out;
  }
}

/**
 * The schedule of the sweeps (glmnet's and scikit-learn's): a full sweep lets coordinates
 * enter or leave, then sweeps over the active set alone (the nonzero coefficients, listed in
 * `active`) run to convergence, cheap over few columns; until a full sweep changes nothing
 * by more than `tol`, or `maxSweeps`. `sweep(which, count)` sweeps which[0..count), or
 * every coordinate when which is null, and returns its largest scaled change; `beta` is what
 * it updates.
 */
function cycle(
  sweep: (which: Int32Array | null, count: number) => number,
  beta: Float64Array,
  active: Int32Array,
  tol: number,
  maxSweeps: number,
): { sweeps: number; change: number } {
  let sweeps = 0;
  let change = Infinity;
  while (sweeps < maxSweeps) {
    change = sweep(null, beta.length);
    sweeps++;
    if (change <= tol) break;
    let k = 0;
    for (let j = 0; j < beta.length; j++) if (beta[j] !== 0) active[k++] = j;
    while (sweeps < maxSweeps) {
      const inner = sweep(active, k);
      sweeps++;
      if (inner <= tol) break;
    }
  }
  return { sweeps, change };
}

/**
 * The WebAssembly instance the sweeps run in (kernels.wat `cd_sweep`, f64x2), one per
 * process, and the column array whose copy it holds: the instances a Lasso path derives with
 * `with` share their hoisted s A^T, so the copy is made once per path; a new design replaces
 * it. Runs do not interleave (each is one synchronous call), so one instance serves every
 * solver. Its memory grows to the largest design seen and stays.
 */
let sweeper: WasmKernels | null | undefined;
let loaded: Float64Array | null = null;

/** Views of the sweeper's memory holding `cols` (p columns of n, padded to nP), or null without SIMD or memory. */
function load(cols: Float64Array, n: number, nP: number, p: number, entries: number): { kernels: WasmKernels; f64: Float64Array } | null {
  if (sweeper === undefined) sweeper = WasmKernels.create();
  if (sweeper === null) return null;
  const f64 = sweeper.ensure(entries);
  if (f64 === null) return null;
  if (loaded !== cols) {
    placePadded(f64, 0, cols, p, n, nP);
    loaded = cols;
  }
  return { kernels: sweeper, f64 };
}

/**
 * Coordinate descent's sweeps in WebAssembly for one design: its columns (at j n in `cols`)
 * and, after them in the sweeper's memory, one run's norms, thresholds, coefficients,
 * residual and active list.
 */
class ResidentColumns {
  private readonly nP: number;
  /** Offsets in f64 entries; the active list's i32 entries start at i32 index 2 whichAt. */
  private readonly normsAt: number;
  private readonly lambdasAt: number;
  private readonly betaAt: number;
  private readonly rAt: number;
  private readonly whichAt: number;

  constructor(
    private readonly cols: Float64Array,
    private readonly n: number,
    private readonly p: number,
  ) {
    this.nP = n + (n % 2);
    this.normsAt = p * this.nP;
    this.lambdasAt = this.normsAt + p;
    this.betaAt = this.lambdasAt + p;
    this.rAt = this.betaAt + p;
    this.whichAt = this.rAt + this.nP;
  }

  /** The descent of LassoCoordinateDescent.run, its sweeps in WebAssembly; null when they cannot run there. */
  run(beta: Float64Array, r: Float64Array, norms: Float64Array, lambdas: Float64Array, k: number, tol: number, maxSweeps: number): CoordinateDescentResult | null {
    const { n, nP, p, normsAt, lambdasAt, betaAt, rAt, whichAt } = this;
    const memory = load(this.cols, n, nP, p, whichAt + Math.ceil(p / 2) + 1);
    if (memory === null) return null;
    const { f64 } = memory;
    const i32 = new Int32Array(f64.buffer);
    f64.set(norms, normsAt);
    f64.set(lambdas, lambdasAt);
    f64.set(beta, betaAt);
    f64.set(r, rAt);
    if (nP > n) f64[rAt + n] = 0;
    const kernel = memory.kernels.exports.cd_sweep;
    const betaView = f64.subarray(betaAt, betaAt + p);
    const active = i32.subarray(2 * whichAt, 2 * whichAt + p);
    const done = cycle(
      (which, count) => kernel(0, nP, k, 8 * normsAt, 8 * lambdasAt, 8 * betaAt, 8 * rAt, which ? which.byteOffset : 0, count),
      betaView,
      active,
      tol,
      maxSweeps,
    );
    beta.set(betaView);
    return { beta, ...done };
  }
}

/**
 * Below this many entries the sweeps stay in JavaScript: a guess, not a measurement (the
 * copy and the calls cost little; on the 250 x 10 diabetes split a run takes 23 us against
 * 114 in JavaScript).
 */
const RESIDENT_MIN_ENTRIES = 1024;

/**
 * One sweep of coordinate updates over `which[0..count)` (all coordinates when null),
 * keeping r = b - A beta, where column j of A is k * cols[j n .. j n + n); returns the
 * largest change times its column norm.
 */
function sweep(
  cols: Float64Array,
  k: number,
  norms: Float64Array,
  lambdas: Float64Array,
  beta: Float64Array,
  r: Float64Array,
  n: number,
  which: Int32Array | null,
  count: number,
): number {
  let change = 0;
  for (let t = 0; t < count; t++) {
    const j = which ? which[t] : t;
    const q = norms[j];
    if (q === 0) {
      beta[j] = 0;
      continue;
    }
    const off = j * n;
    const old = beta[j];
    const rho = k * dotAt(cols, off, r, 0, n) + q * old;
    const l = lambdas[j];
    const next = rho > l ? (rho - l) / q : rho < -l ? (rho + l) / q : 0;
    const delta = next - old;
    if (delta === 0) continue;
    beta[j] = next;
    const step = k * delta;
    for (let m = 0; m < n; m++) r[m] -= step * cols[off + m];
    change = Math.max(change, Math.abs(delta) * Math.sqrt(q));
  }
  return change;
}
