import type { Graph } from '../ir/graph.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Bounds } from './bounds.ts';
import { showLinOp, type LinOp, type Namer } from './linop.ts';

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
  const dependency = (id: NodeId): 'const' | 'data' | 'param' | 'unknown' => g.node(id).dep;
  const kinkFree = (o: LinOp): boolean => {
    switch (o.kind) {
      case 'identity':
        return true;
      case 'scale':
      case 'matmul':
      case 'rmatmul':
        return o.kind === 'scale' ? dependency(o.factor) !== 'unknown' && kinkFree(o.of) : dependency(o.matrix) !== 'unknown' && kinkFree(o.of);
      case 'diag':
        return o.kinks.length === 0 && dependency(o.factor) !== 'unknown' && kinkFree(o.of);
      case 'sum':
        return o.terms.every((t) => kinkFree(t.op));
      default:
        return false;
    }
  };
  const depOf = (o: LinOp): 'const' | 'data' | 'param' => {
    const ids: NodeId[] = [];
    const walk = (x: LinOp): void => {
      if (x.kind === 'scale' || x.kind === 'diag') ids.push(x.factor);
      if (x.kind === 'matmul' || x.kind === 'rmatmul') ids.push(x.matrix);
      if ('of' in x) walk(x.of);
      if (x.kind === 'sum') x.terms.forEach((t) => walk(t.op));
    };
    walk(o);
    const deps = ids.map(dependency);
    return deps.includes('param') ? 'param' : deps.includes('data') ? 'data' : 'const';
  };
  const one: NormBound = { terms: [[]] };
  const product = (a: NormBound, b: NormBound): NormBound => ({ terms: a.terms.flatMap((x) => b.terms.map((y) => [...x, ...y])) });
  const visit = (o: LinOp): NormBound | null => {
    if (o.kind === 'identity') return one;
    if (o.kind === 'scale' && o.of.kind === 'identity' || (o.kind === 'scale' && kinkFree(o.of))) {
      const inner = visit(o.of);
      if (!inner) return null;
      const [lo, hi] = bounds.interval(o.factor);
      const known = o.factor !== undefined && lo === hi ? Math.abs(o.inverse ? 1 / lo : lo) : null;
      const dep = dependency(o.factor);
      if (dep === 'unknown') return null;
      const text = o.inverse ? `1 / abs(${namer.name(o.factor)})` : `abs(${namer.name(o.factor)})`;
      return product({ terms: [[{ value: known, text, op: { ...o, of: { kind: 'identity', variable: '' } }, dep }]] }, inner);
    }
    if (o.kind !== 'sum' && kinkFree(o)) {
      // A whole kink-free operator of data and params: its exact norm, at run time.
      return { terms: [[{ value: null, text: `opnorm(${showLinOp(o, namer)})`, op: o, dep: depOf(o) }]] };
    }
    switch (o.kind) {
      case 'sum': {
        if (kinkFree(o)) return { terms: [[{ value: null, text: `opnorm(${showLinOp(o, namer)})`, op: o, dep: depOf(o) }]] };
        const parts = o.terms.map((t) => visit(t.op));
        if (parts.some((p) => p === null)) return null;
        return { terms: parts.flatMap((p) => p!.terms) };
      }
      case 'diag': {
        if (o.kinks.length === 0) return null;
        const inner = visit(o.of);
        if (!inner) return null;
        const [lo, hi] = bounds.interval(o.factor);
        const m = Math.max(Math.abs(lo), Math.abs(hi));
        if (!Number.isFinite(m)) return null;
        return product({ terms: [[{ value: m, text: String(m), op: null, dep: 'const' }]] }, inner);
      }
      case 'block': {
        const inner = visit(o.of);
        return inner && product({ terms: [[{ value: 1, text: '1', op: null, dep: 'const' }]] }, inner);
      }
      case 'scale':
      case 'matmul':
      case 'rmatmul': {
        const inner = visit(o.of);
        if (!inner) return null;
        const id = o.kind === 'scale' ? o.factor : o.matrix;
        if (dependency(id) === 'unknown') return null;
        const text = o.kind !== 'scale' ? `opnorm(${namer.name(id)})` : o.inverse ? `1 / abs(${namer.name(id)})` : `abs(${namer.name(id)})`;
        return product({ terms: [[{ value: null, text, op: { ...o, of: { kind: 'identity', variable: '' } }, dep: depOf({ ...o, of: { kind: 'identity', variable: '' } }) }]] }, inner);
      }
      default:
        return null;
    }
  };
  return visit(op);
}
