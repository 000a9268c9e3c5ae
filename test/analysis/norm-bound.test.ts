/** Direct tests of src/analysis/norm-bound.ts: composed bounds on ||T_y|| (MATH.md 5.2). */
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { Bounds } from '../../src/analysis/bounds.ts';
import { Namer, type LinOp } from '../../src/analysis/linop.ts';
import { boundSup, boundValue, constantMultiple, guardDependency, normBound, showBound, type NormBound } from '../../src/analysis/norm-bound.ts';
import { analyzeFile } from '../../src/pipeline.ts';

function analyzeOne(text: string): Analysis {
  const r = analyzeFile('nb.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}

function boundOf(text: string): NormBound | null {
  const a = analyzeOne(text);
  return normBound(a.jacobians.Ty!, a.model.graph, new Bounds(a.model), new Namer(a.model));
}

const deq = (kind: string, req = '') => `model D {\n  dim h\n  ${kind} W: real[h, h]\n  param b: real[h]\n  unknown z: real[h]\n  fixpoint z = relu(W * z + b)\n  ${req}\n}\n`;

describe('constantMultiple', () => {
  it('folds identities and constant scalings, and refuses anything else', () => {
    const a = analyzeOne(deq('param'));
    const g = a.model.graph;
    const b = new Bounds(a.model);
    const I: LinOp = { kind: 'identity', variable: 'z' };
    const half: LinOp = { kind: 'scale', factor: g.constant(0.5), inverse: false, of: I };
    const quarterInv: LinOp = { kind: 'scale', factor: g.constant(4), inverse: true, of: I };
    const op: LinOp = { kind: 'sum', terms: [{ sign: 1, op: I }, { sign: -1, op: half }, { sign: -1, op: quarterInv }] };
    expect(constantMultiple(op, b)).toBe(0.25);
    const W = a.model.params.find((p) => p.name === 'W')!.node;
    expect(constantMultiple({ kind: 'matmul', matrix: W, of: I }, b)).toBeNull();
    // A param scalar has no value at compile time.
    const bnode = a.model.params.find((p) => p.name === 'b')!.node;
    expect(constantMultiple({ kind: 'scale', factor: bnode, inverse: false, of: I }, b)).toBeNull();
    expect(constantMultiple({ kind: 'scale', factor: g.constant(0), inverse: true, of: I }, b)).toBeNull();
  });
});

describe('normBound', () => {
  it('DEQ with a param W: opnorm(W), a param guard without a value; the stated bound when required', () => {
    const free = boundOf(deq('param'))!;
    expect(showBound(free)).toBe('opnorm(W)');
    expect(boundValue(free)).toBeNull();
    expect(boundSup(free)).toBe(Infinity);
    expect(guardDependency(free)).toBe('param');
    const stated = boundOf(deq('param', 'require opnorm(W) <= 0.7'))!;
    expect(boundSup(stated)).toBe(0.7);
    expect(guardDependency(stated)).toBe('param');
  });

  it('DEQ with data W: the same bound, by dependency a data guard', () => {
    expect(guardDependency(boundOf(deq('data'))!)).toBe('data');
  });

  it('constants are folded before the triangle inequality: J (I - 0.5 (I - 0)) has norm 0.5, J (I + 0.5 I) 1.5', () => {
    const simplex = (inner: string) => `model S {\n  dim n\n  param c: real[n]\n  unknown y: real[n]\n  fixpoint y = proj_simplex(${inner})\n}\n`;
    const folded = boundOf(simplex('y - 0.5 * (y - c)'))!;
    expect(boundValue(folded)).toBe(0.5);
    expect(guardDependency(folded)).toBeNull();
    expect(boundValue(boundOf(simplex('y + 0.5 * (y - c)'))!)).toBe(1.5);
  });

  it('a kink factor enters with max(|lo|, |hi|): abs gives 1, relu scaled by 0.25 gives 0.25', () => {
    const scalar = (map: string) => `model A {\n  param x: real\n  unknown y: real\n  fixpoint y = ${map}\n}\n`;
    expect(boundValue(boundOf(scalar('0.25 * relu(y + x)'))!)).toBe(0.25);
    expect(boundValue(boundOf(scalar('abs(0.5 * y) + x'))!)).toBe(0.5);
  });

  it("a smooth factor of the unknowns is bounded by its interval: tanh' <= 1, cos <= 1; an unbounded one gives null", () => {
    const tanh = boundOf(`model T {\n  dim h\n  param W: real[h, h]\n  unknown z: real[h]\n  fixpoint z = tanh(W * z)\n}\n`)!;
    expect(showBound(tanh)).toBe('opnorm(W)');
    const kepler = boundOf(`model K {\n  param e: real\n  param M: real\n  unknown E: real\n  fixpoint E = e * sin(E) + M\n  require 0 <= e && e <= 0.5\n}\n`)!;
    expect(showBound(kepler)).toBe('abs(e)');
    expect(boundSup(kepler)).toBe(0.5);
    // exp' = exp(z) has no upper bound: no norm bound at all.
    expect(boundOf(`model E {\n  dim h\n  param W: real[h, h]\n  unknown z: real[h]\n  fixpoint z = exp(W * z)\n}\n`)).toBeNull();
  });

  it('a sum of kink terms uses the triangle inequality: D_relu W + D_relu V has bound opnorm(W) + opnorm(V)', () => {
    const b = boundOf(`model T2 {\n  dim h\n  param W: real[h, h]\n  param V: real[h, h]\n  unknown z: real[h]\n  fixpoint z = relu(W * z) + relu(V * z)\n  require opnorm(W) <= 0.25\n  require opnorm(V) <= 0.5\n}\n`)!;
    expect(showBound(b)).toBe('opnorm(W) + opnorm(V)');
    expect(boundSup(b)).toBe(0.75);
  });
});
