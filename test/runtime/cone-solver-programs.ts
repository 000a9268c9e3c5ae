/**
 * Test cones and cone programs with known solutions for the cone solver's tests, written
 * independently of the solver (and of the runtime's cone kernels):
 *
 * - projections onto the zero cone {0} (dual: free), the nonnegative orthant, the second-order
 *   cone {(t, z): ||z|| <= t} (t first) and the PSD cone in svec form (lower triangle by
 *   columns, off-diagonal entries times sqrt 2, so that svec(X)'svec(Y) = tr(XY)), the last
 *   by a cyclic Jacobi eigendecomposition;
 * - programs built from complementarity: x*, and per block a pair s* in K, y* in K* with
 *   s*'y* = 0 and strict complementarity, then b = A x* + s*, c = -A'y*. The number of
 *   variables is the number of "active" constraints (zero rows, nonneg rows with s_i = 0, 1
 *   per SOC boundary pair, d per SOC block with s = 0, p(p+1)/2 for a PSD block whose y has
 *   rank p), so that for a generic A both the primal and the dual solution are nondegenerate
 *   and therefore unique (Alizadeh, Haeberly & Overton 1997).
 */
import { gaussian, jacobiEigen } from '../helpers/cone-programs.ts';
import type { Matrix } from '../../src/runtime/index.ts';
import type { ConeCallbacks } from '../../src/runtime/cone-solver.ts';
import { mulberry32, type Rng } from './rng.ts';

export type BlockSpec = { kind: 'z'; size: number } | { kind: 'l'; size: number } | { kind: 'q'; size: number } | { kind: 's'; dim: number };

export function blockLength(b: BlockSpec): number {
  return b.kind === 's' ? (b.dim * (b.dim + 1)) / 2 : b.size;
}


function projectSoc(v: Float64Array, out: Float64Array, o: number, d: number): void {
  const t = v[o];
  let z2 = 0;
  for (let i = 1; i < d; i++) z2 += v[o + i] * v[o + i];
  const z = Math.sqrt(z2);
  if (z <= t) {
    for (let i = 0; i < d; i++) out[o + i] = v[o + i];
  } else if (z <= -t) {
    for (let i = 0; i < d; i++) out[o + i] = 0;
  } else {
    const a = (t + z) / 2;
    out[o] = a;
    for (let i = 1; i < d; i++) out[o + i] = (a * v[o + i]) / z;
  }
}

/** Symmetric d x d (row-major) from svec. */
export function smat(v: ArrayLike<number>, o: number, d: number): Float64Array {
  const X = new Float64Array(d * d);
  let k = o;
  for (let j = 0; j < d; j++) {
    for (let i = j; i < d; i++) {
      const x = i === j ? v[k] : v[k] / Math.SQRT2;
      X[i * d + j] = x;
      X[j * d + i] = x;
      k++;
    }
  }
  return X;
}

export function svecInto(X: Float64Array, d: number, out: Float64Array, o: number): void {
  let k = o;
  for (let j = 0; j < d; j++) {
    for (let i = j; i < d; i++) {
      out[k++] = i === j ? X[i * d + j] : X[i * d + j] * Math.SQRT2;
    }
  }
}


function projectPsd(v: Float64Array, out: Float64Array, o: number, d: number): void {
  const { values, V } = jacobiEigen(smat(v, o, d), d);
  const P = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const l = values[k];
    if (!(l > 0)) continue;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) P[i * d + j] += l * V[i * d + k] * V[j * d + k];
  }
  svecInto(P, d, out, o);
}

/** Projections onto K (dual = false) or K* (dual = true) of the product of `blocks`. */
export function projectBlocks(blocks: readonly BlockSpec[], v: Float64Array, out: Float64Array, dual: boolean): void {
  let o = 0;
  for (const b of blocks) {
    const len = blockLength(b);
    switch (b.kind) {
      case 'z':
        for (let i = 0; i < len; i++) out[o + i] = dual ? v[o + i] : 0;
        break;
      case 'l':
        for (let i = 0; i < len; i++) out[o + i] = Math.max(0, v[o + i]);
        break;
      case 'q':
        projectSoc(v, out, o, len);
        break;
      case 's':
        projectPsd(v, out, o, b.dim);
        break;
    }
    o += len;
  }
}

export function coneOf(blocks: readonly BlockSpec[]): ConeCallbacks {
  const uniformBlocks: { offset: number; size: number }[] = [];
  let o = 0;
  for (const b of blocks) {
    const len = blockLength(b);
    if (b.kind === 'q' || b.kind === 's') uniformBlocks.push({ offset: o, size: len });
    o += len;
  }
  return {
    projectDual: (v, out) => projectBlocks(blocks, v, out, true),
    project: (v, out) => projectBlocks(blocks, v, out, false),
    uniformBlocks,
  };
}

export interface KnownProgram {
  A: Matrix;
  b: Float64Array;
  c: Float64Array;
  blocks: BlockSpec[];
  cone: ConeCallbacks;
  x: Float64Array;
  y: Float64Array;
  s: Float64Array;
}

function randomOrthogonal(rng: Rng, d: number): Float64Array {
  const Q = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const col = new Float64Array(d);
    for (let i = 0; i < d; i++) col[i] = gaussian(rng);
    for (let pass = 0; pass < 2; pass++) {
      for (let l = 0; l < k; l++) {
        let dp = 0;
        for (let i = 0; i < d; i++) dp += col[i] * Q[i * d + l];
        for (let i = 0; i < d; i++) col[i] -= dp * Q[i * d + l];
      }
    }
    const nrm = Math.hypot(...col);
    for (let i = 0; i < d; i++) Q[i * d + k] = col[i] / nrm;
  }
  return Q;
}

/** Positive magnitudes away from 0 (strict complementarity with margin). */
function positive(rng: Rng): number {
  return 0.5 + 1.5 * rng();
}

/**
 * A program with a known unique solution over `blocks` (see the module comment); n is the
 * active count. The SOC blocks cycle through boundary pairs, s = 0 with y interior, and s
 * interior with y = 0; PSD blocks split the rank between s and y.
 */
export function knownProgram(seed: number, blocks: BlockSpec[]): KnownProgram {
  const rng = mulberry32(seed);
  const m = blocks.reduce((a, b) => a + blockLength(b), 0);
  const s = new Float64Array(m);
  const y = new Float64Array(m);
  let active = 0;
  let o = 0;
  let socCount = 0;
  for (const b of blocks) {
    const len = blockLength(b);
    if (b.kind === 'z') {
      for (let i = 0; i < len; i++) y[o + i] = gaussian(rng);
      active += len;
    } else if (b.kind === 'l') {
      for (let i = 0; i < len; i++) {
        if (rng() < 0.5) {
          y[o + i] = positive(rng);
          active++;
        } else s[o + i] = positive(rng);
      }
    } else if (b.kind === 'q') {
      const mode = socCount++ % 3;
      const u = new Float64Array(len - 1);
      for (let i = 0; i < len - 1; i++) u[i] = gaussian(rng);
      const nu = Math.hypot(...u);
      const sa = positive(rng);
      const ya = positive(rng);
      if (mode === 0) {
        // Both on the boundary, opposite directions: s'y = sa ya (1 - 1) = 0.
        s[o] = sa;
        y[o] = ya;
        for (let i = 1; i < len; i++) {
          s[o + i] = (sa * u[i - 1]) / nu;
          y[o + i] = (-ya * u[i - 1]) / nu;
        }
        active += 1;
      } else if (mode === 1) {
        y[o] = ya;
        for (let i = 1; i < len; i++) y[o + i] = (0.5 * ya * u[i - 1]) / nu;
        active += len;
      } else {
        s[o] = sa;
        for (let i = 1; i < len; i++) s[o + i] = (0.5 * sa * u[i - 1]) / nu;
      }
    } else {
      const d = b.dim;
      const Q = randomOrthogonal(rng, d);
      const r = Math.max(1, Math.min(d - 1, Math.floor(d / 2)));
      const S = new Float64Array(d * d);
      const Y = new Float64Array(d * d);
      for (let k = 0; k < d; k++) {
        const lam = positive(rng);
        const T = k < r ? S : Y;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) T[i * d + j] += lam * Q[i * d + k] * Q[j * d + k];
      }
      svecInto(S, d, s, o);
      svecInto(Y, d, y, o);
      const p = d - r;
      active += (p * (p + 1)) / 2;
    }
    o += len;
  }
  const n = active;
  const A: Matrix = { rows: m, cols: n, data: new Float64Array(m * n) };
  for (let i = 0; i < m * n; i++) A.data[i] = gaussian(rng);
  const x = new Float64Array(n);
  for (let j = 0; j < n; j++) x[j] = gaussian(rng);
  const b = new Float64Array(m);
  const c = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    let ax = 0;
    for (let j = 0; j < n; j++) ax += A.data[i * n + j] * x[j];
    b[i] = ax + s[i];
  }
  for (let j = 0; j < n; j++) {
    let aty = 0;
    for (let i = 0; i < m; i++) aty += A.data[i * n + j] * y[i];
    c[j] = -aty;
  }
  return { A, b, c, blocks, cone: coneOf(blocks), x, y, s };
}

/** An LP over `zeros` zero rows and `nonneg` nonnegative rows. */
export function knownLp(seed: number, zeros: number, nonneg: number): KnownProgram {
  const blocks: BlockSpec[] = [];
  if (zeros > 0) blocks.push({ kind: 'z', size: zeros });
  blocks.push({ kind: 'l', size: nonneg });
  return knownProgram(seed, blocks);
}
