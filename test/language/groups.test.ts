/**
 * Group labels (`data g: index[p]`) and block_soft_threshold (issue 15): the type's errors
 * (where labels may appear, bind-time ids), the values against the definition written here,
 * and the JVP/VJP through compiled models against central differences in f64.
 */
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { compileModel } from '../../src/compile-model.ts';
import { InputError } from '../../src/runtime/inputs.ts';
import type { ModelInstance } from '../../src/runtime/model.ts';
import { blockSoftThresholdRef } from '../primitives/groups-cases.ts';

const errors = (text: string) => frontEnd('t.impl', text).diagnostics.filter((d) => d.severity === 'error');
const model = (...lines: string[]) => ['model G {', '  dim p', '  data v: real[p]', '  data g: index[p]', '  param t: real', '  unknown u: real[p] = 0', ...lines, '}', ''].join('\n');

type Solved = ModelInstance & {
  solve(options?: object): { status: string; solution: Record<string, unknown>; outputs: Record<string, number>; certificate: { verdict: string }; gradients?: Record<string, Record<string, unknown>> };
};
const flat = (x: unknown): number[] => [x].flat(4) as number[];

describe('index types: where group labels may appear', () => {
  it('checks a model that passes labels to block_soft_threshold', () => {
    expect(errors(model('  fixpoint u = block_soft_threshold(v, t, g)', '  output o = sum(u)'))).toEqual([]);
  });

  it('E0206: labels used as numbers, with the span of the name', () => {
    for (const use of ['  output o = sum(g)', '  output o = sum(u .* g)', '  let h = g', '  output o = sum(block_soft_threshold(g, t, g))']) {
      const e = errors(model('  fixpoint u = block_soft_threshold(v, t, g)', use));
      expect(e.map((d) => d.code), use).toEqual(['E0206']);
      expect(e[0].message).toMatch(/`g` holds group labels \(index\[p\]\), not numbers/);
      // Line 8; the span covers exactly `g`.
      expect(e[0].span.start.line).toBe(8);
      expect(e[0].span.end.offset - e[0].span.start.offset).toBe(1);
    }
  });

  it('E0206: a number where labels are expected', () => {
    const e = errors(model('  fixpoint u = block_soft_threshold(v, t, v)'));
    expect(e.map((d) => d.code)).toEqual(['E0206']);
    expect(e[0].message).toMatch(/takes group labels here/);
    expect(e[0].span.start).toMatchObject({ line: 7, column: 43 });
  });

  it('labels are data only, and a vector', () => {
    const asParam = errors(['model G {', '  dim p', '  data v: real[p]', '  param g: index[p]', '  unknown u: real[p] = 0', '  fixpoint u = block_soft_threshold(v, 1, g)', '}', ''].join('\n'));
    expect(asParam.map((d) => d.code)).toEqual(['E0206']);
    expect(asParam[0].message).toMatch(/data only, not a `param`/);
    const asUnknown = errors(['model G {', '  dim p', '  data v: real[p]', '  unknown g: index[p]', '  unknown u: real[p] = 0', '  fixpoint u = v', '}', ''].join('\n'));
    expect(asUnknown.some((d) => /data only, not an `unknown`/.test(d.message))).toBe(true);
    const matrix = errors(['model G {', '  dim p', '  data v: real[p]', '  data g: index[p, p]', '  unknown u: real[p] = 0', '  fixpoint u = v', '}', ''].join('\n'));
    expect(matrix.map((d) => d.code)).toEqual(['E0203']);
  });

  it('labels of another length than v: a shape error', () => {
    const e = errors(['model G {', '  dim p, q', '  data v: real[p]', '  data g: index[q]', '  unknown u: real[p] = 0', '  fixpoint u = block_soft_threshold(v, 1, g)', '}', ''].join('\n'));
    expect(e.map((d) => d.code)).toEqual(['E0201']);
  });

  it('`index` stays a name outside types', () => {
    expect(errors(['model G {', '  data index: real', '  unknown u: real = 0', '  fixpoint u = 0.5 * u + index', '}', ''].join('\n'))).toEqual([]);
  });
});

const explicit = `model B {
  dim p
  param w: real[p]
  param t: real
  data g: index[p]
  data c: real[p]
  unknown y: real[p]
  solve y - block_soft_threshold(w, t, g) = 0
  output o = dot(c, y)
}
`;

describe('block_soft_threshold through a compiled model', () => {
  const g = [1, 2, 1, 3, 2, 3, 3];
  const c = [1, -2, 0.5, 3, -1, 0.25, 2];
  const w = [0.9, -0.4, 1.3, 0.2, 0.5, -0.7, 0.6];

  it('bind time: labels must be integers >= 1, named in the error', async () => {
    const M = await compileModel('b.impl', undefined, explicit);
    for (const bad of [[1, 2, 1.5, 3, 2, 3, 3], [1, 0, 1, 3, 2, 3, 3], [1, 2, -1, 3, 2, 3, 3]]) {
      expect(() => new M({ w, t: 0.5, g: bad, c })).toThrow(InputError);
      expect(() => new M({ w, t: 0.5, g: bad, c })).toThrow(/`g` holds group labels \(index\), but entry \d is -?[\d.]+, not an integer >= 1/);
    }
    const ok = new M({ w, t: 0.5, g, c }) as unknown as Solved;
    expect(() => (ok as unknown as { with(x: object): unknown }).with({ g: [1, 2, 1, 3, 2, 3, 0.5] })).toThrow(/`g` holds group labels/);
  });

  it('values against the definition, for t above, between and below the group norms', async () => {
    const M = await compileModel('b.impl', undefined, explicit);
    // Group norms: |(0.9, 1.3)| = 1.581, |(-0.4, 0.5)| = 0.640, |(0.2, -0.7, 0.6)| = 0.943.
    for (const t of [0.3, 0.8, 1.2, 2, 0, -0.5]) {
      const r = (new M({ w, t, g, c }) as unknown as Solved).solve({ tol: 1e-15 });
      expect(r.status).toBe('converged');
      const expected = blockSoftThresholdRef(w, t, g);
      flat(r.solution.y).forEach((x, i) => expect(Math.abs(x - expected[i])).toBeLessThan(1e-14));
    }
    // By hand at t = 0.8: group 2 (norm 0.640 < 0.8) is 0; group 1 scales by 1 - 0.8 / sqrt(2.5).
    const r = (new M({ w, t: 0.8, g, c }) as unknown as Solved).solve({ tol: 1e-15 });
    const y = flat(r.solution.y);
    expect(y[1]).toBe(0);
    expect(y[4]).toBe(0);
    expect(y[0]).toBeCloseTo(0.9 * (1 - 0.8 / Math.sqrt(2.5)), 14);
  });

  it('JVP and VJP in w and t against central differences (f64)', async () => {
    const M = await compileModel('b.impl', undefined, explicit);
    for (const t of [0.3, 0.8]) {
      const inst = new M({ w, t, g, c }) as unknown as Solved;
      const res = inst.solve({ tol: 1e-15, jacobian: true }) as ReturnType<Solved['solve']> & { jacobian: Record<string, Record<string, unknown>> };
      expect(res.status).toBe('converged');
      const ref = (ww: number[], tt: number) => blockSoftThresholdRef(ww, tt, g);
      const outAt = (ww: number[], tt: number) => ref(ww, tt).reduce((s, x, i) => s + c[i] * x, 0);
      const h = 1e-6;
      // VJP (the gradients of o) in w.
      const gw = flat(res.gradients!.o.w);
      for (let k = 0; k < w.length; k++) {
        const plus = w.map((x, i) => (i === k ? x + h : x));
        const minus = w.map((x, i) => (i === k ? x - h : x));
        const fd = (outAt(plus, t) - outAt(minus, t)) / (2 * h);
        expect(Math.abs(gw[k] - fd), `d o / d w_${k + 1} at t = ${t}`).toBeLessThan(1e-8);
      }
      const fdT = (outAt(w, t + h) - outAt(w, t - h)) / (2 * h);
      expect(Math.abs(flat(res.gradients!.o.t)[0] - fdT)).toBeLessThan(1e-8);
      // JVP (the forward-mode Jacobian dy/dw, dy/dt) against differences of the definition.
      const Jw = res.jacobian.y.w as number[][];
      const Jt = flat(res.jacobian.y.t);
      for (let k = 0; k < w.length; k++) {
        const plus = ref(w.map((x, i) => (i === k ? x + h : x)), t);
        const minus = ref(w.map((x, i) => (i === k ? x - h : x)), t);
        for (let i = 0; i < w.length; i++) expect(Math.abs(Jw[i][k] - (plus[i] - minus[i]) / (2 * h))).toBeLessThan(1e-8);
      }
      const tp = ref(w, t + h);
      const tm = ref(w, t - h);
      for (let i = 0; i < w.length; i++) expect(Math.abs(Jt[i] - (tp[i] - tm[i]) / (2 * h))).toBeLessThan(1e-8);
    }
  });
});
