import { describe, expect, it } from 'vitest';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';
import { assembleByColumns, luFactor, opnorm2 } from '../../src/runtime/index.ts';
import type { Matrix, ModelInstance } from '../../src/runtime/index.ts';
import { certifyProjectionFixpoint, type ProjectionFixpoint } from '../../src/runtime/projection-certificate.ts';

// A simplex QP layer with the step g as an input, so that g can be too large for a contraction.
const SOURCE = `model SimplexQPg {
  dim k
  param Q: real[k, k]
  param q: real[k]
  param g: real
  unknown y: real[k]
  fixpoint y = proj_simplex(y - g * (Q * y + q))
}
`;

const Model = await generatedClass('simplex_qp_g.impl', undefined, SOURCE);

interface Qp {
  Q: number[][];
  q: number[];
  g: number;
}

function instance(p: Qp): ModelInstance {
  return new Model(p as unknown as Record<string, unknown>) as unknown as ModelInstance;
}

/** The hook for this model, written from its source: u(y) = y - g (Q y + q), M = I - g Q. */
function hook(p: Qp): ProjectionFixpoint {
  const k = p.q.length;
  const Qv = (x: Float64Array) => Float64Array.from({ length: k }, (_, i) => p.Q[i].reduce((s, a, j) => s + a * x[j], 0));
  return {
    kind: 'simplex',
    at: '7:16',
    argument: (y) => {
      const Qy = Qv(y);
      return y.map((yi, i) => yi - p.g * (Qy[i] + p.q[i]));
    },
    argumentJvp: (_y, d, out) => {
      const Qd = Qv(d);
      for (let i = 0; i < k; i++) out[i] = d[i] - p.g * Qd[i];
    },
  };
}

/**
 * q that makes y* the solution with argument v = y* on the support, 0 (= tau, a tie) on
 * `tied`, -0.3 elsewhere: q = (y* - v) / g - Q y*.
 */
function plantedQ(Q: number[][], g: number, y: number[], tied: number[]): number[] {
  const v = y.map((yi, i) => (yi > 0 ? yi : tied.includes(i) ? 0 : -0.3));
  return y.map((yi, i) => (yi - v[i]) / g - Q[i].reduce((s, a, j) => s + a * y[j], 0));
}

function randomSpd(rng: () => number, k: number, lo: number, hi: number): number[][] {
  // Q = U diag(lambda) U^T with U from Gram-Schmidt, eigenvalues in [lo, hi].
  const U: number[][] = [];
  for (let c = 0; c < k; c++) {
    let u = Array.from({ length: k }, () => rng() - 0.5);
    for (const w of U) {
      const d = u.reduce((s, a, i) => s + a * w[i], 0);
      u = u.map((a, i) => a - d * w[i]);
    }
    const nrm = Math.hypot(...u);
    U.push(u.map((a) => a / nrm));
  }
  const lambda = Array.from({ length: k }, () => lo + (hi - lo) * rng());
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => U.reduce((s, u, c) => s + lambda[c] * u[i] * u[j], 0)));
}

function residualInf(model: ModelInstance, y: Float64Array): number {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  return F.reduce((m, f) => Math.max(m, Math.abs(f)), 0);
}

/** Central finite-difference Jacobian of the model's map T at y (T is piecewise affine here). */
function fdJacobian(model: ModelInstance, y: Float64Array, h: number): Matrix {
  const n = model.n;
  const J: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
  const plus = new Float64Array(n);
  const minus = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const yp = y.slice();
    const ym = y.slice();
    yp[j] += h;
    ym[j] -= h;
    model.map(yp, plus);
    model.map(ym, minus);
    for (let i = 0; i < n; i++) J.data[i * n + j] = (plus[i] - minus[i]) / (2 * h);
  }
  return J;
}

/** Smallest singular value of I - J, as 1 / ||(I - J)^{-1}||_2 (Infinity-safe). */
function sigmaMinOfIminus(J: Matrix): number {
  const n = J.rows;
  const B: Matrix = { rows: n, cols: n, data: J.data.map((v, idx) => (idx % (n + 1) === 0 ? 1 : 0) - v) };
  // sigma_min^2 = lambda_min(B^T B), by inverse iteration on the Gram matrix.
  const G: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let r = 0; r < n; r++) G.data[i * n + j] += B.data[r * n + i] * B.data[r * n + j];
  const lu = luFactor(G);
  if (lu.singular) return 0;
  const inv: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const x = luSolveSafe(G, e);
    for (let i = 0; i < n; i++) inv.data[i * n + j] = x[i];
  }
  return 1 / Math.sqrt(opnorm2(inv));
}

function luSolveSafe(A: Matrix, b: Float64Array): Float64Array {
  // Gaussian elimination with partial pivoting, independent of the runtime's LU.
  const n = A.rows;
  const a = A.data.slice();
  const x = b.slice();
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / a[c * n + c];
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c];
    for (let j = c + 1; j < n; j++) s -= a[c * n + j] * x[j];
    x[c] = s / a[c * n + c];
  }
  return x;
}

describe('certifyProjectionFixpoint on a simplex QP layer', () => {
  it('no tie at random inputs: a local certificate, its selected B equal to the one the kernels assemble', () => {
    const rng = mulberry32(7);
    let untied = 0;
    for (let trial = 0; trial < 10; trial++) {
      const k = 5;
      const Q = randomSpd(rng, k, 0.5, 3);
      const y = [0.4, 0.35, 0.25, 0, 0];
      // A generic planted solution: inactive entries strictly below tau, no tie.
      const g = 0.3 + 2 * rng();
      const p: Qp = { Q, q: plantedQ(Q, g, y, []), g };
      const model = instance(p);
      const ys = Float64Array.from(y);
      const res = residualInf(model, ys);
      expect(res).toBeLessThan(1e-12);
      const cert = certifyProjectionFixpoint(model, ys, res, hook(p))!;
      expect(cert).not.toBeNull();
      expect(cert.ties).toBe(0);
      const B = assembleByColumns(model, ys, [], null);
      const singular = luFactor(B).singular;
      expect(cert.verdict).toBe(singular ? 'violated' : 'certified');
      if (!singular) {
        expect(cert.test).toBe('single element');
        untied++;
      }
      // Brute force: the map is affine near an untied solution, its FD Jacobian is J_S M = I - B.
      const J = fdJacobian(model, ys, 1e-7);
      for (let i = 0; i < k * k; i++) expect(Math.abs(J.data[i] - ((i % (k + 1) === 0 ? 1 : 0) - B.data[i]))).toBeLessThan(1e-6);
    }
    expect(untied).toBe(10);
  });

  it('a planted tie with g small: ||J_F M|| < 1 on every face, certified by the hull contraction; brute force agrees', () => {
    const rng = mulberry32(11);
    for (let trial = 0; trial < 10; trial++) {
      const k = 5;
      const Q = randomSpd(rng, k, 0.5, 3);
      const g = 0.5 / 3; // ||I - g Q|| <= 1 - 0.5 g < 1
      const y = [0.5, 0.3, 0.2, 0, 0];
      const p: Qp = { Q, q: plantedQ(Q, g, y, [3]), g };
      const model = instance(p);
      const ys = Float64Array.from(y);
      const res = residualInf(model, ys);
      const cert = certifyProjectionFixpoint(model, ys, res, hook(p))!;
      expect(cert.ties).toBe(1);
      expect(cert.verdict).toBe('certified');
      expect(cert.test).toBe('projection hull contraction');
      // ||J_Fmax M||_2, formed independently: J_Fmax = diag(d) - d d^T / 4, d the indicator of {0, 1, 2, 3}.
      const dF = [1, 1, 1, 1, 0];
      const JM: Matrix = { rows: k, cols: k, data: new Float64Array(k * k) };
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          let s = 0;
          for (let r = 0; r < k; r++) s += ((i === r ? dF[i] : 0) - (dF[i] * dF[r]) / 4) * ((r === j ? 1 : 0) - g * Q[r][j]);
          JM.data[i * k + j] = s;
        }
      }
      const bound = opnorm2(JM);
      expect(bound).toBeLessThan(1);
      // Brute force: FD Jacobians of the map near y*, on both sides of the tie (each selects
      // a face of the hull): each is a contraction within the bound, and I - J is invertible.
      for (const side of [1, -1]) {
        const moved = ys.slice();
        const d = Float64Array.from({ length: k }, () => 0);
        // Move the argument's tied entry by +-1e-4 through M d = e_3, M = I - g Q invertible.
        const M: Matrix = { rows: k, cols: k, data: Float64Array.from(Q.flat(), (v, i) => (i % (k + 1) === 0 ? 1 : 0) - g * v) };
        const e = new Float64Array(k);
        e[3] = side * 1e-4;
        d.set(luSolveSafe(M, e));
        for (let i = 0; i < k; i++) moved[i] += d[i];
        const J = fdJacobian(model, moved, 1e-8);
        expect(opnorm2(J)).toBeLessThanOrEqual(bound + 1e-6);
        expect(sigmaMinOfIminus(J)).toBeGreaterThan(1e-3);
      }
    }
  });

  it('a planted tie whose larger face makes I - J_F M singular: violated, though the selected B is invertible; brute force confirms', () => {
    // S = {0, 1}, tie {2}, inactive {3}; Q projects out x = e0 + e1 - 2 e2, which lies in the
    // larger face's subspace {x3 = 0, sum = 0}: there P_F Q x = 0 and I - J_F (I - g Q) is singular.
    const k = 4;
    const x = [1, 1, -2, 0];
    const Q = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0) - (x[i] * x[j]) / 6));
    const g = 0.5;
    const y = [0.6, 0.4, 0, 0];
    const p: Qp = { Q, q: plantedQ(Q, g, y, [2]), g };
    const model = instance(p);
    const ys = Float64Array.from(y);
    const res = residualInf(model, ys);
    const cert = certifyProjectionFixpoint(model, ys, res, hook(p))!;
    expect(cert.ties).toBe(1);
    expect(cert.verdict).toBe('violated');
    expect(cert.test).toBe('projection hull vertices');
    expect(cert.detail).toContain('face {0, 1, 2}');
    // The kernels' own B (the smaller face) is invertible: only the hull shows the failure.
    expect(luFactor(assembleByColumns(model, ys, [], null)).singular).toBe(false);
    // Brute force: just past the tie, where entry 2 joins the support, the map's FD Jacobian J
    // has I - J singular; on the other side it does not.
    const M: Matrix = { rows: k, cols: k, data: Float64Array.from(Q.flat(), (v, i) => (i % (k + 1) === 0 ? 1 : 0) - g * v) };
    for (const [side, singular] of [[1, true], [-1, false]] as const) {
      const e = new Float64Array(k);
      e[2] = side * 1e-4;
      const moved = ys.map((v, i) => v + luSolveSafe(M, e)[i]);
      const s = sigmaMinOfIminus(fdJacobian(model, moved, 1e-8));
      if (singular) expect(s).toBeLessThan(1e-6);
      else expect(s).toBeGreaterThan(0.1);
    }
  });

  it('a tie with ||J_Fmax M|| >= 1 and no singular face: unverified, with the reason', () => {
    // g large: M = I - g Q is no contraction, yet every face's B is invertible with one det sign.
    const rng = mulberry32(5);
    let seen = 0;
    for (let trial = 0; trial < 20 && seen < 3; trial++) {
      const k = 5;
      const Q = randomSpd(rng, k, 0.5, 3);
      const g = 1.2;
      const y = [0.5, 0.3, 0.2, 0, 0];
      const p: Qp = { Q, q: plantedQ(Q, g, y, [3, 4]), g };
      const model = instance(p);
      const ys = Float64Array.from(y);
      const cert = certifyProjectionFixpoint(model, ys, residualInf(model, ys), hook(p))!;
      expect(cert.ties).toBe(2);
      expect(cert.verdict).not.toBe('certified');
      if (cert.verdict === 'unverified') {
        seen++;
        expect(cert.detail).toMatch(/is not below 1.*one sign at all 4 pieces/);
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  it('does not apply (null) when the hook does not describe the map', () => {
    const rng = mulberry32(3);
    const Q = randomSpd(rng, 4, 0.5, 2);
    const p: Qp = { Q, q: plantedQ(Q, 0.3, [0.5, 0.5, 0, 0], []), g: 0.3 };
    const wrong = { ...hook(p), argument: (y: Float64Array) => y.slice().reverse() };
    expect(certifyProjectionFixpoint(instance(p), Float64Array.of(0.5, 0.5, 0, 0), 0, wrong)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// The l1 ball and the second-order cone: the same QP layer, u(y) = y - g (Q y + q), M = I - g Q.
// The expected Jacobian pieces below are written from MATH.md's formulas, not from the runtime.

const L1_SOURCE = `model L1QPg {
  dim k
  param Q: real[k, k]
  param q: real[k]
  param g: real
  param r: real
  unknown y: real[k]
  fixpoint y = proj_l1ball(y - g * (Q * y + q), r)
}
`;

const SOC_SOURCE = `model SocQPg {
  dim k
  param Q: real[k, k]
  param q: real[k]
  param g: real
  unknown y: real[k]
  fixpoint y = proj_soc(y - g * (Q * y + q))
}
`;

const L1Model = await generatedClass('l1_qp_g.impl', undefined, L1_SOURCE);
const SocModel = await generatedClass('soc_qp_g.impl', undefined, SOC_SOURCE);

interface QpR extends Qp {
  r: number;
}

function l1Instance(p: QpR): ModelInstance {
  return new L1Model(p as unknown as Record<string, unknown>) as unknown as ModelInstance;
}

function socInstance(p: Qp): ModelInstance {
  return new SocModel(p as unknown as Record<string, unknown>) as unknown as ModelInstance;
}

/** The hook of either model, written from its source (the simplex hook with another kind). */
function affineHook(kind: 'l1ball' | 'soc', p: Qp, radius?: number): ProjectionFixpoint {
  return { ...hook(p), kind, at: kind === 'l1ball' ? '8:16' : '7:16', radius };
}

/** q that makes y the solution with projection argument v: q = (y - v) / g - Q y. */
function qFor(Q: number[][], g: number, y: number[], v: number[]): number[] {
  return y.map((yi, i) => (yi - v[i]) / g - Q[i].reduce((s, a, j) => s + a * y[j], 0));
}

function mMatrix(p: Qp): Matrix {
  const k = p.q.length;
  return { rows: k, cols: k, data: Float64Array.from(p.Q.flat(), (v, i) => (i % (k + 1) === 0 ? 1 : 0) - p.g * v) };
}

function matmul(A: Matrix, B: Matrix): Matrix {
  const n = A.rows;
  const C: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let r = 0; r < n; r++) C.data[i * n + j] += A.data[i * n + r] * B.data[r * n + j];
  return C;
}

function maxAbsDiff(A: Matrix, B: Matrix): number {
  return A.data.reduce((m, a, i) => Math.max(m, Math.abs(a - B.data[i])), 0);
}

/** J_F = diag(|s|) - s s^T / |F| for the signed face s (MATH.md 5: the l1 ball's face projection). */
function faceMatrix(s: number[]): Matrix {
  const n = s.length;
  const count = s.filter((x) => x !== 0).length;
  return { rows: n, cols: n, data: Float64Array.from({ length: n * n }, (_, idx) => {
    const i = Math.floor(idx / n);
    const j = idx % n;
    return (i === j ? Math.abs(s[i]) : 0) - (s[i] * s[j]) / count;
  }) };
}

/** The cone's piece (1/2)[[1, w^T], [w, (1 + c) I - c w w^T]] (MATH.md 6). */
function socMatrix(w: number[], c: number): Matrix {
  const n = w.length + 1;
  const a = [1, ...w];
  return { rows: n, cols: n, data: Float64Array.from({ length: n * n }, (_, idx) => {
    const i = Math.floor(idx / n);
    const j = idx % n;
    if (i === 0 || j === 0) return a[i] * a[j] / 2;
    return ((i === j ? 1 + c : 0) - c * w[i - 1] * w[j - 1]) / 2;
  }) };
}

const identity = (n: number): Matrix => ({ rows: n, cols: n, data: Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)) });

/** y moved so that the argument moves by dv: y + M^{-1} dv (u is affine). */
function moveArgument(p: Qp, y: Float64Array, dv: number[]): Float64Array {
  const d = luSolveSafe(mMatrix(p), Float64Array.from(dv));
  return y.map((yi, i) => yi + d[i]);
}

/** 1-norm condition of I - J, formed with the independent solver. */
function cond1OfIminus(J: Matrix): number {
  const n = J.rows;
  const B: Matrix = { rows: n, cols: n, data: J.data.map((v, idx) => (idx % (n + 1) === 0 ? 1 : 0) - v) };
  const norm1 = (A: Matrix, col: (j: number) => Float64Array) => Math.max(...Array.from({ length: n }, (_, j) => col(j).reduce((s, a) => s + Math.abs(a), 0)));
  const colOf = (j: number) => Float64Array.from({ length: n }, (_, i) => B.data[i * n + j]);
  const invCol = (j: number) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return luSolveSafe(B, e);
  };
  return norm1(B, colOf) * norm1(B, invCol);
}

/**
 * The no-tie checks shared by both sets: a local certificate whose B, the one the kernels
 * assemble, is I - dT by central differences, with a condition estimate of that B.
 */
function expectLocalCertificate(model: ModelInstance, ys: Float64Array, fixpoint: ProjectionFixpoint): void {
  const res = residualInf(model, ys);
  expect(res).toBeLessThan(1e-12);
  const cert = certifyProjectionFixpoint(model, ys, res, fixpoint)!;
  expect(cert).not.toBeNull();
  expect(cert.ties).toBe(0);
  expect(cert.verdict).toBe('certified');
  expect(cert.test).toBe('single element');
  const k = model.n;
  const J = fdJacobian(model, ys, 1e-7);
  const B = assembleByColumns(model, ys, [], null);
  for (let i = 0; i < k * k; i++) expect(Math.abs(J.data[i] - ((i % (k + 1) === 0 ? 1 : 0) - B.data[i]))).toBeLessThan(1e-6);
  // The certificate's condition is an estimate (a lower bound) of the 1-norm condition of I - dT.
  const exact = cond1OfIminus(J);
  expect(cert.condition!).toBeLessThanOrEqual(exact * (1 + 1e-5));
  expect(cert.condition!).toBeGreaterThanOrEqual(exact / k);
}

describe('certifyProjectionFixpoint on an l1-ball QP layer', () => {
  it('no tie, outside and inside the ball: a local certificate, B = I - dT by central differences', () => {
    const rng = mulberry32(21);
    for (let trial = 0; trial < 8; trial++) {
      const k = 5;
      const Q = randomSpd(rng, k, 0.5, 3);
      const g = 0.3 + 1.5 * rng();
      const r = 1;
      // Outside: y on the sphere, v = y + tau sign(y) on the support, |v_i| < tau off it.
      const y = [0.5, -0.3, 0.2, 0, 0];
      const tau = 0.2 + 0.2 * rng();
      const v = y.map((yi) => (yi !== 0 ? yi + tau * Math.sign(yi) : (rng() - 0.5) * 1.6 * tau));
      const out: QpR = { Q, q: qFor(Q, g, y, v), g, r };
      expectLocalCertificate(l1Instance(out), Float64Array.from(y), affineHook('l1ball', out, r));
      // Inside: v = y strictly inside the ball, where T = u and B = g Q.
      const yin = [0.3, -0.2, 0.1, 0.05, -0.15];
      const inside: QpR = { Q, q: qFor(Q, g, yin, yin), g, r };
      expectLocalCertificate(l1Instance(inside), Float64Array.from(yin), affineHook('l1ball', inside, r));
    }
  });

  it('a planted threshold tie (|v_3| = tau) with g small: certified by the hull contraction; each side is one face', () => {
    const rng = mulberry32(23);
    for (let trial = 0; trial < 8; trial++) {
      const k = 5;
      const Q = randomSpd(rng, k, 0.5, 3);
      const g = 0.5 / 3;
      const r = 1;
      const y = [0.5, -0.3, 0.2, 0, 0];
      const tau = 0.25;
      const v = [0.75, -0.55, 0.45, -tau, 0.1];
      const p: QpR = { Q, q: qFor(Q, g, y, v), g, r };
      const model = l1Instance(p);
      const ys = Float64Array.from(y);
      const res = residualInf(model, ys);
      expect(res).toBeLessThan(1e-12);
      const cert = certifyProjectionFixpoint(model, ys, res, affineHook('l1ball', p, r))!;
      expect(cert.ties).toBe(1);
      expect(cert.verdict).toBe('certified');
      expect(cert.test).toBe('projection hull contraction');
      const M = mMatrix(p);
      const small = matmul(faceMatrix([1, -1, 1, 0, 0]), M);
      const large = matmul(faceMatrix([1, -1, 1, -1, 0]), M);
      const bound = opnorm2(large);
      expect(bound).toBeLessThan(1);
      // Brute force: |v_3| just above tau (side -1 here, v_3 < 0) joins the face; just below leaves it.
      for (const [side, expected] of [[-1, large], [1, small]] as const) {
        const dv = [0, 0, 0, side * 1e-4, 0];
        const J = fdJacobian(model, moveArgument(p, ys, dv), 1e-8);
        expect(maxAbsDiff(J, expected)).toBeLessThan(1e-5);
        expect(opnorm2(J)).toBeLessThanOrEqual(bound + 1e-6);
        expect(sigmaMinOfIminus(J)).toBeGreaterThan(1e-3);
      }
      expect(maxAbsDiff(small, large)).toBeGreaterThan(1e-2);
    }
  });

  it('a planted tie on the sphere |v|_1 = r with g small: certified (the identity is the top piece); each side agrees', () => {
    const rng = mulberry32(29);
    for (let trial = 0; trial < 8; trial++) {
      const k = 4;
      const Q = randomSpd(rng, k, 0.5, 3);
      const g = 0.5 / 3;
      const y = [0.4, -0.3, 0.2, -0.1];
      const r = 1;
      const p: QpR = { Q, q: qFor(Q, g, y, y), g, r };
      const model = l1Instance(p);
      const ys = Float64Array.from(y);
      const res = residualInf(model, ys);
      expect(res).toBeLessThan(1e-12);
      const cert = certifyProjectionFixpoint(model, ys, res, affineHook('l1ball', p, r))!;
      expect(cert.ties).toBe(1);
      expect(cert.verdict).toBe('certified');
      expect(cert.test).toBe('projection hull contraction');
      expect(cert.detail).toContain('J_top = I');
      const M = mMatrix(p);
      const bound = opnorm2(M);
      expect(bound).toBeLessThan(1);
      // Outward (|v|_1 > r) the map is the full signed face; inward it is u itself.
      const s = y.map(Math.sign);
      for (const [side, expected] of [[1, matmul(faceMatrix(s), M)], [-1, M]] as const) {
        const J = fdJacobian(model, moveArgument(p, ys, s.map((si) => side * 1e-4 * si)), 1e-8);
        expect(maxAbsDiff(J, expected)).toBeLessThan(1e-5);
        expect(opnorm2(J)).toBeLessThanOrEqual(bound + 1e-6);
        expect(sigmaMinOfIminus(J)).toBeGreaterThan(1e-3);
      }
    }
  });

  it('a threshold tie whose larger face makes I - J_F M singular: violated, though the selected B is invertible', () => {
    // Dyadic data, so that v_2 = tau holds exactly: y = (0.5, -0.25, 0, 0), r = 0.75, tau = 0.25,
    // v = (0.75, -0.5, 0.25, -0.125). Q = 6 I - x x^T with x = (1, 2, 1, 0), which lies in the larger
    // face's subspace {x_3 = 0, x_0 - x_1 + x_2 = 0}: M x = x there, so I - J_F M x = 0.
    const k = 4;
    const x = [1, 2, 1, 0];
    const Q = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 6 : 0) - x[i] * x[j]));
    const g = 0.125;
    const r = 0.75;
    const y = [0.5, -0.25, 0, 0];
    const v = [0.75, -0.5, 0.25, -0.125];
    const p: QpR = { Q, q: qFor(Q, g, y, v), g, r };
    const model = l1Instance(p);
    const ys = Float64Array.from(y);
    const res = residualInf(model, ys);
    expect(res).toBeLessThan(1e-12);
    const cert = certifyProjectionFixpoint(model, ys, res, affineHook('l1ball', p, r))!;
    expect(cert.ties).toBe(1);
    expect(cert.verdict).toBe('violated');
    expect(cert.test).toBe('projection hull vertices');
    expect(cert.detail).toContain('face {0, 1, 2}');
    expect(luFactor(assembleByColumns(model, ys, [], null)).singular).toBe(false);
    // Brute force: past the tie (|v_2| > tau) I - J is singular; before it, it is not.
    for (const [side, singular] of [[1, true], [-1, false]] as const) {
      const s = sigmaMinOfIminus(fdJacobian(model, moveArgument(p, ys, [0, 0, side * 1e-4, 0]), 1e-8));
      if (singular) expect(s).toBeLessThan(1e-6);
      else expect(s).toBeGreaterThan(0.1);
    }
  });
  it('a tie of a zero entry (v_3 = 0, tau within the tolerance): both signs of the entry are in the hull', () => {
    // tau = 1e-9 is within the tie tolerance (1e-9 (1 + |y|_inf)) of |v_3| = 0, while |v|_1 - r = 3e-9
    // is not: outside the ball, with the tie of an entry whose sign is undefined. Points of the
    // tolerance with v_3 = +-delta join the face with either sign. Q = 6 I - x x^T, x = (1, 2, 0, 1)
    // in the subspace of the face {0, 1, 2, 3} signed (1, -1, 1, 1): that face's B is singular,
    // while the selected face {0, 1, 2} gives ||J_S M||_2 < 1.
    const k = 4;
    const x = [1, 2, 0, 1];
    const Q = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 6 : 0) - x[i] * x[j]));
    const g = 0.125;
    const r = 1;
    const y = [0.5, -0.3, 0.2, 0];
    const tau = 1e-9;
    const v = [0.5 + tau, -0.3 - tau, 0.2 + tau, 0];
    const p: QpR = { Q, q: qFor(Q, g, y, v), g, r };
    const model = l1Instance(p);
    const ys = Float64Array.from(y);
    const res = residualInf(model, ys);
    expect(res).toBeLessThan(1e-15);
    expect(opnorm2(matmul(faceMatrix([1, -1, 1, 0]), mMatrix(p)))).toBeLessThan(1);
    const cert = certifyProjectionFixpoint(model, ys, res, affineHook('l1ball', p, r))!;
    expect(cert.ties).toBe(1);
    expect(cert.verdict).toBe('violated');
    expect(cert.test).toBe('projection hull vertices');
    expect(cert.detail).toContain('face {0, 1, 2, +3}');
    // Brute force: with v_3 = +1e-4 the map's I - J is singular; with v_3 = -1e-4 it is not.
    for (const [side, singular] of [[1, true], [-1, false]] as const) {
      const s = sigmaMinOfIminus(fdJacobian(model, moveArgument(p, ys, [0, 0, 0, side * 1e-4]), 1e-8));
      if (singular) expect(s).toBeLessThan(1e-6);
      else expect(s).toBeGreaterThan(1e-3);
    }
  });
});

describe('certifyProjectionFixpoint on a second-order-cone QP layer', () => {
  it('no tie, inside the cone, in the projection region and in the polar cone: a local certificate, B = I - dT', () => {
    const rng = mulberry32(31);
    for (let trial = 0; trial < 8; trial++) {
      const k = 4;
      const Q = randomSpd(rng, k, 0.5, 3);
      const g = 0.3 + 1.5 * rng();
      const raw = [rng() - 0.5, rng() - 0.5, rng() - 0.5];
      const nw = Math.hypot(...raw);
      const w = raw.map((a) => a / nw);
      // Inside: |x| = 0.5 t.
      const yin = [1, ...w.map((wi) => 0.5 * wi)];
      const pin: Qp = { Q, q: qFor(Q, g, yin, yin), g };
      expectLocalCertificate(socInstance(pin), Float64Array.from(yin), affineHook('soc', pin));
      // Projection region: y = a (1, w) from v = (a - d, (a + d) w), |x_v| - t_v = 2 d, |x_v| + t_v = 2 a.
      const a = 0.5 + rng();
      const d = 0.2 + rng();
      const ybd = [a, ...w.map((wi) => a * wi)];
      const vbd = [a - d, ...w.map((wi) => (a + d) * wi)];
      const pbd: Qp = { Q, q: qFor(Q, g, ybd, vbd), g };
      expectLocalCertificate(socInstance(pbd), Float64Array.from(ybd), affineHook('soc', pbd));
      // Polar cone: y = 0 from v = (-1, 0.5 w).
      const y0 = [0, 0, 0, 0];
      const ppol: Qp = { Q, q: qFor(Q, g, y0, [-1, ...w.map((wi) => 0.5 * wi)]), g };
      expectLocalCertificate(socInstance(ppol), Float64Array.from(y0), affineHook('soc', ppol));
    }
  });

  it('planted ties (|x| = t, the apex, |x| = -t) with g small: certified by the hull contraction; each side agrees', () => {
    const rng = mulberry32(37);
    for (let trial = 0; trial < 6; trial++) {
      const k = 4;
      const Q = randomSpd(rng, k, 0.5, 3);
      const g = 0.5 / 3;
      const raw = [rng() - 0.5, rng() - 0.5, rng() - 0.5];
      const nw = Math.hypot(...raw);
      const w = raw.map((a) => a / nw);
      const a = 0.5 + rng();
      const cases: { name: string; y: number[]; v: number[]; top: string; sides: { dv: number[]; piece: Matrix }[] }[] = [
        {
          // v = y on the cone's boundary: inward the map is u, outward the boundary piece (c -> 1).
          name: 'boundary', y: [a, ...w.map((wi) => a * wi)], v: [a, ...w.map((wi) => a * wi)], top: 'I',
          sides: [{ dv: [1e-4, ...w.map((wi) => -1e-4 * wi)], piece: identity(k) }, { dv: [-1e-4, ...w.map((wi) => 1e-4 * wi)], piece: socMatrix(w, 1) }],
        },
        {
          // v = y = 0: inside, polar, and the projection region at c = 0 all meet.
          name: 'apex', y: [0, 0, 0, 0], v: [0, 0, 0, 0], top: 'I',
          sides: [
            { dv: [1e-4, 0, 0, 0], piece: identity(k) },
            { dv: [-1e-4, 0, 0, 0], piece: { rows: k, cols: k, data: new Float64Array(k * k) } },
            { dv: [0, ...w.map((wi) => 1e-4 * wi)], piece: socMatrix(w, 0) },
          ],
        },
        {
          // y = 0 from v = (-a, a w) on the polar cone's boundary: 0 on one side, q q^T (c -> -1) on the other.
          name: 'polar boundary', y: [0, 0, 0, 0], v: [-a, ...w.map((wi) => a * wi)], top: 'the polar boundary piece',
          sides: [{ dv: [-1e-4, ...w.map((wi) => -1e-4 * wi)], piece: { rows: k, cols: k, data: new Float64Array(k * k) } }, { dv: [1e-4, ...w.map((wi) => 1e-4 * wi)], piece: socMatrix(w, -1) }],
        },
      ];
      for (const c of cases) {
        const p: Qp = { Q, q: qFor(Q, g, c.y, c.v), g };
        const model = socInstance(p);
        const ys = Float64Array.from(c.y);
        const res = residualInf(model, ys);
        expect(res).toBeLessThan(1e-12);
        const cert = certifyProjectionFixpoint(model, ys, res, affineHook('soc', p))!;
        expect(cert.ties, c.name).toBe(1);
        expect(cert.verdict, c.name).toBe('certified');
        expect(cert.test, c.name).toBe('projection hull contraction');
        expect(cert.detail, c.name).toContain(`J_top = ${c.top}`);
        const M = mMatrix(p);
        const bound = opnorm2(M);
        expect(bound).toBeLessThan(1);
        for (const side of c.sides) {
          const J = fdJacobian(model, moveArgument(p, ys, side.dv), 1e-8);
          // 1e-4 off the tie, the cone's c = t / |x| is within 1e-3 of its limit.
          expect(maxAbsDiff(J, matmul(side.piece, M)), c.name).toBeLessThan(1e-3);
          expect(opnorm2(J)).toBeLessThanOrEqual(bound + 1e-6);
          expect(sigmaMinOfIminus(J)).toBeGreaterThan(1e-3);
        }
      }
    }
  });

  it('a tie on the cone where the identity piece makes I - J M singular: violated, though the selected B is invertible', () => {
    // y = v = (1, 1, 0): |x| = t exactly, so the kernels select the boundary piece P_b = I - n n^T,
    // n = (1, -1, 0) / sqrt 2. Q = diag(0, 1, 1) is singular, so the identity piece's B = g Q is;
    // P_b's B = n n^T + g P_b Q is not, as Q's null vector e_0 is not orthogonal to n.
    const Q = [[0, 0, 0], [0, 1, 0], [0, 0, 1]];
    const g = 0.5;
    const y = [1, 1, 0];
    const p: Qp = { Q, q: qFor(Q, g, y, y), g };
    const model = socInstance(p);
    const ys = Float64Array.from(y);
    const res = residualInf(model, ys);
    expect(res).toBe(0);
    const cert = certifyProjectionFixpoint(model, ys, res, affineHook('soc', p))!;
    expect(cert.ties).toBe(1);
    expect(cert.verdict).toBe('violated');
    expect(cert.test).toBe('projection hull vertices');
    expect(cert.detail).toContain('piece I ');
    expect(luFactor(assembleByColumns(model, ys, [], null)).singular).toBe(false);
    // Brute force: inside the cone (where the map is u) I - J = g Q is singular; outside it is not.
    for (const [dv, singular] of [[[1e-4, -1e-4, 0], true], [[-1e-4, 1e-4, 0], false]] as const) {
      const s = sigmaMinOfIminus(fdJacobian(model, moveArgument(p, ys, [...dv]), 1e-8));
      if (singular) expect(s).toBeLessThan(1e-6);
      else expect(s).toBeGreaterThan(0.1);
    }
  });
});
