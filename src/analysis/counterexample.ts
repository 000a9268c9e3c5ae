import { cone } from '../ir/ad.ts';
import { evaluate, type Bindings } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { primitive } from '../primitives/registry.ts';
import type { NodeId, Tensor } from '../primitives/types.ts';
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
