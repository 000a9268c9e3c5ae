import type { Tensor } from '../tensor.ts';

// Value, Jacobian and kink-gap kernels of the non-diagonal projections (MATH.md section 6: the
// conservative Jacobian of a projection is a hull of face projections, each symmetric PSD
// with norm <= 1). Every Jacobian here is symmetric, so one kernel serves JVP and VJP.
// Ties: an entry exactly on the threshold is left out of the support, and a point on the
// boundary of a cone piece uses the piece named at each kernel.

const vector = (data: Float64Array): Tensor => ({ shape: [data.length], data });

/**
 * The threshold tau with sum_i max(v_i - tau, 0) = z, for z >= 0 (Held et al. 1974;
 * Duchi et al. 2008): sort descending, rho = the last j with u_j > (u_1 + ... + u_j - z) / j.
 */
export function simplexThreshold(v: ArrayLike<number>, z: number): number {
  const u = Float64Array.from(v).sort().reverse();
  let cumulative = u[0];
  let tau = u[0] - z;
  for (let j = 1; j < u.length; j++) {
    cumulative += u[j];
    const t = (cumulative - z) / (j + 1);
    if (u[j] > t) tau = t;
  }
  return tau;
}

/** Projection onto the probability simplex {p >= 0, sum p = 1} (sparsemax). */
export function projSimplex(v: Tensor): Tensor {
  const tau = simplexThreshold(v.data, 1);
  return vector(v.data.map((x) => Math.max(x - tau, 0)));
}

/**
 * Sparsemax Jacobian times t: (diag(s) - s s^T / |S|) t with s the support indicator
 * {i : v_i > tau}; an entry with v_i = tau (a tie) is left out (the smaller face).
 */
export function projSimplexJvp(v: Tensor, t: Tensor): Tensor {
  const tau = simplexThreshold(v.data, 1);
  return vector(faceProjection(v.data.map((x) => (x > tau ? 1 : 0)), t.data));
}

/** `t` projected onto {x : x_i = 0 off the support, sum_i signs_i x_i = 0}. */
export function faceProjection(signs: Float64Array, t: Float64Array): Float64Array {
  let count = 0;
  let mean = 0;
  for (let i = 0; i < t.length; i++) {
    if (signs[i] === 0) continue;
    count++;
    mean += signs[i] * t[i];
  }
  mean = count > 0 ? mean / count : 0;
  return signs.map((s, i) => (s === 0 ? 0 : t[i] - s * mean));
}

/** The l1 ball's face: outside the ball, the threshold on |v| and the signed support. */
function l1Face(v: Float64Array, r: number): { tau: number; signs: Float64Array } | null {
  let norm = 0;
  for (const x of v) norm += Math.abs(x);
  if (norm <= r) return null;
  const tau = simplexThreshold(v.map(Math.abs), r);
  return { tau, signs: v.map((x) => (Math.abs(x) > tau ? Math.sign(x) : 0)) };
}

/**
 * Projection onto {p : |p|_1 <= r}: v itself inside the ball, else sign(v) max(|v| - tau, 0)
 * with tau the simplex threshold of |v| at radius r. The ball is empty for r < 0 (NaN).
 */
export function projL1Ball(v: Tensor, r: number): Tensor {
  if (!(r >= 0)) return vector(v.data.map(() => NaN));
  const face = l1Face(v.data, r);
  if (!face) return vector(v.data.slice());
  return vector(v.data.map((x) => Math.sign(x) * Math.max(Math.abs(x) - face.tau, 0)));
}

/**
 * The l1-ball projection's Jacobian (w.r.t. v) times t: the identity inside the ball and on
 * its boundary |v|_1 = r; outside, (diag(s) - (s o sign v)(s o sign v)^T / |S|) t with
 * support S = {i : |v_i| > tau} (ties left out).
 */
export function projL1BallJvp(v: Tensor, r: number, t: Tensor): Tensor {
  const face = l1Face(v.data, r);
  return vector(face ? faceProjection(face.signs, t.data) : t.data.slice());
}

/** The derivative of the l1-ball projection w.r.t. the radius: sign(v_i) / |S| on S, else 0. */
export function projL1BallDr(v: Tensor, r: number): Tensor {
  const face = l1Face(v.data, r);
  if (!face) return vector(new Float64Array(v.data.length));
  const count = face.signs.reduce((n, s) => n + (s === 0 ? 0 : 1), 0);
  return vector(face.signs.map((s) => (count > 0 ? s / count : 0)));
}

/**
 * Per-entry distance from the sparsemax switching surfaces: |v_i - tau|, 0 exactly where an
 * entry ties with the threshold (enters or leaves the support).
 */
export function simplexGap(v: Tensor): Float64Array {
  const tau = simplexThreshold(v.data, 1);
  return v.data.map((x) => Math.abs(x - tau));
}

/**
 * Per-entry distance from the l1 ball's switching surfaces: inside, r - |v|_1 for every
 * entry; outside, min(||v_i| - tau|, |v|_1 - r).
 */
export function l1BallGap(v: Tensor, r: number): Float64Array {
  let norm = 0;
  for (const x of v.data) norm += Math.abs(x);
  const face = l1Face(v.data, r);
  return v.data.map((x) => (face ? Math.min(Math.abs(Math.abs(x) - face.tau), norm - r) : r - norm));
}

/** v = (t, x): t, |x| and x. */
function splitCone(v: Float64Array): { t: number; norm: number; x: Float64Array } {
  const x = v.subarray(1);
  let s = 0;
  for (const xi of x) s += xi * xi;
  return { t: v[0], norm: Math.sqrt(s), x };
}

/**
 * Projection onto the second-order cone {(t, x) : |x| <= t}: v inside, 0 in the polar cone
 * (|x| <= -t), else ((t + |x|) / 2) (1, x / |x|).
 */
export function projSoc(v: Tensor): Tensor {
  const { t, norm, x } = splitCone(v.data);
  if (norm <= t) return vector(v.data.slice());
  if (norm <= -t) return vector(new Float64Array(v.data.length));
  const c = (t + norm) / 2;
  const out = new Float64Array(v.data.length);
  out[0] = c;
  for (let i = 0; i < x.length; i++) out[i + 1] = (c * x[i]) / norm;
  return vector(out);
}

/**
 * The cone projection's Jacobian times d: I strictly inside (|x| < t), 0 on the closed polar
 * cone (|x| <= -t, so 0 at v = 0), and on the rest, the boundary |x| = t > 0 included,
 * (1/2) [[1, w^T], [w, (1 + t/|x|) I - (t/|x|) w w^T]] with w = x / |x|.
 */
export function projSocJvp(v: Tensor, d: Tensor): Tensor {
  const { t, norm, x } = splitCone(v.data);
  if (norm < t) return vector(d.data.slice());
  if (norm <= -t) return vector(new Float64Array(v.data.length));
  const dt = d.data[0];
  let wdx = 0;
  for (let i = 0; i < x.length; i++) wdx += (x[i] / norm) * d.data[i + 1];
  const ratio = t / norm;
  const out = new Float64Array(v.data.length);
  out[0] = (dt + wdx) / 2;
  for (let i = 0; i < x.length; i++) {
    const w = x[i] / norm;
    out[i + 1] = (w * dt + (1 + ratio) * d.data[i + 1] - ratio * w * wdx) / 2;
  }
  return vector(out);
}

/** Distance from the cone's and the polar cone's boundaries, min(| |x| - t |, | |x| + t |), shared by every entry. */
export function socGap(v: Tensor): Float64Array {
  const { t, norm } = splitCone(v.data);
  return new Float64Array(v.data.length).fill(Math.min(Math.abs(norm - t), Math.abs(norm + t)));
}
