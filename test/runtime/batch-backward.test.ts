/**
 * The batched backward pass (issue 14, src/runtime/batch-backward.ts): B^T products of a whole
 * batch against each sample's own vjpY, the adjoint systems solved together against a dense LU
 * of each sample's B^T, the adjoint fixed point's error bound against the true error, the
 * truncated modes against their closed forms (the Neumann series of T_y^T), and the batch
 * gradient of every mode against the per-sample reference.
 */
import { describe, expect, it } from 'vitest';
import { AUTO_BATCHED_FROM } from '../../src/runtime/batch-gradient.ts';
import { BatchTransposedB, batchGradientAt, solveAdjointBatch, solveBatchF64, type BatchInstance, type ModelInstance } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';
import { maxRel } from '../helpers/finite-differences.ts';

const rng = mulberry32(23);
const vec = (n: number, s = 1) => Float64Array.from({ length: n }, () => s * (2 * rng() - 1));
const mat = (r: number, c: number, s: number) => Array.from({ length: r }, () => Array.from(vec(c, s)));

/** Power iteration for ||W||_2 of a row-major h x h matrix. */
function opnorm(W: number[][]): number {
  const h = W.length;
  let x = new Float64Array(h).fill(1);
  let s = 0;
  for (let it = 0; it < 500; it++) {
    const y = W.map((r) => r.reduce((a, v, j) => a + v * x[j], 0));
    const z = new Float64Array(h);
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) z[j] += W[i][j] * y[i];
    const n = Math.hypot(...z);
    s = Math.sqrt(n / Math.hypot(...x));
    x = z.map((v) => v / n);
  }
  return s;
}

/** A DEQ classifier batch: W scaled to opnorm `norm`, B samples, solved in f64. */
async function deqBatch(h: number, B: number, norm: number) {
  const Model = await generatedClass('samples/deq_classifier.impl', 'DeqClassifier');
  const [d, k] = [4, 3];
  const W0 = mat(h, h, 1);
  const scale = norm / opnorm(W0);
  const W = W0.map((r) => r.map((v) => v * scale));
  const base = new Model({ W, U: mat(h, d, 1), b: Array.from(vec(h, 0.3)), V: mat(k, h, 1), c: Array.from(vec(k)), u: Array.from(vec(d)), onehot: [1, 0, 0] });
  const insts = Array.from({ length: B }, (_, i) => (i === 0 ? base : base.with({ u: Array.from(vec(d, 2)), onehot: [0, 1, 2].map((c) => (c === i % 3 ? 1 : 0)) }))) as unknown as BatchInstance[];
  const solved = solveBatchF64(insts, { tol: 1e-13 }).results;
  for (const s of solved) expect(s.status).toBe('converged');
  return { insts, solved, W };
}

/** B^T of one sample as a dense matrix, column by column from its vjpY. */
function denseBT(inst: ModelInstance, y: Float64Array): number[][] {
  const n = inst.n;
  const f = inst.kinkFactors(y);
  const cols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const out = new Float64Array(n);
    inst.vjpY(y, f, e, out);
    cols.push(out);
  }
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i]));
}

/** Solve M x = b by Gaussian elimination with partial pivoting (the reference). */
function solveDense(M: number[][], b: Float64Array): Float64Array {
  const n = b.length;
  const A = M.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = c + 1; r < n; r++) {
      const f = A[r][c] / A[c][c];
      for (let q = c; q <= n; q++) A[r][q] -= f * A[c][q];
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = A[r][n];
    for (let q = r + 1; q < n; q++) s -= A[r][q] * x[q];
    x[r] = s / A[r][r];
  }
  return x;
}

const forms = (insts: readonly ModelInstance[], ys: readonly Float64Array[]) => insts.map((inst, b) => inst.bOperator!(ys[b], inst.kinkFactors(ys[b])));

describe('BatchTransposedB', () => {
  it('B_b^T w_b for the whole batch equals each sample\'s vjpY (DEQ: B^T w = w - W^T D w)', async () => {
    const { insts, solved } = await deqBatch(12, 7, 0.9);
    const n = insts[0].n;
    const BT = BatchTransposedB.plan(forms(insts, solved.map((s) => s.y)), n);
    if (typeof BT === 'string') throw new Error(BT);
    const w = vec(7 * n);
    const out = new Float64Array(7 * n);
    BT.apply(w, out);
    insts.forEach((inst, b) => {
      const ref = new Float64Array(n);
      inst.vjpY(solved[b].y, inst.kinkFactors(solved[b].y), w.subarray(b * n, (b + 1) * n), ref);
      expect(maxRel(out.subarray(b * n, (b + 1) * n), ref)).toBeLessThan(1e-14);
    });
  });

  it('a Lasso batch (B = I - D (I - s X\'X), products by X and X\') agrees with vjpY too', async () => {
    const Model = await generatedClass('samples/lasso.impl');
    const [n, p] = [15, 6];
    const X = mat(n, p, 1);
    const base = new Model({ X, y: Array.from(vec(n)), lambda: 0.1, Xv: mat(4, p, 1), yv: Array.from(vec(4)) });
    const insts = [0.05, 0.2, 0.4].map((lambda, i) => (i === 0 ? base : base.with({ lambda }))) as unknown as ModelInstance[];
    const ys = insts.map((inst) => (inst as unknown as { solve(): { solution: Record<string, number[]> } }).solve()).map((r) => Float64Array.from(Object.values(r.solution)[0]));
    const BT = BatchTransposedB.plan(forms(insts, ys), p);
    if (typeof BT === 'string') throw new Error(BT);
    const w = vec(3 * p);
    const out = new Float64Array(3 * p);
    BT.apply(w, out);
    insts.forEach((inst, b) => {
      const ref = new Float64Array(p);
      inst.vjpY(ys[b], inst.kinkFactors(ys[b]), w.subarray(b * p, (b + 1) * p), ref);
      expect(maxRel(out.subarray(b * p, (b + 1) * p), ref)).toBeLessThan(1e-13);
    });
  });

  it('keeps its matrices when other products run in between: a second plan, a guard bound (the scratch instance)', async () => {
    const a = await deqBatch(9, 3, 0.8);
    const b = await deqBatch(11, 2, 0.6);
    const A = BatchTransposedB.plan(forms(a.insts, a.solved.map((s) => s.y)), a.insts[0].n);
    const Bp = BatchTransposedB.plan(forms(b.insts, b.solved.map((s) => s.y)), b.insts[0].n);
    if (typeof A === 'string' || typeof Bp === 'string') throw new Error('no plan');
    const check = (plan: BatchTransposedB, set: typeof a) => {
      const n = set.insts[0].n;
      const w = vec(plan.B * n);
      const out = new Float64Array(plan.B * n);
      plan.apply(w, out);
      set.insts.forEach((inst, k) => {
        const ref = new Float64Array(n);
        inst.vjpY(set.solved[k].y, inst.kinkFactors(set.solved[k].y), w.subarray(k * n, (k + 1) * n), ref);
        expect(maxRel(out.subarray(k * n, (k + 1) * n), ref)).toBeLessThan(1e-14);
      });
    };
    check(A, a);
    // Fresh instances' guard bounds: Gram products on the process's scratch WebAssembly instance.
    const fresh = await deqBatch(13, 1, 0.7);
    expect(fresh.insts[0].guardBound()).toBeLessThan(1);
    check(Bp, b);
    check(A, a);
    check(Bp, b);
  });

  it('refuses a batch whose matrices differ, or without an operator form, with the reason', async () => {
    const { insts, solved } = await deqBatch(6, 2, 0.5);
    const f = forms(insts, solved.map((s) => s.y));
    const other = { ...f[1]!, leaves: f[1]!.leaves.map((t) => (t.shape.length === 2 ? { shape: t.shape, data: t.data.map((v) => v + 1) } : t)) };
    expect(BatchTransposedB.plan([f[0], other], insts[0].n)).toMatch(/differs between samples/);
    expect(BatchTransposedB.plan([f[0], null], insts[0].n)).toMatch(/no operator form/);
  });
});

describe('solveAdjointBatch', () => {
  it('implicit (GMRES) and adjoint solve B^T w = g as a dense LU does; the adjoint error bound holds', async () => {
    const { insts, solved } = await deqBatch(16, 5, 0.9);
    const n = insts[0].n;
    const ys = solved.map((s) => s.y);
    const BT = BatchTransposedB.plan(forms(insts, ys), n);
    if (typeof BT === 'string') throw new Error(BT);
    const G = vec(5 * n);
    const refs = insts.map((inst, b) => solveDense(denseBT(inst, ys[b]), G.subarray(b * n, (b + 1) * n)));
    const gamma = new Float64Array(5).fill(0.9 + 1e-9);
    const gm = solveAdjointBatch(BT, G, { mode: 'implicit' });
    const ad = solveAdjointBatch(BT, G, { mode: 'adjoint', gamma, tol: 1e-12 });
    refs.forEach((ref, b) => {
      expect(gm.converged[b]).toBe(1);
      expect(maxRel(gm.w.subarray(b * n, (b + 1) * n), ref)).toBeLessThan(1e-11);
      // The reported bound on ||w - w*||_2 must hold against the LU solution.
      const err = Math.hypot(...Array.from(ref, (v, i) => v - ad.w[b * n + i]));
      expect(ad.converged[b]).toBe(1);
      expect(err).toBeLessThanOrEqual(ad.errorBound[b] * (1 + 1e-6) + 1e-15);
      expect(ad.errorBound[b]).toBeLessThanOrEqual(1e-12 * Math.hypot(...ad.w.subarray(b * n, (b + 1) * n)) * 1.0001);
    });
    expect(gm.implicit && ad.implicit).toBe(true);
  });

  it("phantom k steps is the Neumann sum sum_{i<=k} (T^T)^i g; jacobian-free is g; neither claims to be implicit", async () => {
    const { insts, solved } = await deqBatch(10, 3, 0.7);
    const n = insts[0].n;
    const ys = solved.map((s) => s.y);
    const BT = BatchTransposedB.plan(forms(insts, ys), n);
    if (typeof BT === 'string') throw new Error(BT);
    const G = vec(3 * n);
    const ph = solveAdjointBatch(BT, G, { mode: 'phantom', phantomSteps: 3 });
    const jf = solveAdjointBatch(BT, G, { mode: 'jacobian-free' });
    expect(ph.implicit || jf.implicit).toBe(false);
    expect(Array.from(jf.w)).toEqual(Array.from(G));
    insts.forEach((inst, b) => {
      const M = denseBT(inst, ys[b]); // B^T = I - T^T
      const Tt = M.map((r, i) => r.map((v, j) => (i === j ? 1 : 0) - v));
      const g = G.subarray(b * n, (b + 1) * n);
      let term = Float64Array.from(g);
      const sum = Float64Array.from(g);
      for (let k = 0; k < 3; k++) {
        term = Float64Array.from(Tt.map((r) => r.reduce((a, v, j) => a + v * term[j], 0)));
        for (let i = 0; i < n; i++) sum[i] += term[i];
      }
      expect(maxRel(ph.w.subarray(b * n, (b + 1) * n), sum)).toBeLessThan(1e-13);
    });
  });

  it("'adjoint' without a guard that holds is refused", async () => {
    const { insts, solved } = await deqBatch(6, 2, 0.5);
    const BT = BatchTransposedB.plan(forms(insts, solved.map((s) => s.y)), insts[0].n);
    if (typeof BT === 'string') throw new Error(BT);
    expect(() => solveAdjointBatch(BT, vec(2 * insts[0].n), { mode: 'adjoint' })).toThrow(/contraction guard/);
  });
});

describe('batchGradientAt backward modes', () => {
  it('auto, implicit and adjoint give the per-sample gradients; the report says what ran', async () => {
    const { insts, solved } = await deqBatch(24, 9, 0.9);
    const ref = batchGradientAt(insts, solved, 0, { backward: 'per-sample' });
    expect(ref.backward.method).toBe('per-sample LU');
    for (const mode of ['auto', 'implicit', 'adjoint'] as const) {
      const r = batchGradientAt(insts, solved, 0, { backward: mode });
      expect(r.contributing).toBe(9);
      expect(r.backward.implicit).toBe(true);
      expect(r.backward.batched + r.backward.perSample).toBe(9);
      expect(maxRel(r.gradientSum, ref.gradientSum), mode).toBeLessThan(1e-10);
    }
    // At order 24, below AUTO_BATCHED_FROM, 'auto' keeps each sample's LU.
    const auto = batchGradientAt(insts, solved, 0);
    expect(auto.backward.batched).toBe(0);
    expect(auto.backward.method).toBe('per-sample LU');
  });

  it("auto from order AUTO_BATCHED_FROM on: the guard holds, no certificate factored B, all solved together by the adjoint fixed point", async () => {
    const { insts, solved } = await deqBatch(AUTO_BATCHED_FROM, 3, 0.9);
    const ref = batchGradientAt(insts, solved, 0, { backward: 'per-sample' });
    const auto = batchGradientAt(insts, solved, 0);
    expect(auto.backward.batched).toBe(3);
    expect(auto.backward.method).toMatch(/adjoint fixed point/);
    expect(auto.backward.maxErrorBound).not.toBeNull();
    expect(auto.backward.maxErrorBound!).toBeLessThan(1e-10);
    expect(maxRel(auto.gradientSum, ref.gradientSum)).toBeLessThan(1e-10);
  });

  it('phantom and jacobian-free are labelled as not implicit, and differ from it', async () => {
    const { insts, solved } = await deqBatch(16, 4, 0.9);
    const ref = batchGradientAt(insts, solved, 0, { backward: 'per-sample' });
    for (const mode of ['phantom', 'jacobian-free'] as const) {
      const r = batchGradientAt(insts, solved, 0, { backward: mode });
      expect(r.backward.implicit).toBe(false);
      expect(r.backward.method).toMatch(/not the implicit derivative/);
      expect(maxRel(r.gradientSum, ref.gradientSum)).toBeGreaterThan(1e-8);
    }
  });

  it('a model without an operator form falls back to the per-sample path with the reason; a truncated mode there is refused', async () => {
    // A projection onto the simplex: its Jacobian is no diagonal, B has no operator form.
    const Model = await generatedClass('p.impl', undefined, 'model P {\n  dim k\n  param q: real[k]\n  unknown y: real[k]\n  fixpoint y = proj_simplex(y - 0.5 * (y + q))\n  output o = sum(y .* y)\n}\n');
    const insts = [[0.3, -0.2, 0.1], [1, 2, -1]].map((q) => new Model({ q })) as unknown as ModelInstance[];
    const solved = insts.map((inst) => {
      const r = (inst as unknown as { solve(): { solution: Record<string, number[]>; residual: number } }).solve();
      return { y: Float64Array.from(Object.values(r.solution)[0]), status: 'converged', residual: r.residual };
    });
    expect(insts[0].bOperator?.(solved[0].y, insts[0].kinkFactors(solved[0].y)) ?? null).toBeNull();
    const r = batchGradientAt(insts, solved, 0, { backward: 'implicit' });
    expect(r.backward.method).toBe('per-sample LU');
    expect(r.backward.reason).toMatch(/no operator form/);
    expect(r.contributing).toBe(2);
    const ref = batchGradientAt(insts, solved, 0, { backward: 'per-sample' });
    expect(Array.from(r.gradientSum)).toEqual(Array.from(ref.gradientSum));
    expect(() => batchGradientAt(insts, solved, 0, { backward: 'phantom' })).toThrow(/needs a batched form/);
    expect(() => batchGradientAt(insts, solved, 0, { backward: 'bogus' as never })).toThrow(/backward/);
  });
});
