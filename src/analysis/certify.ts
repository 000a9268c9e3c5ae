import { jvp } from '../ir/ad.ts';
import type { Graph } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { isScalar, sameShape } from '../ir/shape.ts';
import { ANY, invInterval, mulInterval } from '../primitives/interval.ts';
import { factsOf } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Bounds, Interval } from './bounds.ts';
import { searchCounterexample, type Counterexample } from './counterexample.ts';
import { kinkFree, showLinOp, toLinOp, type LinOp, type Namer } from './linop.ts';
import { boundSup, boundValue, guardDependency, normBound, showBound, type NormBound } from './norm-bound.ts';

export type Verdict = 'certified' | 'guarded' | 'runtime' | 'unverified' | 'violated';
export type CertificationTest = 'scalar interval' | 'contraction' | 'monotone' | 'row-wise vertex test' | 'counterexample' | 'none';

export interface Certificate {
  verdict: Verdict;
  test: CertificationTest;
  /** With `guarded`: the condition the generated code checks on the actual values. */
  guard: string | null;
  guardBound: NormBound | null;
  /** Whether the exact row-wise test applies at run time (when a guard fails, say). */
  rowwise: boolean;
  reason: string;
  counterexample: Counterexample | null;
}

/** The structured Jacobians of one model: B = dF/dy per residual block, T_y for fixpoints. */
export interface Jacobians {
  seeds: Map<NodeId, string>;
  /** Tangent of each residual block along the unknowns' seeds. */
  bTangents: (NodeId | null)[];
  B: LinOp[];
  /** For a single fixpoint: T_y (so that B = I - T_y). */
  Ty: LinOp | null;
  /** A = dF/dparams per block, seeded by each param. */
  A: LinOp[];
  paramSeeds: Map<NodeId, string>;
}

export function jacobians(model: IrModel): Jacobians {
  const g = model.graph;
  const seeds = new Map<NodeId, string>();
  const seedOf = new Map<NodeId, NodeId>();
  for (const u of model.unknowns) {
    const s = g.input(`d${u.name}`, 'seed', { kind: 'real', shape: u.shape });
    seeds.set(s, u.name);
    seedOf.set(u.node, s);
  }
  const residual = model.residual.map((r) => r.node);
  const bTangents = jvp(g, residual, seedOf);
  const B = bTangents.map((t, i) => (t === null ? zeroOp(residual[i]) : toLinOp(g, t, seeds)));
  let Ty: LinOp | null = null;
  if (model.residual.length === 1 && model.residual[0].fixpoint && model.unknowns.length === 1) {
    const [t] = jvp(g, [model.residual[0].fixpoint.map], seedOf);
    Ty = t === null ? null : toLinOp(g, t, seeds);
  }
  const paramSeeds = new Map<NodeId, string>();
  const paramSeedOf = new Map<NodeId, NodeId>();
  for (const p of model.params) {
    const s = g.input(`d${p.name}`, 'seed', { kind: 'real', shape: p.shape });
    paramSeeds.set(s, p.name);
    paramSeedOf.set(p.node, s);
  }
  const aTangents = jvp(g, residual, paramSeedOf);
  const A = aTangents.map((t, i) => (t === null ? zeroOp(residual[i]) : toLinOp(g, t, paramSeeds)));
  return { seeds, bTangents, B, Ty, A, paramSeeds };
}

function zeroOp(node: NodeId): LinOp {
  return { kind: 'opaque', node };
}

/** MATH.md section 5: the sound tests in order, then a counterexample search. */
export function certify(model: IrModel, jac: Jacobians, bounds: Bounds, namer: Namer): Certificate {
  const g = model.graph;
  const single = model.unknowns.length === 1 && model.residual.length === 1;
  const scalarUnknown = single && model.unknowns[0].shape.length === 0;
  const rowwise = single && isRowwise(jac.B[0], model);
  const base = { guard: null, guardBound: null, rowwise, counterexample: null };

  // 5.1: a scalar unknown: B ranges over an interval, which must exclude 0.
  let scalarRange: Interval | null = null;
  if (scalarUnknown) {
    const [lo, hi] = (scalarRange = linOpInterval(jac.B[0], bounds, g));
    if (lo > 0 || hi < 0) {
      return { ...base, verdict: 'certified', test: 'scalar interval', reason: `every B lies in ${showInterval(lo, hi)}, which excludes 0` };
    }
  }
  // 5.3 for diagonal B: every entry's interval excludes 0 at every vertex (uniformly definite).
  if (single && !scalarUnknown && isDiagonal(jac.B[0])) {
    const [lo, hi] = linOpInterval(jac.B[0], bounds, g);
    if (lo > 0 || hi < 0) {
      return { ...base, verdict: 'certified', test: 'monotone', reason: `B is diagonal with entries in [${fmt(lo)}, ${fmt(hi)}]: definite at every vertex` };
    }
  }
  // 5.3 by construction: B = (diagonal part >= c > 0) + sum of M' D M with D >= 0 diagonal.
  if (single && !scalarUnknown) {
    const pd = positiveDefiniteByConstruction(jac.B[0], g, bounds);
    if (pd !== null) {
      return {
        ...base,
        verdict: 'certified',
        test: 'monotone',
        reason: `B = ${showLinOp(jac.B[0], namer)} is a diagonal part with entries >= ${fmt(pd)} > 0 plus terms M' D M with D diagonal and >= 0: its symmetric part is positive definite at every element of the set, so every B is invertible`,
      };
    }
  }
  // 5.2: contraction of the fixed-point map through composed norm bounds.
  let dataBound: NormBound | null = null;
  if (jac.Ty) {
    const bound = normBound(jac.Ty, g, bounds, namer);
    if (bound) {
      const value = boundValue(bound);
      if (value !== null && value < 1) {
        return { ...base, verdict: 'certified', test: 'contraction', reason: `||T_y|| <= ${fmt(value)} < 1 over the whole conservative set` };
      }
      // The `require` clauses are checked on the actual values before any derivative is
      // returned, so their bounds are hypotheses of the theorem: `require opnorm(W) <= 0.9`
      // makes ||D W|| <= 0.9 at every element.
      const stated = boundSup(bound);
      if (value === null && stated < 1) {
        return {
          ...base,
          verdict: 'certified',
          test: 'contraction',
          reason: `||T_y|| <= ${showBound(bound)} <= ${fmt(stated)} < 1 over the whole conservative set, by the bounds the \`require\` clauses state (checked at run time)`,
        };
      }
      // A bound on run-time values: a guard the generated code checks. One on data only
      // (which users cannot make hold) is left to the exact test where that test applies.
      const dependency = value === null ? guardDependency(bound) : null;
      if (dependency === 'param' || (dependency === 'data' && !rowwise)) {
        const guard = `${showBound(bound)} < 1`;
        return {
          ...base,
          verdict: 'guarded',
          test: 'contraction',
          guard,
          guardBound: bound,
          reason: `T_y = ${showLinOp(jac.Ty, namer)}, and ||T_y|| <= ${showBound(bound)}; the generated code checks \`${guard}\` on the actual values${rowwise ? ', and falls back to the row-wise vertex test when it fails' : ''}`,
        };
      }
      if (dependency === 'data') dataBound = bound;
    }
  }
  // A reachable singular element refutes the condition (MATH.md 4, the pathologies).
  const counterexample = searchCounterexample(model, jac);
  if (counterexample) {
    return { ...base, verdict: 'violated', test: 'counterexample', reason: counterexample.why, counterexample };
  }
  // 5.4: each kink factor scales one row of B: det B is multilinear in the factors.
  if (rowwise) {
    return {
      ...base,
      verdict: 'runtime',
      test: 'row-wise vertex test',
      reason: `B = ${showLinOp(jac.B[0], namer)}: each kink factor scales only its own row, so det B is affine in each factor and the exact test checks the sign of det B at the 2^t vertices over the t ties of each solution${dataBound ? `; the data-only bound ${showBound(dataBound)} < 1 also suffices when it holds` : ''}`,
    };
  }
  return {
    ...base,
    verdict: 'unverified',
    test: 'none',
    reason: scalarRange
      ? `B = ${showLinOp(jac.B[0], namer)} ranges over ${showInterval(...scalarRange)}, which contains 0, and no reachable point with a singular B was found`
      : unverifiedReason(jac, model),
  };
}

function unverifiedReason(jac: Jacobians, model: IrModel): string {
  if (model.unknowns.length > 1 || model.residual.length > 1) return 'several unknowns or equation blocks: only the scalar, contraction and row-wise tests are implemented, and none applies';
  const kinds = new Set<string>();
  let kinks = false;
  const walk = (o: LinOp): void => {
    kinds.add(o.kind);
    if (o.kind === 'diag' && o.kinks.length > 0) kinks = true;
    if ('of' in o) walk(o.of);
    if (o.kind === 'sum') o.terms.forEach((t) => walk(t.op));
  };
  walk(jac.B[0]);
  if (kinds.has('opaque')) return 'B has a factor whose structure the analysis cannot read (a product of two unknown-dependent terms, say)';
  if (kinds.has('block')) return 'B contains a non-diagonal kink (a projection Jacobian), and no norm bound on the parameters makes the map a contraction';
  // Only a kink factor may be named as one: a smooth factor (tanh', cos) is not a kink.
  if (kinks) return 'a kink factor appears inside a product rather than scaling whole rows of B, and no contraction bound holds';
  return 'B varies with the unknowns through smooth factors whose ranges exclude no singular element: neither the interval, the contraction nor the positive-definiteness test applies';
}

/**
 * A multilinear polynomial in the kink variables with interval coefficients: each key is
 * the sorted list of kink-factor nodes of a monomial.
 */
type Poly = Map<string, { vars: NodeId[]; coef: Interval }>;

const MAX_POLY_VARIABLES = 10;

function constantPoly(c: Interval): Poly {
  return new Map([['', { vars: [], coef: c }]]);
}

function addPoly(a: Poly, b: Poly, sign: 1 | -1): Poly {
  const out: Poly = new Map(a);
  for (const [k, m] of b) {
    const c: Interval = sign === 1 ? m.coef : [-m.coef[1], -m.coef[0]];
    const prev = out.get(k);
    out.set(k, { vars: m.vars, coef: prev ? [prev.coef[0] + c[0], prev.coef[1] + c[1]] : c });
  }
  return out;
}

/** The product, or null when a kink variable would appear squared (no longer multilinear). */
function mulPoly(a: Poly, b: Poly): Poly | null {
  let out: Poly = new Map();
  for (const x of a.values()) {
    for (const y of b.values()) {
      if (x.vars.some((v) => y.vars.includes(v))) return null;
      const vars = [...x.vars, ...y.vars].sort((p, q) => p - q);
      out = addPoly(out, new Map([[vars.join(','), { vars, coef: mulInterval(x.coef, y.coef) }]]), 1);
    }
  }
  return out;
}

/**
 * The entries of a diagonal factor as a polynomial in the kink factors they are built from
 * elementwise: max(y, 2 y) has factors d and 1 - d of the same kink variable d, which the
 * plain interval product treats as independent ([0, 1] + 2 [0, 1] = [0, 3]) and the
 * polynomial keeps together (d + 2 (1 - d) = 2 - d in [1, 2]). Any other sub-expression
 * enters as the interval of its values (sound: it holds for every element of the set).
 */
function factorPoly(id: NodeId, g: Graph, bounds: Bounds): Poly | null {
  const n = g.node(id);
  const facts = factsOf(n.op);
  if (n.op === 'const' || n.op === 'input') return constantPoly(bounds.interval(id));
  if (facts.kinkFactor) return new Map([[String(id), { vars: [id], coef: [1, 1] as Interval }]]);
  const args = n.args.map((a) => () => factorPoly(a, g, bounds));
  switch (n.op) {
    case 'broadcast':
      return args[0]();
    case 'neg': {
      const a = args[0]();
      return a && addPoly(new Map(), a, -1);
    }
    case 'add':
    case 'sub': {
      const a = args[0]();
      const b = args[1]();
      return a && b && addPoly(a, b, n.op === 'add' ? 1 : -1);
    }
    case 'mul': {
      const a = args[0]();
      const b = args[1]();
      return (a && b && mulPoly(a, b)) ?? constantPoly(bounds.interval(id));
    }
    default:
      return constantPoly(bounds.interval(id));
  }
}

/** B (scalar or diagonal) as a polynomial in the kink variables; null when not multilinear. */
function linOpPoly(op: LinOp, g: Graph, bounds: Bounds): Poly | null {
  const times = (c: Interval, inner: Poly | null): Poly | null => inner && mulPoly(constantPoly(c), inner);
  switch (op.kind) {
    case 'identity':
      return constantPoly([1, 1]);
    case 'scale': {
      const f = bounds.interval(op.factor);
      return times(op.inverse ? invInterval(f) : f, linOpPoly(op.of, g, bounds));
    }
    case 'diag': {
      const f = factorPoly(op.factor, g, bounds);
      const inner = linOpPoly(op.of, g, bounds);
      return f && inner && mulPoly(f, inner);
    }
    case 'matmul':
    case 'rmatmul':
      return times(bounds.interval(op.matrix), linOpPoly(op.of, g, bounds));
    case 'sum': {
      let acc: Poly = new Map();
      for (const t of op.terms) {
        const p = linOpPoly(t.op, g, bounds);
        if (!p) return null;
        acc = addPoly(acc, p, t.sign);
      }
      return acc;
    }
    case 'block':
      return times([0, 1], linOpPoly(op.of, g, bounds));
    case 'opaque':
      return constantPoly(ANY);
  }
}

/**
 * The range of a multilinear polynomial over the box of its kink variables: for any fixed
 * values of the coefficients it is affine in each variable separately, so its extremes lie
 * at the vertices of the box (the argument of MATH.md 5.4, for one entry); the interval of
 * each vertex's value covers every coefficient value.
 */
function polyRange(p: Poly, bounds: Bounds): Interval | null {
  const vars = [...new Set([...p.values()].flatMap((m) => m.vars))];
  if (vars.length > MAX_POLY_VARIABLES) return null;
  const ranges = vars.map((v) => bounds.interval(v));
  let lo = Infinity;
  let hi = -Infinity;
  for (let mask = 0; mask < 1 << vars.length; mask++) {
    const at = new Map(vars.map((v, i) => [v, mask & (1 << i) ? ranges[i][1] : ranges[i][0]]));
    let sum: Interval = [0, 0];
    for (const m of p.values()) {
      const x = m.vars.reduce((q, v) => q * at.get(v)!, 1);
      const t = mulInterval(m.coef, [x, x]);
      sum = [sum[0] + t[0], sum[1] + t[1]];
    }
    lo = Math.min(lo, sum[0]);
    hi = Math.max(hi, sum[1]);
  }
  return Number.isNaN(lo) || Number.isNaN(hi) ? ANY : [lo, hi];
}

/**
 * Interval of a scalar (or diagonal) LinOp over the conservative set: exact in the kink
 * variables where B is multilinear in them, else the product of independent intervals.
 */
export function linOpInterval(op: LinOp, bounds: Bounds, g?: Graph): Interval {
  if (g) {
    const p = linOpPoly(op, g, bounds);
    const r = p && polyRange(p, bounds);
    if (r) return intersectInterval(r, independentInterval(op, bounds));
  }
  return independentInterval(op, bounds);
}

/** Interval of a scalar (or diagonal) LinOp with every factor's interval independent. */
function independentInterval(op: LinOp, bounds: Bounds): Interval {
  const mul = mulInterval;
  const visit = (o: LinOp): Interval => {
    switch (o.kind) {
      case 'identity':
        return [1, 1];
      case 'scale': {
        const f = bounds.interval(o.factor);
        const inv: Interval = o.inverse ? invInterval(f) : f;
        return mul(inv, visit(o.of));
      }
      case 'diag':
        return mul(bounds.interval(o.factor), visit(o.of));
      case 'matmul':
      case 'rmatmul':
        return mul(bounds.interval(o.matrix), visit(o.of));
      case 'sum':
        return o.terms.reduce<Interval>((acc, t) => {
          const v = visit(t.op);
          return t.sign === 1 ? [acc[0] + v[0], acc[1] + v[1]] : [acc[0] - v[1], acc[1] - v[0]];
        }, [0, 0]);
      case 'block':
        return mul([0, 1], visit(o.of));
      case 'opaque':
        return ANY;
    }
  };
  return visit(op);
}

function intersectInterval(a: Interval, b: Interval): Interval {
  return [Math.max(a[0], b[0]), Math.min(a[1], b[1])];
}

/**
 * MATH.md 5.3, positive definite by construction: B = P + sum_k s_k M_k' D_k M_k with P
 * diagonal with entries >= c > 0 over the set, each s_k >= 0 and each D_k diagonal with
 * entries >= 0 (a kink factor in [0, 1], a smooth factor such as sigmoid' or exp). Each
 * M' D M is positive semidefinite at every element (x' M' D M x = sum d_i (M x)_i^2 >= 0),
 * so x' B x >= c |x|^2 at every element: B is invertible on the whole convex set (mu I +
 * X' D X of a strongly convex objective in `solve` form). Returns c, or null.
 */
function positiveDefiniteByConstruction(op: LinOp, g: Graph, bounds: Bounds): number | null {
  const terms = op.kind === 'sum' ? op.terms : [{ sign: 1 as const, op }];
  const diagonal: { sign: 1 | -1; op: LinOp }[] = [];
  let grams = 0;
  for (const t of terms) {
    if (isDiagonal(t.op)) diagonal.push(t);
    else if (t.sign === 1 && isGram(t.op, g, bounds)) grams++;
    else return null;
  }
  if (diagonal.length === 0 || grams === 0) return null;
  const [lo] = linOpInterval({ kind: 'sum', terms: diagonal }, bounds, g);
  return lo > 0 ? lo : null;
}

/** s M' D M (s >= 0 scalings, D >= 0 diagonal factors, possibly none) applied to the seed. */
function isGram(op: LinOp, g: Graph, bounds: Bounds): boolean {
  let o = op;
  const nonnegative = (id: NodeId) => bounds.interval(id)[0] >= 0;
  while (o.kind === 'scale' && !o.inverse && nonnegative(o.factor)) o = o.of;
  if (o.kind !== 'matmul') return false;
  const left = g.node(o.matrix);
  if (left.op === 'input' || left.op === 'const' || !factsOf(left.op).transpose) return false;
  const m = left.args[0];
  o = o.of;
  while ((o.kind === 'diag' || (o.kind === 'scale' && !o.inverse)) && nonnegative(o.factor)) o = o.of;
  return o.kind === 'matmul' && o.matrix === m && o.of.kind === 'identity';
}
function isDiagonal(op: LinOp): boolean {
  switch (op.kind) {
    case 'identity':
      return true;
    case 'scale':
    case 'diag':
      return isDiagonal(op.of);
    case 'sum':
      return op.terms.every((t) => isDiagonal(t.op));
    default:
      return false;
  }
}

/**
 * MATH.md 5.4: B is "row-wise" when, writing it as a sum of products, every kink factor is
 * the leftmost non-scalar factor of its product and has one entry per row of B (a kink shared
 * by all rows, as in B(d) = (1 - 2d) I, is not row-wise: its vertices can all be invertible
 * while the hull is not).
 */
function isRowwise(op: LinOp, model: IrModel): boolean {
  const g = model.graph;
  const rowShape = model.unknowns[0].shape;
  let sawKink = false;
  // `left`: no non-scalar factor has been applied to the left of this point yet.
  const visit = (o: LinOp, left: boolean): boolean => {
    switch (o.kind) {
      case 'identity':
        return true;
      case 'scale':
        return visit(o.of, left);
      case 'diag': {
        if (o.kinks.length === 0) return visit(o.of, false);
        sawKink = true;
        if (!left || !sameShape(g.shape(o.factor), rowShape) || isScalar(g.shape(o.factor))) return false;
        return kinkFree(o.of);
      }
      case 'matmul':
      case 'rmatmul':
        return visit(o.of, false);
      case 'sum':
        return o.terms.every((t) => visit(t.op, left));
      default:
        return false;
    }
  };
  return visit(op, true) && sawKink;
}

/**
 * An interval whose end is within rounding of 0, from a strict `require` (e < 1 read as
 * e <= the double below 1), is shown open there: (0, 2], not [1.11022e-16, 2].
 */
function showInterval(lo: number, hi: number): string {
  const tiny = (x: number) => x !== 0 && Math.abs(x) < 1e-12;
  return `${tiny(lo) ? '(0' : `[${fmt(lo)}`}, ${tiny(hi) ? '0)' : `${fmt(hi)}]`}`;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return Number(x.toPrecision(6)).toString();
}
