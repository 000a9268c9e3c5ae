/**
 * "A tool that ignores the condition": the textbook rules of implicit and unrolled
 * differentiation, run on the very kernels implc generates for a model (its residual, its
 * fixed-point map, the element of the conservative Jacobian that AD selects at a kink),
 * with every safety check removed. No certificate, no convergence test that stops the
 * caller, no singularity test in the linear solves: IEEE arithmetic decides what comes out
 * (1/0 = Infinity, 0/0 = NaN), as in a framework that calls `solve(B, -A)` or divides.
 *
 * The pathological demo drives gradient descent with these numbers and sets them beside
 * what implc itself returns at the same points.
 */
import { assembleB } from '../src/runtime/implicit-system.ts';
import type { ModelInstance } from '../src/runtime/model.ts';

/** Largest |F_i|; NaN when an entry is NaN (Math.max propagates NaN). */
export function residualNorm(model: ModelInstance, y: Float64Array): number {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  return Math.max(0, ...Array.from(F, Math.abs));
}

/** B = dF/dy at y with the kink factors AD selects there, as rows (n x n). */
export function selectedB(model: ModelInstance, y: Float64Array): number[][] {
  const B = assembleB(model, y, model.kinkFactors(y), null);
  return Array.from({ length: B.rows }, (_, i) => Array.from(B.data.subarray(i * B.cols, (i + 1) * B.cols)));
}

/** A = dF/dx at y with the kink factors AD selects there, as rows (n x m). */
export function selectedA(model: ModelInstance, y: Float64Array): number[][] {
  const factors = model.kinkFactors(y);
  const A = Array.from({ length: model.n }, () => new Array<number>(model.m).fill(0));
  const e = new Float64Array(model.m);
  const col = new Float64Array(model.n);
  for (let j = 0; j < model.m; j++) {
    e[j] = 1;
    model.jvpX(y, factors, e, col);
    e[j] = 0;
    for (let i = 0; i < model.n; i++) A[i][j] = col[i];
  }
  return A;
}

/**
 * Gaussian elimination with partial pivoting and no singularity test: M X = R, columns of
 * R solved together. A zero pivot divides by zero, as an unguarded dense solve does.
 */
export function naiveLinearSolve(M: readonly number[][], R: readonly number[][]): number[][] {
  const n = M.length;
  const a = M.map((row, i) => [...row, ...R[i]]);
  const w = a[0].length;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k < w; k++) a[r][k] -= f * a[c][k];
    }
  }
  const X = Array.from({ length: n }, () => new Array<number>(w - n).fill(0));
  for (let j = 0; j < w - n; j++) {
    for (let i = n - 1; i >= 0; i--) {
      let s = a[i][n + j];
      for (let k = i + 1; k < n; k++) s -= a[i][k] * X[k][j];
      X[i][j] = s / a[i][i];
    }
  }
  return X;
}

/** The textbook implicit derivative dy/dx = -B^{-1} A with AD's element B: n x m rows. */
export function naiveImplicitJacobian(model: ModelInstance, y: Float64Array): number[][] {
  const A = selectedA(model, y);
  return naiveLinearSolve(
    selectedB(model, y),
    A.map((row) => row.map((v) => -v)),
  );
}

export interface NaiveSolve {
  y: Float64Array;
  /** ||F(y)||_inf at the returned y. */
  residual: number;
  iterations: number;
  /** Whether ||F|| reached the tolerance (the naive caller ignores it). */
  reached: boolean;
}

/**
 * Newton's method with AD's element of the Jacobian, from a warm start, returning its last
 * iterate whatever happened (the habit of a layer that runs a fixed iteration budget).
 */
export function naiveNewton(model: ModelInstance, y0: Float64Array, tol = 1e-12, maxIter = 100): NaiveSolve {
  const y = Float64Array.from(y0);
  const F = new Float64Array(model.n);
  let it = 0;
  for (; it < maxIter; it++) {
    model.residual(y, F);
    const r = Math.max(0, ...Array.from(F, Math.abs));
    if (r <= tol || !Number.isFinite(r)) break;
    const step = naiveLinearSolve(
      selectedB(model, y),
      Array.from(F, (v) => [v]),
    );
    for (let i = 0; i < model.n; i++) y[i] -= step[i][0];
  }
  const residual = residualNorm(model, y);
  return { y, residual, iterations: it, reached: residual <= tol };
}

/** Plain fixed-point iteration y <- T(y), at most maxIter steps, stopping when ||F|| <= tol. */
export function naiveFixedPoint(model: ModelInstance, y0: Float64Array, tol = 1e-12, maxIter = 1000): NaiveSolve {
  const y = Float64Array.from(y0);
  const next = new Float64Array(model.n);
  let it = 0;
  for (; it < maxIter; it++) {
    if (residualNorm(model, y) <= tol) break;
    model.map(y, next);
    y.set(next);
  }
  const residual = residualNorm(model, y);
  return { y, residual, iterations: it, reached: residual <= tol };
}

export interface Unrolled {
  /** y_K after K steps of y <- T(y) from y0. */
  y: Float64Array;
  /** d y_K / dx: n x m rows, differentiated through the K steps (AD's kink elements). */
  jacobian: number[][];
  /** ||F(y_K)||_inf: how far y_K is from a fixed point. */
  residual: number;
}

/**
 * Unrolled (piggyback) differentiation of K fixed-point steps from a start that does not
 * depend on x: J_{k+1} = T_y(y_k) J_k + T_x(y_k), with T_y = I - B and T_x = -A at y_k.
 */
export function unrolled(model: ModelInstance, y0: Float64Array, K: number): Unrolled {
  const n = model.n;
  const m = model.m;
  let y = Float64Array.from(y0);
  let J = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  const next = new Float64Array(n);
  for (let k = 0; k < K; k++) {
    const B = selectedB(model, y);
    const A = selectedA(model, y);
    const Jn = Array.from({ length: n }, (_, i) =>
      Array.from({ length: m }, (_, j) => {
        let s = -A[i][j];
        for (let l = 0; l < n; l++) s += ((i === l ? 1 : 0) - B[i][l]) * J[l][j];
        return s;
      }),
    );
    model.map(y, next);
    y = Float64Array.from(next);
    J = Jn;
  }
  return { y, jacobian: J, residual: residualNorm(model, y) };
}
