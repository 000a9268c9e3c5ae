import { beforeAll, describe, expect, it } from 'vitest';
import { compile, type TopLevelSpec } from 'vega-lite';
import { compileModel } from '../../src/compile-model.ts';
import { expectChartsRender } from '../helpers/charts.ts';
import type { DemoResult } from '../../demos/demo.ts';
import { runPathologicalCases, type CaseKey, type CaseResult } from '../../demos/patho-cases.ts';
import { naiveLinearSolve, selectedA, selectedB } from '../../demos/patho-naive.ts';
import { pathologicalDemo, pathologicalResult } from '../../demos/pathological.ts';

let cases: CaseResult[];
let result: DemoResult;
const byKey = (k: CaseKey): CaseResult => {
  const c = cases.find((x) => x.key === k);
  if (!c) throw new Error(`no case ${k}`);
  return c;
};

beforeAll(async () => {
  cases = await runPathologicalCases();
  result = pathologicalResult(cases);
}, 60_000);

describe('pathological demo: implc refuses where the theorem fails', () => {
  it('runs as a Demo', async () => {
    const lines: string[] = [];
    const r = await pathologicalDemo.run({ log: (l) => lines.push(l), tty: false });
    expect(r.name).toBe('pathological');
    expect(r.title).toBe('When implicit differentiation is not justified');
    expect(r.metrics).toEqual(result.metrics);
    expect(lines.some((l) => l.includes('warning[W0501]'))).toBe(true);
  }, 30_000);

  it('every case gets `violated` from implc at its bad point, with no derivatives', () => {
    expect(cases.map((c) => c.key)).toEqual(['abs_kink', 'relu_identity', 'cubic', 'relu_unit_weight', 'lasso_segment']);
    for (const c of cases) {
      const bad = c.implc[0];
      expect(bad.status, c.key).toBe('converged');
      expect(bad.verdict, c.key).toBe('violated');
      expect(bad.derivatives, c.key).toBe(false);
      expect(bad.dydx, c.key).toBeNull();
    }
    expect(result.metrics.violatedAtBadPoint).toBe(5);
  });

  it('shows the compile-time W0501 with its counterexample, rendered without color', () => {
    const expected: Record<string, string> = { abs_kink: 'x = 0, y = 0', relu_identity: 'x = 0, y = 0', cubic: 'x = 0, y = 0', relu_unit_weight: 'x = 0, y = 0.5' };
    for (const [key, point] of Object.entries(expected)) {
      const c = byKey(key as CaseKey);
      expect(c.compile.verdict).toBe('violated');
      expect(c.compile.counterexample).toContain(`at ${point}: B = [[0]]`);
      const d = c.compile.diagnostic ?? '';
      expect(d).toContain('warning[W0501]');
      expect(d).toContain(`\`${c.model}\``);
      expect(d).toContain(`F = 0 at ${point}`);
      expect(d).toContain(`--> ${c.file}:`);
      expect(d).not.toMatch(/\u001b\[/);
    }
    // The Lasso's verdict depends on X: no compile-time diagnostic, the refusal comes at run time.
    const lasso = byKey('lasso_segment');
    expect(lasso.compile.verdict).toBe('runtime');
    expect(lasso.compile.diagnostic).toBeNull();
    expect(result.summary.join('\n')).toContain('warning[W0501]: implicit differentiation of `AbsKink` is not justified');
  });

  it("the naive tools use AD's element of the Jacobian: the closed forms", async () => {
    const Abs = await compileModel('samples/pathological/abs_kink.impl', 'AbsKink');
    const Relu = await compileModel('samples/pathological/relu_identity.impl', 'ReluIdentity');
    const Cubic = await compileModel('samples/pathological/cubic.impl', 'Cubic');
    for (const y of [-1.5, -0.25, 0, 0.3, 2]) {
      const Y = Float64Array.of(y);
      expect(selectedB(new Abs({ x: 1 }), Y)[0][0]).toBe(y === 0 ? 0 : Math.sign(y));
      expect(selectedB(new Relu({ x: 1 }), Y)[0][0]).toBe(y === 0 ? 0 : 1);
      expect(selectedB(new Cubic({ x: 1 }), Y)[0][0]).toBeCloseTo(3 * y * y, 12);
      expect(selectedA(new Cubic({ x: 1 }), Y)[0][0]).toBe(-1);
    }
    // An unguarded solve divides by the zero pivot.
    expect(naiveLinearSolve([[0]], [[1]])[0][0]).toBe(Infinity);
    expect(naiveLinearSolve([[0]], [[0]])[0][0]).toBeNaN();
  });

  it('abs_kink: GD crosses the kink, the naive solver returns non-solutions and x diverges', () => {
    const c = byKey('abs_kink');
    const f = c.facts;
    expect(f.crossStep).toBe(2);
    expect(f.crossX).toBe(-0.125);
    expect(f.newtonCycles).toBe(true);
    expect(f.crossY).toBe(0.125);
    expect(f.crossResidual).toBe(0.25);
    expect(f.crossDydx).toBe(1);
    expect(f.unsolvedSteps).toBe(11);
    const s = c.runs[0].steps;
    for (const step of s.slice(2)) {
      expect(step.residual).toBeGreaterThan(0.2); // |y| - x = 2|x| at y = |x|, x < 0
      expect(step.dydx).toBe(1);
    }
    for (let i = 3; i < s.length; i++) expect(s[i].x).toBeLessThan(s[i - 1].x);
    expect(f.finalX as number).toBeLessThan(-30);
    expect(f.finalLoss as number).toBeGreaterThan(500 * (f.initialLoss as number));
    // implc: no solution to certify at x < 0; the other branch is certified with dy/dx = -1.
    expect(c.implc[1].status).not.toBe('converged');
    expect(c.implc[1].derivatives).toBe(false);
    expect(c.implc[2]).toMatchObject({ verdict: 'certified', dydx: -1, solution: [-0.5] });
  });

  it('relu_identity: from x = 0 the formula gives an infinite gradient, the true one is 1', () => {
    const c = byKey('relu_identity');
    expect(c.facts).toMatchObject({ B0: 0, dydx0: Infinity, grad0: -Infinity, x1: Infinity, stepsRun: 1 });
    expect(c.runs[0].stopped).not.toBeNull();
    expect(c.truth?.steps.at(-1)?.x).toBeCloseTo(1 - 0.5 ** 8, 15);
    expect(c.implc[1]).toMatchObject({ verdict: 'certified', dydx: 1 });
    expect(result.metrics['relu_identity.dydx0']).toBe('Infinity');
  });

  it('cubic: landing on x = 0 gives a huge finite gradient that throws x far past the minimizer', () => {
    const c = byKey('cubic');
    const f = c.facts;
    const s = c.runs[0].steps;
    expect(s[1].x).toBe(0);
    const y = f.yAtZero as number;
    expect(y).toBeGreaterThan(0);
    expect(y ** 3).toBeLessThanOrEqual(1e-12);
    expect(y).toBeGreaterThan(5e-5);
    expect(f.dydxAtZero).toBeCloseTo(1 / (3 * y * y), 0);
    expect(f.dydxAtZero as number).toBeGreaterThan(1e7);
    expect(f.jumpX as number).toBeLessThan(-1e7);
    expect(Math.abs((f.finalX as number) - (f.jumpX as number))).toBeLessThan(0.01);
    expect(f.finalLoss as number).toBeGreaterThan(1e4);
    expect(f.optimumX).toBe(-8);
    // implc: violated at the exact solution; from the naive run's start it does not certify.
    expect(c.implc[0].solution).toEqual([0]);
    const warm = c.implc[1];
    expect(warm.verdict).not.toBe('certified');
    const text = c.findings.join(' ');
    if (warm.derivatives) expect(text).toContain('it does not certify that point: the verdict is unverified');
    else expect(text).toContain('implc refuses both');
  });

  it('relu_unit_weight: unrolled training "succeeds" at x = 1/K, which has no fixed point', () => {
    const c = byKey('relu_unit_weight');
    const f = c.facts;
    expect(f.x10).toBeCloseTo(0.1, 9);
    expect(f.x20).toBeCloseTo(0.05, 9);
    expect(f.loss10 as number).toBeLessThan(1e-12);
    expect(f.loss20 as number).toBeLessThan(1e-12);
    expect(f.residual10).toBeCloseTo(f.x10 as number, 12);
    expect(f.residual20).toBeCloseTo(f.x20 as number, 12);
    expect(f.implicitAt0).toBe(0);
    for (const i of c.implc) {
      expect(i.derivatives).toBe(false);
      expect(i.verdict).toBe('violated');
    }
  });

  it('lasso_segment: NaN from the formula, and three runs that end at three different lambdas', () => {
    const c = byKey('lasso_segment');
    const f = c.facts;
    expect(f.coldDydx).toBeNaN();
    expect(f.coldSteps).toBe(1);
    expect(f.unrolledLambda).toBeCloseTo(0.8, 4);
    expect(f.unrolledLoss as number).toBeLessThan(1e-9);
    expect(f.warm10Lambda).toBeCloseTo(1.4, 6);
    expect(f.warm10Loss as number).toBeLessThan(1e-12);
    expect(f.warm01Lambda).toBe(1);
    expect(f.warm01Grad === 0).toBe(true); // exactly zero (-0 here: d beta_1/d lambda = -0)
    expect(f.warm01Loss).toBeCloseTo(0.18, 12);
    for (const i of c.implc) {
      expect(i.status).toBe('converged');
      expect(i.verdict).toBe('violated');
      expect(i.derivatives).toBe(false);
    }
  });

  it('reports tables and a valid faceted Vega-Lite chart of the trajectories', () => {
    expect(result.tables).toHaveLength(4);
    const spec = result.charts[0].spec;
    expect(spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v6.json');
    const values = (spec.data as { values: { case: string; panel: string; method: string; x: number | null }[] }).values;
    expect(new Set(values.map((v) => v.case))).toEqual(new Set(cases.map((c) => c.key)));
    expect(values.every((v) => v.x === null || Number.isFinite(v.x))).toBe(true);
    // The runs stopped by a non-finite gradient say so in their panel's title.
    const panels = [...new Set(values.map((v) => v.panel))];
    expect(panels.filter((p) => p.includes('run stopped'))).toEqual([
      'relu_identity (implicit formula, warm-started Newton: gradient -Infinity at step 0, run stopped)',
      'lasso_segment (implicit formula, cold start beta = 0: gradient NaN at step 0, run stopped)',
    ]);
    expect(new Set(values.map((v) => v.method)).size).toBeGreaterThanOrEqual(7);
    expect(() => compile(spec as unknown as TopLevelSpec)).not.toThrow();
  });

  it('renders its chart to SVG without warnings (the report renderer)', async () => {
    await expectChartsRender(result.charts);
  });
});
