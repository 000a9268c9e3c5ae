import { opnorm2Upper } from './matrix.ts';
import { immutable } from './resident.ts';
import { REGISTRY } from '../primitives/registry.ts';
import type { Tensor } from '../primitives/types.ts';

export type { Tensor };
export { scaledTranspose } from '../primitives/tensor.ts';
export { addProduct } from './accumulate.ts';

/**
 * The f64 kernels generated code calls: `K.relu(a)`, `K.matmul(W, z)`. Each is the value rule
 * of the primitive's registry record, so the compiler's analysis, its tests and the generated
 * modules compute with one and the same definition.
 */
export const K: Readonly<Record<string, (...args: Tensor[]) => Tensor>> = Object.fromEntries(
  [...REGISTRY.values()].map((p) => [p.name, (...args: Tensor[]) => p.evaluate(args, {})]),
);

/** Per element of a kink factor, the distance to the switching surface of `primitive`. */
export function kinkGap(primitive: string, args: readonly Tensor[]): Float64Array {
  const kink = REGISTRY.get(primitive)?.kink;
  if (!kink) throw new Error(`internal error: ${primitive} has no kink`);
  return kink.kinkGap(args);
}

/**
 * Defines `target[name]` as a value computed on first read, then stored: generated
 * constructors hoist every value that does not move with the unknowns this way, so that an
 * instance pays only for what its kernels read (a solve never forms the transposes that only
 * the derivatives use).
 */
export function lazy(target: Record<string, Tensor>, name: string, compute: () => Tensor): void {
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: true,
    get() {
      // Hoisted values are never written once made: their products may use a resident copy.
      const value = immutable(compute());
      Object.defineProperty(target, name, { value, enumerable: true, writable: false, configurable: false });
      return value;
    },
  });
}

/** Whether two vectors have the same length and the same entries (NaN never equal). */
export function sameVector(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A scalar tensor. */
export function scalar(value: number): Tensor {
  return { shape: [], data: Float64Array.of(value) };
}

/** A tensor viewing `size(shape)` entries of a flat vector, without copying. */
export function view(flat: Float64Array, offset: number, shape: number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: flat.subarray(offset, offset + size) };
}

/** Write `t` into `out[offset .. offset + size)`, repeating a scalar over the whole block. */
export function put(t: Tensor | null, out: Float64Array, offset: number, size: number): void {
  if (t === null) out.fill(0, offset, offset + size);
  else if (t.data.length === size) out.set(t.data, offset);
  else if (t.data.length === 1) out.fill(t.data[0], offset, offset + size);
  else throw new Error(`internal error: a block of ${t.data.length} entries written where ${size} belong`);
}

/** out[offset .. offset + size) += s t, a scalar t added over the whole block; null adds nothing. */
export function addInto(s: number, t: Tensor | null, out: Float64Array, offset: number, size: number): void {
  if (t === null) return;
  const d = t.data;
  if (d.length === size) for (let i = 0; i < size; i++) out[offset + i] += s * d[i];
  else if (d.length === 1) {
    const v = s * d[0];
    for (let i = 0; i < size; i++) out[offset + i] += v;
  } else throw new Error(`internal error: a block of ${d.length} entries added where ${size} belong`);
}

/** Consecutive places in a flat vector for variables of the given shapes. */
export function layout(vars: readonly { name: string; shape: number[] }[]): { name: string; shape: number[]; size: number; offset: number }[] {
  let offset = 0;
  return vars.map((v) => {
    const size = v.shape.reduce((a, b) => a * b, 1);
    const placed = { name: v.name, shape: v.shape, size, offset };
    offset += size;
    return placed;
  });
}

/** Views of a flat vector, one per variable of a layout. */
export function views(flat: Float64Array, vars: readonly { shape: number[]; offset: number }[]): Tensor[] {
  return vars.map((v) => view(flat, v.offset, v.shape));
}

/** The sum of the sizes of a layout. */
export function totalSize(vars: readonly { size: number }[]): number {
  return vars.reduce((a, v) => a + v.size, 0);
}

/** A sound upper bound on the operator 2-norm of a matrix tensor (guards such as `opnorm(W) < 1`). */
export function matrixNormUpper(M: Tensor): number {
  if (M.shape.length !== 2) throw new Error(`internal error: matrixNormUpper of a tensor of shape [${M.shape}]`);
  return opnorm2Upper({ rows: M.shape[0], cols: M.shape[1], data: M.data });
}

/**
 * A sound upper bound on the operator 2-norm of a linear map on tensors of `shape`, by
 * materializing it on unit vectors (guards such as `opnorm(I - g * Q) < 1`).
 */
export function operatorNormUpper(apply: (v: Tensor) => Tensor, shape: number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  const columns: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const col = apply({ shape, data: e }).data;
    columns.push(col.length === 1 && n > 1 ? new Float64Array(n).fill(col[0]) : col);
  }
  const rows = columns[0]?.length ?? 0;
  const A = { rows, cols: n, data: new Float64Array(rows * n) };
  columns.forEach((col, j) => col.forEach((v, i) => (A.data[i * n + j] = v)));
  return opnorm2Upper(A);
}
