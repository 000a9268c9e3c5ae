/**
 * The batched implicit backward pass on gpu.js (issue 14): the products w_b -> B_b^T w_b of a
 * whole batch as gpu.js kernels (f32), composed from the same operator form of B as the f64
 * products (src/runtime/batch-backward.ts): a kernel per matrix product (M^T w or M w over the
 * batch, the matrix uploaded once), per diagonal or scalar factor, and per sum. In Node gpu.js
 * runs its WebAssembly backend; in a browser its `gpu` mode runs them as WebGL2 shaders.
 *
 * f32 alone gives gradients good to about 1e-6 relative. `solveAdjointGpu` returns f64-accurate
 * ones by iterative refinement against the f64 products: r = g - B^T w in f64, the correction
 * B^T d = r solved in f32 on the kernels (the adjoint fixed point d <- d + r - B^T d, on r
 * scaled to unit norm), w += d, until the f64 error bound ||w - w*|| <= ||r|| / (1 - gamma) is
 * below `tol` relative to ||w||. It needs a contraction guard that holds (gamma < 1) for every
 * sample, like the f64 adjoint mode: the f32 iteration converges at rate gamma, and the bound
 * is what decides that the refined w is the implicit one.
 */
import { GPU, type IKernelRunShortcut } from 'gpu.js';
import { OperatorBatch, PlanError, type BatchTransposedB } from './batch-backward.ts';
import type { Operator } from './structured.ts';
import type { Tensor } from './tensor.ts';
import { SolverError } from './status.ts';

type Rows = Float32Array[];
type Node = (w: Rows) => Rows;

export interface GpuBackwardOptions {
  /** gpu.js mode: 'gpu' (WebGL in a browser, WebAssembly in Node), or any mode gpu.js knows. */
  mode?: 'gpu' | 'cpu' | 'webgl' | 'webgl2' | 'headlessgl' | 'webasm';
}

/** B_b^T w_b for a batch, in f32, as gpu.js kernels built from the operator form of B. */
export class GpuTransposedB {
  readonly B: number;
  readonly n: number;
  private readonly gpu: GPU;
  private readonly kernels: IKernelRunShortcut[];
  private readonly root: Node;

  private constructor(gpu: GPU, B: number, n: number, root: Node, kernels: IKernelRunShortcut[]) {
    this.gpu = gpu;
    this.B = B;
    this.n = n;
    this.root = root;
    this.kernels = kernels;
  }

  /**
   * The kernels for a batch's (operator, leaves) pairs, or why there are none (the same
   * conditions as BatchTransposedB.plan: one operator, shared matrices).
   */
  static plan(forms: readonly ({ op: Operator; leaves: Tensor[] } | null | undefined)[], n: number, options: GpuBackwardOptions = {}): GpuTransposedB | string {
    const batch = OperatorBatch.of(forms, n);
    if (typeof batch === 'string') return batch;
    const B = forms.length;
    const gpu = new GPU({ mode: options.mode ?? 'gpu' });
    const kernels: IKernelRunShortcut[] = [];
    const kernel = (source: string, output: [number, number], constants: Record<string, number>, loop: number): IKernelRunShortcut => {
      // Loops run to this.constants bounds: set the cap explicitly (gpu.js's default is 1000).
      const k = gpu.createKernel(source, { output, constants }).setLoopMaxIterations(Math.max(1, loop));
      kernels.push(k);
      return k;
    };
    const toRows = (data: Float64Array, rows: number, cols: number): Rows => Array.from({ length: rows }, (_, r) => Float32Array.from(data.subarray(r * cols, (r + 1) * cols)));
    const fail = (why: string): never => {
      throw new PlanError(why);
    };
    const matrix = (k: number): Tensor => batch.matrix(k);
    /** A per-sample leaf as rows [B][length], length 1 for a scalar. */
    const stacked = (k: number, invert: boolean): Rows => batch.perSample(k).map((d) => Float32Array.from(d, (v) => (invert ? 1 / v : v)));
    const rowsOf = (o: Operator): number => batch.rows(o);
    const compile = (o: Operator): Node => {
      switch (o.k) {
        case 'I':
          return (w) => w;
        case 'scale': {
          const rows = rowsOf(o.of);
          const s = stacked(o.s, o.inv);
          const k = kernel('function (s, w) { return s[this.thread.y][0] * w[this.thread.y][this.thread.x]; }', [rows, B], {}, 1);
          const inner = compile(o.of);
          return (w) => inner(k(s, w) as Rows);
        }
        case 'diag': {
          const rows = rowsOf(o.of);
          const f = stacked(o.f, false);
          const per = f[0].length === 1 ? '0' : 'this.thread.x';
          if (f[0].length !== 1 && f[0].length !== rows) fail(`diagonal leaf ${o.f} has ${f[0].length} entries, expected ${rows}`);
          const k = kernel(`function (f, w) { return f[this.thread.y][${per}] * w[this.thread.y][this.thread.x]; }`, [rows, B], {}, 1);
          const inner = compile(o.of);
          return (w) => inner(k(f, w) as Rows);
        }
        case 'mm': {
          // (M of)^T w = of^T (M^T w): out[b][j] = sum_i M[i][j] w[b][i].
          const M = matrix(o.M);
          const [r, c] = M.shape;
          if (rowsOf(o.of) !== c) fail(`product by leaf ${o.M}: sizes do not fit`);
          const Mr = toRows(M.data, r, c);
          const k = kernel('function (M, w) { let s = 0; for (let i = 0; i < this.constants.rows; i++) { s += M[i][this.thread.x] * w[this.thread.y][i]; } return s; }', [c, B], { rows: r }, r);
          const inner = compile(o.of);
          return (w) => inner(k(Mr, w) as Rows);
        }
        case 'mmT': {
          // (M^T of)^T w = of^T (M w): out[b][i] = sum_j M[i][j] w[b][j].
          const M = matrix(o.M);
          const [r, c] = M.shape;
          if (rowsOf(o.of) !== r) fail(`product by leaf ${o.M}: sizes do not fit`);
          const Mr = toRows(M.data, r, c);
          const k = kernel('function (M, w) { let s = 0; for (let j = 0; j < this.constants.cols; j++) { s += M[this.thread.x][j] * w[this.thread.y][j]; } return s; }', [r, B], { cols: c }, c);
          const inner = compile(o.of);
          return (w) => inner(k(Mr, w) as Rows);
        }
        case 'sum': {
          const terms = o.terms.map(([sign, t]) => ({ sign, node: compile(t) }));
          // acc = s0 t0, then acc + s_k t_k: one kernel per term after the first.
          const first = kernel('function (a) { return this.constants.s * a[this.thread.y][this.thread.x]; }', [n, B], { s: terms[0].sign }, 1);
          const adds = terms.slice(1).map((t) => kernel('function (a, b) { return a[this.thread.y][this.thread.x] + this.constants.s * b[this.thread.y][this.thread.x]; }', [n, B], { s: t.sign }, 1));
          return (w) => {
            let acc = first(terms[0].node(w)) as Rows;
            adds.forEach((k, i) => {
              acc = k(acc, terms[i + 1].node(w)) as Rows;
            });
            return acc;
          };
        }
      }
    };
    try {
      if (rowsOf(batch.op) !== n) return `B has ${rowsOf(batch.op)} rows, expected n = ${n}`;
      return new GpuTransposedB(gpu, B, n, compile(batch.op), kernels);
    } catch (e) {
      gpu.destroy().catch(() => undefined);
      if (e instanceof PlanError) return e.message;
      throw e;
    }
  }

  /** B_b^T w_b for every sample, in f32: w[b] is sample b's vector. */
  apply(w: Rows): Rows {
    return this.root(w);
  }

  /** The kernel classes that ran and the GPU's mode (`WebGL2Kernel (gpu.js mode 'gpu')`). */
  backend(): string {
    const classes = [...new Set(this.kernels.map((k) => k.kernel.constructor.name))];
    return `${classes.join(' + ')} (gpu.js mode '${this.gpu.mode}')`;
  }

  destroy(): void {
    this.gpu.destroy().catch(() => undefined);
  }
}


export interface GpuAdjointResult {
  /** The refined solutions, f64, B x n sample-major. */
  w: Float64Array;
  /** The f32 solutions before any refinement (the first correction from w = 0), B x n. */
  w32: Float64Array;
  /** Refinement rounds (f64 residuals computed) and f32 iterations over all rounds (the most any sample took). */
  rounds: number;
  f32Iterations: number;
  /** Per sample: the f64 error bound ||w - w*|| <= ||r|| / (1 - gamma) at the end. */
  errorBound: Float64Array;
  converged: Uint8Array;
  backend: string;
}

/**
 * B_b^T w_b = g_b for every sample, f32 on the gpu.js kernels refined to f64 accuracy against
 * the f64 products `BT64` (see the file's comment). `gamma[b] < 1` for every sample, else it
 * throws: the f32 iteration and the error bound both rest on the contraction.
 */
export function solveAdjointGpu(
  gpuBT: GpuTransposedB,
  BT64: BatchTransposedB,
  G: Float64Array,
  gamma: Float64Array,
  options: { tol?: number; maxRounds?: number; innerTol?: number; maxInner?: number } = {},
): GpuAdjointResult {
  const { B, n } = BT64;
  if (gpuBT.B !== B || gpuBT.n !== n || G.length !== B * n) throw new SolverError('dimension-mismatch', `solveAdjointGpu: a batch of ${gpuBT.B} x ${gpuBT.n} kernels, ${B} x ${n} products and ${G.length} right-hand entries`);
  for (let b = 0; b < B; b++) if (!(gamma[b] < 1)) throw new SolverError('invalid-option', `solveAdjointGpu: needs a contraction guard that holds; sample ${b} has none (bound ${gamma[b]})`);
  const tol = options.tol ?? 1e-12;
  const maxRounds = options.maxRounds ?? 12;
  const innerTol = options.innerTol ?? 1e-6;
  const maxInner = options.maxInner ?? 400;
  const w = new Float64Array(B * n);
  let w32: Float64Array | null = null;
  const r = new Float64Array(B * n);
  const BTw = new Float64Array(B * n);
  const errorBound = new Float64Array(B).fill(Infinity);
  const converged = new Uint8Array(B);
  let rounds = 0;
  let f32Iterations = 0;
  for (let round = 0; round <= maxRounds; round++) {
    // The f64 residual and its bound.
    BT64.apply(w, BTw);
    rounds++;
    const scale = new Float64Array(B);
    let all = true;
    for (let b = 0; b < B; b++) {
      let rr = 0;
      let ww = 0;
      for (let i = b * n, end = i + n; i < end; i++) {
        r[i] = G[i] - BTw[i];
        rr += r[i] * r[i];
        ww += w[i] * w[i];
      }
      const rn = Math.sqrt(rr);
      errorBound[b] = rn / (1 - gamma[b]);
      converged[b] = errorBound[b] <= tol * Math.sqrt(ww) || rn === 0 ? 1 : 0;
      if (!converged[b]) all = false;
      scale[b] = rn;
    }
    if (all || round === maxRounds) break;
    // B^T d = r / ||r|| in f32: d <- d + rhat - B^T d, every sample together.
    const rhat: Rows = Array.from({ length: B }, (_, b) => Float32Array.from(r.subarray(b * n, (b + 1) * n), (v) => (scale[b] > 0 ? v / scale[b] : 0)));
    let d: Rows = rhat.map((x) => x.slice());
    let it = 0;
    for (; it < maxInner; it++) {
      const Bd = gpuBT.apply(d);
      let worst = 0;
      const next: Rows = d.map((x, b) => {
        const y = new Float32Array(n);
        let s = 0;
        for (let i = 0; i < n; i++) {
          const step = rhat[b][i] - Bd[b][i];
          y[i] = x[i] + step;
          s += step * step;
        }
        worst = Math.max(worst, Math.sqrt(s));
        return y;
      });
      d = next;
      if (!(worst > innerTol)) {
        it++;
        break;
      }
    }
    f32Iterations += it;
    for (let b = 0; b < B; b++) {
      if (converged[b]) continue;
      for (let i = 0; i < n; i++) w[b * n + i] += scale[b] * d[b][i];
    }
    w32 ??= w.slice();
  }
  return { w, w32: w32 ?? w.slice(), rounds, f32Iterations, errorBound, converged, backend: gpuBT.backend() };
}
