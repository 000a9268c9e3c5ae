import { dependsOn } from '../ir/ad.ts';
import type { Graph } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { isScalar } from '../ir/shape.ts';
import { factsOf, primitive, REGISTRY } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';

/**
 * A structured Jacobian (DESIGN.md "Certification"): the tangent graph of F read back as a
 * linear operator built from identities, scalings, data/param matrices and diagonal factors,
 * some of them kink factors whose entries range over intervals at ties.
 */
export type LinOp =
  | { kind: 'identity'; variable: string }
  | { kind: 'scale'; factor: NodeId; inverse: boolean; of: LinOp }
  | { kind: 'diag'; factor: NodeId; kinks: NodeId[]; of: LinOp }
  | { kind: 'matmul'; matrix: NodeId; of: LinOp }
  /** `of * matrix`: the seed on the left of a product, as in d/dW (W * z) = dW * z. */
  | { kind: 'rmatmul'; matrix: NodeId; of: LinOp }
  | { kind: 'sum'; terms: { sign: 1 | -1; op: LinOp }[] }
  | { kind: 'block'; node: NodeId; primitive: string; of: LinOp }
  | { kind: 'opaque'; node: NodeId };

/** Kink-factor nodes (and unknown-dependent conditions) that `id` depends on. */
export function kinkFactorsOf(g: Graph, id: NodeId, memo = new Map<NodeId, NodeId[]>()): NodeId[] {
  const hit = memo.get(id);
  if (hit) return hit;
  const n = g.node(id);
  let out: NodeId[] = [];
  if (n.op !== 'input' && n.op !== 'const') {
    const s = factsOf(n.op);
    if (s.kinkFactor || (s.predicate && (n.dep === 'unknown' || n.dep === 'param'))) out = [id];
    else out = [...new Set(n.args.flatMap((a) => kinkFactorsOf(g, a, memo)))];
  }
  memo.set(id, out);
  return out;
}

/** The largest structured Jacobian read, counted as a tree; larger ones stay opaque. */
const MAX_LINOP_SIZE = 4096;

/** Read a tangent node (linear in the seeds) as a LinOp. */
export function toLinOp(g: Graph, tangent: NodeId, seeds: ReadonlyMap<NodeId, string>): LinOp {
  const dependsOnSeed = dependsOn(g, seeds);
  const kinkMemo = new Map<NodeId, NodeId[]>();
  // A tangent DAG with shared parts reads as a tree that can grow exponentially: each node
  // is read once, and an operator whose tree outgrows MAX_LINOP_SIZE stays opaque.
  const memo = new Map<NodeId, LinOp>();
  const sizes = new WeakMap<LinOp, number>();
  const sizeOf = (o: LinOp): number => {
    const known = sizes.get(o);
    if (known !== undefined) return known;
    const size = 1 + ('of' in o ? sizeOf(o.of) : 0) + (o.kind === 'sum' ? o.terms.reduce((t, x) => t + sizeOf(x.op), 0) : 0);
    sizes.set(o, size);
    return size;
  };
  const read = (id: NodeId): LinOp => {
    const hit = memo.get(id);
    if (hit) return hit;
    let op = readNode(id);
    if (sizeOf(op) > MAX_LINOP_SIZE) op = { kind: 'opaque', node: id };
    memo.set(id, op);
    return op;
  };
  const readNode = (id: NodeId): LinOp => {
    const seed = seeds.get(id);
    if (seed !== undefined) return { kind: 'identity', variable: seed };
    const n = g.node(id);
    const [a, b] = n.args;
    const form = factsOf(n.op).linearForm;
    switch (form) {
      case 'sum':
      case 'difference': {
        const terms: { sign: 1 | -1; op: LinOp }[] = [];
        if (dependsOnSeed(a)) terms.push({ sign: 1, op: read(a) });
        if (dependsOnSeed(b)) terms.push({ sign: form === 'sum' ? 1 : -1, op: read(b) });
        return terms.length === 1 && terms[0].sign === 1 ? terms[0].op : { kind: 'sum', terms };
      }
      case 'negation':
        return { kind: 'sum', terms: [{ sign: -1, op: read(a) }] };
      case 'product': {
        const [factor, t] = dependsOnSeed(a) ? [b, a] : [a, b];
        if (dependsOnSeed(factor)) return { kind: 'opaque', node: id };
        if (isScalar(g.shape(factor)) && kinkFactorsOf(g, factor, kinkMemo).length === 0) {
          return { kind: 'scale', factor, inverse: false, of: read(t) };
        }
        return { kind: 'diag', factor, kinks: kinkFactorsOf(g, factor, kinkMemo), of: read(t) };
      }
      case 'quotient':
        if (dependsOnSeed(b)) return { kind: 'opaque', node: id };
        return { kind: 'scale', factor: b, inverse: true, of: read(a) };
      case 'matrix product':
        if (dependsOnSeed(a) && dependsOnSeed(b)) return { kind: 'opaque', node: id };
        return dependsOnSeed(a) ? { kind: 'rmatmul', matrix: b, of: read(a) } : { kind: 'matmul', matrix: a, of: read(b) };
      default: {
        // A dedicated derivative primitive (e.g. a projection's JVP): its last argument is
        // the tangent and its facts describe the operator.
        const owner = jacobianOwner(n.op);
        const last = n.args[n.args.length - 1];
        if (owner?.structure.nonexpansive && n.args.slice(0, -1).every((x) => !dependsOnSeed(x)) && dependsOnSeed(last)) {
          return { kind: 'block', node: id, primitive: owner.name, of: read(last) };
        }
        return { kind: 'opaque', node: id };
      }
    }
  };
  return normalize(read(tangent));
}

/** The IR nodes an operator multiplies by: scalings, diagonal factors and matrices. */
export function factorsOf(op: LinOp): NodeId[] {
  switch (op.kind) {
    case 'scale':
    case 'diag':
      return [op.factor, ...factorsOf(op.of)];
    case 'matmul':
    case 'rmatmul':
      return [op.matrix, ...factorsOf(op.of)];
    case 'block':
      return factorsOf(op.of);
    case 'sum':
      return op.terms.flatMap((t) => factorsOf(t.op));
    default:
      return [];
  }
}

/** No kink factor, projection block or unreadable part: a fixed linear map at each point. */
export function kinkFree(op: LinOp): boolean {
  switch (op.kind) {
    case 'identity':
      return true;
    case 'diag':
      return op.kinks.length === 0 && kinkFree(op.of);
    case 'scale':
    case 'matmul':
    case 'rmatmul':
      return kinkFree(op.of);
    case 'sum':
      return op.terms.every((t) => kinkFree(t.op));
    default:
      return false;
  }
}

/** The nonsmooth primitive whose non-diagonal Jacobian product `op` computes, if any. */
function jacobianOwner(op: string) {
  for (const p of REGISTRY.values()) if (p.kink && p.kink.factor === null && p.kink.selection === op) return p;
  return undefined;
}

/**
 * Signs moved outward and nested sums flattened, so `I + -(D * -W)` reads `I + D * W`
 * with the sign on the term: products are linear in their operand.
 */
export function normalize(op: LinOp): LinOp {
  const asTerms = (o: LinOp): { sign: 1 | -1; op: LinOp }[] => {
    const n = normalize(o);
    return n.kind === 'sum' ? n.terms : [{ sign: 1, op: n }];
  };
  switch (op.kind) {
    case 'sum': {
      const terms = op.terms.flatMap((t) => asTerms(t.op).map((u) => ({ sign: (t.sign * u.sign) as 1 | -1, op: u.op })));
      return terms.length === 1 && terms[0].sign === 1 ? terms[0].op : { kind: 'sum', terms };
    }
    case 'scale':
    case 'diag':
    case 'matmul':
    case 'rmatmul':
    case 'block': {
      const inner = asTerms(op.of);
      if (inner.length === 1) {
        const rebuilt = { ...op, of: inner[0].op } as LinOp;
        return inner[0].sign === 1 ? rebuilt : { kind: 'sum', terms: [{ sign: -1, op: rebuilt }] };
      }
      return { ...op, of: { kind: 'sum', terms: inner } } as LinOp;
    }
    default:
      return op;
  }
}

/** Names longer than this are cut (with `…`), so that naming stays linear in the graph. */
const MAX_NAME_LENGTH = 2000;

/** Readable names for nodes: declared names where they exist, else the source text. */
export class Namer {
  private readonly names = new Map<NodeId, string>();
  /** Names built from a node's arguments, memoized: each node is named once. */
  private readonly made = new Map<NodeId, string>();

  constructor(private readonly model: IrModel) {
    for (const v of [...model.dims, ...model.data, ...model.params, ...model.unknowns]) this.names.set(v.node, v.name);
    for (const [name, node] of model.lets) if (!this.names.has(node)) this.names.set(node, name);
  }

  name(id: NodeId): string {
    const known = this.names.get(id) ?? this.made.get(id);
    if (known !== undefined) return known;
    let made = this.make(id);
    // A DAG printed as a tree can grow exponentially: long names are elided.
    if (made.length > MAX_NAME_LENGTH) made = `${made.slice(0, MAX_NAME_LENGTH)}…`;
    this.made.set(id, made);
    return made;
  }

  private make(id: NodeId): string {
    const n = this.model.graph.node(id);
    if (n.op === 'const') return String((n as { value: number }).value);
    if (n.op === 'input') return (n as { name: string }).name;
    if (n.op !== 'input' && factsOf(n.op).transpose) return `${this.atom(n.args[0])}'`;
    // Nodes made by differentiation carry their primal's span, not their own text.
    const text = this.model.textOf(id);
    if (text !== null) return text;
    const p = primitive(n.op);
    const args = n.args.map((a) => this.atom(a));
    if (p.notation?.infix && args.length === 2) return `${args[0]} ${p.notation.infix} ${args[1]}`;
    if (p.notation?.prefix && args.length === 1) return `${p.notation.prefix}${args[0]}`;
    return `${n.op}(${n.args.map((a) => this.name(a)).join(', ')})`;
  }

  /** The value of a constant node (a literal), else null. */
  constant(id: NodeId): number | null {
    const n = this.model.graph.node(id);
    return n.op === 'const' && typeof (n as { value?: unknown }).value === 'number' ? (n as { value: number }).value : null;
  }

  /** The name, parenthesized when it is compound. */
  atom(id: NodeId): string {
    const s = this.name(id);
    return /^[\w.']+$/.test(s) ? s : `(${s})`;
  }

  /** The symbol of a diagonal factor: `D_relu` for kink factors, `diag(f)` otherwise. */
  diag(factor: NodeId, kinks: readonly NodeId[]): string {
    const n = this.model.graph.node(factor);
    const own = factsOf(n.op).kinkFactor;
    if (own) return `D_${own.of}`;
    if (kinks.length === 1) {
      const k = this.model.graph.node(kinks[0]);
      const of = factsOf(k.op).kinkFactor?.of ?? 'if';
      // An affine function of one kink factor, e.g. 1 - D_max for the second argument of max.
      return `D_${of}'`;
    }
    return `diag(${this.name(factor)})`;
  }
}

/** Print a LinOp as math text: `I - D_relu * W`. */
export function showLinOp(op: LinOp, namer: Namer, identity: (variable: string) => string = () => 'I'): string {
  const show = (o: LinOp, inProduct: boolean): string => {
    switch (o.kind) {
      case 'identity':
        return identity(o.variable);
      case 'scale': {
        const rest = show(o.of, true);
        const f = namer.atom(o.factor);
        // A multiple of the identity, standing alone or as a term of a sum, keeps its I
        // (`mu * I + X' * D * X`, not `mu + ...`); inside a product the I is dropped as ever.
        if (o.of.kind === 'identity' && !inProduct) return o.inverse ? `${rest} / ${f}` : `${f} * ${rest}`;
        return o.inverse ? `${rest} / ${f}` : chain(f, rest);
      }
      case 'rmatmul': {
        const left = show(o.of, true);
        return `${left === 'I' ? '' : `${left} * `}${namer.atom(o.matrix)}`;
      }
      case 'diag':
        return chain(namer.diag(o.factor, o.kinks), show(o.of, true));
      case 'matmul':
        return chain(namer.atom(o.matrix), show(o.of, true));
      case 'block':
        return chain(`J_${o.primitive.replace(/_jvp$/, '')}`, show(o.of, true));
      case 'opaque':
        return `[d ${namer.name(o.node)}]`;
      case 'sum': {
        const folded = foldIdentities(o.terms, namer, identity);
        if (folded.length === 0) return '0';
        const parts = folded.map((t, i) => {
          const body = 'text' in t ? t.text : show(t.op, false);
          if (i === 0) return t.sign === 1 ? body : `-${body}`;
          return `${t.sign === 1 ? '+' : '-'} ${body}`;
        });
        const s = parts.join(' ');
        return inProduct && folded.length > 1 ? `(${s})` : s;
      }
    }
  };
  return show(op, false);
}

type Term = { sign: 1 | -1; op: LinOp };

/**
 * A sum in which two plain identities of one unknown meet (`I - (I - 0.5 I)` flattened to
 * `I - I + 0.5 I`, from `y - 0.5 * (y - c)` in fixpoint form) prints with its multiples of
 * that identity folded: the constant ones summed into one `c * I` in the place of the first,
 * the others with their `* I` kept (`w * I`), since a bare `0.5` next to `I - I` misreads.
 * Any other sum is printed term by term as before.
 */
function foldIdentities(terms: readonly Term[], namer: Namer, identity: (variable: string) => string): (Term | { sign: 1 | -1; text: string })[] {
  /** The scalings down to an identity, or null when the term is not a multiple of one. */
  const multiple = (o: LinOp, factors: { id: NodeId; inverse: boolean }[] = []): { variable: string; factors: { id: NodeId; inverse: boolean }[] } | null => {
    if (o.kind === 'identity') return { variable: o.variable, factors };
    if (o.kind === 'scale') return multiple(o.of, [...factors, { id: o.factor, inverse: o.inverse }]);
    return null;
  };
  const plain = new Map<string, number>();
  for (const t of terms) if (t.op.kind === 'identity') plain.set(t.op.variable, (plain.get(t.op.variable) ?? 0) + 1);
  const variables = new Set([...plain].filter(([, count]) => count >= 2).map(([v]) => v));
  if (variables.size === 0) return [...terms];
  const out: (Term | { sign: 1 | -1; text: string })[] = [];
  const constant = new Map<string, { at: number; value: number }>();
  for (const t of terms) {
    const m = multiple(t.op);
    if (!m || !variables.has(m.variable)) {
      out.push(t);
      continue;
    }
    const values = m.factors.map((f) => namer.constant(f.id));
    if (values.every((v) => v !== null)) {
      const value = t.sign * values.reduce<number>((p, v, k) => (m.factors[k].inverse ? p / v! : p * v!), 1);
      const prev = constant.get(m.variable);
      if (prev) prev.value += value;
      else {
        constant.set(m.variable, { at: out.length, value });
        out.push({ sign: 1, text: '' });
      }
      continue;
    }
    // A symbolic multiple keeps its identity: `w * I`.
    const text = [...m.factors.map((f) => (f.inverse ? `(1 / ${namer.atom(f.id)})` : namer.atom(f.id))), identity(m.variable)].join(' * ');
    out.push({ sign: t.sign, text });
  }
  for (const [variable, { at, value }] of constant) {
    const magnitude = Math.abs(value);
    const I = identity(variable);
    out[at] = { sign: value < 0 ? -1 : 1, text: magnitude === 0 ? '' : magnitude === 1 ? I : `${Number(magnitude.toPrecision(12))} * ${I}` };
  }
  return out.filter((t) => !('text' in t) || t.text !== '');
}

/** `a * b`, dropping a trailing identity: `W * I` is `W`. */
function chain(left: string, right: string): string {
  return right === 'I' ? left : `${left} * ${right}`;
}
