import * as rules from './shape-rules.ts';
import type { Primitive } from './types.ts';

// The surface operators + - * / .* ./ ^ ' and unary minus.
export const arithmetic: Primitive[] = [
  { name: 'add', surface: 'operator', params: ['a', 'b'], summary: 'a + b (scalars broadcast)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, linear: true } },
  { name: 'sub', surface: 'operator', params: ['a', 'b'], summary: 'a - b (scalars broadcast)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, linear: true } },
  { name: 'neg', surface: 'operator', params: ['a'], summary: '-a', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, linear: true } },
  { name: 'mul', surface: 'operator', params: ['a', 'b'], summary: 'a .* b, or scaling when one side is a scalar', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'matmul', surface: 'operator', params: ['A', 'B'], summary: 'matrix product A * B', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.matmul, structure: {} },
  { name: 'div', surface: 'operator', params: ['a', 'b'], summary: 'a / b with b a scalar', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'not Lipschitz (not even defined) where the divisor is 0', shape: rules.scalarRight('division'), structure: {} },
  { name: 'div_elementwise', surface: 'operator', params: ['a', 'b'], summary: 'a ./ b elementwise', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'not Lipschitz (not even defined) where a divisor is 0', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'pow', surface: 'operator', params: ['a', 'k'], summary: 'a ^ k elementwise, k a scalar', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'a non-integer or negative exponent is not Lipschitz at 0', shape: rules.scalarRight('power'), structure: { elementwise: true } },
  { name: 'transpose', surface: 'operator', params: ['A'], summary: "A'", definability: 'semialgebraic', lipschitz: 'globally', shape: rules.transpose, structure: { linear: true } },
];
