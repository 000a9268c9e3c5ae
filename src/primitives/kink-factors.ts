import { complement, op, scale, sumTerms, unbroadcast } from './build.ts';
import { diagonalKink, expression, piecewiseConstant, unary } from './elementwise-rules.ts';
import * as rules from './shape-rules.ts';
import type { PrimitiveSpec } from './types.ts';

// Diagonal kink factors (MATH.md sections 3 and 5.4): internal primitives whose value is the
// element of the conservative Jacobian that the generated code uses, one kink variable per
// element, with the full range at a tie in `structure.kinkFactor`. Each takes the arguments
// of the primitive it differentiates. They are piecewise constant, so their own derivative
// rules are zero. Their values are the runtime's kernels of the same names
// (src/runtime/values/elementwise.ts), as is the value at a tie each summary states.

function factor(
  name: string,
  of: string,
  params: readonly string[],
  range: readonly [number, number],
  summary: string,
  expr: (...args: string[]) => string,
): PrimitiveSpec {
  return {
    name, surface: 'internal', params, summary, definability: 'semialgebraic', lipschitz: 'discontinuous',
    irregularity: `jumps where ${of} has a kink`, shape: rules.elementwise, structure: { elementwise: true, kinkFactor: { of, range } },
    ...piecewiseConstant(expr),
  };
}

export const kinkFactors: PrimitiveSpec[] = [
  factor('relu_d', 'relu', ['a'], [0, 1], "relu'(a): 1 for a > 0, else 0 (0 at the tie a = 0); also pos and proj_nonneg",
    (a) => `(${a} > 0.0 ? 1.0 : 0.0)`),
  factor('abs_d', 'abs', ['a'], [-1, 1], "abs'(a): sign(a), 0 at the tie a = 0; also norm1",
    (a) => `(${a} > 0.0 ? 1.0 : (${a} < 0.0 ? -1.0 : 0.0))`),
  factor('max_d', 'max', ['a', 'b'], [0, 1], 'weight of a in max(a, b): 1 for a >= b (the first argument takes a tie), else 0',
    (a, b) => `(${a} >= ${b} ? 1.0 : 0.0)`),
  factor('min_d', 'min', ['a', 'b'], [0, 1], 'weight of a in min(a, b): 1 for a <= b (the first argument takes a tie), else 0',
    (a, b) => `(${a} <= ${b} ? 1.0 : 0.0)`),
  factor('clip_d', 'clip', ['a', 'lo', 'hi'], [0, 1], 'd/da clip(a, lo, hi): 1 strictly inside (lo, hi), 0 at a bound (a tie) and beyond; also proj_box',
    (a, lo, hi) => `(${lo} < ${a} && ${a} < ${hi} ? 1.0 : 0.0)`),
  factor('soft_threshold_d', 'soft_threshold', ['u', 't'], [0, 1], 'd/du soft_threshold(u, t): 1 for |u| > t, 0 at the tie |u| = t and below',
    (u, t) => `(Math.abs(${u}) > ${t} ? 1.0 : 0.0)`),
  factor('select_d', 'select', ['s', 'a', 'b'], [0, 1],
    'weight of the then-branch a of an `if` whose condition is, in canonical form, s > 0: 1 for s > 0, else 0 (0 at the tie s = 0); a and b are carried for the jump check of its gap',
    (s) => `(${s} > 0.0 ? 1.0 : 0.0)`),
];

/** relu, pos and proj_nonneg: max(a, 0), derivative relu_d(a); the runtime's kernel of each is the same function. */
export const reluRules = unary((a) => `Math.max(${a}, 0.0)`, (g, a) => op(g, 'relu_d', a));

/** Distance from the kink: |a|. */
export const reluKink = diagonalKink({ condition: 'a = 0', used: "0 (relu'(0) = 0)", range: [0, 1], rangeText: '[0, 1]', factor: 'relu_d', gap: 'relu' });

/**
 * clip and proj_box: min(max(a, lo), hi). With d = clip_d(a, lo, hi) the tangent is
 * d adot + (1 - d) (hidot where the value is hi, else lodot): at a tie the bound takes the
 * weight, and for lo > hi (value hi everywhere) so does hi.
 */
export const boxRules: Pick<PrimitiveSpec, 'jvp' | 'vjp' | 'scalarExpr' | 'kink'> = {
  jvp: (g, node, [da, dlo, dhi]) => {
    const [a, lo, hi] = node.args;
    const d = op(g, 'clip_d', a, lo, hi);
    const zero = g.constant(0);
    const bound = dlo === null && dhi === null
      ? null
      : op(g, 'mul', complement(g, d), op(g, 'select', op(g, 'eq', node.id, hi), dhi ?? zero, dlo ?? zero));
    return sumTerms(g, node.id, [scale(g, d, da), bound]);
  },
  vjp: (g, node, ct) => {
    const [a, lo, hi] = node.args;
    const d = op(g, 'clip_d', a, lo, hi);
    const zero = g.constant(0);
    const atBound = op(g, 'mul', complement(g, d), ct);
    const onHi = op(g, 'eq', node.id, hi);
    return [
      unbroadcast(g, op(g, 'mul', d, ct), a),
      unbroadcast(g, op(g, 'select', onHi, zero, atBound), lo),
      unbroadcast(g, op(g, 'select', onHi, atBound, zero), hi),
    ];
  },
  scalarExpr: expression((a, lo, hi) => `Math.min(Math.max(${a}, ${lo}), ${hi})`),
  // Distance from the kink: min(|a - lo|, |a - hi|).
  kink: diagonalKink({ condition: 'a = lo or a = hi', used: '0 (the bound takes the weight)', range: [0, 1], rangeText: '[0, 1]', factor: 'clip_d', gap: 'clip' }),
};
