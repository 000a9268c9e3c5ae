// Optimality measures for the three model families of the spelling benches (the Lasso, the
// elastic net, the box QP), computed in f64 from the problem's own data and never from the
// generated module: a spelling's fixed-point residual ||beta - T(beta)|| is scaled by its own
// step and signs, so only a measure of the optimization problem compares spellings fairly.
import { gradient, kkt, type Problem } from './lasso.ts';

export type { Problem } from './lasso.ts';

/** Largest violation of the Lasso conditions, relative to lambda (bench/lasso.ts `kkt`). */
export const lassoKkt = kkt;

/**
 * Elastic net, min 1/2 ||X b - y||^2 + lambda1 ||b||_1 + lambda2 / 2 ||b||^2: with the smooth
 * gradient g = X'(X b - y) + lambda2 b, |g_j + lambda1 sign(b_j)| on the support and the
 * excess of |g_j| over lambda1 off it, relative to lambda1 (as the Lasso's).
 */
export function elasticNetKkt(P: Problem, beta: ArrayLike<number>, lambda1: number, lambda2: number): number {
  const g = gradient(P, beta);
  let worst = 0;
  for (let j = 0; j < P.p; j++) {
    const gj = g[j] + lambda2 * beta[j];
    const v = beta[j] !== 0 ? Math.abs(gj + lambda1 * Math.sign(beta[j])) : Math.max(0, Math.abs(gj) - lambda1);
    worst = Math.max(worst, v / lambda1);
  }
  return worst;
}

/** A box QP, min 1/2 y'Qy + q'y subject to lo <= y <= hi, Q symmetric k x k row-major. */
export interface BoxQp {
  k: number;
  Q: Float64Array;
  q: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
}

/**
 * Largest violation of the box QP's conditions, relative to ||q||_inf (the gradient at 0, as
 * lambda_max scales the Lasso's): with g = Q y + q, |g_j| strictly inside the box, the part of
 * g_j that points out of the box at a bound (-g_j at lo, g_j at hi), and an infeasibility
 * converted to gradient units by Q_jj. A coordinate counts as at a bound within 1e-12 of its
 * scale: a Newton step lands on a bound up to rounding, a projection exactly.
 */
export function boxQpKkt(B: BoxQp, y: ArrayLike<number>): number {
  const { k, Q, q, lo, hi } = B;
  let scale = 0;
  for (let j = 0; j < k; j++) scale = Math.max(scale, Math.abs(q[j]));
  let worst = 0;
  for (let j = 0; j < k; j++) {
    let g = q[j];
    for (let i = 0; i < k; i++) g += Q[j * k + i] * y[i];
    const near = 1e-12 * Math.max(1, Math.abs(lo[j]), Math.abs(hi[j]));
    const infeasible = Math.max(0, lo[j] - y[j], y[j] - hi[j]) * Math.abs(Q[j * k + j]);
    let v: number;
    if (y[j] - lo[j] <= near && hi[j] - y[j] <= near) v = 0; // lo = hi: any gradient is fine
    else if (y[j] - lo[j] <= near) v = Math.max(0, -g);
    else if (hi[j] - y[j] <= near) v = Math.max(0, g);
    else v = Math.abs(g);
    worst = Math.max(worst, (v + infeasible) / (scale || 1));
  }
  return worst;
}

/** lambda_max = ||X'y||_inf: the smallest lambda at which the Lasso's solution is 0. */
export function lambdaMax(P: Problem): number {
  let m = 0;
  for (const g of gradient(P, new Float64Array(P.p))) m = Math.max(m, Math.abs(g));
  return m;
}

/** Mean squared column norm of X, trace(X'X) / p: the scale the elastic net's lambda2 is set against. */
export function meanColumnSumsq(P: Problem): number {
  let s = 0;
  for (let i = 0; i < P.n * P.p; i++) s += P.X[i] * P.X[i];
  return s / P.p;
}
