/**
 * Generic cone programs as layers, one model per cone family, for test/runtime/cone-program.test.ts.
 *
 * Each states min c'x s.t. A x + s = b, s in K by the Minty form of its KKT conditions
 * (s = proj_cone(v, K), y = s - v) and has the output o = w'x. The block sizes of a cone are
 * dims, and a dim is bound by an input's shape: so b comes in one piece per block (its
 * concatenation is the program's b), and the order k of a psd block, which no vector's length
 * is, is bound by the data `order` (any k-vector; the model does not read its values).
 */

/** K = nonneg[m]: min c'x s.t. A x <= b. */
export const lpModel = `model LpNonneg {
  dim n, m
  param c: real[n]
  param A: real[m, n]
  param b: real[m]
  data w: real[n]
  cone K = nonneg[m]
  unknown x: real[n]
  unknown v: real[m]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    A * x + s = b
    A' * y + c = 0
  }
  output o = w' * x
}`;

/** K = zero[p] * nonneg[q]: p equalities, then q inequalities; written as b - A x - s = 0 and -(A'y) = c, scaled. */
export const lpEqModel = `model LpEqualities {
  dim n, p, q
  param c: real[n]
  param A: real[p + q, n]
  param be: real[p]
  param bi: real[q]
  data w: real[n]
  cone K = zero[p] * nonneg[q]
  unknown x: real[n]
  unknown v: real[p + q]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    [be; bi] - A * x - s = 0
    2 * (A' * s - A' * v) = -2 * c
  }
  output o = w' * x
}`;

/** K = nonneg[q] * soc[r1] * soc[r2]. */
export const socpModel = `model SocpLayer {
  dim n, q, r1, r2
  param c: real[n]
  param A: real[q + r1 + r2, n]
  param bl: real[q]
  param b1: real[r1]
  param b2: real[r2]
  data w: real[n]
  cone K = nonneg[q] * soc[r1] * soc[r2]
  unknown x: real[n]
  unknown v: real[q + r1 + r2]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    A * x + s = [bl; b1; b2]
    A' * y + c = 0
  }
  output o = w' * x
}`;

/** K = zero[p] * psd[k] (length t = p + k(k+1)/2, named: a psd block's length is not a sum of dims). */
export const sdpModel = `model SdpLayer {
  dim n, p, k, t
  param c: real[n]
  param A: real[t, n]
  param be: real[p]
  param bs: real[t - p]
  data w: real[n]
  data order: real[k]
  cone K[t] = zero[p] * psd[k]
  unknown x: real[n]
  unknown v: real[t]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    A * x + s = [be; bs]
    A' * y + c = 0
  }
  output o = w' * x
}`;

/** K = zero[p] * nonneg[q] * soc[r] * psd[k]. */
export const mixedModel = `model MixedCone {
  dim n, p, q, r, k, t
  param c: real[n]
  param A: real[t, n]
  param be: real[p]
  param bl: real[q]
  param bq: real[r]
  param bs: real[t - p - q - r]
  data w: real[n]
  data order: real[k]
  cone K[t] = zero[p] * nonneg[q] * soc[r] * psd[k]
  unknown x: real[n]
  unknown v: real[t]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    A * x + s = [be; bl; bq; bs]
    A' * y + c = 0
  }
  output o = w' * x
}`;

/** K = nonneg[q] * soc[r] (the cone of cone-programs.ts degenerateSoc). */
export const nonnegSocModel = `model NonnegSoc {
  dim n, q, r
  param c: real[n]
  param A: real[q + r, n]
  param bl: real[q]
  param bq: real[r]
  data w: real[n]
  cone K = nonneg[q] * soc[r]
  unknown x: real[n]
  unknown v: real[q + r]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    A * x + s = [bl; bq]
    A' * y + c = 0
  }
  output o = w' * x
}`;

/** K = nonneg[q] * psd[k] (the cone of cone-programs.ts degeneratePsd). */
export const nonnegPsdModel = `model NonnegPsd {
  dim n, q, k, t
  param c: real[n]
  param A: real[t, n]
  param bl: real[q]
  param bs: real[t - q]
  data w: real[n]
  data order: real[k]
  cone K[t] = nonneg[q] * psd[k]
  unknown x: real[n]
  unknown v: real[t]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    A * x + s = [bl; bs]
    A' * y + c = 0
  }
  output o = w' * x
}`;
