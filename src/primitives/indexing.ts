import { addDims, isScalar, real, sameShape, showType, SCALAR, type Dim, type ValueType } from '../ir/shape.ts';
import { op } from './build.ts';
import type { Interval } from './interval.ts';
import type { Attrs, Builder, NodeId, PrimitiveSpec, ShapeResult } from './types.ts';

// Indexing, slicing, bracket literals and constructors (README, "The language").
//
// Positions are 1-based and a range `a:b` includes both ends, as in MATLAB, Julia and the
// papers the models come from: `y[1]` is the first entry, `y[1:n]` the whole vector. The
// kernels (src/runtime/values/indexing.ts) take the positions as written.
//
// Every gather primitive takes (x, lo0, hi0) for a vector and (x, lo0, hi0, lo1, hi1) for a
// matrix: the window of each axis, scalar values (integer literals, dims, dim arithmetic),
// with hi = -1 (END) for "to the end of the axis" (what `:` lowers to). The four primitives
// differ only in which axes their result keeps: `index` none, `slice` all, `slice_row` the
// columns, `slice_col` the rows. Sizes that the arguments' types cannot tell (the length of a
// range) are static attributes `len0`, `len1`: a Dim (src/ir/shape.ts: a literal size, a dim's
// name, or a normalized affine sum such as `n - 1` for `y[2:n]`), which the checker computes
// as hi - lo + 1 from the positions' dim arithmetic, so shapes stay static. The kernels
// compute the same window from the positions' values and check it against the axis's size.
//
// All of them are linear in x, with x's entries as a subset: JVP = the same gather of the
// tangent; VJP = `scatter` of the cotangent into zeros of x's shape (its transpose), whose own
// VJP is the gather again. Their tangents are not read as structured operators by the
// analysis (src/analysis/linop.ts reads them as opaque, which is sound: it only weakens
// certification).

/** The `hi` position meaning "the last position of the axis" (the runtime's END). */
export const END = -1;

const GATHERS = ['index', 'slice', 'slice_row', 'slice_col'] as const;
type Gather = (typeof GATHERS)[number];

/** Which axes each gather keeps. */
const KEEPS: Record<Gather, readonly [boolean, boolean]> = {
  index: [false, false],
  slice: [true, true],
  slice_row: [false, true],
  slice_col: [true, false],
};

function positionsScalar(args: readonly ValueType[], from: number): ShapeResult | null {
  for (let i = from; i < args.length; i++) {
    if (args[i].kind !== 'real' || !isScalar(args[i].shape)) {
      return { ok: false, code: 'E0208', arg: i, message: `an index must be a scalar, found ${showType(args[i])}` };
    }
  }
  return null;
}

function dimAttr(attrs: Attrs | undefined, key: string): Dim | null {
  const v = attrs?.[key];
  return typeof v === 'number' || typeof v === 'string' ? v : null;
}

/** The shape rule of a gather: x a vector (3 arguments) or a matrix (5), the kept axes' sizes from `len0`/`len1` (or x's own for a whole axis). */
function gatherShape(name: Gather) {
  return (args: readonly ValueType[], attrs?: Attrs): ShapeResult => {
    const x = args[0];
    if (x.kind !== 'real') return { ok: false, code: 'E0206', arg: 0, message: `cannot index a condition (${showType(x)})` };
    const rank = x.shape.length;
    if (rank === 0 || args.length !== 1 + 2 * rank || (rank === 1 && name !== 'index' && name !== 'slice')) {
      return { ok: false, code: 'E0203', arg: 0, message: `\`${name}\` of ${showType(x)} with ${(args.length - 1) / 2} indices` };
    }
    const bad = positionsScalar(args, 1);
    if (bad) return bad;
    const keep = KEEPS[name];
    const out: Dim[] = [];
    for (let axis = 0; axis < rank; axis++) {
      if (!keep[axis]) continue;
      const len = dimAttr(attrs, `len${axis}`) ?? x.shape[axis];
      out.push(len);
    }
    return { ok: true, type: real(out) };
  };
}

/** hull of intervals, for values made of entries of their arguments (and zeros). */
function hull(items: readonly Interval[]): Interval {
  return [Math.min(...items.map((i) => i[0])), Math.max(...items.map((i) => i[1]))];
}

function gather(name: Gather, summary: string): PrimitiveSpec {
  return {
    name,
    surface: 'operator',
    params: ['x', 'lo0', 'hi0', 'lo1', 'hi1'],
    summary,
    definability: 'semialgebraic',
    lipschitz: 'globally',
    shape: gatherShape(name),
    structure: { linear: true, nonexpansive: true },
    interval: ([x]) => x,
    jvp: (g, node, [dx]) => (dx === null ? null : g.apply(name, [dx, ...node.args.slice(1)], node.attrs)),
    vjp: (g, node, ct) => [g.apply('scatter', [ct, ...node.args], { ...node.attrs, of: name }), ...node.args.slice(1).map(() => null)],
  };
}

/**
 * `concat_rows` (axis 0) and `concat_cols` (axis 1): `[a; b]` stacks vectors (real[n], real[m] -> real[m + n]) or
 * matrices by rows (axis 0; the columns must agree), `[A, B]` puts matrices side by side
 * (axis 1; the rows must agree). The size along the axis is the sum of the parts' sizes, a
 * Dim sum (src/ir/shape.ts). Scalars in `[a; 1]` arrive as one-entry `literal_vector`s (the
 * checker plans them so).
 */
const concatShape = (axis: 0 | 1) => (args: readonly ValueType[]): ShapeResult => {
  if (args.length === 0) return { ok: false, code: 'E0203', message: 'concatenation of nothing' };
  const bad = args.findIndex((a) => a.kind !== 'real' || a.shape.length === 0 || a.shape.length < axis + 1);
  if (bad >= 0) return { ok: false, code: 'E0203', arg: bad, message: `cannot concatenate ${showType(args[bad])} along axis ${axis + 1}` };
  const rank = args[0].shape.length;
  const other = 1 - axis;
  for (let i = 1; i < args.length; i++) {
    const a = args[i].shape;
    if (a.length !== rank) return { ok: false, code: 'E0201', arg: i, message: `cannot concatenate ${showType(args[0])} and ${showType(args[i])}: different ranks` };
    if (rank === 2 && a[other] !== args[0].shape[other]) {
      return {
        ok: false, code: 'E0201', arg: i,
        message: `cannot concatenate ${showType(args[0])} and ${showType(args[i])} ${axis === 0 ? 'vertically: the numbers of columns differ' : 'side by side: the numbers of rows differ'}`,
      };
    }
  }
  const size = addDims(...args.map((a) => a.shape[axis]));
  const shape: Dim[] = [...args[0].shape];
  shape[axis] = size;
  return { ok: true, type: real(shape) };
};

function concat(axis: 0 | 1): PrimitiveSpec {
  const name = axis === 0 ? 'concat_rows' : 'concat_cols';
  return {
    name,
    surface: 'internal',
    params: ['a1', '...', 'ak'],
    summary: axis === 0 ? '[a; b]: vectors end to end, or matrices one above the other' : '[A, B]: matrices side by side',
    definability: 'semialgebraic',
    lipschitz: 'globally',
    shape: concatShape(axis),
    // Linear in all its arguments together; every entry is an entry of one part.
    structure: { linear: true },
    interval: (args) => hull(args),
    jvp: (g, node, ts) => (ts.every((t) => t === null) ? null : g.apply(name, ts.map((t, i) => t ?? g.broadcastTo(g.constant(0), node.args[i])))),
    // The transpose: part i of the cotangent, a slice at the part's offset (1-based, both ends).
    vjp: (g, node, ct) => {
      const out = g.shape(node.id);
      let offset: Dim = 0;
      return node.args.map((a) => {
        const s = g.shape(a);
        const len = s[axis];
        const lo = g.dim(addDims(offset, 1));
        const hi = g.dim(addDims(offset, len));
        offset = addDims(offset, len);
        if (s.length === 1) return g.apply('slice', [ct, lo, hi], { len0: len });
        const whole = [g.constant(1), g.constant(END)];
        return axis === 0
          ? g.apply('slice', [ct, lo, hi, ...whole], { len0: len, len1: out[1] })
          : g.apply('slice', [ct, ...whole, lo, hi], { len0: out[0], len1: len });
      });
    },
  };
}

/** The forward attributes of a scatter (its own minus `of`). */
function forwardAttrs(attrs: Attrs): Attrs {
  const { of: _of, ...rest } = attrs;
  return rest;
}

/** One scalar position as a constant node. */
const at = (g: Builder, i: number): NodeId => g.constant(i);

export const indexing: PrimitiveSpec[] = [
  gather('index', 'x[i] or X[i, j]: one entry (1-based)'),
  gather('slice', 'x[a:b], X[a:b, c:d] (`:` a whole axis): the entries in the window, every axis kept (1-based, both ends included)'),
  gather('slice_row', 'X[i, c:d] or X[i, :]: part of row i, as a vector'),
  gather('slice_col', 'X[a:b, j] or X[:, j]: part of column j, as a vector'),
  {
    name: 'scatter',
    surface: 'internal',
    params: ['v', 'like', 'lo0', 'hi0', 'lo1', 'hi1'],
    summary: "zeros of like's shape with v's entries (row-major) in the window: the transpose of the gather `of` (attribute)",
    definability: 'semialgebraic',
    lipschitz: 'globally',
    shape: (args) => {
      if (args[1].kind !== 'real') return { ok: false, code: 'E0206', arg: 1, message: 'scatter into a condition' };
      return positionsScalar(args, 2) ?? { ok: true, type: real(args[1].shape) };
    },
    structure: { linear: true, nonexpansive: true },
    interval: ([v]) => hull([v, [0, 0]]),
    jvp: (g, node, [dv]) => (dv === null ? null : g.apply('scatter', [dv, ...node.args.slice(1)], node.attrs)),
    vjp: (g, node, ct) => {
      const of = node.attrs.of;
      if (typeof of !== 'string') throw new Error('internal error: scatter without the gather it transposes');
      return [g.apply(of, [ct, ...node.args.slice(2)], forwardAttrs(node.attrs)), ...node.args.slice(1).map(() => null)];
    },
  },
  {
    name: 'literal_vector',
    surface: 'operator',
    params: ['e1', '...', 'ek'],
    summary: '[e1, ..., ek] of scalars: a vector of length k',
    definability: 'semialgebraic',
    lipschitz: 'globally',
    shape: (args) => {
      const i = args.findIndex((a) => a.kind !== 'real' || !isScalar(a.shape));
      if (i >= 0) return { ok: false, code: 'E0203', arg: i, message: `an entry of a vector literal must be a scalar, found ${showType(args[i])}` };
      return { ok: true, type: real([args.length]) };
    },
    structure: { linear: true },
    interval: (args) => hull(args),
    jvp: (g, node, ts) => (ts.every((t) => t === null) ? null : op(g, 'literal_vector', ...ts.map((t) => t ?? g.constant(0)))),
    vjp: (g, node, ct) => node.args.map((_, i) => op(g, 'index', ct, at(g, i + 1), at(g, i + 1))),
  },
  {
    name: 'stack_rows',
    surface: 'operator',
    params: ['r1', '...', 'rk'],
    summary: '[r1; ...; rk] or [[...], [...]] of vectors of one length m: the k x m matrix with those rows',
    definability: 'semialgebraic',
    lipschitz: 'globally',
    shape: (args) => {
      const i = args.findIndex((a) => a.kind !== 'real' || a.shape.length !== 1);
      if (i >= 0) return { ok: false, code: 'E0203', arg: i, message: `a row must be a vector, found ${showType(args[i])}` };
      const j = args.findIndex((a) => !sameShape(a.shape, args[0].shape));
      if (j >= 0) return { ok: false, code: 'E0201', arg: j, message: `rows have different lengths: ${showType(args[0])} and ${showType(args[j])}` };
      return { ok: true, type: real([args.length, args[0].shape[0]]) };
    },
    structure: { linear: true },
    interval: (args) => hull(args),
    jvp: (g, node, ts) => (ts.every((t) => t === null) ? null : op(g, 'stack_rows', ...ts.map((t, i) => t ?? g.broadcastTo(g.constant(0), node.args[i])))),
    vjp: (g, node, ct) => node.args.map((_, i) => g.apply('slice_row', [ct, at(g, i + 1), at(g, i + 1), at(g, 1), at(g, END)], {})),
  },
  concat(0),
  concat(1),
  {
    name: 'fill',
    surface: 'function',
    params: ['c', 'n'],
    summary: 'fill(c, n), fill(c, n, m): every entry c (zeros(...) and ones(...) are fill(0, ...) and fill(1, ...))',
    definability: 'semialgebraic',
    lipschitz: 'globally',
    shape: (args, attrs) => {
      if (args[0].kind !== 'real' || !isScalar(args[0].shape)) return { ok: false, code: 'E0208', arg: 0, message: `the value must be a scalar, found ${showType(args[0])}` };
      const bad = positionsScalar(args, 1);
      if (bad) return bad;
      const out: Dim[] = [];
      for (let axis = 0; axis < args.length - 1; axis++) {
        const len = dimAttr(attrs, `len${axis}`);
        if (len === null) return { ok: false, code: 'E0203', arg: axis + 1, message: 'a size must be an integer literal or a dim' };
        out.push(len);
      }
      return { ok: true, type: real(out.length ? out : SCALAR) };
    },
    structure: { linear: true },
    interval: ([c]) => c,
    jvp: (g, node, [dc]) => (dc === null ? null : g.apply('fill', [dc, ...node.args.slice(1)], node.attrs)),
    vjp: (g, node, ct) => [op(g, 'sum', ct), ...node.args.slice(1).map(() => null)],
  },
  {
    name: 'eye',
    surface: 'function',
    params: ['n'],
    summary: 'eye(n): the n x n identity matrix',
    definability: 'semialgebraic',
    lipschitz: 'globally',
    shape: (args, attrs) => {
      const bad = positionsScalar(args, 0);
      if (bad) return bad;
      const len = dimAttr(attrs, 'len0');
      if (len === null) return { ok: false, code: 'E0203', arg: 0, message: 'a size must be an integer literal or a dim' };
      return { ok: true, type: real([len, len]) };
    },
    structure: {},
    interval: () => [0, 1],
    jvp: () => null,
    vjp: (_g, node) => node.args.map(() => null),
  },
];

/** The gather primitive for an index with these kept axes (a vector's one axis: keep0). */
export function gatherFor(rank: number, keep0: boolean, keep1: boolean): Gather {
  if (rank === 1) return keep0 ? 'slice' : 'index';
  return keep0 ? (keep1 ? 'slice' : 'slice_col') : keep1 ? 'slice_row' : 'index';
}

