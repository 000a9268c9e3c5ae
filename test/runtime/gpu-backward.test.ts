/**
 * The gpu.js backward (issue 14, src/runtime/gpu-backward.ts) on gpu.js's backend here (its
 * WebAssembly kernels in Node; WebGL2 in a browser is test/browser/webgl.test.ts): the f32
 * products against the f64 ones, the refined adjoint solutions against a dense LU, and the batch
 * gradient against the per-sample reference, with the backend that ran named.
 */
import { describe, expect, it } from 'vitest';
import { BatchTransposedB, GpuTransposedB, batchGradientAt, solveAdjointGpu, solveBatchF64, type BatchInstance } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';
import { maxRel } from '../helpers/finite-differences.ts';

const rng = mulberry32(31);
const vec = (n: number, s = 1) => Float64Array.from({ length: n }, () => s * (2 * rng() - 1));
const mat = (r: number, c: number, s: number) => Array.from({ length: r }, () => Array.from(vec(c, s)));

/** A DEQ batch with W scaled down so that opnorm(W) <= sum |W_ij| bound < 1 surely (entries <= 0.6 / h). */
async function deq(h: number, B: number) {
  const Model = await generatedClass('samples/deq_classifier.impl', 'DeqClassifier');
  const [d, k] = [4, 3];
  const base = new Model({ W: mat(h, h, 0.6 / h), U: mat(h, d, 1), b: Array.from(vec(h, 0.3)), V: mat(k, h, 1), c: Array.from(vec(k)), u: Array.from(vec(d)), onehot: [1, 0, 0] });
  const insts = Array.from({ length: B }, (_, i) => (i === 0 ? base : base.with({ u: Array.from(vec(d, 2)), onehot: [0, 1, 2].map((c) => (c === i % 3 ? 1 : 0)) }))) as unknown as BatchInstance[];
  const solved = solveBatchF64(insts, { tol: 1e-13 }).results;
  const forms = insts.map((inst, b) => inst.bOperator!(solved[b].y, inst.kinkFactors(solved[b].y)));
  return { insts, solved, forms, n: insts[0].n };
}


describe('GpuTransposedB', () => {
  it('its f32 products match the f64 ones to f32 accuracy', async () => {
    const { forms, n } = await deq(10, 5);
    const g = GpuTransposedB.plan(forms, n);
    const f = BatchTransposedB.plan(forms, n);
    if (typeof g === 'string' || typeof f === 'string') throw new Error(String(g) + String(f));
    try {
      const w = vec(5 * n);
      const out = new Float64Array(5 * n);
      f.apply(w, out);
      const rows = g.apply(Array.from({ length: 5 }, (_, b) => Float32Array.from(w.subarray(b * n, (b + 1) * n))));
      const flat = Float64Array.from(rows.flatMap((r) => Array.from(r)));
      expect(maxRel(flat, out)).toBeLessThan(1e-5);
      expect(g.backend()).toMatch(/Kernel \(gpu\.js mode '/);
    } finally {
      g.destroy();
    }
  });
});

describe('solveAdjointGpu', () => {
  it('refines the f32 solves to the f64 bound, and the unrefined one is f32-accurate', async () => {
    const { forms, n, insts } = await deq(12, 4);
    const g = GpuTransposedB.plan(forms, n);
    const f = BatchTransposedB.plan(forms, n);
    if (typeof g === 'string' || typeof f === 'string') throw new Error(String(g) + String(f));
    const gamma = Float64Array.from(insts, (inst) => inst.guardBound()!);
    expect([...gamma].every((x) => x < 1)).toBe(true);
    const G = vec(4 * n);
    const refined = solveAdjointGpu(g, f, G, gamma, { tol: 1e-13 });
    const once = solveAdjointGpu(g, f, G, gamma, { maxRounds: 1 });
    g.destroy();
    // The residual of each in f64.
    for (const [r, limit] of [[refined.w, 1e-12], [once.w, 1e-5]] as const) {
      const BTw = new Float64Array(4 * n);
      f.apply(r, BTw);
      expect(maxRel(BTw, G)).toBeLessThan(limit);
    }
    expect([...refined.converged].every((c) => c === 1)).toBe(true);
    expect(refined.rounds).toBeGreaterThan(1);
    expect(() => solveAdjointGpu(g, f, G, new Float64Array(4).fill(NaN))).toThrow(/contraction guard/);
  });
});

describe("batchGradientAt with backend 'gpu.js'", () => {
  it('gives the per-sample gradients to 1e-10, and says which backend ran; without the adjoint mode it says why not', async () => {
    const { insts, solved } = await deq(16, 6);
    const ref = batchGradientAt(insts, solved, 0, { backward: 'per-sample' });
    const r = batchGradientAt(insts, solved, 0, { backward: 'adjoint', backend: 'gpu.js' });
    expect(r.backward.backend).toMatch(/gpu\.js mode '[^']*'\), refined in f64/);
    expect(maxRel(r.gradientSum, ref.gradientSum)).toBeLessThan(1e-10);
    const f32 = batchGradientAt(insts, solved, 0, { backward: 'adjoint', backend: 'gpu.js', gpuRefinement: false });
    expect(f32.backward.backend).toMatch(/f32 alone, not refined/);
    expect(maxRel(f32.gradientSum, ref.gradientSum)).toBeLessThan(1e-4);
    const gm = batchGradientAt(insts, solved, 0, { backward: 'implicit', backend: 'gpu.js' });
    expect(gm.backward.reason).toMatch(/gpu\.js not used/);
    expect(gm.backward.backend).toMatch(/^f64/);
    expect(maxRel(gm.gradientSum, ref.gradientSum)).toBeLessThan(1e-10);
  });
});
