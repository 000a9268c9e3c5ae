/** Deterministic test data: mulberry32 PRNG (Tommy Ettinger's 32-bit generator) and random matrices. */
import type { Matrix } from '../../src/runtime/index.ts';

import { mulberry32, type Rng } from '../helpers/rng.ts';

export { mulberry32, type Rng };
/** Entries uniform in [-1, 1). */
export function randomVector(rng: Rng, n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng() - 1;
  return x;
}

export function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  return { rows, cols, data: randomVector(rng, rows * cols) };
}

/** Random nonsymmetric matrix with diagonal `shift` added: diagonally dominant once shift exceeds the row sums. */
export function randomShifted(rng: Rng, n: number, shift: number): Matrix {
  const A = randomMatrix(rng, n, n);
  for (let i = 0; i < n; i++) A.data[i * n + i] += shift;
  return A;
}
