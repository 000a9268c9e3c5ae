/** Direct tests of src/analysis/bounds.ts: the facts `require` states, and the intervals built on them. */
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { Bounds, nextDown, nextUp } from '../../src/analysis/bounds.ts';
import type { NodeId } from '../../src/primitives/types.ts';
import { analyzeFile } from '../../src/pipeline.ts';

function analyzeOne(text: string): Analysis {
  const r = analyzeFile('bounds.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}

const nodeOf = (a: Analysis, name: string): NodeId => [...a.model.params, ...a.model.data, ...a.model.unknowns].find((v) => v.name === name)!.node;

describe('neighbouring doubles', () => {
  it('nextDown and nextUp step by one ulp, across 0 and at infinities', () => {
    expect(nextDown(1)).toBe(1 - 2 ** -53);
    expect(nextUp(1)).toBe(1 + 2 ** -52);
    expect(nextDown(-1)).toBe(-1 - 2 ** -52);
    expect(nextDown(0)).toBe(-Number.MIN_VALUE);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextDown(Infinity)).toBe(Infinity);
    for (const x of [0.1, 3, -7.5, 1e300]) {
      expect(nextDown(x)).toBeLessThan(x);
      // No double lies strictly between: the midpoint rounds to one of the two.
      expect([nextDown(x), x]).toContain((nextDown(x) + x) / 2);
    }
  });
});

describe('facts from require', () => {
  const kepler = (req: string) => `model K {\n  param e: real\n  param M: real\n  unknown E: real\n  solve E - e * sin(E) - M = 0\n  ${req}\n}\n`;

  it('0 <= e && e < 1: e in [0, the double below 1]; strictness kept, not rounded to <= 1', () => {
    const a = analyzeOne(kepler('require 0 <= e && e < 1\n  require abs(E) <= 10'));
    const b = new Bounds(a.model);
    expect(b.interval(nodeOf(a, 'e'))).toEqual([0, nextDown(1)]);
    expect(b.interval(nodeOf(a, 'E'))).toEqual([-10, 10]);
    expect(b.bounded(nodeOf(a, 'E'))).toBe(true);
    expect(b.interval(nodeOf(a, 'M'))).toEqual([-Infinity, Infinity]);
  });

  it('non-strict and reversed comparisons: e <= 1 gives exactly 1; 2 > e gives the double below 2; e > 0 is positive', () => {
    const a = analyzeOne(kepler('require e <= 1 && e > 0'));
    const b = new Bounds(a.model);
    expect(b.interval(nodeOf(a, 'e'))).toEqual([Number.MIN_VALUE, 1]);
    expect(b.positive(nodeOf(a, 'e'))).toBe(true);
    const c = analyzeOne(kepler('require 2 > e'));
    expect(new Bounds(c.model).interval(nodeOf(c, 'e'))).toEqual([-Infinity, nextDown(2)]);
  });

  it('opnorm(W) <= 0.9 bounds W and its transpose; nothing stated gives Infinity', () => {
    const text = `model D {\n  dim h\n  param W: real[h, h]\n  data X: real[h, h]\n  unknown z: real[h]\n  fixpoint z = relu(W' * z + X * z)\n  require opnorm(W) <= 0.9\n  require opnorm(W) <= 2\n}\n`;
    const a = analyzeOne(text);
    const b = new Bounds(a.model);
    const W = nodeOf(a, 'W');
    expect(b.operatorNorm(W)).toBe(0.9);
    const g = a.model.graph;
    const Wt = g.nodes.find((n) => n.op === 'transpose' && n.args[0] === W)!.id;
    expect(b.operatorNorm(Wt)).toBe(0.9);
    expect(b.operatorNorm(nodeOf(a, 'X'))).toBe(Infinity);
  });
});

describe('intervals', () => {
  it("t .* t is a square: tanh' = 1 - t .* t lies in [0, 1], not [0, 2]", () => {
    const a = analyzeOne(`model T {\n  dim h\n  param W: real[h, h]\n  unknown z: real[h]\n  fixpoint z = tanh(W * z)\n}\n`);
    const Ty = a.jacobians.Ty!;
    expect(Ty.kind).toBe('diag');
    const factor = (Ty as { factor: NodeId }).factor;
    expect(new Bounds(a.model).interval(factor)).toEqual([0, 1]);
  });

  it('a product of two different bounded nodes stays a product: sin(y) .* cos(y) in [-1, 1]', () => {
    const a = analyzeOne(`model P {\n  param x: real\n  unknown y: real\n  solve 3 * y + sin(y) .* cos(y) - x = 0\n  require abs(y) <= 4\n}\n`);
    const g = a.model.graph;
    const prod = g.nodes.find((n) => n.op === 'mul' && g.node(n.args[0]).op === 'sin' && g.node(n.args[1]).op === 'cos')!.id;
    expect(new Bounds(a.model).interval(prod)).toEqual([-1, 1]);
  });

  it('kink factors range over their whole interval; constants are points; dims are >= 1', () => {
    const a = analyzeOne(`model R {\n  dim n\n  param c: real[n]\n  unknown y: real[n]\n  fixpoint y = 0.5 * relu(y + c)\n}\n`);
    const b = new Bounds(a.model);
    const g = a.model.graph;
    const d = g.nodes.find((n) => n.op === 'relu_d')!.id;
    expect(b.interval(d)).toEqual([0, 1]);
    expect(b.interval(g.constant(0.5))).toEqual([0.5, 0.5]);
    const n = g.nodes.find((x) => x.op === 'input' && (x as { role: string }).role === 'dim')!.id;
    expect(b.interval(n)).toEqual([1, Infinity]);
  });
});
