import { dependsOn, jvp } from '../ir/ad.ts';
import type { Graph } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { isScalar, sameShape } from '../ir/shape.ts';
import { ANY, invInterval, mulInterval } from '../primitives/interval.ts';
import { factsOf, primitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Bounds, Interval } from './bounds.ts';
import { quadraticSign } from './continuity.ts';
import { mapOfEquation, monotoneProx } from './monotone-prox.ts';
import { strictlyNonzero, strictText } from './strict-interval.ts';
import { findCounterexample, type Counterexample } from './counterexample.ts';
import { kinkFactorsOf, kinkFree, showLinOp, toLinOp, type LinOp, type Namer } from './linop.ts';
import { boundSup, boundValue, guardDependency, normBound, showBound, type NormBound } from './norm-bound.ts';

export type Verdict = 'certified' | 'guarded' | 'runtime' | 'unverified' | 'violated';
export type CertificationTest =
  | 'scalar interval'
  | 'contraction'
  | 'monotone'
  | 'row-wise vertex test'
  | 'counterexample'
  | 'block-triangular'
  | 'interval determinant'
  | 'small gain'
  | 'selected B'
  | 'cone complementarity'
  | 'none';

export interface Certificate {
  verdict: Verdict;
  test: CertificationTest;
  /** With `guarded`: the condition the generated code checks on the actual values. */
  guard: string | null;
  guardBound: NormBound | null;
  /** Whether the exact row-wise test applies at run time (when a guard fails, say). */
  rowwise: boolean;
  reason: string;
  counterexample: Counterexample | null;
}

/** The structured Jacobians of one model: B = dF/dy per residual block, T_y for fixpoints. */
export interface Jacobians {
  seeds: Map<NodeId, string>;
  /** Tangent of each residual block along the unknowns' seeds. */
  bTangents: (NodeId | null)[];
  B: LinOp[];
  /** For a single fixpoint: T_y (so that B = I - T_y). */
  Ty: LinOp | null;
  /**
   * Per residual block that is a fixpoint `y_i = T_i(y)`: the tangent of T_i along all the
   * unknowns' seeds (so that block row i of B is I_i - T_i,y); null for a `solve` block.
   */
  TyBlocks: (LinOp | null)[];
  /** A = dF/dparams per block, seeded by each param. */
  A: LinOp[];
  paramSeeds: Map<NodeId, string>;
}

export function jacobians(model: IrModel): Jacobians {
  const g = model.graph;
  const seeds = new Map<NodeId, string>();
  const seedOf = new Map<NodeId, NodeId>();
  for (const u of model.unknowns) {
    const s = g.input(`d${u.name}`, 'seed', { kind: 'real', shape: u.shape });
    seeds.set(s, u.name);
    seedOf.set(u.node, s);
  }
  const residual = model.residual.map((r) => r.node);
  const bTangents = jvp(g, residual, seedOf);
  // An equation that reads no unknown stays opaque in B (its verdict is the general tests'), and prints as `[d F_i]`.
  const B = bTangents.map((t, i) => (t === null ? ({ kind: 'opaque', node: residual[i] } as LinOp) : toLinOp(g, t, seeds)));
  let Ty: LinOp | null = null;
  if (model.residual.length === 1 && model.residual[0].fixpoint && model.unknowns.length === 1) {
    const [t] = jvp(g, [model.residual[0].fixpoint.map], seedOf);
    Ty = t === null ? null : toLinOp(g, t, seeds);
  }
  let TyBlocks: (LinOp | null)[] = model.residual.map(() => null);
  if (model.unknowns.length > 1 || model.residual.length > 1) {
    const maps = model.residual.flatMap((r) => (r.fixpoint ? [r.fixpoint.map] : []));
    const tangents = maps.length > 0 ? jvp(g, maps, seedOf) : [];
    let k = 0;
    TyBlocks = model.residual.map((r) => {
      if (!r.fixpoint) return null;
      const t = tangents[k++];
      // A map that does not move with the unknowns has T_y = 0.
      return t === null ? { kind: 'sum', terms: [] } : toLinOp(g, t, seeds);
    });
  }
  const paramSeeds = new Map<NodeId, string>();
  const paramSeedOf = new Map<NodeId, NodeId>();
  for (const p of model.params) {
    const s = g.input(`d${p.name}`, 'seed', { kind: 'real', shape: p.shape });
    paramSeeds.set(s, p.name);
    paramSeedOf.set(p.node, s);
  }
  const aTangents = jvp(g, residual, paramSeedOf);
  const A = aTangents.map((t) => (t === null ? zeroOp() : toLinOp(g, t, paramSeeds)));
  return { seeds, bTangents, B, Ty, TyBlocks, A, paramSeeds };
}

/** The zero operator (an equation that does not read the params): printed `0`, read as no term. */
function zeroOp(): LinOp {
  return { kind: 'sum', terms: [] };
}

/**
 * Whether an interval of B (or det B) excludes 0 with a margin: its bounds are computed in
 * floating point, and so are the kernels' B, so an end within a relative 1e-12 of 0 is no
 * proof that B stays away from it (`-0.18 * abs(y) + 1.18 * max(y, 1.58 * y)`: B = 1 - (-0.18
 * + 1.18), 0 in the kernels' arithmetic at that vertex, rounds to 2e-16 here). The
 * random-model check found two such models. A certificate thus says that B is invertible
 * robustly, bounded away from 0 relative to its size: `E - e * sin(E) - M` under `require
 * 0 <= e < 1` has B = 1 - e cos(E) in (0, 2], arbitrarily close to 0 as e nears 1, and is
 * decided per solution at run time; under `0 <= e <= 0.99` it is certified.
 */
function excludesZero([lo, hi]: Interval): boolean {
  const ends = [lo, hi].filter(Number.isFinite).map(Math.abs);
  const margin = 1e-12 * (ends.length ? Math.max(...ends) : 0);
  return lo > margin || hi < -margin;
}

/** MATH.md section 5: the sound tests in order, then a counterexample search. */
export function certify(model: IrModel, jac: Jacobians, bounds: Bounds, namer: Namer): Certificate {
  const g = model.graph;
  const single = model.unknowns.length === 1 && model.residual.length === 1;
  if (!single) return certifyBlocks(model, jac, bounds, namer);
  const scalarUnknown = model.unknowns[0].shape.length === 0;
  const rowwise = isRowwise(jac.B, model);
  const base = { guard: null, guardBound: null, rowwise, counterexample: null };

  // 5.1: a scalar unknown: B ranges over an interval, which must exclude 0.
  let scalarRange: Interval | null = null;
  if (scalarUnknown) {
    const [lo, hi] = (scalarRange = linOpInterval(jac.B[0], bounds, g));
    if (excludesZero([lo, hi])) {
      return { ...base, verdict: 'certified', test: 'scalar interval', reason: `every B lies in ${showInterval(lo, hi)}, which excludes 0` };
    }
    const tangent = jac.bTangents[0];
    if (tangent !== null && strictlyNonzero(g, tangent, bounds)) {
      return { ...base, verdict: 'certified', test: 'scalar interval', reason: `every B lies in ${strictText(g, tangent, bounds)}, which excludes 0 (its ends computed exactly)` };
    }
    const seed = [...jac.seeds.keys()][0];
    const quadratic = tangent !== null && seed !== undefined ? quadraticSign(model, tangent, seed, model.unknowns[0].node) : null;
    if (quadratic) {
      return { ...base, verdict: 'certified', test: 'scalar interval', reason: `B = ${quadratic.text} is a quadratic in ${model.unknowns[0].name} with no real root: it is ${quadratic.sign > 0 ? 'positive' : 'negative'} for every ${model.unknowns[0].name}` };
    }
  }
  // 5.3 for diagonal B: every entry's interval excludes 0 at every vertex (uniformly definite).
  if (single && !scalarUnknown && isDiagonal(jac.B[0])) {
    const [lo, hi] = linOpInterval(jac.B[0], bounds, g);
    if (excludesZero([lo, hi])) {
      return { ...base, verdict: 'certified', test: 'monotone', reason: `B is diagonal with entries in [${fmt(lo)}, ${fmt(hi)}]: definite at every vertex` };
    }
    const tangent = jac.bTangents[0];
    if (tangent !== null && strictlyNonzero(g, tangent, bounds)) {
      return { ...base, verdict: 'certified', test: 'monotone', reason: `B is diagonal with entries in ${strictText(g, tangent, bounds)} (ends computed exactly): definite at every vertex` };
    }
  }
  // 5.3 by construction: B = (diagonal part >= c > 0) + sum of M' D M with D >= 0 diagonal.
  if (single && !scalarUnknown) {
    const pd = positiveDefiniteByConstruction(jac.B[0], g, bounds);
    if (pd !== null) {
      return {
        ...base,
        verdict: 'certified',
        test: 'monotone',
        reason: `B = ${showLinOp(jac.B[0], namer)} is a diagonal part with entries >= ${fmt(pd)} > 0 plus terms M' D M with D diagonal and >= 0: its symmetric part is positive definite at every element of the set, so every B is invertible`,
      };
    }
  }
  // 5.3 for a prox-gradient map: T_y = a J (I - K), K positive (semi)definite by construction
  // (tried after a contraction that certifies, before a guard).
  const monotoneProxCertificate = (): Certificate | null => {
    const Ty = jac.Ty ?? mapOfEquation(jac.B[0]);
    const reason = Ty && !scalarUnknown ? monotoneProx(Ty, g, bounds, (op) => showLinOp(op, namer)) : null;
    return reason ? { ...base, verdict: 'certified', test: 'monotone', reason } : null;
  };
  // 5.2: contraction of the fixed-point map through composed norm bounds.
  let dataBound: NormBound | null = null;
  if (jac.Ty) {
    const bound = normBound(jac.Ty, g, bounds, namer);
    if (bound) {
      const value = boundValue(bound);
      if (value !== null && value < 1) {
        return { ...base, verdict: 'certified', test: 'contraction', reason: `||T_y|| <= ${fmt(value)} < 1 over the whole conservative set` };
      }
      // The `require` clauses are checked on the actual values before any derivative is
      // returned, so their bounds are hypotheses of the theorem: `require opnorm(W) <= 0.9`
      // makes ||D W|| <= 0.9 at every element.
      const stated = boundSup(bound);
      if (value === null && stated < 1) {
        return {
          ...base,
          verdict: 'certified',
          test: 'contraction',
          reason: `||T_y|| <= ${showBound(bound)} <= ${fmt(stated)} < 1 over the whole conservative set, by the bounds the \`require\` clauses state (checked at run time)`,
        };
      }
      const prox = monotoneProxCertificate();
      if (prox) return prox;
      // A bound on run-time values: a guard the generated code checks. One on data only
      // (which users cannot make hold) is left to the exact test where that test applies.
      const dependency = value === null ? guardDependency(bound) : null;
      if (dependency === 'param' || (dependency === 'data' && !rowwise)) {
        const guard = `${showBound(bound)} < 1`;
        return {
          ...base,
          verdict: 'guarded',
          test: 'contraction',
          guard,
          guardBound: bound,
          reason: `T_y = ${showLinOp(jac.Ty, namer)}, and ||T_y|| <= ${showBound(bound)}; the generated code checks \`${guard}\` on the actual values${rowwise ? ', and falls back to the row-wise vertex test when it fails' : ''}`,
        };
      }
      if (dependency === 'data') dataBound = bound;
    }
  }
  const prox = monotoneProxCertificate();
  if (prox) return prox;
  // A reachable singular element refutes the condition (MATH.md 4, the pathologies).
  const counterexample = findCounterexample(model, jac, { searchData: !rowwise });
  if (counterexample) {
    return { ...base, verdict: 'violated', test: 'counterexample', reason: counterexample.why, counterexample };
  }
  // 5.4: each kink factor scales one row of B: det B is multilinear in the factors.
  if (rowwise) {
    return {
      ...base,
      verdict: 'runtime',
      test: 'row-wise vertex test',
      reason: `B = ${showLinOp(jac.B[0], namer)}: each kink factor scales only its own row, so det B is affine in each factor and the exact test checks the sign of det B at the 2^t vertices over the t ties of each solution${dataBound ? `; the data-only bound ${showBound(dataBound)} < 1 also suffices when it holds` : ''}`,
    };
  }
  const smooth = smoothRuntime(model, jac);
  if (smooth) return { ...base, ...smooth };
  return {
    ...base,
    verdict: 'unverified',
    test: 'none',
    reason: scalarRange
      ? `B = ${showLinOp(jac.B[0], namer)} ranges over ${showInterval(...scalarRange)}, which contains 0, and no reachable point with a singular B was found`
      : unverifiedReason(jac, model),
  };
}

/** Whether the tangent reads a node whose primitive jumps (a Jacobian product of a non-diagonal kink, a selected gradient). */
function readsJump(g: IrModel['graph'], root: NodeId): boolean {
  const seen = new Set<NodeId>();
  const stack = [root];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const n = g.node(id);
    if (n.op === 'input' || n.op === 'const') continue;
    if (primitive(n.op).lipschitz === 'discontinuous' && n.dep === 'unknown') return true;
    stack.push(...n.args);
  }
  return false;
}

/**
 * F smooth in the unknowns (no kink factor and no switch in B): at each solution the
 * conservative Jacobian is the one matrix dF/dy (MATH.md 3: the conservative Jacobian of a C^1
 * map is its derivative), so the run-time certificate's factorization of the selected B is an
 * exact test there. When no test decides for every input, that is `runtime`, not `unverified`.
 */
function smoothRuntime(model: IrModel, jac: Jacobians): { verdict: 'runtime'; test: 'selected B'; reason: string } | null {
  const g = model.graph;
  if (jac.bTangents.some((t) => t === null)) return null;
  const memo = new Map<NodeId, NodeId[]>();
  if (jac.bTangents.some((t) => kinkFactorsOf(g, t!, memo).length > 0)) return null;
  // A kink without a diagonal factor (a projection's Jacobian product, a norm's gradient: a
  // primitive whose value jumps) in B is a kink too: F is not smooth there.
  if (jac.bTangents.some((t) => readsJump(g, t!))) return null;
  return {
    verdict: 'runtime',
    test: 'selected B',
    reason: 'F is smooth in the unknowns, so at each solution the conservative Jacobian is the single matrix B = dF/dy, whose factorization the run-time certificate computes (an exact test there); no test decides it for every input',
  };
}

/**
 * Several unknowns or residual blocks (issue 13, Build item 3). B is the block matrix with
 * B_ij = dF_i/dy_j, read from each residual block's LinOp along unknown j's identity. The
 * sound tests, in order, each certifying every element of the conservative set:
 *
 * 1. a system of scalar equations: an enclosure of det B over the set excludes 0;
 * 2. block-triangular: every element has det B = prod det B_ii, each certified alone;
 * 3. small gain between fixpoint blocks;
 * 4. row-wise across blocks: the exact vertex test at run time (`runtime`);
 * then `unverified`.
 */
function certifyBlocks(model: IrModel, jac: Jacobians, bounds: Bounds, namer: Namer): Certificate {
  const g = model.graph;
  const rowwise = isRowwise(jac.B, model);
  const base = { guard: null, guardBound: null, rowwise, counterexample: null };
  const names = model.unknowns.map((u) => u.name);
  const seedOf = new Map<string, NodeId>();
  for (const [node, name] of jac.seeds) seedOf.set(name, node);
  const along = names.map((v) => dependsOn(g, new Set([seedOf.get(v)!])));
  const part = (op: LinOp, j: number): LinOp | null => restrictTo(op, names[j], along[j]);
  const show = (op: LinOp) => showLinOp(op, namer, (v) => `I_${v}`);
  const square = model.residual.length === names.length;

  // 1. Scalar equations.
  if (square && names.length <= MAX_SCALAR_SYSTEM && model.unknowns.every((u) => isScalar(u.shape)) && model.residual.every((r) => isScalar(g.shape(r.node)))) {
    const entries = jac.B.map((b) => names.map((_, j) => part(b, j)));
    const verdict = scalarSystem(entries, g, bounds);
    if (verdict) return { ...base, verdict: 'certified', test: verdict.test, reason: `B = [${entries.map((row) => row.map((e) => (e ? show(e) : '0')).join(', ')).join('; ')}] over (${names.join(', ')}): ${verdict.reason}` };
  }

  // 2. Block-triangular: residual block i_k depends on the unknowns j_1..j_k only.
  const order = square ? triangularOrder(model, jac, along) : null;
  if (order && order.length > 1) {
    const reasons: string[] = [];
    /** Diagonal blocks no single-block test certifies, for the row-wise combination below. */
    const open: { op: LinOp; rowShape: NodeId; name: string }[] = [];
    let unreadable = false;
    for (const [i, j] of order) {
      const diagonal = part(jac.B[i], j);
      const fixpoint = model.residual[i].fixpoint;
      const TyBlock = jac.TyBlocks[i];
      // B_jj = I - T_jj for the fixpoint of y_j itself; T_jj = 0 when T_j does not move with y_j.
      const Ty = fixpoint && fixpoint.unknown === names[j] && TyBlock ? (part(TyBlock, j) ?? ZERO) : null;
      const ok = diagonal && certifyDiagonalBlock(diagonal, Ty, isScalar(model.unknowns[j].shape), g, bounds, namer);
      if (!ok) {
        if (diagonal) open.push({ op: diagonal, rowShape: model.residual[i].node, name: names[j] });
        else unreadable = true;
        continue;
      }
      reasons.push(`B_${names[j]} = ${show(diagonal)} (${ok.test}: ${ok.reason})`);
    }
    if (reasons.length === order.length) {
      return {
        ...base,
        verdict: 'certified',
        test: 'block-triangular',
        reason: `B is block-triangular in the order ${order.map(([, j]) => names[j]).join(', ')} (each equation block depends on no later unknown), so every element has det B = the product of the diagonal blocks' determinants, and each diagonal block is invertible at every element: ${reasons.join('; ')}`,
      };
    }
    // The rest row-wise, each in kink variables of its own: det B = (a product of
    // determinants of one strict sign over the whole set) * prod det B_jj over the open
    // blocks, each multilinear in variables no other open block has. If det B has one strict
    // sign at every vertex, so has each det B_jj at the vertices of its own variables (vary
    // them with the others fixed), hence on their whole box: the run-time vertex test on the
    // assembled B is exact, though B as a whole is not row-wise.
    if (!rowwise && !unreadable && open.length > 0 && rowwiseBlocks(open, g)) {
      return {
        ...base,
        rowwise: true,
        verdict: 'runtime',
        test: 'row-wise vertex test',
        reason: `B is block-triangular in the order ${order.map(([, j]) => names[j]).join(', ')}; ${reasons.length > 0 ? `${reasons.join('; ')}; ` : ''}the diagonal block${open.length > 1 ? 's' : ''} ${open.map((o) => `B_${o.name} = ${show(o.op)}`).join(', ')} ${open.length > 1 ? 'are' : 'is'} row-wise in kink factors of ${open.length > 1 ? 'their' : 'its'} own, so the exact test checks the sign of det B at the 2^t vertices over the t ties of each solution`,
      };
    }
  }

  // 3. Small gain between fixpoint blocks.
  const gain = smallGain(model, jac, part, g, bounds, namer);
  if (gain) return { ...base, verdict: 'certified', test: 'small gain', reason: gain };

  // A reachable singular element refutes the condition (MATH.md 4).
  const counterexample = findCounterexample(model, jac, { searchData: !rowwise });
  if (counterexample) return { ...base, verdict: 'violated', test: 'counterexample', reason: counterexample.why, counterexample };

  // 4. Row-wise across blocks: the exact vertex test on the assembled B at run time.
  if (rowwise) {
    return {
      ...base,
      verdict: 'runtime',
      test: 'row-wise vertex test',
      reason: `B = ${jac.B.map(show).join('; ')}: each kink factor scales only its own row of one equation block, so det B is affine in each factor and the exact test checks the sign of det B at the 2^t vertices over the t ties of each solution`,
    };
  }
  const smooth = smoothRuntime(model, jac);
  if (smooth) return { ...base, ...smooth };
  return { ...base, verdict: 'unverified', test: 'none', reason: 'several unknowns or equation blocks, and none of the scalar-system, block-triangular, small-gain or row-wise tests applies' };
}

/** The most scalar equations whose determinant is expanded (4! = 24 products). */
const MAX_SCALAR_SYSTEM = 4;

const ZERO: LinOp = { kind: 'sum', terms: [] };

/**
 * The part of a block row of B along one unknown: the terms that end in that unknown's
 * identity. An unreadable part that depends on the unknown's seed is kept whole, which every
 * test reads as unknown (conservative); one that does not is dropped (it contributes 0 to
 * this block). Null when the block is 0.
 */
export function restrictTo(op: LinOp, variable: string, along: (id: NodeId) => boolean): LinOp | null {
  switch (op.kind) {
    case 'identity':
      return op.variable === variable ? op : null;
    case 'opaque':
      return along(op.node) ? op : null;
    case 'sum': {
      const terms = op.terms.flatMap((t) => {
        const r = restrictTo(t.op, variable, along);
        return r ? [{ sign: t.sign, op: r }] : [];
      });
      if (terms.length === 0) return null;
      return terms.length === 1 && terms[0].sign === 1 ? terms[0].op : { kind: 'sum', terms };
    }
    default: {
      const inner = restrictTo(op.of, variable, along);
      return inner && ({ ...op, of: inner } as LinOp);
    }
  }
}

/** Built from scalar factors only (no reduction, projection or unreadable part): plain scalar arithmetic. */
function scalarOnly(op: LinOp, g: Graph): boolean {
  switch (op.kind) {
    case 'identity':
      return true;
    case 'scale':
    case 'diag':
      return isScalar(g.shape(op.factor)) && scalarOnly(op.of, g);
    case 'matmul':
    case 'rmatmul':
      return isScalar(g.shape(op.matrix)) && scalarOnly(op.of, g);
    case 'sum':
      return op.terms.every((t) => scalarOnly(t.op, g));
    default:
      return false;
  }
}

function permutations(k: number): { perm: number[]; sign: 1 | -1 }[] {
  if (k === 0) return [{ perm: [], sign: 1 }];
  return permutations(k - 1).flatMap(({ perm, sign }) =>
    // Insert k - 1 at position p: it passes over (k - 1 - p) later entries.
    Array.from({ length: k }, (_, p) => ({ perm: [...perm.slice(0, p), k - 1, ...perm.slice(p)], sign: (((k - 1 - p) % 2 === 0 ? 1 : -1) * sign) as 1 | -1 })),
  );
}

/**
 * A system of k <= 4 scalar equations in k scalar unknowns, B a k x k matrix whose entries
 * are scalar LinOps. Every element of the conservative set is a real matrix whose entry (i, j)
 * lies in the enclosure of entry (i, j) over the set, so:
 *
 * - det B = sum over permutations of signed products of entries. As a polynomial in the kink
 *   variables (each entry multilinear in them, interval coefficients for everything else) it
 *   is multilinear when no kink variable occurs in two factors of one product, and then its
 *   range over the box is enclosed by the interval values at the box's vertices (affine in
 *   each variable separately for fixed coefficients, MATH.md 5.4); the same sum evaluated in
 *   interval arithmetic on the entries' intervals is also an enclosure. When the intersection
 *   of the two excludes 0, every element is invertible.
 * - Strict diagonal dominance (Levy-Desplanques): when, for some pairing of equations with
 *   unknowns (a column permutation), min |B_i,p(i)| > sum_{j != p(i)} max |B_ij| over the
 *   intervals for every row (or the same for every column), every element is strictly
 *   diagonally dominant, hence invertible.
 */
function scalarSystem(entries: (LinOp | null)[][], g: Graph, bounds: Bounds): { test: CertificationTest; reason: string } | null {
  const k = entries.length;
  if (entries.some((row) => row.some((e) => e !== null && !scalarOnly(e, g)))) return null;
  const box = entries.map((row) => row.map((e): Interval => (e ? linOpInterval(e, bounds, g) : [0, 0])));
  if (box.some((row) => row.some(([lo, hi]) => Number.isNaN(lo) || Number.isNaN(hi)))) return null;
  const perms = permutations(k);
  let naive: Interval = [0, 0];
  for (const { perm, sign } of perms) {
    const p = perm.reduce<Interval>((acc, j, i) => mulInterval(acc, box[i][j]), [1, 1]);
    naive = sign === 1 ? [naive[0] + p[0], naive[1] + p[1]] : [naive[0] - p[1], naive[1] - p[0]];
  }
  let det: Interval = naive;
  const polys = entries.map((row) => row.map((e) => (e ? linOpPoly(e, g, bounds) : new Map() as Poly)));
  if (polys.every((row) => row.every((p) => p !== null))) {
    let acc: Poly | null = new Map();
    for (const { perm, sign } of perms) {
      let prod: Poly | null = constantPoly([1, 1]);
      for (let i = 0; i < k && prod; i++) prod = mulPoly(prod, polys[i][perm[i]]!);
      if (!prod) {
        acc = null;
        break;
      }
      acc = addPoly(acc!, prod, sign);
    }
    const r = acc && polyRange(acc, bounds);
    if (r) det = intersectInterval(det, r);
  }
  if (excludesZero(det)) {
    return { test: 'interval determinant', reason: `det B lies in ${showInterval(det[0], det[1])} at every element of the set, which excludes 0` };
  }
  const magMin = ([lo, hi]: Interval) => (lo > 0 ? lo : hi < 0 ? -hi : 0);
  const magMax = ([lo, hi]: Interval) => Math.max(Math.abs(lo), Math.abs(hi));
  for (const { perm } of perms) {
    // Strictly, with the margin of excludesZero: the sums are rounded.
    const dominates = (d: number, off: number) => d > off + 1e-12 * Math.max(1, d, off);
    const rows = box.every((row, i) => dominates(magMin(row[perm[i]]), row.reduce((s, x, j) => (j === perm[i] ? s : s + magMax(x)), 0)));
    const cols = perm.every((j, i) => dominates(magMin(box[i][j]), box.reduce((s, row, r) => (r === i ? s : s + magMax(row[j])), 0)));
    if (rows || cols) {
      return { test: 'interval determinant', reason: `B is strictly diagonally dominant by ${rows ? 'rows' : 'columns'} at every element of the set (pairing each equation with unknown ${perm.map((j) => j + 1).join(', ')}), so invertible` };
    }
  }
  return null;
}

/**
 * A pairing of residual blocks with unknowns in which B is block lower-triangular: repeatedly
 * a block that depends (through its tangent's graph: an exact zero otherwise) on exactly one
 * unknown not yet paired, of its shape. Then in that order B_ij = 0 above the diagonal
 * blocks, which are square. Null when there is none.
 */
function triangularOrder(model: IrModel, jac: Jacobians, along: ((id: NodeId) => boolean)[]): [number, number][] | null {
  const g = model.graph;
  const deps = jac.bTangents.map((t) => along.map((a) => t !== null && a(t)));
  const blocks = new Set(model.residual.map((_, i) => i));
  const unknowns = new Set(model.unknowns.map((_, j) => j));
  const order: [number, number][] = [];
  while (blocks.size > 0) {
    let found: [number, number] | null = null;
    for (const i of blocks) {
      const js = [...unknowns].filter((j) => deps[i][j]);
      if (js.length === 1 && sameShape(g.shape(model.residual[i].node), model.unknowns[js[0]].shape)) {
        found = [i, js[0]];
        break;
      }
    }
    if (!found) return null;
    blocks.delete(found[0]);
    unknowns.delete(found[1]);
    order.push(found);
  }
  return order;
}

/**
 * The single-block tests (MATH.md 5.1-5.3) on one diagonal block B_jj, with T_jj for a
 * fixpoint block: certified only (guards on several blocks are not combined).
 */
function certifyDiagonalBlock(op: LinOp, Ty: LinOp | null, scalar: boolean, g: Graph, bounds: Bounds, namer: Namer): { test: CertificationTest; reason: string } | null {
  if (scalar || isDiagonal(op)) {
    const [lo, hi] = linOpInterval(op, bounds, g);
    if (excludesZero([lo, hi])) return { test: scalar ? 'scalar interval' : 'monotone', reason: `${scalar ? 'every element lies in' : 'diagonal with entries in'} ${showInterval(lo, hi)}` };
  }
  if (!scalar) {
    const pd = positiveDefiniteByConstruction(op, g, bounds);
    if (pd !== null) return { test: 'monotone', reason: `diagonal part >= ${fmt(pd)} > 0 plus terms M' D M with D >= 0: positive definite` };
  }
  if (Ty) {
    const bound = normBound(Ty, g, bounds, namer);
    const value = bound && (boundValue(bound) ?? boundSup(bound));
    if (bound && value !== null && value < 1) return { test: 'contraction', reason: `||T|| <= ${fmt(value)} < 1 along this unknown` };
  }
  return null;
}

/**
 * Small gain between fixpoint blocks y_i = T_i(y): with a_ij >= sup ||dT_i/dy_j|| over the set
 * (2-norms, from the composed norm bounds; 0 for a block that does not depend on y_j), and
 * the nonnegative matrix M = (a_ij) of spectral radius < 1 (equivalently, I - M has positive
 * leading principal minors: a nonsingular M-matrix), w = (I - M)^-1 1 >= 1 > 0 has M w < w.
 * In the norm ||x||_w = max_i ||x_i|| / w_i, ||(T_y x)_i|| <= sum_j a_ij w_j ||x||_w
 * < w_i ||x||_w, so every T_y of the set is a contraction in that norm and B = I - T_y is
 * invertible. The reason, or null.
 */
function smallGain(model: IrModel, jac: Jacobians, part: (op: LinOp, j: number) => LinOp | null, g: Graph, bounds: Bounds, namer: Namer): string | null {
  const names = model.unknowns.map((u) => u.name);
  const k = names.length;
  if (model.residual.length !== k || k > MAX_SCALAR_SYSTEM) return null;
  const paired = model.residual.map((r) => (r.fixpoint ? names.indexOf(r.fixpoint.unknown) : -1));
  if (paired.some((j) => j < 0) || new Set(paired).size !== k) return null;
  const M = names.map(() => new Array<number>(k).fill(0));
  for (let i = 0; i < k; i++) {
    const T = jac.TyBlocks[i];
    if (!T) return null;
    for (let j = 0; j < k; j++) {
      const block = part(T, j);
      if (!block) continue;
      const bound = normBound(block, g, bounds, namer);
      const value = bound && (boundValue(bound) ?? boundSup(bound));
      if (value === null || !Number.isFinite(value)) return null;
      M[paired[i]][j] = value;
    }
  }
  const I_M = M.map((row, i) => row.map((a, j) => (i === j ? 1 : 0) - a));
  for (let m = 1; m <= k; m++) {
    const minor = permutations(m).reduce((s, { perm, sign }) => s + sign * perm.reduce((p, j, i) => p * I_M[i][j], 1), 0);
    if (!(minor > 1e-12)) return null;
  }
  return `fixpoint blocks with ||dT_i/dy_j|| <= M_ij, M = [${M.map((r) => r.map(fmt).join(', ')).join('; ')}] over (${names.join(', ')}), of spectral radius < 1: T_y contracts in a weighted block norm at every element, so B = I - T_y is invertible`;
}

function unverifiedReason(jac: Jacobians, model: IrModel): string {
  const kinds = new Set<string>();
  let kinks = false;
  const walk = (o: LinOp): void => {
    kinds.add(o.kind);
    if (o.kind === 'diag' && o.kinks.length > 0) kinks = true;
    if ('of' in o) walk(o.of);
    if (o.kind === 'sum') o.terms.forEach((t) => walk(t.op));
  };
  walk(jac.B[0]);
  if (kinds.has('opaque')) return 'B has a factor whose structure the analysis cannot read (a product of two unknown-dependent terms, say)';
  if (kinds.has('block')) return 'B contains a non-diagonal kink (a projection Jacobian), and no norm bound on the parameters makes the map a contraction';
  // Only a kink factor may be named as one: a smooth factor (tanh', cos) is not a kink.
  if (kinks) return 'a kink factor appears inside a product rather than scaling whole rows of B, and no contraction bound holds';
  return 'B varies with the unknowns through smooth factors whose ranges exclude no singular element: neither the interval, the contraction nor the positive-definiteness test applies';
}

/**
 * A multilinear polynomial in the kink variables with interval coefficients: each key is
 * the sorted list of kink-factor nodes of a monomial.
 */
type Poly = Map<string, { vars: NodeId[]; coef: Interval }>;

const MAX_POLY_VARIABLES = 10;

function constantPoly(c: Interval): Poly {
  return new Map([['', { vars: [], coef: c }]]);
}

function addPoly(a: Poly, b: Poly, sign: 1 | -1): Poly {
  const out: Poly = new Map(a);
  for (const [k, m] of b) {
    const c: Interval = sign === 1 ? m.coef : [-m.coef[1], -m.coef[0]];
    const prev = out.get(k);
    out.set(k, { vars: m.vars, coef: prev ? [prev.coef[0] + c[0], prev.coef[1] + c[1]] : c });
  }
  return out;
}

/** The product, or null when a kink variable would appear squared (no longer multilinear). */
function mulPoly(a: Poly, b: Poly): Poly | null {
  let out: Poly = new Map();
  for (const x of a.values()) {
    for (const y of b.values()) {
      if (x.vars.some((v) => y.vars.includes(v))) return null;
      const vars = [...x.vars, ...y.vars].sort((p, q) => p - q);
      out = addPoly(out, new Map([[vars.join(','), { vars, coef: mulInterval(x.coef, y.coef) }]]), 1);
    }
  }
  return out;
}

/**
 * The entries of a diagonal factor as a polynomial in the kink factors they are built from
 * elementwise: max(y, 2 y) has factors d and 1 - d of the same kink variable d, which the
 * plain interval product treats as independent ([0, 1] + 2 [0, 1] = [0, 3]) and the
 * polynomial keeps together (d + 2 (1 - d) = 2 - d in [1, 2]). Any other sub-expression
 * enters as the interval of its values (sound: it holds for every element of the set).
 */
function factorPoly(id: NodeId, g: Graph, bounds: Bounds): Poly | null {
  const n = g.node(id);
  const facts = factsOf(n.op);
  if (n.op === 'const' || n.op === 'input') return constantPoly(bounds.interval(id));
  if (facts.kinkFactor) return new Map([[String(id), { vars: [id], coef: [1, 1] as Interval }]]);
  const args = n.args.map((a) => () => factorPoly(a, g, bounds));
  switch (n.op) {
    case 'broadcast':
      return args[0]();
    case 'neg': {
      const a = args[0]();
      return a && addPoly(new Map(), a, -1);
    }
    case 'add':
    case 'sub': {
      const a = args[0]();
      const b = args[1]();
      return a && b && addPoly(a, b, n.op === 'add' ? 1 : -1);
    }
    case 'mul': {
      const a = args[0]();
      const b = args[1]();
      return (a && b && mulPoly(a, b)) ?? constantPoly(bounds.interval(id));
    }
    default:
      return constantPoly(bounds.interval(id));
  }
}

/** B (scalar or diagonal) as a polynomial in the kink variables; null when not multilinear. */
function linOpPoly(op: LinOp, g: Graph, bounds: Bounds): Poly | null {
  const times = (c: Interval, inner: Poly | null): Poly | null => inner && mulPoly(constantPoly(c), inner);
  switch (op.kind) {
    case 'identity':
      return constantPoly([1, 1]);
    case 'scale': {
      const f = bounds.interval(op.factor);
      return times(op.inverse ? invInterval(f) : f, linOpPoly(op.of, g, bounds));
    }
    case 'diag': {
      const f = factorPoly(op.factor, g, bounds);
      const inner = linOpPoly(op.of, g, bounds);
      return f && inner && mulPoly(f, inner);
    }
    case 'matmul':
    case 'rmatmul':
      return times(bounds.interval(op.matrix), linOpPoly(op.of, g, bounds));
    case 'sum': {
      let acc: Poly = new Map();
      for (const t of op.terms) {
        const p = linOpPoly(t.op, g, bounds);
        if (!p) return null;
        acc = addPoly(acc, p, t.sign);
      }
      return acc;
    }
    case 'block':
      return times([0, 1], linOpPoly(op.of, g, bounds));
    case 'opaque':
      return constantPoly(ANY);
  }
}

/**
 * The range of a multilinear polynomial over the box of its kink variables: for any fixed
 * values of the coefficients it is affine in each variable separately, so its extremes lie
 * at the vertices of the box (the argument of MATH.md 5.4, for one entry); the interval of
 * each vertex's value covers every coefficient value.
 */
function polyRange(p: Poly, bounds: Bounds): Interval | null {
  const vars = [...new Set([...p.values()].flatMap((m) => m.vars))];
  if (vars.length > MAX_POLY_VARIABLES) return null;
  const ranges = vars.map((v) => bounds.interval(v));
  let lo = Infinity;
  let hi = -Infinity;
  for (let mask = 0; mask < 1 << vars.length; mask++) {
    const at = new Map(vars.map((v, i) => [v, mask & (1 << i) ? ranges[i][1] : ranges[i][0]]));
    let sum: Interval = [0, 0];
    let magnitude = 0;
    for (const m of p.values()) {
      const x = m.vars.reduce((q, v) => q * at.get(v)!, 1);
      const t = mulInterval(m.coef, [x, x]);
      sum = [sum[0] + t[0], sum[1] + t[1]];
      magnitude += Math.max(Math.abs(t[0]), Math.abs(t[1]));
    }
    // Rounded outward: each vertex's value is a floating-point sum (0.96 + 0.04 is not 1), so
    // its error, at most a few units in the last place of the terms' magnitude, widens it.
    const slack = 8 * (p.size + 1) * 2 ** -53 * magnitude;
    lo = Math.min(lo, sum[0] - slack);
    hi = Math.max(hi, sum[1] + slack);
  }
  return Number.isNaN(lo) || Number.isNaN(hi) ? ANY : [lo, hi];
}

/**
 * Interval of a scalar (or diagonal) LinOp over the conservative set: exact in the kink
 * variables where B is multilinear in them, else the product of independent intervals.
 */
export function linOpInterval(op: LinOp, bounds: Bounds, g?: Graph): Interval {
  if (g) {
    const p = linOpPoly(op, g, bounds);
    const r = p && polyRange(p, bounds);
    if (r) return intersectInterval(r, independentInterval(op, bounds));
  }
  return independentInterval(op, bounds);
}

/** Interval of a scalar (or diagonal) LinOp with every factor's interval independent. */
function independentInterval(op: LinOp, bounds: Bounds): Interval {
  const mul = mulInterval;
  const visit = (o: LinOp): Interval => {
    switch (o.kind) {
      case 'identity':
        return [1, 1];
      case 'scale': {
        const f = bounds.interval(o.factor);
        const inv: Interval = o.inverse ? invInterval(f) : f;
        return mul(inv, visit(o.of));
      }
      case 'diag':
        return mul(bounds.interval(o.factor), visit(o.of));
      case 'matmul':
      case 'rmatmul':
        return mul(bounds.interval(o.matrix), visit(o.of));
      case 'sum':
        return o.terms.reduce<Interval>((acc, t) => {
          const v = visit(t.op);
          return t.sign === 1 ? [acc[0] + v[0], acc[1] + v[1]] : [acc[0] - v[1], acc[1] - v[0]];
        }, [0, 0]);
      case 'block':
        return mul([0, 1], visit(o.of));
      case 'opaque':
        return ANY;
    }
  };
  return visit(op);
}

function intersectInterval(a: Interval, b: Interval): Interval {
  return [Math.max(a[0], b[0]), Math.min(a[1], b[1])];
}

/**
 * MATH.md 5.3, positive definite by construction: B = P + sum_k s_k M_k' D_k M_k with P
 * diagonal with entries >= c > 0 over the set, each s_k >= 0 and each D_k diagonal with
 * entries >= 0 (a kink factor in [0, 1], a smooth factor such as sigmoid' or exp). Each
 * M' D M is positive semidefinite at every element (x' M' D M x = sum d_i (M x)_i^2 >= 0),
 * so x' B x >= c |x|^2 at every element: B is invertible on the whole convex set (mu I +
 * X' D X of a strongly convex objective in `solve` form). Returns c, or null.
 */
function positiveDefiniteByConstruction(op: LinOp, g: Graph, bounds: Bounds): number | null {
  const terms = op.kind === 'sum' ? op.terms : [{ sign: 1 as const, op }];
  const diagonal: { sign: 1 | -1; op: LinOp }[] = [];
  let grams = 0;
  for (const t of terms) {
    if (isDiagonal(t.op)) diagonal.push(t);
    else if (t.sign === 1 && isGram(t.op, g, bounds)) grams++;
    else return null;
  }
  if (diagonal.length === 0 || grams === 0) return null;
  const [lo, hi] = linOpInterval({ kind: 'sum', terms: diagonal }, bounds, g);
  return excludesZero([lo, hi]) && lo > 0 ? lo : null;
}

/** s M' D M (s >= 0 scalings, D >= 0 diagonal factors, possibly none) applied to the seed. */
function isGram(op: LinOp, g: Graph, bounds: Bounds): boolean {
  let o = op;
  const nonnegative = (id: NodeId) => bounds.interval(id)[0] >= 0;
  while (o.kind === 'scale' && !o.inverse && nonnegative(o.factor)) o = o.of;
  if (o.kind !== 'matmul') return false;
  const left = g.node(o.matrix);
  if (left.op === 'input' || left.op === 'const' || !factsOf(left.op).transpose) return false;
  const m = left.args[0];
  o = o.of;
  while ((o.kind === 'diag' || (o.kind === 'scale' && !o.inverse)) && nonnegative(o.factor)) o = o.of;
  return o.kind === 'matmul' && o.matrix === m && o.of.kind === 'identity';
}
function isDiagonal(op: LinOp): boolean {
  switch (op.kind) {
    case 'identity':
      return true;
    case 'scale':
    case 'diag':
      return isDiagonal(op.of);
    case 'sum':
      return op.terms.every((t) => isDiagonal(t.op));
    default:
      return false;
  }
}

/**
 * MATH.md 5.4: B is "row-wise" when, writing each residual block's row of B (all unknowns'
 * columns together) as a sum of products, every kink factor is the leftmost non-scalar
 * factor of its product, is an elementwise function of kink variables that each have one
 * entry per row of that block, and no kink variable appears in two blocks. Then kink entry r
 * of block i multiplies only row r of block i of the whole B, so det B is affine in each kink
 * variable separately, for one unknown or several. A kink shared by all rows, as in
 * B(d) = (1 - 2d) I, is not row-wise: its vertices can all be invertible while the hull is
 * not; a kink used by two blocks (relu(y + z) in the equations of both y and z) is not either.
 * A scalar block has one row: a scalar kink factor scales just that row.
 */
function isRowwise(B: readonly LinOp[], model: IrModel): boolean {
  return rowwiseBlocks(
    B.map((op, i) => ({ op, rowShape: model.residual[i].node })),
    model.graph,
  );
}

/** {@link isRowwise} on block rows given with the node whose shape is their row shape. */
function rowwiseBlocks(blocks: readonly { op: LinOp; rowShape: NodeId }[], g: Graph): boolean {
  const B = blocks.map((b) => b.op);
  const kinkMemo = new Map<NodeId, NodeId[]>();
  const owner = new Map<NodeId, number>();
  let sawKink = false;
  for (let i = 0; i < B.length; i++) {
    const rowShape = g.shape(blocks[i].rowShape);
    const scalarRows = isScalar(rowShape);
    // One scalar equation: the run time decides it exactly anyway (order 1), and the
    // compile-time verdict stays with the scalar tests.
    if (scalarRows && B.length === 1) return false;
    const own = (kink: NodeId): boolean => {
      const prev = owner.get(kink);
      if (prev !== undefined && prev !== i) return false;
      owner.set(kink, i);
      return true;
    };
    /** The factor reaches its kink variables through elementwise operations of row shape only. */
    const elementwiseOfKinks = (id: NodeId): boolean => {
      const kinks = kinkFactorsOf(g, id, kinkMemo);
      if (kinks.length === 0) return true;
      const n = g.node(id);
      if (!sameShape(g.shape(id), rowShape) || (isScalar(g.shape(id)) && !scalarRows)) return false;
      if (kinks.length === 1 && kinks[0] === id) return own(id);
      if (n.op === 'input' || n.op === 'const' || !factsOf(n.op).elementwise) return false;
      return n.args.every(elementwiseOfKinks);
    };
    // `left`: no non-scalar factor has been applied to the left of this point yet.
    const visit = (o: LinOp, left: boolean): boolean => {
      switch (o.kind) {
        case 'identity':
          return true;
        case 'scale':
          return visit(o.of, left);
        case 'diag': {
          if (o.kinks.length === 0) return visit(o.of, false);
          sawKink = true;
          if (!left || !elementwiseOfKinks(o.factor)) return false;
          return kinkFreeRead(o.of, g, kinkMemo);
        }
        case 'matmul':
        case 'rmatmul':
          return visit(o.of, false);
        case 'sum':
          return o.terms.every((t) => visit(t.op, left));
        case 'opaque':
          return kinkFactorsOf(g, o.node, kinkMemo).length === 0;
        default:
          return false;
      }
    };
    if (!visit(B[i], true)) return false;
  }
  return sawKink;
}

/**
 * No kink factor: `kinkFree`, and also an unreadable part (a reduction such as `sum(dy)`)
 * whose tangent graph reaches no kink factor: a fixed linear map at each point.
 */
function kinkFreeRead(op: LinOp, g: Graph, memo: Map<NodeId, NodeId[]>): boolean {
  switch (op.kind) {
    case 'opaque':
      return kinkFactorsOf(g, op.node, memo).length === 0;
    case 'sum':
      return op.terms.every((t) => kinkFreeRead(t.op, g, memo));
    case 'identity':
      return true;
    case 'diag':
      return op.kinks.length === 0 && kinkFreeRead(op.of, g, memo);
    case 'scale':
    case 'matmul':
    case 'rmatmul':
      return kinkFreeRead(op.of, g, memo);
    default:
      return false;
  }
}

/**
 * An interval whose end is within rounding of 0, from a strict `require` (e < 1 read as
 * e <= the double below 1), is shown open there: (0, 2], not [1.11022e-16, 2].
 */
function showInterval(lo: number, hi: number): string {
  const tiny = (x: number) => x !== 0 && Math.abs(x) < 1e-12;
  return `${tiny(lo) ? '(0' : `[${fmt(lo)}`}, ${tiny(hi) ? '0)' : `${fmt(hi)}]`}`;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return Number(x.toPrecision(6)).toString();
}
