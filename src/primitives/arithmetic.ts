import { addInterval, invInterval, mulInterval, negInterval, powInterval } from './interval.ts';
import { op, product, reshapeTo, scale, sumTerms, unbroadcast } from './build.ts';
import { expression } from './elementwise-rules.ts';
import * as rules from './shape-rules.ts';
import type { Builder, NodeId, PrimitiveSpec } from './types.ts';

/** a^k for real k; a negative base needs an integer k (else NaN, as in JavaScript). */
function powExpr(a: string, k: string): string {
  // GLSL's pow is undefined for a < 0: take the sign from k's parity instead.
  return `(${a} >= 0.0 || Math.floor(${k}) != ${k} ? Math.pow(${a}, ${k}) : (Math.floor(0.5 * ${k}) * 2.0 == ${k} ? 1.0 : -1.0) * Math.pow(-${a}, ${k}))`;
}

// The surface operators + - * / .* ./ ^ ' and unary minus. Values are the runtime's kernels
// of the same names (src/runtime/values: elementwise.ts, tensor.ts).
export const arithmetic: PrimitiveSpec[] = [
  {
    name: 'add', interval: ([a, b]) => addInterval(a, b), notation: { infix: '+' }, surface: 'operator', params: ['a', 'b'], summary: 'a + b (scalars broadcast)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { linearForm: 'sum', elementwise: true, linear: true },
    jvp: (g, node, [da, db]) => sumTerms(g, node.id, [da, db]),
    vjp: (g, node, ct) => [unbroadcast(g, ct, node.args[0]), unbroadcast(g, ct, node.args[1])],
    scalarExpr: expression((a, b) => `${a} + ${b}`),
  },
  {
    name: 'sub', interval: ([a, b]) => addInterval(a, negInterval(b)), notation: { infix: '-' }, surface: 'operator', params: ['a', 'b'], summary: 'a - b (scalars broadcast)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { linearForm: 'difference', elementwise: true, linear: true },
    jvp: (g, node, [da, db]) => sumTerms(g, node.id, [da, db === null ? null : op(g, 'neg', db)]),
    vjp: (g, node, ct) => [unbroadcast(g, ct, node.args[0]), unbroadcast(g, op(g, 'neg', ct), node.args[1])],
    scalarExpr: expression((a, b) => `${a} - ${b}`),
  },
  {
    name: 'neg', interval: ([a]) => negInterval(a), notation: { prefix: '-' }, surface: 'operator', params: ['a'], summary: '-a', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { linearForm: 'negation', elementwise: true, linear: true },
    jvp: (g, node, [da]) => sumTerms(g, node.id, [da === null ? null : op(g, 'neg', da)]),
    vjp: (g, node, ct) => [unbroadcast(g, op(g, 'neg', ct), node.args[0])],
    scalarExpr: expression((a) => `-${a}`),
  },
  {
    name: 'mul', interval: ([a, b]) => mulInterval(a, b), notation: { infix: '.*' }, surface: 'operator', params: ['a', 'b'], summary: 'a .* b, or scaling when one side is a scalar', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.elementwise, structure: { linearForm: 'product', bilinear: true, elementwise: true },
    jvp: (g, node, [da, db]) => {
      const [a, b] = node.args;
      return sumTerms(g, node.id, [scale(g, b, da), scale(g, a, db)]);
    },
    vjp: (g, node, ct) => {
      const [a, b] = node.args;
      return [unbroadcast(g, op(g, 'mul', ct, b), a), unbroadcast(g, op(g, 'mul', ct, a), b)];
    },
    scalarExpr: expression((a, b) => `${a} * ${b}`),
  },
  {
    name: 'matmul', notation: { infix: '*' }, surface: 'operator', params: ['A', 'B'], summary: 'matrix product A * B', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.matmul, structure: { linearForm: 'matrix product', bilinear: true,},
    jvp: (g, node, [dA, dB]) => {
      const [A, B] = node.args;
      return sumTerms(g, node.id, [dA === null ? null : product(g, dA, B), dB === null ? null : product(g, A, dB)]);
    },
    // Abar = Cbar B', Bbar = A' Cbar, laid out as the arguments (a vector is a column).
    vjp: (g, node, ct) => {
      const [A, B] = node.args;
      return [reshapeTo(g, product(g, ct, op(g, 'transpose', B)), A), reshapeTo(g, product(g, op(g, 'transpose', A), ct), B)];
    },
  },
  {
    name: 'div', interval: ([a, b]) => mulInterval(a, invInterval(b)), notation: { infix: '/' }, surface: 'operator', params: ['a', 'b'], summary: 'a / b with b a scalar', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'not Lipschitz (not even defined) where the divisor is 0', shape: rules.scalarRight('division'), structure: { linearForm: 'quotient', divisor: 1, elementwise: true },
    // (adot - (a / b) bdot) / b
    jvp: (g, node, [da, db]) => {
      const numerator = sumTerms(g, node.id, [da, db === null ? null : op(g, 'neg', op(g, 'mul', node.id, db))]);
      return numerator === null ? null : op(g, 'div', numerator, node.args[1]);
    },
    vjp: (g, node, ct) => {
      const [a, b] = node.args;
      const q = op(g, 'div', ct, b);
      return [unbroadcast(g, q, a), unbroadcast(g, op(g, 'neg', op(g, 'mul', q, node.id)), b)];
    },
    scalarExpr: expression((a, b) => `${a} / ${b}`),
  },
  {
    name: 'div_elementwise', interval: ([a, b]) => mulInterval(a, invInterval(b)), notation: { infix: './' }, surface: 'operator', params: ['a', 'b'], summary: 'a ./ b elementwise', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'not Lipschitz (not even defined) where a divisor is 0', shape: rules.elementwise, structure: { divisor: 1, elementwise: true },
    jvp: (g, node, [da, db]) => {
      const numerator = sumTerms(g, node.id, [da, db === null ? null : op(g, 'neg', op(g, 'mul', node.id, db))]);
      return numerator === null ? null : op(g, 'div_elementwise', numerator, node.args[1]);
    },
    vjp: (g, node, ct) => {
      const [a, b] = node.args;
      const q = op(g, 'div_elementwise', ct, b);
      return [unbroadcast(g, q, a), unbroadcast(g, op(g, 'neg', op(g, 'mul', q, node.id)), b)];
    },
    scalarExpr: expression((a, b) => `${a} / ${b}`),
  },
  {
    name: 'pow', interval: ([a], [, k]) => powInterval(a, k), notation: { infix: '^' }, surface: 'operator', params: ['a', 'k'], summary: 'a ^ k elementwise, k a scalar', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'a non-integer or negative exponent is not Lipschitz at 0', shape: rules.scalarRight('power'), structure: { power: true, elementwise: true },
    // d/da = k a^(k-1); d/dk = a^k log(a) (only where a > 0, the only place k may vary).
    jvp: (g, node, [da, dk]) => {
      const [a, k] = node.args;
      const byK = dk === null ? null : op(g, 'mul', op(g, 'mul', node.id, op(g, 'log', a)), dk);
      return sumTerms(g, node.id, [scale(g, powSlope(g, a, k), da), byK]);
    },
    vjp: (g, node, ct) => {
      const [a, k] = node.args;
      return [unbroadcast(g, op(g, 'mul', ct, powSlope(g, a, k)), a), unbroadcast(g, op(g, 'mul', ct, op(g, 'mul', node.id, op(g, 'log', a))), k)];
    },
    scalarExpr: expression(powExpr),
  },
  {
    name: 'transpose', interval: ([a]) => a, surface: 'operator', params: ['A'], summary: "A'", definability: 'semialgebraic', lipschitz: 'globally', shape: rules.transpose, structure: { linear: true, transpose: true },
    jvp: (g, _node, [dA]) => (dA === null ? null : op(g, 'transpose', dA)),
    vjp: (g, node, ct) => [reshapeTo(g, op(g, 'transpose', ct), node.args[0])],
  },
];

function powSlope(g: Builder, a: NodeId, k: NodeId): NodeId {
  return op(g, 'mul', k, op(g, 'pow', a, op(g, 'sub', k, g.constant(1))));
}
