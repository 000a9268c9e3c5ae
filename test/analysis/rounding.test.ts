// Intervals of B whose end is 0 up to rounding are no proof: two models the random-model
// check found certified (scripts/soundness.ts, seed 2), whose conservative set holds B = 0
// at a vertex where floating point gave 2e-16 (-0.18 + 1.18 and 0.96 + 0.04 are not 1).
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/pipeline.ts';

const verdictOf = (map: string) => {
  const r = analyzeFile('r.impl', `model R {\n  param x: real\n  unknown y: real\n  fixpoint y = ${map}\n}\n`);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.analyses[0].certificate.verdict;
};

describe('a B interval ending at 0 by rounding is not certified', () => {
  it('T_y = -0.18 s + 1.18 (d + 1.58 (1 - d)) reaches 1 at s = 1, d = 1', () => {
    expect(verdictOf('(-0.18) * abs(y) + 1.18 * max(y, 1.58 * y) + x')).not.toMatch(/certified|guarded/);
  });

  it('T_y = 0.96 d1 + 0.04 d2 reaches 1 at d1 = d2 = 1', () => {
    expect(verdictOf('0.96 * proj_box(y, -1.15, 0.69) + 0.04 * proj_box(y, -0.15, 1.3) + x')).not.toMatch(/certified|guarded/);
  });

  it('and one clearly away from 0 still is', () => {
    expect(verdictOf('0.5 * abs(y) + 0.25 * max(y, 1.5 * y) + x')).toBe('certified');
  });
});

describe('at run time too', () => {
  it('B = I - T_y within rounding of singular is not certified (0.96 + 0.04 at a solution inside both boxes)', async () => {
    const { compileModel } = await import('../../src/compile-model.ts');
    const M = await compileModel('r.impl', undefined, 'model R {\n  param x: real\n  unknown y: real\n  fixpoint y = 0.96 * proj_box(y, -1.15, 0.69) + 0.04 * proj_box(y, -0.15, 1.3) + x\n}\n');
    const r = (new M({ x: 0 }) as unknown as { solve(): { certificate: { verdict: string; detail: string } } }).solve();
    expect(r.certificate.verdict).not.toMatch(/certified|guarded/);
    expect(r.certificate.detail).toMatch(/rounding/);
  });
});
