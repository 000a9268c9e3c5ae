import { broadcast } from '../ir/shape.ts';
import type { Tensor } from './types.ts';

// Dense f64 kernels on row-major Tensors: the value rules of the registry, which generated
// code calls through implc/runtime. Shapes follow src/ir/shape.ts: a tensor whose dims are
// all 1 is a scalar and broadcasts in elementwise operations.

export function scalar(value: number): Tensor {
  return { shape: [], data: Float64Array.of(value) };
}

export function full(shape: readonly number[], value: number): Tensor {
  return { shape: [...shape], data: new Float64Array(size(shape)).fill(value) };
}

export function size(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** The output shape of an elementwise operation: the shape rule's broadcast. */
function broadcastShape(args: readonly Tensor[]): number[] {
  const out = broadcast(args.map((a) => a.shape));
  if (!out) throw new Error(`internal error: elementwise arguments of shapes ${args.map((a) => `[${a.shape}]`).join(', ')}`);
  return out as number[];
}

export function map1(a: Tensor, f: (x: number) => number): Tensor {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[i]);
  return { shape: broadcastShape([a]), data: out };
}

export function map2(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastShape([a, b]);
  const out = new Float64Array(size(shape));
  const sa = a.data.length === 1 ? 0 : 1;
  const sb = b.data.length === 1 ? 0 : 1;
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[i * sa], b.data[i * sb]);
  return { shape, data: out };
}

export function map3(a: Tensor, b: Tensor, c: Tensor, f: (x: number, y: number, z: number) => number): Tensor {
  const shape = broadcastShape([a, b, c]);
  const out = new Float64Array(size(shape));
  const sa = a.data.length === 1 ? 0 : 1;
  const sb = b.data.length === 1 ? 0 : 1;
  const sc = c.data.length === 1 ? 0 : 1;
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[i * sa], b.data[i * sb], c.data[i * sc]);
  return { shape, data: out };
}

export function sum(a: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i];
  return s;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Matrix product with the shape rule's conventions (shape-rules.ts `matmul`): a left vector
 * [m] is [m, 1], a right vector [p] is a column whose trailing 1 is dropped, and a result
 * whose dims are all 1 is a scalar.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const [m, p] = a.shape.length === 2 ? a.shape : [a.shape[0], 1];
  const q = b.shape.length === 2 ? b.shape[1] : 1;
  if (b.shape[0] !== p) {
    throw new Error(`internal error: matmul of [${a.shape}] and [${b.shape}]`);
  }
  const out = new Float64Array(m * q);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < p; k++) {
      const aik = a.data[i * p + k];
      if (aik === 0) continue;
      for (let j = 0; j < q; j++) out[i * q + j] += aik * b.data[k * q + j];
    }
  }
  const shape = b.shape.length === 2 ? [m, q] : [m];
  return { shape: shape.every((d) => d === 1) ? [] : shape, data: out };
}

/** Transpose: [m, n] -> [n, m]; a vector [n] becomes the row [1, n]; a scalar stays. */
export function transpose(a: Tensor): Tensor {
  if (a.shape.length === 0) return a;
  if (a.shape.length === 1) return { shape: [1, a.shape[0]], data: a.data.slice() };
  const [m, n] = a.shape;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = a.data[i * n + j];
  return { shape: [n, m], data: out };
}

/**
 * Spectral norm (largest singular value): the square root of the largest eigenvalue of the
 * Gram matrix of the smaller side, by cyclic Jacobi rotations. Exact to rounding, which a
 * guard such as `opnorm(W) < 1` needs (a power iteration only approaches from below).
 */
export function spectralNorm(a: Tensor): number {
  const [m, n] = a.shape.length === 2 ? a.shape : [a.shape[0] ?? 1, 1];
  const k = Math.min(m, n);
  // G = A A^T (k = m) or A^T A (k = n), k x k symmetric PSD.
  const G = new Float64Array(k * k);
  const at = (i: number, j: number) => a.data[i * n + j];
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let s = 0;
      if (k === m) for (let l = 0; l < n; l++) s += at(i, l) * at(j, l);
      else for (let l = 0; l < m; l++) s += at(l, i) * at(l, j);
      G[i * k + j] = s;
      G[j * k + i] = s;
    }
  }
  const eig = symmetricEigenvalues(G, k);
  return Math.sqrt(Math.max(0, ...eig));
}

/** Eigenvalues of a symmetric k x k matrix (destroyed) by cyclic Jacobi sweeps. */
function symmetricEigenvalues(S: Float64Array, k: number): number[] {
  const offNorm = () => {
    let s = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (i !== j) s += S[i * k + j] ** 2;
    return s;
  };
  let total = 0;
  for (let i = 0; i < k * k; i++) total += S[i] ** 2;
  for (let sweep = 0; sweep < 100 && offNorm() > 1e-30 * total; sweep++) {
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = S[p * k + q];
        if (apq === 0) continue;
        // Rotation that zeroes S[p][q] (Golub & Van Loan, Algorithm 8.5.1).
        const theta = (S[q * k + q] - S[p * k + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const srp = S[r * k + p];
          const srq = S[r * k + q];
          S[r * k + p] = c * srp - s * srq;
          S[r * k + q] = s * srp + c * srq;
        }
        for (let r = 0; r < k; r++) {
          const spr = S[p * k + r];
          const sqr = S[q * k + r];
          S[p * k + r] = c * spr - s * sqr;
          S[q * k + r] = s * spr + c * sqr;
        }
      }
    }
  }
  return Array.from({ length: k }, (_, i) => S[i * k + i]);
}
