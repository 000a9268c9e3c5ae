import { describe, expect, it } from 'vitest';
import { InputError, solveInstance } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

// `instance.with(changes)`: one instance per sample of a batch without binding the shared
// inputs (and recomputing what depends on them) again.

const rng = mulberry32(5);
const vec = (n: number) => Array.from({ length: n }, () => 2 * rng() - 1);
const mat = (r: number, c: number, s = 1) => Array.from({ length: r }, () => vec(c).map((v) => s * v));

describe('with: derived instances', () => {
  it('compute exactly what a fresh instance with the same inputs computes', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const W = mat(6, 6, 0.2);
    const U = mat(6, 3);
    const b = vec(6);
    const base = new Deq({ W, U, b, u: vec(3) });
    const u = vec(3);
    const derived = base.with({ u });
    const fresh = new Deq({ W, U, b, u });
    const y = Float64Array.from(vec(6));
    const [a, c] = [new Float64Array(6), new Float64Array(6)];
    derived.map(y, a);
    fresh.map(y, c);
    expect(Array.from(a)).toEqual(Array.from(c));
    const r1 = solveInstance(derived, { tol: 1e-13 });
    const r2 = solveInstance(fresh, { tol: 1e-13 });
    expect(Array.from(r1.y)).toEqual(Array.from(r2.y));
    expect(derived.guardBound()).toBe(fresh.guardBound());
    // And the base is untouched.
    base.map(y, a);
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('share the values of unchanged inputs and recompute the others', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const inputs = { W: mat(4, 4, 0.2), U: mat(4, 2), b: vec(4), u: vec(2) };
    const base = new Deq(inputs);
    const sameW = base.with({ u: vec(2) });
    expect(sameW.value('W')).toBe(base.value('W'));
    expect(sameW.value('u')).not.toBe(base.value('u'));
    const W2 = mat(4, 4, 0.9);
    const newW = base.with({ W: W2 });
    expect(newW.value('W')).not.toBe(base.value('W'));
    // The guard bound follows W: the one a fresh instance with W2 computes, not the shared one.
    expect(newW.guardBound()).toBe(new Deq({ ...inputs, W: W2 }).guardBound());
    expect(newW.guardBound()).not.toBe(base.guardBound());
  });

  it('refuse a change of shape or an unknown name, with an InputError', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const base = new Deq({ W: mat(4, 4, 0.2), U: mat(4, 2), b: vec(4), u: vec(2) });
    expect(() => base.with({ u: vec(3) })).toThrow(InputError);
    expect(() => base.with({ u: vec(3) })).toThrow(/should have shape \[2\]/);
    expect(() => base.with({ v: vec(2) })).toThrow(/not an input of model Deq/);
    expect(() => base.with({ u: [1, Number.NaN] })).toThrow(/not a finite number/);
  });

  it('snapshot Float64Array inputs: changing the array afterwards changes nothing', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const shared = { W: mat(4, 4, 0.2), U: mat(4, 2), b: vec(4) };
    const u = Float64Array.from(vec(2));
    const original = u.slice();
    const inst = new Deq({ ...shared, u });
    // Values derived from u are computed on first use, after this write: they must not see it.
    u[0] += 10;
    const reference = new Deq({ ...shared, u: original });
    expect(Array.from(solveInstance(inst, { tol: 1e-13 }).y)).toEqual(Array.from(solveInstance(reference, { tol: 1e-13 }).y));
  });
});

describe('matrix inputs as { shape, data } (row-major)', () => {
  it('bind to exactly what the array of rows binds, as a snapshot', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const W = mat(5, 5, 0.2);
    const U = mat(5, 2);
    const rest = { b: vec(5), u: vec(2) };
    const flatW = Float64Array.from(W.flat());
    const dense = new Deq({ ...rest, W: { shape: [5, 5], data: flatW }, U: { shape: [5, 2], data: U.flat() } });
    flatW[0] += 1; // after binding: no effect
    const rows = new Deq({ ...rest, W, U });
    expect(Array.from(solveInstance(dense, { tol: 1e-13 }).y)).toEqual(Array.from(solveInstance(rows, { tol: 1e-13 }).y));
  });

  it('are checked: entry count, shape against the dims, finite values', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const ok = { W: mat(3, 3, 0.2), U: mat(3, 2), b: vec(3), u: vec(2) };
    expect(() => new Deq({ ...ok, W: { shape: [3, 3], data: new Float64Array(8) } })).toThrow(/has shape \[3, 3\] \(9 entries\) but 8 values/);
    expect(() => new Deq({ ...ok, W: { shape: [3, 2], data: new Float64Array(6) } })).toThrow(InputError);
    expect(() => new Deq({ ...ok, W: { shape: [3, 3], data: [0, 0, 0, 0, Number.NaN, 0, 0, 0, 0] } })).toThrow(/`W`.data\[4\] is NaN, not a finite number/);
    // Float64Array data is copied whole, then checked in one pass: the first bad entry is named.
    expect(() => new Deq({ ...ok, W: { shape: [3, 3], data: Float64Array.of(0, 0, 0, 0, 0, Infinity, 0, Number.NaN, 0) } })).toThrow(/`W`.data\[5\] is Infinity, not a finite number/);
    expect(() => new Deq({ ...ok, u: Float64Array.of(1, Number.NaN) })).toThrow(/`u`\[1\] is NaN, not a finite number/);
    expect(() => new Deq({ ...ok, W: { shape: [3, -3], data: [] } })).toThrow(/not a list of sizes/);
  });
});
