/**
 * Batch gradients on every core: a pool of worker threads, each with the generated module
 * loaded, splits a batch into contiguous shares and runs `batchGradient` on each (the same
 * function as in the calling thread, so the sums agree to rounding in the order of addition).
 * Start the pool once (each worker pays Node, tsx and the module's import, about a second)
 * and reuse it for every step; `close()` ends the threads.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackwardReport, BatchGradientOptions, BatchGradientResult } from './batch-gradient.ts';
import type { InputValue } from './inputs.ts';
import type { WorkerJob } from './worker-main.ts';
import { SOLVE_METHODS } from './solve.ts';
import { SolverError } from './status.ts';
import { describeValue, requireChoice, requireInteger, requireOptions, requireTolerance } from './validate.ts';

interface Pending {
  resolve: (r: BatchGradientResult) => void;
  reject: (e: Error) => void;
}

/** What a pool needs of a generated class: its module file and its name. */
export interface PoolableClass {
  readonly name: string;
  readonly modulePath?: string;
}

export class WorkerPool {
  readonly threads: number;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly ready: Promise<void>;
  private nextId = 0;
  private closed = false;
  private broken: Error | null = null;

  /** `threads` defaults to the machine's available parallelism. */
  constructor(model: PoolableClass, threads = os.availableParallelism()) {
    if (typeof model !== 'function' && (typeof model !== 'object' || model === null)) {
      throw new SolverError('invalid-option', `WorkerPool: expected a generated model class, got ${describeValue(model)}`);
    }
    if (!(typeof threads === 'number' && Number.isInteger(threads) && threads >= 1)) {
      throw new SolverError('invalid-option', `WorkerPool: threads must be an integer >= 1, got ${describeValue(threads)}`);
    }
    if (!model.modulePath) throw new SolverError('invalid-option', `WorkerPool: class ${model.name} has no modulePath (load it with compileModel or loadModule)`);
    this.threads = threads;
    const boot = new URL('./worker-boot.mjs', import.meta.url);
    const starts: Promise<void>[] = [];
    for (let t = 0; t < this.threads; t++) {
      const w = new Worker(boot, { workerData: { modulePath: model.modulePath, className: model.name } });
      starts.push(
        new Promise<void>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          w.once('error', onError);
          w.once('message', (m: { ready?: boolean }) => {
            w.off('error', onError);
            if (m.ready) resolve();
            else reject(new Error('worker: unexpected first message'));
          });
        }),
      );
      this.workers.push(w);
    }
    this.ready = Promise.all(starts).then(() => {
      for (const w of this.workers) {
        w.on('message', (m: { id: number; ok: boolean; result?: BatchGradientResult; error?: string }) => {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          if (m.ok && m.result) p.resolve(m.result);
          else p.reject(new SolverError('invalid-option', `worker: ${m.error ?? 'no result'}`));
        });
        // A worker that dies takes the pool with it: later calls fail instead of waiting forever.
        w.on('error', (e) => this.fail(e));
        w.on('exit', (code) => {
          if (!this.closed) this.fail(new Error(`worker exited with code ${code}`));
        });
      }
    });
    // A failed start surfaces in the next call (which awaits `ready`), not as an unhandled rejection.
    this.ready.catch((e: Error) => {
      this.broken ??= e;
    });
  }

  /**
   * `batchGradient` over the samples, split over the threads: the gradient sum of the
   * contributing samples and every sample's outcome, in order.
   */
  async batchGradient(shared: Record<string, InputValue>, samples: readonly Record<string, InputValue>[], options: BatchGradientOptions = {}): Promise<BatchGradientResult> {
    if (this.closed) throw new SolverError('invalid-option', 'WorkerPool: closed');
    if (this.broken) throw new SolverError('invalid-option', `WorkerPool: a worker failed: ${this.broken.message}`);
    // Checked here, in this thread, so that misuse is the same typed error as batchGradient's.
    options = requireOptions('WorkerPool.batchGradient', options, ['output', 'method', 'tol', 'maxIter', 'backward', 'backwardTol', 'phantomSteps', 'backend', 'gpuRefinement']);
    if (typeof shared !== 'object' || shared === null || Array.isArray(shared)) throw new SolverError('invalid-option', `WorkerPool.batchGradient: shared inputs must be an object, got ${describeValue(shared)}`);
    if (!Array.isArray(samples)) throw new SolverError('invalid-option', `WorkerPool.batchGradient: samples must be an array of input objects, got ${describeValue(samples)}`);
    if (options.method !== undefined) requireChoice('WorkerPool.batchGradient: method', options.method, SOLVE_METHODS);
    if (options.tol !== undefined) requireTolerance('WorkerPool.batchGradient: tol', options.tol);
    if (options.maxIter !== undefined) requireInteger('WorkerPool.batchGradient: maxIter', options.maxIter, 1);
    await this.ready;
    const shares = Math.min(this.threads, samples.length);
    if (shares === 0) return { gradientSum: new Float64Array(0), contributing: 0, samples: [], backward: mergeReports([]) };
    const size = Math.ceil(samples.length / shares);
    const parts = await Promise.all(
      Array.from({ length: shares }, (_, t) => this.run(this.workers[t], { id: this.nextId++, shared, samples: samples.slice(t * size, (t + 1) * size), options })),
    );
    const gradientSum = new Float64Array(Math.max(...parts.map((p) => p.gradientSum.length)));
    for (const p of parts) for (let j = 0; j < p.gradientSum.length; j++) gradientSum[j] += p.gradientSum[j];
    return { gradientSum, contributing: parts.reduce((a, p) => a + p.contributing, 0), samples: parts.flatMap((p) => p.samples), backward: mergeReports(parts.map((p) => p.backward)) };
  }

  /** Ends the worker threads; pending jobs are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('WorkerPool: closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private run(worker: Worker, job: WorkerJob): Promise<BatchGradientResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      worker.postMessage(job);
    });
  }

  private fail(e: Error): void {
    this.broken ??= e;
    this.failAll(e);
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** The backward reports of the threads' shares as one: counts summed, worst residuals and bounds. */
function mergeReports(parts: readonly BackwardReport[]): BackwardReport {
  if (parts.length === 0) return { method: 'none (empty batch)', implicit: true, batched: 0, perSample: 0, iterations: 0, maxRelativeResidual: null, maxErrorBound: null, reason: null, backend: 'none' };
  const max = (xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : Math.max(...(xs as number[])));
  const batched = parts.filter((p) => p.batched > 0);
  return {
    method: [...new Set(parts.map((p) => p.method))].join(' + '),
    implicit: parts.every((p) => p.implicit),
    batched: parts.reduce((a, p) => a + p.batched, 0),
    perSample: parts.reduce((a, p) => a + p.perSample, 0),
    iterations: Math.max(...parts.map((p) => p.iterations)),
    maxRelativeResidual: batched.length ? max(batched.map((p) => p.maxRelativeResidual)) : null,
    maxErrorBound: batched.length ? max(batched.map((p) => p.maxErrorBound)) : null,
    reason: parts.find((p) => p.reason !== null)?.reason ?? null,
    backend: [...new Set(parts.map((p) => p.backend))].join(' + '),
  };
}
