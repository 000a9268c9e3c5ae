import type { Tensor } from '../tensor.ts';
import { addT, divT, map1, map2, map3, mulT, subT } from './tensor.ts';

// Elementwise value kernels (scalars broadcast), from one scalar function each, and the
// distances of the diagonal kinks from their switching surfaces, one entry per element.
// Conditions are 1 (true) and 0 (false).

type Scalar = (...xs: number[]) => number;

/** A kernel applying a scalar function to every element, scalars broadcasting. */
export function pointwise(f: Scalar): (...args: Tensor[]) => Tensor {
  return (...args) => {
    if (args.length === 1) return map1(args[0], f);
    if (args.length === 2) return map2(args[0], args[1], f);
    return map3(args[0], args[1], args[2], f);
  };
}

/** A kink-gap kernel: the elementwise distance `gap` of every element from its switching surface. */
function gaps(gap: Scalar): (...args: Tensor[]) => Float64Array {
  const kernel = pointwise(gap);
  return (...args) => kernel(...args).data;
}

const truth = (b: boolean): number => (b ? 1 : 0);
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const positivePart = pointwise((x) => Math.max(x, 0));
const box = pointwise((a, lo, hi) => Math.min(Math.max(a, lo), hi));

/**
 * The elementwise kernels by name. `relu`, `pos` and `proj_nonneg` are one function, and so
 * are `clip` and `proj_box`: the names are what generated modules call (`K.proj_box`).
 */
export const elementwiseKernels = {
  add: addT,
  sub: subT,
  neg: pointwise((a) => -a),
  mul: mulT,
  div: divT,
  div_elementwise: divT,
  pow: pointwise(Math.pow),
  lt: pointwise((a, b) => truth(a < b)),
  le: pointwise((a, b) => truth(a <= b)),
  gt: pointwise((a, b) => truth(a > b)),
  ge: pointwise((a, b) => truth(a >= b)),
  eq: pointwise((a, b) => truth(a === b)),
  ne: pointwise((a, b) => truth(a !== b)),
  and: pointwise((p, q) => truth(p !== 0 && q !== 0)),
  or: pointwise((p, q) => truth(p !== 0 || q !== 0)),
  not: pointwise((p) => truth(p === 0)),
  select: pointwise((c, a, b) => (c !== 0 ? a : b)),
  abs: pointwise(Math.abs),
  relu: positivePart,
  pos: positivePart,
  proj_nonneg: positivePart,
  max: pointwise(Math.max),
  min: pointwise(Math.min),
  clip: box,
  proj_box: box,
  soft_threshold: pointwise((u, t) => Math.sign(u) * Math.max(Math.abs(u) - t, 0)),
  huber: pointwise((a, delta) => (Math.abs(a) <= delta ? (a * a) / 2 : delta * (Math.abs(a) - delta / 2))),
  sqrt: pointwise(Math.sqrt),
  exp: pointwise(Math.exp),
  log: pointwise(Math.log),
  // log(1 + a) without the cancellation of 1 + a for small a; NaN below -1, -Infinity at -1.
  log1p: pointwise(Math.log1p),
  softplus: pointwise((x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))),
  sigmoid: pointwise(sigmoid),
  tanh: pointwise(Math.tanh),
  sin: pointwise(Math.sin),
  cos: pointwise(Math.cos),
  sign: pointwise(Math.sign),
  step: pointwise((x) => (x > 0 ? 1 : 0)),
  floor: pointwise(Math.floor),
  // Ties away from 0 (Math.round rounds -2.5 to -2).
  round: pointwise((x) => (x < 0 ? -Math.round(-x) : Math.round(x))),
  // Diagonal kink factors: the element of the conservative Jacobian used, at a tie too.
  relu_d: pointwise((a) => (a > 0 ? 1 : 0)),
  abs_d: pointwise(Math.sign),
  max_d: pointwise((a, b) => (a >= b ? 1 : 0)),
  min_d: pointwise((a, b) => (a <= b ? 1 : 0)),
  clip_d: pointwise((a, lo, hi) => (lo < a && a < hi ? 1 : 0)),
  soft_threshold_d: pointwise((u, t) => (Math.abs(u) > t ? 1 : 0)),
  // The switch of `if` in canonical form `s > 0` (the branches ride along for the jump check).
  select_d: pointwise((s) => (s > 0 ? 1 : 0)),
};

/** The diagonal kinks' gaps by name: 0 exactly at a tie, positive elsewhere. */
export const elementwiseGaps = {
  relu: gaps(Math.abs),
  abs: gaps(Math.abs),
  max: gaps((a, b) => Math.abs(a - b)),
  min: gaps((a, b) => Math.abs(a - b)),
  clip: gaps((a, lo, hi) => Math.min(Math.abs(a - lo), Math.abs(a - hi))),
  soft_threshold: gaps((u, t) => Math.abs(Math.abs(u) - t)),
  select: switchGap,
};

/**
 * The gap of an `if` switch, from the arguments of its factor select_d(s, a, b) (the condition
 * in canonical form `s > 0`, the branch values a and b): 2n entries for n elements, the
 * distances |s| from the switching surface s = 0, then the jumps |a - b| across it. The
 * runtime certificate reads the second half at the tied elements only: F is continuous
 * across a tied switch only where its branches agree there (MATH.md 2; a NaN jump counts as
 * a jump).
 */
function switchGap(s: Tensor, a: Tensor, b: Tensor): Float64Array {
  const distance = map3(s, a, b, (x) => Math.abs(x)).data;
  const jump = map3(s, a, b, (_x, p, q) => Math.abs(p - q)).data;
  const out = new Float64Array(2 * distance.length);
  out.set(distance, 0);
  out.set(jump, distance.length);
  return out;
}
