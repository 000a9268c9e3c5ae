import type { Tensor } from '../tensor.ts';

// Kernels of the group primitives (src/primitives/groups.ts): block soft thresholding, the
// prox of t_+ * sum_G ||v_G||_2 (group Lasso), with t_+ = max(t, 0). Groups are given by labels
// g (one positive integer id per entry of v, `index[p]` in the language). Per group G, with
// n = ||v_G||_2:
//   t < 0:            the identity (t_+ = 0): value v_G, J_v = I, J_t = 0;
//   t >= 0, n > t:    value (1 - t / n) v_G, J_v = (1 - t/n) I + t v_G v_G^T / n^3, J_t = -v_G / n;
//   t >= 0, n <= t:   value 0, J_v = 0, J_t = 0 (a tie n = t takes this piece).
// At t = 0 < n the first branch above the tie (J_t = -v_G / n) is used.

const vector = (data: Float64Array): Tensor => ({ shape: [data.length], data });

/**
 * The group of each entry (0-based) and the number of groups, from labels that are positive
 * integers. Labels are rounded to the nearest integer first (the IR holds them as doubles; a
 * perturbation below 1/2 does not move an entry to another group). Bad labels are rejected at
 * bind time (src/runtime/inputs.ts), so this throw is a safety net.
 */
export function groupsOf(g: Tensor, length: number): { of: Int32Array; count: number } {
  if (g.data.length !== length) throw new Error(`internal error: ${g.data.length} group labels for ${length} entries`);
  const of = new Int32Array(length);
  let count = 0;
  for (let i = 0; i < length; i++) {
    const id = Math.round(g.data[i]);
    if (!(id >= 1 && Number.isFinite(id))) throw new Error(`group label ${g.data[i]} at entry ${i + 1} is not a positive integer`);
    of[i] = id - 1;
    if (id > count) count = id;
  }
  return { of, count };
}

/** ||v_G||_2 for every group (0 for an id that labels no entry). */
export function groupNorms(v: Float64Array, of: Int32Array, count: number): Float64Array {
  const sq = new Float64Array(count);
  for (let i = 0; i < v.length; i++) sq[of[i]] += v[i] * v[i];
  return sq.map(Math.sqrt);
}

/** block_soft_threshold(v, t, g): per group v_G max(0, 1 - t_+ / ||v_G||) (0 where v_G = 0). */
export function blockSoftThreshold(v: Tensor, t: Tensor, g: Tensor): Tensor {
  const tau = t.data[0];
  if (tau < 0) return vector(Float64Array.from(v.data));
  const { of, count } = groupsOf(g, v.data.length);
  const n = groupNorms(v.data, of, count);
  return vector(v.data.map((x, i) => (n[of[i]] > tau ? x * (1 - tau / n[of[i]]) : 0)));
}

/** J_v times dv (symmetric: also the VJP): per group, the pieces in the header. */
export function blockSoftThresholdJvp(v: Tensor, t: Tensor, g: Tensor, dv: Tensor): Tensor {
  const tau = t.data[0];
  if (tau < 0) return vector(Float64Array.from(dv.data));
  const { of, count } = groupsOf(g, v.data.length);
  const n = groupNorms(v.data, of, count);
  const inner = new Float64Array(count);
  for (let i = 0; i < v.data.length; i++) inner[of[i]] += v.data[i] * dv.data[i];
  return vector(
    v.data.map((x, i) => {
      const G = of[i];
      const m = n[G];
      return m > tau ? (1 - tau / m) * dv.data[i] + (tau * x * inner[G]) / (m * m * m) : 0;
    }),
  );
}

/** d/dt: -v_G / ||v_G|| where t >= 0 and ||v_G|| > t, else 0. */
export function blockSoftThresholdDt(v: Tensor, t: Tensor, g: Tensor): Tensor {
  const tau = t.data[0];
  if (tau < 0) return vector(new Float64Array(v.data.length));
  const { of, count } = groupsOf(g, v.data.length);
  const n = groupNorms(v.data, of, count);
  return vector(v.data.map((x, i) => (n[of[i]] > tau ? -x / n[of[i]] : 0)));
}

/**
 * Kink gap, one entry per entry of v: the distance from the switching surfaces of its group,
 * ||v_G|| = t (for t >= 0) and t = 0: t < 0 gives -t, t >= 0 gives min(| ||v_G|| - t |, t).
 * Exactly 0 at a tie.
 */
export function blockSoftThresholdGap(v: Tensor, t: Tensor, g: Tensor): Float64Array {
  const tau = t.data[0];
  if (tau < 0) return new Float64Array(v.data.length).fill(-tau);
  const { of, count } = groupsOf(g, v.data.length);
  const n = groupNorms(v.data, of, count);
  return Float64Array.from(v.data, (_, i) => Math.min(Math.abs(n[of[i]] - tau), tau));
}
