import { cone } from '../ir/ad.ts';
import { concreteShape, evaluate, type Bindings } from '../ir/graph.ts';
import type { Shape } from '../ir/shape.ts';
import type { IrModel } from '../ir/model.ts';
import { primitive } from '../primitives/registry.ts';
import type { NodeId, Tensor } from '../primitives/types.ts';
import { Bounds } from './bounds.ts';
import type { Jacobians } from './certify.ts';

/** A reachable point where the conservative Jacobian in the unknowns holds a singular B. */
export interface Counterexample {
  point: Record<string, number>;
  /** A singular element of the set at that point. */
  B: number[][];
  why: string;
}

const GRID_Y = [0, 0.5, -0.5, 1, -1, 2, -2, 0.25, -0.25];
const GRID_X = Array.from({ length: 161 }, (_, i) => (i - 80) / 20);
const TIE = 1e-9;
const MAX_TIES = 8;
/**
 * The search evaluates F and B some 10^4 times: a scalar model whose F and B take more than
 * this many operations is not searched (it stays `unverified` at compile time, and the run
 * time certificate decides at each solution), so that the analysis stays fast on any file.
 */
export const MAX_SEARCH_OPERATIONS = 1000;

/**
 * Search for a counterexample on a scalar model (MATH.md 4): put the unknown at a grid
 * point (kinks included), solve F(x, y) = 0 for the first parameter, and test the whole
 * range of B there: a vertex with B = 0, or two vertices of opposite signs (B is continuous
 * on the connected box of kink factors, so some element in between is 0).
 * Only models whose inputs are all scalar parameters are searched: with data, the point
 * would depend on values the compiler does not have, and the run-time test decides.
 */
export function searchCounterexample(model: IrModel, jac: Jacobians): Counterexample | null {
  const g = model.graph;
  if (model.unknowns.length !== 1 || model.residual.length !== 1 || model.data.length > 0 || model.dims.length > 0) return null;
  if (model.unknowns[0].shape.length !== 0 || model.params.some((p) => p.shape.length !== 0)) return null;
  const bTangent = jac.bTangents[0];
  if (bTangent === null) return null;
  const unknown = model.unknowns[0].name;
  const seedName = `d${unknown}`;
  const F = model.residual[0].node;
  const operations = cone(g, [F, bTangent]);
  if (operations.length > MAX_SEARCH_OPERATIONS) return null;
  const factors = operations.filter((id) => {
    const n = g.node(id);
    return n.op !== 'input' && n.op !== 'const' && primitive(n.op).structure.kinkFactor !== undefined;
  });
  const scalar = (v: number): Tensor => ({ shape: [], data: Float64Array.of(v) });
  const [solveFor, ...fixed] = model.params;
  const bindingsAt = (x: number, y: number): Bindings => {
    // No prototype: an input named `__proto__` or `constructor` is an ordinary key.
    const inputs: Record<string, Tensor> = Object.create(null);
    inputs[unknown] = scalar(y);
    inputs[seedName] = scalar(1);
    if (solveFor) inputs[solveFor.name] = scalar(x);
    for (const p of fixed) inputs[p.name] = scalar(0.5);
    return { dims: {}, inputs };
  };
  // A point where a `require` fails is no counterexample: the generated code rejects it
  // before any derivative is returned (abs(y) - x = 0 under `require x >= 1` has no tie).
  const requires = model.requires.map((r) => r.node);
  const admissible = (bindings: Bindings): boolean => {
    if (requires.length === 0) return true;
    try {
      return evaluate(g, requires, bindings).every((t) => t.data.every((v) => v !== 0));
    } catch {
      return false;
    }
  };
  const residualAt = (x: number, y: number): number => {
    try {
      return evaluate(g, [F], bindingsAt(x, y))[0].data[0];
    } catch {
      return NaN;
    }
  };

  for (const y of GRID_Y) {
    for (const x of roots((x) => residualAt(x, y), solveFor ? GRID_X : [0])) {
      const bindings = bindingsAt(x, y);
      if (!admissible(bindings)) continue;
      // Kink factors at a tie range over their whole interval; the others keep their value.
      const tied: NodeId[] = [];
      // Every factor's arguments in one evaluation (shared subexpressions once).
      const argValues = evaluate(g, factors.flatMap((f) => g.node(f).args), bindings);
      let next = 0;
      for (const f of factors) {
        const n = g.node(f);
        const args = argValues.slice(next, (next += n.args.length));
        const of = primitive(n.op).structure.kinkFactor!.of;
        const kink = primitive(of).kink;
        const gap = kink?.kinkGap(args);
        // A switch's gap is (distance, jump): a tie only where its branches agree (a jump is no
        // point of the implicit function theorem, and no counterexample to it either).
        if (kink?.switch && gap && gap.length === 2) {
          if (Math.abs(gap[0]) < TIE && Math.abs(gap[1]) < TIE) tied.push(f);
        } else if (gap && gap.length === 1 && Math.abs(gap[0]) < TIE) tied.push(f);
      }
      if (tied.length > MAX_TIES) continue;
      const vertices: { B: number; choice: number[] }[] = [];
      for (let mask = 0; mask < 1 << tied.length; mask++) {
        const overrides = new Map<NodeId, Tensor>();
        const choice = tied.map((f, i) => {
          const [lo, hi] = primitive(g.node(f).op).structure.kinkFactor!.range;
          const v = mask & (1 << i) ? hi : lo;
          overrides.set(f, scalar(v));
          return v;
        });
        const B = evaluate(g, [bTangent], bindings, overrides)[0].data[0];
        if (Number.isFinite(B)) vertices.push({ B, choice });
      }
      const point = { ...(solveFor ? { [solveFor.name]: clean(x) } : {}), ...Object.fromEntries(fixed.map((p) => [p.name, 0.5])), [unknown]: y };
      const where = Object.entries(point).map(([k, v]) => `${k} = ${v}`).join(', ');
      const zero = vertices.find((v) => Math.abs(v.B) < 1e-12);
      if (zero) {
        const at = tied.length ? ` with the kink factors at ${zero.choice.join(', ')}` : '';
        return { point, B: [[0]], why: `F = 0 at ${where}, and B = 0 there${at}: B is singular` };
      }
      const pos = vertices.find((v) => v.B > 0);
      const neg = vertices.find((v) => v.B < 0);
      if (pos && neg) {
        return {
          point,
          B: [[0]],
          why: `F = 0 at ${where}, where ${tied.length} kink${tied.length === 1 ? ' is' : 's are'} at a tie and B ranges over [${clean(neg.B)}, ${clean(pos.B)}], which contains 0`,
        };
      }
    }
  }
  return null;
}

/** Zeros of a scalar function on a grid: exact zeros, and sign changes refined by bisection. */
function roots(f: (x: number) => number, grid: readonly number[]): number[] {
  const out: number[] = [];
  let prevX = grid[0];
  let prev = f(prevX);
  if (prev === 0) out.push(prevX);
  for (let i = 1; i < grid.length; i++) {
    const x = grid[i];
    const v = f(x);
    if (v === 0 || Math.abs(v) < 1e-14) out.push(x);
    else if (Number.isFinite(prev) && Number.isFinite(v) && prev !== 0 && Math.sign(prev) !== Math.sign(v)) {
      let lo = prevX;
      let hi = x;
      let flo = prev;
      for (let k = 0; k < 100; k++) {
        const mid = 0.5 * (lo + hi);
        const fm = f(mid);
        if (fm === 0) {
          lo = hi = mid;
          break;
        }
        if (Math.sign(fm) === Math.sign(flo)) {
          lo = mid;
          flo = fm;
        } else hi = mid;
      }
      out.push(0.5 * (lo + hi));
    }
    prevX = x;
    prev = v;
  }
  return out.slice(0, 8);
}

function clean(x: number): number {
  const r = Math.round(x * 1e9) / 1e9;
  return Object.is(r, -0) ? 0 : r;
}

// ------------------------------------------------------------------ the general search

/**
 * The whole compile-time search: the grid search above (the scalar models it handles, with
 * its rounded points), then {@link searchCounterexampleGeneral} for every other model.
 */
export function findCounterexample(model: IrModel, jac: Jacobians, options: SearchOptions = {}): Counterexample | null {
  return searchCounterexample(model, jac) ?? searchCounterexampleGeneral(model, jac, options);
}

export interface SearchOptions {
  /**
   * Whether a model with data is searched (default true). certify passes false for row-wise
   * models: there the run-time vertex test decides exactly at each solution for the data the
   * user has, and a counterexample at data chosen here (a rank-deficient X for the lasso)
   * would only replace that exact test by a warning about data the user may never supply.
   */
  searchData?: boolean;
}

/** Node evaluations (evaluate calls times the cone's size) the general search may spend. */
export const MAX_GENERAL_WORK = 400_000;
/** The most unknown scalars (at the small dims bound) the general search handles. */
const MAX_UNKNOWN_SCALARS = 9;
/** The most input scalars it adjusts. */
const MAX_INPUT_SCALARS = 40;
/** Vertices of the box of tied kink factors checked at one point. */
const MAX_VERTICES = 64;
/** A point is on F = 0 when |F|_inf <= RESIDUAL_TOL (1 + |z|_inf). */
const RESIDUAL_TOL = 1e-10;
/**
 * |det B| <= SINGULAR_TOL times Hadamard's bound (the product of B's column norms) reads as a
 * singular B: for n >= 2 that is a condition number beyond 10^14, where the rounding of B's
 * entries (about 1e-16 relative) already hides whether det B is 0. For a scalar B the bound
 * is |B| itself, so only an exact 0 counts.
 */
const SINGULAR_TOL = 1e-14;
/** A zero of det B that does not change sign: |det B| this small relative to both sides. */
const TOUCH_RATIO = 1e-12;
/** The points the search may use: |z|_inf <= BOX (det B tends to 0 far out along exp). */
const BOX = 100;

class OutOfWork extends Error {}

interface Variable {
  name: string;
  role: 'unknown' | 'param' | 'data';
  shape: number[];
  offset: number;
  size: number;
}

/** One kink factor node, with the elements of it tied at a point. */
interface Tie {
  factor: NodeId;
  element: number;
  lo: number;
  hi: number;
}

/** A point, its F, its kink factors and its B (kink factors at their evaluated values). */
interface Probe {
  z: Float64Array;
  F: Float64Array;
  factors: Tensor[];
  ties: Tie[];
  B: number[][];
  det: number;
  hadamard: number;
}

/**
 * Search for a counterexample (MATH.md 4) on any model whose graphs are small: a point z =
 * (y, inputs) with F(z) = 0, every `require` satisfied, and a singular element of the
 * conservative set of B there. Every dim is bound to 1, then 2, then 3; data are chosen as
 * freely as params (the model must hold for all admissible data: a point for some data
 * refutes it, and `require` clauses restrict data where they must).
 *
 * Points with F = 0: y is put at structured values (0 entries, where most kinks are, and
 * grid values), the inputs start at random and are adjusted to F = 0 by Gauss-Newton with
 * minimum-norm steps (finite-difference Jacobians). For a smooth B the joint system
 * F = 0, det B = 0 is then solved by damped Newton over all of z from the points of least
 * |det B| / Hadamard bound.
 *
 * A point counts (and only then is `violated` claimed) when |F| is within RESIDUAL_TOL of 0,
 * the requires hold on it, and one of:
 * 1. tied kink factors (gap under TIE; a switch only where its branches agree: a jump is no
 *    point of the implicit function theorem) range over their box, and a vertex has
 *    |det B| <= SINGULAR_TOL times Hadamard's bound (a numerically singular element), or two
 *    vertices have dets of opposite signs: det B is a polynomial in the factors, continuous
 *    on the connected box, so some element between them is singular (bisection on the
 *    segment between the two vertices reports one);
 * 2. B without ties is singular in that same sense;
 * 3. det B changes sign along a path of points with F = 0: one coordinate of z moves from
 *    -h to +h around the point, the inputs follow by Gauss-Newton, every point of the
 *    discretized path has F = 0, satisfies the requires and has the same kink factors (one
 *    smooth piece: det B is continuous along it), so det B = 0 somewhere on it;
 * 4. a zero that det B touches without changing sign (y + sin(y) - x at y = pi): along some
 *    such path |det B| at the point is at most TOUCH_RATIO times its value at both ends.
 *    This is the one numerical judgement: det B is 0 within rounding at a point of a path
 *    on which it is otherwise well away from 0 on both sides; a function bounded away from 0
 *    that decays (exp) has no such point, as one side is smaller still.
 * Work is capped at MAX_GENERAL_WORK node evaluations; models beyond it stay unsearched.
 */
export function searchCounterexampleGeneral(model: IrModel, jac: Jacobians, options: SearchOptions = {}): Counterexample | null {
  const g = model.graph;
  if (model.residual.length === 0 || model.unknowns.length === 0) return null;
  if (options.searchData === false && model.data.length > 0) return null;
  const residualNodes = model.residual.map((r) => r.node);
  const tangents = jac.bTangents;
  // Matrices are data whose values decide (a DEQ's W, a Lasso's X, a QP's Q): a B that reads
  // one is singular for some matrices and not for others, which the guard or the run-time
  // test decides on the actual values. `violated` is claimed only where no matrix value is
  // needed to reach the singular B.
  const readsMatrix = cone(g, tangents.filter((t): t is NodeId => t !== null)).some((id) => g.node(id).op === 'input' && g.shape(id).length === 2 && (g.node(id) as { role?: string }).role !== 'seed');
  if (readsMatrix) return null;
  const operations = cone(g, [...residualNodes, ...tangents.filter((t): t is NodeId => t !== null), ...model.requires.map((r) => r.node)]);
  if (operations.length > MAX_SEARCH_OPERATIONS) return null;
  const cost = operations.length;
  let work = 0;
  const spend = () => {
    work += cost;
    if (work > MAX_GENERAL_WORK) throw new OutOfWork();
  };
  const factorNodes = operations.filter((id) => {
    const n = g.node(id);
    return n.op !== 'input' && n.op !== 'const' && primitive(n.op).structure.kinkFactor !== undefined;
  });
  const factorArgs = factorNodes.flatMap((f) => g.node(f).args);
  const requires = model.requires.map((r) => r.node);
  const rng = mulberry32(0x1a2b3c);
  // The ranges the `require` clauses state, for phase 3.
  const bounds = new Bounds(model);

  const search = (dims: Record<string, number>): Counterexample | null => {
    // The layout of z: the unknowns, then the params and data.
    const vars: Variable[] = [];
    let offset = 0;
    const add = (name: string, role: Variable['role'], shape: Shape) => {
      const s = concreteShape(shape, dims);
      const size = s.reduce((a, b) => a * b, 1);
      vars.push({ name, role, shape: s, offset, size });
      offset += size;
    };
    for (const u of model.unknowns) add(u.name, 'unknown', u.shape);
    const N = offset;
    for (const p of model.params) add(p.name, 'param', p.shape);
    for (const d of model.data) add(d.name, 'data', d.shape);
    const total = offset;
    const m = total - N;
    if (N > MAX_UNKNOWN_SCALARS || m > MAX_INPUT_SCALARS) return null;
    const blockSizes = residualNodes.map((r) => concreteShape(g.shape(r), dims).reduce((a, b) => a * b, 1));
    if (blockSizes.reduce((a, b) => a + b, 0) !== N) return null;
    const allInputs = Array.from({ length: m }, (_, i) => N + i);
    /** Coordinates held where they are (an input at an end of its stated range): never moved. */
    const pinned = new Set<number>();
    const movable = () => allInputs.filter((i) => !pinned.has(i));

    const seedTensors = (column: number): Record<string, Tensor> => {
      const out: Record<string, Tensor> = Object.create(null);
      for (const v of vars) {
        if (v.role !== 'unknown') continue;
        const data = new Float64Array(v.size);
        if (column >= v.offset && column < v.offset + v.size) data[column - v.offset] = 1;
        out[`d${v.name}`] = { shape: v.shape, data };
      }
      return out;
    };
    const bind = (z: Float64Array, column = -1): Bindings => {
      const inputs: Record<string, Tensor> = Object.create(null);
      Object.assign(inputs, seedTensors(column));
      for (const v of vars) inputs[v.name] = { shape: v.shape, data: z.slice(v.offset, v.offset + v.size) };
      return { dims, inputs };
    };
    const finite = (a: ArrayLike<number>) => Array.prototype.every.call(a, Number.isFinite) as boolean;
    const residual = (z: Float64Array): Float64Array | null => {
      spend();
      try {
        const values = evaluate(g, residualNodes, bind(z));
        const out = new Float64Array(N);
        let k = 0;
        values.forEach((t, i) => {
          for (let j = 0; j < blockSizes[i]; j++) out[k++] = t.data.length === 1 ? t.data[0] : t.data[j];
        });
        return finite(out) ? out : null;
      } catch (e) {
        if (e instanceof OutOfWork) throw e;
        return null;
      }
    };
    const admissible = (z: Float64Array): boolean => {
      if (requires.length === 0) return true;
      spend();
      try {
        return evaluate(g, requires, bind(z)).every((t) => t.data.every((v) => v !== 0));
      } catch (e) {
        if (e instanceof OutOfWork) throw e;
        return false;
      }
    };
    /** B with the given kink factor values (null: as evaluated). */
    const bAt = (z: Float64Array, overrides: ReadonlyMap<NodeId, Tensor> = new Map()): number[][] | null => {
      const B = Array.from({ length: N }, () => new Array<number>(N).fill(0));
      for (let c = 0; c < N; c++) {
        spend();
        let values: Tensor[];
        try {
          values = evaluate(g, tangents.filter((t): t is NodeId => t !== null), bind(z, c), overrides);
        } catch (e) {
          if (e instanceof OutOfWork) throw e;
          return null;
        }
        let row = 0;
        let k = 0;
        tangents.forEach((t, i) => {
          if (t !== null) {
            const d = values[k++].data;
            for (let j = 0; j < blockSizes[i]; j++) B[row + j][c] = d.length === 1 ? d[0] : d[j];
          }
          row += blockSizes[i];
        });
      }
      return B.every(finite) ? B : null;
    };
    const probe = (z: Float64Array): Probe | null => {
      const F = residual(z);
      if (!F) return null;
      let factors: Tensor[] = [];
      const ties: Tie[] = [];
      if (factorNodes.length) {
        spend();
        try {
          const values = evaluate(g, [...factorNodes, ...factorArgs], bind(z));
          factors = values.slice(0, factorNodes.length);
          let next = factorNodes.length;
          factorNodes.forEach((f, i) => {
            const n = g.node(f);
            const args = values.slice(next, (next += n.args.length));
            const spec = primitive(n.op).structure.kinkFactor!;
            const kink = primitive(spec.of).kink;
            const gap = kink?.kinkGap(args);
            const size = factors[i].data.length;
            if (!gap) return;
            for (let e = 0; e < size; e++) {
              // A switch's gap is (distances, jumps): a tie only where its branches agree.
              const tied = kink!.switch
                ? gap.length === 2 * size && Math.abs(gap[e]) < TIE && Math.abs(gap[size + e]) < TIE
                : gap.length === size && Math.abs(gap[e]) < TIE;
              if (tied) ties.push({ factor: f, element: e, lo: spec.range[0], hi: spec.range[1] });
            }
          });
        } catch (e) {
          if (e instanceof OutOfWork) throw e;
          return null;
        }
      }
      const B = bAt(z);
      if (!B) return null;
      return { z, F, factors, ties, B, det: det(B), hadamard: hadamard(B) };
    };
    const onSurface = (z: Float64Array, F: Float64Array) => normInf(F) <= RESIDUAL_TOL * (1 + normInf(z)) && normInf(z) <= BOX;

    /** Gauss-Newton with minimum-norm steps on the coordinates `free` of z, to F = 0. */
    const toSurface = (start: Float64Array, free: readonly number[], iterations = 12): { z: Float64Array; F: Float64Array } | null => {
      let z = Float64Array.from(start);
      let F = residual(z);
      if (!F || free.length === 0) return F && onSurface(z, F) ? { z, F } : null;
      for (let it = 0; it < iterations; it++) {
        if (onSurface(z, F)) {
          // One more step polishes a residual that rounding allows to be smaller still.
          if (normInf(F) === 0 || it > 0) return { z, F };
        }
        const J = fdJacobian((w) => residual(w), z, F, free);
        if (!J) return null;
        const step = minNormStep(J, F);
        if (!step) return null;
        let t = 1;
        let moved = false;
        for (let k = 0; k < 12 && !moved; k++, t /= 2) {
          const w = Float64Array.from(z);
          free.forEach((idx, i) => (w[idx] -= t * step[i]));
          const Fw = residual(w);
          if (Fw && normInf(Fw) < normInf(F)) {
            z = w;
            F = Fw;
            moved = true;
          }
        }
        if (!moved) break;
      }
      return onSurface(z, F) ? { z, F } : null;
    };

    /** Damped Newton with minimum-norm steps on (F, det B) = 0 over all of z. */
    const toSingular = (start: Float64Array, iterations = 60): Float64Array | null => {
      const G = (w: Float64Array): Float64Array | null => {
        const F = residual(w);
        if (!F) return null;
        const B = bAt(w);
        if (!B) return null;
        const out = new Float64Array(N + 1);
        out.set(F);
        out[N] = det(B);
        return finite(out) ? out : null;
      };
      const all = Array.from({ length: total }, (_, i) => i).filter((i) => !pinned.has(i));
      let z = Float64Array.from(start);
      let Gz = G(z);
      if (!Gz) return null;
      for (let it = 0; it < iterations; it++) {
        if (normInf(Gz) === 0) break;
        // Central differences: at a zero that det B touches, its slope is as small as the
        // distance to it, and one-sided differences would stall Newton far from it.
        const J = fdJacobian(G, z, Gz, all, true);
        if (!J) return null;
        const step = minNormStep(J, Gz);
        if (!step) return null;
        // Steps of 1, 1/2, ...; after a full step also the double step, kept where it does
        // better: it converges on a zero that det B touches (of multiplicity 2), where
        // Newton's own step only halves the distance.
        let moved = false;
        for (const t of [1, 0.5, 0.25, 0.125, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]) {
          const tries = t === 1 ? [1, 2] : [t];
          for (const u of tries) {
            const w = Float64Array.from(z);
            all.forEach((idx, i) => (w[idx] -= u * step[i]));
            if (normInf(w) > BOX) continue;
            const Gw = G(w);
            if (Gw && normInf(Gw) < normInf(Gz)) {
              z = w;
              Gz = Gw;
              moved = true;
            }
          }
          if (moved) break;
        }
        if (!moved) break;
      }
      // Back onto F = 0 through the inputs alone (det B moves little with them).
      return toSurface(z, movable())?.z ?? z;
    };

    const describe = (z: Float64Array): Record<string, number> => {
      const point: Record<string, number> = Object.create(null);
      for (const [name, size] of Object.entries(dims)) point[name] = size;
      for (const v of vars) {
        if (v.shape.length === 0) point[v.name] = tidy(z[v.offset]);
        else for (let i = 0; i < v.size; i++) point[`${v.name}[${indexText(i, v.shape)}]`] = tidy(z[v.offset + i]);
      }
      return point;
    };
    const where = (z: Float64Array) => Object.entries(describe(z)).map(([k, v]) => `${k} = ${fmtNum(v)}`).join(', ');

    /** Tests 1 and 2 at a point on F = 0 (the requires already checked). */
    const decideAt = (p: Probe): Counterexample | null => {
      // Without ties a B computed singular is no proof by itself: 1 - tanh(y)^2 is 0 in
      // floating point from y = 20 on, and exp(1000 y) underflows; the path tests decide.
      if (p.ties.length === 0) return null;
      const ties = p.ties;
      const count = Math.min(ties.length, Math.floor(Math.log2(MAX_VERTICES)));
      if (ties.length > count) return null;
      const overridesFor = (values: readonly number[]) => {
        const map = new Map<NodeId, Tensor>();
        ties.forEach((t, i) => {
          let tensor = map.get(t.factor);
          if (!tensor) {
            const base = p.factors[factorNodes.indexOf(t.factor)];
            tensor = { shape: base.shape, data: Float64Array.from(base.data) };
            map.set(t.factor, tensor);
          }
          tensor.data[t.element] = values[i];
        });
        return map;
      };
      const vertices: { values: number[]; B: number[][]; det: number }[] = [];
      for (let mask = 0; mask < 1 << ties.length; mask++) {
        const values = ties.map((t, i) => (mask & (1 << i) ? t.hi : t.lo));
        const B = bAt(p.z, overridesFor(values));
        if (!B) continue;
        vertices.push({ values, B, det: det(B) });
      }
      // A vertex whose det B vanishes relative to the largest over the box: the factors make
      // B singular there (a saturated smooth part, 0 at every vertex, does not count).
      const largest = Math.max(0, ...vertices.map((v) => Math.abs(v.det)));
      const zero = vertices.find((v) => Math.abs(v.det) <= SINGULAR_TOL * largest);
      if (largest > 0 && zero) {
        return {
          point: describe(p.z),
          B: zero.B,
          why: `F = 0 at ${where(p.z)}, where ${tiesText(ties.length)} and the element with the kink factors at ${zero.values.map(fmtNum).join(', ')} is singular (det B = ${fmtNum(zero.det)}, against ${fmtNum(largest)} at another vertex)`,
        };
      }
      const pos = vertices.find((v) => v.det > 0 && clearOfZero(v.det, hadamard(v.B)));
      const neg = vertices.find((v) => v.det < 0 && clearOfZero(v.det, hadamard(v.B)));
      if (!pos || !neg) return null;
      // det B is continuous along the segment between the two vertices: bisect to an element.
      let lo = 0;
      let hi = 1;
      let B = pos.B;
      for (let k = 0; k < 40; k++) {
        const t = 0.5 * (lo + hi);
        const Bt = bAt(p.z, overridesFor(pos.values.map((v, i) => v + t * (neg.values[i] - v))));
        if (!Bt) break;
        B = Bt;
        const d = det(Bt);
        if (d === 0) break;
        if (d > 0) lo = t;
        else hi = t;
      }
      return {
        point: describe(p.z),
        B: B.map((row) => row.map(tidy)),
        why: `F = 0 at ${where(p.z)}, where ${tiesText(ties.length)}: det B is ${fmtNum(pos.det)} at one vertex of the kink factors' box and ${fmtNum(neg.det)} at another, so an element in between is singular`,
      };
    };

    /** Tests 3 and 4 around a point on F = 0 with det B near 0. */
    const decideAlongPaths = (p: Probe): Counterexample | null => {
      const signature = (q: Probe) => q.factors.map((t) => Array.from(t.data).join(',')).join(';');
      const here = signature(p);
      // Test 3 along every coordinate first (a proof by continuity), then test 4.
      for (const test of ['sign', 'touch'] as const) {
        for (let coord = 0; coord < total; coord++) {
          if (pinned.has(coord)) continue;
          const free = movable().filter((i) => i !== coord);
          const at = (s: number): Probe | null => {
            const w = Float64Array.from(p.z);
            w[coord] += s;
            const r = toSurface(w, free);
            if (!r || r.z[coord] !== w[coord] || !admissible(r.z)) return null;
            const q = probe(r.z);
            return q && q.ties.length === 0 && signature(q) === here ? q : null;
          };
          for (const h of [0.3, 0.1, 0.01]) {
            const minus = at(-h);
            const plus = at(h);
            if (!minus || !plus || !clearOfZero(minus.det, minus.hadamard) || !clearOfZero(plus.det, plus.hadamard)) continue;
            // Test 3: opposite signs at the ends, F = 0 and one smooth piece all along.
            if (test === 'sign' && Math.sign(minus.det) * Math.sign(plus.det) < 0) {
              let path = true;
              for (let k = 1; k < 8 && path; k++) path = at(-h + (2 * h * k) / 8) !== null;
              if (path) {
                return {
                  point: describe(p.z),
                  B: p.B,
                  why: `F = 0 at ${where(p.z)}, where det B = ${fmtNum(p.det)}; det B changes sign (${fmtNum(minus.det)} to ${fmtNum(plus.det)}) along a path of solutions through it, so some point of it has a singular B`,
                };
              }
            }
            // Test 4: a zero det B touches, clear of 0 on both sides.
            const side = Math.min(Math.abs(minus.det), Math.abs(plus.det));
            if (test === 'touch' && p.ties.length === 0 && Math.abs(p.det) <= TOUCH_RATIO * side) {
              return {
                point: describe(p.z),
                B: p.B,
                why: `F = 0 at ${where(p.z)}, where det B = ${fmtNum(p.det)}, 0 within rounding: det B touches 0 there (it is at least ${fmtNum(side)} at distance ${h} on both sides along a path of solutions)`,
              };
            }
          }
        }
      }
      return null;
    };

    const accept = (z: Float64Array): Probe | null => {
      const p = probe(z);
      return p && onSurface(p.z, p.F) && admissible(p.z) ? p : null;
    };
    /**
     * A decision at z, made again with the coordinates within 1e-9 of a multiple of 1e-6 put
     * there, where that passes the same tests (y = 0 rather than y = -4e-13): the reported
     * point is then exact where it can be.
     */
    const decide = (z: Float64Array, test: (p: Probe) => Counterexample | null): Counterexample | null => {
      const p = accept(z);
      const found = p && test(p);
      if (!found) return null;
      const snapped = z.map(snap);
      if (snapped.every((v, i) => v === z[i])) return found;
      const q = accept(snapped);
      return (q && test(q)) ?? found;
    };

    /** Phases 1 and 2; `fix` sets the pinned coordinates of every start. */
    const phases = (fix?: (z: Float64Array) => void): Counterexample | null => {
      // Phase 1: structured y, random inputs made to fit.
      const grid = [0, 0.5, -0.5, 1, -1, 2, -2];
      const candidates: Float64Array[] = [];
      for (const v of grid) candidates.push(new Float64Array(N).fill(v));
      for (let k = 0; k < 6; k++) candidates.push(Float64Array.from({ length: N }, () => (rng() < 0.4 ? 0 : grid[1 + Math.floor(rng() * (grid.length - 1))])));
      const seen: Probe[] = [];
      for (const y of candidates) {
        for (const start of ['half', 'random'] as const) {
          const z = new Float64Array(total);
          z.set(y);
          for (let i = N; i < total; i++) z[i] = start === 'half' ? 0.5 : 2 * rng() - 1;
          fix?.(z);
          const r = toSurface(z, movable());
          if (!r) continue;
          const p = accept(r.z);
          if (!p) continue;
          if (decideAt(p)) return decide(p.z, decideAt);
          seen.push(p);
        }
      }
      // Phase 2: Newton on F = 0, det B = 0 from the points of least relative |det B|.
      // For a scalar B the ratio is 1 (or 0): |B| itself orders the starts.
      const rel = (p: Probe) => (N === 1 ? Math.abs(p.det) : p.hadamard > 0 ? Math.abs(p.det) / p.hadamard : 0);
      seen.sort((a, b) => rel(a) - rel(b));
      const tried = new Set<string>();
      for (const p of seen.slice(0, 4)) {
        const key = Array.from(p.z).map((v) => (Math.abs(v) < 1e-12 ? '0' : v.toPrecision(6))).join(',');
        if (tried.has(key)) continue;
        tried.add(key);
        const z = toSingular(p.z);
        if (!z) continue;
        const found = decide(z, (q) => decideAt(q) ?? decideAlongPaths(q));
        if (found) return found;
      }
      return null;
    };

    const found = phases();
    if (found) return found;
    // Phase 3: a scalar input held at an end of the range its `require` states (a = 0 under
    // `0 <= a <= 2`, c = 0 under `c >= 0`), where B often reaches 0 first; phases 1 and 2 again.
    for (const v of vars) {
      if (v.role === 'unknown' || v.size !== 1) continue;
      const node = [...model.params, ...model.data].find((x) => x.name === v.name)?.node;
      if (node === undefined) continue;
      for (const end of new Set(bounds.interval(node))) {
        // Only an end the clause states as written (`a >= 0`): a strict one (`abs(k) < 1`) is
        // stored as the double next to it, never attained, and a point there only comes close
        // to a singular B (1 - k^2 = 2^-52, which no numerical test tells from 0).
        if (!Number.isFinite(end) || Math.abs(end) > BOX || !statedEnd(end)) continue;
        pinned.clear();
        pinned.add(v.offset);
        try {
          const hit = phases((z) => {
            z[v.offset] = end;
          });
          if (hit) return hit;
        } finally {
          pinned.clear();
        }
      }
    }
    return null;
  };

  try {
    const names = model.dims.map((d) => d.name);
    const sizes = names.length === 0 ? [1] : [1, 2, 3];
    for (const size of sizes) {
      const dims: Record<string, number> = Object.create(null);
      for (const n of names) dims[n] = size;
      const found = search(dims);
      if (found) return found;
    }
  } catch (e) {
    if (!(e instanceof OutOfWork)) throw e;
  }
  return null;
}

/** A number as a clause writes it: 0, or a decimal of at most 12 digits (not the double next to one). */
function statedEnd(x: number): boolean {
  return x === 0 || (Math.abs(x) >= 1e-300 && Number(x.toPrecision(12)) === x);
}

function tiesText(count: number): string {
  return `${count} kink${count === 1 ? ' is' : 's are'} at a tie`;
}

/** A det whose sign rounding cannot have made: well above Hadamard's bound times 1e-9. */
function clearOfZero(d: number, bound: number): boolean {
  return Math.abs(d) >= 1e-9 * Math.max(bound, 1e-3);
}

function normInf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Forward differences of f at z along the coordinates `free`: rows are f's entries. */
function fdJacobian(f: (z: Float64Array) => Float64Array | null, z: Float64Array, fz: Float64Array, free: readonly number[], central = false): number[][] | null {
  const J = Array.from({ length: fz.length }, () => new Array<number>(free.length).fill(0));
  for (let c = 0; c < free.length; c++) {
    const idx = free[c];
    const h = (central ? 1e-5 : 1e-7) * Math.max(1, Math.abs(z[idx]));
    const w = Float64Array.from(z);
    w[idx] += h;
    const fw = f(w);
    if (!fw) return null;
    let fv = fz;
    if (central) {
      const v = Float64Array.from(z);
      v[idx] -= h;
      const got = f(v);
      if (!got) return null;
      fv = got;
    }
    for (let r = 0; r < fz.length; r++) J[r][c] = (fw[r] - fv[r]) / (central ? 2 * h : h);
  }
  return J;
}

/** The minimum-norm solution s of J s = r (J J' w = r, s = J' w, lightly regularized). */
function minNormStep(J: number[][], r: Float64Array): number[] | null {
  const rows = J.length;
  const cols = J[0]?.length ?? 0;
  const M = Array.from({ length: rows }, (_, i) => Array.from({ length: rows }, (_, j) => J[i].reduce((s, v, k) => s + v * J[j][k], 0)));
  const trace = M.reduce((s, row, i) => s + row[i], 0);
  if (!(trace > 0)) return null;
  for (let i = 0; i < rows; i++) M[i][i] += 1e-13 * trace;
  const w = solve(M, Array.from(r));
  if (!w) return null;
  return Array.from({ length: cols }, (_, k) => w.reduce((s, wi, i) => s + wi * J[i][k], 0));
}

/** Gaussian elimination with partial pivoting; null when singular. */
function solve(A: number[][], b: number[]): number[] | null {
  const n = A.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (M[p][c] === 0) return null;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x.every(Number.isFinite) ? x : null;
}

/** det B by elimination with partial pivoting. */
export function det(B: readonly (readonly number[])[]): number {
  const n = B.length;
  const M = B.map((row) => [...row]);
  let d = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (M[p][c] === 0) return 0;
    if (p !== c) {
      [M[c], M[p]] = [M[p], M[c]];
      d = -d;
    }
    d *= M[c][c];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k < n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return d;
}

/** Hadamard's bound on |det B|: the product of the column norms. */
function hadamard(B: readonly (readonly number[])[]): number {
  let h = 1;
  for (let c = 0; c < B.length; c++) h *= Math.hypot(...B.map((row) => row[c]));
  return h;
}

/** Row-major element i of a tensor of this shape, as indices (`1,0`). */
function indexText(i: number, shape: readonly number[]): string {
  const out: number[] = [];
  for (let k = shape.length - 1; k >= 0; k--) {
    out.unshift(i % shape[k]);
    i = Math.floor(i / shape[k]);
  }
  return out.join(',');
}

function snap(x: number): number {
  const r = Math.round(x * 1e6) / 1e6;
  return Math.abs(r - x) <= 1e-9 ? tidy(r) : x;
}

function tidy(x: number): number {
  return Object.is(x, -0) ? 0 : x;
}

function fmtNum(x: number): string {
  if (x === 0) return '0';
  return Math.abs(x) >= 1e-4 && Math.abs(x) < 1e6 ? String(Number(x.toPrecision(6))) : x.toExponential(3);
}

/** A small deterministic generator: the search's random starts are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
