import { opnorm2Upper } from './matrix.ts';
import { immutable } from './resident.ts';
import { SolverError } from './status.ts';
import type { Tensor } from './tensor.ts';
import { gapKernel, VALUE_KERNELS, type ValueKernel } from './values/table.ts';

export type { Tensor };
export { scaledTranspose, transposedProduct } from './values/tensor.ts';
export { addProduct } from './accumulate.ts';

/**
 * The f64 kernels generated code calls: `K.relu(a)`, `K.matmul(W, z)`: the runtime's table of
 * value kernels (values/table.ts). Each primitive's registry record names its kernel there as
 * its value rule, so the compiler's analysis, its tests and the generated modules compute
 * with one and the same definition.
 */
export const K: Readonly<Record<string, ValueKernel>> = VALUE_KERNELS;

/** Per kink variable, the distance from the switching surface of the kink whose gap is named `gap`. */
export function kinkGap(gap: string, args: readonly Tensor[]): Float64Array {
  return gapKernel(gap)(...args);
}

/**
 * Defines `target[name]` as a value computed on first read, then stored: generated
 * constructors hoist every value that does not move with the unknowns this way, so that an
 * instance pays only for what its kernels read (a solve never forms the transposes that only
 * the derivatives use).
 *
 * With a `label` (how a message names the value: "`step` (let at 10:3)"), the value is
 * recorded for {@link nonFiniteHoisted}: one that is not finite (`1 / opnorm(X)^2` with X = 0)
 * depends on the inputs alone, so when the solve then fails to be finite, the run names it as
 * a bad input. It is not refused here: an `if` computes both branches, and a branch that is not
 * taken may be infinite (`if x > 0 then 1 / x else 0` at x = 0). Values that move with y (the
 * primal caches of the derivative kernels) pass no label: the solvers handle those as statuses.
 */
export function lazy(target: Record<string, Tensor>, name: string, compute: () => Tensor, label?: string): void {
  if (label !== undefined) labelsOf(target).set(name, label === '' ? `\`${name}\`` : label);
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

/** The labels `lazy` was given, per table of hoisted values. */
const hoistedLabels = new WeakMap<object, Map<string, string>>();

function labelsOf(target: object): Map<string, string> {
  let labels = hoistedLabels.get(target);
  if (!labels) hoistedLabels.set(target, (labels = new Map()));
  return labels;
}

/**
 * The labelled hoisted values of `target` computed so far that are not finite, each as
 * "`step` (let at 10:3) is Infinity" (or "entry [1, 0] is NaN"). Values not yet computed
 * are not computed here.
 */
export function nonFiniteHoisted(target: Record<string, Tensor>): string[] {
  const problems: string[] = [];
  for (const [name, label] of hoistedLabels.get(target) ?? []) {
    const d = Object.getOwnPropertyDescriptor(target, name);
    if (!d || !('value' in d)) continue;
    const where = firstNonFinite(d.value as Tensor);
    if (where) problems.push(`${label} is not finite for these inputs: ${where}`);
  }
  return problems;
}

/** Where a tensor first holds a number that is not finite ("it is Infinity", "entry [1, 0] is NaN"), or null. */
function firstNonFinite(t: Tensor): string | null {
  const { data } = t;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) return t.shape.length === 0 ? `it is ${v}` : `entry ${flatIndex(i, t.shape)} is ${v}`;
  }
  return null;
}

/** The index of flat entry i of a row-major tensor of `shape`, as `[i]` or `[i, j]`. */
function flatIndex(i: number, shape: readonly number[]): string {
  const index: number[] = [];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index.unshift(i % shape[axis]);
    i = Math.floor(i / shape[axis]);
  }
  return `[${index.join(', ')}]`;
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

/**
 * Write `t` into `out[offset .. offset + size)`, repeating a scalar over the whole block. An
 * `out` too short for the block (or not a Float64Array) is SolverError('dimension-mismatch').
 */
export function put(t: Tensor | null, out: Float64Array, offset: number, size: number): void {
  if (!(out instanceof Float64Array) || out.length < offset + size) throw outMismatch(out, offset + size);
  if (t === null) out.fill(0, offset, offset + size);
  else if (t.data.length === size) out.set(t.data, offset);
  else if (t.data.length === 1) out.fill(t.data[0], offset, offset + size);
  else throw new Error(`internal error: a block of ${t.data.length} entries written where ${size} belong`);
}

function outMismatch(out: unknown, end: number): SolverError {
  const got = out instanceof Float64Array ? `length ${out.length}` : `not a Float64Array (${out === null ? 'null' : Array.isArray(out) ? 'an array' : typeof out})`;
  return new SolverError('dimension-mismatch', `the output vector: ${got}, but the kernel writes entries up to ${end}`);
}

/**
 * SolverError('dimension-mismatch') unless `v` is a Float64Array of length `n`: for kernels
 * to check the vectors they are passed (`what` names the argument, `out`, `ydot`).
 */
export function requireLength(what: string, v: unknown, n: number): void {
  if (!(v instanceof Float64Array) || v.length !== n) {
    const got = v instanceof Float64Array ? `length ${v.length}` : `not a Float64Array (${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v})`;
    throw new SolverError('dimension-mismatch', `${what}: ${got}, expected a Float64Array of length ${n}`);
  }
}

/** out[offset .. offset + size) += s t, a scalar t added over the whole block; null adds nothing. */
export function addInto(s: number, t: Tensor | null, out: Float64Array, offset: number, size: number): void {
  if (!(out instanceof Float64Array) || out.length < offset + size) throw outMismatch(out, offset + size);
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

/**
 * Views of a flat vector, one per variable of a layout. The vector must be a Float64Array
 * exactly as long as the layout (else SolverError('dimension-mismatch') naming `argument`, or
 * the layout's variables, and both lengths): every kernel reads its vectors through here.
 */
export function views(flat: Float64Array, vars: readonly { name?: string; shape: number[]; offset: number; size?: number }[], argument?: string): Tensor[] {
  const last = vars.length > 0 ? vars[vars.length - 1] : undefined;
  const need = last === undefined ? 0 : last.offset + (last.size ?? last.shape.reduce((a, b) => a * b, 1));
  if (!(flat instanceof Float64Array) || flat.length !== need) {
    const what = argument ?? `the vector of ${vars.map((v) => v.name ?? '?').join(', ') || 'nothing'}`;
    requireLength(what, flat, need);
  }
  return vars.map((v) => view(flat, v.offset, v.shape));
}

/**
 * The kink factors a derivative kernel is given, as tensors of the sites' shapes: one
 * Float64Array per site, of the site's size, else a SolverError('dimension-mismatch').
 */
export function wrapFactors(factors: readonly Float64Array[], shapes: readonly number[][]): Tensor[] {
  if (!Array.isArray(factors) || factors.length !== shapes.length) {
    const got = Array.isArray(factors) ? `${factors.length} arrays` : factors === null ? 'null' : typeof factors;
    throw new SolverError('dimension-mismatch', `factors: ${got}, expected an array of ${shapes.length} Float64Arrays (one per kink site)`);
  }
  const tensors: Tensor[] = new Array(shapes.length);
  for (let i = 0; i < shapes.length; i++) {
    const shape = shapes[i];
    const data = factors[i];
    let size = 1;
    for (const d of shape) size *= d;
    // Derivative kernels call this on every solver step: the message is built only on failure.
    if (!(data instanceof Float64Array) || data.length !== size) requireLength(`factors[${i}]`, data, size);
    tensors[i] = { shape, data };
  }
  return tensors;
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
