import { flat, op, sumTerms, unbroadcast } from './build.ts';
import * as rules from './shape-rules.ts';
import type { Builder, NodeId, PrimalNode, PrimitiveSpec } from './types.ts';

// Reductions to a scalar, and norms. A norm's derivative is `<gradient, adot>` with a
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
    name: 'norm2_grad', surface: 'internal', params: ['a'], summary: 'selected gradient of norm2: a / |a|_2, and 0 at a = 0 (the tie)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps at a = 0', shape: rules.likeFirst, structure: {},
    // First-order only: no derivative rules (a second derivative of norm2 is not needed in v1).
  },
  {
    name: 'norminf_grad', surface: 'internal', params: ['a'], summary: 'selected gradient of norminf: sign(a_k) e_k, k the first entry of largest |a_k| (ties: the first)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where the largest entry changes', shape: rules.likeFirst, structure: {},
    ...flat,
  },
];
