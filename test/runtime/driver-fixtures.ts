/** Data of the driver tests: a contractive DEQ, a Lasso problem, and independent dense references. */
import { luFactor, luSolve, opnorm2 } from '../../src/runtime/index.ts';
import type { Matrix } from '../../src/runtime/index.ts';
import { Deq, Lasso } from './models.ts';
import type { DeqConfig } from './models.ts';
import { mulberry32, randomMatrix, randomVector } from './rng.ts';

/** A random h x h W scaled to ||W||_2 = norm, and a bias b. */
export function deqData(seed: number, h = 6, norm = 0.9): { W: Matrix; b: Float64Array } {
  const rng = mulberry32(seed);
  const W = randomMatrix(rng, h, h);
  const s = norm / opnorm2(W);
  for (let i = 0; i < W.data.length; i++) W.data[i] *= s;
  return { W, b: randomVector(rng, h) };
}

export function makeDeq(seed: number, config?: DeqConfig, h = 6, norm = 0.9): Deq {
  const { W, b } = deqData(seed, h, norm);
  return new Deq(W, b, config);
}

/** Solves the dense system M X = R (columns of R) by LU; throws if M is singular. */
export function denseSolve(M: Matrix, R: Matrix): Matrix {
  const lu = luFactor(M);
  if (lu.singular) throw new Error('reference matrix is singular');
  const out: Matrix = { rows: M.rows, cols: R.cols, data: new Float64Array(M.rows * R.cols) };
  const col = new Float64Array(M.rows);
  for (let j = 0; j < R.cols; j++) {
    for (let i = 0; i < R.rows; i++) col[i] = R.data[i * R.cols + j];
    const x = luSolve(lu, col);
    for (let i = 0; i < M.rows; i++) out.data[i * R.cols + j] = x[i];
  }
  return out;
}

/** The DEQ reference dz/db = (I - D W)^{-1} D, with D from the preactivation at z. */
export function deqReferenceJacobian(W: Matrix, b: Float64Array, z: Float64Array): Matrix {
  const h = W.rows;
  const d = new Float64Array(h);
  for (let i = 0; i < h; i++) {
    let u = b[i];
    for (let j = 0; j < h; j++) u += W.data[i * h + j] * z[j];
    d[i] = u > 0 ? 1 : 0;
  }
  const M: Matrix = { rows: h, cols: h, data: new Float64Array(h * h) };
  const D: Matrix = { rows: h, cols: h, data: new Float64Array(h * h) };
  for (let i = 0; i < h; i++) {
    D.data[i * h + i] = d[i];
    for (let j = 0; j < h; j++) M.data[i * h + j] = (i === j ? 1 : 0) - d[i] * W.data[i * h + j];
  }
  return denseSolve(M, D);
}

/** Lasso data: X (rows x p) with a planted sparse truth, and lambda a fraction of lambda_max = ||X'y||_inf. */
export function makeLasso(seed: number, rows = 20, p = 8, fraction = 0.2): Lasso {
  const rng = mulberry32(seed);
  const X = randomMatrix(rng, rows, p);
  const truth = new Float64Array(p);
  truth[0] = 2;
  truth[3] = -1.5;
  truth[5] = 1;
  const yv = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0.1 * (2 * rng() - 1);
    for (let j = 0; j < p; j++) s += X.data[i * p + j] * truth[j];
    yv[i] = s;
  }
  let lambdaMax = 0;
  for (let j = 0; j < p; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += X.data[i * p + j] * yv[i];
    lambdaMax = Math.max(lambdaMax, Math.abs(s));
  }
  return new Lasso(X, yv, fraction * lambdaMax);
}

/** Closed form on the support S (MATH.md 6): d beta_S / d lambda = -(X_S' X_S)^{-1} sign(beta_S), 0 off S. */
export function lassoReferenceDerivative(X: Matrix, beta: Float64Array): Float64Array {
  const p = X.cols;
  const S = [...beta.keys()].filter((j) => beta[j] !== 0);
  const k = S.length;
  const G: Matrix = { rows: k, cols: k, data: new Float64Array(k * k) };
  for (let a = 0; a < k; a++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let i = 0; i < X.rows; i++) s += X.data[i * p + S[a]] * X.data[i * p + S[c]];
      G.data[a * k + c] = s;
    }
  }
  const sign: Matrix = { rows: k, cols: 1, data: Float64Array.from(S, (j) => Math.sign(beta[j])) };
  const sol = denseSolve(G, sign);
  const out = new Float64Array(p);
  S.forEach((j, a) => {
    out[j] = -sol.data[a];
  });
  return out;
}

/** Largest |a - b| / max(|b|, floor). */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-8): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return e;
}
