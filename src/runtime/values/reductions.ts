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
