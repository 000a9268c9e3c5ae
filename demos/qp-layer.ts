/**
 * A QP as a layer: learning a cost vector from observed decisions (inverse optimization).
 *
 * A planner orders k products each week: the order y solves the box QP of
 * samples/box_qp.impl, argmin 1/2 y'Qy + q'y subject to 0 <= y <= capacity, where Q (known)
 * couples the products' storage and handling, and the cost vector q = Phi(week) theta
 * depends on the week's features through weights theta that nobody wrote down. From the
 * decisions of 30 weeks we learn theta by gradient descent on the mean decision loss
 * 0.5 ||y(q) - y_observed||^2, with the gradient that implc generates for the output `loss`
 * (dL/dq from the implicit function theorem, chained through q = Phi theta), and check the
 * fit on 20 held-out weeks. Every solve carries a certificate; the gradients are checked
 * against central finite differences and, where Python has cvxopt, against KKT
 * differentiation of an interior-point solution.
 */
import { compileModel } from '../src/compile-model.ts';
import { type ModelClass } from '../codegen/build.ts';
import type { RunResult } from '../src/runtime/run.ts';
import { mulberry32 } from './data.ts';
import type { Demo, DemoContext, DemoResult, DemoTable } from './demo.ts';
import { cvxoptPeer, type PeerProblem } from './qp-peer.ts';

export const QP_FILE = 'samples/box_qp.impl';
export const FEATURES = ['intercept', 'demand forecast', 'promotion', 'unit price'];
/** The planner's hidden weights: more demand or a promotion lowers the cost of ordering, a higher price raises it. */
export const THETA_STAR = [-0.4, -0.5, -0.25, 0.3];
export const THETA_0 = [-0.5, 0, 0, 0];

export interface QpConfig {
  seed: number;
  /** Products. */
  k: number;
  trainWeeks: number;
  testWeeks: number;
  /** Standard deviation of the planner's noise on q. */
  noise: number;
  iterations: number;
  /** Initial step size; halved whenever a step would raise the loss. */
  step: number;
  /** Finite-difference step of the gradient checks. */
  h: number;
}

export const DEFAULT_QP: QpConfig = { seed: 2024, k: 8, trainWeeks: 30, testWeeks: 20, noise: 0.05, iterations: 60, step: 1, h: 1e-6 };

export interface Week {
  /** k x p features, standardized (mean 0, variance 1 per column, except the intercept). */
  Phi: number[][];
  lo: number[];
  hi: number[];
  /** The planner's decision. */
  observed: number[];
  /** The decision of the noise-free planner, q = Phi theta*. */
  ideal: number[];
}

export interface QpProblem {
  Q: number[][];
  train: Week[];
  test: Week[];
}

const dotRow = (row: readonly number[], v: readonly number[]): number => row.reduce((s, a, j) => s + a * v[j], 0);
export const costOf = (w: Week, theta: readonly number[]): number[] => w.Phi.map((r) => dotRow(r, theta));
const norm = (v: readonly number[]): number => Math.sqrt(v.reduce((s, a) => s + a * a, 0));
const sub = (a: readonly number[], b: readonly number[]): number[] => a.map((v, i) => v - b[i]);

/** Certificate tallies of every solve the demo made. */
export interface Tally {
  solves: number;
  certified: number;
  unverified: number;
  violated: number;
  /** Solves whose solution had at least one tie (a bound active with zero multiplier). */
  withTies: number;
  notConverged: number;
}

export class BoxQpLayer {
  readonly tally: Tally = { solves: 0, certified: 0, unverified: 0, violated: 0, withTies: 0, notConverged: 0 };
  constructor(
    readonly Model: ModelClass,
    readonly Q: number[][],
  ) {}

  solve(q: number[], lo: number[], hi: number[], target: number[]): RunResult {
    const r = new this.Model({ Q: this.Q, lo, hi, target, q }).solve({ tol: 1e-12 }) as RunResult;
    const t = this.tally;
    t.solves++;
    t[r.certificate.verdict]++;
    if (r.certificate.ties > 0) t.withTies++;
    if (r.status !== 'converged') t.notConverged++;
    return r;
  }

  /** Mean loss over weeks at theta and, when asked, its gradient through q = Phi theta. */
  loss(weeks: readonly Week[], theta: readonly number[], gradient = true): { loss: number; grad: number[] } {
    const p = theta.length;
    const grad = new Array<number>(p).fill(0);
    let loss = 0;
    for (const w of weeks) {
      const r = this.solve(costOf(w, theta), w.lo, w.hi, w.observed);
      loss += r.outputs.loss;
      if (!gradient) continue;
      const g = r.gradients?.loss?.q;
      if (!Array.isArray(g)) throw new Error(`no gradient (certificate ${r.certificate.verdict}: ${r.certificate.detail})`);
      const gq = g as number[];
      for (let j = 0; j < p; j++) for (let a = 0; a < gq.length; a++) grad[j] += w.Phi[a][j] * gq[a];
    }
    return { loss: loss / weeks.length, grad: grad.map((v) => v / weeks.length) };
  }

  decision(w: Week, theta: readonly number[]): number[] {
    return this.solve(costOf(w, theta), w.lo, w.hi, w.observed).solution.y as number[];
  }
}

/** Weeks of features, capacities and decisions, from a seed. */
export function makeProblem(cfg: QpConfig, Model: ModelClass): QpProblem {
  const rng = mulberry32(cfg.seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const k = cfg.k;
  const A = Array.from({ length: k }, () => Array.from({ length: k }, normal));
  // Symmetric positive definite, eigenvalues in [1, 1 + ||A||^2 / 2k].
  const Q = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => A.reduce((s, r) => s + r[i] * r[j], 0) / (2 * k) + (i === j ? 1 : 0)));
  const solver = new BoxQpLayer(Model, Q);
  const s3 = Math.sqrt(3);
  const promo = 0.3;
  const week = (): Week => {
    // Uniform features scaled to unit variance; the promotion flag (30% of products) standardized.
    const Phi = Array.from({ length: k }, () => [
      1,
      s3 * (2 * rng() - 1),
      ((rng() < promo ? 1 : 0) - promo) / Math.sqrt(promo * (1 - promo)),
      s3 * (2 * rng() - 1),
    ]);
    const hi = Array.from({ length: k }, () => 0.4 + 0.8 * rng());
    const lo = new Array<number>(k).fill(0);
    const q = Phi.map((r) => dotRow(r, THETA_STAR));
    const noisy = q.map((v) => v + cfg.noise * normal());
    const zero = new Array<number>(k).fill(0);
    const observed = solver.solve(noisy, lo, hi, zero).solution.y as number[];
    const ideal = solver.solve(q, lo, hi, zero).solution.y as number[];
    return { Phi, lo, hi, observed, ideal };
  };
  const train = Array.from({ length: cfg.trainWeeks }, week);
  const test = Array.from({ length: cfg.testWeeks }, week);
  return { Q, train, test };
}

export interface TrainRecord {
  iteration: number;
  trainLoss: number;
  testLoss: number;
  step: number;
  theta: number[];
}

export interface GradientCheck {
  point: string;
  /** `theta[j]` (mean loss over the training weeks) or `q[a]` (one week's loss). */
  entry: string;
  implicit: number;
  finiteDifference: number;
}

export interface PeerCheck {
  point: string;
  week: number;
  status: string;
  /** max |y_implc - y_cvxopt|. */
  decisionDiff: number;
  /** max |dL/dq implc - dL/dq KKT|. */
  gradientDiff: number;
}

export interface QpOutcome {
  cfg: QpConfig;
  problem: QpProblem;
  history: TrainRecord[];
  theta: number[];
  rejectedSteps: number;
  floorLoss: number;
  checks: GradientCheck[];
  peer: { available: boolean; note: string; checks: PeerCheck[] };
  tally: Tally;
  /** Observed training decisions at a bound (0 or the capacity). */
  atBound: { lower: number; upper: number; total: number };
  testRmse: { initial: number; final: number; finalVsIdeal: number; initialVsIdeal: number };
  compileVerdict: string;
}

const rmse = (pairs: [number[], number[]][]): number => {
  let s = 0;
  let n = 0;
  for (const [a, b] of pairs) {
    s += sub(a, b).reduce((t, v) => t + v * v, 0);
    n += a.length;
  }
  return Math.sqrt(s / n);
};

/** The whole experiment: data, training, gradient checks, peer check. */
export async function runQpExperiment(cfg: QpConfig = DEFAULT_QP, log: (line: string) => void = () => {}): Promise<QpOutcome> {
  const Model = await compileModel(QP_FILE, 'BoxQP');
  const problem = makeProblem(cfg, Model);
  const layer = new BoxQpLayer(Model, problem.Q);
  const { train, test } = problem;

  // Training: gradient descent with the implicit gradients; a step that raises the loss is
  // taken back and the step size halved.
  let theta = [...THETA_0];
  let step = cfg.step;
  let current = layer.loss(train, theta);
  const history: TrainRecord[] = [{ iteration: 0, trainLoss: current.loss, testLoss: layer.loss(test, theta, false).loss, step, theta: [...theta] }];
  const snapshots: { point: string; theta: number[] }[] = [{ point: 'theta_0', theta: [...theta] }];
  let rejectedSteps = 0;
  for (let it = 1; it <= cfg.iterations; it++) {
    let candidate = theta.map((v, j) => v - step * current.grad[j]);
    let next = layer.loss(train, candidate);
    while (next.loss > current.loss && step > 1e-8) {
      rejectedSteps++;
      step /= 2;
      candidate = theta.map((v, j) => v - step * current.grad[j]);
      next = layer.loss(train, candidate);
    }
    theta = candidate;
    current = next;
    history.push({ iteration: it, trainLoss: current.loss, testLoss: layer.loss(test, theta, false).loss, step, theta: [...theta] });
    if (it === 10) snapshots.push({ point: 'iteration 10', theta: [...theta] });
    if (it % 10 === 0) log(`  iteration ${it}: training loss ${current.loss.toExponential(3)}`);
  }
  snapshots.push({ point: `iteration ${cfg.iterations}`, theta: [...theta] });
  const floorLoss = layer.loss(train, THETA_STAR, false).loss;

  // Central finite differences of the whole solve: dL/dtheta of the mean training loss, and
  // dL/dq of week 0's loss.
  const checks: GradientCheck[] = [];
  const h = cfg.h;
  for (const snap of snapshots) {
    const g = layer.loss(train, snap.theta).grad;
    for (let j = 0; j < snap.theta.length; j++) {
      const plus = snap.theta.map((v, i) => (i === j ? v + h : v));
      const minus = snap.theta.map((v, i) => (i === j ? v - h : v));
      const fd = (layer.loss(train, plus, false).loss - layer.loss(train, minus, false).loss) / (2 * h);
      checks.push({ point: snap.point, entry: `theta[${j}] (${FEATURES[j]})`, implicit: g[j], finiteDifference: fd });
    }
    // The training week with the largest dL/dq there (many weeks are fitted exactly by then).
    let wi = 0;
    let best = -1;
    train.forEach((w, i) => {
      const n = norm(layer.solve(costOf(w, snap.theta), w.lo, w.hi, w.observed).gradients?.loss?.q as number[]);
      if (n > best) [wi, best] = [i, n];
    });
    const w = train[wi];
    const q = costOf(w, snap.theta);
    const gq = layer.solve(q, w.lo, w.hi, w.observed).gradients?.loss?.q as number[];
    for (let a = 0; a < q.length; a++) {
      const at = (d: number): number => layer.solve(q.map((v, i) => (i === a ? v + d : v)), w.lo, w.hi, w.observed).outputs.loss;
      checks.push({ point: snap.point, entry: `q[${a}] (week ${wi})`, implicit: gq[a], finiteDifference: (at(h) - at(-h)) / (2 * h) });
    }
  }

  // The peer: cvxopt + KKT differentiation on three weeks at the start and at the end.
  const peerPoints = [snapshots[0], snapshots[snapshots.length - 1]];
  const peerProblems: { point: string; week: number; problem: PeerProblem; y: number[]; grad: number[] }[] = [];
  for (const snap of peerPoints) {
    for (let wi = 0; wi < 3; wi++) {
      const w = train[wi];
      const q = costOf(w, snap.theta);
      const r = layer.solve(q, w.lo, w.hi, w.observed);
      peerProblems.push({ point: snap.point, week: wi, problem: { Q: problem.Q, q, lo: w.lo, hi: w.hi, target: w.observed }, y: r.solution.y as number[], grad: r.gradients?.loss?.q as number[] });
    }
  }
  const peerResult = cvxoptPeer(peerProblems.map((p) => p.problem));
  const peerChecks: PeerCheck[] = peerResult.available
    ? peerProblems.map((p, i) => {
        const s = peerResult.solutions[i];
        return {
          point: p.point,
          week: p.week,
          status: s.status,
          decisionDiff: Math.max(...p.y.map((v, a) => Math.abs(v - s.y[a]))),
          gradientDiff: Math.max(...p.grad.map((v, a) => Math.abs(v - s.grad[a]))),
        };
      })
    : [];
  const peerNote = peerResult.available ? `cvxopt (${peerResult.python}) + KKT differentiation` : peerResult.reason;

  let lower = 0;
  let upper = 0;
  let total = 0;
  for (const w of train) {
    w.observed.forEach((v, a) => {
      total++;
      if (v <= w.lo[a] + 1e-9) lower++;
      else if (v >= w.hi[a] - 1e-9) upper++;
    });
  }
  const decide = (th: readonly number[]) => test.map((w) => layer.decision(w, th));
  const d0 = decide(THETA_0);
  const d1 = decide(theta);
  const testRmse = {
    initial: rmse(d0.map((d, i) => [d, test[i].observed])),
    final: rmse(d1.map((d, i) => [d, test[i].observed])),
    initialVsIdeal: rmse(d0.map((d, i) => [d, test[i].ideal])),
    finalVsIdeal: rmse(d1.map((d, i) => [d, test[i].ideal])),
  };
  const compileVerdict = (() => {
    const r = new Model({ Q: problem.Q, lo: train[0].lo, hi: train[0].hi, target: train[0].observed, q: costOf(train[0], theta) });
    return `${r.analysis.verdict} (${r.analysis.test})`;
  })();
  return {
    cfg,
    problem,
    history,
    theta,
    rejectedSteps,
    floorLoss,
    checks,
    peer: { available: peerResult.available, note: peerNote, checks: peerChecks },
    tally: { ...layer.tally },
    atBound: { lower, upper, total },
    testRmse,
    compileVerdict,
  };
}

const sig = (v: number, d = 4): number => Number(v.toPrecision(d));
const sci = (v: number): string => v.toExponential(2);

export function checkErrors(checks: readonly GradientCheck[]): { maxAbs: number; maxRel: number } {
  let maxAbs = 0;
  let maxRel = 0;
  for (const c of checks) {
    const e = Math.abs(c.implicit - c.finiteDifference);
    maxAbs = Math.max(maxAbs, e);
    maxRel = Math.max(maxRel, e / Math.max(1e-8, Math.abs(c.finiteDifference)));
  }
  return { maxAbs, maxRel };
}

export function qpResult(o: QpOutcome): DemoResult {
  const first = o.history[0];
  const last = o.history[o.history.length - 1];
  const paramError = (th: readonly number[]) => norm(sub(th, THETA_STAR)) / norm(THETA_STAR);
  const fd = checkErrors(o.checks);
  const peerMax = o.peer.checks.length
    ? { y: Math.max(...o.peer.checks.map((c) => c.decisionDiff)), g: Math.max(...o.peer.checks.map((c) => c.gradientDiff)) }
    : null;
  const t = o.tally;
  const { cfg } = o;
  const reduction = first.trainLoss / last.trainLoss;

  const summary = [
    `${cfg.k} products, ${cfg.trainWeeks} training and ${cfg.testWeeks} held-out weeks; orders y = argmin 1/2 y'Qy + q'y over 0 <= y <= capacity (${QP_FILE}), q = Phi(week) theta with ${FEATURES.length} features; ${o.atBound.lower + o.atBound.upper} of ${o.atBound.total} observed training orders sit at a bound (${o.atBound.lower} at 0, ${o.atBound.upper} at capacity).`,
    `Gradient descent on theta with implc's implicit gradients (output \`loss\`, dL/dq chained through q = Phi theta): training loss ${sci(first.trainLoss)} -> ${sci(last.trainLoss)} in ${cfg.iterations} iterations (x${sig(reduction, 3)}; the step size was halved ${o.rejectedSteps === 1 ? 'once' : `${o.rejectedSteps} times`}); the loss at the true theta* is ${sci(o.floorLoss)} (noise ${cfg.noise} on q).`,
    `theta = [${o.theta.map((v) => sig(v, 3)).join(', ')}] vs theta* = [${THETA_STAR.join(', ')}]: relative error ${sig(paramError(THETA_0), 3)} -> ${sig(paramError(o.theta), 3)}.`,
    `Held-out orders: RMSE against the planner's ${sig(o.testRmse.initial, 3)} -> ${sig(o.testRmse.final, 3)}; against the noise-free planner ${sig(o.testRmse.initialVsIdeal, 3)} -> ${sig(o.testRmse.finalVsIdeal, 3)}.`,
    `Certificates over all ${t.solves} solves: ${t.certified} certified, ${t.unverified} unverified, ${t.violated} violated (${t.withTies} with ties; compile-time verdict ${o.compileVerdict}).`,
    `Implicit gradients vs central finite differences (h = ${cfg.h}) at ${new Set(o.checks.map((c) => c.point)).size} points, ${o.checks.length} entries: max abs difference ${sci(fd.maxAbs)}, max relative ${sci(fd.maxRel)}.`,
    peerMax
      ? `Peer: ${o.peer.note} on ${o.peer.checks.length} programs: max |y difference| ${sci(peerMax.y)}, max |gradient difference| ${sci(peerMax.g)}.`
      : `Peer: ${o.peer.note}.`,
  ];

  const metrics: Record<string, number | string> = {
    products: cfg.k,
    features: FEATURES.length,
    trainWeeks: cfg.trainWeeks,
    testWeeks: cfg.testWeeks,
    iterations: cfg.iterations,
    initialLoss: first.trainLoss,
    finalLoss: last.trainLoss,
    lossReduction: reduction,
    floorLoss: o.floorLoss,
    initialTestLoss: first.testLoss,
    finalTestLoss: last.testLoss,
    rejectedSteps: o.rejectedSteps,
    paramErrorInitial: paramError(THETA_0),
    paramError: paramError(o.theta),
    testRmseInitial: o.testRmse.initial,
    testRmse: o.testRmse.final,
    testRmseIdealInitial: o.testRmse.initialVsIdeal,
    testRmseIdeal: o.testRmse.finalVsIdeal,
    observedAtBound: (o.atBound.lower + o.atBound.upper) / o.atBound.total,
    solves: t.solves,
    certified: t.certified,
    unverified: t.unverified,
    violated: t.violated,
    solvesWithTies: t.withTies,
    notConverged: t.notConverged,
    fdChecks: o.checks.length,
    fdMaxAbsError: fd.maxAbs,
    fdMaxRelError: fd.maxRel,
    peer: o.peer.available ? 'cvxopt' : o.peer.note,
    compileVerdict: o.compileVerdict,
  };
  if (peerMax) {
    metrics.peerMaxDecisionDiff = peerMax.y;
    metrics.peerMaxGradientDiff = peerMax.g;
  }

  const tables: DemoTable[] = [
    {
      title: 'Training (every 5 iterations)',
      columns: ['iteration', 'training loss', 'held-out loss', 'step size', ...FEATURES.map((f) => `theta (${f})`)],
      rows: o.history
        .filter((r) => r.iteration % 5 === 0)
        .map((r) => [r.iteration, sci(r.trainLoss), sci(r.testLoss), r.step, ...r.theta.map((v) => sig(v))]),
    },
    {
      title: 'Learned cost weights',
      columns: ['feature', 'theta_0', 'learned theta', 'true theta*'],
      rows: FEATURES.map((f, j) => [f, THETA_0[j], sig(o.theta[j]), THETA_STAR[j]]),
    },
    {
      title: 'Implicit gradient vs central finite differences',
      columns: ['point', 'entry', 'implicit (implc)', 'finite difference', '|difference|'],
      rows: o.checks.map((c) => [c.point, c.entry, sig(c.implicit, 8), sig(c.finiteDifference, 8), sci(Math.abs(c.implicit - c.finiteDifference))]),
    },
    {
      title: 'Certificates of every solve',
      columns: ['certified', 'unverified', 'violated', 'with ties', 'not converged', 'solves'],
      rows: [[t.certified, t.unverified, t.violated, t.withTies, t.notConverged, t.solves]],
    },
    {
      title: `Peer check: ${o.peer.note}`,
      columns: ['point', 'week', 'cvxopt status', 'max |y difference|', 'max |dL/dq difference|'],
      rows: o.peer.checks.map((c) => [c.point, c.week, c.status, sci(c.decisionDiff), sci(c.gradientDiff)]),
    },
  ];

  const lossData = o.history.flatMap((r) => [
    { iteration: r.iteration, loss: r.trainLoss, set: 'training weeks' },
    { iteration: r.iteration, loss: r.testLoss, set: 'held-out weeks' },
  ]);
  const chart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Box-QP layer: decision loss per gradient step',
    width: 520,
    height: 300,
    data: { values: [...lossData, { floor: o.floorLoss, label: 'loss at the true theta* (training)' }] },
    layer: [
      {
        transform: [{ filter: 'isValid(datum.iteration)' }],
        mark: { type: 'line', point: { size: 18 } },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'gradient-descent iteration' },
          y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'mean 0.5 ||y(theta) - y_observed||^2' },
          color: { field: 'set', type: 'nominal', title: null },
        },
      },
      {
        transform: [{ filter: 'isValid(datum.floor)' }],
        mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
        encoding: { y: { field: 'floor', type: 'quantitative' } },
      },
      {
        transform: [{ filter: 'isValid(datum.floor)' }],
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 4, color: 'gray' },
        encoding: { x: { datum: 0 }, y: { field: 'floor', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };

  return {
    name: 'qp',
    title: 'A QP as a layer: learning a cost vector from decisions',
    summary,
    metrics,
    tables,
    charts: [{ title: 'Training loss per iteration', spec: chart }],
  };
}

export const qpLayerDemo: Demo = {
  name: 'qp',
  title: 'A QP as a layer: learning a cost vector from decisions',
  async run(ctx: DemoContext): Promise<DemoResult> {
    ctx.log(`qp: compiling ${QP_FILE} and generating ${DEFAULT_QP.trainWeeks + DEFAULT_QP.testWeeks} weeks of decisions`);
    const outcome = await runQpExperiment(DEFAULT_QP, (line) => ctx.log(line));
    const result = qpResult(outcome);
    for (const line of result.summary) ctx.log(`qp: ${line}`);
    return result;
  },
};
