import { matvecAt } from '../dot.ts';
import { residentMatTvec, residentMatvec } from '../resident.ts';
import type { Tensor } from '../tensor.ts';

// Dense f64 kernels on row-major Tensors: the value kernels that generated code calls through
// implc/runtime (`K`, values/table.ts) and that the primitive registry's value rules are. A
// tensor whose dims are all 1 is a scalar and broadcasts in elementwise operations.

export function scalar(value: number): Tensor {
  return { shape: [], data: Float64Array.of(value) };
}

export function full(shape: readonly number[], value: number): Tensor {
  return { shape: [...shape], data: new Float64Array(size(shape)).fill(value) };
}

export function size(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * The output shape of an elementwise operation: every shape equal, or a scalar (all dims 1),
 * which repeats. The shape rule's broadcast (src/ir/shape.ts) says the same of shapes with
 * symbolic dims; run-time shapes are concrete, so this is its concrete case, kept here so
 * that the runtime depends on nothing of the compiler.
 */
function broadcastShape(args: readonly Tensor[]): number[] {
  let out: readonly number[] = [];
  for (const a of args) {
    const s = a.shape;
    if (s.every((d) => d === 1)) continue;
    if (out.every((d) => d === 1)) out = s;
    else if (out.length !== s.length || out.some((d, i) => d !== s[i])) {
      throw new Error(`internal error: elementwise arguments of shapes ${args.map((t) => `[${t.shape}]`).join(', ')}`);
    }
  }
  return out as number[];
}

export function map1(a: Tensor, f: (x: number) => number): Tensor {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[i]);
  return { shape: broadcastShape([a]), data: out };
}

export function map2(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastShape([a, b]);
  const out = new Float64Array(size(shape));
  const sa = a.data.length === 1 ? 0 : 1;
  const sb = b.data.length === 1 ? 0 : 1;
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[i * sa], b.data[i * sb]);
  return { shape, data: out };
}

/*
 * The arithmetic of every kernel, one loop each: map2's callback is called from one site for
 * every operator, which V8 cannot inline (a megamorphic call per element: 3 to 5 times slower
 * on 300,000 entries, as in the data-only value step * X').
 */
function binaryShape(a: Tensor, b: Tensor): { shape: number[]; out: Float64Array; sa: number; sb: number } {
  const shape = broadcastShape([a, b]);
  return { shape, out: new Float64Array(size(shape)), sa: a.data.length === 1 ? 0 : 1, sb: b.data.length === 1 ? 0 : 1 };
}

export function addT(a: Tensor, b: Tensor): Tensor {
  const { shape, out, sa, sb } = binaryShape(a, b);
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < out.length; i++) out[i] = x[i * sa] + y[i * sb];
  return { shape, data: out };
}

export function subT(a: Tensor, b: Tensor): Tensor {
  const { shape, out, sa, sb } = binaryShape(a, b);
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < out.length; i++) out[i] = x[i * sa] - y[i * sb];
  return { shape, data: out };
}

export function mulT(a: Tensor, b: Tensor): Tensor {
  const { shape, out, sa, sb } = binaryShape(a, b);
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < out.length; i++) out[i] = x[i * sa] * y[i * sb];
  return { shape, data: out };
}

export function divT(a: Tensor, b: Tensor): Tensor {
  const { shape, out, sa, sb } = binaryShape(a, b);
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < out.length; i++) out[i] = x[i * sa] / y[i * sb];
  return { shape, data: out };
}

export function map3(a: Tensor, b: Tensor, c: Tensor, f: (x: number, y: number, z: number) => number): Tensor {
  const shape = broadcastShape([a, b, c]);
  const out = new Float64Array(size(shape));
  const sa = a.data.length === 1 ? 0 : 1;
  const sb = b.data.length === 1 ? 0 : 1;
  const sc = c.data.length === 1 ? 0 : 1;
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[i * sa], b.data[i * sb], c.data[i * sc]);
  return { shape, data: out };
}

export function sum(a: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i];
  return s;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The dimensions of a b as {@link matmul} reads its operands: a is m x p (a vector [m] is a
 * column, a scalar 1 x 1), b is p x q (a vector [p] is a column, q = 1).
 */
function productDims(a: Tensor, b: Tensor, what: string): { m: number; p: number; q: number } {
  const sa = a.shape;
  const sb = b.shape;
  const m = sa.length === 0 ? 1 : sa[0];
  const p = sa.length === 2 ? sa[1] : 1;
  const q = sb.length === 2 ? sb[1] : 1;
  const rows = sb.length === 0 ? 1 : sb[0];
  if (rows !== p) throw new Error(`internal error: ${what} of [${sa}] and [${sb}]`);
  return { m, p, q };
}

/**
 * Matrix product with the shape rule's conventions (src/primitives/shape-rules.ts `matmul`): a left vector
 * [m] is [m, 1], a right vector [p] is a column whose trailing 1 is dropped, and a result
 * whose dims are all 1 is a scalar.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  // A bound dim of 1 can make an operand collapse to a scalar at run time (X * beta with one
  // row of X): a scalar operand is then read as the [1] vector (or [1, 1] matrix) it stands for.
  // This runs once per matvec of every map evaluation: no closures (V8 compiles the simple
  // form to about half the overhead); productDims is inlined, its object never allocated
  // (the same 0.2 us per 8 x 8 product as with the rule written out here).
  const { m, p, q } = productDims(a, b, 'the matrix product');
  const sb = b.shape;
  const out = new Float64Array(m * q);
  // The loops live in their own small functions, which V8 optimizes better.
  if (q === 1) matvecRows(a.data, b.data, m, p, out);
  else matmulRows(a.data, b.data, m, p, q, out);
  const shape = sb.length === 2 ? (m === 1 && q === 1 ? [] : [m, q]) : m === 1 ? [] : [m];
  return { shape, data: out };
}

/**
 * out[offset ..] += s a b, with a b as {@link matmul} forms it (same shape conventions), added
 * straight into a block of size `size`: an outer product (inner dimension 1, the parameter
 * gradient v z^T of a matrix-vector product) in one pass, without its own m x q array.
 * Generated modules use it to accumulate gradients (`addVjpX`).
 */
export function addProduct(s: number, a: Tensor, b: Tensor, out: Float64Array, offset: number, size: number): void {
  const { m, p, q } = productDims(a, b, 'the product added in place');
  if (m * q !== size) throw new Error(`internal error: addProduct of [${a.shape}] and [${b.shape}] into a block of ${size}`);
  if (p !== 1) {
    const t = matmul(a, b).data;
    for (let i = 0; i < size; i++) out[offset + i] += s * t[i];
    return;
  }
  const x = a.data;
  const z = b.data;
  for (let i = 0; i < m; i++) {
    const xi = s * x[i];
    if (xi === 0) continue;
    for (let j = 0, o = offset + i * q; j < q; j++, o++) out[o] += xi * z[j];
  }
}

/** Below this density of nonzeros in x, A x gathers the columns of x's nonzeros only. */
const SPARSE_DENSITY = 1 / 16;

/**
 * out = A x for A m x p row-major: contiguous dot products, four rows at a time (matvecAt; in
 * WebAssembly for a matrix used many times, resident.ts), or, when x is mostly
 * zeros (a Lasso iterate: X beta with beta on its support), per row a sum over x's nonzeros
 * alone: m nnz multiply-adds instead of m p (a 300 x 1000 design with 15 nonzeros: 4 500
 * instead of 300 000). The sparse form skips the columns where x is 0, so a non-finite entry
 * of A there does not reach the result, where the dense forms give 0 * Inf = NaN (inputs are
 * checked finite when bound, so only a value computed from them could differ).
 */
function matvecRows(A: Float64Array, x: Float64Array, m: number, p: number, out: Float64Array): void {
  let nnz = 0;
  for (let k = 0; k < p; k++) if (x[k] !== 0) nnz++;
  if (p >= 64 && nnz < SPARSE_DENSITY * p) {
    const idx = new Int32Array(nnz);
    for (let k = 0, c = 0; k < p; k++) if (x[k] !== 0) idx[c++] = k;
    for (let i = 0; i < m; i++) {
      const row = i * p;
      let s = 0;
      for (let c = 0; c < nnz; c++) s += A[row + idx[c]] * x[idx[c]];
      out[i] = s;
    }
    return;
  }
  if (residentMatvec(A, m, p, x, out)) return;
  matvecAt(A, m, p, x, 0, out, 0);
}

/** out += A B for A m x p and B p x q, row-major, in i-k-j order (rows of B streamed). */
function matmulRows(A: Float64Array, B: Float64Array, m: number, p: number, q: number, out: Float64Array): void {
  for (let i = 0; i < m; i++) {
    const o = i * q;
    for (let k = 0; k < p; k++) {
      const aik = A[i * p + k];
      if (aik === 0) continue;
      const b0 = k * q;
      for (let j = 0; j < q; j++) out[o + j] += aik * B[b0 + j];
    }
  }
}

/** Transpose: [m, n] -> [n, m]; a vector [n] becomes the row [1, n]; a scalar stays. */
export function transpose(a: Tensor): Tensor {
  return scaledTranspose(1, a);
}

/** s a^T in one pass (a fused `s * X'`: one large allocation where two would be made). */
export function scaledTranspose(s: number, a: Tensor): Tensor {
  if (a.shape.length === 0) return { shape: [], data: Float64Array.of(s * a.data[0]) };
  if (a.shape.length === 1) return { shape: [1, a.shape[0]], data: a.data.map((v) => s * v) };
  const [m, n] = a.shape;
  const out = new Float64Array(m * n);
  const x = a.data;
  // In 32 x 32 tiles, so that both the reads and the writes stay in cache.
  const T = 32;
  for (let i0 = 0; i0 < m; i0 += T) {
    const i1 = Math.min(m, i0 + T);
    for (let j0 = 0; j0 < n; j0 += T) {
      const j1 = Math.min(n, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * m + i] = s * x[i * n + j];
    }
  }
  return { shape: [n, m], data: out };
}

/**
 * s A' v for a matrix A (m x p) and a vector v of m entries, without forming A': out = s sum_i
 * v_i A[i, :], a pass over A's rows. Generated kernels call it for `X' * r` and `s * X' * r`
 * with X fixed: a few products, as a structured solve's checks make, pay no copy; when an
 * iterative solve keeps asking and A is immutable (a bound input, a hoisted value), its
 * products run on A's resident copy in WebAssembly (resident.ts residentMatTvec: M^T u read
 * from the copy of A itself, the one its products A x use too; a transpose of A formed here
 * would have been a second copy of the matrix, 40 MB more at 1000 x 5000). Shapes that
 * collapse (a bound dim of 1) take the plain route: the transpose, then the product.
 */
export function transposedProduct(s: number, A: Tensor, v: Tensor): Tensor {
  if (A.shape.length !== 2 || v.shape.length > 1 || v.data.length !== A.shape[0]) return matmul(scaledTranspose(s, A), v);
  const [m, p] = A.shape;
  const out = new Float64Array(p);
  const shape = p === 1 ? [] : [p];
  if (residentMatTvec(A.data, m, p, v.data, out)) {
    if (s !== 1) for (let j = 0; j < p; j++) out[j] *= s;
    return { shape, data: out };
  }
  const a = A.data;
  const x = v.data;
  if (p <= NARROW_COLUMNS) {
    // A narrow A (diabetes' 10 columns): a dot product per column, two accumulators, its rows
    // all in cache; the row pass below spends its time on 10-entry inner loops (5.9 against
    // 8.4 us at 442 x 10, measured).
    for (let j = 0; j < p; j++) {
      let s0 = 0;
      let s1 = 0;
      let i = 0;
      for (; i + 1 < m; i += 2) {
        s0 += a[i * p + j] * x[i];
        s1 += a[(i + 1) * p + j] * x[i + 1];
      }
      if (i < m) s0 += a[i * p + j] * x[i];
      out[j] = s * (s0 + s1);
    }
    return { shape, data: out };
  }
  for (let i = 0; i < m; i++) {
    const w = s * x[i];
    if (w === 0) continue;
    const row = i * p;
    for (let j = 0; j < p; j++) out[j] += w * a[row + j];
  }
  return { shape, data: out };
}

/** Up to this many columns, transposedProduct reads A by columns (see there). */
const NARROW_COLUMNS = 32;
