import type { Tensor } from '../tensor.ts';

// Value kernels of indexing, slicing, bracket literals and constructors (the registry's
// src/primitives/indexing.ts names them). Positions are 1-based and ranges include both ends,
// as the model files write them (LANGUAGE.md "Indexing"): the kernels receive the positions
// as the model wrote them and convert to offsets here, in one place.
//
// A window is given per axis as (lo, hi), scalar tensors. `hi = -1` (END) means "the last
// position of the axis": the compiler writes it for `:`, so that a whole axis needs no node
// for its size. A user's range always has hi >= lo >= 1 (checked at compile time where the
// positions are literal, and here otherwise), so no user range can mean END.

/** The `hi` written for `:` (the whole axis). */
export const END = -1;

/** 0-based start and length of one axis's window; throws naming the positions and the size when it is out of range. */
function axisWindow(lo: Tensor, hi: Tensor, size: number, axis: number): [number, number] {
  const a = lo.data[0];
  const b = hi.data[0] === END ? size : hi.data[0];
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b > size || b < a) {
    const what = a === b ? `index ${a}` : `range ${a}:${b}`;
    throw new RangeError(`${what} is out of range for axis ${axis + 1} of size ${size} (positions are 1-based, ranges include both ends)`);
  }
  return [a - 1, b - a + 1];
}

/** The entries of x in the window, row-major, with the shape `keep` says (kept axes only). */
function gather(x: Tensor, windows: readonly Tensor[], keep: readonly boolean[]): Tensor {
  if (x.shape.length === 1) {
    const [s, n] = axisWindow(windows[0], windows[1], x.shape[0], 0);
    return { shape: keep[0] ? [n] : [], data: x.data.slice(s, s + n) };
  }
  const cols = x.shape[1];
  const [r0, nr] = axisWindow(windows[0], windows[1], x.shape[0], 0);
  const [c0, nc] = axisWindow(windows[2], windows[3], cols, 1);
  const data = new Float64Array(nr * nc);
  for (let i = 0; i < nr; i++) data.set(x.data.subarray((r0 + i) * cols + c0, (r0 + i) * cols + c0 + nc), i * nc);
  const shape: number[] = [];
  if (keep[0]) shape.push(nr);
  if (keep[1]) shape.push(nc);
  return { shape, data };
}

/** Zeros of like's shape with ct's entries (row-major, any shape of the window's size) in the window. */
function scatter(ct: Tensor, like: Tensor, ...windows: Tensor[]): Tensor {
  const out = new Float64Array(like.data.length);
  if (like.shape.length === 1) {
    const [s, n] = axisWindow(windows[0], windows[1], like.shape[0], 0);
    out.set(ct.data.subarray(0, n), s);
    return { shape: [...like.shape], data: out };
  }
  const cols = like.shape[1];
  const [r0, nr] = axisWindow(windows[0], windows[1], like.shape[0], 0);
  const [c0, nc] = axisWindow(windows[2], windows[3], cols, 1);
  for (let i = 0; i < nr; i++) out.set(ct.data.subarray(i * nc, (i + 1) * nc), (r0 + i) * cols + c0);
  return { shape: [...like.shape], data: out };
}

/** A positive integer size from a scalar (a dim's value or a literal). */
function sizeFrom(t: Tensor, what: string): number {
  const n = t.data[0];
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what}: size ${n} is not a nonnegative integer`);
  return n;
}

export const indexingKernels = {
  /** x[i] or X[i, j]: a scalar. */
  index: (x: Tensor, ...w: Tensor[]): Tensor => gather(x, w, [false, false]),
  /** x[a:b], X[a:b, c:d] (`:` too): every axis kept. */
  slice: (x: Tensor, ...w: Tensor[]): Tensor => gather(x, w, [true, true]),
  /** X[i, c:d] or X[i, :]: a row, as a vector. */
  slice_row: (x: Tensor, ...w: Tensor[]): Tensor => gather(x, w, [false, true]),
  /** X[a:b, j] or X[:, j]: a column, as a vector. */
  slice_col: (x: Tensor, ...w: Tensor[]): Tensor => gather(x, w, [true, false]),
  scatter,
  /** `[e1, ..., ek]` of scalars: a vector. */
  literal_vector: (...entries: Tensor[]): Tensor => ({ shape: [entries.length], data: Float64Array.from(entries, (e) => e.data[0]) }),
  /** `[v1; ...; vk]` of vectors of one length m: the k x m matrix with those rows. */
  stack_rows: (...rows: Tensor[]): Tensor => {
    const m = rows[0].data.length;
    const data = new Float64Array(rows.length * m);
    rows.forEach((r, i) => {
      if (r.data.length !== m) throw new RangeError(`row ${i + 1} has ${r.data.length} entries, row 1 has ${m}`);
      data.set(r.data, i * m);
    });
    return { shape: [rows.length, m], data };
  },
  /** `[a; b]`: vectors end to end, or matrices (one number of columns) one above the other. */
  concat_rows: (...parts: Tensor[]): Tensor => {
    const data = new Float64Array(parts.reduce((k, p) => k + p.data.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p.data, at);
      at += p.data.length;
    }
    const shape = [...parts[0].shape];
    shape[0] = parts.reduce((k, p) => k + p.shape[0], 0);
    return { shape, data };
  },
  /** `[A, B]`: matrices (one number of rows) side by side. */
  concat_cols: (...parts: Tensor[]): Tensor => {
    const rows = parts[0].shape[0];
    const cols = parts.reduce((k, p) => k + p.shape[1], 0);
    const data = new Float64Array(rows * cols);
    let c0 = 0;
    for (const p of parts) {
      const w = p.shape[1];
      if (p.shape[0] !== rows) throw new RangeError(`side by side: ${p.shape[0]} rows and ${rows} rows`);
      for (let i = 0; i < rows; i++) data.set(p.data.subarray(i * w, (i + 1) * w), i * cols + c0);
      c0 += w;
    }
    return { shape: [rows, cols], data };
  },
  /** fill(c, n) and fill(c, n, m): every entry c. */
  fill: (c: Tensor, ...sizes: Tensor[]): Tensor => {
    const shape = sizes.map((s) => sizeFrom(s, 'a size'));
    return { shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(c.data[0]) };
  },
  /** eye(n): the n x n identity. */
  eye: (n: Tensor): Tensor => {
    const k = sizeFrom(n, 'an identity\'s size');
    const data = new Float64Array(k * k);
    for (let i = 0; i < k; i++) data[i * k + i] = 1;
    return { shape: [k, k], data };
  },
};
