/**
 * The run-time certificate of a projection fixpoint y = P(u(y)) whose P has a kink that is
 * not a diagonal kink factor (proj_simplex, proj_l1ball, proj_soc: MATH.md 4, 5 and 6).
 *
 * F(y) = y - P(u(y)), so B = I - J M with M = du/dy and J in the conservative Jacobian of P
 * at v = u(y). That Jacobian is the convex hull of finitely many pieces (the face
 * projections of the simplex and the l1 ball, the cone's pieces), each symmetric with
 * 0 <= J <= I. The kink sites of the module do not list these kinks, so their ties are
 * found here, from v itself (the hook {@link ProjectionFixpoint}).
 *
 * Tests, in order:
 * - no tie: the hull is the one piece the kernels select; B invertible certifies (a local
 *   certificate, the `single element` test of certificate.ts);
 * - ties: a piece `top` with ||J M||_2 <= ||top M||_2 for every J of the hull. For the
 *   simplex and the l1 ball outside the ball, the faces at a tie are the supports F with
 *   S <= F <= S u T (S the strict support, T the ties), and J_F projects onto the subspace
 *   {x : x = 0 off F, sum_F s_i x_i = 0}; these subspaces are nested, so J_F = J_F J_Fmax,
 *   ||J_F M|| <= ||J_Fmax M||, and by convexity of the norm ||J M|| <= ||J_Fmax M|| on the
 *   whole hull. A tied v_i of the l1 ball within the tolerance of 0 joins the faces with
 *   either sign, so there is no largest face: top = I, as below. On the l1 ball's boundary
 *   and the cone's boundary the identity is a piece, and every piece has norm <= 1, so
 *   top = I. On the polar cone's boundary the pieces are 0
 *   and the rank-one projection q q^T, q = (1, w) / sqrt 2. With the certified upper bound
 *   ||top M||_2 < 1 (opnorm2Upper), every B of the hull is I minus a contraction: certified
 *   (MATH.md 5.2, on the set at the solution);
 * - otherwise the pieces (the hull's vertices) are checked: one singular B_F, or two whose
 *   det B has opposite signs (det is continuous on their segment, which lies in the hull),
 *   is `violated`; agreeing signs prove nothing here (B is not row-wise in the pieces,
 *   MATH.md 5), so the verdict is `unverified`, with the bound.
 *
 * Ties use the tolerance of certificate.ts, max(1e-9, 100 residual) (1 + ||y||_inf), on the
 * distances of v from the projection's switching surfaces (the kernels' gaps).
 *
 * Only these three kinds have their hull listed here. Any other kind (the registry's `l2ball`,
 * `linf_ball`, `psd`, or whatever a hand-written hook names) is refused: the certificate
 * returns null, as for a hook that does not describe the model, and certificate.ts falls back
 * to its general test, whose verdict for a non-diagonal kink whose ties it cannot locate is
 * at best `unverified`. No `certified` comes out of a hull this file does not know.
 */
import type { RuntimeCertificate } from './certificate.ts';
import { conditionEstimate1, determinantSign, inverseNorm1Estimate, luFactor } from './lu.ts';
import { DENSE_LIMIT } from './implicit-system.ts';
import { normInf, opnorm2Upper, zeros, type Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { faceProjection, projL1BallJvp, projSimplexJvp, projSocJvp, projL1Ball, projSimplex, projSoc, simplexThreshold } from './values/projections.ts';
import { isFiniteVector } from './validate.ts';

/** Most ties whose 2^t faces are enumerated for the vertex checks (as certificate.ts MAX_TIES). */
const MAX_FACE_TIES = 12;

/**
 * How the model's map is a projection: T(y) = P(u(y)) over the whole unknown vector. A
 * generated module can give both functions from its derivative kernels: `argument` is the
 * projection's argument in the primal cache, `argumentJvp` the tangent its jvpY passes to the
 * projection's Jacobian product.
 */
/** The kinds whose hull this certificate lists; {@link certifyProjectionFixpoint} refuses any other. */
export const CERTIFIED_PROJECTION_KINDS: readonly string[] = Object.freeze(['simplex', 'l1ball', 'soc']);

export interface ProjectionFixpoint {
  /** Which set P projects onto (the registry's `projection` fact); only {@link CERTIFIED_PROJECTION_KINDS} are certified. */
  kind: 'simplex' | 'l1ball' | 'soc';
  /** Source location of the projection, `line:column`. */
  at: string;
  /** v = u(y), of length n. */
  argument(y: Float64Array): Float64Array;
  /** out = M ydot, M = du/dy at y. */
  argumentJvp(y: Float64Array, ydot: Float64Array, out: Float64Array): void;
  /** The l1 ball's radius r (l1ball only; a constant of the inputs). */
  radius?: number;
}

export interface ProjectionCertifyOptions {
  /** Largest order of a dense B (default {@link DENSE_LIMIT}). */
  denseLimit?: number;
}

/** A piece of the projection's conservative Jacobian: a symmetric J applied to t. */
type Piece = { name: string; apply: (t: Float64Array) => Float64Array };

/** The projection's conservative Jacobian at v, as certificate tests need it. */
interface Hull {
  /** The tied entries (or, for the cone, the one tie), described for messages. */
  ties: string[];
  /** The piece the generated kernels use at v. */
  selected: Piece;
  /** ||J M|| <= ||top M|| for every J of the hull. */
  top: Piece;
  /** Pieces whose hull is the conservative Jacobian (its vertices), when listed. */
  vertices: Piece[] | null;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(4) : String(v);
}

/** A positive bound printed rounded up (4 digits), so that the message never understates it. */
function fmtUp(v: number): string {
  if (!(Number.isFinite(v) && v > 0)) return String(v);
  const unit = 10 ** (Math.floor(Math.log10(v)) - 3);
  return String(Number((Math.ceil(v / unit) * unit).toPrecision(4)));
}

const vec = (data: Float64Array) => ({ shape: [data.length], data });

/** `t` projected onto {x : x_i = 0 where signs_i = 0, sum_i signs_i x_i = 0}: J_F, the value kernels' own face projection. */
function facePiece(name: string, signs: Float64Array): Piece {
  return { name, apply: (t) => faceProjection(signs, t) };
}

const identityPiece: Piece = { name: 'I', apply: (t) => t.slice() };
const zeroPiece: Piece = { name: '0', apply: (t) => new Float64Array(t.length) };

/**
 * The faces S u T' for every T' <= T with a nonempty support, signed by `sign`: the vertices
 * of the hull at a tie of the simplex (sign 1) or of the l1 ball outside it (sign(v_i)). A tied
 * entry of sign 0 (the l1 ball's v_i within the tolerance of 0) joins a face with either sign,
 * as the points of the tolerance do; those entries are named with their sign.
 */
function faces(strict: number[], tied: number[], sign: (i: number) => number, n: number): Piece[] | null {
  const choices = tied.map((i) => (sign(i) === 0 ? [0, 1, -1] : [0, sign(i)]));
  const count = choices.reduce((c, x) => c * x.length, 1);
  if (count > 2 ** MAX_FACE_TIES) return null;
  const out: Piece[] = [];
  for (let index = 0; index < count; index++) {
    const signs = new Float64Array(n);
    for (const i of strict) signs[i] = sign(i);
    let rest = index;
    tied.forEach((i, b) => {
      signs[i] = choices[b][rest % choices[b].length];
      rest = Math.floor(rest / choices[b].length);
    });
    const members = [...signs.keys()].filter((i) => signs[i] !== 0);
    if (members.length === 0) continue;
    const label = (i: number) => (sign(i) === 0 ? `${signs[i] > 0 ? '+' : '-'}${i}` : String(i));
    out.push(facePiece(`face {${members.map(label).join(', ')}}`, signs));
  }
  return out;
}

/** Strict support and ties of a threshold tau on the values a: a_i - tau > tol, |a_i - tau| <= tol. */
function split(a: Float64Array, tau: number, tol: number): { strict: number[]; tied: number[] } {
  const strict: number[] = [];
  const tied: number[] = [];
  a.forEach((x, i) => {
    if (x - tau > tol) strict.push(i);
    else if (!(Math.abs(x - tau) > tol)) tied.push(i);
  });
  return { strict, tied };
}

function simplexHull(v: Float64Array, tol: number): Hull {
  const n = v.length;
  const tau = simplexThreshold(v, 1);
  const { strict, tied } = split(v, tau, tol);
  const selected: Piece = { name: 'the selected face', apply: (t) => projSimplexJvp(vec(v), vec(t)).data };
  if (tied.length === 0) return { ties: [], selected, top: selected, vertices: [selected] };
  const all = new Float64Array(n);
  for (const i of [...strict, ...tied]) all[i] = 1;
  return {
    ties: tied.map((i) => `v[${i}] - tau = ${fmt(v[i] - tau)}`),
    selected,
    top: facePiece('the largest face', all),
    vertices: faces(strict, tied, () => 1, n),
  };
}

function l1BallHull(v: Float64Array, r: number, tol: number): Hull {
  const n = v.length;
  let norm = 0;
  for (const x of v) norm += Math.abs(x);
  const selected: Piece = { name: 'the selected face', apply: (t) => projL1BallJvp(vec(v), r, vec(t)).data };
  if (norm < r - tol) return { ties: [], selected, top: selected, vertices: [selected] };
  if (!(norm > r + tol)) {
    // On the boundary: the identity is a piece, and every piece has norm <= 1.
    return { ties: [`|v|_1 - r = ${fmt(norm - r)}`], selected, top: identityPiece, vertices: null };
  }
  const abs = v.map(Math.abs);
  const tau = simplexThreshold(abs, r);
  const { strict, tied } = split(abs, tau, tol);
  if (tied.length === 0) return { ties: [], selected, top: selected, vertices: [selected] };
  // A tied v_i within the tolerance of 0 (so tau <= 2 tol: near the ball, not on it by the
  // kernels' gap) has no sign there: the faces with either sign are in the hull, so there is
  // no largest face, and the identity bounds every piece (each an orthogonal projection).
  const sign = (i: number) => (Math.abs(v[i]) <= tol ? 0 : Math.sign(v[i]));
  const all = new Float64Array(n);
  for (const i of [...strict, ...tied]) all[i] = sign(i);
  return {
    ties: tied.map((i) => `|v[${i}]| - tau = ${fmt(abs[i] - tau)}`),
    selected,
    top: tied.some((i) => sign(i) === 0) ? identityPiece : facePiece('the largest face', all),
    vertices: faces(strict, tied, sign, n),
  };
}

/** The cone's boundary piece (1/2)[[1, w^T], [w, (1 + c) I - c w w^T]], c = t / |x|. */
function socPiece(name: string, w: Float64Array, c: number): Piece {
  return {
    name,
    apply: (d) => {
      let wdx = 0;
      for (let i = 0; i < w.length; i++) wdx += w[i] * d[i + 1];
      const out = new Float64Array(d.length);
      out[0] = (d[0] + wdx) / 2;
      for (let i = 0; i < w.length; i++) out[i + 1] = (w[i] * d[0] + (1 + c) * d[i + 1] - c * w[i] * wdx) / 2;
      return out;
    },
  };
}

function socHull(v: Float64Array, tol: number): Hull {
  const t = v[0];
  const x = v.subarray(1);
  let s = 0;
  for (const xi of x) s += xi * xi;
  const norm = Math.sqrt(s);
  const selected: Piece = { name: 'the selected piece', apply: (d) => projSocJvp(vec(v), vec(d)).data };
  const inner = Math.abs(norm - t) <= tol;
  const polar = Math.abs(norm + t) <= tol;
  if (!inner && !polar) return { ties: [], selected, top: selected, vertices: [selected] };
  if (norm <= tol) {
    // v = 0: every piece, of every direction w, is in the hull; the identity is one.
    return { ties: [`|v| = ${fmt(Math.hypot(t, norm))}`], selected, top: identityPiece, vertices: null };
  }
  const w = x.map((xi) => xi / norm);
  if (inner) {
    return { ties: [`|x| - t = ${fmt(norm - t)}`], selected, top: identityPiece, vertices: [identityPiece, socPiece('the boundary piece', w, 1)] };
  }
  const edge = socPiece('the polar boundary piece', w, -1);
  return { ties: [`|x| + t = ${fmt(norm + t)}`], selected, top: edge, vertices: [zeroPiece, edge] };
}

/** J M, column by column. */
function times(J: Piece, M: Matrix): Matrix {
  const n = M.rows;
  const out = zeros(n, n);
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) col[i] = M.data[i * n + j];
    const r = J.apply(col);
    for (let i = 0; i < n; i++) out.data[i * n + j] = r[i];
  }
  return out;
}

/** I - J M. */
function bOf(J: Piece, M: Matrix): Matrix {
  const B = times(J, M);
  for (let i = 0; i < B.data.length; i++) B.data[i] = -B.data[i];
  for (let i = 0; i < M.rows; i++) B.data[i * M.rows + i] += 1;
  return B;
}

/**
 * Certifies the invertibility condition of MATH.md 4 at y, a solution of y = P(u(y)) with
 * ||F(y)||_inf = residual, for P described by `fixpoint` (see the header for the tests).
 * Null when the certificate does not apply: the model has no map, B would be larger than the
 * dense limit, or the map at y is not P(u(y)) (the hook does not describe this model).
 */
export function certifyProjectionFixpoint(
  model: ModelInstance,
  y: Float64Array,
  residual: number,
  fixpoint: ProjectionFixpoint,
  options: ProjectionCertifyOptions = {},
): RuntimeCertificate | null {
  const n = model.n;
  // A kind whose hull is not listed here: no verdict (the general test applies), never the soc's hull by default.
  if (!CERTIFIED_PROJECTION_KINDS.includes(fixpoint.kind as string)) return null;
  if (!model.hasMap || n > (options.denseLimit ?? DENSE_LIMIT)) return null;
  const v = fixpoint.argument(y);
  if (v.length !== n || !isFiniteVector(v)) return null;
  const r = fixpoint.radius ?? NaN;
  if (fixpoint.kind === 'l1ball' && !(r >= 0)) return null;
  const projected = fixpoint.kind === 'simplex' ? projSimplex(vec(v)) : fixpoint.kind === 'l1ball' ? projL1Ball(vec(v), r) : fixpoint.kind === 'soc' ? projSoc(vec(v)) : null;
  if (!projected) return null;
  const T = new Float64Array(n);
  model.map(y, T);
  const scale = 1 + normInf(y);
  for (let i = 0; i < n; i++) if (!(Math.abs(T[i] - projected.data[i]) <= 1e-12 * scale)) return null;

  const tol = Math.max(1e-9, 100 * (Number.isFinite(residual) ? residual : Infinity)) * scale;
  const hull = fixpoint.kind === 'simplex' ? simplexHull(v, tol) : fixpoint.kind === 'l1ball' ? l1BallHull(v, r, tol) : fixpoint.kind === 'soc' ? socHull(v, tol) : null;
  if (!hull) return null;
  const M = zeros(n, n);
  const e = new Float64Array(n);
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e[j] = 1;
    fixpoint.argumentJvp(y, e, col);
    e[j] = 0;
    for (let i = 0; i < n; i++) M.data[i * n + j] = col[i];
  }
  const ties = hull.ties.length;
  const where = `the projection onto the ${fixpoint.kind} at ${fixpoint.at}`;
  const base = { ties, condition: null as number | null, errorBound: null as number | null };
  if (!isFiniteVector(M.data)) {
    return { verdict: 'unverified', test: 'projection hull', ...base, detail: `du/dy has entries that are not finite at the solution: no test applies to ${where}` };
  }

  // The selected B: what the derivatives use, its condition and the first-order error bound.
  const Bsel = bOf(hull.selected, M);
  const lu = luFactor(Bsel);
  if (lu.singular) {
    return { verdict: 'violated', test: 'selected B', ...base, detail: `the selected B = I - J M of ${where} (${hull.selected.name}) is singular to working precision at the solution` };
  }
  const F = new Float64Array(n);
  model.residual(y, F);
  let f1 = 0;
  for (const f of F) f1 += Math.abs(f);
  const cond = conditionEstimate1(Bsel, lu);
  const bound = inverseNorm1Estimate(lu) * f1;
  base.condition = Number.isFinite(cond) ? cond : null;
  base.errorBound = Number.isFinite(bound) ? bound : null;

  if (ties === 0) {
    return {
      verdict: 'certified', test: 'single element', ...base,
      detail: `no ties of ${where} at the solution: its conservative Jacobian there is ${hull.selected.name} alone, and B = I - J M is invertible (a local certificate)`,
    };
  }
  const tieText = `${ties} tie${ties > 1 ? 's' : ''} of ${where} (${hull.ties.slice(0, 4).join(', ')}${ties > 4 ? ', ...' : ''})`;
  const norm = opnorm2Upper(times(hull.top, M));
  if (norm < 1) {
    return {
      verdict: 'certified', test: 'projection hull contraction', ...base,
      detail: `${tieText}: ||J M||_2 <= ||J_top M||_2 <= ${fmtUp(norm)} < 1 for every J of the hull (J_top = ${hull.top.name}, nested face projections and convexity of the norm), so every B = I - J M is invertible (MATH.md 5.2)`,
    };
  }
  const noNorm = `the bound ||J_top M||_2 <= ${fmtUp(norm)} is not below 1 (J_top = ${hull.top.name})`;
  if (!hull.vertices) {
    return { verdict: 'unverified', test: 'projection hull contraction', ...base, detail: `${tieText}: ${noNorm}, and the hull's pieces are too many to list` };
  }
  let first: { sign: number; name: string } | null = null;
  for (const J of hull.vertices) {
    const fl = luFactor(bOf(J, M));
    if (fl.singular) {
      return { verdict: 'violated', test: 'projection hull vertices', ...base, detail: `${tieText}: B = I - J M is singular at the piece ${J.name} of the conservative Jacobian: no implicit function here (MATH.md 4)` };
    }
    const sign = determinantSign(fl);
    if (!first) first = { sign, name: J.name };
    else if (sign !== first.sign) {
      return {
        verdict: 'violated', test: 'projection hull vertices', ...base,
        detail: `${tieText}: det B changes sign between the pieces ${first.name} and ${J.name}, so a singular B lies on their segment, inside the conservative Jacobian (MATH.md 4)`,
      };
    }
  }
  return {
    verdict: 'unverified', test: 'projection hull contraction', ...base,
    detail: `${tieText}: ${noNorm}; det B has one sign at all ${hull.vertices.length} pieces, which does not prove the hull invertible (B is not row-wise in them, MATH.md 5)`,
  };
}
