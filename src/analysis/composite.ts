/**
 * Recognition of the separable composite quadratic form by algebra, not by tree
 * (src/structure/types.ts CompositeForm; issue 12). A fixpoint (or an equation y - T = 0,
 * or a damped map a y + s P(u), which have the same fixed points)
 *
 *     y = P(u(y); theta) / kappa
 *
 * whose outer function P is a row-wise prox (the registry's `prox` fact: soft thresholding,
 * a projection onto a box or a half-line, compositions of them) and whose argument u is
 * affine in y, u = M y + c, is proximal gradient on min 1/2 y'Hy - c'y + g(y) with
 * H = kappa I - M, whatever the spelling: `y - s X'(X y - b)`, `y - s (X'X y - X'b)`,
 * `y + s X'(b - X y)`, through lets, the step on either side or as a divisor. M is read from
 * the tangent of u (the same LinOp the certificate reads) and expanded into monomials:
 * signed products of scalar nodes, fixed diagonal vectors and fixed matrices (products of
 * fixed matrices such as a `let G = X' * X` are expanded into their factors, so `G` need
 * never be formed). The monomials of H are then sorted into the shapes a coordinate-descent
 * solver evaluates cheaply: the identity, diagonals, Gram products Z'Z and dense square
 * matrices. Anything else (a weighted Gram X'DX, a kink inside u, an outer scale on a
 * projection) is not this form: the generic solvers handle the model.
 *
 * Fixed points of the map are exactly the stationary points of the problem for any
 * kappa > 0 and any step folded into M, so the runtime may solve the problem by any method
 * and judge the point by the model's own F.
 */
import { jvp } from '../ir/ad.ts';
import type { Graph } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { factsOf } from '../primitives/registry.ts';
import type { NodeId, ProxFact } from '../primitives/types.ts';
import type { Coefficient, CompositeForm } from '../structure/types.ts';
import { toLinOp, type LinOp } from './linop.ts';

/** One factor of a monomial, applied right to left to the unknown. */
export type Factor = { kind: 'matrix'; node: NodeId; transposed: boolean } | { kind: 'diag'; node: NodeId };

/** sign * prod(scalars) * factors[0] * factors[1] * ... (applied to y on the right). */
export interface Monomial {
  sign: 1 | -1;
  scalars: { node: NodeId; inverse: boolean }[];
  factors: Factor[];
}

/** More monomials than this is not a form worth recognizing (and bounds the expansion). */
const MAX_MONOMIALS = 32;

export class TooLarge extends Error {}

function product(left: Monomial[], right: Monomial[]): Monomial[] {
  if (left.length * right.length > MAX_MONOMIALS) throw new TooLarge();
  return left.flatMap((a) =>
    right.map((b) => ({ sign: (a.sign * b.sign) as 1 | -1, scalars: [...a.scalars, ...b.scalars], factors: [...a.factors, ...b.factors] })),
  );
}

function negate(ms: Monomial[]): Monomial[] {
  return ms.map((m) => ({ ...m, sign: (-m.sign) as 1 | -1 }));
}

const ONE: Monomial[] = [{ sign: 1, scalars: [], factors: [] }];

/**
 * A fixed matrix-valued node as monomials: through products with scalars, quotients by
 * scalars, transposes, sums, negations and products of fixed matrices; any other matrix is
 * one factor.
 */
export function expandMatrix(g: Graph, id: NodeId): Monomial[] {
  const n = g.node(id);
  const shape = g.shape(id);
  const leaf: Monomial[] = [{ sign: 1, scalars: [], factors: [{ kind: 'matrix', node: id, transposed: false }] }];
  if (n.op === 'input' || n.op === 'const' || shape.length !== 2) return leaf;
  const facts = factsOf(n.op);
  const [a, b] = n.args;
  if (facts.transpose) {
    return expandMatrix(g, a).map((m) => ({
      ...m,
      factors: [...m.factors].reverse().map((f) => (f.kind === 'matrix' ? { ...f, transposed: !f.transposed } : f)),
    }));
  }
  switch (facts.linearForm) {
    case 'matrix product':
      return product(expandMatrix(g, a), expandMatrix(g, b));
    case 'product': {
      const scalarArg = g.shape(a).length === 0 ? a : g.shape(b).length === 0 ? b : null;
      if (scalarArg === null) return leaf;
      const other = scalarArg === a ? b : a;
      return product([{ sign: 1, scalars: [{ node: scalarArg, inverse: false }], factors: [] }], expandMatrix(g, other));
    }
    case 'quotient':
      if (g.shape(b).length !== 0) return leaf;
      return product(expandMatrix(g, a), [{ sign: 1, scalars: [{ node: b, inverse: true }], factors: [] }]);
    case 'sum':
    case 'difference': {
      if (g.shape(a).length !== 2 || g.shape(b).length !== 2) return leaf;
      const terms = [...expandMatrix(g, a), ...(facts.linearForm === 'sum' ? expandMatrix(g, b) : negate(expandMatrix(g, b)))];
      if (terms.length > MAX_MONOMIALS) throw new TooLarge();
      return terms;
    }
    case 'negation':
      return negate(expandMatrix(g, a));
    default:
      return leaf;
  }
}

/** A LinOp that is affine-free (no kinks, no opaque parts, every factor fixed) as monomials; null otherwise. */
function expandLinOp(g: Graph, op: LinOp): Monomial[] | null {
  const fixed = (id: NodeId) => g.node(id).dep !== 'unknown';
  const walk = (o: LinOp): Monomial[] | null => {
    switch (o.kind) {
      case 'identity':
        return ONE;
      case 'scale': {
        if (!fixed(o.factor)) return null;
        const of = walk(o.of);
        return of && product([{ sign: 1, scalars: [{ node: o.factor, inverse: o.inverse }], factors: [] }], of);
      }
      case 'diag': {
        if (o.kinks.length !== 0 || !fixed(o.factor) || g.shape(o.factor).length > 1) return null;
        const of = walk(o.of);
        if (!of) return null;
        const d: Monomial[] =
          g.shape(o.factor).length === 0
            ? [{ sign: 1, scalars: [{ node: o.factor, inverse: false }], factors: [] }]
            : [{ sign: 1, scalars: [], factors: [{ kind: 'diag', node: o.factor }] }];
        return product(d, of);
      }
      case 'matmul': {
        if (!fixed(o.matrix) || g.shape(o.matrix).length !== 2) return null;
        const of = walk(o.of);
        return of && product(expandMatrix(g, o.matrix), of);
      }
      case 'sum': {
        const out: Monomial[] = [];
        for (const t of o.terms) {
          const ms = walk(t.op);
          if (!ms) return null;
          out.push(...(t.sign === 1 ? ms : negate(ms)));
          if (out.length > MAX_MONOMIALS) throw new TooLarge();
        }
        return out;
      }
      default:
        return null;
    }
  };
  try {
    return walk(op);
  } catch (e) {
    if (e instanceof TooLarge) return null;
    throw e;
  }
}

/** The outer prox of a map: its node, the prox fact, the outer scale's coefficient terms (kappa^-1). */
interface OuterProx {
  node: NodeId;
  fact: ProxFact;
  argument: NodeId;
  /** y = P(u) * prod(scales): each scalar node or its inverse. */
  scales: { node: NodeId; inverse: boolean }[];
  lower: NodeId[];
  upper: NodeId[];
}

/**
 * Peels fixed scalar scalings off the map, then a chain of row-wise proxes: soft
 * thresholding alone, or projections onto boxes and half-lines composed (their bounds
 * collected: the composition of clips is the clip to the intersection when it is not empty,
 * which the runtime checks).
 */
function outerProx(g: Graph, map: NodeId): OuterProx | null {
  const fixed = (id: NodeId) => g.node(id).dep !== 'unknown';
  const scalar = (id: NodeId) => g.shape(id).length === 0;
  const scales: { node: NodeId; inverse: boolean }[] = [];
  let at = map;
  for (;;) {
    const n = g.node(at);
    if (n.op === 'input' || n.op === 'const') return null;
    const form = factsOf(n.op).linearForm;
    const [a, b] = n.args;
    if (form === 'product' && fixed(a) && scalar(a) && !fixed(b)) {
      scales.push({ node: a, inverse: false });
      at = b;
    } else if (form === 'product' && fixed(b) && scalar(b) && !fixed(a)) {
      scales.push({ node: b, inverse: false });
      at = a;
    } else if (form === 'quotient' && fixed(b) && scalar(b) && !fixed(a)) {
      scales.push({ node: b, inverse: true });
      at = a;
    } else break;
  }
  const lower: NodeId[] = [];
  const upper: NodeId[] = [];
  let first: { node: NodeId; fact: ProxFact } | null = null;
  for (;;) {
    const n = g.node(at);
    if (n.op === 'input' || n.op === 'const') break;
    const fact = factsOf(n.op).prox;
    if (!fact) break;
    if (fact.penalty === 'l1') {
      // Soft thresholding composes with nothing else here (its prox is not a clip).
      if (first !== null) break;
      const t = n.args[fact.threshold];
      if (!fixed(t)) return null;
      first = { node: at, fact };
      at = n.args[0];
      break;
    }
    // A box: the argument is the one moving argument; bounds are fixed.
    let argument: NodeId;
    if ('either' in fact) {
      const [a, b] = n.args;
      if (fixed(a) === fixed(b)) break;
      argument = fixed(a) ? b : a;
      (fact.either === 'lower' ? lower : upper).push(fixed(a) ? a : b);
    } else {
      argument = n.args[0];
      const bounds = [fact.lower, fact.upper];
      if (bounds.some((i) => typeof i === 'number' && !fixed(n.args[i]))) return null;
      if (typeof fact.lower === 'number') lower.push(n.args[fact.lower]);
      if (fact.lower === 'zero') lower.push(g.constant(0));
      if (typeof fact.upper === 'number') upper.push(n.args[fact.upper]);
    }
    if (first === null) first = { node: at, fact };
    at = argument;
  }
  if (first === null) return null;
  return { node: first.node, fact: first.fact, argument: at, scales, lower, upper };
}

/** The monomials' coefficient as a Coefficient: sum of sign * prod(scalars). */
function coefficient(ms: readonly Monomial[], sign: 1 | -1 = 1): Coefficient {
  return { terms: ms.map((m) => ({ sign: (m.sign * sign) as 1 | -1, factors: m.scalars })) };
}

/**
 * The map T of the model's one block: its fixpoint's, or T in an equation F = y - T = 0 (or
 * T - y = 0: the same zeros), which states the same fixed points.
 */
function mapOf(model: IrModel): NodeId | null {
  const block = model.residual[0];
  if (block.fixpoint) return block.fixpoint.map;
  const g = model.graph;
  const n = g.node(block.node);
  if (n.op === 'input' || n.op === 'const' || factsOf(n.op).linearForm !== 'difference') return null;
  const [a, b] = n.args;
  const y = model.unknowns[0].node;
  return a === y ? b : b === y ? a : null;
}

/**
 * T as a y + sign R, with a a sum of fixed scalar multiples of the unknown (a damped map,
 * `0.5 * y + 0.5 * P(u)`; none for a plain one) and R the one other term, or null.
 */
function splitDamping(g: Graph, map: NodeId, unknown: NodeId): { terms: Coefficient['terms'][number][]; rest: NodeId; sign: 1 | -1 } | null {
  const fixed = (id: NodeId) => g.node(id).dep !== 'unknown';
  const scalar = (id: NodeId) => g.shape(id).length === 0;
  const terms: { sign: 1 | -1; factors: { node: NodeId; inverse: boolean }[] }[] = [];
  const rest: { node: NodeId; sign: 1 | -1 }[] = [];
  const visit = (id: NodeId, sign: 1 | -1, depth: number): void => {
    const n = g.node(id);
    if (id === unknown) {
      terms.push({ sign, factors: [] });
      return;
    }
    const form = n.op === 'input' || n.op === 'const' ? undefined : factsOf(n.op).linearForm;
    const [a, b] = n.args;
    if (depth < 4 && (form === 'sum' || form === 'difference')) {
      visit(a, sign, depth + 1);
      visit(b, form === 'sum' ? sign : ((-sign) as 1 | -1), depth + 1);
    } else if (depth < 4 && form === 'negation') visit(a, (-sign) as 1 | -1, depth + 1);
    else if (form === 'product' && ((a === unknown && fixed(b) && scalar(b)) || (b === unknown && fixed(a) && scalar(a)))) {
      terms.push({ sign, factors: [{ node: a === unknown ? b : a, inverse: false }] });
    } else if (form === 'quotient' && a === unknown && fixed(b) && scalar(b)) terms.push({ sign, factors: [{ node: b, inverse: true }] });
    else rest.push({ node: id, sign });
  };
  visit(map, 1, 0);
  return rest.length === 1 ? { terms, rest: rest[0].node, sign: rest[0].sign } : null;
}

/**
 * The composite form of the model's single fixpoint, or null. `model` must have one unknown
 * with a fixpoint; the analysis calls this for every model and takes null as "not this form".
 */
export function compositeForm(model: IrModel): CompositeForm | null {
  if (model.unknowns.length !== 1 || model.residual.length !== 1) return null;
  const unknown = model.unknowns[0];
  if (unknown.shape.length !== 1) return null;
  const g = model.graph;
  const map = mapOf(model);
  if (map === null) return null;
  const damped = splitDamping(g, map, unknown.node);
  if (!damped) return null;
  const prox = outerProx(g, damped.rest);
  if (!prox) return null;
  const u = prox.argument;
  // u must be affine in y: its tangent a fixed linear map of the seed.
  const seed = g.input(`d${unknown.name}`, 'seed', { kind: 'real', shape: unknown.shape });
  const [tangent] = jvp(g, [u], new Map([[unknown.node, seed]]));
  if (tangent === null) return null;
  const M = expandLinOp(g, toLinOp(g, tangent, new Map([[seed, unknown.name]])));
  if (!M) return null;
  const identity: Monomial[] = [];
  const diagonals: CompositeForm['diagonals'][number][] = [];
  const grams: { coef: Monomial[]; matrix: NodeId; transposed: boolean }[] = [];
  const matrices: { coef: Monomial[]; matrix: NodeId; transposed: boolean }[] = [];
  // H = kappa I - M: every monomial of M enters H negated; kappa = 1 / prod(scales) enters
  // as the identity's coefficient through the runtime (see kappaTerms below).
  for (const m of M) {
    const f = m.factors;
    if (f.length === 0) identity.push(m);
    else if (f.length === 1 && f[0].kind === 'diag') diagonals.push({ coef: coefficient([m], -1), vector: f[0].node });
    else if (f.length === 1 && f[0].kind === 'matrix') {
      const at = matrices.find((x) => x.matrix === (f[0] as { node: NodeId }).node && x.transposed === (f[0] as { transposed: boolean }).transposed);
      if (at) at.coef.push(m);
      else matrices.push({ coef: [m], matrix: f[0].node, transposed: f[0].transposed });
    } else if (f.length === 2 && f[0].kind === 'matrix' && f[1].kind === 'matrix' && f[0].node === f[1].node && f[0].transposed !== f[1].transposed) {
      // Z'Z with Z = f[1]: the matrix itself, or its transpose.
      const transposed = f[1].transposed;
      const at = grams.find((x) => x.matrix === f[1].node && x.transposed === transposed);
      if (at) at.coef.push(m);
      else grams.push({ coef: [m], matrix: f[1].node, transposed });
    } else return null;
  }
  // T = a y + sign s P(u) has the fixed points of y = P(u) / kappa with kappa = (1 - a) / (sign s):
  // a term per damping term, each divided by the prox's scales (none: kappa = 1).
  const inverted = prox.scales.map((s) => ({ node: s.node, inverse: !s.inverse }));
  const kappa: Coefficient = {
    terms: [
      { sign: damped.sign, factors: inverted },
      ...damped.terms.map((t) => ({ sign: (-t.sign * damped.sign) as 1 | -1, factors: [...t.factors, ...inverted] })),
    ],
  };
  // The identity coefficient of H: kappa - (M's identity coefficient).
  const identityCoef: Coefficient = { terms: [...kappa.terms, ...coefficient(identity, -1).terms] };
  const penalty: CompositeForm['penalty'] =
    prox.fact.penalty === 'l1' ? { kind: 'l1', weights: g.node(prox.node).args[prox.fact.threshold] } : { kind: 'box', lower: prox.lower, upper: prox.upper };
  return {
    unknown: unknown.node,
    argument: u,
    scale: kappa,
    identity: identityCoef,
    diagonals,
    grams: grams.map((x) => ({ coef: coefficient(x.coef, -1), matrix: x.matrix, transposed: x.transposed })),
    matrices: matrices.map((x) => ({ coef: coefficient(x.coef, -1), matrix: x.matrix, transposed: x.transposed })),
    penalty,
  };
}
