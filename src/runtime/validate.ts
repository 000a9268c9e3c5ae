/**
 * Argument checks shared by the solvers (internal; not re-exported). Misuse
 * throws {@link SolverError}; numerical outcomes are reported as statuses.
 */
import { SolverError } from './status.ts';

export function isFiniteVector(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

export function requireFiniteVector(what: string, x: Float64Array, length?: number): void {
  if (length !== undefined && x.length !== length) {
    throw new SolverError('dimension-mismatch', `${what}: length ${x.length}, expected ${length}`);
  }
  if (!isFiniteVector(x)) throw new SolverError('non-finite-input', `${what} has non-finite entries`);
}

export function requireInteger(what: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new SolverError('invalid-option', `${what} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/** A number in [min, max] (NaN rejected). */
export function requireInRange(what: string, value: number, min: number, max: number): number {
  if (!(value >= min && value <= max)) {
    throw new SolverError('invalid-option', `${what} must lie in [${min}, ${max}], got ${value}`);
  }
  return value;
}
