/** A closed interval [lo, hi] bounding every entry; infinite ends mean "no bound known". */
export type Interval = readonly [number, number];

export const ANY: Interval = [-Infinity, Infinity];

/** Interval product; 0 * inf counts as 0 (a factor that is exactly 0 wins). */
export function mulInterval(a: Interval, b: Interval): Interval {
  const p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]].map((x) => (Number.isNaN(x) ? 0 : x));
  return [Math.min(...p), Math.max(...p)];
}

export function invInterval(a: Interval): Interval {
  return a[0] > 0 || a[1] < 0 ? [1 / a[1], 1 / a[0]] : ANY;
}

export function addInterval(a: Interval, b: Interval): Interval {
  return [a[0] + b[0], a[1] + b[1]];
}

export function negInterval(a: Interval): Interval {
  return [-a[1], -a[0]];
}

/** The image of an interval under a nondecreasing function. */
export function monotoneInterval(f: (x: number) => number): (args: readonly Interval[]) => Interval {
  return ([a]) => [f(a[0]), f(a[1])];
}

/** a^k for a known constant exponent k; ANY when k is unknown or the sign of a is unclear. */
export function powInterval(a: Interval, k: number | null): Interval {
  if (k === null) return ANY;
  if (Number.isInteger(k) && k % 2 === 0 && k > 0) {
    const m = a[0] >= 0 ? a[0] : a[1] <= 0 ? -a[1] : 0;
    return [m ** k, Math.max(Math.abs(a[0]), Math.abs(a[1])) ** k];
  }
  if (a[0] > 0) return k >= 0 ? [a[0] ** k, a[1] ** k] : [a[1] ** k, a[0] ** k];
  if (Number.isInteger(k) && k > 0) return [Math.sign(a[0]) * Math.abs(a[0]) ** k, Math.sign(a[1]) * Math.abs(a[1]) ** k];
  return ANY;
}
