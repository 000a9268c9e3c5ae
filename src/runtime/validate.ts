/**
 * Argument checks shared by the solvers (internal; not re-exported). Misuse
 * throws {@link SolverError}; numerical outcomes are reported as statuses.
 */
import { SolverError } from './status.ts';

export function isFiniteVector(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

export function requireFiniteVector(what: string, x: Float64Array, length?: number): void {
  if (typeof x !== 'object' || x === null || typeof (x as { length?: unknown }).length !== 'number') {
    throw new SolverError('dimension-mismatch', `${what}: ${describeValue(x)}, expected a Float64Array${length === undefined ? '' : ` of length ${length}`}`);
  }
  if (length !== undefined && x.length !== length) {
    throw new SolverError('dimension-mismatch', `${what}: length ${x.length}, expected ${length}`);
  }
  if (!isFiniteVector(x)) throw new SolverError('non-finite-input', `${what} has non-finite entries`);
}

export function requireInteger(what: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new SolverError('invalid-option', `${what} must be an integer >= ${min}, got ${describeValue(value)}`);
  }
  return value;
}

/** A number in [min, max] (NaN and non-numbers rejected). */
export function requireInRange(what: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new SolverError('invalid-option', `${what} must lie in [${min}, ${max}], got ${describeValue(value)}`);
  }
  return value;
}

/** A value as messages show it: numbers as JS prints them (NaN, Infinity), others by kind. */
export function describeValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of length ${(v as unknown as ArrayLike<number>).length}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * The options object of a public entry point: undefined gives {}; anything but a plain
 * object, or a key not in `known`, is SolverError('invalid-option') naming it.
 */
export function requireOptions<T extends object>(what: string, options: T | undefined, known: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new SolverError('invalid-option', `${what}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new SolverError('invalid-option', `${what}: unknown option ${JSON.stringify(key)}; the options are ${known.join(', ')}`);
    }
  }
  return options;
}

/** A tolerance: a finite number >= 0. */
export function requireTolerance(what: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new SolverError('invalid-option', `${what} must be a finite number >= 0, got ${describeValue(value)}`);
  }
  return value;
}

/** A size limit: an integer >= 0, or Infinity (no limit). */
export function requireLimit(what: string, value: number): number {
  if (value === Infinity) return value;
  return requireInteger(what, value, 0);
}

/** One of `choices`. */
export function requireChoice<C extends string>(what: string, value: unknown, choices: readonly C[]): C {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new SolverError('invalid-option', `${what} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describeValue(value)}`);
  }
  return value as C;
}

/** A boolean flag. */
export function requireBoolean(what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new SolverError('invalid-option', `${what} must be true or false, got ${describeValue(value)}`);
  return value;
}

/**
 * A start vector: a Float64Array or an array of numbers, of length n, finite; a copy.
 * Anything else is SolverError('invalid-option') naming it.
 */
export function requireStart(what: string, value: unknown, n: number): Float64Array {
  if (!(value instanceof Float64Array) && !Array.isArray(value)) {
    throw new SolverError('invalid-option', `${what} must be a Float64Array or an array of numbers, got ${describeValue(value)}`);
  }
  if (value.length !== n) throw new SolverError('dimension-mismatch', `${what}: length ${value.length}, expected ${n}`);
  const copy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number') throw new SolverError('invalid-option', `${what}[${i}] is ${describeValue(v)}, not a number`);
    if (!Number.isFinite(v)) throw new SolverError('non-finite-input', `${what}[${i}] is ${v}, not a finite number`);
    copy[i] = v;
  }
  return copy;
}

/** The instances of a batch: an array of objects. */
export function requireInstances(what: string, instances: unknown): void {
  if (!Array.isArray(instances)) throw new SolverError('invalid-option', `${what}: instances must be an array, got ${describeValue(instances)}`);
  instances.forEach((inst: unknown, i) => {
    if (typeof inst !== 'object' || inst === null) throw new SolverError('invalid-option', `${what}: instance ${i} is ${describeValue(inst)}, not a model instance`);
  });
}

/** A model instance (of a generated class, or written by hand to the ModelInstance contract). */
export function requireModel(what: string, model: unknown): void {
  const m = model as { residual?: unknown; unknowns?: unknown; params?: unknown; n?: unknown } | null;
  if (typeof m !== 'object' || m === null || typeof m.residual !== 'function' || !Array.isArray(m.unknowns) || !Array.isArray(m.params) || typeof m.n !== 'number') {
    throw new SolverError('invalid-option', `${what}: expected a model instance (of a generated class), got ${describeValue(model)}`);
  }
}

/** An options object (or undefined); its keys are checked by the caller. */
export function requireOptionsObject(what: string, options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new SolverError('invalid-option', `${what}: options must be an object, got ${describeValue(options)}`);
  }
}

/** A function argument (a map, an operator). */
export function requireFunction(what: string, f: unknown): void {
  if (typeof f !== 'function') throw new SolverError('invalid-option', `${what} must be a function, got ${describeValue(f)}`);
}
