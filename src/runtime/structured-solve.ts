/**
 * Structure-specific forward solvers, chosen from what the analysis recognized (not from the
 * spelling of the model): today the composite quadratic form of prox and projection
 * fixpoints (coordinate descent, src/runtime/composite-cd.ts), finished by semismooth Newton
 * on the model's own F. `solveInstance`
 * (solve.ts) asks here first in `auto` mode; null means "no structured solver applies, or it
 * did not converge": the generic path runs.
 */
import type { ModelInstance } from './model.ts';
import { semismoothNewton, type NewtonProblem } from './newton.ts';
import { CompositeSolver } from './composite-cd.ts';
import { coneB, coneProblem, solveConeModel, type ConeProblem } from './cone-program.ts';
import { reducedConeSystem, splitRows } from './cone-reduced.ts';
import { luFactor, luSolve } from './lu.ts';
import { coneJacobian } from './values/cones.ts';
import { isFiniteVector } from './validate.ts';
import { residualInf } from './residual.ts';

export interface StructuredSolveOptions {
  /** Convergence when ||F(y)||_inf <= tol. */
  tol: number;
  /** The iteration cap of the whole forward solve (sweeps and Newton steps count; Infinity: none). */
  maxIter: number;
  /** performance.now() past which no new phase starts (Infinity: none). */
  deadline: number;
  /** Largest reduced system Newton assembles densely. */
  denseLimit: number;
  /** Semismooth Newton on the model's F, for the finishing steps. */
  newton: NewtonProblem;
}

export interface StructuredSolveResult {
  /** The converged point, or null: no structured solver applies, or it fell short. */
  solution: StructuredSolution | null;
  /**
   * A structured solver proved there is no solution (a cone program's certificate of
   * infeasibility or unboundedness): the status to report, with its last point; the generic
   * path is not run.
   */
  failure?: { y: Float64Array; status: 'infeasible' | 'unbounded'; residual: number; method: 'douglas-rachford' };
  /** Sweeps and Newton steps spent, converged or not. */
  iterations: number;
}

export interface StructuredSolution {
  y: Float64Array;
  /** Converged: ||F(y)||_inf <= tol at y. */
  residual: number;
  iterations: number;
  method: 'coordinate-descent+newton' | 'douglas-rachford';
}

/**
 * A cone program: Douglas-Rachford on the program (cone-program.ts), judged by the model's F;
 * infeasibility and unboundedness are reported, not passed to the generic path (which could
 * only run out of iterations). A run that falls short of the tolerance returns no solution,
 * and the caller's generic path runs from y0 with what is left of the budget.
 */
function coneSolve(model: ModelInstance, cone: ConeProblem, y0: Float64Array, options: StructuredSolveOptions): StructuredSolveResult {
  const maxIter = Number.isFinite(options.maxIter) ? options.maxIter : 200_000;
  // Douglas-Rachford finds the faces (the active set) long before it resolves the last digits,
  // which a semismooth Newton step on the face then does at once (F is affine there): rounds
  // of Douglas-Rachford, each longer and tighter, each followed by a polish. A nearly
  // degenerate program (a multiplier of 1e-6 against costs of 1) crawls in Douglas-Rachford
  // and is finished by the polish of an early round.
  // Early rounds are short and their polish light (two steps at most: the selected piece and,
  // when an LP's tight rows are too few or too many, the pieces with the nearest orthant rows
  // switched; never B itself): on a well-posed program Douglas-Rachford has the faces, or all
  // but a row or two, after tens of iterations. A warm start (training along a `with` path: y0 is the last
  // solution) is polished before any iteration: with the same faces one step lands.
  let iterations = 0;
  const polish = (y: Float64Array, residual: number, full: boolean) => {
    if (residual <= options.tol || !isFiniteVector(y)) return { y, residual };
    const p = conePolish(model, cone, y, residual, options.tol, full ? FULL_POLISH : LIGHT_POLISH);
    iterations += p.steps;
    return p;
  };
  const solved = (y: Float64Array, residual: number): StructuredSolveResult => ({ solution: { y, residual, iterations, method: 'douglas-rachford' }, iterations });
  if (y0.some((v) => v !== 0) && isFiniteVector(y0)) {
    const w = polish(y0, residualInf(model, y0), false);
    if (w.residual <= options.tol) return solved(w.y, w.residual);
  }
  let start = y0;
  for (const [schedule, cap, full] of CONE_ROUNDS) {
    if (iterations >= maxIter || performance.now() > options.deadline) break;
    const r = solveConeModel(model, cone, start, { tol: options.tol, maxIter: Math.min(cap, maxIter - iterations), deadline: options.deadline, schedule });
    iterations += r.iterations;
    if (r.status === 'infeasible' || r.status === 'unbounded') {
      return { solution: null, iterations, failure: { y: r.y, status: r.status, residual: r.residual, method: 'douglas-rachford' } };
    }
    const { y, residual } = polish(r.y, r.residual, full);
    if (residual <= options.tol && isFiniteVector(y)) return solved(y, residual);
    if (!isFiniteVector(y)) break;
    start = y;
  }
  return { solution: null, iterations };
}

/**
 * Rounds of Douglas-Rachford: relative tolerances, an iteration cap, and whether the polish
 * after it is the full one (more steps, switched orthant rows, B itself when the reduced
 * system is singular) or the light one.
 */
const CONE_ROUNDS: readonly (readonly [readonly number[], number, boolean])[] = [
  [[1e-3], 25, false],
  [[1e-4], 50, false],
  [[1e-5], 100, false],
  [[1e-6], 250, false],
  [[1e-6], 1000, true],
  [[1e-9], 10_000, true],
  [[1e-11, 1e-13], 50_000, true],
];

interface PolishOptions {
  /** Newton steps at most. */
  steps: number;
  /** Try the pieces with the nearest orthant rows switched (completedPieces). */
  complete: boolean;
  /** Fall back to an LU of B itself (order n + m) when the reduced system is singular. */
  dense: boolean;
}

const LIGHT_POLISH: PolishOptions = { steps: 2, complete: true, dense: false };
const FULL_POLISH: PolishOptions = { steps: 6, complete: true, dense: true };

/** Largest order of what a polish step factors: the reduced system, or B itself (the certificate's dense limit). */
const POLISH_ORDER = 2000;

/**
 * A few semismooth Newton steps y <- y - B^{-1} F(y), with B = [[A, D], [0, A'(D - I)]]
 * (D the cone's selected Jacobian at v; solved through its reduced system, cone-reduced.ts,
 * or B itself when that is singular), each kept only when it lowers
 * ||F||_inf: near a solution without ties D is locally constant and one step lands on it (F is
 * affine on the piece).
 */
function conePolish(model: ModelInstance, cone: ConeProblem, y0: Float64Array, residual0: number, tol: number, how: PolishOptions): { y: Float64Array; residual: number; steps: number } {
  let y = y0;
  let residual = residual0;
  let steps = 0;
  const F = new Float64Array(model.n);
  while (steps < how.steps && !(residual <= tol)) {
    steps++;
    model.residual(y, F);
    const v = y.subarray(cone.vAt, cone.vAt + cone.m);
    const D = coneJacobian(cone.K, v);
    // The selected piece, then (a nearly degenerate LP, where the iterate has not yet told a
    // tight row with a tiny multiplier from a slack one) the piece with the orthant rows
    // nearest to switching switched, so that n rows are tight: the best step that lowers ||F||.
    let best: { y: Float64Array; r: number } | null = null;
    const completed = how.complete ? completedPieces(cone, D, v) : [];
    for (const [piece, Fp] of [[D, F], ...completed.map((c) => [c.D, pieceResidual(cone, F, c.shift)])] as [Float64Array, Float64Array][]) {
      const d = newtonStep(cone, piece, Fp, model.n, how.dense);
      if (d === null) continue;
      const next = Float64Array.from(y, (yi, i) => yi - d[i]);
      const r = residualInf(model, next);
      if (r < residual && (best === null || r < best.r)) best = { y: next, r };
    }
    if (best === null) break;
    y = best.y;
    residual = best.r;
  }
  return { y, residual, steps };
}

/** B^{-1} F at the piece D: through the reduced system (cone-reduced.ts: an LU of order n for an LP), else B itself; null when singular. */
function newtonStep(cone: ConeProblem, D: Float64Array, F: Float64Array, order: number, dense: boolean): Float64Array | null {
  const reduced = reducedConeSystem(cone, D, order, POLISH_ORDER);
  if (!reduced.singular) return reduced.solve(F);
  if (!dense || order > POLISH_ORDER) return null;
  const lu = luFactor(coneB(cone, D, order));
  return lu.singular ? null : luSolve(lu, F);
}

/**
 * F of the affine piece a completed D names, at y: on an orthant row the piece's slack is
 * D_ii v_i, not max(v_i, 0), so s moves by `shift` there, which the primal rows see times alpha
 * and the dual rows A'(s - v) times beta A'. Newton's step on the piece then lands on the
 * piece's own solution, which F itself judges.
 */
function pieceResidual(cone: ConeProblem, F: Float64Array, shift: Float64Array): Float64Array {
  const { A, n, m, alpha, beta, primalAt, dualAt } = cone;
  const out = F.slice();
  for (let i = 0; i < m; i++) {
    if (shift[i] === 0) continue;
    out[primalAt + i] += alpha * shift[i];
    for (let j = 0; j < n; j++) out[dualAt + j] += beta * A.data[i * n + j] * shift[i];
  }
  return out;
}

/** How many single flips the polish tries when one orthant row is missing (or one too many). */
const FLIP_CANDIDATES = 4;

/**
 * When every block is slack or tight (no curved face) and the tight rows are not n: pieces
 * with orthant rows nearest to their switch flipped until n rows are tight (slack rows with the
 * smallest v_i made tight, or tight rows with the smallest |v_i| made slack), each with the
 * shift of s the flip makes (the piece's slack D_ii v_i minus max(v_i, 0)). One row short (or
 * over): the FLIP_CANDIDATES nearest rows, one piece each (the nearest is not always the
 * vertex: a polish that took it would cycle between two neighbours); more: the nearest rows
 * together. None otherwise.
 */
function completedPieces(cone: ConeProblem, D: Float64Array, v: Float64Array): { D: Float64Array; shift: Float64Array }[] {
  const { P, Z, M } = splitRows(cone, D);
  if (M.length > 0 || Z.length === cone.n) return [];
  const m = cone.m;
  const orthant = new Set<number>();
  for (const b of cone.K.blocks) if (b.kind === 'nonneg') for (let i = b.offset; i < b.offset + b.size; i++) orthant.add(i);
  const piece = (rows: readonly number[], to: 0 | 1) => {
    const out = D.slice();
    const shift = new Float64Array(m);
    for (const i of rows) {
      out[i * m + i] = to;
      shift[i] = to * v[i] - Math.max(v[i], 0);
    }
    return { D: out, shift };
  };
  const flips = (rows: Int32Array, count: number, to: 0 | 1) => {
    const candidates = Array.from(rows).filter((i) => orthant.has(i)).sort((a, b) => Math.abs(v[a]) - Math.abs(v[b]));
    if (candidates.length < count) return [];
    if (count === 1) return candidates.slice(0, FLIP_CANDIDATES).map((i) => piece([i], to));
    return [piece(candidates.slice(0, count), to)];
  };
  return Z.length < cone.n ? flips(P, cone.n - Z.length, 0) : flips(Z, Z.length - cone.n, 1);
}

/** Largest support for which the closed-form polish is tried. */
const POLISH_LIMIT = 100;


/**
 * The composite problem the analysis recognized, with its solver, or null (no such form, or
 * this instance's values do not fit it: a kappa <= 0, a Q that is not symmetric, an empty box).
 */
function compositeSolver(model: ModelInstance, y0: Float64Array): { solver: CompositeSolver; scale: number } | null {
  const problem = model.compositeProblem?.() ?? null;
  if (!problem || problem.size !== y0.length || CompositeSolver.refusal(problem) !== null) return null;
  // The unit of coordinate descent's tolerance: the size of the linear term (||c|| + 1).
  let c2 = 0;
  for (const v of problem.offset) c2 += v * v;
  return { solver: new CompositeSolver(problem), scale: Math.sqrt(c2) + 1 };
}

/**
 * A converged solution by the structured solver the model's structure allows, or none (no
 * solver applies, or it fell short within the budget: the caller's generic path then runs
 * from y0 with what is left), with the iterations spent either way.
 */
export function structuredSolve(model: ModelInstance, y0: Float64Array, options: StructuredSolveOptions): StructuredSolveResult {
  const { tol, denseLimit, maxIter, deadline } = options;
  const cone = coneProblem(model);
  if (cone) return coneSolve(model, cone, y0, options);
  const cd = compositeSolver(model, y0);
  if (!cd) return { solution: null, iterations: 0 };
  // Tighter and tighter: coordinate descent only has to find the active set, which Newton
  // (a reduced solve on the free coordinates, superlinear) then finishes; it crawls on
  // correlated columns, where Newton does not.
  let y = y0;
  let sweeps = 0;
  let newtonIterations = 0;
  const left = () => maxIter - sweeps - newtonIterations;
  const solved = (y: Float64Array, residual: number, extra: number): StructuredSolveResult => ({
    solution: { y, residual, iterations: sweeps + newtonIterations + extra, method: 'coordinate-descent+newton' },
    iterations: sweeps + newtonIterations + extra,
  });
  for (const rel of [1e-4, 1e-6, 1e-8, 1e-10, 1e-12]) {
    if (left() <= 0 || performance.now() > deadline) break;
    const run = cd.solver.run(y, rel * cd.scale, Math.min(10_000, left()));
    sweeps += run.sweeps;
    if (!isFiniteVector(run.y)) break;
    y = run.y;
    // Newton's step on the active piece, in closed form; judged by the model's F.
    const exact = cd.solver.polish(y, Math.min(denseLimit, POLISH_LIMIT));
    if (exact) {
      const residual = residualInf(model, exact);
      if (residual <= tol) return solved(exact, residual, 1);
    }
    if (left() <= 0) break;
    const nt = semismoothNewton(options.newton, y, { tol, maxIter: Math.min(10, left()) });
    newtonIterations += nt.iterations;
    if (nt.status === 'converged') {
      const residual = residualInf(model, nt.y);
      if (residual <= tol) return solved(nt.y, residual, 0);
    }
  }
  return { solution: null, iterations: sweeps + newtonIterations };
}
