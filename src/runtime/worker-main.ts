/**
 * A worker of WorkerPool (./worker-pool.ts): loads one generated module, then answers batch
 * gradient jobs with `batchGradient` on its share of the batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { batchGradient, type BatchGradientOptions, type DerivableInstance } from './batch-gradient.ts';
import type { InputValue } from './inputs.ts';

interface Setup {
  modulePath: string;
  className: string;
}

export interface WorkerJob {
  id: number;
  shared: Record<string, InputValue>;
  samples: Record<string, InputValue>[];
  options: BatchGradientOptions;
}

const { modulePath, className } = workerData as Setup;
const loaded = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
const Model = loaded[className] as new (inputs: Record<string, InputValue>) => DerivableInstance;
if (typeof Model !== 'function') throw new Error(`worker: ${modulePath} has no class ${className}`);

parentPort!.on('message', (job: WorkerJob) => {
  try {
    const r = batchGradient((inputs) => new Model(inputs), job.shared, job.samples, job.options);
    parentPort!.postMessage({ id: job.id, ok: true, result: r }, [r.gradientSum.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
parentPort!.postMessage({ ready: true });
