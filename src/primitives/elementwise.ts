import * as rules from './shape-rules.ts';
import type { Primitive } from './types.ts';

// Elementwise functions of LANGUAGE.md "Primitives". Scalars broadcast against arrays.
export const elementwisePrimitives: Primitive[] = [
  { name: 'abs', surface: 'function', params: ['a'], summary: '|a|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'relu', surface: 'function', params: ['a'], summary: 'max(a, 0)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true } },
  { name: 'pos', surface: 'function', params: ['a'], summary: 'max(a, 0) (positive part)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true } },
  { name: 'max', surface: 'function', params: ['a', 'b'], summary: 'elementwise maximum', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'min', surface: 'function', params: ['a', 'b'], summary: 'elementwise minimum', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'clip', surface: 'function', params: ['a', 'lo', 'hi'], summary: 'min(max(a, lo), hi)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true } },
  { name: 'soft_threshold', surface: 'function', params: ['u', 't'], summary: 'sign(u) max(|u| - t, 0)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true } },
  { name: 'huber', surface: 'function', params: ['a', 'delta'], summary: 'a^2/2 for |a| <= delta, delta (|a| - delta/2) beyond (C1)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'sqrt', surface: 'function', params: ['a'], summary: 'square root', definability: 'semialgebraic', lipschitz: 'locally', irregularity: 'not Lipschitz at 0', shape: rules.elementwise, structure: { elementwise: true, monotone: true } },
  { name: 'exp', surface: 'function', params: ['a'], summary: 'e^a', definability: 'R_exp', lipschitz: 'locally', shape: rules.elementwise, structure: { elementwise: true, monotone: true } },
  { name: 'log', surface: 'function', params: ['a'], summary: 'natural logarithm', definability: 'R_exp', lipschitz: 'locally', irregularity: 'undefined at 0 and below', shape: rules.elementwise, structure: { elementwise: true, monotone: true } },
  { name: 'softplus', surface: 'function', params: ['a'], summary: 'log(1 + e^a)', definability: 'R_exp', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true } },
  { name: 'sigmoid', surface: 'function', params: ['a'], summary: '1 / (1 + e^-a)', definability: 'R_exp', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true } },
  { name: 'tanh', surface: 'function', params: ['a'], summary: 'hyperbolic tangent', definability: 'R_exp', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true } },
  { name: 'sin', surface: 'function', params: ['a'], summary: 'sine (definable only on a bounded domain)', definability: 'R_an', lipschitz: 'globally', irregularity: 'not definable on an unbounded domain', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true } },
  { name: 'cos', surface: 'function', params: ['a'], summary: 'cosine (definable only on a bounded domain)', definability: 'R_an', lipschitz: 'globally', irregularity: 'not definable on an unbounded domain', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true } },
  { name: 'sign', surface: 'function', params: ['a'], summary: 'sign of a (-1, 0, 1)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps at 0', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'step', surface: 'function', params: ['a'], summary: '1 for a > 0, else 0', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps at 0', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'floor', surface: 'function', params: ['a'], summary: 'largest integer <= a', definability: 'not definable', lipschitz: 'discontinuous', irregularity: 'jumps at every integer (infinitely many pieces on R)', shape: rules.elementwise, structure: { elementwise: true } },
  { name: 'round', surface: 'function', params: ['a'], summary: 'nearest integer (ties away from 0)', definability: 'not definable', lipschitz: 'discontinuous', irregularity: 'jumps at every half-integer (infinitely many pieces on R)', shape: rules.elementwise, structure: { elementwise: true } },
];
