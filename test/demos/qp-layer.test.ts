import { beforeAll, describe, expect, it } from 'vitest';
import { compile, type TopLevelSpec } from 'vega-lite';
import { compileModel } from '../../src/compile-model.ts';
import { expectChartsRender } from '../helpers/charts.ts';
import { mulberry32 } from '../../demos/data.ts';
import type { DemoResult } from '../../demos/demo.ts';
import { DEFAULT_QP, qpLayerDemo, qpResult, runQpExperiment, THETA_STAR, type QpOutcome } from '../../demos/qp-layer.ts';
import { cvxoptPeer, PEER_SKIPPED } from '../../demos/qp-peer.ts';
import type { RunResult } from '../../src/runtime/run.ts';

let outcome: QpOutcome;
let result: DemoResult;
const logged: string[] = [];

beforeAll(async () => {
  outcome = await runQpExperiment(DEFAULT_QP);
  result = qpResult(outcome);
}, 60_000);

describe('qp demo: a box QP as a layer', () => {
  it('runs as a Demo and logs its summary', async () => {
    const r = await qpLayerDemo.run({ log: (l) => logged.push(l), tty: false });
    expect(r.name).toBe('qp');
    expect(r.title).toBe('A QP as a layer: learning a cost vector from decisions');
    expect(qpLayerDemo.name).toBe('qp');
    // Deterministic: the same numbers as the experiment run on its own.
    expect(r.metrics.finalLoss).toBe(result.metrics.finalLoss);
    expect(logged.some((l) => l.includes('Certificates over all'))).toBe(true);
  }, 30_000);

  it('the implicit gradient of the generated layer matches central finite differences', async () => {
    // Independent of the demo's own checks: random SPD programs with a box, gradient of `loss` in q.
    const Model = await compileModel('samples/box_qp.impl', 'BoxQP');
    const rng = mulberry32(99);
    const k = 6;
    let compared = 0;
    for (let trial = 0; trial < 4; trial++) {
      const A = Array.from({ length: k }, () => Array.from({ length: k }, () => rng() * 2 - 1));
      const Q = A.map((_, i) => A.map((__, j) => A.reduce((s, r) => s + r[i] * r[j], 0) + (i === j ? 0.5 : 0)));
      const inputs = { Q, lo: Array(k).fill(-0.4), hi: Array(k).fill(0.6), target: Array.from({ length: k }, () => rng() - 0.5), q: Array.from({ length: k }, () => 2 * rng() - 1) };
      const r = new Model(inputs).solve({ tol: 1e-13 }) as RunResult;
      expect(r.certificate.verdict).not.toBe('violated');
      const g = r.gradients?.loss?.q as number[];
      const h = 1e-6;
      for (let a = 0; a < k; a++) {
        const at = (d: number) => (new Model({ ...inputs, q: inputs.q.map((v, i) => (i === a ? v + d : v)) }).solve({ tol: 1e-13 }) as RunResult).outputs.loss;
        const fd = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(g[a] - fd)).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
        compared++;
      }
    }
    expect(compared).toBe(24);
  }, 15_000);

  it("the demo's gradient checks (theta through q = Phi theta, and q) agree with finite differences", () => {
    expect(outcome.checks.length).toBe(36);
    for (const c of outcome.checks) expect(Math.abs(c.implicit - c.finiteDifference)).toBeLessThan(1e-6 + 1e-5 * Math.abs(c.finiteDifference));
    // Nontrivial gradients were compared, not only zeros.
    expect(outcome.checks.filter((c) => Math.abs(c.implicit) > 0.01).length).toBeGreaterThan(15);
    expect(result.metrics.fdMaxAbsError as number).toBeLessThan(1e-6);
  });

  it('training reduces the loss by a large factor and recovers the cost weights', () => {
    const m = result.metrics;
    expect(m.lossReduction as number).toBeGreaterThan(50);
    expect(m.finalLoss as number).toBeLessThan(1.5 * (m.floorLoss as number));
    expect(m.paramErrorInitial as number).toBeGreaterThan(0.5);
    expect(m.paramError as number).toBeLessThan(0.05);
    expect(m.testRmse as number).toBeLessThan((m.testRmseInitial as number) / 5);
    expect(m.testRmseIdeal as number).toBeLessThan(0.02);
    outcome.theta.forEach((v, j) => expect(Math.abs(v - THETA_STAR[j])).toBeLessThan(0.03));
    // The loss never went up (a step that would raise it is halved and retried).
    for (let i = 1; i < outcome.history.length; i++) expect(outcome.history[i].trainLoss).toBeLessThanOrEqual(outcome.history[i - 1].trainLoss);
    // The bounds matter: a good share of the observed decisions sit at one.
    expect(m.observedAtBound as number).toBeGreaterThan(0.2);
  });

  it('no certificate is ever violated', () => {
    const t = outcome.tally;
    expect(t.solves).toBeGreaterThan(3000);
    expect(t.violated).toBe(0);
    expect(t.notConverged).toBe(0);
    expect(t.certified + t.unverified).toBe(t.solves);
    expect(result.metrics.violated).toBe(0);
    expect(result.summary.join('\n')).toContain(`${t.violated} violated`);
  });

  it('checks against cvxopt + KKT differentiation when available, and says so when not', () => {
    const text = result.summary.join('\n');
    if (outcome.peer.available) {
      expect(outcome.peer.checks.length).toBe(6);
      for (const c of outcome.peer.checks) {
        expect(c.status).toBe('optimal');
        expect(c.decisionDiff).toBeLessThan(1e-6);
        expect(c.gradientDiff).toBeLessThan(1e-5);
      }
    } else {
      expect(text).toContain(PEER_SKIPPED);
    }
    // The skip path, forced.
    const skipped = cvxoptPeer([], ['/nonexistent/python3']);
    expect(skipped).toEqual({ available: false, reason: PEER_SKIPPED });
    const without = qpResult({ ...outcome, peer: { available: false, note: PEER_SKIPPED, checks: [] } });
    expect(without.summary.join('\n')).toContain('cvxopt not installed: peer check skipped');
  });

  it('reports tables and a valid Vega-Lite chart of the loss per iteration', () => {
    expect(result.tables.map((t) => t.title)).toContain('Learned cost weights');
    expect(result.charts).toHaveLength(1);
    const spec = result.charts[0].spec;
    expect(spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v6.json');
    const values = (spec.data as { values: { iteration?: number; loss?: number }[] }).values;
    expect(values.filter((v) => v.iteration !== undefined)).toHaveLength(2 * (DEFAULT_QP.iterations + 1));
    expect(values.every((v) => v.loss === undefined || Number.isFinite(v.loss))).toBe(true);
    expect(() => compile(spec as unknown as TopLevelSpec)).not.toThrow();
  });

  it('renders its chart to SVG without warnings (the report renderer)', async () => {
    await expectChartsRender(result.charts);
  });
});
