import { broadcast, isScalar, real, sameShape, sameSize, showType, sizeOf, SCALAR, type Dim, type Shape, type ValueType } from '../ir/shape.ts';
import type { ShapeResult } from './types.ts';

// Reusable shape rules. Each primitive record picks one; the checker only calls `shape`.

type ShapeError = Extract<ShapeResult, { ok: false }>;

function requireReal(args: readonly ValueType[]): ShapeError | null {
  const i = args.findIndex((a) => a.kind !== 'real');
  if (i < 0) return null;
  return { ok: false, code: 'E0206', arg: i, message: `argument ${i + 1} is a condition, expected a value` };
}

/** Elementwise over all arguments with scalar broadcasting. */
export function elementwise(args: readonly ValueType[]): ShapeResult {
  const bad = requireReal(args);
  if (bad) return bad;
  const out = broadcast(args.map((a) => a.shape));
  if (!out) {
    const first = args.findIndex((a) => !isScalar(a.shape));
    const other = args.findIndex((a, i) => i !== first && !isScalar(a.shape) && !sameShape(a.shape, args[first].shape));
    return {
      ok: false,
      code: 'E0201',
      arg: other,
      message: `arguments have different shapes: ${showType(args[first])} and ${showType(args[other])}`,
      help: 'elementwise arguments must have the same shape, or be scalars',
    };
  }
  return { ok: true, type: real(out) };
}

/** Reduction of one array (any shape) to a scalar. */
export function reduction(args: readonly ValueType[]): ShapeResult {
  return requireReal(args) ?? { ok: true, type: real(SCALAR) };
}

/** Two arrays of one shape to a scalar (`dot`). */
export function pairReduction(args: readonly ValueType[]): ShapeResult {
  const bad = requireReal(args);
  if (bad) return bad;
  if (!sameShape(args[0].shape, args[1].shape)) {
    return { ok: false, code: 'E0201', arg: 1, message: `arguments have different shapes: ${showType(args[0])} and ${showType(args[1])}` };
  }
  return { ok: true, type: real(SCALAR) };
}

/** A vector in, a vector of the same length out; the other arguments scalars. */
export function vectorMap(args: readonly ValueType[]): ShapeResult {
  const bad = requireReal(args);
  if (bad) return bad;
  if (args[0].shape.length !== 1) {
    return { ok: false, code: 'E0203', arg: 0, message: `expected a vector, found ${showType(args[0])}` };
  }
  for (let i = 1; i < args.length; i++) {
    if (!isScalar(args[i].shape)) return { ok: false, code: 'E0203', arg: i, message: `expected a scalar, found ${showType(args[i])}` };
  }
  return { ok: true, type: real(args[0].shape) };
}

/** Scalar arguments to a scalar. */
export function scalarOnly(args: readonly ValueType[]): ShapeResult {
  const bad = requireReal(args);
  if (bad) return bad;
  const i = args.findIndex((a) => !isScalar(a.shape));
  if (i >= 0) return { ok: false, code: 'E0208', arg: i, message: `expected a scalar, found ${showType(args[i])}` };
  return { ok: true, type: real(SCALAR) };
}

/** Comparisons: elementwise on values, giving a condition. */
export function comparison(args: readonly ValueType[]): ShapeResult {
  const r = elementwise(args);
  return r.ok ? { ok: true, type: { kind: 'bool', shape: r.type.shape } } : r;
}

/** Logic: elementwise on conditions. */
export function logic(args: readonly ValueType[]): ShapeResult {
  const i = args.findIndex((a) => a.kind !== 'bool');
  if (i >= 0) return { ok: false, code: 'E0206', arg: i, message: `expected a condition, found ${showType(args[i])}` };
  const out = broadcast(args.map((a) => a.shape));
  if (!out) return { ok: false, code: 'E0201', arg: 1, message: `conditions have different shapes: ${showType(args[0])} and ${showType(args[1])}` };
  return { ok: true, type: { kind: 'bool', shape: out } };
}

/** `if c then a else b`, elementwise: c a condition broadcastable with the branches. */
export function select(args: readonly ValueType[]): ShapeResult {
  if (args[0].kind !== 'bool') return { ok: false, code: 'E0206', arg: 0, message: `expected a condition, found ${showType(args[0])}` };
  const branches = requireReal(args.slice(1));
  if (branches) return { ...branches, arg: (branches.arg ?? 0) + 1 };
  const out = broadcast(args.map((a) => a.shape));
  if (!out) {
    return {
      ok: false,
      code: 'E0201',
      arg: 2,
      message: `branches and condition have different shapes: ${args.map(showType).join(', ')}`,
    };
  }
  return { ok: true, type: real(out) };
}

/**
 * Matrix product `A * B` where both are arrays. A vector's transpose is a row `[1, n]`;
 * a product whose dims are all 1 is a scalar (`x' * A * x`).
 */
export function matmul(args: readonly ValueType[]): ShapeResult {
  const bad = requireReal(args);
  if (bad) return bad;
  const [a, b] = args.map((t) => t.shape);
  if (a.length === 1 && b.length === 1) {
    return {
      ok: false,
      code: 'E0207',
      arg: 1,
      message: `\`*\` of two vectors (${showType(args[0])} and ${showType(args[1])}) is ambiguous`,
      help: "write `dot(a, b)` or `a' * b` for the inner product, `a .* b` for the elementwise product",
    };
  }
  // Vectors are columns: a left vector [n] is [n, 1] (so `u * v'` is the outer product),
  // a right vector [k] is [k, 1] with its trailing 1 dropped from the result.
  const left: { inner: Dim; outer: Shape } = a.length === 2 ? { inner: a[1], outer: [a[0]] } : { inner: 1, outer: [a[0]] };
  const right: { inner: Dim; outer: Shape } = b.length === 2 ? { inner: b[0], outer: [b[1]] } : { inner: b[0], outer: [] };
  if (left.inner !== right.inner) {
    return {
      ok: false,
      code: 'E0202',
      arg: 1,
      message: `inner dimensions differ: ${showType(args[0])} * ${showType(args[1])} (\`${left.inner}\` vs \`${right.inner}\`)`,
    };
  }
  const out = [...left.outer, ...right.outer];
  return { ok: true, type: real(out.every((d) => d === 1) ? SCALAR : out) };
}

/** Transpose: [m, n] -> [n, m]; a vector becomes a row [1, n]; a scalar stays. */
export function transpose(args: readonly ValueType[]): ShapeResult {
  const bad = requireReal(args);
  if (bad) return bad;
  const s = args[0].shape;
  if (s.length === 0) return { ok: true, type: real(s) };
  if (s.length === 1) return { ok: true, type: real([1, s[0]]) };
  return { ok: true, type: real([s[1], s[0]]) };
}

/** Division and power: the right side must be a scalar. */
export function scalarRight(what: string) {
  return (args: readonly ValueType[]): ShapeResult => {
    const bad = requireReal(args);
    if (bad) return bad;
    if (!isScalar(args[1].shape)) {
      return {
        ok: false,
        code: 'E0208',
        arg: 1,
        message: `${what} by ${showType(args[1])} needs a scalar on the right`,
        help: what === 'division' ? 'use `./` for elementwise division' : undefined,
      };
    }
    return { ok: true, type: real(args[0].shape) };
  };
}

/** A matrix (or vector) to a scalar. */
export function matrixNorm(args: readonly ValueType[]): ShapeResult {
  const bad = requireReal(args);
  if (bad) return bad;
  if (args[0].shape.length === 0) return { ok: false, code: 'E0203', arg: 0, message: 'expected a matrix or vector, found real' };
  return { ok: true, type: real(SCALAR) };
}

/** A value with the shape of its first argument (gradients of norms). */
export function likeFirst(args: readonly ValueType[]): ShapeResult {
  return requireReal(args) ?? { ok: true, type: real(args[0].shape) };
}

/** `broadcast(x, like)`: a scalar x laid out with the shape of `like`. */
export function broadcastLike(args: readonly ValueType[]): ShapeResult {
  if (!isScalar(args[0].shape)) return { ok: false, code: 'E0208', arg: 0, message: `expected a scalar, found ${showType(args[0])}` };
  return { ok: true, type: real(args[1].shape) };
}

/** `reshape(x, like)`: x's entries laid out with the shape of `like`, of the same size. */
export function reshapeLike(args: readonly ValueType[]): ShapeResult {
  if (!sameSize(sizeOf(args[0].shape), sizeOf(args[1].shape))) {
    return { ok: false, code: 'E0201', arg: 0, message: `cannot lay out ${showType(args[0])} as ${showType(args[1])}` };
  }
  return { ok: true, type: real(args[1].shape) };
}

/**
 * Jacobian-vector product of a vector map: `(v, scalars..., t)` with t shaped like the
 * vector v, giving a vector of that shape.
 */
export function vectorJvp(args: readonly ValueType[]): ShapeResult {
  const t = args[args.length - 1];
  if (!sameShape(t.shape, args[0].shape)) {
    return { ok: false, code: 'E0201', arg: args.length - 1, message: `tangent ${showType(t)} does not match ${showType(args[0])}` };
  }
  return vectorMap(args.slice(0, -1));
}
