// The compiler's own speed: check and explain per sample, in process (median of repeated
// runs after a warm-up), and the cold `implc check` command over every sample.
// Run: npm run bench
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { emitAll } from '../codegen/build.ts';
import { frontEnd } from '../src/compile.ts';
import { analyzeFile } from '../src/pipeline.ts';
import { timeMs } from './peers.ts';

const files = [
  ...readdirSync('samples').filter((f) => f.endsWith('.impl')).map((f) => `samples/${f}`),
  ...readdirSync('samples/pathological').filter((f) => f.endsWith('.impl')).map((f) => `samples/pathological/${f}`),
];

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
console.log('| sample | check (ms) | explain (ms) | build (ms) |');
console.log('| --- | ---: | ---: | ---: |');
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const check = timeMs(() => frontEnd(f, text), 15, 3);
  const explain = timeMs(() => analyzeFile(f, text), 15, 3);
  // build = explain + code generation of every model's module (ts-morph structure + kernels).
  const build = timeMs(() => emitAll(analyzeFile(f, text).analyses, f), 7, 3);
  console.log(`| ${f} | ${check.toFixed(2)} | ${explain.toFixed(2)} | ${build.toFixed(2)} |`);
}

const cold: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/implc.js', 'check', ...files], { encoding: 'utf8' });
  cold.push(performance.now() - t0);
  if (r.status !== 0) throw new Error(`implc check failed: ${r.stdout}${r.stderr}`);
}
cold.sort((a, b) => a - b);
console.log(`\ncold \`implc check\` over all ${files.length} samples (process start included), median of 5: ${cold[2].toFixed(0)} ms`);

const coldBuild: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/implc.js', 'build', 'samples/deq.impl', '-o', os.tmpdir()], { encoding: 'utf8' });
  coldBuild.push(performance.now() - t0);
  if (r.status !== 0) throw new Error(`implc build failed: ${r.stdout}${r.stderr}`);
}
coldBuild.sort((a, b) => a - b);
console.log(`cold \`implc build samples/deq.impl\` (process start and ts-morph load included), median of 3: ${coldBuild[1].toFixed(0)} ms`);

const t0 = performance.now();
const all = spawnSync(process.execPath, ['bin/implc.js', 'build', ...files, '-o', os.tmpdir()], { encoding: 'utf8' });
if (all.status !== 0) throw new Error(`implc build failed: ${all.stdout}${all.stderr}`);
const allMs = performance.now() - t0;
console.log(`cold \`implc build\` of all ${files.length} samples in one command: ${allMs.toFixed(0)} ms, ${(allMs / files.length).toFixed(0)} ms per sample`);
