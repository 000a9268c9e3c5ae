/**
 * Cone programs as layers (issue 16): an LP, a second-order cone program and a semidefinite
 * program, each compiled from a sample and differentiated by implc through the Minty form of
 * its KKT conditions (samples/lp_layer.impl explains it).
 *
 * 1. LP, inverse optimization. A plant makes k products from r shared resources; each week it
 *    plans x = argmin c'x s.t. R x <= capacity, 0 <= x <= demand (samples/lp_layer.impl with
 *    A = [R; I; -I], b = [capacity; demand; 0]), where the costs c = Phi(week) theta (the unit
 *    profits with their sign flipped) depend on the week's prices, material costs and
 *    promotions through weights theta that nobody wrote down. From the plans of the training
 *    weeks we learn theta by gradient descent (Polyak's step) on the mean of the sample's
 *    output `suboptimality` =
 *    c'x_obs - c'x*(c), how much better than the observed plan the optimum is under c: >= 0,
 *    0 exactly when the observed plan is optimal, and convex in c (c'x_obs minus a minimum of
 *    linear functions), so convex in theta. The price enters the cost with weight exactly -1
 *    (revenue), which fixes the scale: without it theta = 0 would make every plan optimal.
 *
 *    Why this loss and not a decision loss ||x*(c) - x_obs||^2: at a nondegenerate vertex the
 *    optimal plan is locally constant in c, so dx* / dc = 0. implc computes that derivative
 *    exactly and certifies it (no constraint tied, the basis unique), and a decision loss would
 *    have gradient 0 almost everywhere: nothing to train with. The gradient of suboptimality is
 *    x_obs - x*(c) (the implicit term (dx* / dc)'c is that certified 0), informative wherever the
 *    observed plan is not yet optimal.
 *
 * 2. SOCP: the efficient frontier of samples/portfolio_socp.impl, the largest expected return
 *    under a risk budget ||L'w|| <= sigma, swept over sigma; its slope d ret / d sigma (the
 *    budget's multiplier) from implc against central finite differences.
 *
 * 3. SDP: the Goemans-Williamson relaxation of max-cut (samples/maxcut_sdp.impl) on a small
 *    weighted graph: the bound, a random-hyperplane rounding (a cut, below the bound, and the
 *    exact maximum cut by enumeration), and the bound's gradient in the edge weights against
 *    central finite differences and the envelope theorem's (1 - X_ij) / 2.
 */
import { compileModel } from '../src/compile-model.ts';
import type { ModelClass } from '../codegen/build.ts';
import type { RunResult } from '../src/runtime/run.ts';
import { mulberry32 } from './data.ts';
import type { Demo, DemoChart, DemoContext, DemoResult, DemoTable } from './demo.ts';

export const LP_FILE = 'samples/lp_layer.impl';
export const SOCP_FILE = 'samples/portfolio_socp.impl';
export const SDP_FILE = 'samples/maxcut_sdp.impl';

// ---------------------------------------------------------------------------------------------
// Shared: certificate tallies, finite differences, small linear algebra.

/** Certificate tallies of every solve of one layer. */
export interface Tally {
  solves: number;
  certified: number;
  unverified: number;
  violated: number;
  /** Solves whose solution had a tie (a constraint active with a zero multiplier). */
  withTies: number;
  notConverged: number;
}

const newTally = (): Tally => ({ solves: 0, certified: 0, unverified: 0, violated: 0, withTies: 0, notConverged: 0 });

function record(t: Tally, r: RunResult): RunResult {
  t.solves++;
  t[r.certificate.verdict]++;
  if (r.certificate.ties > 0) t.withTies++;
  if (r.status !== 'converged') t.notConverged++;
  return r;
}

/** One derivative from implc against a central finite difference of the solved output. */
export interface GradientCheck {
  part: 'LP' | 'SOCP' | 'SDP';
  at: string;
  entry: string;
  implicit: number;
  finiteDifference: number;
  /** A third value where one exists: the envelope theorem's (SDP) or the budget's multiplier (SOCP). */
  closedForm?: number;
}

/** |implicit - fd| / max(1, |fd|): relative where the derivative is large, absolute where small. */
export const checkError = (c: GradientCheck): number => Math.abs(c.implicit - c.finiteDifference) / Math.max(1, Math.abs(c.finiteDifference));

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);
const maxAbsDiff = (a: readonly number[], b: readonly number[]): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function gaussian(rng: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

// ---------------------------------------------------------------------------------------------
// 1. The LP layer: learning costs from observed plans.

export const LP_FEATURES = ['intercept (handling)', 'price', 'material cost', 'promotion'];
/**
 * The hidden weights: cost per unit = 0.4 handling - price + 0.9 material + 0.3 on promotion
 * (minus the unit profit). The price's weight -1 is known (it is the revenue) and held fixed.
 */
export const LP_THETA_STAR = [0.4, -1, 0.9, 0.3];
/** The start: profit = price, nothing else known. */
export const LP_THETA_0 = [0, -1, 0, 0];
/** The entry of theta held at its true value (the scale). */
export const LP_FIXED = 1;

export interface LpConfig {
  seed: number;
  /** Products. */
  k: number;
  /** Resources. */
  r: number;
  trainWeeks: number;
  testWeeks: number;
  /** Standard deviation of the planner's noise on the costs of the observed plans. */
  noise: number;
  iterations: number;
  /** Longest step (length in theta); a step is halved whenever it would raise the loss. */
  step: number;
  /** The descent stops when a step this short still raises the loss. */
  minStep: number;
  /** Training weeks whose d suboptimality / dc is checked against finite differences. */
  checkWeeks: number;
}

export interface LpWeek {
  /** k x p features. */
  Phi: number[][];
  A: number[][];
  b: number[];
  /** The plan observed (the optimum under the planner's costs, with noise). */
  observed: number[];
  /** The noise-free planner's plan, under Phi theta*. */
  ideal: number[];
}

/**
 * Iteration cap of one LP solve. Douglas-Rachford slows down when two vertices are nearly
 * tied (measured on a week of this demo: objective values 1e-4 apart took 13,761 iterations,
 * 1.8e-6 apart did not converge in 200,000), and the descent on a piecewise-linear loss walks
 * towards exactly such ties (its minimizers lie where an observed plan becomes optimal): a step
 * whose solve runs past the cap is refused like one that raises the loss.
 */
export const LP_MAX_ITER = 4000;

const costOf = (w: LpWeek, theta: readonly number[]): number[] => w.Phi.map((row) => dot(row, theta));

/** The LP layer: one compiled model, a tally of certificates, the mean loss and its gradient in theta. */
export class LpLayer {
  readonly tally: Tally = newTally();
  constructor(readonly Model: ModelClass) {}

  solve(w: Pick<LpWeek, 'A' | 'b'>, c: number[], xObs: number[], jacobian = false): RunResult {
    return record(this.tally, new this.Model({ c, A: w.A, b: w.b, x_obs: xObs }).solve({ tol: 1e-12, maxIter: LP_MAX_ITER, jacobian }) as RunResult);
  }

  /** The plan under theta; undefined when its solve did not converge. */
  plan(w: LpWeek, theta: readonly number[]): number[] | undefined {
    const r = this.solve(w, costOf(w, theta), w.observed);
    return r.status === 'converged' ? (r.solution.x as number[]) : undefined;
  }

  /**
   * Mean suboptimality over weeks and its gradient in theta (d/dc chained through c = Phi theta),
   * over the weeks whose solve converged; `failed` counts the others (see {@link LP_MAX_ITER}).
   */
  loss(weeks: readonly LpWeek[], theta: readonly number[]): { loss: number; grad: number[]; failed: number } {
    const grad = new Array<number>(theta.length).fill(0);
    let loss = 0;
    let failed = 0;
    for (const w of weeks) {
      const r = this.solve(w, costOf(w, theta), w.observed);
      const g = r.gradients?.suboptimality?.c;
      if (r.status !== 'converged' || !Array.isArray(g)) {
        failed++;
        continue;
      }
      loss += r.outputs.suboptimality;
      for (let j = 0; j < theta.length; j++) for (let a = 0; a < g.length; a++) grad[j] += w.Phi[a][j] * (g[a] as number);
    }
    const n = weeks.length - failed;
    return { loss: loss / n, grad: grad.map((v) => v / n), failed };
  }
}

/** Resource use, capacities, and the weeks' features, demands and plans, from a seed. */
export function makeLpWeeks(cfg: LpConfig, layer: LpLayer): { R: number[][]; train: LpWeek[]; test: LpWeek[] } {
  const rng = mulberry32(cfg.seed);
  const normal = gaussian(rng);
  const { k, r } = cfg;
  const R = Array.from({ length: r }, () => Array.from({ length: k }, () => 0.2 + rng()));
  // Capacity for about 40% of what full demand would use: resources bind.
  const baseCap = R.map((row) => 0.4 * row.reduce((s, v) => s + v, 0));
  const basePrice = Array.from({ length: k }, () => 1 + rng());
  const eye = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)));
  const A = [...R, ...eye, ...eye.map((row) => row.map((v) => -v))];
  const week = (): LpWeek => {
    const Phi = Array.from({ length: k }, (_, a) => [1, basePrice[a] * (0.85 + 0.3 * rng()), 0.2 + 0.8 * rng(), rng() < 0.3 ? 1 : 0]);
    const demand = Array.from({ length: k }, () => 0.4 + 0.8 * rng());
    const b = [...baseCap.map((v) => v * (0.8 + 0.4 * rng())), ...demand, ...new Array<number>(k).fill(0)];
    const w: LpWeek = { Phi, A, b, observed: new Array<number>(k).fill(0), ideal: [] };
    const cStar = costOf(w, LP_THETA_STAR);
    const noisy = cStar.map((v) => v + cfg.noise * normal());
    const ideal = layer.plan(w, LP_THETA_STAR);
    const observed = layer.solve(w, noisy, w.observed);
    if (!ideal || observed.status !== 'converged') throw new Error('LP: a planner\'s solve did not converge');
    w.ideal = ideal;
    w.observed = observed.solution.x as number[];
    return w;
  };
  return { R, train: Array.from({ length: cfg.trainWeeks }, week), test: Array.from({ length: cfg.testWeeks }, week) };
}

export interface LpRecord {
  iteration: number;
  trainLoss: number;
  /** Mean over the held-out weeks whose solve converged. */
  testLoss: number;
  /** Held-out weeks whose solve did not converge (left out of testLoss). */
  testFailed: number;
  step: number;
  theta: number[];
}

/** How the plans under one theta do on the held-out weeks. */
export interface HeldOut {
  /** Plans equal to the observed ones (max |difference| < 1e-6). */
  reproduced: number;
  /** Plans equal to the noise-free planner's. */
  reproducedIdeal: number;
  /** Solves that did not converge (their plans count as not reproduced, and are left out of the regret). */
  unsolved: number;
  /** Profit lost under the true costs, c*'x - c*'x_ideal summed, over the best profit. */
  regret: number;
}

export interface LpOutcome {
  cfg: LpConfig;
  history: LpRecord[];
  theta: number[];
  rejectedSteps: number;
  /** Mean training suboptimality at theta* (> 0 only through the noise). */
  floorLoss: number;
  /** Training weeks whose observed plan differs from the noise-free one. */
  noisyTrainWeeks: number;
  heldOut: { initial: HeldOut; final: HeldOut; truth: HeldOut; weeks: number };
  checks: GradientCheck[];
  /** max |dx* / dc| (implc's Jacobian) over the checked weeks: 0 at a certified vertex. */
  maxPlanJacobian: number;
  tally: Tally;
}

const PLAN_TOL = 1e-6;

/** Train theta, measure the held-out plans and regret, and check the gradients. */
export async function runLp(cfg: LpConfig, log: (line: string) => void = () => {}): Promise<LpOutcome> {
  const layer = new LpLayer(await compileModel(LP_FILE));
  const { train, test } = makeLpWeeks(cfg, layer);
  const noisyTrainWeeks = train.filter((w) => maxAbsDiff(w.observed, w.ideal) > PLAN_TOL).length;
  const free = LP_THETA_0.map((_, j) => j !== LP_FIXED);

  // Gradient descent on the free weights with Polyak's step: theta - (L / ||g||^2) g, the step
  // that would reach loss 0 were L linear along g (the loss is >= 0, and 0 without noise),
  // capped at cfg.step. A step that does not lower the loss, or one where a solve ran past the
  // cap, is taken back and halved; the descent stops when even cfg.minStep does not lower it
  // (the loss is piecewise linear: a fixed step would oscillate across its kinks).
  let theta = [...LP_THETA_0];
  let current = layer.loss(train, theta);
  const heldOutLoss = (th: readonly number[]) => {
    const r = layer.loss(test, th);
    return { testLoss: r.loss, testFailed: r.failed };
  };
  const history: LpRecord[] = [{ iteration: 0, trainLoss: current.loss, ...heldOutLoss(theta), step: 0, theta: [...theta] }];
  let rejectedSteps = 0;
  const lower = (next: { loss: number; failed: number }) => next.failed === 0 && next.loss < current.loss;
  for (let it = 1; it <= cfg.iterations; it++) {
    const g = current.grad.map((v, j) => (free[j] ? v : 0));
    const gn = Math.sqrt(dot(g, g));
    if (gn === 0) break;
    let step = Math.min(cfg.step, current.loss / gn);
    let candidate = theta.map((v, j) => v - (step * g[j]) / gn);
    let next = layer.loss(train, candidate);
    while (!lower(next) && step >= cfg.minStep) {
      rejectedSteps++;
      step /= 2;
      candidate = theta.map((v, j) => v - (step * g[j]) / gn);
      next = layer.loss(train, candidate);
    }
    if (!lower(next)) break;
    theta = candidate;
    current = next;
    history.push({ iteration: it, trainLoss: current.loss, ...heldOutLoss(theta), step, theta: [...theta] });
    log(`LP iteration ${it}: mean training suboptimality ${current.loss.toExponential(3)} (step ${step.toPrecision(3)})`);
  }
  const floorLoss = layer.loss(train, LP_THETA_STAR).loss;

  const heldOut = (th: readonly number[]): HeldOut => {
    const o: HeldOut = { reproduced: 0, reproducedIdeal: 0, unsolved: 0, regret: 0 };
    let lost = 0;
    let best = 0;
    for (const w of test) {
      const x = layer.plan(w, th);
      if (!x) {
        o.unsolved++;
        continue;
      }
      if (maxAbsDiff(x, w.observed) < PLAN_TOL) o.reproduced++;
      if (maxAbsDiff(x, w.ideal) < PLAN_TOL) o.reproducedIdeal++;
      const cStar = costOf(w, LP_THETA_STAR);
      lost += dot(cStar, x) - dot(cStar, w.ideal);
      best -= dot(cStar, w.ideal);
    }
    o.regret = lost / best;
    return o;
  };

  // Gradients against central differences at theta_0, where the optimal plans differ from the
  // observed ones: d suboptimality / dc on the first training weeks (with dx* / dc from implc's
  // Jacobian), and the mean training loss's gradient in the free entries of theta. The loss is
  // linear in c near a nondegenerate vertex, so the differences are exact up to the solves'
  // accuracy divided by h.
  const checks: GradientCheck[] = [];
  const h = 1e-5;
  let maxPlanJacobian = 0;
  for (let wi = 0; wi < cfg.checkWeeks; wi++) {
    const w = train[wi];
    const c = costOf(w, LP_THETA_0);
    const r = layer.solve(w, c, w.observed, true);
    const g = r.gradients?.suboptimality?.c as number[];
    for (const row of r.jacobian?.x?.c as number[][]) for (const v of row) maxPlanJacobian = Math.max(maxPlanJacobian, Math.abs(v));
    for (let a = 0; a < c.length; a++) {
      const at = (d: number) => layer.solve(w, c.map((v, i) => (i === a ? v + d : v)), w.observed).outputs.suboptimality;
      checks.push({ part: 'LP', at: `training week ${wi}, theta_0`, entry: `d suboptimality / d c[${a}]`, implicit: g[a], finiteDifference: (at(h) - at(-h)) / (2 * h) });
    }
  }
  const g0 = layer.loss(train, LP_THETA_0).grad;
  LP_THETA_0.forEach((_, j) => {
    if (!free[j]) return;
    const at = (d: number) => layer.loss(train, LP_THETA_0.map((v, i) => (i === j ? v + d : v))).loss;
    checks.push({ part: 'LP', at: 'mean over training weeks, theta_0', entry: `d loss / d theta[${j}] (${LP_FEATURES[j]})`, implicit: g0[j], finiteDifference: (at(h) - at(-h)) / (2 * h) });
  });

  return {
    cfg,
    history,
    theta,
    rejectedSteps,
    floorLoss,
    noisyTrainWeeks,
    heldOut: { initial: heldOut(LP_THETA_0), final: heldOut(theta), truth: heldOut(LP_THETA_STAR), weeks: test.length },
    checks,
    maxPlanJacobian,
    tally: { ...layer.tally },
  };
}

// ---------------------------------------------------------------------------------------------
// 2. The SOCP layer: the efficient frontier of a risk-budgeted portfolio.

export interface SocpConfig {
  seed: number;
  /** Assets. */
  n: number;
  /** Common factors of the returns. */
  factors: number;
  /** Risk budgets strictly between the least risky portfolio's and the riskiest useful one's. */
  grid: number;
}

export interface FrontierPoint {
  sigma: number;
  ret: number;
  risk: number;
  /** d ret / d sigma from implc. */
  slope: number;
  /** Its central finite difference. */
  finiteDifference: number;
  /** The risk budget's multiplier, read from the dual solution y = Pi_K*(-v) at the budget's entry. */
  multiplier: number;
  /** Assets held (weight above 1e-6). */
  held: number;
  verdict: string;
}

export interface SocpOutcome {
  cfg: SocpConfig;
  mu: number[];
  /** The covariance's factor, Sigma = L L' (loadings, then the idiosyncratic volatilities' diagonal). */
  L: number[][];
  /** Standard deviations of the single assets. */
  vol: number[];
  /** The least risk of a long-only portfolio (projected gradient on the simplex). */
  sigmaMin: number;
  /** The risk of holding only the asset of largest expected return: above it the budget is slack. */
  sigmaTop: number;
  frontier: FrontierPoint[];
  checks: GradientCheck[];
  tally: Tally;
}

/** Euclidean projection onto the simplex {w >= 0, 1'w = 1} (by sorting). */
function projectSimplex(v: readonly number[]): number[] {
  const u = [...v].sort((a, b) => b - a);
  let cum = 0;
  let tau = 0;
  for (let i = 0; i < u.length; i++) {
    cum += u[i];
    const t = (cum - 1) / (i + 1);
    if (u[i] - t > 0) tau = t;
  }
  return v.map((x) => Math.max(0, x - tau));
}

/** Projection onto the second-order cone {(t, z): ||z|| <= t}. */
function projectSoc(v: readonly number[]): number[] {
  const t = v[0];
  const nz = Math.sqrt(v.slice(1).reduce((s, x) => s + x * x, 0));
  if (nz <= t) return [...v];
  if (nz <= -t) return v.map(() => 0);
  const a = (t + nz) / 2;
  return [a, ...v.slice(1).map((x) => (a * x) / nz)];
}

/** A factor model of returns, its frontier over a grid of budgets, and d ret / d sigma checked. */
export async function runSocp(cfg: SocpConfig): Promise<SocpOutcome> {
  const Model = await compileModel(SOCP_FILE);
  const rng = mulberry32(cfg.seed);
  const normal = gaussian(rng);
  const { n, factors } = cfg;
  // Returns = B f + e: factor loadings B, idiosyncratic volatilities d; L = [B, diag(d)], Sigma = L L'.
  const B = Array.from({ length: n }, () => Array.from({ length: factors }, () => 0.12 * normal()));
  const d = Array.from({ length: n }, () => 0.06 + 0.14 * rng());
  const L = B.map((row, i) => [...row, ...d.map((v, j) => (i === j ? v : 0))]);
  const Sigma = L.map((ri) => L.map((rj) => dot(ri, rj)));
  const vol = Sigma.map((row, i) => Math.sqrt(row[i]));
  // Riskier assets pay more on average, with a spread.
  const mu = vol.map((s) => 0.02 + 0.4 * s * (0.6 + 0.8 * rng()));
  const riskOf = (w: readonly number[]) => Math.sqrt(dot(w, Sigma.map((row) => dot(row, w))));

  // The least risky long-only portfolio: projected gradient on w'Sigma w with step 1/(2 trace Sigma).
  let w = new Array<number>(n).fill(1 / n);
  const lr = 1 / (2 * Sigma.reduce((s, row, i) => s + row[i], 0));
  for (let it = 0; it < 20000; it++) w = projectSimplex(w.map((v, i) => v - lr * 2 * dot(Sigma[i], w)));
  const sigmaMin = riskOf(w);
  const best = mu.indexOf(Math.max(...mu));
  const sigmaTop = vol[best];

  const tally = newTally();
  const base = new Model({ mu, L, sigma: sigmaTop });
  const solve = (sigma: number) => record(tally, base.with({ sigma }).solve({ tol: 1e-12 }) as RunResult);
  const h = 1e-6;
  const frontier: FrontierPoint[] = [];
  const checks: GradientCheck[] = [];
  // Budgets inside (sigmaMin, sigmaTop), and one above sigmaTop where the budget is slack (slope 0).
  const sigmas = [...Array.from({ length: cfg.grid }, (_, j) => sigmaMin + ((sigmaTop - sigmaMin) * (j + 0.5)) / cfg.grid), 1.15 * sigmaTop];
  for (const sigma of sigmas) {
    const r = solve(sigma);
    const slope = r.gradients?.ret?.sigma as number;
    const fd = (solve(sigma + h).outputs.ret - solve(sigma - h).outputs.ret) / (2 * h);
    // y = s - v = Pi_K*(-v) (Moreau); the second-order cone is self-dual, and its first entry,
    // at index 1 + n (after the zero cone's 1 and the nonnegative cone's n), is the budget's.
    const v = r.solution.v as number[];
    const multiplier = projectSoc(v.slice(1 + n).map((x) => -x))[0];
    const wts = r.solution.w as number[];
    frontier.push({ sigma, ret: r.outputs.ret, risk: r.outputs.risk, slope, finiteDifference: fd, multiplier, held: wts.filter((x) => x > 1e-6).length, verdict: r.certificate.verdict });
    checks.push({ part: 'SOCP', at: `sigma = ${sigma.toPrecision(4)}`, entry: 'd ret / d sigma', implicit: slope, finiteDifference: fd, closedForm: multiplier });
  }
  return { cfg, mu, L, vol, sigmaMin, sigmaTop, frontier, checks, tally };
}

// ---------------------------------------------------------------------------------------------
// 3. The SDP layer: the Goemans-Williamson bound on max-cut.

export interface SdpConfig {
  seed: number;
  /** Vertices. */
  k: number;
  /** Probability of each edge. */
  density: number;
  /** Random hyperplanes of the rounding. */
  roundings: number;
}

export interface SdpOutcome {
  cfg: SdpConfig;
  edges: { i: number; j: number; w: number }[];
  bound: number;
  /** The relaxation's solution X (k x k, unit diagonal, positive semidefinite). */
  X: number[][];
  /**
   * The dual solution on diag(X) = 1: y = s - v = -v there (the zero cone's projection is 0).
   * Weak duality makes it a certificate of the bound: Diag(y) - L(w)/4 is positive
   * semidefinite (the dual feasibility A'y + c = 0 with y in K*), and sum(y) = bound.
   */
  dual: number[];
  /** The rounded cuts' weights: mean and best. */
  meanCut: number;
  bestCut: number;
  /** The expected weight of a random-hyperplane cut, sum w_ij arccos(X_ij) / pi. */
  expectedCut: number;
  /** The maximum cut, by enumeration of the 2^(k-1) cuts. */
  maxCut: number;
  /** Every rounded cut was at most the bound. */
  cutsBelowBound: boolean;
  /** Numerical rank of X (pivots of its Cholesky factorization above 1e-7). */
  rank: number;
  checks: GradientCheck[];
  verdict: string;
  tally: Tally;
}

/** Index of X[r][c] (r >= c) in svec: the lower triangle column by column. */
const svecIndex = (k: number, r: number, c: number): number => c * k - (c * (c - 1)) / 2 + (r - c);

/** X = V V' for a positive semidefinite X, by Cholesky with diagonal pivoting: rows of V are the vectors of the vertices. */
function psdFactor(X: number[][], tol = 1e-7): number[][] {
  const k = X.length;
  const R = X.map((row) => [...row]);
  const V = X.map(() => [] as number[]);
  const done = new Array<boolean>(k).fill(false);
  for (let step = 0; step < k; step++) {
    let p = -1;
    for (let i = 0; i < k; i++) if (!done[i] && (p < 0 || R[i][i] > R[p][p])) p = i;
    if (R[p][p] <= tol) break;
    const s = Math.sqrt(R[p][p]);
    const col = R.map((row, i) => (done[i] ? 0 : row[p] / s));
    col[p] = s;
    done[p] = true;
    for (let i = 0; i < k; i++) {
      V[i].push(col[i]);
      for (let j = 0; j < k; j++) R[i][j] -= col[i] * col[j];
    }
  }
  return V;
}

/** A random weighted graph, its bound and rounding, and the bound's gradient checked two ways. */
export async function runSdp(cfg: SdpConfig): Promise<SdpOutcome> {
  const Model = await compileModel(SDP_FILE);
  const rng = mulberry32(cfg.seed);
  const normal = gaussian(rng);
  const { k } = cfg;
  const t = (k * (k + 1)) / 2;
  const edges: { i: number; j: number; w: number }[] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) if (rng() < cfg.density) edges.push({ i, j, w: 0.5 + rng() });
  // Column e of M: svec of edge e's Laplacian (e_i - e_j)(e_i - e_j)'; E picks diag(X) from svec(X).
  const M = Array.from({ length: t }, () => new Array<number>(edges.length).fill(0));
  edges.forEach(({ i, j }, e) => {
    M[svecIndex(k, i, i)][e] = 1;
    M[svecIndex(k, j, j)][e] = 1;
    M[svecIndex(k, j, i)][e] = -Math.SQRT2;
  });
  const E = Array.from({ length: k }, (_, i) => Array.from({ length: t }, (_, a) => (a === svecIndex(k, i, i) ? 1 : 0)));
  const weights = edges.map((e) => e.w);
  const tally = newTally();
  const base = new Model({ weights, M, E });
  const solve = (w: number[]) => record(tally, base.with({ weights: w }).solve({ tol: 1e-12 }) as RunResult);

  const r = solve(weights);
  const x = r.solution.x as number[];
  const X = Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => (a === b ? x[svecIndex(k, a, a)] : x[svecIndex(k, Math.max(a, b), Math.min(a, b))] / Math.SQRT2)));
  const bound = r.outputs.bound;

  // Goemans-Williamson: vertex i on the side sign(V_i . g) of a random hyperplane with normal g.
  const V = psdFactor(X);
  const cutWeight = (side: readonly boolean[]) => edges.reduce((s, e) => s + (side[e.i] !== side[e.j] ? e.w : 0), 0);
  const cuts = Array.from({ length: cfg.roundings }, () => {
    const g = V[0].map(() => normal());
    return cutWeight(V.map((row) => dot(row, g) >= 0));
  });
  let maxCut = 0;
  for (let mask = 0; mask < 2 ** (k - 1); mask++) maxCut = Math.max(maxCut, cutWeight(Array.from({ length: k }, (_, i) => ((mask >> i) & 1) === 1)));
  const clamp = (v: number) => Math.max(-1, Math.min(1, v));
  const expectedCut = edges.reduce((s, e) => s + (e.w * Math.acos(clamp(X[e.i][e.j]))) / Math.PI, 0);

  // d bound / d w_e: implc, central differences, and the envelope theorem: the bound is
  // max_X 1/4 <L(w), X> over a set that does not depend on w, so its derivative is
  // 1/4 <L_e, X*> = (X_ii + X_jj - 2 X_ij) / 4 = (1 - X_ij) / 2 at the solution.
  const grad = r.gradients?.bound?.weights as number[];
  const h = 1e-6;
  const checks: GradientCheck[] = edges.map((e, a) => {
    const at = (dw: number) => solve(weights.map((v, b) => (b === a ? v + dw : v))).outputs.bound;
    return { part: 'SDP', at: 'the graph', entry: `d bound / d w(${e.i},${e.j})`, implicit: grad[a], finiteDifference: (at(h) - at(-h)) / (2 * h), closedForm: (1 - X[e.i][e.j]) / 2 };
  });
  return {
    cfg,
    edges,
    bound,
    X,
    dual: (r.solution.v as number[]).slice(0, k).map((v) => -v),
    meanCut: cuts.reduce((s, v) => s + v, 0) / cuts.length,
    bestCut: Math.max(...cuts),
    expectedCut,
    maxCut,
    cutsBelowBound: cuts.every((c) => c <= bound + 1e-9),
    rank: V[0].length,
    checks,
    verdict: `${r.certificate.verdict} (${r.certificate.test})`,
    tally,
  };
}

// ---------------------------------------------------------------------------------------------
// The demo: the three parts, their summary, tables and charts.

export interface ConeConfig {
  lp: LpConfig;
  socp: SocpConfig;
  sdp: SdpConfig;
}

export const DEFAULT_CONE: ConeConfig = {
  lp: { seed: 16, k: 6, r: 3, trainWeeks: 16, testWeeks: 30, noise: 0.03, iterations: 12, step: 0.5, minStep: 1e-2, checkWeeks: 3 },
  socp: { seed: 7, n: 8, factors: 2, grid: 10 },
  sdp: { seed: 3, k: 7, density: 0.5, roundings: 50 },
};

/** A smaller run for the tests: fewer weeks and budgets, the same models and checks. */
export const FAST_CONE: ConeConfig = {
  lp: { ...DEFAULT_CONE.lp, trainWeeks: 12, testWeeks: 20, iterations: 8, checkWeeks: 2 },
  socp: { ...DEFAULT_CONE.socp, grid: 5 },
  sdp: { ...DEFAULT_CONE.sdp, k: 6, density: 0.6, roundings: 20 },
};

export interface ConeOutcome {
  lp: LpOutcome;
  socp: SocpOutcome;
  sdp: SdpOutcome;
  /** Seconds per part. */
  seconds: { lp: number; socp: number; sdp: number };
}

export async function runConeLayers(cfg: ConeConfig = DEFAULT_CONE, log: (line: string) => void = () => {}): Promise<ConeOutcome> {
  let t0 = performance.now();
  const elapsed = () => {
    const s = (performance.now() - t0) / 1000;
    t0 = performance.now();
    return s;
  };
  log(`LP: ${cfg.lp.trainWeeks} training and ${cfg.lp.testWeeks} held-out weeks of plans, learning the costs`);
  const lp = await runLp(cfg.lp, log);
  const lpSeconds = elapsed();
  log(`SOCP: the efficient frontier over ${cfg.socp.grid + 1} risk budgets`);
  const socp = await runSocp(cfg.socp);
  const socpSeconds = elapsed();
  log(`SDP: the max-cut relaxation of a graph on ${cfg.sdp.k} vertices`);
  const sdp = await runSdp(cfg.sdp);
  return { lp, socp, sdp, seconds: { lp: lpSeconds, socp: socpSeconds, sdp: elapsed() } };
}

const sig = (v: number, d = 4): number => Number(v.toPrecision(d));
const sci = (v: number): string => v.toExponential(2);
const pct = (v: number): string => `${(100 * v).toPrecision(3)}%`;
const tallyText = (t: Tally): string =>
  `${t.solves} solves: ${t.certified} certified, ${t.unverified} unverified, ${t.violated} violated, ${t.withTies} with ties, ${t.notConverged} not converged`;
const maxError = (checks: readonly GradientCheck[]): number => Math.max(0, ...checks.map(checkError));

export function coneResult(o: ConeOutcome): DemoResult {
  const { lp, socp, sdp } = o;
  const first = lp.history[0];
  const last = lp.history[lp.history.length - 1];
  const cfg = lp.cfg;
  const H = lp.heldOut;
  const lpChecks = lp.checks;
  const frontierSlopes = socp.frontier.map((p) => p.slope);
  const concave = frontierSlopes.every((s, i) => i === 0 || s <= frontierSlopes[i - 1] + 1e-9);
  const envelope = Math.max(0, ...sdp.checks.map((c) => Math.abs(c.implicit - (c.closedForm as number))));
  const multiplierGap = Math.max(0, ...socp.frontier.map((p) => Math.abs(p.slope - p.multiplier)));
  const GW = 0.87856;
  const dualGap = Math.abs(sdp.dual.reduce((a, v) => a + v, 0) - sdp.bound);

  const summary = [
    `LP layer (${LP_FILE}): ${cfg.k} products, ${cfg.r} resources; weekly plans x = argmin c'x s.t. R x <= capacity, 0 <= x <= demand, with costs c = Phi(week) theta over ${LP_FEATURES.length} features (the price's weight held at -1: the scale). ${cfg.trainWeeks} training weeks (${lp.noisyTrainWeeks} of whose observed plans the planner's noise ${cfg.noise} on c changed), ${H.weeks} held-out.`,
    `Descent on the mean suboptimality c'x_obs - c'x*(c) (gradient x_obs - x*, chained through c = Phi theta; Polyak steps, halved ${lp.rejectedSteps} times): ${sci(first.trainLoss)} -> ${sci(last.trainLoss)} in ${last.iteration} steps (${sci(lp.floorLoss)} at the true theta*); held-out ${sci(first.testLoss)} -> ${sci(last.testLoss)}. theta = [${lp.theta.map((v) => sig(v, 3)).join(', ')}] vs theta* = [${LP_THETA_STAR.join(', ')}].`,
    `Held-out plans reproduced exactly: ${H.initial.reproduced} -> ${H.final.reproduced} of ${H.weeks} (the true theta* reproduces ${H.truth.reproduced}: the rest are the noise's); the noise-free planner's: ${H.initial.reproducedIdeal} -> ${H.final.reproducedIdeal}. Regret under the true costs: ${pct(H.initial.regret)} -> ${pct(H.final.regret)} of the best profit.`,
    `dx*/dc = 0 at a nondegenerate vertex: implc's Jacobian of the plan is exactly 0 on the ${cfg.checkWeeks} checked weeks (max |dx/dc| = ${lp.maxPlanJacobian}), a certified derivative, and why the loss is the suboptimality: a decision loss ||x*(c) - x_obs||^2 would have gradient 0 almost everywhere. Gradient vs central differences (${lpChecks.length} entries): max error ${sci(maxError(lpChecks))}. Certificates: ${tallyText(lp.tally)}${lp.tally.notConverged ? ` (a solve past ${LP_MAX_ITER} iterations, near a tie of two vertices, refuses its step)` : ''}.`,
    `SOCP layer (${SOCP_FILE}): ${socp.cfg.n} assets, ${socp.cfg.factors} factors (synthetic, seed ${socp.cfg.seed}); the efficient frontier over ${socp.frontier.length} budgets sigma in (${sig(socp.sigmaMin, 3)}, ${sig(socp.sigmaTop, 3)}) and one above: return ${sig(socp.frontier[0].ret, 3)} -> ${sig(socp.frontier[socp.frontier.length - 1].ret, 3)}, slopes ${sig(frontierSlopes[0], 3)} -> ${sig(frontierSlopes[frontierSlopes.length - 1], 3)} (${concave ? 'decreasing: concave' : 'NOT decreasing'}). d ret / d sigma vs central differences: max error ${sci(maxError(socp.checks))}; vs the budget's multiplier: ${sci(multiplierGap)}. Certificates: ${tallyText(socp.tally)}.`,
    `SDP layer (${SDP_FILE}): a graph on ${sdp.cfg.k} vertices, ${sdp.edges.length} weighted edges; bound ${sig(sdp.bound, 6)} (X of rank ${sdp.rank}, ${sdp.verdict}; the dual's sum(y) differs by ${sci(dualGap)}); ${sdp.cfg.roundings} random-hyperplane roundings: best cut ${sig(sdp.bestCut, 6)}, mean ${sig(sdp.meanCut, 4)} (expected sum w arccos(X_ij)/pi = ${sig(sdp.expectedCut, 4)} >= ${GW} x bound = ${sig(GW * sdp.bound, 4)}); maximum cut by enumeration ${sig(sdp.maxCut, 6)} <= bound: ${sdp.cutsBelowBound && sdp.maxCut <= sdp.bound + 1e-9 ? 'yes' : 'NO'}.`,
    `d bound / d w vs central differences: max error ${sci(maxError(sdp.checks))}; vs the envelope theorem's (1 - X_ij) / 2: ${sci(envelope)}. Certificates: ${tallyText(sdp.tally)}.`,
  ];

  const allChecks = [...lp.checks, ...socp.checks, ...sdp.checks];
  const metrics: Record<string, number | string> = {
    lpTrainWeeks: cfg.trainWeeks,
    lpTestWeeks: H.weeks,
    lpIterations: last.iteration,
    lpInitialLoss: first.trainLoss,
    lpFinalLoss: last.trainLoss,
    lpFloorLoss: lp.floorLoss,
    lpInitialTestLoss: first.testLoss,
    lpFinalTestLoss: last.testLoss,
    lpReproducedInitial: H.initial.reproduced / H.weeks,
    lpReproduced: H.final.reproduced / H.weeks,
    lpReproducedTruth: H.truth.reproduced / H.weeks,
    lpReproducedIdeal: H.final.reproducedIdeal / H.weeks,
    lpRegretInitial: H.initial.regret,
    lpRegret: H.final.regret,
    lpMaxPlanJacobian: lp.maxPlanJacobian,
    lpFdMaxError: maxError(lp.checks),
    lpSolves: lp.tally.solves,
    lpCertified: lp.tally.certified,
    lpUnverified: lp.tally.unverified,
    lpViolated: lp.tally.violated,
    lpNotConverged: lp.tally.notConverged,
    socpPoints: socp.frontier.length,
    socpFdMaxError: maxError(socp.checks),
    socpMultiplierMaxGap: multiplierGap,
    socpConcave: concave ? 'yes' : 'no',
    socpSolves: socp.tally.solves,
    socpCertified: socp.tally.certified,
    socpViolated: socp.tally.violated,
    sdpBound: sdp.bound,
    sdpBestCut: sdp.bestCut,
    sdpMeanCut: sdp.meanCut,
    sdpExpectedCut: sdp.expectedCut,
    sdpMaxCut: sdp.maxCut,
    sdpDualGap: dualGap,
    sdpFdMaxError: maxError(sdp.checks),
    sdpEnvelopeMaxGap: envelope,
    sdpSolves: sdp.tally.solves,
    sdpCertified: sdp.tally.certified,
    sdpViolated: sdp.tally.violated,
    fdChecks: allChecks.length,
    fdMaxError: maxError(allChecks),
  };

  const tallyRow = (part: string, t: Tally) => [part, t.certified, t.unverified, t.violated, t.withTies, t.notConverged, t.solves];
  const tables: DemoTable[] = [
    {
      title: 'LP layer: training (mean suboptimality)',
      columns: ['iteration', 'training', 'held-out', 'step', ...LP_FEATURES.map((f) => `theta (${f})`)],
      rows: lp.history.map((r) => [r.iteration, sci(r.trainLoss), sci(r.testLoss), sig(r.step, 3), ...r.theta.map((v) => sig(v))]),
    },
    {
      title: 'LP layer: held-out weeks',
      columns: ['theta', 'plans = observed', 'plans = noise-free planner', 'unsolved', 'regret (true costs)'],
      rows: [
        ['theta_0 (profit = price)', `${H.initial.reproduced}/${H.weeks}`, `${H.initial.reproducedIdeal}/${H.weeks}`, H.initial.unsolved, pct(H.initial.regret)],
        ['learned', `${H.final.reproduced}/${H.weeks}`, `${H.final.reproducedIdeal}/${H.weeks}`, H.final.unsolved, pct(H.final.regret)],
        ['true theta*', `${H.truth.reproduced}/${H.weeks}`, `${H.truth.reproducedIdeal}/${H.weeks}`, H.truth.unsolved, pct(H.truth.regret)],
      ],
    },
    {
      title: 'SOCP layer: the efficient frontier',
      columns: ['sigma', 'return', 'risk', 'd ret / d sigma (implc)', 'finite difference', 'budget multiplier', 'assets held', 'certificate'],
      rows: socp.frontier.map((p) => [sig(p.sigma), sig(p.ret, 6), sig(p.risk, 6), sig(p.slope, 8), sig(p.finiteDifference, 8), sig(p.multiplier, 8), p.held, p.verdict]),
    },
    {
      title: 'SDP layer: the bound and the cuts',
      columns: ['bound', 'maximum cut (enumeration)', 'best rounded cut', 'mean rounded cut', 'expected rounded cut', `${GW} x bound`],
      rows: [[sig(sdp.bound, 8), sig(sdp.maxCut, 8), sig(sdp.bestCut, 8), sig(sdp.meanCut, 6), sig(sdp.expectedCut, 6), sig(GW * sdp.bound, 6)]],
    },
    {
      title: 'Derivatives from implc vs central finite differences (and closed forms)',
      columns: ['layer', 'at', 'derivative', 'implicit (implc)', 'finite difference', 'closed form', 'error'],
      rows: allChecks.map((c) => [c.part, c.at, c.entry, sig(c.implicit, 8), sig(c.finiteDifference, 8), c.closedForm === undefined ? '' : sig(c.closedForm, 8), sci(checkError(c))]),
    },
    {
      title: 'Certificates of every solve',
      columns: ['layer', 'certified', 'unverified', 'violated', 'with ties', 'not converged', 'solves'],
      rows: [tallyRow('LP', lp.tally), tallyRow('SOCP', socp.tally), tallyRow('SDP', sdp.tally)],
    },
  ];

  const lossChart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'LP layer: mean suboptimality per gradient step',
    width: 520,
    height: 300,
    data: {
      values: [
        ...lp.history.flatMap((r) => [
          { iteration: r.iteration, loss: r.trainLoss, set: 'training weeks' },
          { iteration: r.iteration, loss: r.testLoss, set: 'held-out weeks' },
        ]),
        { floor: lp.floorLoss, label: 'at the true theta* (training: the noise)' },
      ],
    },
    layer: [
      {
        transform: [{ filter: 'isValid(datum.iteration)' }],
        mark: { type: 'line', point: { size: 18 } },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'gradient step', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: "mean c'x_obs - c'x*(c)" },
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
        mark: { type: 'text', align: 'right', baseline: 'bottom', dy: -4, color: 'gray' },
        encoding: { x: { datum: last.iteration }, y: { field: 'floor', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };

  // Tangent segments of the frontier, each a twentieth of the budget range long.
  const half = (socp.sigmaTop - socp.sigmaMin) / 40;
  const frontierChart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'SOCP layer: the efficient frontier and its slopes d ret / d sigma (implc)',
    width: 520,
    height: 300,
    data: {
      values: socp.frontier.map((p) => ({
        sigma: p.sigma,
        ret: p.ret,
        slope: p.slope,
        x0: p.sigma - half,
        x1: p.sigma + half,
        y0: p.ret - p.slope * half,
        y1: p.ret + p.slope * half,
      })),
    },
    layer: [
      {
        mark: { type: 'line', color: 'lightgray', point: { size: 30, color: 'steelblue' } },
        encoding: {
          x: { field: 'sigma', type: 'quantitative', title: 'risk budget sigma (standard deviation)' },
          y: { field: 'ret', type: 'quantitative', scale: { zero: false }, title: 'expected return' },
        },
      },
      {
        mark: { type: 'rule', color: 'firebrick', strokeWidth: 2, clip: true },
        encoding: {
          x: { field: 'x0', type: 'quantitative' },
          x2: { field: 'x1' },
          y: { field: 'y0', type: 'quantitative' },
          y2: { field: 'y1' },
          tooltip: [{ field: 'sigma', type: 'quantitative' }, { field: 'slope', type: 'quantitative' }],
        },
      },
    ],
  };

  const sdpChart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'SDP layer: d bound / d w per edge, implc (bars) and the envelope theorem (ticks)',
    width: 520,
    height: 220,
    data: { values: sdp.checks.map((c) => ({ edge: c.entry.replace('d bound / d w', ''), implicit: c.implicit, envelope: c.closedForm })) },
    layer: [
      {
        mark: { type: 'bar', color: 'steelblue' },
        encoding: {
          x: { field: 'edge', type: 'nominal', sort: null, title: 'edge (i, j)' },
          y: { field: 'implicit', type: 'quantitative', title: 'd bound / d w_ij' },
        },
      },
      {
        mark: { type: 'tick', color: 'black', thickness: 2 },
        encoding: { x: { field: 'edge', type: 'nominal', sort: null }, y: { field: 'envelope', type: 'quantitative' } },
      },
    ],
  };

  return {
    name: 'cone-layers',
    title: CONE_TITLE,
    summary,
    metrics,
    tables,
    charts: [
      { title: 'LP layer: loss per gradient step', spec: lossChart },
      { title: 'SOCP layer: efficient frontier', spec: frontierChart },
      { title: 'SDP layer: gradient of the bound', spec: sdpChart },
    ] satisfies DemoChart[],
  };
}

const CONE_TITLE = 'Cone programs as layers: an LP learns costs, a SOCP frontier, an SDP max-cut bound';

export const coneLayersDemo: Demo = {
  name: 'cone-layers',
  title: CONE_TITLE,
  async run(ctx: DemoContext): Promise<DemoResult> {
    const outcome = await runConeLayers(DEFAULT_CONE, (line) => ctx.log(`cone-layers: ${line}`));
    const result = coneResult(outcome);
    for (const line of result.summary) ctx.log(`cone-layers: ${line}`);
    return result;
  },
};
