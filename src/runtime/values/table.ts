import type { Tensor } from '../tensor.ts';
import { elementwiseGaps, elementwiseKernels } from './elementwise.ts';
import { l1BallGap, projL1Ball, projL1BallDr, projL1BallJvp, projSimplex, projSimplexJvp, projSoc, projSocJvp, simplexGap, socGap } from './projections.ts';
import { dotOf, meanOf, norm1, norm2, norm2Grad, norm2Gap, norminf, norminfGap, norminfGrad, opnorm, sumOf, sumsq } from './reductions.ts';
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
  proj_simplex: projSimplex,
  proj_l1ball: (v, r) => projL1Ball(v, r.data[0]),
  proj_soc: projSoc,
  proj_simplex_jvp: projSimplexJvp,
  proj_l1ball_jvp: (v, r, t) => projL1BallJvp(v, r.data[0], t),
  proj_l1ball_dr: (v, r) => projL1BallDr(v, r.data[0]),
  proj_soc_jvp: projSocJvp,
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
  norm2: norm2Gap,
  norminf: norminfGap,
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
