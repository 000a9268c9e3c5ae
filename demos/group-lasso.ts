/**
 * Group Lasso hyperparameter tuning on breast cancer (issue 15): samples/group_lasso.impl,
 * min_beta 1/2 ||X beta - y||^2 + lambda sum_G ||beta_G||_2 with the 10 measurements (radius,
 * texture, ...) as groups of 3 columns (mean, standard error, worst), solved as the fixed point
 * of proximal gradient with block soft thresholding. The generated hypergradient
 * d val / d lambda of the validation loss drives log(lambda) by gradient descent from a lambda
 * where all groups but one or two are zero, against a warm-started grid of 20 lambdas, each
 * solved, as demos/lasso.ts does for the plain Lasso on diabetes.
 */
import { fileURLToPath } from 'node:url';
import type { GeneratedInstance, ModelClass } from '../codegen/build.ts';
import { compileModel } from '../src/compile-model.ts';
import type { RunResult } from '../src/runtime/run.ts';
import { permutation, readCsv, standardize } from './data.ts';
import type { Demo, DemoChart, DemoContext, DemoResult, DemoTable } from './demo.ts';
import { descend, loss, SPLIT, type Step } from './lasso.ts';

const file = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const VEGA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Forward tolerance of every solve (||F||_inf). */
export const TOL = 1e-12;
/** 569 rows: 250 train, 100 validation, the other 219 a held-out test split, by the Lasso demo's split and permutation seed. */
export { SPLIT };

export interface GroupLassoData {
  /** The 30 column names of the CSV. */
  features: string[];
  /** The 10 measurements, group k's name at index k - 1. */
  groups: string[];
  /** Group label (1..10) of each column: the measurement. */
  g: number[];
  X: number[][];
  y: number[];
  Xv: number[][];
  yv: number[];
  Xt: number[][];
  yt: number[];
  /** max_G ||X_G^T y||_2 on the training split: the smallest lambda with beta = 0. */
  lambdaMax: number;
}

/**
 * Breast cancer, the 30 features standardized and the 0/1 label (malignant) centered, split
 * 250 / 100 / 219 (train / validation / test) by the Lasso demo's fixed permutation. Groups:
 * column j's measurement, (j mod 10) + 1, as samples/inputs/group_lasso.json was made.
 */
export function loadBreastCancer(grouping: Grouping = 'measurement'): GroupLassoData {
  const { header, rows } = readCsv(file('../samples/data/breast_cancer.csv'));
  const p = 30;
  const feats = standardize(rows.map((r) => r.slice(0, p)));
  const label = rows.map((r) => r[p]);
  const mean = label.reduce((a, b) => a + b, 0) / label.length;
  const perm = permutation(rows.length, SPLIT.seed);
  const pick = (idx: number[]) => ({ X: idx.map((i) => feats[i]), y: idx.map((i) => label[i] - mean) });
  const tr = pick(perm.slice(0, SPLIT.train));
  const va = pick(perm.slice(SPLIT.train, SPLIT.train + SPLIT.val));
  const te = pick(perm.slice(SPLIT.train + SPLIT.val));
  // By measurement: column j's measurement, (j mod 10) + 1; by family (the CSV's columns are
  // the 10 means, the 10 standard errors, then the 10 worst values): floor(j / 10) + 1.
  const g = Array.from({ length: p }, (_, j) => (grouping === 'family' ? Math.floor(j / 10) + 1 : (j % 10) + 1));
  const groups = grouping === 'family' ? ['mean', 'standard error', 'worst'] : header.slice(0, 10).map((h) => h.replace(/^mean_/, ''));
  return { features: header.slice(0, p), groups, g, X: tr.X, y: tr.y, Xv: va.X, yv: va.y, Xt: te.X, yt: te.y, lambdaMax: groupLambdaMax(tr.X, tr.y, g) };
}

/**
 * max_G ||X_G^T y||_2: beta = 0 is the solution iff lambda >= this (the optimality condition
 * at 0 is ||X_G^T y||_2 <= lambda for every group G).
 */
export function groupLambdaMax(X: number[][], y: number[], g: number[]): number {
  const sq = new Map<number, number>();
  for (let j = 0; j < g.length; j++) {
    const c = X.reduce((s, r, i) => s + r[j] * y[i], 0);
    sq.set(g[j], (sq.get(g[j]) ?? 0) + c * c);
  }
  return Math.sqrt(Math.max(...sq.values()));
}

/** The number of groups with a nonzero coefficient. */
export function nonzeroGroups(beta: ArrayLike<number>, g: number[]): number {
  const kept = new Set<number>();
  for (let j = 0; j < g.length; j++) if (beta[j] !== 0) kept.add(g[j]);
  return kept.size;
}

type Verdict = 'certified' | 'unverified' | 'violated';

export interface Solved {
  lambda: number;
  val: number;
  /** d val / d lambda, the generated module's implicit hypergradient. */
  grad: number;
  beta: Float64Array;
  verdict: Verdict;
  iterations: number;
}

/** Solves the group Lasso at a lambda, warm-started; the data are bound once (the first instance), then `with({ lambda })`. */
export class GroupLassoSolver {
  readonly verdicts: Record<Verdict, number> = { certified: 0, unverified: 0, violated: 0 };
  solves = 0;
  private base: GeneratedInstance | null = null;
  constructor(
    private readonly cls: ModelClass,
    private readonly data: GroupLassoData,
    private readonly tol = TOL,
  ) {}

  solve(lambda: number, y0?: Float64Array): Solved {
    const { X, y, Xv, yv, g } = this.data;
    const inst = this.base ? this.base.with({ lambda }) : (this.base = new this.cls({ X, y, Xv, yv, g, lambda }));
    const r = inst.solve({ tol: this.tol, y0 }) as RunResult;
    this.solves++;
    const verdict = r.certificate.verdict as Verdict;
    this.verdicts[verdict]++;
    if (r.status !== 'converged') throw new Error(`group lasso demo: solve at lambda ${lambda} did not converge (${r.status}, residual ${r.residual})`);
    const d = r.gradients?.val?.lambda;
    if (d === undefined) throw new Error(`group lasso demo: no hypergradient at lambda ${lambda} (${verdict}: ${r.certificate.detail})`);
    const grad = typeof d === 'number' ? d : ([d].flat(4)[0] as number);
    return { lambda, val: r.outputs.val, grad, beta: Float64Array.from([r.solution.beta].flat(4) as number[]), verdict, iterations: r.iterations };
  }
}

/**
 * How the 30 features are grouped: by measurement (radius, texture, ...: 10 groups of 3, the
 * sample's labels) or by family (mean, standard error, worst: 3 groups of 10, as issue 15 asks).
 */
export type Grouping = 'measurement' | 'family';

export interface GroupLassoOptions {
  /** The grouping of the features ('measurement' by default). */
  grouping?: Grouping;
  /** Solves of the descent (accepted and rejected trials), 20 by default. */
  steps?: number;
  /** Grid size, 20 by default: lambdas log-spaced from lambda_max down to 1e-4 lambda_max. */
  grid?: number;
  /** Start of the descent as a fraction of lambda_max (0.9: one or two groups nonzero). */
  start?: number;
  log?: (line: string) => void;
}

export interface DescentRow {
  solve: number;
  lambda: number;
  val: number;
  /** d val / d log(lambda) = lambda d val / d lambda. */
  dlog: number;
  groups: number;
  verdict: Verdict;
  accepted: boolean;
}

export interface GroupLassoOutcome {
  data: GroupLassoData;
  cls: ModelClass;
  compileMs: number;
  path: DescentRow[];
  best: { lambda: number; val: number; test: number; groups: number; beta: Float64Array };
  grid: { lambda: number; val: number; test: number; groups: number; verdict: Verdict }[];
  gridBest: { lambda: number; val: number; test: number; groups: number };
  gridMs: number;
  descentMs: number;
  verdicts: Record<Verdict, number>;
}

/** Compile, grid of `grid` lambdas, then the descent on log(lambda) for `steps` solves. */
export async function runGroupLasso(options: GroupLassoOptions = {}): Promise<GroupLassoOutcome> {
  const steps = options.steps ?? 20;
  const G = options.grid ?? 20;
  const log = options.log ?? (() => {});
  const data = loadBreastCancer(options.grouping);
  const tc = performance.now();
  const cls = await compileModel(file('../samples/group_lasso.impl'));
  const compileMs = performance.now() - tc;
  log(`breast cancer: ${data.X.length} train / ${data.Xv.length} validation / ${data.Xt.length} test, p = 30 in ${data.groups.length} groups (by ${options.grouping ?? 'measurement'}), lambda_max = ${fmt(data.lambdaMax)}; compiled in ${compileMs.toFixed(0)} ms`);

  // Grid: G lambdas from lambda_max down to 1e-4 lambda_max, warm-started down the path.
  const grider = new GroupLassoSolver(cls, data);
  let t = performance.now();
  const grid: GroupLassoOutcome['grid'] = [];
  let y0: Float64Array | undefined;
  for (let k = 0; k < G; k++) {
    const lambda = data.lambdaMax * 10 ** ((-4 * k) / Math.max(1, G - 1));
    const s = grider.solve(lambda, y0);
    y0 = s.beta;
    grid.push({ lambda, val: s.val, test: loss(data.Xt, data.yt, s.beta), groups: nonzeroGroups(s.beta, data.g), verdict: s.verdict });
  }
  const gridMs = performance.now() - t;
  const gridBest = grid.reduce((a, b) => (b.val < a.val ? b : a));
  log(`grid: ${G} solves in ${gridMs.toFixed(0)} ms, best val ${fmt(gridBest.val)} at lambda ${fmt(gridBest.lambda)} (${gridBest.groups} groups)`);

  // Descent on log(lambda): d val / d log(lambda) = lambda d val / d lambda.
  const solver = new GroupLassoSolver(cls, data);
  const path: DescentRow[] = [];
  t = performance.now();
  const hyper = descend(
    ([th], start) => {
      const lambda = Math.exp(th);
      const s = solver.solve(lambda, start);
      path.push({ solve: path.length, lambda, val: s.val, dlog: s.grad * lambda, groups: nonzeroGroups(s.beta, data.g), verdict: s.verdict, accepted: false });
      return { val: s.val, g: [s.grad * lambda], beta: s.beta };
    },
    [Math.log((options.start ?? 0.9) * data.lambdaMax)],
    { maxSolves: steps, relTol: 0 },
  );
  const descentMs = performance.now() - t;
  hyper.path.forEach((s: Step, i) => (path[i].accepted = s.accepted));
  const lambdaStar = Math.exp(hyper.best.theta[0]);
  const best = { lambda: lambdaStar, val: hyper.best.val, test: loss(data.Xt, data.yt, hyper.best.beta), groups: nonzeroGroups(hyper.best.beta, data.g), beta: hyper.best.beta };
  for (const r of path) log(`  solve ${String(r.solve).padStart(2)}: lambda ${fmt(r.lambda).padStart(9)}  val ${r.val.toFixed(6)}  ${String(r.groups).padStart(2)} groups  ${r.verdict}${r.accepted ? '' : '  (rejected)'}`);
  log(`hypergradient: ${path.length} solves in ${descentMs.toFixed(0)} ms, val ${fmt(best.val)} at lambda ${fmt(lambdaStar)} (grid best ${fmt(gridBest.val)})`);

  const verdicts: Record<Verdict, number> = { certified: 0, unverified: 0, violated: 0 };
  for (const s of [grider, solver]) for (const v of ['certified', 'unverified', 'violated'] as const) verdicts[v] += s.verdicts[v];
  return { data, cls, compileMs, path, best, grid, gridBest, gridMs, descentMs, verdicts };
}

const fmt = (v: number, d = 4): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(d));
const round = (v: number, d = 6): number => Number(v.toPrecision(d));

export const demo: Demo = {
  name: 'group-lasso',
  title: 'Group Lasso hyperparameter tuning on breast cancer',
  async run(ctx: DemoContext): Promise<DemoResult> {
    const t0 = performance.now();
    const o = await runGroupLasso({ log: ctx.log });
    const { data, path, best, grid, gridBest } = o;
    const totalMs = performance.now() - t0;
    const gap = (best.val - gridBest.val) / gridBest.val;
    const solves = path.length + grid.length;
    const kept = data.groups.filter((_, k) => data.g.some((gj, j) => gj === k + 1 && best.beta[j] !== 0));
    // The same tuning with the features grouped by family (mean, standard error, worst).
    const fam = await runGroupLasso({ grouping: 'family' });
    const famKept = fam.data.groups.filter((_, k) => fam.data.g.some((gj, j) => gj === k + 1 && fam.best.beta[j] !== 0));
    const famGap = (fam.best.val - fam.gridBest.val) / fam.gridBest.val;

    const summary = [
      `breast cancer, ${data.X.length}/${data.Xv.length}/${data.Xt.length} train/validation/test, 30 features in 10 groups (the measurements); val = 0.5 ||Xv beta - yv||^2`,
      `grid of ${grid.length} lambdas: best val ${fmt(gridBest.val)} at lambda ${fmt(gridBest.lambda)} (${gridBest.groups} groups), ${o.gridMs.toFixed(0)} ms`,
      `hypergradient descent on log(lambda) from 0.9 lambda_max (${path[0].groups} group${path[0].groups === 1 ? '' : 's'} nonzero): val ${fmt(best.val)} at lambda ${fmt(best.lambda)} ` +
        `(${(100 * gap).toFixed(3)}% from the grid's best), ${best.groups} groups kept, ${path.length} solves, ${o.descentMs.toFixed(0)} ms`,
      `groups kept at the tuned lambda: ${kept.join(', ')}`,
      `grouped by family instead (mean, standard error, worst; 3 groups of 10): grid best val ${fmt(fam.gridBest.val)}, hypergradient val ${fmt(fam.best.val)} at lambda ${fmt(fam.best.lambda)} ` +
        `(${(100 * famGap).toFixed(3)}% from its grid's best) in ${fam.path.length} solves, families kept: ${famKept.join(', ') || 'none'}`,
      `certificates over ${solves} solves (by measurement): ${o.verdicts.certified} certified, ${o.verdicts.unverified} unverified, ${o.verdicts.violated} violated; total ${(totalMs / 1000).toFixed(1)} s (compile ${o.compileMs.toFixed(0)} ms)`,
    ];
    const metrics: Record<string, number | string> = {
      lambda_max: round(data.lambdaMax),
      grid_best_val: gridBest.val,
      grid_best_lambda: round(gridBest.lambda),
      grid_best_groups: gridBest.groups,
      grid_solves: grid.length,
      grid_ms: Math.round(o.gridMs),
      start_val: path[0].val,
      start_groups: path[0].groups,
      hyper_best_val: best.val,
      hyper_lambda: round(best.lambda),
      hyper_groups: best.groups,
      hyper_test: best.test,
      hyper_gap_pct: round(100 * gap, 4),
      hyper_solves: path.length,
      hyper_ms: Math.round(o.descentMs),
      certified: o.verdicts.certified,
      unverified: o.verdicts.unverified,
      violated: o.verdicts.violated,
      family_grid_best_val: fam.gridBest.val,
      family_hyper_val: fam.best.val,
      family_hyper_lambda: round(fam.best.lambda),
      family_groups_kept: famKept.length,
      compile_ms: Math.round(o.compileMs),
      total_ms: Math.round(totalMs),
    };
    const tables: DemoTable[] = [
      {
        title: 'Hypergradient path: each solve of the descent on log(lambda)',
        columns: ['solve', 'lambda', 'validation loss', 'd val / d log lambda', 'nonzero groups', 'certificate', 'accepted'],
        rows: path.map((r) => [r.solve, round(r.lambda), round(r.val, 8), round(r.dlog), r.groups, r.verdict, r.accepted ? 'yes' : 'no']),
      },
      {
        title: `Grid of ${grid.length} lambdas`,
        columns: ['lambda', 'validation loss', 'test loss', 'nonzero groups', 'certificate'],
        rows: grid.map((r) => [round(r.lambda), round(r.val, 8), round(r.test, 8), r.groups, r.verdict]),
      },
    ];
    const rows = [
      ...grid.map((r) => ({ series: `grid (${grid.length} solves)`, lambda: r.lambda, val: r.val, solve: null as number | null })),
      ...path.map((r) => ({ series: `hypergradient (${path.length} solves)`, lambda: r.lambda, val: r.val, solve: r.solve })),
    ];
    const x = { field: 'lambda', type: 'quantitative', scale: { type: 'log' }, title: 'lambda' };
    const yEnc = { field: 'val', type: 'quantitative', scale: { zero: false }, title: 'validation loss' };
    const color = { field: 'series', type: 'nominal', title: null };
    const pathChart: DemoChart = {
      title: 'Group Lasso: validation loss against lambda, grid and hypergradient path',
      spec: {
        $schema: VEGA,
        width: 520,
        height: 300,
        data: { values: rows },
        layer: [
          { transform: [{ filter: 'datum.solve === null' }], mark: { type: 'line', point: true }, encoding: { x, y: yEnc, color } },
          {
            transform: [{ filter: 'datum.solve !== null' }],
            mark: { type: 'line', point: true, strokeDash: [4, 2] },
            encoding: { x, y: yEnc, color, order: { field: 'solve', type: 'quantitative' }, tooltip: [{ field: 'solve' }, { field: 'lambda' }, { field: 'val' }] },
          },
        ],
      },
    };
    const groupsChart: DemoChart = {
      title: 'Group Lasso: nonzero groups along the grid',
      spec: {
        $schema: VEGA,
        width: 520,
        height: 200,
        data: { values: grid.map((r) => ({ lambda: r.lambda, groups: r.groups })) },
        mark: { type: 'line', point: true, interpolate: 'step-after' },
        encoding: { x, y: { field: 'groups', type: 'quantitative', title: 'nonzero groups' } },
      },
    };
    return { name: 'group-lasso', title: demo.title, summary, metrics, tables, charts: [pathChart, groupsChart] };
  },
};
