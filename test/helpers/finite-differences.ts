/** Checks against finite differences and relative errors, shared by the tests of derivatives. */
import { expect } from 'vitest';

/** Central differences of `f` at `p`: entry i is d f / d p_i (one vector per coordinate). */
export function fd(f: (p: number[]) => number[], p: number[], h = 1e-6): number[][] {
  return p.map((_, i) => {
    const up = [...p];
    const dn = [...p];
    up[i] += h;
    dn[i] -= h;
    const a = f(up);
    const b = f(dn);
    return a.map((v, j) => (v - b[j]) / (2 * h));
  });
}

/** |actual - expected| <= rel max(1, |expected|). */
export function expectRel(actual: number, expected: number, rel: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

/** The largest entrywise difference relative to the largest entry of `b`. */
export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
