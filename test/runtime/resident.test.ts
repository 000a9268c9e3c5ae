import { describe, expect, it } from 'vitest';
import { matmul } from '../../src/runtime/values/tensor.ts';
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
