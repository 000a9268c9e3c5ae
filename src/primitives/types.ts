import type { Dim, Shape, ValueType } from '../ir/shape.ts';
import type { Interval } from './interval.ts';

/** Definability class (MATH.md section 2), ordered from most to least tame. */
export type Definability = 'semialgebraic' | 'R_exp' | 'R_an' | 'not definable';
/** Lipschitz class (MATH.md section 2), ordered from best to worst. */
export type Lipschitz = 'globally' | 'locally' | 'not Lipschitz' | 'discontinuous';

import type { Tensor } from '../runtime/tensor.ts';

/** A dense f64 array value (src/runtime/tensor.ts, where the runtime defines it). */
export type { Tensor };

/** What a shape rule returns: the result type, or which argument is wrong and why. */
export type ShapeResult =
  | { ok: true; type: ValueType }
  | { ok: false; code: 'E0201' | 'E0202' | 'E0203' | 'E0206' | 'E0207' | 'E0208'; message: string; arg?: number; help?: string };

/** Node handle in an IR graph. */
export type NodeId = number;

/**
 * The IR builder that derivative rules use (JAX's `ad.primitive_jvps` style): rules build
 * new IR nodes from old ones, so derivatives of whole models are derived, never hand-written.
 */
export interface Builder {
  /** Apply a primitive (shape inferred through its rule) to existing nodes. */
  apply(primitive: string, args: readonly NodeId[], attrs?: Attrs): NodeId;
  /** A scalar constant. */
  constant(value: number): NodeId;
  /** `x` broadcast to the shape of `like` (a no-op when the shapes already agree). */
  broadcastTo(x: NodeId, like: NodeId): NodeId;
  /** Sum `x` down to the shape of `like` (the transpose of broadcastTo). */
  reduceTo(x: NodeId, like: NodeId): NodeId;
  shape(id: NodeId): Shape;
  /**
   * A scalar node whose value is the size `d` (a literal, a dim, or a sum of dims): the
   * positions of the slices that transpose a concatenation (src/primitives/indexing.ts).
   */
  dim(d: Dim): NodeId;
  /**
   * What a node is and what it depends on: the rules of `select` read their condition's
   * structure (a comparison of moving values is a switching surface, MATH.md 5).
   */
  node(id: NodeId): { readonly op: string; readonly args: readonly NodeId[]; readonly dep: 'const' | 'data' | 'param' | 'unknown' };
}

/** Static attributes of a node (e.g. a constant's value). */
export type Attrs = Readonly<Record<string, number | string | boolean>>;

/** A primal node as derivative rules see it. */
export interface PrimalNode {
  id: NodeId;
  args: readonly NodeId[];
  attrs: Attrs;
}

/**
 * The conservative-Jacobian element a nonsmooth primitive contributes (MATH.md section 3):
 * where it switches, which element the generated code uses at a tie, and the full set there
 * (the set the certifier must check, MATH.md section 5).
 */
export interface KinkDescription {
  /** Switching condition, as math text (e.g. `a = 0`). */
  condition: string;
  /** Element of the conservative Jacobian used at a tie (e.g. `0` for relu'(0)). */
  used: string;
  /** Full range at a tie, as an interval of the diagonal factor, when diagonal; else null. */
  range: readonly [number, number] | null;
  /** Human text for the range (`[0, 1]`, `hull of face projections`). */
  rangeText: string;
  /**
   * Diagonal kinks: the internal primitive, applied to the same arguments, whose value is
   * the diagonal factor (one kink variable per element, in `range`). Null when the kink is
   * not diagonal (projections onto the simplex, l1 ball and cone; norm2 and norminf).
   */
  factor: string | null;
  /**
   * The internal primitive the derivative rules use for the selected element: `factor`
   * when diagonal, otherwise the dedicated Jacobian-vector product or gradient primitive.
   */
  selection: string;
  /**
   * The name of the kink-gap kernel in the runtime's table (src/runtime/values/table.ts
   * KINK_GAPS; generated code calls `kinkGap(<gap>, args)`): the distance of each kink
   * variable from its switching surface, from the arguments' values.
   */
  gap: string;
  /**
   * The switch of `if` (select): the factor is not applied to the primitive's own arguments
   * but to the condition in canonical form `s > 0` and the two branch values, (s, then, else),
   * one factor per comparison in the condition (src/primitives/logic.ts switchWeight); its gap
   * has 2n entries for n elements, the distances |s| and then the jumps |then - else| that
   * the runtime certificate reads at ties (src/runtime/certificate.ts). Absent: false.
   */
  switch?: boolean;
  /**
   * That kernel: one entry per element of the factor (per output element for elementwise
   * primitives and projections; per argument element for norm1; one entry for norm2 and
   * norminf), and exactly 0 at a tie.
   */
  kinkGap: (args: readonly Tensor[]) => Float64Array;
}

/** A kink as a family file declares it: its gap by name only (the registry looks the kernel up). */
export type KinkSpec = Omit<KinkDescription, 'kinkGap'>;

/** Facts the certifier uses (MATH.md section 5). */
export interface StructureFacts {
  /** Acts elementwise: its Jacobian in each argument is diagonal. */
  elementwise?: boolean;
  /** Linear in its unknown-dependent arguments. */
  linear?: boolean;
  /** Every element of its conservative Jacobian (w.r.t. argument 0) has operator 2-norm <= 1. */
  nonexpansive?: boolean;
  /** Monotone (Jacobian elements have positive semidefinite symmetric part). */
  monotone?: boolean;
  /**
   * Projection onto a closed convex set: Jacobian elements (w.r.t. argument 0) are symmetric
   * PSD with norm <= 1 (src/analysis/monotone-prox.ts relies on it for every kind). The run-time
   * certificate of faces (src/runtime/projection-certificate.ts) knows simplex, l1ball and soc;
   * for the others it gives no verdict and the general test applies.
   */
  projection?: 'nonneg' | 'box' | 'simplex' | 'l1ball' | 'soc' | 'l2ball' | 'linf_ball' | 'psd' | 'cone' | 'dual_cone';
  /**
   * Exact values of a nondecreasing elementwise function for the enclosures with exact and open
   * ends (src/analysis/strict-interval.ts): its limits at -inf and +inf (never attained: open
   * ends) and its value at 0; or, for a bounded function, its exact closed range.
   */
  exactValues?: { atMinusInf?: number; atZero?: number; atPlusInf?: number } | { range: readonly [number, number] };
  /** A diagonal kink factor: values lie in `range` (used by structured Jacobians). */
  kinkFactor?: { of: string; range: readonly [number, number] };
  /** A comparison or logic op: its value is a condition. */
  predicate?: boolean;
  /** A product: only locally Lipschitz when both factors move. */
  bilinear?: boolean;
  /** This argument divides: Lipschitz only away from its zeros. */
  divisor?: number;
  /** Definable (in R_an) only on a bounded domain of argument 0 (sin, cos). */
  boundedDomain?: boolean;
  /** Not Lipschitz where argument 0 reaches 0 (sqrt). */
  singularAtZero?: boolean;
  /** A piecewise definition switching on argument 0 (`if then else`). */
  piecewise?: boolean;
  /** A power whose exponent (argument 1) decides its regularity at 0. */
  power?: boolean;
  /**
   * How a tangent through this op reads as a linear operator (structured Jacobians):
   * the tangent passes through sums, negations, products by a fixed factor, quotients by a
   * fixed divisor and matrix products.
   */
  linearForm?: 'sum' | 'difference' | 'negation' | 'product' | 'quotient' | 'matrix product';
  /** Swaps the two axes of its argument (A'): codegen fuses `s * A'` into one pass. */
  transpose?: boolean;
  /**
   * Its value is argument 0, a scalar, repeated to the shape of argument 1: it moves only
   * with argument 0 (a batched kernel reads argument 0 for every entry).
   */
  repeatsFirst?: boolean;
  /**
   * The row-wise proximal operator this primitive is, argument 0 its argument (or, with
   * `either`, whichever argument moves): a fixpoint y = prox(M y + c) is proximal gradient on a
   * separable composite quadratic problem (src/analysis/composite.ts), solved by coordinate
   * descent (src/runtime/composite-cd.ts).
   */
  prox?: ProxFact;
}

/**
 * Which penalty's prox a primitive is: t ||.||_1 with t its argument `threshold`, or the
 * indicator of a box whose bounds are arguments (by index), 0 (`zero`) or absent (null); or,
 * for a two-argument max or min, a half-line bounded by whichever argument is fixed.
 */
export type ProxFact =
  | { penalty: 'l1'; threshold: number }
  | { penalty: 'box'; lower: number | 'zero' | null; upper: number | null }
  | { penalty: 'box'; either: 'lower' | 'upper' };

/**
 * One primitive, completely described (DESIGN.md "The primitive registry"). Nothing outside
 * src/primitives names a primitive; every pass looks its rules up here.
 */
export interface Primitive {
  name: string;
  /** `function`: users call it by name; `operator`: reached through surface syntax;
   *  `internal`: made by the compiler (derivative factors, broadcasts). */
  surface: 'function' | 'operator' | 'internal';
  /** Argument names, for arity errors and documentation. */
  params: readonly string[];
  summary: string;
  definability: Definability;
  lipschitz: Lipschitz;
  /** Where it is not Lipschitz or not continuous, in words (for diagnostics). */
  irregularity?: string;
  /**
   * The result type. `attrs` are the node's static attributes: the sizes a slice or a
   * constructor makes (src/primitives/indexing.ts), which its arguments' types cannot tell.
   */
  shape(args: readonly ValueType[], attrs?: Attrs): ShapeResult;
  /**
   * The name of its value kernel in the runtime's table (src/runtime/values/table.ts
   * VALUE_KERNELS): what generated code calls, `K.<kernel>(...)`. The primitive's name
   * unless the family file says otherwise.
   */
  kernel: string;
  /** f64 value rule: the value kernel named `kernel` (attrs are not read). */
  evaluate(args: readonly Tensor[], attrs: Attrs): Tensor;
  /** Forward rule: the tangent of the output from the tangents of the arguments (null = 0). */
  jvp?(g: Builder, node: PrimalNode, tangents: readonly (NodeId | null)[]): NodeId | null;
  /** Reverse rule: the cotangent of each argument (null = 0). */
  vjp?(g: Builder, node: PrimalNode, cotangent: NodeId): (NodeId | null)[];
  kink?: KinkDescription;
  structure: StructureFacts;
  /**
   * Elementwise primitives: the scalar expression for batched (gpu.js) kernels, over argument
   * expressions (which it parenthesizes, so expressions compose by substitution). Only
   * Math.abs/exp/log/sqrt/sin/cos/max/min/pow/floor, comparisons, ternaries and float literals.
   */
  scalarExpr?: (args: readonly string[]) => string;
  /**
   * Sound bounds on every entry of the value, from bounds on the arguments' entries and the
   * values of constant arguments (used by the class analysis and the scalar interval test).
   * Absent: no bound is known.
   */
  interval?(args: readonly Interval[], constants: readonly (number | null)[]): Interval;
  /** How printed math writes it (`a + b`, `-a`); otherwise `name(args)`. */
  notation?: { infix?: string; prefix?: string };
}

/**
 * A primitive as its family file declares it: its rules, and its value kernel and kink gap
 * by name in the runtime's tables; the registry (registry.ts) adds `evaluate` and `kinkGap`
 * from those tables, so the rules and the arithmetic live on either side of one name.
 */
export type PrimitiveSpec = Omit<Primitive, 'kernel' | 'evaluate' | 'kink'> & { kernel?: string; kink?: KinkSpec };
