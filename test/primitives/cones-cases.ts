import type { Tensor } from '../../src/primitives/types.ts';
import type { ArgSpec, Spec } from './cases.ts';
import { centralDifference, tensor, vec } from './harness.ts';
import { psdRef } from './projections-2-cases.ts';

// Registry test cases of the cone primitives (src/primitives/cones.ts), merged into SPECS by
// cases.ts. The cone is its code vector [code, size, ...] (zero 0, nonneg 1, soc 2, psd 3 with
// the matrix order). The reference projects block by block with formulas written here: the
// orthant as max(v, 0), the second-order cone in closed form, a PSD block through the
// Newton-sign reference of proj_psd (projections-2-cases.ts) on the 2 x 2 matrix its svec holds.

/** nonneg[2] * soc[3] * psd[2] * zero[1]: length 2 + 3 + 3 + 1 = 9. */
const CODE = [1, 2, 2, 3, 3, 2, 0, 1];
const cone: ArgSpec = { shape: [CODE.length], kind: 'fixed', sample: (_r, i) => CODE[i] };
const real = (...shape: number[]): ArgSpec => ({ shape });
const coneTensor = tensor([CODE.length], CODE);
const R2 = Math.SQRT2;

function socRef(t: number, x: number[]): number[] {
  const norm = Math.hypot(...x);
  if (norm <= t) return [t, ...x];
  if (norm <= -t) return [0, ...x.map(() => 0)];
  const c = (t + norm) / 2;
  return [c, ...x.map((xi) => (c * xi) / norm)];
}

function psd2Ref(a: number, b: number, c: number): number[] {
  const P = psdRef(tensor([2, 2], [a, b / R2, b / R2, c]));
  return [P[0], P[2] * R2, P[3]];
}

/** Pi_K (dual: Pi_{K*}, the zero block free) of the cone above. */
function coneRef(dual: boolean) {
  return ([v]: Tensor[]): number[] => {
    const d = Array.from(v.data);
    return [Math.max(d[0], 0), Math.max(d[1], 0), ...socRef(d[2], [d[3], d[4]]), ...psd2Ref(d[5], d[6], d[7]), dual ? d[8] : 0];
  };
}

const delta = 1e-6;
/** A point with v_1 = 0 (an orthant tie) and every other block away from its surfaces. */
const tiePoint = (first: number) => vec(first, 1.5, 3, 1, -1, 2, 0.3, -1, 0.7);

const projection = (dual: boolean): Spec => ({
  cases: [
    { args: [real(9), cone], expected: coneRef(dual) },
    // Every block strictly inside its cone: the identity (the zero block: 0, or itself in K*).
    {
      args: [{ shape: [9], sample: (_r, i) => [1, 2, 5, 1, 2, 3, 0.5, 2, -4][i] }, cone],
      expected: ([v]) => [...Array.from(v.data.subarray(0, 8)), dual ? v.data[8] : 0],
    },
  ],
  faceTies: [{ args: [tiePoint(0), coneTensor], kinds: ['real', 'fixed'], tied: [0, 1, 2, 3, 4, 5, 6, 7, 8], nearby: [[tiePoint(delta), coneTensor], [tiePoint(-delta), coneTensor]], usedFace: 1 }],
});

const jvp = (of: string): Spec => ({
  cases: [{ args: [real(9), cone, real(9)], expected: ([v, K, t]) => centralDifference(of, [v, K], [t, null]), tol: 1e-7 }],
});

export const CONE_SPECS: Record<string, Spec> = {
  proj_cone: projection(false),
  proj_dual_cone: projection(true),
  proj_cone_jvp: jvp('proj_cone'),
  proj_dual_cone_jvp: jvp('proj_dual_cone'),
};
