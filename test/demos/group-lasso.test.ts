// The group Lasso demo (issue 15): hypergradient descent on log(lambda) for
// samples/group_lasso.impl on breast cancer. The descent must decrease the validation loss,
// reach the best of a grid of 20 solved lambdas, and its hypergradient must match a central
// difference of the validation loss; lambda_max is checked against the solver's own zero set.
import { describe, expect, it } from 'vitest';
import { demo, GroupLassoSolver, loadBreastCancer, nonzeroGroups, runGroupLasso } from '../../demos/group-lasso.ts';
import { loss } from '../../demos/lasso.ts';
import { compileModel } from '../../src/compile-model.ts';
import { expectChartsRender } from '../helpers/charts.ts';

describe('group lasso demo', () => {
  it('a short descent (6 solves) decreases the validation loss at every accepted step, from one nonzero group', async () => {
    const o = await runGroupLasso({ steps: 6, grid: 5 });
    expect(o.path).toHaveLength(6);
    expect(o.path[0].groups).toBeLessThanOrEqual(2);
    const accepted = o.path.filter((r) => r.accepted);
    expect(accepted.length).toBeGreaterThan(2);
    for (let i = 1; i < accepted.length; i++) expect(accepted[i].val).toBeLessThan(accepted[i - 1].val);
    expect(o.best.val).toBeLessThan(0.9 * o.path[0].val);
    for (const r of o.path) expect(r.verdict).not.toBe('violated');
    // The reported loss is the model's output val = 0.5 ||Xv beta - yv||^2, recomputed here.
    expect(Math.abs(loss(o.data.Xv, o.data.yv, o.best.beta) - o.best.val)).toBeLessThan(1e-10 * o.best.val);
  }, 60_000);

  it('the hypergradient d val / d lambda matches a central difference of the validation loss (1e-6 relative)', async () => {
    const data = loadBreastCancer();
    const cls = await compileModel('samples/group_lasso.impl');
    const solver = new GroupLassoSolver(cls, data, 1e-14);
    for (const lambda of [0.5, 8, 40]) {
      const s = solver.solve(lambda);
      const h = 1e-4 * lambda;
      const plus = solver.solve(lambda + h, s.beta);
      const minus = solver.solve(lambda - h, s.beta);
      // The same groups on both sides: val is smooth on [lambda - h, lambda + h].
      expect(nonzeroGroups(plus.beta, data.g)).toBe(nonzeroGroups(s.beta, data.g));
      expect(nonzeroGroups(minus.beta, data.g)).toBe(nonzeroGroups(s.beta, data.g));
      const fd = (plus.val - minus.val) / (2 * h);
      expect(Math.abs(s.grad - fd), `lambda ${lambda}`).toBeLessThan(1e-6 * Math.abs(fd));
      expect(s.verdict).toBe('certified');
    }
  }, 60_000);

  it('lambda_max = max_G ||X_G^T y|| is where the last group leaves', async () => {
    const data = loadBreastCancer();
    const cls = await compileModel('samples/group_lasso.impl');
    const solver = new GroupLassoSolver(cls, data);
    expect(nonzeroGroups(solver.solve(1.001 * data.lambdaMax).beta, data.g)).toBe(0);
    expect(nonzeroGroups(solver.solve(0.999 * data.lambdaMax).beta, data.g)).toBe(1);
  }, 60_000);

  it('the demo: the descent reaches the best of 20 solved lambdas, every solve certified, charts render', async () => {
    const lines: string[] = [];
    const t = performance.now();
    const r = await demo.run({ log: (l) => lines.push(l), tty: false });
    const ms = performance.now() - t;
    expect(r.name).toBe('group-lasso');
    expect(r.title).toBe(demo.title);
    expect(lines.length).toBeGreaterThan(3);
    expect(r.summary.length).toBeGreaterThanOrEqual(4);
    const m = r.metrics as Record<string, number>;
    expect(m.grid_solves).toBe(20);
    expect(m.hyper_solves).toBeLessThanOrEqual(20);
    expect(m.start_groups).toBeLessThanOrEqual(2);
    expect(m.hyper_best_val).toBeLessThan(m.start_val);
    expect(m.hyper_best_val).toBeLessThanOrEqual(m.grid_best_val * (1 + 1e-3));
    expect(m.violated).toBe(0);
    expect(m.certified).toBe(m.grid_solves + m.hyper_solves);
    expect(r.tables[0].rows).toHaveLength(m.hyper_solves);
    expect(ms).toBeLessThan(20_000);
    await expectChartsRender(r.charts);
  }, 60_000);
});

describe('group Lasso grouped by family (issue 15: mean, standard error, worst)', () => {
  it('3 groups of 10 columns; the hypergradient descent reaches its grid best within 0.1%', async () => {
    const o = await runGroupLasso({ grouping: 'family' });
    expect(o.data.groups).toEqual(['mean', 'standard error', 'worst']);
    // Column j is family floor(j / 10) + 1: the CSV's means, then errors, then worst values.
    expect(o.data.g.slice(0, 3)).toEqual([1, 1, 1]);
    expect(o.data.g[10]).toBe(2);
    expect(o.data.g[29]).toBe(3);
    expect(o.data.features[10]).toMatch(/error|se/i);
    expect(o.best.val).toBeLessThanOrEqual(o.gridBest.val * 1.001);
    expect(o.verdicts.violated).toBe(0);
  });
});
