import type { Span } from '../diagnostics/span.ts';
import { primitive } from '../primitives/registry.ts';
import type { Attrs, Builder, NodeId, Tensor } from '../primitives/types.ts';
import { dimForm, evalDim, isScalar, real, sameShape, type Dim, type Shape, type ValueType } from './shape.ts';

/**
 * What a node's value can depend on, ordered: a node depends on the join of its arguments.
 * `data`-only nodes are computed once per solve; `unknown`-dependent nodes make up F.
 */
export type Dependency = 'const' | 'data' | 'param' | 'unknown';
const DEP_ORDER: Record<Dependency, number> = { const: 0, data: 1, param: 2, unknown: 3 };

export function joinDependency(a: Dependency, b: Dependency): Dependency {
  return DEP_ORDER[a] >= DEP_ORDER[b] ? a : b;
}

/** An input of the model: a declared data, param or unknown, or a tangent/cotangent seed. */
export type InputRole = 'dim' | 'data' | 'param' | 'unknown' | 'seed';

export type IrNode =
  | { id: NodeId; op: 'const'; value: number; args: []; type: ValueType; dep: 'const'; attrs: Attrs; span: Span | null }
  | { id: NodeId; op: 'input'; name: string; role: InputRole; args: []; type: ValueType; dep: Dependency; attrs: Attrs; span: Span | null }
  | { id: NodeId; op: string; args: NodeId[]; type: ValueType; dep: Dependency; attrs: Attrs; span: Span | null };

/**
 * A typed expression DAG. Structurally equal nodes are created once (hash-consing), so a
 * shared subexpression is computed once by every pass and every generated kernel.
 */
export class Graph implements Builder {
  readonly nodes: IrNode[] = [];
  /** The length of the longest path from each node down to an input or constant. */
  private readonly depths: number[] = [];
  private readonly interned = new Map<string, NodeId>();
  /** Span given to nodes created while lowering a source expression. */
  currentSpan: Span | null = null;

  node(id: NodeId): IrNode {
    return this.nodes[id];
  }

  /** How many operations deep the node is: the recursive passes recurse this far. */
  depth(id: NodeId): number {
    return this.depths[id] ?? 0;
  }

  shape(id: NodeId): Shape {
    return this.nodes[id].type.shape;
  }

  input(name: string, role: InputRole, type: ValueType, span: Span | null = null): NodeId {
    const key = `input:${role}:${name}`;
    const hit = this.interned.get(key);
    if (hit !== undefined) return hit;
    const dep: Dependency = role === 'dim' ? 'data' : role === 'seed' ? 'const' : role;
    const id = this.nodes.length;
    this.nodes.push({ id, op: 'input', name, role, args: [], type, dep, attrs: {}, span });
    this.depths[id] = 0;
    this.interned.set(key, id);
    return id;
  }

  constant(value: number): NodeId {
    const key = `const:${Object.is(value, -0) ? 0 : value}`;
    const hit = this.interned.get(key);
    if (hit !== undefined) return hit;
    const id = this.nodes.length;
    this.nodes.push({ id, op: 'const', value, args: [], type: { kind: 'real', shape: [] }, dep: 'const', attrs: {}, span: this.currentSpan });
    this.depths[id] = 0;
    this.interned.set(key, id);
    return id;
  }

  apply(op: string, args: readonly NodeId[], attrs: Attrs = {}): NodeId {
    const key = `${op}(${args.join(',')})${Object.keys(attrs).length ? JSON.stringify(attrs) : ''}`;
    const hit = this.interned.get(key);
    if (hit !== undefined) return hit;
    const rule = primitive(op).shape(args.map((a) => this.nodes[a].type), attrs);
    if (!rule.ok) throw new Error(`internal error: ${op} applied to ill-shaped arguments: ${rule.message}`);
    const dep = args.reduce<Dependency>((d, a) => joinDependency(d, this.nodes[a].dep), 'const');
    const id = this.nodes.length;
    this.nodes.push({ id, op, args: [...args], type: rule.type, dep, attrs, span: this.currentSpan });
    this.depths[id] = 1 + args.reduce((d, a) => Math.max(d, this.depths[a] ?? 0), 0);
    this.interned.set(key, id);
    return id;
  }

  /** A scalar node for a size: a constant, a dim's input node, or their affine combination (`m + n`: add of the two dims). */
  dim(d: Dim): NodeId {
    const f = dimForm(d);
    let acc: NodeId | null = f.c !== 0 || f.terms.size === 0 ? this.constant(f.c) : null;
    for (const [name, coef] of f.terms) {
      const x = this.input(name, 'dim', real([]));
      const term = coef === 1 ? x : this.apply('mul', [this.constant(coef), x]);
      acc = acc === null ? term : this.apply('add', [acc, term]);
    }
    return acc as NodeId;
  }

  broadcastTo(x: NodeId, like: NodeId): NodeId {
    if (sameShape(this.shape(x), this.shape(like))) return x;
    if (!isScalar(this.shape(x))) throw new Error('internal error: broadcastTo from a non-scalar');
    return this.apply('broadcast', [x, like]);
  }

  reduceTo(x: NodeId, like: NodeId): NodeId {
    if (sameShape(this.shape(x), this.shape(like))) return x;
    if (!isScalar(this.shape(like))) throw new Error('internal error: reduceTo a non-scalar');
    return this.apply('sum', [x]);
  }
}

/** Concrete sizes bound to dims, and a value for every input node by name. */
export interface Bindings {
  dims: Record<string, number>;
  inputs: Record<string, Tensor>;
}

export function concreteShape(shape: Shape, dims: Record<string, number>): number[] {
  return shape.map((d) => {
    const v = evalDim(d, dims); // a sum (`m + n`) is evaluated from its dims
    if (v === undefined) throw new Error(`internal error: dim ${d} is not bound`);
    return v;
  });
}

/**
 * Reference interpreter: evaluates `roots` with the registry's f64 value rules. Used by
 * tests and by the analysis (counterexample checks); generated code uses the same rules.
 */
export function evaluate(
  graph: Graph,
  roots: readonly NodeId[],
  bindings: Bindings,
  overrides: ReadonlyMap<NodeId, Tensor> = new Map(),
): Tensor[] {
  const memo = new Map<NodeId, Tensor>(overrides);
  const visit = (id: NodeId): Tensor => {
    const hit = memo.get(id);
    if (hit) return hit;
    const n = graph.node(id);
    let value: Tensor;
    if (n.op === 'const') {
      value = { shape: [], data: Float64Array.of((n as { value: number }).value) };
    } else if (n.op === 'input') {
      const name = (n as { name: string }).name;
      if ((n as { role: InputRole }).role === 'dim') {
        // Own properties only: a dim or input named `constructor` must not read Object's.
        const size = Object.hasOwn(bindings.dims, name) ? bindings.dims[name] : undefined;
        if (size === undefined) throw new Error(`internal error: dim ${name} is not bound`);
        value = { shape: [], data: Float64Array.of(size) };
      } else {
        const v = Object.hasOwn(bindings.inputs, name) ? bindings.inputs[name] : undefined;
        if (!v) throw new Error(`internal error: input ${name} is not bound`);
        value = v;
      }
    } else {
      value = primitive(n.op).evaluate(n.args.map(visit), n.attrs);
    }
    memo.set(id, value);
    return value;
  };
  return roots.map(visit);
}
