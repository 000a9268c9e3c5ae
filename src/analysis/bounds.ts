import type { IrModel } from '../ir/model.ts';
import { powInterval } from '../primitives/interval.ts';
import { factsOf, primitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import { Namer } from './linop.ts';

import { ANY as ALL, type Interval } from '../primitives/interval.ts';

export type { Interval };

/**
 * Sound interval bounds on every entry of an IR node, from constants, the ranges of kink
 * factors at ties, the primitives' ranges, and the model's `require` statements. Used by the
 * class analysis (is this sqrt argument positive? is this sin argument bounded?) and by the
 * scalar interval test of certification (MATH.md 5.1).
 */
export class Bounds {
  private readonly facts = new Map<NodeId, Interval>();
  private readonly memo = new Map<NodeId, Interval>();
  /** Stated bounds on opnorm(M), by the matrix M (and its transpose). */
  private readonly opnorms = new Map<NodeId, number>();
  private readonly namer: Namer;

  constructor(private readonly model: IrModel) {
    this.namer = new Namer(model);
    for (const r of model.requires) this.learn(r.node);
  }

  /** Record what `require c` states, for the conjunctions and comparisons it is made of. */
  private learn(id: NodeId): void {
    const g = this.model.graph;
    const n = g.node(id);
    if (n.op === 'and') {
      n.args.forEach((a) => this.learn(a));
      return;
    }
    if (!['lt', 'le', 'gt', 'ge'].includes(n.op)) return;
    const [a, b] = n.op === 'gt' || n.op === 'ge' ? [n.args[1], n.args[0]] : [n.args[0], n.args[1]];
    // Now the statement reads a <= b, or a < b when strict. The values compared at run time
    // are doubles, so a < c means a <= the double just below c: a closed bound that keeps
    // the strictness (e < 1 gives 1 - e cos(E) >= 2^-53 > 0, not >= 0).
    const strict = n.op === 'lt' || n.op === 'gt';
    const bc = constant(this.model, b);
    const ac = constant(this.model, a);
    if (bc !== null) this.narrow(a, [-Infinity, strict ? nextDown(bc) : bc]);
    if (ac !== null) this.narrow(b, [strict ? nextUp(ac) : ac, Infinity]);
  }

  /**
   * The least stated bound on the operator 2-norm of a matrix node, from a `require` on
   * `opnorm(M)` or `opnorm(M')` (the same number), or Infinity. Sound as a fact because the
   * generated code checks every `require` on the actual values before it returns derivatives.
   */
  operatorNorm(matrix: NodeId): number {
    const n = this.model.graph.node(matrix);
    const own = this.opnorms.get(matrix) ?? Infinity;
    // ||M'|| = ||M||.
    if (n.op !== 'input' && n.op !== 'const' && factsOf(n.op).transpose) return Math.min(own, this.opnorms.get(n.args[0]) ?? Infinity);
    return own;
  }

  private narrow(id: NodeId, by: Interval): void {
    const g = this.model.graph;
    const n = g.node(id);
    const [lo, hi] = intersect(this.facts.get(id) ?? ALL, by);
    this.facts.set(id, [lo, hi]);
    // |e| <= c and norminf(e) <= c bound every entry of e.
    if ((n.op === 'abs' || n.op === 'norminf') && Number.isFinite(hi)) this.narrow(n.args[0], [-hi, hi]);
    if (n.op === 'opnorm' && Number.isFinite(hi)) {
      const m = n.args[0];
      const t = g.node(m);
      const transposed = t.op !== 'input' && t.op !== 'const' && factsOf(t.op).transpose === true;
      for (const k of transposed ? [m, t.args[0]] : [m]) {
        this.opnorms.set(k, Math.min(this.opnorms.get(k) ?? Infinity, hi));
      }
    }
  }

  interval(id: NodeId): Interval {
    const hit = this.memo.get(id);
    if (hit) return hit;
    const computed = intersect(this.compute(id), this.facts.get(id) ?? ALL);
    this.memo.set(id, computed);
    return computed;
  }

  positive(id: NodeId): boolean {
    return this.interval(id)[0] > 0;
  }

  bounded(id: NodeId): boolean {
    const [lo, hi] = this.interval(id);
    return Number.isFinite(lo) && Number.isFinite(hi);
  }

  text(id: NodeId): string {
    return this.namer.name(id);
  }

  private compute(id: NodeId): Interval {
    const g = this.model.graph;
    const n = g.node(id);
    if (n.op === 'const') {
      const v = (n as { value: number }).value;
      return [v, v];
    }
    if (n.op === 'input') return (n as { role: string }).role === 'dim' ? [1, Infinity] : ALL;
    const p = primitive(n.op);
    if (p.structure.kinkFactor) return p.structure.kinkFactor.range;
    if (p.structure.predicate) return [0, 1];
    const iv = n.args.map((a) => this.interval(a));
    // t .* t is a square, not a product of two independent entries: tanh' = 1 - t .* t lies
    // in [0, 1], where the product rule alone would give [0, 2].
    if (n.op === 'mul' && n.args[0] === n.args[1]) return powInterval(iv[0], 2);
    // t .* (1 - t) (sigmoid' = s (1 - s)): a concave quadratic of one t, at most 1/4 (at t = 1/2),
    // where independent factors would give [0, 1] for t in [0, 1].
    const t = p.structure.linearForm === 'product' ? oneMinusPair(this.model, n.args[0], n.args[1]) : null;
    if (t !== null) {
      const [lo, hi] = this.interval(t);
      const f = (x: number) => x * (1 - x);
      const ends = [f(lo), f(hi)].map((v) => (Number.isNaN(v) ? -Infinity : v));
      return [Math.min(...ends), lo <= 0.5 && 0.5 <= hi ? 0.25 : Math.max(...ends)];
    }
    return p.interval?.(iv, n.args.map((a) => constant(this.model, a))) ?? ALL;
  }
}

/** t when {a, b} is {t, 1 - t} (in either order), else null. */
export function oneMinusPair(model: IrModel, a: NodeId, b: NodeId): NodeId | null {
  const g = model.graph;
  for (const [t, u] of [[a, b], [b, a]]) {
    const n = g.node(u);
    if (n.op !== 'input' && n.op !== 'const' && factsOf(n.op).linearForm === 'difference' && n.args[1] === t && constant(model, n.args[0]) === 1) return t;
  }
  return null;
}

function constant(model: IrModel, id: NodeId): number | null {
  const n = model.graph.node(id);
  if (n.op === 'const') return (n as { value: number }).value;
  if (n.op === 'neg') {
    const v = constant(model, n.args[0]);
    return v === null ? null : -v;
  }
  return null;
}

function intersect(a: Interval, b: Interval): Interval {
  return [Math.max(a[0], b[0]), Math.min(a[1], b[1])];
}

/** The largest double below x (x itself for infinities and NaN). */
export function nextDown(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (x === 0) return -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x > 0 ? bits - 1n : bits + 1n);
  return view.getFloat64(0);
}

/** The smallest double above x. */
export function nextUp(x: number): number {
  return -nextDown(-x);
}
