/**
 * The WebAssembly kernels (src/runtime/wasm/kernels.wat): the committed binary is what the
 * source compiles to, and each kernel computes what its JavaScript twin computes — the
 * batched products to rounding against plain sums, the LU elimination bit for bit.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { luFactor, luSolve } from '../../src/runtime/lu.ts';
import { choleskyInPlace, gram, opnorm2, opnorm2Upper } from '../../src/runtime/matrix.ts';
import { BatchProducts, ResidentMatrix, type ProductMatrix } from '../../src/runtime/products.ts';
import { scratchKernels, wasmModule } from '../../src/runtime/wasm.ts';
import { compileWat, embedding } from '../../src/runtime/wasm/build.ts';
import { mulberry32 } from '../helpers/rng.ts';

const rng = mulberry32(41);
const uniform = (size: number): Float64Array => Float64Array.from({ length: size }, () => 2 * rng() - 1);

describe('kernels.wasm.ts', () => {
  it('is the compiled kernels.wat (run `npm run wasm` after editing the .wat)', async () => {
    const committed = readFileSync(fileURLToPath(new URL('../../src/runtime/wasm/kernels.wasm.ts', import.meta.url)), 'utf8');
    expect(committed).toBe(embedding('kernels', await compileWat('kernels')));
  });

  it('loads here, with SIMD (Node 20 has it)', () => {
    expect(wasmModule()).not.toBeNull();
  });
});

/** out[b rows + r] = sum_k M[r, k] V[b, k], plainly. */
function reference(m: ProductMatrix, V: Float64Array, B: number): Float64Array {
  const out = new Float64Array(B * m.rows);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < m.rows; r++) {
      let s = 0;
      for (let k = 0; k < m.cols; k++) s += m.data[r * m.cols + k] * V[b * m.cols + k];
      out[b * m.rows + r] = s;
    }
  }
  return out;
}

describe('BatchProducts', () => {
  // Odd and even counts, so that every padding (rows to 4, columns and samples to 2) is used.
  const shapes: [rows: number, cols: number, B: number][] = [
    [7, 5, 3],
    [8, 8, 2],
    [1, 1, 1],
    [13, 130, 5],
    [64, 33, 9],
  ];
  for (const engine of ['wasm-simd', 'js'] as const) {
    it(`${engine}: several matrices of odd and even sizes, against plain sums`, () => {
      for (const [rows, cols, B] of shapes) {
        // Two matrices in one object: the second transposed in shape, as Lasso's X and s X'.
        const mats: ProductMatrix[] = [
          { rows, cols, data: uniform(rows * cols) },
          { rows: cols, cols: rows, data: uniform(rows * cols) },
        ];
        const products = new BatchProducts(mats, B, engine);
        expect(products.engine).toBe(engine);
        mats.forEach((m, j) => {
          const V = uniform(B * m.cols);
          const out = new Float64Array(B * m.rows).fill(NaN);
          products.run(j, V, out);
          const ref = reference(m, V, B);
          const err = Math.max(...out.map((v, i) => Math.abs(v - ref[i])));
          expect(err, `${m.rows} x ${m.cols}, B = ${B}`).toBeLessThan(1e-14 * m.cols);
        });
      }
    });
  }

  it('keeps a NaN in one sample out of the others (the padding is cleared)', () => {
    const m: ProductMatrix = { rows: 5, cols: 7, data: uniform(35) };
    const products = new BatchProducts([m, { rows: 3, cols: 12, data: uniform(36) }], 3, 'wasm-simd');
    // A product with 12 columns first leaves NaNs where the 7-column layout pads.
    products.run(1, Float64Array.from({ length: 36 }, () => NaN), new Float64Array(9));
    const V = uniform(21);
    V[3] = NaN; // sample 0
    const out = new Float64Array(15);
    products.run(0, V, out);
    const ref = reference(m, V, 3);
    expect(out.subarray(0, 5).every(Number.isNaN)).toBe(true);
    out.subarray(5).forEach((v, i) => expect(Math.abs(v - ref[5 + i])).toBeLessThan(1e-14));
  });

  it('rejects arrays too short for the batch', () => {
    const products = new BatchProducts([{ rows: 2, cols: 3, data: uniform(6) }], 4);
    expect(() => products.run(0, new Float64Array(11), new Float64Array(8))).toThrow(/dimension|entries/);
  });
});

describe('luFactor in WebAssembly', () => {
  it('gives the JavaScript factors bit for bit, pivots included', () => {
    for (const n of [16, 17, 33, 66]) {
      const A = { rows: n, cols: n, data: uniform(n * n) };
      const wasm = luFactor(A);
      const js = luFactor(A, { engine: 'js' });
      if (wasm.singular || js.singular) throw new Error('random matrix singular');
      expect(Array.from(wasm.perm)).toEqual(Array.from(js.perm));
      expect(wasm.permSign).toBe(js.permSign);
      expect(Buffer.from(wasm.lu.buffer, wasm.lu.byteOffset, wasm.lu.byteLength).equals(Buffer.from(js.lu.buffer, js.lu.byteOffset, js.lu.byteLength))).toBe(true);
      // And it solves: A x = b to rounding.
      const x = uniform(n);
      const b = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) b[i] += A.data[i * n + k] * x[k];
      const solved = luSolve(wasm, b);
      expect(Math.max(...solved.map((v, i) => Math.abs(v - x[i])))).toBeLessThan(1e-10);
    }
  });

  it('gives the JavaScript factors bit for bit on a sparse matrix (zero multipliers skip their updates)', () => {
    // Two columns at a time (lu_eliminate2), with l0, l1 or both 0 on many rows.
    for (const n of [18, 31]) {
      const data = Float64Array.from({ length: n * n }, (_, q) => (q % (n + 1) === 0 ? 4 : rng() < 0.7 ? 0 : 2 * rng() - 1));
      const wasm = luFactor({ rows: n, cols: n, data });
      const js = luFactor({ rows: n, cols: n, data }, { engine: 'js' });
      if (wasm.singular || js.singular) throw new Error('diagonally dominated matrix singular');
      expect(Array.from(wasm.perm)).toEqual(Array.from(js.perm));
      expect(Buffer.from(wasm.lu.buffer, wasm.lu.byteOffset, wasm.lu.byteLength).equals(Buffer.from(js.lu.buffer, js.lu.byteOffset, js.lu.byteLength))).toBe(true);
      expect(Array.from(wasm.lu).filter((v) => v === 0).length).toBeGreaterThan(n);
    }
  });

  it('finds the same singular column', () => {
    const n = 20;
    const data = uniform(n * n);
    // Column 11 = 2 column 3 - column 7: singular at elimination step 11 or before.
    for (let i = 0; i < n; i++) data[i * n + 11] = 2 * data[i * n + 3] - data[i * n + 7];
    const wasm = luFactor({ rows: n, cols: n, data });
    const js = luFactor({ rows: n, cols: n, data }, { engine: 'js' });
    expect(wasm.singular).toBe(true);
    expect(wasm).toEqual(js);
  });
});

describe('Cholesky and the Gram matrix in WebAssembly (opnorm2Upper)', () => {
  const bits = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

  it('choleskyInPlace gives the JavaScript factor bit for bit, and the same refusal', () => {
    for (const k of [16, 17, 40, 65]) {
      // A A^T / k + I: symmetric positive definite.
      const A = uniform(k * k);
      const S = new Float64Array(k * k);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        let s = i === j ? 1 : 0;
        for (let l = 0; l < k; l++) s += (A[i * k + l] * A[j * k + l]) / k;
        S[i * k + j] = s;
      }
      const wasm = S.slice();
      const js = S.slice();
      const fw = choleskyInPlace(wasm, k);
      const fj = choleskyInPlace(js, k, 'js');
      expect(fw).not.toBeNull();
      expect(fw).toBe(fj);
      expect(bits(wasm).equals(bits(js))).toBe(true);
      // R^T R = S to rounding (R in the upper triangle).
      for (let i = 0; i < k; i++) for (let j = i; j < k; j++) {
        let s = 0;
        for (let l = 0; l <= i; l++) s += wasm[l * k + i] * wasm[l * k + j];
        expect(Math.abs(s - S[i * k + j])).toBeLessThan(1e-12 * k);
      }
      // Not positive definite: S - 2 lambda_max-ish I fails in both.
      const shifted = S.map((v, i) => (i % (k + 1) === 0 ? v - 10 * k : v));
      expect(choleskyInPlace(shifted.slice(), k)).toBeNull();
      expect(choleskyInPlace(shifted.slice(), k, 'js')).toBeNull();
    }
  });

  it('gram: one triangle in blocks, exactly symmetric, equal to plain sums, whatever the scratch held', () => {
    // Something else's NaNs in the scratch instance first: the padding must not carry them.
    const scratch = scratchKernels()!;
    scratch.ensure(1 << 18)!.fill(NaN);
    for (const [m, n] of [[301, 67], [50, 133], [129, 129]]) {
      const a = uniform(m * n);
      const G = gram(a, m, n);
      const k = Math.min(m, n);
      expect(G.length).toBe(k * k);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        expect(G[i * k + j]).toBe(G[j * k + i]);
        let s = 0;
        if (m >= n) for (let r = 0; r < m; r++) s += a[r * n + i] * a[r * n + j];
        else for (let c = 0; c < n; c++) s += a[i * n + c] * a[j * n + c];
        expect(Math.abs(G[i * k + j] - s)).toBeLessThan(1e-12 * Math.max(m, n));
      }
    }
  });
});

describe('ResidentMatrix and opnorm2 on it', () => {
  it('M v and M^T u of odd sizes equal the plain sums', () => {
    for (const [rows, cols] of [
      [7, 5],
      [33, 130],
      [1, 1],
    ] as const) {
      const M: ProductMatrix = { rows, cols, data: uniform(rows * cols) };
      const R = ResidentMatrix.create(M)!;
      const v = uniform(cols);
      const u = uniform(rows);
      const Mv = R.mul(v);
      const Mtu = R.mulT(u);
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let k = 0; k < cols; k++) s += M.data[i * cols + k] * v[k];
        expect(Math.abs(Mv[i] - s)).toBeLessThan(1e-13 * cols);
      }
      for (let k = 0; k < cols; k++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += M.data[i * cols + k] * u[i];
        expect(Math.abs(Mtu[k] - s)).toBeLessThan(1e-13 * rows);
      }
    }
  });

  it('on the scratch instance, whatever an earlier user left there (NaN) stays out of the padding', () => {
    const scratch = scratchKernels()!;
    const [rows, cols] = [7, 5]; // padded to 8 x 6
    scratch.ensure(4096)!.fill(NaN);
    const M: ProductMatrix = { rows, cols, data: uniform(rows * cols) };
    const R = ResidentMatrix.create(M, scratch)!;
    const v = uniform(cols);
    const u = uniform(rows);
    expect(R.mul(v).every(Number.isFinite)).toBe(true);
    const Mtu = R.mulT(u);
    for (let k = 0; k < cols; k++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += M.data[i * cols + k] * u[i];
      expect(Math.abs(Mtu[k] - s)).toBeLessThan(1e-13);
    }
  });

  /** opnorm2 exact on a rank-one matrix, and within the certified upper bound on a random one. */
  function expectOpnorm(rows: number, cols: number): void {
    const a = uniform(rows);
    const b = uniform(cols);
    const rank1 = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) rank1[i * cols + j] = a[i] * b[j];
    const norm = (x: Float64Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
    expect(Math.abs(opnorm2({ rows, cols, data: rank1 }) / (norm(a) * norm(b)) - 1)).toBeLessThan(1e-12);
    const A = { rows, cols, data: uniform(rows * cols) };
    const estimate = opnorm2(A);
    const upper = opnorm2Upper(A);
    expect(estimate).toBeLessThanOrEqual(upper);
    expect(upper / estimate - 1).toBeLessThan(1e-6);
  }

  it('opnorm2 of a narrow matrix (through the Gram matrix of its short side)', () => {
    expectOpnorm(400, 7);
    expectOpnorm(6, 300);
  });

  it('opnorm2 of a matrix large enough to be resident in WebAssembly memory', () => {
    expectOpnorm(301, 250); // 75 250 entries
  });
});
