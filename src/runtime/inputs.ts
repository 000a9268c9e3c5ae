import type { Tensor } from './tensor.ts';
import { immutable } from './resident.ts';
import { isFiniteVector } from './validate.ts';

/** Declared inputs of a model, as generated modules describe them. */
export interface InputSpec {
  model: string;
  dims: readonly string[];
  /** `index: true`: group labels (`data g: index[p]`), positive integers checked at bind time. */
  inputs: readonly { name: string; role: 'data' | 'param'; dims: readonly (string | number)[]; index?: boolean }[];
  /**
   * The declared cones (`cone K[t] = nonneg[q] * psd[k]`): blocks with their sizes (a psd
   * block's is the matrix order k, its length k(k+1)/2) and the declared length `t` (absent:
   * the blocks' sum). A declared length that no input binds is bound from the blocks; one an
   * input binds must agree with them.
   */
  cones?: readonly { name: string; declared?: string | number; blocks: readonly { kind: 'zero' | 'nonneg' | 'soc' | 'psd'; size: string | number }[] }[];
}

/** Bad input from the user: a message naming what is wrong, never a NaN passed on. */
export class InputError extends Error {
  readonly code = 'E0901';
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface BoundInputs {
  dims: Record<string, number>;
  tensors: Record<string, Tensor>;
}

/**
 * A matrix (or any tensor) as a flat row-major buffer with its shape, as ML code holds it.
 *
 * By default the instance binds a copy of `data` (an instance is a snapshot of its inputs).
 * `copy: false` (scikit-learn's `copy_X=False`) lends a Float64Array instead: it is checked
 * (shape, finite entries) and then read in place, without the copy, which at 1000 x 5000
 * costs more than a solve (a fresh 40 MB buffer: 110 to 140 ms, mostly first-touch page
 * faults on this project's machine, against 5 ms for the check). The caller promises not to
 * write `data` while the instance, or any instance `with` derives from it, is in use: values
 * computed from it are cached (`step * X'`, resident copies of products), so a write would be
 * seen by some of them and not by others. Reusing the buffer for the next instance is safe:
 * each binding is its own view of it, so no cache keyed by the bound array outlives the
 * instances that read it. With `data` a plain array, `copy: false` changes nothing (it must be
 * converted anyway).
 */
export interface DenseInput {
  readonly shape: readonly number[];
  readonly data: Float64Array | readonly number[];
  readonly copy?: boolean;
}

/**
 * Value of an input: a number, an array (vector), an array of rows (matrix), or a flat
 * row-major buffer with its shape ({@link DenseInput}).
 */
export type InputValue = number | readonly number[] | readonly (readonly number[])[] | Float64Array | DenseInput;

/**
 * The value of a size as the compiler writes it (src/ir/shape.ts `Dim`): a literal, a dim's
 * name, or a normalized sum of dims (`m + n`, `2*n + 1`, `n - 1`: concatenation's sizes),
 * each dim read by `lookup`; undefined when a dim it reads is unbound. The runtime depends on
 * nothing of the compiler, so the (small) reading of the sum is repeated here.
 */
export function dimValue(d: string | number, lookup: (name: string) => number | undefined): number | undefined {
  if (typeof d === 'number') return d;
  if (!isSum(d)) return lookup(d);
  let v = 0;
  for (const tok of d.replace(/\s+/g, '').match(/[+-]?[^+-]+/g) ?? []) {
    const sign = tok.startsWith('-') ? -1 : 1;
    const body = tok.replace(/^[+-]/, '');
    const m = /^(\d+)\*(.+)$/.exec(body);
    if (/^\d+$/.test(body)) v += sign * Number(body);
    else {
      const x = lookup(m ? m[2] : body);
      if (x === undefined) return undefined;
      v += sign * (m ? Number(m[1]) : 1) * x;
    }
  }
  return v;
}

const showShape = (s: readonly (string | number)[]) => (s.length === 0 ? 'a scalar' : `[${s.join(', ')}]`);

/**
 * Check inputs against the declarations and bind the dims from their shapes (LANGUAGE.md:
 * "a mismatch is a run-time error naming both shapes"). Unknown or missing names, ragged
 * arrays, shapes that contradict the dims and non-finite numbers are all InputErrors.
 */
export function bindInputs(spec: InputSpec, values: Readonly<Record<string, unknown>>): BoundInputs {
  requireInputObject(spec, values);
  const declared = new Set(spec.inputs.map((i) => i.name));
  for (const name of Object.keys(values)) {
    if (!declared.has(name)) throw unknownInput(spec, name);
  }
  // Tables keyed by declared names have no prototype: `toString` or `__proto__` is a name like any other.
  const dims: Record<string, number> = Object.create(null);
  const dimSource: Record<string, string> = Object.create(null);
  const tensors: Record<string, Tensor> = Object.create(null);
  // First the axes that are a literal or one dim (which bind it), then, once every input is
  // read, the axes that are sums (`real[n, m + n]`): checked against the dims' values. The
  // checker makes sure every dim of a sum is also some input's whole axis.
  const sums: { name: string; declared: readonly (string | number)[]; shape: readonly number[]; axis: number }[] = [];
  for (const input of spec.inputs) {
    if (!Object.hasOwn(values, input.name)) throw new InputError(`missing input \`${input.name}\` (${input.role}, shape ${showShape(input.dims)})`);
    const t = toTensor(input.name, values[input.name], input.dims);
    if (t.shape.length !== input.dims.length) {
      throw new InputError(`\`${input.name}\` should have shape ${showShape(input.dims)}, but it has shape ${showShape(t.shape)}`);
    }
    input.dims.forEach((d, axis) => {
      const actual = t.shape[axis];
      if (typeof d === 'number') {
        if (actual !== d) throw new InputError(`\`${input.name}\` should have shape ${showShape(input.dims)}, but it has shape ${showShape(t.shape)}`);
      } else if (isSum(d)) {
        sums.push({ name: input.name, declared: input.dims, shape: t.shape, axis });
      } else if (dims[d] === undefined) {
        dims[d] = actual;
        dimSource[d] = `${input.name} (shape ${showShape(t.shape)})`;
      } else if (dims[d] !== actual) {
        throw new InputError(
          `dim \`${d}\` is ${dims[d]} from ${dimSource[d]}, but ${actual} from ${input.name} (shape ${showShape(t.shape)}, declared ${showShape(input.dims)})`,
        );
      }
    });
    if (input.index) checkLabels(input.name, t);
    tensors[input.name] = immutable(t); // a snapshot, never written
  }
  for (const cone of spec.cones ?? []) bindCone(cone, dims, dimSource);
  for (const d of spec.dims) {
    if (dims[d] === undefined) throw new InputError(`dim \`${d}\` is not fixed by any input's shape`);
    if (dims[d] === 0) throw new InputError(`dim \`${d}\` is 0 (from ${dimSource[d]})`);
  }
  for (const { name, declared, shape, axis } of sums) {
    const d = declared[axis];
    const lookup = (k: string) => (Object.hasOwn(dims, k) ? dims[k] : undefined);
    const want = dimValue(d, lookup);
    if (want === undefined) throw new InputError(`\`${name}\`: the size \`${d}\` of axis ${axis + 1} reads a dim that no input's shape fixes`);
    if (shape[axis] !== want) {
      const from = dimNamesOf(d).map((k) => `\`${k}\` = ${dims[k]} from ${dimSource[k]}`).join(', ');
      const expected = declared.map((x) => dimValue(x, lookup) ?? x);
      throw new InputError(
        `\`${name}\` should have shape ${showShape(expected)} (declared ${showShape(declared)}, with ${from}), but it has shape ${showShape(shape)}: axis ${axis + 1} is ${shape[axis]}, not ${d} = ${want}`,
      );
    }
  }
  return { dims, tensors };
}

/**
 * A cone's length from its blocks' sizes (the dims bound from the inputs); its declared length
 * bound from it when no input binds that dim, or checked against it.
 */
function bindCone(cone: NonNullable<InputSpec['cones']>[number], dims: Record<string, number>, dimSource: Record<string, string>): void {
  const lookup = (k: string) => (Object.hasOwn(dims, k) ? dims[k] : undefined);
  let length = 0;
  const parts: string[] = [];
  for (const b of cone.blocks) {
    const n = dimValue(b.size, lookup);
    if (n === undefined) throw new InputError(`cone \`${cone.name}\`: the size \`${b.size}\` of its ${b.kind} block reads a dim that no input's shape fixes`);
    if (!Number.isInteger(n) || n < 0 || (b.kind === 'soc' && n < 1)) throw new InputError(`cone \`${cone.name}\`: its ${b.kind} block has size ${b.size} = ${n}, not ${b.kind === 'soc' ? 'a positive integer' : 'an integer >= 0'}`);
    length += b.kind === 'psd' ? (n * (n + 1)) / 2 : n;
    parts.push(`${b.kind}[${b.size === n ? n : `${b.size} = ${n}`}]`);
  }
  const d = cone.declared;
  if (d === undefined) return;
  const have = dimValue(d, lookup);
  const source = `cone ${cone.name} (${parts.join(' * ')})`;
  if (have === undefined && typeof d === 'string') {
    // One dim of the declared length no input binds (`t` in `cone K[k + t]`): bound so that the
    // length is the blocks' (an integer >= 1, else an error below).
    const unbound = dimNamesOf(d).filter((k) => lookup(k) === undefined);
    if (unbound.length === 1) {
      const name = unbound[0];
      const at0 = dimValue(d, (k) => (k === name ? 0 : lookup(k)))!;
      const at1 = dimValue(d, (k) => (k === name ? 1 : lookup(k)))!;
      const value = (length - at0) / (at1 - at0);
      if (Number.isInteger(value) && value >= 1) {
        dims[name] = value;
        dimSource[name] = source;
        return;
      }
    }
  }
  if (have !== length) {
    const shown = have === undefined ? '' : typeof d === 'number' ? '' : ` = ${have}`;
    throw new InputError(`cone \`${cone.name}\` is declared of length ${d}${shown}, but its blocks ${parts.join(' * ')} hold ${length} entries`);
  }
}

/** Is a declared size a sum of dims (`m + n`, `n - 1`, `2*n`), not one dim's name? */
function isSum(d: string): boolean {
  return /[\s+*-]/.test(d);
}

/** The dim names a size reads, in the order written (`2*n + m` reads n, m). */
function dimNamesOf(d: string | number): string[] {
  if (typeof d === 'number') return [];
  if (!isSum(d)) return [d];
  return (d.replace(/\s+/g, '').match(/[+-]?[^+-]+/g) ?? []).map((tok) => tok.replace(/^[+-]/, '').replace(/^\d+\*/, '')).filter((b) => !/^\d+$/.test(b));
}

/**
 * Check the changed inputs of `instance.with(changes)` against the declarations and the
 * dims the instance already has: a change may replace values, never resize (the layouts and
 * everything shared with the instance depend on the dims).
 */
export function bindChanges(spec: InputSpec, values: Readonly<Record<string, unknown>>, dims: Readonly<Record<string, number>>): BoundInputs {
  requireInputObject(spec, values, 'with');
  const tensors: Record<string, Tensor> = Object.create(null);
  for (const name of Object.keys(values)) {
    const input = spec.inputs.find((i) => i.name === name);
    if (!input) throw unknownInput(spec, name);
    const t = toTensor(name, values[name], input.dims);
    const expected = input.dims.map((d) => dimValue(d, (k) => (Object.hasOwn(dims, k) ? dims[k] : undefined)) ?? NaN);
    if (t.shape.length !== expected.length || t.shape.some((s, axis) => s !== expected[axis])) {
      throw new InputError(
        `\`${name}\` should have shape ${showShape(expected)} (declared ${showShape(input.dims)}, with the dims of the instance \`with\` was called on), but it has shape ${showShape(t.shape)}`,
      );
    }
    if (input.index) checkLabels(name, t);
    tensors[name] = immutable(t);
  }
  return { dims: Object.assign(Object.create(null) as Record<string, number>, dims), tensors };
}

/** Group labels (`index[p]`): every entry an integer >= 1 (a group id), else an InputError naming the input and the entry. */
function checkLabels(name: string, t: Tensor): void {
  const i = t.data.findIndex((x) => !(Number.isInteger(x) && x >= 1));
  if (i >= 0) throw new InputError(`\`${name}\` holds group labels (index), but entry ${i + 1} is ${t.data[i]}, not an integer >= 1`);
}

/** The inputs must be one object keyed by input names (`new M(null)`, `.with(5)`: an InputError). */
function requireInputObject(spec: InputSpec, values: unknown, call?: 'with'): void {
  if (typeof values !== 'object' || values === null || Array.isArray(values) || ArrayBuffer.isView(values)) {
    const what = call === 'with' ? `the changes passed to \`with\` on model ${spec.model}` : `the inputs of model ${spec.model}`;
    throw new InputError(`${what} must be an object keyed by input names (${spec.inputs.map((i) => `\`${i.name}\``).join(', ')}), not ${showEntry(values)}`);
  }
}

function unknownInput(spec: InputSpec, name: string): InputError {
  return new InputError(`\`${name}\` is not an input of model ${spec.model}; its inputs are ${spec.inputs.map((i) => `\`${i.name}\``).join(', ')}`);
}

/** A value as a message shows it, without walking into it (it may be nested 10^5 deep). */
function showEntry(x: unknown): string {
  if (typeof x === 'number') return String(x);
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x);
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  return typeof x === 'object' ? 'an object' : typeof x;
}

/**
 * How deep arrays nest along their first entries, counted no further than `limit` + 1 (an
 * iterative walk: a value nested 10^5 deep must not overflow the stack).
 */
function nestingDepth(v: unknown, limit: number): number {
  let depth = 0;
  let x = v;
  while (Array.isArray(x) && depth <= limit) {
    depth++;
    x = x.length > 0 ? x[0] : undefined;
  }
  return depth;
}

function isDense(v: unknown): v is DenseInput {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Float64Array) return false;
  const o = v as { shape?: unknown; data?: unknown };
  return Array.isArray(o.shape) && (o.data instanceof Float64Array || Array.isArray(o.data));
}

/** x, when it is a finite number; else an InputError naming the input and the entry (`where`). */
function finiteEntry(name: string, x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new InputError(`\`${name}\`${where} is ${showEntry(x)}, not a finite number`);
  }
  return x;
}

/** A copy of a Float64Array (memcpy), checked finite in one tight pass. */
function copyChecked(name: string, src: Float64Array, where: (i: number) => string): Float64Array {
  const data = src.slice();
  if (!isFiniteVector(data)) {
    const i = data.findIndex((x) => !Number.isFinite(x));
    finiteEntry(name, data[i], where(i));
  }
  return data;
}

/**
 * src checked finite, as a new view of its memory (no copy): a distinct array object, so that
 * caches keyed by the bound array (resident.ts, the prepared columns of coordinate descent)
 * belong to this binding alone, and a caller who refills the buffer for the next instance
 * never meets the previous one's cached copies.
 */
function viewChecked(name: string, src: Float64Array, where: (i: number) => string): Float64Array {
  if (!isFiniteVector(src)) {
    const i = src.findIndex((x) => !Number.isFinite(x));
    finiteEntry(name, src[i], where(i));
  }
  return new Float64Array(src.buffer, src.byteOffset, src.length);
}

// The helpers live at module level: closures made per call are named by the keepNames
// transform on every call (a diabetes instance's construction: 62 to 66 against 69 to 95 us
// in a loop before, on a noisy machine).
function toTensor(name: string, v: unknown, declared: readonly (string | number)[]): Tensor {
  if (Array.isArray(v)) {
    // Nested arrays give vectors and matrices (other ranks come as { shape, data }).
    const allowed = Math.min(Math.max(declared.length, 1), 2);
    const depth = nestingDepth(v, allowed);
    if (depth > allowed) {
      const takes = declared.length === 0 ? 'a number' : declared.length === 1 ? 'an array of numbers' : declared.length === 2 ? 'an array of rows' : '{ shape, data }';
      throw new InputError(`\`${name}\` has arrays nested ${depth} or more deep, but its declared shape ${showShape(declared)} takes ${takes}`);
    }
  }
  if (typeof v === 'number') return { shape: [], data: Float64Array.of(finiteEntry(name, v, '')) };
  if (v instanceof Float64Array) {
    // A copy: an instance is a snapshot of its inputs (values derived from them are cached).
    return { shape: [v.length], data: copyChecked(name, v, (i) => `[${i}]`) };
  }
  if (isDense(v)) {
    const shape = Array.from(v.shape);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new InputError(`\`${name}\` has shape [${shape.join(', ')}], not a list of sizes`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (v.data.length !== count) throw new InputError(`\`${name}\` has shape [${shape.join(', ')}] (${count} entries) but ${v.data.length} values`);
    const copy: unknown = v.copy;
    if (copy !== undefined && typeof copy !== 'boolean') throw new InputError(`\`${name}\`.copy is ${showEntry(copy)}, not true or false`);
    if (v.data instanceof Float64Array) {
      // Lent (copy: false): checked, then read in place, through a view of its own (see DenseInput).
      if (copy === false) return { shape, data: viewChecked(name, v.data, (i) => `.data[${i}]`) };
      // A copy, checked: an instance is a snapshot of its inputs.
      return { shape, data: copyChecked(name, v.data, (i) => `.data[${i}]`) };
    }
    const data = new Float64Array(count);
    const src = v.data;
    for (let i = 0; i < count; i++) {
      const x: unknown = src[i];
      data[i] = typeof x === 'number' && Number.isFinite(x) ? x : finiteEntry(name, x, `.data[${i}]`);
    }
    return { shape, data };
  }
  if (!Array.isArray(v)) {
    throw new InputError(`\`${name}\` must be a number, an array, an array of rows or { shape, data }, not ${v === null ? 'null' : typeof v}`);
  }
  // Plain loops: a design matrix has hundreds of thousands of entries, and the per-entry
  // closures of forEach cost more than the copy itself.
  if (v.length > 0 && Array.isArray(v[0])) {
    const rows = v.length;
    const cols = (v[0] as unknown[]).length;
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const row: unknown = v[i];
      if (!Array.isArray(row) || row.length !== cols) {
        throw new InputError(`\`${name}\` is ragged: row 0 has ${cols} entries, row ${i} has ${Array.isArray(row) ? row.length : 'none'}`);
      }
      const at = i * cols;
      for (let j = 0; j < cols; j++) {
        const x: unknown = row[j];
        data[at + j] = typeof x === 'number' && Number.isFinite(x) ? x : finiteEntry(name, x, `[${i}][${j}]`);
      }
    }
    return { shape: [rows, cols], data };
  }
  const data = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    data[i] = typeof x === 'number' && Number.isFinite(x) ? x : finiteEntry(name, x, `[${i}]`);
  }
  return { shape: [v.length], data };
}
