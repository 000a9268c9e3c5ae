/**
 * Globalized semismooth Newton method for F(y) = 0 (Qi & Sun, "A nonsmooth
 * version of Newton's method", Math. Program. 58 (1993)), with the Armijo
 * backtracking line search on the merit function phi(y) = 0.5 ||F(y)||_2^2
 * (Nocedal & Wright, Numerical Optimization, 2nd ed., sec. 11.2).
 *
 * Each step solves B d = -F(y) with B an element of a generalized (Clarke or
 * conservative) Jacobian of F at y, given either as a dense matrix
 * (`jacobian`) or implicitly by a linear solver (`solveStep`). For an exact
 * solve, grad(phi) . d = F^T B d = -||F||^2 < 0, so d is a descent direction
 * wherever phi is differentiable, and local convergence is superlinear for
 * semismooth F (quadratic for strongly semismooth F, e.g. piecewise smooth
 * ones) and finite for piecewise-linear F once the active piece is found.
 */
import { luFactor, luSolve } from './lu.ts';
import { frobenius, matTvec, matvec, norm2, normInf, UNIT_ROUNDOFF, vecNorm } from './matrix.ts';
import type { Matrix } from './matrix.ts';
import { SolverError } from './status.ts';
import type { NewtonResult, NewtonStatus, NormKind } from './status.ts';
import { describeValue, isFiniteVector, requireChoice, requireFiniteVector, requireInRange, requireInteger, requireOptionsObject } from './validate.ts';

/** Writes F(y) into `out`; must not modify `y`. */
export type ResidualFunction = (y: Float64Array, out: Float64Array) => void;

export interface NewtonWithJacobian {
  residual: ResidualFunction;
  /** A dense element B of the generalized Jacobian of F at y (n x n). */
  jacobian: (y: Float64Array) => Matrix;
  solveStep?: never;
}

export interface NewtonWithStepSolver {
  residual: ResidualFunction;
  /** Solves B d = rhs for an element B of the generalized Jacobian at y; null if B is singular. */
  solveStep: (y: Float64Array, rhs: Float64Array) => Float64Array | null;
  jacobian?: never;
}

export type NewtonProblem = NewtonWithJacobian | NewtonWithStepSolver;

export interface NewtonOptions {
  /** Convergence when ||F(y)|| <= tol (default 1e-10). */
  tol?: number;
  /** Norm of the reported residual and the convergence test (default 'inf'); the merit function always uses the 2-norm. */
  norm?: NormKind;
  /** Cap on accepted steps (default 50). */
  maxIter?: number;
  /** Armijo sufficient-decrease constant c in phi(y + t d) <= phi(y) + c t grad(phi).d (default 1e-4). */
  armijo?: number;
  /** Step-length reduction factor per backtrack (default 0.5). */
  backtrack?: number;
  /** Backtracking steps before the line search gives up (default 40). */
  maxBacktracks?: number;
  /**
   * What to do when B is singular or the Newton direction fails the line search:
   * 'gradient' (default) takes a steepest-descent step on phi, which needs the
   * dense `jacobian` (grad phi = B^T F); 'none' reports the failure.
   */
  fallback?: 'gradient' | 'none';
  /** Relative pivot threshold for the dense LU of B (see LuOptions.pivotTol). */
  pivotTol?: number;
  /** Record the residual of every iterate in `history`. */
  history?: boolean;
}

/**
 * Semismooth Newton with line search. Statuses: 'converged'; 'max-iterations';
 * 'non-finite' (F or B produced NaN/Inf at an accepted iterate; trial points
 * with non-finite F are merely rejected by the line search); 'singular' (B
 * singular with no fallback, or the merit gradient B^T F vanishes at a
 * non-solution, i.e. a local minimum of phi that is not a root);
 * 'line-search-failed'. The returned y is always finite.
 */
export function semismoothNewton(problem: NewtonProblem, y0: Float64Array, options: NewtonOptions = {}): NewtonResult {
  if (typeof problem !== 'object' || problem === null || typeof problem.residual !== 'function') {
    throw new SolverError('invalid-option', `semismoothNewton: the problem must be an object with a residual function, got ${describeValue(problem)}`);
  }
  requireOptionsObject('semismoothNewton', options);
  requireFiniteVector('semismoothNewton: y0', y0);
  if (options.norm !== undefined) requireChoice('semismoothNewton: norm', options.norm, ['inf', '2']);
  const tol = requireInRange('semismoothNewton: tol', options.tol ?? 1e-10, 0, Infinity);
  const kind = options.norm ?? 'inf';
  const maxIter = requireInteger('semismoothNewton: maxIter', options.maxIter ?? 50, 0);
  const c1 = requireInRange('semismoothNewton: armijo', options.armijo ?? 1e-4, 0, 0.5);
  const shrink = requireInRange('semismoothNewton: backtrack', options.backtrack ?? 0.5, Number.MIN_VALUE, 1 - Number.EPSILON);
  const maxBacktracks = requireInteger('semismoothNewton: maxBacktracks', options.maxBacktracks ?? 40, 0);
  const gradientFallback = (options.fallback ?? 'gradient') === 'gradient';

  const n = y0.length;
  let y = y0.slice();
  let F = new Float64Array(n);
  let yTrial = new Float64Array(n);
  let FTrial = new Float64Array(n);
  const d = new Float64Array(n);
  const rhs = new Float64Array(n);
  const grad = new Float64Array(n);
  const Bgrad = new Float64Array(n);
  let evaluations = 0;

  problem.residual(y, F);
  evaluations++;
  let res = vecNorm(F, kind);
  let F2 = norm2(F);
  const history = options.history ? [res] : undefined;
  let iterations = 0;
  const finish = (status: NewtonStatus, residual = res): NewtonResult => ({
    y,
    status,
    iterations,
    evaluations,
    residual,
    ...(history ? { history } : {}),
  });
  if (!Number.isFinite(res)) return finish('non-finite', Infinity);

  /**
   * Armijo backtracking along d from y: accept the first t = shrink^k with
   * phi(y + t d) <= phi(y) + c1 t grad(phi).d, where `relSlope` =
   * grad(phi).d / ||F||^2 < 0. The test is divided by ||F||^2 = 2 phi(y) so it
   * cannot overflow. On success the trial point is left in yTrial / FTrial.
   */
  const lineSearch = (relSlope: number): boolean => {
    let t = 1;
    for (let k = 0; k <= maxBacktracks; k++, t *= shrink) {
      for (let i = 0; i < n; i++) yTrial[i] = y[i] + t * d[i];
      if (!isFiniteVector(yTrial)) continue;
      problem.residual(yTrial, FTrial);
      evaluations++;
      const ratio = norm2(FTrial) / F2;
      // A non-finite trial residual (e.g. outside F's domain) is just a rejected step.
      if (Number.isFinite(ratio) && ratio * ratio <= 1 + 2 * c1 * t * relSlope) return true;
    }
    return false;
  };

  /**
   * Steepest descent on phi, scaled to the Cauchy point of the Gauss-Newton
   * model 0.5 ||F + B s||^2 (the step length minimizing it along -grad, as in
   * Powell's dogleg), so the line search starts from a sensible length.
   * Returns the relative slope grad(phi).d / ||F||^2, or null when
   * grad(phi) = B^T F vanishes to rounding.
   */
  const gradientDirection = (B: Matrix): number | null => {
    matTvec(B, F, grad);
    const g2 = norm2(grad);
    if (g2 <= n * UNIT_ROUNDOFF * frobenius(B) * F2) return null;
    matvec(B, grad, Bgrad);
    const bg2 = norm2(Bgrad);
    const t = bg2 > 0 ? (g2 / bg2) ** 2 : 1;
    for (let i = 0; i < n; i++) d[i] = -t * grad[i];
    return -t * (g2 / F2) ** 2;
  };

  for (;;) {
    if (res <= tol) return finish('converged');
    if (iterations >= maxIter) return finish('max-iterations');

    for (let i = 0; i < n; i++) rhs[i] = -F[i];
    let B: Matrix | null = null;
    let newtonOk: boolean;
    if (problem.jacobian) {
      B = problem.jacobian(y);
      if (B.rows !== n || B.cols !== n) {
        throw new SolverError('dimension-mismatch', `semismoothNewton: jacobian is ${B.rows}x${B.cols}, expected ${n}x${n}`);
      }
      if (!Number.isFinite(normInf(B.data))) return finish('non-finite');
      const lu = luFactor(B, { pivotTol: options.pivotTol });
      newtonOk = !lu.singular && isFiniteVector(luSolve(lu, rhs, d));
    } else {
      const step = problem.solveStep(y, rhs);
      if (step !== null && step.length !== n) {
        throw new SolverError('dimension-mismatch', `semismoothNewton: solveStep returned length ${step.length}, expected ${n}`);
      }
      newtonOk = step !== null && isFiniteVector(step);
      if (newtonOk && step) d.set(step);
    }

    // For an exact solve of B d = -F the Armijo slope is grad(phi).d = -||F||^2.
    if (!(newtonOk && lineSearch(-1))) {
      // B === null: only a step solver was given, so grad(phi) = B^T F is unavailable.
      if (!gradientFallback || B === null) return finish(newtonOk ? 'line-search-failed' : 'singular');
      const slope = gradientDirection(B);
      if (slope === null) return finish('singular');
      if (!lineSearch(slope)) return finish('line-search-failed');
    }
    [y, yTrial] = [yTrial, y];
    [F, FTrial] = [FTrial, F];
    res = vecNorm(F, kind);
    F2 = norm2(F);
    iterations++;
    history?.push(res);
  }
}
