import { flat, op, sumTerms, unbroadcast } from './build.ts';
import type { Builder, KinkSpec, NodeId, PrimitiveSpec } from './types.ts';

// Rule makers shared by the elementwise families: the batched-kernel expression, the
// derivative of a one-argument function as `slope .* tangent`, and diagonal kinks. The values
// themselves are the runtime's kernels (src/runtime/values/elementwise.ts).

type Rules = Pick<PrimitiveSpec, 'jvp' | 'vjp' | 'scalarExpr'>;

/** A kernel expression over parenthesized argument strings (so `-${a}` stays well formed). */
export function expression(f: (...args: string[]) => string): (args: readonly string[]) => string {
  return (args) => f(...args.map((a) => `(${a})`));
}

/**
 * A one-argument primitive whose derivative is `slope(a, node) .* adot`. Kinked primitives
 * pass their diagonal kink factor as the slope (e.g. relu: `relu_d(a)`).
 */
export function unary(expr: (a: string) => string, slope: (g: Builder, a: NodeId, node: NodeId) => NodeId): Rules {
  return {
    jvp: (g, node, [da]) => (da === null ? null : sumTerms(g, node.id, [op(g, 'mul', slope(g, node.args[0], node.id), da)])),
    vjp: (g, node, ct) => [unbroadcast(g, op(g, 'mul', slope(g, node.args[0], node.id), ct), node.args[0])],
    scalarExpr: expression(expr),
  };
}

/** A piecewise constant primitive (discontinuous): zero derivative rules. */
export function piecewiseConstant(expr: (...args: string[]) => string): Rules {
  return { ...flat, scalarExpr: expression(expr) };
}

/**
 * A diagonal kink (MATH.md section 5.4: one kink variable per element, in `range`): the
 * factor primitive takes the primitive's own arguments, and is the selected element; `gap`
 * names the runtime's elementwise distance from the switching surface.
 */
export function diagonalKink(k: Omit<KinkSpec, 'selection'> & { factor: string }): KinkSpec {
  return { ...k, selection: k.factor };
}
