/**
 * The gpu.js path: codegen/emit-gpu.ts translates a fixed-point map into gpu.js kernels,
 * src/runtime/batch.ts iterates them over a batch in f32 and polishes each sample in f64.
 * The instances are hand-written (test/codegen/batch-models.ts) around the real emitter
 * output, so these tests do not depend on the generated class.
 */
import { describe, expect, it } from 'vitest';
import { solveBatch, type BatchInstance } from '../../src/runtime/batch.ts';
import { mulberry32, type Rng } from '../helpers/rng.ts';
import { DeqInstance, LassoInstance, lowerSample, matTvec, spectralNorm } from './batch-models.ts';

const FALLBACK = 'none (f64 fallback)';

const uniform = (rng: Rng, size: number): Float64Array => Float64Array.from({ length: size }, () => 2 * rng() - 1);
const normInf = (v: ArrayLike<number>): number => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const relDiff = (a: ArrayLike<number>, ref: ArrayLike<number>): number =>
  normInf(Array.from(ref, (r, i) => a[i] - r)) / Math.max(normInf(ref), 1e-300);

/** Independent f64 reference: plain fixed-point iteration of the hand-written map to full precision. */
function referenceFixedPoint(inst: BatchInstance): Float64Array {
  let y = inst.initial();
  const next = new Float64Array(inst.n);
  for (let it = 0; it < 100_000; it++) {
    inst.map(y, next);
    const change = relDiff(next, y);
    y = next.slice();
    if (change <= 1e-15) break;
  }
  return y;
}

let backendLogged = false;
/** The backend gpu.js picked, reported once in the test output. */
function logBackend(backend: string): void {
  if (backendLogged) return;
  backendLogged = true;
  console.log(`gpu.js backend: ${backend}`);
}

function expectAgreement(instances: BatchInstance[], result: ReturnType<typeof solveBatch>): void {
  expect(result.polish).toHaveLength(instances.length);
  expect(result.y32).toHaveLength(instances.length);
  instances.forEach((inst, b) => {
    const ref = referenceFixedPoint(inst);
    // The f32 batch solve alone is already close ...
    expect(relDiff(result.y32[b], ref)).toBeLessThan(1e-4);
    // ... and the f64 polish finishes it.
    const polished = result.polish[b];
    expect(polished.status).toBe('converged');
    expect(polished.residual).toBeLessThan(1e-10);
    expect(relDiff(polished.y, ref)).toBeLessThan(1e-9);
  });
}

describe('gpuMapKernels', () => {
  it('translates the DEQ map into one kernel with a matrix-vector loop over the unknown', () => {
    const spec = lowerSample('deq.impl').spec!;
    expect(spec.unknown).toBe('z');
    expect(spec.stages).toHaveLength(1);
    const [stage] = spec.stages;
    expect(stage.size).toBe('h');
    expect(stage.inputs).toEqual([]);
    // W z reads the shared W; U u and b are fixed per sample.
    expect(stage.args.find((a) => a.name === 'W')?.kind).toBe('matrix');
    expect(stage.args.filter((a) => a.kind === 'vector')).toHaveLength(2);
    expect(stage.bounds).toEqual([{ constant: expect.any(String), arg: 'W', axis: 1 }]);
    expect(stage.source).toContain(`this.constants.${stage.bounds[0].constant}`);
    // The CPU form reads W z from a product computed for the whole batch beforehand.
    expect(stage.cpu.products).toEqual([{ matrix: 'W', vector: null }]);
    expect(stage.cpu.source).toMatch(/^function \(B, n, ny, y, p0, c_\w+, c_\w+, out\)/);
    expect(stage.cpu.source).toContain('p0[bi]');
    expect(stage.cpu.source).not.toContain('this.thread');
  });

  it('splits Lasso at X * beta - y, which the second kernel reads entirely', () => {
    const spec = lowerSample('lasso.impl').spec!;
    expect(spec.unknown).toBe('beta');
    expect(spec.stages.map((s) => s.size)).toEqual(['n', 'p']);
    const [residual, update] = spec.stages;
    expect(residual.args).toEqual([
      { name: 'X', kind: 'matrix' },
      { name: 'y', kind: 'vector' },
    ]);
    expect(update.inputs).toEqual([0]);
    // In the CPU form, X beta and (step X') r are products; the second reads stage 0's output.
    expect(residual.cpu.products).toEqual([{ matrix: 'X', vector: null }]);
    expect(update.cpu.products).toEqual([{ matrix: update.args.find((a) => a.kind === 'matrix')!.name, vector: 0 }]);
    // step * X' is one hoisted matrix; step * lambda a per-sample scalar.
    expect(update.args.map((a) => a.kind).sort()).toEqual(['matrix', 'scalar']);
    // The data named y is passed as c_y, never confused with the unknown's parameter y.
    expect(residual.source).toMatch(/^function \(y, c_X, c_y\)/);
  });

  it('has no gpu path for a projection onto the simplex', () => {
    expect(lowerSample('simplex_qp.impl').spec).toBeNull();
  });
});

describe('solveBatch', () => {
  const deq = lowerSample('deq.impl');
  const h = 32;
  const d = 8;

  /** W with ||W||_2 = 0.5 (a contraction: the f64 reference converges geometrically), U, b shared. */
  function deqParams(rng: Rng) {
    const W = uniform(rng, h * h);
    const scale = 0.5 / spectralNorm(W, h, h);
    return { W: W.map((x) => x * scale), U: uniform(rng, h * d), b: uniform(rng, h).map((x) => 0.5 * x) };
  }

  it('solves a DEQ mini-batch of 16 inputs in f32, then polishes each in f64', () => {
    const rng = mulberry32(7);
    const { W, U, b } = deqParams(rng);
    const instances = Array.from({ length: 16 }, () => new DeqInstance(deq, W, U, b, uniform(rng, d)));
    const result = solveBatch(instances);
    logBackend(result.backend);
    expect(result.backend).not.toBe(FALLBACK);
    expect(result.backend).toMatch(/Kernel \(gpu\.js mode/);
    expect(result.reason).toBeNull();
    expect(result.f32Converged).toBe(true);
    expect(result.f32Iterations).toBeGreaterThan(1);
    expectAgreement(instances, result);
  });

  it('runs a Lasso sweep over 8 lambdas as one batch', () => {
    const lasso = lowerSample('lasso.impl');
    const rng = mulberry32(11);
    const n = 30;
    const p = 10;
    const X = uniform(rng, n * p);
    const truth = Float64Array.from({ length: p }, (_, j) => (j % 3 === 0 ? 2 * rng() - 1 : 0));
    const y = Float64Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < p; j++) s += X[i * p + j] * truth[j];
      return s + 0.1 * (2 * rng() - 1);
    });
    const validation = { Xv: uniform(rng, 5 * p), yv: uniform(rng, 5) };
    // From 1% to 50% of the smallest lambda giving beta = 0: supports of every size.
    const lambdaMax = normInf(matTvec(X, n, p, y));
    const lambdas = Array.from({ length: 8 }, (_, k) => lambdaMax * 0.01 * 50 ** (k / 7));
    const instances = lambdas.map((lambda) => new LassoInstance(lasso, X, y, lambda, validation));
    // ISTA contracts slowly (rate 1 - sigma_min^2 / sigma_max^2 on the support), so a
    // change of f32Tol leaves an error of about f32Tol / (1 - rate): ask for a smaller change.
    const result = solveBatch(instances, { f32Tol: 1e-6 });
    logBackend(result.backend);
    expect(result.backend).not.toBe(FALLBACK);
    expect(result.f32Converged).toBe(true);
    expectAgreement(instances, result);
    // The sweep really thresholds: the largest lambda zeroes entries the smallest keeps.
    const zeros = (v: Float64Array) => v.filter((x) => x === 0).length;
    expect(zeros(result.polish[7].y)).toBeGreaterThan(zeros(result.polish[0].y));
  });

  it('runs matrix-vector loops of more than 1000 iterations', () => {
    // gpu.js silently cuts a loop whose bound is a kernel argument at 1000 iterations; the
    // emitter's bounds are kernel constants. Were they cut, the f32 answer would miss
    // columns of W and disagree with the f64 reference.
    const rng = mulberry32(5);
    const big = 1100;
    const W = uniform(rng, big * big);
    // ||W||_2 <= ||W||_F: scaling by the Frobenius norm makes W a 0.5-contraction cheaply.
    const scale = 0.5 / Math.sqrt(W.reduce((s, x) => s + x * x, 0));
    const Wc = W.map((x) => x * scale);
    const U = uniform(rng, big * d);
    const b = uniform(rng, big).map((x) => 0.5 * x);
    const instances = [0, 1].map(() => new DeqInstance(deq, Wc, U, b, uniform(rng, d)));
    const result = solveBatch(instances);
    expect(result.backend).not.toBe(FALLBACK);
    expectAgreement(instances, result);
  });

  it('falls back to f64 when the shared matrix differs between samples', () => {
    const rng = mulberry32(3);
    const first = deqParams(rng);
    const second = deqParams(rng);
    const instances = [
      new DeqInstance(deq, first.W, first.U, first.b, uniform(rng, d)),
      new DeqInstance(deq, second.W, first.U, first.b, uniform(rng, d)),
    ];
    const result = solveBatch(instances);
    expect(result.backend).toBe(FALLBACK);
    expect(result.reason).toMatch(/matrix W differs/);
    expect(result.y32).toEqual([]);
    for (const r of result.polish) {
      expect(r.status).toBe('converged');
      expect(r.residual).toBeLessThan(1e-10);
    }
  });
});
