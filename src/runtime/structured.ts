/**
 * Structured assembly of B = dF/dy (DESIGN.md "Certification", structured Jacobians): the
 * analysis reads the tangent graph of F back as a linear operator built from identities,
 * scalings, diagonal (kink) factors, matrix products and sums (src/analysis/linop.ts).
 * The analysis hands that operator to codegen as an {@link Operator} over numbered leaves
 * (src/structure/types.ts); generated modules carry it with the leaves' tensors, and this
 * file is the one place that evaluates it: the dense rows and columns of B that a solve or a
 * certificate asks for (without applying the kernels to unit vectors), and its action on a
 * vector (the guards' norm bounds).
 *
 * Cost: for the DEQ's B = I - D W, selecting W's entries and scaling rows, O(|R| |C|) against
 * |C| kernel calls of O(h^2) each; for the Lasso's B = I - D (I - s X^T X) restricted to the
 * support S, X^T X[S, S] from X's columns, O(|S|^2 n) against |S| calls of O(n p) each.
 */
import type { Tensor } from './tensor.ts';
import { dotAt } from './dot.ts';
import { SolverError } from './status.ts';
import type { Matrix } from './matrix.ts';

/**
 * A linear operator on the unknowns, its leaves numbered: `I` the identity; `scale` by a
 * scalar leaf (or its inverse); `diag` by a vector (or scalar) leaf, row by row; `mm` the
 * product by a matrix leaf, `mmT` by its transpose; `sum` of signed terms. The one operator algebra of the compiler's
 * output: B for structured assembly, the guards' sub-operators for their norm bounds.
 */
export type Operator =
  | { k: 'I' }
  | { k: 'scale'; s: number; inv: boolean; of: Operator }
  | { k: 'diag'; f: number; of: Operator }
  | { k: 'mm'; M: number; of: Operator }
  /** The product by a matrix leaf's transpose (X' from X's rows: no transpose is formed). */
  | { k: 'mmT'; M: number; of: Operator }
  | { k: 'sum'; terms: [1 | -1, Operator][] };

/**
 * B[rows, rows] (all of B when `rows` is null) for the operator `op` on unknowns of size n,
 * or null when the leaves do not have the shapes this assembly handles (the caller then
 * assembles column by column through jvpY).
 *
 * Every term is accumulated into one output, scaled on the way down: `coef` the product of
 * the signs and scalar factors above it, `rowScale` that of the diagonal factors (null: all
 * ones). A product of a matrix with the identity then selects and scales M's entries in
 * place; only a product with anything else forms its operand densely.
 */
export function assembleStructured(op: Operator, leaves: readonly Tensor[], n: number, rows: Int32Array | null): Matrix | null {
  // The columns kept are the rows kept (B[rows, rows]).
  const cols = rows;
  const width = cols ? cols.length : n;
  /** Index of each unknown among the selected columns (-1: not selected). */
  const position = new Int32Array(n).fill(-1);
  for (let b = 0; b < width; b++) position[cols ? cols[b] : b] = b;
  const fail = (): never => {
    throw UNSUPPORTED;
  };

  /** Output size of each operator (rows of its matrix). */
  const sizeOf = (o: Operator): number => {
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
      case 'mmT': {
        const M = leaves[o.M];
        return M.shape.length === 2 ? M.shape[1] : fail();
      }
      case 'sum':
        return o.terms.length ? sizeOf(o.terms[0][1]) : fail();
    }
  };

  /** out (h x width) += coef diag(rowScale) (rows R of o, on the selected columns of I). */
  const accumulate = (o: Operator, R: Int32Array | null, h: number, coef: number, rowScale: Float64Array | null, out: Float64Array): void => {
    switch (o.k) {
      case 'I':
        for (let a = 0; a < h; a++) {
          const b = position[R ? R[a] : a];
          if (b >= 0) out[a * width + b] += coef * (rowScale ? rowScale[a] : 1);
        }
        return;
      case 'scale': {
        const s = leaves[o.s];
        if (s.data.length !== 1) fail();
        accumulate(o.of, R, h, coef * (o.inv ? 1 / s.data[0] : s.data[0]), rowScale, out);
        return;
      }
      case 'diag': {
        const f = leaves[o.f].data;
        if (f.length !== 1 && f.length !== sizeOf(o.of)) fail();
        const scaled = new Float64Array(h);
        for (let a = 0; a < h; a++) scaled[a] = (rowScale ? rowScale[a] : 1) * (f.length === 1 ? f[0] : f[R ? R[a] : a]);
        accumulate(o.of, R, h, coef, scaled, out);
        return;
      }
      case 'mm': {
        const M = leaves[o.M];
        if (M.shape.length !== 2) fail();
        const inner = M.shape[1];
        if (sizeOf(o.of) !== inner) fail();
        const Md = M.data;
        if (o.of.k === 'I') {
          // M times the selected columns of I: select M's entries.
          for (let a = 0; a < h; a++) {
            const d = coef * (rowScale ? rowScale[a] : 1);
            if (d === 0) continue;
            const row = (R ? R[a] : a) * inner;
            const o0 = a * width;
            if (cols) for (let b = 0; b < width; b++) out[o0 + b] += d * Md[row + cols[b]];
            else for (let b = 0; b < width; b++) out[o0 + b] += d * Md[row + b];
          }
          return;
        }
        // M times a dense operand (all its rows, the selected columns): rows R of the product.
        const v = new Float64Array(inner * width);
        accumulate(o.of, null, inner, 1, null, v);
        const product = new Float64Array(h * width);
        productRows(Md, R, h, inner, v, width, product);
        for (let a = 0; a < h; a++) {
          const d = coef * (rowScale ? rowScale[a] : 1);
          if (d === 0) continue;
          for (let b = 0, q = a * width; b < width; b++, q++) out[q] += d * product[q];
        }
        return;
      }
      case 'mmT': {
        // Rows R of M' times the operand: columns R of M, read in place.
        const M = leaves[o.M];
        if (M.shape.length !== 2) fail();
        const [inner, mCols] = M.shape;
        if (sizeOf(o.of) !== inner) fail();
        const Md = M.data;
        if (o.of.k === 'I') {
          for (let a = 0; a < h; a++) {
            const d = coef * (rowScale ? rowScale[a] : 1);
            if (d === 0) continue;
            const col = R ? R[a] : a;
            const o0 = a * width;
            for (let b = 0; b < width; b++) out[o0 + b] += d * Md[(cols ? cols[b] : b) * mCols + col];
          }
          return;
        }
        const v = new Float64Array(inner * width);
        accumulate(o.of, null, inner, 1, null, v);
        // out[a, :] += d_a sum_k M[k, R[a]] V[k, :]: a pass over the rows of M.
        const d = new Float64Array(h);
        for (let a = 0; a < h; a++) d[a] = coef * (rowScale ? rowScale[a] : 1);
        for (let k = 0; k < inner; k++) {
          const row = k * mCols;
          const vk = k * width;
          for (let a = 0; a < h; a++) {
            const m = d[a] * Md[row + (R ? R[a] : a)];
            if (m === 0) continue;
            for (let b = 0, q = a * width; b < width; b++, q++) out[q] += m * v[vk + b];
          }
        }
        return;
      }
      case 'sum':
        for (const [sign, term] of o.terms) {
          if (sizeOf(term) !== sizeOf(o)) fail();
          accumulate(term, R, h, sign * coef, rowScale, out);
        }
        return;
    }
  };

  try {
    if (sizeOf(op) !== n) return null;
    const h = rows ? rows.length : n;
    const out = new Float64Array(h * width);
    accumulate(op, rows, h, 1, null, out);
    return { rows: h, cols: width, data: out };
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

/**
 * op v for a vector (or any tensor whose size the operator maps) v: the guards' norm bounds
 * apply sub-operators of T_y this way (operatorNormUpper). Leaves as for assembleStructured.
 */
export function applyOperator(op: Operator, leaves: readonly Tensor[], v: Float64Array): Float64Array {
  switch (op.k) {
    case 'I':
      return v.slice();
    case 'scale': {
      const s = leaves[op.s].data;
      if (s.length !== 1) throw new SolverError('dimension-mismatch', `applyOperator: a scale leaf of ${s.length} entries`);
      const out = applyOperator(op.of, leaves, v);
      const f = op.inv ? 1 / s[0] : s[0];
      for (let i = 0; i < out.length; i++) out[i] *= f;
      return out;
    }
    case 'diag': {
      const f = leaves[op.f].data;
      const out = applyOperator(op.of, leaves, v);
      if (f.length !== 1 && f.length !== out.length) throw new SolverError('dimension-mismatch', `applyOperator: a diagonal of ${f.length} entries on a vector of ${out.length}`);
      for (let i = 0; i < out.length; i++) out[i] *= f.length === 1 ? f[0] : f[i];
      return out;
    }
    case 'mm': {
      const M = leaves[op.M];
      const x = applyOperator(op.of, leaves, v);
      if (M.shape.length !== 2 || M.shape[1] !== x.length) throw new SolverError('dimension-mismatch', `applyOperator: a [${M.shape}] matrix on a vector of ${x.length}`);
      const [rows, inner] = M.shape;
      const out = new Float64Array(rows);
      for (let r = 0; r < rows; r++) out[r] = dotAt(M.data, r * inner, x, 0, inner);
      return out;
    }
    case 'mmT': {
      const M = leaves[op.M];
      const x = applyOperator(op.of, leaves, v);
      if (M.shape.length !== 2 || M.shape[0] !== x.length) throw new SolverError('dimension-mismatch', `applyOperator: the transpose of a [${M.shape}] matrix on a vector of ${x.length}`);
      const [rows, cols] = M.shape;
      const out = new Float64Array(cols);
      for (let r = 0; r < rows; r++) {
        const w = x[r];
        if (w === 0) continue;
        for (let c = 0; c < cols; c++) out[c] += w * M.data[r * cols + c];
      }
      return out;
    }
    case 'sum': {
      let out: Float64Array | null = null;
      for (const [sign, term] of op.terms) {
        const t = applyOperator(term, leaves, v);
        if (out === null) out = sign === 1 ? t : t.map((x) => -x);
        else {
          if (t.length !== out.length) throw new SolverError('dimension-mismatch', 'applyOperator: terms of different sizes');
          for (let i = 0; i < t.length; i++) out[i] += sign * t[i];
        }
      }
      return out ?? new Float64Array(v.length);
    }
  }
}
