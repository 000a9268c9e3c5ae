/**
 * The matmul value kernel's fast paths (src/runtime/values/tensor.ts): a mostly-zero right vector
 * takes the sparse form, a dense one the dot-product form; both give the plain sums.
 */
import { describe, expect, it } from 'vitest';
import { addProduct, matmul } from '../../src/runtime/values/tensor.ts';
import { mulberry32 } from './rng.ts';

const rng = mulberry32(5);
const uniform = (n: number) => Float64Array.from({ length: n }, () => 2 * rng() - 1);

function plain(A: Float64Array, m: number, p: number, x: Float64Array): Float64Array {
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let k = 0; k < p; k++) out[i] += A[i * p + k] * x[k];
  return out;
}

describe('matmul of a matrix and a vector', () => {
  for (const [label, nnz] of [
    ['sparse (3 of 200 nonzero)', 3],
    ['at the switch (12 of 200)', 12],
    ['dense (200 of 200)', 200],
    ['zero', 0],
  ] as const) {
    it(label, () => {
      const [m, p] = [37, 200];
      const A = uniform(m * p);
      const x = new Float64Array(p);
      for (let c = 0; c < nnz; c++) x[Math.floor((c * p) / Math.max(1, nnz))] = 2 * rng() - 1;
      const got = matmul({ shape: [m, p], data: A }, { shape: [p], data: x });
      expect(got.shape).toEqual([m]);
      const ref = plain(A, m, p, x);
      got.data.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-13));
    });
  }
});

describe('addProduct', () => {
  it('adds s a b^T for an outer product and s A x otherwise, in place', () => {
    const out = uniform(12);
    const start = out.slice();
    const a = uniform(3);
    const b = uniform(4);
    addProduct(-2, { shape: [3], data: a }, { shape: [1, 4], data: b }, out, 0, 12);
    out.forEach((v, k) => expect(v).toBeCloseTo(start[k] - 2 * a[Math.floor(k / 4)] * b[k % 4], 14));
    const A = uniform(6);
    const x = uniform(3);
    const o2 = new Float64Array(5);
    addProduct(0.5, { shape: [2, 3], data: A }, { shape: [3], data: x }, o2, 3, 2);
    expect(o2[3]).toBeCloseTo(0.5 * (A[0] * x[0] + A[1] * x[1] + A[2] * x[2]), 14);
    expect(() => addProduct(1, { shape: [3], data: a }, { shape: [1, 4], data: b }, out, 0, 11)).toThrow(/block of 11/);
  });
});
