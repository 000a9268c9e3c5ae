// DEQ training step: one batch of 64 through samples/deq_classifier.impl (fixed-point
// forward, implicit backward), implc's f64 path and its gpu.js f32 + f64-polish path,
// against PyTorch on the CPU (float64, the same iterations) and TF.js when installed.
//
// Iteration policy (documented in the output): a pilot, untimed, runs plain fixed-point
// iteration (no Anderson) on every sample until ||F||_inf <= 1e-12 and takes K = the
// largest count over the batch. Timed implc f64 runs exactly K plain iterations per sample,
// the whole batch together (`solveBatchF64`, tol 0, maxIter K, finish 'none'; the same
// iterates as `solveInstance` with method 'fixed-point'), then `batchGradientAt`; PyTorch
// runs K batched plain iterations.
// The gpu.js path cannot be given a count: `solveBatch` iterates in f32 to its default
// f32Tol (1e-5) and polishes each sample in f64 (Anderson, 'auto') to 1e-10; its f32
// iteration count is reported.
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { instances, loadDeqNet, view, type DeqNet, type Sample } from '../demos/deq.ts';
import { mulberry32 } from '../demos/data.ts';
import { batchGradientAt, solveBatch, solveBatchF64, solveInstance, WorkerPool, type BatchInstance } from '../src/runtime/index.ts';
import { pythonWith, runPeer, writeMatrix } from './peers.ts';

const BATCH = 64;
/** Worker threads of the pooled f64 step: as many as PyTorch's threads (the machine's cores). */
const THREADS = os.availableParallelism();
const CLASSES = 10;
const SIZES: [number, number][] = [
  [64, 64],
  [64, 128],
  [64, 512],
];

interface Problem {
  net: DeqNet;
  theta: Float64Array;
  samples: Sample[];
}

/** Spectral norm by power iteration on W^T W (f64, to convergence). */
function spectralNorm(W: Float64Array, n: number): number {
  let x = new Float64Array(n).fill(1 / Math.sqrt(n));
  let sigma = 0;
  const t = new Float64Array(n);
  for (let it = 0; it < 2000; it++) {
    for (let i = 0; i < n; i++) {
      let a = 0;
      for (let j = 0; j < n; j++) a += W[i * n + j] * x[j];
      t[i] = a;
    }
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) y[j] += W[i * n + j] * t[i];
    const norm = Math.hypot(...y);
    const next = Math.sqrt(norm);
    x = y.map((v) => v / norm);
    if (Math.abs(next - sigma) <= 1e-14 * next) return next;
    sigma = next;
  }
  return sigma;
}

export async function problem(d: number, h: number, seed: number): Promise<Problem> {
  const net = await loadDeqNet(d, h, CLASSES);
  const rng = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const theta = new Float64Array(net.m);
  const fill = (name: 'W' | 'U' | 'b' | 'V' | 'c', scale: number): void => {
    const v = view(net, theta, name);
    for (let i = 0; i < v.length; i++) v[i] = scale * gauss();
  };
  fill('W', 1 / Math.sqrt(h));
  fill('U', 1 / Math.sqrt(d));
  fill('b', 0.1);
  fill('V', 1 / Math.sqrt(h));
  fill('c', 0.1);
  const W = view(net, theta, 'W');
  const scale = 0.9 / spectralNorm(W, h);
  for (let i = 0; i < W.length; i++) W[i] *= scale;
  const samples = Array.from({ length: BATCH }, (): Sample => {
    const label = Math.floor(rng() * CLASSES);
    const onehot = new Float64Array(CLASSES);
    onehot[label] = 1;
    return { u: Float64Array.from({ length: d }, gauss), label, onehot };
  });
  return { net, theta, samples };
}

interface StepResult {
  loss: number;
  grad: Float64Array;
  ms: { construct: number; solve: number; gradient: number; total: number };
  backend?: string;
  f32Iterations?: number;
  maxPolishIterations?: number;
}

/**
 * The loss and mean gradient over the batch, each sample certified first (MATH.md 5): the
 * certificate is part of implc's step, and a sample that is not certified stops the bench.
 * `batchGradientAt`: per sample the certificate and the implicit gradient, the parameter
 * gradients' outer products summed over the batch as one blocked product.
 */
function meanGradient(insts: BatchInstance[], solved: { y: Float64Array; status: string; residual: number }[]): { loss: number; grad: Float64Array } {
  // tol 0 in stepF64 leaves the status at max-iterations after exactly K iterations: certify anyway.
  const r = batchGradientAt(insts, solved.map((s) => ({ ...s, status: 'converged' })), 0);
  const bad = r.samples.findIndex((s) => s.status !== 'certified');
  if (bad >= 0) throw new Error(`sample ${bad}: ${r.samples[bad].status}`);
  const grad = r.gradientSum.map((v) => v / insts.length);
  return { loss: r.samples.reduce((a, s) => a + s.value, 0) / insts.length, grad };
}

/** The f64 step: K plain fixed-point iterations of the batch (solveBatchF64), then the certificates and implicit gradients (batchGradientAt). */
function stepF64(P: Problem, K: number): StepResult {
  const t0 = performance.now();
  const insts = instances(P.net, P.theta, P.samples);
  const t1 = performance.now();
  const solved = solveBatchF64(insts, { tol: 0, maxIter: K, finish: 'none' }).results;
  solved.forEach((r) => {
    if (r.iterations !== K && r.residual !== 0) throw new Error(`implc f64: ${r.iterations} iterations, expected ${K}`);
  });
  const t2 = performance.now();
  const { loss, grad } = meanGradient(insts, solved);
  const t3 = performance.now();
  return { loss, grad, ms: { construct: t1 - t0, solve: t2 - t1, gradient: t3 - t2, total: t3 - t0 } };
}

/**
 * The f64 step on every core: WorkerPool splits the batch over worker threads, each running
 * batchGradient (instances by `with`, fixed-point iteration until ||F||_inf <= 1e-12, at most
 * K iterations, certificate, implicit gradient) on its share.
 */
async function stepPool(P: Problem, pool: WorkerPool, K: number): Promise<StepResult> {
  const { net, theta } = P;
  const t0 = performance.now();
  const dense = (name: 'W' | 'U' | 'V') => {
    const sl = net.slots.find((x) => x.name === name)!;
    return { shape: sl.shape, data: view(net, theta, name) };
  };
  const shared = { W: dense('W'), U: dense('U'), b: view(net, theta, 'b'), V: dense('V'), c: view(net, theta, 'c') };
  const r = await pool.batchGradient(shared, P.samples.map((s) => ({ u: s.u, onehot: s.onehot })), { method: 'fixed-point', tol: 1e-12, maxIter: K });
  const t1 = performance.now();
  if (r.contributing !== P.samples.length) throw new Error(`implc pool: ${P.samples.length - r.contributing} samples without a gradient`);
  const grad = r.gradientSum.map((v) => v / r.contributing);
  const loss = r.samples.reduce((a, x) => a + x.value, 0) / r.samples.length;
  return { loss, grad, ms: { construct: 0, solve: 0, gradient: 0, total: t1 - t0 } };
}

/** The gpu.js step: solveBatch (f32 batched iterations, f64 polish), then the implicit gradients. */
function stepGpu(P: Problem): StepResult {
  const t0 = performance.now();
  const insts = instances(P.net, P.theta, P.samples);
  const t1 = performance.now();
  const solved = solveBatch(insts, { tol: 1e-10 });
  const bad = solved.polish.find((r) => r.status !== 'converged');
  if (bad) throw new Error(`implc gpu.js: polish ${bad.status} (residual ${bad.residual})`);
  const t2 = performance.now();
  const { loss, grad } = meanGradient(insts, solved.polish);
  const t3 = performance.now();
  return {
    loss,
    grad,
    ms: { construct: t1 - t0, solve: t2 - t1, gradient: t3 - t2, total: t3 - t0 },
    backend: solved.backend,
    f32Iterations: solved.f32Iterations,
    maxPolishIterations: Math.max(...solved.polish.map((r) => r.iterations)),
  };
}

/**
 * Median by total time of `repeats` runs after a warm-up (just one run when slow): warm-up
 * runs until 3 of them and 2 s have passed, for V8 compiles hot code in tiers, over several
 * calls, as a training loop's later steps would find it.
 */
function timed(run: () => StepResult, repeats: number, slowMs = 60_000): { r: StepResult; runs: number } {
  const first = run();
  if (first.ms.total > slowMs) return { r: first, runs: 1 };
  const warmStart = performance.now();
  for (let w = 1; w < 3 || performance.now() - warmStart < 2000; w++) run();
  const rs = Array.from({ length: repeats }, run).sort((a, b) => a.ms.total - b.ms.total);
  return { r: rs[Math.floor(rs.length / 2)], runs: repeats };
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

/** TF.js, if it can be imported: the same step (K plain iterations, adjoint by K fixed-point iterations). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tf = any;
async function loadTf(): Promise<Tf | null> {
  try {
    const name = '@tensorflow/tfjs';
    return await import(name);
  } catch {
    return null;
  }
}

function stepTf(tf: Tf, P: Problem, K: number): { loss: number; gradW: Float64Array; ms: number } {
  const { net, theta, samples } = P;
  const t0 = performance.now();
  const out = tf.tidy(() => {
    const W = tf.tensor2d(Array.from(view(net, theta, 'W')), [net.h, net.h]);
    const U = tf.tensor2d(Array.from(view(net, theta, 'U')), [net.h, net.d]);
    const b = tf.tensor1d(Array.from(view(net, theta, 'b')));
    const V = tf.tensor2d(Array.from(view(net, theta, 'V')), [net.k, net.h]);
    const c = tf.tensor1d(Array.from(view(net, theta, 'c')));
    const u = tf.tensor2d(samples.map((s) => Array.from(s.u)));
    const oh = tf.tensor2d(samples.map((s) => Array.from(s.onehot)));
    const Wt = W.transpose();
    const inj = u.matMul(U.transpose()).add(b);
    let z = tf.zeros([samples.length, net.h]);
    for (let i = 0; i < K; i++) z = tf.relu(z.matMul(Wt).add(inj));
    const D = z.matMul(Wt).add(inj).greater(0).toFloat();
    const s = z.matMul(V.transpose()).add(c);
    const loss = tf.logSumExp(s, 1).sub(oh.mul(s).sum(1)).mean();
    const r = tf.softmax(s).sub(oh).div(samples.length);
    const g = r.matMul(V);
    // TF.js has no linear solver: w = g + (D W)^T w by K fixed-point iterations (contraction <= 0.9).
    let w = g;
    for (let i = 0; i < K; i++) w = g.add(w.mul(D).matMul(W));
    const v = D.mul(w);
    return { loss, gW: v.transpose().matMul(z) };
  });
  const loss = out.loss.dataSync()[0] as number;
  const gradW = Float64Array.from(out.gW.dataSync() as Float32Array);
  out.loss.dispose();
  out.gW.dispose();
  return { loss, gradW, ms: performance.now() - t0 };
}

/** `sizes`: the (d, h) pairs to run (default all of SIZES); `npx tsx bench/deq.ts 64x128` picks some. */
export async function benchDeq(log: (line: string) => void, sizes: [number, number][] = SIZES): Promise<string[]> {
  const python = pythonWith(['torch']);
  const tf = await loadTf();
  const out: string[] = [
    `| d | h | implc f64 ms | implc f64, ${THREADS} workers ms | implc gpu.js ms (backend) | torch ms | ratio torch/implc f64 | ratio torch/implc f64 ${THREADS} workers | ratio torch/implc gpu.js | check |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const notes: string[] = [];
  let torchVersion = '';
  let tfCol = false;
  const tfLines: string[] = [];
  for (const [d, h] of sizes) {
    const P = await problem(d, h, 1000 + h);
    // Pilot (untimed): plain fixed-point iteration to ||F||_inf <= 1e-12 per sample; K = the most iterations.
    let K = 0;
    for (const inst of instances(P.net, P.theta, P.samples)) {
      const r = solveInstance(inst, { method: 'fixed-point', tol: 1e-12, maxIter: 5000 });
      if (r.status !== 'converged') throw new Error(`pilot: ${r.status}`);
      K = Math.max(K, r.iterations);
    }
    log(`(d, h) = (${d}, ${h}): K = ${K} plain fixed-point iterations`);
    const f64 = timed(() => stepF64(P, K), 3);
    log(`  implc f64: ${f64.r.ms.total.toFixed(1)} ms (construct ${f64.r.ms.construct.toFixed(1)}, solve ${f64.r.ms.solve.toFixed(1)}, gradients ${f64.r.ms.gradient.toFixed(1)}), ${f64.runs} timed run(s)`);
    const gpu = timed(() => stepGpu(P), 3);
    // The pool: started once per size (untimed, like compiling), warmed up, then timed.
    const pool = new WorkerPool(P.net.Model, THREADS);
    const pooled = await (async () => {
      try {
        for (let w = 0; w < 3; w++) await stepPool(P, pool, K); // each worker JIT-compiles its own code
        const runs: StepResult[] = [];
        for (let k = 0; k < (f64.runs === 1 ? 1 : 5); k++) runs.push(await stepPool(P, pool, K));
        runs.sort((a, b) => a.ms.total - b.ms.total);
        return runs[Math.floor(runs.length / 2)];
      } finally {
        await pool.close();
      }
    })();
    log(`  implc f64, ${THREADS} workers: ${pooled.ms.total.toFixed(1)} ms`);
    log(`  implc gpu.js: ${gpu.r.ms.total.toFixed(1)} ms (construct ${gpu.r.ms.construct.toFixed(1)}, f32 + polish ${gpu.r.ms.solve.toFixed(1)}, gradients ${gpu.r.ms.gradient.toFixed(1)}); ${gpu.r.backend}; f32 iterations ${gpu.r.f32Iterations}, polish <= ${gpu.r.maxPolishIterations}`);
    notes.push(
      `(${d}, ${h}): K = ${K}; implc f64 ${f64.r.ms.total.toFixed(1)} ms = construct ${f64.r.ms.construct.toFixed(1)} + ${K} iterations x 64 ${f64.r.ms.solve.toFixed(1)} + implicit gradients ${f64.r.ms.gradient.toFixed(1)}` +
        ` (${f64.runs === 1 ? 'one run: over 60 s' : `median of ${f64.runs}`}); gpu.js ${gpu.r.ms.total.toFixed(1)} ms = construct ${gpu.r.ms.construct.toFixed(1)} + f32 (${gpu.r.f32Iterations} it.) and f64 polish (<= ${gpu.r.maxPolishIterations} it.) ${gpu.r.ms.solve.toFixed(1)} + gradients ${gpu.r.ms.gradient.toFixed(1)}`,
    );

    const gSlot = P.net.slots.find((s) => s.name === 'W')!;
    const gW = (g: Float64Array): Float64Array => g.subarray(gSlot.offset, gSlot.offset + gSlot.size);
    const checks: string[] = [];
    let ok = true;
    const gpuErr = relErr(gpu.r.grad, f64.r.grad);
    const gpuLossErr = Math.abs(gpu.r.loss - f64.r.loss) / Math.abs(f64.r.loss);
    ok &&= gpuErr <= 1e-6 && gpuLossErr <= 1e-6;
    checks.push(`gpu.js vs f64 loss ${gpuLossErr.toExponential(1)}, grad ${gpuErr.toExponential(1)}`);
    const poolErr = relErr(pooled.grad, f64.r.grad);
    const poolLossErr = Math.abs(pooled.loss - f64.r.loss) / Math.abs(f64.r.loss);
    ok &&= poolErr <= 1e-6 && poolLossErr <= 1e-6;
    checks.push(`workers vs f64 loss ${poolLossErr.toExponential(1)}, grad ${poolErr.toExponential(1)}`);

    let torch: { ms: number; forward_ms: number; backward_ms: number; loss: number; grad: number[]; torch: string; threads: number } | null = null;
    if (python) {
      const th = P.theta;
      const part = (name: 'W' | 'U' | 'b' | 'V' | 'c') => view(P.net, th, name);
      const u = new Float64Array(BATCH * d);
      const oh = new Float64Array(BATCH * CLASSES);
      P.samples.forEach((s, i) => {
        u.set(s.u, i * d);
        oh.set(s.onehot, i * CLASSES);
      });
      torch = runPeer(python, 'deq_torch.py', {
        W: writeMatrix('deq-W', h, h, part('W')),
        U: writeMatrix('deq-U', h, d, part('U')),
        b: writeMatrix('deq-b', h, 1, part('b')),
        V: writeMatrix('deq-V', CLASSES, h, part('V')),
        c: writeMatrix('deq-c', CLASSES, 1, part('c')),
        u: writeMatrix('deq-u', BATCH, d, u),
        onehot: writeMatrix('deq-onehot', BATCH, CLASSES, oh),
        iterations: K,
        repeats: 5,
        threads: 2,
      });
      torchVersion = `PyTorch ${torch!.torch} (CPU, float64, ${torch!.threads} threads)`;
      const lossErr = Math.abs(torch!.loss - f64.r.loss) / Math.abs(f64.r.loss);
      const wErr = relErr(gW(Float64Array.from(torch!.grad)), gW(f64.r.grad));
      const allErr = relErr(Float64Array.from(torch!.grad), f64.r.grad);
      ok &&= lossErr <= 1e-6 && wErr <= 1e-6;
      checks.unshift(`torch vs f64 loss ${lossErr.toExponential(1)}, grad W ${wErr.toExponential(1)} (all ${allErr.toExponential(1)})`);
      log(`  torch: ${torch!.ms.toFixed(1)} ms (forward ${torch!.forward_ms.toFixed(1)}, backward ${torch!.backward_ms.toFixed(1)})`);
    }
    if (tf) {
      tfCol = true;
      const runs = [stepTf(tf, P, K), stepTf(tf, P, K), stepTf(tf, P, K), stepTf(tf, P, K)].slice(1).sort((a, b) => a.ms - b.ms);
      const r = runs[1];
      const wErr = relErr(r.gradW, gW(f64.r.grad));
      const lossErr = Math.abs(r.loss - f64.r.loss) / Math.abs(f64.r.loss);
      tfLines.push(`| ${d} | ${h} | ${r.ms.toFixed(1)} (${tf.getBackend()}, f32) | ${(r.ms / f64.r.ms.total).toPrecision(3)} | loss ${lossErr.toExponential(1)}, grad W ${wErr.toExponential(1)} (f32) |`);
    }
    const line =
      `| ${d} | ${h} | ${f64.r.ms.total.toFixed(1)} | ${pooled.ms.total.toFixed(1)} | ${gpu.r.ms.total.toFixed(1)} (${gpu.r.backend}) | ${torch ? torch.ms.toFixed(1) : 'skipped'} | ` +
      `${torch ? (torch.ms / f64.r.ms.total).toPrecision(3) : '-'} | ${torch ? (torch.ms / pooled.ms.total).toPrecision(3) : '-'} | ${torch ? (torch.ms / gpu.r.ms.total).toPrecision(3) : '-'} | ${ok ? 'ok' : 'FAIL'}: ${checks.join('; ')} |`;
    out.push(line);
    log(line);
  }
  out.push('', `machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  out.push(python ? `peer: ${torchVersion}, K batched plain iterations, batched torch.linalg.solve for (I - D W)^T w = dL/dz` : 'PyTorch not found (Debian: `apt-get install python3-torch`): torch column skipped.');
  out.push('batch 64, 10 classes, random u ~ N(0, I), W scaled to spectral norm 0.9; times are one whole training step (instances, forward, a runtime certificate per sample for implc, implicit gradients averaged over the batch), median of 3 (implc, after warm-up steps until 3 of them and 2 s have run: V8 compiles hot code in tiers over several calls) / 5 (torch, after one warm-up)');
  out.push('iterations: K = the most plain fixed-point iterations any sample needs for ||F||_inf <= 1e-12 (untimed pilot); implc f64 (solveBatchF64: the batch together, WebAssembly SIMD products) and torch both run exactly K plain iterations per sample; gpu.js runs f32 to 1e-5 then an f64 Anderson polish to 1e-10');
  out.push(`workers: WorkerPool with ${THREADS} worker threads (the same batchGradient on each share: instances by \`with\`, the share solved together by solveBatchF64 to ||F||_inf <= 1e-12 with at most K iterations, certificates, implicit gradients); the pool is started before timing, as a training loop keeps it`);
  out.push('check: relative max-abs difference of the loss and the parameter gradients; ok when torch vs implc f64 (loss, grad W) and gpu.js and workers vs f64 (loss, all grads) are <= 1e-6');
  out.push(...notes);
  if (tfCol) {
    out.push('', '| d | h | TF.js ms (backend) | ratio TF.js/implc f64 | check vs implc f64 |', '| ---: | ---: | ---: | ---: | --- |', ...tfLines);
    out.push('TF.js: K plain iterations, backward by K adjoint fixed-point iterations (TF.js has no linear solver), float32');
  } else out.push('TF.js not installed (npm i --no-save @tensorflow/tfjs): skipped');
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  const picked = process.argv.slice(2).map((a) => a.split('x').map(Number) as [number, number]);
  await benchDeq((line) => console.error(line), picked.length ? picked : SIZES).then((lines) => console.log(lines.join('\n')));
}
