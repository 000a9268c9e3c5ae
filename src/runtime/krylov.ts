/**
 * Matrix-free Krylov solvers for A x = b: restarted GMRES(m) and BiCGStab.
 *
 * The operator is a callback `apply(x, out)` that writes A x into `out`
 * (it must not retain or modify `x`). Convergence means
 * ||b - A x||_2 <= max(tol * ||b||_2, atol), always confirmed on the TRUE
 * residual recomputed from x: the recurrence residuals of both methods can
 * drift from the true one, and a solver must never report a false 'converged'.
 * The returned x is always finite.
 */
import { dot, norm2, UNIT_ROUNDOFF } from './matrix.ts';
import type { KrylovResult, KrylovStatus } from './status.ts';
import { isFiniteVector, requireFiniteVector, requireInRange, requireInteger, requireFunction, requireOptionsObject } from './validate.ts';

export type LinearOperator = (x: Float64Array, out: Float64Array) => void;

export interface KrylovOptions {
  /** Relative tolerance on ||b - A x||_2 / ||b||_2 (default 1e-10). */
  tol?: number;
  /** Absolute tolerance floor (default 0). */
  atol?: number;
  /**
   * Cap on iterations (default 1000): Arnoldi steps for GMRES (one product
   * each), BiCGStab steps (two products each).
   */
  maxIter?: number;
  /** Initial guess (default 0); not modified. */
  x0?: Float64Array;
}

export interface GmresOptions extends KrylovOptions {
  /** Krylov subspace dimension per restart cycle (default min(30, n)). */
  restart?: number;
}

interface Setup {
  n: number;
  x: Float64Array;
  target: number;
  maxIter: number;
}

function setup(name: string, b: Float64Array, options: KrylovOptions): Setup {
  requireOptionsObject(name, options);
  requireFiniteVector(`${name}: right-hand side`, b);
  const n = b.length;
  const tol = requireInRange(`${name}: tol`, options.tol ?? 1e-10, 0, Infinity);
  const atol = requireInRange(`${name}: atol`, options.atol ?? 0, 0, Infinity);
  const maxIter = requireInteger(`${name}: maxIter`, options.maxIter ?? 1000, 0);
  let x: Float64Array;
  if (options.x0) {
    requireFiniteVector(`${name}: x0`, options.x0, n);
    x = options.x0.slice();
  } else {
    x = new Float64Array(n);
  }
  return { n, x, target: Math.max(tol * norm2(b), atol), maxIter };
}

/** r = b - A x; returns ||r||_2 (non-finite if A x is). */
function trueResidual(apply: LinearOperator, b: Float64Array, x: Float64Array, r: Float64Array): number {
  apply(x, r);
  for (let i = 0; i < r.length; i++) r[i] = b[i] - r[i];
  return norm2(r);
}

function result(x: Float64Array, status: KrylovStatus, iterations: number, residual: number): KrylovResult {
  return { x, status, iterations, residual };
}

/**
 * Restarted GMRES(m) (Saad & Schultz 1986; Saad, Iterative Methods for Sparse
 * Linear Systems, 2nd ed., Alg. 6.9): Arnoldi with modified Gram-Schmidt, the
 * Hessenberg least-squares problem kept triangular by Givens rotations so the
 * residual norm |g_{j+1}| is known at every step without forming x.
 *
 * Status 'breakdown' is reported when no further progress is possible while
 * the true residual is above tolerance: the Krylov space became invariant
 * (restarting would regenerate a subspace of it), or a restart cycle did not
 * reduce the true residual (a cycle is a deterministic function of its
 * starting residual, so it would repeat forever). Both happen for singular,
 * inconsistent systems. The returned x is the best iterate found.
 */
export function gmres(apply: LinearOperator, b: Float64Array, options: GmresOptions = {}): KrylovResult {
  requireFunction('gmres: operator', apply);
  const { n, target, maxIter, x: start } = setup('gmres', b, options);
  let x = start;
  const m = Math.min(requireInteger('gmres: restart', options.restart ?? 30, 1), Math.max(n, 1));
  const r = new Float64Array(n);
  let beta = trueResidual(apply, b, x, r);
  if (!Number.isFinite(beta)) return result(x, 'non-finite', 0, Infinity);

  // Arnoldi basis v_0..v_m as views into one buffer, created once.
  const storage = new Float64Array((m + 1) * n);
  const V = Array.from({ length: m + 1 }, (_, i) => storage.subarray(i * n, (i + 1) * n));
  const R = new Float64Array(m * m); // rotated Hessenberg = upper triangular R, R[i * m + j]
  const cs = new Float64Array(m);
  const sn = new Float64Array(m);
  const g = new Float64Array(m + 1); // rotated right-hand side beta * e_1
  const y = new Float64Array(m);
  let xNext: Float64Array = new Float64Array(n);
  // A column whose rotated diagonal is below this fraction of ||A v_j|| is
  // numerically dependent on the previous ones: A restricted to the Krylov
  // space is singular there.
  const dependence = n * UNIT_ROUNDOFF;
  let iterations = 0;

  for (;;) {
    if (beta <= target) return result(x, 'converged', iterations, beta);
    if (iterations >= maxIter) return result(x, 'max-iterations', iterations, beta);

    for (let i = 0; i < n; i++) V[0][i] = r[i] / beta;
    g.fill(0);
    g[0] = beta;
    let k = 0; // columns of R in use
    let invariant = false;
    for (let j = 0; j < m && iterations < maxIter; j++) {
      const w = V[j + 1];
      apply(V[j], w);
      iterations++;
      const wNorm = norm2(w);
      if (!Number.isFinite(wNorm)) return result(x, 'non-finite', iterations, beta);
      // Modified Gram-Schmidt against v_0..v_j; column j of H goes into R.
      for (let i = 0; i <= j; i++) {
        const vi = V[i];
        const h = dot(w, vi);
        R[i * m + j] = h;
        for (let l = 0; l < n; l++) w[l] -= h * vi[l];
      }
      const hNext = norm2(w);
      for (let i = 0; i < j; i++) {
        const a = R[i * m + j];
        const c = R[(i + 1) * m + j];
        R[i * m + j] = cs[i] * a + sn[i] * c;
        R[(i + 1) * m + j] = -sn[i] * a + cs[i] * c;
      }
      const a = R[j * m + j];
      const rho = Math.hypot(a, hNext);
      if (rho <= dependence * wNorm) {
        invariant = true;
        break;
      }
      cs[j] = a / rho;
      sn[j] = hNext / rho;
      R[j * m + j] = rho;
      g[j + 1] = -sn[j] * g[j];
      g[j] = cs[j] * g[j];
      k = j + 1;
      if (Math.abs(g[j + 1]) <= target) break;
      // Happy breakdown: A v_j lies in the current space, which is therefore invariant.
      if (hNext <= dependence * wNorm) {
        invariant = true;
        break;
      }
      for (let l = 0; l < n; l++) w[l] /= hNext;
    }

    // Back substitution R y = g, then x_next = x + V_k y.
    for (let i = k - 1; i >= 0; i--) {
      let s = g[i];
      for (let l = i + 1; l < k; l++) s -= R[i * m + l] * y[l];
      y[i] = s / R[i * m + i];
    }
    xNext.set(x);
    for (let i = 0; i < k; i++) {
      const yi = y[i];
      const vi = V[i];
      for (let l = 0; l < n; l++) xNext[l] += yi * vi[l];
    }
    if (!isFiniteVector(xNext)) return result(x, 'non-finite', iterations, beta);
    const betaNext = trueResidual(apply, b, xNext, r);
    if (!Number.isFinite(betaNext)) return result(x, 'non-finite', iterations, beta);
    const progressed = betaNext < beta * (1 - 4 * UNIT_ROUNDOFF * n);
    // In exact arithmetic a cycle cannot increase the residual; in floating
    // point it can, when the least-squares solution lost accuracy (R nearly
    // singular, typical of singular A). Keep the better iterate.
    if (betaNext < beta) {
      [x, xNext] = [xNext, x];
      beta = betaNext;
    }
    if (beta <= target) return result(x, 'converged', iterations, beta);
    if (invariant || !progressed) {
      return result(x, iterations >= maxIter ? 'max-iterations' : 'breakdown', iterations, beta);
    }
  }
}

/**
 * BiCGStab (van der Vorst, SIAM J. Sci. Stat. Comput. 13 (1992); Templates
 * for the Solution of Linear Systems, sec. 2.3.8), unpreconditioned.
 *
 * On a (near) breakdown (r_hat . r or r_hat . A p vanishing, or omega = 0),
 * and when the recurrence residual meets the tolerance but the true residual
 * does not, the method restarts from the true residual with r_hat = r. A
 * breakdown in the first step after such a restart is reported as 'breakdown'.
 */
export function bicgstab(apply: LinearOperator, b: Float64Array, options: KrylovOptions = {}): KrylovResult {
  requireFunction('bicgstab: operator', apply);
  const { n, target, maxIter, x: start } = setup('bicgstab', b, options);
  let x = start;
  let xNext: Float64Array = new Float64Array(n);
  const r = new Float64Array(n);
  const rHat = new Float64Array(n);
  const p = new Float64Array(n);
  const v = new Float64Array(n);
  const s = new Float64Array(n);
  const t = new Float64Array(n);
  let rNorm = trueResidual(apply, b, x, r);
  if (!Number.isFinite(rNorm)) return result(x, 'non-finite', 0, Infinity);
  let rho = 1;
  let alpha = 1;
  let omega = 1;
  let fresh = true; // no successful step since the last (re)start
  let iterations = 0;

  const restart = (): void => {
    rHat.set(r);
    p.fill(0);
    v.fill(0);
    rho = 1;
    alpha = 1;
    omega = 1;
    fresh = true;
  };
  /** Replaces r by the true residual and restarts; returns a final result when there is nothing left to do. */
  const recover = (): KrylovResult | null => {
    rNorm = trueResidual(apply, b, x, r);
    if (!Number.isFinite(rNorm)) return result(x, 'non-finite', iterations, Infinity);
    if (rNorm <= target) return result(x, 'converged', iterations, rNorm);
    if (fresh) return result(x, 'breakdown', iterations, rNorm);
    restart();
    return null;
  };

  restart();
  for (;;) {
    if (rNorm <= target) return result(x, 'converged', iterations, rNorm);
    if (iterations >= maxIter) {
      const res = trueResidual(apply, b, x, r);
      return Number.isFinite(res)
        ? result(x, 'max-iterations', iterations, res)
        : result(x, 'non-finite', iterations, rNorm);
    }
    const rhoNew = dot(rHat, r);
    // r_hat nearly orthogonal to r: the bi-orthogonality recurrence has lost its grip.
    if (Math.abs(rhoNew) <= UNIT_ROUNDOFF * norm2(rHat) * rNorm) {
      const done = recover();
      if (done) return done;
      continue;
    }
    const beta = (rhoNew / rho) * (alpha / omega);
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * (p[i] - omega * v[i]);
    apply(p, v);
    iterations++;
    const rv = dot(rHat, v);
    if (!Number.isFinite(rv)) return result(x, 'non-finite', iterations, rNorm);
    if (rv === 0) {
      const done = recover();
      if (done) return done;
      continue;
    }
    alpha = rhoNew / rv;
    for (let i = 0; i < n; i++) s[i] = r[i] - alpha * v[i];
    const sNorm = norm2(s);
    if (!Number.isFinite(sNorm)) return result(x, 'non-finite', iterations, rNorm);
    if (sNorm <= target) {
      // Half step already converged (Templates' early exit): x += alpha p.
      omega = 0;
    } else {
      apply(s, t);
      const tt = dot(t, t);
      if (!Number.isFinite(tt)) return result(x, 'non-finite', iterations, rNorm);
      // t = A s = 0 with s != 0: s is a null vector of A, no progress along it.
      omega = tt === 0 ? 0 : dot(t, s) / tt;
    }
    for (let i = 0; i < n; i++) xNext[i] = x[i] + alpha * p[i] + omega * s[i];
    if (!isFiniteVector(xNext)) return result(x, 'non-finite', iterations, rNorm);
    [x, xNext] = [xNext, x];
    for (let i = 0; i < n; i++) r[i] = s[i] - omega * t[i];
    rNorm = norm2(r);
    rho = rhoNew;
    if (omega !== 0) fresh = false;
    // Confirm apparent convergence on the true residual; omega = 0 would make the next beta infinite.
    if (rNorm <= target || omega === 0) {
      const done = recover();
      if (done) return done;
    }
  }
}
