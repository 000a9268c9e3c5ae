import { real, sameShape, showType, type ValueType } from '../ir/shape.ts';
import { op, sumTerms, unbroadcast } from './build.ts';
import type { PrimitiveSpec, ShapeResult } from './types.ts';

// The group primitives: they read group labels, `data g: index[p]` (one positive integer id
// per entry; src/runtime/values/groups.ts has the kernels). The checker lets an `index` value
// appear only as the labels argument of these (INDEX_PARAMS); in the IR the labels are an
// input like any data, so the shape rules here accept labels of kind `index` or `real` (the
// test harness builds graphs of real inputs), never a condition.
//
// block_soft_threshold(v, t, g) is the prox of t_+ sum_G ||v_G||_2 (group Lasso), t_+ = max(t, 0):
// per group G, v_G max(0, 1 - t_+ / ||v_G||_2). For t >= 0 this is the prox of a convex
// function; for t < 0 it is the identity (t sum ||v_G|| is not convex there and has no prox; the
// clamp keeps the map globally Lipschitz and its Jacobian a prox's). Its Jacobian in v, per
// group with n = ||v_G||: 0 for n < t; (1 - t/n) I + t v_G v_G^T / n^3 for n > t >= 0
// (eigenvalues 1 - t/n, and 1 along v_G); I for t < 0. Every element of the conservative
// set (the pieces and their hulls, below) is symmetric with spectrum in [0, 1]: nonexpansive
// and monotone in v. In t: -v_G / n for n > t >= 0, else 0.
//
// Structure facts: `nonexpansive` and `monotone` (w.r.t. argument 0) hold at every element.
// No `projection` fact: src/analysis/monotone-prox.ts would read it soundly (J symmetric,
// 0 <= J <= I), but the fact names a set (`StructureFacts.projection` is a closed list, and
// src/analysis/structure.ts dispatches the run-time face certificate on it), which a prox of a
// norm is not. No `prox` fact: src/analysis/composite.ts knows only separable l1 and box
// penalties (its coordinate descent solves row by row), and the group norm is not separable.
// The certification of a group-Lasso fixpoint is therefore the general one (weaker, sound).

/** Which arguments of which primitive are group labels: the only places an `index` value may appear (src/check/check.ts). */
export const INDEX_PARAMS: Readonly<Record<string, readonly number[]>> = Object.freeze({
  block_soft_threshold: [2],
  block_soft_threshold_jvp: [2],
  block_soft_threshold_dt: [2],
});

/** Whether argument `i` of primitive `name` is a group-labels argument. */
export function isIndexParam(name: string, i: number): boolean {
  return Object.hasOwn(INDEX_PARAMS, name) && INDEX_PARAMS[name].includes(i);
}

/** `f(v, t, g[, dv])`: v a vector, t a scalar, g labels of v's shape, dv (a tangent) of v's shape. */
function groupShape(args: readonly ValueType[]): ShapeResult {
  const [v, t, g] = args;
  if (v.kind !== 'real') return { ok: false, code: 'E0206', arg: 0, message: `expected a value, found ${showType(v)}` };
  if (v.shape.length !== 1) return { ok: false, code: 'E0203', arg: 0, message: `expected a vector, found ${showType(v)}` };
  if (t.kind !== 'real') return { ok: false, code: 'E0206', arg: 1, message: `expected a value, found ${showType(t)}` };
  if (t.shape.length !== 0 && !t.shape.every((d) => d === 1)) return { ok: false, code: 'E0203', arg: 1, message: `expected a scalar threshold, found ${showType(t)}` };
  if (g.kind === 'bool') return { ok: false, code: 'E0206', arg: 2, message: `expected group labels (index[${v.shape[0]}]), found ${showType(g)}` };
  if (!sameShape(g.shape, v.shape)) {
    return { ok: false, code: 'E0201', arg: 2, message: `group labels ${showType(g)} do not match ${showType(v)}`, help: 'one label per entry: `data g: index[p]` for `v: real[p]`' };
  }
  for (let i = 3; i < args.length; i++) {
    if (args[i].kind !== 'real' || !sameShape(args[i].shape, v.shape)) return { ok: false, code: 'E0201', arg: i, message: `tangent ${showType(args[i])} does not match ${showType(v)}` };
  }
  return { ok: true, type: real(v.shape) };
}

export const groups: PrimitiveSpec[] = [
  {
    name: 'block_soft_threshold', surface: 'function', params: ['v', 't', 'g'],
    summary: 'block soft thresholding (group Lasso prox): per group G of the labels g, v_G max(0, 1 - max(t, 0) / |v_G|_2)',
    // Each entry is v_i times a factor in [0, 1].
    interval: ([v]) => [Math.min(v[0], 0), Math.max(v[1], 0)],
    definability: 'semialgebraic', lipschitz: 'globally', shape: groupShape, structure: { nonexpansive: true, monotone: true },
    jvp: (g, node, [dv, dt]) => {
      const [v, t, labels] = node.args;
      const byT = dt === null ? null : op(g, 'mul', op(g, 'block_soft_threshold_dt', v, t, labels), dt);
      return sumTerms(g, node.id, [dv === null ? null : op(g, 'block_soft_threshold_jvp', v, t, labels, dv), byT]);
    },
    vjp: (g, node, ct) => {
      const [v, t, labels] = node.args;
      return [op(g, 'block_soft_threshold_jvp', v, t, labels, ct), unbroadcast(g, op(g, 'dot', op(g, 'block_soft_threshold_dt', v, t, labels), ct), t), null];
    },
    kink: {
      condition: '|v_G|_2 = t >= 0 for a group G (it enters or leaves the support), or t = 0',
      used: 'the zero piece on |v_G|_2 = t (J_v = 0, J_t = 0); at t = 0 < |v_G|_2 the piece above (J_v = I, J_t = -u)',
      range: null,
      rangeText: 'per group, with u = v_G / |v_G|: on |v_G| = t > 0 the hull of (J_v, J_t) = (0, 0) and (u u^T, -u); on t = 0 < |v_G| the hull of (I, 0) and (I, -u); at v_G = 0, t = 0 the hull of (0, 0), (I, 0) and (a I + (1 - a) u u^T, -u) for a in [0, 1] and unit u; groups independent (a product of hulls). Every J_v there is symmetric with spectrum in [0, 1]',
      // Per entry: t < 0 gives -t; t >= 0 gives min(| |v_G|_2 - t |, t).
      factor: null, selection: 'block_soft_threshold_jvp', gap: 'block_soft_threshold',
    },
  },
  {
    name: 'block_soft_threshold_jvp', surface: 'internal', params: ['v', 't', 'g', 'dv'],
    summary: 'Jacobian (w.r.t. v) of block_soft_threshold at (v, t, g) times dv: per group 0 for |v_G| <= t, (1 - t/n) dv_G + t v_G (v_G . dv_G) / n^3 for n = |v_G| > t >= 0, dv_G for t < 0; symmetric; first-order only',
    definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where a group enters or leaves the support (|v_G|_2 = t) and at t = 0', shape: groupShape, structure: {},
  },
  {
    name: 'block_soft_threshold_dt', surface: 'internal', params: ['v', 't', 'g'],
    summary: 'derivative of block_soft_threshold w.r.t. t: -v_G / |v_G|_2 where |v_G|_2 > t >= 0, else 0; first-order only',
    definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where a group enters or leaves the support (|v_G|_2 = t) and at t = 0', shape: groupShape, structure: {},
  },
];
