import type { Tensor } from '../tensor.ts';
import { projCone, projConeGap, projConeJvp, projDualCone, projDualConeJvp } from './cone-kernels.ts';
import { elementwiseGaps, elementwiseKernels } from './elementwise.ts';
import { blockSoftThreshold, blockSoftThresholdDt, blockSoftThresholdGap, blockSoftThresholdJvp } from './groups.ts';
import { indexingKernels } from './indexing.ts';
import { l1BallGap, projL1Ball, projL1BallDr, projL1BallJvp, projSimplex, projSimplexJvp, projSoc, projSocJvp, simplexGap, socGap } from './projections.ts';
import { l2BallGap, linfBallGap, projL2Ball, projL2BallDr, projL2BallJvp, projLinfBall, projLinfBallD, projPsd, projPsdJvp, psdGap } from './projections.ts';
import { dotOf, logsumexp, meanOf, norm1, norm2, norm2Grad, norm2Gap, norminf, norminfGap, norminfGrad, opnorm, softmax, softmaxJvp, sumOf, sumsq } from './reductions.ts';
import { maxof, maxofGap, maxofGrad, maxofRows, maxofRowsGap, maxofRowsGrad, meanRows, minof, minofGap, minofGrad, minofRows, minofRowsGap, minofRowsGrad } from './reductions.ts';
import { norm1Rows, norm2Rows, norm2RowsGap, norm2RowsGrad, norminfRows, norminfRowsGap, norminfRowsGrad, spreadRows, sumRows, sumsqRows } from './reductions.ts';
import { full, matmul, transpose } from './tensor.ts';

// The runtime's value kernels and kink gaps, by name: what generated code calls (`K.<name>`,
// `kinkGap(<name>, args)`, through kernels.ts) and what each primitive's registry record names
// as its value rule (`Primitive.kernel`, `KinkDescription.gap`). The runtime knows kernels,
// not primitives: which primitive computes with which kernel is the registry's fact. A kernel
// is named as the primitive that introduced it, so generated modules read as the model.

/** A value kernel: tensors in, a tensor out (shapes as the primitive's shape rule says). */
export type ValueKernel = (...args: Tensor[]) => Tensor;

/** A kink gap: per kink variable, the distance from its switching surface, exactly 0 at a tie. */
export type GapKernel = (...args: Tensor[]) => Float64Array;

const kernels: Record<string, ValueKernel> = {
  ...elementwiseKernels,
  ...indexingKernels,
  matmul,
  transpose,
  sum: sumOf,
  mean: meanOf,
  dot: dotOf,
  sumsq,
  norm1,
  norm2,
  norminf,
  opnorm,
  norm2_grad: norm2Grad,
  norminf_grad: norminfGrad,
  // Reductions of each row of a matrix (the axis forms `f(X, 2)`, and `f(X, 1)` of X'), the
  // largest and smallest entry, their selected gradients, and spread_rows (sum_rows' transpose).
  sum_rows: sumRows,
  mean_rows: meanRows,
  sumsq_rows: sumsqRows,
  norm1_rows: norm1Rows,
  norm2_rows: norm2Rows,
  norminf_rows: norminfRows,
  maxof_rows: maxofRows,
  minof_rows: minofRows,
  maxof,
  minof,
  norm2_rows_grad: norm2RowsGrad,
  norminf_rows_grad: norminfRowsGrad,
  maxof_grad: maxofGrad,
  minof_grad: minofGrad,
  maxof_rows_grad: maxofRowsGrad,
  minof_rows_grad: minofRowsGrad,
  spread_rows: spreadRows,
  // softmax over every entry (any shape): the value of softmax, and the gradient of logsumexp.
  logsumexp,
  softmax,
  softmax_jvp: softmaxJvp,
  proj_simplex: projSimplex,
  proj_l1ball: (v, r) => projL1Ball(v, r.data[0]),
  proj_soc: projSoc,
  proj_simplex_jvp: projSimplexJvp,
  proj_l1ball_jvp: (v, r, t) => projL1BallJvp(v, r.data[0], t),
  proj_l1ball_dr: (v, r) => projL1BallDr(v, r.data[0]),
  proj_soc_jvp: projSocJvp,
  proj_l2ball: (v, r) => projL2Ball(v, r.data[0]),
  proj_l2ball_jvp: (v, r, t) => projL2BallJvp(v, r.data[0], t),
  proj_l2ball_dr: (v, r) => projL2BallDr(v, r.data[0]),
  proj_linf_ball: projLinfBall,
  proj_linf_ball_d: projLinfBallD,
  proj_psd: projPsd,
  proj_psd_jvp: projPsdJvp,
  proj_cone: projCone,
  proj_cone_jvp: projConeJvp,
  proj_dual_cone: projDualCone,
  proj_dual_cone_jvp: projDualConeJvp,
  block_soft_threshold: blockSoftThreshold,
  block_soft_threshold_jvp: blockSoftThresholdJvp,
  block_soft_threshold_dt: blockSoftThresholdDt,
  // Shape plumbing of the derivative rules: the scalar x repeated to like's shape, and x's
  // entries (row-major) laid out with like's shape.
  broadcast: (x, like) => full(like.shape, x.data[0]),
  reshape: (x, like) => ({ shape: [...like.shape], data: x.data }),
};

const gaps: Record<string, GapKernel> = {
  ...elementwiseGaps,
  proj_simplex: simplexGap,
  proj_l1ball: (v, r) => l1BallGap(v, r.data[0]),
  proj_soc: socGap,
  proj_l2ball: (v, r) => l2BallGap(v, r.data[0]),
  proj_linf_ball: linfBallGap,
  proj_psd: psdGap,
  proj_cone: projConeGap,
  proj_dual_cone: projConeGap,
  block_soft_threshold: blockSoftThresholdGap,
  norm2: norm2Gap,
  norminf: norminfGap,
  norm2_rows: norm2RowsGap,
  norminf_rows: norminfRowsGap,
  maxof: maxofGap,
  minof: minofGap,
  maxof_rows: maxofRowsGap,
  minof_rows: minofRowsGap,
};

/** Every value kernel by name. Look names up with {@link valueKernel}: a plain object's `toString` is not a kernel. */
export const VALUE_KERNELS: Readonly<Record<string, ValueKernel>> = Object.freeze(kernels);

/** Every kink gap by name; look names up with {@link gapKernel}. */
export const KINK_GAPS: Readonly<Record<string, GapKernel>> = Object.freeze(gaps);

/** The value kernel named `name`; throws for a name that is not one. */
export function valueKernel(name: string): ValueKernel {
  if (!Object.hasOwn(VALUE_KERNELS, name)) throw new Error(`internal error: the runtime has no value kernel named ${name}`);
  return VALUE_KERNELS[name];
}

/** The kink gap named `name`; throws for a name that is not one. */
export function gapKernel(name: string): GapKernel {
  if (!Object.hasOwn(KINK_GAPS, name)) throw new Error(`internal error: the runtime has no kink gap named ${name}`);
  return KINK_GAPS[name];
}
