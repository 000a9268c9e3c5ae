/**
 * implc/runtime: the numerical runtime imported by generated modules.
 * Dense linear algebra in f64, Krylov solvers, fixed-point iteration with
 * Anderson acceleration, and semismooth Newton, all reporting typed statuses.
 */
export type {
  AssumptionStatus,
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

export type { DenseSelection, ImplicitSystemOptions } from './implicit-system.ts';
export type { Operator } from './structured.ts';
export type { CompositeProblem, GramTerm, MatrixTerm, Penalty } from './composite.ts';
export { bound, spread, sumDiagonals } from './composite.ts';
export { CompositeSolver, type CompositeRunResult } from './composite-cd.ts';
export { certifyProjectionFixpoint, type ProjectionFixpoint } from './projection-certificate.ts';
export { certifyCone, coneProblem, solveConeModel, type ConeCertificate, type ConeProblem, type ConeProgramHook } from './cone-program.ts';
export { factorCone, solveCone, type ConeCallbacks, type ConeFactorization, type ConeSolveOptions, type ConeSolveResult } from './cone-solver.ts';
export { coneJacobian, coneTies, decodeCone, encodeCone, projectCone, projectDualCone, smat, svec, type ConeSpec, type ConeTie } from './values/cones.ts';
export { applyOperator, assembleStructured } from './structured.ts';
export { assembleB, assembleByColumns, DENSE_LIMIT, ImplicitSystem, reducedRows } from './implicit-system.ts';

export type {
  InstanceStatus,
  SolveInstanceOptions,
  SolveInstanceResult,
  SolveMethod,
  UsedMethod,
} from './solve.ts';
export { solveInstance } from './solve.ts';

export type {
  CertificatePoint,
  CertifiedSelection,
  CertifyOptions,
  RuntimeCertificate,
  RuntimeVerdict,
  TiedKink,
} from './certificate.ts';
export { certifyAt, certifySelection, findTies, MAX_TIES } from './certificate.ts';

export type { DerivativeOptions } from './derivatives.ts';
export { ImplicitDerivatives, jacobian, jvp, outputGradients, outputJacobian, outputVjp, vjp } from './derivatives.ts';
export { outputEntry, outputEntryCount, outputEntryName, outputLayoutOf } from './output-layout.ts';

export type { DerivativesUnavailable, Nested, RunOptions, RunResult, RunStatus } from './run.ts';
export { runModel, unflatten } from './run.ts';

// What generated modules call: the registry's kernels, layouts, input binding.
export { addInto, addProduct, K, kinkGap, layout, lazy, matrixNormUpper, nonFiniteHoisted, operatorNormUpper, put, requireLength, sameVector, scalar, scaledTranspose, totalSize, transposedProduct, view, views, wrapFactors } from './kernels.ts';
export type { Tensor } from './kernels.ts';
export { bindChanges, bindInputs, InputError } from './inputs.ts';
export type { BoundInputs, DenseInput, InputSpec, InputValue } from './inputs.ts';
export type { CompiledAnalysis, CompiledVerdict, KinkSite, ModelInstance, RequireViolation, VariableLayout } from './model.ts';
export type { BatchF64Options, BatchF64Result, BatchInstance, BatchOptions, BatchResult, GpuArg, GpuBound, GpuMapSpec, GpuProduct, GpuStage } from './batch.ts';
export { BatchMap, BatchMapF64, solveBatch, solveBatchF64 } from './batch.ts';
export type { ProductEngine, ProductMatrix } from './products.ts';

export type { BackwardOptions, BackwardReport, BatchGradientOptions, BatchGradientResult, DerivableInstance, SampleOutcome } from './batch-gradient.ts';
export type { BackwardMode, BatchAdjointOptions, BatchAdjointResult } from './batch-backward.ts';
export { BACKWARD_MODES, BatchTransposedB, solveAdjointBatch } from './batch-backward.ts';
export type { GpuAdjointResult, GpuBackwardOptions } from './gpu-backward.ts';
export { GpuTransposedB, solveAdjointGpu } from './gpu-backward.ts';
export { batchGradient, batchGradientAt } from './batch-gradient.ts';
export type { PoolableClass } from './worker-pool.ts';
export { WorkerPool } from './worker-pool.ts';
