import type { Tensor } from '../../src/primitives/types.ts';

/** mulberry32: a small deterministic PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

export function randomTensor(rng: Rng, shape: readonly number[], sample: (rng: Rng) => number = (r) => uniform(r, -2, 2)): Tensor {
  const size = shape.reduce((n, d) => n * d, 1);
  return { shape: [...shape], data: Float64Array.from({ length: size }, () => sample(rng)) };
}
