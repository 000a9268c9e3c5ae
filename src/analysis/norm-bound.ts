import type { Graph } from '../ir/graph.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Bounds } from './bounds.ts';
import { factorsOf, kinkFree, showLinOp, type LinOp, type Namer } from './linop.ts';

/**
 * An upper bound on the operator 2-norm of a LinOp over the whole conservative set
 * (MATH.md 5.2): a sum of products of factors, each a number or a quantity the generated
 * code evaluates on the actual values (`opnorm(W)`, `abs(w)`).
 */
export interface NormBound {
  terms: NormFactor[][];
}

export interface NormFactor {
  /** A known number, or null when evaluated at run time. */
  value: number | null;
  text: string;
  /** The sub-operator whose norm this is, for run-time evaluation. */
  op: LinOp | null;
  /** The most that the factor's value depends on: 'data' or 'param'. */
  dep: 'const' | 'data' | 'param';
  /**
   * An upper bound on the factor known at compile time: its value, or what a `require`
   * states (`require opnorm(W) <= 0.9`, `require abs(w) <= 0.5`); Infinity when none.
   */
  sup: number;
}

export function showBound(b: NormBound): string {
  const terms = b.terms.map((t) => {
    const known = t.filter((f) => f.value !== null).reduce((p, f) => p * f.value!, 1);
    const symbolic = t.filter((f) => f.value === null).map((f) => f.text);
    if (symbolic.length === 0) return String(known);
    return known === 1 ? symbolic.join(' * ') : `${known} * ${symbolic.join(' * ')}`;
  });
  return terms.join(' + ');
}

/** The bound's value when every factor is known, else null. */
export function boundValue(b: NormBound): number | null {
  let total = 0;
  for (const t of b.terms) {
    let p = 1;
    for (const f of t) {
      if (f.value === null) return null;
      p *= f.value;
    }
    total += p;
  }
  return total;
}

/**
 * The bound over the whole conservative set that the facts give at compile time: each
 * symbolic factor replaced by its stated bound (MATH.md 5.2 with the `require` clauses as
 * hypotheses). Infinity when some factor has none.
 */
export function boundSup(b: NormBound): number {
  let total = 0;
  for (const t of b.terms) total += t.reduce((p, f) => p * (f.value ?? f.sup), 1);
  return Number.isNaN(total) ? Infinity : total;
}

/**
 * What a bound with symbolic factors depends on, which decides how it is checked
 * (by dependency, never by its text): `param` when every symbolic factor moves with the
 * learnable params (users can keep `opnorm(W) < 1` true by projection), `data` when some
 * factor depends on data alone (a run-time check the user cannot make hold), null when the
 * bound is a number: a condition on nothing variable is decided here, at compile time.
 */
export function guardDependency(b: NormBound): 'param' | 'data' | null {
  const symbolic = b.terms.flat().filter((f) => f.value === null);
  if (symbolic.length === 0) return null;
  return symbolic.every((f) => f.dep === 'param') ? 'param' : 'data';
}

/**
 * The number c when `op` is c * I with c known at compile time (identities and scalings by
 * constants, summed): `y - 0.5 * (y - c)` has T_y = I - 0.5 I = 0.5 I, norm |0.5|, where
 * the triangle inequality gives 1.5. Null otherwise.
 */
export function constantMultiple(op: LinOp, bounds: Bounds): number | null {
  switch (op.kind) {
    case 'identity':
      return 1;
    case 'scale': {
      const inner = constantMultiple(op.of, bounds);
      const [lo, hi] = bounds.interval(op.factor);
      if (inner === null || lo !== hi || !Number.isFinite(lo) || (op.inverse && lo === 0)) return null;
      return (op.inverse ? 1 / lo : lo) * inner;
    }
    case 'sum': {
      let total = 0;
      for (const t of op.terms) {
        const c = constantMultiple(t.op, bounds);
        if (c === null) return null;
        total += t.sign * c;
      }
      return total;
    }
    default:
      return null;
  }
}

/**
 * Compose norm bounds through the operator: ||P Q|| <= ||P|| ||Q||, ||P + Q|| <= ||P|| + ||Q||,
 * a kink factor with entries in [lo, hi] has norm max(|lo|, |hi|), a projection's Jacobian
 * has norm <= 1. A kink-free sub-operator made of data and params keeps its norm whole
 * (`opnorm(I - g * Q)`), which is much tighter than the triangle inequality. Null when some
 * factor depends on the unknowns or has no known structure.
 */
export function normBound(op: LinOp, g: Graph, bounds: Bounds, namer: Namer): NormBound | null {
  const dependency = (o: LinOp): NormFactor['dep'] | 'unknown' => {
    const deps = factorsOf(o).map((id) => g.node(id).dep);
    for (const d of ['unknown', 'param', 'data'] as const) if (deps.includes(d)) return d;
    return 'const';
  };
  const single = (f: NormFactor): NormBound => ({ terms: [[f]] });
  const known = (value: number): NormBound => single({ value, text: String(value), op: null, dep: 'const', sup: value });
  const product = (a: NormBound, b: NormBound): NormBound => ({ terms: a.terms.flatMap((x) => b.terms.map((y) => [...x, ...y])) });
  /**
   * The exact norm of a fixed operator of data and params, evaluated at run time; a number
   * when the operator is a known multiple of I (decided here), with the stated bound of a
   * single matrix (`require opnorm(W) <= 0.9`) as its compile-time bound.
   */
  const whole = (o: LinOp): NormBound | null => {
    const c = constantMultiple(o, bounds);
    if (c !== null) return known(Math.abs(c));
    const dep = dependency(o);
    if (dep === 'unknown') return null;
    const sup = (o.kind === 'matmul' || o.kind === 'rmatmul') && o.of.kind === 'identity' ? bounds.operatorNorm(o.matrix) : Infinity;
    return single({ value: null, text: `opnorm(${showLinOp(o, namer)})`, op: o, dep, sup });
  };
  /** max |entry| of a diagonal factor over the set, from its interval (Infinity when unbounded). */
  const entryBound = (factor: NodeId): number => {
    const [lo, hi] = bounds.interval(factor);
    return Math.max(Math.abs(lo), Math.abs(hi));
  };
  const visit = (o: LinOp): NormBound | null => {
    switch (o.kind) {
      case 'identity':
        return { terms: [[]] };
      case 'scale': {
        // A scalar stays a factor of its own, so that guards read `abs(w) < 1`.
        const inner = visit(o.of);
        if (!inner) return null;
        const dep = dependency({ ...o, of: IDENTITY });
        const [lo, hi] = bounds.interval(o.factor);
        // |1/f| <= 1 / min |f| when the interval of f excludes 0.
        const sup = o.inverse ? (lo > 0 ? 1 / lo : hi < 0 ? -1 / hi : Infinity) : Math.max(Math.abs(lo), Math.abs(hi));
        if (lo === hi && Number.isFinite(sup)) return product(known(sup), inner);
        // A scalar that moves with the unknowns (cos(E)) is bounded by its interval or not at all.
        if (dep === 'unknown' || dep === 'const') return Number.isFinite(sup) ? product(known(sup), inner) : null;
        const name = namer.name(o.factor);
        return product(single({ value: null, text: o.inverse ? `1 / abs(${name})` : `abs(${name})`, op: { ...o, of: IDENTITY }, dep, sup }), inner);
      }
      case 'diag': {
        if (o.kinks.length === 0) {
          const w = whole(o);
          if (w) return w;
        }
        // A kink factor, or a smooth factor of the unknowns (tanh' = 1 - t .* t in [0, 1]):
        // a diagonal with entries in [lo, hi] has norm <= max(|lo|, |hi|) at every point.
        const inner = visit(o.of);
        const m = entryBound(o.factor);
        return inner && Number.isFinite(m) ? product(known(m), inner) : null;
      }
      case 'block': {
        const inner = visit(o.of);
        return inner && product(known(1), inner);
      }
      case 'matmul':
      case 'rmatmul': {
        if (kinkFree(o)) {
          const w = whole(o);
          if (w) return w;
        }
        const inner = visit(o.of);
        const matrix = whole({ ...o, of: IDENTITY });
        return inner && matrix && product(matrix, inner);
      }
      case 'sum': {
        if (kinkFree(o)) {
          const w = whole(o);
          if (w) return w;
        }
        const parts = o.terms.map((t) => visit(t.op));
        return parts.every((p) => p !== null) ? { terms: parts.flatMap((p) => p!.terms) } : null;
      }
      case 'opaque':
        return null;
    }
  };
  return visit(op);
}

const IDENTITY: LinOp = { kind: 'identity', variable: '' };
