/**
 * Lasso hyperparameter tuning on diabetes (MATH.md 6): the generated hypergradient
 * d val / d lambda of a validation loss drives lambda by gradient descent, against a
 * warm-started grid of 100 lambdas; then the same descent tunes the 10 per-feature
 * penalties of a weighted Lasso and the 2 of an elastic net, with a held-out test split
 * to show what the extra validation gain is worth.
 */
import { fileURLToPath } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import type { GeneratedInstance, ModelClass } from '../codegen/build.ts';
import type { RunResult } from '../src/runtime/run.ts';
import { permutation, readCsv, standardize } from './data.ts';
import type { Demo, DemoChart, DemoContext, DemoResult, DemoTable } from './demo.ts';

const file = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const VEGA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Forward tolerance of every solve (||F||_inf). */
export const TOL = 1e-10;
export const SPLIT = { train: 250, val: 100, seed: 2020 } as const;

export interface LassoData {
  features: string[];
  X: number[][];
  y: number[];
  Xv: number[][];
  yv: number[];
  Xt: number[][];
  yt: number[];
  /** max_j |X_j^T y| on the training split: the smallest lambda with beta = 0. */
  lambdaMax: number;
}

/** Diabetes, features and target standardized, split 250 / 100 / 92 (train / validation / test) by a fixed permutation. */
export function loadDiabetes(): LassoData {
  const { header, rows } = readCsv(file('../samples/data/diabetes.csv'));
  const Z = standardize(rows);
  const p = header.length - 1;
  const perm = permutation(Z.length, SPLIT.seed);
  const pick = (idx: number[]): { X: number[][]; y: number[] } => ({ X: idx.map((i) => Z[i].slice(0, p)), y: idx.map((i) => Z[i][p]) });
  const tr = pick(perm.slice(0, SPLIT.train));
  const va = pick(perm.slice(SPLIT.train, SPLIT.train + SPLIT.val));
  const te = pick(perm.slice(SPLIT.train + SPLIT.val));
  let lambdaMax = 0;
  for (let j = 0; j < p; j++) lambdaMax = Math.max(lambdaMax, Math.abs(tr.X.reduce((s, r, i) => s + r[j] * tr.y[i], 0)));
  return { features: header.slice(0, p), X: tr.X, y: tr.y, Xv: va.X, yv: va.y, Xt: te.X, yt: te.y, lambdaMax };
}

/** 0.5 ||X beta - y||^2, the loss of the models' `val` output, on any split. */
export function loss(X: number[][], y: number[], beta: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < X.length; i++) {
    let r = -y[i];
    for (let j = 0; j < beta.length; j++) r += X[i][j] * beta[j];
    s += r * r;
  }
  return 0.5 * s;
}

type Verdict = 'certified' | 'unverified' | 'violated';

/** One solve: validation loss, its gradient in the params (flattened), the solution. */
interface Solved {
  val: number;
  grad: number[];
  beta: Float64Array;
  verdict: Verdict;
  iterations: number;
}

/** Solves one model at given params, warm-started from y0, and tallies verdicts. */
class Solver {
  readonly verdicts: Record<Verdict, number> = { certified: 0, unverified: 0, violated: 0 };
  solves = 0;
  iterations = 0;
  constructor(
    private readonly cls: ModelClass,
    private readonly data: LassoData,
  ) {}

  /** The first instance: the data (and what depends on it alone, opnorm(X), step * X') bound once. */
  private base: GeneratedInstance | null = null;

  solve(params: Record<string, number | number[]>, y0?: Float64Array): Solved {
    const { X, y, Xv, yv } = this.data;
    const inst = this.base ? this.base.with(params) : (this.base = new this.cls({ X, y, Xv, yv, ...params }));
    const r = inst.solve({ tol: TOL, y0 }) as RunResult;
    this.solves++;
    this.iterations += r.iterations;
    const verdict = r.certificate.verdict as Verdict;
    this.verdicts[verdict]++;
    if (r.status !== 'converged') throw new Error(`lasso demo: solve did not converge (${r.status}, residual ${r.residual})`);
    const g = r.gradients?.val;
    if (!g) throw new Error(`lasso demo: no gradient (${verdict}: ${r.certificate.detail})`);
    const grad = Object.keys(params).flatMap((k) => {
      const v = g[k];
      return typeof v === 'number' ? [v] : (v as number[]);
    });
    return { val: r.outputs.val, grad, beta: Float64Array.from(r.solution.beta as number[]), verdict, iterations: r.iterations };
  }
}

/** One evaluation of the descent, in its own coordinates theta. */
export interface Step {
  solve: number;
  theta: number[];
  val: number;
  /** d val / d theta. */
  g: number[];
  beta: Float64Array;
  accepted: boolean;
}

/**
 * Monotone gradient descent with backtracking (Armijo) on the validation loss, in
 * coordinates theta (log lambda, say): a trial that does not decrease the loss enough is
 * rejected and the step shrunk; an accepted one grows it. Each trial is warm-started from
 * the current solution. Stops after `maxSolves` solves, when the accepted relative decrease
 * falls below `relTol`, or when the step becomes negligible.
 */
export function descend(
  evaluate: (theta: number[], y0: Float64Array | undefined) => Omit<Step, 'solve' | 'accepted' | 'theta'>,
  theta0: number[],
  options: { maxSolves: number; relTol: number; project?: (theta: number[]) => number[]; y0?: Float64Array; firstMove?: number },
): { best: Step; path: Step[] } {
  const project = options.project ?? ((t: number[]) => t);
  let solve = 0;
  const at = (theta: number[], y0: Float64Array | undefined): Step => ({ ...evaluate(theta, y0), theta, solve: solve++, accepted: false });
  let cur = at(project(theta0), options.y0);
  cur.accepted = true;
  const path = [cur];
  // The first step moves the steepest coordinate by `firstMove` (1 in log lambda: a factor e).
  let eta = (options.firstMove ?? 1) / Math.max(1e-300, ...cur.g.map(Math.abs));
  while (solve < options.maxSolves) {
    const trial = project(cur.theta.map((t, i) => t - eta * cur.g[i]));
    const move = trial.map((t, i) => cur.theta[i] - t);
    const predicted = move.reduce((s, d, i) => s + d * cur.g[i], 0);
    if (!(predicted > 1e-12 * Math.abs(cur.val))) break; // projected step is nil: a stationary point
    const next = at(trial, cur.beta);
    path.push(next);
    if (next.val <= cur.val - 1e-4 * predicted) {
      next.accepted = true;
      const rel = (cur.val - next.val) / Math.abs(cur.val);
      cur = next;
      eta *= 2;
      if (rel < options.relTol) break;
    } else {
      eta *= 0.25;
    }
  }
  return { best: cur, path };
}

const fmt = (v: number, d = 4): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(d));
const round = (v: number, d = 6): number => Number(v.toPrecision(d));

export const demo: Demo = {
  name: 'lasso',
  title: 'Lasso hyperparameter tuning on diabetes',
  async run(ctx: DemoContext): Promise<DemoResult> {
    const t0 = performance.now();
    const data = loadDiabetes();
    const { lambdaMax, features } = data;
    const p = features.length;
    const tc = performance.now();
    const [LassoCls, WeightedCls, EnetCls] = [
      await compileModel(file('../samples/lasso.impl')),
      await compileModel(file('../samples/weighted_lasso.impl')),
      await compileModel(file('../samples/elastic_net.impl')),
    ];
    const compileMs = performance.now() - tc;
    ctx.log(`diabetes: ${data.X.length} train / ${data.Xv.length} validation / ${data.Xt.length} test, p = ${p}, lambda_max = ${fmt(lambdaMax)}; compiled 3 models in ${compileMs.toFixed(0)} ms`);

    // Single lambda, grid: 100 lambdas log-spaced from lambda_max to 1e-3 lambda_max, warm-started down the path.
    const lasso = new Solver(LassoCls, data);
    const G = 100;
    const grid: { lambda: number; val: number; test: number; nnz: number }[] = [];
    let tg = performance.now();
    let y0: Float64Array | undefined;
    for (let k = 0; k < G; k++) {
      const lambda = lambdaMax * 10 ** ((-3 * k) / (G - 1));
      const s = lasso.solve({ lambda }, y0);
      y0 = s.beta;
      grid.push({ lambda, val: s.val, test: loss(data.Xt, data.yt, s.beta), nnz: s.beta.filter((b) => b !== 0).length });
    }
    const gridMs = performance.now() - tg;
    const gridSolves = lasso.solves;
    const gridBest = grid.reduce((a, b) => (b.val < a.val ? b : a));
    ctx.log(`grid: ${G} solves in ${gridMs.toFixed(0)} ms, best val ${fmt(gridBest.val)} at lambda ${fmt(gridBest.lambda)}`);

    // Single lambda, hypergradient: descent on log(lambda) from lambda_max / 10, d val / d log(lambda) = lambda d val / d lambda.
    tg = performance.now();
    const lambda0 = lambdaMax / 10;
    const hyper = descend(
      ([t], start) => {
        const lambda = Math.exp(t);
        const s = lasso.solve({ lambda }, start);
        return { val: s.val, g: [s.grad[0] * lambda], beta: s.beta };
      },
      [Math.log(lambda0)],
      { maxSolves: 20, relTol: 1e-5 },
    );
    const hyperMs = performance.now() - tg;
    const hyperSolves = hyper.path.length;
    const lambdaStar = Math.exp(hyper.best.theta[0]);
    const single = { val: hyper.best.val, test: loss(data.Xt, data.yt, hyper.best.beta), beta: hyper.best.beta };
    const gap = (hyper.best.val - gridBest.val) / gridBest.val;
    ctx.log(`hypergradient: ${hyperSolves} solves in ${hyperMs.toFixed(0)} ms, val ${fmt(single.val)} at lambda ${fmt(lambdaStar)} (${(100 * gap).toFixed(3)}% from the grid's best)`);

    // Weighted Lasso: 10 penalties, descent on log(lambdas) from the single best lambda and its solution.
    const wsolver = new Solver(WeightedCls, data);
    tg = performance.now();
    const weighted = descend(
      (t, start) => {
        const lambdas = t.map(Math.exp);
        const s = wsolver.solve({ lambdas }, start);
        return { val: s.val, g: s.grad.map((g, j) => g * lambdas[j]), beta: s.beta };
      },
      Array.from({ length: p }, () => Math.log(lambdaStar)),
      { maxSolves: 100, relTol: 1e-5, y0: single.beta },
    );
    const weightedMs = performance.now() - tg;
    const wl = weighted.best.theta.map(Math.exp);
    const wres = { val: weighted.best.val, test: loss(data.Xt, data.yt, weighted.best.beta) };
    ctx.log(`weighted lasso: ${weighted.path.length} solves in ${weightedMs.toFixed(0)} ms, val ${fmt(wres.val)}, test ${fmt(wres.test)} (single: ${fmt(single.val)}, ${fmt(single.test)})`);

    // Elastic net: theta = (log lambda1, lambda2 / lambda*), lambda2 >= 0, from (lambda*, 0): the single Lasso's solution.
    const esolver = new Solver(EnetCls, data);
    tg = performance.now();
    const enet = descend(
      ([t1, t2], start) => {
        const lambda1 = Math.exp(t1);
        const lambda2 = t2 * lambdaStar;
        const s = esolver.solve({ lambda1, lambda2 }, start);
        return { val: s.val, g: [s.grad[0] * lambda1, s.grad[1] * lambdaStar], beta: s.beta };
      },
      [Math.log(lambdaStar), 0],
      { maxSolves: 30, relTol: 1e-6, y0: single.beta, project: ([t1, t2]) => [t1, Math.max(0, t2)] },
    );
    const enetMs = performance.now() - tg;
    const e1 = Math.exp(enet.best.theta[0]);
    const e2 = enet.best.theta[1] * lambdaStar;
    const eres = { val: enet.best.val, test: loss(data.Xt, data.yt, enet.best.beta) };
    ctx.log(`elastic net: ${enet.path.length} solves in ${enetMs.toFixed(0)} ms, val ${fmt(eres.val)}, test ${fmt(eres.test)} at lambda1 ${fmt(e1)}, lambda2 ${fmt(e2)}`);

    const verdicts: Record<Verdict, number> = { certified: 0, unverified: 0, violated: 0 };
    for (const s of [lasso, wsolver, esolver]) for (const v of ['certified', 'unverified', 'violated'] as const) verdicts[v] += s.verdicts[v];
    const totalSolves = lasso.solves + wsolver.solves + esolver.solves;
    const totalMs = performance.now() - t0;

    const pct = (a: number, b: number): string => `${((100 * (b - a)) / b).toFixed(2)}%`;
    const summary = [
      `diabetes, ${data.X.length}/${data.Xv.length}/${data.Xt.length} train/validation/test; validation loss val = 0.5 ||Xv beta - yv||^2 (standardized)`,
      `grid of ${G} lambdas: best val ${fmt(gridBest.val)} at lambda ${fmt(gridBest.lambda)}, ${gridSolves} solves, ${gridMs.toFixed(0)} ms`,
      `hypergradient descent on log(lambda) from lambda_max/10: val ${fmt(single.val)} at lambda ${fmt(lambdaStar)} (${(100 * gap).toFixed(3)}% from the grid's best), ${hyperSolves} solves, ${hyperMs.toFixed(0)} ms` +
        (lambdaStar / gridBest.lambda > 2 || gridBest.lambda / lambdaStar > 2
          ? `; the validation curve is not convex in lambda: descent stops at the local minimum nearest its start (test ${fmt(single.test)} there vs ${fmt(gridBest.test)} at the grid's best)`
          : ''),
      `weighted lasso (${p} lambdas, from lambda*): val ${fmt(wres.val)} (${pct(wres.val, single.val)} below the single lambda), held-out test ${fmt(wres.test)} vs ${fmt(single.test)}; ${weighted.path.length} solves, ${weightedMs.toFixed(0)} ms`,
      `elastic net (lambda1, lambda2, from (lambda*, 0)): val ${fmt(eres.val)} (${pct(eres.val, single.val)} below the single lambda), held-out test ${fmt(eres.test)}, at lambda1 ${fmt(e1)}, lambda2 ${fmt(e2)}; ${enet.path.length} solves, ${enetMs.toFixed(0)} ms`,
      `certificates over ${totalSolves} solves: ${verdicts.certified} certified, ${verdicts.unverified} unverified, ${verdicts.violated} violated; total ${(totalMs / 1000).toFixed(1)} s (compile ${compileMs.toFixed(0)} ms)`,
    ];

    const metrics: Record<string, number | string> = {
      lambda_max: round(lambdaMax),
      grid_best_val: gridBest.val,
      grid_best_lambda: round(gridBest.lambda),
      grid_best_test: gridBest.test,
      grid_solves: gridSolves,
      grid_ms: Math.round(gridMs),
      hyper_best_val: single.val,
      hyper_lambda: round(lambdaStar),
      hyper_test: single.test,
      hyper_gap_pct: round(100 * gap, 4),
      hyper_solves: hyperSolves,
      hyper_ms: Math.round(hyperMs),
      weighted_val: wres.val,
      weighted_test: wres.test,
      weighted_gain_pct: round((100 * (single.val - wres.val)) / single.val, 4),
      weighted_solves: weighted.path.length,
      weighted_ms: Math.round(weightedMs),
      enet_val: eres.val,
      enet_test: eres.test,
      enet_lambda1: round(e1),
      enet_lambda2: round(e2),
      enet_gain_pct: round((100 * (single.val - eres.val)) / single.val, 4),
      enet_solves: enet.path.length,
      enet_ms: Math.round(enetMs),
      solves: totalSolves,
      certified: verdicts.certified,
      unverified: verdicts.unverified,
      violated: verdicts.violated,
      compile_ms: Math.round(compileMs),
      total_ms: Math.round(totalMs),
    };

    const tables: DemoTable[] = [
      {
        title: 'Tuned models: validation and held-out test loss',
        columns: ['method', 'hyperparameters', 'val', 'test', 'solves', 'ms'],
        rows: [
          ['lasso, grid of 100', `lambda = ${fmt(gridBest.lambda)}`, round(gridBest.val), round(gridBest.test), gridSolves, Math.round(gridMs)],
          ['lasso, hypergradient', `lambda = ${fmt(lambdaStar)}`, round(single.val), round(single.test), hyperSolves, Math.round(hyperMs)],
          ['weighted lasso, hypergradient', `${p} lambdas`, round(wres.val), round(wres.test), weighted.path.length, Math.round(weightedMs)],
          ['elastic net, hypergradient', `lambda1 = ${fmt(e1)}, lambda2 = ${fmt(e2)}`, round(eres.val), round(eres.test), enet.path.length, Math.round(enetMs)],
        ],
      },
      {
        title: 'Weighted lasso: per-feature penalties and coefficients',
        columns: ['feature', 'lambda_j', 'beta_j (weighted)', 'beta_j (single lambda)'],
        rows: features.map((f, j) => [f, round(wl[j], 4), round(weighted.best.beta[j], 4), round(single.beta[j], 4)]),
      },
      {
        title: 'Hypergradient path (single lambda)',
        columns: ['solve', 'lambda', 'val', 'd val / d log lambda', 'accepted'],
        rows: hyper.path.map((s) => [s.solve, round(Math.exp(s.theta[0])), round(s.val, 8), round(s.g[0]), s.accepted ? 'yes' : 'no']),
      },
      {
        title: 'Certificates of all solves',
        columns: ['model', 'solves', 'certified', 'unverified', 'violated'],
        rows: [
          ['Lasso', lasso.solves, lasso.verdicts.certified, lasso.verdicts.unverified, lasso.verdicts.violated],
          ['WeightedLasso', wsolver.solves, wsolver.verdicts.certified, wsolver.verdicts.unverified, wsolver.verdicts.violated],
          ['ElasticNet', esolver.solves, esolver.verdicts.certified, esolver.verdicts.unverified, esolver.verdicts.violated],
        ],
      },
    ];

    const lossRows = [
      ...grid.map((g) => ({ series: `grid (${G} solves)`, lambda: g.lambda, val: g.val, solve: null as number | null })),
      ...hyper.path.map((s) => ({ series: `hypergradient (${hyperSolves} solves)`, lambda: Math.exp(s.theta[0]), val: s.val, solve: s.solve })),
    ];
    const x = { field: 'lambda', type: 'quantitative', scale: { type: 'log' }, title: 'lambda' };
    const yEnc = { field: 'val', type: 'quantitative', scale: { zero: false }, title: 'validation loss' };
    const color = { field: 'series', type: 'nominal', title: null };
    const pathChart: DemoChart = {
      title: 'Validation loss against lambda: grid and hypergradient path',
      spec: {
        $schema: VEGA,
        width: 520,
        height: 300,
        data: { values: lossRows },
        layer: [
          { transform: [{ filter: "datum.solve === null" }], mark: { type: 'line' }, encoding: { x, y: yEnc, color } },
          {
            transform: [{ filter: 'datum.solve !== null' }],
            mark: { type: 'line', point: true, strokeDash: [4, 2] },
            encoding: { x, y: yEnc, color, order: { field: 'solve', type: 'quantitative' }, tooltip: [{ field: 'solve' }, { field: 'lambda' }, { field: 'val' }] },
          },
        ],
      },
    };

    const stepRows = (method: string, path: Step[]): Record<string, unknown>[] =>
      path
        .filter((s) => s.accepted)
        .flatMap((s, step) => [
          { method, split: 'validation', step, loss: s.val },
          { method, split: 'test', step, loss: loss(data.Xt, data.yt, s.beta) },
        ]);
    const stepsChart: DemoChart = {
      title: 'Loss per accepted descent step: single lambda, weighted lasso, elastic net (validation solid, held-out test dashed)',
      spec: {
        $schema: VEGA,
        width: 520,
        height: 300,
        data: { values: [...stepRows('single lambda', hyper.path), ...stepRows('weighted lasso', weighted.path), ...stepRows('elastic net', enet.path)] },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'accepted step' },
          y: { field: 'loss', type: 'quantitative', scale: { zero: false }, title: 'loss, 0.5 sum of squares' },
          color: { field: 'method', type: 'nominal' },
          strokeDash: { field: 'split', type: 'nominal', scale: { domain: ['validation', 'test'], range: [[1, 0], [4, 2]] } },
        },
      },
    };

    const lambdaChart: DemoChart = {
      title: 'Weighted lasso: tuned per-feature penalties against the single lambda',
      spec: {
        $schema: VEGA,
        width: 520,
        height: 240,
        data: {
          values: features.flatMap((f, j) => [
            { feature: f, kind: 'weighted', lambda: wl[j] },
            { feature: f, kind: 'single', lambda: lambdaStar },
          ]),
        },
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x: { field: 'feature', type: 'nominal', sort: null },
          y: { field: 'lambda', type: 'quantitative', scale: { type: 'log' }, title: 'penalty' },
          color: { field: 'kind', type: 'nominal' },
          shape: { field: 'kind', type: 'nominal' },
        },
      },
    };

    return { name: 'lasso', title: demo.title, summary, metrics, tables, charts: [pathChart, stepsChart, lambdaChart] };
  },
};
