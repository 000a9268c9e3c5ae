import { flat, op, sumTerms, unbroadcast } from './build.ts';
import { boxRules, reluKink, reluRules } from './kink-factors.ts';
import * as rules from './shape-rules.ts';
import type { Builder, NodeId, PrimitiveSpec } from './types.ts';

// Euclidean projections onto closed convex sets: 1-Lipschitz, and every element of their
// conservative Jacobian is symmetric PSD with norm <= 1 (MATH.md section 6). The diagonal
// ones share relu's and clip's kink factors; the others differentiate through a dedicated
// internal Jacobian-vector product (symmetric, so it also serves the VJP). Values, Jacobian
// products and kink gaps are the runtime's kernels of the same names
// (src/runtime/values/projections.ts).

/** Rules of a projection `name(v)` whose Jacobian product is the internal `jvp(v, t)`. */
function symmetricJacobian(jvp: string): Pick<PrimitiveSpec, 'jvp' | 'vjp'> {
  return {
    jvp: (g, node, [dv]) => (dv === null ? null : op(g, jvp, node.args[0], dv)),
    vjp: (g, node, ct) => [op(g, jvp, node.args[0], ct)],
  };
}

/** A Jacobian-vector product primitive: linear in its last argument, piecewise constant in the others. */
function linearInLast(name: string): Pick<PrimitiveSpec, 'jvp' | 'vjp'> {
  return {
    jvp: (g, node, tangents) => {
      const dt = tangents[tangents.length - 1];
      return dt === null ? null : op(g, name, ...node.args.slice(0, -1), dt);
    },
    vjp: (g, node, ct) => [...node.args.slice(0, -1).map(() => null), op(g, name, ...node.args.slice(0, -1), ct)],
  };
}

const l1BallJvp = (g: Builder, v: NodeId, r: NodeId, t: NodeId) => op(g, 'proj_l1ball_jvp', v, r, t);

export const projections: PrimitiveSpec[] = [
  {
    name: 'proj_nonneg', interval: ([a]) => [Math.max(a[0], 0), Math.max(a[1], 0)], surface: 'function', params: ['v'], summary: 'projection onto the nonnegative orthant', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, projection: 'nonneg', prox: { penalty: 'box', lower: 'zero', upper: null } },
    ...reluRules, kink: reluKink,
  },
  {
    name: 'proj_box', interval: ([, lo, hi]) => [lo[0], hi[1]], surface: 'function', params: ['v', 'lo', 'hi'], summary: 'projection onto the box [lo, hi]', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.elementwise, structure: { elementwise: true, nonexpansive: true, monotone: true, projection: 'box', prox: { penalty: 'box', lower: 1, upper: 2 } },
    ...boxRules,
  },
  {
    name: 'proj_simplex', interval: () => [0, 1], surface: 'function', params: ['v'], summary: 'projection onto the probability simplex (sparsemax)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true, projection: 'simplex' },
    ...symmetricJacobian('proj_simplex_jvp'),
    kink: {
      condition: 'v_i = tau for an entry i (it enters or leaves the support)',
      used: 'the smaller face: tied entries are left out of the support',
      range: null, rangeText: 'hull of face projections (supports between S and S with the ties)',
      // |v_i - tau| per entry.
      factor: null, selection: 'proj_simplex_jvp', gap: 'proj_simplex',
    },
  },
  {
    name: 'proj_l1ball', surface: 'function', params: ['v', 'r'], summary: 'projection onto the l1 ball of radius r', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true, projection: 'l1ball' },
    jvp: (g, node, [dv, dr]) => {
      const [v, r] = node.args;
      const byR = dr === null ? null : op(g, 'mul', op(g, 'proj_l1ball_dr', v, r), dr);
      return sumTerms(g, node.id, [dv === null ? null : l1BallJvp(g, v, r, dv), byR]);
    },
    vjp: (g, node, ct) => {
      const [v, r] = node.args;
      return [l1BallJvp(g, v, r, ct), unbroadcast(g, op(g, 'dot', op(g, 'proj_l1ball_dr', v, r), ct), r)];
    },
    kink: {
      condition: '|v|_1 = r (the ball boundary), or |v_i| = tau outside the ball',
      used: 'the identity on the boundary |v|_1 = r; outside, tied entries are left out of the support',
      range: null, rangeText: 'hull of face projections (the identity and the signed-simplex faces)',
      // Inside: r - |v|_1 for every entry; outside: min(||v_i| - tau|, |v|_1 - r).
      factor: null, selection: 'proj_l1ball_jvp', gap: 'proj_l1ball',
    },
  },
  {
    name: 'proj_soc', surface: 'function', params: ['v'], summary: 'projection onto the second-order cone {(t, x): |x| <= t}, v = (t, x)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true, projection: 'soc' },
    ...symmetricJacobian('proj_soc_jvp'),
    kink: {
      condition: '|x| = t or |x| = -t (v on the boundary of the cone or of its polar)',
      used: 'the boundary piece (1/2)[[1, w^T], [w, 2I - w w^T]] on |x| = t > 0; 0 on |x| = -t and at v = 0',
      range: null, rangeText: "hull of the cone's one-sided pieces (I, 0 and the boundary piece)",
      // min(| |x| - t |, | |x| + t |), shared by every entry.
      factor: null, selection: 'proj_soc_jvp', gap: 'proj_soc',
    },
  },
  {
    name: 'proj_simplex_jvp', surface: 'internal', params: ['v', 't'], summary: 'sparsemax Jacobian at v times t: (diag(s) - s s^T / |S|) t, support S = {v_i > tau} (ties left out)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where the support of proj_simplex(v) changes', shape: rules.vectorJvp, structure: {},
    ...linearInLast('proj_simplex_jvp'),
  },
  {
    name: 'proj_l1ball_jvp', surface: 'internal', params: ['v', 'r', 't'], summary: 'Jacobian (w.r.t. v) of proj_l1ball at (v, r) times t: I inside and on the boundary, else the signed sparsemax face (ties left out)', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where the face of proj_l1ball(v, r) changes', shape: rules.vectorJvp, structure: {},
    ...linearInLast('proj_l1ball_jvp'),
  },
  {
    name: 'proj_l1ball_dr', surface: 'internal', params: ['v', 'r'], summary: 'derivative of proj_l1ball w.r.t. r: sign(v_i) / |S| on the support outside the ball, 0 inside', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where the face of proj_l1ball(v, r) changes', shape: rules.vectorMap, structure: {},
    ...flat,
  },
  {
    name: 'proj_soc_jvp', surface: 'internal', params: ['v', 't'], summary: 'Jacobian of proj_soc at v times t (I inside, 0 on the polar cone and at 0, the boundary piece elsewhere); first-order only', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps on the boundaries of the cone and its polar', shape: rules.vectorJvp, structure: {},
  },
];
