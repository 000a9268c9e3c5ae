// The cone-program peers checked against each other and against truth: generated programs
// against their own KKT conditions, the KKT matrix against differences of the KKT map, the
// TS KKT derivatives against the closed-form LP solution map and against central differences
// of the solution map of perturbed programs (found by Newton on F with a difference Jacobian),
// cvxopt's conelp against the known solutions, and the python derivative against the TS one.
import { describe, expect, it } from 'vitest';
import { pythonWith, runPeer, writeMatrix } from '../../bench/peers.ts';
import { fd, maxRel } from './finite-differences.ts';
import { mulberry32, type Rng } from './rng.ts';
import {
  blockRanges,
  coneMargin,
  coneViolation,
  degenerateLp,
  degeneratePsd,
  degenerateSoc,
  gaussian,
  lpProgram,
  randomProgram,
  smat,
  svec,
  symEigenvalues,
  type Cone,
  type ConeProblem,
  type ConeProgram,
  type ConeSolution,
} from './cone-programs.ts';
import { kktGradient, kktJacobian, kktMatrix, kktResidual, kktSingular, newtonKkt, solveDense } from './cone-kkt.ts';

const python = pythonWith(['cvxopt', 'numpy']);

const socCone: Cone = { blocks: [{ kind: 'nonneg', n: 8 }, { kind: 'soc', n: 4 }, { kind: 'soc', n: 5 }, { kind: 'soc', n: 3 }] };
const psdCone: Cone = { blocks: [{ kind: 'nonneg', n: 6 }, { kind: 'psd', n: 3 }, { kind: 'psd', n: 4 }] };
const mixedCone: Cone = {
  blocks: [
    { kind: 'zero', n: 3 },
    { kind: 'soc', n: 4 },
    { kind: 'nonneg', n: 10 },
    { kind: 'psd', n: 3 },
    { kind: 'soc', n: 3 },
    { kind: 'nonneg', n: 5 },
  ],
};

/**
 * The families of the tests, each a fresh program per seed. `curved`: boundary soc pairs and
 * psd pairs of positive ranks throughout, where x* moves with c (randomPatterns).
 */
const families: { name: string; curved: boolean; make: (rng: Rng) => ConeProgram }[] = [
  { name: 'LP 30 x 12', curved: false, make: (rng) => lpProgram(rng, 30, 12) },
  { name: 'LP with 5 equalities, 40 x 15', curved: false, make: (rng) => lpProgram(rng, 40, 15, 5) },
  { name: 'LP 50 x 25', curved: false, make: (rng) => lpProgram(rng, 50, 25) },
  { name: 'SOCP (nonneg 8, soc 4, 5, 3), n = 10', curved: true, make: (rng) => randomProgram(rng, socCone, 10, true) },
  { name: 'SDP (nonneg 6, psd 3, 4), n = 10', curved: true, make: (rng) => randomProgram(rng, psdCone, 10, true) },
  { name: 'mixed (zero, soc, nonneg, psd, soc, nonneg), n = 14', curved: true, make: (rng) => randomProgram(rng, mixedCone, 14, true) },
  { name: 'mixed, any faces (interior, zero and boundary pairs), n = 14', curved: false, make: (rng) => randomProgram(rng, mixedCone, 14) },
];

const inf = (v: ArrayLike<number>) => Array.from(v).reduce((t, e) => Math.max(t, Math.abs(e)), 0);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((t, e, i) => t + e * b[i], 0);
const randomVector = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => gaussian(rng));

/** The problem moved by t along (dc, db, dA). */
function moved(P: ConeProblem, t: number, d: { c: Float64Array; b: Float64Array; A: Float64Array }): ConeProblem {
  return { ...P, c: P.c.map((v, i) => v + t * d.c[i]), b: P.b.map((v, i) => v + t * d.b[i]), A: P.A.map((v, i) => v + t * d.A[i]) };
}

/** The solution of a perturbed program: Newton from the known solution, checked to be a KKT point in K x K*. */
function solutionOf(P: ConeProblem, start: ConeSolution): ConeSolution {
  const { z, residual } = newtonKkt(P, start);
  expect(residual).toBeLessThan(1e-12);
  expect(coneViolation(P.cone, z.s, false)).toBeLessThan(1e-12);
  expect(coneViolation(P.cone, z.y, true)).toBeLessThan(1e-12);
  return z;
}

describe('generated cone programs', () => {
  it('svec is an isometry: <svec X, svec Y> = trace(XY)', () => {
    const rng = mulberry32(1);
    for (const k of [1, 2, 3, 5]) {
      const sym = () => {
        const X = Array.from({ length: k }, () => Array.from({ length: k }, () => gaussian(rng)));
        return X.map((row, i) => row.map((_, j) => X[i][j] + X[j][i]));
      };
      const X = sym();
      const Y = sym();
      let trace = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) trace += X[i][j] * Y[j][i];
      expect(Math.abs(dot(svec(X), svec(Y)) - trace)).toBeLessThan(1e-12 * (1 + Math.abs(trace)));
      expect(inf(svec(smat(svec(X), k)).map((v, i) => v - svec(X)[i]))).toBeLessThan(1e-15);
    }
  });

  it('Jacobi eigenvalues match a diagonal matrix turned by an orthogonal one', () => {
    const rng = mulberry32(2);
    const k = 5;
    const lambda = [-2, -0.5, 0, 1, 3];
    const M = Array.from({ length: k }, () => Array.from({ length: k }, () => gaussian(rng)));
    // Q from the QR of M by Gram-Schmidt, independent of cone-programs' orthogonal().
    const Q: number[][] = [];
    for (let j = 0; j < k; j++) {
      const v = M.map((row) => row[j]);
      for (const q of Q) {
        const d = dot(q, v);
        q.forEach((qi, i) => (v[i] -= d * qi));
      }
      const norm = Math.hypot(...v);
      Q.push(v.map((t) => t / norm));
    }
    const X = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => lambda.reduce((t, l, e) => t + Q[e][i] * l * Q[e][j], 0)));
    symEigenvalues(X).forEach((v, i) => expect(Math.abs(v - lambda[i])).toBeLessThan(1e-12));
  });

  for (const { name, make } of families) {
    it(`${name}: the known solution satisfies the KKT conditions, strictly complementary and nondegenerate`, () => {
      for (const seed of [1, 2, 3]) {
        const P = make(mulberry32(seed));
        const scale = Math.max(1, inf(P.b), inf(P.c));
        expect(inf(kktResidual(P, P))).toBeLessThan(1e-12 * scale);
        expect(coneViolation(P.cone, P.s, false)).toBeLessThan(1e-12);
        expect(coneViolation(P.cone, P.y, true)).toBeLessThan(1e-12);
        for (const { start, length } of blockRanges(P.cone)) {
          expect(Math.abs(dot(P.s.subarray(start, start + length), P.y.subarray(start, start + length)))).toBeLessThan(1e-12);
        }
        // Strict complementarity: s + y interior to every non-zero block.
        expect(coneMargin(P.cone, P.s.map((v, i) => v + P.y[i]))).toBeGreaterThan(1e-3);
        expect(kktSingular(P, P)).toBe(false);
      }
    });
  }

  it('degenerate programs still solve their KKT conditions, and their KKT matrix is singular', () => {
    for (const seed of [1, 2, 3]) {
      const rng = mulberry32(seed);
      for (const P of [degenerateLp(rng, 20, 8), degenerateSoc(rng, 6, 4), degeneratePsd(rng, 8, 3), degeneratePsd(rng, 10, 4)]) {
        expect(inf(kktResidual(P, P))).toBeLessThan(1e-12 * Math.max(1, inf(P.b), inf(P.c)));
        expect(coneViolation(P.cone, P.s, false)).toBeLessThan(1e-12);
        expect(coneViolation(P.cone, P.y, true)).toBeLessThan(1e-12);
        expect(kktSingular(P, P)).toBe(true);
      }
    }
  });
});

describe('KKT differentiation (TS)', () => {
  it('the KKT matrix is the Jacobian of the KKT map (central differences, exact on a quadratic map)', () => {
    const rng = mulberry32(7);
    for (const P of [randomProgram(rng, mixedCone, 14), randomProgram(rng, psdCone, 10)]) {
      const { rows: m, cols: n } = P;
      // At a point off the solution, so that every entry of M is exercised.
      const z = { x: randomVector(rng, n), y: randomVector(rng, m), s: randomVector(rng, m) };
      const v = [...z.x, ...z.y, ...z.s];
      const at = (p: number[]) => Array.from(kktResidual(P, { x: Float64Array.from(p.slice(0, n)), y: Float64Array.from(p.slice(n, n + m)), s: Float64Array.from(p.slice(n + m)) }));
      const J = fd(at, v, 1); // J[j][i] = dF_i / dz_j
      const M = kktMatrix(P, z);
      const N = n + 2 * m;
      let worst = 0;
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) worst = Math.max(worst, Math.abs(M[i * N + j] - J[j][i]));
      expect(worst).toBeLessThan(1e-12);
    }
  });

  it('LP: dx/db is A_active^-1 on the active rows and 0 elsewhere, dx/dc = 0, and the gradient matches differences of x = A_active^-1 b_active', () => {
    for (const seed of [1, 2]) {
      const P = lpProgram(mulberry32(seed), 18, 7);
      const { rows: m, cols: n } = P;
      const active = Array.from({ length: m }, (_, i) => i).filter((i) => P.y[i] > 0);
      expect(active.length).toBe(n);
      // The closed-form solution map: the active set is fixed near a nondegenerate solution.
      const xOf = (A: ArrayLike<number>, b: ArrayLike<number>) => {
        const Aact = new Float64Array(n * n);
        active.forEach((r, i) => {
          for (let j = 0; j < n; j++) Aact[i * n + j] = A[r * n + j];
        });
        return solveDense(Aact, n, active.map((r) => b[r]));
      };
      expect(maxRel(xOf(P.A, P.b), P.x)).toBeLessThan(1e-12);
      const { dxdc, dxdb } = kktJacobian(P, P);
      expect(inf(dxdc)).toBeLessThan(1e-12);
      const fdB = fd((b) => Array.from(xOf(P.A, b)), Array.from(P.b));
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) expect(Math.abs(dxdb[i * m + j] - fdB[j][i])).toBeLessThan(1e-7);

      const w = randomVector(mulberry32(seed + 100), n);
      const g = kktGradient(P, P, w);
      expect(inf(g.c)).toBeLessThan(1e-12);
      const fdA = fd((A) => [dot(w, xOf(A, P.b))], Array.from(P.A));
      expect(maxRel(g.A, fdA.map((d) => d[0]))).toBeLessThan(1e-7);
      // The adjoint solve (M') agrees with the forward one (M): grad_b = dxdb' w.
      const viaJacobian = Array.from({ length: m }, (_, j) => Array.from(w).reduce((t, wi, i) => t + wi * dxdb[i * m + j], 0));
      expect(maxRel(g.b, viaJacobian)).toBeLessThan(1e-12);
    }
  });

  for (const { name, make } of families.filter((f) => f.curved)) {
    it(`${name}: dx/dc and dx/db match central differences of the perturbed programs' solutions`, () => {
      const P = make(mulberry32(11));
      const { rows: m, cols: n } = P;
      const { dxdc, dxdb } = kktJacobian(P, P);
      expect(inf(dxdc)).toBeGreaterThan(1e-3); // curved faces: x* moves with c
      const xOfC = (c: number[]) => Array.from(solutionOf({ ...P, c: Float64Array.from(c) }, P).x);
      const xOfB = (b: number[]) => Array.from(solutionOf({ ...P, b: Float64Array.from(b) }, P).x);
      const fdC = fd(xOfC, Array.from(P.c));
      const fdB = fd(xOfB, Array.from(P.b));
      const scale = Math.max(inf(dxdc), inf(dxdb));
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) expect(Math.abs(dxdc[i * n + j] - fdC[j][i])).toBeLessThan(1e-7 * scale);
        for (let j = 0; j < m; j++) expect(Math.abs(dxdb[i * m + j] - fdB[j][i])).toBeLessThan(1e-7 * scale);
      }
    });

    it(`${name}: the gradient of w'x in (c, b, A) matches directional central differences`, () => {
      const P = make(mulberry32(12));
      const rng = mulberry32(13);
      const w = randomVector(rng, P.cols);
      const g = kktGradient(P, P, w);
      expect(inf(g.c)).toBeGreaterThan(1e-3);
      for (let k = 0; k < 4; k++) {
        const d = { c: randomVector(rng, P.cols), b: randomVector(rng, P.rows), A: randomVector(rng, P.rows * P.cols) };
        const predicted = dot(g.c, d.c) + dot(g.b, d.b) + dot(g.A, d.A);
        const [[measured]] = fd(([t]) => [dot(w, solutionOf(moved(P, t, d), P).x)], [0]);
        expect(Math.abs(predicted - measured)).toBeLessThan(1e-6 * Math.max(1, Math.abs(predicted)));
      }
    });
  }
});

interface PeerResult {
  x: number[];
  y: number[];
  s: number[];
  status: string;
  polished: boolean;
  kkt_residual: [number, number];
  conelp: { x: number[]; y: number[]; s: number[] };
  solve_ms: number;
  diff_ms: number;
  iterations: number;
  kkt_singular: boolean;
  grad_c: number[];
  grad_b: number[];
  grad_A?: number[][];
}

function peerJob(P: ConeProblem, w: ArrayLike<number> | null, name: string | null): Record<string, unknown> {
  const A = name === null ? { A_rows: Array.from({ length: P.rows }, (_, i) => Array.from(P.A.subarray(i * P.cols, (i + 1) * P.cols))) } : { A: writeMatrix(name, P.rows, P.cols, P.A) };
  return { ...A, b: Array.from(P.b), c: Array.from(P.c), cone: P.cone, repeats: 1, ...(w === null ? {} : { weights: Array.from(w) }) };
}

describe.skipIf(python === null)('cvxopt peer (bench/peers/cone_cvxopt.py)', () => {
  const py = python as string;

  for (const { name, make } of families) {
    it(`${name}: conelp finds the known solution; the python KKT gradient equals the TS one`, () => {
      const P = make(mulberry32(21));
      const w = randomVector(mulberry32(22), P.cols);
      // The largest LP goes through a raw f64 file, the others inline.
      const r = runPeer<PeerResult>(py, 'cone_cvxopt.py', peerJob(P, w, P.rows === 50 ? 'cone-peer-lp50' : null));
      expect(r.status).toBe('optimal');
      // conelp alone: the duality gap bounds the error linearly on the nonneg rows only; on
      // curved cones the pair may slide along the boundary by sqrt(gap) (cone_cvxopt.py).
      const curved = P.cone.blocks.some((b) => b.kind === 'soc' || b.kind === 'psd');
      expect(maxRel(r.conelp.x, P.x)).toBeLessThan(curved ? 1e-4 : 1e-7);
      expect(r.kkt_residual[1]).toBeLessThan(1e-12);
      expect(maxRel(r.x, P.x)).toBeLessThan(1e-7);
      expect(maxRel(r.y, P.y)).toBeLessThan(1e-7);
      expect(maxRel(r.s, P.s)).toBeLessThan(1e-7);
      expect(r.kkt_singular).toBe(false);
      const g = kktGradient(P, P, w);
      // Against the gradient's overall scale: grad_c vanishes on an LP (x = A_active^-1 b_active).
      const scale = Math.max(inf(g.c), inf(g.b), inf(g.A));
      const gap = (a: ArrayLike<number>, b: ArrayLike<number>) => inf(Array.from(b, (v, i) => a[i] - v)) / scale;
      expect(r.grad_A).toBeDefined();
      expect(gap(r.grad_c, g.c)).toBeLessThan(1e-7);
      expect(gap(r.grad_b, g.b)).toBeLessThan(1e-7);
      expect(gap((r.grad_A ?? []).flat(), g.A)).toBeLessThan(1e-7);
    });
  }

  it('SOCP: the TS gradient matches central differences of conelp re-solving the perturbed programs', () => {
    const P = randomProgram(mulberry32(31), socCone, 10, true);
    const rng = mulberry32(32);
    const w = randomVector(rng, P.cols);
    const g = kktGradient(P, P, w);
    expect(inf(g.c)).toBeGreaterThan(1e-3);
    for (let k = 0; k < 2; k++) {
      const d = { c: randomVector(rng, P.cols), b: randomVector(rng, P.rows), A: randomVector(rng, P.rows * P.cols) };
      const predicted = dot(g.c, d.c) + dot(g.b, d.b) + dot(g.A, d.A);
      const [[measured]] = fd(([t]) => [dot(w, runPeer<PeerResult>(py, 'cone_cvxopt.py', peerJob(moved(P, t, d), null, null)).x)], [0]);
      expect(Math.abs(predicted - measured)).toBeLessThan(1e-6 * Math.max(1, Math.abs(predicted)));
    }
  });
});
