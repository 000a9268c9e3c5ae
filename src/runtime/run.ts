/**
 * Solve, certify, differentiate: the object `implc solve` prints (LANGUAGE.md
 * "Command line"). Derivatives are attached only to a converged solution whose
 * certificate is not `violated` (MATH.md 5: a backward pass on a violated
 * solution must not silently return numbers) and that is not on a jump of F, and whose model's stated assumptions
 * (`require`) hold on the actual values: outside them the analysis's conclusions need not
 * hold either.
 */
import { certifySelection } from './certificate.ts';
import type { CertifyOptions, RuntimeCertificate } from './certificate.ts';
import { ImplicitDerivatives } from './derivatives.ts';
import type { DerivativeOptions } from './derivatives.ts';
import type { ModelInstance, RequireViolation } from './model.ts';
import { InputError } from './inputs.ts';
import { outputEntryCount, outputLayoutOf } from './output-layout.ts';
import { solveInstance } from './solve.ts';
import type { InstanceStatus, SolveMethod, UsedMethod } from './solve.ts';
import { SolverError } from './status.ts';
import type { AssumptionStatus, SolverErrorCode } from './status.ts';
import { isFiniteVector, requireBoolean, requireModel, requireLimit, requireOptions, requireStart } from './validate.ts';

/** A scalar, or arrays nested per dimension (matrices as arrays of rows). */
export type Nested = number | Nested[];

export interface RunOptions {
  method?: SolveMethod;
  /** Tolerance on ||F||_inf, a finite number >= 0 (default 1e-10). */
  tol?: number;
  /** Iteration cap of the forward solve, all phases together, an integer >= 1. */
  maxIter?: number;
  /** Wall-clock limit of the forward solve in milliseconds, a number >= 0 (default none); on reaching it the solve stops with `max-iterations`. */
  timeLimitMs?: number;
  /** Attach the full dy/dx (`jacobian.U.P`). */
  jacobian?: boolean;
  /** Start of the solve: n finite numbers (default: the declared initial values). */
  y0?: Float64Array | readonly number[];
  /** Dense limit of certificate and derivatives, an integer >= 0 or Infinity (default 2000). */
  denseLimit?: number;
}

const RUN_OPTIONS: readonly (keyof RunOptions)[] = ['method', 'tol', 'maxIter', 'timeLimitMs', 'jacobian', 'y0', 'denseLimit'];

/**
 * The status of a run: the solver's, or `assumption-failed` when a `require` clause does not
 * hold (on the inputs, before the solve; or at the solution).
 */
export type RunStatus = InstanceStatus | AssumptionStatus;

/**
 * Why the derivatives of a converged solution whose certificate is not `violated` are
 * missing: `reason` is the code of the failure (`singular`, `non-finite`, `breakdown`, ...).
 */
export interface DerivativesUnavailable {
  status: 'unavailable';
  reason: SolverErrorCode;
  detail: string;
}

/**
 * The object `implc solve` prints. Every number in it is a JS number, and any that is not
 * finite (NaN, +-Infinity: what JSON cannot hold) is listed in `nonFinite`, with status
 * `non-finite`. The tables keyed by declared names (`solution`, `outputs`, `jacobian`,
 * `gradients`) have no prototype, so that a name such as `__proto__` is an ordinary key.
 */
export interface RunResult {
  model: string;
  /**
   * The solver's status, except `assumption-failed` when a `require` clause does not hold
   * (`failedRequires` lists them), and otherwise `non-finite` whenever a number of this result
   * is not finite (even when the solver converged: an output may overflow at a finite solution).
   */
  status: RunStatus;
  /**
   * With status `assumption-failed`: the clauses that do not hold, as written, with their
   * `line:column`. A clause on the inputs alone fails before any solve: `solution` and
   * `outputs` are then those of the start, `iterations` is 0 and `method` is `none`.
   */
  failedRequires?: RequireViolation[];
  /**
   * Present when some number of the result, or of the derivatives due, is not finite: its
   * path, `residual`, `solution.U`, `outputs.O`, `jacobian`, `gradients`,
   * `gradients.O` or `gradients.O.P` (U, O, P the declared names). No derivatives are given
   * then (and `derivatives` says why when they were due).
   */
  nonFinite?: string[];
  iterations: number;
  residual: number;
  /**
   * The method that produced `solution`; `none` when no solve was made (a clause on the inputs
   * failed, or the model has no unknown: an explicit layer).
   */
  method: UsedMethod | 'none';
  solution: Record<string, Nested>;
  /**
   * Each output with its own shape: a number for a scalar output, nested arrays (a Nested)
   * for a vector or matrix one. Typed `number` for the callers written for scalar outputs
   * (demos, benches); read a non-scalar output as `Nested`.
   */
  outputs: Record<string, number>;
  /**
   * For a model without unknowns (an explicit layer: outputs of the inputs alone), there is no
   * implicit function and nothing to invert: verdict `certified`, test `explicit`, and a detail
   * saying so ({@link EXPLICIT_CERTIFICATE}).
   */
  certificate: RuntimeCertificate;
  /** jacobian[U][P]: the shape of U followed by the shape of P; only when asked for. */
  jacobian?: Record<string, Record<string, Nested>>;
  /**
   * gradients[O][P]: the shape of P for a scalar O; for a vector or matrix O its full Jacobian,
   * the shape of O followed by the shape of P (entry [i][...] is the gradient of O[i]).
   */
  gradients?: Record<string, Record<string, Nested>>;
  /**
   * Per output whose own formula has a kink at a tie at this solution (`norm1(beta)` with a
   * zero coefficient): the site, how many of its elements are tied, and the element the
   * gradient used there (the kernels' selection, one element of the conservative set). Such a
   * kink is the output's, not F's: it does not touch the certificate. Absent when there is none.
   */
  outputKinks?: Record<string, OutputKink[]>;
  /**
   * Present when derivatives were due (a converged solution whose certificate is not
   * `violated`) but could not be computed: then neither `jacobian` nor `gradients` is given.
   */
  derivatives?: DerivativesUnavailable;
}

/** Row-major flat data to nested arrays of the given shape ([] gives the scalar data[0]). */
export function unflatten(data: ArrayLike<number>, shape: readonly number[]): Nested {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new SolverError('dimension-mismatch', `unflatten: ${data.length} values for shape [${shape.join(', ')}]`);
  }
  const build = (offset: number, dim: number): Nested => {
    if (dim === shape.length) return data[offset];
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim] }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}

/** A table keyed by declared names: no prototype, so `__proto__` or `toString` is an ordinary key. */
function table<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/**
 * Solve, certify, differentiate. Bad options throw SolverError('invalid-option') naming the
 * option; every numerical outcome is in the result (status, `nonFinite`, `derivatives`).
 */
export function runModel(model: ModelInstance, options: RunOptions = {}): RunResult {
  requireModel('runModel', model);
  const given = requireOptions(`runModel(${model.name})`, options, RUN_OPTIONS);
  const denseLimit = given.denseLimit === undefined ? undefined : requireLimit(`runModel(${model.name}): denseLimit`, given.denseLimit);
  const wantJacobian = given.jacobian === undefined ? false : requireBoolean(`runModel(${model.name}): jacobian`, given.jacobian);
  const y0 = given.y0 === undefined ? undefined : requireStart(`runModel(${model.name}): y0`, given.y0, model.n);
  // The clauses on the inputs alone decide before any solve: outside its stated domain the
  // model's solve may fail, or succeed with numbers nothing vouches for.
  const onInputs = model.requireViolations?.(null) ?? [];
  if (onInputs.length > 0) {
    const start = y0 ?? model.initial();
    const F = new Float64Array(model.n);
    model.residual(start, F);
    let residual = 0;
    for (let i = 0; i < F.length; i++) residual = Math.max(residual, Math.abs(F[i]));
    const { solution, outputs } = tables(model, start, []);
    return {
      model: model.name,
      status: 'assumption-failed',
      failedRequires: onInputs,
      iterations: 0,
      residual: Number.isFinite(residual) ? residual : Infinity,
      method: 'none',
      solution,
      outputs,
      certificate: assumptionCertificate(onInputs, 'for these inputs: nothing was solved'),
    };
  }
  const explicit = model.n === 0;
  const solved = explicit
    ? { y: new Float64Array(0), status: 'converged' as const, iterations: 0, residual: 0, method: 'none' as const }
    : solveInstance(model, { method: given.method, tol: given.tol, maxIter: given.maxIter, timeLimitMs: given.timeLimitMs, y0 });
  const { y } = solved;
  const nonFinite: string[] = [];
  if (!Number.isFinite(solved.residual)) nonFinite.push('residual');
  const { solution, outputs, solutionFinite } = tables(model, y, nonFinite);

  if (solved.status === 'non-finite' || nonFinite.length > 0) {
    // A value of the inputs alone that is not finite (`1 / opnorm(X)^2` with X = 0) is why.
    const problems = model.inputProblems?.() ?? [];
    // Hoisted values are recorded in dependency order: the first is a cause, the rest may follow from it.
    if (problems.length > 0) throw new InputError(problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more computed from the inputs)`);
  }

  // A clause on the unknowns is checked at a solution only: at an iterate that is none, its
  // failure would say nothing about the model's assumptions.
  const atSolution = solved.status === 'converged' && solutionFinite ? (model.requireViolations?.(y) ?? []) : [];
  if (atSolution.length > 0) {
    return {
      model: model.name,
      status: 'assumption-failed',
      failedRequires: atSolution,
      ...(nonFinite.length > 0 ? { nonFinite } : {}),
      iterations: solved.iterations,
      residual: solved.residual,
      method: solved.method,
      solution,
      outputs,
      certificate: assumptionCertificate(atSolution, 'at the solution'),
    };
  }

  const certifyOptions: CertifyOptions = { denseLimit };
  const certified = !explicit && solved.status === 'converged' && solutionFinite ? certifySelection(model, y, solved.residual, certifyOptions) : null;
  const certificate: RuntimeCertificate =
    explicit
      ? { ...EXPLICIT_CERTIFICATE }
      : certified
      ? certified.certificate
      : {
          verdict: 'unverified',
          test: 'none',
          ties: 0,
          detail:
            solved.status === 'converged'
              ? `${nonFinite.join(', ')} not finite: there is no solution to certify`
              : `the solve did not converge (${solved.status}, residual ${solved.residual.toExponential(3)}): there is no solution to certify`,
          condition: null,
          errorBound: null,
        };

  const result: RunResult = {
    model: model.name,
    status: nonFinite.length > 0 ? 'non-finite' : solved.status,
    ...(nonFinite.length > 0 ? { nonFinite } : {}),
    iterations: solved.iterations,
    residual: solved.residual,
    method: solved.method,
    solution,
    outputs,
    certificate,
  };
  // A solution where F jumps (the switch of an `if` whose branches differ: test `continuity`)
  // has no derivative at all, like a violated one: no numbers are returned.
  if (solved.status !== 'converged' || certificate.verdict === 'violated' || certificate.test === 'continuity') return result;
  if (nonFinite.length > 0) {
    if (certified) result.certificate = { ...certificate, detail: `${certificate.detail}; ${nonFinite.join(', ')} not finite: no derivatives` };
    return result;
  }

  // The certificate's factorization of the selected B serves every derivative solve.
  const derivativeOptions: DerivativeOptions = { denseLimit, prefactored: certified?.selected ?? undefined, ...(certified?.structured ? { structured: certified.structured } : {}) };
  const derivatives = attachDerivatives(model, y, derivativeOptions, wantJacobian);
  if ('failure' in derivatives) {
    const { failure, paths } = derivatives;
    result.derivatives = failure;
    result.certificate = { ...certificate, detail: `${certificate.detail}; derivatives unavailable: ${failure.detail}` };
    if (paths.length === 0) return result;
    // Derivatives that are not finite: the result says so, with no numbers (keys in their documented order).
    const { model: name, status: _status, ...rest } = result;
    return { model: name, status: 'non-finite', nonFinite: paths, ...rest };
  }
  if (derivatives.jacobian) result.jacobian = derivatives.jacobian;
  result.gradients = derivatives.gradients;
  const kinks = outputKinks(model, y, solved.residual);
  if (kinks) result.outputKinks = kinks;
  return result;
}

/**
 * The certificate of a model without unknowns (an explicit layer). There is no implicit
 * function: y is empty, B is the 0 x 0 matrix (invertible, vacuously), and the output
 * derivatives are the chain rule through the outputs' own formulas (plain AD), an element of
 * their conservative Jacobian (MATH.md 4 with no implicit part). Verdict `certified` says that
 * the derivatives returned need no invertibility assumption; test `explicit` says why. An
 * output's own kinks are reported in `outputKinks`, as for any model.
 */
export const EXPLICIT_CERTIFICATE: Readonly<RuntimeCertificate> = Object.freeze({
  verdict: 'certified',
  test: 'explicit',
  ties: 0,
  detail: 'no unknowns: the outputs are explicit functions of the inputs, so there is no implicit function and nothing to invert; the derivatives are those of the outputs\' formulas (AD), and their kinks are listed in outputKinks',
  condition: null,
  errorBound: 0,
});

export interface OutputKink {
  /** `primitive at line:column`. */
  site: string;
  /** Tied elements of the site at the solution. */
  ties: number;
  /**
   * The value the gradient used for the first tied elements (at most 8), in the site's range.
   * Empty for a kink without a diagonal factor (see `face`).
   */
  used: number[];
  /** The site's range; [0, 1] for a kink without a diagonal factor: the weights of the hull's pieces. */
  range: readonly [number, number];
  /**
   * Only for a kink without a diagonal factor: the projections with faces (proj_simplex,
   * proj_l1ball, proj_soc), proj_l2ball, proj_psd, block_soft_threshold, and norm2, norminf,
   * maxof, minof (and their row forms), whose conservative Jacobian or gradient at a tie is a
   * hull (face projections, the pieces either side of a sphere, Daleckii-Krein operators, the
   * unit ball, the tied entries' unit vectors), not an interval per element: which piece the
   * gradient used and what the hull is, in the registry's words. `ties` counts the entries
   * its gap puts at 0: per entry for the simplex (`|v_i - tau|`) and per group entry for
   * block_soft_threshold; the boundary gaps of the cone, the balls and proj_psd's smallest
   * |eigenvalue| are shared by every entry of the value (n for proj_l2ball of an n-vector,
   * n^2 for an n x n proj_psd); one for norm2, norminf, maxof and minof, one per row for the
   * row forms.
   */
  face?: { used: string; hull: string };
}

/** The output-only kinks without a diagonal factor of a generated module (codegen/module/class.ts); absent on hand-written models. */
interface OutputNonDiagonalKinks {
  outputNonDiagonalSites?: readonly { primitive: string; at: string; outputs: readonly number[]; used: string; hull: string }[];
  outputNonDiagonalGaps?(y: Float64Array): Float64Array[];
}

/** The output-only kink sites tied at y, per output (see RunResult.outputKinks); null when none. */
function outputKinks(model: ModelInstance, y: Float64Array, residual: number): Record<string, OutputKink[]> | null {
  const sites = model.kinkSites;
  const projections = (model as ModelInstance & OutputNonDiagonalKinks).outputNonDiagonalSites ?? [];
  const diagonal = sites.some((s) => s.inF === false && s.outputs && s.outputs.length > 0);
  if (!diagonal && projections.length === 0) return null;
  // The run-time certificate's tie tolerance (certificate.ts): ||F|| and y's scale.
  const tol = Math.max(1e-9, 100 * (Number.isFinite(residual) ? residual : Infinity)) * (1 + y.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
  const out: Record<string, OutputKink[]> = Object.create(null);
  // Kinks without a diagonal factor (projections, groups, norms, extremes): a tie is an entry
  // whose gap (its distance from a switching surface, computed from the primitive's arguments)
  // is within the tolerance; a NaN gap cannot be excluded from being one.
  if (projections.length > 0) {
    const pgaps = (model as ModelInstance & OutputNonDiagonalKinks).outputNonDiagonalGaps!(y);
    projections.forEach((s, i) => {
      let ties = 0;
      for (const g of pgaps[i]) if (!(Math.abs(g) > tol)) ties++;
      if (ties === 0) return;
      const kink: OutputKink = { site: `${s.primitive} at ${s.at}`, ties, used: [], range: [0, 1], face: { used: s.used, hull: s.hull } };
      for (const k of s.outputs) (out[model.outputNames[k]] ??= []).push(kink);
    });
  }
  if (!diagonal) return Object.keys(out).length > 0 ? out : null;
  const gaps = model.kinkGaps(y);
  const factors = model.kinkFactors(y);
  sites.forEach((s, i) => {
    if (s.inF !== false || !s.outputs) return;
    const g = gaps[i];
    const n = s.switch ? g.length / 2 : g.length;
    const tied: number[] = [];
    for (let e = 0; e < n; e++) if (!(Math.abs(g[e]) > tol)) tied.push(e);
    if (tied.length === 0) return;
    const kink: OutputKink = { site: `${s.primitive} at ${s.at}`, ties: tied.length, used: tied.slice(0, 8).map((e) => factors[i][e]), range: s.range };
    for (const k of s.outputs) (out[model.outputNames[k]] ??= []).push(kink);
  });
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * The solution and output tables at y; the paths of the numbers that are not finite are
 * added to `nonFinite`, and `solutionFinite` says whether y itself is.
 */
function tables(model: ModelInstance, y: Float64Array, nonFinite: string[]): { solution: Record<string, Nested>; outputs: Record<string, number>; solutionFinite: boolean } {
  const before = nonFinite.length;
  const solution = table<Nested>();
  for (const u of model.unknowns) {
    const block = y.subarray(u.offset, u.offset + u.size);
    if (!isFiniteVector(block)) nonFinite.push(`solution.${u.name}`);
    solution[u.name] = unflatten(block, u.shape);
  }
  const solutionFinite = nonFinite.length === before;
  const values = model.outputs(y);
  const outputs = table<Nested>();
  for (const o of outputLayoutOf(model)) {
    const block = values.subarray(o.offset, o.offset + o.size);
    outputs[o.name] = unflatten(block, o.shape);
    if (!isFiniteVector(block)) nonFinite.push(`outputs.${o.name}`);
  }
  return { solution, outputs: outputs as Record<string, number>, solutionFinite };
}

/**
 * The certificate of a run whose stated assumptions fail: nothing is certified, since the
 * analysis may have used them (ranges, norm bounds), and the detail names each clause and
 * its place, where it fails (`for these inputs`, `at the solution`).
 */
function assumptionCertificate(failed: readonly RequireViolation[], where: string): RuntimeCertificate {
  const clauses = failed.map((v) => `\`require ${v.clause}\` (at ${v.at})`);
  const list = clauses.length === 1 ? clauses[0] : `${clauses.slice(0, -1).join(', ')} and ${clauses[clauses.length - 1]}`;
  return {
    verdict: 'unverified',
    test: 'require',
    ties: 0,
    detail: `${list} ${failed.length === 1 ? 'does' : 'do'} not hold ${where}: the model is outside its stated assumptions, so nothing is certified and no derivatives are given`,
    condition: null,
    errorBound: null,
  };
}

type Attached =
  | { jacobian: Record<string, Record<string, Nested>> | null; gradients: Record<string, Record<string, Nested>> }
  | { failure: DerivativesUnavailable; paths: string[] };

/**
 * The jacobian (when asked for) and the output gradients, or why they cannot be given: a
 * numerical failure of the backward solves gives no numbers rather than wrong ones, and a
 * non-finite derivative names its place (`jacobian`, `gradients.O` or `gradients.O.P`).
 */
function attachDerivatives(model: ModelInstance, y: Float64Array, options: DerivativeOptions, wantJacobian: boolean): Attached {
  const fail = (err: SolverError, paths: string[] = []): Attached => {
    // Inputs and options were checked before the solve: a non-finite matrix here is B or A
    // at the solution (a derivative that blows up there), not the caller's input.
    const reason: SolverErrorCode = err.code === 'non-finite-input' ? 'non-finite' : err.code;
    const detail = err.code === 'non-finite-input' ? `a matrix of the implicit system (B = dF/dy or A = dF/dx) is not finite at the solution (${err.message})` : err.message;
    return { failure: { status: 'unavailable', reason, detail }, paths: reason === 'non-finite' ? paths : [] };
  };
  let d: ImplicitDerivatives;
  try {
    d = new ImplicitDerivatives(model, y, options);
  } catch (err) {
    if (!(err instanceof SolverError)) throw err;
    // B itself cannot be factored (not finite, singular): every derivative due is lost.
    return fail(err, [...(wantJacobian ? ['jacobian'] : []), ...(outputEntryCount(model) > 0 ? ['gradients'] : [])]);
  }
  let jacobian: Record<string, Record<string, Nested>> | null = null;
  if (wantJacobian) {
    try {
      jacobian = jacobianBlocks(model, d);
    } catch (err) {
      if (!(err instanceof SolverError)) throw err;
      return fail(err, ['jacobian']);
    }
  }
  let grads: Float64Array[];
  try {
    grads = d.outputGradients();
  } catch (err) {
    if (!(err instanceof SolverError)) throw err;
    return fail(err, err.code === 'non-finite' ? nonFiniteGradients(model, d) : []);
  }
  const gradients = table<Record<string, Nested>>();
  const paths: string[] = [];
  for (const o of outputLayoutOf(model)) {
    const perParam = table<Nested>();
    for (const p of model.params) {
      // A scalar output: its gradient, the shape of P; a vector or matrix one: its Jacobian,
      // the shape of O followed by the shape of P (row e the gradient of entry e).
      const block = new Float64Array(o.size * p.size);
      for (let e = 0; e < o.size; e++) block.set(grads[o.offset + e].subarray(p.offset, p.offset + p.size), e * p.size);
      if (!isFiniteVector(block)) paths.push(`gradients.${o.name}.${p.name}`);
      perParam[p.name] = unflatten(block, [...o.shape, ...p.shape]);
    }
    gradients[o.name] = perParam;
  }
  if (paths.length > 0) return fail(new SolverError('non-finite', `${paths.join(', ')} not finite`), paths);
  return { jacobian, gradients };
}

/** Where the output gradients are not finite: `gradients.O.P`, or `gradients.O` when the adjoint solve itself fails. */
function nonFiniteGradients(model: ModelInstance, d: ImplicitDerivatives): string[] {
  const paths: string[] = [];
  for (const o of outputLayoutOf(model)) {
    const bad = new Set<string>();
    for (let e = 0; e < o.size; e++) {
      const g = new Float64Array(model.m);
      try {
        d.addOutputGradient(o.offset + e, g, { checked: false });
      } catch (err) {
        if (!(err instanceof SolverError)) throw err;
        bad.add(`gradients.${o.name}`);
        continue;
      }
      for (const p of model.params) if (!isFiniteVector(g.subarray(p.offset, p.offset + p.size))) bad.add(`gradients.${o.name}.${p.name}`);
    }
    // The whole output's path when its adjoint solve failed, else each parameter's.
    if (bad.has(`gradients.${o.name}`)) paths.push(`gradients.${o.name}`);
    else paths.push(...[...bad]);
  }
  return paths.length > 0 ? paths : ['gradients'];
}

function jacobianBlocks(model: ModelInstance, d: ImplicitDerivatives): Record<string, Record<string, Nested>> {
  const J = d.jacobian();
  const m = model.m;
  const out = table<Record<string, Nested>>();
  for (const u of model.unknowns) {
    const perParam = table<Nested>();
    for (const p of model.params) {
      const block = new Float64Array(u.size * p.size);
      for (let a = 0; a < u.size; a++) {
        for (let b = 0; b < p.size; b++) block[a * p.size + b] = J.data[(u.offset + a) * m + p.offset + b];
      }
      if (!isFiniteVector(block)) throw new SolverError('non-finite', `jacobian.${u.name}.${p.name} not finite`);
      perParam[p.name] = unflatten(block, [...u.shape, ...p.shape]);
    }
    out[u.name] = perParam;
  }
  return out;
}
