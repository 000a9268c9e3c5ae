/**
 * The general compile-time counterexample search (src/analysis/counterexample.ts,
 * searchCounterexampleGeneral, MATH.md 4): every reported point is checked here with F and B
 * written out by hand, not read back from the IR.
 */
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { searchCounterexampleGeneral } from '../../src/analysis/counterexample.ts';
import { analyzeFile } from '../../src/pipeline.ts';

function analyzeOne(text: string): Analysis {
  const r = analyzeFile('ce.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}
const certificate = (text: string) => analyzeOne(text).certificate;
const general = (text: string) => {
  const a = analyzeOne(text);
  return searchCounterexampleGeneral(a.model, a.jacobians);
};

describe('the general search finds what the grid search misses', () => {
  it('y + sin(y) - x: B = 1 + cos(y) touches 0 at y = pi (no kink, no grid point)', () => {
    const c = certificate('model M { param x: real\n unknown y: real\n solve y + sin(y) - x = 0 }');
    expect(c.verdict).toBe('violated');
    const { x, y } = c.counterexample!.point;
    expect(Math.abs(y + Math.sin(y) - x)).toBeLessThan(1e-9);
    // B = 1 + cos(y) is 0 exactly at odd multiples of pi: the point is within 1e-6 of one.
    expect(Math.abs(Math.cos(y) + 1)).toBeLessThan(1e-12);
    expect(Math.abs(y / Math.PI - Math.round(y / Math.PI))).toBeLessThan(1e-6);
    expect(Math.round(y / Math.PI) % 2).not.toBe(0);
  });

  it('fixpoint y = cos(y) + x: B = 1 + sin(y) touches 0 at y = -pi/2', () => {
    const c = certificate('model M { param x: real\n unknown y: real\n fixpoint y = cos(y) + x }');
    expect(c.verdict).toBe('violated');
    const { x, y } = c.counterexample!.point;
    expect(Math.abs(y - Math.cos(y) - x)).toBeLessThan(1e-9);
    expect(Math.abs(1 + Math.sin(y))).toBeLessThan(1e-12);
  });

  it('Kepler with data e unrestricted: e = 1, y = 0 gives B = 1 - e cos(y) = 0', () => {
    const c = certificate('model M { param x: real\n data e: real\n unknown y: real\n solve y - e * sin(y) - x = 0 }');
    expect(c.verdict).toBe('violated');
    const { x, e, y } = c.counterexample!.point;
    expect(Math.abs(y - e * Math.sin(y) - x)).toBeLessThan(1e-9);
    expect(Math.abs(1 - e * Math.cos(y))).toBeLessThan(1e-9);
  });

  it('vector |y| - c: at y = 0, c = 0 each D_abs entry ranges over [-1, 1], which holds a singular D', () => {
    const c = certificate('model V { dim n\n param c: real[n]\n unknown y: real[n]\n solve abs(y) - c = 0 }');
    expect(c.verdict).toBe('violated');
    const p = c.counterexample!.point;
    const n = p.n;
    expect(n).toBeGreaterThanOrEqual(1);
    let tied = 0;
    for (let i = 0; i < n; i++) {
      expect(Math.abs(Math.abs(p[`y[${i}]`]) - p[`c[${i}]`])).toBeLessThan(1e-9);
      if (p[`y[${i}]`] === 0) tied++;
    }
    // B = diag(D_abs): singular in the set only where some entry of y is 0 (D ranges over [-1, 1]).
    expect(tied).toBeGreaterThan(0);
    const B = c.counterexample!.B;
    expect(B.length).toBe(n);
  });

  it('two unknowns a - x = 0, relu(b) - a = 0: at a = b = x = 0, B = [1 0; -1 d] with d in [0, 1]', () => {
    const c = certificate('model T { param x: real\n unknown a: real\n unknown b: real\n solve { a - x = 0; relu(b) - a = 0 } }');
    expect(c.verdict).toBe('violated');
    const { a, b, x } = c.counterexample!.point;
    expect(Math.abs(a - x)).toBeLessThan(1e-9);
    expect(Math.abs(Math.max(b, 0) - a)).toBeLessThan(1e-9);
    // det B = d, 0 in the set only at the tie b = 0.
    expect(b).toBe(0);
    const B = c.counterexample!.B;
    expect(B[0][0] * B[1][1] - B[0][1] * B[1][0]).toBe(0);
    expect(B[0]).toEqual([1, 0]);
    expect(B[1][0]).toBe(-1);
  });
});

describe('models whose B is invertible everywhere are never reported', () => {
  const invertible: [string, string][] = [
    ['2y + sin(y) - x (B in [1, 3])', 'model M { param x: real\n unknown y: real\n solve 2 * y + sin(y) - x = 0 }'],
    ['max(y, 2y) - x (B in [1, 2])', 'model M { param x: real\n unknown y: real\n solve max(y, 2 * y) - x = 0 }'],
    ['Kepler under 0 <= e <= 0.99 (B >= 0.01)', 'model M { param x: real\n data e: real\n unknown y: real\n solve y - e * sin(y) - x = 0\n require 0 <= e <= 0.99 }'],
    ['y = 0.5 tanh(y) + x (B in [0.5, 1])', 'model M { param x: real\n unknown y: real\n fixpoint y = 0.5 * tanh(y) + x }'],
    ['relu DEQ under opnorm(W) <= 0.9', 'model D { dim n\n param W: real[n, n]\n param b: real[n]\n unknown z: real[n]\n fixpoint z = relu(W * z + b)\n require opnorm(W) <= 0.9 }'],
    ['y + relu(y) - c, vector (B = I + D, D in [0, 1])', 'model V { dim n\n param c: real[n]\n unknown y: real[n]\n solve y + relu(y) - c = 0 }'],
    // B = exp(y) > 0 and 1000 exp(1000 y) > 0 decay to (and underflow to) 0 far out: no zero.
    ['exp(y) - x', 'model M { param x: real\n unknown y: real\n solve exp(y) - x = 0 }'],
    ['exp(1000 y) - x', 'model M { param x: real\n unknown y: real\n solve exp(1000 * y) - x = 0 }'],
    // B = 1 - tanh(y)^2 > 0 is 0 in floating point from y = 20 on.
    ['tanh(y) - x', 'model M { param x: real\n unknown y: real\n solve tanh(y) - x = 0 }'],
    ['sigmoid(1000 y) - x', 'model M { param x: real\n unknown y: real\n solve sigmoid(1000 * y) - x = 0 }'],
    ['a scalar B of 1e-14 scale', 'model M { param x: real\n unknown y: real\n solve 1e-14 * y + 1e-15 * sin(y) - x = 0 }'],
    ['two unknowns, det B in [0.75, 1.25]', 'model R { param a: real\n param b: real\n unknown u: real\n unknown v: real\n solve { u - 0.5 * sin(v) - a = 0; v + 0.5 * cos(u) - b = 0 } }'],
  ];
  it.each(invertible)('%s: the search itself reports nothing, and the verdict is not violated', (_name, text) => {
    expect(general(text)).toBeNull();
    expect(certificate(text).verdict).not.toBe('violated');
  });

  it('a jump at an if on the unknown is no tie: (if y > 0 then y + 1 else -y) - x has B = +-1 and no singular element', () => {
    // At y = 0 the branches are 1 and 0: F jumps, and the set of B at the switch is not the
    // hull of +1 and -1 (no implicit function theorem point, no counterexample either).
    for (const body of ['(if y > 0 then y + 1 else -y) - x', '(if y > 0 then 2 * y + 1 else -y) - x']) {
      const text = `model M { param x: real\n unknown y: real\n solve ${body} = 0 }`;
      expect(general(text)).toBeNull();
      expect(certificate(text).verdict).not.toBe('violated');
    }
  });

  it('a switch whose branches agree is a tie: (if y > 0 then y else -y) - x is |y| - x, violated at 0', () => {
    const ce = general('model M { param x: real\n unknown y: real\n solve (if y > 0 then y else -y) - x = 0 }');
    expect(ce).not.toBeNull();
    expect(ce!.point.y).toBe(0);
    expect(ce!.point.x).toBe(0);
  });
});

describe('work is bounded', () => {
  it('the search returns fast on each case above', () => {
    const started = performance.now();
    general('model M { param x: real\n unknown y: real\n solve y + sin(y) - x = 0 }');
    general('model D { dim n\n param W: real[n, n]\n param b: real[n]\n unknown z: real[n]\n fixpoint z = relu(W * z + b)\n require opnorm(W) <= 0.9 }');
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
