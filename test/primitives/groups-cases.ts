import type { Tensor } from '../../src/primitives/types.ts';
import type { ArgSpec, Spec } from './cases.ts';
import { centralDifference, num, vec } from './harness.ts';
import { uniform } from './rng.ts';

// Cases of the group primitives (src/primitives/groups.ts), merged into SPECS by cases.ts.
// The reference is block soft thresholding written out here from its definition: per group,
// v_G max(0, 1 - max(t, 0) / |v_G|_2).

const real = (...shape: number[]): ArgSpec => ({ shape });
const within = (lo: number, hi: number): ArgSpec => ({ shape: [], sample: (r) => uniform(r, lo, hi) });
/** Labels 1, 1, 2, 2, 3, 3 (pairs) or, with `spread`, 3, 1, 2, 1, 3, 2 (interleaved groups). */
const labels = (n: number, spread = false): ArgSpec => ({ shape: [n], sample: (_r, i) => (spread ? [3, 1, 2, 1, 3, 2][i % 6] : (i >> 1) + 1) });

export function blockSoftThresholdRef(v: ArrayLike<number>, t: number, g: ArrayLike<number>): number[] {
  const ids = [...new Set(Array.from(g))];
  const out = Array.from(v, () => 0);
  for (const id of ids) {
    const members = Array.from(g).flatMap((x, i) => (x === id ? [i] : []));
    const norm = Math.sqrt(members.reduce((s, i) => s + v[i] * v[i], 0));
    const factor = norm === 0 ? 0 : Math.max(0, 1 - Math.max(t, 0) / norm);
    for (const i of members) out[i] = v[i] * factor;
  }
  return out;
}

const ref = ([v, t, g]: Tensor[]) => blockSoftThresholdRef(v.data, t.data[0], g.data);
const delta = 1e-6;

export const GROUP_SPECS: Record<string, Spec> = {
  block_soft_threshold: {
    cases: [
      { args: [real(6), within(0.2, 1.5), labels(6)], expected: ref },
      { args: [real(6), within(0.5, 2), labels(6, true)], expected: ref },
      // t < 0: the identity (t_+ = 0).
      { args: [real(4), within(-1, -0.2), labels(4)], expected: ([v]) => v.data },
    ],
    faceTies: [
      // Group 1 on its sphere |(3, 4)| = 5 = t; group 2 (|(1, 0.5)| < 5) at 0. Faces: the
      // zero piece (used, t above the tie) and the outer piece (t below).
      { args: [vec(3, 4, 1, 0.5), num(5), vec(1, 1, 2, 2)], tied: [0, 1], nearby: [[vec(3, 4, 1, 0.5), num(5 + delta), vec(1, 1, 2, 2)], [vec(3, 4, 1, 0.5), num(5 - delta), vec(1, 1, 2, 2)]], usedFace: 0 },
    ],
  },
  block_soft_threshold_jvp: {
    cases: [
      { args: [real(6), within(0.2, 1.5), labels(6), real(6)], expected: ([v, t, g, d]) => centralDifference('block_soft_threshold', [v, t, g], [d, null, null]), tol: 1e-8 },
      { args: [real(4), within(-1, -0.2), labels(4), real(4)], expected: ([, , , d]) => d.data },
    ],
  },
  block_soft_threshold_dt: {
    cases: [
      { args: [real(6), within(0.2, 1.5), labels(6, true)], expected: ([v, t, g]) => centralDifference('block_soft_threshold', [v, t, g], [null, num(1), null]), tol: 1e-8 },
      { args: [real(4), within(-1, -0.2), labels(4)], expected: () => [0, 0, 0, 0] },
    ],
  },
};
