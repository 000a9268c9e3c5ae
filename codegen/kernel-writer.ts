import { cone } from '../src/ir/ad.ts';
import { factsOf, primitive } from '../src/primitives/registry.ts';
import type { Graph, IrNode } from '../src/ir/graph.ts';
import { dimForm, type Shape } from '../src/ir/shape.ts';
import type { NodeId } from '../src/primitives/types.ts';
import { member } from './names.ts';

/**
 * Writes kernel bodies: straight-line TypeScript over tensors, one `K.<kernel>(...)` call per
 * IR node, the runtime's value kernel that the node's primitive names as its value rule
 * (`Primitive.kernel`, through implc/runtime). Nodes that do not move
 * with the unknowns or the seeds were computed once, in the constructor, and are read from
 * `c` by name (user names as they are, invented ones with a `$`: `c.$t9`, `c.$num_2`); the
 * rest are locals `t<id>`.
 */
export class KernelWriter {
  /** Names of the hoisted values (keys of `c`), by node. */
  readonly hoistedNames = new Map<NodeId, string>();
  private readonly dynamicMemo = new Map<NodeId, boolean>();

  constructor(
    private readonly graph: Graph,
    names: ReadonlyMap<NodeId, string>,
  ) {
    for (const [id, name] of names) this.hoistedNames.set(id, name);
  }

  /** A node moves when it depends on an unknown or on a seed (tangent, cotangent). */
  dynamic(id: NodeId): boolean {
    const hit = this.dynamicMemo.get(id);
    if (hit !== undefined) return hit;
    const n = this.graph.node(id);
    const role = n.op === 'input' ? (n as { role: string }).role : null;
    const r = role === 'unknown' || role === 'seed' || n.args.some((a) => this.dynamic(a));
    this.dynamicMemo.set(id, r);
    return r;
  }

  /** The name of a hoisted node, inventing one (with a `$`, which no user name has) when it has none. */
  hoistedName(id: NodeId): string {
    let name = this.hoistedNames.get(id);
    if (name === undefined) {
      const n = this.graph.node(id);
      name = n.op === 'const' ? constName((n as { value: number }).value) : `$t${id}`;
      this.hoistedNames.set(id, name);
    }
    return name;
  }

  /**
   * The hoisted nodes among the cones of `roots`, in dependency order: each one's name in `c`
   * and the expression computing it from `c` (inputs and dims must already be there).
   */
  hoist(roots: readonly NodeId[], done: Set<NodeId>): { node: NodeId; name: string; expr: string }[] {
    const lines: { node: NodeId; name: string; expr: string }[] = [];
    for (const id of cone(this.graph, roots)) {
      if (done.has(id) || this.dynamic(id)) continue;
      done.add(id);
      const n = this.graph.node(id);
      if (n.op === 'input') continue; // bound from the inputs
      const name = this.hoistedName(id);
      const expr = n.op === 'const' ? `scalar(${(n as { value: number }).value})` : (this.fused(n) ?? this.call(n, (a) => this.read(a)));
      lines.push({ node: id, name, expr });
    }
    return lines;
  }

  /**
   * Statements computing `roots` from `env` (node -> expression for unknowns, seeds and
   * kink factors). Returns the statements and an expression per root (null: zero).
   */
  body(roots: readonly (NodeId | null)[], env: ReadonlyMap<NodeId, string>): { lines: string[]; results: (string | null)[] } {
    const lines: string[] = [];
    const ref = (id: NodeId): string => env.get(id) ?? (this.dynamic(id) ? `t${id}` : this.read(id));
    const live = roots.filter((r): r is NodeId => r !== null);
    const stop = new Set(env.keys());
    for (const id of this.dynamicCone(live, stop)) {
      const n = this.graph.node(id);
      if (n.op === 'input') throw new Error(`internal error: kernel input ${(n as { name: string }).name} is not bound`);
      lines.push(`const t${id} = ${this.call(n, ref)};`);
    }
    return { lines, results: roots.map((r) => (r === null ? null : ref(r))) };
  }

  /** The kernel call computing one dynamic node from `env` (its dynamic arguments must all be bound there). */
  expression(id: NodeId, env: ReadonlyMap<NodeId, string>): string {
    const ref = (a: NodeId): string => {
      const bound = env.get(a);
      if (bound !== undefined) return bound;
      if (this.dynamic(a)) throw new Error(`internal error: argument t${a} of t${id} is not bound`);
      return this.read(a);
    };
    return this.call(this.graph.node(id), ref);
  }

  /** Dynamic nodes needed for `roots`, not descending below bound nodes. */
  private dynamicCone(roots: readonly NodeId[], stop: ReadonlySet<NodeId>): NodeId[] {
    const seen = new Set<NodeId>();
    const stack = [...roots];
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id) || stop.has(id) || !this.dynamic(id)) continue;
      seen.add(id);
      stack.push(...this.graph.node(id).args);
    }
    return [...seen].sort((a, b) => a - b);
  }

  /** Whether a hoisted value uses `scaledTranspose` (the module then imports it). */
  usesScaledTranspose = false;

  /**
   * A fused kernel for a hoisted node, or null: `s * X'` (the step times a transposed design,
   * as every proximal-gradient map has it) in one pass over X, without the transpose's own
   * copy (which stays available, computed only if something else reads it).
   */
  private fused(n: IrNode): string | null {
    const facts = (m: IrNode) => factsOf(m.op);
    if (facts(n).linearForm !== 'product') return null;
    const [a, b] = n.args;
    const isScalar = (id: NodeId) => this.graph.shape(id).length === 0;
    const isTranspose = (id: NodeId) => {
      const t = this.graph.node(id);
      return facts(t).transpose === true && this.graph.shape(t.args[0]).length === 2;
    };
    const [s, t] = isScalar(a) && isTranspose(b) ? [a, b] : isScalar(b) && isTranspose(a) ? [b, a] : [null, null];
    if (s === null || t === null) return null;
    this.usesScaledTranspose = true;
    return `scaledTranspose(${this.read(s)}.data[0], ${this.read(this.graph.node(t).args[0])})`;
  }

  /** The hoisted value of a node, read from `c`: `c.X`, `c["ⸯ"]`, `c.$t9`. */
  read(id: NodeId): string {
    return member('c', this.hoistedName(id));
  }

  private call(n: IrNode, ref: (id: NodeId) => string): string {
    const kernel = primitive(n.op).kernel;
    if (factsOf(n.op).linearForm === 'matrix product') {
      const [P, v] = n.args;
      const g = this.graph;
      // (v fixed too: a hoisted X' * y is computed from X's rows, without forming X'.)
      if (!this.dynamic(P) && g.shape(P).length === 2 && g.shape(v).length === 1) return this.applyFixed(P, ref(v), kernel);
    }
    return `K.${kernel}(${n.args.map(ref).join(', ')})`;
  }

  /** Whether a kernel uses `transposedProduct` (the module then imports it). */
  usesTransposedProduct = false;

  /**
   * A fixed matrix P (or its transpose) applied to a vector expression `v` without forming
   * what P is made of: a product of fixed matrices (`X' * X`, a `let G = X' * X`) is applied
   * factor by factor (2 n p per product instead of a p x p matrix formed in n p^2), through
   * transposes ((A B)' v = B' (A' v)) and scalar factors; a transposed matrix by
   * `transposedProduct`, which reads its rows (no p x n copy for a few products; an
   * iterative solve's many products get the copy, made once). Anything else is the
   * registry's product of the hoisted P (or `transposedProduct` of it).
   */
  private applyFixed(P: NodeId, v: string, kernel: string, transposed = false): string {
    const g = this.graph;
    const n = g.node(P);
    const plain = (): string => {
      if (!transposed) return `K.${kernel}(${this.read(P)}, ${v})`;
      this.usesTransposedProduct = true;
      return `transposedProduct(1, ${this.read(P)}, ${v})`;
    };
    if (n.op === 'input' || n.op === 'const') return plain();
    const facts = factsOf(n.op);
    const [a, b] = n.args;
    if (facts.transpose === true && g.shape(a).length === 2) return this.applyFixed(a, v, kernel, !transposed);
    if (facts.linearForm === 'product' && (g.shape(a).length === 0) !== (g.shape(b).length === 0)) {
      const [s, M] = g.shape(a).length === 0 ? [a, b] : [b, a];
      const inner = g.node(M);
      if (transposed && (inner.op === 'input' || inner.op === 'const')) {
        this.usesTransposedProduct = true;
        return `transposedProduct(${this.read(s)}.data[0], ${this.read(M)}, ${v})`;
      }
      return `K.${primitive(n.op).kernel}(${this.read(s)}, ${this.applyFixed(M, v, kernel, transposed)})`;
    }
    if (facts.linearForm === 'matrix product' && g.shape(a).length === 2 && g.shape(b).length === 2) {
      return transposed
        ? this.applyFixed(b, this.applyFixed(a, v, kernel, true), kernel, true)
        : this.applyFixed(a, this.applyFixed(b, v, kernel), kernel);
    }
    return plain();
  }
}

/** `$num_0_5` for 0.5, `$num_neg1eneg7` for -1e-7: one name per value. */
function constName(v: number): string {
  return `$num_${String(v).replace(/-/g, 'neg').replace(/[.+]/g, '_')}`;
}

/** A shape as a TypeScript expression over the bound dims: `[d.n, 3]` (`d["ⸯ"]` for a name that cannot follow a dot). */
export function shapeExpr(shape: Shape): string {
  return `[${shape.map(dimExpr).join(', ')}]`;
}

/** The size of a shape as a TypeScript expression. */
export function sizeExpr(shape: Shape): string {
  return shape.length === 0 ? '1' : shape.map(dimExpr).join(' * ');
}

/** A dim as a TypeScript expression: a literal, `d.n`, or a sum (`(d.m + d.n)`, `(2 * d.n + 1)`: concatenation's sizes). */
function dimExpr(d: number | string): string {
  if (typeof d === 'number') return String(d);
  const f = dimForm(d);
  if (f.c === 0 && f.terms.size === 1 && f.terms.get(d) === 1) return member('d', d);
  const parts = [...f.terms].map(([k, v]) => (v === 1 ? member('d', k) : `${v} * ${member('d', k)}`));
  if (f.c !== 0 || parts.length === 0) parts.push(String(f.c));
  return `(${parts.join(' + ')})`;
}
