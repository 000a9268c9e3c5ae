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
