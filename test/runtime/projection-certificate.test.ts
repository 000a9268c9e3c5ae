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
