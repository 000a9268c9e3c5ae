/**
 * Fixed-point iteration y = T(y): damped Picard iteration
 * y <- (1 - damping) y + damping T(y), optionally accelerated by safeguarded,
 * regularized Anderson acceleration.
 *
 * Residual: ||T(y) - y|| in the norm chosen by `options.norm` (default the
 * infinity norm, which matches per-component tolerances in generated code).
 * Convergence: residual <= tol + rtol * ||y||.
 */
import { dot, vecNorm } from './matrix.ts';
import type { FixedPointResult, FixedPointStatus, NormKind } from './status.ts';
import { isFiniteVector, requireChoice, requireFiniteVector, requireFunction, requireInRange, requireInteger, requireOptionsObject } from './validate.ts';

/** Writes T(y) into `out`; must not modify `y`. */
export type FixedPointMap = (y: Float64Array, out: Float64Array) => void;

export interface AndersonOptions {
  /** Number of most recent iterate differences used (0 disables acceleration). */
  memory: number;
  /** Tikhonov weight relative to ||dF||_F^2 in the least-squares problem (default 1e-10). */
  regularization?: number;
}

export interface FixedPointOptions {
  /** Absolute tolerance on the residual (default 1e-10). */
  tol?: number;
  /** Relative tolerance, scaled by ||y|| (default 0). */
  rtol?: number;
  /** Iteration cap (default 1000). */
  maxIter?: number;
  /** Damping (relaxation) factor in (0, 1] (default 1: plain Picard). */
  damping?: number;
  /** Anderson acceleration: a memory size, or full options. Absent or 0: none. */
  anderson?: number | AndersonOptions;
  /** Residual norm (default 'inf'). */
  norm?: NormKind;
  /** Report 'diverged' once the residual exceeds this factor times the initial residual (default 1e10). */
  divergence?: number;
  /** Record the residual of every iterate in `history`. */
  history?: boolean;
}

/**
 * Sliding window of the last m differences dX_i = y_{i+1} - y_i and
 * dF_i = f_{i+1} - f_i of the iterates and their residuals f = T(y) - y,
 * with the Gram matrix dF^T dF maintained incrementally (one new row per
 * step, O(m n) instead of O(m^2 n)). Slots are a ring buffer; the least-squares
 * problem does not depend on column order.
 */
class AndersonWindow {
  /** Column views dX[s], dF[s], created once so the iteration allocates nothing. */
  private readonly dX: Float64Array[];
  private readonly dF: Float64Array[];
  private readonly gram: Float64Array;
  private readonly system: Float64Array;
  private readonly gamma: Float64Array;
  private size = 0;
  private head = 0;

  constructor(
    private readonly n: number,
    private readonly m: number,
    private readonly regularization: number,
  ) {
    const dX = new Float64Array(m * n);
    const dF = new Float64Array(m * n);
    this.dX = Array.from({ length: m }, (_, s) => dX.subarray(s * n, (s + 1) * n));
    this.dF = Array.from({ length: m }, (_, s) => dF.subarray(s * n, (s + 1) * n));
    this.gram = new Float64Array(m * m);
    this.system = new Float64Array(m * m);
    this.gamma = new Float64Array(m);
  }

  get empty(): boolean {
    return this.size === 0;
  }

  reset(): void {
    this.size = 0;
    this.head = 0;
  }

  push(yNew: Float64Array, y: Float64Array, fNew: Float64Array, f: Float64Array): void {
    const { n, m } = this;
    const slot = this.head;
    this.head = (this.head + 1) % m;
    this.size = Math.min(this.size + 1, m);
    const dx = this.dX[slot];
    const df = this.dF[slot];
    for (let i = 0; i < n; i++) {
      dx[i] = yNew[i] - y[i];
      df[i] = fNew[i] - f[i];
    }
    for (let s = 0; s < this.size; s++) {
      const v = dot(df, this.dF[s]);
      this.gram[slot * m + s] = v;
      this.gram[s * m + slot] = v;
    }
  }

  /**
   * Type-II Anderson step in the unconstrained least-squares form of Walker &
   * Ni (SIAM J. Numer. Anal. 49, 2011), with mixing (damping) parameter beta:
   *   gamma = argmin ||f - dF gamma||^2 + lambda ||gamma||^2,
   *   out   = y + beta f - (dX + beta dF) gamma,
   * with lambda = regularization * ||dF||_F^2 (scale-invariant Tikhonov term as
   * in Scieur, d'Aspremont & Bach, "Regularized nonlinear acceleration", 2016),
   * solved through the k x k normal equations by Cholesky; k <= m is small.
   * Returns false if the system is not numerically positive definite.
   */
  step(y: Float64Array, f: Float64Array, beta: number, out: Float64Array): boolean {
    const { n, m, system: a, gamma } = this;
    const k = this.size;
    let trace = 0;
    for (let i = 0; i < k; i++) trace += this.gram[i * m + i];
    if (!(trace > 0)) return false;
    const lambda = this.regularization * trace;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) a[i * k + j] = this.gram[i * m + j];
      a[i * k + i] += lambda;
      gamma[i] = dot(this.dF[i], f);
    }
    // In-place Cholesky a = L L^T (lower triangle), then two triangular solves.
    for (let j = 0; j < k; j++) {
      let d = a[j * k + j];
      for (let l = 0; l < j; l++) d -= a[j * k + l] * a[j * k + l];
      if (!(d > 0)) return false;
      const ljj = Math.sqrt(d);
      a[j * k + j] = ljj;
      for (let i = j + 1; i < k; i++) {
        let s = a[i * k + j];
        for (let l = 0; l < j; l++) s -= a[i * k + l] * a[j * k + l];
        a[i * k + j] = s / ljj;
      }
    }
    for (let i = 0; i < k; i++) {
      let s = gamma[i];
      for (let l = 0; l < i; l++) s -= a[i * k + l] * gamma[l];
      gamma[i] = s / a[i * k + i];
    }
    for (let i = k - 1; i >= 0; i--) {
      let s = gamma[i];
      for (let l = i + 1; l < k; l++) s -= a[l * k + i] * gamma[l];
      gamma[i] = s / a[i * k + i];
    }
    for (let i = 0; i < n; i++) out[i] = y[i] + beta * f[i];
    for (let s = 0; s < k; s++) {
      const gs = gamma[s];
      const dx = this.dX[s];
      const df = this.dF[s];
      for (let i = 0; i < n; i++) out[i] -= gs * (dx[i] + beta * df[i]);
    }
    return true;
  }
}

/**
 * Solves y = T(y) by damped fixed-point iteration, with Anderson acceleration
 * when `options.anderson` is set.
 *
 * Anderson safeguard: each accelerated candidate is evaluated, and accepted
 * only if its residual is finite and does not exceed the smallest residual
 * seen so far; otherwise the plain damped step is taken and the window is
 * cleared, since the secant information that produced the bad step is
 * unreliable (the restart strategy of e.g. Peng et al., "Anderson acceleration
 * for geometry optimization and physics simulation", ACM TOG 2018). Comparing
 * with the best rather than the current residual prevents cycles in which an
 * accepted Anderson step and the plain steps after it alternately undo each
 * other (observed on non-contractive maps): the residuals of accepted Anderson
 * steps form a non-increasing sequence, each bounded by all earlier residuals.
 * A rejected step costs one extra map evaluation (`evaluations` counts them).
 *
 * Never returns a non-finite y: if the map produces a non-finite value, the
 * result is status 'non-finite' with the last iterate whose residual was
 * finite (y0 itself, with residual Infinity, if T(y0) is non-finite).
 */
export function fixedPoint(map: FixedPointMap, y0: Float64Array, options: FixedPointOptions = {}): FixedPointResult {
  requireFunction('fixedPoint: map', map);
  requireOptionsObject('fixedPoint', options);
  requireFiniteVector('fixedPoint: y0', y0);
  if (options.norm !== undefined) requireChoice('fixedPoint: norm', options.norm, ['inf', '2']);
  const tol = requireInRange('fixedPoint: tol', options.tol ?? 1e-10, 0, Infinity);
  const rtol = requireInRange('fixedPoint: rtol', options.rtol ?? 0, 0, Infinity);
  const maxIter = requireInteger('fixedPoint: maxIter', options.maxIter ?? 1000, 0);
  const beta = requireInRange('fixedPoint: damping', options.damping ?? 1, Number.MIN_VALUE, 1);
  const divergence = requireInRange('fixedPoint: divergence', options.divergence ?? 1e10, 1, Infinity);
  const kind = options.norm ?? 'inf';
  const aa = options.anderson ?? 0;
  const memory = requireInteger('fixedPoint: Anderson memory', typeof aa === 'number' ? aa : aa.memory, 0);
  const regularization = requireInRange(
    'fixedPoint: Anderson regularization',
    typeof aa === 'number' ? 1e-10 : (aa.regularization ?? 1e-10),
    0,
    Infinity,
  );

  const n = y0.length;
  let y = y0.slice();
  let f = new Float64Array(n); // f = T(y) - y
  let yNew = new Float64Array(n);
  let fNew = new Float64Array(n);
  const window = memory > 0 ? new AndersonWindow(n, memory, regularization) : null;
  let evaluations = 0;

  /** fNew = T(yNew) - yNew; returns its norm (non-finite if T or yNew is). */
  const evaluate = (): number => {
    if (!isFiniteVector(yNew)) return NaN;
    map(yNew, fNew);
    evaluations++;
    for (let i = 0; i < n; i++) fNew[i] -= yNew[i];
    return vecNorm(fNew, kind);
  };

  yNew.set(y);
  let res = evaluate();
  [f, fNew] = [fNew, f];
  const history = options.history ? [res] : undefined;
  let iterations = 0;
  const finish = (status: FixedPointStatus, residual = res): FixedPointResult => ({
    y,
    status,
    iterations,
    evaluations,
    residual,
    ...(history ? { history } : {}),
  });
  if (!Number.isFinite(res)) return finish('non-finite', Infinity);
  let best = res; // smallest residual so far: the Anderson acceptance threshold
  const divergenceLimit = divergence * Math.max(res, tol);

  for (;;) {
    if (res <= tol + rtol * vecNorm(y, kind)) return finish('converged');
    if (res > divergenceLimit) return finish('diverged');
    if (iterations >= maxIter) return finish('max-iterations');

    let resNew = window !== null && !window.empty && window.step(y, f, beta, yNew) ? evaluate() : NaN;
    // Plain step unless an Anderson candidate was produced and passes the safeguard (NaN fails it).
    if (!(resNew <= best)) {
      window?.reset();
      for (let i = 0; i < n; i++) yNew[i] = y[i] + beta * f[i];
      resNew = evaluate();
      if (!Number.isFinite(resNew)) return finish('non-finite');
    }
    window?.push(yNew, y, fNew, f);
    [y, yNew] = [yNew, y];
    [f, fNew] = [fNew, f];
    res = resNew;
    if (res < best) best = res;
    iterations++;
    history?.push(res);
  }
}
