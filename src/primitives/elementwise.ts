import { log1pInterval, monotoneInterval, negInterval } from './interval.ts';
import { complement, op, scale, sumTerms, unbroadcast } from './build.ts';
import { diagonalKink, expression, piecewiseConstant, unary } from './elementwise-rules.ts';
import { boxRules, reluKink, reluRules } from './kink-factors.ts';
import * as rules from './shape-rules.ts';
import type { Builder, NodeId, PrimitiveSpec } from './types.ts';

// Elementwise functions of LANGUAGE.md "Primitives". Scalars broadcast against arrays.
// Nonsmooth ones differentiate through a diagonal kink factor (kink-factors.ts), smooth ones
// through ordinary derivative nodes. Values and kink gaps are the runtime's kernels of the
// same names (src/runtime/values/elementwise.ts).

/** Derivative rules of `max` / `min`: convex weights d on a and 1 - d on b, d = factor(a, b). */
function convexWeightRules(factor: string): Pick<PrimitiveSpec, 'jvp' | 'vjp'> {
  return {
    jvp: (g, node, [da, db]) => {
      const d = op(g, factor, ...node.args);
      return sumTerms(g, node.id, [scale(g, d, da), scale(g, complement(g, d), db)]);
    },
    vjp: (g, node, ct) => {
      const [a, b] = node.args;
      const d = op(g, factor, a, b);
      return [unbroadcast(g, op(g, 'mul', d, ct), a), unbroadcast(g, op(g, 'mul', complement(g, d), ct), b)];
    },
  };
}

const call = (name: string) => (g: Builder, a: NodeId) => op(g, name, a);

export const elementwisePrimitives: PrimitiveSpec[] = [
  {
    name: 'abs', interval: ([a]) => (a[0] >= 0 ? a : a[1] <= 0 ? negInterval(a) : [0, Math.max(-a[0], a[1])]), surface: 'function', params: ['a'], summary: '|a|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true },
    ...unary((a) => `Math.abs(${a})`, call('abs_d')),
    kink: diagonalKink({ condition: 'a = 0', used: "0 (abs'(0) = 0)", range: [-1, 1], rangeText: '[-1, 1]', factor: 'abs_d', gap: 'abs' }),
  },
  {
    name: 'relu', interval: ([a]) => [Math.max(a[0], 0), Math.max(a[1], 0)], surface: 'function', params: ['a'], summary: 'max(a, 0)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, prox: { penalty: 'box', lower: 'zero', upper: null } },
    ...reluRules, kink: reluKink,
  },
  {
    name: 'pos', interval: ([a]) => [Math.max(a[0], 0), Math.max(a[1], 0)], surface: 'function', params: ['a'], summary: 'max(a, 0) (positive part)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, prox: { penalty: 'box', lower: 'zero', upper: null } },
    ...reluRules, kink: reluKink,
  },
  {
    name: 'max', interval: ([a, b]) => [Math.max(a[0], b[0]), Math.max(a[1], b[1])], surface: 'function', params: ['a', 'b'], summary: 'elementwise maximum', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, prox: { penalty: 'box', either: 'lower' } },
    ...convexWeightRules('max_d'), scalarExpr: expression((a, b) => `Math.max(${a}, ${b})`),
    kink: diagonalKink({ condition: 'a = b', used: 'weight 1 on the first argument (d = 1)', range: [0, 1], rangeText: 'convex weights: d on a, 1 - d on b, d in [0, 1]', factor: 'max_d', gap: 'max' }),
  },
  {
    name: 'min', interval: ([a, b]) => [Math.min(a[0], b[0]), Math.min(a[1], b[1])], surface: 'function', params: ['a', 'b'], summary: 'elementwise minimum', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, prox: { penalty: 'box', either: 'upper' } },
    ...convexWeightRules('min_d'), scalarExpr: expression((a, b) => `Math.min(${a}, ${b})`),
    kink: diagonalKink({ condition: 'a = b', used: 'weight 1 on the first argument (d = 1)', range: [0, 1], rangeText: 'convex weights: d on a, 1 - d on b, d in [0, 1]', factor: 'min_d', gap: 'min' }),
  },
  {
    name: 'clip', interval: ([, lo, hi]) => [lo[0], hi[1]], surface: 'function', params: ['a', 'lo', 'hi'], summary: 'min(max(a, lo), hi)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, prox: { penalty: 'box', lower: 1, upper: 2 } },
    ...boxRules,
  },
  {
    name: 'soft_threshold', surface: 'function', params: ['u', 't'], summary: 'sign(u) max(|u| - t, 0)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, prox: { penalty: 'l1', threshold: 1 } },
    // d = [|u| > t]; d/du = d, d/dt = -sign(u) d (MATH.md section 6, Lasso: A = g D sign(u)).
    jvp: (g, node, [du, dt]) => {
      const [u, t] = node.args;
      const d = op(g, 'soft_threshold_d', u, t);
      return sumTerms(g, node.id, [scale(g, d, du), scale(g, op(g, 'neg', op(g, 'mul', op(g, 'sign', u), d)), dt)]);
    },
    vjp: (g, node, ct) => {
      const [u, t] = node.args;
      const dct = op(g, 'mul', op(g, 'soft_threshold_d', u, t), ct);
      return [unbroadcast(g, dct, u), unbroadcast(g, op(g, 'neg', op(g, 'mul', op(g, 'sign', u), dct)), t)];
    },
    scalarExpr: expression((u, t) => `(${u} > 0.0 ? 1.0 : (${u} < 0.0 ? -1.0 : 0.0)) * Math.max(Math.abs(${u}) - ${t}, 0.0)`),
    kink: diagonalKink({ condition: '|u| = t', used: '0', range: [0, 1], rangeText: '[0, 1]', factor: 'soft_threshold_d', gap: 'soft_threshold' }),
  },
  {
    name: 'huber', surface: 'function', params: ['a', 'delta'], summary: 'a^2/2 for |a| <= delta, delta (|a| - delta/2) beyond (C1)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true },
    // C1: d/da = clip(a, -delta, delta), d/ddelta = max(|a| - delta, 0).
    jvp: (g, node, [da, ddelta]) => {
      const [a, delta] = node.args;
      return sumTerms(g, node.id, [scale(g, huberSlope(g, a, delta), da), scale(g, huberDelta(g, a, delta), ddelta)]);
    },
    vjp: (g, node, ct) => {
      const [a, delta] = node.args;
      return [unbroadcast(g, op(g, 'mul', huberSlope(g, a, delta), ct), a), unbroadcast(g, op(g, 'mul', huberDelta(g, a, delta), ct), delta)];
    },
    scalarExpr: expression((a, delta) => `(Math.abs(${a}) <= ${delta} ? 0.5 * ${a} * ${a} : ${delta} * (Math.abs(${a}) - 0.5 * ${delta}))`),
  },
  {
    name: 'sqrt', interval: ([a]) => [Math.sqrt(Math.max(a[0], 0)), Math.sqrt(Math.max(a[1], 0))], surface: 'function', params: ['a'], summary: 'square root', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'not Lipschitz at 0', shape: rules.elementwise, structure: { singularAtZero: true, elementwise: true, monotone: true },
    ...unary((a) => `Math.sqrt(${a})`, (g, _a, node) => op(g, 'div_elementwise', g.constant(0.5), node)),
  },
  {
    name: 'exp', interval: monotoneInterval(Math.exp), surface: 'function', params: ['a'], summary: 'e^a', definability: 'R_exp', lipschitz: 'locally', shape: rules.elementwise, structure: { exactValues: { atMinusInf: 0, atZero: 1, atPlusInf: Infinity }, elementwise: true, monotone: true },
    ...unary((a) => `Math.exp(${a})`, (_g, _a, node) => node),
  },
  {
    name: 'log', surface: 'function', params: ['a'], summary: 'natural logarithm', definability: 'R_exp', lipschitz: 'locally', irregularity: 'undefined at 0 and below', shape: rules.elementwise, structure: { elementwise: true, monotone: true },
    ...unary((a) => `Math.log(${a})`, (g, a) => op(g, 'div_elementwise', g.constant(1), a)),
  },
  {
    // Like log: R_exp, locally Lipschitz (its slope 1 / (1 + a) is unbounded near -1), and
    // undefined at -1 and below. The batched kernel has no log1p: Kahan's log(u) * a / (u - 1)
    // with u = 1 + a keeps the relative accuracy for small a (a itself where u rounds to 1).
    name: 'log1p', interval: log1pInterval, surface: 'function', params: ['a'], summary: 'log(1 + a), accurate for small a', definability: 'R_exp', lipschitz: 'locally', irregularity: 'undefined at -1 and below', shape: rules.elementwise, structure: { elementwise: true, monotone: true },
    ...unary((a) => `(1.0 + ${a} == 1.0 ? ${a} : Math.log(1.0 + ${a}) * ${a} / ((1.0 + ${a}) - 1.0))`, (g, a) => op(g, 'div_elementwise', g.constant(1), op(g, 'add', g.constant(1), a))),
  },
  {
    name: 'softplus', interval: monotoneInterval((x) => Math.log1p(Math.exp(x))), surface: 'function', params: ['a'], summary: 'log(1 + e^a)', definability: 'R_exp', lipschitz: 'globally', shape: rules.elementwise, structure: { exactValues: { atMinusInf: 0, atPlusInf: Infinity }, elementwise: true, nonexpansive: true, monotone: true },
    ...unary((a) => `Math.max(${a}, 0.0) + Math.log(1.0 + Math.exp(-Math.abs(${a})))`, call('sigmoid')),
  },
  {
    name: 'sigmoid', interval: () => [0, 1], surface: 'function', params: ['a'], summary: '1 / (1 + e^-a)', definability: 'R_exp', lipschitz: 'globally', shape: rules.elementwise, structure: { exactValues: { atMinusInf: 0, atZero: 0.5, atPlusInf: 1 }, elementwise: true, nonexpansive: true, monotone: true },
    ...unary((a) => `(${a} >= 0.0 ? 1.0 / (1.0 + Math.exp(-${a})) : Math.exp(${a}) / (1.0 + Math.exp(${a})))`, (g, _a, node) => op(g, 'mul', node, complement(g, node))),
  },
  {
    name: 'tanh', interval: () => [-1, 1], surface: 'function', params: ['a'], summary: 'hyperbolic tangent', definability: 'R_exp', lipschitz: 'globally', shape: rules.elementwise, structure: { exactValues: { atMinusInf: -1, atZero: 0, atPlusInf: 1 }, elementwise: true, nonexpansive: true, monotone: true },
    // gpu.js has no tanh on every backend: 1 - 2 / (e^{2a} + 1) saturates cleanly in f32.
    ...unary((a) => `(1.0 - 2.0 / (Math.exp(2.0 * ${a}) + 1.0))`, (g, _a, node) => complement(g, op(g, 'mul', node, node))),
  },
  {
    name: 'sin', interval: () => [-1, 1], surface: 'function', params: ['a'], summary: 'sine (definable only on a bounded domain)', definability: 'R_an', lipschitz: 'globally', irregularity: 'not definable on an unbounded domain', shape: rules.elementwise, structure: { exactValues: { range: [-1, 1] }, boundedDomain: true, elementwise: true, nonexpansive: true },
    ...unary((a) => `Math.sin(${a})`, call('cos')),
  },
  {
    name: 'cos', interval: () => [-1, 1], surface: 'function', params: ['a'], summary: 'cosine (definable only on a bounded domain)', definability: 'R_an', lipschitz: 'globally', irregularity: 'not definable on an unbounded domain', shape: rules.elementwise, structure: { exactValues: { range: [-1, 1] }, boundedDomain: true, elementwise: true, nonexpansive: true },
    ...unary((a) => `Math.cos(${a})`, (g, a) => op(g, 'neg', op(g, 'sin', a))),
  },
  {
    name: 'sign', surface: 'function', params: ['a'], summary: 'sign of a (-1, 0, 1)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps at 0', shape: rules.elementwise, structure: { elementwise: true },
    ...piecewiseConstant((a) => `(${a} > 0.0 ? 1.0 : (${a} < 0.0 ? -1.0 : 0.0))`),
  },
  {
    name: 'step', surface: 'function', params: ['a'], summary: '1 for a > 0, else 0', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps at 0', shape: rules.elementwise, structure: { elementwise: true },
    ...piecewiseConstant((a) => `(${a} > 0.0 ? 1.0 : 0.0)`),
  },
  {
    name: 'floor', surface: 'function', params: ['a'], summary: 'largest integer <= a', definability: 'not definable', lipschitz: 'discontinuous', irregularity: 'jumps at every integer (infinitely many pieces on R)', shape: rules.elementwise, structure: { elementwise: true },
    ...piecewiseConstant((a) => `Math.floor(${a})`),
  },
  {
    name: 'round', surface: 'function', params: ['a'], summary: 'nearest integer (ties away from 0)', definability: 'not definable', lipschitz: 'discontinuous', irregularity: 'jumps at every half-integer (infinitely many pieces on R)', shape: rules.elementwise, structure: { elementwise: true },
    ...piecewiseConstant((a) => `(${a} < 0.0 ? -Math.floor(0.5 - ${a}) : Math.floor(${a} + 0.5))`),
  },
];

function huberSlope(g: Builder, a: NodeId, delta: NodeId): NodeId {
  return op(g, 'clip', a, op(g, 'neg', delta), delta);
}

function huberDelta(g: Builder, a: NodeId, delta: NodeId): NodeId {
  return op(g, 'relu', op(g, 'sub', op(g, 'abs', a), delta));
}
