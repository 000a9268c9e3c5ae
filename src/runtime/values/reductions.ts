import { opnorm2 } from '../matrix.ts';
import type { Tensor } from '../tensor.ts';
import { dot, scalar, sum } from './tensor.ts';

// Reductions to a scalar and norms, the selected gradients of the norms whose kinks are not
// diagonal, and the distances of those kinks from their switching surfaces.

/** |a|_2 scaled by the largest magnitude first, so that squares neither overflow nor underflow. */
function euclidean(data: Float64Array): number {
  let scale = 0;
  for (const x of data) scale = Math.max(scale, Math.abs(x));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (const x of data) s += (x / scale) ** 2;
  return scale * Math.sqrt(s);
}

/** Index of the first entry of largest magnitude. */
function argmaxAbs(data: Float64Array): number {
  let k = 0;
  for (let i = 1; i < data.length; i++) if (Math.abs(data[i]) > Math.abs(data[k])) k = i;
  return k;
}

export const sumOf = (a: Tensor): Tensor => scalar(sum(a));
export const meanOf = (a: Tensor): Tensor => scalar(sum(a) / a.data.length);
export const dotOf = (a: Tensor, b: Tensor): Tensor => scalar(dot(a.data, b.data));
export const sumsq = (a: Tensor): Tensor => scalar(dot(a.data, a.data));
export const norm1 = (a: Tensor): Tensor => scalar(a.data.reduce((s, x) => s + Math.abs(x), 0));
export const norm2 = (a: Tensor): Tensor => scalar(euclidean(a.data));
export const norminf = (a: Tensor): Tensor => scalar(a.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0));

/**
 * The spectral norm by the runtime's power iteration (matrix.ts opnorm2: relative accuracy
 * 1e-10 on sigma^2, approached from below; opnorm2Upper gives certified bounds). A vector is
 * a column.
 */
export const opnorm = (a: Tensor): Tensor => scalar(opnorm2({ rows: a.shape[0], cols: a.shape[1] ?? 1, data: a.data }));

/** The selected gradient of norm2: a / |a|_2, and 0 at a = 0 (the tie). */
export function norm2Grad(a: Tensor): Tensor {
  const n = euclidean(a.data);
  return { shape: [...a.shape], data: a.data.map((x) => (n === 0 ? 0 : x / n)) };
}

/** The selected gradient of norminf: sign(a_k) e_k, k the first entry of largest |a_k|. */
export function norminfGrad(a: Tensor): Tensor {
  const out = new Float64Array(a.data.length);
  const k = argmaxAbs(a.data);
  out[k] = Math.sign(a.data[k]);
  return { shape: [...a.shape], data: out };
}

/** norm2's distance from its kink a = 0: |a|_2, one entry. */
export const norm2Gap = (a: Tensor): Float64Array => Float64Array.of(euclidean(a.data));

/** norminf's distance from a tie: the largest |a_i| minus the runner-up (0 for a single entry), one entry. */
export function norminfGap(a: Tensor): Float64Array {
  const magnitudes = a.data.map(Math.abs).sort().reverse();
  return Float64Array.of(magnitudes[0] - (magnitudes[1] ?? 0));
}

/**
 * The largest entry of `data` and the index of the first one, or NaN (index -1) when an entry
 * is NaN. An empty array has largest entry -Infinity.
 */
function largest(data: Float64Array): { max: number; at: number } {
  let max = -Infinity;
  let at = -1;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (Number.isNaN(x)) return { max: NaN, at: -1 };
    if (at < 0 || x > max) {
      max = x;
      at = i;
    }
  }
  return { max, at };
}

/**
 * log(sum_i exp(a_i)) over every entry, shifted by the largest entry m so that no exp
 * overflows: m + log1p(sum_{i != k} exp(a_i - m)), k the first largest entry (its own term
 * exp(0) = 1 is the 1 of log1p, so the result is >= m exactly, in floating point too).
 * All entries -Infinity (or none): -Infinity; an entry +Infinity: +Infinity; a NaN: NaN.
 */
export function logsumexp(a: Tensor): Tensor {
  const { max, at } = largest(a.data);
  if (!Number.isFinite(max)) return scalar(max);
  let rest = 0;
  for (let i = 0; i < a.data.length; i++) if (i !== at) rest += Math.exp(a.data[i] - max);
  return scalar(max + Math.log1p(rest));
}

/**
 * softmax over every entry, laid out with a's shape: exp(a_i - m) / sum_j exp(a_j - m), m the
 * largest entry (each term is at most 1 and the sum at least 1: no overflow, no 0 / 0). It is
 * the gradient of {@link logsumexp}. An entry +Infinity, or all -Infinity: NaN entries.
 */
export function softmax(a: Tensor): Tensor {
  const { max } = largest(a.data);
  const e = a.data.map((x) => Math.exp(x - max));
  let total = 0;
  for (const x of e) total += x;
  return { shape: [...a.shape], data: e.map((x) => x / total) };
}

/**
 * softmax's Jacobian at a times t: (diag(s) - s s^T) t = s .* (t - <s, t>), s = softmax(a).
 * Symmetric (it is the Hessian of logsumexp), so it is also the VJP.
 */
export function softmaxJvp(a: Tensor, t: Tensor): Tensor {
  const s = softmax(a).data;
  const st = dot(s, t.data);
  return { shape: [...a.shape], data: s.map((x, i) => x * (t.data[i] - st)) };
}

// Reductions along one axis of a matrix, row by row (src/primitives/reductions.ts: the
// checker writes `f(X, 2)` as `f_rows(X)` and `f(X, 1)` as `f_rows(X')`), and the largest and
// smallest entry (`maxof`, `minof`) of a whole array. A matrix [n, m] is row-major: row i is
// data[i m, (i + 1) m). Each row kernel applies the whole-array kernel of the same reduction to
// every row, so a row's value, selected gradient and gap are exactly the whole-array ones.

/** Rows of a matrix [n, m] (a vector [m] is one row), as views. */
function rowsOf(a: Tensor): Float64Array[] {
  const n = a.shape.length === 2 ? Number(a.shape[0]) : 1;
  const m = n === 0 ? 0 : a.data.length / n;
  return Array.from({ length: n }, (_, i) => a.data.subarray(i * m, (i + 1) * m));
}

/** One number per row: [n]. */
const perRow = (f: (row: Float64Array) => number) => (a: Tensor): Tensor => {
  const rows = rowsOf(a);
  return { shape: [rows.length], data: Float64Array.from(rows, f) };
};

/** One row of a's shape per row: f writes the row's result into `out`. */
const rowwise = (f: (row: Float64Array, out: Float64Array) => void) => (a: Tensor): Tensor => {
  const out = new Float64Array(a.data.length);
  const m = rowsOf(a)[0]?.length ?? 0;
  rowsOf(a).forEach((row, i) => f(row, out.subarray(i * m, (i + 1) * m)));
  return { shape: [...a.shape], data: out };
};

/** One gap per row: [n] entries. */
const gapPerRow = (f: (row: Float64Array) => number) => (a: Tensor): Float64Array => Float64Array.from(rowsOf(a), f);

const rowSum = (row: Float64Array): number => row.reduce((s, x) => s + x, 0);
const rowMax = (row: Float64Array): number => row.reduce((m, x) => Math.max(m, x), -Infinity);
const rowMin = (row: Float64Array): number => row.reduce((m, x) => Math.min(m, x), Infinity);

/** Index of the first largest (sign 1) or smallest (sign -1) entry; 0 for an empty row. */
function argExtreme(row: Float64Array, sign: 1 | -1): number {
  let k = 0;
  for (let i = 1; i < row.length; i++) if (sign * row[i] > sign * row[k]) k = i;
  return k;
}

/**
 * The distance of the largest (sign 1) or smallest (sign -1) entry from the runner-up: 0
 * exactly at a tie between entries; +Infinity for a single entry (no tie possible).
 */
function extremeGap(row: Float64Array, sign: 1 | -1): number {
  if (row.length < 2) return Infinity;
  const sorted = Array.from(row, (x) => sign * x).sort((x, y) => y - x);
  return sorted[0] - sorted[1];
}

/** norminf's gap of one row (as norminfGap). */
const norminfRowGap = (row: Float64Array): number => {
  const magnitudes = Array.from(row, Math.abs).sort((x, y) => y - x);
  return magnitudes[0] - (magnitudes[1] ?? 0);
};

export const sumRows = perRow(rowSum);
export const meanRows = perRow((row) => rowSum(row) / row.length);
export const sumsqRows = perRow((row) => dot(row, row));
export const norm1Rows = perRow((row) => row.reduce((s, x) => s + Math.abs(x), 0));
export const norm2Rows = perRow(euclidean);
export const norminfRows = perRow((row) => row.reduce((m, x) => Math.max(m, Math.abs(x)), 0));
export const maxofRows = perRow(rowMax);
export const minofRows = perRow(rowMin);
export const maxof = (a: Tensor): Tensor => scalar(rowMax(a.data));
export const minof = (a: Tensor): Tensor => scalar(rowMin(a.data));

/** norm2_rows' selected gradient: each row divided by its norm, a zero row 0 (norm2Grad per row). */
export const norm2RowsGrad = rowwise((row, out) => {
  const n = euclidean(row);
  for (let j = 0; j < row.length; j++) out[j] = n === 0 ? 0 : row[j] / n;
});

/** norminf_rows' selected gradient: per row sign(a_k) e_k, k its first entry of largest |a_k| (norminfGrad per row). */
export const norminfRowsGrad = rowwise((row, out) => {
  const k = argmaxAbs(row);
  if (row.length) out[k] = Math.sign(row[k]);
});

/** maxof's (minof's) selected gradient: e_k, k the first largest (smallest) entry. */
const extremeGrad = (sign: 1 | -1) => (a: Tensor): Tensor => {
  const out = new Float64Array(a.data.length);
  if (a.data.length) out[argExtreme(a.data, sign)] = 1;
  return { shape: [...a.shape], data: out };
};
export const maxofGrad = extremeGrad(1);
export const minofGrad = extremeGrad(-1);
export const maxofRowsGrad = rowwise((row, out) => {
  if (row.length) out[argExtreme(row, 1)] = 1;
});
export const minofRowsGrad = rowwise((row, out) => {
  if (row.length) out[argExtreme(row, -1)] = 1;
});

/** spread_rows(c, like): like's shape [n, m], entry (i, j) = c_i (the transpose of sum_rows). */
export function spreadRows(c: Tensor, like: Tensor): Tensor {
  const out = new Float64Array(like.data.length);
  const m = c.data.length === 0 ? 0 : like.data.length / c.data.length;
  for (let i = 0; i < c.data.length; i++) out.fill(c.data[i], i * m, (i + 1) * m);
  return { shape: [...like.shape], data: out };
}

/** Gaps, one entry per row (per kink variable): norm2 and norminf of each row, and the extremes' ties. */
export const norm2RowsGap = gapPerRow(euclidean);
export const norminfRowsGap = gapPerRow(norminfRowGap);
export const maxofGap = (a: Tensor): Float64Array => Float64Array.of(extremeGap(a.data, 1));
export const minofGap = (a: Tensor): Float64Array => Float64Array.of(extremeGap(a.data, -1));
export const maxofRowsGap = gapPerRow((row) => extremeGap(row, 1));
export const minofRowsGap = gapPerRow((row) => extremeGap(row, -1));
