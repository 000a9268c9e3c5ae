/**
 * A separable composite quadratic problem, the form the analysis recognizes in a prox or
 * projection fixpoint whatever its spelling (src/analysis/structure.ts):
 *
 *     min_y  1/2 y' H y - c' y + sum_j g_j(y_j),
 *     H = identity I + diag(diagonal) + sum_k coef_k Z_k' Z_k + sum_k coef_k Q_k,
 *
 * with g_j the penalty of one coordinate: lambda_j |y_j| ('l1'), the indicator of
 * [lower_j, upper_j] ('box'), or 0 ('none'). The fixpoint y = P(y - (H y - c)) with P the
 * row-wise prox of g has exactly this problem's stationary points as its fixed points.
 * Generated modules build it from hoisted values (`compositeProblem()`); the runtime solves
 * it by coordinate descent (composite-cd.ts) and judges the result by the model's own F.
 */
import { SolverError } from './status.ts';
import type { Tensor } from './tensor.ts';

/** coef Z' Z with Z = matrix (transposed false) or matrix' (transposed true). */
export interface GramTerm {
  coef: number;
  matrix: Tensor;
  transposed: boolean;
}

/** coef Q with Q square (the solver refuses a Q that is not symmetric). */
export interface MatrixTerm {
  coef: number;
  matrix: Tensor;
}

export type Penalty =
  | { kind: 'l1'; weights: Float64Array }
  | { kind: 'box'; lower: Float64Array; upper: Float64Array }
  | { kind: 'none' };

export interface CompositeProblem {
  /** Number of coordinates. */
  size: number;
  identity: number;
  diagonal: Float64Array | null;
  grams: GramTerm[];
  matrices: MatrixTerm[];
  /** c. */
  offset: Float64Array;
  penalty: Penalty;
}

/** A scalar or n-vector tensor as n numbers (a copy): thresholds, offsets. */
export function spread(t: Tensor, n: number): Float64Array {
  if (t.data.length === n) return t.data.slice();
  if (t.data.length === 1) return new Float64Array(n).fill(t.data[0]);
  throw new SolverError('dimension-mismatch', `a composite problem's vector has ${t.data.length} entries, not 1 or ${n}`);
}

/**
 * The intersection of the boxes' bounds on one side: the largest lower bound (`side` -1) or
 * the smallest upper bound (1) per entry, +-Infinity where none is given.
 */
export function bound(bounds: readonly Tensor[], n: number, side: -1 | 1): Float64Array {
  const out = new Float64Array(n).fill(side === -1 ? -Infinity : Infinity);
  for (const b of bounds) {
    const v = spread(b, n);
    for (let i = 0; i < n; i++) out[i] = side === -1 ? Math.max(out[i], v[i]) : Math.min(out[i], v[i]);
  }
  return out;
}

/** sum_k coef_k diag(d_k) as its n diagonal entries. */
export function sumDiagonals(terms: readonly (readonly [number, Tensor])[], n: number): Float64Array {
  const out = new Float64Array(n);
  for (const [coef, d] of terms) {
    const v = spread(d, n);
    for (let i = 0; i < n; i++) out[i] += coef * v[i];
  }
  return out;
}
