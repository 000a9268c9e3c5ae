import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import type { DemoResult } from '../../demos/demo.ts';
import { demo, loadDiabetes, loss } from '../../demos/lasso.ts';
import { expectChartsRender } from '../helpers/charts.ts';
import type { RunResult } from '../../src/runtime/run.ts';

const num = (r: DemoResult, key: string): number => {
  const v = r.metrics[key];
  expect(typeof v, key).toBe('number');
  expect(Number.isFinite(v), key).toBe(true);
  return v as number;
};

/** Every inline data.values array of a Vega-Lite spec (top level, layers, concatenations). */
function dataValues(spec: unknown): unknown[][] {
  if (!spec || typeof spec !== 'object') return [];
  const out: unknown[][] = [];
  const s = spec as Record<string, unknown>;
  const data = s.data as { values?: unknown } | undefined;
  if (data && Array.isArray(data.values)) out.push(data.values);
  for (const key of ['layer', 'hconcat', 'vconcat', 'concat']) {
    if (Array.isArray(s[key])) for (const sub of s[key] as unknown[]) out.push(...dataValues(sub));
  }
  if (s.spec) out.push(...dataValues(s.spec));
  return out;
}

describe('lasso demo', () => {
  let result: DemoResult;
  const lines: string[] = [];
  let wallMs = 0;

  beforeAll(async () => {
    const t = performance.now();
    result = await demo.run({ log: (l) => lines.push(l), tty: false });
    wallMs = performance.now() - t;
  }, 120_000);

  it('describes itself and logs progress', () => {
    expect(demo.name).toBe('lasso');
    expect(result.name).toBe('lasso');
    expect(result.title).toBe(demo.title);
    expect(lines.length).toBeGreaterThan(3);
    expect(result.summary.length).toBeGreaterThanOrEqual(5);
    for (const l of result.summary) expect(l.length).toBeGreaterThan(0);
    expect(wallMs).toBeLessThan(40_000);
    expect(num(result, 'total_ms')).toBeLessThan(40_000);
  });

  it('hypergradient descent reaches within 1% of the grid best in far fewer solves', () => {
    const grid = num(result, 'grid_best_val');
    const hyper = num(result, 'hyper_best_val');
    expect(grid).toBeGreaterThan(0);
    expect(hyper).toBeLessThanOrEqual(grid * 1.01);
    expect(num(result, 'grid_solves')).toBe(100);
    expect(num(result, 'hyper_solves')).toBeGreaterThan(0);
    expect(num(result, 'hyper_solves')).toBeLessThanOrEqual(num(result, 'grid_solves') / 4);
    const lambdaMax = num(result, 'lambda_max');
    const lambda = num(result, 'hyper_lambda');
    expect(lambda).toBeGreaterThan(1e-3 * lambdaMax * 0.999);
    expect(lambda).toBeLessThan(lambdaMax);
    expect(num(result, 'grid_ms')).toBeGreaterThan(0);
    expect(num(result, 'hyper_ms')).toBeGreaterThan(0);
  });

  it('weighted lasso and elastic net do not lose validation loss, and report a held-out test loss', () => {
    const single = num(result, 'hyper_best_val');
    expect(num(result, 'weighted_val')).toBeLessThanOrEqual(single + 1e-9);
    expect(num(result, 'enet_val')).toBeLessThanOrEqual(single + 1e-9);
    expect(num(result, 'weighted_gain_pct')).toBeGreaterThanOrEqual(0);
    expect(num(result, 'enet_gain_pct')).toBeGreaterThanOrEqual(0);
    for (const k of ['grid_best_test', 'hyper_test', 'weighted_test', 'enet_test']) expect(num(result, k)).toBeGreaterThan(0);
    expect(num(result, 'enet_lambda1')).toBeGreaterThan(0);
    expect(num(result, 'enet_lambda2')).toBeGreaterThanOrEqual(0);
  });

  it('every solve is certified or unverified, none violated', () => {
    const solves = num(result, 'solves');
    expect(num(result, 'violated')).toBe(0);
    expect(num(result, 'certified') + num(result, 'unverified')).toBe(solves);
    expect(solves).toBe(num(result, 'grid_solves') + num(result, 'hyper_solves') + num(result, 'weighted_solves') + num(result, 'enet_solves'));
  });

  it('has tables and Vega-Lite charts with inline data', () => {
    expect(result.tables.length).toBeGreaterThan(0);
    for (const t of result.tables) {
      expect(t.rows.length).toBeGreaterThan(0);
      for (const row of t.rows) expect(row.length).toBe(t.columns.length);
    }
    expect(result.charts.length).toBeGreaterThanOrEqual(2);
    for (const c of result.charts) {
      expect(c.spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v6.json');
      const values = dataValues(c.spec);
      expect(values.length, c.title).toBeGreaterThan(0);
      for (const v of values) expect(v.length, c.title).toBeGreaterThan(0);
      expect(JSON.stringify(c.spec)).not.toMatch(/NaN|Infinity/);
    }
    // The first chart draws the grid on a log lambda axis with the hypergradient path layered on it.
    const layers = result.charts[0].spec.layer as unknown[];
    expect(Array.isArray(layers) && layers.length >= 2).toBe(true);
    expect(JSON.stringify(result.charts[0].spec)).toContain('"type":"log"');
  });

  it('renders every chart to SVG without warnings', async () => {
    await expectChartsRender(result.charts);
  }, 30_000);

  it('a generated hypergradient matches a central finite difference of the validation loss', async () => {
    const data = loadDiabetes();
    const Lasso = await compileModel(fileURLToPath(new URL('../../samples/lasso.impl', import.meta.url)));
    const { X, y, Xv, yv } = data;
    const at = (lambda: number): RunResult => new Lasso({ X, y, Xv, yv, lambda }).solve({ tol: 1e-13 }) as RunResult;
    const lambda = data.lambdaMax / 10;
    const r = at(lambda);
    expect(r.certificate.verdict).toBe('certified');
    const g = r.gradients?.val.lambda as number;
    const h = 1e-4 * lambda;
    const plus = at(lambda + h);
    const minus = at(lambda - h);
    // The same support and signs on both sides: the loss is smooth across [lambda - h, lambda + h].
    const signs = (s: RunResult): number[] => (s.solution.beta as number[]).map(Math.sign);
    expect(signs(plus)).toEqual(signs(minus));
    expect(signs(plus)).toEqual(signs(r));
    // The model's output agrees with the validation loss computed here.
    expect(r.outputs.val).toBeCloseTo(loss(Xv, yv, r.solution.beta as number[]), 10);
    const fd = (plus.outputs.val - minus.outputs.val) / (2 * h);
    expect(Math.abs(g)).toBeGreaterThan(1e-3);
    expect(Math.abs(g - fd)).toBeLessThan(1e-5 * Math.abs(g) + 1e-9);
  });
});
