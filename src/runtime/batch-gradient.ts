/**
 * The training step of an implicit layer over a batch (DESIGN.md "Generated modules"): solve
 * the batch (together, in f64, when the model has a batched map), then for every sample
 * certify (MATH.md 5) and add the implicit gradient of one output to a running sum. A sample whose solve does not converge, whose certificate is `violated`, or
 * whose backward solve fails contributes no numbers (it is counted), never NaN.
 *
 * `batchGradient` runs in the calling thread; `WorkerPool` (./worker-pool.ts) splits a batch
 * over worker threads that each run this same function on their share.
 */
import { DeferredProducts } from './accumulate.ts';
import { BACKWARD_MODES, BatchTransposedB, solveAdjointBatch, type BackwardMode } from './batch-backward.ts';
import { certifySelection, type CertifiedSelection } from './certificate.ts';
import { GpuTransposedB, solveAdjointGpu } from './gpu-backward.ts';
import { addGradientWithAdjoint, ImplicitDerivatives, outputPartialY } from './derivatives.ts';
import type { InputValue } from './inputs.ts';
import type { ModelInstance } from './model.ts';
import { solveBatchF64, type BatchInstance } from './batch.ts';
import { SOLVE_METHODS, solveInstance, type SolveInstanceResult, type SolveMethod } from './solve.ts';
import { SolverError } from './status.ts';
import { describeValue, isFiniteVector, requireChoice, requireInstances, requireOptions } from './validate.ts';

/** An instance that can derive others with some inputs changed (every generated class). */
export type DerivableInstance = ModelInstance & { with(changes: Record<string, InputValue>): DerivableInstance };

export interface BatchGradientOptions extends BackwardOptions {
  /** Which output to differentiate (default 0). */
  output?: number;
  method?: SolveMethod;
  /** Solve tolerance on ||F||_inf (default 1e-10). */
  tol?: number;
  maxIter?: number;
}

/** Per sample: the output value, and what happened to it. */
export interface SampleOutcome {
  value: number;
  /** `discontinuous`: F jumps at the solution (an `if` whose branches differ on its switch): no derivative. */
  status: 'certified' | 'unverified' | 'violated' | 'not-converged' | 'backward-failed' | 'assumption-failed' | 'discontinuous';
  /** The certificate's test (`contraction guard`, `row-wise vertex test`, ...), when certified or unverified. */
  test: string | null;
  /** The solution, flat (the unknowns in declaration order). */
  y: Float64Array;
}

export interface BatchGradientResult {
  /** Sum over the contributing samples of d output / d params (flat, the model's param layout). */
  gradientSum: Float64Array;
  /** Samples whose gradient is in the sum (certified or unverified). */
  contributing: number;
  samples: SampleOutcome[];
  /** How the adjoint systems B^T w = d output / dy were solved. */
  backward: BackwardReport;
}

/**
 * The backward pass of a batch (src/runtime/batch-backward.ts): `mode` as the DEQ literature
 * names them. 'auto' (default): the implicit derivative; from order AUTO_BATCHED_FROM on, for
 * the samples whose certificate factored no B (a contraction guard that held), solved together
 * by the adjoint fixed point (with its error bound) or, without a guard value, by batched GMRES;
 * below that order, and for the others, by each sample's LU (the certificate's, when it has one). 'per-sample': every sample alone, by LU (the reference the batched path
 * is tested against).
 */
export interface BackwardOptions {
  backward?: 'auto' | 'per-sample' | BackwardMode;
  /** Tolerance of the batched solve (batch-backward.ts: relative residual, or error bound for 'adjoint'). */
  backwardTol?: number;
  /** Steps of 'phantom'. */
  phantomSteps?: number;
  /**
   * Where the batched adjoint solve runs: 'f64' (default: the WebAssembly products) or 'gpu.js'
   * (f32 kernels, WebGL in a browser, refined to f64 accuracy against the f64 products;
   * src/runtime/gpu-backward.ts). 'gpu.js' needs the adjoint fixed point (a contraction guard
   * that holds); otherwise, or without a batched form, the f64 path runs and says why.
   */
  backend?: 'f64' | 'gpu.js';
  /** With 'gpu.js': refine to f64 accuracy (default true); false keeps the f32 solve alone (its f64 error bound still reported). */
  gpuRefinement?: boolean;
}

export interface BackwardReport {
  /** What ran: 'per-sample LU', 'batched implicit (GMRES, products on wasm-simd)', 'batched adjoint ...', ... */
  method: string;
  /** Whether the gradients are the implicit derivative (false for 'jacobian-free' and 'phantom'). */
  implicit: boolean;
  /** Samples solved by the batched solver, and those solved alone (LU). */
  batched: number;
  perSample: number;
  /** The most products by B^T any batched sample took. */
  iterations: number;
  /** Over the batched samples: the largest ||B^T w - g|| / ||g||, and the largest error bound ||w - w*|| where a guard gives one (else null). */
  maxRelativeResidual: number | null;
  maxErrorBound: number | null;
  /** Why the batched solver did not run (no operator form of B, matrices that differ), or why gpu.js did not, or null. */
  reason: string | null;
  /** What computed the batched products: 'f64 (wasm-simd)', or the gpu.js kernels and mode (`WebGL2Kernel (gpu.js mode 'gpu')`, refined in f64). */
  backend: string;
}

/**
 * One sample of a step, solved already: its `require` clauses, then its certificate (MATH.md 5).
 * Unless the solve did not converge, a clause fails, the certificate is `violated` or F jumps at
 * the solution, the sample goes on to its gradient (`cert` set); otherwise its outcome is final.
 */
function prepareSample(inst: ModelInstance, solved: { y: Float64Array; status: string; residual: number }, output: number): { outcome: SampleOutcome; cert: CertifiedSelection | null } {
  const { y } = solved;
  const value = inst.outputs(y)[output];
  if (solved.status !== 'converged') return { outcome: { value, status: 'not-converged', test: null, y }, cert: null };
  // The model's `require` clauses on this sample's inputs and solution, as runModel checks them:
  // outside them the analysis's conclusions need not hold, so the sample adds nothing.
  if ((inst.requireViolations?.(y) ?? []).length > 0) return { outcome: { value, status: 'assumption-failed', test: 'require', y }, cert: null };
  const cert = certifySelection(inst, y, solved.residual);
  const { verdict, test } = cert.certificate;
  // A jump of F at the solution (test `continuity`) has no derivative, like a violated one.
  if (verdict === 'violated') return { outcome: { value, status: 'violated', test, y }, cert: null };
  if (test === 'continuity') return { outcome: { value, status: 'discontinuous', test, y }, cert: null };
  return { outcome: { value, status: verdict, test, y }, cert };
}

/**
 * The implicit gradient of output `output` of a prepared sample added into `sum`, by its own
 * LU (the certificate's, when it factored B), or from `w`, its adjoint solution computed by
 * the batched backward. Checked: a non-finite gradient throws before it reaches the sum;
 * unchecked: added straight in, outer products possibly deferred. A failed backward solve
 * adds nothing (`backward-failed`), as runModel gives no numbers.
 */
function addSampleGradient(inst: ModelInstance, outcome: SampleOutcome, cert: CertifiedSelection, output: number, sum: Float64Array, options: { checked: boolean; w?: Float64Array }): SampleOutcome {
  try {
    if (options.w) addGradientWithAdjoint(inst, outcome.y, inst.kinkFactors(outcome.y), output, options.w, sum, { checked: options.checked });
    else new ImplicitDerivatives(inst, outcome.y, { prefactored: cert.selected ?? undefined, ...(cert.structured ? { structured: cert.structured } : {}) }).addOutputGradient(output, sum, { checked: options.checked });
    return outcome;
  } catch (err) {
    if (!(err instanceof SolverError)) throw err;
    return { ...outcome, status: 'backward-failed' };
  }
}

/**
 * One instance for the shared inputs and the first sample, derived with `with` for the rest
 * (the shared inputs and what depends on them alone are bound once); the batch solved
 * together (`solveAll`), then per sample: certify, differentiate (`batchGradientAt`).
 */
export function batchGradient(
  make: (inputs: Record<string, InputValue>) => DerivableInstance,
  shared: Record<string, InputValue>,
  samples: readonly Record<string, InputValue>[],
  options: BatchGradientOptions = {},
): BatchGradientResult {
  options = requireOptions('batchGradient', options, ['output', 'method', 'tol', 'maxIter', 'backward', 'backwardTol', 'phantomSteps', 'backend', 'gpuRefinement']);
  if (typeof make !== 'function') throw new SolverError('invalid-option', `batchGradient: make must be a function (inputs => instance), got ${describeValue(make)}`);
  if (typeof shared !== 'object' || shared === null || Array.isArray(shared)) throw new SolverError('invalid-option', `batchGradient: shared inputs must be an object, got ${describeValue(shared)}`);
  if (!Array.isArray(samples)) throw new SolverError('invalid-option', `batchGradient: samples must be an array of input objects, got ${describeValue(samples)}`);
  samples.forEach((sample: unknown, i) => {
    if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) throw new SolverError('invalid-option', `batchGradient: sample ${i} is ${describeValue(sample)}, not an object of inputs`);
  });
  if (options.method !== undefined) requireChoice('batchGradient: method', options.method, SOLVE_METHODS);
  const output = options.output ?? 0;
  if (samples.length === 0) return { gradientSum: new Float64Array(0), contributing: 0, samples: [], backward: emptyReport() };
  const base = make({ ...shared, ...samples[0] });
  requireOutput(base, output, 'batchGradient');
  const instances = samples.map((sample, i) => (i === 0 ? base : base.with(sample)));
  return batchGradientAt(instances, solveAll(instances, options), output, { backward: options.backward, backwardTol: options.backwardTol, phantomSteps: options.phantomSteps, backend: options.backend, gpuRefinement: options.gpuRefinement });
}

/**
 * The backward half of a training step, the batch solved already: per sample the
 * certificate and the implicit gradient of output `output`, summed. The gradients go straight
 * into the sum, their outer products deferred and added as one blocked product per parameter
 * (accumulate.ts); the sum is checked once at the end. Only if it is not finite are the
 * samples redone one by one, each checked, so that the ones without numbers are found and
 * left out. A wrong output index or instances of different sizes throw (SolverError), before
 * any sample is touched: they are the caller's mistakes, not a sample's failed backward solve.
 */
export function batchGradientAt(
  instances: readonly ModelInstance[],
  solved: readonly { y: Float64Array; status: string; residual: number }[],
  output = 0,
  options: BackwardOptions = {},
): BatchGradientResult {
  requireInstances('batchGradientAt', instances);
  options = requireOptions('batchGradientAt', options, ['backward', 'backwardTol', 'phantomSteps', 'backend', 'gpuRefinement']);
  if (options.backward !== undefined) requireChoice('batchGradientAt: backward', options.backward, ['auto', 'per-sample', ...BACKWARD_MODES]);
  if (options.backend !== undefined) requireChoice('batchGradientAt: backend', options.backend, ['f64', 'gpu.js']);
  if (!Array.isArray(solved)) throw new SolverError('invalid-option', `batchGradientAt: solved must be an array of solve results, got ${describeValue(solved)}`);
  solved.forEach((r: unknown, i) => {
    const y = (r as { y?: unknown } | null)?.y;
    if (!(y instanceof Float64Array)) throw new SolverError('invalid-option', `batchGradientAt: solved[${i}] has no Float64Array y`);
    if (y.length !== instances[i]?.n) throw new SolverError('dimension-mismatch', `batchGradientAt: solved[${i}].y has length ${y.length}, expected n = ${instances[i]?.n}`);
  });
  if (solved.length !== instances.length) throw new SolverError('dimension-mismatch', `batchGradientAt: ${instances.length} instances, ${solved.length} solutions`);
  if (instances.length === 0) return { gradientSum: new Float64Array(0), contributing: 0, samples: [], backward: emptyReport() };
  const m = instances[0].m;
  for (const inst of instances) {
    requireOutput(inst, output, 'batchGradientAt');
    if (inst.m !== m) throw new SolverError('dimension-mismatch', `batchGradientAt: instances with ${m} and ${inst.m} parameters in one batch`);
  }
  const prepared = instances.map((inst, i) => prepareSample(inst, solved[i], output));
  const plan = backwardPlan(instances, prepared, output, options);
  const gradientSum = new Float64Array(m);
  const deferred = new DeferredProducts(gradientSum);
  const gradient = (sum: Float64Array, checked: boolean): SampleOutcome[] =>
    prepared.map((p, i) => (p.cert ? addSampleGradient(instances[i], p.outcome, p.cert, output, sum, { checked, w: plan.w.get(i) }) : p.outcome));
  const outcomes = deferred.run(() => gradient(gradientSum, false));
  deferred.flush();
  if (isFiniteVector(gradientSum)) return { gradientSum, contributing: outcomes.filter(contributes).length, samples: outcomes, backward: plan.report };
  // Some sample's numbers are not finite: again, one checked sample at a time.
  const careful = new Float64Array(m);
  const again = gradient(careful, true);
  return { gradientSum: careful, contributing: again.filter(contributes).length, samples: again, backward: plan.report };
}

/**
 * Which samples' adjoint systems are solved together, and their solutions: in mode 'auto' the
 * samples whose certificate factored no B (their LU would be the whole cost), in the explicit
 * modes every sample going on to a gradient; none with 'per-sample', or when the batch has no
 * batched form of B^T (the reason is reported). A sample the batched solver leaves unconverged
 * is solved alone.
 */
function backwardPlan(
  instances: readonly ModelInstance[],
  prepared: readonly { outcome: SampleOutcome; cert: CertifiedSelection | null }[],
  output: number,
  options: BackwardOptions,
): { w: Map<number, Float64Array>; report: BackwardReport } {
  const mode = options.backward ?? 'auto';
  const going = prepared.flatMap((p, i) => (p.cert ? [i] : []));
  const chosen =
    mode === 'per-sample' ? [] : mode === 'auto' ? (instances[0].n >= AUTO_BATCHED_FROM ? going.filter((i) => prepared[i].cert!.selected === null) : []) : going;
  const perSampleReport = (reason: string | null): { w: Map<number, Float64Array>; report: BackwardReport } => {
    if (mode !== 'auto' && mode !== 'per-sample' && mode !== 'implicit' && going.length > 0) {
      // A truncated mode promised to the caller cannot silently become the exact one.
      throw new SolverError('invalid-option', `batchGradient: backward '${mode}' needs a batched form of B^T: ${reason}`);
    }
    return { w: new Map(), report: { method: 'per-sample LU', implicit: true, batched: 0, perSample: going.length, iterations: 0, maxRelativeResidual: null, maxErrorBound: null, reason, backend: 'f64 (per sample)' } };
  };
  if (chosen.length === 0) return perSampleReport(mode === 'per-sample' ? null : going.length ? 'every certificate factored its B already' : null);
  const n = instances[0].n;
  const factors = chosen.map((i) => instances[i].kinkFactors(prepared[i].outcome.y));
  const BT = BatchTransposedB.plan(chosen.map((i, k) => instances[i].bOperator?.(prepared[i].outcome.y, factors[k])), n);
  if (typeof BT === 'string') return perSampleReport(BT);
  const G = new Float64Array(chosen.length * n);
  const gy = new Float64Array(n);
  chosen.forEach((i, k) => {
    outputPartialY(instances[i], prepared[i].outcome.y, factors[k], output, gy);
    G.set(gy, k * n);
  });
  // A contraction guard that holds bounds ||T_y|| (2-norm) by gamma < 1: ||B^-T|| <= 1 / (1 - gamma).
  const gamma = Float64Array.from(chosen, (i) => {
    const g = instances[i].analysis.verdict === 'guarded' ? instances[i].guardBound() : null;
    return g !== null && g < 1 ? g : NaN;
  });
  // 'auto': the adjoint fixed point where every chosen sample's guard holds (one product a
  // step, and its error bound decides when to stop), GMRES otherwise; both give the implicit
  // derivative to the tolerance.
  const batchMode: BackwardMode = mode === 'auto' ? (gamma.every((g) => g < 1) ? 'adjoint' : 'implicit') : (mode as BackwardMode);
  let r = null as ReturnType<typeof solveAdjointBatch> | null;
  let backend = `f64 (${BT.engine})`;
  let gpuReason: string | null = null;
  if (options.backend === 'gpu.js') {
    const gpuBT = batchMode === 'adjoint' ? GpuTransposedB.plan(chosen.map((i, k) => instances[i].bOperator?.(prepared[i].outcome.y, factors[k])), n) : `backward '${batchMode}' has no gpu.js form (the gpu.js path is the adjoint fixed point under a contraction guard)`;
    if (typeof gpuBT === 'string') gpuReason = `gpu.js not used: ${gpuBT}`;
    else {
      try {
        const refine = options.gpuRefinement ?? true;
        const g = solveAdjointGpu(gpuBT, BT, G, gamma, { tol: options.backwardTol, ...(refine ? {} : { maxRounds: 1 }) });
        backend = refine ? `${g.backend}, refined in f64 (${g.rounds} f64 residuals, ${g.f32Iterations} f32 iterations)` : `${g.backend}, f32 alone, not refined (${g.f32Iterations} f32 iterations)`;
        const relativeResidual = Float64Array.from({ length: chosen.length }, (_, k) => g.errorBound[k] * (1 - gamma[k]) / Math.max(Math.hypot(...G.subarray(k * n, (k + 1) * n)), Number.MIN_VALUE));
        // Unrefined, the f32 solution is the answer, its accuracy the reported error bound.
        r = { mode: 'adjoint', w: g.w, iterations: new Int32Array(chosen.length).fill(g.f32Iterations), relativeResidual, errorBound: g.errorBound, converged: refine ? g.converged : new Uint8Array(chosen.length).fill(1), implicit: true };
      } finally {
        gpuBT.destroy();
      }
    }
  }
  r ??= solveAdjointBatch(BT, G, { mode: batchMode, tol: options.backwardTol, gamma, phantomSteps: options.phantomSteps });
  const w = new Map<number, Float64Array>();
  let iterations = 0;
  let maxRelativeResidual = 0;
  let maxErrorBound: number | null = 0;
  let alone = going.length - chosen.length;
  chosen.forEach((i, k) => {
    if (!r.converged[k]) {
      alone++;
      return;
    }
    w.set(i, r.w.slice(k * n, (k + 1) * n));
    iterations = Math.max(iterations, r.iterations[k]);
    maxRelativeResidual = Math.max(maxRelativeResidual, r.relativeResidual[k]);
    maxErrorBound = maxErrorBound === null || Number.isNaN(r.errorBound[k]) ? null : Math.max(maxErrorBound, r.errorBound[k]);
  });
  const what = batchMode === 'implicit' ? 'implicit (GMRES)' : batchMode === 'adjoint' ? 'adjoint fixed point' : batchMode === 'phantom' ? `phantom (${options.phantomSteps ?? 5} steps; not the implicit derivative)` : 'jacobian-free (w = g; not the implicit derivative)';
  return {
    w,
    report: {
      method: `batched ${what}, products on ${BT.engine}${alone ? `; ${alone} per-sample LU` : ''}`,
      implicit: r.implicit,
      batched: w.size,
      perSample: alone,
      iterations,
      maxRelativeResidual: w.size ? maxRelativeResidual : null,
      maxErrorBound: w.size ? maxErrorBound : null,
      reason: gpuReason,
      backend,
    },
  };
}

/**
 * The order n from which 'auto' solves the adjoint systems together: below it, each sample's
 * LU of its reduced B (about n/2 active rows of a DEQ) costs less than the batched iterations.
 * Measured (bench/deq-backward.ts, batch 64, DEQ at opnorm(W) = 0.9, 2026-12-06): the whole
 * step took 9.7 against 12.4 ms at h = 64 and 21.6 against 23.0 at h = 128 (per-sample ahead),
 * 295 against 210 at h = 512 and 1399 against 835 at h = 1024 (batched ahead).
 */
export const AUTO_BATCHED_FROM = 256;

function emptyReport(): BackwardReport {
  return { method: 'none (empty batch)', implicit: true, batched: 0, perSample: 0, iterations: 0, maxRelativeResidual: null, maxErrorBound: null, reason: null, backend: 'none' };
}

const contributes = (o: SampleOutcome): boolean => o.status === 'certified' || o.status === 'unverified';

function requireOutput(inst: ModelInstance, output: number, who: string): void {
  if (!Number.isInteger(output) || output < 0 || output >= inst.outputNames.length) {
    throw new SolverError('invalid-option', `${who}(${inst.name}): no output ${output} (its outputs: ${inst.outputNames.join(', ') || 'none'})`);
  }
}

/**
 * The forward solves of a batch: all together in f64 (`solveBatchF64`) when the model has a
 * batched map and the method is plain iteration or 'auto' (then unconverged samples are
 * finished alone), else one `solveInstance` per sample.
 */
function solveAll(instances: readonly DerivableInstance[], options: BatchGradientOptions): SolveInstanceResult[] {
  const method = options.method ?? 'auto';
  const { tol, maxIter } = options;
  const batched = instances as readonly (DerivableInstance & Partial<BatchInstance>)[];
  if ((method === 'auto' || method === 'fixed-point') && batched.every((inst) => inst.gpu && inst.value)) {
    return solveBatchF64(batched as readonly BatchInstance[], { tol, maxIter, finish: method === 'auto' ? 'auto' : 'none' }).results;
  }
  return instances.map((inst) => solveInstance(inst, { method, tol, maxIter }));
}
