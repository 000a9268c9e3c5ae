/**
 * The five models of samples/pathological (MATH.md 4), each driven by gradient descent the
 * way a tool that ignores the invertibility condition would (demos/patho-naive.ts), next to
 * what implc says about the same points: its compile-time diagnostic and its run-time
 * certificate. Every number here is computed; the demo's text is built from them.
 */
import { readFileSync } from 'node:fs';
import { compileModel } from '../src/compile-model.ts';
import { type ModelClass } from '../codegen/build.ts';
import { renderText } from '../src/diagnostics/render.ts';
import { analyzeFile } from '../src/pipeline.ts';
import type { RunResult } from '../src/runtime/run.ts';
import { naiveFixedPoint, naiveImplicitJacobian, naiveNewton, selectedB, unrolled } from './patho-naive.ts';

export type CaseKey = 'abs_kink' | 'relu_identity' | 'cubic' | 'relu_unit_weight' | 'lasso_segment';

/** One gradient step of a naive run: x is the parameter (lambda for the Lasso). */
export interface Step {
  step: number;
  x: number;
  /** The solution the tool returned (first entry for the Lasso). */
  y: number;
  /** ||F(y)||_inf at the returned y: 0 for a true solution. */
  residual: number;
  /** AD's element of dF/dy at y (scalar models; NaN for the Lasso). */
  B: number;
  /** The derivative the tool used: dy/dx (d beta_1 / d lambda for the Lasso). */
  dydx: number;
  grad: number;
  loss: number;
}

export interface NaiveRun {
  method: string;
  steps: Step[];
  /** Why the run stopped early, if it did. */
  stopped: string | null;
}

export interface ImplcCheck {
  /** What point, in words: `x = 0 (default start)`. */
  point: string;
  status: string;
  verdict: string;
  detail: string;
  /** Whether implc returned a Jacobian or gradients. */
  derivatives: boolean;
  /** dy/dx that implc returned, when it did. */
  dydx: number | null;
  solution: number[];
}

export interface CompileTime {
  verdict: string;
  test: string;
  reason: string;
  counterexample: string | null;
  /** W0501 rendered as `implc check` prints it, without color; null when there is none. */
  diagnostic: string | null;
}

export interface CaseResult {
  key: CaseKey;
  file: string;
  model: string;
  equation: string;
  objective: string;
  runs: NaiveRun[];
  /** A line for comparison that is not a naive run (the true derivative), when there is one. */
  truth: NaiveRun | null;
  compile: CompileTime;
  implc: ImplcCheck[];
  /** What went wrong, in sentences built from the numbers above. */
  findings: string[];
  /** Numbers the tests and the metrics read. */
  facts: Record<string, number | string | boolean>;
}

const DIR = 'samples/pathological';
const TOL = 1e-12;

/** A number for text: 4 significant digits, or Infinity/NaN as such. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(3).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

function compileTime(file: string, model: string): CompileTime {
  const text = readFileSync(file, 'utf8');
  const r = analyzeFile(file, text);
  const a = r.analyses.find((x) => x.model.name === model);
  if (!a) throw new Error(`no model ${model} in ${file}`);
  const d = r.diagnostics.find((x) => x.code === 'W0501' && x.message.includes(`\`${model}\``));
  const c = a.certificate.counterexample;
  const point = c
    ? `at ${Object.entries(c.point)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ')}: B = ${JSON.stringify(c.B)}`
    : null;
  return {
    verdict: a.certificate.verdict,
    test: a.certificate.test,
    reason: a.certificate.reason,
    counterexample: point,
    diagnostic: d ? renderText(d, r.source, { color: false }) : null,
  };
}

function implcAt(Model: ModelClass, inputs: Record<string, unknown>, point: string, y0?: Float64Array): ImplcCheck {
  const r = new Model(inputs).solve({ tol: TOL, jacobian: true, ...(y0 ? { y0 } : {}) }) as RunResult;
  const sol = Object.values(r.solution).flatMap((v) => (Array.isArray(v) ? (v.flat(3) as number[]) : [v]));
  let dydx: number | null = null;
  if (r.jacobian) {
    const j = Object.values(Object.values(r.jacobian)[0])[0];
    dydx = Array.isArray(j) ? (j.flat(3)[0] as number) : j;
  }
  return {
    point,
    status: r.status,
    verdict: r.certificate.verdict,
    detail: r.certificate.detail,
    derivatives: r.jacobian !== undefined || r.gradients !== undefined,
    dydx,
    solution: sol,
  };
}

/**
 * Gradient descent on loss(y) = 0.5 (y - target)^2 for a scalar model `F(x, y) = 0`, with
 * warm-started Newton (AD's B) and dy/dx = -A / B: what an unguarded implicit layer does.
 */
function scalarNaiveRun(Model: ModelClass, x0: number, target: number, lr: number, steps: number, y0: number): NaiveRun {
  let x = x0;
  let y: Float64Array = Float64Array.of(y0);
  const out: Step[] = [];
  for (let s = 0; s <= steps; s++) {
    if (!Number.isFinite(x)) return { method: 'implicit formula, warm-started Newton', steps: out, stopped: `x = ${x} after step ${s - 1}: no model can be evaluated there` };
    const inst = new Model({ x });
    const sol = naiveNewton(inst, y, TOL, 100);
    y = sol.y;
    const B = selectedB(inst, y)[0][0];
    const dydx = naiveImplicitJacobian(inst, y)[0][0];
    const grad = (y[0] - target) * dydx;
    out.push({ step: s, x, y: y[0], residual: sol.residual, B, dydx, grad, loss: 0.5 * (y[0] - target) ** 2 });
    x -= lr * grad;
  }
  return { method: 'implicit formula, warm-started Newton', steps: out, stopped: null };
}

async function absKink(): Promise<CaseResult> {
  const file = `${DIR}/abs_kink.impl`;
  const Model = await compileModel(file, 'AbsKink');
  const target = -0.5;
  const run = scalarNaiveRun(Model, 1, target, 0.5, 12, 1);
  const s = run.steps;
  const cross = s.find((r) => r.x < 0);
  if (!cross) throw new Error('abs_kink: the run never crossed x = 0');
  // The Newton iterates at that step, one iteration short of the budget: do they alternate?
  const short = naiveNewton(new Model({ x: cross.x }), Float64Array.of(s[cross.step - 1].y), TOL, 99).y[0];
  const cycles = short === -cross.y;
  const unsolved = s.filter((r) => r.residual > TOL);
  const last = s[s.length - 1];
  const other = implcAt(Model, { x: 0.5 }, 'x = 0.5, started at y = -1 (the other branch)', Float64Array.of(-1));
  const implc = [
    implcAt(Model, { x: 0 }, 'x = 0 (the kink)'),
    implcAt(Model, { x: cross.x }, `x = ${fmt(cross.x)} (step ${cross.step} of the naive run)`, Float64Array.of(s[cross.step - 1].y)),
    other,
  ];
  const findings = [
    `GD lowers x through the kink: x = ${fmt(cross.x)} at step ${cross.step}, where |y| = x has no solution at all.`,
    `${cycles ? `The warm-started Newton iteration alternates between y = ${fmt(short)} and y = ${fmt(cross.y)} there (iterations 99 and 100)` : 'The warm-started Newton iteration does not converge there'} and returns y = ${fmt(cross.y)}, residual ${fmt(cross.residual)}: not a solution, yet the tool goes on with dy/dx = ${fmt(cross.dydx)}.`,
    `${unsolved.length} of ${s.length} steps used such non-solutions; x diverges to ${fmt(last.x)} after ${last.step} steps and the reported loss grows from ${fmt(s[0].loss)} to ${fmt(last.loss)}.`,
    `Meanwhile a zero-loss solution exists on the other branch: x = 0.5, y = ${fmt(other.solution[0])} (implc certifies it, dy/dx = ${fmt(other.dydx ?? NaN)}).`,
  ];
  return {
    key: 'abs_kink',
    file,
    model: 'AbsKink',
    equation: '|y| - x = 0',
    objective: `minimize 0.5 (y(x) - (${target}))^2 from x = 1, step 0.5`,
    runs: [run],
    truth: null,
    compile: compileTime(file, 'AbsKink'),
    implc,
    findings,
    facts: {
      crossStep: cross.step,
      crossX: cross.x,
      crossY: cross.y,
      crossResidual: cross.residual,
      crossDydx: cross.dydx,
      newtonCycles: cycles,
      unsolvedSteps: unsolved.length,
      finalX: last.x,
      initialLoss: s[0].loss,
      finalLoss: last.loss,
    },
  };
}

async function reluIdentity(): Promise<CaseResult> {
  const file = `${DIR}/relu_identity.impl`;
  const Model = await compileModel(file, 'ReluIdentity');
  const target = 1;
  const lr = 0.5;
  const run = scalarNaiveRun(Model, 0, target, lr, 8, 0);
  const first = run.steps[0];
  // F = relu(y) - relu(-y) - x is y - x: the true dy/dx is 1 everywhere.
  const truthSteps: Step[] = [];
  let x = 0;
  for (let s = 0; s <= 8; s++) {
    const grad = (x - target) * 1;
    truthSteps.push({ step: s, x, y: x, residual: 0, B: 1, dydx: 1, grad, loss: 0.5 * (x - target) ** 2 });
    x -= lr * grad;
  }
  const implc = [implcAt(Model, { x: 0 }, 'x = 0 (zero initialization)'), implcAt(Model, { x: 0.5 }, 'x = 0.5')];
  const xAfter = run.steps.length > 1 ? run.steps[1].x : first.x - lr * first.grad;
  const findings = [
    `From the common zero initialization x = 0, the solve returns y = ${fmt(first.y)}, where AD's element is B = relu'(0) + relu'(0) = ${fmt(first.B)}: dy/dx = -A/B = ${fmt(first.dydx)}, gradient ${fmt(first.grad)}.`,
    run.stopped
      ? `One step sends x to ${fmt(xAfter)}, where the model cannot even be evaluated: the run ends after ${run.steps.length} step${run.steps.length === 1 ? '' : 's'}.`
      : `The run goes on from x = ${fmt(xAfter)}.`,
    `The true derivative is 1 everywhere (F is y - x): the same descent with it reaches x = ${fmt(truthSteps[truthSteps.length - 1].x)} after 8 steps (target 1).`,
  ];
  return {
    key: 'relu_identity',
    file,
    model: 'ReluIdentity',
    equation: 'relu(y) - relu(-y) - x = 0',
    objective: `minimize 0.5 (y(x) - ${target})^2 from x = 0, step ${lr}`,
    runs: [run],
    truth: { method: 'true derivative (F = y - x)', steps: truthSteps, stopped: null },
    compile: compileTime(file, 'ReluIdentity'),
    implc,
    findings,
    facts: { B0: first.B, dydx0: first.dydx, grad0: first.grad, x1: xAfter, stepsRun: run.steps.length, truthFinalX: truthSteps[truthSteps.length - 1].x },
  };
}

async function cubic(): Promise<CaseResult> {
  const file = `${DIR}/cubic.impl`;
  const Model = await compileModel(file, 'Cubic');
  const target = -2;
  const run = scalarNaiveRun(Model, 1, target, 1, 12, 1);
  const s = run.steps;
  const atZero = s.find((r) => r.x === 0);
  if (!atZero) throw new Error('cubic: the run did not land on x = 0');
  const jump = s[atZero.step + 1];
  const last = s[s.length - 1];
  const optimumX = target ** 3;
  const implc = [
    implcAt(Model, { x: 0 }, 'x = 0, default start y = 0'),
    implcAt(Model, { x: 0 }, 'x = 0, started at y = 1 (as the naive run)', Float64Array.of(1)),
  ];
  const warm = implc[1];
  const findings = [
    `Step ${atZero.step} lands exactly on x = 0, where y = cbrt(x) has a vertical tangent: no finite derivative exists and B = 3y^2 = 0 at the solution.`,
    `The warm-started Newton iteration converges only linearly to the triple root and stops at y = ${fmt(atZero.y)} (|F| = ${fmt(atZero.residual)} <= 1e-12); there B = ${fmt(atZero.B)} and the formula gives a finite dy/dx = ${fmt(atZero.dydx)}.`,
    `That one gradient throws x to ${fmt(jump.x)}, ${Math.floor(Math.log10(Math.abs(jump.x / optimumX)))} orders of magnitude past the minimizer x = ${optimumX} (y = ${target}); the gradient out there is ${fmt(jump.grad)}, so after ${last.step - jump.step} more steps x has moved by only ${fmt(last.x - jump.x)} and the loss is still ${fmt(last.loss)}.`,
    warm.verdict === 'violated' || !warm.derivatives
      ? `implc refuses both at the exact solution (default start) and from the naive run's start (verdict ${warm.verdict}).`
      : warm.verdict === 'unverified'
        ? `implc refuses at the exact solution y = 0 (default start); started from y = 1 its solver also stops at y = ${fmt(warm.solution[0])}, but it does not certify that point: the verdict is unverified, because B = 3y^2 moves toward 0 within the solution's own uncertainty, and the derivative ${fmt(warm.dydx ?? NaN)} is flagged as unreliable.`
        : `implc refuses at the exact solution y = 0 (default start), but started from y = 1 its own solver also stops at y = ${fmt(warm.solution[0])} and certifies it, returning dy/dx = ${fmt(warm.dydx ?? NaN)}: its run-time certificate does not account for the residual tolerance around this smooth singular point (a gap, reported).`,
  ];
  return {
    key: 'cubic',
    file,
    model: 'Cubic',
    equation: 'y^3 - x = 0',
    objective: `minimize 0.5 (y(x) - (${target}))^2 from x = 1, step 1 (minimizer x = ${optimumX})`,
    runs: [run],
    truth: null,
    compile: compileTime(file, 'Cubic'),
    implc,
    findings,
    facts: {
      zeroStep: atZero.step,
      yAtZero: atZero.y,
      dydxAtZero: atZero.dydx,
      jumpX: jump.x,
      finalX: last.x,
      finalLoss: last.loss,
      optimumX,
      warmVerdict: warm.verdict,
    },
  };
}

async function reluUnitWeight(): Promise<CaseResult> {
  const file = `${DIR}/relu_unit_weight.impl`;
  const Model = await compileModel(file, 'ReluUnitWeight');
  const target = 1;
  const runs: NaiveRun[] = [];
  const ends: { K: number; x: number; y: number; residual: number; loss: number }[] = [];
  for (const K of [10, 20]) {
    let x = 0.5;
    const lr = 0.5 / (K * K);
    const steps: Step[] = [];
    for (let s = 0; s <= 40; s++) {
      const u = unrolled(new Model({ x }), Float64Array.of(0), K);
      const dydx = u.jacobian[0][0];
      const grad = (u.y[0] - target) * dydx;
      steps.push({ step: s, x, y: u.y[0], residual: u.residual, B: NaN, dydx, grad, loss: 0.5 * (u.y[0] - target) ** 2 });
      x -= lr * grad;
    }
    runs.push({ method: `unrolled, K = ${K} iterations`, steps, stopped: null });
    const e = steps[steps.length - 1];
    ends.push({ K, x: e.x, y: e.y, residual: e.residual, loss: e.loss });
  }
  // The implicit formula at the solution y = 0 of x = 0: relu'(0) = 0 makes B = 1 there.
  const at0 = new Model({ x: 0 });
  const fp0 = naiveFixedPoint(at0, at0.initial());
  const implicit0 = naiveImplicitJacobian(at0, fp0.y)[0][0];
  const implc = [implcAt(Model, { x: 0 }, 'x = 0'), ...ends.map((e) => implcAt(Model, { x: e.x }, `x = ${fmt(e.x)} (trained, K = ${e.K})`))];
  const findings = [
    `Unrolled training "succeeds": the loss falls to ${fmt(ends[0].loss)} (K = 10) and ${fmt(ends[1].loss)} (K = 20), but the trained x is 1/K: ${fmt(ends[0].x)} and ${fmt(ends[1].x)}, an artifact of the unroll depth.`,
    `The returned y = ${fmt(ends[0].y)} is not a fixed point: |y - relu(y + x)| = ${fmt(ends[0].residual)} and ${fmt(ends[1].residual)}; for any x > 0 the equation has no solution (the iteration gains x per step).`,
    `At x = 0 every y >= 0 is a fixed point, and the implicit formula at the solution y = 0 gives dy/dx = ${fmt(implicit0)} (relu'(0) = 0): a zero gradient at a point where y = 1, loss 0, is also a solution.`,
    `implc at the trained points: ${implc
      .slice(1)
      .map((c) => `${c.point}: ${c.status}, ${c.verdict}${c.derivatives ? '' : ', no derivatives'}${c.status === 'converged' ? ` (its solver stops at y = ${fmt(c.solution[0])}, where y + x rounds to y: a fixed point of float rounding only)` : ''}`)
      .join('; ')}.`,
  ];
  return {
    key: 'relu_unit_weight',
    file,
    model: 'ReluUnitWeight',
    equation: 'y = relu(y + x)',
    objective: `minimize 0.5 (y(x) - ${target})^2 from x = 0.5, step 0.5/K^2, 40 steps`,
    runs,
    truth: null,
    compile: compileTime(file, 'ReluUnitWeight'),
    implc,
    findings,
    facts: {
      x10: ends[0].x,
      x20: ends[1].x,
      loss10: ends[0].loss,
      loss20: ends[1].loss,
      residual10: ends[0].residual,
      residual20: ends[1].residual,
      implicitAt0: implicit0,
    },
  };
}

/** X = [[1, 1]], y = [2] as MATH.md 4 gives it, or the same objective with a zero row where the generated kernels refuse n = 1. */
function lassoInputs(Model: ModelClass): { X: number[][]; y: number[]; note: string | null } {
  const X = [[1, 1]];
  const y = [2];
  try {
    const inst = new Model({ X, y, lambda: 1 });
    naiveFixedPoint(inst, inst.initial(), TOL, 5);
    return { X, y, note: null };
  } catch (err) {
    return {
      X: [
        [1, 1],
        [0, 0],
      ],
      y: [2, 0],
      note: `X = [[1, 1]], y = [2] fails inside the generated kernels (${(err as Error).message}); the demo uses the same objective with a zero row, X = [[1, 1], [0, 0]], y = [2, 0]`,
    };
  }
}

async function lassoSegment(): Promise<CaseResult> {
  const file = `${DIR}/lasso_segment.impl`;
  const Model = await compileModel(file, 'LassoSegment');
  const { X, y, note } = lassoInputs(Model);
  // Validation loss of a held-out point that loads on feature 1 only: C = 0.5 (beta_1 - 0.6)^2.
  const v = 0.6;
  const lr = 1;
  const steps = 40;
  const C = (b: ArrayLike<number>): number => 0.5 * (b[0] - v) ** 2;
  const solveRun = (method: string, start: Float64Array | null): NaiveRun => {
    let lambda = 1;
    let beta: Float64Array | null = start ? Float64Array.from(start) : null;
    const out: Step[] = [];
    for (let s = 0; s <= steps; s++) {
      if (!Number.isFinite(lambda)) return { method, steps: out, stopped: `lambda = ${lambda} after step ${s - 1}` };
      const inst = new Model({ X, y, lambda });
      const sol = naiveFixedPoint(inst, beta ?? inst.initial(), TOL, 1000);
      if (start) beta = sol.y;
      const J = naiveImplicitJacobian(inst, sol.y);
      const dydx = J[0][0];
      const grad = (sol.y[0] - v) * dydx;
      out.push({ step: s, x: lambda, y: sol.y[0], residual: sol.residual, B: NaN, dydx, grad, loss: C(sol.y) });
      if (!Number.isFinite(grad)) return { method, steps: out, stopped: `the gradient is ${grad} at step ${s}` };
      lambda -= lr * grad;
    }
    return { method, steps: out, stopped: null };
  };
  const cold = solveRun('implicit formula, cold start beta = 0', null);
  const warm10 = solveRun('implicit formula, warm start from beta = (1, 0)', Float64Array.of(1, 0));
  const warm01 = solveRun('implicit formula, warm start from beta = (0, 1)', Float64Array.of(0, 1));
  const unrolledSteps: Step[] = [];
  let lambda = 1;
  for (let s = 0; s <= steps; s++) {
    const inst = new Model({ X, y, lambda });
    const u = unrolled(inst, inst.initial(), 100);
    const dydx = u.jacobian[0][0];
    const grad = (u.y[0] - v) * dydx;
    unrolledSteps.push({ step: s, x: lambda, y: u.y[0], residual: u.residual, B: NaN, dydx, grad, loss: C(u.y) });
    lambda -= lr * grad;
  }
  const unrolledRun: NaiveRun = { method: 'unrolled, K = 100 iterations from beta = 0', steps: unrolledSteps, stopped: null };
  const end = (r: NaiveRun): Step => r.steps[r.steps.length - 1];
  const c0 = cold.steps[0];
  // beta at the first step of the cold run, for the text.
  const inst1 = new Model({ X, y, lambda: 1 });
  const beta1 = naiveFixedPoint(inst1, inst1.initial(), TOL, 1000).y;
  const B1 = selectedB(inst1, beta1);
  const implc = [
    implcAt(Model, { X, y, lambda: 1 }, 'lambda = 1, default start beta = 0'),
    implcAt(Model, { X, y, lambda: end(unrolledRun).x }, `lambda = ${fmt(end(unrolledRun).x)} (end of the unrolled run)`),
    implcAt(Model, { X, y, lambda: end(warm10).x }, `lambda = ${fmt(end(warm10).x)}, started at beta = (${fmt(end(warm10).y)}, 0) (end of the warm (1, 0) run)`, Float64Array.of(end(warm10).y, 0)),
    implcAt(Model, { X, y, lambda: 1 }, 'lambda = 1, started at beta = (0, 1) (the warm (0, 1) run)', Float64Array.of(0, 1)),
  ];
  const findings = [
    ...(note ? [`Input: ${note}.`] : []),
    `Cold start: the solve returns beta = (${fmt(beta1[0])}, ${fmt(beta1[1])}) and AD's B = [${B1.map((r) => `[${r.map(fmt).join(', ')}]`).join(', ')}] is singular: the formula gives d beta_1/d lambda = ${fmt(c0.dydx)} at step 0 and the run stops.`,
    `Unrolled differentiation (100 steps from beta = 0) stays on the symmetric solution and converges to lambda = ${fmt(end(unrolledRun).x)} (beta = (${fmt(end(unrolledRun).y)}, ${fmt(end(unrolledRun).y)}), C = ${fmt(end(unrolledRun).loss)}).`,
    `The implicit formula warm-started from beta = (1, 0) follows the vertex solution (2 - lambda, 0) with d beta_1/d lambda = ${fmt(warm10.steps[0].dydx)} and converges to lambda = ${fmt(end(warm10).x)}, C = ${fmt(end(warm10).loss)}.`,
    `Warm-started from beta = (0, 1) it gets d beta_1/d lambda = ${fmt(warm01.steps[0].dydx)}: the gradient is ${fmt(warm01.steps[0].grad)}, and it stalls at lambda = ${fmt(end(warm01).x)} with C = ${fmt(end(warm01).loss)}, although at that very lambda other solutions (e.g. beta = (0.6, 0.4)) give C = 0.`,
    `Four runs, four answers (NaN, ${fmt(end(unrolledRun).x)}, ${fmt(end(warm10).x)}, ${fmt(end(warm01).x)}) for one problem: for 0 < lambda < 2 the solution set is the segment beta >= 0, beta_1 + beta_2 = 2 - lambda, and C is not a function of lambda.`,
  ];
  return {
    key: 'lasso_segment',
    file,
    model: 'LassoSegment',
    equation: 'beta = ST(beta - s X\'(X beta - y), s lambda), X = [[1, 1]], y = [2]',
    objective: `tune lambda from 1 on C = 0.5 (beta_1 - ${v})^2, step ${lr}`,
    runs: [cold, unrolledRun, warm10, warm01],
    truth: null,
    compile: compileTime(file, 'LassoSegment'),
    implc,
    findings,
    facts: {
      inputs: note ? 'padded' : 'as given',
      coldDydx: c0.dydx,
      coldSteps: cold.steps.length,
      unrolledLambda: end(unrolledRun).x,
      unrolledLoss: end(unrolledRun).loss,
      warm10Lambda: end(warm10).x,
      warm10Loss: end(warm10).loss,
      warm01Lambda: end(warm01).x,
      warm01Loss: end(warm01).loss,
      warm01Grad: warm01.steps[0].grad,
    },
  };
}

export async function runPathologicalCases(): Promise<CaseResult[]> {
  return [await absKink(), await reluIdentity(), await cubic(), await reluUnitWeight(), await lassoSegment()];
}
