// The DEQ training step with the batched backward (issue 14), side by side in one run with
// PyTorch at the same thread count: samples/deq_classifier.impl, batch 64, d = 64, W scaled to
// spectral norm 0.9, at h = 64, 128, 512, 1024.
//
// Every step: the forward by K batched plain iterations (K from an untimed pilot: the most any
// sample needs for ||F||_inf <= 1e-12), a certificate per sample, the implicit gradients.
// implc's backward variants:
//   - per-sample: each sample's B^T w = g by LU of its reduced B (the reference);
//   - batched (`backward: 'adjoint'`; what 'auto' runs from h = 256 on): the adjoint fixed
//     point of the whole batch, stopped by its error bound
//     ||w - w*|| <= ||r|| / (1 - gamma) <= 1e-12 ||w|| (gamma = the guard opnorm(W) < 1);
//   - 2 threads: WorkerPool with 2 workers, each running the batched step on its half.
// PyTorch (float64, 1 and 2 threads): K batched plain iterations, then either 30 adjoint
// fixed-point iterations (how DEQ libraries run the backward: no error bound) or a batched
// torch.linalg.solve. Gradients are compared before timing.
// Then the batched adjoint solve alone: its GFLOP/s against NumPy's f64 GEMM peak (the one
// product per iteration, 2 h^2 B flops), and the gpu.js backward (its WebAssembly backend in
// Node, f32 refined to f64) beside the f64 one.
//
//   npx tsx bench/deq-backward.ts [64,128,512,1024]
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { instances, view } from '../demos/deq.ts';
import { BatchTransposedB, batchGradientAt, GpuTransposedB, solveAdjointBatch, solveAdjointGpu, solveBatchF64, solveInstance, WorkerPool, type BatchInstance } from '../src/runtime/index.ts';
import { problem } from './deq.ts';
import { pythonWith, runPeer, writeMatrix } from './peers.ts';

const BATCH = 64;
const D = 64;
const CLASSES = 10;

type Problem = Awaited<ReturnType<typeof problem>>;

interface Step {
  loss: number;
  grad: Float64Array;
  ms: number;
  backwardMs: number;
  method: string;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-300);
}

function step(P: Problem, K: number, backward: 'per-sample' | 'adjoint'): Step {
  const t0 = performance.now();
  const insts = instances(P.net, P.theta, P.samples);
  const solved = solveBatchF64(insts, { tol: 0, maxIter: K, finish: 'none' }).results.map((s) => ({ ...s, status: 'converged' }));
  const t1 = performance.now();
  const r = batchGradientAt(insts, solved, 0, { backward });
  const t2 = performance.now();
  if (r.contributing !== BATCH) throw new Error(`${BATCH - r.contributing} samples without a gradient`);
  return { loss: r.samples.reduce((a, s) => a + s.value, 0) / BATCH, grad: r.gradientSum.map((v) => v / BATCH), ms: t2 - t0, backwardMs: t2 - t1, method: r.backward.method };
}

async function pooled(P: Problem, pool: WorkerPool, K: number): Promise<Step> {
  const { net, theta } = P;
  const t0 = performance.now();
  const dense = (name: 'W' | 'U' | 'V') => ({ shape: net.slots.find((x) => x.name === name)!.shape, data: view(net, theta, name) });
  const shared = { W: dense('W'), U: dense('U'), b: view(net, theta, 'b'), V: dense('V'), c: view(net, theta, 'c') };
  const r = await pool.batchGradient(shared, P.samples.map((s) => ({ u: s.u, onehot: s.onehot })), { method: 'fixed-point', tol: 1e-12, maxIter: K, backward: 'adjoint' });
  const ms = performance.now() - t0;
  if (r.contributing !== BATCH) throw new Error(`pool: ${BATCH - r.contributing} samples without a gradient`);
  return { loss: r.samples.reduce((a, s) => a + s.value, 0) / BATCH, grad: r.gradientSum.map((v) => v / BATCH), ms, backwardMs: NaN, method: r.backward.method };
}

/** Median of `repeats` after warm-up runs (3 and 2 s, as V8 tiers up), or one run when slow. */
function median<T extends { ms: number }>(run: () => T, repeats: number): T {
  const first = run();
  if (first.ms > 20_000) return first;
  const start = performance.now();
  for (let w = 1; w < 3 || performance.now() - start < 2000; w++) run();
  const rs = Array.from({ length: repeats }, run).sort((a, b) => a.ms - b.ms);
  return rs[Math.floor(rs.length / 2)];
}

export async function benchDeqBackward(log: (line: string) => void, sizes = [64, 128, 512, 1024]): Promise<string[]> {
  const python = pythonWith(['torch']);
  const out: string[] = [
    '| h | K | implc per-sample LU ms | implc batched ms (backward) | implc batched, 2 workers ms | torch adjoint 1 thr ms | torch adjoint 2 thr ms | torch solve 1 thr ms | torch solve 2 thr ms | torch-adjoint/implc, 1 thr | torch-adjoint/implc, 2 thr | check |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const flopsLines: string[] = ['| h | adjoint iterations | f64 batched solve ms | GFLOP/s | % of NumPy f64 1-thread peak | gpu.js solve ms (backend) | gpu.js vs f64 w |', '| ---: | ---: | ---: | ---: | ---: | --- | ---: |'];
  let torchVersion = 'not installed';
  for (const h of sizes) {
    const P = await problem(D, h, 1000 + h);
    let K = 0;
    for (const inst of instances(P.net, P.theta, P.samples)) {
      const r = solveInstance(inst, { method: 'fixed-point', tol: 1e-12, maxIter: 5000 });
      if (r.status !== 'converged') throw new Error(`pilot: ${r.status}`);
      K = Math.max(K, r.iterations);
    }
    const repeats = h >= 1024 ? 1 : 3;
    const ref = median(() => step(P, K, 'per-sample'), repeats);
    const bat = median(() => step(P, K, 'adjoint'), repeats);
    log(`h = ${h}, K = ${K}: per-sample ${ref.ms.toFixed(1)} ms (backward ${ref.backwardMs.toFixed(1)}), batched ${bat.ms.toFixed(1)} ms (backward ${bat.backwardMs.toFixed(1)}; ${bat.method})`);
    const pool = new WorkerPool(P.net.Model, 2);
    let two: Step;
    try {
      for (let w = 0; w < 2; w++) await pooled(P, pool, K);
      const runs: Step[] = [];
      for (let k = 0; k < repeats; k++) runs.push(await pooled(P, pool, K));
      two = runs.sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)];
    } finally {
      await pool.close();
    }
    log(`  2 workers: ${two.ms.toFixed(1)} ms (${two.method})`);
    const checks = [`batched vs per-sample grad ${relErr(bat.grad, ref.grad).toExponential(1)}`, `2 workers vs per-sample ${relErr(two.grad, ref.grad).toExponential(1)}`];
    let ok = relErr(bat.grad, ref.grad) <= 1e-9 && relErr(two.grad, ref.grad) <= 1e-9;
    const torch: Record<string, number> = {};
    if (python) {
      const part = (name: 'W' | 'U' | 'b' | 'V' | 'c') => view(P.net, P.theta, name);
      const u = new Float64Array(BATCH * D);
      const oh = new Float64Array(BATCH * CLASSES);
      P.samples.forEach((s, i) => {
        u.set(s.u, i * D);
        oh.set(s.onehot, i * CLASSES);
      });
      const files = {
        W: writeMatrix('dqb-W', h, h, part('W')),
        U: writeMatrix('dqb-U', h, D, part('U')),
        b: writeMatrix('dqb-b', h, 1, part('b')),
        V: writeMatrix('dqb-V', CLASSES, h, part('V')),
        c: writeMatrix('dqb-c', CLASSES, 1, part('c')),
        u: writeMatrix('dqb-u', BATCH, D, u),
        onehot: writeMatrix('dqb-onehot', BATCH, CLASSES, oh),
      };
      for (const backward of ['adjoint', 'solve'] as const) {
        for (const threads of [1, 2]) {
          const t = runPeer<{ ms: number; loss: number; grad: number[]; torch: string }>(python, 'deq_torch.py', { ...files, iterations: K, repeats: h >= 1024 ? 3 : 5, threads, backward, adjoint_iterations: 30 });
          torchVersion = `PyTorch ${t.torch} (CPU, float64)`;
          torch[`${backward}${threads}`] = t.ms;
          const e = relErr(Float64Array.from(t.grad), ref.grad);
          if (threads === 1) {
            checks.push(`torch ${backward} vs implc grad ${e.toExponential(1)}`);
            // The 30-iteration adjoint is an approximation: its error is reported, not required small.
            if (backward === 'solve') ok &&= e <= 1e-9;
          }
        }
      }
      log(`  torch adjoint ${torch.adjoint1.toFixed(1)} / ${torch.adjoint2.toFixed(1)} ms, solve ${torch.solve1.toFixed(1)} / ${torch.solve2.toFixed(1)} ms (1 / 2 threads)`);
    }
    const f = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(1));
    const ratio = (a: number | undefined, b: number) => (a === undefined ? 'n/a' : (a / b).toFixed(2));
    out.push(
      `| ${h} | ${K} | ${ref.ms.toFixed(1)} | ${bat.ms.toFixed(1)} (${bat.backwardMs.toFixed(1)}) | ${two.ms.toFixed(1)} | ${f(torch.adjoint1)} | ${f(torch.adjoint2)} | ${f(torch.solve1)} | ${f(torch.solve2)} | ${ratio(torch.adjoint1, bat.ms)} | ${ratio(torch.adjoint2, two.ms)} | ${ok ? 'ok' : 'FAILED'}: ${checks.join('; ')} |`,
    );

    // The batched adjoint solve alone, f64 and gpu.js, on this batch's systems.
    const insts: BatchInstance[] = instances(P.net, P.theta, P.samples);
    const solved = solveBatchF64(insts, { tol: 1e-12 }).results;
    const factors = insts.map((inst, b) => inst.kinkFactors(solved[b].y));
    const forms = insts.map((inst, b) => inst.bOperator!(solved[b].y, factors[b]));
    const BT = BatchTransposedB.plan(forms, h);
    if (typeof BT === 'string') throw new Error(BT);
    const G = Float64Array.from({ length: BATCH * h }, (_, i) => Math.sin(i));
    const gamma = Float64Array.from(insts, (inst) => inst.guardBound()!);
    const f64 = median(() => {
      const t = performance.now();
      const r = solveAdjointBatch(BT, G, { mode: 'adjoint', gamma, tol: 1e-12 });
      return { ms: performance.now() - t, r };
    }, 3);
    const its = Math.max(...f64.r.iterations) + 1;
    const gflops = (its * 2 * h * h * BATCH) / (f64.ms * 1e6);
    let gpuCell = 'skipped (h > 512: minutes on this backend)';
    let gpuErr = '';
    if (h <= 512) {
      const gpuBT = GpuTransposedB.plan(forms, h);
      if (typeof gpuBT === 'string') throw new Error(gpuBT);
      try {
        const g = median(() => {
          const t = performance.now();
          const r = solveAdjointGpu(gpuBT, BT, G, gamma, { tol: 1e-12 });
          return { ms: performance.now() - t, r };
        }, 1);
        gpuCell = `${g.ms.toFixed(1)} (${g.r.backend}; ${g.r.f32Iterations} f32 iterations, ${g.r.rounds} f64 residuals)`;
        gpuErr = relErr(g.r.w, f64.r.w).toExponential(1);
      } finally {
        gpuBT.destroy();
      }
    }
    flopsLines.push(`| ${h} | ${its - 1} | ${f64.ms.toFixed(1)} | ${gflops.toFixed(2)} | ${((100 * gflops) / PEAK_F64_1THREAD).toFixed(1)}% | ${gpuCell} | ${gpuErr} |`);
    log(`  batched adjoint solve alone: ${f64.ms.toFixed(1)} ms, ${gflops.toFixed(2)} GFLOP/s; gpu.js ${gpuCell}`);
  }
  const load = os.loadavg().map((x) => x.toFixed(2)).join(', ');
  return [
    ...out,
    '',
    `machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, load average before the run's end ${load}; node ${process.version}; peer: ${torchVersion}`,
    `batch ${BATCH}, d ${D}, ${CLASSES} classes; times are whole steps (instances, K forward iterations, certificates, gradients), median of 3 after warm-up (1 at h = 1024)`,
    '',
    ...flopsLines,
    '',
    `peak: NumPy's f64 GEMM on one thread, ${PEAK_F64_1THREAD} GFLOP/s (BENCHMARKS.md, "Distance to the limit"); implc's batched products run on one thread`,
  ];
}

/** NumPy/OpenBLAS f64 GEMM on one thread of this machine (bench/peers/sgemm_peak.py, BENCHMARKS.md). */
const PEAK_F64_1THREAD = 38.8;

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = process.argv[2] ? process.argv[2].split(',').map(Number) : undefined;
  const lines = await benchDeqBackward((l) => process.stderr.write(`${l}\n`), sizes);
  process.stdout.write(`${lines.join('\n')}\n`);
}
