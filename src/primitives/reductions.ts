import * as rules from './shape-rules.ts';
import type { Primitive } from './types.ts';

// Reductions to a scalar, and norms.
export const reductions: Primitive[] = [
  { name: 'sum', surface: 'function', params: ['a'], summary: 'sum of all entries', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: { linear: true } },
  { name: 'mean', surface: 'function', params: ['a'], summary: 'mean of all entries', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: { linear: true } },
  { name: 'dot', surface: 'function', params: ['a', 'b'], summary: 'sum of a .* b', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.pairReduction, structure: {} },
  { name: 'sumsq', surface: 'function', params: ['a'], summary: 'sum of squares of all entries', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.reduction, structure: {} },
  { name: 'norm1', surface: 'function', params: ['a'], summary: 'sum of |entries|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {} },
  { name: 'norm2', surface: 'function', params: ['a'], summary: 'Euclidean (Frobenius) norm', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {} },
  { name: 'norminf', surface: 'function', params: ['a'], summary: 'largest |entry|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {} },
  { name: 'opnorm', surface: 'function', params: ['A'], summary: 'spectral norm (largest singular value); data-only in v1', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.matrixNorm, structure: {} },
];
