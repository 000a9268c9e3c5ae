/**
 * implc/runtime: the numerical runtime imported by generated modules.
 * Dense linear algebra in f64, Krylov solvers, fixed-point iteration with
 * Anderson acceleration, and semismooth Newton, all reporting typed statuses.
 */
export type {
  FixedPointResult,
  FixedPointStatus,
  KrylovResult,
  KrylovStatus,
  NewtonResult,
  NewtonStatus,
  NormKind,
  SolveStatus,
  SolverErrorCode,
} from './status.ts';
export { ensureConverged, SolverError } from './status.ts';

export type { Matrix, OpNorm2Options, OpNorm2UpperOptions } from './matrix.ts';
export {
  dot,
  fromRows,
  frobenius,
  identity,
  matmul,
  matNorm1,
  matNormInf,
  matTvec,
  matvec,
  norm2,
  normInf,
  opnorm2,
  opnorm2Upper,
  toRows,
  transpose,
  UNIT_ROUNDOFF,
  vecNorm,
  zeros,
} from './matrix.ts';

export type { LuOptions, LuResult, LuSingular } from './lu.ts';
export {
  conditionEstimate1,
  determinantSign,
  inverseNorm1Estimate,
  logAbsDet,
  luFactor,
  luSolve,
  luSolveTranspose,
} from './lu.ts';

export type { GmresOptions, KrylovOptions, LinearOperator } from './krylov.ts';
export { bicgstab, gmres } from './krylov.ts';

export type { AndersonOptions, FixedPointMap, FixedPointOptions } from './fixed-point.ts';
export { fixedPoint } from './fixed-point.ts';

export type {
  NewtonOptions,
  NewtonProblem,
  NewtonWithJacobian,
  NewtonWithStepSolver,
  ResidualFunction,
} from './newton.ts';
export { semismoothNewton } from './newton.ts';
