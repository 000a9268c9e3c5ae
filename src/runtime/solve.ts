/**
 * The forward solve of a generated model (MATH.md 7; DESIGN.md "Generated
 * modules", Forward solvers): fixed-point iteration, Anderson acceleration and
 * semismooth Newton over the ModelInstance kernels, with one typed status and
 * a finite solution whatever happens.
 *
 * `auto`: with a fixed-point map, Anderson-accelerated iteration on T (the DEQ
 * habit, cheap per step), finished by semismooth Newton when it does not reach
 * the tolerance (non-contractive T, slow linear rate); without one, semismooth
 * Newton directly. Newton uses the same B kernels as the backward pass: B is
 * the selected element of the conservative Jacobian (`model.kinkFactors`),
 * which for definable Lipschitz F gives local superlinear convergence under
 * the invertibility condition of MATH.md 4.
 */
import { fixedPoint } from './fixed-point.ts';
import { gmres } from './krylov.ts';
import { dot, norm2, normInf } from './matrix.ts';
import { luFactor, luSolve } from './lu.ts';
import type { Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { semismoothNewton } from './newton.ts';
import type { NewtonProblem } from './newton.ts';
import type { NewtonResult } from './status.ts';
import { assembleB, complementRows, couplingRC, ImplicitSystem, reducedRows } from './implicit-system.ts';
import { SolverError } from './status.ts';
import { structuredSolve } from './structured-solve.ts';
import { residualInf } from './residual.ts';
import { isFiniteVector, requireChoice, requireFiniteVector, requireInRange, requireInteger, requireLimit, requireModel, requireOptions, requireStart, requireTolerance } from './validate.ts';

export type SolveMethod = 'auto' | 'fixed-point' | 'anderson' | 'newton';
/** Every {@link SolveMethod}, for option checks. */
export const SOLVE_METHODS: readonly SolveMethod[] = ['auto', 'fixed-point', 'anderson', 'newton'];
const SOLVE_OPTIONS: readonly (keyof SolveInstanceOptions)[] = ['method', 'tol', 'maxIter', 'y0', 'denseNewtonLimit', 'timeLimitMs'];
/** The method that produced the returned solution. */
export type UsedMethod = 'fixed-point' | 'anderson' | 'newton' | 'anderson+newton' | 'coordinate-descent+newton' | 'douglas-rachford';
/**
 * `infeasible` and `unbounded`: a cone program (src/runtime/cone-program.ts) whose
 * Douglas-Rachford iterates diverge along a certificate of primal infeasibility or of
 * unboundedness: the model has no solution.
 */
export type InstanceStatus = 'converged' | 'max-iterations' | 'diverged' | 'non-finite' | 'singular' | 'line-search-failed' | 'infeasible' | 'unbounded';

export interface SolveInstanceOptions {
  method?: SolveMethod;
  /** Convergence when ||F(y)||_inf <= tol (default 1e-10). */
  tol?: number;
  /**
   * Cap on the iterations of all phases together, an integer >= 1. Defaults: 1000 for plain
   * or Anderson fixed-point iteration, 100 for 'newton'; none for 'auto', which stops when it
   * makes no more progress (see {@link solveInstance}).
   */
  maxIter?: number;
  /**
   * Wall-clock limit in milliseconds for the 'auto' generic path (checked between steps, so
   * one step may overrun it); reached, the status is 'max-iterations' with the best iterate.
   */
  timeLimitMs?: number;
  /** Start (default model.initial()): n finite numbers; not modified. */
  y0?: Float64Array;
  /** Largest n for which Newton assembles B densely and uses LU (default 500); beyond, GMRES with jvpY. */
  denseNewtonLimit?: number;
}

export interface SolveInstanceResult {
  /** Always finite. */
  y: Float64Array;
  status: InstanceStatus;
  /** Iterations of all phases together. */
  iterations: number;
  /** ||F(y)||_inf recomputed at the returned y (Infinity only if F is not finite there). */
  residual: number;
  method: UsedMethod;
}

const ANDERSON_MEMORY = 5;


/** Semismooth Newton on F with B from the model's kernels: dense LU for small n, GMRES beyond. */
/** Largest active set for which a reduced Newton step is assembled (see newtonProblem). */
const REDUCED_NEWTON_LIMIT = 100;

function newtonProblem(model: ModelInstance, denseLimit: number): NewtonProblem {
  const residual = (y: Float64Array, out: Float64Array): void => model.residual(y, out);
  if (model.analysis.identityRowsWhereFactorZero !== null) {
    // Prox and projection fixpoints: B = I - D M, whose rows with D = 0 are identity rows.
    // The step solves only the other rows (the support, for the Lasso), densely when they are
    // few: the same active-set reduction as the backward pass (ImplicitSystem).
    return {
      residual,
      solveStep: (y: Float64Array, rhs: Float64Array): Float64Array | null => {
        const factors = model.kinkFactors(y);
        // Assembling the reduced B costs one jvpY per kept row, about as much as that many
        // map evaluations: past REDUCED_NEWTON_LIMIT rows Anderson steps are the better buy
        // (and a large active set is often singular: more support than data). No step then.
        if ((reducedRows(model, factors)?.length ?? model.n) > Math.min(denseLimit, REDUCED_NEWTON_LIMIT)) return null;
        try {
          const d = new ImplicitSystem(model, y, factors, { denseLimit }).solve(rhs);
          return isFiniteVector(d) ? d : null;
        } catch (e) {
          if (e instanceof SolverError) return null;
          throw e;
        }
      },
    };
  }
  if (model.n <= denseLimit) {
    return { residual, jacobian: (y: Float64Array): Matrix => assembleB(model, y, model.kinkFactors(y), null) };
  }
  return {
    residual,
    solveStep: (y: Float64Array, rhs: Float64Array): Float64Array | null => {
      const factors = model.kinkFactors(y);
      const r = gmres((v, out) => model.jvpY(y, factors, v, out), rhs, {
        tol: 1e-12,
        maxIter: Math.max(200, model.n),
        restart: 50,
      });
      // An inexact step is still a descent direction for ||F||^2 while ||B d + F|| < ||F||
      // (inexact Newton, Dembo-Eisenstat-Steihaug 1982); the line search does the rest.
      if (!isFiniteVector(r.x) || !(r.residual <= 0.1 * norm2(rhs))) return null;
      return r.x;
    },
  };
}

/**
 * Solves F(x, y) = 0 for the model's unknowns at its bound inputs. Misuse (a
 * wrong y0, bad options, 'fixed-point' without a map) throws a SolverError;
 * numerical failure is a status, and the returned y is always finite.
 */
export function solveInstance(model: ModelInstance, options: SolveInstanceOptions = {}): SolveInstanceResult {
  requireModel('solveInstance', model);
  const who = `solveInstance(${model.name})`;
  const given = requireOptions(who, options, SOLVE_OPTIONS);
  const method = given.method === undefined ? 'auto' : requireChoice(`${who}: method`, given.method, SOLVE_METHODS);
  const tol = given.tol === undefined ? 1e-10 : requireTolerance(`${who}: tol`, given.tol);
  if (given.maxIter !== undefined) requireInteger(`${who}: maxIter`, given.maxIter, 1);
  const denseLimit = given.denseNewtonLimit === undefined ? 500 : requireLimit(`${who}: denseNewtonLimit`, given.denseNewtonLimit);
  const y0 = given.y0 === undefined ? model.initial() : requireStart(`${who}: y0`, given.y0, model.n);
  requireFiniteVector(`${who}: the declared start`, y0, model.n);
  if ((method === 'fixed-point' || method === 'anderson') && !model.hasMap) {
    throw new SolverError('invalid-option', `solveInstance(${model.name}): method '${method}' needs a fixpoint map, and the model has none`);
  }

  const finish = (y: Float64Array, status: InstanceStatus, iterations: number, used: UsedMethod, residual = residualInf(model, y)): SolveInstanceResult => {
    // The contract is on ||F||_inf at the returned point, whatever the phase measured.
    const final: InstanceStatus = status === 'converged' && !(residual <= tol) ? (Number.isFinite(residual) ? 'max-iterations' : 'non-finite') : status;
    return { y, status: final, iterations, residual, method: used };
  };
  const problem = newtonProblem(model, denseLimit);
  const newtonOptions = { tol, maxIter: options.maxIter ?? 100 };
  const newton = (start: Float64Array): NewtonResult => {
    const r = semismoothNewton(problem, start, newtonOptions);
    if (!(r.status === 'singular' && r.iterations === 0)) return r;
    // The start sits on a kink whose selected element makes B singular (abs'(0) = 0 with
    // the default start 0, say): one retry from a slightly moved start.
    const moved = start.map((v) => v + 1e-3 * (1 + Math.abs(v)));
    const again = semismoothNewton(problem, moved, newtonOptions);
    return again.residual < r.residual || again.status === 'converged' ? again : r;
  };
  const iterateMap = (memory: number, maxIter: number) =>
    fixedPoint((y, out) => model.map(y, out), y0, { tol, maxIter, anderson: memory });

  if (method === 'newton') {
    const r = newton(y0);
    return finish(r.y, r.status, r.iterations, 'newton');
  }
  if (method === 'fixed-point' || method === 'anderson') {
    const r = iterateMap(method === 'anderson' ? ANDERSON_MEMORY : 0, options.maxIter ?? 1000);
    return finish(r.y, r.status, r.iterations, method);
  }

  // auto: a structured solver where the analysis recognized one (structured-solve.ts).
  const deadline = given.timeLimitMs === undefined ? Infinity : performance.now() + requireInRange(`${who}: timeLimitMs`, given.timeLimitMs, 0, Infinity);
  const maxIter = options.maxIter ?? Infinity;
  const structured = structuredSolve(model, y0, { tol, maxIter, deadline, denseLimit, newton: problem });
  if (structured.solution) return finish(structured.solution.y, 'converged', structured.iterations, structured.solution.method, structured.solution.residual);
  if (structured.failure) return finish(structured.failure.y, structured.failure.status, structured.iterations, structured.failure.method, structured.failure.residual);

  // The generic path: globalized semismooth Newton with the map as its fallback, from y0,
  // with what is left of the budget.
  const r = globalizedSolve(model, y0, { tol, maxIter: maxIter - structured.iterations, deadline, denseLimit });
  return finish(r.y, r.status, r.iterations + structured.iterations, r.method, r.residual);
}

/**
 * Semismooth Newton's step regularized as in Levenberg-Marquardt, (B + mu I) d = -F, with
 * B d alongside (for the slope F^T B d of the merit and the predicted decrease). mu > 0
 * bounds the step where B is nearly singular: a Newton step on a wrong piece of an
 * ill-conditioned F (a Lasso support with more columns than the data resolves) is enormous,
 * crosses kinks at t ~ 1e-9 of its length, and no line search along it makes progress; mu
 * turns it toward -F, the map's own step. The identity rows of a prox or projection F stay
 * explicit under the shift: (1 + mu) d_C = -F_C, then (B_RR + mu I) d_R = -F_R - B_RC d_C.
 * Null when the (reduced) system is too large to assemble and the model has a reduction
 * site (the map is then the better buy, see REDUCED_NEWTON_LIMIT), or when it is singular.
 */
function regularizedStep(model: ModelInstance, y: Float64Array, F: Float64Array, mu: number, denseLimit: number): { d: Float64Array; Bd: Float64Array } | null {
  const n = model.n;
  const factors = model.kinkFactors(y);
  const reducible = model.analysis.identityRowsWhereFactorZero !== null;
  const rows = reducedRows(model, factors);
  const k = rows ? rows.length : n;
  let d: Float64Array;
  if (k <= (reducible ? Math.min(denseLimit, REDUCED_NEWTON_LIMIT) : denseLimit)) {
    const B = assembleB(model, y, factors, rows);
    for (let i = 0; i < k; i++) B.data[i * k + i] += mu;
    if (!isFiniteVector(B.data)) return null;
    const lu = luFactor(B);
    if (lu.singular) return null;
    d = new Float64Array(n);
    if (!rows) {
      for (let i = 0; i < n; i++) d[i] = -F[i];
      luSolve(lu, d, d);
    } else {
      const comp = complementRows(n, rows);
      for (const i of comp) d[i] = -F[i] / (1 + mu);
      const coupling = couplingRC(model, y, factors, rows, comp, d);
      const rhs = new Float64Array(k);
      for (let a = 0; a < k; a++) rhs[a] = -F[rows[a]] - coupling[a];
      luSolve(lu, rhs, rhs);
      for (let a = 0; a < k; a++) d[rows[a]] = rhs[a];
    }
  } else if (reducible) {
    return null;
  } else {
    const rhs = F.map((v) => -v);
    const r = gmres(
      (v, out) => {
        model.jvpY(y, factors, v, out);
        for (let i = 0; i < n; i++) out[i] += mu * v[i];
      },
      rhs,
      { tol: 1e-12, maxIter: Math.max(200, n), restart: 50 },
    );
    if (!(r.residual <= 0.1 * norm2(rhs))) return null;
    d = r.x;
  }
  if (!isFiniteVector(d)) return null;
  const Bd = new Float64Array(n);
  model.jvpY(y, factors, d, Bd);
  return isFiniteVector(Bd) ? { d, Bd } : null;
}

interface GlobalizedOptions {
  tol: number;
  /** Cap on all iterations together (Infinity: none). */
  maxIter: number;
  /** performance.now() past which no new step starts (Infinity: none). */
  deadline: number;
  denseLimit: number;
}

interface GlobalizedResult {
  y: Float64Array;
  status: InstanceStatus;
  iterations: number;
  residual: number;
  method: UsedMethod;
}

/** Map iterations per Anderson chunk of the opening phase and of the first fallback. */
const MAP_CHUNK = 25;
/** Steps without halving the best residual after which the solve has stalled. */
const STALL_WINDOW = 100;

/**
 * The generic forward solve (no structured solver applies): globalized semismooth Newton
 * on the merit phi = 1/2 ||F||^2, with budgets set by progress rather than counts.
 *
 * 1. With a map, Anderson first, in chunks, while each chunk cuts the residual tenfold
 *    (a contractive DEQ map converges here, with no Jacobian at all).
 * 2. Then, until converged: a regularized Newton step (regularizedStep; mu = lam ||F||,
 *    lam shrinking after accepted steps and growing after failures, the Levenberg-Marquardt
 *    rule of Yamashita & Fukushima 2001 and of the regularized semismooth Newton of Xiao,
 *    Li, Wen & Zhang, J. Sci. Comput. 2018) with Armijo backtracking on phi along it. When
 *    the step is unavailable or fails, the fallbacks, in order: a chunk of Anderson steps
 *    on the map (twice as long at each consecutive use), kept when it lowers the residual;
 *    the hyperplane projection of Solodov & Svaiter (1999) along the Newton direction,
 *    which needs no decrease of phi and converges for monotone F (F = I - T with T
 *    nonexpansive: every prox-gradient or projected-gradient map with a step <= 1/L), so it
 *    leaves the plateaus of phi where its gradient B^T F is nearly 0 far from a root;
 *    and, for equations, steepest descent on phi with B^T F from vjpY.
 * 3. Stops when converged, at the user's maxIter or time limit ('max-iterations'), or when
 *    the best residual has not halved in STALL_WINDOW steps ('line-search-failed' or
 *    'singular', by the last Newton failure; 'diverged'/'non-finite' from a map that did).
 * Returns the best iterate seen.
 */
function globalizedSolve(model: ModelInstance, y0: Float64Array, options: GlobalizedOptions): GlobalizedResult {
  const { tol, maxIter, deadline, denseLimit } = options;
  const n = model.n;
  let y: Float64Array = y0.slice();
  let F: Float64Array = new Float64Array(n);
  model.residual(y, F);
  let res = normInf(F);
  let iterations = 0;
  let usedMap = false;
  let usedNewton = false;
  let best = { y: y.slice(), res: Number.isFinite(res) ? res : Infinity };
  let bestAtStall = best.res;
  let sinceHalving = 0;
  let lastFailure: InstanceStatus = 'line-search-failed';
  const Ftrial = new Float64Array(n);
  const method = (): UsedMethod => (usedNewton ? (usedMap ? 'anderson+newton' : 'newton') : usedMap ? 'anderson' : 'newton');
  const done = (status: InstanceStatus): GlobalizedResult => ({ y: best.y, status, iterations, residual: residualInf(model, best.y), method: method() });
  const accept = (yNew: Float64Array, FNew: Float64Array, steps: number): void => {
    y = yNew;
    F = FNew;
    res = normInf(F);
    iterations += steps;
    if (res < best.res) best = { y: y.slice(), res };
  };
  if (!Number.isFinite(res)) return { y, status: 'non-finite', iterations: 0, residual: Infinity, method: model.hasMap ? 'anderson' : 'newton' };
  const budget = (): number => Math.max(0, Math.min(maxIter - iterations, Number.MAX_SAFE_INTEGER));
  const anderson = (from: Float64Array, steps: number) => {
    const r = fixedPoint((v, out) => model.map(v, out), from, { tol, maxIter: Math.min(steps, budget()), anderson: ANDERSON_MEMORY });
    usedMap = true;
    return r;
  };

  // 1. The opening Anderson phase, while it converges fast.
  if (model.hasMap) {
    for (;;) {
      if (res <= tol || budget() === 0 || performance.now() > deadline) break;
      const before = res;
      const r = anderson(y, MAP_CHUNK);
      const FNew = new Float64Array(n);
      model.residual(r.y, FNew);
      if (!(normInf(FNew) < res)) {
        iterations += r.iterations;
        break;
      }
      accept(r.y, FNew, r.iterations);
      if (r.status !== 'max-iterations' || !(res <= 0.1 * before)) break;
    }
  }

  // 2. Globalized Newton with the fallbacks.
  // lam = 0 until a step fails: an exact step keeps the finite termination of Newton on a
  // piecewise-linear F once it is on the right piece.
  let lam = 0;
  let mapChunk = MAP_CHUNK;
  for (;;) {
    if (res <= tol) return done('converged');
    if (budget() === 0 || performance.now() > deadline) return done('max-iterations');
    if (best.res <= 0.5 * bestAtStall) {
      bestAtStall = best.res;
      sinceHalving = 0;
    } else if (++sinceHalving > STALL_WINDOW) {
      return done(lastFailure);
    }

    const f2 = norm2(F);
    // The merit and its slope are compared relative to ||F||^2 (F / ||F|| is a unit vector):
    // 1/2 ||F||^2 itself overflows for residuals past 1e154 (y - x = 0 at x = 1e200).
    const Fs = F.map((v) => v / f2);
    const step = regularizedStep(model, y, F, lam * f2, denseLimit);
    if (step) {
      // Armijo on phi along d, relative: the slope F^T B d / ||F||^2 is -1 for an unregularized exact solve.
      const slope = dot(Fs, step.Bd) / f2;
      let t = 1;
      let moved = false;
      const yScale = normInf(y) + 1;
      for (let k = 0; slope < 0 && k < 40 && t * normInf(step.d) > UNIT_ROUNDOFF_TIMES_4 * yScale; k++, t *= 0.5) {
        const trial = y.map((v, i) => v + t * step.d[i]);
        model.residual(trial, Ftrial);
        const ratio = norm2(Ftrial) / f2;
        if (Number.isFinite(ratio) && ratio * ratio <= 1 + 1e-4 * t * slope) {
          accept(trial, Ftrial.slice(), 1);
          usedNewton = true;
          moved = true;
          break;
        }
      }
      if (moved) {
        lam = lam / 4 < 1e-8 ? 0 : lam / 4;
        continue;
      }
      lam = Math.min(Math.max(lam * 4, 1e-2), 1e8);
      lastFailure = 'line-search-failed';
    } else {
      // A singular B (a kink's selected element, abs'(0) = 0): the shift makes it regular.
      const retry = lam === 0;
      lam = Math.min(Math.max(lam * 4, 1e-2), 1e8);
      lastFailure = 'singular';
      if (retry) continue;
    }

    // The map: a chunk of Anderson steps, kept if it lowers the residual.
    if (model.hasMap && budget() > 0) {
      const r = anderson(y, mapChunk);
      const FNew = new Float64Array(n);
      model.residual(r.y, FNew);
      if (normInf(FNew) < res) {
        accept(r.y, FNew, r.iterations);
        mapChunk = Math.min(2 * mapChunk, 10_000);
        continue;
      }
      iterations += r.iterations;
      if (r.status === 'diverged' || r.status === 'non-finite') lastFailure = r.status;
    }

    // Solodov-Svaiter: z = y + t d with -F(z)^T d >= 0.01 (-F(y)^T d), then y projected onto
    // the hyperplane {v : F(z)^T (v - z) = 0}, which separates y from the roots of a monotone F.
    // (Scaled by the norms of F(y) and F(z), which may be past 1e154.)
    if (step) {
      const s0 = -dot(Fs, step.d);
      let t = 1;
      let moved = false;
      for (let k = 0; s0 > 0 && k < 40 && !moved; k++, t *= 0.5) {
        const z = y.map((v, i) => v + t * step.d[i]);
        model.residual(z, Ftrial);
        const fz = norm2(Ftrial);
        const Fzs = Ftrial.map((v) => v / fz);
        const s = -dot(Fzs, step.d);
        if (Number.isFinite(s) && fz > 0 && (fz / f2) * s >= 0.01 * s0) {
          // y - (t F(z)^T d / ||F(z)||^2) F(z), written with the unit vector F(z) / ||F(z)||.
          const yNew = y.map((v, i) => v - t * s * Fzs[i]);
          const FNew = new Float64Array(n);
          model.residual(yNew, FNew);
          if (isFiniteVector(yNew) && Number.isFinite(normInf(FNew))) {
            accept(yNew, FNew, 1);
            usedNewton = true;
            moved = true;
          }
        }
      }
      if (moved) continue;
    }

    // Last resort: steepest descent on phi, g = B^T F, at the Cauchy step of the linear model.
    // (g = B^T F / ||F||, so that its square does not overflow; the step is t ||F|| g.)
    const factors = model.kinkFactors(y);
    const g = new Float64Array(n);
    model.vjpY(y, factors, Fs, g);
    const Bg = new Float64Array(n);
    model.jvpY(y, factors, g, Bg);
    const g2 = dot(g, g);
    const bg2 = dot(Bg, Bg);
    let moved = false;
    if (g2 > 0 && bg2 > 0 && Number.isFinite(g2 + bg2)) {
      let t = g2 / bg2;
      for (let k = 0; k < 40 && !moved; k++, t *= 0.5) {
        const trial = y.map((v, i) => v - t * f2 * g[i]);
        model.residual(trial, Ftrial);
        const ratio = norm2(Ftrial) / f2;
        if (Number.isFinite(ratio) && ratio * ratio <= 1 - 1e-4 * t * 2 * g2) {
          accept(trial, Ftrial.slice(), 1);
          usedNewton = true;
          moved = true;
        }
      }
    }
    if (!moved) return done(lastFailure);
  }
}

/** Steps shorter than this relative to ||y|| change nothing in floating point. */
const UNIT_ROUNDOFF_TIMES_4 = 4 * 2 ** -53;
