/**
 * Batched mixed-precision solves (DESIGN.md "Generated modules", gpu.js path): many
 * instances of one fixed-point model (a DEQ mini-batch, a hyperparameter sweep) iterate
 * y = T(y) together in f32 through gpu.js kernels, then every sample is polished in f64 by
 * `solveInstance`, so that what gets certified is an f64 solution. Where the batch has no
 * gpu path (no spec, matrices that differ between samples), every instance is solved in f64.
 */
import { GPU, type IKernelRunShortcut } from 'gpu.js';
import type { Tensor } from './kernels.ts';
import type { ModelInstance } from './model.ts';
import { solveInstance, type SolveInstanceResult } from './solve.ts';
import { SolverError } from './status.ts';
import { requireInRange, requireInteger } from './validate.ts';

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
  const tol = requireInRange('solveBatch: tol', options.tol ?? 1e-10, 0, Infinity);
  const f32Tol = requireInRange('solveBatch: f32Tol', options.f32Tol ?? 1e-5, 0, Infinity);
  const maxIter = options.maxIter ?? 5000;
  requireInteger('solveBatch: maxIter', maxIter, 0);

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

/** A kernel argument: rows of f32 values (gpu.js takes an array of typed arrays for 2-D input). */
type Rows = Float32Array[];

interface StagePlan {
  source: string;
  size: number;
  constants: Record<string, number>;
  inputs: number[];
  args: Rows[];
}

/**
 * Everything the kernels need, checked for the whole batch, or why the batch cannot run on
 * the gpu path. Matrices are passed once, so they must be equal in every instance.
 */
function planBatch(instances: readonly BatchInstance[]): { stages: StagePlan[] } | string {
  if (instances.length === 0) return 'empty batch';
  const first = instances[0];
  const spec = first.gpu;
  if (!spec) return `model ${first.name} has no gpu path (its map is not expressible as gpu.js kernels)`;
  const specText = JSON.stringify(spec);
  for (const inst of instances) {
    if (inst.name !== first.name || inst.n !== first.n) return `instances of different models or sizes (${first.name}, n = ${first.n} and ${inst.name}, n = ${inst.n})`;
    if (inst.gpu !== spec && JSON.stringify(inst.gpu) !== specText) return `instances of ${first.name} with different gpu kernels`;
    if (inst.unknowns.length !== 1) return `model ${first.name} has ${inst.unknowns.length} unknowns`;
  }

  const values = new Map<string, Rows>();
  const argRows = (arg: GpuArg): Rows | string => {
    const hit = values.get(arg.name);
    if (hit) return hit;
    const all = instances.map((inst) => inst.value(arg.name));
    const shape = all[0].shape;
    if (all.some((t) => t.shape.join() !== shape.join())) return `${arg.name} has different shapes across the batch`;
    let rows: Rows;
    if (arg.kind === 'matrix') {
      if (shape.length !== 2) return `${arg.name} is not a matrix`;
      if (all.some((t) => t.data.some((v, k) => v !== all[0].data[k]))) return `matrix ${arg.name} differs across the batch (kernels share one copy)`;
      rows = Array.from({ length: shape[0] }, (_, r) => Float32Array.from(all[0].data.subarray(r * shape[1], (r + 1) * shape[1])));
    } else {
      rows = all.map((t) => Float32Array.from(arg.kind === 'scalar' ? t.data.subarray(0, 1) : t.data));
    }
    values.set(arg.name, rows);
    return rows;
  };
  const resolveSize = (size: string | number): number | string => {
    if (typeof size === 'number') return size;
    const all = instances.map((inst) => inst.value(size).data[0]);
    return all.every((v) => v === all[0]) ? all[0] : `dim ${size} differs across the batch`;
  };

  const stages: StagePlan[] = [];
  for (const s of spec.stages) {
    const size = resolveSize(s.size);
    if (typeof size === 'string') return size;
    const args: Rows[] = [];
    for (const a of s.args) {
      const rows = argRows(a);
      if (typeof rows === 'string') return rows;
      args.push(rows);
    }
    const constants: Record<string, number> = {};
    for (const bound of s.bounds) constants[bound.constant] = first.value(bound.arg).shape[bound.axis];
    stages.push({ source: s.source, size, constants, inputs: s.inputs, args });
  }
  if (stages[stages.length - 1].size !== first.n) throw new SolverError('invalid-option', `solveBatch(${first.name}): the gpu map outputs ${stages[stages.length - 1].size} entries, not n = ${first.n}`);
  return { stages };
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
  private readonly plan: { stages: StagePlan[] };

  /** The batch's map, or why it has no gpu path (no spec, matrices that differ between samples, ...). */
  static plan(instances: readonly BatchInstance[]): BatchMap | string {
    const plan = planBatch(instances);
    return typeof plan === 'string' ? plan : new BatchMap(plan, instances.length);
  }

  private constructor(plan: { stages: StagePlan[] }, B: number) {
    this.plan = plan;
    this.kernels = plan.stages.map((s) =>
      this.gpu
        .createKernel(s.source, { output: [s.size, B], constants: s.constants })
        // Loops run to this.constants bounds; set the cap explicitly (gpu.js' default is 1000).
        .setLoopMaxIterations(Math.max(1, ...Object.values(s.constants))),
    );
  }

  /** T(y) for every sample: y[b] is sample b's unknown, in f32. */
  apply(y: Float32Array[]): Float32Array[] {
    const outs: Rows[] = [];
    this.plan.stages.forEach((s, j) => {
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
