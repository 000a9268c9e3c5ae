import { flat, op, sumTerms, unbroadcast } from './build.ts';
import { expression } from './elementwise-rules.ts';
import * as rules from './shape-rules.ts';
import type { PrimitiveSpec } from './types.ts';

// Comparisons, logic and `if then else`. A comparison is discontinuous as a function of its
// operands, so a condition that depends on unknowns makes `select` a piecewise definition.
// Conditions are stored as 1 (true) and 0 (false); their derivative rules are zero. Values are
// the runtime's kernels of the same names (src/runtime/values/elementwise.ts).

const cmp = (name: string, summary: string, jsOp: string): PrimitiveSpec => ({
  name, surface: 'operator', params: ['a', 'b'], summary, definability: 'semialgebraic', lipschitz: 'discontinuous',
  irregularity: 'a condition jumps from false to true', shape: rules.comparison, structure: { elementwise: true, predicate: true },
  ...flat,
  scalarExpr: expression((a, b) => `(${a} ${jsOp} ${b} ? 1.0 : 0.0)`),
});

export const logic: PrimitiveSpec[] = [
  cmp('lt', 'a < b', '<'),
  cmp('le', 'a <= b', '<='),
  cmp('gt', 'a > b', '>'),
  cmp('ge', 'a >= b', '>='),
  cmp('eq', 'a == b', '=='),
  cmp('ne', 'a != b', '!='),
  {
    name: 'and', surface: 'operator', params: ['p', 'q'], summary: 'p && q', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true },
    ...flat,
    scalarExpr: expression((p, q) => `(${p} != 0.0 && ${q} != 0.0 ? 1.0 : 0.0)`),
  },
  {
    name: 'or', surface: 'operator', params: ['p', 'q'], summary: 'p || q', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true },
    ...flat,
    scalarExpr: expression((p, q) => `(${p} != 0.0 || ${q} != 0.0 ? 1.0 : 0.0)`),
  },
  {
    name: 'not', surface: 'operator', params: ['p'], summary: '!p', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true },
    ...flat,
    scalarExpr: expression((p) => `(${p} == 0.0 ? 1.0 : 0.0)`),
  },
  {
    name: 'select', interval: ([, a, b]) => [Math.min(a[0], b[0]), Math.max(a[1], b[1])], surface: 'operator', params: ['cond', 'then', 'else'], summary: 'if cond then a else b (elementwise)',
    definability: 'semialgebraic', lipschitz: 'locally',
    irregularity: 'continuous only when both branches agree where the condition switches',
    shape: rules.select, structure: { piecewise: true, elementwise: true },
    // The condition is piecewise constant: the tangent takes the selected branch's tangent.
    jvp: (g, node, [, da, db]) => {
      if (da === null && db === null) return null;
      const zero = g.constant(0);
      return sumTerms(g, node.id, [op(g, 'select', node.args[0], da ?? zero, db ?? zero)]);
    },
    vjp: (g, node, ct) => {
      const [c, a, b] = node.args;
      const zero = g.constant(0);
      return [null, unbroadcast(g, op(g, 'select', c, ct, zero), a), unbroadcast(g, op(g, 'select', c, zero, ct), b)];
    },
    scalarExpr: expression((c, a, b) => `(${c} != 0.0 ? ${a} : ${b})`),
  },
];
