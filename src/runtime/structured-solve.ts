/**
 * Structure-specific forward solvers, chosen from what the analysis recognized (not from the
 * spelling of the model): today the least-squares prox (coordinate descent on the Lasso,
 * src/runtime/lasso.ts), finished by semismooth Newton on the model's own F. `solveInstance`
 * (solve.ts) asks here first in `auto` mode; null means "no structured solver applies, or it
 * did not converge": the generic path runs.
 */
import type { ModelInstance } from './model.ts';
import { semismoothNewton, type NewtonProblem } from './newton.ts';
import { LassoCoordinateDescent, stepOf } from './lasso.ts';
import { normInf } from './matrix.ts';
import { isFiniteVector } from './validate.ts';

export interface StructuredSolveOptions {
  /** Convergence when ||F(y)||_inf <= tol. */
  tol: number;
  /** The user's iteration cap for Newton phases, if any. */
  maxIter?: number;
  /** Largest reduced system Newton assembles densely. */
  denseLimit: number;
  /** Semismooth Newton on the model's F, for the finishing steps. */
  newton: NewtonProblem;
}

export interface StructuredSolveResult {
  y: Float64Array;
  /** Converged: ||F(y)||_inf <= tol at y. */
  residual: number;
  iterations: number;
  method: 'coordinate-descent+newton';
}

/** Largest support for which the closed-form polish is tried. */
const POLISH_LIMIT = 100;

function residualInf(model: ModelInstance, y: Float64Array): number {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  const r = normInf(F);
  return Number.isFinite(r) ? r : Infinity;
}

/**
 * The Lasso behind a recognized least-squares prox fixpoint (src/runtime/lasso.ts), with the
 * scale of its fit (||b|| + 1, the unit of coordinate descent's tolerance); null when the
 * model has no such structure or its pieces do not check out.
 */
function lassoProblem(model: ModelInstance, y0: Float64Array): { solver: LassoCoordinateDescent; scale: number } | null {
  const lsq = model.leastSquaresProx?.() ?? null;
  if (!lsq) return null;
  const s = lsq.s ?? stepOf(lsq);
  const p = lsq.A.shape[1];
  const tau = lsq.tau.data;
  if (s === null || !(s > 0) || !Number.isFinite(s) || y0.length !== p || lsq.b.data.length !== lsq.A.shape[0] || (tau.length !== 1 && tau.length !== p)) return null;
  for (const t of tau) if (!(t >= 0)) return null;
  const lambda = tau.length === 1 ? () => tau[0] / s : (j: number) => tau[j] / s;
  return {
    solver: new LassoCoordinateDescent(lsq.A, lsq.b, lambda, { data: lsq.G.data, scale: s }),
    scale: Math.sqrt(lsq.b.data.reduce((acc, v) => acc + v * v, 0)) + 1,
  };
}

/**
 * A converged solution by the structured solver the model's structure allows, or null
 * (none applies, or it fell short: the caller's generic path then runs from y0).
 */
export function structuredSolve(model: ModelInstance, y0: Float64Array, options: StructuredSolveOptions): StructuredSolveResult | null {
  const { tol, denseLimit } = options;
  const lasso = lassoProblem(model, y0);
  if (!lasso) return null;
  // Tighter and tighter: coordinate descent only has to find the support, which Newton
  // (a reduced solve on the support, superlinear) then finishes; it crawls on correlated
  // columns, where Newton does not.
  let beta = y0;
  let sweeps = 0;
  let newtonIterations = 0;
  for (const rel of [1e-4, 1e-6, 1e-8, 1e-10, 1e-12]) {
    const cd = lasso.solver.run(beta, rel * lasso.scale);
    sweeps += cd.sweeps;
    if (!isFiniteVector(cd.beta)) break;
    beta = cd.beta;
    // Newton's step on the support's piece, in closed form; judged by the model's F.
    const exact = lasso.solver.polish(beta, Math.min(denseLimit, POLISH_LIMIT));
    if (exact) {
      const residual = residualInf(model, exact);
      if (residual <= tol) return { y: exact, residual, iterations: sweeps + newtonIterations + 1, method: 'coordinate-descent+newton' };
    }
    const nt = semismoothNewton(options.newton, beta, { tol, maxIter: options.maxIter ?? 10 });
    newtonIterations += nt.iterations;
    if (nt.status === 'converged') {
      const residual = residualInf(model, nt.y);
      if (residual <= tol) return { y: nt.y, residual, iterations: sweeps + newtonIterations, method: 'coordinate-descent+newton' };
    }
  }
  return null;
}
