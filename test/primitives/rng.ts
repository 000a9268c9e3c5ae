import type { Tensor } from '../../src/primitives/types.ts';

import { mulberry32, type Rng } from '../helpers/rng.ts';

export { mulberry32, type Rng };


export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

export function randomTensor(rng: Rng, shape: readonly number[], sample: (rng: Rng) => number = (r) => uniform(r, -2, 2)): Tensor {
  const size = shape.reduce((n, d) => n * d, 1);
  return { shape: [...shape], data: Float64Array.from({ length: size }, () => sample(rng)) };
}
