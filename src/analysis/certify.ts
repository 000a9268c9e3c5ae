import { jvp } from '../ir/ad.ts';
import type { IrModel } from '../ir/model.ts';
import { isScalar, sameShape } from '../ir/shape.ts';
import { ANY, invInterval, mulInterval } from '../primitives/interval.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Bounds, Interval } from './bounds.ts';
import { searchCounterexample, type Counterexample } from './counterexample.ts';
import { kinkFree, showLinOp, toLinOp, type LinOp, type Namer } from './linop.ts';
import { boundValue, isParamGuard, normBound, showBound, type NormBound } from './norm-bound.ts';

export type Verdict = 'certified' | 'guarded' | 'runtime' | 'unverified' | 'violated';
export type CertificationTest = 'scalar interval' | 'contraction' | 'monotone' | 'row-wise vertex test' | 'counterexample' | 'none';

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
  const B = bTangents.map((t, i) => (t === null ? zeroOp(residual[i]) : toLinOp(g, t, seeds)));
  let Ty: LinOp | null = null;
  if (model.residual.length === 1 && model.residual[0].fixpoint && model.unknowns.length === 1) {
    const [t] = jvp(g, [model.residual[0].fixpoint.map], seedOf);
    Ty = t === null ? null : toLinOp(g, t, seeds);
  }
  const paramSeeds = new Map<NodeId, string>();
  const paramSeedOf = new Map<NodeId, NodeId>();
  for (const p of model.params) {
    const s = g.input(`d${p.name}`, 'seed', { kind: 'real', shape: p.shape });
    paramSeeds.set(s, p.name);
    paramSeedOf.set(p.node, s);
  }
  const aTangents = jvp(g, residual, paramSeedOf);
  const A = aTangents.map((t, i) => (t === null ? zeroOp(residual[i]) : toLinOp(g, t, paramSeeds)));
  return { seeds, bTangents, B, Ty, A, paramSeeds };
}

function zeroOp(node: NodeId): LinOp {
  return { kind: 'opaque', node };
}

/** MATH.md section 5: the sound tests in order, then a counterexample search. */
export function certify(model: IrModel, jac: Jacobians, bounds: Bounds, namer: Namer): Certificate {
  const g = model.graph;
  const single = model.unknowns.length === 1 && model.residual.length === 1;
  const scalarUnknown = single && model.unknowns[0].shape.length === 0;
  const rowwise = single && isRowwise(jac.B[0], model);
  const base = { guard: null, guardBound: null, rowwise, counterexample: null };

  // 5.1: a scalar unknown: B ranges over an interval, which must exclude 0.
  if (scalarUnknown) {
    const [lo, hi] = linOpInterval(jac.B[0], bounds);
    if (lo > 0 || hi < 0) {
      return { ...base, verdict: 'certified', test: 'scalar interval', reason: `every B lies in [${fmt(lo)}, ${fmt(hi)}], which excludes 0` };
    }
  }
  // 5.3 for diagonal B: every entry's interval excludes 0 at every vertex (uniformly definite).
  if (single && !scalarUnknown && isDiagonal(jac.B[0])) {
    const [lo, hi] = linOpInterval(jac.B[0], bounds);
    if (lo > 0 || hi < 0) {
      return { ...base, verdict: 'certified', test: 'monotone', reason: `B is diagonal with entries in [${fmt(lo)}, ${fmt(hi)}]: definite at every vertex` };
    }
  }
  // 5.2: contraction of the fixed-point map through composed norm bounds.
  let dataBound: NormBound | null = null;
  if (jac.Ty) {
    const bound = normBound(jac.Ty, g, bounds, namer);
    if (bound) {
      const value = boundValue(bound);
      if (value !== null && value < 1) {
        return { ...base, verdict: 'certified', test: 'contraction', reason: `||T_y|| <= ${fmt(value)} < 1 over the whole conservative set` };
      }
      // A guard on learnable parameters is something users can keep true (by projection, say);
      // a bound on data only is left to the exact test at run time.
      if (value === null && isParamGuard(bound)) {
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
      if (value === null) dataBound = bound;
    }
  }
  // A reachable singular element refutes the condition (MATH.md 4, the pathologies).
  const counterexample = searchCounterexample(model, jac);
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
  return {
    ...base,
    verdict: 'unverified',
    test: 'none',
    reason: unverifiedReason(jac, model),
  };
}

function unverifiedReason(jac: Jacobians, model: IrModel): string {
  if (model.unknowns.length > 1 || model.residual.length > 1) return 'several unknowns or equation blocks: only the scalar, contraction and row-wise tests are implemented, and none applies';
  const kinds = new Set<string>();
  const walk = (o: LinOp): void => {
    kinds.add(o.kind);
    if ('of' in o) walk(o.of);
    if (o.kind === 'sum') o.terms.forEach((t) => walk(t.op));
  };
  walk(jac.B[0]);
  if (kinds.has('opaque')) return 'B has a factor whose structure the analysis cannot read (a product of two unknown-dependent terms, say)';
  if (kinds.has('block')) return 'B contains a non-diagonal kink (a projection Jacobian), and no norm bound on the parameters makes the map a contraction';
  return 'a kink factor appears inside a product rather than scaling whole rows of B, and no contraction bound holds';
}

/** Interval of a scalar (or diagonal) LinOp over the conservative set. */
export function linOpInterval(op: LinOp, bounds: Bounds): Interval {
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
 * MATH.md 5.4: B is "row-wise" when, writing it as a sum of products, every kink factor is
 * the leftmost non-scalar factor of its product and has one entry per row of B (a kink shared
 * by all rows, as in B(d) = (1 - 2d) I, is not row-wise: its vertices can all be invertible
 * while the hull is not).
 */
function isRowwise(op: LinOp, model: IrModel): boolean {
  const g = model.graph;
  const rowShape = model.unknowns[0].shape;
  let sawKink = false;
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
        if (!left || !sameShape(g.shape(o.factor), rowShape) || isScalar(g.shape(o.factor))) return false;
        return kinkFree(o.of);
      }
      case 'matmul':
      case 'rmatmul':
        return visit(o.of, false);
      case 'sum':
        return o.terms.every((t) => visit(t.op, left));
      default:
        return false;
    }
  };
  return visit(op, true) && sawKink;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return Number(x.toPrecision(6)).toString();
}
