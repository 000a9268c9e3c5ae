import { flat, op, sumTerms, unbroadcast } from './build.ts';
import { map1, map2, map3 } from './tensor.ts';
import type { Builder, KinkDescription, NodeId, Primitive, Tensor } from './types.ts';

// Rule makers shared by the elementwise families: a value rule from a scalar function, the
// derivative of a one-argument function as `slope .* tangent`, and diagonal kinks.

type Rules = Pick<Primitive, 'evaluate' | 'jvp' | 'vjp' | 'scalarExpr'>;
type Scalar = (...xs: number[]) => number;

/** Applies a scalar function to every element, scalars broadcasting. */
export function pointwise(f: Scalar): (args: readonly Tensor[]) => Tensor {
  return (args) => {
    if (args.length === 1) return map1(args[0], f);
    if (args.length === 2) return map2(args[0], args[1], f);
    return map3(args[0], args[1], args[2], f);
  };
}

/** A kernel expression over parenthesized argument strings (so `-${a}` stays well formed). */
export function expression(f: (...args: string[]) => string): (args: readonly string[]) => string {
  return (args) => f(...args.map((a) => `(${a})`));
}

/**
 * A one-argument primitive whose derivative is `slope(a, node) .* adot`. Kinked primitives
 * pass their diagonal kink factor as the slope (e.g. relu: `relu_d(a)`).
 */
export function unary(
  f: (x: number) => number,
  expr: (a: string) => string,
  slope: (g: Builder, a: NodeId, node: NodeId) => NodeId,
): Rules {
  return {
    evaluate: pointwise(f),
    jvp: (g, node, [da]) => (da === null ? null : sumTerms(g, node.id, [op(g, 'mul', slope(g, node.args[0], node.id), da)])),
    vjp: (g, node, ct) => [unbroadcast(g, op(g, 'mul', slope(g, node.args[0], node.id), ct), node.args[0])],
    scalarExpr: expression(expr),
  };
}

/** A piecewise constant primitive (discontinuous): zero derivative rules. */
export function piecewiseConstant(f: Scalar, expr: (...args: string[]) => string): Rules {
  return { evaluate: pointwise(f), ...flat, scalarExpr: expression(expr) };
}

/**
 * A diagonal kink (MATH.md section 5.4: one kink variable per element, in `range`): the
 * factor primitive takes the primitive's own arguments; `gap` is the elementwise distance
 * from the switching surface.
 */
export function diagonalKink(
  k: Omit<KinkDescription, 'kinkGap' | 'selection'> & { factor: string },
  gap: Scalar,
): KinkDescription {
  const gaps = pointwise(gap);
  return { ...k, selection: k.factor, kinkGap: (args) => gaps(args).data };
}
