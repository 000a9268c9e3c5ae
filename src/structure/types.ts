/**
 * The structure of one analyzed model: the one description that the analysis hands to code
 * generation (DESIGN.md "Generated modules"; README "How data flows"). Everything codegen
 * and the runtime live on is here, computed once by the analysis from the lowered IR:
 * the roots of every kernel (F, T, the tangents and adjoints of B and A, the outputs'
 * partials), the kink sites, the reduction that implicit solves use, B as an operator over
 * numbered leaves, the recognized solver form, and the guard. Codegen only reads it (it
 * imports nothing from src/analysis); the runtime evaluates the same operator algebra
 * (src/runtime/structured.ts).
 *
 * Immutable by contract: the analysis builds it and freezes it; codegen never adds nodes to
 * the graph (the graph is append-only and hash-consed; codegen's kernels read the nodes named
 * here).
 */
import type { Graph } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import type { CompiledAnalysis } from '../runtime/model.ts';
import type { Operator } from '../runtime/structured.ts';
import type { NodeId } from '../primitives/types.ts';

/** The IR roots of each kernel of the generated module, derived once by AD. */
export interface KernelRoots {
  residual: readonly NodeId[];
  /** T per unknown, when every unknown has a fixpoint (else null). */
  maps: readonly NodeId[] | null;
  unknownSeeds: readonly NodeId[];
  paramSeeds: readonly NodeId[];
  cotangentSeeds: readonly NodeId[];
  /** B ydot per residual block (null: zero). */
  bTangents: readonly (NodeId | null)[];
  /** A xdot per residual block. */
  aTangents: readonly (NodeId | null)[];
  /** B^T w per unknown. */
  vjpY: readonly (NodeId | null)[];
  /** A^T w per param. */
  vjpX: readonly (NodeId | null)[];
  /**
   * d o_k / dy and d o_k / dx per declared output; for a vector or matrix output, the
   * pullbacks <obar, d o_k/dy> and <obar, d o_k/dx> of its cotangent seed `seed` (of o_k's
   * shape; null for a scalar output, pulled back from 1).
   */
  outputPartials: readonly { y: readonly (NodeId | null)[]; x: readonly (NodeId | null)[]; seed: NodeId | null }[];
  /** Every non-null root above. */
  derivativeRoots: readonly NodeId[];
}

/** One kink-factor site of the derivative kernels, in the order the kernels number them. */
export interface SiteStructure {
  /** The kink-factor node. */
  node: NodeId;
  /** The nonsmooth primitive it belongs to, for messages. */
  primitive: string;
  /** The name of its kink gap in the runtime's table (src/runtime/values). */
  gap: string;
  range: readonly [number, number];
  /** `line:column` of the construct, or `?`. */
  at: string;
  /**
   * Whether B or A reads it (a kink of F). A site only an output's gradient reads (an output
   * `norm1(beta)`) is no tie of F: the certificate does not count it.
   */
  inF: boolean;
  /** The switch of an `if` (its gap: n distances, then n jumps |then - else| across it). */
  switch: boolean;
  /** The outputs (by index) whose explicit partials read it. */
  outputs: readonly number[];
}

/**
 * A kink without a diagonal factor that only outputs read: the projections with faces
 * (proj_simplex, proj_l1ball, proj_soc), the smooth-boundary projections (proj_l2ball,
 * proj_psd), block_soft_threshold, and the norms and extremes (norm2, norminf, maxof, minof
 * and their row forms). Its Jacobian is a selection kernel (`proj_simplex_jvp`, `norm2_grad`),
 * not a diagonal factor, so it is no kink-factor site; its ties are found from its gap kernel
 * at the primitive's own arguments (`|v_i - tau|` per entry for the simplex, `|v|_2` for
 * norm2). Reported in RunResult.outputKinks; such a kink F reads is the certificate's
 * (src/runtime/projection-certificate.ts and the general test), not here.
 */
export interface OutputNonDiagonalKinkStructure {
  /** The primitive (`proj_simplex`, `norm2`, `block_soft_threshold`...). */
  primitive: string;
  /** Its kink gap in the runtime's table. */
  gap: string;
  /** The primitive's arguments (v, and r for a ball; v, t, g for groups): the gap's arguments. */
  args: readonly NodeId[];
  /** `line:column` of the construct, or `?`. */
  at: string;
  /** The outputs (by index) whose explicit partials read it. */
  outputs: readonly number[];
  /** The registry's words: which piece (or gradient) the kernels select at a tie, and the hull there. */
  used: string;
  hull: string;
}

/** An operator of the runtime's algebra with its leaves as IR nodes (evaluated into tensors by the module). */
export interface OperatorForm {
  op: Operator;
  leaves: readonly NodeId[];
}

/** A scalar coefficient read from the algebra: sum over terms of sign times a product of scalar nodes (or their inverses). */
export interface Coefficient {
  terms: readonly { sign: 1 | -1; factors: readonly { node: NodeId; inverse: boolean }[] }[];
}

/**
 * The separable composite quadratic form (src/runtime/composite.ts) of a fixpoint
 *
 *     y = P(u(y)) / kappa,   u(y) = M y + c,  M = I - H' fixed,
 *
 * with P the row-wise prox of a separable penalty, read from the algebra of u whatever its
 * spelling: H = identity I + sum diag + sum coef Z'Z + sum coef Q (kappa folded into the
 * identity), c = u(0) (the module evaluates the map's argument at y = 0).
 */
export interface CompositeForm {
  unknown: NodeId;
  /** u, the prox's argument (affine in the unknown). */
  argument: NodeId;
  /** kappa, the inverse of the map's outer scale: the form holds only where it is > 0. */
  scale: Coefficient;
  identity: Coefficient;
  diagonals: readonly { coef: Coefficient; vector: NodeId }[];
  grams: readonly { coef: Coefficient; matrix: NodeId; transposed: boolean }[];
  matrices: readonly { coef: Coefficient; matrix: NodeId; transposed: boolean }[];
  penalty:
    | { kind: 'l1'; weights: NodeId }
    | { kind: 'box'; lower: readonly NodeId[]; upper: readonly NodeId[] }
    | { kind: 'none' };
}

/**
 * A cone program in the Minty form of its KKT conditions (src/analysis/cone-form.ts): unknowns
 * x (index `x`) and v (index `v`), s = proj_cone(v, K) with K's code at `cone`, and the
 * equations alpha (A x + s - b) = 0 (block `primal.block`, alpha = `primal.scale`) and
 * beta (A'(s - v) + c) = 0 (block `dual.block`), A = sum coef * matrix (or its transpose).
 */
export interface ConeForm {
  x: number;
  v: number;
  cone: NodeId;
  coneName: string;
  /** The projection's primitive (named by the IR, so that the runtime need not name it). */
  primitive: string;
  /** `line:column` of the projection. */
  at: string;
  matrices: readonly { coef: number; matrix: NodeId; transposed: boolean }[];
  primal: { block: number; scale: number };
  dual: { block: number; scale: number };
}

/** One factor of a guard's bound: a number, |s| (or 1/|s|) of a scalar, a matrix's norm, or an operator's. */
export type GuardFactor =
  | { kind: 'number'; value: number }
  | { kind: 'scalar'; node: NodeId; inverse: boolean }
  | { kind: 'matrix'; node: NodeId }
  | { kind: 'operator'; form: OperatorForm };

export interface GuardStructure {
  /** The condition, as the certificate states it (`step * opnorm(W) < 1`). */
  text: string;
  /** The bound: a sum of products of factors. */
  terms: readonly (readonly GuardFactor[])[];
}

/** What the compile-time analysis decided, as carried into the module: the runtime's own type. */
export type AnalysisSummary = CompiledAnalysis;

/**
 * One `require` clause, checked at run time on the actual values (LANGUAGE.md
 * "Declarations"): a clause on the inputs alone once per inputs, before the solve; a clause
 * that reads the unknowns at the solution.
 */
export interface RequireStructure {
  /** The condition: a boolean tensor, 1 where it holds (a clause holds when every entry does). */
  node: NodeId;
  /** The condition as written (`opnorm(W) <= 0.9`). */
  text: string;
  /** `line:column` of the clause. */
  at: string;
  /** Whether the condition reads the unknowns. */
  onUnknowns: boolean;
}

/**
 * A fixpoint y = P(u(y)) with P a projection whose kink is not diagonal (onto the simplex, the
 * l1 ball, the second-order cone): its argument u and u's tangent along the unknown, for the
 * run-time certificate of the projection's faces (src/runtime/projection-certificate.ts).
 */
export interface ProjectionStructure {
  kind: 'simplex' | 'l1ball' | 'soc';
  /** `line:column` of the projection. */
  at: string;
  argument: NodeId;
  /** M ydot (the tangent of u along the unknown's seed). */
  tangent: NodeId;
  seed: NodeId;
  /** The l1 ball's radius (fixed by the inputs), else null. */
  radius: NodeId | null;
}

export interface ModelStructure {
  /** The lowered model whose graph the kernels read. */
  ir: IrModel;
  graph: Graph;
  kernels: KernelRoots;
  sites: readonly SiteStructure[];
  /** Output-only kinks without a diagonal factor (projections, groups, norms, extremes), for RunResult.outputKinks. */
  outputNonDiagonalKinks: readonly OutputNonDiagonalKinkStructure[];
  /** B = I - (scalars) D M with one diagonal kink site D: rows where D is 0 are identity rows. */
  reduction: { site: number; paramRowsVanish: boolean } | null;
  /** B over numbered leaves, when every part of it has an operator form. */
  denseB: OperatorForm | null;
  composite: CompositeForm | null;
  /** The cone program the model's two equations state (src/analysis/cone-form.ts), or null. */
  cone: ConeForm | null;
  projection: ProjectionStructure | null;
  guard: GuardStructure | null;
  /** The `require` clauses in declaration order. */
  requires: readonly RequireStructure[];
  summary: AnalysisSummary;
  /** B and A printed (`I - D_relu * W`), and the classes, for the module's documentation. */
  text: { B: string; A: string; definability: string; lipschitz: string; residual: string };
  /** How a message names a value computed from the inputs alone (`step` (let at 10:3)), by node. */
  labels: ReadonlyMap<NodeId, string>;
}
