/**
 * The group Lasso and nearest-PSD samples (issue 15): samples/group_lasso.impl solved on the
 * whole breast cancer data against an independent proximal-gradient solver written here, its
 * hypergradient d val / d lambda against a central difference of the validation loss; and
 * samples/nearest_correlation.impl against an eigendecomposition written here (cyclic Jacobi),
 * with d o / d C against central differences.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { permutation, readCsv, standardize } from '../demos/data.ts';
import { compileModel } from '../src/compile-model.ts';
import type { ModelInstance } from '../src/runtime/model.ts';

type Solved = ModelInstance & {
  solve(options?: object): { status: string; solution: Record<string, unknown>; outputs: Record<string, number>; certificate: { verdict: string }; gradients?: Record<string, Record<string, unknown>> };
};
const flat = (x: unknown): number[] => [x].flat(4) as number[];

/** Standardized breast cancer features, centered labels, a fixed 400 / 169 split, and the measurement of each column. */
function breastCancer() {
  const { rows } = readCsv('samples/data/breast_cancer.csv');
  const feats = standardize(rows.map((r) => r.slice(0, 30)));
  const label = rows.map((r) => r[30]);
  const mean = label.reduce((a, b) => a + b, 0) / label.length;
  const perm = permutation(rows.length, 11);
  const take = (idx: number[]) => ({ X: idx.map((i) => feats[i]), y: idx.map((i) => label[i] - mean) });
  const train = take(perm.slice(0, 400));
  const val = take(perm.slice(400));
  return { X: train.X, y: train.y, Xv: val.X, yv: val.y, g: Array.from({ length: 30 }, (_, j) => (j % 10) + 1) };
}

/** Largest singular value of X by power iteration on X'X (to full precision). */
function opnorm(X: number[][]): number {
  const p = X[0].length;
  let v = Array.from({ length: p }, (_, j) => 1 + j / p);
  let s = 0;
  for (let it = 0; it < 5000; it++) {
    const Xv = X.map((r) => r.reduce((a, x, j) => a + x * v[j], 0));
    const w = v.map((_, j) => X.reduce((a, r, i) => a + r[j] * Xv[i], 0));
    const nw = Math.hypot(...w);
    const next = Math.sqrt(nw);
    v = w.map((x) => x / nw);
    if (Math.abs(next - s) <= 1e-15 * next) break;
    s = next;
  }
  return s;
}

/** Group Lasso by proximal gradient (ISTA) with step 1 / L, L >= ||X||^2, until successive iterates differ by < 1e-15 (the error is at most that over 1 - the contraction rate of the active support). */
function groupLassoRef(X: number[][], y: number[], g: number[], lambda: number): number[] {
  const p = X[0].length;
  const L = opnorm(X) ** 2 * (1 + 1e-12);
  let b = new Array<number>(p).fill(0);
  for (let it = 0; it < 2_000_000; it++) {
    const r = X.map((row, i) => row.reduce((a, x, j) => a + x * b[j], 0) - y[i]);
    const u = b.map((bj, j) => bj - X.reduce((a, row, i) => a + row[j] * r[i], 0) / L);
    const next = new Array<number>(p).fill(0);
    for (const id of new Set(g)) {
      const idx = g.flatMap((x, j) => (x === id ? [j] : []));
      const n = Math.sqrt(idx.reduce((a, j) => a + u[j] * u[j], 0));
      const f = n > lambda / L ? 1 - lambda / L / n : 0;
      for (const j of idx) next[j] = u[j] * f;
    }
    const diff = Math.max(...next.map((x, j) => Math.abs(x - b[j])));
    b = next;
    if (diff < 1e-15) break;
  }
  return b;
}

const valLoss = (Xv: number[][], yv: number[], b: number[]) => 0.5 * Xv.reduce((a, r, i) => a + (r.reduce((s, x, j) => s + x * b[j], 0) - yv[i]) ** 2, 0);

describe('samples/group_lasso.impl on breast cancer', () => {
  const data = breastCancer();

  it('checks on its own inputs file (labels by measurement)', async () => {
    const M = await compileModel('samples/group_lasso.impl');
    const inputs = JSON.parse(readFileSync('samples/inputs/group_lasso.json', 'utf8'));
    expect(inputs.g).toEqual(data.g);
    const r = (new M(inputs) as unknown as Solved).solve({ tol: 1e-12 });
    expect(r.status).toBe('converged');
    expect(r.certificate.verdict).not.toBe('violated');
  });

  it('the solution matches an independent proximal-gradient solver; d val / d lambda a central difference', async () => {
    const M = await compileModel('samples/group_lasso.impl');
    const solveAt = (lambda: number) => {
      const r = (new M({ ...data, lambda }) as unknown as Solved).solve({ tol: 1e-14 });
      expect(r.status).toBe('converged');
      return r;
    };
    const lambda = 8;
    const r = solveAt(lambda);
    expect(r.certificate.verdict).not.toBe('violated');
    const beta = flat(r.solution.beta);
    const ref = groupLassoRef(data.X, data.y, data.g, lambda);
    beta.forEach((b, j) => expect(Math.abs(b - ref[j]), `beta_${j + 1}`).toBeLessThan(1e-8));
    // Some measurements are dropped whole, some kept: the groups matter at this lambda.
    const kept = new Set(data.g.filter((_, j) => ref[j] !== 0));
    expect(kept.size).toBeGreaterThan(0);
    expect(kept.size).toBeLessThan(10);
    for (let j = 0; j < 30; j++) expect(beta[j] === 0).toBe(!kept.has(data.g[j]));
    expect(Math.abs(r.outputs.val - valLoss(data.Xv, data.yv, ref))).toBeLessThan(1e-8);
    // Hypergradient: the support is stable near lambda, so val is smooth there.
    const h = 1e-4;
    const fd = (solveAt(lambda + h).outputs.val - solveAt(lambda - h).outputs.val) / (2 * h);
    const grad = flat(r.gradients!.val.lambda)[0];
    expect(Math.abs(grad - fd)).toBeLessThan(1e-6 * Math.abs(fd));
  });
});

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: A = Q diag(l) Q^T. */
function jacobiEigen(A: number[][]): { l: number[]; Q: number[][] } {
  const n = A.length;
  const a = A.map((r) => [...r]);
  const Q: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) off += a[i][j] ** 2;
    if (off < 1e-300) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const qkp = Q[k][p];
          const qkq = Q[k][q];
          Q[k][p] = c * qkp - s * qkq;
          Q[k][q] = s * qkp + c * qkq;
        }
      }
    }
  }
  return { l: a.map((r, i) => r[i]), Q };
}

function psdOf(C: number[][]): number[][] {
  const { l, Q } = jacobiEigen(C);
  const n = C.length;
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => l.reduce((s, li, k) => s + Q[i][k] * Math.max(li, 0) * Q[j][k], 0)));
}

describe('samples/nearest_correlation.impl', () => {
  it('X = proj_psd(C) (against Jacobi eigenvectors), d o / d C against central differences', async () => {
    const M = await compileModel('samples/nearest_correlation.impl');
    const { C, W } = JSON.parse(readFileSync('samples/inputs/nearest_correlation.json', 'utf8')) as { C: number[][]; W: number[][] };
    // C is an indefinite "correlation" estimate: one negative eigenvalue.
    expect(jacobiEigen(C).l.filter((x) => x < 0)).toHaveLength(1);
    const solveAt = (Cm: number[][]) => {
      const r = (new M({ C: Cm, W }) as unknown as Solved).solve({ tol: 1e-15 });
      expect(r.status).toBe('converged');
      return r;
    };
    const r = solveAt(C);
    expect(r.certificate.verdict).toBe('certified');
    const X = flat(r.solution.X);
    const ref = psdOf(C).flat();
    X.forEach((x, k) => expect(Math.abs(x - ref[k])).toBeLessThan(1e-12));
    const grad = flat(r.gradients!.o.C);
    const h = 1e-6;
    for (let k = 0; k < 9; k++) {
      const moved = (d: number) => C.map((row, i) => row.map((x, j) => (i * 3 + j === k ? x + d : x)));
      const fd = (solveAt(moved(h)).outputs.o - solveAt(moved(-h)).outputs.o) / (2 * h);
      expect(Math.abs(grad[k] - fd), `d o / d C_${k}`).toBeLessThan(1e-8);
    }
  });
});
