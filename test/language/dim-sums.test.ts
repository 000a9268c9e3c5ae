/**
 * Issue 15: sums of dims in declared types and in range lengths. `param W: real[n, n + m]` is
 * a type (the sum normalized as concatenation writes it, `m + n`, so `W * [y; u]` checks);
 * dims are bound from the inputs' axes that are one dim, and an axis that is a sum is then
 * checked against its value (an input error naming both); a dim that appears only inside sums
 * could never be bound, so it is a compile-time error at its occurrence. A range of dim
 * arithmetic has an affine length (`y[2:n]` is real[n - 1]). Values are checked against
 * independent iterations written out by hand, derivatives against central finite differences
 * of those independent solutions.
 */
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { compileModel } from '../../src/compile-model.ts';
import { showType } from '../../src/ir/shape.ts';
import { ImplicitDerivatives } from '../../src/runtime/derivatives.ts';
import { InputError } from '../../src/runtime/inputs.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import { expectRel, fd } from '../helpers/finite-differences.ts';

type Instance = ModelInstance & { solve(o?: object): RunResult; with(changes: object): Instance };
type Ctor = new (x: object) => Instance;

const front = (text: string) => frontEnd('t.impl', text);
const errors = (text: string) => front(text).diagnostics.filter((d) => d.severity === 'error');
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
/** 1-based line and column of the `k`-th (0-based) occurrence of `needle` in `text`. */
function where(text: string, needle: string, k = 0): { line: number; column: number } {
  let at = -1;
  for (let i = 0; i <= k; i++) at = text.indexOf(needle, at + 1);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}



const LAYER = `model Layer {
  dim n, m
  param W: real[n, n + m]
  param b: real[n]
  data u: real[m]
  unknown y: real[n]
  fixpoint y = 0.5 * tanh(W * [y; u] + b)
  output o = dot(y, y) + 3 * sum(y)
  output s = y[2:n]
  output t = sumsq(y[2:n]) - y[2:n][n - 1]
}
`;

describe('sums in declared types', () => {
  it('real[n, n + m] is real[n, m + n], the shape of [y; u], so W * [y; u] checks; 2 * n, n + 1, n - 1 likewise', () => {
    const f = front(LAYER);
    expect(f.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(showType(f.models[0].symbols.get('W')!.type)).toBe('real[n, m + n]');
    const text = `model T {
  dim n, m
  data y: real[n]
  data u: real[m]
  data a: real[m + n]
  data c: real[n + 1]
  data d: real[2 * n]
  data e: real[n - 1]
  data g: real[n + m - m]
  data h: real[2 + 3]
  unknown t: real
  solve t = 1
  output o = dot(a, [u; y]) + dot(c, [y; 1]) + dot(d, [y; y]) + dot(e, y[2:n]) + dot(g, y) + sum(h)
}
`;
    const t = front(text);
    expect(t.diagnostics.filter((x) => x.severity === 'error')).toEqual([]);
    const type = (name: string) => showType(t.models[0].symbols.get(name)!.type);
    expect(['a', 'c', 'd', 'e', 'g', 'h'].map(type)).toEqual(['real[m + n]', 'real[n + 1]', 'real[2*n]', 'real[n - 1]', 'real[n]', 'real[5]']);
    // A sum is not any other sum: real[n + 1] against [y; y] (real[2*n]) is a shape error naming both.
    const bad = errors(text.replace('dot(c, [y; 1])', 'dot(c, [y; y])'));
    expect(bad.map((x) => x.code)).toEqual(['E0201']);
    expect(bad[0].message).toContain('real[n + 1]');
    expect(bad[0].message).toContain('real[2*n]');
  });

  it('names inside a sum are dims: undeclared or not a dim is E0105 at the name', () => {
    const undeclared = LAYER.replace('real[n, n + m]', 'real[n, n + k]');
    const e1 = errors(undeclared);
    expect(e1.map((d) => d.code)).toContain('E0105');
    const at = e1.find((d) => d.code === 'E0105')!;
    expect(at.message).toContain('`k`');
    expect(at.span.start).toMatchObject(where(undeclared, 'k]'));
    const notDim = LAYER.replace('  param W:', '  data t: real\n  param W:').replace('real[n, n + m]', 'real[n, n + 2 * t]');
    const e2 = errors(notDim).filter((d) => d.code === 'E0105');
    expect(e2).toHaveLength(1);
    expect(e2[0].message).toContain('`t` is a data input, not a dimension');
    expect(e2[0].span.start).toMatchObject(where(notDim, '2 * t'));
  });

  it('a dim that appears only inside sums cannot be bound: a compile-time error at each occurrence', () => {
    // m is in W's type only inside n + m: no input's shape fixes it.
    const text = LAYER.replace('data u: real[m]', 'data u: real[n]').replace('[y; u]', '[y; u; u][1:n + m]');
    const e = errors(text);
    expect(e.map((d) => d.code)).toEqual(['E0215']);
    expect(e[0].message).toContain('`m`');
    expect(e[0].message).toContain('only inside sums');
    expect(e[0].span.start).toMatchObject(where(text, 'm]'));
    expect(e[0].span.end.offset - e[0].span.start.offset).toBe(1);
    // Bound by any input's whole axis, in any order of declaration: no error.
    expect(errors(text.replace('data u: real[n]', 'data u: real[n]\n  data v: real[m]').replace('output o = ', 'output o = sum(v) + '))).toEqual([]);
  });
});

/** Independent reference: the contraction iterated with W * [y; u] written out entry by entry. */
function solveLayer(W: number[][], b: number[], u: number[]): number[] {
  const n = b.length;
  let y = new Array<number>(n).fill(0);
  for (let it = 0; it < 600; it++) {
    const z = [...y, ...u];
    y = y.map((_, i) => 0.5 * Math.tanh(W[i].reduce((s, w, j) => s + w * z[j], 0) + b[i]));
  }
  return y;
}

describe('a layer with W: real[n, n + m] through generated code', async () => {
  const M = (await compileModel('layer.impl', undefined, LAYER)) as unknown as Ctor;
  // n = 3, m = 2: W is 3 x 5.
  const W = [
    [0.3, -0.2, 0.1, 0.5, -0.4],
    [0.1, 0.4, -0.3, 0.2, 0.6],
    [-0.2, 0.1, 0.25, -0.5, 0.3],
  ];
  const b = [0.1, -0.2, 0.3];
  const u = [0.7, -0.9];
  const outs = (W: number[][], b: number[]) => {
    const y = solveLayer(W, b, u);
    const s = y.slice(1);
    return { y, o: y.reduce((a, v) => a + v * v, 0) + 3 * (y[0] + y[1] + y[2]), s, t: s[0] * s[0] + s[1] * s[1] - s[1] };
  };
  const unflat = (p: number[]): [number[][], number[]] => [[p.slice(0, 5), p.slice(5, 10), p.slice(10, 15)], p.slice(15, 18)];
  const p0 = [...W.flat(), ...b];
  const cols = fd((p) => {
    const x = outs(...unflat(p));
    return [x.o, ...x.s, x.t];
  }, p0);

  it('solves: y, o, y[2:n] (real[n - 1]) and t against the independent iteration', () => {
    const r = new M({ W, b, u }).solve({ tol: 1e-14 });
    expect(r.status).toBe('converged');
    const ref = outs(W, b);
    (r.solution.y as number[]).forEach((v, i) => expectRel(v, ref.y[i], 1e-10, `y[${i}]`));
    expectRel(r.outputs.o as number, ref.o, 1e-10, 'o');
    expect(r.outputs.s).toHaveLength(2);
    (r.outputs.s as unknown as number[]).forEach((v, i) => expectRel(v, ref.s[i], 1e-10, `s[${i}]`));
    expectRel(r.outputs.t as number, ref.t, 1e-10, 't');
  });

  it('implicit gradients of o and t, and the Jacobian of y[2:n], against central differences (1e-6 relative)', () => {
    const inst = new M({ W, b, u });
    const r = inst.solve({ tol: 1e-14 });
    expect(r.status).toBe('converged');
    const grad = (o: string) => [...flat(r.gradients![o].W), ...flat(r.gradients![o].b)];
    const go = grad('o');
    expect(go).toHaveLength(18);
    go.forEach((g, j) => expectRel(g, cols[j][0], 1e-6, `do/dp${j}`));
    grad('t').forEach((g, j) => expectRel(g, cols[j][3], 1e-6, `dt/dp${j}`));
    // The vector output y[2:n]: forward Jacobian and a vector-Jacobian product.
    const d = new ImplicitDerivatives(inst, Float64Array.from(r.solution.y as number[]));
    const J = d.outputJacobian(1);
    expect([J.rows, J.cols]).toEqual([2, 18]);
    for (let e = 0; e < 2; e++) for (let j = 0; j < 18; j++) expectRel(J.data[e * 18 + j], cols[j][1 + e], 1e-6, `ds${e}/dp${j}`);
    const sbar = Float64Array.of(0.7, -1.3);
    const v = d.outputVjp(1, sbar);
    for (let j = 0; j < 18; j++) expectRel(v[j], sbar[0] * cols[j][1] + sbar[1] * cols[j][2], 1e-6, `vjp ${j}`);
  });

  it('an input whose sum axis does not match its dims is the input error naming both shapes', () => {
    // W has 4 columns, but n + m = 3 + 2 = 5 (n from b and from W's rows, m from u).
    const short = W.map((row) => row.slice(0, 4));
    const bad = () => new M({ W: short, b, u });
    expect(bad).toThrow(InputError);
    expect(bad).toThrow(/`W` should have shape \[3, 5\] \(declared \[n, m \+ n\].*but it has shape \[3, 4\]/);
    // Wrong the other way (u longer): m = 3, so W needs 6 columns.
    expect(() => new M({ W, b, u: [1, 2, 3] })).toThrow(/`W` should have shape \[3, 6\].*but it has shape \[3, 5\]/);
    // `with` checks the sum against the instance's dims.
    const inst = new M({ W, b, u });
    expect(() => inst.with({ W: short })).toThrow(InputError);
    expect(() => inst.with({ W: short })).toThrow(/`W` should have shape \[3, 5\]/);
    const again = inst.with({ W: W.map((row) => row.map((x) => x / 2)) }).solve({ tol: 1e-14 });
    const ref = solveLayer(W.map((row) => row.map((x) => x / 2)), b, u);
    (again.solution.y as number[]).forEach((v, i) => expectRel(v, ref[i], 1e-10, `with: y[${i}]`));
  });
});

describe('ranges of dim arithmetic', () => {
  const model = (body: string) => `model R {
  dim n, k
  data a: real[n]
  data q: real[k]
  unknown y: real[n]
  solve y = a
${body}
}
`;
  it('y[2:n] is real[n - 1], y[k:n] real[-k + n + 1] (names sorted), y[2:2 * k] real[2*k - 1]', () => {
    const f = front(model('  output s = y[2:n]\n  output r = y[k:n]\n  output w = y[2:2 * k] + sum(q)'));
    expect(f.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const type = (name: string) => showType(f.models[0].symbols.get(name)!.type);
    expect([type('s'), type('r'), type('w')]).toEqual(['real[n - 1]', 'real[-k + n + 1]', 'real[2*k - 1]']);
  });
  it('empty for every binding (dims are >= 1) is E0210; y[n:1] is not (n = 1 is one entry)', () => {
    expect(errors(model('  output s = y[n:n - 1]')).map((d) => d.code)).toEqual(['E0210']);
    expect(errors(model('  output s = y[n + 1:2]')).map((d) => d.code)).toEqual(['E0210']);
    expect(errors(model('  output s = y[n:1]'))).toEqual([]);
  });
  it('values by hand, and a range empty at the bound dims is a run-time error naming it', async () => {
    const M = (await compileModel('r.impl', undefined, model('  output s = y[2:n]\n  output r = y[k:n] + 0 * sum(q)'))) as unknown as Ctor;
    const r = new M({ a: [5, 6, 7, 8], q: [1, 1] }).solve();
    expect(r.outputs.s).toEqual([6, 7, 8]);
    expect(r.outputs.r).toEqual([6, 7, 8]);
    expect(() => new M({ a: [5], q: [1] }).solve()).toThrow(/range 2:1 is out of range for axis 1 of size 1/);
  });
});
