import type { Tensor } from '../tensor.ts';
import { pointwise } from './elementwise.ts';

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

// ---------------------------------------------------------------------------------------
// The l2 ball, the l-infinity ball and the PSD cone (MATH.md section 6). Each Jacobian piece
// below is symmetric with spectrum in [0, 1], as a projection onto a closed convex set's is.

function norm2Of(v: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < v.length; i++) scale = Math.max(scale, Math.abs(v[i]));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] / scale) ** 2;
  return scale * Math.sqrt(s);
}

/**
 * Projection onto {x : |x|_2 <= r}: v itself in the closed ball, else (r / |v|) v. The ball
 * is empty for r < 0 (NaN).
 */
export function projL2Ball(v: Tensor, r: number): Tensor {
  if (!(r >= 0)) return vector(v.data.map(() => NaN));
  const norm = norm2Of(v.data);
  if (norm <= r) return vector(v.data.slice());
  const c = r / norm;
  return vector(v.data.map((x) => c * x));
}

/**
 * The l2-ball projection's Jacobian (w.r.t. v) times t: the identity in the closed ball
 * (|v| <= r, the boundary |v| = r included: the inside piece is the element used at the
 * kink); outside, (r / |v|) (I - u u^T) t with u = v / |v|. Both symmetric, spectra {1} and
 * {0, r / |v|} in [0, 1].
 */
export function projL2BallJvp(v: Tensor, r: number, t: Tensor): Tensor {
  const norm = norm2Of(v.data);
  if (!(norm > r)) return vector(t.data.slice());
  const c = r / norm;
  let ut = 0;
  for (let i = 0; i < v.data.length; i++) ut += (v.data[i] / norm) * t.data[i];
  return vector(t.data.map((ti, i) => c * (ti - (v.data[i] / norm) * ut)));
}

/** The derivative of the l2-ball projection w.r.t. the radius: u = v / |v| outside the ball, 0 in the closed ball. */
export function projL2BallDr(v: Tensor, r: number): Tensor {
  const norm = norm2Of(v.data);
  if (!(norm > r)) return vector(new Float64Array(v.data.length));
  return vector(v.data.map((x) => x / norm));
}

/** Distance from the ball's boundary, | |v|_2 - r |, shared by every entry. */
export function l2BallGap(v: Tensor, r: number): Float64Array {
  return new Float64Array(v.data.length).fill(Math.abs(norm2Of(v.data) - r));
}

/**
 * Projection onto {x : |x|_inf <= r}: clip(v, -r, r) entrywise. For r < 0 (an empty ball) the
 * value is clip's with lo > hi, r everywhere, as the generated batched kernels compute it.
 */
export const projLinfBall = pointwise((v, r) => Math.min(Math.max(v, -r), r));

/** Its diagonal kink factor: 1 strictly inside (-r, r), 0 at a bound (a tie) and beyond. */
export const projLinfBallD = pointwise((v, r) => (-r < v && v < r ? 1 : 0));

/** Per entry, the distance from the bounds: min(|v - r|, |v + r|). */
export function linfBallGap(v: Tensor, r: Tensor): Float64Array {
  return pointwise((x, s) => Math.min(Math.abs(x - s), Math.abs(x + s)))(v, r).data;
}

/**
 * Eigendecomposition of a symmetric n x n matrix (row-major; the caller symmetrizes) by the cyclic Jacobi method in f64 (Golub & Van
 * Loan, Algorithm 8.5.3): A = Q diag(values) Q^T with Q orthogonal, Q[i * n + k] the i-th
 * entry of the k-th eigenvector. Rotations stop when every off-diagonal entry is below
 * 1e-18 |A|_F (it then moves the eigenvalues by less than rounding does). A diagonal A
 * takes no rotation, so its eigenvalues are its diagonal exactly.
 */
export function symmetricEigen(S: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(S);
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  let frob = 0;
  for (const x of A) frob += x * x;
  const small = 1e-18 * Math.sqrt(frob);
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (!(Math.abs(apq) > small)) continue;
        rotated = true;
        const tau = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A <- J^T A J, Q <- Q J with J the rotation (J_pp = J_qq = c, J_pq = s, J_qp = -s).
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const qkp = Q[k * n + p];
          const qkq = Q[k * n + q];
          Q[k * n + p] = c * qkp - s * qkq;
          Q[k * n + q] = s * qkp + c * qkq;
        }
      }
    }
    if (!rotated) break;
  }
  const values = new Float64Array(n);
  for (let k = 0; k < n; k++) values[k] = A[k * n + k];
  return { values, vectors: Q };
}

/** (S + S^T) / 2 of a square matrix. */
function symmetrized(S: Tensor): { A: Float64Array; n: number } {
  const n = S.shape[0];
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = (S.data[i * n + j] + S.data[j * n + i]) / 2;
  return { A, n };
}

/** Q W Q^T for a symmetric W, built exactly symmetric (the upper triangle, mirrored). */
function conjugate(Q: Float64Array, W: Float64Array, n: number): Float64Array {
  const QW = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const q = Q[i * n + k];
      if (q === 0) continue;
      for (let j = 0; j < n; j++) QW[i * n + j] += q * W[k * n + j];
    }
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += QW[i * n + k] * Q[j * n + k];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/**
 * Projection onto the PSD cone in the Frobenius norm of the symmetric part of S:
 * sym(S) = Q diag(l) Q^T, P = Q diag(max(l, 0)) Q^T (exactly symmetric as computed).
 */
export function projPsd(S: Tensor): Tensor {
  const { A, n } = symmetrized(S);
  const { values, vectors } = symmetricEigen(A, n);
  const D = new Float64Array(n * n);
  for (let k = 0; k < n; k++) D[k * n + k] = Math.max(values[k], 0);
  return { shape: [n, n], data: conjugate(vectors, D, n) };
}

/**
 * The divided differences of f = max(., 0) at the eigenvalues, the Daleckii-Krein weights:
 * Gamma_ij = (f(l_i) - f(l_j)) / (l_i - l_j) for l_i != l_j, f'(l_i) for l_i = l_j, with
 * f'(l) = 1 for l > 0 and 0 for l <= 0 (f'(0) = 0: relu's element at its kink). By signs,
 * with no cancellation: 1 when both are > 0, 0 when both are <= 0, and l_+ / (l_+ - l_-)
 * (in (0, 1]) for l_+ > 0 >= l_-, which is the divided difference itself (f(0) = 0 makes
 * it 1 at l_- = 0, its limit). Every entry lies in [0, 1].
 */
export function psdWeights(values: Float64Array): Float64Array {
  const n = values.length;
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = values[i];
      const b = values[j];
      G[i * n + j] = a > 0 && b > 0 ? 1 : a <= 0 && b <= 0 ? 0 : a > 0 ? a / (a - b) : b / (b - a);
    }
  }
  return G;
}

/**
 * The PSD projection's Jacobian times T (Daleckii-Krein): with sym(S) = Q diag(l) Q^T,
 * dP = Q (Gamma .* (Q^T sym(T) Q)) Q^T, Gamma from {@link psdWeights}. The map
 * T -> Q (Gamma .* (Q^T T Q)) Q^T is self-adjoint in the Frobenius inner product with
 * eigenvalues Gamma_ij (eigenvectors q_i q_j^T) and commutes with transposition, so with sym
 * it is symmetric with spectrum in [0, 1]: one kernel serves the JVP and the VJP.
 */
export function projPsdJvp(S: Tensor, T: Tensor): Tensor {
  const { A, n } = symmetrized(S);
  const { values, vectors: Q } = symmetricEigen(A, n);
  const G = psdWeights(values);
  const Ts = symmetrized(T).A;
  // W = Q^T Ts Q, then Gamma .* W.
  const TQ = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const t = Ts[i * n + k];
    if (t === 0) continue;
    for (let j = 0; j < n; j++) TQ[i * n + j] += t * Q[k * n + j];
  }
  const W = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q[k * n + i] * TQ[k * n + j];
      W[i * n + j] = G[i * n + j] * s;
      W[j * n + i] = W[i * n + j];
    }
  }
  return { shape: [n, n], data: conjugate(Q, W, n) };
}

/** Distance from the switching surface (a zero eigenvalue of sym(S)): min_i |l_i|, shared by every entry. */
export function psdGap(S: Tensor): Float64Array {
  const { A, n } = symmetrized(S);
  const { values } = symmetricEigen(A, n);
  let gap = Infinity;
  for (const l of values) gap = Math.min(gap, Math.abs(l));
  return new Float64Array(n * n).fill(n === 0 ? Infinity : gap);
}
