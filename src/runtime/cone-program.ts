/**
 * Cone programs as layers (issue 16): the run-time side of src/analysis/cone-form.ts. A model
 * whose two equations state
 *
 *     alpha (A x + s - b) = 0,   beta (A'(s - v) + c) = 0,   s = proj_cone(v, K),
 *
 * (the Minty parametrization of the KKT conditions of min c'x s.t. A x + s = b, s in K: y = s - v
 * is the dual variable, in K*, and s'y = 0 for every v) is solved here by Douglas-Rachford
 * (cone-solver.ts: the factorization of rho I + A'A kept across iterations and instances, Anderson
 * acceleration, warm starts) and certified from the cone's ties at v:
 *
 * - B = dF/d(x, v) = [[alpha A, alpha D], [0, beta A'(D - I)]] (rows in F's block order, columns
 *   in the unknowns' order), D in the conservative Jacobian of Pi_K at v.
 * - No tie (strict complementarity at every block: no nonneg entry with s_i = y_i = 0, no
 *   second-order block whose v lies on the boundary of the cone or of its polar, which is s on
 *   the cone's boundary with y = 0, or s = 0 with y on the boundary, or both 0; no PSD block
 *   with a zero eigenvalue of v): Pi_K is differentiable at v, D is one matrix, and the
 *   conservative Jacobian of F is the single B. B invertible certifies (`cone
 *   complementarity`), decided on its reduced system (cone-reduced.ts: an LU of order n for an
 *   LP) with its condition estimated. Invertibility of that B is the nondegeneracy of the
 *   program at the solution (unique primal and dual solutions, Alizadeh, Haeberly and Overton
 *   1997).
 * - Ties (strict complementarity fails): never certified. Each tie's pieces (coneTies) span the
 *   hull; a singular vertex, or two vertices whose det B have opposite signs (the segment
 *   between them lies in the hull, det is continuous on it) is `violated`, with the ties named
 *   by constraint (`nonneg row 4`, `soc block 2 (rows 7-10)`, `psd block 1: eigenvalue 2`);
 *   otherwise `unverified`: the hull of the cone's pieces is not decided by its vertices (and
 *   for an LP, Goldman-Tucker: a tie with unique primal and dual solutions cannot happen, so a
 *   tie the tolerance sees without a singular vertex is a near-tie whose derivative is not
 *   trusted either).
 */
import { conditionEstimate1, determinantSign, inverseNorm1Estimate, luFactor, type LuResult } from './lu.ts';
import type { Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { solveCone, type ConeCallbacks, type ConeSolveResult } from './cone-solver.ts';
import type { Tensor } from './tensor.ts';
import { residualInf } from './residual.ts';
import { reducedConeSystem, reducedOrder, splitRows, type ReducedConeSystem } from './cone-reduced.ts';
import { coneGap, coneJacobian, coneTies, decodeCone, projectCone, projectDualCone, type ConeSpec, type ConeTie } from './values/cones.ts';

/** What a generated module says of its cone program (codegen: `coneProgram()`). */
export interface ConeProgramHook {
  /** The cone's code vector (src/runtime/values/cones.ts decodeCone). */
  cone: Tensor;
  coneName: string;
  /** The projection's primitive, for messages. */
  primitive: string;
  /** `line:column` of the projection. */
  at: string;
  /** Indices of x and v among the unknowns. */
  x: number;
  v: number;
  /** Which residual block states primal and dual feasibility, and its scale (alpha, beta). */
  primal: { block: number; scale: number };
  dual: { block: number; scale: number };
  /** A = sum coef * matrix (or its transpose). */
  matrices: readonly { coef: number; matrix: Tensor; transposed: boolean }[];
}

/** The program on this instance's values, with where its parts lie in y and in F. */
export interface ConeProblem {
  readonly name: string;
  readonly primitive: string;
  readonly at: string;
  /** m x n. */
  readonly A: Matrix;
  readonly b: Float64Array;
  readonly c: Float64Array;
  readonly K: ConeSpec;
  readonly callbacks: ConeCallbacks;
  readonly n: number;
  readonly m: number;
  /** Offsets of x and v in the unknowns' vector y. */
  readonly xAt: number;
  readonly vAt: number;
  /** Offsets of the primal and dual blocks in F, and their scales. */
  readonly primalAt: number;
  readonly dualAt: number;
  readonly alpha: number;
  readonly beta: number;
}

const problems = new WeakMap<ModelInstance, ConeProblem | null>();

/**
 * Assembled A's, keyed on the first term's array: an instance derived by `with` shares its
 * matrices' arrays with its base when they do not depend on what changed, and then gets the
 * same assembled array, which the factorization cache (cone-solver.ts) keys on.
 */
const assembled = new WeakMap<Float64Array, { terms: readonly { coef: number; data: Float64Array; transposed: boolean }[]; A: Matrix }>();

/** A = sum coef M (M or M'): the tensor itself when it is one untransposed term with coef 1 (no copy: the factorization cache keys on it). */
function assembleA(hook: ConeProgramHook, m: number, n: number): Matrix {
  const [first] = hook.matrices;
  if (hook.matrices.length === 1 && first.coef === 1 && !first.transposed) return { rows: m, cols: n, data: first.matrix.data };
  const terms = hook.matrices.map((t) => ({ coef: t.coef, data: t.matrix.data, transposed: t.transposed }));
  const hit = assembled.get(first.matrix.data);
  if (hit && hit.A.rows === m && hit.A.cols === n && hit.terms.length === terms.length && hit.terms.every((t, i) => t.coef === terms[i].coef && t.data === terms[i].data && t.transposed === terms[i].transposed)) {
    return hit.A;
  }
  const A = { rows: m, cols: n, data: sumOfTerms(hook, m, n) };
  assembled.set(first.matrix.data, { terms, A });
  return A;
}

function sumOfTerms(hook: ConeProgramHook, m: number, n: number): Float64Array {
  const data = new Float64Array(m * n);
  for (const { coef, matrix, transposed } of hook.matrices) {
    const M = matrix.data;
    if (transposed) {
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) data[i * n + j] += coef * M[j * m + i];
    } else {
      for (let k = 0; k < m * n; k++) data[k] += coef * M[k];
    }
  }
  return data;
}

/** The cone program of a model instance, or null when the model is not one (memoized per instance). */
export function coneProblem(model: ModelInstance): ConeProblem | null {
  if (problems.has(model)) return problems.get(model)!;
  const hook = model.coneProgram?.() ?? null;
  let problem: ConeProblem | null = null;
  if (hook) {
    const x = model.unknowns[hook.x];
    const v = model.unknowns[hook.v];
    const n = x.size;
    const m = v.size;
    const K = decodeCone(hook.cone.data);
    if (K.size !== m) throw new Error(`internal error: cone ${hook.coneName} has length ${K.size}, the unknown ${v.name} ${m}`);
    const A = assembleA(hook, m, n);
    // b and c are F's constant parts: F at y = 0 (proj_cone(0) = 0).
    const F = new Float64Array(model.n);
    model.residual(new Float64Array(model.n), F);
    const primalAt = hook.primal.block === 0 ? 0 : n;
    const dualAt = hook.dual.block === 0 ? 0 : m;
    const alpha = hook.primal.scale;
    const beta = hook.dual.scale;
    const b = Float64Array.from(F.subarray(primalAt, primalAt + m), (f) => -f / alpha);
    const c = Float64Array.from(F.subarray(dualAt, dualAt + n), (f) => f / beta);
    const uniformBlocks = K.blocks.filter((k) => k.kind === 'soc' || k.kind === 'psd').map((k) => ({ offset: k.offset, size: k.size }));
    const callbacks: ConeCallbacks = {
      project: (w, out) => projectCone(K, w, out),
      projectDual: (w, out) => projectDualCone(K, w, out),
      uniformBlocks,
    };
    problem = { name: hook.coneName, primitive: hook.primitive, at: hook.at, A, b, c, K, callbacks, n, m, xAt: x.offset, vAt: v.offset, primalAt, dualAt, alpha, beta };
  }
  problems.set(model, problem);
  return problem;
}

export interface ConeSolveSummary {
  /** The unknowns (x and v in their places), always finite. */
  y: Float64Array;
  /** ||F(y)||_inf at y. */
  residual: number;
  iterations: number;
  status: ConeSolveResult['status'];
  /** The solver's last run (its certificate of infeasibility or unboundedness, residuals). */
  last: ConeSolveResult;
}


/**
 * Solves the model's cone program from y0 (a warm start when it is not 0) until the model's own
 * ||F||_inf <= tol: Douglas-Rachford to the relative tolerances of `schedule` in turn (default
 * 1e-9, 1e-11, 1e-13), each run warm-started from the last (the factorization is reused
 * throughout).
 */
export function solveConeModel(
  model: ModelInstance,
  problem: ConeProblem,
  y0: Float64Array,
  options: { tol: number; maxIter: number; deadline: number; schedule?: readonly number[] },
): ConeSolveSummary {
  const { n, m, xAt, vAt } = problem;
  const start = y0.some((v) => v !== 0) ? { x: y0.slice(xAt, xAt + n), v: y0.slice(vAt, vAt + m) } : undefined;
  let warm: { x?: Float64Array; v?: Float64Array } | undefined = start;
  let iterations = 0;
  let best: ConeSolveSummary | null = null;
  for (const rel of options.schedule ?? [1e-9, 1e-11, 1e-13]) {
    const left = options.maxIter - iterations;
    if (left <= 0 || performance.now() > options.deadline) break;
    const r = solveCone(problem.A, problem.b, problem.c, problem.callbacks, {
      tol: rel,
      tolAbs: options.tol * 1e-2,
      maxIter: Math.min(left, 50_000),
      ...(warm ? { warm } : {}),
      ...(Number.isFinite(options.deadline) ? { timeLimitMs: Math.max(0, options.deadline - performance.now()) } : {}),
    });
    iterations += r.iterations;
    const y = new Float64Array(model.n);
    y.set(r.x, xAt);
    y.set(r.v, vAt);
    const residual = residualInf(model, y);
    const summary: ConeSolveSummary = { y, residual, iterations, status: r.status, last: r };
    if (!best || residual < best.residual || r.status === 'infeasible' || r.status === 'unbounded') best = summary;
    if (r.status === 'infeasible' || r.status === 'unbounded' || r.status === 'non-finite') break;
    if (residual <= options.tol) return { ...summary, status: 'converged' };
    warm = { x: r.x, v: r.v };
  }
  return { ...best!, iterations };
}

/** B at (x, v) with the cone's Jacobian D: rows in F's order, columns in y's (see the file's comment). */
export function coneB(problem: ConeProblem, D: Float64Array, order: number): Matrix {
  const { A, n, m, xAt, vAt, primalAt, dualAt, alpha, beta } = problem;
  const B = new Float64Array(order * order);
  const a = A.data;
  // Primal rows: alpha [A, D].
  for (let i = 0; i < m; i++) {
    const row = (primalAt + i) * order;
    for (let j = 0; j < n; j++) B[row + xAt + j] = alpha * a[i * n + j];
    for (let j = 0; j < m; j++) B[row + vAt + j] = alpha * D[i * m + j];
  }
  // Dual rows: beta A'(D - I): entry (j, l) = beta (sum_i A_ij D_il - A_lj).
  const AtD = new Float64Array(n * m);
  for (let i = 0; i < m; i++) {
    const Di = i * m;
    for (let j = 0; j < n; j++) {
      const aij = a[i * n + j];
      if (aij === 0) continue;
      const out = j * m;
      for (let l = 0; l < m; l++) AtD[out + l] += aij * D[Di + l];
    }
  }
  for (let j = 0; j < n; j++) {
    const row = (dualAt + j) * order;
    for (let l = 0; l < m; l++) B[row + vAt + l] = beta * (AtD[j * m + l] - a[l * n + j]);
  }
  return { rows: order, cols: order, data: B };
}

/** Most ties whose vertices are enumerated (as certificate.ts MAX_TIES). */
const MAX_CONE_TIES = 12;

export interface ConeCertificate {
  verdict: 'certified' | 'unverified' | 'violated';
  test: string;
  detail: string;
  ties: ConeTie[];
  /** The selected B and its LU (null when singular or not formed), for the derivatives to reuse. */
  selected: { B: Matrix; lu: LuResult } | null;
  /** Without ties: B's solves through its reduced system (cone-reduced.ts), for the derivatives. */
  structured?: ReducedConeSystem;
  condition: number | null;
  errorBound: number | null;
  /** The offending choices at the ties (one singular vertex, or two with opposite det signs). */
  vertices: number[][];
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : String(v));

function describe(ties: readonly ConeTie[]): string {
  const shown = ties.slice(0, 4).map((t) => t.what);
  return `${shown.join('; ')}${ties.length > 4 ? `; and ${ties.length - 4} more` : ''}`;
}

/**
 * The cone program's certificate at y (see the file's comment). `tieTol` is certificate.ts's
 * tolerance; `limit` the largest order of a dense B.
 */
export function certifyCone(model: ModelInstance, problem: ConeProblem, y: Float64Array, tieTol: number, limit: number): ConeCertificate {
  const { K, m, vAt } = problem;
  const order = model.n;
  const v = y.slice(vAt, vAt + m);
  const ties = coneTies(K, v, tieTol);
  const where = `cone \`${problem.name}\` (${problem.primitive} at ${problem.at})`;
  const D = coneJacobian(K, v);
  const F = new Float64Array(order);
  model.residual(y, F);
  if (ties.length === 0) {
    // The conservative Jacobian is the single B: solved through its reduced system
    // (cone-reduced.ts), invertible exactly when that is.
    const split = splitRows(problem, D);
    const size = reducedOrder(problem, split);
    if (size > limit) {
      return {
        verdict: 'unverified', test: 'cone complementarity', ties, selected: null, condition: null, errorBound: null, vertices: [],
        detail: `no ties at the solution, but the reduced B has order ${size}, above the dense limit ${limit}, so its invertibility is not checked`,
      };
    }
    const reduced = reducedConeSystem(problem, D, order);
    const what = reduced.form === 'diagonal' ? `the ${problem.n} x ${problem.n} matrix of the tight constraints' rows of A` : `the reduced B (order ${reduced.order} of ${order})`;
    if (reduced.singular || reduced.condition === null || reduced.condition > 1e14) {
      const tight = split.Z.length;
      const why =
        reduced.form === 'diagonal' && tight < problem.n
          ? `only ${tight} constraint row${tight === 1 ? ' is' : 's are'} tight for ${problem.n} unknowns: the primal solution is not unique (optimal points fill a face)`
          : reduced.form === 'diagonal' && tight > problem.n
            ? `${tight} constraint rows are tight for ${problem.n} unknowns: the dual solution is not unique`
            : reduced.singular
              ? `${what} is singular: the primal or dual solution is not unique`
              : `${what} has condition about ${fmt(reduced.condition ?? Infinity)}: the program is nearly degenerate`;
      return {
        verdict: reduced.singular ? 'violated' : 'unverified', test: 'cone complementarity', ties, selected: null, condition: reduced.condition, errorBound: null, vertices: [],
        detail: `strict complementarity holds at every block of ${where}, so the conservative Jacobian is the single B, but it is ${reduced.singular ? 'singular' : 'ill-conditioned'}: ${why}`,
      };
    }
    // First-order distance to the exact solution: the Newton correction B^{-1} F.
    let e1 = 0;
    for (const d of reduced.solve(F)) e1 += Math.abs(d);
    return {
      verdict: 'certified', test: 'cone complementarity', ties, selected: null, structured: reduced, condition: reduced.condition, errorBound: Number.isFinite(e1) ? e1 : null, vertices: [],
      detail: `no ties at the solution: strict complementarity holds at every block of ${where} (the nearest switching surface is ${fmt(coneGap(K, v))} away, beyond the tie tolerance ${fmt(tieTol)}), so Pi_K is differentiable at v and the conservative Jacobian is the single B = [[A, D], [0, A'(D - I)]]; it is invertible (through ${what}, condition about ${fmt(reduced.condition)}): primal and dual solutions are unique and nondegenerate`,
    };
  }
  if (order > limit) {
    return {
      verdict: 'unverified', test: 'cone complementarity', ties, selected: null, condition: null, errorBound: null, vertices: [],
      detail: `${ties.length} ties at the solution (${describe(ties)}), and B has order ${order}, above the dense limit ${limit}: its pieces are not enumerated, and a program with ties is never certified`,
    };
  }
  const B = coneB(problem, D, order);
  const lu = luFactor(B);
  let condition: number | null = null;
  let errorBound: number | null = null;
  const selected = lu.singular ? null : { B, lu };
  if (!lu.singular) {
    const c = conditionEstimate1(B, lu);
    condition = Number.isFinite(c) ? c : null;
    let f1 = 0;
    for (const f of F) f1 += Math.abs(f);
    const e = inverseNorm1Estimate(lu) * f1;
    errorBound = Number.isFinite(e) ? e : null;
  }
  const named = `${ties.length} tie${ties.length === 1 ? '' : 's'} at the solution (${describe(ties)}): strict complementarity fails in ${where}`;
  if (ties.length > MAX_CONE_TIES) {
    return { verdict: 'unverified', test: 'cone complementarity', ties, selected, condition, errorBound, vertices: [], detail: `${named}; too many to enumerate their pieces, and a program with ties is never certified` };
  }
  // The vertices: every combination of the ties' pieces.
  const counts = ties.map((t) => t.pieces);
  const choice = counts.map(() => 0);
  let firstSign: { sign: number; choice: number[] } | null = null;
  for (;;) {
    const D = coneJacobian(K, v, { ties, choice });
    const Bv = coneB(problem, D, order);
    const luv = luFactor(Bv);
    const sign = luv.singular ? 0 : determinantSign(luv);
    if (sign === 0 || (!luv.singular && inverseNorm1Estimate(luv) > 1e14)) {
      return {
        verdict: 'violated', test: 'cone complementarity', ties, selected, condition, errorBound, vertices: [choice.slice()],
        detail: `${named}; B is singular with the pieces ${ties.map((t, i) => `${t.what} -> piece ${choice[i]}`).join('; ')}: the program is degenerate at the solution, the implicit function theorem does not apply`,
      };
    }
    if (firstSign === null) firstSign = { sign, choice: choice.slice() };
    else if (sign !== firstSign.sign) {
      return {
        verdict: 'violated', test: 'cone complementarity', ties, selected, condition, errorBound, vertices: [firstSign.choice, choice.slice()],
        detail: `${named}; det B changes sign between two vertices of the hull of the cone's pieces, so some element between them is singular: the program is degenerate at the solution`,
      };
    }
    let k = 0;
    while (k < choice.length && ++choice[k] === counts[k]) choice[k++] = 0;
    if (k === choice.length) break;
  }
  return {
    verdict: 'unverified', test: 'cone complementarity', ties, selected, condition, errorBound, vertices: [],
    detail: `${named}; every vertex of the hull of the cone's pieces gives an invertible B, but B is not decided by its vertices there, and a program without strict complementarity is never certified: treat the derivative as one element of a set`,
  };
}
