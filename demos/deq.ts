/**
 * Demo `deq`: a deep equilibrium classifier on the digits data set, trained with the
 * implicit gradients implc generates (samples/deq_classifier.impl, MATH.md 4-6).
 *
 * Per mini-batch: one generated instance per sample (the shared parameters and the sample's
 * pixels and one-hot label), the forward solve of every sample together (by default in f64,
 * `solveBatchF64`: the batch's products in WebAssembly SIMD; with `forward: 'gpu.js'`, the
 * gpu.js f32 batched path `solveBatch` with an f64 polish of each sample), the runtime
 * certificate of each solution (the contraction guard opnorm(W) < 1, else the exact vertex
 * test), and the f64 implicit gradient of the softmax cross-entropy w.r.t. W, U, b, V, c
 * (`batchGradientAt`), averaged over the samples whose certificate is not `violated`. Adam
 * takes the step, then W is rescaled whenever a sound upper bound on its spectral norm
 * exceeds 0.95, so the guard keeps holding.
 */
import cliProgress from 'cli-progress';
import { fileURLToPath } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import { type ModelClass } from '../codegen/build.ts';
import { batchGradientAt, opnorm2Upper, solveBatch, solveBatchF64, solveInstance, type BatchInstance, type SolveInstanceResult } from '../src/runtime/index.ts';
import { mulberry32, permutation, readCsv } from './data.ts';
import type { Demo, DemoChart, DemoContext, DemoResult, DemoTable } from './demo.ts';

const MODEL_FILE = fileURLToPath(new URL('../samples/deq_classifier.impl', import.meta.url));
const DATA_FILE = fileURLToPath(new URL('../samples/data/digits.csv', import.meta.url));
const VEGA_LITE = 'https://vega.github.io/schema/vega-lite/v6.json';

/** One digit: pixels scaled to [0, 1], its label and one-hot code. */
export interface Sample {
  u: Float64Array;
  label: number;
  onehot: Float64Array;
}

/** The digits, split deterministically into train and test. */
export function loadDigits(seed = 7, testSize = 360): { train: Sample[]; test: Sample[]; classes: number; features: number } {
  const { header, rows } = readCsv(DATA_FILE);
  const features = header.length - 1;
  const classes = 1 + Math.max(...rows.map((r) => r[features]));
  const samples = rows.map((r): Sample => {
    const label = r[features];
    const onehot = new Float64Array(classes);
    onehot[label] = 1;
    return { u: Float64Array.from(r.slice(0, features), (v) => v / 16), label, onehot };
  });
  const order = permutation(samples.length, seed);
  const test = order.slice(0, testSize).map((i) => samples[i]);
  const train = order.slice(testSize).map((i) => samples[i]);
  return { train, test, classes, features };
}

/** Where each parameter lives in the flat vector theta (the generated model's param order). */
export interface ParamSlot {
  name: 'W' | 'U' | 'b' | 'V' | 'c';
  shape: number[];
  offset: number;
  size: number;
}

/** The compiled model and the sizes it is used at. */
export interface DeqNet {
  Model: ModelClass;
  /** Input features, hidden units, classes. */
  d: number;
  h: number;
  k: number;
  slots: ParamSlot[];
  /** Total parameter count. */
  m: number;
}

export async function loadDeqNet(d: number, h: number, k: number): Promise<DeqNet> {
  const Model = await compileModel(MODEL_FILE, 'DeqClassifier');
  const shapes: [ParamSlot['name'], number[]][] = [
    ['W', [h, h]],
    ['U', [h, d]],
    ['b', [h]],
    ['V', [k, h]],
    ['c', [k]],
  ];
  let offset = 0;
  const slots = shapes.map(([name, shape]): ParamSlot => {
    const size = shape.reduce((a, b) => a * b, 1);
    const slot = { name, shape, offset, size };
    offset += size;
    return slot;
  });
  return { Model, d, h, k, slots, m: offset };
}

export function slot(net: DeqNet, name: ParamSlot['name']): ParamSlot {
  return net.slots.find((s) => s.name === name)!;
}

export function view(net: DeqNet, theta: Float64Array, name: ParamSlot['name']): Float64Array {
  const s = slot(net, name);
  return theta.subarray(s.offset, s.offset + s.size);
}

/** Deterministic initialization: opnorm(W) about 0.5, moderate scores. */
export function initParams(net: DeqNet, seed: number): Float64Array {
  const rng = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const theta = new Float64Array(net.m);
  const fill = (name: ParamSlot['name'], scale: number): void => {
    const v = view(net, theta, name);
    for (let i = 0; i < v.length; i++) v[i] = scale * gauss();
  };
  fill('W', 0.25 / Math.sqrt(net.h));
  fill('U', 2 / Math.sqrt(net.d));
  fill('V', 1 / Math.sqrt(net.h));
  return theta;
}

/** One generated instance per sample, all with the same parameter values. */
export function instances(net: DeqNet, theta: Float64Array, samples: readonly Sample[]): BatchInstance[] {
  // The parameters are bound once per batch (with W^T and the guard bound): each sample's
  // instance derives from the first one, sharing everything but its data.
  if (samples.length === 0) return [];
  const W = { shape: [net.h, net.h], data: view(net, theta, 'W') };
  const U = { shape: [net.h, net.d], data: view(net, theta, 'U') };
  const V = { shape: [net.k, net.h], data: view(net, theta, 'V') };
  const b = view(net, theta, 'b').slice();
  const c = view(net, theta, 'c').slice();
  const base = new net.Model({ W, U, b, V, c, u: samples[0].u, onehot: samples[0].onehot });
  const out: BatchInstance[] = samples.map((s, i) => (i === 0 ? base : base.with({ u: s.u, onehot: s.onehot })));
  const params = out[0]?.params ?? [];
  net.slots.forEach((sl, i) => {
    const p = params[i];
    if (p && (p.name !== sl.name || p.offset !== sl.offset || p.size !== sl.size)) {
      throw new Error(`deq: the generated model's parameter ${i} is ${p.name} at ${p.offset} (${p.size}), expected ${sl.name} at ${sl.offset} (${sl.size})`);
    }
  });
  return out;
}

/** Class scores s = V z + c at the hidden state z. */
export function scores(net: DeqNet, theta: Float64Array, z: Float64Array): Float64Array {
  const V = view(net, theta, 'V');
  const c = view(net, theta, 'c');
  const s = Float64Array.from(c);
  for (let i = 0; i < net.k; i++) {
    let acc = 0;
    for (let j = 0; j < net.h; j++) acc += V[i * net.h + j] * z[j];
    s[i] += acc;
  }
  return s;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** How the per-sample certificates came out. */
export interface CertificateCounts {
  /** Certified by the contraction guard opnorm(W) < 1 on the actual W. */
  guard: number;
  /** Certified at run time by the exact row-wise vertex test (the guard failed). */
  runtime: number;
  /** No sound test applied, or the solve did not converge. */
  unverified: number;
  /** A singular element of the conservative Jacobian at the solution: no gradient. */
  violated: number;
}

export const zeroCounts = (): CertificateCounts => ({ guard: 0, runtime: 0, unverified: 0, violated: 0 });

function addCounts(into: CertificateCounts, c: CertificateCounts): void {
  into.guard += c.guard;
  into.runtime += c.runtime;
  into.unverified += c.unverified;
  into.violated += c.violated;
}

/** How the forward solves of a batch run: f64 batched (`solveBatchF64`) or gpu.js f32 with an f64 polish (`solveBatch`). */
export type ForwardPath = 'f64' | 'gpu.js';

/** Wall time per phase, in seconds. */
export interface PhaseTimes {
  /** Generated instances: binding the inputs, data-only values (U u, transposes). */
  construct: number;
  /** The f64 batched iteration (forward 'f64'). */
  forward: number;
  /** The gpu.js f32 batched iteration, kernel build included (forward 'gpu.js'). */
  f32: number;
  /** The f64 polish of every sample (Anderson from the f32 iterate; forward 'gpu.js'). */
  polish: number;
  /** The guard bound on W (once per mini-batch: W is shared). */
  guard: number;
  /** Runtime certificates and implicit gradients (batchGradientAt: per sample the certificate, the transposed solve, A^T w; the outer products once per batch). */
  backward: number;
  /** Adam and the projection of W. */
  update: number;
}

export const zeroTimes = (): PhaseTimes => ({ construct: 0, forward: 0, f32: 0, polish: 0, guard: 0, backward: 0, update: 0 });

function addTimes(into: PhaseTimes, t: Partial<PhaseTimes>): void {
  for (const key of Object.keys(t) as (keyof PhaseTimes)[]) into[key] += t[key] ?? 0;
}

export interface BatchGradient {
  /** Mean loss over the batch, at the f64 solutions. */
  loss: number;
  /** Mean implicit gradient over the contributing samples (zeros when none). */
  grad: Float64Array;
  contributing: number;
  correct: number;
  counts: CertificateCounts;
  backend: string;
  /** Why the batched path fell back or stopped early, if it did. */
  backendReason: string | null;
  /** Batched iterations of the forward pass (f64 plain iterations, or gpu.js f32 ones). */
  forwardIterations: number;
  /** The guard quantity's sound bound on the actual W (opnorm(W) upper bound). */
  guardBound: number | null;
  times: Partial<PhaseTimes>;
}

/** The forward solves of a batch by the chosen path, with what ran and how long each part took. */
function forwardBatch(insts: BatchInstance[], tol: number, path: ForwardPath): { solved: SolveInstanceResult[]; backend: string; reason: string | null; iterations: number; times: Partial<PhaseTimes> } {
  const t = performance.now();
  if (path === 'f64') {
    const r = solveBatchF64(insts, { tol });
    return { solved: r.results, backend: r.backend, reason: null, iterations: r.batchIterations, times: { forward: (performance.now() - t) / 1000 } };
  }
  const r = solveBatch(insts, { tol });
  const total = (performance.now() - t) / 1000;
  return { solved: r.polish, backend: r.backend, reason: r.reason, iterations: r.f32Iterations, times: { f32: r.f32Seconds, polish: total - r.f32Seconds } };
}

/**
 * The forward pass of a mini-batch (every sample together, `forward` picks the path), each
 * sample's runtime certificate, and the mean f64 implicit gradient of the loss (MATH.md 4:
 * d loss/dx = explicit part - A^T w, B^T w = d loss/dz), as `implc solve` attaches it: only
 * for a converged solve whose certificate is not `violated`.
 */
export function batchGradient(net: DeqNet, theta: Float64Array, samples: readonly Sample[], tol = 1e-10, forward: ForwardPath = 'f64'): BatchGradient {
  const times: Partial<PhaseTimes> = {};
  let t = performance.now();
  const lap = (key: keyof PhaseTimes): void => {
    const now = performance.now();
    times[key] = (times[key] ?? 0) + (now - t) / 1000;
    t = now;
  };
  const insts = instances(net, theta, samples);
  lap('construct');
  const fw = forwardBatch(insts, tol, forward);
  Object.assign(times, fw.times);
  t = performance.now();

  // The guard reads W only: the instances share one bound, computed here once.
  const guardBound = insts.length ? insts[0].guardBound() : null;
  lap('guard');

  const step = batchGradientAt(insts, fw.solved, 0);
  lap('backward');
  const counts = zeroCounts();
  let correct = 0;
  let loss = 0;
  step.samples.forEach((outcome, i) => {
    if (argmax(scores(net, theta, outcome.y)) === samples[i].label) correct++;
    loss += outcome.value;
    if (outcome.status === 'violated') counts.violated++;
    else if (outcome.status === 'not-converged' || outcome.status === 'unverified') counts.unverified++;
    else if (outcome.test === 'contraction guard') counts.guard++;
    else counts.runtime++;
  });
  const grad = step.gradientSum.length === net.m ? step.gradientSum : new Float64Array(net.m);
  if (step.contributing > 0) for (let j = 0; j < grad.length; j++) grad[j] /= step.contributing;
  return {
    loss: loss / Math.max(1, samples.length),
    grad,
    contributing: step.contributing,
    correct,
    counts,
    backend: fw.backend,
    backendReason: fw.reason,
    forwardIterations: fw.iterations,
    guardBound,
    times,
  };
}

/** The mean loss of the samples, each solved in f64 alone (no gpu path): the finite-difference reference. */
export function batchLossF64(net: DeqNet, theta: Float64Array, samples: readonly Sample[], tol = 1e-13): number {
  let loss = 0;
  for (const inst of instances(net, theta, samples)) {
    const r = solveInstance(inst, { tol });
    if (r.status !== 'converged') throw new Error(`deq: f64 solve ${r.status} (residual ${r.residual})`);
    loss += inst.outputs(r.y)[0];
  }
  return loss / samples.length;
}

/** Held-out accuracy and mean loss, forward through the batched path (no certificates needed). */
export function evaluate(net: DeqNet, theta: Float64Array, samples: readonly Sample[], tol = 1e-10, forward: ForwardPath = 'f64'): { accuracy: number; loss: number; backend: string } {
  const insts = instances(net, theta, samples);
  const solved = forwardBatch(insts, tol, forward);
  let correct = 0;
  let loss = 0;
  insts.forEach((inst, i) => {
    const { y } = solved.solved[i];
    loss += inst.outputs(y)[0];
    if (argmax(scores(net, theta, y)) === samples[i].label) correct++;
  });
  return { accuracy: correct / samples.length, loss: loss / samples.length, backend: solved.backend };
}

/** Rescales W so that a sound upper bound on its spectral norm is at most maxNorm; returns the bound after. */
export function projectW(net: DeqNet, theta: Float64Array, maxNorm: number): { before: number; after: number; scaled: boolean } {
  const W = view(net, theta, 'W');
  const matrix = { rows: net.h, cols: net.h, data: W };
  const before = opnorm2Upper(matrix);
  if (!(before > maxNorm)) return { before, after: before, scaled: false };
  // Aim a hair inside the radius: the bound of the rescaled W is recomputed with its own
  // rounding, and a W projected onto exactly maxNorm would be projected again at every step.
  const scale = (maxNorm * (1 - 1e-9)) / before;
  for (let i = 0; i < W.length; i++) W[i] *= scale;
  return { before, after: opnorm2Upper(matrix), scaled: true };
}

export interface DeqOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Learning rate multiplied by this after each epoch. */
  decay: number;
  /** Projection radius for opnorm(W). */
  maxNorm: number;
  seed: number;
  /** Use only the first trainSize / testSize samples of the split (for fast runs). */
  trainSize?: number;
  testSize?: number;
  tol: number;
  /** The forward path of training and evaluation (default 'f64'). */
  forward: ForwardPath;
}

export const FULL_OPTIONS: DeqOptions = {
  hidden: 64,
  epochs: 5,
  batchSize: 64,
  learningRate: 0.02,
  decay: 0.7,
  maxNorm: 0.95,
  seed: 1,
  tol: 1e-10,
  forward: 'f64',
};

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  testLoss: number;
  /** Training time of the epoch (forward, certificates, gradients, updates), wall seconds. */
  seconds: number;
  /** The same in CPU seconds of this process (the wall time includes waiting for a busy machine). */
  cpuSeconds: number;
  evalSeconds: number;
  counts: CertificateCounts;
  /** Largest guard bound seen by a certificate during the epoch, and after any projection. */
  maxGuardBound: number;
  maxBoundAfterProjection: number;
  projections: number;
  /** Mean batched forward iterations per step (f64 plain iterations, or gpu.js f32 ones). */
  meanForwardIterations: number;
}

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  counts: CertificateCounts;
  guardBound: number | null;
  boundAfter: number;
}

export interface DeqRun {
  options: DeqOptions;
  trainSize: number;
  testSize: number;
  parameters: number;
  initialTestAccuracy: number;
  initialTestLoss: number;
  epochs: EpochRecord[];
  steps: StepRecord[];
  counts: CertificateCounts;
  backends: string[];
  backendReasons: string[];
  times: PhaseTimes;
  evalSeconds: number;
  compileSeconds: number;
  theta: Float64Array;
}

/** Train the DEQ classifier; progress through ctx (a bar on a TTY, else a line per epoch). */
export async function runDeq(partial: Partial<DeqOptions> = {}, ctx: DemoContext = { log: () => undefined, tty: false }): Promise<DeqRun> {
  const options: DeqOptions = { ...FULL_OPTIONS, ...partial };
  const data = loadDigits();
  const train = data.train.slice(0, options.trainSize ?? data.train.length);
  const test = data.test.slice(0, options.testSize ?? data.test.length);
  const compileStart = performance.now();
  const net = await loadDeqNet(data.features, options.hidden, data.classes);
  const compileSeconds = (performance.now() - compileStart) / 1000;
  const theta = initParams(net, options.seed);
  projectW(net, theta, options.maxNorm);

  const evalStart = performance.now();
  const initial = evaluate(net, theta, test, options.tol, options.forward);
  let evalSeconds = (performance.now() - evalStart) / 1000;
  ctx.log(`deq: h = ${net.h}, ${net.m} parameters, ${train.length} train / ${test.length} test, batch ${options.batchSize}, ${options.epochs} epochs; initial test accuracy ${(100 * initial.accuracy).toFixed(1)}%`);

  // Adam state.
  const m1 = new Float64Array(net.m);
  const m2 = new Float64Array(net.m);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let adamStep = 0;

  const stepsPerEpoch = Math.ceil(train.length / options.batchSize);
  const bar = ctx.tty
    ? new cliProgress.SingleBar(
        {
          format: 'deq training [{bar}] {value}/{total} steps | epoch {epoch} | loss {loss} | {eta_formatted} left',
          hideCursor: true,
          clearOnComplete: true,
          // ctx.tty is about stdout, where the demo runner prints.
          stream: process.stdout,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(stepsPerEpoch * options.epochs, 0, { epoch: 1, loss: '-' });

  const epochs: EpochRecord[] = [];
  const steps: StepRecord[] = [];
  const counts = zeroCounts();
  const times = zeroTimes();
  const backends = new Set<string>();
  const reasons = new Set<string>();
  let lr = options.learningRate;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const order = permutation(train.length, options.seed * 1000 + epoch);
      const epochCounts = zeroCounts();
      let lossSum = 0;
      let correct = 0;
      let maxGuard = 0;
      let maxAfter = 0;
      let projections = 0;
      let forwardIterations = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const batch = order.slice(s * options.batchSize, (s + 1) * options.batchSize).map((i) => train[i]);
        const g = batchGradient(net, theta, batch, options.tol, options.forward);
        addTimes(times, g.times);
        backends.add(g.backend);
        if (g.backendReason) reasons.add(g.backendReason);
        addCounts(epochCounts, g.counts);
        lossSum += g.loss * batch.length;
        correct += g.correct;
        forwardIterations += g.forwardIterations;
        if (g.guardBound !== null) maxGuard = Math.max(maxGuard, g.guardBound);

        const t0 = performance.now();
        adamStep++;
        const c1 = 1 - beta1 ** adamStep;
        const c2 = 1 - beta2 ** adamStep;
        for (let j = 0; j < net.m; j++) {
          m1[j] = beta1 * m1[j] + (1 - beta1) * g.grad[j];
          m2[j] = beta2 * m2[j] + (1 - beta2) * g.grad[j] * g.grad[j];
          theta[j] -= (lr * (m1[j] / c1)) / (Math.sqrt(m2[j] / c2) + 1e-8);
        }
        const proj = projectW(net, theta, options.maxNorm);
        if (proj.scaled) projections++;
        maxAfter = Math.max(maxAfter, proj.after);
        times.update += (performance.now() - t0) / 1000;
        steps.push({ step: steps.length + 1, epoch, loss: g.loss, counts: g.counts, guardBound: g.guardBound, boundAfter: proj.after });
        bar?.increment(1, { epoch, loss: g.loss.toFixed(4) });
      }
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpuStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const e0 = performance.now();
      const ev = evaluate(net, theta, test, options.tol, options.forward);
      const evSeconds = (performance.now() - e0) / 1000;
      evalSeconds += evSeconds;
      addCounts(counts, epochCounts);
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / train.length,
        trainAccuracy: correct / train.length,
        testAccuracy: ev.accuracy,
        testLoss: ev.loss,
        seconds,
        cpuSeconds,
        evalSeconds: evSeconds,
        counts: epochCounts,
        maxGuardBound: maxGuard,
        maxBoundAfterProjection: maxAfter,
        projections,
        meanForwardIterations: forwardIterations / stepsPerEpoch,
      };
      epochs.push(record);
      lr *= options.decay;
      const line =
        `epoch ${epoch}/${options.epochs}: train loss ${record.trainLoss.toFixed(4)}, train acc ${(100 * record.trainAccuracy).toFixed(1)}%, ` +
        `test acc ${(100 * record.testAccuracy).toFixed(1)}%, ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s CPU); certificates ${epochCounts.guard} guard / ${epochCounts.runtime} runtime / ` +
        `${epochCounts.unverified} unverified / ${epochCounts.violated} violated; opnorm(W) <= ${maxAfter.toFixed(4)}`;
      if (bar) bar.update({ epoch, loss: record.trainLoss.toFixed(4) });
      else ctx.log(line);
    }
  } finally {
    bar?.stop();
  }
  if (bar) for (const e of epochs) ctx.log(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, test acc ${(100 * e.testAccuracy).toFixed(1)}%, ${e.seconds.toFixed(1)} s`);

  return {
    options,
    trainSize: train.length,
    testSize: test.length,
    parameters: net.m,
    initialTestAccuracy: initial.accuracy,
    initialTestLoss: initial.loss,
    epochs,
    steps,
    counts,
    backends: [...backends],
    backendReasons: [...reasons],
    times,
    evalSeconds,
    compileSeconds,
    theta,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const round = (v: number, digits = 4): number => Number(v.toFixed(digits));

/** The report of a run: summary, metrics, tables, Vega-Lite charts. */
export function deqResult(run: DeqRun, target = 0.95): DemoResult {
  const last = run.epochs[run.epochs.length - 1];
  const accuracy = last?.testAccuracy ?? run.initialTestAccuracy;
  const epochSeconds = run.epochs.reduce((a, e) => a + e.seconds, 0) / Math.max(1, run.epochs.length);
  const epochCpuSeconds = run.epochs.reduce((a, e) => a + e.cpuSeconds, 0) / Math.max(1, run.epochs.length);
  const backend = run.backends.join('; ');
  const c = run.counts;
  const certTotal = c.guard + c.runtime + c.unverified + c.violated;
  const maxBound = Math.max(0, ...run.steps.map((s) => s.boundAfter));
  const t = run.times;
  const trainSeconds = run.epochs.reduce((a, e) => a + e.seconds, 0);
  const perSampleMs = (v: number): string => `${((1000 * v) / Math.max(1, certTotal)).toFixed(2)} ms/sample`;

  const summary = [
    `test accuracy ${pct(accuracy)} on ${run.testSize} held-out digits after ${run.epochs.length} epochs (from ${pct(run.initialTestAccuracy)} at initialization); ` +
      `${accuracy >= target ? 'meets' : 'BELOW'} the ${pct(target)} target`,
    `DEQ z = relu(W z + U u + b), h = ${run.options.hidden}, ${run.parameters} parameters, ${run.trainSize} training digits, Adam on mini-batches of ${run.options.batchSize}`,
    `time per epoch ${epochSeconds.toFixed(1)} s wall, ${epochCpuSeconds.toFixed(1)} s CPU (${trainSeconds.toFixed(1)} s training, ${run.evalSeconds.toFixed(1)} s evaluation, ${run.compileSeconds.toFixed(1)} s compile)`,
    `forward backend: ${backend}${run.backendReasons.length ? ` (${run.backendReasons.join('; ')})` : ''}${run.options.forward === 'gpu.js' ? '; every sample polished in f64' : ''}`,
    `certificates over ${certTotal} training solves: ${c.guard} certified by the guard opnorm(W) < 1, ${c.runtime} by the runtime vertex test, ${c.unverified} unverified, ${c.violated} violated`,
    `projection kept opnorm(W) <= ${maxBound.toFixed(4)} after every step`,
    `time per sample: certificate and gradient ${perSampleMs(t.backward)}, ${run.options.forward === 'f64' ? `f64 batched forward ${perSampleMs(t.forward)}` : `gpu.js f32 batch ${perSampleMs(t.f32)}, f64 polish ${perSampleMs(t.polish)}`}, instance construction ${perSampleMs(t.construct)}`,
  ];

  const metrics: Record<string, number | string> = {
    test_accuracy: round(accuracy),
    initial_test_accuracy: round(run.initialTestAccuracy),
    train_loss_final: round(last?.trainLoss ?? NaN, 6),
    epochs: run.epochs.length,
    epoch_seconds: round(epochSeconds, 2),
    epoch_cpu_seconds: round(epochCpuSeconds, 2),
    backend,
    guard_certified: c.guard,
    runtime_certified: c.runtime,
    unverified: c.unverified,
    violated: c.violated,
    max_opnorm_W: round(maxBound, 6),
    accuracy_target: target,
    meets_target: accuracy >= target ? 'yes' : 'no',
    hidden: run.options.hidden,
    parameters: run.parameters,
  };

  const tables: DemoTable[] = [
    {
      title: 'Training per epoch',
      columns: ['epoch', 'train loss', 'train acc', 'test acc', 'test loss', 'seconds', 'CPU seconds', 'guard', 'runtime', 'unverified', 'violated', 'projections', 'max opnorm(W)', `${run.options.forward === 'f64' ? 'f64' : 'f32'} iters/batch`],
      rows: [
        [0, '', '', pct(run.initialTestAccuracy), round(run.initialTestLoss), '', '', '', '', '', '', '', '', ''],
        ...run.epochs.map((e) => [
          e.epoch,
          round(e.trainLoss),
          pct(e.trainAccuracy),
          pct(e.testAccuracy),
          round(e.testLoss),
          round(e.seconds, 2),
          round(e.cpuSeconds, 2),
          e.counts.guard,
          e.counts.runtime,
          e.counts.unverified,
          e.counts.violated,
          e.projections,
          round(e.maxBoundAfterProjection),
          round(e.meanForwardIterations, 1),
        ]),
      ],
    },
    {
      title: 'Where the training time goes',
      columns: ['phase', 'seconds', 'share'],
      rows: (
        [
          ['runtime certificates and implicit gradients (per sample: certificate, transposed solve, A^T w; outer products once per batch)', t.backward],
          ...(run.options.forward === 'f64'
            ? [['f64 batched forward iteration (WebAssembly SIMD products)', t.forward]]
            : [
                ['f64 polish (Anderson from the f32 iterate)', t.polish],
                ['gpu.js f32 batched iteration (kernel build included)', t.f32],
              ]),
          ['generated instances (binding inputs, U u, transposes)', t.construct],
          ['guard bound on W (once per batch)', t.guard],
          ['Adam and projection', t.update],
        ] as [string, number][]
      ).map(([phase, s]) => [phase, round(s, 2), pct(s / Math.max(1e-12, trainSeconds))]),
    },
  ];

  const perEpoch = [
    { epoch: 0, test_accuracy: run.initialTestAccuracy, test_loss: run.initialTestLoss },
    ...run.epochs.map((e) => ({ epoch: e.epoch, train_loss: e.trainLoss, test_loss: e.testLoss, test_accuracy: e.testAccuracy })),
  ];
  const lossValues = run.epochs.flatMap((e) => [
    { epoch: e.epoch, loss: e.trainLoss, split: 'train' },
    { epoch: e.epoch, loss: e.testLoss, split: 'test' },
  ]);
  const charts: DemoChart[] = [
    {
      title: 'Training loss per epoch',
      spec: {
        $schema: VEGA_LITE,
        description: 'Mean softmax cross-entropy of the DEQ classifier per epoch (train: during the epoch; test: after it)',
        width: 420,
        height: 240,
        data: { values: lossValues },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
          y: { field: 'loss', type: 'quantitative', title: 'cross-entropy', scale: { zero: false } },
          color: { field: 'split', type: 'nominal', title: 'split' },
        },
      },
    },
    {
      title: 'Test accuracy per epoch',
      spec: {
        $schema: VEGA_LITE,
        description: `Held-out accuracy on ${run.testSize} digits (epoch 0: at initialization); dashed: the ${pct(target)} target`,
        width: 420,
        height: 240,
        layer: [
          {
            data: { values: perEpoch.map((p) => ({ epoch: p.epoch, test_accuracy: p.test_accuracy })) },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
              y: { field: 'test_accuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '%' }, scale: { domain: [0, 1] } },
            },
          },
          {
            data: { values: [{ target }] },
            mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
            encoding: { y: { field: 'target', type: 'quantitative' } },
          },
        ],
      },
    },
    {
      title: 'Mini-batch loss per step',
      spec: {
        $schema: VEGA_LITE,
        description: 'Mean loss of each mini-batch at the parameters before its Adam step',
        width: 420,
        height: 200,
        data: { values: run.steps.map((s) => ({ step: s.step, loss: s.loss, epoch: s.epoch })) },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'step' },
          y: { field: 'loss', type: 'quantitative', title: 'batch cross-entropy' },
        },
      },
    },
  ];

  return { name: 'deq', title: 'Deep equilibrium classifier on digits', summary, metrics, tables, charts };
}

export const demo: Demo = {
  name: 'deq',
  title: 'Deep equilibrium classifier on digits',
  async run(ctx: DemoContext): Promise<DemoResult> {
    return deqResult(await runDeq(FULL_OPTIONS, ctx));
  },
};
