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
import { certifySelection } from './certificate.ts';
import { ImplicitDerivatives } from './derivatives.ts';
import type { InputValue } from './inputs.ts';
import type { ModelInstance } from './model.ts';
import { solveBatchF64, type BatchInstance } from './batch.ts';
import { SOLVE_METHODS, solveInstance, type SolveInstanceResult, type SolveMethod } from './solve.ts';
import { SolverError } from './status.ts';
import { describeValue, isFiniteVector, requireChoice, requireInstances, requireOptions } from './validate.ts';

/** An instance that can derive others with some inputs changed (every generated class). */
export type DerivableInstance = ModelInstance & { with(changes: Record<string, InputValue>): DerivableInstance };

export interface BatchGradientOptions {
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
}

/**
 * One sample of a step, solved already: its `require` clauses, its certificate (MATH.md 5), then,
 * unless the solve did not converge, a clause fails, the certificate is `violated` or F jumps
 * at the solution, the implicit gradient of output `output`
 * added into `sum` (checked: a non-finite gradient throws before it reaches the sum; unchecked:
 * added straight in, outer products possibly deferred). A failed backward solve adds nothing
 * (`backward-failed`), as runModel gives no numbers.
 */
function sampleGradient(
  inst: ModelInstance,
  solved: { y: Float64Array; status: string; residual: number },
  output: number,
  sum: Float64Array,
  options: { checked: boolean },
): SampleOutcome {
  const { y } = solved;
  const value = inst.outputs(y)[output];
  if (solved.status !== 'converged') return { value, status: 'not-converged', test: null, y };
  // The model's `require` clauses on this sample's inputs and solution, as runModel checks them:
  // outside them the analysis's conclusions need not hold, so the sample adds nothing.
  if ((inst.requireViolations?.(y) ?? []).length > 0) return { value, status: 'assumption-failed', test: 'require', y };
  const cert = certifySelection(inst, y, solved.residual);
  const { verdict, test } = cert.certificate;
  // A jump of F at the solution (test `continuity`) has no derivative, like a violated one.
  if (verdict === 'violated') return { value, status: 'violated', test, y };
  if (test === 'continuity') return { value, status: 'discontinuous', test, y };
  try {
    new ImplicitDerivatives(inst, y, { prefactored: cert.selected ?? undefined }).addOutputGradient(output, sum, { checked: options.checked });
    return { value, status: verdict, test, y };
  } catch (err) {
    if (!(err instanceof SolverError)) throw err;
    return { value, status: 'backward-failed', test, y };
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
  options = requireOptions('batchGradient', options, ['output', 'method', 'tol', 'maxIter']);
  if (typeof make !== 'function') throw new SolverError('invalid-option', `batchGradient: make must be a function (inputs => instance), got ${describeValue(make)}`);
  if (typeof shared !== 'object' || shared === null || Array.isArray(shared)) throw new SolverError('invalid-option', `batchGradient: shared inputs must be an object, got ${describeValue(shared)}`);
  if (!Array.isArray(samples)) throw new SolverError('invalid-option', `batchGradient: samples must be an array of input objects, got ${describeValue(samples)}`);
  samples.forEach((sample: unknown, i) => {
    if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) throw new SolverError('invalid-option', `batchGradient: sample ${i} is ${describeValue(sample)}, not an object of inputs`);
  });
  if (options.method !== undefined) requireChoice('batchGradient: method', options.method, SOLVE_METHODS);
  const output = options.output ?? 0;
  if (samples.length === 0) return { gradientSum: new Float64Array(0), contributing: 0, samples: [] };
  const base = make({ ...shared, ...samples[0] });
  requireOutput(base, output, 'batchGradient');
  const instances = samples.map((sample, i) => (i === 0 ? base : base.with(sample)));
  return batchGradientAt(instances, solveAll(instances, options), output);
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
): BatchGradientResult {
  requireInstances('batchGradientAt', instances);
  if (!Array.isArray(solved)) throw new SolverError('invalid-option', `batchGradientAt: solved must be an array of solve results, got ${describeValue(solved)}`);
  solved.forEach((r: unknown, i) => {
    const y = (r as { y?: unknown } | null)?.y;
    if (!(y instanceof Float64Array)) throw new SolverError('invalid-option', `batchGradientAt: solved[${i}] has no Float64Array y`);
    if (y.length !== instances[i]?.n) throw new SolverError('dimension-mismatch', `batchGradientAt: solved[${i}].y has length ${y.length}, expected n = ${instances[i]?.n}`);
  });
  if (solved.length !== instances.length) throw new SolverError('dimension-mismatch', `batchGradientAt: ${instances.length} instances, ${solved.length} solutions`);
  if (instances.length === 0) return { gradientSum: new Float64Array(0), contributing: 0, samples: [] };
  const m = instances[0].m;
  for (const inst of instances) {
    requireOutput(inst, output, 'batchGradientAt');
    if (inst.m !== m) throw new SolverError('dimension-mismatch', `batchGradientAt: instances with ${m} and ${inst.m} parameters in one batch`);
  }
  const gradientSum = new Float64Array(m);
  const deferred = new DeferredProducts(gradientSum);
  const outcomes = deferred.run(() => instances.map((inst, i) => sampleGradient(inst, solved[i], output, gradientSum, { checked: false })));
  deferred.flush();
  if (isFiniteVector(gradientSum)) return { gradientSum, contributing: outcomes.filter(contributes).length, samples: outcomes };
  // Some sample's numbers are not finite: again, one checked sample at a time.
  const careful = new Float64Array(m);
  const again = instances.map((inst, i) => sampleGradient(inst, solved[i], output, careful, { checked: true }));
  return { gradientSum: careful, contributing: again.filter(contributes).length, samples: again };
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
