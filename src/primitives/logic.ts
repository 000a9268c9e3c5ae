import * as rules from './shape-rules.ts';
import type { Primitive } from './types.ts';

// Comparisons, logic and `if then else`. A comparison is discontinuous as a function of its
// operands, so a condition that depends on unknowns makes `select` a piecewise definition.
const cmp = (name: string, summary: string): Primitive => ({
  name, surface: 'operator', params: ['a', 'b'], summary, definability: 'semialgebraic', lipschitz: 'discontinuous',
  irregularity: 'a condition jumps from false to true', shape: rules.comparison, structure: { elementwise: true, predicate: true },
});

export const logic: Primitive[] = [
  cmp('lt', 'a < b'),
  cmp('le', 'a <= b'),
  cmp('gt', 'a > b'),
  cmp('ge', 'a >= b'),
  cmp('eq', 'a == b'),
  cmp('ne', 'a != b'),
  { name: 'and', surface: 'operator', params: ['p', 'q'], summary: 'p && q', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true } },
  { name: 'or', surface: 'operator', params: ['p', 'q'], summary: 'p || q', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true } },
  { name: 'not', surface: 'operator', params: ['p'], summary: '!p', definability: 'semialgebraic', lipschitz: 'discontinuous', shape: rules.logic, structure: { elementwise: true, predicate: true } },
  {
    name: 'select', surface: 'operator', params: ['cond', 'then', 'else'], summary: 'if cond then a else b (elementwise)',
    definability: 'semialgebraic', lipschitz: 'locally',
    irregularity: 'continuous only when both branches agree where the condition switches',
    shape: rules.select, structure: { elementwise: true },
  },
];
