import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A Python that has every module in `modules`, or null (the peer is then skipped). */
export function pythonWith(modules: readonly string[]): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
    if (r.status === 0) return python;
  }
  return null;
}

/** Run a peer script with a JSON job; it prints one JSON object on its last line. */
export function runPeer<T>(python: string, script: string, job: unknown): T {
  const r = spawnSync(python, [join('bench/peers', script)], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Matrices for peers, as raw little-endian float64 files (JSON would be hundreds of MB). */
export function writeMatrix(name: string, rows: number, cols: number, data: Float64Array): { path: string; rows: number; cols: number } {
  mkdirSync('.build/bench', { recursive: true });
  const path = join('.build/bench', `${name}.f64`);
  writeFileSync(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return { path, rows, cols };
}

/** Median of repeated timings in milliseconds, after `warmup` runs and, if longer, `warmupMs` of them. */
export function timeMs(run: () => void, repeats = 3, warmup = 1, warmupMs = 0): number {
  const start = performance.now();
  for (let i = 0; i < warmup || performance.now() - start < warmupMs; i++) run();
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    run();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}
