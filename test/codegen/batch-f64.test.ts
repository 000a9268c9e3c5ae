/**
 * The f64 batched path: the CPU form of codegen/emit-gpu.ts's stages, run by
 * src/runtime/batch.ts `BatchMapF64` (products in WebAssembly SIMD or JavaScript) and
 * iterated by `solveBatchF64`. Checked against the hand-written instances' own maps
 * (test/codegen/batch-models.ts) and against `solveInstance` sample by sample.
 */
import { describe, expect, it } from 'vitest';
import { BatchMapF64, solveBatchF64, type BatchInstance } from '../../src/runtime/batch.ts';
import { solveInstance } from '../../src/runtime/solve.ts';
import { mulberry32, type Rng } from '../helpers/rng.ts';
import { DeqInstance, LassoInstance, lowerSample, spectralNorm } from './batch-models.ts';

const uniform = (rng: Rng, size: number): Float64Array => Float64Array.from({ length: size }, () => 2 * rng() - 1);
const maxAbs = (v: ArrayLike<number>): number => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

const deq = lowerSample('deq.impl');
const lasso = lowerSample('lasso.impl');

/** DEQ instances sharing W (spectral norm `norm`), U and b, one per input u. */
function deqBatch(rng: Rng, h: number, d: number, B: number, norm: number): DeqInstance[] {
  const W0 = uniform(rng, h * h);
  const scale = norm / spectralNorm(W0, h, h);
  const W = W0.map((x) => x * scale);
  const U = uniform(rng, h * d);
  const b = uniform(rng, h).map((x) => 0.5 * x);
  return Array.from({ length: B }, () => new DeqInstance(deq, W, U, b, uniform(rng, d)));
}

/** T(Y) by the batch against each instance's own map, at random points. */
function expectSameMap(instances: BatchInstance[], engine: 'wasm-simd' | 'js', rng: Rng): void {
  const map = BatchMapF64.plan(instances, engine);
  if (typeof map === 'string') throw new Error(map);
  expect(map.engine).toBe(engine);
  const { B, n } = map;
  const Y = uniform(rng, B * n);
  const out = new Float64Array(B * n).fill(NaN);
  map.apply(Y, out);
  instances.forEach((inst, b) => {
    const own = new Float64Array(n);
    inst.map(Y.slice(b * n, (b + 1) * n), own);
    const err = maxAbs(own.map((v, i) => v - out[b * n + i]));
    expect(err).toBeLessThan(1e-13 * Math.max(1, maxAbs(own)));
  });
}

describe('BatchMapF64', () => {
  for (const engine of ['wasm-simd', 'js'] as const) {
    it(`${engine}: the DEQ map of 5 samples (h = 33) equals each instance's map`, () => {
      const rng = mulberry32(2);
      expectSameMap(deqBatch(rng, 33, 6, 5, 0.5), engine, rng);
    });

    it(`${engine}: Lasso's two stages (X beta - y, then the update reading it) equal each instance's map`, () => {
      const rng = mulberry32(4);
      const [n, p] = [30, 11];
      const X = uniform(rng, n * p);
      const y = uniform(rng, n);
      const validation = { Xv: uniform(rng, 4 * p), yv: uniform(rng, 4) };
      const instances = [0.01, 0.1, 1].map((lambda) => new LassoInstance(lasso, X, y, lambda, validation));
      expectSameMap(instances, engine, rng);
    });
  }

  it('has no plan when the shared matrix differs between samples', () => {
    const rng = mulberry32(3);
    const [a] = deqBatch(rng, 8, 3, 1, 0.5);
    const [b] = deqBatch(rng, 8, 3, 1, 0.5);
    expect(BatchMapF64.plan([a, b])).toMatch(/matrix W differs/);
  });
});

describe('solveBatchF64', () => {
  it("finish 'none' is solveInstance's plain fixed-point iteration, sample by sample", () => {
    const rng = mulberry32(8);
    const instances = deqBatch(rng, 40, 5, 9, 0.8);
    const batch = solveBatchF64(instances, { tol: 1e-12, finish: 'none' });
    expect(batch.backend).toMatch(/^f64 batched \(products on (wasm-simd|js)\)$/);
    instances.forEach((inst, b) => {
      const alone = solveInstance(inst, { method: 'fixed-point', tol: 1e-12 });
      const r = batch.results[b];
      expect(r.status).toBe('converged');
      expect(r.status).toBe(alone.status);
      expect(r.iterations).toBe(alone.iterations);
      expect(r.method).toBe('fixed-point');
      expect(r.residual).toBeLessThanOrEqual(1e-12);
      expect(maxAbs(r.y.map((v, i) => v - alone.y[i]))).toBeLessThan(1e-13);
    });
    expect(batch.batchIterations).toBe(Math.max(...batch.results.map((r) => r.iterations)));
  });

  it('stops a diverging sample as fixedPoint does, and exactly at maxIter', () => {
    // W = 2 I, U = I, b = 0: a sample with u > 0 doubles every step; one with u < 0 stays at 0.
    const h = 2;
    const W = Float64Array.from([2, 0, 0, 2]);
    const U = Float64Array.from([1, 0, 0, 1]);
    const b = new Float64Array(h);
    const up = new DeqInstance(deq, W, U, b, Float64Array.from([1, 1]));
    const still = new DeqInstance(deq, W, U, b, Float64Array.from([-1, -1]));
    const batch = solveBatchF64([up, still], { finish: 'none' });
    const alone = solveInstance(up, { method: 'fixed-point' });
    expect(alone.status).toBe('diverged');
    expect(batch.results[0].status).toBe('diverged');
    expect(batch.results[0].iterations).toBe(alone.iterations);
    expect(batch.results[1].status).toBe('converged');
    const capped = solveBatchF64([up, still], { finish: 'none', maxIter: 7, tol: 0 });
    // The second sample is exactly at its fixed point from the start: residual 0 <= tol 0.
    expect(capped.results.map((r) => [r.status, r.iterations])).toEqual([
      ['max-iterations', 7],
      ['converged', 0],
    ]);
  });

  it("finish 'auto' hands a crawling sample to solveInstance and keeps the others", () => {
    // W = diag(0.999, 0.1), U = I, b = 0: with u_0 > 0 the first unknown converges at rate
    // 0.999 (some 20000 plain steps to 1e-10); with u_0 < 0 it is 0 at once.
    const W = Float64Array.from([0.999, 0, 0, 0.1]);
    const U = Float64Array.from([1, 0, 0, 1]);
    const b = new Float64Array(2);
    const crawl = new DeqInstance(deq, W, U, b, Float64Array.from([1, 1]));
    const quick = new DeqInstance(deq, W, U, b, Float64Array.from([-1, 1]));
    const batch = solveBatchF64([crawl, quick], { tol: 1e-10 });
    const [slow, fast] = batch.results;
    expect(fast.method).toBe('fixed-point');
    expect(fast.status).toBe('converged');
    expect(slow.method).not.toBe('fixed-point');
    expect(slow.status).toBe('converged');
    expect(slow.residual).toBeLessThanOrEqual(1e-10);
    expect(Math.abs(slow.y[0] - 1 / 0.001)).toBeLessThan(1e-6);
    expect(slow.iterations).toBeLessThan(1000);
  });

  it('solves each sample alone when the batch has no batched path', () => {
    const rng = mulberry32(5);
    const [a] = deqBatch(rng, 8, 3, 1, 0.5);
    const [b] = deqBatch(rng, 8, 3, 1, 0.5);
    const batch = solveBatchF64([a, b], { tol: 1e-12 });
    expect(batch.backend).toMatch(/^none \(per sample: matrix W differs/);
    for (const r of batch.results) expect(r.residual).toBeLessThanOrEqual(1e-12);
  });
});
