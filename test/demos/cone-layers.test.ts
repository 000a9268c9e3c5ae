// The cone-layers demo (issue 16), on its fast configuration: an LP layer that learns costs
// from observed plans, the efficient frontier of a SOCP portfolio, and the max-cut SDP bound.
// Each layer's numbers are checked against something the demo does not compute with implc:
// the LP's optimum by enumerating vertices, the frontier against random feasible portfolios,
// the SDP bound against weak duality, the maximum cut by enumeration, and every derivative
// against central finite differences (and, for the SDP, the envelope theorem).
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, type TopLevelSpec } from 'vega-lite';
import { compileModel } from '../../src/compile-model.ts';
import { mulberry32 } from '../../demos/data.ts';
import type { DemoResult } from '../../demos/demo.ts';
import {
  checkError,
  coneLayersDemo,
  coneResult,
  DEFAULT_CONE,
  FAST_CONE,
  LP_FILE,
  LP_THETA_STAR,
  LpLayer,
  makeLpWeeks,
  runConeLayers,
  type ConeOutcome,
} from '../../demos/cone-layers.ts';
import { expectChartsRender } from '../helpers/charts.ts';

let outcome: ConeOutcome;
let result: DemoResult;

beforeAll(async () => {
  outcome = await runConeLayers(FAST_CONE);
  result = coneResult(outcome);
}, 60_000);

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

/** Gaussian elimination with partial pivoting; null when singular. */
function solveSquare(M: number[][], r: number[]): number[] | null {
  const a = M.map((row, i) => [...row, r[i]]);
  const n = a.length;
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(a[i][col]) > Math.abs(a[p][col])) p = i;
    if (Math.abs(a[p][col]) < 1e-12) return null;
    [a[p], a[col]] = [a[col], a[p]];
    for (let i = 0; i < n; i++) {
      if (i === col) continue;
      const f = a[i][col] / a[col][col];
      for (let j = col; j <= n; j++) a[i][j] -= f * a[col][j];
    }
  }
  return a.map((row, i) => row[n] / row[i]);
}

/** min c'x s.t. A x <= b by enumerating every vertex (n of the m constraints tight). */
function lpByVertices(c: number[], A: number[][], b: number[]): { value: number; x: number[]; runnerUp: number } {
  const n = c.length;
  const values: { value: number; x: number[] }[] = [];
  const pick = (start: number, rows: number[]) => {
    if (rows.length === n) {
      const x = solveSquare(rows.map((i) => A[i]), rows.map((i) => b[i]));
      if (x && A.every((row, i) => dot(row, x) <= b[i] + 1e-9)) values.push({ value: dot(c, x), x });
      return;
    }
    for (let i = start; i < A.length; i++) pick(i + 1, [...rows, i]);
  };
  pick(0, []);
  values.sort((p, q) => p.value - q.value);
  // The best vertex other than the optimum (a degenerate vertex repeats with the same x).
  const other = values.find((v) => Math.max(...v.x.map((xi, i) => Math.abs(xi - values[0].x[i]))) > 1e-7);
  return { value: values[0].value, x: values[0].x, runnerUp: other ? other.value : Infinity };
}

/** Whether a symmetric matrix is positive semidefinite up to eps: Cholesky of M + eps I. */
function isPsd(M: number[][], eps: number): boolean {
  const n = M.length;
  const L = M.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i][j] + (i === j ? eps : 0);
      for (let q = 0; q < j; q++) s -= L[i][q] * L[j][q];
      if (i === j) {
        if (s <= 0) return false;
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  }
  return true;
}

describe('cone-layers demo: the LP layer learns costs from observed plans', () => {
  it('solves each week to the optimum found by enumerating vertices, with gradient x_obs - x*', async () => {
    const layer = new LpLayer(await compileModel(LP_FILE));
    const { train } = makeLpWeeks({ ...FAST_CONE.lp, trainWeeks: 4, testWeeks: 0 }, layer);
    const rng = mulberry32(5);
    let compared = 0;
    for (const w of train) {
      // At the planner's costs, and at a random theta (the plan then differs from the observed).
      for (const theta of [LP_THETA_STAR, [rng(), -1, 2 * rng(), rng()]]) {
        const c = w.Phi.map((row) => dot(row, theta));
        const exact = lpByVertices(c, w.A, w.b);
        const r = layer.solve(w, c, w.observed);
        if (exact.runnerUp - exact.value < 1e-6) continue; // a tie: no unique vertex to compare
        expect(r.certificate.verdict).toBe('certified');
        const x = r.solution.x as number[];
        x.forEach((v, i) => expect(Math.abs(v - exact.x[i])).toBeLessThan(1e-8));
        expect(Math.abs(r.outputs.suboptimality - (dot(c, w.observed) - exact.value))).toBeLessThan(1e-9);
        const g = r.gradients?.suboptimality?.c as number[];
        g.forEach((v, i) => expect(Math.abs(v - (w.observed[i] - exact.x[i]))).toBeLessThan(1e-8));
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(6);
  }, 30_000);

  it('the loss decreases at every step, by a large factor, to about its value at the true theta', () => {
    const { history, floorLoss } = outcome.lp;
    expect(history.length).toBeGreaterThan(4);
    for (let i = 1; i < history.length; i++) expect(history[i].trainLoss).toBeLessThan(history[i - 1].trainLoss);
    const first = history[0];
    const last = history[history.length - 1];
    expect(first.trainLoss / last.trainLoss).toBeGreaterThan(20);
    // Measured: 6.34e-3 against 6.81e-3 at theta* (the noise's share).
    expect(last.trainLoss).toBeLessThan(1.2 * floorLoss);
    expect(last.testLoss).toBeLessThan(first.testLoss / 5);
    // The scale is held: the price's weight never moves.
    for (const r of history) expect(r.theta[1]).toBe(-1);
  });

  it('reproduces most held-out plans exactly and cuts the regret under the true costs', () => {
    const { heldOut } = outcome.lp;
    // Measured on the fast configuration: 2 -> 13 of 20 (theta* itself: 17 of 20).
    expect(heldOut.final.reproduced / heldOut.weeks).toBeGreaterThanOrEqual(0.6);
    expect(heldOut.initial.reproduced / heldOut.weeks).toBeLessThan(0.2);
    expect(heldOut.truth.reproduced).toBeGreaterThanOrEqual(heldOut.final.reproduced);
    // Measured: 9.6% -> 0.32% of the best profit.
    expect(heldOut.initial.regret).toBeGreaterThan(0.05);
    expect(heldOut.final.regret).toBeLessThan(heldOut.initial.regret / 10);
    expect(heldOut.final.regret).toBeGreaterThanOrEqual(0);
    expect(heldOut.truth.regret).toBe(0);
  });

  it('dx*/dc is exactly 0 at a certified vertex, and the suboptimality gradient matches finite differences', () => {
    expect(outcome.lp.maxPlanJacobian).toBe(0);
    const checks = outcome.lp.checks;
    expect(checks.length).toBe(FAST_CONE.lp.checkWeeks * FAST_CONE.lp.k + 3);
    for (const c of checks) expect(checkError(c), `${c.at} ${c.entry}`).toBeLessThan(1e-6);
    // Informative gradients were compared, not only zeros.
    expect(checks.filter((c) => Math.abs(c.finiteDifference) > 0.05).length).toBeGreaterThan(4);
  });

  it('no LP certificate is violated; the unverified solves are exactly those that hit the iteration cap', () => {
    const t = outcome.lp.tally;
    expect(t.solves).toBeGreaterThan(300);
    expect(t.violated).toBe(0);
    expect(t.unverified).toBe(t.notConverged);
    expect(t.certified + t.unverified).toBe(t.solves);
  });
});

describe('cone-layers demo: the SOCP efficient frontier', () => {
  it('d ret / d sigma matches central differences and the budget multiplier; the frontier is concave', () => {
    const { frontier, checks, sigmaTop } = outcome.socp;
    expect(frontier.length).toBe(FAST_CONE.socp.grid + 1);
    for (const c of checks) expect(checkError(c), c.at).toBeLessThan(1e-6);
    for (const p of frontier) expect(Math.abs(p.slope - p.multiplier)).toBeLessThan(1e-8);
    for (let i = 1; i < frontier.length; i++) {
      expect(frontier[i].ret).toBeGreaterThan(frontier[i - 1].ret - 1e-12);
      expect(frontier[i].slope).toBeLessThanOrEqual(frontier[i - 1].slope + 1e-9);
    }
    // Below sigmaTop the budget binds (risk = sigma, slope > 0); above it, slack (slope 0, all in the best asset).
    for (const p of frontier.slice(0, -1)) {
      expect(Math.abs(p.risk - p.sigma)).toBeLessThan(1e-8);
      expect(p.slope).toBeGreaterThan(0.01);
    }
    const top = frontier[frontier.length - 1];
    expect(top.sigma).toBeGreaterThan(sigmaTop);
    expect(Math.abs(top.slope)).toBeLessThan(1e-9);
    expect(Math.abs(top.ret - Math.max(...outcome.socp.mu))).toBeLessThan(1e-9);
    expect(top.held).toBe(1);
  });

  it('no random long-only portfolio within a budget beats the frontier', () => {
    const { frontier, mu, L, cfg, sigmaMin } = outcome.socp;
    const risk = (w: number[]) => Math.sqrt(L[0].reduce((s, _, c) => s + dot(w, L.map((row) => row[c])) ** 2, 0));
    const rng = mulberry32(77);
    let compared = 0;
    for (let trial = 0; trial < 2000; trial++) {
      // Uniform on the simplex, and sparse ones (a few assets) that reach the frontier's corners.
      const e = Array.from({ length: cfg.n }, () => (trial % 2 && rng() < 0.6 ? 0 : -Math.log(1 - rng())));
      const s = e.reduce((a, b) => a + b, 0);
      if (s === 0) continue;
      const w = e.map((v) => v / s);
      const r = risk(w);
      expect(r).toBeGreaterThanOrEqual(sigmaMin - 1e-9);
      for (const p of frontier) {
        if (p.sigma < r) continue;
        expect(dot(mu, w)).toBeLessThanOrEqual(p.ret + 1e-12);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('every SOCP solve is certified', () => {
    const t = outcome.socp.tally;
    expect(t.solves).toBe(3 * (FAST_CONE.socp.grid + 1));
    expect(t.certified).toBe(t.solves);
  });
});

describe('cone-layers demo: the max-cut SDP bound', () => {
  it('X is feasible, the bound is 1/4 <L, X>, and the dual certifies it (weak duality)', () => {
    const { X, dual, edges, bound, cfg } = outcome.sdp;
    const k = cfg.k;
    for (let i = 0; i < k; i++) expect(Math.abs(X[i][i] - 1)).toBeLessThan(1e-9);
    expect(isPsd(X, 1e-9)).toBe(true);
    const quarterLX = edges.reduce((s, e) => s + (e.w * (X[e.i][e.i] + X[e.j][e.j] - 2 * X[e.i][e.j])) / 4, 0);
    expect(Math.abs(quarterLX - bound)).toBeLessThan(1e-9);
    // Z = Diag(y) - L(w)/4 >= 0 makes sum(y) an upper bound on every cut; it equals the bound.
    const Z = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? dual[i] : 0)));
    for (const e of edges) {
      Z[e.i][e.i] -= e.w / 4;
      Z[e.j][e.j] -= e.w / 4;
      Z[e.i][e.j] += e.w / 4;
      Z[e.j][e.i] += e.w / 4;
    }
    expect(isPsd(Z, 1e-8)).toBe(true);
    expect(Math.abs(dual.reduce((a, v) => a + v, 0) - bound)).toBeLessThan(1e-8);
  });

  it('the rounded cuts and the maximum cut are below the bound; the expected rounding is above 0.878 of it', () => {
    const s = outcome.sdp;
    expect(s.cutsBelowBound).toBe(true);
    expect(s.bestCut).toBeLessThanOrEqual(s.maxCut + 1e-12);
    expect(s.maxCut).toBeLessThanOrEqual(s.bound + 1e-9);
    expect(s.expectedCut).toBeGreaterThanOrEqual(0.87856 * s.bound);
    expect(s.expectedCut).toBeLessThanOrEqual(s.maxCut + 1e-9);
    // Brute force here, independent of the demo's: the best of all 2^(k-1) cuts.
    let best = 0;
    for (let mask = 0; mask < 2 ** (s.cfg.k - 1); mask++) {
      best = Math.max(best, s.edges.reduce((a, e) => a + (((mask >> e.i) & 1) !== ((mask >> e.j) & 1) ? e.w : 0), 0));
    }
    expect(best).toBe(s.maxCut);
  });

  it('d bound / d w matches central differences and the envelope theorem (1 - X_ij) / 2', () => {
    const { checks, X, edges } = outcome.sdp;
    expect(checks.length).toBe(edges.length);
    checks.forEach((c, a) => {
      expect(checkError(c), c.entry).toBeLessThan(1e-6);
      const e = edges[a];
      expect(Math.abs(c.implicit - (1 - X[e.i][e.j]) / 2)).toBeLessThan(1e-8);
    });
    expect(outcome.sdp.tally.violated).toBe(0);
    expect(outcome.sdp.verdict).toContain('certified');
  });
});

describe('cone-layers demo: as a Demo, with its report', () => {
  it('runs the default configuration and logs its summary', async () => {
    const logged: string[] = [];
    const r = await coneLayersDemo.run({ log: (l) => logged.push(l), tty: false });
    expect(r.name).toBe('cone-layers');
    expect(coneLayersDemo.name).toBe('cone-layers');
    expect(logged.some((l) => l.includes('Held-out plans reproduced exactly'))).toBe(true);
    const m = r.metrics;
    // Measured on the default configuration: 24 of 30 held-out plans; regret 9.8% -> 0.24%.
    expect(m.lpReproduced as number).toBeGreaterThanOrEqual(0.75);
    expect(m.lpRegret as number).toBeLessThan((m.lpRegretInitial as number) / 20);
    expect(m.fdMaxError as number).toBeLessThan(1e-6);
    expect(m.lpViolated).toBe(0);
    expect(m.socpViolated).toBe(0);
    expect(m.sdpViolated).toBe(0);
    expect(m.sdpMaxCut as number).toBeLessThanOrEqual(m.sdpBound as number);
    expect(DEFAULT_CONE.lp.trainWeeks).toBeGreaterThan(FAST_CONE.lp.trainWeeks);
  }, 60_000);

  it('reports tables and valid Vega-Lite charts: the loss curve, the frontier with its slopes, the SDP gradient', () => {
    expect(result.tables.map((t) => t.title)).toContain('Certificates of every solve');
    expect(result.charts).toHaveLength(3);
    for (const c of result.charts) {
      expect(c.spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v6.json');
      expect(() => compile(c.spec as unknown as TopLevelSpec)).not.toThrow();
    }
    const loss = (result.charts[0].spec.data as { values: { iteration?: number; loss?: number }[] }).values;
    expect(loss.filter((v) => v.iteration !== undefined)).toHaveLength(2 * outcome.lp.history.length);
    expect(loss.every((v) => v.loss === undefined || (Number.isFinite(v.loss) && v.loss > 0))).toBe(true);
    const frontier = (result.charts[1].spec.data as { values: { slope: number }[] }).values;
    expect(frontier.map((v) => v.slope)).toEqual(outcome.socp.frontier.map((p) => p.slope));
  });

  it('renders its charts to SVG without warnings (the report renderer)', async () => {
    await expectChartsRender(result.charts);
  });
});
