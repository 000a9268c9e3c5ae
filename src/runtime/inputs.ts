import type { Tensor } from '../primitives/types.ts';

/** Declared inputs of a model, as generated modules describe them. */
export interface InputSpec {
  model: string;
  dims: readonly string[];
  inputs: readonly { name: string; role: 'data' | 'param'; dims: readonly (string | number)[] }[];
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

/** JSON value of an input: a number, an array (vector) or an array of rows (matrix). */
export type InputValue = number | readonly number[] | readonly (readonly number[])[] | Float64Array;

const showShape = (s: readonly (string | number)[]) => (s.length === 0 ? 'a scalar' : `[${s.join(', ')}]`);

/**
 * Check inputs against the declarations and bind the dims from their shapes (LANGUAGE.md:
 * "a mismatch is a run-time error naming both shapes"). Unknown or missing names, ragged
 * arrays, shapes that contradict the dims and non-finite numbers are all InputErrors.
 */
export function bindInputs(spec: InputSpec, values: Readonly<Record<string, unknown>>): BoundInputs {
  const declared = new Set(spec.inputs.map((i) => i.name));
  for (const name of Object.keys(values)) {
    if (!declared.has(name)) {
      throw new InputError(`\`${name}\` is not an input of model ${spec.model}; its inputs are ${[...declared].map((n) => `\`${n}\``).join(', ')}`);
    }
  }
  const dims: Record<string, number> = {};
  const dimSource: Record<string, string> = {};
  const tensors: Record<string, Tensor> = {};
  for (const input of spec.inputs) {
    if (!(input.name in values)) throw new InputError(`missing input \`${input.name}\` (${input.role}, shape ${showShape(input.dims)})`);
    const t = toTensor(input.name, values[input.name]);
    if (t.shape.length !== input.dims.length) {
      throw new InputError(`\`${input.name}\` should have shape ${showShape(input.dims)}, but it has shape ${showShape(t.shape)}`);
    }
    input.dims.forEach((d, axis) => {
      const actual = t.shape[axis];
      if (typeof d === 'number') {
        if (actual !== d) throw new InputError(`\`${input.name}\` should have shape ${showShape(input.dims)}, but it has shape ${showShape(t.shape)}`);
      } else if (dims[d] === undefined) {
        dims[d] = actual;
        dimSource[d] = `${input.name} (shape ${showShape(t.shape)})`;
      } else if (dims[d] !== actual) {
        throw new InputError(
          `dim \`${d}\` is ${dims[d]} from ${dimSource[d]}, but ${actual} from ${input.name} (shape ${showShape(t.shape)}, declared ${showShape(input.dims)})`,
        );
      }
    });
    tensors[input.name] = t;
  }
  for (const d of spec.dims) {
    if (dims[d] === undefined) throw new InputError(`dim \`${d}\` is not fixed by any input's shape`);
    if (dims[d] === 0) throw new InputError(`dim \`${d}\` is 0 (from ${dimSource[d]})`);
  }
  return { dims, tensors };
}

function toTensor(name: string, v: unknown): Tensor {
  const finite = (x: unknown, where: string): number => {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new InputError(`\`${name}\`${where} is ${typeof x === 'number' ? String(x) : JSON.stringify(x) ?? typeof x}, not a finite number`);
    }
    return x;
  };
  if (typeof v === 'number') return { shape: [], data: Float64Array.of(finite(v, '')) };
  if (v instanceof Float64Array) {
    v.forEach((x, i) => finite(x, `[${i}]`));
    return { shape: [v.length], data: v };
  }
  if (!Array.isArray(v)) throw new InputError(`\`${name}\` must be a number, an array or an array of rows, not ${v === null ? 'null' : typeof v}`);
  if (v.length > 0 && Array.isArray(v[0])) {
    const rows = v.length;
    const cols = (v[0] as unknown[]).length;
    const data = new Float64Array(rows * cols);
    v.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== cols) {
        throw new InputError(`\`${name}\` is ragged: row 0 has ${cols} entries, row ${i} has ${Array.isArray(row) ? row.length : 'none'}`);
      }
      row.forEach((x, j) => (data[i * cols + j] = finite(x, `[${i}][${j}]`)));
    });
    return { shape: [rows, cols], data };
  }
  return { shape: [v.length], data: Float64Array.from(v, (x, i) => finite(x, `[${i}]`)) };
}
