import type { Graph } from '../ir/graph.ts';
import { factsOf, primitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Bounds } from './bounds.ts';

/**
 * One end of an enclosure: its value, whether the value itself is excluded (an open end: the
 * limit of exp at -inf, of tanh at +-inf), and whether it is exact (the real-arithmetic bound
 * of the expression over the stated facts, with no rounding error in it).
 */
interface End {
  v: number;
  open: boolean;
  exact: boolean;
}
interface Strict {
  lo: End;
  hi: End;
}

/**
 * Whether every entry of an elementwise expression (a scalar B, or the diagonal of a diagonal
 * B, as the tangent node with its seed at 1) is nonzero over the whole conservative set, by an
 * interval enclosure that knows which ends are exact and which are open (MATH.md 5.1).
 *
 * The plain interval test asks an end to clear 0 by a relative margin (its ends are rounded,
 * and a rounding error can make a true 0 look positive). Here an end computed without any
 * rounding needs no margin: `E - e * sin(E) - M` under `require 0 <= e < 1` has e <= the double
 * below 1 (the clause is checked on doubles), so B = 1 - e cos(E) >= 1 - (1 - 2^-53) = 2^-53,
 * exactly, > 0; `exp(y) - x` has B = exp(y) > 0, the infimum 0 being a limit never attained
 * (open); `y - sigmoid(y)` has B = 1 - s (1 - s) with s in (0, 1), so B in (0, 1]. Exactness:
 * constants must be exact doubles of the literal (dyadic with a short mantissa: 1, 0.5, 0.25,
 * never 0.18, whose double is not the decimal the user wrote), and every sum and product is
 * checked exact by its error-free transformation (TwoSum, Dekker's TwoProduct); any inexact end
 * is rounded outward by one unit in the last place and then needs the plain margin. Anything
 * this enclosure does not model (matrix products, reductions, kink factors whose range has an
 * inexact end) falls back to the closed enclosure of `Bounds`, marked inexact: sound, if weaker.
 */
export function strictlyNonzero(g: Graph, root: NodeId, bounds: Bounds): boolean {
  const r = enclose(g, root, bounds, new Map());
  const margin = 1e-12 * Math.max(...[r.lo.v, r.hi.v].filter(Number.isFinite).map(Math.abs), 0);
  const positive = r.lo.exact ? r.lo.v > 0 || (r.lo.v === 0 && r.lo.open) : r.lo.v > margin;
  const negative = r.hi.exact ? r.hi.v < 0 || (r.hi.v === 0 && r.hi.open) : r.hi.v < -margin;
  return positive || negative;
}

/** The enclosure as text, `(0, 2]`, for the certificate's reason. */
export function strictText(g: Graph, root: NodeId, bounds: Bounds): string {
  const r = enclose(g, root, bounds, new Map());
  const show = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : x > 0 ? 'inf' : '-inf');
  return `${r.lo.open ? '(' : '['}${show(r.lo.v)}, ${show(r.hi.v)}${r.hi.open ? ')' : ']'}`;
}

const closed = (v: number, exact: boolean): End => ({ v, open: !Number.isFinite(v), exact });

/** Whether x is a double that any decimal literal denoting it writes exactly (a short dyadic). */
function dyadic(x: number): boolean {
  if (!Number.isFinite(x)) return false;
  const scaled = x * 2 ** 24;
  return Number.isInteger(scaled) && Math.abs(scaled) < 2 ** 53;
}

function enclose(g: Graph, id: NodeId, bounds: Bounds, memo: Map<NodeId, Strict>): Strict {
  const hit = memo.get(id);
  if (hit) return hit;
  const r = compute(g, id, bounds, memo);
  memo.set(id, r);
  return r;
}

/**
 * The closed enclosure of `Bounds`, inexact, except at ends that are 0 or infinite: those are
 * structural (x^2 >= 0, opnorm >= 0, a fact's bound), and a floating-point sum or product that
 * comes out exactly +0 is exact (x + y = 0 only when y = -x; a product is 0 only with a 0 factor
 * or an underflow, which `-0` or a tiny positive would show; -0 as a lower end stays inexact).
 */
function fallback(bounds: Bounds, id: NodeId): Strict {
  const [lo, hi] = bounds.interval(id);
  const structural = (v: number) => !Number.isFinite(v) || Object.is(v, 0);
  return { lo: closed(lo, structural(lo)), hi: closed(hi, structural(hi) || Object.is(hi, -0)) };
}

/** Whether every value of node `id` (every entry) is > 0, by the enclosure above. */
export function strictlyPositive(g: Graph, id: NodeId, bounds: Bounds): boolean {
  const { lo } = enclose(g, id, bounds, new Map());
  return lo.exact ? lo.v > 0 || (lo.v === 0 && lo.open) : lo.v > 1e-12;
}

/** Whether every value of node `id` (every entry) is >= 0. */
export function nonnegative(g: Graph, id: NodeId, bounds: Bounds): boolean {
  const { lo } = enclose(g, id, bounds, new Map());
  return lo.exact ? lo.v >= 0 : lo.v > 1e-12;
}

/** An upper bound on every value of node `id`, and whether it is attained (closed) or not. */
export function upperBound(g: Graph, id: NodeId, bounds: Bounds): { v: number; open: boolean; exact: boolean } {
  return enclose(g, id, bounds, new Map()).hi;
}

function compute(g: Graph, id: NodeId, bounds: Bounds, memo: Map<NodeId, Strict>): Strict {
  const n = g.node(id);
  const arg = (k: number) => enclose(g, n.args[k], bounds, memo);
  if (n.op === 'const') {
    const v = (n as { value: number }).value;
    return { lo: closed(v, dyadic(v)), hi: closed(v, dyadic(v)) };
  }
  if (n.op === 'input') {
    const role = (n as { role: string }).role;
    if (role === 'seed') return { lo: closed(1, true), hi: closed(1, true) };
    // An input's interval is what the `require` clauses state: bounds on the doubles the
    // generated code checks, so exact as doubles.
    const [lo, hi] = bounds.interval(id);
    return { lo: closed(lo, true), hi: closed(hi, true) };
  }
  const facts = factsOf(n.op);
  if (facts.kinkFactor) {
    const [lo, hi] = facts.kinkFactor.range;
    return { lo: closed(lo, dyadic(lo)), hi: closed(hi, dyadic(hi)) };
  }
  if (facts.repeatsFirst) return arg(0);
  switch (facts.linearForm) {
    case 'negation': {
      const a = arg(0);
      return { lo: negate(a.hi), hi: negate(a.lo) };
    }
    case 'sum':
    case 'difference': {
      const a = arg(0);
      const b = facts.linearForm === 'sum' ? arg(1) : (({ lo, hi }) => ({ lo: negate(hi), hi: negate(lo) }))(arg(1));
      return { lo: sum(a.lo, b.lo, -1), hi: sum(a.hi, b.hi, 1) };
    }
    case 'product':
      return n.args[0] === n.args[1] ? square(arg(0)) : product(arg(0), arg(1));
    case 'quotient': {
      const b = arg(1);
      // A divisor >= 0: where it is 0 the quotient is undefined (the solve reports the
      // non-finite value and returns no derivative), so the enclosure is over the rest, b > 0.
      if (!(b.lo.v > 0 || (b.lo.v === 0 && b.lo.exact && b.hi.v > 0))) return fallback(bounds, id);
      return product(arg(0), reciprocal(b));
    }
  }
  if (facts.power) {
    const k = constantValue(g, n.args[1]);
    if (k === null || !Number.isInteger(k) || k < 1 || k > 64) return fallback(bounds, id);
    // x^(2m) = (x^2)^m, a power of a nonnegative enclosure (its ends' powers); an odd power
    // is x times the even one below it (sound; only the correlation is lost).
    const a = arg(0);
    const sq = square(a);
    let even: Strict = { lo: closed(1, true), hi: closed(1, true) };
    for (let i = 0; i < Math.floor(k / 2); i++) even = product(even, sq);
    return k % 2 === 0 ? even : product(a, even);
  }
  // The registry's exact values (its limits, never attained, and f(0); or a bounded range),
  // with the value kernel, rounded outward, everywhere else.
  const exactValues = facts.exactValues;
  if (exactValues && 'range' in exactValues) return { lo: closed(exactValues.range[0], true), hi: closed(exactValues.range[1], true) };
  if (exactValues && facts.monotone) {
    const p = primitive(n.op);
    const f = (x: number) => p.evaluate([{ shape: [], data: Float64Array.of(x) }], {}).data[0];
    return limitMonotone(arg(0), f, { '-inf': exactValues.atMinusInf, '0': exactValues.atZero, inf: exactValues.atPlusInf });
  }
  return fallback(bounds, id);
}

/** The value of a node built of constants only (`3 - 1` in an exponent), or null. */
function constantValue(g: Graph, id: NodeId): number | null {
  const n = g.node(id);
  if (n.op === 'const') return (n as { value: number }).value;
  const args = n.args?.map((a) => constantValue(g, a)) ?? [];
  if (args.some((a) => a === null)) return null;
  const [a, b] = args as number[];
  switch (factsOf(n.op).linearForm) {
    case 'negation':
      return -a;
    case 'sum':
      return a + b;
    case 'difference':
      return a - b;
    case 'product':
      return a * b;
    default:
      return null;
  }
}

/** 1 / b for b > 0: 1/inf is an exact open 0, 1/(open 0) an open inf. */
function reciprocal(b: Strict): Strict {
  const inv = (e: End, direction: 1 | -1): End => {
    if (e.v === Infinity) return { v: 0, open: true, exact: true };
    if (e.v === 0) return { v: Infinity, open: true, exact: true };
    const r = 1 / e.v;
    const exact = e.exact && r * e.v === 1 && productError(r, e.v, r * e.v) === 0;
    return { v: exact ? r : nextToward(r, direction), open: e.open, exact };
  };
  return { lo: inv(b.hi, -1), hi: inv(b.lo, 1) };
}

function negate(e: End): End {
  return { v: -e.v, open: e.open, exact: e.exact };
}

/** a + b for one end, exact when both are and TwoSum's error is 0; else one ulp outward. */
function sum(a: End, b: End, direction: 1 | -1): End {
  const s = a.v + b.v;
  const open = a.open || b.open;
  if (!Number.isFinite(s)) return { v: Number.isNaN(s) ? direction * Infinity : s, open: true, exact: true };
  // TwoSum (Knuth): the exact error of the rounded sum.
  const bb = s - a.v;
  const err = a.v - (s - bb) + (b.v - bb);
  const exact = a.exact && b.exact && err === 0;
  return { v: err === 0 ? s : direction < 0 ? nextToward(s, -1) : nextToward(s, 1), open, exact };
}

/** The exact error of a * b by Dekker's TwoProduct (Veltkamp splitting); NaN if it overflows. */
function productError(a: number, b: number, p: number): number {
  const split = (x: number): [number, number] => {
    const c = 134217729 * x; // 2^27 + 1
    const hi = c - (c - x);
    return [hi, x - hi];
  };
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return al * bl - (p - ah * bh - al * bh - ah * bl);
}

function product(a: Strict, b: Strict): Strict {
  const candidates: End[] = [];
  for (const [x, xSide] of [[a.lo, 1], [a.hi, -1]] as const) {
    for (const [y, ySide] of [[b.lo, 1], [b.hi, -1]] as const) {
      // A closed 0 factor gives a closed, exact 0 (0 * inf counts as 0, as in mulInterval).
      if ((x.v === 0 && !x.open) || (y.v === 0 && !y.open)) {
        candidates.push({ v: 0, open: false, exact: true });
        continue;
      }
      const p = x.v * y.v;
      if (Number.isNaN(p)) {
        // An open 0 end times an infinite one: near that corner the products take every value
        // between 0 (open) and an infinity whose sign is the side the 0 is approached from
        // (from above for a lower end) times the infinity's.
        const side = x.v === 0 ? xSide * Math.sign(y.v) : ySide * Math.sign(x.v);
        candidates.push({ v: 0, open: true, exact: true }, { v: side * Infinity, open: true, exact: true });
        continue;
      }
      if (!Number.isFinite(p)) {
        candidates.push({ v: p, open: true, exact: true });
        continue;
      }
      const err = Number.isFinite(x.v) && Number.isFinite(y.v) ? productError(x.v, y.v, p) : NaN;
      candidates.push({ v: p, open: x.open || y.open, exact: x.exact && y.exact && err === 0 });
    }
  }
  return { lo: extreme(candidates, -1), hi: extreme(candidates, 1) };
}

/** x^2 over an enclosure: the least square is 0 (closed) when x can be 0. */
function square(a: Strict): Strict {
  const p = product(a, a);
  if (a.lo.v < 0 && a.hi.v > 0) return { lo: { v: 0, open: false, exact: true }, hi: p.hi };
  if (a.lo.v === 0 || a.hi.v === 0) {
    const zeroEnd = a.lo.v === 0 ? a.lo : a.hi;
    return { lo: { v: 0, open: zeroEnd.open, exact: true }, hi: p.hi };
  }
  // x of one sign: x^2 lies between the squares of the ends, the least rounded down and the
  // greatest up.
  const sq = (e: End, direction: 1 | -1): End => {
    const point: Strict = { lo: e, hi: e };
    return direction < 0 ? product(point, point).lo : product(point, point).hi;
  };
  const [near, far] = a.lo.v > 0 ? [a.lo, a.hi] : [a.hi, a.lo];
  return { lo: sq(near, -1), hi: sq(far, 1) };
}

/**
 * The least (direction -1) or greatest end of candidates: closed if any candidate of that
 * value is closed; an inexact value is moved one ulp outward.
 */
function extreme(candidates: readonly End[], direction: 1 | -1): End {
  let best = candidates[0];
  for (const c of candidates.slice(1)) {
    if (direction * (c.v - best.v) > 0) best = c;
    else if (c.v === best.v) best = { v: c.v, open: best.open && c.open, exact: best.exact && c.exact };
  }
  return best.exact || !Number.isFinite(best.v) ? best : { ...best, v: nextToward(best.v, direction) };
}

/**
 * A nondecreasing function with known exact values at a few points (its limits at -inf and
 * inf, open: never attained, and f(0)); elsewhere its value rounded outward, inexact.
 */
function limitMonotone(a: Strict, f: (x: number) => number, known: { '-inf'?: number; '0'?: number; inf?: number }): Strict {
  const at = (e: End, direction: 1 | -1): End => {
    if (e.v === -Infinity && known['-inf'] !== undefined) return { v: known['-inf'], open: true, exact: true };
    if (e.v === Infinity && known.inf !== undefined) return { v: known.inf, open: true, exact: true };
    if (e.v === 0 && e.exact && known['0'] !== undefined) return { v: known['0'], open: e.open, exact: true };
    const v = f(e.v);
    return { v: nextToward(nextToward(v, direction), direction), open: false, exact: false };
  };
  return { lo: at(a.lo, -1), hi: at(a.hi, 1) };
}

/** The neighbouring double of x toward -inf (-1) or +inf (1). */
function nextToward(x: number, direction: 1 | -1): number {
  if (!Number.isFinite(x) || Number.isNaN(x)) return x;
  if (x === 0) return direction * Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, (x > 0) === (direction > 0) ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}
