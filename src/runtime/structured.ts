/**
 * Structured assembly of B = dF/dy (DESIGN.md "Certification", structured Jacobians): the
 * analysis reads the tangent graph of F back as a linear operator built from identities,
 * scalings, diagonal (kink) factors, matrix products and sums (src/analysis/linop.ts).
 * Generated modules carry that operator as a {@link DenseOp} over numbered leaves (the
 * tensors of its factors and matrices, evaluated at y), and this file turns it into the dense
 * rows and columns of B that a solve or a certificate asks for, without applying the kernels
 * to unit vectors.
 *
 * Cost: for the DEQ's B = I - D W, selecting W's entries and scaling rows, O(|R| |C|) against
 * |C| kernel calls of O(h^2) each; for the Lasso's B = I - D (I - s X^T X) restricted to the
 * support S, X^T X[S, S] from X's columns, O(|S|^2 n) against |S| calls of O(n p) each.
 */
import type { Tensor } from '../primitives/types.ts';
import { dotAt, type Matrix } from './matrix.ts';

/**
 * A linear operator on the unknowns, its leaves numbered: `I` the identity; `scale` by a
 * scalar leaf (or its inverse); `diag` by a vector (or scalar) leaf, row by row; `mm` the
 * product by a matrix leaf; `sum` of signed terms.
 */
export type DenseOp =
  | { k: 'I' }
  | { k: 'scale'; s: number; inv: boolean; of: DenseOp }
  | { k: 'diag'; f: number; of: DenseOp }
  | { k: 'mm'; M: number; of: DenseOp }
  | { k: 'sum'; terms: [1 | -1, DenseOp][] };

/** The rows of the identity, not yet materialized: products select instead of multiplying. */
const IDENTITY = Symbol('identity');
type Value = Matrix | typeof IDENTITY;

/**
 * B[rows, rows] (all of B when `rows` is null) for the operator `op` on unknowns of size n,
 * or null when the leaves do not have the shapes this assembly handles (the caller then
 * assembles column by column through jvpY).
 */
export function assembleStructured(op: DenseOp, leaves: readonly Tensor[], n: number, rows: Int32Array | null): Matrix | null {
  // The columns kept are the rows kept (B[rows, rows]).
  const cols = rows;
  const width = cols ? cols.length : n;
  /** Index of each unknown among the selected columns (-1: not selected). */
  const position = new Int32Array(n).fill(-1);
  for (let b = 0; b < width; b++) position[cols ? cols[b] : b] = b;
  const fail = (): never => {
    throw UNSUPPORTED;
  };

  /** The identity's rows R (output size n) as a dense |R| x |C| matrix. */
  const identityRows = (R: Int32Array | null, size: number): Matrix => {
    if (size !== n) fail();
    const h = R ? R.length : n;
    const out: Matrix = { rows: h, cols: width, data: new Float64Array(h * width) };
    for (let a = 0; a < h; a++) {
      const b = position[R ? R[a] : a];
      if (b >= 0) out.data[a * width + b] = 1;
    }
    return out;
  };
  const dense = (v: Value, R: Int32Array | null, size: number): Matrix => (v === IDENTITY ? identityRows(R, size) : v);

  /** Output size of each operator (rows of its matrix). */
  const sizeOf = (o: DenseOp): number => {
    switch (o.k) {
      case 'I':
        return n;
      case 'scale':
      case 'diag':
        return sizeOf(o.of);
      case 'mm': {
        const M = leaves[o.M];
        return M.shape.length === 2 ? M.shape[0] : fail();
      }
      case 'sum':
        return o.terms.length ? sizeOf(o.terms[0][1]) : fail();
    }
  };

  /** Rows R of o applied to the selected columns of the identity. */
  const evaluate = (o: DenseOp, R: Int32Array | null): Value => {
    switch (o.k) {
      case 'I':
        return IDENTITY;
      case 'scale': {
        const s = leaves[o.s];
        if (s.data.length !== 1) fail();
        const factor = o.inv ? 1 / s.data[0] : s.data[0];
        const v = dense(evaluate(o.of, R), R, sizeOf(o.of));
        return { rows: v.rows, cols: v.cols, data: v.data.map((x) => factor * x) };
      }
      case 'diag': {
        const f = leaves[o.f].data;
        const size = sizeOf(o.of);
        if (f.length !== 1 && f.length !== size) fail();
        const v = dense(evaluate(o.of, R), R, size);
        const out = new Float64Array(v.data.length);
        for (let a = 0; a < v.rows; a++) {
          const d = f.length === 1 ? f[0] : f[R ? R[a] : a];
          if (d === 0) continue;
          for (let b = 0; b < v.cols; b++) out[a * v.cols + b] = d * v.data[a * v.cols + b];
        }
        return { rows: v.rows, cols: v.cols, data: out };
      }
      case 'mm': {
        const M = leaves[o.M];
        if (M.shape.length !== 2) fail();
        const [r, inner] = M.shape;
        if (sizeOf(o.of) !== inner) fail();
        const h = R ? R.length : r;
        const out = new Float64Array(h * width);
        const v = evaluate(o.of, null);
        const Md = M.data;
        if (v === IDENTITY) {
          // M times the selected columns of I: select M's entries.
          for (let a = 0; a < h; a++) {
            const row = (R ? R[a] : a) * inner;
            for (let b = 0; b < width; b++) out[a * width + b] = Md[row + (cols ? cols[b] : b)];
          }
        } else {
          productRows(Md, R, h, inner, v.data, width, out);
        }
        return { rows: h, cols: width, data: out };
      }
      case 'sum': {
        const size = sizeOf(o);
        const h = R ? R.length : size;
        const out = new Float64Array(h * width);
        for (const [sign, term] of o.terms) {
          if (sizeOf(term) !== size) fail();
          const v = evaluate(term, R);
          if (v === IDENTITY) {
            for (let a = 0; a < h; a++) {
              const b = position[R ? R[a] : a];
              if (b >= 0) out[a * width + b] += sign;
            }
          } else {
            for (let i = 0; i < out.length; i++) out[i] += sign * v.data[i];
          }
        }
        return { rows: h, cols: width, data: out };
      }
    }
  };

  try {
    if (sizeOf(op) !== n) return null;
    return dense(evaluate(op, rows), rows, n);
  } catch (e) {
    if (e === UNSUPPORTED) return null;
    throw e;
  }
}

/**
 * out[a, :] = M[R[a], :] V for a < h (R null: the first h rows), M with `inner` columns and V
 * inner x width, all row-major. Dot-product form over a transposed copy of V, with four
 * accumulators: about 2.5x faster in V8 than the axpy form, which loads and stores `out` for
 * every multiply-add.
 */
function productRows(M: Float64Array, R: Int32Array | null, h: number, inner: number, V: Float64Array, width: number, out: Float64Array): void {
  const Vt = new Float64Array(inner * width);
  for (let k = 0; k < inner; k++) for (let b = 0; b < width; b++) Vt[b * inner + k] = V[k * width + b];
  for (let a = 0; a < h; a++) {
    const row = (R ? R[a] : a) * inner;
    for (let b = 0; b < width; b++) out[a * width + b] = dotAt(M, row, Vt, b * inner, inner);
  }
}

const UNSUPPORTED = new Error('structured assembly does not apply');
