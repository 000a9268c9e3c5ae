/**
 * Deferred outer products (src/runtime/accumulate.ts) and the batch gradient built on them
 * (batchGradientAt): the same sums as adding sample by sample, and a non-finite sample found
 * and left out.
 */
import { describe, expect, it } from 'vitest';
import { addProduct, DeferredProducts } from '../../src/runtime/accumulate.ts';
import { batchGradientAt, solveBatchF64, type BatchInstance } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

const rng = mulberry32(17);
const vec = (n: number) => Float64Array.from({ length: n }, () => 2 * rng() - 1);

describe('DeferredProducts', () => {
  it('adds the recorded outer products of every block as the immediate sums would', () => {
    // Two blocks in one target: [3 x 5] at 0 and [4 x 2] at 20, and a 7-entry tail left alone.
    const target = vec(35);
    const expected = target.slice();
    const deferred = new DeferredProducts(target);
    const calls = Array.from({ length: 9 }, (_, c) => ({ s: c % 2 ? -0.5 : 2, a: vec(3), b: vec(5), a2: vec(4), b2: vec(2) }));
    deferred.run(() => {
      for (const { s, a, b, a2, b2 } of calls) {
        addProduct(s, { shape: [3], data: a }, { shape: [1, 5], data: b }, target, 0, 15);
        addProduct(s, { shape: [4, 1], data: a2 }, { shape: [1, 2], data: b2 }, target, 20, 8);
      }
    });
    expect(Array.from(target)).toEqual(Array.from(expected)); // nothing added yet
    for (const { s, a, b, a2, b2 } of calls) {
      addProduct(s, { shape: [3], data: a }, { shape: [1, 5], data: b }, expected, 0, 15);
      addProduct(s, { shape: [4, 1], data: a2 }, { shape: [1, 2], data: b2 }, expected, 20, 8);
    }
    deferred.flush();
    target.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-14));
    // Flushed products are forgotten: a second flush adds nothing.
    const after = target.slice();
    deferred.flush();
    expect(Array.from(target)).toEqual(Array.from(after));
  });

  it('applies at once what it does not defer: other targets, products that are not outer, outside run', () => {
    const target = new Float64Array(6);
    const other = new Float64Array(6);
    const deferred = new DeferredProducts(target);
    const A = { shape: [2, 3], data: vec(6) };
    const x = { shape: [3], data: vec(3) };
    deferred.run(() => {
      addProduct(1, { shape: [2], data: Float64Array.of(1, 2) }, { shape: [1, 3], data: Float64Array.of(1, 1, 1) }, other, 0, 6);
      addProduct(1, A, x, target, 0, 2); // a matrix-vector product: inner dimension 3
    });
    expect(Array.from(other)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(target[0]).toBeCloseTo(A.data[0] * x.data[0] + A.data[1] * x.data[1] + A.data[2] * x.data[2], 15);
    addProduct(1, { shape: [2], data: Float64Array.of(1, 1) }, { shape: [1, 3], data: Float64Array.of(1, 1, 1) }, target, 0, 6);
    expect(target[5]).toBe(1); // outside run: applied
  });
});

describe('batchGradientAt', () => {
  it('leaves out a sample whose gradient overflows, and sums the others exactly as alone', async () => {
    const Model = await generatedClass('samples/deq_classifier.impl', 'DeqClassifier');
    const [d, h, k] = [3, 8, 3];
    const mat = (r: number, c: number, s: number) => Array.from({ length: r }, () => Array.from(vec(c), (v) => s * v));
    const base = new Model({ W: mat(h, h, 0.1), U: mat(h, d, 1), b: Array.from(vec(h)), V: mat(k, h, 1), c: Array.from(vec(k)), u: Array.from(vec(d)), onehot: [1, 0, 0] });
    const make = (onehot: number[]) => base.with({ u: Array.from(vec(d), (v) => 5 * v), onehot }) as unknown as BatchInstance;
    // A label weight of 1e308: the V gradient (p - onehot) z^T overflows for this sample.
    const insts = [make([1, 0, 0]), make([0, 1, 0]), make([1.5e308, 0, 0]), make([0, 0, 1])];
    const solved = solveBatchF64(insts, { tol: 1e-12 }).results;
    const all = batchGradientAt(insts, solved);
    expect(all.samples.map((s) => s.status)).toEqual(['certified', 'certified', 'backward-failed', 'certified']);
    expect(all.contributing).toBe(3);
    expect(all.gradientSum.every(Number.isFinite)).toBe(true);
    const good = [0, 1, 3];
    const alone = batchGradientAt(good.map((i) => insts[i]), good.map((i) => solved[i]));
    const scale = Math.max(...alone.gradientSum.map(Math.abs));
    all.gradientSum.forEach((g, j) => expect(Math.abs(g - alone.gradientSum[j]) / scale).toBeLessThan(1e-13));
    // A caller's mistake throws; it is not a sample's failed backward solve.
    expect(() => batchGradientAt(insts, solved, 3)).toThrow(/no output 3/);
    expect(() => batchGradientAt(insts, solved.slice(1))).toThrow(/4 instances, 3 solutions/);
  });
});
