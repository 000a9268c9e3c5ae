import { real, sameShape, showType, type ValueType } from '../ir/shape.ts';
import { flat, op, sumTerms, unbroadcast } from './build.ts';
import { logsumexpInterval, softmaxInterval, type Interval } from './interval.ts';
import * as rules from './shape-rules.ts';
import type { Builder, KinkSpec, NodeId, PrimalNode, PrimitiveSpec, ShapeResult } from './types.ts';

// Reductions to a scalar, and norms, and logsumexp with its gradient softmax (below). A norm's derivative is `<gradient, adot>` with a
// selected (sub)gradient: abs_d(a) for norm1 (a diagonal kink per entry), and dedicated
// internal gradient primitives for norm2 and norminf, whose kinks are not diagonal. Values
// and kink gaps are the runtime's kernels of the same names (src/runtime/values/reductions.ts).

/** Rules of a norm with selected gradient `gradient(a)`: adot -> <grad, adot>, ct -> ct grad. */
function gradientRules(gradient: (g: Builder, a: NodeId) => NodeId): Pick<PrimitiveSpec, 'jvp' | 'vjp'> {
  return {
    jvp: (g, node, [da]) => (da === null ? null : op(g, 'sum', op(g, 'mul', gradient(g, node.args[0]), da))),
    vjp: (g, node, ct) => [unbroadcast(g, op(g, 'mul', ct, gradient(g, node.args[0])), node.args[0])],
  };
}

/**
 * The softmax family (logsumexp, its gradient softmax, and their Jacobian product): smooth, so
 * no kink. With s = softmax(a) over all entries, the Hessian of logsumexp and the Jacobian of
 * softmax are the same matrix J = diag(s) - s s^T, applied by `softmax_jvp(a, t)` =
 * s .* (t - <s, t>). J is symmetric, so it also serves the VJP. It is not diagonal: its
 * tangents go through that one dedicated primitive, which the analysis's LinOp reader
 * (src/analysis/linop.ts) reads as an opaque operator (it has no kink to own it as a block),
 * never as a diagonal factor.
 *
 * Facts used below (MATH.md 2 and 6): x^T J x = sum_i s_i x_i^2 - (sum_i s_i x_i)^2 >= 0
 * (Jensen, as s >= 0 and sum s = 1), so J is PSD (softmax is monotone: it is the gradient of
 * the convex logsumexp); and by Gershgorin each row of J has |J_ii| + sum_{j != i} |J_ij| =
 * s_i (1 - s_i) + s_i (1 - s_i) <= 1/2, so (J symmetric) ||J||_2 <= 1/2: softmax is globally Lipschitz and
 * nonexpansive. logsumexp is globally Lipschitz with constant sup ||s||_2 <= ||s||_1 = 1.
 */
const softmaxJvp = (g: Builder, a: NodeId, t: NodeId) => op(g, 'softmax_jvp', a, t);

/** Rules of a map whose Jacobian at a is J above, applied to its only argument a. */
const softmaxJacobian: Pick<PrimitiveSpec, 'jvp' | 'vjp'> = {
  jvp: (g, node, [da]) => (da === null ? null : softmaxJvp(g, node.args[0], da)),
  vjp: (g, node, ct) => [softmaxJvp(g, node.args[0], ct)],
};

/** `(a, t)` of one shape (any), giving that shape: softmax_jvp, over all entries. */
function likeBoth(args: readonly ValueType[]): ShapeResult {
  const bad = args.findIndex((x) => x.kind !== 'real');
  if (bad >= 0) return { ok: false, code: 'E0206', arg: bad, message: `argument ${bad + 1} is a condition, expected a value` };
  if (!sameShape(args[0].shape, args[1].shape)) {
    return { ok: false, code: 'E0201', arg: 1, message: `tangent ${showType(args[1])} does not match ${showType(args[0])}` };
  }
  return { ok: true, type: real(args[0].shape) };
}

const count = (g: Builder, node: PrimalNode) => op(g, 'sum', g.broadcastTo(g.constant(1), node.args[0]));

const wholeReductions: PrimitiveSpec[] = [
  {
    name: 'sum', surface: 'function', params: ['a'], summary: 'sum of all entries', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: { linear: true },
    jvp: (g, _node, [da]) => (da === null ? null : op(g, 'sum', da)),
    vjp: (g, node, ct) => [g.broadcastTo(ct, node.args[0])],
  },
  {
    name: 'mean', surface: 'function', params: ['a'], summary: 'mean of all entries', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: { linear: true },
    jvp: (g, _node, [da]) => (da === null ? null : op(g, 'mean', da)),
    // The entry count is sum(broadcast(1, a)), so symbolic dims need no special node.
    vjp: (g, node, ct) => [g.broadcastTo(op(g, 'div', ct, count(g, node)), node.args[0])],
  },
  {
    name: 'dot', surface: 'function', params: ['a', 'b'], summary: 'sum of a .* b', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.pairReduction, structure: { bilinear: true,},
    jvp: (g, node, [da, db]) => {
      const [a, b] = node.args;
      return sumTerms(g, node.id, [da === null ? null : op(g, 'dot', da, b), db === null ? null : op(g, 'dot', a, db)]);
    },
    vjp: (g, node, ct) => {
      const [a, b] = node.args;
      return [unbroadcast(g, op(g, 'mul', ct, b), a), unbroadcast(g, op(g, 'mul', ct, a), b)];
    },
  },
  {
    name: 'sumsq', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'sum of squares of all entries', definability: 'semialgebraic', lipschitz: 'locally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'mul', g.constant(2), a)),
  },
  {
    name: 'norm1', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'sum of |entries|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'abs_d', a)),
    kink: {
      condition: 'a_i = 0 for an entry i', used: '0 for that entry (abs_d)', range: [-1, 1], rangeText: '[-1, 1] per entry',
      // Per entry, |a_i|: abs's gap.
      factor: 'abs_d', selection: 'abs_d', gap: 'abs',
    },
  },
  {
    name: 'norm2', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'Euclidean (Frobenius) norm', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'norm2_grad', a)),
    kink: {
      condition: 'a = 0', used: 'the gradient 0', range: null, rangeText: 'the unit ball {g : |g|_2 <= 1}',
      // |a|_2, one entry.
      factor: null, selection: 'norm2_grad', gap: 'norm2',
    },
  },
  {
    name: 'norminf', interval: () => [0, Infinity], surface: 'function', params: ['a'], summary: 'largest |entry|', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {},
    ...gradientRules((g, a) => op(g, 'norminf_grad', a)),
    kink: {
      condition: 'two entries tie for the largest |a_i|, or the largest is 0',
      used: 'sign(a_k) e_k with k the first entry of largest |a_k| (0 at a = 0)',
      range: null, rangeText: 'hull of sign(a_k) e_k over the tied largest entries (the unit l1 ball at a = 0)',
      // Largest |a_i| minus the runner-up (0 for a single entry): 0 exactly at a tie.
      factor: null, selection: 'norminf_grad', gap: 'norminf',
    },
  },
  {
    name: 'opnorm', interval: () => [0, Infinity], surface: 'function', params: ['A'], summary: 'spectral norm (largest singular value); data-only in v1 (no derivative rules)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.matrixNorm, structure: {},
    // The runtime's power iteration (relative accuracy 1e-10 on sigma^2, approached from below;
    // src/runtime/matrix.ts has opnorm2Upper for certified bounds). A vector is a column.
  },
  {
    name: 'logsumexp', interval: logsumexpInterval, surface: 'function', params: ['a'], summary: 'log(sum(exp(a))) over all entries, computed with the largest entry shifted out', definability: 'R_exp', lipschitz: 'globally', shape: rules.matrixNorm, structure: {},
    // d logsumexp(a) = <softmax(a), adot> (softmax over all entries, a's shape).
    ...gradientRules((g, a) => op(g, 'logsumexp_grad', a)),
  },
  {
    name: 'softmax', interval: softmaxInterval, surface: 'function', params: ['a'], summary: 'exp(a - max(a)) / sum(exp(a - max(a))), a vector; the gradient of logsumexp', definability: 'R_exp', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true },
    ...softmaxJacobian,
  },
  {
    name: 'logsumexp_grad', kernel: 'softmax', interval: softmaxInterval, surface: 'internal', params: ['a'], summary: 'gradient of logsumexp: softmax over all entries, with the shape of a', definability: 'R_exp', lipschitz: 'globally', shape: rules.likeFirst, structure: { nonexpansive: true, monotone: true },
    ...softmaxJacobian,
  },
  {
    name: 'softmax_jvp', surface: 'internal', params: ['a', 't'], summary: 'softmax Jacobian (the Hessian of logsumexp) at a times t: (diag(s) - s s^T) t = s .* (t - <s, t>), s = softmax(a) over all entries', definability: 'R_exp', lipschitz: 'locally', shape: likeBoth, structure: {},
    // With s = softmax(a), r = t - <s, t> and sdot = J adot: d(J t) = J tdot + sdot .* r - s <sdot, t>.
    jvp: (g, node, [da, dt]) => {
      const [a, t] = node.args;
      const byT = dt === null ? null : softmaxJvp(g, a, dt);
      if (da === null) return sumTerms(g, node.id, [byT]);
      const s = op(g, 'logsumexp_grad', a);
      const sdot = softmaxJvp(g, a, da);
      const r = op(g, 'sub', t, op(g, 'dot', s, t));
      const byA = op(g, 'sub', op(g, 'mul', sdot, r), op(g, 'mul', s, op(g, 'dot', sdot, t)));
      return sumTerms(g, node.id, [byT, byA]);
    },
    // <ct, d(J t)> in adot is <sdot, w> with w = ct .* r - <s, ct> t, = <adot, J w> (J symmetric).
    vjp: (g, node, ct) => {
      const [a, t] = node.args;
      const s = op(g, 'logsumexp_grad', a);
      const r = op(g, 'sub', t, op(g, 'dot', s, t));
      const w = op(g, 'sub', op(g, 'mul', ct, r), op(g, 'mul', op(g, 'dot', s, ct), t));
      return [softmaxJvp(g, a, w), softmaxJvp(g, a, ct)];
    },
  },
  {
    name: 'norm2_grad', surface: 'internal', params: ['a'], summary: 'selected gradient of norm2: a / |a|_2, and 0 at a = 0 (the tie)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps at a = 0', shape: rules.likeFirst, structure: {},
    // First-order only: no derivative rules (a second derivative of norm2 is not needed in v1).
  },
  {
    name: 'norminf_grad', surface: 'internal', params: ['a'], summary: 'selected gradient of norminf: sign(a_k) e_k, k the first entry of largest |a_k| (ties: the first)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where the largest entry changes', shape: rules.likeFirst, structure: {},
    ...flat,
  },
];

/**
 * Reductions along one axis of a matrix (issue 15), and the largest and smallest entry.
 *
 * Syntax: for X: real[n, m], `f(X, 1)` reduces over the first axis (down each column: real[m],
 * one entry per column) and `f(X, 2)` over the second (along each row: real[n], one entry per
 * row), for f in {@link AXIS_REDUCTIONS}: sum, mean, sumsq, norm1, norm2, norminf, and maxof /
 * minof (`max(a, b)` / `min(a, b)` are the elementwise binary primitives, so the reductions to
 * the largest / smallest entry have their own names; `maxof(a)` / `minof(a)` of a whole array
 * give a scalar). The axis is the integer literal 1 or 2 (E0214 otherwise, E0203 for an
 * argument that is not a matrix): the checker (src/check/check.ts) plans `f(X, 2)` as the
 * internal `f_rows(X)` and `f(X, 1)` as `f_rows(X')`, so each reduction has one row-wise
 * primitive, whose rules are those of the whole-array reduction applied to each row.
 *
 * Rules, with G = the selected gradient of each row laid out with X's shape (a row of G is the
 * whole-array selected gradient of that row) and spread_rows(c, X) the matrix with row i equal
 * to c_i everywhere (the transpose of sum_rows): JVP = sum_rows(G .* Xdot), VJP =
 * spread_rows(ct, X) .* G. Row i of the output depends on row i of X only, so the conservative
 * Jacobian of f_rows is block diagonal with the rows' conservative gradients as blocks, and the
 * per-row selection is an element of it (a product of conservative fields is conservative,
 * MATH.md 3): kinks are those of the whole-array reductions, one kink variable per row (per
 * entry for norm1): norm1 at each zero entry (abs, diagonal), norm2 at a zero row (the unit
 * ball), norminf, maxof and minof at ties between entries of a row (the hull of the tied
 * entries' signed indicator rows; for maxof/minof the indicators e_k of the tied largest /
 * smallest entries). Lipschitz constants: each row map is globally Lipschitz with constant 1
 * in the 2-norm (norm1: sqrt(m)), and sumsq only locally, so the classes are the whole-array
 * ones. Intervals: every entry of the value lies where the whole-array reduction of the
 * entry intervals does (maxof/minof/mean: an entry's own interval; a sum of entries of one
 * sign keeps that sign).
 */
export const AXIS_REDUCTIONS: ReadonlySet<string> = new Set(['sum', 'mean', 'sumsq', 'norm1', 'norm2', 'norminf', 'maxof', 'minof']);

/** The row-wise primitive of an axis reduction `name` (in AXIS_REDUCTIONS). */
export const rowwiseReduction = (name: string): string => `${name}_rows`;

/** A matrix [n, m] to a vector [n]. */
function rowReduction(args: readonly ValueType[]): ShapeResult {
  if (args[0].kind !== 'real') return { ok: false, code: 'E0206', arg: 0, message: 'argument 1 is a condition, expected a value' };
  if (args[0].shape.length !== 2) {
    return { ok: false, code: 'E0203', arg: 0, message: `expected a matrix, found ${showType(args[0])}`, help: 'a reduction along an axis takes a matrix; reduce a whole vector with `f(v)`' };
  }
  return { ok: true, type: real([args[0].shape[0]]) };
}

/** `spread_rows(c, X)`: c a vector [n], X a matrix [n, m], giving X's shape. */
function spreadShape(args: readonly ValueType[]): ShapeResult {
  const [c, x] = args;
  if (c.kind !== 'real' || x.kind !== 'real') return { ok: false, code: 'E0206', arg: c.kind !== 'real' ? 0 : 1, message: 'spread of a condition' };
  if (x.shape.length !== 2 || c.shape.length !== 1 || c.shape[0] !== x.shape[0]) {
    return { ok: false, code: 'E0201', arg: 0, message: `cannot spread ${showType(c)} over the rows of ${showType(x)}` };
  }
  return { ok: true, type: real(x.shape) };
}

const sumRows = (g: Builder, x: NodeId) => op(g, 'sum_rows', x);
const spreadRows = (g: Builder, c: NodeId, like: NodeId) => op(g, 'spread_rows', c, like);

/** Rules of a row-wise reduction with selected row gradients `gradient(X)` (X's shape). */
function rowGradientRules(gradient: (g: Builder, x: NodeId) => NodeId): Pick<PrimitiveSpec, 'jvp' | 'vjp'> {
  return {
    jvp: (g, node, [dx]) => (dx === null ? null : sumRows(g, op(g, 'mul', gradient(g, node.args[0]), dx))),
    vjp: (g, node, ct) => [op(g, 'mul', spreadRows(g, ct, node.args[0]), gradient(g, node.args[0]))],
  };
}

/** The hull of the entries' bounds (a value that is one of the entries, or their mean). */
const entryInterval = ([a]: readonly Interval[]): Interval => a;
/** A sum of entries in [lo, hi]: its sign where all entries share one, else unbounded. */
const sumInterval = ([[lo, hi]]: readonly Interval[]): Interval => [lo >= 0 ? 0 : -Infinity, hi <= 0 ? 0 : Infinity];
const nonnegative = (): Interval => [0, Infinity];

/** The kink of the largest (maxof) or smallest (minof) entry, of a whole array or of each row. */
function extremeKink(name: 'maxof' | 'minof', rows: boolean): KinkSpec {
  const which = name === 'maxof' ? 'largest' : 'smallest';
  const where = rows ? ' of a row' : '';
  return {
    condition: `two entries${where} tie for the ${which}`,
    used: `e_k with k the first ${which} entry${where}`,
    range: null,
    rangeText: `hull of e_k over the tied ${which} entries${where}`,
    // The extreme minus the runner-up (+Infinity for one entry): 0 exactly at a tie.
    factor: null, selection: rows ? `${name}_rows_grad` : `${name}_grad`, gap: rows ? `${name}_rows` : name,
  };
}

const extremeSummary = (name: 'maxof' | 'minof') => (name === 'maxof' ? 'largest' : 'smallest');

function extremes(name: 'maxof' | 'minof'): PrimitiveSpec[] {
  const which = extremeSummary(name);
  return [
    {
      name, interval: entryInterval, surface: 'function', params: ['a'], summary: `the ${which} entry; ${name}(X, 1) and ${name}(X, 2): of each column and of each row`, definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reduction, structure: {},
      ...gradientRules((g, a) => op(g, `${name}_grad`, a)),
      kink: extremeKink(name, false),
    },
    {
      name: `${name}_rows`, interval: entryInterval, surface: 'internal', params: ['X'], summary: `the ${which} entry of each row of X (${name}(X, 2); ${name}(X, 1) is ${name}_rows(X'))`, definability: 'semialgebraic', lipschitz: 'globally', shape: rowReduction, structure: {},
      ...rowGradientRules((g, x) => op(g, `${name}_rows_grad`, x)),
      kink: extremeKink(name, true),
    },
    {
      name: `${name}_grad`, interval: () => [0, 1], surface: 'internal', params: ['a'], summary: `selected gradient of ${name}: e_k, k the first ${which} entry (ties: the first)`, definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: `jumps where the ${which} entry changes`, shape: rules.likeFirst, structure: {},
      ...flat,
    },
    {
      name: `${name}_rows_grad`, interval: () => [0, 1], surface: 'internal', params: ['X'], summary: `selected gradient of ${name}_rows: per row e_k, k the row's first ${which} entry`, definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: `jumps where a row's ${which} entry changes`, shape: rules.likeFirst, structure: {},
      ...flat,
    },
  ];
}

const axisReductions: PrimitiveSpec[] = [
  {
    name: 'sum_rows', interval: sumInterval, surface: 'internal', params: ['X'], summary: "sum of each row of X (sum(X, 2); sum(X, 1) is sum_rows(X'))", definability: 'semialgebraic', lipschitz: 'globally', shape: rowReduction, structure: { linear: true },
    jvp: (g, _node, [dx]) => (dx === null ? null : sumRows(g, dx)),
    vjp: (g, node, ct) => [spreadRows(g, ct, node.args[0])],
  },
  {
    name: 'mean_rows', interval: entryInterval, surface: 'internal', params: ['X'], summary: "mean of each row of X (mean(X, 2); mean(X, 1) is mean_rows(X'))", definability: 'semialgebraic', lipschitz: 'globally', shape: rowReduction, structure: { linear: true },
    jvp: (g, _node, [dx]) => (dx === null ? null : op(g, 'mean_rows', dx)),
    // The row length m = (entries of X) / (entries of the result), so symbolic dims need no node.
    vjp: (g, node, ct) => [op(g, 'div', spreadRows(g, ct, node.args[0]), op(g, 'div', count(g, node), op(g, 'sum', g.broadcastTo(g.constant(1), ct))))],
  },
  {
    name: 'sumsq_rows', interval: nonnegative, surface: 'internal', params: ['X'], summary: "sum of squares of each row of X (sumsq(X, 2); sumsq(X, 1) is sumsq_rows(X'))", definability: 'semialgebraic', lipschitz: 'locally', shape: rowReduction, structure: {},
    ...rowGradientRules((g, x) => op(g, 'mul', g.constant(2), x)),
  },
  {
    name: 'norm1_rows', interval: nonnegative, surface: 'internal', params: ['X'], summary: "sum of |entries| of each row of X (norm1(X, 2); norm1(X, 1) is norm1_rows(X'))", definability: 'semialgebraic', lipschitz: 'globally', shape: rowReduction, structure: {},
    ...rowGradientRules((g, x) => op(g, 'abs_d', x)),
    kink: {
      condition: 'X_ij = 0 for an entry', used: '0 for that entry (abs_d)', range: [-1, 1], rangeText: '[-1, 1] per entry',
      // Per entry, |X_ij|: abs's gap (as norm1's).
      factor: 'abs_d', selection: 'abs_d', gap: 'abs',
    },
  },
  {
    name: 'norm2_rows', interval: nonnegative, surface: 'internal', params: ['X'], summary: "Euclidean norm of each row of X (norm2(X, 2); norm2(X, 1) is norm2_rows(X'))", definability: 'semialgebraic', lipschitz: 'globally', shape: rowReduction, structure: {},
    ...rowGradientRules((g, x) => op(g, 'norm2_rows_grad', x)),
    kink: {
      condition: 'a row of X is 0', used: 'the gradient 0 for that row', range: null, rangeText: 'the unit ball {g : |g|_2 <= 1} for each zero row',
      // |row|_2, one entry per row.
      factor: null, selection: 'norm2_rows_grad', gap: 'norm2_rows',
    },
  },
  {
    name: 'norminf_rows', interval: ([[lo, hi]]) => [0, Math.max(Math.abs(lo), Math.abs(hi))], surface: 'internal', params: ['X'], summary: "largest |entry| of each row of X (norminf(X, 2); norminf(X, 1) is norminf_rows(X'))", definability: 'semialgebraic', lipschitz: 'globally', shape: rowReduction, structure: {},
    ...rowGradientRules((g, x) => op(g, 'norminf_rows_grad', x)),
    kink: {
      condition: 'two entries of a row tie for its largest |X_ij|, or the row is 0',
      used: 'per row sign(X_ik) e_k with k its first entry of largest |X_ik| (0 for a zero row)',
      range: null, rangeText: 'per row, hull of sign(X_ik) e_k over the tied largest entries (the unit l1 ball for a zero row)',
      // Per row, its largest |X_ij| minus the runner-up.
      factor: null, selection: 'norminf_rows_grad', gap: 'norminf_rows',
    },
  },
  ...extremes('maxof'),
  ...extremes('minof'),
  {
    name: 'norm2_rows_grad', interval: () => [-1, 1], surface: 'internal', params: ['X'], summary: 'selected gradient of norm2_rows: each row divided by its norm, a zero row 0 (the tie)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where a row is 0', shape: rules.likeFirst, structure: {},
    // First-order only, as norm2_grad.
  },
  {
    name: 'norminf_rows_grad', interval: () => [-1, 1], surface: 'internal', params: ['X'], summary: 'selected gradient of norminf_rows: per row sign(X_ik) e_k, k its first entry of largest |X_ik|', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: "jumps where a row's largest entry changes", shape: rules.likeFirst, structure: {},
    ...flat,
  },
  {
    name: 'spread_rows', interval: entryInterval, surface: 'internal', params: ['c', 'like'], summary: "the matrix of like's shape [n, m] with row i equal to c_i everywhere: the transpose of sum_rows", definability: 'semialgebraic', lipschitz: 'globally', shape: spreadShape, structure: { linear: true },
    jvp: (g, node, [dc]) => (dc === null ? null : spreadRows(g, dc, node.args[1])),
    vjp: (g, _node, ct) => [sumRows(g, ct), null],
  },
];

/** The family: reductions of whole arrays, their gradients, and the reductions along an axis. */
export const reductions: PrimitiveSpec[] = [...wholeReductions, ...axisReductions];
