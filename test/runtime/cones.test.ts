/**
 * The product-cone kernels (src/runtime/values/cones.ts) against facts that do not come from
 * them: svec/smat against an index-by-index reference and trace(XY); projections by Moreau's
 * decomposition, membership (eigenvalues by projections.ts's symmetricEigen), the variational
 * inequality against random points of K, and the single-cone kernels of projections.ts; the
 * selected Jacobian against central differences away from ties and against projSocJvp /
 * projPsdJvp at ties; every piece symmetric with spectrum in [0, 1]; each tie's pieces
 * against the one-sided limits of finite-difference Jacobians from directions that select them.
 */
import { describe, expect, it } from 'vitest';
import {
  CONE_CODES,
  coneGap,
  coneJacobian,
  coneTies,
  decodeCone,
  encodeCone,
  projectCone,
  projectConeJvp,
  projectConeJvpAt,
  projectDualCone,
  smat,
  svec,
  type ConeBlockKind,
  type ConeSpec,
  type ConeTie,
} from '../../src/runtime/values/cones.ts';
import { projPsd, projPsdJvp, projSoc, projSocJvp, symmetricEigen } from '../../src/runtime/values/projections.ts';
import { fd } from '../helpers/finite-differences.ts';
import { mulberry32, type Rng } from '../helpers/rng.ts';

const cone = (...blocks: [ConeBlockKind, number][]): ConeSpec => decodeCone(encodeCone(blocks.map(([kind, n]) => ({ kind, n }))));
const unif = (rng: Rng, lo = -1, hi = 1): number => lo + (hi - lo) * rng();
const randomVec = (rng: Rng, n: number, scale = 1): Float64Array => Float64Array.from({ length: n }, () => scale * unif(rng));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Reference svec, written from the definition entry by entry: (i, j), i >= j, column by column. */
function refSvec(X: number[][]): number[] {
  const k = X.length;
  const out: number[] = [];
  for (let j = 0; j < k; j++) for (let i = j; i < k; i++) out.push(i === j ? X[i][j] : Math.SQRT2 * X[i][j]);
  return out;
}
const flat = (X: number[][]): Float64Array => Float64Array.from(X.flat());
const randomSym = (rng: Rng, k: number): number[][] => {
  const A = Array.from({ length: k }, () => Array.from({ length: k }, () => unif(rng)));
  return A.map((row, i) => row.map((_, j) => (A[i][j] + A[j][i]) / 2));
};
/** A random orthogonal matrix (Gram-Schmidt of a random one), columns the vectors. */
function randomOrthogonal(rng: Rng, k: number): number[][] {
  const cols: number[][] = [];
  while (cols.length < k) {
    let c = Array.from({ length: k }, () => unif(rng));
    for (const q of cols) {
      const p = dot(c, q);
      c = c.map((x, i) => x - p * q[i]);
    }
    const n = Math.sqrt(dot(c, c));
    if (n > 1e-3) cols.push(c.map((x) => x / n));
  }
  return Array.from({ length: k }, (_, i) => cols.map((c) => c[i]));
}
/** Q diag(l) Q^T. */
const fromEigen = (Q: number[][], l: number[]): number[][] =>
  Q.map((_, i) => Q.map((__, j) => l.reduce((s, lc, c) => s + lc * Q[i][c] * Q[j][c], 0)));
const outer = (u: number[], w: number[] = u): number[][] => u.map((a) => w.map((b) => a * b));
const column = (Q: number[][], c: number): number[] => Q.map((row) => row[c]);
const eigenvalues = (S: Float64Array, k: number): number[] => Array.from(symmetricEigen(S, k).values).sort((a, b) => a - b);

/** Jacobian (row-major N x N) of a linear map given by its application. */
function matrixOf(apply: (t: Float64Array, out: Float64Array) => void, N: number): Float64Array {
  const J = new Float64Array(N * N);
  for (let j = 0; j < N; j++) {
    const e = new Float64Array(N);
    e[j] = 1;
    const col = new Float64Array(N);
    apply(e, col);
    for (let i = 0; i < N; i++) J[i * N + j] = col[i];
  }
  return J;
}
/** Central-difference Jacobian (row-major) of Pi_K at v. */
function fdJacobian(K: ConeSpec, v: Float64Array, h: number): Float64Array {
  const N = K.size;
  const cols = fd(
    (p) => {
      const out = new Float64Array(N);
      projectCone(K, Float64Array.from(p), out);
      return Array.from(out);
    },
    Array.from(v),
    h,
  );
  const J = new Float64Array(N * N);
  for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) J[i * N + j] = cols[j][i];
  return J;
}
/** Symmetric with eigenvalues in [0, 1], up to rounding. */
function expectProjectionLike(J: Float64Array, N: number, what: string): void {
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) expect(Math.abs(J[i * N + j] - J[j * N + i]), `${what}: symmetric (${i}, ${j})`).toBeLessThanOrEqual(1e-12);
  const sym = J.map((_, a) => (J[a] + J[(a % N) * N + Math.floor(a / N)]) / 2);
  for (const l of eigenvalues(sym, N)) {
    expect(l, `${what}: eigenvalue`).toBeGreaterThanOrEqual(-1e-12);
    expect(l, `${what}: eigenvalue`).toBeLessThanOrEqual(1 + 1e-12);
  }
}

/** Membership of s in K (independent of the projection): zero = 0, nonneg >= 0, |x| <= t, smat eigenvalues >= 0. */
function expectInCone(K: ConeSpec, s: Float64Array, dual: boolean, tol: number): void {
  for (const b of K.blocks) {
    const x = s.subarray(b.offset, b.offset + b.size);
    if (b.kind === 'zero' && !dual) for (const xi of x) expect(Math.abs(xi)).toBeLessThanOrEqual(tol);
    if (b.kind === 'nonneg') for (const xi of x) expect(xi).toBeGreaterThanOrEqual(-tol);
    if (b.kind === 'soc') expect(Math.hypot(...x.subarray(1))).toBeLessThanOrEqual(x[0] + tol);
    if (b.kind === 'psd' && b.order > 0) {
      // smat written here from the definition, so that membership does not rest on cones.ts's smat.
      const k = b.order;
      const M = new Float64Array(k * k);
      let a = 0;
      for (let j = 0; j < k; j++) for (let i = j; i < k; i++, a++) M[i * k + j] = M[j * k + i] = i === j ? x[a] : x[a] / Math.SQRT2;
      expect(eigenvalues(M, k)[0]).toBeGreaterThanOrEqual(-tol);
    }
  }
}

/** A random point of K (zero blocks 0, t >= |x|, svec(B B^T)). */
function randomInCone(rng: Rng, K: ConeSpec): Float64Array {
  const w = new Float64Array(K.size);
  for (const b of K.blocks) {
    if (b.kind === 'nonneg') for (let i = 0; i < b.size; i++) w[b.offset + i] = rng() < 0.3 ? 0 : 2 * rng();
    if (b.kind === 'soc') {
      const x = randomVec(rng, b.size - 1, 2);
      w.set(x, b.offset + 1);
      w[b.offset] = Math.hypot(...x) + (rng() < 0.3 ? 0 : rng());
    }
    if (b.kind === 'psd') {
      const k = b.order;
      const rank = rng() < 0.5 ? 1 : k;
      const B = Array.from({ length: k }, () => Array.from({ length: rank }, () => unif(rng)));
      w.set(refSvec(B.map((ri) => B.map((rj) => dot(ri, rj)))), b.offset);
    }
  }
  return w;
}

const CONES: [string, ConeSpec][] = [
  ['zero', cone(['zero', 3])],
  ['nonneg', cone(['nonneg', 5])],
  ['two soc', cone(['soc', 4], ['soc', 3])],
  ['two psd', cone(['psd', 3], ['psd', 2])],
  ['mixed', cone(['zero', 2], ['nonneg', 3], ['soc', 1], ['soc', 4], ['psd', 3], ['nonneg', 0], ['soc', 3], ['psd', 2], ['psd', 0])],
];

describe('cone codes', () => {
  it('decodes offsets, sizes and orders, empty blocks kept in place', () => {
    expect(CONE_CODES).toEqual({ zero: 0, nonneg: 1, soc: 2, psd: 3 });
    const K = decodeCone([0, 2, 1, 0, 2, 3, 3, 3, 1, 1]);
    expect(K.size).toBe(2 + 0 + 3 + 6 + 1);
    expect(K.blocks).toEqual([
      { kind: 'zero', offset: 0, size: 2, order: 2 },
      { kind: 'nonneg', offset: 2, size: 0, order: 0 },
      { kind: 'soc', offset: 2, size: 3, order: 3 },
      { kind: 'psd', offset: 5, size: 6, order: 3 },
      { kind: 'nonneg', offset: 11, size: 1, order: 1 },
    ]);
    expect(Array.from(encodeCone([{ kind: 'psd', n: 4 }, { kind: 'soc', n: 1 }]))).toEqual([3, 4, 2, 1]);
    expect(decodeCone([]).size).toBe(0);
  });

  it('rejects bad codes with a message that names the problem', () => {
    expect(() => decodeCone([1, 2, 0])).toThrow(/odd/);
    expect(() => decodeCone([4, 2])).toThrow(/block 1 has kind code 4/);
    expect(() => decodeCone([1, 2, -1, 2])).toThrow(/block 2 has kind code -1/);
    expect(() => decodeCone([1.5, 2])).toThrow(/kind code 1.5/);
    expect(() => decodeCone([NaN, 2])).toThrow(/kind code NaN/);
    expect(() => decodeCone([1, -3])).toThrow(/block 1 \(nonneg\) has length -3/);
    expect(() => decodeCone([3, 2.5])).toThrow(/block 1 \(psd\) has order 2.5/);
    expect(() => decodeCone([0, Infinity])).toThrow(/nonnegative integer/);
    expect(() => decodeCone([1, 1, 2, 0])).toThrow(/block 2 \(soc\) has length 0/);
    expect(() => encodeCone([{ kind: 'soc', n: 0 }])).toThrow(/soc/);
    expect(() => encodeCone([{ kind: 'cube' as ConeBlockKind, n: 2 }])).toThrow(/kind code/);
  });
});

describe('svec and smat', () => {
  it('match the definition, invert each other, and carry trace(XY) to the dot product', () => {
    const rng = mulberry32(11);
    for (const k of [0, 1, 2, 3, 5]) {
      const X = randomSym(rng, k);
      const Y = randomSym(rng, k);
      const sx = svec(flat(X), k);
      expect(maxAbsDiff(sx, refSvec(X))).toBeLessThanOrEqual(1e-15);
      expect(maxAbsDiff(smat(sx, k), flat(X))).toBeLessThanOrEqual(1e-15);
      const trXY = X.reduce((s, row, i) => s + row.reduce((t, x, j) => t + x * Y[j][i], 0), 0);
      expect(Math.abs(dot(sx, svec(flat(Y), k)) - trXY)).toBeLessThanOrEqual(1e-13);
    }
    expect(() => svec(new Float64Array(5), 2)).toThrow(/4 entries/);
    expect(() => smat(new Float64Array(4), 2)).toThrow(/3 entries/);
  });
});

describe('projections onto product cones', () => {
  it("satisfy Moreau's decomposition, membership and orthogonality", () => {
    const rng = mulberry32(5);
    for (const [name, K] of CONES) {
      for (let trial = 0; trial < 30; trial++) {
        const v = randomVec(rng, K.size, trial % 3 === 0 ? 10 : 1);
        const p = new Float64Array(K.size);
        const d = new Float64Array(K.size);
        projectCone(K, v, p);
        projectDualCone(K, v.map((x) => -x), d);
        expect(maxAbsDiff(p.map((x, i) => x - d[i]), v), `${name}: v = Pi_K(v) - Pi_K*(-v)`).toBeLessThanOrEqual(1e-12 * (1 + Math.max(...v.map(Math.abs))));
        expect(Math.abs(dot(p, d)), `${name}: orthogonal`).toBeLessThanOrEqual(1e-11 * (1 + dot(v, v)));
        expectInCone(K, p, false, 1e-12);
        expectInCone(K, d, true, 1e-12);
      }
    }
  });

  it('satisfy the variational inequality <v - Pi(v), w - Pi(v)> <= 0 for w in K', () => {
    const rng = mulberry32(6);
    for (const [name, K] of CONES) {
      for (let trial = 0; trial < 20; trial++) {
        const v = randomVec(rng, K.size, 2);
        const p = new Float64Array(K.size);
        projectCone(K, v, p);
        const r = v.map((x, i) => x - p[i]);
        for (let m = 0; m < 5; m++) {
          const w = randomInCone(rng, K);
          expect(dot(r, w.map((x, i) => x - p[i])), name).toBeLessThanOrEqual(1e-12);
        }
      }
    }
  });

  it('agree with projSoc and projPsd (of smat) block by block, in place as well', () => {
    const rng = mulberry32(7);
    const K = cone(['soc', 4], ['psd', 4], ['soc', 1]);
    for (let trial = 0; trial < 20; trial++) {
      const v = randomVec(rng, K.size, 2);
      const p = new Float64Array(K.size);
      projectCone(K, v, p);
      const soc = projSoc({ shape: [4], data: v.slice(0, 4) }).data;
      expect(maxAbsDiff(p.subarray(0, 4), soc)).toBeLessThanOrEqual(1e-15);
      const P = projPsd({ shape: [4, 4], data: smat(v.slice(4, 14), 4) }).data;
      expect(maxAbsDiff(p.subarray(4, 14), svec(P, 4))).toBeLessThanOrEqual(1e-13);
      expect(p[14]).toBe(Math.max(v[14], 0));
      const inPlace = v.slice();
      projectCone(K, inPlace, inPlace);
      expect(maxAbsDiff(inPlace, p)).toBe(0);
    }
  });

  it('reject arrays of the wrong length', () => {
    const K = cone(['nonneg', 2]);
    expect(() => projectCone(K, new Float64Array(3), new Float64Array(2))).toThrow(/v has length 3, the cone has 2 rows/);
    expect(() => projectConeJvp(K, new Float64Array(2), new Float64Array(2), new Float64Array(1))).toThrow(/out has length 1/);
  });
});

describe('the selected Jacobian', () => {
  /** A random point at least `margin` away from every switching surface (by the gaps computed here). */
  function awayFromTies(rng: Rng, K: ConeSpec, margin: number): Float64Array {
    for (;;) {
      const v = randomVec(rng, K.size, 2);
      let gap = Infinity;
      for (const b of K.blocks) {
        const x = v.subarray(b.offset, b.offset + b.size);
        if (b.kind === 'nonneg') for (const xi of x) gap = Math.min(gap, Math.abs(xi));
        if (b.kind === 'soc') {
          const n = Math.hypot(...x.subarray(1));
          gap = Math.min(gap, Math.abs(n - x[0]), Math.abs(n + x[0]));
        }
        if (b.kind === 'psd' && b.order > 0) for (const l of eigenvalues(smat(x.slice(), b.order), b.order)) gap = Math.min(gap, Math.abs(l));
      }
      if (gap > margin) {
        expect(coneGap(K, v)).toBeCloseTo(gap, 12);
        return v;
      }
    }
  }

  it('matches central differences away from ties, is symmetric with spectrum in [0, 1], and serves as a VJP', () => {
    const rng = mulberry32(8);
    for (const [name, K] of CONES) {
      for (let trial = 0; trial < 6; trial++) {
        const v = awayFromTies(rng, K, 0.05);
        const J = coneJacobian(K, v);
        expect(maxAbsDiff(J, fdJacobian(K, v, 1e-6)), `${name}: J vs central differences`).toBeLessThanOrEqual(1e-7);
        expectProjectionLike(J, K.size, name);
        const a = randomVec(rng, K.size);
        const b = randomVec(rng, K.size);
        const Ja = new Float64Array(K.size);
        const Jb = new Float64Array(K.size);
        projectConeJvp(K, v, a, Ja);
        projectConeJvp(K, v, b, Jb);
        expect(Math.abs(dot(Ja, b) - dot(a, Jb)), `${name}: <Ja, b> = <a, Jb>`).toBeLessThanOrEqual(1e-13);
        const fdJa = new Float64Array(K.size);
        for (let i = 0; i < K.size; i++) for (let j = 0; j < K.size; j++) fdJa[i] += J[i * K.size + j] * a[j];
        expect(maxAbsDiff(Ja, fdJa), `${name}: JVP vs dense J`).toBeLessThanOrEqual(1e-13);
        projectConeJvp(K, v, a, a);
        expect(maxAbsDiff(a, Ja), `${name}: JVP in place`).toBe(0);
      }
    }
  });

  it('selects the pieces of projections.ts at exact ties', () => {
    const rng = mulberry32(9);
    // nonneg at 0 -> 0; soc on the boundary -> boundary piece; soc at 0 -> 0; psd with a zero eigenvalue -> psdWeights.
    const K = cone(['nonneg', 2], ['soc', 3], ['soc', 3], ['psd', 3]);
    const Q = randomOrthogonal(rng, 3);
    const S = fromEigen(Q, [1.5, 0, -0.7]);
    const v = Float64Array.from([0, 1, 5, 3, 4, 0, 0, 0, ...refSvec(S)]);
    const t = randomVec(rng, K.size);
    const out = new Float64Array(K.size);
    projectConeJvp(K, v, t, out);
    expect(maxAbsDiff(out.subarray(0, 2), [0, t[1]])).toBe(0);
    expect(maxAbsDiff(out.subarray(2, 5), projSocJvp({ shape: [3], data: v.slice(2, 5) }, { shape: [3], data: t.slice(2, 5) }).data)).toBeLessThanOrEqual(1e-15);
    expect(maxAbsDiff(out.subarray(5, 8), [0, 0, 0])).toBe(0);
    const dP = projPsdJvp({ shape: [3, 3], data: flat(S) }, { shape: [3, 3], data: smat(t.slice(8), 3) }).data;
    expect(maxAbsDiff(out.subarray(8), svec(dP, 3))).toBeLessThanOrEqual(1e-14);
  });
});

describe('ties and pieces', () => {
  /** The dense matrix of the piece chosen by `choice` at the ties of v. */
  const pieceMatrix = (K: ConeSpec, v: Float64Array, ties: ConeTie[], choice: number[]): Float64Array =>
    matrixOf((t, out) => projectConeJvpAt(K, v, ties, choice, t, out), K.size);
  /** The Jacobian's one-sided limit at v from direction d: central differences at v + eps d, step h << eps. */
  const limitFrom = (K: ConeSpec, v: Float64Array, d: ArrayLike<number>, eps: number, h: number): Float64Array =>
    fdJacobian(K, v.map((x, i) => x + eps * d[i]), h);
  const blockOf = (J: Float64Array, N: number, lo: number, hi: number): Float64Array => {
    const out: number[] = [];
    for (let i = lo; i < hi; i++) for (let j = lo; j < hi; j++) out.push(J[i * N + j]);
    return Float64Array.from(out);
  };

  it('names the right block and row, and measures the gap', () => {
    const Q = randomOrthogonal(mulberry32(3), 3);
    const K = cone(['zero', 1], ['nonneg', 3], ['soc', 3], ['soc', 3], ['psd', 3], ['soc', 3], ['soc', 1]);
    const v = Float64Array.from([0, 2, 3e-12, -1, 5, 3, 4 + 1e-13, -1, 0.6, 0.8, ...refSvec(fromEigen(Q, [2, -1e-13, -1])), 1e-14, 0, -1e-14, -4e-13]);
    const ties = coneTies(K, v, 1e-10);
    expect(ties.map(({ block, kind, entry, row, pieces }) => ({ block, kind, entry, row, pieces }))).toEqual([
      { block: 1, kind: 'nonneg', entry: 2, row: 2, pieces: 2 },
      { block: 2, kind: 'soc', entry: 0, row: 4, pieces: 2 },
      { block: 3, kind: 'soc', entry: 0, row: 7, pieces: 2 },
      { block: 4, kind: 'psd', entry: 1, row: 10, pieces: 2 },
      { block: 5, kind: 'soc', entry: 0, row: 16, pieces: 3 },
      { block: 6, kind: 'soc', entry: 0, row: 19, pieces: 2 },
    ]);
    expect(ties[0].what).toBe('nonneg row 3: v = 3e-12');
    expect(ties[1].what).toMatch(/^soc block 3 \(rows 5-7\): on the cone's boundary/);
    expect(ties[2].what).toMatch(/^soc block 4 \(rows 8-10\): on the polar cone's boundary/);
    expect(ties[3].what).toMatch(/^psd block 5 \(rows 11-16\): eigenvalue 2 of 3 is -1e-13/);
    expect(ties[4].what).toMatch(/^soc block 6 \(rows 17-19\): at the origin/);
    expect(ties[5].what).toMatch(/^soc block 7 \(row 20\): at the origin/);
    expect(ties[0].gap).toBe(3e-12);
    // | |x| - t | with |x| = |(3, 4 + 1e-13)| = 5 + 0.8e-13.
    expect(ties[1].gap).toBeCloseTo(8e-14, 14);
    expect(ties[3].gap).toBeCloseTo(1e-13, 14);
    expect(coneGap(K, v)).toBeLessThanOrEqual(1e-15);
    expect(coneTies(K, v, 1e-12).map((t) => t.block)).toEqual([2, 3, 4, 5, 6]);
    expect(coneGap(cone(['zero', 3]), new Float64Array(3))).toBe(Infinity);
    expect(coneGap(cone(['psd', 2]), Float64Array.from([3, 0, -2]))).toBe(2);
  });

  it('nonneg: the pieces are the one-sided derivatives', () => {
    const K = cone(['nonneg', 3]);
    const v = Float64Array.from([0, 1, -1]);
    const ties = coneTies(K, v, 0);
    expect(ties.map((t) => t.row)).toEqual([0]);
    for (const [c, d] of [[0, -1], [1, 1]]) {
      const J = pieceMatrix(K, v, ties, [c]);
      expect(maxAbsDiff(J, limitFrom(K, v, [d, 0, 0], 1e-4, 1e-6)), `choice ${c}`).toBeLessThanOrEqual(1e-9);
      expectProjectionLike(J, 3, `choice ${c}`);
    }
  });

  it('soc: the pieces at the cone, the polar cone and the origin are the limits from the sides', () => {
    const K = cone(['soc', 3]);
    const eps = 1e-5;
    const h = 1e-8;
    const cases: { v: number[]; dirs: number[][] }[] = [
      // cone's boundary |x| = t: identity from inside, the boundary piece from outside.
      { v: [5, 3, -4], dirs: [[1, 0, 0], [-1, 0, 0]] },
      // polar's boundary |x| = -t: zero from inside the polar cone, the boundary piece from outside.
      { v: [-5, 3, 4], dirs: [[-1, 0, 0], [1, 0, 0]] },
      // the origin: zero from the polar cone, identity from the cone, and (0, e1) for the third piece.
      { v: [0, 0, 0], dirs: [[-1, 0, 0], [1, 0, 0], [0, 1, 0]] },
    ];
    for (const { v: vArr, dirs } of cases) {
      const v = Float64Array.from(vArr);
      const ties = coneTies(K, v, 1e-12);
      expect(ties.length).toBe(1);
      expect(ties[0].pieces).toBe(dirs.length);
      dirs.forEach((d, c) => {
        const J = pieceMatrix(K, v, ties, [c]);
        expect(maxAbsDiff(J, limitFrom(K, v, d, eps, h)), `v = ${vArr}, choice ${c}`).toBeLessThanOrEqual(1e-4);
        expectProjectionLike(J, 3, `v = ${vArr}, choice ${c}`);
      });
    }
    // A length-1 block (the half-line): zero from below, identity from above.
    const K1 = cone(['soc', 1]);
    const z = Float64Array.of(0);
    const t1 = coneTies(K1, z, 0);
    expect(t1[0].pieces).toBe(2);
    expect(pieceMatrix(K1, z, t1, [0])[0]).toBe(0);
    expect(pieceMatrix(K1, z, t1, [1])[0]).toBe(1);
  });

  it('psd: a zero eigenvalue gives the limits from l -> 0- (choice 0) and l -> 0+ (choice 1)', () => {
    const rng = mulberry32(12);
    const K = cone(['nonneg', 1], ['psd', 3]);
    const Q = randomOrthogonal(rng, 3);
    const v = Float64Array.from([2, ...refSvec(fromEigen(Q, [1.3, 0, -0.8]))]);
    const ties = coneTies(K, v, 1e-12);
    expect(ties.map((t) => [t.block, t.entry])).toEqual([[1, 1]]);
    const q = column(Q, 1);
    const d = [0, ...refSvec(outer(q))];
    for (const [c, sign] of [[0, -1], [1, 1]]) {
      const J = pieceMatrix(K, v, ties, [c]);
      const limit = limitFrom(K, v, d.map((x) => sign * x), 1e-5, 1e-8);
      expect(maxAbsDiff(J, limit), `choice ${c}`).toBeLessThanOrEqual(1e-4);
      expectProjectionLike(J, K.size, `choice ${c}`);
    }
    // The two pieces differ (the tie is real): by the weights of the zero eigenvalue with itself (the rank-one svec(q q^T) svec(q q^T)^T).
    expect(maxAbsDiff(pieceMatrix(K, v, ties, [0]), pieceMatrix(K, v, ties, [1]))).toBeGreaterThan(0.1);
  });

  it('psd: two zero eigenvalues combine, a pair weighing 1 iff both chose 1', () => {
    // Diagonal, so that symmetricEigen returns the unit vectors; the null space is span(e2, e3).
    const k = 4;
    const K = cone(['psd', k]);
    const diag = [2, 0, 0, -1];
    const v = Float64Array.from(refSvec(diag.map((x, i) => diag.map((_, j) => (i === j ? x : 0)))));
    const ties = coneTies(K, v, 0);
    expect(ties.map((t) => t.entry)).toEqual([1, 2]);
    const E = (i: number, a: number): number[] => refSvec(Array.from({ length: k }, (_, r) => Array.from({ length: k }, (__, c) => (r === i && c === i ? a : 0))));
    const add = (a: number[], b: number[]): number[] => a.map((x, i) => x + b[i]);
    const eps = 1e-3;
    // Both 1: l2, l3 -> 0+; both 0: l2, l3 -> 0-; mixed: l = eps^2 (-> 0+ fast) against -eps.
    const both1 = limitFrom(K, v, add(E(1, 1), E(2, 1)), eps, 1e-9);
    const both0 = limitFrom(K, v, add(E(1, -1), E(2, -1)), eps, 1e-9);
    const mixA = limitFrom(K, v, add(E(1, eps), E(2, -1)), eps, 1e-10);
    const mixB = limitFrom(K, v, add(E(1, -1), E(2, eps)), eps, 1e-10);
    expect(maxAbsDiff(pieceMatrix(K, v, ties, [1, 1]), both1)).toBeLessThanOrEqual(2e-3);
    expect(maxAbsDiff(pieceMatrix(K, v, ties, [0, 0]), both0)).toBeLessThanOrEqual(2e-3);
    const p10 = pieceMatrix(K, v, ties, [1, 0]);
    const p01 = pieceMatrix(K, v, ties, [0, 1]);
    // Which tie is e2 is symmetricEigen's order of equal eigenvalues: accept either assignment.
    const err = Math.min(Math.max(maxAbsDiff(p10, mixA), maxAbsDiff(p01, mixB)), Math.max(maxAbsDiff(p10, mixB), maxAbsDiff(p01, mixA)));
    expect(err).toBeLessThanOrEqual(2e-3);
    for (const choice of [[0, 0], [0, 1], [1, 0], [1, 1]]) expectProjectionLike(pieceMatrix(K, v, ties, choice), K.size, `choice ${choice}`);
  });

  it('a near-tie takes the pieces of the nearest point on the surface (r = +-1, tied eigenvalues 0)', () => {
    // soc (1, 0.9, 0) with tol 0.2: on the cone's boundary up to 0.1; choice 1 is the r = 1 piece
    // (1/2) [[1, w^T], [w, 2 I - w w^T]], w = e1, written out here.
    const K = cone(['soc', 3], ['psd', 3]);
    const v = Float64Array.from([1, 0.9, 0, ...refSvec([[2, 0, 0], [0, 1e-3, 0], [0, 0, -1]])]);
    const ties = coneTies(K, v, 0.2);
    expect(ties.map((t) => [t.kind, t.entry])).toEqual([['soc', 0], ['psd', 1]]);
    const N = K.size;
    for (const c of [0, 1]) {
      const J = pieceMatrix(K, v, ties, [1, c]);
      expect(maxAbsDiff(blockOf(J, N, 0, 3), [0.5, 0.5, 0, 0.5, 0.5, 0, 0, 0, 1])).toBeLessThanOrEqual(1e-15);
      // Diagonal smat(v): the psd piece is diagonal in svec coordinates with the weights Gamma_ij
      // (svec order (1,1), (2,1), (3,1), (2,2), (3,2), (3,3); eigenvalue 1e-3 is the middle one,
      // snapped to 0: 1 against 2, 0 against -1, c against itself; 2 against -1 is 2 / (2 + 1)).
      expect(maxAbsDiff(Array.from({ length: 6 }, (_, a) => J[(3 + a) * N + 3 + a]), [1, 1, 2 / 3, c, 0, 0])).toBeLessThanOrEqual(1e-15);
    }
  });

  it('every combination of pieces at near-ties of a mixed cone is symmetric with spectrum in [0, 1]', () => {
    const rng = mulberry32(13);
    const K = cone(['zero', 1], ['nonneg', 2], ['soc', 3], ['soc', 4], ['soc', 3], ['psd', 3]);
    const Q = randomOrthogonal(rng, 3);
    // Near ties: 1e-11 off each surface, so that the snapped pieces are used away from the exact point.
    const v = Float64Array.from([0.4, 1e-11, 2, 1 + 1e-11, 0.6, 0.8, -2, 2 * Math.SQRT1_2, -2 * Math.SQRT1_2 - 1e-11, 0, 1e-12, -1e-12, 0, ...refSvec(fromEigen(Q, [1e-11, -3e-12, 0.5]))]);
    const ties = coneTies(K, v, 1e-9);
    expect(ties.map((t) => [t.kind, t.pieces])).toEqual([['nonneg', 2], ['soc', 2], ['soc', 2], ['soc', 3], ['psd', 2], ['psd', 2]]);
    const counts = ties.map((t) => t.pieces);
    const choice = counts.map(() => 0);
    for (;;) {
      const J = pieceMatrix(K, v, ties, choice);
      expectProjectionLike(J, K.size, `choice ${choice}`);
      // The dense form the certificate's vertex test assembles: the same pieces (up to the symmetrizing average).
      const dense = coneJacobian(K, v, { ties, choice });
      expect(Math.max(...Array.from(dense, (x, k) => Math.abs(x - J[k])))).toBeLessThan(1e-14);
      let i = 0;
      while (i < choice.length && ++choice[i] === counts[i]) choice[i++] = 0;
      if (i === choice.length) break;
    }
    expect(() => projectConeJvpAt(K, v, ties, [0], new Float64Array(K.size), new Float64Array(K.size))).toThrow(/6 ties but 1 choices/);
    expect(() => projectConeJvpAt(K, v, ties, [0, 0, 0, 3, 0, 0], new Float64Array(K.size), new Float64Array(K.size))).toThrow(/choice 3 for tie 4/);
    expect(() => projectConeJvpAt(K, v, [ties[0], ties[0]], [0, 1], new Float64Array(K.size), new Float64Array(K.size))).toThrow(/listed twice/);
    // The selected Jacobian itself at this point, too.
    expectProjectionLike(coneJacobian(K, v), K.size, 'selected');
  });
});
