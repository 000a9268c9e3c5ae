/**
 * The implicit backward pass of a batch (issue 14): the adjoint systems B_b^T w_b = g_b of every
 * sample b, solved together, with the products by B_b^T computed for the whole batch at once
 * from the operator form of B that the analysis read (src/structure/types.ts, emitted as
 * `bOperator`): shared matrices through the batched WebAssembly products (`BatchProducts`,
 * every sample's vector against one copy of the matrix), diagonal and scalar leaves per sample.
 * For the DEQ's B = I - D W, B^T w = w - W^T (D w): one product of the batch with W a step.
 *
 * The backward modes of the DEQ literature, each saying what it guarantees:
 *
 * - `implicit` (default): the implicit derivative, B^T w = g solved by batched GMRES to a
 *   relative residual of `tol` (1e-13 by default): the derivative of MATH.md 4 up to rounding.
 *   Where a contraction guard holds (||T_y|| <= gamma < 1, so ||B^-T|| <= 1 / (1 - gamma)) the
 *   error bound ||w - w*|| <= ||r|| / (1 - gamma) is reported; a sample whose GMRES does not
 *   reach the tolerance is left to the caller (`converged` false), which solves it alone by LU.
 * - `adjoint`: the adjoint fixed point w <- T_y^T w + g (Bai et al. 2019's backward, as DEQ
 *   libraries run it), only under a contraction guard that holds: it converges linearly with
 *   rate gamma, and stops when the bound ||w - w*|| <= ||r|| / (1 - gamma) is below `tol`
 *   relative to ||w||. The same derivative as `implicit`, to that bound.
 * - `jacobian-free`: w = g, i.e. B replaced by I (Fung et al. 2022, "JFB"). NOT the implicit
 *   derivative: a descent direction for some losses under conditions on T, no error bound.
 * - `phantom`: k steps of the adjoint iteration from w = g (Geng et al. 2021, phantom
 *   gradients; k = `phantomSteps`, default 5). NOT the implicit derivative: a truncation of
 *   its Neumann series, with error gamma^(k+1) ||w*|| when a contraction guard holds.
 */
import { BatchProducts, type ProductEngine, type ProductMatrix } from './products.ts';
import type { Operator } from './structured.ts';
import type { Tensor } from './tensor.ts';
import { SolverError } from './status.ts';
import { WasmKernels } from './wasm.ts';

export const BACKWARD_MODES = ['implicit', 'adjoint', 'jacobian-free', 'phantom'] as const;
export type BackwardMode = (typeof BACKWARD_MODES)[number];

/** A node of the transposed operator: maps the batch's w (B x rows) to B^T-like output (B x n). */
type Node = (w: Float64Array) => Float64Array;

/**
 * The products w_b -> B_b^T w_b for a whole batch (sample-major B x n arrays). Built from every
 * sample's (operator, leaves) pair: the operators must be the same, rank-2 leaves the same
 * matrix in every sample (the instances of one `with` family share them), other leaves are
 * stacked per sample.
 */
export class BatchTransposedB {
  readonly B: number;
  readonly n: number;
  private readonly root: Node;
  private readonly holder: { products: BatchProducts };
  private readonly place: () => BatchProducts;

  private constructor(B: number, n: number, root: Node, holder: { products: BatchProducts }, place: () => BatchProducts) {
    this.B = B;
    this.n = n;
    this.root = root;
    this.holder = holder;
    this.place = place;
  }

  /** Which engine computes the matrix products ('wasm-simd' or 'js'). */
  get engine(): ProductEngine {
    return this.holder.products.engine;
  }

  /**
   * The batch's transposed operator, or why there is none: no operator form, operators that
   * differ, a matrix leaf that differs between samples, leaves of unexpected shapes.
   */
  static plan(forms: readonly ({ op: Operator; leaves: Tensor[] } | null | undefined)[], n: number, engine: ProductEngine | 'auto' = 'auto'): BatchTransposedB | string {
    const batch = OperatorBatch.of(forms, n);
    if (typeof batch === 'string') return batch;
    const B = forms.length;
    // Leaves: shared matrices (rank 2), per-sample vectors and scalars stacked B x length.
    const matrices: ProductMatrix[] = [];
    const matrixIndex = new Map<string, number>();
    const stacked = new Map<number, { length: number; data: Float64Array }>();
    const fail = (why: string): never => {
      throw new PlanError(why);
    };
    /** The index of M (transposed when `transposed`) among the products' matrices. */
    const productOf = (k: number, transposed: boolean): { index: number; rows: number; cols: number } => {
      const key = `${k}${transposed ? 'T' : ''}`;
      const M = batch.matrix(k);
      const [r, c] = M.shape;
      const rows = transposed ? c : r;
      const cols = transposed ? r : c;
      let index = matrixIndex.get(key);
      if (index === undefined) {
        let data = M.data;
        if (transposed) {
          data = new Float64Array(r * c);
          for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = M.data[i * c + j];
        }
        index = matrices.length;
        matrices.push({ data, rows, cols });
        matrixIndex.set(key, index);
      }
      return { index, rows, cols };
    };
    const perSample = (k: number, expected: number | null): { length: number; data: Float64Array } => {
      const hit = stacked.get(k);
      if (hit) return hit;
      const all = batch.perSample(k);
      const length = all[0].length;
      if (expected !== null && length !== 1 && length !== expected) fail(`leaf ${k} has ${length} entries, expected ${expected}`);
      const data = new Float64Array(B * length);
      all.forEach((d, b) => data.set(d, b * length));
      const s = { length, data };
      stacked.set(k, s);
      return s;
    };
    const rowsOf = (o: Operator): number => batch.rows(o);

    // Products are registered during compilation; the engine is built after, and the nodes
    // reach it through this holder.
    const holder = { products: null as unknown as BatchProducts };
    const compile = (o: Operator): Node => {
      switch (o.k) {
        case 'I':
          return (w) => w;
        case 'scale': {
          const s = perSample(o.s, 1);
          if (s.length !== 1) fail(`scale leaf ${o.s} is not a scalar`);
          const inner = compile(o.of);
          const rows = rowsOf(o.of);
          const buf = new Float64Array(B * rows);
          const inv = o.inv;
          return (w) => {
            for (let b = 0; b < B; b++) {
              const c = inv ? 1 / s.data[b] : s.data[b];
              for (let i = b * rows, end = i + rows; i < end; i++) buf[i] = c * w[i];
            }
            return inner(buf);
          };
        }
        case 'diag': {
          const rows = rowsOf(o.of);
          const f = perSample(o.f, rows);
          const inner = compile(o.of);
          const buf = new Float64Array(B * rows);
          const L = f.length;
          return (w) => {
            if (L === 1) {
              for (let b = 0; b < B; b++) for (let i = b * rows, end = i + rows; i < end; i++) buf[i] = f.data[b] * w[i];
            } else {
              for (let i = 0; i < buf.length; i++) buf[i] = f.data[i] * w[i];
            }
            return inner(buf);
          };
        }
        case 'mm':
        case 'mmT': {
          // (M of)^T w = of^T (M^T w); (M^T of)^T w = of^T (M w).
          const p = productOf(o.M, o.k === 'mm');
          if (rowsOf(o.of) !== p.rows) fail(`product by leaf ${o.M}: sizes do not fit`);
          const inner = compile(o.of);
          const buf = new Float64Array(B * p.rows);
          return (w) => {
            holder.products.run(p.index, w, buf);
            return inner(buf);
          };
        }
        case 'sum': {
          const terms = o.terms.map(([sign, t]) => ({ sign, node: compile(t) }));
          const buf = new Float64Array(B * n);
          return (w) => {
            buf.fill(0);
            for (const t of terms) {
              const r = t.node(w);
              if (t.sign === 1) for (let i = 0; i < buf.length; i++) buf[i] += r[i];
              else for (let i = 0; i < buf.length; i++) buf[i] -= r[i];
            }
            return buf;
          };
        }
      }
    };
    try {
      if (rowsOf(batch.op) !== n) return `B has ${rowsOf(batch.op)} rows, expected n = ${n}`;
      const root = compile(batch.op);
      const place = (): BatchProducts => new BatchProducts(matrices, B, engine, engine === 'js' ? null : backwardKernels());
      holder.products = place();
      const plan = new BatchTransposedB(B, n, root, holder, place);
      owner = plan;
      return plan;
    } catch (e) {
      if (e instanceof PlanError) return e.message;
      throw e;
    }
  }

  /** out = B_b^T w_b for every sample (B x n, sample-major). */
  apply(w: Float64Array, out: Float64Array): void {
    if (w.length !== this.B * this.n || out.length !== w.length) throw new SolverError('dimension-mismatch', `BatchTransposedB.apply: arrays of ${w.length} and ${out.length} entries, expected ${this.B * this.n}`);
    // The matrices live in the backward's own WebAssembly instance, which the latest plan
    // owns: an older plan places its matrices again before it multiplies.
    if (owner !== this) {
      this.holder.products = this.place();
      owner = this;
    }
    out.set(this.root(w));
  }
}

/** Why a batch has no batched form of B^T (thrown inside a plan, returned as its reason). */
export class PlanError extends Error {}

/**
 * A batch's operator forms of B, checked to be one operator (the same tree in every sample,
 * the same number of leaves): what both the f64 and the gpu.js plans read. `matrix(k)` is leaf
 * k checked to be one matrix shared by every sample; `rows(o)` the output size of a sub-operator
 * on unknowns of size n. Both throw PlanError with the reason.
 */
export class OperatorBatch {
  private constructor(
    readonly op: Operator,
    readonly forms: readonly { op: Operator; leaves: Tensor[] }[],
    readonly n: number,
  ) {}

  static of(forms: readonly ({ op: Operator; leaves: Tensor[] } | null | undefined)[], n: number): OperatorBatch | string {
    if (forms.length === 0) return 'empty batch';
    const first = forms[0];
    if (!first) return 'the model has no operator form of B';
    const opText = JSON.stringify(first.op);
    for (const f of forms) {
      if (!f) return 'a sample has no operator form of B';
      if (f.op !== first.op && JSON.stringify(f.op) !== opText) return 'the samples have different operator forms of B';
      if (f.leaves.length !== first.leaves.length) return 'the samples have different leaves';
    }
    return new OperatorBatch(first.op, forms as { op: Operator; leaves: Tensor[] }[], n);
  }

  /** Leaf k, a matrix equal in every sample (the same object, or the same entries). */
  matrix(k: number): Tensor {
    const t = this.forms[0].leaves[k];
    if (t.shape.length !== 2) throw new PlanError(`leaf ${k} is not a matrix`);
    for (const f of this.forms) {
      const u = f.leaves[k];
      if (u.data !== t.data && (u.shape.join() !== t.shape.join() || u.data.some((v, i) => v !== t.data[i]))) throw new PlanError(`matrix leaf ${k} differs between samples`);
    }
    return t;
  }

  /** Leaf k of every sample, a vector or scalar of one length across the batch. */
  perSample(k: number): Float64Array[] {
    const first = this.forms[0].leaves[k];
    if (first.shape.length > 1) throw new PlanError(`leaf ${k} is a matrix where a diagonal or scalar is expected`);
    return this.forms.map((f) => {
      if (f.leaves[k].data.length !== first.data.length) throw new PlanError(`leaf ${k} has different lengths across the batch`);
      return f.leaves[k].data;
    });
  }

  /** The output size of operator `o` applied to unknowns of size n. */
  rows(o: Operator): number {
    switch (o.k) {
      case 'I':
        return this.n;
      case 'scale':
      case 'diag':
        return this.rows(o.of);
      case 'mm':
        return this.matrix(o.M).shape[0];
      case 'mmT':
        return this.matrix(o.M).shape[1];
      case 'sum':
        if (o.terms.length === 0) throw new PlanError('an empty sum');
        return this.rows(o.terms[0][1]);
    }
  }
}

/**
 * The WebAssembly instance that holds the backward's matrices: its own, not the process's
 * scratch instance, which other products (a guard bound's Gram matrix, the deferred outer
 * products) overwrite at any time. The plan whose matrices are in it is `owner`.
 */
let kernels: WasmKernels | null | undefined;
let owner: BatchTransposedB | null = null;
function backwardKernels(): WasmKernels | null {
  if (kernels === undefined) kernels = WasmKernels.create();
  return kernels;
}

export interface BatchAdjointOptions {
  mode?: BackwardMode;
  /** Relative tolerance: residual for `implicit`, error bound for `adjoint` (default 1e-13 and 1e-12). */
  tol?: number;
  /** Iteration cap per sample (default 500). */
  maxIter?: number;
  /** Per sample, a bound gamma on ||T_y|| (the contraction guard's value), or NaN when none holds. */
  gamma?: Float64Array;
  /** Steps of `phantom` (default 5). */
  phantomSteps?: number;
  /** GMRES restart length of `implicit` (default 40). */
  restart?: number;
}

export interface BatchAdjointResult {
  mode: BackwardMode;
  /** The solutions, B x n sample-major. */
  w: Float64Array;
  /** Per sample: products by B^T applied (iterations). */
  iterations: Int32Array;
  /** Per sample: ||B^T w - g||_2 / ||g||_2 at the end (for `jacobian-free` and `phantom` too: how far from the implicit derivative). */
  relativeResidual: Float64Array;
  /** Per sample: a bound on ||w - w*||_2 (w* the implicit solution) when a guard gives one, else NaN. */
  errorBound: Float64Array;
  /** Per sample: whether the mode's stopping rule was met (always true for the truncated modes). */
  converged: Uint8Array;
  /** Whether the mode computes the implicit derivative (false for `jacobian-free` and `phantom`). */
  implicit: boolean;
}

function norm2(x: Float64Array, from: number, n: number): number {
  let s = 0;
  for (let i = from, end = from + n; i < end; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/**
 * Solve B_b^T w_b = g_b for every sample of the batch (G is B x n, sample-major), by `mode`.
 * `adjoint` needs every sample's gamma < 1 (a contraction guard that holds), else it throws.
 */
export function solveAdjointBatch(BT: BatchTransposedB, G: Float64Array, options: BatchAdjointOptions = {}): BatchAdjointResult {
  const { B, n } = BT;
  if (G.length !== B * n) throw new SolverError('dimension-mismatch', `solveAdjointBatch: g has ${G.length} entries, expected ${B * n}`);
  const mode = options.mode ?? 'implicit';
  const maxIter = options.maxIter ?? 500;
  const gamma = options.gamma ?? new Float64Array(B).fill(NaN);
  const w = G.slice();
  const iterations = new Int32Array(B);
  const relativeResidual = new Float64Array(B);
  const errorBound = new Float64Array(B).fill(NaN);
  const converged = new Uint8Array(B);
  const gNorm = Float64Array.from({ length: B }, (_, b) => norm2(G, b * n, n));
  const r = new Float64Array(B * n);
  const BTw = new Float64Array(B * n);
  /** r = g - B^T w for all samples; returns nothing (per-sample norms computed by callers). */
  const residual = (): void => {
    BT.apply(w, BTw);
    for (let i = 0; i < r.length; i++) r[i] = G[i] - BTw[i];
  };
  const bound = (b: number, rn: number): number => (gamma[b] < 1 ? rn / (1 - gamma[b]) : NaN);

  if (mode === 'jacobian-free' || mode === 'phantom') {
    const steps = mode === 'phantom' ? (options.phantomSteps ?? 5) : 0;
    for (let k = 0; k < steps; k++) {
      residual();
      // w <- T^T w + g = w + (g - B^T w).
      for (let i = 0; i < w.length; i++) w[i] += r[i];
    }
    residual();
    for (let b = 0; b < B; b++) {
      iterations[b] = steps;
      const rn = norm2(r, b * n, n);
      relativeResidual[b] = gNorm[b] > 0 ? rn / gNorm[b] : rn;
      errorBound[b] = bound(b, rn);
      converged[b] = 1;
    }
    return { mode, w, iterations, relativeResidual, errorBound, converged, implicit: false };
  }

  if (mode === 'adjoint') {
    const tol = options.tol ?? 1e-12;
    for (let b = 0; b < B; b++) {
      if (!(gamma[b] < 1)) throw new SolverError('invalid-option', `solveAdjointBatch: mode 'adjoint' needs a contraction guard that holds; sample ${b} has none (bound ${gamma[b]})`);
    }
    const active = new Uint8Array(B).fill(1);
    let left = B;
    for (let it = 0; it <= maxIter && left > 0; it++) {
      residual();
      for (let b = 0; b < B; b++) {
        if (!active[b]) continue;
        const rn = norm2(r, b * n, n);
        const e = bound(b, rn);
        relativeResidual[b] = gNorm[b] > 0 ? rn / gNorm[b] : rn;
        errorBound[b] = e;
        iterations[b] = it;
        // ||w - w*|| <= ||r|| / (1 - gamma): stop when that is below tol ||w||.
        if (e <= tol * Math.max(norm2(w, b * n, n), Number.MIN_VALUE) || rn === 0) {
          converged[b] = 1;
          active[b] = 0;
          left--;
        }
      }
      if (left === 0 || it === maxIter) break;
      for (let b = 0; b < B; b++) {
        if (!active[b]) continue;
        for (let i = b * n, end = i + n; i < end; i++) w[i] += r[i];
      }
    }
    return { mode, w, iterations, relativeResidual, errorBound, converged, implicit: true };
  }

  // implicit: batched restarted GMRES on B^T, per-sample Arnoldi, one batched product a step.
  const tol = options.tol ?? 1e-13;
  const m = Math.max(1, Math.min(options.restart ?? 40, n));
  const V = Array.from({ length: B }, () => new Float64Array((m + 1) * n));
  const H = Array.from({ length: B }, () => new Float64Array((m + 1) * m));
  const cs = Array.from({ length: B }, () => new Float64Array(m));
  const sn = Array.from({ length: B }, () => new Float64Array(m));
  const beta = Array.from({ length: B }, () => new Float64Array(m + 1));
  const done = new Uint8Array(B);
  const X = new Float64Array(B * n);
  const AX = new Float64Array(B * n);
  let total = 0;
  while (total < maxIter) {
    residual();
    let anyActive = false;
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const rn = norm2(r, b * n, n);
      relativeResidual[b] = gNorm[b] > 0 ? rn / gNorm[b] : rn;
      errorBound[b] = bound(b, rn);
      if (rn <= tol * Math.max(gNorm[b], Number.MIN_VALUE)) {
        done[b] = 1;
        converged[b] = 1;
        continue;
      }
      anyActive = true;
      const v = V[b];
      for (let i = 0; i < n; i++) v[i] = r[b * n + i] / rn;
      beta[b].fill(0);
      beta[b][0] = rn;
    }
    if (!anyActive) break;
    // Arnoldi steps, all active samples together.
    const steps = new Int32Array(B);
    const stopped = new Uint8Array(B);
    for (let j = 0; j < m && total < maxIter; j++) {
      X.fill(0);
      for (let b = 0; b < B; b++) if (!done[b] && !stopped[b]) X.set(V[b].subarray(j * n, (j + 1) * n), b * n);
      BT.apply(X, AX);
      total++;
      let more = false;
      for (let b = 0; b < B; b++) {
        if (done[b] || stopped[b]) continue;
        iterations[b]++;
        const v = V[b];
        const h = H[b];
        const wv = AX.subarray(b * n, (b + 1) * n);
        // Modified Gram-Schmidt, twice (reorthogonalization keeps the basis orthogonal to rounding).
        for (let pass = 0; pass < 2; pass++) {
          for (let i = 0; i <= j; i++) {
            let d = 0;
            for (let t = 0; t < n; t++) d += wv[t] * v[i * n + t];
            h[i * m + j] += d;
            for (let t = 0; t < n; t++) wv[t] -= d * v[i * n + t];
          }
        }
        let hn = 0;
        for (let t = 0; t < n; t++) hn += wv[t] * wv[t];
        hn = Math.sqrt(hn);
        h[(j + 1) * m + j] = hn;
        if (hn > 0) for (let t = 0; t < n; t++) v[(j + 1) * n + t] = wv[t] / hn;
        // Givens rotations on column j.
        const c = cs[b];
        const s = sn[b];
        for (let i = 0; i < j; i++) {
          const a = h[i * m + j];
          const d = h[(i + 1) * m + j];
          h[i * m + j] = c[i] * a + s[i] * d;
          h[(i + 1) * m + j] = -s[i] * a + c[i] * d;
        }
        const a = h[j * m + j];
        const d = h[(j + 1) * m + j];
        const rho = Math.hypot(a, d);
        c[j] = rho === 0 ? 1 : a / rho;
        s[j] = rho === 0 ? 0 : d / rho;
        h[j * m + j] = rho;
        h[(j + 1) * m + j] = 0;
        const be = beta[b];
        be[j + 1] = -s[j] * be[j];
        be[j] = c[j] * be[j];
        steps[b] = j + 1;
        // The residual of the least-squares problem is |beta[j + 1]|: stop this cycle when small
        // (or on a lucky breakdown, hn = 0).
        if (Math.abs(be[j + 1]) <= 0.5 * tol * Math.max(gNorm[b], Number.MIN_VALUE) || hn === 0) stopped[b] = 1;
        else more = true;
      }
      if (!more) break;
    }
    // Update each sample's w from its Krylov basis: solve the triangular system H y = beta.
    for (let b = 0; b < B; b++) {
      if (done[b] || steps[b] === 0) continue;
      const k = steps[b];
      const h = H[b];
      const yv = new Float64Array(k);
      for (let i = k - 1; i >= 0; i--) {
        let t = beta[b][i];
        for (let q = i + 1; q < k; q++) t -= h[i * m + q] * yv[q];
        yv[i] = h[i * m + i] === 0 ? 0 : t / h[i * m + i];
      }
      const v = V[b];
      for (let i = 0; i < k; i++) for (let t = 0; t < n; t++) w[b * n + t] += yv[i] * v[i * n + t];
      h.fill(0);
    }
  }
  residual();
  for (let b = 0; b < B; b++) {
    const rn = norm2(r, b * n, n);
    relativeResidual[b] = gNorm[b] > 0 ? rn / gNorm[b] : rn;
    errorBound[b] = bound(b, rn);
    converged[b] = rn <= tol * Math.max(gNorm[b], Number.MIN_VALUE) * 1.0001 || gNorm[b] === 0 ? 1 : 0;
  }
  return { mode, w, iterations, relativeResidual, errorBound, converged, implicit: true };
}
