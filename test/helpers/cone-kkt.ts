/**
 * Derivatives of a cone program's solution by differentiating its KKT conditions, written
 * apart from src/runtime (own dense elimination) so tests can hold the compiler's conic layers
 * against it. Form and storage as in cone-programs.ts.
 *
 * KKT map: F(x, y, s) = (A'y + c, A x + s - b, s o y), with o the Jordan product per block:
 * zero blocks contribute s itself (s = 0, y free), nonneg s_i y_i, soc arw(y) s = (y's,
 * y0 s1 + s0 y1), psd svec((SY + YS)/2). F is quadratic, and at a strictly complementary,
 * nondegenerate solution its Jacobian in z = (x, y, s),
 *
 *     M = [[0, A', 0], [A, 0, I], [0, D_y, D_s]],   D_y = d(s o y)/dy,  D_s = d(s o y)/ds,
 *
 * (nonneg: diag(s), diag(y); soc: arw(s), arw(y); psd: the symmetrized products E -> (SE + ES)/2,
 * E -> (YE + EY)/2 in svec coordinates; zero: 0, I) is invertible, and by the implicit function
 * theorem M dz = (-dc - dA'y, db - dA x, 0). For L = w'x the adjoint lambda = M^-T (w, 0, 0)
 * gives grad_c = -lambda_1, grad_b = lambda_2, grad_A = -(y lambda_1' + lambda_2 x').
 * At a degenerate solution (a tie, an soc pair at 0, a shared zero eigenvalue) the rows of
 * s o y lose rank and M is singular: kktSingular.
 */
import { blockRanges, smat, svec, type ConeProblem, type ConeSolution } from './cone-programs.ts';

/** PA = LU with partial pivoting of an N x N row-major matrix (a copy); throws on an exact zero pivot. */
export function luFactor(M: Float64Array, N: number): { lu: Float64Array; perm: Int32Array; N: number } {
  const lu = Float64Array.from(M);
  const perm = Int32Array.from({ length: N }, (_, i) => i);
  for (let k = 0; k < N; k++) {
    let p = k;
    for (let i = k + 1; i < N; i++) if (Math.abs(lu[i * N + k]) > Math.abs(lu[p * N + k])) p = i;
    if (lu[p * N + k] === 0) throw new Error(`singular matrix at column ${k}`);
    if (p !== k) {
      for (let j = 0; j < N; j++) [lu[k * N + j], lu[p * N + j]] = [lu[p * N + j], lu[k * N + j]];
      [perm[k], perm[p]] = [perm[p], perm[k]];
    }
    const pivot = lu[k * N + k];
    for (let i = k + 1; i < N; i++) {
      const f = (lu[i * N + k] /= pivot);
      if (f !== 0) for (let j = k + 1; j < N; j++) lu[i * N + j] -= f * lu[k * N + j];
    }
  }
  return { lu, perm, N };
}

/** Solve M v = rhs from luFactor's factors. */
export function luSolve(f: { lu: Float64Array; perm: Int32Array; N: number }, rhs: ArrayLike<number>): Float64Array {
  const { lu, perm, N } = f;
  const v = Float64Array.from({ length: N }, (_, i) => rhs[perm[i]]);
  for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) v[i] -= lu[i * N + j] * v[j];
  for (let i = N - 1; i >= 0; i--) {
    for (let j = i + 1; j < N; j++) v[i] -= lu[i * N + j] * v[j];
    v[i] /= lu[i * N + i];
  }
  return v;
}

export function solveDense(M: Float64Array, N: number, rhs: ArrayLike<number>): Float64Array {
  return luSolve(luFactor(M, N), rhs);
}

/**
 * Numerical rank of a rows x cols row-major matrix by elimination with complete pivoting:
 * pivots above tol times the largest entry count. Complete pivoting makes the pivots track
 * the singular values closely enough for a rank test; partial pivoting does not.
 */
export function numericalRank(M: Float64Array, rows: number, cols: number, tol = 1e-9): number {
  const a = Float64Array.from(M);
  const scale = a.reduce((t, v) => Math.max(t, Math.abs(v)), 0);
  if (scale === 0) return 0;
  let rank = 0;
  for (let k = 0; k < Math.min(rows, cols); k++) {
    let pi = k;
    let pj = k;
    for (let i = k; i < rows; i++) for (let j = k; j < cols; j++) if (Math.abs(a[i * cols + j]) > Math.abs(a[pi * cols + pj])) [pi, pj] = [i, j];
    if (Math.abs(a[pi * cols + pj]) <= tol * scale) break;
    for (let j = 0; j < cols; j++) [a[k * cols + j], a[pi * cols + j]] = [a[pi * cols + j], a[k * cols + j]];
    for (let i = 0; i < rows; i++) [a[i * cols + k], a[i * cols + pj]] = [a[i * cols + pj], a[i * cols + k]];
    const pivot = a[k * cols + k];
    for (let i = k + 1; i < rows; i++) {
      const f = a[i * cols + k] / pivot;
      if (f !== 0) for (let j = k; j < cols; j++) a[i * cols + j] -= f * a[k * cols + j];
    }
    rank++;
  }
  return rank;
}

/** arw(u) v = u o v on the second-order cone: [[u0, u1'], [u1, u0 I]]. */
function arrow(u: ArrayLike<number>, start: number, length: number, put: (i: number, j: number, v: number) => void): void {
  for (let i = 0; i < length; i++) put(i, i, u[start]);
  for (let i = 1; i < length; i++) {
    put(0, i, u[start + i]);
    put(i, 0, u[start + i]);
  }
}

/** The matrix of E -> svec((X E + E X) / 2) in svec coordinates, X = smat of u's block. */
function symmetrizedProduct(u: ArrayLike<number>, start: number, k: number, put: (i: number, j: number, v: number) => void): void {
  const length = (k * (k + 1)) / 2;
  const X = smat(Array.from({ length }, (_, i) => u[start + i]), k);
  for (let r = 0; r < length; r++) {
    const e = new Array<number>(length).fill(0);
    e[r] = 1;
    const E = smat(e, k);
    const P = X.map((_, i) => X.map((_, j) => {
      let t = 0;
      for (let l = 0; l < k; l++) t += X[i][l] * E[l][j] + E[i][l] * X[l][j];
      return t / 2;
    }));
    svec(P).forEach((v, i) => put(i, r, v));
  }
}

/** F(x, y, s) of the header: n + 2m entries. */
export function kktResidual(P: ConeProblem, z: ConeSolution): Float64Array {
  const { rows: m, cols: n, A } = P;
  const F = new Float64Array(n + 2 * m);
  for (let i = 0; i < m; i++) {
    let t = z.s[i] - P.b[i];
    for (let j = 0; j < n; j++) {
      F[j] += A[i * n + j] * z.y[i];
      t += A[i * n + j] * z.x[j];
    }
    F[n + i] = t;
  }
  for (let j = 0; j < n; j++) F[j] += P.c[j];
  const o = n + m;
  for (const { kind, n: k, start, length } of blockRanges(P.cone)) {
    if (kind === 'zero') {
      for (let i = 0; i < length; i++) F[o + start + i] = z.s[start + i];
    } else if (kind === 'nonneg') {
      for (let i = 0; i < length; i++) F[o + start + i] = z.s[start + i] * z.y[start + i];
    } else if (kind === 'soc') {
      arrow(z.y, start, length, (i, j, v) => (F[o + start + i] += v * z.s[start + j]));
    } else {
      const S = smat(z.s.subarray(start, start + length), k);
      const Y = smat(z.y.subarray(start, start + length), k);
      const SY = S.map((_, i) => S.map((_, j) => {
        let t = 0;
        for (let l = 0; l < k; l++) t += S[i][l] * Y[l][j] + Y[i][l] * S[l][j];
        return t / 2;
      }));
      svec(SY).forEach((v, i) => (F[o + start + i] = v));
    }
  }
  return F;
}

/** M = dF/d(x, y, s) at z, (n + 2m) square, row-major. */
export function kktMatrix(P: ConeProblem, z: ConeSolution): Float64Array {
  const { rows: m, cols: n, A } = P;
  const N = n + 2 * m;
  const M = new Float64Array(N * N);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      M[j * N + n + i] = A[i * n + j];
      M[(n + i) * N + j] = A[i * n + j];
    }
    M[(n + i) * N + n + m + i] = 1;
  }
  const o = n + m;
  for (const { kind, n: k, start, length } of blockRanges(P.cone)) {
    const dy = (i: number, j: number, v: number) => (M[(o + start + i) * N + n + start + j] = v);
    const ds = (i: number, j: number, v: number) => (M[(o + start + i) * N + n + m + start + j] = v);
    if (kind === 'zero') {
      for (let i = 0; i < length; i++) ds(i, i, 1);
    } else if (kind === 'nonneg') {
      for (let i = 0; i < length; i++) {
        dy(i, i, z.s[start + i]);
        ds(i, i, z.y[start + i]);
      }
    } else if (kind === 'soc') {
      arrow(z.s, start, length, dy);
      arrow(z.y, start, length, ds);
    } else {
      symmetrizedProduct(z.s, start, k, dy);
      symmetrizedProduct(z.y, start, k, ds);
    }
  }
  return M;
}

/** The gradient of L = w'x* in c, b and A (m x n row-major), by one solve with M'. */
export function kktGradient(P: ConeProblem, z: ConeSolution, w: ArrayLike<number>): { c: Float64Array; b: Float64Array; A: Float64Array } {
  const { rows: m, cols: n } = P;
  const N = n + 2 * m;
  const M = kktMatrix(P, z);
  const Mt = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) Mt[j * N + i] = M[i * N + j];
  const rhs = new Float64Array(N);
  for (let j = 0; j < n; j++) rhs[j] = w[j];
  const lambda = solveDense(Mt, N, rhs);
  const c = Float64Array.from({ length: n }, (_, j) => -lambda[j]);
  const b = lambda.slice(n, n + m);
  const A = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) A[i * n + j] = -(z.y[i] * lambda[j] + b[i] * z.x[j]);
  return { c, b, A };
}

/** dx/dc (n x n) and dx/db (n x m) at the solution, row-major: entry (i, j) is d x_i / d c_j (d b_j); one factorization of M. */
export function kktJacobian(P: ConeProblem, z: ConeSolution): { dxdc: Float64Array; dxdb: Float64Array } {
  const { rows: m, cols: n } = P;
  const N = n + 2 * m;
  const f = luFactor(kktMatrix(P, z), N);
  const dxdc = new Float64Array(n * n);
  const dxdb = new Float64Array(n * m);
  const rhs = new Float64Array(N);
  for (let j = 0; j < n + m; j++) {
    rhs.fill(0);
    rhs[j] = j < n ? -1 : 1; // dc_j enters as -dc, db_j as +db (header)
    const dz = luSolve(f, rhs);
    for (let i = 0; i < n; i++) {
      if (j < n) dxdc[i * n + j] = dz[i];
      else dxdb[i * m + j - n] = dz[i];
    }
  }
  return { dxdc, dxdb };
}

/** Whether M is singular at z (numerical rank below n + 2m): degenerate solutions. */
export function kktSingular(P: ConeProblem, z: ConeSolution, tol = 1e-9): boolean {
  const N = P.cols + 2 * P.rows;
  return numericalRank(kktMatrix(P, z), N, N, tol) < N;
}

/**
 * The KKT point of P near `start` by Newton on F = 0, its Jacobian taken by central
 * differences of F with step 1 (exact: F is quadratic), so it owes nothing to kktMatrix. A
 * zero of F with s in K and y in K* is optimal, so callers check cone membership of the result.
 * Returns the last iterate and its residual ||F||_inf.
 */
export function newtonKkt(P: ConeProblem, start: ConeSolution, steps = 20, tol = 1e-14): { z: ConeSolution; residual: number } {
  const { rows: m, cols: n } = P;
  const N = n + 2 * m;
  const pack = (z: ConeSolution) => Float64Array.from([...z.x, ...z.y, ...z.s]);
  const unpack = (v: Float64Array): ConeSolution => ({ x: v.slice(0, n), y: v.slice(n, n + m), s: v.slice(n + m) });
  const residual = (v: Float64Array) => kktResidual(P, unpack(v));
  let v = pack(start);
  let F = residual(v);
  let norm = F.reduce((t, e) => Math.max(t, Math.abs(e)), 0);
  for (let step = 0; step < steps && norm > tol; step++) {
    const J = new Float64Array(N * N);
    for (let j = 0; j < N; j++) {
      const up = Float64Array.from(v);
      const dn = Float64Array.from(v);
      up[j] += 1;
      dn[j] -= 1;
      const Fu = residual(up);
      const Fd = residual(dn);
      for (let i = 0; i < N; i++) J[i * N + j] = (Fu[i] - Fd[i]) / 2;
    }
    const d = solveDense(J, N, F);
    const next = v.map((t, i) => t - d[i]);
    const Fn = residual(next);
    const nextNorm = Fn.reduce((t, e) => Math.max(t, Math.abs(e)), 0);
    if (!(nextNorm < norm)) break;
    [v, F, norm] = [next, Fn, nextNorm];
  }
  return { z: unpack(v), residual: norm };
}
