// The deq demo, fast: the implicit gradients it trains with against central finite
// differences of the re-solved f64 loss, the projection that keeps the guard opnorm(W) < 1,
// and a short training run (a subset of the digits, two epochs) that must improve accuracy
// with no NaN anywhere. The full run (95% held-out accuracy) is the demo's own: `implc demo deq`.
import { beforeAll, describe, expect, it } from 'vitest';
import type { DemoResult } from '../../demos/demo.ts';
import {
  batchGradient,
  batchLossF64,
  demo,
  deqResult,
  initParams,
  instances,
  loadDeqNet,
  loadDigits,
  projectW,
  runDeq,
  slot,
  view,
  type DeqNet,
  type DeqRun,
} from '../../demos/deq.ts';
import { expectChartsRender } from '../helpers/charts.ts';

/** Every number in a value (objects, arrays, typed arrays), with its path. */
function numbers(value: unknown, path = '$', out: [string, number][] = []): [string, number][] {
  if (typeof value === 'number') out.push([path, value]);
  else if (ArrayBuffer.isView(value)) Array.from(value as Float64Array).forEach((v, i) => out.push([`${path}[${i}]`, v]));
  else if (Array.isArray(value)) value.forEach((v, i) => numbers(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) numbers(v, `${path}.${k}`, out);
  return out;
}

function expectFinite(value: unknown): void {
  const bad = numbers(value).filter(([, v]) => !Number.isFinite(v));
  expect(bad.slice(0, 5)).toEqual([]);
}

describe('deq demo: gradients and projection', () => {
  let net: DeqNet;
  const data = loadDigits();

  beforeAll(async () => {
    net = await loadDeqNet(data.features, 64, data.classes);
  }, 60_000);

  it('the split is deterministic, 1437 / 360, pixels in [0, 1]', () => {
    expect(data.train).toHaveLength(1437);
    expect(data.test).toHaveLength(360);
    expect(loadDigits().test.map((s) => s.label)).toEqual(data.test.map((s) => s.label));
    for (const s of [...data.train, ...data.test]) {
      expect(Math.min(...s.u)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...s.u)).toBeLessThanOrEqual(1);
    }
  });

  it('the batch gradient w.r.t. entries of W and b matches central differences of the re-solved loss', () => {
    const theta = initParams(net, 3);
    // Larger hidden weights than at initialization, so W matters and the fixed point is not trivial.
    const W = view(net, theta, 'W');
    for (let i = 0; i < W.length; i++) W[i] *= 3;
    projectW(net, theta, 0.9);
    const batch = data.train.slice(0, 8);
    const g = batchGradient(net, theta, batch, 1e-12);
    expect(g.contributing).toBe(batch.length);
    expect(g.counts.violated).toBe(0);
    expect(g.counts.guard).toBe(batch.length);
    expectFinite(g.grad);

    // Entries of W and b: the three largest gradient entries of each, and two fixed ones;
    // then the largest entry of U, V and c.
    const largest = (name: 'W' | 'U' | 'b' | 'V' | 'c', count: number): number[] => {
      const s = slot(net, name);
      return Array.from({ length: s.size }, (_, i) => s.offset + i)
        .sort((a, b) => Math.abs(g.grad[b]) - Math.abs(g.grad[a]))
        .slice(0, count);
    };
    const picks: number[] = [];
    for (const name of ['W', 'b'] as const) {
      const s = slot(net, name);
      picks.push(...largest(name, 3), s.offset + 5, s.offset + Math.floor(s.size / 2));
    }
    for (const name of ['U', 'V', 'c'] as const) picks.push(...largest(name, 1));
    const eps = 1e-5;
    for (const j of picks) {
      const plus = theta.slice();
      plus[j] += eps;
      const minus = theta.slice();
      minus[j] -= eps;
      const fd = (batchLossF64(net, plus, batch) - batchLossF64(net, minus, batch)) / (2 * eps);
      expect(Math.abs(g.grad[j] - fd), `param ${j}: implicit ${g.grad[j]}, finite difference ${fd}`).toBeLessThan(1e-7 + 1e-5 * Math.abs(fd));
    }
    // The picked W entries are not all negligible: the test compares real numbers.
    expect(Math.max(...picks.slice(0, 3).map((j) => Math.abs(g.grad[j])))).toBeGreaterThan(1e-4);
  }, 60_000);

  it('the gpu.js forward path (f32, then an f64 polish) gives the loss and gradient of the f64 batched path', () => {
    const theta = initParams(net, 4);
    projectW(net, theta, 0.9);
    const batch = data.train.slice(0, 16);
    const f64 = batchGradient(net, theta, batch, 1e-12, 'f64');
    const gpu = batchGradient(net, theta, batch, 1e-12, 'gpu.js');
    expect(f64.backend).toMatch(/^f64 batched/);
    expect(gpu.backend).toMatch(/gpu\.js mode/);
    expect(gpu.contributing).toBe(16);
    expect(Math.abs(gpu.loss - f64.loss)).toBeLessThan(1e-10 * Math.abs(f64.loss));
    const scale = Math.max(...f64.grad.map(Math.abs));
    f64.grad.forEach((g, j) => expect(Math.abs(gpu.grad[j] - g) / scale).toBeLessThan(1e-9));
  }, 60_000);

  it('projection rescales W so that the generated guard bound is below 1', () => {
    const theta = initParams(net, 5);
    const W = view(net, theta, 'W');
    for (let i = 0; i < W.length; i++) W[i] *= 20;
    const [before] = instances(net, theta, data.train.slice(0, 1));
    expect(before.guardBound()!).toBeGreaterThan(1);
    const p = projectW(net, theta, 0.95);
    expect(p.scaled).toBe(true);
    expect(p.before).toBeGreaterThan(1);
    expect(p.after).toBeLessThanOrEqual(0.95);
    const [after] = instances(net, theta, data.train.slice(0, 1));
    expect(after.guardBound()!).toBeLessThan(1);
    // Below the radius nothing changes.
    const again = theta.slice();
    expect(projectW(net, again, 0.95).scaled).toBe(false);
    expect(again).toEqual(theta);
  });
});

describe('deq demo: a short training run', () => {
  let run: DeqRun;
  let result: DemoResult;
  const lines: string[] = [];

  beforeAll(async () => {
    run = await runDeq({ epochs: 2, trainSize: 320, testSize: 200, batchSize: 32, learningRate: 0.01 }, { log: (l) => lines.push(l), tty: false });
    result = deqResult(run);
  }, 120_000);

  it('improves held-out accuracy', () => {
    expect(run.epochs).toHaveLength(2);
    const final = run.epochs[1].testAccuracy;
    expect(final).toBeGreaterThan(run.initialTestAccuracy + 0.3);
    expect(final).toBeGreaterThan(0.6);
    expect(run.epochs[1].trainLoss).toBeLessThan(run.epochs[0].trainLoss);
    // One line per epoch (no TTY), after the header line.
    expect(lines.filter((l) => l.startsWith('epoch '))).toHaveLength(2);
  });

  it('keeps the guard opnorm(W) < 1 after every step, and certifies every sample', () => {
    expect(run.steps).toHaveLength(2 * 10);
    for (const s of run.steps) {
      expect(s.boundAfter).toBeLessThanOrEqual(0.95);
      expect(s.guardBound!).toBeLessThan(1);
    }
    const c = run.counts;
    expect(c.guard + c.runtime + c.unverified + c.violated).toBe(2 * 320);
    expect(c.violated).toBe(0);
    expect(c.guard).toBe(2 * 320);
    expect(run.backends.length).toBeGreaterThan(0);
  });

  it('has no NaN anywhere', () => {
    expectFinite(run.theta);
    expectFinite(run.epochs);
    expectFinite(run.steps);
    expectFinite(result.metrics);
    expectFinite(result.charts.map((c) => c.spec));
    for (const t of result.tables) for (const row of t.rows) for (const cell of row) if (typeof cell === 'number') expect(Number.isFinite(cell)).toBe(true);
  });

  it('reports summary, metrics, tables and renderable Vega-Lite charts', async () => {
    expect(demo.name).toBe('deq');
    expect(result.name).toBe('deq');
    expect(result.title).toBe(demo.title);
    expect(result.summary.join('\n')).toMatch(/test accuracy \d+\.\d%/);
    for (const key of ['test_accuracy', 'train_loss_final', 'epoch_seconds', 'guard_certified', 'runtime_certified', 'unverified', 'violated']) {
      expect(typeof result.metrics[key], key).toBe('number');
    }
    expect(typeof result.metrics.backend).toBe('string');
    expect(result.tables[0].rows).toHaveLength(3);
    expect(result.charts.map((c) => c.title)).toEqual(expect.arrayContaining(['Training loss per epoch', 'Test accuracy per epoch']));
    for (const c of result.charts) expect(c.spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v6.json');
    await expectChartsRender(result.charts);
  }, 30_000);
});
