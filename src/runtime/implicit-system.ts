/**
 * The linear systems of the nonsmooth implicit function theorem at a solution
 * (MATH.md 4): B = dF/dy built from given kink factor values through the
 * model's jvpY / vjpY kernels, assembled densely (column by column on unit
 * vectors) when small, applied matrix-free otherwise.
 *
 * Active-set reduction (MATH.md 6, Lasso; DESIGN.md "Generated modules",
 * Backward): when the compiled analysis says B = I - D M with one diagonal kink
 * factor D at site s (`identityRowsWhereFactorZero = s`), every row i with
 * D_ii = 0 is the row e_i^T of the identity. Ordering the kept rows R first and
 * the identity rows C after,
 *
 *     B = [ B_RR  B_RC ]      det B = det B_RR,
 *         [  0     I   ]
 *
 * so determinants, condition numbers and solves only need the |R| x |R| block
 * (for the Lasso: the support, plus any ties the caller keeps).
 */
import { luFactor, luSolve, luSolveTranspose } from './lu.ts';
import type { LuResult } from './lu.ts';
import { gmres } from './krylov.ts';
import { zeros } from './matrix.ts';
import type { Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { SolverError } from './status.ts';
import { requireInteger, requireLimit, requireOptions, requireTolerance } from './validate.ts';

/** Largest (reduced) order handled by dense LU; beyond it, matrix-free GMRES. */
export const DENSE_LIMIT = 2000;

/**
 * The rows of B that are not identity rows, or null when no reduction applies
 * (no reduction site, a site that is not one factor per unknown, or nothing to
 * drop). `keep(i)` forces row i to stay (the certificate keeps tied rows,
 * whose factor varies over the site's range).
 */
export function reducedRows(
  model: ModelInstance,
  factors: readonly Float64Array[],
  keep?: (i: number) => boolean,
): Int32Array | null {
  const s = model.analysis.identityRowsWhereFactorZero;
  if (s === null) return null;
  const d = factors[s];
  if (d === undefined || d.length !== model.n) return null;
  const rows: number[] = [];
  for (let i = 0; i < model.n; i++) if (d[i] !== 0 || (keep?.(i) ?? false)) rows.push(i);
  return rows.length === model.n ? null : Int32Array.from(rows);
}

/**
 * Dense B[rows, rows] (all of B when `rows` is null): from its structure when the model has
 * a structured assembly ({@link ModelInstance.denseB}), else one jvpY per kept column.
 */
export function assembleB(
  model: ModelInstance,
  y: Float64Array,
  factors: readonly Float64Array[],
  rows: Int32Array | null,
): Matrix {
  return model.denseB?.(y, factors, rows) ?? assembleByColumns(model, y, factors, rows);
}

/** Dense B[rows, rows] by applying jvpY to the unit vectors of the kept columns. */
export function assembleByColumns(
  model: ModelInstance,
  y: Float64Array,
  factors: readonly Float64Array[],
  rows: Int32Array | null,
): Matrix {
  const n = model.n;
  const k = rows ? rows.length : n;
  const B = zeros(k, k);
  const e = new Float64Array(n);
  const col = new Float64Array(n);
  for (let b = 0; b < k; b++) {
    const j = rows ? rows[b] : b;
    e[j] = 1;
    model.jvpY(y, factors, e, col);
    e[j] = 0;
    for (let a = 0; a < k; a++) B.data[a * k + b] = col[rows ? rows[a] : a];
  }
  return B;
}

/** Complement of `rows` in 0..n-1 (the identity rows). */
export function complementRows(n: number, rows: Int32Array): Int32Array {
  const inR = new Uint8Array(n);
  for (const i of rows) inR[i] = 1;
  const out = new Int32Array(n - rows.length);
  let c = 0;
  for (let i = 0; i < n; i++) if (!inR[i]) out[c++] = i;
  return out;
}

/**
 * (B z)[rows] for z supported on the identity rows C (z_C = v_C, z_R = 0): the
 * coupling B_RC v_C that moves to the right-hand side of the reduced solve.
 */
export function couplingRC(
  model: ModelInstance,
  y: Float64Array,
  factors: readonly Float64Array[],
  rows: Int32Array,
  comp: Int32Array,
  v: Float64Array,
): Float64Array {
  const z = new Float64Array(model.n);
  let any = false;
  for (const i of comp) {
    z[i] = v[i];
    if (v[i] !== 0) any = true;
  }
  const out = new Float64Array(rows.length);
  if (!any) return out;
  const Bz = new Float64Array(model.n);
  model.jvpY(y, factors, z, Bz);
  for (let a = 0; a < rows.length; a++) out[a] = Bz[rows[a]];
  return out;
}

export interface ImplicitSystemOptions {
  /** Largest order solved by dense LU (default {@link DENSE_LIMIT}). */
  denseLimit?: number;
  /** Relative tolerance of the matrix-free GMRES solves (default 1e-12). */
  gmresTol?: number;
  /** Cap on GMRES iterations (default max(1000, 2 n)). */
  gmresMaxIter?: number;
  /**
   * A factorization of the same B already computed (by the certificate, say) at the
   * same y and factors: B[rows, rows] and its LU. Rows kept beyond those with a
   * nonzero factor are harmless: they are identity rows inside the block.
   */
  prefactored?: DenseSelection;
  /**
   * Solves with B by its structure, without forming it (a cone program's reduced system,
   * cone-reduced.ts): preferred over everything else when given.
   */
  structured?: StructuredSolver;
}

/** Solves with B (and B^T) at one solution, by whatever means its structure allows. */
export interface StructuredSolver {
  /** Order of what it factored, for reports. */
  readonly order: number;
  solve(r: Float64Array): Float64Array;
  solveTranspose(g: Float64Array): Float64Array;
}

/** A dense, factored B[rows, rows] (rows null: all of B). */
export interface DenseSelection {
  rows: Int32Array | null;
  B: Matrix;
  lu: LuResult;
}

/**
 * B with fixed kink factors, factored once and solved against any number of
 * right-hand sides, with B and with B^T. Construction throws a SolverError
 * with code 'singular' when the (reduced) dense B is singular to working
 * precision; matrix-free solves throw when GMRES fails.
 */
export class ImplicitSystem {
  readonly n: number;
  /** Kept rows under the active-set reduction, or null (all rows). */
  readonly rows: Int32Array | null;
  /** Order of the system actually factored or iterated on. */
  readonly reducedSize: number;
  readonly method: 'dense-lu' | 'gmres' | 'structured';
  /** The dense (reduced) B, with method 'dense-lu'. */
  readonly B: Matrix | null;
  readonly lu: LuResult | null;
  private readonly comp: Int32Array | null;

  constructor(
    private readonly model: ModelInstance,
    private readonly y: Float64Array,
    readonly factors: readonly Float64Array[],
    private readonly options: ImplicitSystemOptions = {},
  ) {
    requireOptions('ImplicitSystem', options, ['denseLimit', 'gmresTol', 'gmresMaxIter', 'prefactored', 'structured']);
    if (options.denseLimit !== undefined) requireLimit('ImplicitSystem: denseLimit', options.denseLimit);
    if (options.gmresTol !== undefined) requireTolerance('ImplicitSystem: gmresTol', options.gmresTol);
    if (options.gmresMaxIter !== undefined) requireInteger('ImplicitSystem: gmresMaxIter', options.gmresMaxIter, 1);
    this.n = model.n;
    const limit = options.denseLimit ?? DENSE_LIMIT;
    const pre = options.prefactored;
    const rows = options.structured ? null : pre ? pre.rows : reducedRows(model, factors);
    const k = rows ? rows.length : model.n;
    if (options.structured) {
      this.rows = null;
      this.comp = null;
      this.reducedSize = options.structured.order;
      this.method = 'structured';
      this.B = null;
      this.lu = null;
    } else if (pre) {
      if (pre.B.rows !== k || pre.lu.n !== k) {
        throw new SolverError('dimension-mismatch', `ImplicitSystem: prefactored B has order ${pre.B.rows}, rows select ${k}`);
      }
      this.rows = rows;
      this.comp = rows ? complementRows(model.n, rows) : null;
      this.reducedSize = k;
      this.method = 'dense-lu';
      this.B = pre.B;
      this.lu = pre.lu;
    } else if (k <= limit) {
      this.rows = rows;
      this.comp = rows ? complementRows(model.n, rows) : null;
      this.reducedSize = k;
      this.method = 'dense-lu';
      this.B = assembleB(model, y, factors, rows);
      const lu = luFactor(this.B);
      if (lu.singular) {
        throw new SolverError(
          'singular',
          `B = dF/dy (order ${k}${rows ? `, reduced from ${model.n}` : ''}) is singular to working precision at column ${lu.column}: implicit derivatives do not exist here (MATH.md 4)`,
        );
      }
      this.lu = lu;
    } else {
      // Matrix-free on the full system: the reduction saves nothing without a factorization.
      this.rows = null;
      this.comp = null;
      this.reducedSize = model.n;
      this.method = 'gmres';
      this.B = null;
      this.lu = null;
    }
  }

  /** z with B z = r. */
  solve(r: Float64Array): Float64Array {
    if (this.method === 'structured') return this.options.structured!.solve(r);
    if (this.method === 'gmres') {
      return this.iterate((v, out) => this.model.jvpY(this.y, this.factors, v, out), r, 'B');
    }
    const lu = this.lu as LuResult;
    const { rows, comp } = this;
    if (!rows || !comp) return luSolve(lu, r);
    // Identity rows are explicit: z_C = r_C; then B_RR z_R = r_R - B_RC r_C.
    const coupling = couplingRC(this.model, this.y, this.factors, rows, comp, r);
    const rhs = new Float64Array(rows.length);
    for (let a = 0; a < rows.length; a++) rhs[a] = r[rows[a]] - coupling[a];
    const zR = luSolve(lu, rhs, rhs);
    const z = new Float64Array(this.n);
    for (const i of comp) z[i] = r[i];
    for (let a = 0; a < rows.length; a++) z[rows[a]] = zR[a];
    return z;
  }

  /**
   * w with B^T w = g. With `keptRowsOnly`, w on the identity rows (where the reduction
   * dropped them) is left 0, not solved for: for A^T w when A's rows vanish there
   * (CompiledAnalysis.paramRowsVanishWhereFactorZero), which saves one vjpY, a pass over
   * the model's matrices (X^T X D w for the Lasso, W^T D w for a DEQ).
   */
  solveTranspose(g: Float64Array, options: { keptRowsOnly?: boolean } = {}): Float64Array {
    if (this.method === 'structured') return this.options.structured!.solveTranspose(g);
    if (this.method === 'gmres') {
      return this.iterate((v, out) => this.model.vjpY(this.y, this.factors, v, out), g, 'B^T');
    }
    const lu = this.lu as LuResult;
    const { rows, comp } = this;
    if (!rows || !comp) return luSolveTranspose(lu, g);
    // B^T = [B_RR^T 0; B_RC^T I]: B_RR^T w_R = g_R, then w_C = g_C - B_RC^T w_R.
    const gR = new Float64Array(rows.length);
    for (let a = 0; a < rows.length; a++) gR[a] = g[rows[a]];
    const wR = luSolveTranspose(lu, gR, gR);
    const w = new Float64Array(this.n);
    for (let a = 0; a < rows.length; a++) w[rows[a]] = wR[a];
    if (options.keptRowsOnly) return w;
    const BTw = new Float64Array(this.n);
    this.model.vjpY(this.y, this.factors, w, BTw);
    for (const i of comp) w[i] = g[i] - BTw[i];
    return w;
  }

  private iterate(apply: (v: Float64Array, out: Float64Array) => void, b: Float64Array, what: string): Float64Array {
    const n = this.n;
    const r = gmres(apply, b, {
      tol: this.options.gmresTol ?? 1e-12,
      maxIter: this.options.gmresMaxIter ?? Math.max(1000, 2 * n),
      restart: Math.min(50, Math.max(n, 1)),
    });
    if (r.status !== 'converged') {
      const code = r.status === 'breakdown' ? 'singular' : r.status;
      throw new SolverError(code, `GMRES on ${what} w = b (order ${n}): ${r.status}, residual ${r.residual.toExponential(3)}`);
    }
    return r.x;
  }
}
