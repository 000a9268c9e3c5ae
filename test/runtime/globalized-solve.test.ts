import { describe, expect, it } from 'vitest';
import { solveInstance, type ModelInstance } from '../../src/runtime/index.ts';
import { generatedClass, readCsv } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

// The generic path of solveInstance('auto'): globalized semismooth Newton with the map as
// fallback, on models with row-wise kinks that no structured solver takes (equations without
// a map, a damped map). Every solution is checked against an independent reference: the
// problem's optimality (KKT) conditions, or a projected Gauss-Seidel solve of the LCP.

const compile = (name: string, text: string) => generatedClass(`${name}.impl`, name, text);

const LASSO_EQ = `model LassoEq {
  dim n, p
  data X: real[n, p]
  data y: real[n]
  param lambda: real
  let step = 1 / opnorm(X)^2
  unknown beta: real[p] = 0
  solve beta - soft_threshold(beta - step * X' * (X * beta - y), step * lambda) = 0
}`;
const LASSO_DAMPED = `model LassoDamped {
  dim n, p
  data X: real[n, p]
  data y: real[n]
  param lambda: real
  let step = 1 / opnorm(X)^2
  unknown beta: real[p] = 0
  fixpoint beta = 0.5 * beta + 0.5 * soft_threshold(beta - step * X' * (X * beta - y), step * lambda)
}`;
const NNLS_EQ = `model NnlsEq {
  dim n, p
  data X: real[n, p]
  data y: real[n]
  let step = 1 / opnorm(X)^2
  unknown beta: real[p] = 0
  solve beta - proj_nonneg(beta - step * X' * (X * beta - y)) = 0
}`;
const LCP = `model Lcp {
  dim k
  data M: real[k, k]
  param q: real[k]
  unknown y: real[k] = 0
  solve min(y, M * y + q) = 0
}`;
const BOX_QP_EQ = `model BoxQpEq {
  dim k
  data Q: real[k, k]
  data lo: real[k]
  data hi: real[k]
  param q: real[k]
  let g = 1 / opnorm(Q)
  unknown y: real[k] = 0
  solve y - proj_box(y - g * (Q * y + q), lo, hi) = 0
}`;

const rng = mulberry32(23);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

/** Raw (unstandardized) features and target of a CSV in samples/data, first `n` rows. */
function raw(file: string, p: number, n = Infinity) {
  const rows = readCsv(`samples/data/${file}`).rows.slice(0, n);
  return { X: rows.map((r) => r.slice(0, p)), y: rows.map((r) => r[p]) };
}

function correlated(n: number, p: number, rho: number) {
  const X = Array.from({ length: n }, () => {
    const f = normal();
    return Array.from({ length: p }, () => Math.sqrt(1 - rho) * normal() + Math.sqrt(rho) * f);
  });
  return { X, y: X.map((r) => r[0] + r[1] - 0.5 * r[2] + normal()) };
}

/** X^T (X beta - y). */
function gradient(X: number[][], y: number[], beta: Float64Array): number[] {
  const r = X.map((row, i) => row.reduce((s, v, j) => s + v * beta[j], 0) - y[i]);
  return X[0].map((_, j) => X.reduce((s, row, i) => s + row[j] * r[i], 0));
}

function residualInf(model: ModelInstance, y: Float64Array): number {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  return F.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/**
 * The analysis reads most of these models as composite problems (equation forms and damped
 * maps included), which the structured solver takes; these tests are about the generic path,
 * so the model's compositeProblem is hidden from the solver (test/analysis/structure.test.ts
 * covers the structured path on the same forms).
 */
function solved(model: ModelInstance) {
  model.compositeProblem = () => null;
  const r = solveInstance(model);
  expect(r.method).not.toBe('coordinate-descent+newton');
  expect(r.status).toBe('converged');
  expect(r.residual).toBeLessThanOrEqual(1e-10);
  expect(residualInf(model, r.y)).toBeLessThanOrEqual(1e-10);
  return r;
}

/**
 * ||X||_F^2 >= opnorm(X)^2 = 1 / step: ||F||_inf <= 1e-10 bounds the optimality conditions in
 * units of step, so their violations are compared with 1e-8 ||X||_F^2.
 */
const frob2 = (X: number[][]): number => X.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0);

/**
 * Lasso KKT violation: g_j = -lambda sign(beta_j) on the support, |g_j| <= lambda off it,
 * with coefficients below 1e-12 max|beta| counted off the support (an identity row leaves
 * beta_j - F_j, zero up to rounding).
 */
function lassoKkt(X: number[][], y: number[], lambda: number, beta: Float64Array): number {
  const g = gradient(X, y, beta);
  const tiny = 1e-12 * Math.max(...beta.map(Math.abs));
  return Math.max(...g.map((gj, j) => (Math.abs(beta[j]) > tiny ? Math.abs(gj + lambda * Math.sign(beta[j])) : Math.max(0, Math.abs(gj) - lambda))));
}

describe('globalized generic solve: Lasso family without structure recognition', () => {
  it('equation form on raw diabetes and on a correlated design meets the KKT conditions', async () => {
    const Eq = await compile('LassoEq', LASSO_EQ);
    const db = raw('diabetes.csv', 10);
    const cor = correlated(100, 60, 0.9);
    for (const [data, lambda] of [
      [db, 10],
      [db, 2000],
      [cor, 5],
    ] as const) {
      const model = new Eq({ ...data, lambda }) as unknown as ModelInstance;
      expect(model.hasMap).toBe(false);
      const r = solved(model);
      expect(lassoKkt(data.X, data.y, lambda, r.y)).toBeLessThan(1e-8 * frob2(data.X));
    }
  });

  it('a damped prox-gradient map on the correlated design: Anderson, then Newton and its fallbacks', async () => {
    const Damped = await compile('LassoDamped', LASSO_DAMPED);
    const cor = correlated(100, 60, 0.9);
    const model = new Damped({ ...cor, lambda: 5 }) as unknown as ModelInstance;
    const r = solved(model);
    expect(lassoKkt(cor.X, cor.y, 5, r.y)).toBeLessThan(1e-8 * frob2(cor.X));
    const support = [...r.y].filter((v) => Math.abs(v) > 1e-12 * Math.max(...r.y.map(Math.abs))).length;
    expect(support).toBeGreaterThan(0);
    expect(support).toBeLessThan(60);
  });

  it('NNLS in equation form on raw breast cancer and diabetes: beta >= 0, g >= 0, beta_j g_j = 0', async () => {
    const Nnls = await compile('NnlsEq', NNLS_EQ);
    for (const data of [raw('breast_cancer.csv', 30, 400), raw('diabetes.csv', 10)]) {
      const r = solved(new Nnls(data) as unknown as ModelInstance);
      const g = gradient(data.X, data.y, r.y);
      const bound = 1e-8 * frob2(data.X);
      const tiny = 1e-12 * Math.max(...r.y);
      expect(Math.max(...r.y)).toBeGreaterThan(0);
      r.y.forEach((b, j) => {
        expect(b).toBeGreaterThanOrEqual(-tiny);
        expect(g[j]).toBeGreaterThan(-bound);
        if (b > tiny) expect(Math.abs(g[j])).toBeLessThan(bound);
      });
    }
  });
});

describe('globalized generic solve: complementarity and box constraints', () => {
  /** A positive definite, non-symmetric M: A^T A / k + 0.1 I plus a skew part. */
  function lcp(k: number) {
    const A = Array.from({ length: k }, () => Array.from({ length: k }, () => 2 * rng() - 1));
    const M = A.map((_, i) => A.map((_, j) => A.reduce((s, r) => s + r[i] * r[j], 0) / k + (i === j ? 0.1 : 0) + 0.3 * (A[i][j] - A[j][i])));
    return { M, q: Array.from({ length: k }, () => 2 * rng() - 1) };
  }

  /** Projected SOR (Cryer 1971) with relaxation w: converges for M with a positive definite symmetric part and small w. */
  function psor(M: number[][], q: number[], w = 0.2, sweeps = 200_000): Float64Array {
    const k = q.length;
    const z = new Float64Array(k);
    for (let s = 0; s < sweeps; s++) {
      let change = 0;
      for (let i = 0; i < k; i++) {
        const r = M[i].reduce((acc, m, j) => acc + m * z[j], q[i]);
        const next = Math.max(0, z[i] - (w * r) / M[i][i]);
        change = Math.max(change, Math.abs(next - z[i]));
        z[i] = next;
      }
      if (change < 1e-15) break;
    }
    return z;
  }

  it('LCP min(y, M y + q) = 0 with M positive definite matches projected SOR', async () => {
    const Lcp = await compile('Lcp', LCP);
    for (const k of [30, 80]) {
      const { M, q } = lcp(k);
      const r = solved(new Lcp({ M, q }) as unknown as ModelInstance);
      const ref = psor(M, q);
      r.y.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-8));
      const w = M.map((row, i) => row.reduce((s, m, j) => s + m * r.y[j], q[i]));
      r.y.forEach((v, i) => {
        expect(v).toBeGreaterThan(-1e-12);
        expect(w[i]).toBeGreaterThan(-1e-10);
        expect(Math.abs(v * w[i])).toBeLessThan(1e-10);
      });
    }
  });

  it('box QP in equation form: the gradient points out of the box where a bound is active', async () => {
    const Box = await compile('BoxQpEq', BOX_QP_EQ);
    const k = 40;
    const A = Array.from({ length: k }, () => Array.from({ length: k }, normal));
    const Q = A.map((_, i) => A.map((_, j) => A.reduce((s, r) => s + r[i] * r[j], 0) / k + (i === j ? 0.01 : 0)));
    const q = Array.from({ length: k }, () => 2 * normal());
    const lo = Q.map(() => -0.3);
    const hi = Q.map(() => 0.5);
    const r = solved(new Box({ Q, lo, hi, q }) as unknown as ModelInstance);
    const g = Q.map((row, i) => row.reduce((s, m, j) => s + m * r.y[j], q[i]));
    // A bound counts as active within 1e-12 (the equation leaves y - F(y), on the bound up to rounding).
    let active = 0;
    r.y.forEach((v, i) => {
      expect(v).toBeGreaterThan(-0.3 - 1e-12);
      expect(v).toBeLessThan(0.5 + 1e-12);
      if (v < -0.3 + 1e-12) expect(g[i]).toBeGreaterThan(-1e-8);
      else if (v > 0.5 - 1e-12) expect(g[i]).toBeLessThan(1e-8);
      else expect(Math.abs(g[i])).toBeLessThan(1e-8);
      if (v < -0.3 + 1e-12 || v > 0.5 - 1e-12) active++;
    });
    expect(active).toBeGreaterThan(0);
  });
});

describe('globalized generic solve: budgets', () => {
  it('maxIter caps all phases together; a zero time limit stops at once with the start', async () => {
    const Eq = await compile('LassoEq', LASSO_EQ);
    const cor = correlated(100, 60, 0.9);
    const model = new Eq({ ...cor, lambda: 5 }) as unknown as ModelInstance;
    const capped = solveInstance(model, { maxIter: 3 });
    expect(capped.status).toBe('max-iterations');
    expect(capped.iterations).toBeLessThanOrEqual(3);
    const timed = solveInstance(model, { timeLimitMs: 0 });
    expect(timed.status).toBe('max-iterations');
    expect(timed.iterations).toBe(0);
    expect(() => solveInstance(model, { timeLimitMs: -1 })).toThrow(/timeLimitMs/);
  });
});
