import { afterAll, describe, expect, it } from 'vitest';
import { batchGradient, outputGradients, solveInstance, SolverError, WorkerPool, type DerivableInstance, type InputValue } from '../../src/runtime/index.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32 } from '../helpers/rng.ts';

// Batch gradients on worker threads agree with the same function run in this thread.

const rng = mulberry32(23);
const vec = (n: number) => Array.from({ length: n }, () => 2 * rng() - 1);
const mat = (r: number, c: number, s = 1) => Array.from({ length: r }, () => vec(c).map((v) => s * v));

describe('WorkerPool.batchGradient', () => {
  const pools: WorkerPool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('matches batchGradient in this thread: sums, outcomes, order', async () => {
    const Model = await generatedClass('samples/deq_classifier.impl', 'DeqClassifier');
    const [d, h, k] = [3, 6, 4];
    const shared: Record<string, InputValue> = { W: mat(h, h, 0.15), U: mat(h, d), b: vec(h), V: mat(k, h), c: vec(k) };
    const samples = Array.from({ length: 9 }, (_, i) => ({ u: vec(d), onehot: Array.from({ length: k }, (_, j) => (j === i % k ? 1 : 0)) }));
    const here = batchGradient((x) => new Model(x) as unknown as DerivableInstance, shared, samples, { tol: 1e-12 });
    const pool = new WorkerPool(Model, 2);
    pools.push(pool);
    const there = await pool.batchGradient(shared, samples, { tol: 1e-12 });
    expect(here.contributing).toBe(9);
    expect(there.contributing).toBe(9);
    expect(there.samples.map((s) => s.status)).toEqual(here.samples.map((s) => s.status));
    expect(there.samples.map((s) => s.test)).toEqual(Array(9).fill('contraction guard'));
    there.samples.forEach((s, i) => expect(s.value).toBeCloseTo(here.samples[i].value, 13));
    const scale = Math.max(...here.gradientSum.map(Math.abs));
    here.gradientSum.forEach((g, j) => expect(Math.abs(there.gradientSum[j] - g) / scale).toBeLessThan(1e-12));
  });

  it('solves the batch together in f64 and agrees with one solve and one gradient per sample', async () => {
    const Model = await generatedClass('samples/deq_classifier.impl', 'DeqClassifier');
    const [d, h, k] = [5, 24, 3];
    const shared: Record<string, InputValue> = { W: mat(h, h, 0.1), U: mat(h, d), b: vec(h), V: mat(k, h), c: vec(k) };
    const samples = Array.from({ length: 7 }, (_, i) => ({ u: vec(d), onehot: Array.from({ length: k }, (_, j) => (j === i % k ? 1 : 0)) }));
    const together = batchGradient((x) => new Model(x) as unknown as DerivableInstance, shared, samples, { tol: 1e-13 });
    // The reference: each sample alone, Newton-finished, its full gradient vector summed.
    const sum = new Float64Array(together.gradientSum.length);
    for (const sample of samples) {
      const inst = new Model({ ...shared, ...sample }) as unknown as DerivableInstance;
      const y = solveInstance(inst, { tol: 1e-13 }).y;
      outputGradients(inst, y)[0].forEach((g, j) => (sum[j] += g));
    }
    expect(together.contributing).toBe(7);
    const scale = Math.max(...sum.map(Math.abs));
    together.gradientSum.forEach((g, j) => expect(Math.abs(g - sum[j]) / scale).toBeLessThan(1e-11));
  });

  it('counts the samples that give no gradient instead of returning numbers for them', async () => {
    const Model = await generatedClass('samples/deq_classifier.impl', 'DeqClassifier');
    const shared = { W: mat(4, 4, 0.2), U: mat(4, 2), b: vec(4), V: mat(3, 4), c: vec(3) };
    const samples = [
      { u: vec(2), onehot: [1, 0, 0] },
      { u: vec(2), onehot: [0, 1, 0] },
    ];
    const pool = new WorkerPool(Model, 2);
    pools.push(pool);
    // A one-step cap does not converge: outcomes say so, and nothing is summed.
    const r = await pool.batchGradient(shared, samples, { method: 'fixed-point', maxIter: 1, tol: 1e-14 });
    expect(r.contributing).toBe(0);
    expect(r.samples.map((s) => s.status)).toEqual(['not-converged', 'not-converged']);
    expect(Array.from(r.gradientSum).every((v) => v === 0)).toBe(true);
    // An output the model does not have is an error, from the worker as here.
    await expect(pool.batchGradient(shared, samples, { output: 3 })).rejects.toThrow(/no output 3/);
    expect(() => batchGradient((x) => new Model(x) as unknown as DerivableInstance, shared, samples, { output: 3 })).toThrow(/no output 3/);
  });

  it('refuses a class without a module file, and calls after close', async () => {
    expect(() => new WorkerPool({ name: 'Nothing' })).toThrow(SolverError);
    const Model = await generatedClass('samples/deq.impl');
    const pool = new WorkerPool(Model, 1);
    await pool.close();
    await expect(pool.batchGradient({}, [{}])).rejects.toThrow(/closed/);
  });
});
