/** ResidentMatrix.gram (kernels.wat `gram_rows`: M^T (M v) in one pass over M), against plain sums. */
import { describe, expect, it } from 'vitest';
import { ResidentMatrix } from '../../src/runtime/products.ts';
import { scratchKernels } from '../../src/runtime/wasm.ts';
import { mulberry32 } from '../helpers/rng.ts';

const rng = mulberry32(53);
const uniform = (size: number): Float64Array => Float64Array.from({ length: size }, () => 2 * rng() - 1);
const bits = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** M^T (M v) for the row-major rows x cols M (transposed: M^T's), by plain sums. */
function plainGram(M: Float64Array, rows: number, cols: number, v: Float64Array): Float64Array {
  const s = new Float64Array(rows);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) s[i] += M[i * cols + k] * v[k];
  const out = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[k] += M[i * cols + k] * s[i];
  return out;
}

const relErr = (a: Float64Array, b: Float64Array): number => {
  let worst = 0;
  let scale = 0;
  for (let j = 0; j < b.length; j++) {
    worst = Math.max(worst, Math.abs(a[j] - b[j]));
    scale = Math.max(scale, Math.abs(b[j]));
  }
  return worst / scale;
};

describe('ResidentMatrix.gram', () => {
  it('gram gives M^T (M v): the sums of mulT(mul(v)) bit for bit, plain sums to rounding (odd sizes)', () => {
    for (const [rows, cols] of [[1, 1], [3, 5], [7, 2], [130, 67], [67, 301], [260, 1]]) {
      const M = uniform(rows * cols);
      const R = ResidentMatrix.create({ rows, cols, data: M })!;
      for (let t = 0; t < 3; t++) {
        const v = uniform(cols);
        const got = R.gram(v);
        expect(got.length).toBe(cols);
        expect(bits(got).equals(bits(R.mulT(R.mul(v))))).toBe(true);
        expect(relErr(got, plainGram(M, rows, cols, v))).toBeLessThan(1e-13);
      }
    }
  });

  it('stale NaNs left in the scratch instance (padding of M, of v) do not reach the result', () => {
    const kernels = scratchKernels()!;
    const memory = kernels.ensure(1 << 16)!;
    memory.fill(NaN, 0, 1 << 16);
    const [rows, cols] = [9, 13];
    const M = uniform(rows * cols);
    const R = ResidentMatrix.create({ rows, cols, data: M }, kernels)!;
    const v = uniform(cols);
    const out = R.gram(v);
    expect(out.every((x) => Number.isFinite(x))).toBe(true);
    expect(relErr(out, plainGram(M, rows, cols, v))).toBeLessThan(1e-13);
  });
});
