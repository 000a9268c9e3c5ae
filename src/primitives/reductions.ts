import { real, sameShape, showType, type ValueType } from '../ir/shape.ts';
import { flat, op, sumTerms, unbroadcast } from './build.ts';
import { logsumexpInterval, softmaxInterval } from './interval.ts';
import * as rules from './shape-rules.ts';
import type { Builder, NodeId, PrimalNode, PrimitiveSpec, ShapeResult } from './types.ts';

// Reductions to a scalar, and norms, and logsumexp with its gradient softmax (below). A norm's derivative is `<gradient, adot>` with a
// selected (sub)gradient: abs_d(a) for norm1 (a diagonal kink per entry), and dedicated
// internal gradient primitives for norm2 and norminf, whose kinks are not diagonal. Values
// and kink gaps are the runtime's kernels of the same names (src/runtime/values/reductions.ts).

/** Rules of a norm with selected gradient `gradient(a)`: adot -> <grad, adot>, ct -> ct grad. */
function gradientRules(gradient: (g: Builder, a: NodeId) => NodeId): Pick<PrimitiveSpec, 'jvp' | 'vjp'> {
  return {
    jvp: (g, node, [da]) => (da === null ? null : op(g, 'sum', op(g, 'mul', gradient(g, node.args[0]), da))),
    vjp: (g, node, ct) => [unbroadcast(g, op(g, 'mul', ct, gradient(g, node.args[0])), node.args[0])],
  };
}

/**
 * The softmax family (logsumexp, its gradient softmax, and their Jacobian product): smooth, so
 * no kink. With s = softmax(a) over all entries, the Hessian of logsumexp and the Jacobian of
 * softmax are the same matrix J = diag(s) - s s^T, applied by `softmax_jvp(a, t)` =
 * s .* (t - <s, t>). J is symmetric, so it also serves the VJP. It is not diagonal: its
 * tangents go through that one dedicated primitive, which the analysis's LinOp reader
 * (src/analysis/linop.ts) reads as an opaque operator (it has no kink to own it as a block),
 * never as a diagonal factor.
 *
 * Facts used below (MATH.md 2 and 6): x^T J x = sum_i s_i x_i^2 - (sum_i s_i x_i)^2 >= 0
 * (Jensen, as s >= 0 and sum s = 1), so J is PSD (softmax is monotone: it is the gradient of
 * the convex logsumexp); and by Gershgorin each row of J has |J_ii| + sum_{j != i} |J_ij| =
 * s_i (1 - s_i) + s_i (1 - s_i) <= 1/2, so (J symmetric) ||J||_2 <= 1/2: softmax is globally Lipschitz and
 * nonexpansive. logsumexp is globally Lipschitz with constant sup ||s||_2 <= ||s||_1 = 1.
 */
const softmaxJvp = (g: Builder, a: NodeId, t: NodeId) => op(g, 'softmax_jvp', a, t);

/** Rules of a map whose Jacobian at a is J above, applied to its only argument a. */
const softmaxJacobian: Pick<PrimitiveSpec, 'jvp' | 'vjp'> = {
  jvp: (g, node, [da]) => (da === null ? null : softmaxJvp(g, node.args[0], da)),
  vjp: (g, node, ct) => [softmaxJvp(g, node.args[0], ct)],
};

/** `(a, t)` of one shape (any), giving that shape: softmax_jvp, over all entries. */
function likeBoth(args: readonly ValueType[]): ShapeResult {
  const bad = args.findIndex((x) => x.kind !== 'real');
  if (bad >= 0) return { ok: false, code: 'E0206', arg: bad, message: `argument ${bad + 1} is a condition, expected a value` };
  if (!sameShape(args[0].shape, args[1].shape)) {
    return { ok: false, code: 'E0201', arg: 1, message: `tangent ${showType(args[1])} does not match ${showType(args[0])}` };
  }
  return { ok: true, type: real(args[0].shape) };
}

const count = (g: Builder, node: PrimalNode) => op(g, 'sum', g.broadcastTo(g.constant(1), node.args[0]));

export const reductions: PrimitiveSpec[] = [
  {
    name: 'sum', surface: 'function', params: ['a'], summary: 'sum of all entries', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: { linear: true },
    jvp: (g, _node, [da]) => (da === null ? null : op(g, 'sum', da)),
    vjp: (g, node, ct) => [g.broadcastTo(ct, node.args[0])],
  },
  {
    name: 'mean', surface: 'function', params: ['a'], summary: 'mean of all entries', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: { linear: true },
    jvp: (g, _node, [da]) => (da === null ? null : op(g, 'mean', da)),
    // The entry count is sum(broadcast(1, a)), so symbolic dims need no special node.
    vjp: (g, node, ct) => [g.broadcastTo(op(g, 'div', ct, count(g, node)), node.args[0])],
  },
  {
    name: 'dot', surface: 'function', params: ['a', 'b'], summary: 'sum of a .* b', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.pairReduction, structure: { bilinear: true,},
    jvp: (g, node, [da, db]) => {
      const [a, b] = node.args;
      return sumTerms(g, node.id, [da === null ? null : op(g, 'dot', da, b), db === null ? null : op(g, 'dot', a, db)]);
    },
    vjp: (g, node, ct) => {
      const [a, b] = node.args;
      return [unbroadcast(g, op(g, 'mul', ct, b), a), unbroadcast(g, op(g, 'mul', ct, a), b)];
    },
  },
  {
    name: 'sumsq', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'sum of squares of all entries', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'mul', g.constant(2), a)),
  },
  {
    name: 'norm1', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'sum of |entries|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'abs_d', a)),
    kink: {
      condition: 'a_i = 0 for an entry i', used: '0 for that entry (abs_d)', range: [-1, 1], rangeText: '[-1, 1] per entry',
      // Per entry, |a_i|: abs's gap.
      factor: 'abs_d', selection: 'abs_d', gap: 'abs',
    },
  },
  {
    name: 'norm2', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'Euclidean (Frobenius) norm', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'norm2_grad', a)),
    kink: {
      condition: 'a = 0', used: 'the gradient 0', range: null, rangeText: 'the unit ball {g : |g|_2 <= 1}',
      // |a|_2, one entry.
      factor: null, selection: 'norm2_grad', gap: 'norm2',
    },
  },
  {
    name: 'norminf', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'largest |entry|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'norminf_grad', a)),
    kink: {
      condition: 'two entries tie for the largest |a_i|, or the largest is 0',
      used: 'sign(a_k) e_k with k the first entry of largest |a_k| (0 at a = 0)',
      range: null, rangeText: 'hull of sign(a_k) e_k over the tied largest entries (the unit l1 ball at a = 0)',
      // Largest |a_i| minus the runner-up (0 for a single entry): 0 exactly at a tie.
      factor: null, selection: 'norminf_grad', gap: 'norminf',
    },
  },
  {
    name: 'opnorm', interval: () => [0, Infinity], surface: 'function', params: ['A'], summary: 'spectral norm (largest singular value); data-only in v1 (no derivative rules)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.matrixNorm, structure: {},
    // The runtime's power iteration (relative accuracy 1e-10 on sigma^2, approached from below;
    // src/runtime/matrix.ts has opnorm2Upper for certified bounds). A vector is a column.
  },
  {
    name: 'logsumexp', interval: logsumexpInterval, surface: 'function', params: ['a'], summary: 'log(sum(exp(a))) over all entries, computed with the largest entry shifted out', definability: 'R_exp', lipschitz: 'globally', shape: rules.matrixNorm, structure: {},
    // d logsumexp(a) = <softmax(a), adot> (softmax over all entries, a's shape).
    ...gradientRules((g, a) => op(g, 'logsumexp_grad', a)),
  },
  {
    name: 'softmax', interval: softmaxInterval, surface: 'function', params: ['a'], summary: 'exp(a - max(a)) / sum(exp(a - max(a))), a vector; the gradient of logsumexp', definability: 'R_exp', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true },
    ...softmaxJacobian,
  },
  {
    name: 'logsumexp_grad', kernel: 'softmax', interval: softmaxInterval, surface: 'internal', params: ['a'], summary: 'gradient of logsumexp: softmax over all entries, with the shape of a', definability: 'R_exp', lipschitz: 'globally', shape: rules.likeFirst, structure: { nonexpansive: true, monotone: true },
    ...softmaxJacobian,
  },
  {
    name: 'softmax_jvp', surface: 'internal', params: ['a', 't'], summary: 'softmax Jacobian (the Hessian of logsumexp) at a times t: (diag(s) - s s^T) t = s .* (t - <s, t>), s = softmax(a) over all entries', definability: 'R_exp', lipschitz: 'locally', shape: likeBoth, structure: {},
    // With s = softmax(a), r = t - <s, t> and sdot = J adot: d(J t) = J tdot + sdot .* r - s <sdot, t>.
    jvp: (g, node, [da, dt]) => {
      const [a, t] = node.args;
      const byT = dt === null ? null : softmaxJvp(g, a, dt);
      if (da === null) return sumTerms(g, node.id, [byT]);
      const s = op(g, 'logsumexp_grad', a);
      const sdot = softmaxJvp(g, a, da);
      const r = op(g, 'sub', t, op(g, 'dot', s, t));
      const byA = op(g, 'sub', op(g, 'mul', sdot, r), op(g, 'mul', s, op(g, 'dot', sdot, t)));
      return sumTerms(g, node.id, [byT, byA]);
    },
    // <ct, d(J t)> in adot is <sdot, w> with w = ct .* r - <s, ct> t, = <adot, J w> (J symmetric).
    vjp: (g, node, ct) => {
      const [a, t] = node.args;
      const s = op(g, 'logsumexp_grad', a);
      const r = op(g, 'sub', t, op(g, 'dot', s, t));
      const w = op(g, 'sub', op(g, 'mul', ct, r), op(g, 'mul', op(g, 'dot', s, ct), t));
      return [softmaxJvp(g, a, w), softmaxJvp(g, a, ct)];
    },
  },
  {
    name: 'norm2_grad', surface: 'internal', params: ['a'], summary: 'selected gradient of norm2: a / |a|_2, and 0 at a = 0 (the tie)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps at a = 0', shape: rules.likeFirst, structure: {},
    // First-order only: no derivative rules (a second derivative of norm2 is not needed in v1).
  },
  {
    name: 'norminf_grad', surface: 'internal', params: ['a'], summary: 'selected gradient of norminf: sign(a_k) e_k, k the first entry of largest |a_k| (ties: the first)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where the largest entry changes', shape: rules.likeFirst, structure: {},
    ...flat,
  },
];
