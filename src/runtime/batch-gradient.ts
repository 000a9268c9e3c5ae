/**
 * The training step of an implicit layer over a batch (DESIGN.md "Generated modules"): for
 * every sample, solve, certify (MATH.md 5), and add the implicit gradient of one output to a
 * running sum. A sample whose solve does not converge, whose certificate is `violated`, or
 * whose backward solve fails contributes no numbers (it is counted), never NaN.
 *
 * `batchGradient` runs in the calling thread; `WorkerPool` (./worker-pool.ts) splits a batch
 * over worker threads that each run this same function on their share.
 */
import { certifySelection } from './certificate.ts';
import { ImplicitDerivatives } from './derivatives.ts';
import type { InputValue } from './inputs.ts';
import type { ModelInstance } from './model.ts';
import { solveInstance, type SolveMethod } from './solve.ts';
import { SolverError } from './status.ts';

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
  status: 'certified' | 'unverified' | 'violated' | 'not-converged' | 'backward-failed';
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
 * One sample of a step, solved already: its certificate (MATH.md 5), then, unless the
 * solve did not converge or the certificate is `violated`, the implicit gradient of output
 * `output` added into `sum`. `onCertified` runs between the two (for timing them apart).
 * A failed backward solve adds nothing (`backward-failed`), as runModel gives no numbers.
 */
export function addSampleGradient(
  inst: ModelInstance,
  solved: { y: Float64Array; status: string; residual: number },
  output: number,
  sum: Float64Array,
  onCertified?: () => void,
): SampleOutcome {
  const { y } = solved;
  const value = inst.outputs(y)[output];
  if (solved.status !== 'converged') return { value, status: 'not-converged', test: null, y };
  const cert = certifySelection(inst, y, solved.residual);
  onCertified?.();
  const { verdict, test } = cert.certificate;
  if (verdict === 'violated') return { value, status: 'violated', test, y };
  try {
    const g = new ImplicitDerivatives(inst, y, { prefactored: cert.selected ?? undefined }).outputGradients()[output];
    for (let j = 0; j < g.length; j++) sum[j] += g[j];
    return { value, status: verdict, test, y };
  } catch (err) {
    if (!(err instanceof SolverError)) throw err;
    return { value, status: 'backward-failed', test, y };
  }
}

/**
 * One instance for the shared inputs and the first sample, derived with `with` for the rest
 * (the shared inputs and what depends on them alone are bound once), then per sample: solve,
 * certify, differentiate.
 */
export function batchGradient(
  make: (inputs: Record<string, InputValue>) => DerivableInstance,
  shared: Record<string, InputValue>,
  samples: readonly Record<string, InputValue>[],
  options: BatchGradientOptions = {},
): BatchGradientResult {
  const output = options.output ?? 0;
  const outcomes: SampleOutcome[] = [];
  let gradientSum = new Float64Array(0);
  let contributing = 0;
  let base: DerivableInstance | null = null;
  for (const sample of samples) {
    const inst: DerivableInstance = base ? base.with(sample) : (base = make({ ...shared, ...sample }));
    if (!Number.isInteger(output) || output < 0 || output >= inst.outputNames.length) {
      throw new SolverError('invalid-option', `batchGradient(${inst.name}): no output ${output} (its outputs: ${inst.outputNames.join(', ') || 'none'})`);
    }
    if (gradientSum.length !== inst.m) gradientSum = new Float64Array(inst.m);
    const solved = solveInstance(inst, { method: options.method, tol: options.tol, maxIter: options.maxIter });
    const outcome = addSampleGradient(inst, solved, output, gradientSum);
    if (outcome.status === 'certified' || outcome.status === 'unverified') contributing++;
    outcomes.push(outcome);
  }
  return { gradientSum, contributing, samples: outcomes };
}
