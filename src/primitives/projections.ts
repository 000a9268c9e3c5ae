import * as rules from './shape-rules.ts';
import type { Primitive } from './types.ts';

// Euclidean projections onto closed convex sets: 1-Lipschitz, and every element of their
// conservative Jacobian is symmetric PSD with norm <= 1 (MATH.md section 6).
export const projections: Primitive[] = [
  { name: 'proj_nonneg', surface: 'function', params: ['v'], summary: 'projection onto the nonnegative orthant', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, projection: 'nonneg' } },
  { name: 'proj_box', surface: 'function', params: ['v', 'lo', 'hi'], summary: 'projection onto the box [lo, hi]', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, projection: 'box' } },
  { name: 'proj_simplex', surface: 'function', params: ['v'], summary: 'projection onto the probability simplex (sparsemax)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true, projection: 'simplex' } },
  { name: 'proj_l1ball', surface: 'function', params: ['v', 'r'], summary: 'projection onto the l1 ball of radius r', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true, projection: 'l1ball' } },
  { name: 'proj_soc', surface: 'function', params: ['v'], summary: 'projection onto the second-order cone {(t, x): |x| <= t}, v = (t, x)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true, projection: 'soc' } },
];
