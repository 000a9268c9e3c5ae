import { real, sameShape, showType, type ValueType } from '../ir/shape.ts';
import { op } from './build.ts';
import type { PrimitiveSpec, ShapeResult } from './types.ts';

// Projection onto a product cone K declared in the model (`cone K = zero[p] * nonneg[q] *
// soc[r] * psd[k]`, src/check/check.ts): the building block of cone programs as layers
// (issue 16). Written with the Minty parametrization of the KKT conditions, s = proj_cone(v, K)
// lies in K, y = s - v in K* and s'y = 0 for every v (Moreau), so a cone program is two
// affine equations in (x, v) (README "Cone programs").
//
// K is not a value: the checker lets a cone appear only as the cone argument of these
// primitives (CONE_PARAMS), by name. In the IR the cone is its code, a real vector
// [code_1, n_1, code_2, n_2, ...] built from constants and the dims' values (src/ir/lower.ts;
// codes and layout: src/runtime/values/cones.ts), so the shape rules accept a cone of kind
// `cone` (the checker: sizes compared) or that code vector (the IR). The code is fixed by the
// dims: it has no tangent.
//
// Jacobian (w.r.t. v): block diagonal; nonneg entries 1 (v_i > 0) or 0; a second-order block
// I inside, 0 on the polar cone, the boundary piece elsewhere (as proj_soc); a PSD block the
// Daleckii-Krein operator in svec coordinates (as proj_psd). Each element is symmetric with
// spectrum in [0, 1] (a projection onto a closed convex set), so the JVP also serves the VJP.

/** Which arguments of which primitive are cones: the only places a cone may appear (src/check/check.ts). */
export const CONE_PARAMS: Readonly<Record<string, readonly number[]>> = Object.freeze({
  proj_cone: [1],
  proj_dual_cone: [1],
  proj_cone_jvp: [1],
  proj_dual_cone_jvp: [1],
});

/** Whether argument `i` of primitive `name` is a cone. */
export function isConeParam(name: string, i: number): boolean {
  return Object.hasOwn(CONE_PARAMS, name) && CONE_PARAMS[name].includes(i);
}

/** `f(v, K[, t])`: v a vector of the cone's length (a tangent t of v's shape last). */
function coneShape(args: readonly ValueType[]): ShapeResult {
  const [v, K] = args;
  if (v.kind !== 'real') return { ok: false, code: 'E0206', arg: 0, message: `expected a value, found ${showType(v)}` };
  if (v.shape.length !== 1) return { ok: false, code: 'E0203', arg: 0, message: `expected a vector, found ${showType(v)}`, help: 'a cone holds vectors: PSD blocks in svec form' };
  if (K.kind === 'cone') {
    if (!sameShape(K.shape, v.shape)) {
      return { ok: false, code: 'E0201', arg: 0, message: `${showType(v)} does not match the cone's length ${K.shape[0]}`, help: 'the vector must have the cone\'s length (a psd[k] block holds k(k+1)/2 entries)' };
    }
  } else if (K.kind !== 'real' || K.shape.length !== 1) {
    return { ok: false, code: 'E0206', arg: 1, message: `expected a cone, found ${showType(K)}`, help: 'declare it with `cone K = nonneg[q] * soc[r]` and pass `K`' };
  }
  for (let i = 2; i < args.length; i++) {
    if (args[i].kind !== 'real' || !sameShape(args[i].shape, v.shape)) return { ok: false, code: 'E0201', arg: i, message: `tangent ${showType(args[i])} does not match ${showType(v)}` };
  }
  return { ok: true, type: real(v.shape) };
}

/** A projection `name(v, K)` whose Jacobian product is the internal `jvp(v, K, t)` (symmetric, so it is its own VJP). */
function coneProjection(name: string, jvp: string, dual: boolean): PrimitiveSpec[] {
  return [
    {
      name, surface: 'function', params: ['v', 'K'],
      summary: dual
        ? 'projection onto the dual cone K* of a cone K declared with `cone`, block by block (a zero block of K is free in K*; the other kinds are self-dual)'
        : 'projection onto a cone K declared with `cone` (a product of zero, nonneg, soc and psd blocks), block by block',
      definability: 'semialgebraic', lipschitz: 'globally', shape: coneShape,
      structure: { nonexpansive: true, monotone: true, projection: dual ? 'dual_cone' : 'cone' },
      jvp: (g, node, [dv]) => (dv === null ? null : op(g, jvp, node.args[0], node.args[1], dv)),
      vjp: (g, node, ct) => [op(g, jvp, node.args[0], node.args[1], ct), null],
      kink: {
        condition: 'v_i = 0 in a nonneg block; v on the boundary of a second-order cone or of its polar; a zero eigenvalue of a PSD block',
        used: "the orthant's 0, proj_soc's and proj_psd's pieces (f'(0) = 0)",
        range: null,
        rangeText: 'block diagonal: per tied entry [0, 1]; per tied second-order block the hull of its pieces; per PSD block the Daleckii-Krein operators with weights in [0, 1] on the zero eigenspace',
        // The distance from the nearest switching surface over all blocks, shared by every entry.
        factor: null, selection: jvp, gap: name,
      },
    },
    {
      name: jvp, surface: 'internal', params: ['v', 'K', 't'],
      // No rules of its own: the second-order and PSD pieces vary with v, so a rule linear in t
      // alone would be wrong (as proj_soc_jvp and proj_psd_jvp: first-order only).
      summary: `Jacobian of ${name} at v times t (block diagonal, symmetric, spectrum in [0, 1]); first-order only`,
      definability: 'semialgebraic', lipschitz: 'discontinuous', irregularity: `jumps where ${name} has a kink`, shape: coneShape, structure: {},
    },
  ];
}

export const cones: PrimitiveSpec[] = [...coneProjection('proj_cone', 'proj_cone_jvp', false), ...coneProjection('proj_dual_cone', 'proj_dual_cone_jvp', true)];
