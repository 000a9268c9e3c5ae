/**
 * Shared result and error types of the numerical runtime.
 *
 * Convention: a numerical *outcome* (no convergence, singular Jacobian, a map
 * that produced NaN) is reported as a typed `status` in the result, because
 * generated code must be able to branch on it. Only *misuse* (mismatched
 * dimensions, invalid options, non-finite inputs supplied by the caller)
 * throws a {@link SolverError}.
 *
 * Every solver guarantees that the vector it returns is finite: when an
 * iterate becomes non-finite the solver stops with status `'non-finite'` and
 * returns the last finite iterate instead.
 */

/** Every status any runtime solver can report. */
export type SolveStatus =
  | 'converged'
  | 'max-iterations'
  | 'breakdown'
  | 'diverged'
  | 'non-finite'
  | 'singular'
  | 'line-search-failed';

/**
 * A stated assumption (`require c`, LANGUAGE.md "Declarations") does not hold on the actual
 * values: the model is used outside the domain it was written for, so whatever the solver
 * returns comes with no derivatives and no certificate. Reported by `runModel` (a clause on
 * the inputs alone before the solve, one on the unknowns at the solution), never by a solver.
 */
export type AssumptionStatus = 'assumption-failed';

/**
 * Krylov solvers (GMRES, BiCGStab).
 * `breakdown`: the method can make no further progress (a zero denominator,
 * or an invariant Krylov subspace / stagnating restart cycle while the
 * residual is still above tolerance, e.g. a singular inconsistent system).
 */
export type KrylovStatus = 'converged' | 'max-iterations' | 'breakdown' | 'non-finite';

/** Fixed-point iteration. `diverged`: the residual grew past the divergence threshold. */
export type FixedPointStatus = 'converged' | 'max-iterations' | 'diverged' | 'non-finite';

/**
 * Semismooth Newton. `singular`: the Jacobian element was singular and no
 * descent direction was available (no fallback, or the merit gradient vanishes
 * at a non-solution). `line-search-failed`: no step satisfied the Armijo
 * condition within the backtracking budget. Newton with a line search is
 * monotone in ||F||, so it has no `diverged` outcome.
 */
export type NewtonStatus = 'converged' | 'max-iterations' | 'non-finite' | 'singular' | 'line-search-failed';

/** Which vector norm a solver measures its residual in. */
export type NormKind = 'inf' | '2';

export interface KrylovResult {
  /** Finite approximate solution. */
  x: Float64Array;
  status: KrylovStatus;
  /** Matrix-vector products spent in the iteration proper. */
  iterations: number;
  /**
   * True residual ||b - A x||_2, recomputed from x (not a recurrence
   * estimate). Exception: with status 'non-finite' the operator may no longer
   * be evaluable, and the last residual available is reported.
   */
  residual: number;
}

export interface FixedPointResult {
  /** Finite iterate whose residual is `residual`. */
  y: Float64Array;
  status: FixedPointStatus;
  /** Number of iterate updates performed. */
  iterations: number;
  /** Number of calls to the map (Anderson's safeguard may spend two per iteration). */
  evaluations: number;
  /** ||T(y) - y|| in the chosen norm; `Infinity` only if T(y0) itself was non-finite. */
  residual: number;
  /** Residual after each iteration (index 0 = initial guess), when requested. */
  history?: number[];
}

export interface NewtonResult {
  /** Finite iterate whose residual is `residual`. */
  y: Float64Array;
  status: NewtonStatus;
  /** Number of accepted Newton (or fallback) steps. */
  iterations: number;
  /** Number of calls to the residual function. */
  evaluations: number;
  /** ||F(y)|| in the chosen norm; `Infinity` only if F(y0) itself was non-finite. */
  residual: number;
  /** Residual after each iteration (index 0 = initial guess), when requested. */
  history?: number[];
}

export type SolverErrorCode =
  | 'dimension-mismatch'
  | 'invalid-option'
  | 'non-finite-input'
  | Exclude<SolveStatus, 'converged'>;

/** Thrown on misuse of the runtime, or by {@link ensureConverged} on a failed solve. */
export class SolverError extends Error {
  readonly code: SolverErrorCode;

  constructor(code: SolverErrorCode, message: string) {
    super(message);
    this.name = 'SolverError';
    this.code = code;
  }
}

/**
 * Returns `result` unchanged if it converged, otherwise throws a
 * {@link SolverError} whose code is the failure status. For generated code
 * that has no recovery path.
 */
export function ensureConverged<R extends { status: SolveStatus; residual: number }>(result: R, what: string): R {
  if (result.status !== 'converged') {
    throw new SolverError(result.status, `${what}: ${result.status} (residual ${result.residual.toExponential(3)})`);
  }
  return result;
}
