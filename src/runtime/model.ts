/**
 * The contract between a generated module and the runtime (DESIGN.md "Generated modules").
 * A generated class binds one model to concrete inputs (dims, data, params) and exposes its
 * kernels over flat f64 vectors: y concatenates the unknowns, x the params, in declaration
 * order. Everything generic (solvers, certificates, implicit derivatives) lives in the
 * runtime and works on this interface only.
 */

import type { CompositeProblem } from './composite.ts';
import type { ConeProgramHook } from './cone-program.ts';
import type { ProjectionFixpoint } from './projection-certificate.ts';
import type { Matrix } from './matrix.ts';
import type { Operator } from './structured.ts';
import type { Tensor } from './tensor.ts';

/** A declared variable's place in a flat vector. */
export interface VariableLayout {
  name: string;
  /** Concrete shape (dims bound): [] scalar, [n] vector, [m, n] matrix (row-major). */
  shape: number[];
  size: number;
  offset: number;
}

export type CompiledVerdict = 'certified' | 'guarded' | 'runtime' | 'unverified' | 'violated';

/** What the compile-time analysis decided (src/analysis/certify.ts), carried into the module. */
export interface CompiledAnalysis {
  verdict: CompiledVerdict;
  test: string;
  guard: string | null;
  /** Each kink factor scales one row of B: the exact vertex test applies at run time. */
  rowwise: boolean;
  /**
   * B = I - D M with one diagonal kink factor D (prox and projection fixpoints): rows where
   * D is 0 are rows of the identity, so implicit solves reduce to the other rows.
   */
  identityRowsWhereFactorZero: number | null;
  /**
   * With that site, the rows of A = dF/dx vanish where its factor does (each term of A is
   * scaled by it): A^T w never reads w on the identity rows, so backward passes skip them.
   */
  paramRowsVanishWhereFactorZero: boolean;
  /**
   * F has kinks that are not diagonal kink-factor sites (projections onto the simplex, the
   * l1 ball or the cone; norm2, norminf): their ties are not among `kinkGaps`, so "no tie at
   * the solution" cannot be concluded from the sites alone.
   */
  nonDiagonalKinks: boolean;
  reason: string;
}

/** One kink-factor site of the derivative kernels: a diagonal factor whose entries range over an interval at a tie. */
export interface KinkSite {
  primitive: string;
  range: readonly [number, number];
  /** Source location, `line:column`, for messages. */
  at: string;
  /** Whether F reads it (false: only an output's gradient does; not a tie of F). Absent: true. */
  inF?: boolean;
  /** The switch of an `if`: its gap holds n distances from the switching surface, then n jumps |then - else| across it. */
  switch?: boolean;
  /** The outputs (by index) whose explicit partials read it (absent: unknown). */
  outputs?: readonly number[];
}

/** A `require` clause that does not hold on the actual values: its text and `line:column`. */
export interface RequireViolation {
  clause: string;
  at: string;
}

export interface ModelInstance {
  readonly name: string;
  readonly unknowns: readonly VariableLayout[];
  readonly params: readonly VariableLayout[];
  readonly outputNames: readonly string[];
  /**
   * Where each declared output lies in the flat vector `outputs(y)` returns (row-major, in
   * declaration order; output-layout.ts). Absent (hand-written models): every output is a scalar.
   */
  readonly outputLayout?: readonly VariableLayout[];
  /** Total size of the unknowns (n) and the params (m). */
  readonly n: number;
  readonly m: number;
  readonly analysis: CompiledAnalysis;
  readonly kinkSites: readonly KinkSite[];
  /** Whether every unknown has a fixpoint, so that F(y) = y - T(y) and `map` exists. */
  readonly hasMap: boolean;

  /** The declared initial value of the unknowns. */
  initial(): Float64Array;
  /** out = F(x, y). */
  residual(y: Float64Array, out: Float64Array): void;
  /** out = T(x, y); only when `hasMap`. */
  map(y: Float64Array, out: Float64Array): void;
  /** The selected element of each kink factor at y (what backprop would use). */
  kinkFactors(y: Float64Array): Float64Array[];
  /** Per site and element, the distance to the switching surface (0 exactly at a tie). */
  kinkGaps(y: Float64Array): Float64Array[];
  /** out = B ydot, with B = dF/dy built from the given kink factor values. */
  jvpY(y: Float64Array, factors: readonly Float64Array[], ydot: Float64Array, out: Float64Array): void;
  /**
   * B[rows, rows] (all of B when rows is null) assembled from the structure the analysis
   * recognized (src/runtime/structured.ts); null, or absent, when there is none: the runtime
   * then applies jvpY to unit vectors.
   */
  denseB?(y: Float64Array, factors: readonly Float64Array[], rows: Int32Array | null): Matrix | null;
  /**
   * When the analysis recognized the fixpoint as proximal gradient on a separable composite
   * quadratic problem (src/runtime/composite.ts): that problem on these inputs; null or absent
   * otherwise.
   */
  compositeProblem?(): CompositeProblem | null;
  /**
   * When the analysis read the equations as a cone program in Minty form
   * (src/analysis/cone-form.ts): its matrices, cone and layout on these inputs (the runtime
   * solves it by Douglas-Rachford and certifies it from the cone's ties, cone-program.ts);
   * null or absent otherwise.
   */
  coneProgram?(): ConeProgramHook | null;
  /**
   * B = dF/dy at y as an operator over its leaves (src/runtime/structured.ts), the leaves'
   * values computed at y with these kink factors; null, or absent, when the analysis read no
   * such form. Batched products with B^T (src/runtime/batch-backward.ts) use it.
   */
  bOperator?(y: Float64Array, factors: readonly Float64Array[]): { op: Operator; leaves: Tensor[] } | null;
  /**
   * When the fixpoint is y = P(u(y)) with P a projection with faces (simplex, l1 ball,
   * second-order cone): u and M ydot at a point, for the run-time certificate of P's faces
   * (projection-certificate.ts); null or absent otherwise.
   */
  projectionFixpoint?(): ProjectionFixpoint | null;
  /** out = B^T w. */
  vjpY(y: Float64Array, factors: readonly Float64Array[], w: Float64Array, out: Float64Array): void;
  /** out = A xdot, with A = dF/dx. */
  jvpX(y: Float64Array, factors: readonly Float64Array[], xdot: Float64Array, out: Float64Array): void;
  /** out = A^T w. */
  vjpX(y: Float64Array, factors: readonly Float64Array[], w: Float64Array, out: Float64Array): void;
  /** out += scale A^T w, parameter gradients added in place (generated modules have it; optional for hand-written ones). */
  addVjpX?(y: Float64Array, factors: readonly Float64Array[], w: Float64Array, out: Float64Array, scale: number): void;
  /** The outputs' values at y, flattened (`outputLayout`; one number per output when all are scalars). */
  outputs(y: Float64Array): Float64Array;
  /** Explicit partial derivatives of output entry k (output-layout.ts): d o_k / dy and d o_k / dx at y. */
  outputPartials(k: number, y: Float64Array, factors: readonly Float64Array[]): { y: Float64Array; x: Float64Array };
  /** yOut += scale d o_k/dy and xOut += scale d o_k/dx for output entry k, in place, each skipped when null (optional, as addVjpX). */
  addOutputPartials?(k: number, y: Float64Array, factors: readonly Float64Array[], yOut: Float64Array | null, xOut: Float64Array | null, scale: number): void;
  /**
   * yOut += scale <outbar, d o_j/dy> and xOut += scale <outbar, d o_j/dx> for declared output j
   * and a cotangent outbar of its size (row-major), each skipped when null: the explicit part of
   * a vector-Jacobian product, one kernel call for the whole output (generated modules have it).
   */
  outputVjp?(j: number, outbar: Float64Array, y: Float64Array, factors: readonly Float64Array[], yOut: Float64Array | null, xOut: Float64Array | null, scale: number): void;
  /**
   * A sound upper bound on the guard quantity on the actual values (the guard holds when
   * it is below 1); null when the model has no guard.
   */
  guardBound(): number | null;
  /**
   * The values computed from the inputs alone (lets, hoisted products) that are not finite,
   * each named with its place in the model ("`step` (let at 10:14) is not finite for these
   * inputs: it is Infinity"); optional for hand-written models. `runModel` asks when a solve
   * is not finite, and reports them as an InputError: the inputs, not the solver, are at fault.
   */
  inputProblems?(): string[];
  /**
   * The `require` clauses that do not hold: with y null, those on the inputs alone (computed
   * once per instance); with y, also those that read the unknowns, evaluated at y. Generated
   * modules have it; optional for hand-written models (then no clause is checked).
   */
  requireViolations?(y: Float64Array | null): RequireViolation[];
}
