// Distance to the limit: achieved GFLOP/s of implc's batched kernels against the machine's
// measured peak. The peak is NumPy's matrix multiply (its BLAS, float32 and float64, all
// its threads and one thread; bench/peers/sgemm_peak.py); a plain-JS f64 triple loop is a
// second reference, what careful single-threaded JS reaches. implc's kernels are one
// application of the DEQ map T(z) = relu(W z + U u + b) (samples/deq.impl) to a batch of 64:
// the f32 gpu.js kernels of the generated model's `gpu` spec, built and called as
// `solveBatch` does (src/runtime/batch.ts), the generated f64 `map(y, out)` per sample, and
// the f64 batched map (`BatchMapF64`, WebAssembly SIMD products) that `solveBatchF64` iterates.
//
// Flops are counted from what the kernels compute, not from the model: U u is hoisted
// (the generated class computes it once, as t9, on first use), so one application is, per
// sample, the matvec W z (h^2 multiplies and h^2 adds), two vector adds and the relu max:
// 2 h^2 + 3 h, whatever d is.
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import { type ModelClass } from '../codegen/build.ts';
import { mulberry32 } from '../demos/data.ts';
import { BatchMap, BatchMapF64, type BatchInstance, type GpuMapSpec } from '../src/runtime/index.ts';
import { pythonWith, runPeer, timeMs } from './peers.ts';

const BATCH = 64;
const SIZES: [number, number][] = [
  [64, 64],
  [64, 128],
  [64, 512],
];
const GEMM_SIZES = [1024, 2048];

/** One matrix multiply timing of the NumPy peer. */
interface Gemm {
  n: number;
  dtype: 'float32' | 'float64';
  threads: number;
  ms_best: number;
  ms_median: number;
  gflops: number;
  gflops_median: number;
}

interface PeakJob {
  numpy: string;
  blas: string;
  threads: number;
  threads_known: boolean;
  cpus: number;
  results: Gemm[];
}

/** One row of the table: what ran, at what size, the time per call and its flops. */
interface Row {
  kernel: string;
  size: string;
  precision: 'f32' | 'f64';
  ms: number;
  flops: number;
}

/**
 * Milliseconds per call of `run`: two warm-up calls (gpu.js builds its wasm module on the
 * first, V8 optimizes), then 3 rounds of as many calls as fill about budgetMs / 3 each;
 * the median round's mean.
 */
function msPerCall(run: () => void, budgetMs = 900): number {
  const once = Math.max(timeMs(run, 1, 2), 1e-3);
  const calls = Math.max(1, Math.ceil(budgetMs / 3 / once));
  return (
    timeMs(
      () => {
        for (let i = 0; i < calls; i++) run();
      },
      3,
      0,
    ) / calls
  );
}

/**
 * C = A B for n x n row-major Float64Arrays, in i-k-j order: the inner loop streams a row
 * of B into a row of C with A[i][k] held in a register, unit stride throughout.
 */
function matmulIkj(A: Float64Array, B: Float64Array, C: Float64Array, n: number): void {
  C.fill(0);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const a = A[ci + k];
      const bk = k * n;
      for (let j = 0; j < n; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

/**
 * The same i-k-j loop with k unrolled by 4: four rows of B go into the row of C per pass,
 * so C is loaded and stored a quarter as often (the loop is bound by those memory ops, not
 * by the multiply-adds: V8 emits scalar code, no SIMD). n must be a multiple of 4.
 */
function matmulIkj4(A: Float64Array, B: Float64Array, C: Float64Array, n: number): void {
  C.fill(0);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k += 4) {
      const a0 = A[ci + k];
      const a1 = A[ci + k + 1];
      const a2 = A[ci + k + 2];
      const a3 = A[ci + k + 3];
      const b0 = k * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let j = 0; j < n; j++) C[ci + j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
    }
  }
}

/**
 * The plain-JS f64 references, after warm-up products at n = 256 (V8 optimizes both loops):
 * the unrolled loop median of 3 products at n = 1024 and one at 2048, the plain i-k-j loop
 * one product at n = 1024 (it is 2-3x slower; 2048 would take half a minute).
 */
function jsMatmulRows(log: (s: string) => void): Row[] {
  const rng = mulberry32(7);
  const random = (n: number) => Float64Array.from({ length: n * n }, () => rng() - 0.5);
  const loops = [
    { kernel: 'plain JS f64 matmul (i-k-j, k unrolled by 4, 1 thread)', run: matmulIkj4, sizes: GEMM_SIZES },
    { kernel: 'plain JS f64 matmul (i-k-j, 1 thread)', run: matmulIkj, sizes: [GEMM_SIZES[0]] },
  ];
  const warm = [random(256), random(256), new Float64Array(256 * 256)] as const;
  for (const loop of loops) for (let r = 0; r < 3; r++) loop.run(...warm, 256);
  const rows: Row[] = [];
  for (const loop of loops) {
    for (const n of loop.sizes) {
      const A = random(n);
      const B = random(n);
      const C = new Float64Array(n * n);
      const t: number[] = [];
      for (let r = 0; r < (n <= 1024 && loop.run === matmulIkj4 ? 3 : 1); r++) {
        const t0 = performance.now();
        loop.run(A, B, C, n);
        t.push(performance.now() - t0);
      }
      t.sort((a, b) => a - b);
      const row: Row = { kernel: loop.kernel, size: `n = ${n}`, precision: 'f64', ms: t[Math.floor(t.length / 2)], flops: 2 * n ** 3 };
      log(`  ${row.kernel} n = ${n}: ${row.ms.toFixed(0)} ms`);
      rows.push(row);
    }
  }
  return rows;
}

/** A Deq instance per sample, shared W (scaled so opnorm(W) is about 0.8: iterates stay bounded), U, b. */
function deqBatch(Deq: ModelClass, d: number, h: number, seed: number): BatchInstance[] {
  const rng = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const matrix = (r: number, c: number, scale: number) => Array.from({ length: r }, () => Array.from({ length: c }, () => scale * gauss()));
  // A Gaussian h x h matrix with entries of variance 1/h has spectral norm about 2.
  const W = matrix(h, h, 0.4 / Math.sqrt(h));
  const U = matrix(h, d, 1 / Math.sqrt(d));
  const b = Array.from({ length: h }, () => 0.1 * gauss());
  const base = new Deq({ W, U, b, u: Array.from({ length: d }, gauss) });
  return Array.from({ length: BATCH }, (_, i) => (i === 0 ? base : base.with({ u: Array.from({ length: d }, gauss) })));
}

/** Flops of one application of T per sample, checked against the spec's shape (see the header). */
function deqFlopsPerSample(spec: GpuMapSpec, h: number): number {
  const [stage] = spec.stages;
  const loops = stage.source.match(/\bfor\s*\(/g)?.length ?? 0;
  if (spec.stages.length !== 1 || loops !== 1 || stage.args.map((a) => a.kind).join() !== 'matrix,vector,vector') {
    throw new Error(`gflops: the Deq gpu spec is no longer one matvec stage (${spec.stages.length} stages, ${loops} loops); recount its flops`);
  }
  return 2 * h * h + 3 * h;
}

/** implc's rows at one (d, h): the f32 gpu.js application of T and the f64 per-sample map. */
function implcRows(Deq: ModelClass, d: number, h: number, log: (s: string) => void): { rows: Row[]; backend: string; check: string } {
  const insts = deqBatch(Deq, d, h, 1000 + h);
  const spec = insts[0].gpu;
  if (!spec) throw new Error('gflops: the generated Deq model has no gpu spec');
  const n = insts[0].n;
  const flops = BATCH * deqFlopsPerSample(spec, h);
  const size = `d = ${d}, h = ${h}, B = ${BATCH}`;

  // A start away from 0 (relu keeps many entries positive), the same for both precisions.
  const y0 = insts.map((inst) => {
    const y = Float64Array.from(inst.initial());
    const out = new Float64Array(n);
    for (let it = 0; it < 3; it++) {
      inst.map(y, out);
      y.set(out);
    }
    return y;
  });

  const map = BatchMap.plan(insts);
  if (typeof map === 'string') throw new Error(`gflops: no gpu path: ${map}`);
  let f32: Row;
  let backend: string;
  let check: string;
  try {
    let y: Float32Array[] = y0.map((v) => Float32Array.from(v));
    // Each call feeds T(y) back, as the f32 phase of solveBatch does (its convergence test left out).
    const ms = msPerCall(() => {
      y = map.apply(y);
    });
    backend = map.backend();
    f32 = { kernel: `implc gpu.js f32 (${backend.replace(/ \(gpu\.js mode '[^']*'(, run path )?/, ', ').replace(/\)$/, '').replace(/, $/, '')})`, size, precision: 'f32', ms, flops };

    // Sanity: one application from y0 in f32 against the f64 map.
    const t32 = map.apply(y0.map((v) => Float32Array.from(v)));
    let num = 0;
    let den = 0;
    const out = new Float64Array(n);
    insts.forEach((inst, b) => {
      inst.map(y0[b], out);
      for (let i = 0; i < n; i++) {
        num = Math.max(num, Math.abs(t32[b][i] - out[i]));
        den = Math.max(den, Math.abs(out[i]));
      }
    });
    check = `(${d}, ${h}): f32 T(y) vs f64 map, max-abs relative difference ${(num / den).toExponential(1)}`;
  } finally {
    map.destroy();
  }
  log(`  implc gpu.js f32 ${size}: ${f32.ms.toFixed(3)} ms per application; ${backend}`);

  // The f64 path: the generated map per sample, fed back, as solveInstance's plain iteration calls it.
  const ys = y0.map((v) => Float64Array.from(v));
  const outs = y0.map(() => new Float64Array(n));
  const ms64 = msPerCall(() => {
    for (let b = 0; b < BATCH; b++) {
      insts[b].map(ys[b], outs[b]);
      ys[b].set(outs[b]);
    }
  });
  const f64: Row = { kernel: 'implc f64 map (generated JS, per sample)', size, precision: 'f64', ms: ms64, flops };
  log(`  implc f64 map ${size}: ${ms64.toFixed(3)} ms per application`);

  // The f64 batched path: BatchMapF64 (the products for all samples at once, then the stage's
  // entry code), fed back, as solveBatchF64 iterates it.
  const batched = BatchMapF64.plan(insts);
  if (typeof batched === 'string') throw new Error(`gflops: no batched f64 path: ${batched}`);
  let Y = new Float64Array(BATCH * n);
  y0.forEach((v, b) => Y.set(v, b * n));
  let Y2 = new Float64Array(BATCH * n);
  // Sanity: one batched application from y0 against the per-sample map.
  batched.apply(Y, Y2);
  let diff = 0;
  const own = new Float64Array(n);
  insts.forEach((inst, b) => {
    inst.map(y0[b], own);
    for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs(Y2[b * n + i] - own[i]) / Math.max(1, Math.abs(own[i])));
  });
  if (!(diff < 1e-12)) throw new Error(`gflops: the batched f64 map differs from the per-sample map by ${diff}`);
  const msB = msPerCall(() => {
    batched.apply(Y, Y2);
    [Y, Y2] = [Y2, Y];
  });
  const f64b: Row = { kernel: `implc f64 batched map (BatchMapF64, products on ${batched.engine}, 1 thread)`, size, precision: 'f64', ms: msB, flops };
  log(`  implc f64 batched ${size}: ${msB.toFixed(3)} ms per application (${batched.engine})`);
  return { rows: [f32, f64, f64b], backend, check: `${check}; f64 batched vs per-sample map ${diff.toExponential(1)}` };
}

const gflops = (r: { ms: number; flops: number }): number => r.flops / (r.ms * 1e6);
const pct = (x: number, peak: number | undefined): string => (peak ? `${((100 * x) / peak).toPrecision(3)}%` : '-');

export async function benchGflops(log: (s: string) => void): Promise<string[]> {
  // 1. The peak: NumPy's BLAS, all its threads and one thread.
  const python = pythonWith(['numpy']);
  let peak: PeakJob | null = null;
  if (python) {
    log('NumPy matmul peak ...');
    peak = runPeer<PeakJob>(python, 'sgemm_peak.py', { sizes: GEMM_SIZES, dtypes: ['float32', 'float64'], repeats: 5 });
  }
  const best = (dtype: Gemm['dtype'], threads: number): number | undefined => {
    const g = peak?.results.filter((r) => r.dtype === dtype && r.threads === threads).map((r) => r.gflops);
    return g?.length ? Math.max(...g) : undefined;
  };
  const threads = peak?.threads ?? 1;
  const peaks = {
    f32: { all: best('float32', threads), one: best('float32', 1) },
    f64: { all: best('float64', threads), one: best('float64', 1) },
  };

  // 2. Plain JS f64 triple loop.
  log('plain JS f64 matmul ...');
  const rows: Row[] = [];
  if (peak) {
    for (const g of peak.results) {
      rows.push({ kernel: `NumPy matmul ${g.dtype === 'float32' ? 'f32 (sgemm)' : 'f64 (dgemm)'}, ${g.threads} thread${g.threads > 1 ? 's' : ''}`, size: `n = ${g.n}`, precision: g.dtype === 'float32' ? 'f32' : 'f64', ms: g.ms_best, flops: 2 * g.n ** 3 });
    }
  }
  rows.push(...jsMatmulRows(log));

  // 3. implc's batched kernels.
  const Deq = await compileModel('samples/deq.impl', 'Deq');
  const backends: string[] = [];
  const checks: string[] = [];
  for (const [d, h] of SIZES) {
    log(`implc DEQ map (d, h) = (${d}, ${h}) ...`);
    const r = implcRows(Deq, d, h, log);
    rows.push(...r.rows);
    backends.push(`(${d}, ${h}): ${r.backend}`);
    checks.push(r.check);
  }

  // 4. The table.
  const allLabel = peak ? `${threads} thread${threads > 1 ? 's' : ''}` : 'skipped';
  const out: string[] = [
    `| kernel | size | ms per application | GFLOP/s | % of NumPy peak (same precision, ${allLabel}) | % of NumPy 1-thread peak |`,
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  if (!peak) out.push(`| NumPy matmul f32 / f64 | n = ${GEMM_SIZES.join(', ')} | skipped | - | - | - |`);
  for (const r of rows) {
    const p = peaks[r.precision];
    const g = gflops(r);
    out.push(`| ${r.kernel} | ${r.size} | ${r.ms < 10 ? r.ms.toPrecision(3) : r.ms.toFixed(0)} | ${g.toPrecision(3)} | ${pct(g, p.all)} | ${pct(g, p.one)} |`);
  }
  out.push('');
  out.push(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  if (peak) {
    out.push(
      `peak: NumPy ${peak.numpy} on ${peak.blas}, ${peak.threads} BLAS thread${peak.threads > 1 ? 's' : ''}${peak.threads_known ? '' : ' (assumed: threadpoolctl missing)'} of ${peak.cpus} CPUs; ` +
        `best of 5 products after a warm-up, GFLOP/s = 2 n^3 / t; the % columns divide by the best size of the same precision ` +
        `(f32 ${peaks.f32.all?.toFixed(1)} / 1-thread ${peaks.f32.one?.toFixed(1) ?? '-'}, f64 ${peaks.f64.all?.toFixed(1)} / 1-thread ${peaks.f64.one?.toFixed(1) ?? '-'} GFLOP/s)`,
    );
  } else out.push('NumPy not found (Debian: `apt-get install python3-numpy`): peak rows skipped, no % columns.');
  out.push('ms per application: per matrix product for the matmul rows (NumPy best of 5; plain JS: the unrolled loop median of 3 at n = 1024 and one product at 2048, the plain loop one product; after warm-up products at n = 256)');
  out.push(
    `implc rows: one application of T(z) = relu(W z + U u + b) to a batch of ${BATCH} (samples/deq.impl), fed back as in the fixed-point iteration, ` +
      'median of 3 rounds of repeated calls after 2 warm-up calls; flops counted from the generated kernels: U u is hoisted (once per instance), so 2 h^2 + 3 h per sample (matvec, two adds, relu max), independent of d',
  );
  out.push('gpu.js f32: the stage kernels of the generated `gpu` spec built as solveBatch builds them (argument upload and result read-back included, convergence test not); backend:');
  out.push(...backends.map((b) => `  ${b}`));
  out.push('f64: the generated `map(y, out)` once per sample (allocating K.matmul / K.add / K.relu tensors), as solveInstance calls it');
  out.push(...checks.map((c) => `check ${c}`));
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  await benchGflops((s) => console.error(s)).then((lines) => console.log(lines.join('\n')));
}
