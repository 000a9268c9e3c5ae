/**
 * Issue 13, Build item 3: positive definite by construction for prox-gradient fixed points
 * (src/analysis/monotone-prox.ts): T_y = a J (I - K) with J the prox's Jacobian (symmetric, 0 <= J
 * <= I), a in [0, 1], K = s (X'X + mu I) positive definite (or semidefinite with a < 1). Each
 * certified case is checked by brute force on data where the weaker argument fails (X with two
 * equal columns, so X'X is singular): at the solution, every sampled B (kink factors at the
 * vertices and inside their range) is invertible; each case just outside the condition is not
 * certified, and for the main one the singular B the condition rules out is exhibited.
 */
import { describe, expect, it } from 'vitest';
import { sampledBs, solveAt, verdictOf } from '../helpers/brute-force.ts';

/** The smallest singular value of a small square matrix, by Jacobi on B'B (order <= 8). */
function smallestSingularValue(B: number[][]): number {
  const n = B.length;
  const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => B.reduce((s, r) => s + r[i] * r[j], 0)));
  for (let sweep = 0; sweep < 60; sweep++) {
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(A[p][q]) < 1e-300) continue;
        const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k][p];
          const akq = A[k][q];
          A[k][p] = c * akp - s * akq;
          A[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p][k];
          const aqk = A[q][k];
          A[p][k] = c * apk - s * aqk;
          A[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Math.sqrt(Math.max(0, Math.min(...A.map((r, i) => r[i]))));
}

// Two equal columns: X'X is singular, so only mu (or the damping) keeps B invertible.
const X = [
  [1, 1, 0.5],
  [-0.5, -0.5, 2],
  [2, 2, -1],
  [0.3, 0.3, 0.7],
];
const t = [1, -2, 0.5, 3];

const elasticNet = (req: string) => `model E {
  dim n, p
  data X: real[n, p]
  data t: real[n]
  param lam: real
  param mu: real
  ${req}
  let s = 1 / (opnorm(X)^2 + mu)
  unknown b: real[p]
  fixpoint b = soft_threshold(b - s * (X' * (X * b - t) + mu * b), s * lam)
}
`;

describe('prox-gradient maps with K positive definite by construction', () => {
  it('elastic net under require mu > 0: certified (monotone), the contraction guard not needed', () => {
    const c = verdictOf(elasticNet('require mu > 0'));
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('monotone');
    expect(c.reason).toContain('positive definite by construction');
  });

  it('brute force: with two equal columns and mu = 0.05, every sampled B at the solution is invertible', async () => {
    const { inst, y } = await solveAt(elasticNet('require mu > 0'), { X, t, lam: 0.3, mu: 0.05 });
    for (const B of sampledBs(inst, y, [[0, 1]], 60)) expect(smallestSingularValue(B)).toBeGreaterThan(1e-6);
  });

  it('under mu >= 0 (the Lasso allowed): not certified, and at mu = 0 the vertex D = I gives B = s X\'X, singular', async () => {
    expect(verdictOf(elasticNet('require mu >= 0')).verdict).not.toBe('certified');
    const { inst, y } = await solveAt(elasticNet('require mu >= 0'), { X, t, lam: 0.3, mu: 0 });
    const [, atOne] = sampledBs(inst, y, [[1, 1]], 2);
    // (Jacobi on B'B resolves singular values to about sqrt(eps).)
    expect(smallestSingularValue(atOne)).toBeLessThan(1e-6);
  });

  it('the damped elastic net soft_threshold(...) / (1 + s l2): certified under l2 > 0 (a < 1, K semidefinite), not under l2 >= 0', async () => {
    const damped = (req: string) => `model E {\n  dim n, p\n  data X: real[n, p]\n  data t: real[n]\n  param l1: real\n  param l2: real\n  ${req}\n  let s = 1 / opnorm(X)^2\n  unknown b: real[p]\n  fixpoint b = soft_threshold(b - s * X' * (X * b - t), s * l1) / (1 + s * l2)\n}\n`;
    expect(verdictOf(damped('require l2 > 0')).verdict).toBe('certified');
    expect(verdictOf(damped('require l2 >= 0')).verdict).not.toBe('certified');
    const { inst, y } = await solveAt(damped('require l2 > 0'), { X, t, l1: 0.2, l2: 0.01 });
    for (const B of sampledBs(inst, y, [[0, 1]], 60)) expect(smallestSingularValue(B)).toBeGreaterThan(1e-6);
  });

  const boxQp = (Q: string, req: string, map = 'proj_box(y - g * (QY + q), -1, 1)') => `model Q {
  dim k, m
  data A: real[m, k]
  param mu: real
  param q: real[k]
  ${req}
  let g = 1 / (opnorm(A)^2 + mu)
  unknown y: real[k]
  fixpoint y = ${map.replace('QY', Q)}
}
`;

  it("box QP with Q = A'A + mu I spelled three ways: certified; brute force at a solution with active bounds", async () => {
    for (const Q of ["A' * (A * y) + mu * y", "mu * y + A' * A * y", "(A' * A) * y + mu * y"]) {
      expect(verdictOf(boxQp(Q, 'require mu >= 0.1')).verdict, Q).toBe('certified');
    }
    const A = X.map((r) => r.slice());
    const { inst, y } = await solveAt(boxQp("A' * (A * y) + mu * y", 'require mu >= 0.1'), { A, mu: 0.1, q: [3, -4, 0.2] });
    expect([...y].some((v) => Math.abs(Math.abs(v) - 1) < 1e-9)).toBe(true);
    for (const B of sampledBs(inst, y, [[0, 1]], 60)) expect(smallestSingularValue(B)).toBeGreaterThan(1e-6);
  });

  it('the simplex QP with Q = A\'A + mu I: certified (a projection\'s Jacobian is symmetric with spectrum in [0, 1])', () => {
    expect(verdictOf(boxQp("A' * (A * y) + mu * y", 'require mu > 0', 'proj_simplex(y - g * (QY + q))')).verdict).toBe('certified');
  });

  it('just outside: K with a minus sign, a map scaled by 2, two different matrices, a data Q', () => {
    expect(verdictOf(boxQp("A' * (A * y) - mu * y", 'require mu >= 0.1')).verdict).not.toBe('certified');
    expect(verdictOf(boxQp("A' * (A * y) + mu * y", 'require mu >= 0.1', '2 * proj_box(y - g * (QY + q), -1, 1)')).verdict).not.toBe('certified');
    const two = `model Z {\n  dim k\n  data A: real[k, k]\n  data Z: real[k, k]\n  param q: real[k]\n  unknown y: real[k]\n  fixpoint y = proj_box(y - 0.1 * (A' * (Z * y) + y + q), -1, 1)\n}\n`;
    expect(verdictOf(two).verdict).not.toBe('certified');
    const data = `model D {\n  dim k\n  data Q: real[k, k]\n  param q: real[k]\n  unknown y: real[k]\n  fixpoint y = proj_box(y - 0.1 * (Q * y + q), -1, 1)\n}\n`;
    expect(verdictOf(data).verdict).not.toBe('certified');
  });
});

describe('the same maps spelled otherwise (structure, not the sample\'s spelling)', () => {
  const head = (req: string) => `model E {\n  dim n, p\n  data X: real[n, p]\n  data t: real[n]\n  param lam: real\n  param mu: real\n  ${req}\n  let s = 1 / (opnorm(X)^2 + mu)\n  unknown b: real[p]\n`;
  const spellings: Record<string, string> = {
    expanded: `  fixpoint b = soft_threshold(b - s * X' * X * b + s * X' * t - s * mu * b, s * lam)\n}\n`,
    'sign-flipped': `  fixpoint b = soft_threshold(b + s * (X' * (t - X * b) - mu * b), s * lam)\n}\n`,
    'through lets': `  let G = X' * X\n  let r = X' * t\n  let u = b - s * (G * b - r + mu * b)\n  fixpoint b = soft_threshold(u, s * lam)\n}\n`,
    'as an equation': `  solve b - soft_threshold(b - s * (X' * (X * b - t) + mu * b), s * lam) = 0\n}\n`,
    'box by max(min)': `  fixpoint b = max(min(b - s * (X' * (X * b - t) + mu * b), 1), -1)\n}\n`,
  };

  it.each(Object.entries(spellings))('%s: certified under mu > 0, not under mu >= 0', (_name, body) => {
    expect(verdictOf(head('require mu > 0') + body).verdict).toBe('certified');
    expect(verdictOf(head('require mu >= 0') + body).verdict).not.toBe('certified');
  });

  it('brute force on the rank-deficient X: every sampled B invertible for the sign-flipped, equation and max(min) spellings', async () => {
    for (const name of ['sign-flipped', 'as an equation', 'box by max(min)']) {
      const { inst, y } = await solveAt(head('require mu > 0') + spellings[name], { X, t, lam: 0.3, mu: 0.05 });
      const ranges = inst.kinkFactors(y).map(() => [0, 1] as const);
      for (const B of sampledBs(inst, y, ranges, 40)) expect(smallestSingularValue(B), name).toBeGreaterThan(1e-6);
    }
  });

  it('a projection after a diagonal factor (D P is not symmetric) is not read as a prox', () => {
    const text = `model D {\n  dim k\n  data A: real[k, k]\n  param q: real[k]\n  param mu: real\n  require mu > 0\n  unknown y: real[k]\n  fixpoint y = relu(proj_simplex(y - 0.1 * (A' * (A * y) + mu * y + q)))\n}\n`;
    const c = verdictOf(text);
    expect(c.test === 'monotone' && c.reason.includes('prox-gradient')).toBe(false);
  });
});
