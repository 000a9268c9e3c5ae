/**
 * Issue 15's acceptance: "A new user's models that use these must check, build, solve and
 * differentiate with errors against independent references of at most 1e-8."
 *
 * Eleven models written as a new user would, each combining several of the constructs
 * (1-based indexing and slicing, literals and constructors, concatenation, axis reductions,
 * maxof/minof, log1p, logsumexp, softmax, group labels with block_soft_threshold, proj_l2ball,
 * proj_linf_ball, proj_psd, outputs of any shape, explicit layers). For each: `analyzeFile`
 * reports no error, `compileModel` builds it, it solves, and its solution, outputs and
 * derivatives agree to 1e-8 (relative to the largest entry of the reference array) with
 * references written here without the code under test: closed forms (softmax Jacobian
 * diag(s) - s s', logsumexp gradient = softmax, the l2-ball KKT system, the 2x2 PSD projection
 * by the Cayley-Hamilton formula differentiated with dual numbers, the group-Lasso optimality
 * system), plain-TypeScript solvers run to rounding, Gaussian elimination, and the implicit
 * function theorem written by hand. Central differences are an extra, loose check only.
 */
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/pipeline.ts';
import { compileModel } from '../../src/compile-model.ts';
import { jacobian, outputJacobian, outputVjp } from '../../src/runtime/index.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';

type Instance = ModelInstance & { solve(o?: object): RunResult & { jacobian?: Record<string, Record<string, unknown>> } };
type Ctor = new (x: object) => Instance;
type Mat = number[][];

const TOL = 1e-8;
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

/** Check with the whole pipeline (no error), then compile. */
async function build(name: string, text: string): Promise<Ctor> {
  const checked = analyzeFile(`${name}.impl`, text);
  const errs = checked.diagnostics.filter((d) => d.severity === 'error');
  expect(errs.map((d) => `${d.code} ${d.message}`), `${name}: check errors`).toEqual([]);
  return (await compileModel(`${name}.impl`, undefined, text)) as unknown as Ctor;
}

/** |a_i - e_i| <= TOL * max_j |e_j| (relative to the array's scale), with the entry named on failure. */
function expectClose(actual: unknown, expected: unknown, what: string, tol = TOL): void {
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length, `${what}: length`).toBe(e.length);
  const scale = Math.max(...e.map(Math.abs), 1e-300);
  a.forEach((x, i) => expect(Math.abs(x - e[i]), `${what}[${i}]: got ${x}, expected ${e[i]}`).toBeLessThanOrEqual(tol * scale));
}

// ---------- plain linear algebra, written here ----------

/** Solve A X = B (B a matrix of right-hand sides, columns) by Gaussian elimination with partial pivoting. */
function gaussSolve(A: Mat, B: Mat): Mat {
  const n = A.length;
  const k = B[0].length;
  const M = A.map((row, i) => [...row, ...B[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(M[i][c]) > Math.abs(M[p][c])) p = i;
    [M[c], M[p]] = [M[p], M[c]];
    for (let i = c + 1; i < n; i++) {
      const f = M[i][c] / M[c][c];
      for (let j = c; j < n + k; j++) M[i][j] -= f * M[c][j];
    }
  }
  const X: Mat = Array.from({ length: n }, () => new Array(k).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = 0; j < k; j++) {
      let s = M[i][n + j];
      for (let l = i + 1; l < n; l++) s -= M[i][l] * X[l][j];
      X[i][j] = s / M[i][i];
    }
  }
  return X;
}
const solveVec = (A: Mat, b: number[]): number[] => gaussSolve(A, b.map((x) => [x])).map((r) => r[0]);
const matvec = (A: Mat, x: number[]): number[] => A.map((row) => row.reduce((s, a, j) => s + a * x[j], 0));
const matmul = (A: Mat, B: Mat): Mat => A.map((row) => B[0].map((_, j) => row.reduce((s, a, l) => s + a * B[l][j], 0)));
const tr = (A: Mat): Mat => A[0].map((_, j) => A.map((row) => row[j]));
const eye = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));
const softmaxRef = (z: number[]): number[] => {
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
const lseRef = (z: number[]): number => {
  const m = Math.max(...z);
  return m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
};
/** diag(s) - s s^T. */
const softmaxJac = (s: number[]): Mat => s.map((si, i) => s.map((sj, j) => (i === j ? si : 0) - si * sj));
/** Columns of `J` (rows = outputs) picked: a helper to read d out / d param blocks. */
const cols = (J: Mat, from: number, count: number): Mat => J.map((row) => row.slice(from, from + count));

/** Central differences (loose extra check only). */
function fdJac(f: (p: number[]) => number[], p: number[], h = 1e-6): Mat {
  const columns = p.map((_, k) => {
    const up = p.map((x, i) => (i === k ? x + h : x));
    const dn = p.map((x, i) => (i === k ? x - h : x));
    const a = f(up);
    const b = f(dn);
    return a.map((v, i) => (v - b[i]) / (2 * h));
  });
  return tr(columns);
}

// ---------- 1. attention (explicit layer): softmax, transpose, slicing, logsumexp ----------

describe('1. a softmax attention read-out (explicit layer)', () => {
  const text = `model Attention {
  dim m, d, k
  param q: real[d]
  param K: real[m, d]
  data V: real[m, k]
  let s = softmax(K * q / sqrt(d))
  output a = V' * s
  output first = s[1]
  output lse = logsumexp(K[:, 1:2] * q[1:2])
}
`;
  const q = [0.4, -1.1, 0.7];
  const K = [[0.5, 0.2, -0.3], [-0.8, 0.6, 0.1], [0.3, -0.4, 0.9], [1.2, 0.1, -0.5]];
  const V = [[1, 0], [0.5, -2], [-1, 3], [2, 0.25]];
  const m = 4;
  const d = 3;

  it('checks, builds, solves (no unknown) and matches V^T softmax(Kq / sqrt d), its Jacobian V^T (diag s - s s^T) K / sqrt d, and the logsumexp gradient', async () => {
    const M = await build('attention', text);
    const inst = new M({ q, K, V });
    const r = inst.solve();
    expect(r.status).toBe('converged');
    expect(r.method).toBe('none');
    const z = matvec(K, q).map((x) => x / Math.sqrt(d));
    const s = softmaxRef(z);
    const a = matvec(tr(V), s);
    expectClose(r.outputs.a, a, 'a');
    expectClose(r.outputs.first, s[0], 'first');
    const u = K.map((row) => row[0] * q[0] + row[1] * q[1]);
    const t = softmaxRef(u);
    expectClose(r.outputs.lse, lseRef(u), 'lse');

    // da/dz = V^T S; dz/dq = K / sqrt d; dz_i/dK_ij = q_j / sqrt d.
    const S = softmaxJac(s);
    const VS = matmul(tr(V), S);
    const daDq = matmul(VS, K).map((row) => row.map((x) => x / Math.sqrt(d)));
    const daDK = VS.map((row) => row.flatMap((v) => q.map((qj) => (v * qj) / Math.sqrt(d))));
    expectClose(r.gradients!.a.q, daDq, 'da/dq');
    expectClose(r.gradients!.a.K, daDK, 'da/dK');
    const dfDq = matvec(tr(K), S[0]).map((x) => x / Math.sqrt(d));
    const dfDK = S[0].flatMap((v) => q.map((qj) => (v * qj) / Math.sqrt(d)));
    expectClose(r.gradients!.first.q, dfDq, 'dfirst/dq');
    expectClose(r.gradients!.first.K, dfDK, 'dfirst/dK');
    // d lse / dq_j = sum_i t_i K_ij for j <= 2, 0 for j = 3; d lse / dK_ij = t_i q_j for j <= 2.
    const dlDq = [0, 1, 2].map((j) => (j < 2 ? t.reduce((acc, ti, i) => acc + ti * K[i][j], 0) : 0));
    const dlDK = t.flatMap((ti) => [ti * q[0], ti * q[1], 0]);
    expectClose(r.gradients!.lse.q, dlDq, 'dlse/dq');
    expectClose(r.gradients!.lse.K, dlDK, 'dlse/dK');

    // The runtime's outputJacobian / outputVjp for the vector output (columns: q then K).
    const y = new Float64Array(0);
    const J = outputJacobian(inst, y, 0);
    expect([J.rows, J.cols]).toEqual([2, d + m * d]);
    const Jref = daDq.map((row, i) => [...row, ...daDK[i]]);
    expectClose(Array.from(J.data), Jref, 'outputJacobian(a)');
    const abar = [0.7, -1.3];
    const v = outputVjp(inst, y, 0, Float64Array.from(abar));
    expectClose(Array.from(v), matvec(tr(Jref), abar), 'outputVjp(a)');
  });
});

// ---------- 2. a softmax fixpoint with a cyclic shift by indexing ----------

describe('2. y = softmax(beta [y3; y1; y2] + theta): indexing and a vertical stack of scalars inside a fixpoint', () => {
  const text = `model SoftFix {
  param theta: real[3]
  param beta: real
  unknown y: real[3]
  fixpoint y = softmax(beta * [y[3]; y[1]; y[2]] + theta)
  output o = y[1] - y[3]
  output tail = y[2:3]
}
`;
  const theta = [0.3, -0.5, 1.2];
  const beta = 0.8;
  const shift = (y: number[]) => [y[2], y[0], y[1]];
  const solveRef = (th: number[], b: number) => {
    let y = [1 / 3, 1 / 3, 1 / 3];
    for (let it = 0; it < 400; it++) y = softmaxRef(shift(y).map((v, i) => b * v + th[i]));
    return y;
  };

  it('solution by plain iteration; dy/d(theta, beta) by the implicit function theorem (I - beta S P) dy = S dtheta + S P y dbeta', async () => {
    const M = await build('softfix', text);
    const r = new M({ theta, beta }).solve({ tol: 1e-14, jacobian: true });
    expect(r.status).toBe('converged');
    const y = solveRef(theta, beta);
    expectClose(r.solution.y, y, 'y');
    const s = softmaxRef(shift(y).map((v, i) => beta * v + theta[i]));
    const S = softmaxJac(s);
    const P = [[0, 0, 1], [1, 0, 0], [0, 1, 0]];
    const SP = matmul(S, P);
    const lhs = eye(3).map((row, i) => row.map((x, j) => x - beta * SP[i][j]));
    const rhs = S.map((row, i) => [...row, dot(SP[i], y)]);
    const dy = gaussSolve(lhs, rhs); // 3 x 4: theta (3), beta
    expectClose(r.jacobian!.y.theta, cols(dy, 0, 3), 'dy/dtheta');
    expectClose(r.jacobian!.y.beta, cols(dy, 3, 1), 'dy/dbeta');
    expectClose(r.outputs.o, y[0] - y[2], 'o');
    expectClose(r.gradients!.o.theta, [0, 1, 2].map((j) => dy[0][j] - dy[2][j]), 'do/dtheta');
    expectClose(r.gradients!.o.beta, dy[0][3] - dy[2][3], 'do/dbeta');
    expectClose(r.outputs.tail, [y[1], y[2]], 'tail');
    expectClose(r.gradients!.tail.theta, [cols(dy, 0, 3)[1], cols(dy, 0, 3)[2]], 'dtail/dtheta');
    // Loose extra check: central differences of the reference solver.
    const fd = fdJac((p) => solveRef(p.slice(0, 3), p[3]), [...theta, beta]);
    expectClose(fd, dy, 'fd vs IFT (reference self-check)', 1e-6);
  });
});

// ---------- 3. group-sparse regression with concatenated feature blocks ----------

/** Block soft-thresholding by the definition: v_G max(0, 1 - t / |v_G|). */
function bst(v: number[], t: number, g: number[]): number[] {
  const out = v.slice();
  for (const G of new Set(g)) {
    const idx = g.map((x, i) => (x === G ? i : -1)).filter((i) => i >= 0);
    const nr = Math.sqrt(idx.reduce((s, i) => s + v[i] * v[i], 0));
    const f = nr > t ? 1 - t / nr : 0;
    for (const i of idx) out[i] = v[i] * f;
  }
  return out;
}

describe('3. group Lasso over [A, B] with groups that mix the two blocks', () => {
  const text = `model GroupReg {
  data A: real[8, 3]
  data B: real[8, 3]
  param b: real[8]
  param lam: real
  data g: index[6]
  data step: real
  unknown w: real[6] = 0
  let X = [A, B]
  fixpoint w = block_soft_threshold(w - step * (X' * (X * w - b)), step * lam, g)
  output fit = sumsq(X * w - b) / 2
  output head = w[1:3]
}
`;
  const A = [[1, 0.2, -0.3], [0.4, 1.1, 0], [-0.2, 0.3, 0.9], [0.5, -0.6, 0.2], [0.1, 0.4, -0.8], [-0.7, 0.2, 0.3], [0.3, -0.1, 0.6], [0.9, 0.5, -0.2]];
  const B = [[0.2, -0.5, 0.1], [0.6, 0.3, -0.4], [-0.1, 0.8, 0.2], [0.3, 0.1, 0.9], [-0.6, 0.2, 0.4], [0.4, -0.3, -0.2], [0.1, 0.7, -0.5], [-0.3, 0.2, 0.3]];
  const X = A.map((row, i) => [...row, ...B[i]]);
  // Group 1: features 1 and 2 (A); group 2: feature 3 (A) and 6 (B); group 3: features 4 and 5 (B).
  const g = [1, 1, 2, 3, 3, 2];
  const wTrue = [1.5, -1, 0, 2, 1.5, 0];
  const b = matvec(X, wTrue).map((v, i) => v + 0.05 * Math.sin(3 * i + 1));
  const lam = 2.4;
  const XtX = matmul(tr(X), X);
  // Largest eigenvalue of X^T X by power iteration (for a step the user would pick).
  let e = [1, 1, 1, 1, 1, 1];
  for (let k = 0; k < 2000; k++) {
    const f = matvec(XtX, e);
    e = f.map((x) => x / norm(f));
  }
  const L = dot(e, matvec(XtX, e));
  const step = 0.9 / L;

  /** Proximal gradient to a fixed point (changes below 1e-16). */
  function solveRef(bb: number[], lm: number): number[] {
    let w = new Array(6).fill(0);
    for (let k = 0; k < 200000; k++) {
      const grad = matvec(tr(X), matvec(X, w).map((v, i) => v - bb[i]));
      const next = bst(w.map((x, i) => x - step * grad[i]), step * lm, g);
      const change = Math.max(...next.map((x, i) => Math.abs(x - w[i])));
      w = next;
      if (change < 1e-16) break;
    }
    return w;
  }

  it('solution = the group-Lasso minimizer (optimality checked); dw/d(b, lam) from the reduced optimality system (X_a^T X_a + lam D) dw_a = X_a^T db - u_G dlam, independent of the step', async () => {
    const M = await build('groupreg', text);
    const r = new M({ A, B, b, lam, g, step }).solve({ tol: 1e-14, jacobian: true });
    expect(r.status).toBe('converged');
    const w = solveRef(b, lam);
    // Optimality of the reference: X^T (Xw - b) + lam w_G / |w_G| = 0 on active groups, |X_G^T (Xw - b)| <= lam on zero groups.
    const grad = matvec(tr(X), matvec(X, w).map((v, i) => v - b[i]));
    const groups = [1, 2, 3].map((G) => g.map((x, i) => (x === G ? i : -1)).filter((i) => i >= 0));
    const active = groups.filter((idx) => norm(idx.map((i) => w[i])) > 0);
    const zero = groups.filter((idx) => norm(idx.map((i) => w[i])) === 0);
    expect(active.length, 'two active groups (the data were chosen so)').toBe(2);
    expect(zero.length).toBe(1);
    for (const idx of active) {
      const nr = norm(idx.map((i) => w[i]));
      for (const i of idx) expect(Math.abs(grad[i] + (lam * w[i]) / nr)).toBeLessThan(1e-12);
    }
    for (const idx of zero) expect(norm(idx.map((i) => grad[i]))).toBeLessThan(lam * 0.99);
    expectClose(r.solution.w, w, 'w');

    // Reduced system on the active coordinates a (ordered as the active groups list them).
    const a = active.flat();
    const Haa = a.map((i) => a.map((j) => XtX[i][j]));
    for (const idx of active) {
      const nr = norm(idx.map((i) => w[i]));
      for (const i of idx) for (const j of idx) Haa[a.indexOf(i)][a.indexOf(j)] += (lam / nr) * ((i === j ? 1 : 0) - (w[i] * w[j]) / (nr * nr));
    }
    const u = a.map((i) => w[i] / norm(g.map((G, j) => (G === g[i] ? w[j] : 0))));
    const rhs = a.map((i, k) => [...X.map((row) => row[i]), -u[k]]);
    const dwa = gaussSolve(Haa, rhs); // |a| x (8 + 1)
    const dw: Mat = Array.from({ length: 6 }, () => new Array(9).fill(0));
    a.forEach((i, k) => (dw[i] = dwa[k]));
    expectClose(r.jacobian!.w.b, cols(dw, 0, 8), 'dw/db');
    expectClose(r.jacobian!.w.lam, cols(dw, 8, 1), 'dw/dlam');
    // fit = |Xw - b|^2 / 2: d fit = (Xw - b)^T (X dw - db).
    const res = matvec(X, w).map((v, i) => v - b[i]);
    expectClose(r.outputs.fit, dot(res, res) / 2, 'fit');
    const XtRes = matvec(tr(X), res);
    const dFit = [...Array(9).keys()].map((k) => dot(XtRes, dw.map((row) => row[k])) - (k < 8 ? res[k] : 0));
    expectClose(r.gradients!.fit.b, dFit.slice(0, 8), 'dfit/db');
    expectClose(r.gradients!.fit.lam, dFit[8], 'dfit/dlam');
    expectClose(r.outputs.head, w.slice(0, 3), 'head');
    expectClose(r.gradients!.head.lam, [dw[0][8], dw[1][8], dw[2][8]], 'dhead/dlam');
  });
});

// ---------- 4. l2-ball constrained least squares with the radius a param ----------

describe('4. an l2-ball layer: y = argmin 1/2 y^T H y - b^T y over |y| <= r, r a param, with a literal target', () => {
  const text = `model BallLS {
  data H: real[4, 4]
  param b: real[4]
  param r: real
  data step: real
  unknown y: real[4] = 0
  fixpoint y = proj_l2ball(y - step * (H * y - b), r)
  output pos = y
  output miss = sumsq(y - [1, 0, -1, 0.5])
}
`;
  const H = [[3, 0.5, 0, 0.2], [0.5, 2, 0.3, 0], [0, 0.3, 1.5, -0.4], [0.2, 0, -0.4, 1]];
  const b = [2, -1.5, 1, 0.8];
  const radius = 0.7;

  it('solution by the KKT multiplier (bisection on |(H + mu I)^-1 b| = r); derivatives from the bordered system [[H + mu I, y], [y^T, 0]]', async () => {
    const M = await build('ballls', text);
    const inst = new M({ H, b, r: radius, step: 0.25 });
    const res = inst.solve({ tol: 1e-14 });
    expect(res.status).toBe('converged');
    const yOf = (mu: number) => solveVec(H.map((row, i) => row.map((h, j) => h + (i === j ? mu : 0))), b);
    expect(norm(yOf(0)), 'the unconstrained minimizer lies outside the ball').toBeGreaterThan(radius * 1.5);
    let lo = 0;
    let hi = 100;
    for (let k = 0; k < 200; k++) {
      const mid = (lo + hi) / 2;
      if (norm(yOf(mid)) > radius) lo = mid;
      else hi = mid;
    }
    const mu = (lo + hi) / 2;
    const y = yOf(mu);
    expectClose(res.solution.y, y, 'y');
    expectClose(res.outputs.pos, y, 'pos');
    // (H + mu I) dy + y dmu = db;  y^T dy = r dr.
    const K = [...H.map((row, i) => [...row.map((h, j) => h + (i === j ? mu : 0)), y[i]]), [...y, 0]];
    const R = [...eye(4).map((row) => [...row, 0]), [0, 0, 0, 0, radius]];
    const D = gaussSolve(K, R).slice(0, 4); // dy / d(b, r): 4 x 5
    expectClose(res.gradients!.pos.b, cols(D, 0, 4), 'dpos/db');
    expectClose(res.gradients!.pos.r, cols(D, 4, 1), 'dpos/dr');
    const target = [1, 0, -1, 0.5];
    const diff = y.map((v, i) => v - target[i]);
    expectClose(res.outputs.miss, dot(diff, diff), 'miss');
    const dMiss = [0, 1, 2, 3, 4].map((k) => 2 * dot(diff, D.map((row) => row[k])));
    expectClose(res.gradients!.miss.b, dMiss.slice(0, 4), 'dmiss/db');
    expectClose(res.gradients!.miss.r, dMiss[4], 'dmiss/dr');
    // The runtime's implicit Jacobian dy/dx (n x m) too.
    const J = jacobian(inst, Float64Array.from(flat(res.solution.y)));
    expectClose(Array.from(J.data), D, 'jacobian(model, y)');
  });
});

// ---------- 5. an explicit pooling layer: slicing, logsumexp, proj_linf_ball, log1p, maxof/minof ----------

describe('5. an explicit pooling layer with slices', () => {
  const text = `model Pool {
  param theta: real[6]
  param r: real
  output l = logsumexp(theta[1:3]) - logsumexp(theta[4:6])
  output clip = proj_linf_ball(theta[2:5], r)
  output soft = log1p(exp(theta[5:6]))
  output spread = maxof(theta) - minof(theta[1:4])
}
`;
  const theta = [0.3, -1.4, 0.9, 2.1, -0.2, 0.5];
  const r = 1;

  it('values and Jacobians against the closed forms (softmax blocks, 0/1 clip pattern, sigmoid, argmax/argmin)', async () => {
    const M = await build('pool', text);
    const inst = new M({ theta, r });
    const res = inst.solve();
    expect(res.status).toBe('converged');
    expect(res.certificate.test).toBe('explicit');
    expectClose(res.outputs.l, lseRef(theta.slice(0, 3)) - lseRef(theta.slice(3, 6)), 'l');
    const s1 = softmaxRef(theta.slice(0, 3));
    const s2 = softmaxRef(theta.slice(3, 6));
    expectClose(res.gradients!.l.theta, [...s1, ...s2.map((x) => -x)], 'dl/dtheta');
    expectClose(res.gradients!.l.r, 0, 'dl/dr');
    const v = theta.slice(1, 5);
    expectClose(res.outputs.clip, v.map((x) => Math.max(-r, Math.min(r, x))), 'clip');
    // entry i of clip is theta[i + 2]: derivative 1 inside (|x| < r), sign(x) in r outside.
    const dClip = v.map((x, i) => [...theta.map((_, k) => (k === i + 1 && Math.abs(x) < r ? 1 : 0)), Math.abs(x) < r ? 0 : Math.sign(x)]);
    expectClose(res.gradients!.clip.theta, dClip.map((row) => row.slice(0, 6)), 'dclip/dtheta');
    expectClose(res.gradients!.clip.r, dClip.map((row) => row[6]), 'dclip/dr');
    expectClose(res.outputs.soft, [Math.log1p(Math.exp(theta[4])), Math.log1p(Math.exp(theta[5]))], 'soft');
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    expectClose(res.gradients!.soft.theta, [[0, 0, 0, 0, sig(theta[4]), 0], [0, 0, 0, 0, 0, sig(theta[5])]], 'dsoft/dtheta');
    // maxof(theta) = theta[4] = 2.1; minof(theta[1:4]) = theta[2] = -1.4.
    expectClose(res.outputs.spread, 2.1 - -1.4, 'spread');
    expectClose(res.gradients!.spread.theta, [0, -1, 0, 1, 0, 0], 'dspread/dtheta');
    // Same through outputJacobian (columns theta then r) for the vector output clip.
    const J = outputJacobian(inst, new Float64Array(0), 1);
    expectClose(Array.from(J.data), dClip, 'outputJacobian(clip)');
  });
});

// ---------- 6. the nearest PSD matrix of a literal plus params ----------

/** Dual numbers (value, derivative): exact forward derivatives of the closed form below. */
type Dual = [number, number];
const dAdd = (a: Dual, b: Dual): Dual => [a[0] + b[0], a[1] + b[1]];
const dSub = (a: Dual, b: Dual): Dual => [a[0] - b[0], a[1] - b[1]];
const dMul = (a: Dual, b: Dual): Dual => [a[0] * b[0], a[0] * b[1] + a[1] * b[0]];
const dDiv = (a: Dual, b: Dual): Dual => [a[0] / b[0], (a[1] * b[0] - a[0] * b[1]) / (b[0] * b[0])];
const dSqrt = (a: Dual): Dual => [Math.sqrt(a[0]), a[1] / (2 * Math.sqrt(a[0]))];
const dHalf = (a: Dual): Dual => [a[0] / 2, a[1] / 2];

/**
 * P(S) for a symmetric 2x2 S = [p q; q r] with det S < 0 (one eigenvalue of each sign):
 * P = (S + |S|) / 2 with |S| = (S^2 - det(S) I) / (lambda+ - lambda-) and
 * lambda+ - lambda- = sqrt((p - r)^2 + 4 q^2) (the 2x2 matrix square root of S^2 by
 * Cayley-Hamilton). Returned row-major [P11, P12, P21, P22].
 */
function psd2(p: Dual, q: Dual, r: Dual): Dual[] {
  const det = dSub(dMul(p, r), dMul(q, q));
  expect(det[0]).toBeLessThan(0);
  const gap = dSqrt(dAdd(dMul(dSub(p, r), dSub(p, r)), dMul([4, 0], dMul(q, q))));
  const s11 = dAdd(dMul(p, p), dMul(q, q));
  const s12 = dMul(q, dAdd(p, r));
  const s22 = dAdd(dMul(q, q), dMul(r, r));
  const a11 = dDiv(dSub(s11, det), gap);
  const a12 = dDiv(s12, gap);
  const a22 = dDiv(dSub(s22, det), gap);
  return [dHalf(dAdd(p, a11)), dHalf(dAdd(q, a12)), dHalf(dAdd(q, a12)), dHalf(dAdd(r, a22))];
}

describe('6. nearest PSD matrix of [1, 2; 2, -1] + a I + T (fixpoint with proj_psd)', () => {
  const text = `model NearPSD {
  param T: real[2, 2]
  param a: real
  unknown X: real[2, 2] = 0
  let C = [1, 2; 2, -1] + a * eye(2) + T
  fixpoint X = proj_psd(X - 0.5 * (X - C))
  output Xo = X
  output corner = X[1, 2] + 2 * X[2, 2]
}
`;
  const T = [[0.3, -0.4], [0.2, 0.1]];
  const a = 0.25;

  it('X = P(sym C) by the 2x2 closed form; dX/dT and dX/da by dual numbers of it', async () => {
    const M = await build('nearpsd', text);
    const res = new M({ T, a }).solve({ tol: 1e-15, jacobian: true });
    expect(res.status).toBe('converged');
    // sym C: p = 1 + a + T11, q = 2 + (T12 + T21) / 2, r = -1 + a + T22.
    const at = (seed: number[]): Dual[] => {
      // seed: derivative of (T11, T12, T21, T22, a)
      const p: Dual = [1 + a + T[0][0], seed[4] + seed[0]];
      const q: Dual = [2 + (T[0][1] + T[1][0]) / 2, (seed[1] + seed[2]) / 2];
      const r: Dual = [-1 + a + T[1][1], seed[4] + seed[3]];
      return psd2(p, q, r);
    };
    const P = at([0, 0, 0, 0, 0]).map((x) => x[0]);
    expectClose(res.solution.X, P, 'X');
    expectClose(res.outputs.Xo, P, 'Xo');
    // Columns: d vec(X) / d (T11, T12, T21, T22, a).
    const D = tr([0, 1, 2, 3, 4].map((k) => at([0, 1, 2, 3, 4].map((i) => (i === k ? 1 : 0))).map((x) => x[1])));
    expectClose(res.jacobian!.X.T, cols(D, 0, 4), 'dX/dT');
    expectClose(res.jacobian!.X.a, cols(D, 4, 1), 'dX/da');
    expectClose(res.gradients!.Xo.T, cols(D, 0, 4), 'dXo/dT');
    expectClose(res.outputs.corner, P[1] + 2 * P[3], 'corner');
    expectClose(res.gradients!.corner.T, [0, 1, 2, 3].map((k) => D[1][k] + 2 * D[3][k]), 'dcorner/dT');
    expectClose(res.gradients!.corner.a, D[1][4] + 2 * D[3][4], 'dcorner/da');
  });
});

// ---------- 7. a linear system built from literals and constructors ----------

describe('7. a linear solve (literal matrix + theta1 M + fill + eye) with axis reductions of x x^T', () => {
  const text = `model Linear {
  param theta: real[2]
  data M: real[3, 3]
  unknown x: real[3]
  solve ([4, 1, 0; 1, 5, 1; 0, 1, 6] + theta[1] * M + fill(0.5, 3, 3) + 2 * eye(3)) * x = [1; theta[2]; 2] + ones(3) - zeros(3)
  output o = x[1] + 2 * x[3]
  output colsum = sum(x * x', 1)
  output rowmax = maxof(x * [1, -1, 2]', 2)
}
`;
  const Mdat = [[0, 1, 0.5], [-1, 0.2, 0], [0.3, 0, -0.4]];
  const theta = [0.7, -2.5];

  it('x = A^-1 b by Gaussian elimination; dx/dtheta1 = -A^-1 M x, dx/dtheta2 = A^-1 e2; reductions by the product rule', async () => {
    const Mod = await build('linear', text);
    const res = new Mod({ theta, M: Mdat }).solve({ tol: 1e-14, jacobian: true });
    expect(res.status).toBe('converged');
    const base = [[4, 1, 0], [1, 5, 1], [0, 1, 6]];
    const A = base.map((row, i) => row.map((v, j) => v + theta[0] * Mdat[i][j] + 0.5 + (i === j ? 2 : 0)));
    const bb = [2, theta[1] + 1, 3];
    const x = solveVec(A, bb);
    expectClose(res.solution.x, x, 'x');
    const d1 = solveVec(A, matvec(Mdat, x)).map((v) => -v);
    const d2 = solveVec(A, [0, 1, 0]);
    const D = x.map((_, i) => [d1[i], d2[i]]);
    expectClose(res.jacobian!.x.theta, D, 'dx/dtheta');
    expectClose(res.outputs.o, x[0] + 2 * x[2], 'o');
    expectClose(res.gradients!.o.theta, [D[0][0] + 2 * D[2][0], D[0][1] + 2 * D[2][1]], 'do/dtheta');
    // sum(x x^T, 1)_j = x_j * sum(x); derivative dx_j S + x_j sum(dx).
    const S = x.reduce((s, v) => s + v, 0);
    expectClose(res.outputs.colsum, x.map((v) => v * S), 'colsum');
    const dCol = x.map((xj, j) => [0, 1].map((k) => D[j][k] * S + xj * (D[0][k] + D[1][k] + D[2][k])));
    expectClose(res.gradients!.colsum.theta, dCol, 'dcolsum/dtheta');
    // max over (x_i, -x_i, 2 x_i): 2 x_i if x_i > 0, -x_i if x_i < 0.
    expect(x.every((v) => Math.abs(v) > 1e-3)).toBe(true);
    const c = x.map((v) => (v > 0 ? 2 : -1));
    expectClose(res.outputs.rowmax, x.map((v, i) => c[i] * v), 'rowmax');
    expectClose(res.gradients!.rowmax.theta, D.map((row, i) => row.map((v) => c[i] * v)), 'drowmax/dtheta');
  });
});

// ---------- 8. a matrix unknown and every axis reduction ----------

describe('8. Y = 0.4 tanh(W .* Y + C + fill(b, 2, 3)): axis reductions of a matrix unknown', () => {
  const text = `model Rows {
  param W: real[2, 3]
  param C: real[2, 3]
  param b: real
  unknown Y: real[2, 3]
  fixpoint Y = 0.4 * tanh(W .* Y + C + fill(b, 2, 3))
  output cols = sum(Y, 1)
  output rows = norm2(Y, 2)
  output top = maxof(Y, 2)
  output low = minof(Y, 1)
  output avg = mean(Y, 2)
  output sq = sumsq(Y, 1)
  output l1 = norm1(Y, 2)
  output linf = norminf(Y, 1)
}
`;
  const W = [[0.5, -1.2, 0.8], [1.5, 0.3, -0.6]];
  const C = [[0.9, -0.3, 0.2], [-1.1, 0.6, -0.45]];
  const b = 0.1;

  it('entrywise scalar fixpoints by Newton; dY by the scalar implicit function theorem; reductions by hand', async () => {
    const M = await build('rows', text);
    const res = new M({ W, C, b }).solve({ tol: 1e-14 });
    expect(res.status).toBe('converged');
    // y = 0.4 tanh(w y + c + b): Newton on f(y) = y - 0.4 tanh(w y + c + b).
    const Y = W.map((row, i) =>
      row.map((w, j) => {
        let y = 0;
        for (let k = 0; k < 100; k++) {
          const th = Math.tanh(w * y + C[i][j] + b);
          y -= (y - 0.4 * th) / (1 - 0.4 * w * (1 - th * th));
        }
        return y;
      }),
    );
    expectClose(res.solution.Y, Y, 'Y');
    // dy = g (y dw + dc + db) / (1 - g w), g = 0.4 sech^2.
    const dW: Mat = []; // [entry][param index in W,C,b order: 6 + 6 + 1]
    Y.forEach((row, i) =>
      row.forEach((y, j) => {
        const th = Math.tanh(W[i][j] * y + C[i][j] + b);
        const gg = 0.4 * (1 - th * th);
        const den = 1 - gg * W[i][j];
        const line = new Array(13).fill(0);
        line[i * 3 + j] = (gg * y) / den;
        line[6 + i * 3 + j] = gg / den;
        line[12] = gg / den;
        dW.push(line);
      }),
    );
    const at = (i: number, j: number) => dW[i * 3 + j];
    const combo = (terms: [number, number, number][]) => new Array(13).fill(0).map((_, k) => terms.reduce((s, [i, j, c]) => s + c * at(i, j)[k], 0));
    const split = (rowsOfGrad: Mat) => ({ W: rowsOfGrad.map((r) => r.slice(0, 6)), C: rowsOfGrad.map((r) => r.slice(6, 12)), b: rowsOfGrad.map((r) => r[12]) });
    const check = (name: string, value: number[], grads: Mat) => {
      expectClose(res.outputs[name], value, name);
      const s = split(grads);
      expectClose(res.gradients![name].W, s.W, `d${name}/dW`);
      expectClose(res.gradients![name].C, s.C, `d${name}/dC`);
      expectClose(res.gradients![name].b, s.b, `d${name}/db`);
    };
    check('cols', [0, 1, 2].map((j) => Y[0][j] + Y[1][j]), [0, 1, 2].map((j) => combo([[0, j, 1], [1, j, 1]])));
    const rn = Y.map((row) => norm(row));
    check('rows', rn, [0, 1].map((i) => combo([0, 1, 2].map((j) => [i, j, Y[i][j] / rn[i]]))));
    const argmax = Y.map((row) => row.indexOf(Math.max(...row)));
    check('top', Y.map((row, i) => row[argmax[i]]), [0, 1].map((i) => combo([[i, argmax[i], 1]])));
    const argmin = [0, 1, 2].map((j) => (Y[0][j] < Y[1][j] ? 0 : 1));
    check('low', [0, 1, 2].map((j) => Y[argmin[j]][j]), [0, 1, 2].map((j) => combo([[argmin[j], j, 1]])));
    check('avg', Y.map((row) => (row[0] + row[1] + row[2]) / 3), [0, 1].map((i) => combo([0, 1, 2].map((j) => [i, j, 1 / 3]))));
    check('sq', [0, 1, 2].map((j) => Y[0][j] ** 2 + Y[1][j] ** 2), [0, 1, 2].map((j) => combo([[0, j, 2 * Y[0][j]], [1, j, 2 * Y[1][j]]])));
    check('l1', Y.map((row) => row.reduce((s, v) => s + Math.abs(v), 0)), [0, 1].map((i) => combo([0, 1, 2].map((j) => [i, j, Math.sign(Y[i][j])]))));
    const argabs = [0, 1, 2].map((j) => (Math.abs(Y[0][j]) > Math.abs(Y[1][j]) ? 0 : 1));
    check('linf', [0, 1, 2].map((j) => Math.abs(Y[argabs[j]][j])), [0, 1, 2].map((j) => combo([[argabs[j], j, Math.sign(Y[argabs[j]][j])]])));
  });
});

// ---------- 9. a logsumexp equation with log1p ----------

describe('9. z = 0.5 logsumexp(c + [z, -z, 0]) - 0.1 log1p(z^2): a literal with unknown entries', () => {
  const text = `model SmoothMax {
  param c: real[3]
  unknown z: real
  fixpoint z = 0.5 * logsumexp(c + [z, -z, 0]) - 0.1 * log1p(z * z)
  output o = log1p(z * z) + z
}
`;
  const c = [0.4, -0.3, 1.1];
  it('z by scalar Newton; dz/dc = 0.5 s / (1 - 0.5 (s1 - s2) + 0.2 z / (1 + z^2))', async () => {
    const M = await build('smoothmax', text);
    const res = new M({ c }).solve({ tol: 1e-15 });
    expect(res.status).toBe('converged');
    const G = (z: number) => 0.5 * lseRef([c[0] + z, c[1] - z, c[2]]) - 0.1 * Math.log1p(z * z);
    const Gp = (z: number) => {
      const s = softmaxRef([c[0] + z, c[1] - z, c[2]]);
      return 0.5 * (s[0] - s[1]) - (0.2 * z) / (1 + z * z);
    };
    let z = 0;
    for (let k = 0; k < 100; k++) z -= (z - G(z)) / (1 - Gp(z));
    expect(Math.abs(z - G(z))).toBeLessThan(1e-15);
    expectClose(res.solution.z, z, 'z');
    const s = softmaxRef([c[0] + z, c[1] - z, c[2]]);
    const dz = s.map((si) => (0.5 * si) / (1 - Gp(z)));
    expectClose(res.outputs.o, Math.log1p(z * z) + z, 'o');
    expectClose(res.gradients!.o.c, dz.map((v) => v * ((2 * z) / (1 + z * z) + 1)), 'do/dc');
  });
});

// ---------- 10. an explicit classifier head: softmax over [theta; 0] ----------

describe('10. an explicit classifier head: softmax([theta; 0] / tau), logsumexp and entropy', () => {
  const text = `model Head {
  dim n
  param theta: real[n]
  data tau: real
  let z = [theta; 0] / tau
  output p = softmax(z)
  output lse = tau * logsumexp(z)
  output ent = -dot(softmax(z), log(softmax(z)))
}
`;
  const theta = [1.2, -0.4, 0.3, 2];
  const tau = 0.7;

  it('Jacobian (diag(s) - s s^T)[:, 1:n] / tau, gradient of tau lse = s[1:n], entropy gradient -(S log s)[1:n] / tau; VJP too', async () => {
    const M = await build('head', text);
    const inst = new M({ theta, tau });
    const res = inst.solve();
    expect(res.status).toBe('converged');
    expect(res.method).toBe('none');
    const z = [...theta, 0].map((v) => v / tau);
    const s = softmaxRef(z);
    expectClose(res.outputs.p, s, 'p');
    const J = softmaxJac(s).map((row) => row.slice(0, 4).map((v) => v / tau));
    expectClose(res.gradients!.p.theta, J, 'dp/dtheta');
    const Jrt = outputJacobian(inst, new Float64Array(0), 0);
    expect([Jrt.rows, Jrt.cols]).toEqual([5, 4]);
    expectClose(Array.from(Jrt.data), J, 'outputJacobian(p)');
    const pbar = [1, -0.5, 0.25, 2, -1];
    expectClose(Array.from(outputVjp(inst, new Float64Array(0), 0, Float64Array.from(pbar))), matvec(tr(J), pbar), 'outputVjp(p)');
    expectClose(res.outputs.lse, tau * lseRef(z), 'lse');
    expectClose(res.gradients!.lse.theta, s.slice(0, 4), 'dlse/dtheta');
    const logs = s.map(Math.log);
    expectClose(res.outputs.ent, -dot(s, logs), 'ent');
    const Sl = matvec(softmaxJac(s), logs);
    expectClose(res.gradients!.ent.theta, Sl.slice(0, 4).map((v) => -v / tau), 'dent/dtheta');
  });
});

// ---------- 11. a box-constrained QP with proj_linf_ball and a literal Hessian ----------

describe('11. a box QP: y = proj_linf_ball(y - 0.3 (H y - b), r), H a literal plus k I', () => {
  const text = `model BoxQP {
  param b: real[3]
  param r: real
  param k: real
  unknown y: real[3] = 0
  let H = [2, 0.5, 0; 0.5, 1.5, 0.3; 0, 0.3, 1] + k * eye(3)
  fixpoint y = proj_linf_ball(y - 0.3 * (H * y - b), r)
  output y_out = y
  output cost = y' * H * y / 2 - dot(b, y)
}
`;
  const b = [3, -0.2, -2.5];
  const r = 0.8;
  const k = 0.2;

  it('active set from the KKT conditions; derivatives: H_FF dy_F = db_F - H_FA dy_A - dk y_F, dy_A = sign dr', async () => {
    const M = await build('boxqp', text);
    const res = new M({ b, r, k }).solve({ tol: 1e-15 });
    expect(res.status).toBe('converged');
    const H = [[2, 0.5, 0], [0.5, 1.5, 0.3], [0, 0.3, 1]].map((row, i) => row.map((v, j) => v + (i === j ? k : 0)));
    // Expected pattern (checked below by the KKT signs): y1 = r, y3 = -r, y2 free.
    const A = [0, 2];
    const sgn = [1, 0, -1];
    const y2 = (b[1] - H[1][0] * r - H[1][2] * -r) / H[1][1];
    const y = [r, y2, -r];
    expect(Math.abs(y2)).toBeLessThan(r);
    const grad = matvec(H, y).map((v, i) => v - b[i]);
    for (const i of A) expect(-grad[i] * sgn[i], `multiplier of y${i + 1} > 0`).toBeGreaterThan(0.1);
    expectClose(res.solution.y, y, 'y');
    // Params (b1, b2, b3, r, k): dy1 = dr, dy3 = -dr, H22 dy2 = db2 - H21 dy1 - H23 dy3 - y2 dk.
    const D = [
      [0, 0, 0, 1, 0],
      [0, 1 / H[1][1], 0, (-H[1][0] + H[1][2]) / H[1][1], -y2 / H[1][1]],
      [0, 0, 0, -1, 0],
    ];
    expectClose(res.gradients!.y_out.b, cols(D, 0, 3), 'dy/db');
    expectClose(res.gradients!.y_out.r, cols(D, 3, 1), 'dy/dr');
    expectClose(res.gradients!.y_out.k, cols(D, 4, 1), 'dy/dk');
    // cost = y^T H y / 2 - b^T y: d cost = (H y - b)^T dy + y^T dH y / 2 - db^T y, dH = dk I.
    expectClose(res.outputs.cost, dot(y, matvec(H, y)) / 2 - dot(b, y), 'cost');
    const dCost = [0, 1, 2, 3, 4].map((c) => dot(grad, D.map((row) => row[c])) - (c < 3 ? y[c] : 0) + (c === 4 ? dot(y, y) / 2 : 0));
    expectClose(res.gradients!.cost.b, dCost.slice(0, 3), 'dcost/db');
    expectClose(res.gradients!.cost.r, dCost[3], 'dcost/dr');
    expectClose(res.gradients!.cost.k, dCost[4], 'dcost/dk');
  });
});

// ---------- 12. an explicit "shrink and clip" layer: proj_l2ball with a param radius, block_soft_threshold, rows of [a, b] ----------

describe('12. an explicit layer: proj_l2ball(v[1:3], r), block_soft_threshold(v, t, g), norm2 of the rows of [v[1:2], v[4:5]]', () => {
  const text = `model Shrink {
  param v: real[5]
  param r: real
  param t: real
  data g: index[5]
  output ball = proj_l2ball(v[1:3], r)
  output shrunk = block_soft_threshold(v, t, g)
  output pairs = norm2([v[1:2], v[4:5]], 2)
}
`;
  const v = [0.9, -1.2, 0.4, 0.3, -0.25];
  const r = 0.8;
  const t = 0.6;
  const g = [1, 2, 1, 2, 3];

  it('Jacobians: (r / |u|)(I - u u^T / |u|^2) and u / |u| for the ball; (1 - t/n) I + t v_G v_G^T / n^3 and -v_G / n per active group; v_i / |row| for the rows', async () => {
    const M = await build('shrink', text);
    const res = new M({ v, r, t, g }).solve();
    expect(res.status).toBe('converged');
    expect(res.certificate.test).toBe('explicit');
    const u = v.slice(0, 3);
    const nu = norm(u);
    expect(nu).toBeGreaterThan(r);
    expectClose(res.outputs.ball, u.map((x) => (r * x) / nu), 'ball');
    const dBallDv = u.map((ui, i) => v.map((_, j) => (j < 3 ? (r / nu) * ((i === j ? 1 : 0) - (ui * u[j]) / (nu * nu)) : 0)));
    expectClose(res.gradients!.ball.v, dBallDv, 'dball/dv');
    expectClose(res.gradients!.ball.r, u.map((x) => x / nu), 'dball/dr');
    expectClose(res.gradients!.ball.t, [0, 0, 0], 'dball/dt');
    // Groups: 1 = {1, 3} (norm 0.985 > t), 2 = {2, 4} (norm 1.237 > t), 3 = {5} (0.25 < t: zero).
    expectClose(res.outputs.shrunk, bst(v, t, g), 'shrunk');
    const nG = (G: number) => norm(v.filter((_, i) => g[i] === G));
    const dShrunkDv = v.map((vi, i) =>
      v.map((vj, j) => {
        if (g[i] !== g[j]) return 0;
        const n = nG(g[i]);
        if (n <= t) return 0;
        return (i === j ? 1 - t / n : 0) + (t * vi * vj) / n ** 3;
      }),
    );
    expect(nG(3)).toBeLessThan(t);
    expectClose(res.gradients!.shrunk.v, dShrunkDv, 'dshrunk/dv');
    expectClose(res.gradients!.shrunk.t, v.map((vi, i) => (nG(g[i]) > t ? -vi / nG(g[i]) : 0)), 'dshrunk/dt');
    const rows = [[v[0], v[1]], [v[3], v[4]]];
    expectClose(res.outputs.pairs, rows.map(norm), 'pairs');
    expectClose(res.gradients!.pairs.v, [[v[0] / norm(rows[0]), v[1] / norm(rows[0]), 0, 0, 0], [0, 0, 0, v[3] / norm(rows[1]), v[4] / norm(rows[1])]], 'dpairs/dv');
  });
});

// ---------- 13. a block linear system [P + 3I, Q; Q^T, R] [y; z] = [c; (1, -1)] ----------

describe('13. two unknowns in one block system, sliced across the boundary, maxof of the rows of [y, z]', () => {
  const text = `model Blocks {
  param P: real[2, 2]
  param c: real[2]
  data Q: real[2, 2]
  unknown y: real[2]
  unknown z: real[2]
  solve [P + 3 * eye(2), Q; Q', [2, 0.5; 0.5, 3]] * [y; z] = [c; [1, -1]]
  output mid = [y; z][2:3]
  output colmax = maxof([y, z], 1)
  output o = dot(y, z) + z[2]
}
`;
  const P = [[0.4, -0.3], [0.2, 0.6]];
  const c = [1.5, -0.7];
  const Q = [[0.5, -0.2], [0.1, 0.8]];

  it('w = K^-1 rhs by Gaussian elimination; dw/dP_ij = -K^-1 e_i w_j, dw/dc = K^-1 [I; 0]; outputs by the chain rule', async () => {
    const M = await build('blocks', text);
    const inst = new M({ P, c, Q });
    const res = inst.solve({ tol: 1e-14, jacobian: true });
    expect(res.status).toBe('converged');
    const K = [
      [P[0][0] + 3, P[0][1], Q[0][0], Q[0][1]],
      [P[1][0], P[1][1] + 3, Q[1][0], Q[1][1]],
      [Q[0][0], Q[1][0], 2, 0.5],
      [Q[0][1], Q[1][1], 0.5, 3],
    ];
    const w = solveVec(K, [c[0], c[1], 1, -1]);
    expectClose(res.solution.y, w.slice(0, 2), 'y');
    expectClose(res.solution.z, w.slice(2, 4), 'z');
    // Columns: P11, P12, P21, P22, c1, c2.
    const rhs = [0, 1, 2, 3].map((row) => [
      ...[0, 1].flatMap((i) => [0, 1].map((j) => (row === i ? -w[j] : 0))),
      row === 0 ? 1 : 0,
      row === 1 ? 1 : 0,
    ]);
    const D = gaussSolve(K, rhs); // 4 x 6
    expectClose(res.jacobian!.y.P, cols(D.slice(0, 2), 0, 4), 'dy/dP');
    expectClose(res.jacobian!.z.c, cols(D.slice(2, 4), 4, 2), 'dz/dc');
    expectClose(res.outputs.mid, [w[1], w[2]], 'mid');
    expectClose(res.gradients!.mid.P, [cols(D, 0, 4)[1], cols(D, 0, 4)[2]], 'dmid/dP');
    expectClose(res.gradients!.mid.c, [cols(D, 4, 2)[1], cols(D, 4, 2)[2]], 'dmid/dc');
    // [y, z] has rows y and z: the max over axis 1 is max(y_j, z_j) per column j.
    const pick = [0, 1].map((j) => (w[j] > w[2 + j] ? j : 2 + j));
    expect(pick.every((k, j) => Math.abs(w[j] - w[2 + j]) > 1e-3 && k >= 0)).toBe(true);
    expectClose(res.outputs.colmax, pick.map((k) => w[k]), 'colmax');
    expectClose(res.gradients!.colmax.c, pick.map((k) => D[k].slice(4, 6)), 'dcolmax/dc');
    expectClose(res.gradients!.colmax.P, pick.map((k) => D[k].slice(0, 4)), 'dcolmax/dP');
    // o = y . z + z2: do = z . dy + y . dz + dz2.
    expectClose(res.outputs.o, w[0] * w[2] + w[1] * w[3] + w[3], 'o');
    const dO = [0, 1, 2, 3, 4, 5].map((k) => w[2] * D[0][k] + w[3] * D[1][k] + w[0] * D[2][k] + w[1] * D[3][k] + D[3][k]);
    expectClose(res.gradients!.o.P, dO.slice(0, 4), 'do/dP');
    expectClose(res.gradients!.o.c, dO.slice(4, 6), 'do/dc');
    // outputVjp of the vector output `mid` (output 0) with a cotangent: its combination of the rows.
    const bar = [2, -3];
    const vjp = outputVjp(inst, Float64Array.from([...flat(res.solution.y), ...flat(res.solution.z)]), 0, Float64Array.from(bar));
    expectClose(Array.from(vjp), [0, 1, 2, 3, 4, 5].map((k) => bar[0] * D[1][k] + bar[1] * D[2][k]), 'outputVjp(mid)');
  });
});
