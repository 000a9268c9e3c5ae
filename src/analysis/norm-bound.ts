import type { Graph } from '../ir/graph.ts';
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
 * Whether the bound is a guard on learnable parameters: every operator-norm factor moves
 * with the params (`opnorm(W)`), so users can keep it below 1 by projection or
 * reparametrization. A matrix norm of data only (`opnorm(I - step * X' * X)`) is left to the
 * exact test at run time: the user cannot make it hold.
 */
export function isParamGuard(b: NormBound): boolean {
  const symbolic = b.terms.flat().filter((f) => f.value === null);
  return symbolic.length > 0 && symbolic.every((f) => f.dep === 'param' || !f.text.startsWith('opnorm('));
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
  const product = (a: NormBound, b: NormBound): NormBound => ({ terms: a.terms.flatMap((x) => b.terms.map((y) => [...x, ...y])) });
  /** The exact norm of a fixed operator of data and params, evaluated at run time. */
  const whole = (o: LinOp): NormBound | null => {
    const dep = dependency(o);
    return dep === 'unknown' ? null : single({ value: null, text: `opnorm(${showLinOp(o, namer)})`, op: o, dep });
  };
  const visit = (o: LinOp): NormBound | null => {
    switch (o.kind) {
      case 'identity':
        return { terms: [[]] };
      case 'scale': {
        // A scalar stays a factor of its own, so that guards read `abs(w) < 1`.
        const inner = visit(o.of);
        const dep = dependency({ ...o, of: IDENTITY });
        if (!inner || dep === 'unknown') return null;
        const [lo, hi] = bounds.interval(o.factor);
        const value = lo === hi ? Math.abs(o.inverse ? 1 / lo : lo) : null;
        const name = namer.name(o.factor);
        return product(single({ value, text: o.inverse ? `1 / abs(${name})` : `abs(${name})`, op: { ...o, of: IDENTITY }, dep }), inner);
      }
      case 'diag': {
        if (o.kinks.length === 0) return whole(o);
        const inner = visit(o.of);
        const [lo, hi] = bounds.interval(o.factor);
        const m = Math.max(Math.abs(lo), Math.abs(hi));
        return inner && Number.isFinite(m) ? product(single({ value: m, text: String(m), op: null, dep: 'const' }), inner) : null;
      }
      case 'block': {
        const inner = visit(o.of);
        return inner && product(single({ value: 1, text: '1', op: null, dep: 'const' }), inner);
      }
      case 'matmul':
      case 'rmatmul': {
        if (kinkFree(o)) return whole(o);
        const inner = visit(o.of);
        const matrix = whole({ ...o, of: IDENTITY });
        return inner && matrix && product(matrix, inner);
      }
      case 'sum': {
        if (kinkFree(o)) return whole(o);
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
