/**
 * Recognition of a cone program written in the Minty parametrization of its KKT conditions
 * (Busseti, Moursi and Boyd 2019, without the homogenization), by algebra, not by spelling:
 *
 *     min c'x  s.t.  A x + s = b,  s in K         (dual: max -b'y  s.t.  A'y + c = 0,  y in K*)
 *
 * With s = proj_cone(v, K) and y = s - v, Moreau's decomposition gives s in K, y in K* and
 * s'y = 0 for every v, so the KKT conditions are the two affine equations
 *
 *     alpha (A x + s - b) = 0      (primal feasibility, m rows)
 *     beta  (A'y + c)     = 0      (dual feasibility, n rows)
 *
 * in the unknowns x (n) and v (m). A model is this form when it has exactly those two
 * unknowns and two equations, v enters only through s = proj_cone(v, K) and v itself, F is
 * built from x, s and v by linear operations only (so it is affine in them, `affineIn`), and the
 * equations' tangents, read as linear operators (src/analysis/linop.ts) in dx, ds (the
 * projection's Jacobian applied to dv) and dv, expand into fixed matrices with constant
 * coefficients that match the pattern above: one equation reads [alpha A, alpha I, 0] and the
 * other [0, beta A', -beta A'] for the same A (a sum of fixed matrices or their transposes,
 * each with a constant coefficient: a scalar of literals alone, `-3` or `1 / 4`, by its value;
 * a term times 0 vanishes). Signs, scales, sides of `=`, lets, the order of the
 * equations and unknowns, `A * x + s = b` or `b - A * x - s = 0`, `A' * (s - v)` or
 * `A' * s - A' * v`: all read the same. b and c are the equations' constant parts, which the
 * runtime evaluates as F(0) (proj_cone(0) = 0): b = -F_primal(0) / alpha, c = F_dual(0) / beta.
 *
 * Every solution of the model is a KKT point of the program and conversely, so the runtime may
 * solve the program by any method (src/runtime/cone-program.ts: Douglas-Rachford with the
 * factorization of rho I + A'A kept across iterations and instances) and judge the point by the
 * model's own F; the certificate reads the cone's ties at v.
 */
import { jvp } from '../ir/ad.ts';
import { evaluate, type Graph } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { factsOf } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { ConeForm } from '../structure/types.ts';
import { expandMatrix, TooLarge, type Monomial } from './composite.ts';
import { toLinOp, type LinOp } from './linop.ts';

/** One term of an equation's tangent: coef * M_1 ... M_k applied to dx, ds or dv. */
interface Term {
  coef: number;
  matrices: { node: NodeId; transposed: boolean }[];
  on: 'x' | 's' | 'v';
}

const MAX_TERMS = 64;

/** Whether a node reads an input (a declared input, a dim or a tangent seed), however deep. */
function readsInput(g: Graph, id: NodeId, seen = new Set<NodeId>()): boolean {
  if (seen.has(id)) return false;
  seen.add(id);
  const n = g.node(id);
  return n.op === 'input' || n.args.some((a) => readsInput(g, a, seen));
}

/**
 * The value of a scalar computed from literals alone, or null. The surface writes `-3 * u` as
 * neg(3) times u and `(1 / 2) * u` as a quotient of literals: a coefficient is its value, not
 * its spelling, so any literal-only scalar is evaluated (the reference interpreter, the
 * registry's value rules); a non-finite value is no coefficient.
 */
function constantValue(g: Graph, id: NodeId): number | null {
  const n = g.node(id);
  if (n.op === 'const' && 'value' in n) return n.value;
  if (n.dep !== 'const' || g.shape(id).length !== 0 || readsInput(g, id)) return null;
  const v = evaluate(g, [id], { dims: {}, inputs: {} })[0].data[0];
  return Number.isFinite(v) ? v : null;
}

/** Monomials (of a fixed matrix) with constant scalars only, as coefficient and matrices; null otherwise. */
function constantMonomials(g: Graph, ms: readonly Monomial[]): { coef: number; matrices: { node: NodeId; transposed: boolean }[] }[] | null {
  const out: { coef: number; matrices: { node: NodeId; transposed: boolean }[] }[] = [];
  for (const m of ms) {
    let coef: number = m.sign;
    for (const s of m.scalars) {
      const v = constantValue(g, s.node);
      if (v === null || (v === 0 && s.inverse)) return null;
      coef *= s.inverse ? 1 / v : v;
    }
    if (m.factors.some((f) => f.kind !== 'matrix')) return null;
    // A monomial times 0 is no term (`0 * A`); a division by 0 above is no form at all.
    if (coef === 0) continue;
    out.push({ coef, matrices: m.factors.map((f) => ({ node: f.node, transposed: (f as { transposed: boolean }).transposed })) });
  }
  return out;
}

/**
 * The tangent operator as terms, with the projection's Jacobian (a `block` of proj_cone
 * applied to dv itself) read as the variable ds; null when some part is not of that kind.
 */
function terms(g: Graph, op: LinOp, projection: NodeId): Term[] | null {
  const fixed = (id: NodeId) => g.node(id).dep !== 'unknown';
  const walk = (o: LinOp): Term[] | null => {
    switch (o.kind) {
      case 'identity':
        return [{ coef: 1, matrices: [], on: o.variable as 'x' | 'v' }];
      case 'block': {
        // The projection's JVP at v applied to dv: ds.
        const n = g.node(o.node);
        if (n.args[0] !== g.node(projection).args[0] || n.args[1] !== g.node(projection).args[1]) return null;
        if (o.of.kind !== 'identity' || o.of.variable !== 'v') return null;
        if (o.primitive !== g.node(projection).op) return null;
        return [{ coef: 1, matrices: [], on: 's' }];
      }
      case 'scale': {
        const v = constantValue(g, o.factor);
        if (v === null || (v === 0 && o.inverse)) return null;
        // `0 * x` is the zero operator: no terms.
        if (v === 0) return [];
        const of = walk(o.of);
        return of && of.map((t) => ({ ...t, coef: t.coef * (o.inverse ? 1 / v : v) }));
      }
      case 'matmul': {
        if (!fixed(o.matrix) || g.shape(o.matrix).length !== 2) return null;
        const left = constantMonomials(g, expandMatrix(g, o.matrix));
        const of = walk(o.of);
        if (!left || !of || left.length * of.length > MAX_TERMS) return null;
        return left.flatMap((l) => of.map((t) => ({ coef: l.coef * t.coef, matrices: [...l.matrices, ...t.matrices], on: t.on })));
      }
      case 'sum': {
        const out: Term[] = [];
        for (const t of o.terms) {
          const ts = walk(t.op);
          if (!ts) return null;
          out.push(...ts.map((x) => ({ ...x, coef: x.coef * t.sign })));
          if (out.length > MAX_TERMS) return null;
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

/** Terms on one variable, like terms merged (a matrix and its transpose are different terms), zeros dropped. */
function collect(ts: readonly Term[], on: Term['on']): Term[] {
  const out: Term[] = [];
  for (const t of ts) {
    if (t.on !== on) continue;
    const key = JSON.stringify(t.matrices);
    const at = out.find((x) => JSON.stringify(x.matrices) === key);
    if (at) at.coef += t.coef;
    else out.push({ ...t, matrices: [...t.matrices] });
  }
  return out.filter((t) => t.coef !== 0);
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));

/** The primal equation: [alpha A, alpha I, 0]; A's terms (each one fixed matrix, scaled to alpha = 1) and alpha, or null. */
function primalPattern(ts: readonly Term[]): { alpha: number; A: ConeForm['matrices'] } | null {
  const x = collect(ts, 'x');
  const s = collect(ts, 's');
  if (collect(ts, 'v').length !== 0 || s.length !== 1 || s[0].matrices.length !== 0 || x.length === 0) return null;
  const alpha = s[0].coef;
  if (x.some((t) => t.matrices.length !== 1)) return null;
  return { alpha, A: x.map((t) => ({ coef: t.coef / alpha, matrix: t.matrices[0].node, transposed: t.matrices[0].transposed })) };
}

/** The dual equation for this A: [0, beta A', -beta A']; beta, or null. */
function dualPattern(ts: readonly Term[], A: ConeForm['matrices']): number | null {
  if (collect(ts, 'x').length !== 0) return null;
  const s = collect(ts, 's');
  const v = collect(ts, 'v');
  if (s.length !== A.length || v.length !== A.length || s.some((t) => t.matrices.length !== 1)) return null;
  const first = A[0];
  const match = s.find((t) => t.matrices[0].node === first.matrix && t.matrices[0].transposed !== first.transposed);
  if (!match) return null;
  const beta = match.coef / first.coef;
  for (const a of A) {
    const want = (t: Term) => t.matrices.length === 1 && t.matrices[0].node === a.matrix && t.matrices[0].transposed !== a.transposed;
    const ts_ = s.find(want);
    const tv = v.find(want);
    if (!ts_ || !tv || !close(ts_.coef, beta * a.coef) || !close(tv.coef, -beta * a.coef)) return null;
  }
  return beta;
}

/**
 * Whether F is affine in (x, s, v) by construction: from each residual down to the unknowns,
 * every node that moves with them is x, v, the projection (s), or linear in its moving
 * arguments (the registry's `linear`; a `bilinear` product or a quotient moving in one
 * argument only, the numerator). The tangents' pattern alone does not say so: a term whose
 * tangent is 0 where it exists (`if x > 0 then 1 else 0`, constant branches) adds nothing to
 * the pattern yet moves F, and the runtime reads b and c as F(0).
 */
function affineIn(g: Graph, roots: readonly NodeId[], leaves: ReadonlySet<NodeId>): boolean {
  const seen = new Set<NodeId>();
  const moves = (id: NodeId) => g.node(id).dep === 'unknown';
  const visit = (id: NodeId): boolean => {
    if (leaves.has(id) || !moves(id) || seen.has(id)) return true;
    seen.add(id);
    const n = g.node(id);
    if (n.op === 'input' || n.op === 'const') return false;
    const f = factsOf(n.op);
    const moving = n.args.filter(moves);
    const linear = f.linear === true || (f.bilinear === true && moving.length === 1) || (f.linearForm === 'quotient' && moving.length === 1 && moving[0] === n.args[0]);
    return linear && moving.every(visit);
  };
  return roots.every(visit);
}

/** The cone-program form of the model, or null (see the file's comment). */
export function coneForm(model: IrModel): ConeForm | null {
  if (model.cones.length === 0 || model.unknowns.length !== 2 || model.residual.length !== 2) return null;
  if (model.unknowns.some((u) => u.shape.length !== 1)) return null;
  const g = model.graph;
  // The projection: one proj_cone node whose argument is an unknown itself, over a declared cone.
  const codes = new Set(model.cones.map((k) => k.node));
  const projections: NodeId[] = [];
  for (let id = 0; id < model.primalCount; id++) {
    const n = g.node(id);
    if (n.op === 'input' || n.op === 'const') continue;
    const kind = factsOf(n.op).projection;
    if (kind !== 'cone' && kind !== 'dual_cone') continue;
    projections.push(id);
  }
  if (projections.length !== 1) return null;
  const p = projections[0];
  const pn = g.node(p);
  if (factsOf(pn.op).projection !== 'cone' || !codes.has(pn.args[1])) return null;
  const vIndex = model.unknowns.findIndex((u) => u.node === pn.args[0]);
  if (vIndex < 0) return null;
  const xIndex = 1 - vIndex;
  const x = model.unknowns[xIndex];
  const v = model.unknowns[vIndex];
  if (!affineIn(g, model.residual.map((r) => r.node), new Set([x.node, v.node, p]))) return null;
  const dx = g.input(`d${x.name}`, 'seed', { kind: 'real', shape: x.shape });
  const dv = g.input(`d${v.name}`, 'seed', { kind: 'real', shape: v.shape });
  const seeds = new Map([[x.node, dx], [v.node, dv]]);
  const blocks = model.residual.map((r) => {
    const [tangent] = jvp(g, [r.node], seeds);
    return tangent === null ? null : terms(g, toLinOp(g, tangent, new Map([[dx, 'x'], [dv, 'v']])), p);
  });
  if (blocks.some((b) => b === null)) return null;
  for (const primal of [0, 1]) {
    const dual = 1 - primal;
    const pp = primalPattern(blocks[primal]!);
    if (!pp) continue;
    const beta = dualPattern(blocks[dual]!, pp.A);
    if (beta === null) continue;
    const cone = model.cones.find((k) => k.node === pn.args[1])!;
    return {
      x: xIndex,
      v: vIndex,
      cone: cone.node,
      coneName: cone.name,
      primitive: pn.op,
      at: pn.span ? `${pn.span.start.line}:${pn.span.start.column}` : '?',
      matrices: pp.A,
      primal: { block: primal, scale: pp.alpha },
      dual: { block: dual, scale: beta },
    };
  }
  return null;
}
