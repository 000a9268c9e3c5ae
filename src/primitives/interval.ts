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

/** The double after x toward +Infinity (x for infinities and NaN). */
function nextUp(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/**
 * log1p over an interval: nondecreasing on (-1, inf), -Infinity at -1 and undefined below
 * (like log at 0 and below: the bound is over the arguments where it is defined). Math.log1p
 * is not correctly rounded, so the ends move outward by one double, except log1p(0) = 0,
 * which is exact. An interval entirely at or below -1 has no defined value: no bound.
 */
export function log1pInterval([a]: readonly Interval[]): Interval {
  if (!(a[1] > -1)) return ANY;
  const lo = a[0] > -1 ? Math.log1p(a[0]) : -Infinity;
  const hi = Math.log1p(a[1]);
  return [lo === 0 ? 0 : -nextUp(-lo), hi === 0 ? 0 : nextUp(hi)];
}

/**
 * logsumexp of entries in [lo, hi]: at least the largest entry, so at least lo (the kernel
 * computes m + log1p(r) with r >= 0, so >= m in floating point too); at most hi + log(n),
 * but the entry count is not known here: no upper bound.
 */
export function logsumexpInterval([a]: readonly Interval[]): Interval {
  return [a[0], Infinity];
}

/**
 * softmax entries: exp(a_i - m) / sum_j exp(a_j - m) lies in [0, 1] (in (0, 1) for finite
 * entries and n >= 2 in exact arithmetic; exp may underflow to 0 and a ratio round to 1 in
 * floating point, so the closed interval).
 */
export function softmaxInterval(): Interval {
  return [0, 1];
}
