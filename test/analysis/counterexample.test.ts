/** Direct tests of src/analysis/counterexample.ts: reachable singular elements (MATH.md 4). */
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { searchCounterexample } from '../../src/analysis/counterexample.ts';
import { analyzeFile } from '../../src/pipeline.ts';

function analyzeOne(text: string): Analysis {
  const r = analyzeFile('ce.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}

const scalar = (body: string, extra = '') => `model M {\n  param x: real\n  unknown y: real\n  solve ${body} = 0\n  ${extra}\n}\n`;
const search = (text: string) => {
  const a = analyzeOne(text);
  return searchCounterexample(a.model, a.jacobians);
};

describe('searchCounterexample', () => {
  it('|y| - x: F = 0 at x = 0, y = 0 with the kink at a tie, B ranging over [-1, 1]', () => {
    const ce = search(scalar('abs(y) - x'))!;
    expect(ce).not.toBeNull();
    expect(ce.point).toEqual({ x: 0, y: 0 });
    expect(Math.abs(Math.abs(ce.point.y) - ce.point.x)).toBe(0);
    expect(ce.why).toContain('[-1, 1]');
  });

  it('y^3 - x: B = 3 y^2 = 0 at y = 0, found without any kink', () => {
    const ce = search(scalar('y^3 - x'))!;
    expect(ce.point.y).toBe(0);
    expect(ce.point.x).toBe(0);
    expect(ce.why).toContain('B = 0');
  });

  it('a point where a require fails is no counterexample: |y| - x under x >= 1 has none', () => {
    expect(search(scalar('abs(y) - x', 'require x >= 1'))).toBeNull();
    // A require that the tie point satisfies leaves the counterexample in place.
    expect(search(scalar('abs(y) - x', 'require x >= -1'))).not.toBeNull();
  });

  it('a sound kink has none: y - 0.5 |y| - x (B in [0.5, 1.5])', () => {
    expect(search(scalar('y - 0.5 * abs(y) - x'))).toBeNull();
  });

  it('models with data, dims or vector unknowns are not searched (their points depend on run-time values)', () => {
    expect(search(`model D {\n  data a: real\n  param x: real\n  unknown y: real\n  solve abs(y) - a * x = 0\n}\n`)).toBeNull();
    expect(search(`model V {\n  dim n\n  param c: real[n]\n  unknown y: real[n]\n  solve abs(y) - c = 0\n}\n`)).toBeNull();
  });

  it('with several params the first is solved for, the others held at 0.5: Kepler reports no false counterexample', () => {
    // At M = 0.5 the grid points E give e = (E - 0.5) / sin(E), where B = 1 - e cos(E) != 0:
    // e.g. E = 0.5 gives e = 0 and B = 1. A reported point would have to satisfy F = 0 and B = 0.
    expect(search(`model K {\n  param e: real\n  param M: real\n  unknown E: real\n  solve E - e * sin(E) - M = 0\n  require abs(E) <= 10\n}\n`)).toBeNull();
  });
});
