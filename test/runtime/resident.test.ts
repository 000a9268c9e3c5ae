import { describe, expect, it } from 'vitest';
import { matmul, transposedProduct } from '../../src/runtime/values/tensor.ts';
import type { Tensor } from '../../src/primitives/types.ts';
import { solveInstance, type ModelInstance } from '../../src/runtime/index.ts';
import { immutable, isResident } from '../../src/runtime/resident.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

// K.matmul's matrix-vector products with immutable matrices move to a copy in WebAssembly
// memory after a few uses, and give the same sums, bit for bit.

const rng = mulberry32(29);
const uniform = (n: number) => Float64Array.from({ length: n }, () => 2 * rng() - 1);
const bits = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe('resident matrix-vector products', () => {
  it('an immutable matrix goes resident after repeated use, with the same sums bit for bit (odd sizes)', () => {
    for (const [m, p] of [[131, 129], [130, 300], [257, 64]]) {
      const data = uniform(m * p);
      const A: Tensor = immutable({ shape: [m, p], data });
      const x: Tensor = { shape: [p], data: uniform(p) };
      const first = matmul(A, x).data;
      expect(isResident(data)).toBe(false);
      let last = first;
      for (let k = 0; k < 10; k++) last = matmul(A, { shape: [p], data: x.data.slice() }).data;
      expect(isResident(data)).toBe(true);
      expect(bits(last).equals(bits(first))).toBe(true);
      // A new vector gives what the JavaScript loop gives.
      const y: Tensor = { shape: [p], data: uniform(p) };
      const plain = matmul({ shape: [m, p], data: data.slice() }, y).data;
      expect(bits(matmul(A, y).data).equals(bits(plain))).toBe(true);
    }
  });

  it('a matrix not marked immutable, or too small, stays in JavaScript', () => {
    const big = { shape: [200, 200], data: uniform(40000) };
    const small = immutable({ shape: [40, 40], data: uniform(1600) });
    for (let k = 0; k < 20; k++) {
      matmul(big, { shape: [200], data: uniform(200) });
      matmul(small, { shape: [40], data: uniform(40) });
    }
    expect(isResident(big.data)).toBe(false);
    expect(isResident(small.data)).toBe(false);
  });

  it('a NaN in x gives NaN products, as in JavaScript, and does not stay in the copy', () => {
    const A = immutable({ shape: [128, 128], data: uniform(128 * 128) });
    for (let k = 0; k < 10; k++) matmul(A, { shape: [128], data: uniform(128) });
    expect(isResident(A.data)).toBe(true);
    const x = uniform(128);
    x[5] = NaN;
    const out = matmul(A, { shape: [128], data: x }).data;
    expect(out.every((v) => Number.isNaN(v))).toBe(true);
    // And the next product is clean again (the vector slots are rewritten).
    const clean = matmul(A, { shape: [128], data: uniform(128) }).data;
    expect(clean.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('a generated model: its bound W goes resident over one solve, and the solve still finds the fixed point', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const h = 130;
    const W = Array.from({ length: h }, () => Array.from({ length: h }, () => (rng() - 0.5) / (2 * Math.sqrt(h))));
    const inputs = { W, U: Array.from({ length: h }, () => [rng(), rng()]), b: Array.from({ length: h }, () => rng() - 0.5), u: [0.3, -0.2] };
    const model = new Deq(inputs) as unknown as ModelInstance & { value(name: string): Tensor };
    const r = solveInstance(model, { method: 'fixed-point', tol: 1e-12 });
    expect(r.status).toBe('converged');
    expect(r.iterations).toBeGreaterThan(8);
    expect(isResident(model.value('W').data)).toBe(true);
    // The fixed point of relu(W z + U u + b), iterated here in plain JavaScript.
    let z = new Array(h).fill(0);
    for (let it = 0; it < 200; it++) {
      z = W.map((row, i) => Math.max(0, row.reduce((s, w, j) => s + w * z[j], 0) + inputs.U[i][0] * inputs.u[0] + inputs.U[i][1] * inputs.u[1] + inputs.b[i]));
    }
    z.forEach((v, i) => expect(Math.abs(r.y[i] - v)).toBeLessThan(1e-11));
  });
});

describe('transposed products (transposedProduct) on the resident copy of A itself', () => {
  /** s A' v by plain sums down the columns. */
  const plainTransposed = (s: number, data: Float64Array, m: number, p: number, v: Float64Array): Float64Array => {
    const out = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      let t = 0;
      for (let i = 0; i < m; i++) t += data[i * p + j] * v[i];
      out[j] = s * t;
    }
    return out;
  };
  const close = (a: Float64Array, b: Float64Array): number => {
    let worst = 0;
    let scale = 0;
    for (let j = 0; j < a.length; j++) {
      worst = Math.max(worst, Math.abs(a[j] - b[j]));
      scale = Math.max(scale, Math.abs(b[j]));
    }
    return worst / scale;
  };

  it('an immutable A goes resident after repeated transposed products (A, not a transpose of it), with the same values to rounding (odd sizes)', () => {
    for (const [m, p] of [[131, 129], [130, 301], [257, 64]]) {
      const data = uniform(m * p);
      const A: Tensor = immutable({ shape: [m, p], data });
      for (let k = 0; k < 12; k++) {
        const v = uniform(m);
        const s = k % 2 === 0 ? 1 : -0.37;
        const out = transposedProduct(s, A, { shape: [m], data: v });
        expect(out.shape).toEqual([p]);
        expect(close(out.data, plainTransposed(s, data, m, p, v))).toBeLessThan(1e-14);
      }
      // The copy is of A's own data: the products A x use the same one.
      expect(isResident(data)).toBe(true);
      const x = uniform(p);
      const plain = matmul({ shape: [m, p], data: data.slice() }, { shape: [p], data: x }).data;
      expect(bits(matmul(A, { shape: [p], data: x }).data).equals(bits(plain))).toBe(true);
    }
  });

  it('products in both directions count together toward the one copy', () => {
    const [m, p] = [150, 140];
    const data = uniform(m * p);
    const A: Tensor = immutable({ shape: [m, p], data });
    for (let k = 0; k < 4; k++) {
      matmul(A, { shape: [p], data: uniform(p) });
      transposedProduct(2, A, { shape: [m], data: uniform(m) });
    }
    expect(isResident(data)).toBe(true);
  });

  it('a matrix not marked immutable stays in JavaScript (no copy, no transpose), and still gives s A\' v', () => {
    const [m, p] = [200, 150];
    const data = uniform(m * p);
    const A: Tensor = { shape: [m, p], data };
    for (let k = 0; k < 20; k++) {
      const v = uniform(m);
      expect(close(transposedProduct(3, A, { shape: [m], data: v }).data, plainTransposed(3, data, m, p, v))).toBeLessThan(1e-14);
    }
    expect(isResident(data)).toBe(false);
  });

  it('a NaN in v gives NaN, and the next product on the copy is clean again', () => {
    const [m, p] = [128, 130];
    const A = immutable({ shape: [m, p], data: uniform(m * p) });
    for (let k = 0; k < 10; k++) transposedProduct(1, A, { shape: [m], data: uniform(m) });
    expect(isResident(A.data)).toBe(true);
    const v = uniform(m);
    v[7] = NaN;
    expect(transposedProduct(1, A, { shape: [m], data: v }).data.every((x) => Number.isNaN(x))).toBe(true);
    expect(transposedProduct(1, A, { shape: [m], data: uniform(m) }).data.every((x) => Number.isFinite(x))).toBe(true);
  });

  it('shapes that collapse take the plain route', () => {
    // A single column (p = 1): a scalar result.
    const col = immutable({ shape: [20000, 1], data: uniform(20000) });
    const v = uniform(20000);
    const out = transposedProduct(2, col, { shape: [20000], data: v });
    expect(out.shape).toEqual([]);
    expect(close(out.data, plainTransposed(2, col.data, 20000, 1, v))).toBeLessThan(1e-13);
  });
});
