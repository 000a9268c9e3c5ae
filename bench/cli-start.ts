// Start-up time of the command line (issue 17, item 1): wall time of whole processes, as a user
// waits for them, beside `node -e 0` (Node's own start). The build (dist/, `npm run build`) is
// what an installed package runs; the sources through tsx (IMPLC_SOURCES=1) are the
// development path, measured as the baseline the build is meant to beat. Commands run in turns
// (one of each, then again) so that a change of load touches all alike; medians over the runs.
// bin/implc.js in a clone also checks that the build is newer than every source (a walk of
// src/, codegen/, grammar/, demos/: included here, absent in an installed package).
//
// Usage: npx tsx bench/cli-start.ts [--runs N]   (default 15)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs needs a whole number >= 1');

if (!existsSync(join(root, 'dist', '.built'))) throw new Error('no build: run `npm run build` first');
const out = mkdtempSync(join(os.tmpdir(), 'implc-cli-start-'));
const bin = join(root, 'bin', 'implc.js');

interface Case {
  name: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Goal in seconds (issue 17), for the build's rows. */
  goal?: number;
}

const sources = { ...process.env, IMPLC_SOURCES: '1' };
const cases: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'implc --version (build)', args: [bin, '--version'], goal: 0.3 },
  { name: 'implc check samples/lasso.impl (build)', args: [bin, 'check', 'samples/lasso.impl'], goal: 0.6 },
  { name: 'implc build samples/lasso.impl -o tmp (build)', args: [bin, 'build', 'samples/lasso.impl', '-o', out], goal: 1 },
  { name: 'implc --version (sources, tsx)', args: [bin, '--version'], env: sources },
  { name: 'implc check samples/lasso.impl (sources, tsx)', args: [bin, 'check', 'samples/lasso.impl'], env: sources },
  { name: 'implc build samples/lasso.impl -o tmp (sources, tsx)', args: [bin, 'build', 'samples/lasso.impl', '-o', out], env: sources },
];

/** One run's wall time in seconds; a failed command stops the bench. */
function time(c: Case): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, c.args, { cwd: root, env: c.env ?? process.env, encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${c.name}: exit ${r.status}\n${r.stderr}`);
  return s;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  // A warm-up round: the file system cache, tsx's transform cache.
  for (const c of cases) time(c);
  const loadBefore = os.loadavg();
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) cases.forEach((c, i) => times[i].push(time(c)));
  const loadAfter = os.loadavg();

  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  console.log(`implc ${version} command-line start, ${RUNS} runs each (medians; min-max), Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.availableParallelism()}`);
  console.log(`load average (1 min) ${loadBefore[0].toFixed(2)} before, ${loadAfter[0].toFixed(2)} after`);
  const width = Math.max(...cases.map((c) => c.name.length));
  cases.forEach((c, i) => {
    const ts = times[i];
    const m = median(ts);
    const goal = c.goal === undefined ? '' : `  goal < ${c.goal} s: ${m < c.goal ? 'met' : 'NOT met'}`;
    console.log(`${c.name.padEnd(width)}  ${m.toFixed(3)} s  (${Math.min(...ts).toFixed(3)}-${Math.max(...ts).toFixed(3)})${goal}`);
  });
} finally {
  rmSync(out, { recursive: true, force: true });
}
