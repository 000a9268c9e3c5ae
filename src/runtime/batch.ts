/**
 * Batched solves (DESIGN.md "Generated modules", batched path): many instances of one
 * fixed-point model (a DEQ mini-batch, a hyperparameter sweep) iterate y = T(y) together,
 * from the stages of the generated `gpu` spec. `solveBatchF64` runs them in f64 on the CPU
 * (`BatchMapF64`: WebAssembly SIMD products, then each stage's entry code), with the same
 * iterates as per-sample plain iteration. `solveBatch` runs them in f32 through gpu.js
 * kernels, then polishes every sample in f64 by `solveInstance`, so that what gets certified
 * is an f64 solution. Where the batch has no batched path (no spec, matrices that differ
 * between samples), every instance is solved alone in f64.
 */
import { GPU, type IKernelRunShortcut } from 'gpu.js';
import { dimValue } from './inputs.ts';
import type { Tensor } from './kernels.ts';
import { BatchProducts, type ProductEngine, type ProductMatrix } from './products.ts';
import type { ModelInstance } from './model.ts';
import { solveInstance, type SolveInstanceResult } from './solve.ts';
import { SolverError } from './status.ts';
import { requireChoice, requireInstances, requireInteger, requireOptions, requireTolerance } from './validate.ts';

/** A hoisted value a kernel reads, by its name in the generated class. */
export interface GpuArg {
  name: string;
  /**
   * How it is passed: 'scalar' as [B][1] and 'vector' as [B][size], always per sample (even
   * when every sample has the same value); 'matrix' once, shared, as [rows][cols].
   */
  kind: 'scalar' | 'vector' | 'matrix';
}

/** A loop bound: `this.constants[constant]` is `value(arg).shape[axis]` (a matrix's column count). */
export interface GpuBound {
  constant: string;
  arg: string;
  axis: 1;
}

/** A product M v_b of a shared matrix with a moving vector, computed for the whole batch at once. */
export interface GpuProduct {
  /** The matrix: the hoisted name of a 'matrix' arg of the stage. */
  matrix: string;
  /** The vector: the unknown (null) or the output of an earlier stage (its index). */
  vector: number | null;
}

/**
 * One gpu.js kernel of the pipeline. Output [size, B]: `this.thread.x` is the entry,
 * `this.thread.y` the sample. Its parameters are, in order: `y` (the unknown, [B][n]),
 * the outputs of the stages in `inputs` ([B][their size]), then the `args`.
 */
export interface GpuStage {
  /** Kernel function text: `function (y, s0, c_X, ...) { ... }`. */
  source: string;
  /** Output length per sample: a literal, or the hoisted name of a dim (a scalar value). */
  size: string | number;
  args: GpuArg[];
  /** Earlier stages it reads, ascending. */
  inputs: number[];
  /** Kernel constants for its loop bounds. */
  bounds: GpuBound[];
  /**
   * The same stage as an f64 CPU kernel over flat sample-major arrays (`BatchMapF64`):
   * `function (B, n, ny, y, p0, ..., c_v, ..., out)`, with n the stage's size, ny the
   * unknown's, `p<j>` the B x rows result of `products[j]`, then the 'vector' ([B n]) and
   * 'scalar' ([B]) args in `args` order; it writes entry i of sample b at out[b n + i].
   */
  cpu: { source: string; products: GpuProduct[] };
}

/** One application of T to a batch: the stages in order; the last one outputs T(y). */
export interface GpuMapSpec {
  /** The unknown's name (the model has exactly one, a vector). */
  unknown: string;
  stages: GpuStage[];
}

/** A generated instance with a gpu path: its spec, and its hoisted values by name. */
export type BatchInstance = ModelInstance & {
  readonly gpu: GpuMapSpec | null;
  /** The f64 value stored under a hoisted name (data, params, dims, lets, derived values). */
  value(name: string): Tensor;
};

export interface BatchOptions {
  /** f64 polish tolerance on ||F(y)||_inf (default 1e-10). */
  tol?: number;
  /** The f32 phase stops when every sample's ||T(y) - y||_inf <= f32Tol ||T(y)||_inf (default 1e-5). */
  f32Tol?: number;
  /** Cap on f32 iterations (default 5000). */
  maxIter?: number;
}

export interface BatchResult {
  /** The gpu.js kernel class and mode that ran (`WebAssemblyKernel (gpu.js mode 'gpu')`), or 'none (f64 fallback)'. */
  backend: string;
  /** Why there was no gpu path (fallback), or why the f32 phase stopped early; null otherwise. */
  reason: string | null;
  f32Iterations: number;
  /** Whether every sample met f32Tol. */
  f32Converged: boolean;
  /** Wall time of the f32 phase, kernel compilation included. */
  f32Seconds: number;
  /** The f64 solve of each instance, from its f32 result (or from its initial point on fallback). */
  polish: SolveInstanceResult[];
  /** The f32 result per sample; empty on fallback. */
  y32: Float32Array[];
}

const FALLBACK = 'none (f64 fallback)';

export function solveBatch(instances: readonly BatchInstance[], options: BatchOptions = {}): BatchResult {
  requireInstances('solveBatch', instances);
  options = requireOptions('solveBatch', options, ['tol', 'f32Tol', 'maxIter']);
  const tol = requireTolerance('solveBatch: tol', options.tol ?? 1e-10);
  const f32Tol = requireTolerance('solveBatch: f32Tol', options.f32Tol ?? 1e-5);
  const maxIter = options.maxIter ?? 5000;
  requireInteger('solveBatch: maxIter', maxIter, 1);

  const start = performance.now();
  const map = BatchMap.plan(instances);
  if (typeof map === 'string') {
    return {
      backend: FALLBACK,
      reason: map,
      f32Iterations: 0,
      f32Converged: false,
      f32Seconds: 0,
      polish: instances.map((inst) => solveInstance(inst, { tol })),
      y32: [],
    };
  }

  let f32: F32Phase;
  let backend: string;
  try {
    f32 = iterateF32(instances, map, f32Tol, maxIter);
    // After the first run: gpu.js builds (and may degrade to its cpu backend) on first call.
    backend = map.backend();
  } finally {
    map.destroy();
  }
  const f32Seconds = (performance.now() - start) / 1000;

  // Mixed precision: the f32 iterate is only a start; the f64 solve decides and certifies.
  const polish = instances.map((inst, b) => solveInstance(inst, { tol, y0: Float64Array.from(f32.y[b]) }));
  return {
    backend,
    reason: f32.reason,
    f32Iterations: f32.iterations,
    f32Converged: f32.converged,
    f32Seconds,
    polish,
    y32: f32.y,
  };
}

/** A kernel argument, in f64: a shared matrix (its data), or per sample stacked [B size] / [B]. */
interface PlannedArg {
  kind: GpuArg['kind'];
  shape: number[];
  data: Float64Array;
}

interface StagePlan {
  stage: GpuStage;
  size: number;
  constants: Record<string, number>;
  args: PlannedArg[];
}

/**
 * Everything the kernels need, checked for the whole batch, or why the batch cannot run on
 * a batched path. Matrices are passed once, so they must be equal in every instance (the
 * same object when the instances come from `with`, which is checked first).
 */
function planBatch(instances: readonly BatchInstance[]): { stages: StagePlan[]; n: number } | string {
  if (instances.length === 0) return 'empty batch';
  const first = instances[0];
  const spec = first.gpu;
  if (!spec) return `model ${first.name} has no batched path (its map is not expressible as batched kernels)`;
  const specText = JSON.stringify(spec);
  for (const inst of instances) {
    if (inst.name !== first.name || inst.n !== first.n) return `instances of different models or sizes (${first.name}, n = ${first.n} and ${inst.name}, n = ${inst.n})`;
    if (inst.gpu !== spec && JSON.stringify(inst.gpu) !== specText) return `instances of ${first.name} with different batched kernels`;
    if (inst.unknowns.length !== 1) return `model ${first.name} has ${inst.unknowns.length} unknowns`;
  }

  const values = new Map<string, PlannedArg>();
  const planArg = (arg: GpuArg): PlannedArg | string => {
    const hit = values.get(arg.name);
    if (hit) return hit;
    const all = instances.map((inst) => inst.value(arg.name));
    const shape = all[0].shape;
    if (all.some((t) => t.shape.join() !== shape.join())) return `${arg.name} has different shapes across the batch`;
    let planned: PlannedArg;
    if (arg.kind === 'matrix') {
      if (shape.length !== 2) return `${arg.name} is not a matrix`;
      const ref = all[0].data;
      if (all.some((t) => t.data !== ref && t.data.some((v, k) => v !== ref[k]))) return `matrix ${arg.name} differs across the batch (kernels share one copy)`;
      planned = { kind: 'matrix', shape, data: ref };
    } else {
      const size = arg.kind === 'scalar' ? 1 : all[0].data.length;
      const data = new Float64Array(all.length * size);
      all.forEach((t, b) => data.set(arg.kind === 'scalar' ? t.data.subarray(0, 1) : t.data, b * size));
      planned = { kind: arg.kind, shape, data };
    }
    values.set(arg.name, planned);
    return planned;
  };
  const resolveSize = (size: string | number): number | string => {
    if (typeof size === 'number') return size;
    // A dim's hoisted value, or a sum of dims (`m + n`, concatenation's sizes) evaluated term by term.
    const all = instances.map((inst) => dimValue(size, (name) => inst.value(name).data[0]) ?? NaN);
    return all.every((v) => v === all[0]) ? all[0] : `dim ${size} differs across the batch`;
  };

  const stages: StagePlan[] = [];
  for (const stage of spec.stages) {
    const size = resolveSize(stage.size);
    if (typeof size === 'string') return size;
    const args: PlannedArg[] = [];
    for (const a of stage.args) {
      const planned = planArg(a);
      if (typeof planned === 'string') return planned;
      args.push(planned);
    }
    const constants: Record<string, number> = {};
    for (const bound of stage.bounds) constants[bound.constant] = first.value(bound.arg).shape[bound.axis];
    stages.push({ stage, size, constants, args });
  }
  // A spec whose last stage does not output the unknown is codegen's error, not a batch's: thrown, not a reason to fall back.
  if (stages[stages.length - 1].size !== first.n) throw new SolverError('invalid-option', `batched map of ${first.name}: its last stage outputs ${stages[stages.length - 1].size} entries, not n = ${first.n}`);
  return { stages, n: first.n };
}

/** A kernel argument: rows of f32 values (gpu.js takes an array of typed arrays for 2-D input). */
type Rows = Float32Array[];

/** An f64 argument as gpu.js rows: a matrix by its rows, a per-sample value by its samples. */
function toRows(arg: PlannedArg, B: number): Rows {
  const width = arg.kind === 'matrix' ? arg.shape[1] : arg.data.length / B;
  const count = arg.kind === 'matrix' ? arg.shape[0] : B;
  return Array.from({ length: count }, (_, r) => Float32Array.from(arg.data.subarray(r * width, (r + 1) * width)));
}

interface F32Phase {
  y: Float32Array[];
  iterations: number;
  converged: boolean;
  reason: string | null;
}

/**
 * One application of T to a batch through gpu.js (f32): the kernels of the model's gpu spec,
 * output [size, B], matrices passed once, vectors and scalars per sample, loop bounds as
 * constants with loopMaxIterations set to them. `solveBatch` iterates it; `bench/gflops.ts`
 * times it.
 */
export class BatchMap {
  private readonly gpu = new GPU({ mode: 'gpu' });
  private readonly kernels: IKernelRunShortcut[];
  private readonly stages: { inputs: number[]; args: Rows[] }[];

  /** The batch's map, or why it has no gpu path (no spec, matrices that differ between samples, ...). */
  static plan(instances: readonly BatchInstance[]): BatchMap | string {
    const plan = planBatch(instances);
    return typeof plan === 'string' ? plan : new BatchMap(plan.stages, instances.length);
  }

  private constructor(stages: StagePlan[], B: number) {
    this.stages = stages.map((s) => ({ inputs: s.stage.inputs, args: s.args.map((a) => toRows(a, B)) }));
    this.kernels = stages.map((s) =>
      this.gpu
        .createKernel(s.stage.source, { output: [s.size, B], constants: s.constants })
        // Loops run to this.constants bounds; set the cap explicitly (gpu.js' default is 1000).
        .setLoopMaxIterations(Math.max(1, ...Object.values(s.constants))),
    );
  }

  /** T(y) for every sample: y[b] is sample b's unknown, in f32. */
  apply(y: Float32Array[]): Float32Array[] {
    const outs: Rows[] = [];
    this.stages.forEach((s, j) => {
      outs[j] = this.kernels[j](y, ...s.inputs.map((k) => outs[k]), ...s.args) as Rows;
    });
    return outs[outs.length - 1];
  }

  /**
   * The kernel classes that ran (one name when all agree), the GPU's mode, the wasm run path
   * when the backend records it, and any cpu fallback reason; meaningful after a first apply.
   */
  backend(): string {
    const { kernels } = this;
    const classes = [...new Set(kernels.map((k) => k.kernel.constructor.name))];
    // _lastRunPath: the wasm backend's record of how the last run was dispatched (simd or scalar; internal).
    const paths = [...new Set(kernels.map((k) => (k.kernel as unknown as { _lastRunPath?: string | null })._lastRunPath).filter((p): p is string => !!p))];
    const reasons = [...new Set(kernels.map((k) => k.kernel.fallbackReason).filter((r): r is string => !!r))];
    return `${classes.join(' + ')} (gpu.js mode '${this.gpu.mode}'${paths.length ? `, run path ${paths.join(' + ')}` : ''})${reasons.length ? `; fell back: ${reasons.join('; ')}` : ''}`;
  }

  /** Releases the kernels (and any worker pool); nothing waits on it. */
  destroy(): void {
    this.gpu.destroy().catch(() => undefined);
  }
}

/** Plain fixed-point iteration of the pipeline, all samples together, from each initial(). */
function iterateF32(instances: readonly BatchInstance[], map: BatchMap, f32Tol: number, maxIter: number): F32Phase {
  let y: Rows = instances.map((inst) => Float32Array.from(inst.initial()));
  for (let it = 1; it <= maxIter; it++) {
    const next = map.apply(y);
    let converged = true;
    for (let b = 0; b < next.length; b++) {
      let change = 0;
      let size = 0;
      for (let i = 0; i < next[b].length; i++) {
        change = Math.max(change, Math.abs(next[b][i] - y[b][i]));
        size = Math.max(size, Math.abs(next[b][i]));
      }
      // A blown-up sample stops the phase; the last finite iterate goes to the f64 polish.
      if (!Number.isFinite(change) || !Number.isFinite(size)) return { y, iterations: it - 1, converged: false, reason: `f32 iteration became non-finite at step ${it}` };
      if (!(change <= f32Tol * size)) converged = false;
    }
    y = next;
    if (converged) return { y, iterations: it, converged: true, reason: null };
  }
  return { y, iterations: maxIter, converged: false, reason: `f32 iteration reached maxIter = ${maxIter}` };
}

/** A stage's CPU kernel: (B, n, ny, y, products..., vector and scalar args..., out). */
type CpuKernel = (...args: (number | Float64Array)[]) => void;

/**
 * The stage kernel of a source text, compiled once per process: a training loop builds a
 * BatchMapF64 every step (new parameters), and a function compiled anew each time would start
 * in V8's interpreter again, its optimized code lost. (Measured on a DEQ forward at h = 64:
 * 4.9 to 5.4 against 5.5 to 5.7 ms, within this machine's noise.)
 */
function compiledKernel(source: string): CpuKernel {
  let kernel = KERNELS.get(source);
  if (!kernel) {
    // Kernel text from the generated module (registry scalar expressions, never user text).
    kernel = new Function(`return ${source};`)() as CpuKernel;
    KERNELS.set(source, kernel);
  }
  return kernel;
}
const KERNELS = new Map<string, CpuKernel>();

/**
 * One application of T to a batch in f64 on the CPU: per stage, the products M v_b of every
 * sample at once (`BatchProducts`: WebAssembly SIMD, register-blocked, M read once per pair
 * of samples), then the stage's entry code (`GpuStage.cpu`) over flat sample-major arrays.
 * The same numbers as the instances' own `map`, up to the order of the sums; no buffer is
 * allocated per call.
 */
export class BatchMapF64 {
  readonly B: number;
  /** The unknown's length per sample. */
  readonly n: number;
  private readonly products: BatchProducts;
  private readonly stages: {
    kernel: CpuKernel;
    products: { index: number; vector: number | null; out: Float64Array }[];
    /** The kernel's arguments, assembled once: slot 3 (the unknown) and the last (the output) are set per call. */
    call: (number | Float64Array)[];
    out: Float64Array;
  }[];

  /** The batch's map, or why it has no batched path (no spec, matrices that differ between samples, ...). */
  static plan(instances: readonly BatchInstance[], engine: ProductEngine | 'auto' = 'auto'): BatchMapF64 | string {
    const plan = planBatch(instances);
    return typeof plan === 'string' ? plan : new BatchMapF64(plan.stages, instances.length, plan.n, engine);
  }

  private constructor(stages: StagePlan[], B: number, n: number, engine: ProductEngine | 'auto') {
    this.B = B;
    this.n = n;
    const matrices: ProductMatrix[] = [];
    this.stages = stages.map((s, j) => {
      const byName = new Map(s.stage.args.map((a, k) => [a.name, s.args[k]]));
      const products = s.stage.cpu.products.map((p) => {
        const matrix = byName.get(p.matrix);
        const cols = p.vector === null ? n : stages[p.vector].size;
        if (!matrix || matrix.kind !== 'matrix' || matrix.shape[0] !== s.size || matrix.shape[1] !== cols) {
          throw new SolverError('invalid-option', `batched map: product ${p.matrix} of stage ${j} does not fit (shape [${matrix?.shape}], stage size ${s.size}, vector length ${cols})`);
        }
        matrices.push({ data: matrix.data, rows: matrix.shape[0], cols });
        return { index: matrices.length - 1, vector: p.vector, out: new Float64Array(B * s.size) };
      });
      const kernel = compiledKernel(s.stage.cpu.source);
      const out = j === stages.length - 1 ? new Float64Array(0) : new Float64Array(B * s.size);
      const args = s.args.filter((a) => a.kind !== 'matrix').map((a) => a.data);
      return { kernel, products, call: [B, s.size, n, new Float64Array(0), ...products.map((p) => p.out), ...args, out], out };
    });
    this.products = new BatchProducts(matrices, B, engine);
  }

  /** Which engine computes the products ('wasm-simd' or 'js'). */
  get engine(): ProductEngine {
    return this.products.engine;
  }

  /** out = T(Y) for every sample: Y and out are B x n, sample-major. */
  apply(Y: Float64Array, out: Float64Array): void {
    const { B, n, stages } = this;
    if (Y.length !== B * n || out.length !== B * n) throw new SolverError('dimension-mismatch', `BatchMapF64.apply: arrays of ${Y.length} and ${out.length} entries, expected ${B * n}`);
    const last = stages.length - 1;
    for (let j = 0; j <= last; j++) {
      const s = stages[j];
      for (const p of s.products) this.products.run(p.index, p.vector === null ? Y : stages[p.vector].out, p.out);
      s.call[3] = Y;
      if (j === last) s.call[s.call.length - 1] = out;
      s.kernel.apply(null, s.call);
    }
  }
}

/** Iterations over which plain batched iteration must at least halve a residual (finish 'auto'). */
export const SLOW_WINDOW = 25;

export interface BatchF64Options {
  /** Convergence when ||F(y)||_inf = ||T(y) - y||_inf <= tol (default 1e-10). */
  tol?: number;
  /** Cap on the batched iterations (default 1000), and on the finisher's when given. */
  maxIter?: number;
  /**
   * What happens to a sample the batched plain iteration leaves unconverged (not
   * contractive, too slow, diverged): 'auto' (default) solves it alone with `solveInstance`
   * ('auto': Anderson, then Newton), from its last iterate, or from its start when that
   * diverged or is not finite, and hands it over as soon as plain iteration is seen to crawl
   * (its residual not halved in SLOW_WINDOW iterations); 'none' returns it as is, with the
   * status, iteration count and y of `solveInstance(inst, { method: 'fixed-point', tol,
   * maxIter })` (tested), except that a sample whose image turned non-finite keeps that
   * iterate, with residual Infinity, where `fixedPoint` returns the one before.
   */
  finish?: 'auto' | 'none';
}

export interface BatchF64Result {
  /** What ran: `f64 batched (...)`, or the per-sample fallback and why. */
  backend: string;
  /** Batched iterations (the most any sample took). */
  batchIterations: number;
  /**
   * Per sample, as `solveInstance` reports it, except: the residual of a sample the batch
   * solved is ||T(y) - y||_inf from the batched map (||F(y)||_inf up to the order of the sums,
   * not recomputed by `residual`); a sample finished alone reports its finisher's method and
   * result, with the iterations of both phases.
   */
  results: SolveInstanceResult[];
}

/**
 * Solves every instance of a batch of one fixed-point model together, in f64 (DESIGN.md
 * "Generated modules", batched path): plain fixed-point iteration y <- T(y) of the whole
 * batch with `BatchMapF64`, each sample frozen as soon as ||T(y) - y||_inf <= tol, as
 * `solveInstance(inst, { method: 'fixed-point' })` stops it. What the iteration leaves
 * unconverged is finished per sample (options.finish). Without a batched path (no spec,
 * matrices that differ), every instance is solved alone.
 */
export function solveBatchF64(instances: readonly BatchInstance[], options: BatchF64Options = {}): BatchF64Result {
  requireInstances('solveBatchF64', instances);
  options = requireOptions('solveBatchF64', options, ['tol', 'maxIter', 'finish']);
  if (options.finish !== undefined) requireChoice('solveBatchF64: finish', options.finish, ['auto', 'none']);
  const tol = requireTolerance('solveBatchF64: tol', options.tol ?? 1e-10);
  const maxIter = requireInteger('solveBatchF64: maxIter', options.maxIter ?? 1000, 1);
  const finish = options.finish ?? 'auto';
  const alone = (inst: BatchInstance, y0?: Float64Array): SolveInstanceResult =>
    solveInstance(inst, finish === 'auto' ? { tol, y0, maxIter: options.maxIter } : { tol, y0, method: 'fixed-point', maxIter });
  const map = BatchMapF64.plan(instances);
  if (typeof map === 'string') return { backend: `none (per sample: ${map})`, batchIterations: 0, results: instances.map((inst) => alone(inst)) };

  const { B, n } = map;
  const Y = new Float64Array(B * n);
  instances.forEach((inst, b) => Y.set(inst.initial(), b * n));
  const TY = new Float64Array(B * n);
  const residual = new Float64Array(B);
  const iterations = new Int32Array(B);
  const status: (SolveInstanceResult['status'] | null)[] = new Array(B).fill(null);
  const limit = new Float64Array(B);
  const measure = (b: number): number => {
    let r = 0;
    for (let i = b * n, end = i + n; i < end; i++) {
      const d = Math.abs(TY[i] - Y[i]);
      r = d > r || d !== d ? d : r;
    }
    return r === r && r !== Infinity ? r : Infinity;
  };

  map.apply(Y, TY);
  for (let b = 0; b < B; b++) {
    residual[b] = measure(b);
    limit[b] = 1e10 * Math.max(residual[b], tol); // fixedPoint's divergence test
  }
  // With a finisher: each sample's residual SLOW_WINDOW iterations ago (a crawl is handed over).
  const earlier = finish === 'auto' ? residual.slice() : null;
  let active = B;
  let batchIterations = 0;
  for (;;) {
    for (let b = 0; b < B; b++) {
      if (status[b] !== null) continue;
      const r = residual[b];
      let s: SolveInstanceResult['status'] | null = r === Infinity ? 'non-finite' : r <= tol ? 'converged' : r > limit[b] ? 'diverged' : iterations[b] >= maxIter ? 'max-iterations' : null;
      if (s === null && earlier !== null && iterations[b] > 0 && iterations[b] % SLOW_WINDOW === 0) {
        if (!(r <= 0.5 * earlier[b])) s = 'max-iterations';
        earlier[b] = r;
      }
      if (s !== null) {
        status[b] = s;
        active--;
      }
    }
    if (active === 0) break;
    for (let b = 0; b < B; b++) {
      if (status[b] !== null) continue;
      Y.set(TY.subarray(b * n, (b + 1) * n), b * n);
      iterations[b]++;
    }
    batchIterations++;
    // Frozen samples ride along: the products are blocked over the whole batch.
    map.apply(Y, TY);
    for (let b = 0; b < B; b++) if (status[b] === null) residual[b] = measure(b);
  }

  const results = instances.map((inst, b): SolveInstanceResult => {
    const y = Y.slice(b * n, (b + 1) * n);
    const s = status[b] as SolveInstanceResult['status'];
    if (s === 'converged' || finish === 'none') return { y, status: s, iterations: iterations[b], residual: residual[b], method: 'fixed-point' };
    const again = alone(inst, s === 'non-finite' || s === 'diverged' ? undefined : y);
    return { ...again, iterations: iterations[b] + again.iterations };
  });
  return { backend: `f64 batched (products on ${map.engine})`, batchIterations, results };
}
