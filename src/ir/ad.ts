import { primitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Graph } from './graph.ts';

// Generic automatic differentiation over the IR (JAX's jvp/transpose passes, in miniature):
// both passes only look rules up in the registry and build new IR nodes. The derivative
// graphs they return are what the analysis reads as structured Jacobians and what codegen
// turns into kernels; nothing is differentiated by hand per model.

/**
 * A memoized test: does node id depend on (or is it) one of `sources`? For the seeds of a
 * tangent, the unknowns of a kernel, the kink factors a value moves with.
 */
export function dependsOn(g: Graph, sources: { has(id: NodeId): boolean }): (id: NodeId) => boolean {
  const memo = new Map<NodeId, boolean>();
  const test = (id: NodeId): boolean => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    const r = sources.has(id) || g.node(id).args.some(test);
    memo.set(id, r);
    return r;
  };
  return test;
}

/** The nodes that `roots` depend on, in topological (= creation) order. */
export function cone(g: Graph, roots: readonly NodeId[]): NodeId[] {
  const seen = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const a of g.node(id).args) stack.push(a);
  }
  return [...seen].sort((a, b) => a - b);
}

/** The nodes among `order` that depend on any of `sources`. */
function dependents(g: Graph, order: readonly NodeId[], sources: ReadonlySet<NodeId>): Set<NodeId> {
  const out = new Set<NodeId>();
  for (const id of order) {
    if (sources.has(id) || g.node(id).args.some((a) => out.has(a))) out.add(id);
  }
  return out;
}

/**
 * Forward mode: the tangent of each root when each seeded node moves along its seed.
 * Null means the tangent is identically zero.
 */
export function jvp(g: Graph, roots: readonly NodeId[], seeds: ReadonlyMap<NodeId, NodeId>): (NodeId | null)[] {
  const tangent = new Map<NodeId, NodeId | null>();
  const order = cone(g, roots);
  const live = dependents(g, order, new Set(seeds.keys()));
  const saved = g.currentSpan;
  for (const id of order) {
    if (seeds.has(id)) {
      tangent.set(id, seeds.get(id)!);
      continue;
    }
    const n = g.node(id);
    if (!live.has(id) || n.op === 'input' || n.op === 'const') {
      tangent.set(id, null);
      continue;
    }
    const argTangents = n.args.map((a) => tangent.get(a) ?? null);
    const rule = primitive(n.op).jvp;
    g.currentSpan = n.span;
    tangent.set(id, rule ? rule(g, { id, args: n.args, attrs: n.attrs }, argTangents) : null);
  }
  g.currentSpan = saved;
  return roots.map((r) => tangent.get(r) ?? null);
}

/**
 * Reverse mode: the cotangent of each node in `wrt` given the cotangents of `roots`
 * (the transpose of jvp). Null means zero.
 */
export function vjp(g: Graph, roots: readonly NodeId[], cotangents: readonly NodeId[], wrt: readonly NodeId[]): (NodeId | null)[] {
  const order = cone(g, roots);
  const live = dependents(g, order, new Set(wrt));
  const acc = new Map<NodeId, NodeId>();
  roots.forEach((root, i) => {
    const prev = acc.get(root);
    acc.set(root, prev === undefined ? cotangents[i] : g.apply('add', [prev, cotangents[i]]));
  });
  const saved = g.currentSpan;
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i];
    const ct = acc.get(id);
    const n = g.node(id);
    if (ct === undefined || n.op === 'input' || n.op === 'const' || !live.has(id)) continue;
    const rule = primitive(n.op).vjp;
    if (!rule) continue;
    g.currentSpan = n.span;
    const argCts = rule(g, { id, args: n.args, attrs: n.attrs }, ct);
    n.args.forEach((a, k) => {
      const c = argCts[k];
      if (c === null || c === undefined || !live.has(a)) return;
      const prev = acc.get(a);
      acc.set(a, prev === undefined ? c : g.apply('add', [prev, c]));
    });
  }
  g.currentSpan = saved;
  return wrt.map((w) => acc.get(w) ?? null);
}
