/**
 * The forward solve of a generated model (MATH.md 7; DESIGN.md "Generated
 * modules", Forward solvers): fixed-point iteration, Anderson acceleration and
 * semismooth Newton over the ModelInstance kernels, with one typed status and
 * a finite solution whatever happens.
 *
 * `auto`: with a fixed-point map, Anderson-accelerated iteration on T (the DEQ
 * habit, cheap per step), finished by semismooth Newton when it does not reach
 * the tolerance (non-contractive T, slow linear rate); without one, semismooth
 * Newton directly. Newton uses the same B kernels as the backward pass: B is
 * the selected element of the conservative Jacobian (`model.kinkFactors`),
 * which for definable Lipschitz F gives local superlinear convergence under
 * the invertibility condition of MATH.md 4.
 */
import { fixedPoint } from './fixed-point.ts';
import { gmres } from './krylov.ts';
import { norm2, normInf } from './matrix.ts';
import type { Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { semismoothNewton } from './newton.ts';
import type { NewtonProblem } from './newton.ts';
import type { NewtonResult } from './status.ts';
import { assembleB, ImplicitSystem, reducedRows } from './implicit-system.ts';
import { SolverError } from './status.ts';
import { structuredSolve } from './structured-solve.ts';
import { isFiniteVector, requireChoice, requireFiniteVector, requireInteger, requireLimit, requireModel, requireOptions, requireStart, requireTolerance } from './validate.ts';

export type SolveMethod = 'auto' | 'fixed-point' | 'anderson' | 'newton';
/** Every {@link SolveMethod}, for option checks. */
export const SOLVE_METHODS: readonly SolveMethod[] = ['auto', 'fixed-point', 'anderson', 'newton'];
const SOLVE_OPTIONS: readonly (keyof SolveInstanceOptions)[] = ['method', 'tol', 'maxIter', 'y0', 'denseNewtonLimit', 'timeLimitMs'];
/** The method that produced the returned solution. */
export type UsedMethod = 'fixed-point' | 'anderson' | 'newton' | 'anderson+newton' | 'coordinate-descent+newton';
export type InstanceStatus = 'converged' | 'max-iterations' | 'diverged' | 'non-finite' | 'singular' | 'line-search-failed';

export interface SolveInstanceOptions {
  method?: SolveMethod;
  /** Convergence when ||F(y)||_inf <= tol (default 1e-10). */
  tol?: number;
  /**
   * Cap on the iterations of all phases together, an integer >= 1. Defaults: 1000 for plain
   * or Anderson fixed-point iteration, 100 for 'newton'; none for 'auto', which stops when it
   * makes no more progress (see {@link solveInstance}).
   */
  maxIter?: number;
  /**
   * Wall-clock limit in milliseconds for the 'auto' generic path (checked between steps, so
   * one step may overrun it); reached, the status is 'max-iterations' with the best iterate.
   */
  timeLimitMs?: number;
  /** Start (default model.initial()): n finite numbers; not modified. */
  y0?: Float64Array;
  /** Largest n for which Newton assembles B densely and uses LU (default 500); beyond, GMRES with jvpY. */
  denseNewtonLimit?: number;
}

export interface SolveInstanceResult {
  /** Always finite. */
  y: Float64Array;
  status: InstanceStatus;
  /** Iterations of all phases together. */
  iterations: number;
  /** ||F(y)||_inf recomputed at the returned y (Infinity only if F is not finite there). */
  residual: number;
  method: UsedMethod;
}

const ANDERSON_MEMORY = 5;

function residualInf(model: ModelInstance, y: Float64Array): number {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  const r = normInf(F);
  return Number.isFinite(r) ? r : Infinity;
}

/** Semismooth Newton on F with B from the model's kernels: dense LU for small n, GMRES beyond. */
/** Largest active set for which a reduced Newton step is assembled (see newtonProblem). */
const REDUCED_NEWTON_LIMIT = 100;

function newtonProblem(model: ModelInstance, denseLimit: number): NewtonProblem {
  const residual = (y: Float64Array, out: Float64Array): void => model.residual(y, out);
  if (model.analysis.identityRowsWhereFactorZero !== null) {
    // Prox and projection fixpoints: B = I - D M, whose rows with D = 0 are identity rows.
    // The step solves only the other rows (the support, for the Lasso), densely when they are
    // few: the same active-set reduction as the backward pass (ImplicitSystem).
    return {
      residual,
      solveStep: (y: Float64Array, rhs: Float64Array): Float64Array | null => {
        const factors = model.kinkFactors(y);
        // Assembling the reduced B costs one jvpY per kept row, about as much as that many
        // map evaluations: past REDUCED_NEWTON_LIMIT rows Anderson steps are the better buy
        // (and a large active set is often singular: more support than data). No step then.
        if ((reducedRows(model, factors)?.length ?? model.n) > Math.min(denseLimit, REDUCED_NEWTON_LIMIT)) return null;
        try {
          const d = new ImplicitSystem(model, y, factors, { denseLimit }).solve(rhs);
          return isFiniteVector(d) ? d : null;
        } catch (e) {
          if (e instanceof SolverError) return null;
          throw e;
        }
      },
    };
  }
  if (model.n <= denseLimit) {
    return { residual, jacobian: (y: Float64Array): Matrix => assembleB(model, y, model.kinkFactors(y), null) };
  }
  return {
    residual,
    solveStep: (y: Float64Array, rhs: Float64Array): Float64Array | null => {
      const factors = model.kinkFactors(y);
      const r = gmres((v, out) => model.jvpY(y, factors, v, out), rhs, {
        tol: 1e-12,
        maxIter: Math.max(200, model.n),
        restart: 50,
      });
      // An inexact step is still a descent direction for ||F||^2 while ||B d + F|| < ||F||
      // (inexact Newton, Dembo-Eisenstat-Steihaug 1982); the line search does the rest.
      if (!isFiniteVector(r.x) || !(r.residual <= 0.1 * norm2(rhs))) return null;
      return r.x;
    },
  };
}

/**
 * Solves F(x, y) = 0 for the model's unknowns at its bound inputs. Misuse (a
 * wrong y0, bad options, 'fixed-point' without a map) throws a SolverError;
 * numerical failure is a status, and the returned y is always finite.
 */
export function solveInstance(model: ModelInstance, options: SolveInstanceOptions = {}): SolveInstanceResult {
  requireModel('solveInstance', model);
  const who = `solveInstance(${model.name})`;
  const given = requireOptions(who, options, SOLVE_OPTIONS);
  const method = given.method === undefined ? 'auto' : requireChoice(`${who}: method`, given.method, SOLVE_METHODS);
  const tol = given.tol === undefined ? 1e-10 : requireTolerance(`${who}: tol`, given.tol);
  if (given.maxIter !== undefined) requireInteger(`${who}: maxIter`, given.maxIter, 1);
  const denseLimit = given.denseNewtonLimit === undefined ? 500 : requireLimit(`${who}: denseNewtonLimit`, given.denseNewtonLimit);
  const y0 = given.y0 === undefined ? model.initial() : requireStart(`${who}: y0`, given.y0, model.n);
  requireFiniteVector(`${who}: the declared start`, y0, model.n);
  if ((method === 'fixed-point' || method === 'anderson') && !model.hasMap) {
    throw new SolverError('invalid-option', `solveInstance(${model.name}): method '${method}' needs a fixpoint map, and the model has none`);
  }

  const finish = (y: Float64Array, status: InstanceStatus, iterations: number, used: UsedMethod, residual = residualInf(model, y)): SolveInstanceResult => {
    // The contract is on ||F||_inf at the returned point, whatever the phase measured.
    const final: InstanceStatus = status === 'converged' && !(residual <= tol) ? (Number.isFinite(residual) ? 'max-iterations' : 'non-finite') : status;
    return { y, status: final, iterations, residual, method: used };
  };
  const problem = newtonProblem(model, denseLimit);
  const newtonOptions = { tol, maxIter: options.maxIter ?? 100 };
  const newton = (start: Float64Array): NewtonResult => {
    const r = semismoothNewton(problem, start, newtonOptions);
    if (!(r.status === 'singular' && r.iterations === 0)) return r;
    // The start sits on a kink whose selected element makes B singular (abs'(0) = 0 with
    // the default start 0, say): one retry from a slightly moved start.
    const moved = start.map((v) => v + 1e-3 * (1 + Math.abs(v)));
    const again = semismoothNewton(problem, moved, newtonOptions);
    return again.residual < r.residual || again.status === 'converged' ? again : r;
  };
  const iterateMap = (memory: number, maxIter: number) =>
    fixedPoint((y, out) => model.map(y, out), y0, { tol, maxIter, anderson: memory });

  if (method === 'newton' || (method === 'auto' && !model.hasMap)) {
    const r = newton(y0);
    return finish(r.y, r.status, r.iterations, 'newton');
  }
  if (method === 'fixed-point' || method === 'anderson') {
    const r = iterateMap(method === 'anderson' ? ANDERSON_MEMORY : 0, options.maxIter ?? 1000);
    return finish(r.y, r.status, r.iterations, method);
  }

  // auto: a structured solver where the analysis recognized one (structured-solve.ts).
  const structured = structuredSolve(model, y0, { tol, maxIter: options.maxIter, denseLimit, newton: problem });
  if (structured) return finish(structured.y, 'converged', structured.iterations, structured.method, structured.residual);

  // auto with a map: Anderson first, Newton to finish.
  // With the active-set reduction, Newton steps cost a small dense solve: a short Anderson
  // phase to find the support, then Newton (its local convergence is superlinear, MATH.md 7).
  const fp = iterateMap(ANDERSON_MEMORY, options.maxIter ?? (model.analysis.identityRowsWhereFactorZero !== null ? 30 : 200));
  const fpResidual = residualInf(model, fp.y);
  if (fp.status === 'converged' && fpResidual <= tol) return finish(fp.y, 'converged', fp.iterations, 'anderson');
  // A diverged or blown-up iteration is a bad start: fall back to y0 unless Anderson improved on it.
  const start = fpResidual < residualInf(model, y0) ? fp.y : y0;
  // After the map has run, Newton is a finisher: if a few steps do not converge (a wrong
  // active set, a singular B), the map is the better use of the time.
  const nt = semismoothNewton(problem, start, { tol, maxIter: options.maxIter ?? 20 });
  const ntResidual = residualInf(model, nt.y);
  if (nt.status === 'converged') return finish(nt.y, nt.status, fp.iterations + nt.iterations, 'anderson+newton');
  // Newton failed from there (a singular B off the solution, say): back to the map, from the
  // better of the two iterates, for longer.
  const best = ntResidual < fpResidual ? nt.y : fp.y;
  const more = fixedPoint((y, out) => model.map(y, out), best, { tol, maxIter: options.maxIter ?? 5000, anderson: ANDERSON_MEMORY });
  return finish(more.y, more.status, fp.iterations + nt.iterations + more.iterations, 'anderson');
}
