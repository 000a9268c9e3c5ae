import { describe, expect, it } from 'vitest';
import { solveBatch, solveInstance, type BatchInstance } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

// The generated modules' batched path: gpu.js f32 kernels for the whole batch, then an f64
// polish of each sample, compared with each sample solved alone in f64.
describe('generated modules: batched f32 solve with f64 polish', () => {
  it('DEQ mini-batch over the data u', async () => {
    const Deq = await generatedClass('samples/deq.impl');
    const rng = mulberry32(5);
    const h = 24;
    const d = 6;
    const r = () => 2 * rng() - 1;
    const W = Array.from({ length: h }, () => Array.from({ length: h }, () => r() * 0.08));
    const U = Array.from({ length: h }, () => Array.from({ length: d }, r));
    const b = Array.from({ length: h }, r);
    const batch = Array.from({ length: 12 }, () => new Deq({ W, U, b, u: Array.from({ length: d }, r) }) as unknown as BatchInstance);
    expect(batch[0].gpu).not.toBeNull();
    const out = solveBatch(batch);
    console.log(`DEQ batch backend: ${out.backend}`);
    expect(out.backend).toMatch(/WebAssemblyKernel|CPUKernel|WebGL|HeadlessGL|WebGPU/);
    batch.forEach((inst, k) => {
      const alone = solveInstance(inst, { tol: 1e-12 });
      const f32 = out.y32[k];
      const polished = out.polish[k];
      expect(polished.status).toBe('converged');
      expect(polished.residual).toBeLessThan(1e-10);
      alone.y.forEach((v, i) => {
        expect(Math.abs(f32[i] - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v)));
        expect(Math.abs(polished.y[i] - v)).toBeLessThan(1e-9);
      });
    });
  });

  it('Lasso sweep over lambda, sharing X', async () => {
    const Lasso = await generatedClass('samples/lasso.impl');
    const rng = mulberry32(9);
    const r = () => 2 * rng() - 1;
    const X = Array.from({ length: 25 }, () => Array.from({ length: 6 }, r));
    const y = Array.from({ length: 25 }, r);
    const Xv = Array.from({ length: 5 }, () => Array.from({ length: 6 }, r));
    const yv = Array.from({ length: 5 }, r);
    const batch = [0.05, 0.2, 0.5, 1, 2].map((lambda) => new Lasso({ X, y, Xv, yv, lambda }) as unknown as BatchInstance);
    const out = solveBatch(batch, { f32Tol: 1e-6 });
    batch.forEach((inst, k) => {
      const alone = solveInstance(inst, { tol: 1e-12 });
      expect(out.polish[k].residual).toBeLessThan(1e-10);
      alone.y.forEach((v, i) => expect(Math.abs(out.polish[k].y[i] - v)).toBeLessThan(1e-9));
      alone.y.forEach((v, i) => expect(Math.abs(out.y32[k][i] - v)).toBeLessThan(1e-3 * Math.max(1, Math.abs(v))));
    });
  });
});
