/**
 * A forward solver for cone programs (SCS convention):
 *
 *   primal  min c'x  s.t.  A x + s = b,  s in K;      dual  max -b'y  s.t.  A'y + c = 0,  y in K*;
 *   KKT     A'y + c = 0,  A x + s = b,  s in K,  y in K*,  s'y = 0.
 *
 * The method is Douglas-Rachford splitting without homogenization (equivalently ADMM; SCS
 * 3 without its tau/kappa embedding). With u = (x, y), M = [[0, A'], [-A, 0]] (monotone:
 * skew), q = (c, b) and C = R^n x K*, the KKT system is the inclusion 0 in M u + q + N_C(u);
 * DR in the metric R = diag(rhoX I_n, rhoY I_m) iterates on w:
 *
 *   u~ = (R + M)^{-1} (R w - q);   u = Pi_C(2 u~ - w);   w <- w + alpha (u - u~),
 *
 * with the relaxation alpha in (0, 2) (default 1 with Anderson acceleration, 1.5 without,
 * SCS's). Pi_C is the Euclidean projection
 * because R is a multiple of the identity on each factor of C. At a fixed point u~ = u =
 * (x*, y*) and R (w* - u*) = M u* + q, i.e. w* = (x*, y* + s* / rhoY). Each step reports the
 * iterate x = x~ (the linear solve's), y = Pi_{K*}(v_y) and s = rhoY (y - v_y) =
 * rhoY Pi_K(-v_y) (Moreau), so y is in K*, s in K and s'y = 0 exactly: only the two linear
 * residuals and the gap measure convergence.
 *
 * The resolvent: [[rhoX I, A'], [-A, rhoY I]] (x; y) = (r; t) gives y = (t + A x) / rhoY and
 * (rhoX rhoY I + A'A) x = rhoY r - A't, or, for a wide A (m < n), (rhoX rhoY I + A A') y =
 * rhoX t + A r and x = (r - A'y) / rhoX. The Gram matrix of the short side plus rhoX rhoY I
 * (positive definite whatever A's rank) is factored once by Cholesky (matrix.ts gram and
 * choleskyInPlace, WebAssembly SIMD from order SCRATCH_MIN_ORDER) and reused across
 * iterations and across calls: see {@link factorCone}.
 *
 * Equilibration: Ruiz scaling A_s = D A E (Ruiz 2001; as SCS and OSQP) with row factors
 * shared by the rows of each `uniformBlocks` block (a second-order or PSD cone is preserved
 * by a uniform positive scaling of its block only), then b and c normalized to unit RMS:
 * b_s = D b / beta_b, c_s = E c / beta_c. The scaled program has the solution
 * x_s = E^{-1} x / beta_b, s_s = D s / beta_b, y_s = D^{-1} y / beta_c, over the same cone.
 *
 * The metric is fixed (no adaptive scale as in SCS 3): after Ruiz, A_s has rows and columns
 * of unit max-norm and b_s, c_s unit RMS, so primal and dual iterates have comparable
 * magnitudes, which is what SCS's adaptive `scale` balances, and an adaptive metric would
 * change rhoX rhoY I + A'A and so void the factorization that repeated solves reuse. The
 * defaults were measured (scratch/cone-rho.ts, Anderson on, iterations to tol 1e-9 on a 45 x
 * 26 and a 200 x 112 LP and a 48 x 20 mixed program from the tests' generator): rhoY = 1
 * gave 952, 5903, 1655; rhoY = 0.1 gave 3447, > 20000, 729; rhoY = 10 and 100 did not
 * converge in 20000 on any. rhoX = 1e-6 (SCS's rho_x), 1e-3 and 1 gave 952 / 987 / 2147 on the
 * first; 1e-3 is the default because the wide form divides by rhoX (the rounding of r - A'y
 * grows by 1/rhoX: at 1e-6, a 22 x 40 program's primal residual stalled at 2.6e-8).
 *
 * Anderson acceleration (type II, Walker & Ni 2011; Zhang, O'Donoghue & Boyd 2020) on the
 * DR map T, with a Tikhonov-regularized least-squares problem and the lazy safeguard of SCS
 * 3: an accelerated point is kept only when its fixed-point residual ||w - T(w)|| is no
 * larger than that of the point it was extrapolated from; otherwise the iteration returns
 * to the plain step T(w) of that point (already computed) and the memory is cleared.
 * Memory and relaxation were measured (scratch/cone-aa.ts; iterations to tol 1e-9 on the 45
 * x 26 LP, the 200 x 112 LP and the 48 x 20 mixed program above), memory / alpha:
 * 10 / 1: 825, 7029, 997;  10 / 1.5: 987, 6916, 1665;  20 / 1: 204, 3499, 179;
 * 30 / 1: 122, 2671, 94;  30 / 1.5: 180, 3351, 137;  50 / 1: 86, 1886, 108. A step costs
 * O(memory (n + m)) beside the O(mn) products, so 30 with alpha = 1 is the default.
 *
 * Stopping (SCS's relative criteria, in the caller's unscaled variables, infinity norms):
 *   ||A x + s - b|| <= tolAbs + tol max(||A x||, ||s||, ||b||),
 *   ||A'y + c||     <= tolAbs + tol max(||A'y||, ||c||),
 *   |c'x + b'y|     <= tolAbs + tol max(|c'x|, |b'y|).
 *
 * Infeasibility (Banjac, Goulart, Stellato & Boyd 2019; as SCS 3 and OSQP): when the program
 * has no solution, T(w) - w converges to the minimal displacement d = (d_x, d_y) != 0 of the
 * averaged map T (Pazy 1971), along the plain iteration and along any safeguarded one whose
 * residual norm decreases to ||d|| (ran(I - T) has a convex closure, whose minimal-norm
 * element d is). Dividing the resolvent and projection by k along w_k ~ k d gives
 * (R + M) du = R d, so A'dy = rhoX (d_x - dx), -A dx = rhoY (d_y - dy), and by Banjac et al.
 * A'dy = 0 with dy in K*, b'dy < 0 (primal infeasible), or A dx in -K, c'dx < 0 (unbounded);
 * then dx = d_x and d_y = dy + ds / rhoY with ds = -A dx in K orthogonal to dy, so
 * dy = Pi_{K*}(d_y) (Moreau). Every INFEASIBILITY_CHECK_INTERVAL steps these candidates,
 * normalized (b'dy = -1, resp. c'dx = -1), are tested against `tolInfeasible` in the scaled
 * program.
 */
import { dotAt } from './dot.ts';
import { choleskyInPlace, gram, matTvec, type Matrix } from './matrix.ts';
import { SolverError } from './status.ts';

export interface ConeCallbacks {
  /** out = projection of v onto K* (the dual cone). v and out have length m; out never aliases v. */
  projectDual(v: Float64Array, out: Float64Array): void;
  /** out = projection onto K. */
  project(v: Float64Array, out: Float64Array): void;
  /** Row blocks that must share one scale under equilibration (second-order and PSD blocks: a cone is preserved only by a uniform positive scaling of the block); rows not listed may be scaled individually. */
  uniformBlocks: readonly { offset: number; size: number }[];
}

export interface ConeFactorOptions {
  /** Row blocks scaled uniformly by the equilibration (a cone's `uniformBlocks`). Default none. */
  uniformBlocks?: readonly { offset: number; size: number }[];
  /** Ruiz passes (default 25; 0 disables equilibration: D = E = I). */
  equilibrationPasses?: number;
  /** The DR metric's weight on x (default 1e-3; see the module comment). */
  rhoX?: number;
  /** The DR metric's weight on y (default 1). */
  rhoY?: number;
}

/** A prepared factorization for one A (and one block structure): opaque, from {@link factorCone}. */
export interface ConeFactorization {
  readonly rows: number;
  readonly cols: number;
}

export interface ConeSolveOptions {
  /** Relative tolerance of the stopping criteria (default 1e-9). */
  tol?: number;
  /** Absolute tolerance of the stopping criteria (default: tol). */
  tolAbs?: number;
  /** Tolerance of the normalized infeasibility / unboundedness certificates in the scaled program (default 1e-5, OSQP's). */
  tolInfeasible?: number;
  /** Iteration cap: evaluations of the DR map (default 10000). */
  maxIter?: number;
  /** Anderson memory (default 30; 0 = off). See the module comment for the measurements. */
  anderson?: number;
  /** Relaxation alpha in (0, 2) (default 1 with Anderson, 1.5 without). */
  relaxation?: number;
  /** Warm start, in the caller's variables: any of x, y, s, or the Minty variable v = s - y (then s = Pi_K(v), y = s - v, unless y or s is given too). */
  warm?: { x?: Float64Array; y?: Float64Array; s?: Float64Array; v?: Float64Array };
  /** Equilibration passes and the DR metric, as for {@link factorCone} (a given factorization must have been made with the same). */
  equilibrationPasses?: number;
  rhoX?: number;
  rhoY?: number;
  /** A factorization of this A from {@link factorCone} with the cone's uniformBlocks (else the per-A cache is used). */
  factorization?: ConeFactorization;
  /** Wall-clock limit; on expiry the status is 'max-iterations'. */
  timeLimitMs?: number;
}

export interface ConeSolveResult {
  x: Float64Array;
  y: Float64Array;
  s: Float64Array;
  /** Minty variable v = s - y: s = Pi_K(v), y = Pi_K(v) - v */
  v: Float64Array;
  status: 'converged' | 'max-iterations' | 'infeasible' | 'unbounded' | 'non-finite';
  /** Evaluations of the DR map. */
  iterations: number;
  /** ||A x + s - b||_inf. */
  primalResidual: number;
  /** ||A'y + c||_inf. */
  dualResidual: number;
  /** |c'x + b'y|. */
  gap: number;
  /** 'infeasible': y with A'y ~ 0, y in K*, b'y = -1; 'unbounded': x with A x in -K (approximately), c'x = -1. */
  certificate?: Float64Array;
  /** The factorization came from the cache or from options.factorization, not computed by this call. */
  factorizationReused: boolean;
}

type Blocks = readonly { offset: number; size: number }[];

/**
 * The certificates are tested every this many iterations: each test costs a product with A or
 * A' and a projection, and the certificates converge no faster than the iterates.
 */
const INFEASIBILITY_CHECK_INTERVAL = 10;

/** Anderson acceleration is switched off for the rest of a solve once the fixed-point residual has not improved by 1% in this many steps. */
const ANDERSON_STALL = 100;

/** The private state behind {@link ConeFactorization}. */
class Factor implements ConeFactorization {
  constructor(
    readonly rows: number,
    readonly cols: number,
    /** The fingerprint of the A it was made from (see {@link fingerprint}). */
    readonly print: number,
    /** The settings it was made with (Settings.key). */
    readonly key: string,
    /** D A E, row-major. */
    readonly scaled: Float64Array,
    readonly D: Float64Array,
    readonly E: Float64Array,
    /** Upper Cholesky factor R (row-major, upper triangle) of rhoX rhoY I + the Gram matrix of the short side. */
    readonly R: Float64Array,
    /** m < n: the m x m form. */
    readonly wide: boolean,
    /** The DR metric diag(rhoX I, rhoY I) (see {@link ConeFactorOptions}). */
    readonly rhoX: number,
    readonly rhoY: number,
  ) {
    this.matrix = { rows, cols, data: scaled };
  }

  /** D A E as a Matrix. */
  readonly matrix: Matrix;
}

/**
 * Per-A cache of factorizations, keyed on the identity of A's data array (held weakly). An
 * entry is used only when A's dimensions, the block structure and a fingerprint of A's
 * entries (a 32-bit hash of every word of the array, one pass: about the cost of one
 * matrix-vector product, against the O(k^3) factorization it saves) match, and the settings
 * (uniform blocks, equilibration passes, rhoX, rhoY) are the same; a mutated A
 * thus gets a fresh factorization (up to a 2^-32 hash collision), and one entry per array is
 * kept (the newest).
 */
const cache = new WeakMap<Float64Array, Factor>();

/**
 * FNV-1a hash over the 32-bit words of the entries. Each step is a bijection of the state for
 * a given word, so a change confined to one word always changes the hash; several changes
 * can collide, with chance about 2^-32.
 */
function fingerprint(data: Float64Array): number {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return h >>> 0;
}

/**
 * Equilibration and factorization of A for {@link solveCone}: Ruiz scaling D A E (block rows
 * sharing a factor), then the Cholesky factor of rhoX rhoY I + (D A E)'(D A E), or of
 * rhoX rhoY I + (D A E)(D A E)' when A is wide. Pass the result as `options.factorization`
 * to solves with the same A, cone blocks and settings, or rely on solveCone's cache.
 */
export function factorCone(A: Matrix, options: ConeFactorOptions = {}): ConeFactorization {
  return buildFactor(A, settingsOf(options), fingerprint(A.data));
}

interface Settings {
  blocks: Blocks;
  passes: number;
  rhoX: number;
  rhoY: number;
  /** All of the above, as a string: what a cached factorization must match. */
  key: string;
}

function settingsOf(options: ConeFactorOptions): Settings {
  const blocks = options.uniformBlocks ?? [];
  const passes = options.equilibrationPasses ?? 25;
  const rhoX = options.rhoX ?? 1e-3;
  const rhoY = options.rhoY ?? 1;
  if (!Number.isInteger(passes) || passes < 0) throw new SolverError('invalid-option', `cone solver: equilibrationPasses must be a nonnegative integer, got ${passes}`);
  if (!(rhoX > 0 && rhoX < Infinity) || !(rhoY > 0 && rhoY < Infinity)) throw new SolverError('invalid-option', `cone solver: rhoX and rhoY must be positive and finite, got ${rhoX}, ${rhoY}`);
  const key = `${blocks.map((b) => `${b.offset}:${b.size}`).join(',')}|${passes}|${rhoX}|${rhoY}`;
  return { blocks, passes, rhoX, rhoY, key };
}

function buildFactor(A: Matrix, settings: Settings, print: number): Factor {
  const { blocks, passes, rhoX, rhoY } = settings;
  const { rows: m, cols: n, data } = A;
  if (data.length !== m * n) throw new SolverError('dimension-mismatch', `cone solver: A has ${data.length} entries, expected ${m} x ${n}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new SolverError('non-finite-input', 'cone solver: A has non-finite entries');
  }
  // group[i]: the equilibration group of row i (a block's rows share one).
  const group = new Int32Array(m);
  for (let i = 0; i < m; i++) group[i] = i;
  for (const { offset, size } of blocks) {
    if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0 || offset + size > m) {
      throw new SolverError('dimension-mismatch', `cone solver: uniform block ${offset}:${size} outside the ${m} rows`);
    }
    for (let i = offset; i < offset + size; i++) group[i] = offset;
  }
  const scaled = new Float64Array(data);
  const D = new Float64Array(m).fill(1);
  const E = new Float64Array(n).fill(1);
  const rowMax = new Float64Array(m);
  const colMax = new Float64Array(n);
  for (let pass = 0; pass < passes; pass++) {
    rowMax.fill(0);
    colMax.fill(0);
    for (let i = 0, base = 0; i < m; i++, base += n) {
      for (let j = 0; j < n; j++) {
        const a = Math.abs(scaled[base + j]);
        if (a > rowMax[i]) rowMax[i] = a;
        if (a > colMax[j]) colMax[j] = a;
      }
    }
    for (let i = 0; i < m; i++) if (group[i] !== i && rowMax[i] > rowMax[group[i]]) rowMax[group[i]] = rowMax[i];
    let worst = 0;
    const d = new Float64Array(m);
    const e = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const r = rowMax[group[i]];
      d[i] = r > 0 ? clampFactor(1 / Math.sqrt(r)) : 1;
      if (r > 0) worst = Math.max(worst, Math.abs(1 - r));
    }
    for (let j = 0; j < n; j++) {
      const c = colMax[j];
      e[j] = c > 0 ? clampFactor(1 / Math.sqrt(c)) : 1;
      if (c > 0) worst = Math.max(worst, Math.abs(1 - c));
    }
    // Ruiz converges to unit max-norms; a few percent is all the conditioning needs.
    if (worst < 0.02) break;
    for (let i = 0, base = 0; i < m; i++, base += n) {
      const di = d[i];
      D[i] *= di;
      for (let j = 0; j < n; j++) scaled[base + j] *= di * e[j];
    }
    for (let j = 0; j < n; j++) E[j] *= e[j];
  }
  const wide = m < n;
  const k = wide ? m : n;
  const G = gram(scaled, m, n);
  for (let i = 0; i < k; i++) G[i * k + i] += rhoX * rhoY;
  if (choleskyInPlace(G, k) === null) throw new SolverError('non-finite-input', 'cone solver: rhoX rhoY I + A\'A is not positive definite to working precision');
  return new Factor(m, n, print, settings.key, scaled, D, E, G, wide, rhoX, rhoY);
}

/** One Ruiz step's factor, kept within [1e-4, 1e4] as SCS does (a zero-ish row or column is not blown up). */
function clampFactor(f: number): number {
  return Math.min(1e4, Math.max(1e-4, f));
}

/** z <- (R'R)^{-1} z for the upper factor R (row-major k x k): R'y = z by columns of R', then R x = y by rows. */
function choleskySolve(R: Float64Array, k: number, z: Float64Array): void {
  for (let j = 0; j < k; j++) {
    const row = j * k;
    const zj = (z[j] /= R[row + j]);
    if (zj !== 0) for (let i = j + 1; i < k; i++) z[i] -= R[row + i] * zj;
  }
  for (let i = k - 1; i >= 0; i--) {
    const row = i * k;
    z[i] = (z[i] - dotAt(R, row + i + 1, z, i + 1, k - i - 1)) / R[row + i];
  }
}

/** out = A x for the row-major A (length-checked by the callers' construction). */
function mul(A: Float64Array, m: number, n: number, x: Float64Array, out: Float64Array): void {
  for (let i = 0, base = 0; i < m; i++, base += n) out[i] = dotAt(A, base, x, 0, n);
}

/**
 * Sliding window of the last `memory` differences dW of the iterates and dG of their
 * residuals g = w - T(w), for type-II Anderson: gamma = argmin ||g - dG gamma||^2 +
 * lambda ||gamma||^2 with lambda = 1e-10 ||dG||_F^2 (plus a floor), and the extrapolation
 * T(w) - (dW - dG) gamma. The Gram matrix dG'dG is kept up to date one row per push (the
 * slots form a ring; the least-squares problem does not depend on the column order), so a
 * step costs O(memory * dim), not O(memory^2 * dim).
 */
class Anderson {
  private readonly dW: Float64Array[];
  private readonly dG: Float64Array[];
  private size = 0;
  private head = 0;
  /** dG'dG over the slots, memory x memory. */
  private readonly gram: Float64Array;
  private readonly system: Float64Array;
  private readonly gamma: Float64Array;

  constructor(
    private readonly memory: number,
    dim: number,
  ) {
    this.dW = Array.from({ length: memory }, () => new Float64Array(dim));
    this.dG = Array.from({ length: memory }, () => new Float64Array(dim));
    this.gram = new Float64Array(memory * memory);
    this.system = new Float64Array(memory * memory);
    this.gamma = new Float64Array(memory);
  }

  reset(): void {
    this.size = 0;
    this.head = 0;
  }

  /** Records w - wPrev and g - gPrev. */
  push(w: Float64Array, wPrev: Float64Array, g: Float64Array, gPrev: Float64Array): void {
    const dw = this.dW[this.head];
    const dg = this.dG[this.head];
    for (let i = 0; i < w.length; i++) {
      dw[i] = w[i] - wPrev[i];
      dg[i] = g[i] - gPrev[i];
    }
    const h = this.head;
    this.size = Math.min(this.size + 1, this.memory);
    for (let a = 0; a < this.size; a++) {
      const v = dotAt(this.dG[a], 0, dg, 0, w.length);
      this.gram[a * this.memory + h] = v;
      this.gram[h * this.memory + a] = v;
    }
    this.head = (h + 1) % this.memory;
  }

  /** out = T(w) - (dW - dG) gamma; false (out untouched) when the window is empty or the system is not solvable. */
  extrapolate(tw: Float64Array, g: Float64Array, out: Float64Array): boolean {
    const p = this.size;
    if (p === 0) return false;
    const S = this.system;
    const len = g.length;
    let trace = 0;
    for (let a = 0; a < p; a++) {
      for (let b = 0; b < p; b++) S[a * p + b] = this.gram[a * this.memory + b];
      trace += S[a * p + a];
      this.gamma[a] = dotAt(this.dG[a], 0, g, 0, len);
    }
    if (!(trace > 0) || !Number.isFinite(trace)) return false;
    const lambda = 1e-10 * trace + 1e-300;
    for (let a = 0; a < p; a++) S[a * p + a] += lambda;
    if (choleskyInPlace(S, p, 'js') === null) return false;
    const gamma = this.gamma.subarray(0, p);
    choleskySolve(S, p, gamma);
    out.set(tw);
    for (let a = 0; a < p; a++) {
      const ga = gamma[a];
      const dw = this.dW[a];
      const dg = this.dG[a];
      for (let i = 0; i < len; i++) out[i] -= ga * (dw[i] - dg[i]);
    }
    for (let i = 0; i < len; i++) if (!Number.isFinite(out[i])) return false;
    return true;
  }
}

function requireLength(what: string, v: Float64Array | undefined, len: number): void {
  if (v !== undefined && v.length !== len) throw new SolverError('dimension-mismatch', `solveCone: ${what} has length ${v.length}, expected ${len}`);
}

function requireFinite(what: string, v: Float64Array): void {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new SolverError('non-finite-input', `solveCone: ${what} has non-finite entries`);
}

function rms(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return v.length === 0 ? 0 : Math.sqrt(s / v.length);
}

function maxAbs(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s = Math.max(s, Math.abs(v[i]));
  return s;
}

/** The factorization for A: options.factorization (checked against A), a cached one, or a new one (then cached). */
function factorFor(A: Matrix, settings: Settings, given: ConeFactorization | undefined): { factor: Factor; reused: boolean } {
  const key = settings.key;
  const print = fingerprint(A.data);
  if (given !== undefined) {
    if (!(given instanceof Factor)) throw new SolverError('invalid-option', 'solveCone: factorization must come from factorCone');
    if (given.rows !== A.rows || given.cols !== A.cols || given.print !== print) {
      throw new SolverError('invalid-option', 'solveCone: the factorization was made for another A (dimensions or entries differ)');
    }
    if (given.key !== key) throw new SolverError('invalid-option', 'solveCone: the factorization was made for other uniform blocks or settings');
    return { factor: given, reused: true };
  }
  const hit = cache.get(A.data);
  if (hit && hit.rows === A.rows && hit.cols === A.cols && hit.print === print && hit.key === key) return { factor: hit, reused: true };
  const factor = buildFactor(A, settings, print);
  cache.set(A.data, factor);
  return { factor, reused: false };
}

/**
 * Solves the cone program (A, b, c, K) by Douglas-Rachford splitting with equilibration and
 * safeguarded Anderson acceleration (see the module comment). Returns finite x, y, s, the
 * Minty variable v = s - y, the residuals in the caller's variables, and a status:
 * 'converged' (all three criteria met), 'infeasible' / 'unbounded' (with `certificate`),
 * 'max-iterations' (maxIter or timeLimitMs reached), 'non-finite' (an iterate overflowed:
 * the last finite one is returned).
 */
export function solveCone(A: Matrix, b: Float64Array, c: Float64Array, cone: ConeCallbacks, options: ConeSolveOptions = {}): ConeSolveResult {
  const { rows: m, cols: n } = A;
  requireLength('b', b, m);
  requireLength('c', c, n);
  requireFinite('b', b);
  requireFinite('c', c);
  const warm = options.warm ?? {};
  requireLength('warm.x', warm.x, n);
  requireLength('warm.y', warm.y, m);
  requireLength('warm.s', warm.s, m);
  requireLength('warm.v', warm.v, m);
  const tol = options.tol ?? 1e-9;
  const tolAbs = options.tolAbs ?? tol;
  const tolInf = options.tolInfeasible ?? 1e-5;
  const maxIter = options.maxIter ?? 10000;
  const memory = options.anderson ?? 30;
  const alpha = options.relaxation ?? (memory > 0 ? 1 : 1.5);
  if (!(tol > 0) || !(tolAbs >= 0) || !(tolInf > 0)) throw new SolverError('invalid-option', 'solveCone: tolerances must be positive');
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new SolverError('invalid-option', `solveCone: maxIter must be a positive integer, got ${maxIter}`);
  if (!Number.isInteger(memory) || memory < 0) throw new SolverError('invalid-option', `solveCone: anderson must be a nonnegative integer, got ${memory}`);
  if (!(alpha > 0 && alpha < 2)) throw new SolverError('invalid-option', `solveCone: relaxation must lie in (0, 2), got ${alpha}`);
  if (options.timeLimitMs !== undefined && !(options.timeLimitMs >= 0)) throw new SolverError('invalid-option', `solveCone: timeLimitMs must be nonnegative, got ${options.timeLimitMs}`);
  const deadline = options.timeLimitMs === undefined ? Infinity : performance.now() + options.timeLimitMs;

  const settings = settingsOf({ uniformBlocks: cone.uniformBlocks, equilibrationPasses: options.equilibrationPasses, rhoX: options.rhoX, rhoY: options.rhoY });
  const { factor, reused } = factorFor(A, settings, options.factorization);
  const { D, E, R, wide, rhoX, rhoY } = factor;
  const As = factor.scaled;
  const k = wide ? m : n;

  // Scaled data: b_s = D b / betaB, c_s = E c / betaC.
  const bs = new Float64Array(m);
  const cs = new Float64Array(n);
  for (let i = 0; i < m; i++) bs[i] = D[i] * b[i];
  for (let j = 0; j < n; j++) cs[j] = E[j] * c[j];
  const betaB = rms(bs) || 1;
  const betaC = rms(cs) || 1;
  for (let i = 0; i < m; i++) bs[i] /= betaB;
  for (let j = 0; j < n; j++) cs[j] /= betaC;
  const bInf = maxAbs(b);
  const cInf = maxAbs(c);

  // The DR variable w = (w_x, w_y), from the warm start (scaled): w_x = x_s, w_y = y_s + s_s.
  const N = n + m;
  const w = new Float64Array(N);
  {
    let ws = warm.s;
    let wy = warm.y;
    if (warm.v !== undefined && (ws === undefined || wy === undefined)) {
      const pv = new Float64Array(m);
      cone.project(warm.v, pv);
      if (ws === undefined) ws = pv;
      if (wy === undefined) wy = pv.map((p, i) => p - warm.v![i]);
    }
    if (warm.x) for (let j = 0; j < n; j++) w[j] = warm.x[j] / (E[j] * betaB);
    if (wy) for (let i = 0; i < m; i++) w[n + i] += wy[i] / (D[i] * betaC);
    if (ws) for (let i = 0; i < m; i++) w[n + i] += (D[i] * ws[i]) / (betaB * rhoY);
    requireFinite('warm start', w);
  }

  // Work vectors.
  const rhs = new Float64Array(k);
  const xt = new Float64Array(n); // x~
  const yt = new Float64Array(m); // y~
  const t = new Float64Array(m);
  const ax = new Float64Array(m); // A_s x~
  const vy = new Float64Array(m);
  const y = new Float64Array(m);
  const s = new Float64Array(m);
  const aty = new Float64Array(n); // A_s' y
  const tw = new Float64Array(N);
  const g = new Float64Array(N);
  const work = new Float64Array(Math.max(m, n));
  // The previous accepted evaluation, for Anderson and the safeguard.
  const wPrev = new Float64Array(N);
  const gPrev = new Float64Array(N);
  const twPrev = new Float64Array(N);
  const wNext = new Float64Array(N);
  const dy = new Float64Array(m);
  const proj = new Float64Array(m);
  const aa = memory > 0 ? new Anderson(memory, N) : null;
  // The last finite iterate (scaled), returned on 'non-finite'.
  const best = { x: new Float64Array(n), y: new Float64Array(m), s: new Float64Array(m) };

  /** One evaluation of T at w: fills xt, yt, ax, y, s, aty, tw, g; returns ||g||_2. */
  const evaluate = (): number => {
    // (R + M) u~ = R w - q: r = rhoX w_x - c_s, t = rhoY w_y - b_s.
    for (let i = 0; i < m; i++) t[i] = rhoY * w[n + i] - bs[i];
    if (!wide) {
      // (rhoX rhoY I + A'A) x = rhoY r - A't, y = (t + A x) / rhoY.
      matTvec(factor.matrix, t, work.subarray(0, n));
      for (let j = 0; j < n; j++) rhs[j] = rhoY * (rhoX * w[j] - cs[j]) - work[j];
      choleskySolve(R, k, rhs);
      xt.set(rhs);
      mul(As, m, n, xt, ax);
      for (let i = 0; i < m; i++) yt[i] = (t[i] + ax[i]) / rhoY;
    } else {
      // (rhoX rhoY I + A A') y = rhoX t + A r, x = (r - A'y) / rhoX. A x is recomputed rather
      // than taken as rhoY y - t: the division by rhoX amplifies the rounding of r - A'y, and
      // the residuals must be those of the x returned.
      for (let j = 0; j < n; j++) xt[j] = rhoX * w[j] - cs[j];
      mul(As, m, n, xt, rhs);
      for (let i = 0; i < m; i++) rhs[i] += rhoX * t[i];
      choleskySolve(R, k, rhs);
      yt.set(rhs);
      matTvec(factor.matrix, yt, work.subarray(0, n));
      for (let j = 0; j < n; j++) xt[j] = (xt[j] - work[j]) / rhoX;
      mul(As, m, n, xt, ax);
    }
    // u = Pi_C(2u~ - w): x part free, y part onto K*; s = rhoY (y - v_y) = rhoY Pi_K(-v_y)
    // (at the fixed point rhoY (w_y - y) = b - A x = s).
    for (let i = 0; i < m; i++) vy[i] = 2 * yt[i] - w[n + i];
    cone.projectDual(vy, y);
    for (let i = 0; i < m; i++) s[i] = rhoY * (y[i] - vy[i]);
    matTvec(factor.matrix, y, aty);
    let g2 = 0;
    for (let j = 0; j < n; j++) {
      // u_x - x~ = x~ - w_x.
      const d = xt[j] - w[j];
      tw[j] = w[j] + alpha * d;
      g[j] = -alpha * d;
      g2 += d * d;
    }
    for (let i = 0; i < m; i++) {
      const d = y[i] - yt[i];
      tw[n + i] = w[n + i] + alpha * d;
      g[n + i] = -alpha * d;
      g2 += d * d;
    }
    return alpha * Math.sqrt(g2);
  };

  let primalResidual = Infinity;
  let dualResidual = Infinity;
  let gap = Infinity;
  /** The stopping criteria on the current evaluation, in the caller's variables. */
  const converged = (): boolean => {
    let rp = 0;
    let axInf = 0;
    let sInf = 0;
    for (let i = 0; i < m; i++) {
      const f = betaB / D[i];
      rp = Math.max(rp, Math.abs((ax[i] + s[i] - bs[i]) * f));
      axInf = Math.max(axInf, Math.abs(ax[i] * f));
      sInf = Math.max(sInf, Math.abs(s[i] * f));
    }
    let rd = 0;
    let atyInf = 0;
    for (let j = 0; j < n; j++) {
      const f = betaC / E[j];
      rd = Math.max(rd, Math.abs((aty[j] + cs[j]) * f));
      atyInf = Math.max(atyInf, Math.abs(aty[j] * f));
    }
    let cx = 0;
    let by = 0;
    for (let j = 0; j < n; j++) cx += cs[j] * xt[j];
    for (let i = 0; i < m; i++) by += bs[i] * y[i];
    cx *= betaB * betaC;
    by *= betaB * betaC;
    primalResidual = rp;
    dualResidual = rd;
    gap = Math.abs(cx + by);
    return (
      rp <= tolAbs + tol * Math.max(axInf, sInf, bInf) &&
      rd <= tolAbs + tol * Math.max(atyInf, cInf) &&
      gap <= tolAbs + tol * Math.max(Math.abs(cx), Math.abs(by))
    );
  };

  /**
   * Primal infeasibility from dy = Pi_{K*}(d_y), d = T(w) - w = -g: b'dy < 0 and ||A'dy||
   * small relative to -b'dy. (dy is in K* by construction.)
   */
  const infeasibleCertificate = (): Float64Array | null => {
    let bdy = 0;
    for (let i = 0; i < m; i++) dy[i] = -g[n + i];
    cone.projectDual(dy, proj);
    for (let i = 0; i < m; i++) bdy += bs[i] * proj[i];
    if (!(bdy < 0)) return null;
    const scale = -bdy;
    matTvec(factor.matrix, proj, work.subarray(0, n));
    for (let j = 0; j < n; j++) if (Math.abs(work[j]) > tolInf * scale) return null;
    // Unscaled: y = betaC D y_s (positive factors keep the cone); normalized to b'y = -1.
    const cert = new Float64Array(m);
    let by = 0;
    for (let i = 0; i < m; i++) {
      cert[i] = D[i] * proj[i];
      by += b[i] * cert[i];
    }
    if (!(by < 0)) return null;
    for (let i = 0; i < m; i++) cert[i] /= -by;
    return cert;
  };

  /** Dual infeasibility (unboundedness) from dx = d_x: c'dx < 0 and dist(-A dx, K) small relative to -c'dx. */
  const unboundedCertificate = (): Float64Array | null => {
    const dx = work.subarray(0, n);
    let cdx = 0;
    for (let j = 0; j < n; j++) {
      dx[j] = -g[j];
      cdx += cs[j] * dx[j];
    }
    if (!(cdx < 0)) return null;
    const scale = -cdx;
    mul(As, m, n, dx, dy);
    for (let i = 0; i < m; i++) dy[i] = -dy[i];
    cone.project(dy, proj);
    for (let i = 0; i < m; i++) if (Math.abs(proj[i] - dy[i]) > tolInf * scale) return null;
    // Unscaled: x = betaB E x_s; normalized to c'x = -1.
    const cert = new Float64Array(n);
    let cx = 0;
    for (let j = 0; j < n; j++) {
      cert[j] = E[j] * dx[j];
      cx += c[j] * cert[j];
    }
    if (!(cx < 0)) return null;
    for (let j = 0; j < n; j++) cert[j] /= -cx;
    return cert;
  };

  let status: ConeSolveResult['status'] = 'max-iterations';
  let certificate: Float64Array | undefined;
  let iterations = 0;
  let gPrevNorm = Infinity;
  let accelerated = false;
  let havePrev = false;
  // Stall watch for Anderson: the best residual so far and when it last improved by 1%.
  let accelerate = aa !== null;
  let gBest = Infinity;
  let gBestAt = 0;
  while (iterations < maxIter) {
    iterations++;
    const gNorm = evaluate();
    if (!Number.isFinite(gNorm)) {
      status = 'non-finite';
      break;
    }
    if (accelerated && gNorm > gPrevNorm) {
      // Safeguard: the extrapolated point did not reduce the residual; take the plain step
      // from the last accepted point instead, and start the memory afresh.
      w.set(twPrev);
      aa?.reset();
      accelerated = false;
      if (performance.now() > deadline) break;
      continue;
    }
    best.x.set(xt);
    best.y.set(y);
    best.s.set(s);
    if (converged()) {
      status = 'converged';
      break;
    }
    if (iterations % INFEASIBILITY_CHECK_INTERVAL === 0) {
      const cert = infeasibleCertificate();
      if (cert) {
        status = 'infeasible';
        certificate = cert;
        break;
      }
      const certX = unboundedCertificate();
      if (certX) {
        status = 'unbounded';
        certificate = certX;
        break;
      }
    }
    if (performance.now() > deadline) break;
    if (gNorm < 0.99 * gBest) {
      gBest = gNorm;
      gBestAt = iterations;
    } else if (accelerate && iterations - gBestAt >= ANDERSON_STALL) {
      // A residual with a floor: the signature of an infeasible or unbounded program, whose
      // minimal displacement the plain iteration exposes (and the safeguarded one may not:
      // measured, an infeasible LP kept its iterates bounded under Anderson); or Anderson
      // stalls on a feasible one, where the plain iteration still converges.
      accelerate = false;
    }
    if (aa && accelerate && havePrev) aa.push(w, wPrev, g, gPrev);
    wPrev.set(w);
    gPrev.set(g);
    twPrev.set(tw);
    gPrevNorm = gNorm;
    havePrev = true;
    accelerated = aa !== null && accelerate && aa.extrapolate(tw, g, wNext);
    w.set(accelerated ? wNext : tw);
  }

  // Unscale the reported iterate: the last accepted evaluation (whose residuals were measured),
  // zeros if there was none (a non-finite first evaluation).
  const src = best;
  const x = new Float64Array(n);
  const yOut = new Float64Array(m);
  const sOut = new Float64Array(m);
  const v = new Float64Array(m);
  for (let j = 0; j < n; j++) x[j] = betaB * E[j] * src.x[j];
  for (let i = 0; i < m; i++) {
    yOut[i] = betaC * D[i] * src.y[i];
    sOut[i] = (betaB * src.s[i]) / D[i];
    v[i] = sOut[i] - yOut[i];
  }
  if (status === 'non-finite') {
    primalResidual = Infinity;
    dualResidual = Infinity;
    gap = Infinity;
  }
  return { x, y: yOut, s: sOut, v, status, iterations, primalResidual, dualResidual, gap, certificate, factorizationReused: reused };
}
