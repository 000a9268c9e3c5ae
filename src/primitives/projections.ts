import { isScalar, real, showType, type ValueType } from '../ir/shape.ts';
import { complement, flat, op, scale, sumTerms, unbroadcast } from './build.ts';
import { diagonalKink, expression } from './elementwise-rules.ts';
import { boxRules, reluKink, reluRules } from './kink-factors.ts';
import * as rules from './shape-rules.ts';
import type { Builder, NodeId, PrimitiveSpec, ShapeResult } from './types.ts';

// Euclidean projections onto closed convex sets: 1-Lipschitz, and every element of their
// conservative Jacobian is symmetric PSD with norm <= 1 (MATH.md section 6). The diagonal
// ones share relu's and clip's kink factors (the l-infinity ball has its own, clip's at
// lo = -r, hi = r); the others (simplex, l1 and l2 balls, cone, PSD cone) differentiate
// through a dedicated internal Jacobian-vector product (symmetric, so it also serves the VJP). Values, Jacobian
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
const l2BallJvp = (g: Builder, v: NodeId, r: NodeId, t: NodeId) => op(g, 'proj_l2ball_jvp', v, r, t);

function realArgs(args: readonly ValueType[]): Extract<ShapeResult, { ok: false }> | null {
  const i = args.findIndex((a) => a.kind !== 'real');
  return i < 0 ? null : { ok: false, code: 'E0206', arg: i, message: `argument ${i + 1} is a condition, expected a value` };
}

/** `f(v, r)`: v of any shape, r a scalar; the value has v's shape (the l-infinity ball). */
function valueAndRadius(args: readonly ValueType[]): ShapeResult {
  const bad = realArgs(args);
  if (bad) return bad;
  if (!isScalar(args[1].shape)) return { ok: false, code: 'E0203', arg: 1, message: `expected a scalar radius, found ${showType(args[1])}` };
  return { ok: true, type: real(args[0].shape) };
}

/** A square matrix [n, n] to one of the same shape (the PSD cone); with a tangent of that shape last. */
function squareMatrix(args: readonly ValueType[]): ShapeResult {
  const bad = realArgs(args);
  if (bad) return bad;
  const s = args[0].shape;
  if (s.length !== 2 || s[0] !== s[1]) {
    return { ok: false, code: 'E0203', arg: 0, message: `expected a square matrix, found ${showType(args[0])}`, help: 'proj_psd projects a symmetric n x n matrix onto the PSD cone' };
  }
  for (let i = 1; i < args.length; i++) {
    const t = args[i].shape;
    if (t.length !== 2 || t[0] !== s[0] || t[1] !== s[1]) return { ok: false, code: 'E0201', arg: i, message: `tangent ${showType(args[i])} does not match ${showType(args[0])}` };
  }
  return { ok: true, type: real(s) };
}

/**
 * proj_linf_ball(v, r) = clip(v, -r, r), with clip's rules at lo = -r, hi = r: with
 * d = proj_linf_ball_d(v, r) (1 strictly inside, 0 at a bound and beyond) the tangent is
 * d vdot + (1 - d) (rdot where the value is r, else -rdot): at a tie the bound takes the
 * weight, and for r < 0 (value r everywhere) so does the upper bound.
 */
const linfBallRules: Pick<PrimitiveSpec, 'jvp' | 'vjp' | 'scalarExpr' | 'kink'> = {
  jvp: (g, node, [dv, dr]) => {
    const [v, r] = node.args;
    const d = op(g, 'proj_linf_ball_d', v, r);
    const bound = dr === null ? null : op(g, 'mul', complement(g, d), op(g, 'select', op(g, 'eq', node.id, r), dr, op(g, 'neg', dr)));
    return sumTerms(g, node.id, [scale(g, d, dv), bound]);
  },
  vjp: (g, node, ct) => {
    const [v, r] = node.args;
    const d = op(g, 'proj_linf_ball_d', v, r);
    const atBound = op(g, 'mul', complement(g, d), ct);
    return [
      unbroadcast(g, op(g, 'mul', d, ct), v),
      unbroadcast(g, op(g, 'select', op(g, 'eq', node.id, r), atBound, op(g, 'neg', atBound)), r),
    ];
  },
  scalarExpr: expression((v, r) => `Math.min(Math.max(${v}, -${r}), ${r})`),
  // Distance from the kink: min(|v - r|, |v + r|).
  kink: diagonalKink({ condition: 'v = r or v = -r', used: '0 (the bound takes the weight)', range: [0, 1], rangeText: '[0, 1]', factor: 'proj_linf_ball_d', gap: 'proj_linf_ball' }),
};

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
    // Jacobian in v: I in the closed ball, (r / |v|)(I - u u^T) outside (u = v / |v|),
    // spectra {1} and {0, r / |v|}: symmetric, in [0, 1]. In r: 0 inside, u outside.
    name: 'proj_l2ball', surface: 'function', params: ['v', 'r'], summary: 'projection onto the l2 ball of radius r: v inside, r v / |v|_2 outside',
    // Each entry lies between 0 and v_i, and |p_i| <= |p|_2 <= r.
    interval: ([v, r]) => {
      const lo = Math.min(v[0], 0);
      const hi = Math.max(v[1], 0);
      return r[0] >= 0 && Number.isFinite(r[1]) ? [Math.max(lo, -r[1]), Math.min(hi, r[1])] : [lo, hi];
    },
    definability: 'semialgebraic', lipschitz: 'globally', shape: rules.vectorMap, structure: { nonexpansive: true, monotone: true, projection: 'l2ball' },
    jvp: (g, node, [dv, dr]) => {
      const [v, r] = node.args;
      const byR = dr === null ? null : op(g, 'mul', op(g, 'proj_l2ball_dr', v, r), dr);
      return sumTerms(g, node.id, [dv === null ? null : l2BallJvp(g, v, r, dv), byR]);
    },
    vjp: (g, node, ct) => {
      const [v, r] = node.args;
      return [l2BallJvp(g, v, r, ct), unbroadcast(g, op(g, 'dot', op(g, 'proj_l2ball_dr', v, r), ct), r)];
    },
    kink: {
      condition: '|v|_2 = r (v on the sphere)',
      used: 'the inside piece: the identity in v, 0 in r',
      range: null, rangeText: 'hull of the two pieces: [I, 0] and [I - u u^T, u] in (v, r), u = v / r (both symmetric in v, spectrum in [0, 1])',
      // | |v|_2 - r |, shared by every entry.
      factor: null, selection: 'proj_l2ball_jvp', gap: 'proj_l2ball',
    },
  },
  {
    name: 'proj_linf_ball', surface: 'function', params: ['v', 'r'], summary: 'projection onto the l-infinity ball of radius r: clip(v, -r, r) entrywise',
    // Increasing in v; max(v, -r) decreases and min(., r) increases in r.
    interval: ([v, r]) => [Math.min(Math.max(v[0], -r[1]), r[0]), Math.min(Math.max(v[1], -r[0]), r[1])],
    definability: 'semialgebraic', lipschitz: 'globally', shape: valueAndRadius, structure: { elementwise: true, nonexpansive: true, monotone: true, projection: 'linf_ball' },
    ...linfBallRules,
  },
  {
    // Daleckii-Krein (MATH.md 3 and 6). With sym(S) = (S + S^T) / 2 = Q diag(l) Q^T and
    // f = max(., 0), P = Q diag(f(l)) Q^T and dP = Q (Gamma .* (Q^T sym(dS) Q)) Q^T, where
    //   Gamma_ij = (f(l_i) - f(l_j)) / (l_i - l_j)  for l_i != l_j (in [0, 1]: f is monotone, 1-Lipschitz),
    //   Gamma_ij = f'(l_i)                          for l_i = l_j.
    // Repeated eigenvalues: P is a smooth function of S there when they are not 0 (f is smooth
    // near them), and the formula holds with Gamma its limit f'(l_i) (Q is any eigenbasis:
    // the operator does not depend on the choice within an eigenspace, Gamma being constant on
    // the block). Zero eigenvalues are the kink: f'(0) has conservative range [0, 1], and the
    // element used is 0 (relu'(0) = 0), so Gamma_ij = 0 where l_i = l_j = 0 and the divided
    // differences elsewhere (1 for l_i > 0 = l_j). The conservative set at S is the hull of the
    // limits of nearby Jacobians (Clarke): Daleckii-Krein operators whose weights on the
    // zero eigenspace are limits of divided differences, in [0, 1]. Each such operator is
    // self-adjoint in the Frobenius inner product with eigenvalues Gamma_ij (eigenvectors
    // q_i q_j^T) and commutes with transposition, so composed with sym it is symmetric with
    // spectrum in [0, 1]: the VJP is the same formula, C -> Q (Gamma .* (Q^T sym(C) Q)) Q^T.
    name: 'proj_psd', surface: 'function', params: ['S'], summary: 'projection of the symmetric part of a square matrix onto the PSD cone (Frobenius norm): Q diag(max(l, 0)) Q^T',
    definability: 'semialgebraic', lipschitz: 'globally', shape: squareMatrix, structure: { nonexpansive: true, monotone: true, projection: 'psd' },
    ...symmetricJacobian('proj_psd_jvp'),
    kink: {
      condition: 'an eigenvalue of sym(S) = (S + S^T) / 2 is 0',
      used: "f'(0) = 0: Gamma_ij = 0 where l_i = l_j = 0 (the divided differences elsewhere)",
      range: null, rangeText: "hull of the Daleckii-Krein operators with weights in [0, 1] on the zero eigenspace (f'(0) in [0, 1]; limits of nearby Jacobians), each symmetric with spectrum in [0, 1]",
      // min_i |l_i|, shared by every entry.
      factor: null, selection: 'proj_psd_jvp', gap: 'proj_psd',
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
  {
    name: 'proj_l2ball_jvp', surface: 'internal', params: ['v', 'r', 't'], summary: 'Jacobian (w.r.t. v) of proj_l2ball at (v, r) times t: t in the closed ball, (r / |v|)(t - u (u . t)) outside, u = v / |v|; first-order only', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps on the sphere |v|_2 = r', shape: rules.vectorJvp, structure: {},
  },
  {
    name: 'proj_l2ball_dr', surface: 'internal', params: ['v', 'r'], summary: 'derivative of proj_l2ball w.r.t. r: v / |v|_2 outside the ball, 0 in the closed ball; first-order only', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps on the sphere |v|_2 = r', shape: rules.vectorMap, structure: {},
  },
  {
    name: 'proj_linf_ball_d', surface: 'internal', params: ['v', 'r'], summary: 'd/dv proj_linf_ball(v, r): 1 strictly inside (-r, r), 0 at a bound (a tie) and beyond', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where proj_linf_ball has a kink',
    shape: valueAndRadius, structure: { elementwise: true, kinkFactor: { of: 'proj_linf_ball', range: [0, 1] } },
    ...flat, scalarExpr: expression((v, r) => `(-${r} < ${v} && ${v} < ${r} ? 1.0 : 0.0)`),
  },
  {
    name: 'proj_psd_jvp', surface: 'internal', params: ['S', 'T'], summary: 'Jacobian of proj_psd at S times T (Daleckii-Krein: Q (Gamma .* (Q^T sym(T) Q)) Q^T, f\'(0) = 0 at zero eigenvalues); first-order only', definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: 'jumps where an eigenvalue of sym(S) crosses 0', shape: squareMatrix, structure: {},
  },
];
