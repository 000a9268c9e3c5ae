import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { analyzeFile } from '../../src/pipeline.ts';

function analyzeOne(text: string, model?: string): Analysis {
  const r = analyzeFile('test.impl', text);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  expect(errors.map((d) => d.message)).toEqual([]);
  const a = model ? r.analyses.find((x) => x.model.name === model) : r.analyses[0];
  expect(a).toBeDefined();
  return a!;
}

const sample = (path: string, model?: string) => analyzeOne(readFileSync(path, 'utf8'), model);

const scalarModel = (body: string) => `model M {\n  param x: real\n  unknown y: real\n  ${body}\n}\n`;

describe('certification verdicts (MATH.md 4-5)', () => {
  it('DEQ: guarded by opnorm(W) < 1, with the row-wise test as fallback', () => {
    const a = sample('samples/deq.impl');
    expect(a.certificate.verdict).toBe('guarded');
    expect(a.certificate.test).toBe('contraction');
    expect(a.certificate.guard).toBe('opnorm(W) < 1');
    expect(a.certificate.rowwise).toBe(true);
    expect(a.B).toBe('I - D_relu * W');
  });

  it('a DEQ written with another activation order is still guarded by the weight norm', () => {
    const a = analyzeOne(`model D2 {
  dim h
  param V: real[h, h]
  data c: real[h]
  unknown s: real[h]
  fixpoint s = relu(c + V * s)
}`);
    expect(a.certificate.verdict).toBe('guarded');
    expect(a.certificate.guard).toBe('opnorm(V) < 1');
  });

  it('Lasso and elastic net: runtime (row-wise), never certified for all inputs', () => {
    for (const [file, model] of [['samples/lasso.impl', 'Lasso'], ['samples/elastic_net.impl', 'ElasticNet']]) {
      const a = sample(file, model);
      expect(a.certificate.verdict).toBe('runtime');
      expect(a.certificate.test).toBe('row-wise vertex test');
    }
  });

  it('y - 0.5 |y| - x = 0 is certified with B in [0.5, 1.5]', () => {
    const a = sample('samples/kink.impl');
    expect(a.certificate.verdict).toBe('certified');
    expect(a.certificate.test).toBe('scalar interval');
    expect(a.certificate.reason).toContain('[0.5, 1.5]');
  });

  // Each counterexample is checked independently: F(x, y) = 0 at the reported point, and a
  // singular element of the conservative set is present there (hand-derived ranges).
  const violated: [string, string, (x: number, y: number) => number, (x: number, y: number) => [number, number]][] = [
    ['abs', 'solve abs(y) - x = 0', (x, y) => Math.abs(y) - x, (_x, y) => (y === 0 ? [-1, 1] : [Math.sign(y), Math.sign(y)])],
    ['relu identity', 'solve relu(y) - relu(-y) - x = 0', (x, y) => Math.max(y, 0) - Math.max(-y, 0) - x, (_x, y) => (y === 0 ? [0, 2] : [1, 1])],
    ['cubic', 'solve y^3 - x = 0', (x, y) => y ** 3 - x, (_x, y) => [3 * y * y, 3 * y * y]],
  ];
  for (const [name, body, F, range] of violated) {
    it(`${name}: violated, with a counterexample that checks out`, () => {
      const a = analyzeOne(scalarModel(body));
      expect(a.certificate.verdict).toBe('violated');
      const ce = a.certificate.counterexample!;
      expect(ce).not.toBeNull();
      const { x, y } = ce.point;
      expect(Math.abs(F(x, y))).toBeLessThan(1e-12);
      const [lo, hi] = range(x, y);
      expect(lo <= 0 && 0 <= hi).toBe(true);
      expect(a.diagnostics.map((d) => d.code)).toContain('W0501');
    });
  }

  it('y = relu(w y + x) with let w = 1: violated at a point where a continuum of solutions exists', () => {
    const a = sample('samples/pathological/relu_unit_weight.impl', 'ReluUnitWeight');
    expect(a.certificate.verdict).toBe('violated');
    const { x, y } = a.certificate.counterexample!.point;
    expect(Math.abs(y - Math.max(y + x, 0))).toBeLessThan(1e-12);
    // B = 1 - d with d = 1 where w y + x > 0, and d in [0, 1] at the tie: 0 is in the range.
    const d = y + x > 0 ? [1, 1] : y + x < 0 ? [0, 0] : [0, 1];
    expect(1 - d[1]).toBeLessThanOrEqual(0);
  });

  it('y = relu(w y + x) with w a param: guarded by |w| < 1', () => {
    const a = sample('samples/pathological/relu_unit_weight.impl', 'ReluWeightParam');
    expect(a.certificate.verdict).toBe('guarded');
    expect(a.certificate.guard).toBe('abs(w) < 1');
  });

  it('a kink shared by all rows, B(d) = (1 - 2d) I, is never certified', () => {
    // Vertices d = 0 (B = I) and d = 1 (B = -I) are invertible; d = 1/2 is not.
    const a = analyzeOne(`model Shared {
  dim n
  param c: real[n]
  unknown y: real[n]
  solve (if sum(y) > 0 then -y else y) - c = 0
}`);
    expect(a.certificate.verdict).not.toBe('certified');
    expect(a.certificate.verdict).not.toBe('guarded');
    expect(a.certificate.rowwise).toBe(false);
  });

  it('a contraction with a known constant is certified for all inputs', () => {
    const a = analyzeOne(scalarModel('fixpoint y = 0.5 * relu(y + x)').replace('solve', 'solve'));
    expect(a.certificate.verdict).toBe('certified');
  });

  it('box QP with data Q: runtime; simplex QP with param Q: guarded', () => {
    expect(sample('samples/box_qp.impl').certificate.verdict).toBe('runtime');
    const s = sample('samples/simplex_qp.impl');
    expect(s.certificate.verdict).toBe('guarded');
    expect(s.certificate.guard).toBe('opnorm(I - g * Q) < 1');
  });
});

describe('classes (MATH.md 2)', () => {
  it('a discontinuous primitive inside F is an error at its span; in a data-only let it is fine', () => {
    const bad = analyzeFile('t.impl', scalarModel('solve y - sign(y) - x = 0'));
    const e = bad.diagnostics.find((d) => d.code === 'E0401');
    expect(e).toBeDefined();
    expect(e!.span.start.line).toBe(4);
    expect(e!.span.start.column).toBe(13);
    const ok = analyzeFile('t.impl', `model M {\n  data a: real\n  param x: real\n  let k = floor(a)\n  unknown y: real\n  solve y - k - x = 0\n}\n`);
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('sqrt that can reach 0 warns; sqrt of a positive quantity does not', () => {
    const warn = analyzeFile('t.impl', scalarModel('solve y + sqrt(y * y) - x = 0'));
    expect(warn.diagnostics.map((d) => d.code)).toContain('W0402');
    const fine = analyzeFile('t.impl', scalarModel('solve y + sqrt(y^2 + 1) - x = 0'));
    expect(fine.diagnostics.map((d) => d.code)).not.toContain('W0402');
    expect(fine.analyses[0].classes.lipschitz).toBe('locally');
  });

  it('sin without a bound warns and is not definable; with a require bound it is R_an', () => {
    const unbounded = analyzeFile('t.impl', scalarModel('solve 2 * y + sin(y) - x = 0'));
    expect(unbounded.diagnostics.map((d) => d.code)).toContain('W0403');
    expect(unbounded.analyses[0].classes.definability).toBe('not definable');
    const bounded = analyzeFile('t.impl', scalarModel('solve 2 * y + sin(y) - x = 0\n  require abs(y) <= 10'));
    expect(bounded.diagnostics.map((d) => d.code)).not.toContain('W0403');
    expect(bounded.analyses[0].classes.definability).toBe('R_an');
  });

  it('exp makes a model R_exp, with the span responsible', () => {
    const a = analyzeOne(scalarModel('solve y + exp(y) - x = 0'));
    expect(a.classes.definability).toBe('R_exp');
    expect(a.classes.definabilityCause[0].primitive).toBe('exp');
    expect(a.classes.definabilityCause[0].span!.start.line).toBe(4);
  });

  it('kink sites are counted with their sizes', () => {
    const a = sample('samples/deq.impl');
    expect(a.kinks).toHaveLength(1);
    expect(a.kinks[0]).toMatchObject({ primitive: 'relu', size: 'h', range: '[0, 1]' });
    expect(a.pieces).toBe('at most 2^(h)');
  });
});
