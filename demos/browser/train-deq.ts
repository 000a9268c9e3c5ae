/**
 * A DEQ trained in a web page (issue 14): samples/deq_classifier.impl's generated module and
 * the runtime, bundled by demos/browser/bundle.ts, run a few SGD steps on a synthetic batch;
 * every backward pass solves the adjoint systems on gpu.js kernels (WebGL2 in the page's `gpu`
 * mode), refined to f64 accuracy. At the first step it also compares, against the f64 CPU
 * reference (per-sample LU): the f32 gpu.js backward alone (no refinement) and the refined one.
 * The result is written as JSON into <pre id="result"> (headless Chromium's --dump-dom reads it).
 */
// Resolved by the bundler: the generated module of samples/deq_classifier.impl.
import { DeqClassifier } from 'implc-browser-model';
import { batchGradientAt, solveBatchF64, type BatchInstance } from 'implc/runtime';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The part of the DOM the page uses (the compiler's lib has no DOM types). */
interface PageDocument {
  getElementById(id: string): { textContent: string | null } | null;
  createElement(tag: 'canvas'): { getContext(kind: 'webgl2'): unknown };
}
const page = (globalThis as { document?: PageDocument }).document;

interface Report {
  gpuMode: string;
  webgl2: boolean;
  backend: string;
  losses: number[];
  relErrF32: number;
  relErrRefined: number;
  errorBoundF32: number | null;
  errorBoundRefined: number | null;
  ms: number;
}

const maxRel = (a: Float64Array, b: Float64Array): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
};

export function run(options: { d?: number; h?: number; k?: number; batch?: number; steps?: number } = {}): Report {
  const { d = 6, h = 24, k = 3, batch = 12, steps = 4 } = options;
  const t0 = performance.now();
  const rng = mulberry32(2026);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const mat = (r: number, c: number, s: number) => Float64Array.from({ length: r * c }, () => s * gauss());
  // W scaled to spectral norm 0.7 (power iteration on W^T W).
  const W = mat(h, h, 1);
  let x = new Float64Array(h).fill(1);
  let sigma = 1;
  for (let it = 0; it < 300; it++) {
    const y = new Float64Array(h);
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) y[i] += W[i * h + j] * x[j];
    const z = new Float64Array(h);
    for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) z[j] += W[i * h + j] * y[i];
    const nz = Math.hypot(...z);
    sigma = Math.sqrt(nz / Math.hypot(...x));
    x = z.map((v) => v / nz);
  }
  for (let i = 0; i < W.length; i++) W[i] *= 0.7 / sigma;
  const U = mat(h, d, 1 / Math.sqrt(d));
  const V = mat(k, h, 1 / Math.sqrt(h));
  const b = new Float64Array(h);
  const c = new Float64Array(k);
  const means = Array.from({ length: k }, () => Float64Array.from({ length: d }, gauss));
  const samples = Array.from({ length: batch }, (_, i) => {
    const label = i % k;
    const onehot = new Float64Array(k);
    onehot[label] = 1;
    return { u: Float64Array.from(means[label], (m) => m + 0.5 * gauss()), onehot };
  });
  const theta = { W, U, b, V, c };
  const make = (): BatchInstance[] => {
    const base = new DeqClassifier({ W: { shape: [h, h], data: theta.W }, U: { shape: [h, d], data: theta.U }, b: theta.b, V: { shape: [k, h], data: theta.V }, c: theta.c, u: samples[0].u, onehot: samples[0].onehot });
    return samples.map((s, i) => (i === 0 ? base : base.with({ u: s.u, onehot: s.onehot }))) as unknown as BatchInstance[];
  };
  const losses: number[] = [];
  let report: Report | null = null;
  for (let step = 0; step < steps; step++) {
    const insts = make();
    const solved = solveBatchF64(insts, { tol: 1e-12 }).results;
    const g = batchGradientAt(insts, solved, 0, { backward: 'adjoint', backend: 'gpu.js' });
    if (g.contributing !== batch) throw new Error(`step ${step}: ${batch - g.contributing} samples without a gradient (${g.samples.map((s) => s.status).join(', ')})`);
    if (!g.backward.backend.includes('gpu.js')) throw new Error(`step ${step}: the backward ran on ${g.backward.backend} (${g.backward.reason})`);
    losses.push(g.samples.reduce((a, s) => a + s.value, 0) / batch);
    if (step === 0) {
      const ref = batchGradientAt(insts, solved, 0, { backward: 'per-sample' });
      const f32 = batchGradientAt(insts, solved, 0, { backward: 'adjoint', backend: 'gpu.js', gpuRefinement: false });
      report = {
        // The mode gpu.js reports for the kernels that ran (GpuTransposedB.backend()).
        gpuMode: g.backward.backend.match(/gpu\.js mode '([^']+)'/)?.[1] ?? 'unknown',
        webgl2: page !== undefined && !!page.createElement('canvas').getContext('webgl2'),
        backend: g.backward.backend,
        losses,
        relErrF32: maxRel(f32.gradientSum, ref.gradientSum),
        relErrRefined: maxRel(g.gradientSum, ref.gradientSum),
        errorBoundF32: f32.backward.maxErrorBound,
        errorBoundRefined: g.backward.maxErrorBound,
        ms: 0,
      };
    }
    // SGD on the mean gradient (the parameters' layout: W, U, b, V, c).
    const lr = 0.5 / batch;
    let at = 0;
    for (const t of [theta.W, theta.U, theta.b, theta.V, theta.c]) {
      for (let i = 0; i < t.length; i++) t[i] -= lr * g.gradientSum[at + i];
      at += t.length;
    }
  }
  report!.ms = performance.now() - t0;
  return report!;
}

if (page !== undefined) {
  const out = page.getElementById('result');
  try {
    const r = run();
    if (out) out.textContent = JSON.stringify(r);
  } catch (e) {
    if (out) out.textContent = JSON.stringify({ error: (e as Error).message, stack: (e as Error).stack });
  }
}
