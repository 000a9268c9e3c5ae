import type { IrModel } from '../ir/model.ts';
import { primitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import { Namer } from './linop.ts';

/** A closed interval [lo, hi]; infinite ends mean "no bound known". */
export type Interval = readonly [number, number];
const ALL: Interval = [-Infinity, Infinity];

/**
 * Sound interval bounds on every entry of an IR node, from constants, the ranges of kink
 * factors at ties, the primitives' ranges, and the model's `require` statements. Used by the
 * class analysis (is this sqrt argument positive? is this sin argument bounded?) and by the
 * scalar interval test of certification (MATH.md 5.1).
 */
export class Bounds {
  private readonly facts = new Map<NodeId, Interval>();
  private readonly memo = new Map<NodeId, Interval>();
  private readonly namer: Namer;

  constructor(private readonly model: IrModel, sourceText: string) {
    this.namer = new Namer(model, sourceText);
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
    // Now the statement reads a <= b.
    const bc = constant(this.model, b);
    const ac = constant(this.model, a);
    if (bc !== null) this.narrow(a, [-Infinity, bc]);
    if (ac !== null) this.narrow(b, [ac, Infinity]);
  }

  private narrow(id: NodeId, by: Interval): void {
    const g = this.model.graph;
    const n = g.node(id);
    const [lo, hi] = intersect(this.facts.get(id) ?? ALL, by);
    this.facts.set(id, [lo, hi]);
    // |e| <= c and norminf(e) <= c bound every entry of e.
    if ((n.op === 'abs' || n.op === 'norminf') && Number.isFinite(hi)) this.narrow(n.args[0], [-hi, hi]);
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
    const [a, b] = iv;
    switch (n.op) {
      case 'add':
        return [a[0] + b[0], a[1] + b[1]];
      case 'sub':
        return [a[0] - b[1], a[1] - b[0]];
      case 'neg':
        return [-a[1], -a[0]];
      case 'mul':
        return mul(a, b);
      case 'div':
      case 'div_elementwise':
        return b[0] > 0 || b[1] < 0 ? mul(a, [1 / b[1], 1 / b[0]]) : ALL;
      case 'abs':
        return a[0] >= 0 ? a : a[1] <= 0 ? [-a[1], -a[0]] : [0, Math.max(-a[0], a[1])];
      case 'relu':
      case 'pos':
      case 'proj_nonneg':
        return [Math.max(a[0], 0), Math.max(a[1], 0)];
      case 'exp':
        return [Math.exp(a[0]), Math.exp(a[1])];
      case 'sqrt':
        return [Math.sqrt(Math.max(a[0], 0)), Math.sqrt(Math.max(a[1], 0))];
      case 'sigmoid':
        return [0, 1];
      case 'tanh':
      case 'sin':
      case 'cos':
        return [-1, 1];
      case 'softplus':
        return [Math.log1p(Math.exp(a[0])), Math.log1p(Math.exp(a[1]))];
      case 'sumsq':
      case 'norm1':
      case 'norm2':
      case 'norminf':
      case 'opnorm':
        return [0, Infinity];
      case 'max':
        return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
      case 'min':
        return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
      case 'clip':
      case 'proj_box':
        return [iv[1][0], iv[2][1]];
      case 'proj_simplex':
        return [0, 1];
      case 'pow': {
        const k = constant(this.model, n.args[1]);
        if (k !== null && Number.isInteger(k) && k % 2 === 0 && k > 0) {
          const m = a[0] >= 0 ? a[0] : a[1] <= 0 ? -a[1] : 0;
          return [m ** k, Math.max(Math.abs(a[0]), Math.abs(a[1])) ** k];
        }
        if (k !== null && a[0] > 0) return k >= 0 ? [a[0] ** k, a[1] ** k] : [a[1] ** k, a[0] ** k];
        return ALL;
      }
      case 'broadcast':
      case 'transpose':
        return a;
      default:
        return ALL;
    }
  }
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

function mul(a: Interval, b: Interval): Interval {
  const products = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]].map((x) => (Number.isNaN(x) ? 0 : x));
  return [Math.min(...products), Math.max(...products)];
}
