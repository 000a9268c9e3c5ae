// Binding inputs: `{ shape, data, copy: false }` lends a Float64Array (no copy) with the same
// checks and errors as the copying default, and each binding is its own array, so caches keyed
// by the bound array (resident copies) never outlive the instances that read them.
import { describe, expect, it } from 'vitest';
import { bindChanges, bindInputs, InputError, type InputSpec } from '../../src/runtime/inputs.ts';
import { residentMatvec, isResident } from '../../src/runtime/resident.ts';
import { mulberry32, randomVector } from './rng.ts';

const spec: InputSpec = {
  model: 'M',
  dims: ['n', 'p'],
  inputs: [
    { name: 'X', role: 'data', dims: ['n', 'p'] },
    { name: 'y', role: 'data', dims: ['n'] },
    { name: 'lambda', role: 'param', dims: [] },
  ],
};

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('bindInputs: { shape, data, copy: false }', () => {
  it('binds the caller\'s memory in place, as an array of its own; the default binds a copy', () => {
    const data = Float64Array.of(1, 2, 3, 4, 5, 6);
    const lent = bindInputs(spec, { X: { shape: [2, 3], data, copy: false }, y: [1, 2], lambda: 0.5 });
    const X = lent.tensors.X;
    expect(X.shape).toEqual([2, 3]);
    expect(X.data).not.toBe(data);
    expect(X.data.buffer).toBe(data.buffer);
    expect(Array.from(X.data)).toEqual([1, 2, 3, 4, 5, 6]);
    // A subarray lent: the view keeps its offset and length.
    const big = Float64Array.of(9, 9, 1, 2, 3, 4, 5, 6, 9);
    const sub = bindInputs(spec, { X: { shape: [2, 3], data: big.subarray(2, 8), copy: false }, y: [1, 2], lambda: 0.5 }).tensors.X.data;
    expect(Array.from(sub)).toEqual([1, 2, 3, 4, 5, 6]);
    big[2] = 7;
    expect(sub[0]).toBe(7);
    // copy: true and no flag: a snapshot, whatever the caller writes afterwards.
    for (const flag of [{}, { copy: true }]) {
      const src = Float64Array.of(1, 2, 3, 4, 5, 6);
      const copied = bindInputs(spec, { X: { shape: [2, 3], data: src, ...flag }, y: [1, 2], lambda: 0.5 }).tensors.X.data;
      src[0] = 100;
      expect(copied[0]).toBe(1);
      expect(copied.buffer).not.toBe(src.buffer);
    }
    // A plain array is converted either way.
    const fromArray = bindInputs(spec, { X: { shape: [1, 2], data: [3, 4], copy: false }, y: [1], lambda: 0 }).tensors.X.data;
    expect(fromArray).toBeInstanceOf(Float64Array);
    expect(Array.from(fromArray)).toEqual([3, 4]);
  });

  it('checks lent data exactly as it checks copied data: the same errors', () => {
    const ok = { y: [1, 2], lambda: 0.5 };
    const cases: [number[], number[]][] = [
      [[2, 3], [0, 0, 0, 0, 0, Infinity]],
      [[2, 3], [0, Number.NaN, 0, 0, Number.NaN, 0]],
      [[2, 3], [0, 0, 0, 0, 0]],
      [[3, 2], [0, 0, 0, 0, 0, 0]],
      [[2, -3], []],
    ];
    for (const [shape, values] of cases) {
      const copied = messageOf(() => bindInputs(spec, { ...ok, X: { shape, data: Float64Array.from(values) } }));
      const lent = messageOf(() => bindInputs(spec, { ...ok, X: { shape, data: Float64Array.from(values), copy: false } }));
      expect(lent).toBe(copied);
    }
    expect(messageOf(() => bindInputs(spec, { ...ok, X: { shape: [2, 3], data: new Float64Array(6), copy: 0 } }))).toBe('`X`.copy is 0, not true or false');
    expect(messageOf(() => bindInputs(spec, { ...ok, X: { shape: [2, 3], data: new Float64Array(6), copy: 'no' } }))).toMatch(/`X`.copy is "no"/);
  });

  it('lends through `with` too, against the instance\'s dims', () => {
    const data = Float64Array.of(1, 2, 3, 4, 5, 6);
    const changed = bindChanges(spec, { X: { shape: [2, 3], data, copy: false } }, { n: 2, p: 3 });
    expect(changed.tensors.X.data.buffer).toBe(data.buffer);
    expect(messageOf(() => bindChanges(spec, { X: { shape: [3, 2], data, copy: false } }, { n: 2, p: 3 }))).toMatch(/should have shape \[2, 3\]/);
    expect(messageOf(() => bindChanges(spec, { X: { shape: [2, 3], data: Float64Array.of(1, 2, 3, 4, 5, Number.NaN), copy: false } }, { n: 2, p: 3 }))).toBe(
      '`X`.data[5] is NaN, not a finite number',
    );
  });

  it('a refilled buffer lent again never meets the resident copy made for the previous binding', () => {
    // 160 x 160: large enough to go resident (resident.ts) after repeated products.
    const n = 160;
    const rng = mulberry32(5);
    const buffer = randomVector(rng, n * n);
    const x = randomVector(rng, n);
    const reference = (A: Float64Array): Float64Array => {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
        out[i] = s;
      }
      return out;
    };
    const square: InputSpec = { model: 'S', dims: ['n'], inputs: [{ name: 'A', role: 'data', dims: ['n', 'n'] }] };
    const first = bindInputs(square, { A: { shape: [n, n], data: buffer, copy: false } }).tensors.A.data;
    const out = new Float64Array(n);
    for (let k = 0; k < 12; k++) residentMatvec(first, n, n, x, out);
    // Only meaningful where WebAssembly SIMD made a resident copy; the products must match either way.
    const wentResident = isResident(first);
    buffer.set(randomVector(rng, n * n));
    const second = bindInputs(square, { A: { shape: [n, n], data: buffer, copy: false } }).tensors.A.data;
    const expected = reference(buffer);
    for (let k = 0; k < 12; k++) {
      const o = new Float64Array(n);
      if (!residentMatvec(second, n, n, x, o)) {
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += second[i * n + j] * x[j];
          o[i] = s;
        }
      }
      for (let i = 0; i < n; i++) expect(Math.abs(o[i] - expected[i])).toBeLessThan(1e-12 * (1 + Math.abs(expected[i])));
    }
    expect(isResident(second)).toBe(wentResident);
  });
});
