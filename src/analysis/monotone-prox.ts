import type { Graph } from '../ir/graph.ts';
import { factsOf } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Bounds } from './bounds.ts';
import type { LinOp } from './linop.ts';
import { nonnegative, strictlyPositive, upperBound } from './strict-interval.ts';

/** How definite a symmetric part is, by construction: positive definite, semidefinite, or unknown. */
type Definiteness = 'pd' | 'psd' | null;

/**
 * MATH.md 5.3 for proximal fixed points: T_y = a J (I - K), with
 *   - J symmetric, 0 <= J <= I at every element of the conservative set (J = I when there is
 *     no prox: a damped gradient step (y - s (X'(X y - t) + mu y)) / (1 + s mu)): a diagonal whose
 *     entries lie in [0, 1] (the kink factors of soft thresholding, relu, clip, proj_box, a
 *     smooth factor such as sigmoid' bounded by 1), or a projection's Jacobian onto a convex set
 *     (symmetric, spectrum in [0, 1], and so is the hull of such);
 *   - a a product of scalars in [0, a_max];
 *   - K with a positive semidefinite symmetric part by construction (s (X'X + mu I), s > 0).
 * Claim: B = I - a J (I - K) is invertible at every element if K's symmetric part is positive
 * definite and a_max <= 1, or if it is semidefinite and a_max < 1.
 * Proof: let B v = 0, so v = a J (I - K) v = J' (I - K) v with J' = a J, symmetric, 0 <= J' <=
 * a_max I. Then v lies in the range of J', and with J'^+ its pseudo-inverse there (J'^+ >=
 * I / a_max on that range), v' J'^+ v = v' (I - K) v, so v'Kv = |v|^2 - v' J'^+ v <= (1 - 1 /
 * a_max) |v|^2. The right side is <= 0 when a_max <= 1 and < 0 for v != 0 when a_max < 1; the
 * left is > 0 for v != 0 when K is positive definite and >= 0 when semidefinite: in both cases
 * v = 0. This is the strongly monotone case of the prox-gradient map: the elastic net with
 * `require mu > 0`, a box QP whose Q is A'A + mu I.
 * Returns the reason, or null when T_y is not of this form.
 */
export function monotoneProx(Ty: LinOp, g: Graph, bounds: Bounds, show: (op: LinOp) => string): string | null {
  let aMax = 1;
  let aStrict = false;
  // J: any number of diagonal factors in [0, 1] (a product of diagonals in [0, 1] is one:
  // `max(min(u, 1), -1)`), or one projection's Jacobian, never both (D P is not symmetric).
  let sawDiag = false;
  let sawBlock = false;
  let o = Ty;
  for (;;) {
    if (o.kind === 'scale') {
      if (o.inverse) {
        // 1 / f with f >= 1 (at least one) lies in (0, 1].
        const up = upperBoundOfReciprocal(o.factor, g, bounds);
        if (up === null) return null;
        aMax *= up.v;
        aStrict ||= up.strict;
      } else {
        if (!nonnegative(g, o.factor, bounds)) return null;
        const hi = upperBound(g, o.factor, bounds);
        // An inexact end is no sound bound without a margin.
        if (!Number.isFinite(hi.v) || !(hi.exact || hi.v < 1 - 1e-12)) return null;
        aMax *= hi.v;
        aStrict ||= hi.open || hi.v < 1;
      }
      o = o.of;
    } else if (o.kind === 'diag' && !sawBlock) {
      if (!nonnegative(g, o.factor, bounds)) return null;
      const hi = upperBound(g, o.factor, bounds);
      if (!(hi.v <= 1 && (hi.exact || hi.v < 1 - 1e-12))) return null;
      sawDiag = true;
      o = o.of;
    } else if (o.kind === 'block' && !sawDiag && !sawBlock && factsOf(o.primitive).projection !== undefined) {
      sawBlock = true;
      o = o.of;
    } else break;
  }
  // No prox at all is J = I, which satisfies 0 <= J <= I: a damped gradient step.
  // o = I - K, read from its terms with the products distributed over the sums, so that the
  // spelling does not matter (`b - s (X'(X b - t) + mu b)`, `b + s (X'(t - X b) - mu b)`):
  // one identity with sign +, every other term subtracted.
  const terms = expand(o);
  const identity = terms.filter((t) => t.op.kind === 'identity' && t.sign === 1);
  const rest = terms.filter((t) => !(t.op.kind === 'identity' && t.sign === 1));
  if (identity.length !== 1 || rest.length === 0 || rest.some((t) => t.sign !== -1)) return null;
  const K: LinOp = rest.length === 1 ? rest[0].op : { kind: 'sum', terms: rest.map((t) => ({ sign: 1, op: t.op })) };
  const definite = definiteness(K, g, bounds);
  // A product of doubles <= 1 rounds to <= 1, so aMax <= 1 is sound; a < 1 at every
  // instance needs one factor below 1 there (aStrict).
  const ok = aMax <= 1 && (definite === 'pd' || (definite === 'psd' && aStrict));
  if (!ok) return null;
  return `T_y = a J (I - K) with J symmetric, 0 <= J <= I (the prox's Jacobian), a in [0, ${aMax}] and K = ${show(K)} positive ${definite === 'pd' ? 'definite' : 'semidefinite'} by construction: every B = I - T_y is invertible (the strongly monotone prox-gradient map)`;
}

/**
 * The signed terms of a linear operator with every product (scaling, diagonal, matrix product)
 * distributed over the sums below it: M (A - B) is M A - M B. Each term is a chain of factors
 * ending in the identity (or an operator the reader left opaque).
 */
function expand(op: LinOp, sign: 1 | -1 = 1): { sign: 1 | -1; op: LinOp }[] {
  switch (op.kind) {
    case 'sum':
      return op.terms.flatMap((t) => expand(t.op, (sign * t.sign) as 1 | -1));
    case 'scale':
    case 'diag':
    case 'matmul':
    case 'rmatmul':
    case 'block':
      return expand(op.of, sign).map((t) => ({ sign: t.sign, op: { ...op, of: t.op } }));
    default:
      return [{ sign, op }];
  }
}

/**
 * T_y of an equation whose B reads I - T (`solve y - P(u(y)) = 0`, the fixpoint written as an
 * equation): T, else null.
 */
export function mapOfEquation(B: LinOp): LinOp | null {
  if (B.kind !== 'sum' || B.terms.length !== 2) return null;
  const id = B.terms.find((t) => t.op.kind === 'identity' && t.sign === 1);
  const other = B.terms.find((t) => t !== id);
  return id && other && other.sign === -1 ? other.op : null;
}

/** An upper bound on 1 / f over the set, when f >= 1: (0, 1], strict when f > 1 throughout. */
function upperBoundOfReciprocal(f: NodeId, g: Graph, bounds: Bounds): { v: number; strict: boolean } | null {
  const n = g.node(f);
  // 1 + x with x >= 0: the damped prox of the elastic net, 1 / (1 + s lambda2).
  if (n.op !== 'input' && n.op !== 'const' && factsOf(n.op).linearForm === 'sum') {
    for (const [one, x] of [n.args, [...n.args].reverse()]) {
      const c = g.node(one);
      if (c.op === 'const' && (c as { value: number }).value === 1 && nonnegative(g, x, bounds)) return { v: 1, strict: strictlyPositive(g, x, bounds) };
    }
  }
  return null;
}

/**
 * Definiteness of a LinOp's symmetric part by construction: the identity (pd), nonnegative
 * diagonals (psd; pd when every entry is > 0), Gram terms M' D M with D >= 0 (psd), nonnegative
 * scalings and sums of these (pd when one term is pd and the rest psd).
 */
function definiteness(op: LinOp, g: Graph, bounds: Bounds): Definiteness {
  switch (op.kind) {
    case 'identity':
      return 'pd';
    case 'scale': {
      if (op.inverse) return strictlyPositive(g, op.factor, bounds) ? definiteness(op.of, g, bounds) : null;
      if (strictlyPositive(g, op.factor, bounds)) return definiteness(op.of, g, bounds);
      return nonnegative(g, op.factor, bounds) && definiteness(op.of, g, bounds) ? 'psd' : null;
    }
    case 'diag': {
      if (op.of.kind !== 'identity') return null;
      if (strictlyPositive(g, op.factor, bounds)) return 'pd';
      return nonnegative(g, op.factor, bounds) ? 'psd' : null;
    }
    case 'sum': {
      if (op.terms.some((t) => t.sign !== 1)) return gram(op, g, bounds) ? 'psd' : null;
      const parts = op.terms.map((t) => definiteness(t.op, g, bounds));
      if (parts.some((p) => p === null)) return null;
      return parts.includes('pd') ? 'pd' : 'psd';
    }
    case 'matmul':
      return gram(op, g, bounds) ? 'psd' : null;
    default:
      return null;
  }
}

/** M' D M applied to the seed (D >= 0 diagonal factors and nonnegative scalings between). */
function gram(op: LinOp, g: Graph, bounds: Bounds): boolean {
  if (op.kind !== 'matmul') return false;
  // A fixed product X' * X formed as one matrix (`(X' * X) * y`, `let G = X' * X`).
  const formed = g.node(unscaled(op.matrix, g, bounds));
  if (op.of.kind === 'identity' && formed.op !== 'input' && formed.op !== 'const' && factsOf(formed.op).linearForm === 'matrix product') {
    const [l, r] = formed.args.map((a) => unscaled(a, g, bounds));
    const t = g.node(l);
    if (t.op !== 'input' && t.op !== 'const' && factsOf(t.op).transpose && t.args[0] === r) return true;
  }
  const left = g.node(unscaled(op.matrix, g, bounds));
  if (left.op === 'input' || left.op === 'const' || !factsOf(left.op).transpose) return false;
  const m = left.args[0];
  let o = op.of;
  while ((o.kind === 'diag' || (o.kind === 'scale' && !o.inverse)) && nonnegative(g, o.factor, bounds)) o = o.of;
  return o.kind === 'matmul' && unscaled(o.matrix, g, bounds) === m && o.of.kind === 'identity';
}

/** A matrix node with its nonnegative scalar factors taken off (`s * X'` is X' scaled by s >= 0). */
function unscaled(matrix: NodeId, g: Graph, bounds: Bounds): NodeId {
  let id = matrix;
  for (;;) {
    const n = g.node(id);
    if (n.op === 'input' || n.op === 'const' || factsOf(n.op).linearForm !== 'product') return id;
    const [a, b] = n.args;
    const scalarA = g.shape(a).length === 0;
    const scalarB = g.shape(b).length === 0;
    if (scalarA && !scalarB && nonnegative(g, a, bounds)) id = b;
    else if (scalarB && !scalarA && nonnegative(g, b, bounds)) id = a;
    else return id;
  }
}
