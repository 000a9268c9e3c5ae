import { isScalar, sameShape } from '../ir/shape.ts';
import type { Builder, NodeId } from './types.ts';

// Builders shared by the derivative rules. Rules make nodes only through the Builder
// (apply, constant, broadcastTo, reduceTo), so the derivative of a model is itself IR
// (source-to-source, DESIGN.md "The primitive registry"). A null tangent or cotangent is 0.

export function op(g: Builder, name: string, ...args: NodeId[]): NodeId {
  return g.apply(name, args);
}

/** `factor .* t`, keeping a zero tangent zero. */
export function scale(g: Builder, factor: NodeId, t: NodeId | null): NodeId | null {
  return t === null ? null : op(g, 'mul', factor, t);
}

/** `1 - x`, the complementary weight of a convex-weight factor. */
export function complement(g: Builder, x: NodeId): NodeId {
  return op(g, 'sub', g.constant(1), x);
}

/** The sum of the nonzero terms with the shape of `like` (a tangent of `like`). */
export function sumTerms(g: Builder, like: NodeId, terms: readonly (NodeId | null)[]): NodeId | null {
  let acc: NodeId | null = null;
  for (const t of terms) if (t !== null) acc = acc === null ? t : op(g, 'add', acc, t);
  if (acc === null) return null;
  return isScalar(g.shape(acc)) ? g.broadcastTo(acc, like) : reshapeTo(g, acc, like);
}

/** `x` (same size) laid out with the shape of `like`; no node when the shapes agree. */
export function reshapeTo(g: Builder, x: NodeId, like: NodeId): NodeId {
  return sameShape(g.shape(x), g.shape(like)) ? x : op(g, 'reshape', x, like);
}

/** A cotangent `x` of a broadcast result, brought back to the shape of argument `arg`. */
export function unbroadcast(g: Builder, x: NodeId, arg: NodeId): NodeId {
  return reshapeTo(g, g.reduceTo(x, arg), arg);
}

/** `x * y` as the surface language means it: scaling when a side is a scalar, else matmul. */
export function product(g: Builder, x: NodeId, y: NodeId): NodeId {
  return op(g, isScalar(g.shape(x)) || isScalar(g.shape(y)) ? 'mul' : 'matmul', x, y);
}

/** Zero derivative rules for piecewise constant primitives (0 almost everywhere). */
export const flat = {
  jvp: (): null => null,
  vjp: (_g: Builder, node: { args: readonly NodeId[] }): null[] => node.args.map(() => null),
};
