// The inner loop of every dense product here, in a module of its own so that matrix.ts and
// products.ts (which import each other's users) both read it without an import cycle.

/**
 * sum_l a[ai + l] b[bi + l] for l < len, with four accumulators: independent add chains,
 * which V8 (it does not vectorize) runs about 1.3x faster than one. The inner loop of every
 * dense product here.
 */
export function dotAt(a: Float64Array, ai: number, b: Float64Array, bi: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let l = 0;
  for (; l + 3 < len; l += 4) {
    s0 += a[ai + l] * b[bi + l];
    s1 += a[ai + l + 1] * b[bi + l + 1];
    s2 += a[ai + l + 2] * b[bi + l + 2];
    s3 += a[ai + l + 3] * b[bi + l + 3];
  }
  for (; l < len; l++) s0 += a[ai + l] * b[bi + l];
  return s0 + s1 + (s2 + s3);
}

/**
 * out[oi + r] = A[r, :] . x[xi .. xi + p) for the m rows of the row-major m x p matrix A:
 * four rows at a time, each x entry loaded once for four rows, eight independent add chains
 * (1.2x to 2.2x the speed of a dotAt per row, measured at 1000 x 300, 1000 x 100 and
 * 442 x 10). The matrix-vector product of the generated kernels and of productsNT's odd
 * vector. Each row's sum pairs the even and the odd terms, as the f64x2 lanes of kernels.wat
 * `products` do: the two give the same sums, bit for bit.
 */
export function matvecAt(A: Float64Array, m: number, p: number, x: Float64Array, xi: number, out: Float64Array, oi: number): void {
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const r0 = i * p;
    const r1 = r0 + p;
    const r2 = r1 + p;
    const r3 = r2 + p;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    let k = 0;
    for (; k + 1 < p; k += 2) {
      const a = x[xi + k];
      const b = x[xi + k + 1];
      s0 += A[r0 + k] * a;
      t0 += A[r0 + k + 1] * b;
      s1 += A[r1 + k] * a;
      t1 += A[r1 + k + 1] * b;
      s2 += A[r2 + k] * a;
      t2 += A[r2 + k + 1] * b;
      s3 += A[r3 + k] * a;
      t3 += A[r3 + k + 1] * b;
    }
    if (k < p) {
      const a = x[xi + k];
      s0 += A[r0 + k] * a;
      s1 += A[r1 + k] * a;
      s2 += A[r2 + k] * a;
      s3 += A[r3 + k] * a;
    }
    out[oi + i] = s0 + t0;
    out[oi + i + 1] = s1 + t1;
    out[oi + i + 2] = s2 + t2;
    out[oi + i + 3] = s3 + t3;
  }
  // The last rows with the same pairing of even and odd terms (so the sums are those of
  // kernels.wat `products`, bit for bit: resident.ts relies on it).
  for (; i < m; i++) {
    const r = i * p;
    let s = 0;
    let t = 0;
    let k = 0;
    for (; k + 1 < p; k += 2) {
      s += A[r + k] * x[xi + k];
      t += A[r + k + 1] * x[xi + k + 1];
    }
    if (k < p) s += A[r + k] * x[xi + k];
    out[oi + i] = s + t;
  }
}
