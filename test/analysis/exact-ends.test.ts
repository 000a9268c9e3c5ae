/**
 * Issue 13: scalar (and diagonal) B enclosed with exact and open ends (src/analysis/
 * strict-interval.ts). An end computed without rounding needs no margin, and a limit that is
 * never attained (exp at -inf, tanh at +-inf) is an open end: Kepler under `e < 1`, exp(y),
 * sigmoid and tanh maps are certified. The cases where a margin is still needed (decimal
 * constants whose doubles are not the literal) stay uncertified, and each certified case is
 * checked at a solution near its worst case.
 */
import { describe, expect, it } from 'vitest';
import { Bounds } from '../../src/analysis/bounds.ts';
import { strictlyNonzero, strictText } from '../../src/analysis/strict-interval.ts';
import { analyzeOne, sampledBs, solveAt, verdictOf } from '../helpers/brute-force.ts';

const scalar = (body: string, extra = '') => `model M {\n  param x: real\n  ${extra}\n  unknown y: real\n  ${body}\n}\n`;

/** The enclosure of B's tangent (seed 1) for a scalar model, as text. */
function enclosureOfB(text: string): { text: string; nonzero: boolean } {
  const a = analyzeOne(text);
  const bounds = new Bounds(a.model);
  const root = a.jacobians.bTangents[0]!;
  return { text: strictText(a.model.graph, root, bounds), nonzero: strictlyNonzero(a.model.graph, root, bounds) };
}

describe('exact ends', () => {
  it("Kepler under 0 <= e < 1: e <= 1 - 2^-53 as a double, so B = 1 - e cos(E) >= 2^-53 exactly", () => {
    const r = enclosureOfB(scalar('solve y - e * sin(y) - x = 0', 'data e: real\n  require 0 <= e < 1'));
    expect(r.nonzero).toBe(true);
    expect(r.text).toBe(`[${Number((2 ** -53).toPrecision(6))}, 2]`);
    // Its fixpoint spelling and a parameter bounded on both sides.
    expect(verdictOf(scalar('fixpoint y = x + e * sin(y)', 'data e: real\n  require 0 <= e < 1')).verdict).toBe('certified');
    expect(verdictOf(scalar('solve y - e * sin(y) - x = 0', 'param e: real\n  require abs(e) < 1')).verdict).toBe('certified');
  });

  it('Kepler under e <= 1 contains B = 0 (e = 1, E = 0): not certified', () => {
    const r = enclosureOfB(scalar('solve y - e * sin(y) - x = 0', 'data e: real\n  require 0 <= e <= 1'));
    expect(r.nonzero).toBe(false);
    expect(verdictOf(scalar('solve y - e * sin(y) - x = 0', 'data e: real\n  require 0 <= e <= 1')).verdict).not.toBe('certified');
  });

  it('brute force: Kepler at e = 1 - 2^-40, M = 1e-6 has B = 1 - e cos(E) > 0 at its solution', async () => {
    const e = 1 - 2 ** -40;
    const { inst, y } = await solveAt(scalar('solve y - e * sin(y) - x = 0', 'data e: real\n  require 0 <= e < 1'), { e, x: 1e-6 });
    const [[[B]]] = sampledBs(inst, y, [], 1);
    expect(B).toBeCloseTo(1 - e * Math.cos(y[0]), 14);
    expect(B).toBeGreaterThan(0);
  });
});

describe('open ends: limits never attained', () => {
  it('exp(y) - x: B = exp(y) in (0, inf); -exp(y) on the other side; softplus: B = sigmoid in (0, 1)', () => {
    expect(enclosureOfB(scalar('solve exp(y) - x = 0')).text).toBe('(0, inf)');
    expect(verdictOf(scalar('solve exp(y) - x = 0')).verdict).toBe('certified');
    expect(verdictOf(scalar('solve -exp(y) - x = 0')).verdict).toBe('certified');
    expect(verdictOf(scalar('solve softplus(y) - x = 0')).verdict).toBe('certified');
  });

  it("tanh(y) - x: B = 1 - tanh(y)^2 in (0, 1]; sigmoid fixpoint: B = 1 - s (1 - s) in (0, 1)", () => {
    expect(enclosureOfB(scalar('solve tanh(y) - x = 0')).text).toBe('(0, 1]');
    expect(verdictOf(scalar('solve tanh(y) - x = 0')).verdict).toBe('certified');
    expect(verdictOf(scalar('fixpoint y = sigmoid(y) + x')).verdict).toBe('certified');
  });

  it('just outside: 4 sigmoid (B = 0 at y = 0), tanh(y) - 0.5 y (B = 0 where tanh^2 = 1/2), y^3 - y', () => {
    for (const body of ['fixpoint y = 4 * sigmoid(y) + x', 'solve tanh(y) - 0.5 * y - x = 0', 'solve y^3 - y - x = 0']) {
      expect(enclosureOfB(scalar(body)).nonzero, body).toBe(false);
      expect(verdictOf(scalar(body)).verdict, body).not.toBe('certified');
    }
    // The singular points, by hand: sigmoid'(0) = 1/4; tanh'(y) = 1/2 at y = atanh(sqrt(1/2)).
    expect(1 - 4 * 0.5 * (1 - 0.5)).toBe(0);
    const y = Math.atanh(Math.SQRT1_2);
    expect(1 - Math.tanh(y) ** 2 - 0.5).toBeCloseTo(0, 14);
  });

  it('powers: y^3 + y has B = 3 y^2 + 1 >= 1', () => {
    expect(enclosureOfB(scalar('solve y^3 + y - x = 0')).text).toBe('[1, inf)');
    expect(verdictOf(scalar('solve y^3 + y - x = 0')).verdict).toBe('certified');
  });
});

describe('quadratic B in the unknown, exactly (continuity.ts quadraticSign)', () => {
  it('y^3 - 3 y^2 + 4 y - x: B = 3 (y - 1)^2 + 1, no real root: certified; -y^3 - y: B = -3 y^2 - 1 < 0', () => {
    const c = verdictOf(scalar('solve y^3 - 3 * y^2 + 4 * y - x = 0'));
    expect(c.verdict).toBe('certified');
    expect(c.reason).toContain('no real root');
    expect(verdictOf(scalar('solve -y^3 - y - x = 0')).verdict).toBe('certified');
    // The discriminant by hand: 6^2 - 4 * 3 * 4 = -12 < 0; minimum 3 (1 - 1)^2 + 1 = 1 at y = 1.
    expect(36 - 48).toBeLessThan(0);
  });

  it('just outside: y^3 - 3 y^2 + 3 y (B = 3 (y - 1)^2, 0 at y = 1), and a coefficient that is a param', () => {
    expect(verdictOf(scalar('solve y^3 - 3 * y^2 + 3 * y - x = 0')).verdict).not.toBe('certified');
    expect(verdictOf(scalar('solve y^3 + a * y - x = 0', 'param a: real')).verdict).not.toBe('certified');
  });
});

describe('inexact ends keep the margin', () => {
  it('fixpoint y = -0.18 abs(y) + 1.18 max(y, 1.58 y) + x: B = 1 - (-0.18 + 1.18) at s = d = 1, 0 in decimals; never certified', () => {
    const text = scalar('fixpoint y = -0.18 * abs(y) + 1.18 * max(y, 1.58 * y) + x');
    expect(enclosureOfB(text).nonzero).toBe(false);
    expect(verdictOf(text).verdict).not.toMatch(/certified|guarded/);
    // 0.18 and 1.18 are not dyadic: their doubles are not the literals, and their difference
    // in floating point is not exactly 1 - the reason these ends are inexact.
    expect(1.18 - 0.18 === 1 && 0.18 * 2 ** 24 === Math.round(0.18 * 2 ** 24)).toBe(false);
  });

  it('0.5 and 0.25 are exact: fixpoint y = 0.5 relu(y) + 0.25 abs(y) + x has B in [0.25, 1.25]', () => {
    const text = scalar('fixpoint y = 0.5 * relu(y) + 0.25 * abs(y) + x');
    expect(verdictOf(text).verdict).toBe('certified');
  });
});
