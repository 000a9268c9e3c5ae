/**
 * The long soundness run of issue 13 (Build item 4): random models from the registry
 * (test/analysis/random-models.ts), each compiled, solved at random inputs and at a solution
 * constructed on a kink, and every `certified` or `guarded` claim brute-forced over the
 * conservative Jacobian at the solution (tie vertices, hull points, Clarke samples).
 *
 *   npx tsx scripts/soundness.ts                       # 10^4 models, seed 1
 *   npx tsx scripts/soundness.ts --count 2000 --seed 7
 *
 * Prints a markdown table: models per compile-time verdict and per run-time verdict (over the
 * trials), the unsound count, and per family the share of models reaching each compile-time
 * verdict and the share of trials certified at run time. Unsound cases are written in full
 * (model, inputs, singular B) to scratch/soundness/ and listed on stderr. The generated modules
 * this run puts in the module cache are deleted after each model.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkModel, describeUnsound, FAMILIES, randomModels, type Family, type ModelReport } from '../test/analysis/random-models.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
  },
});
const count = Math.floor(Number(opts.count));
const seed = Math.floor(Number(opts.seed));
if (!(count >= 1) || !Number.isFinite(seed)) throw new Error('usage: npx tsx scripts/soundness.ts [--count N] [--seed S]');

const t0 = performance.now();
const { models, discarded } = randomModels(seed, count);
const COMPILE = ['certified', 'guarded', 'runtime', 'unverified', 'violated'] as const;
const RUN = ['certified', 'unverified', 'violated', 'not-converged', 'error'] as const;
const compileCounts = new Map<string, number>();
const runCounts = new Map<string, number>();
const perFamily = new Map<Family, { models: number; compile: Map<string, number>; trials: number; runCertified: number; claims: number; withTies: number }>();
for (const f of FAMILIES) perFamily.set(f, { models: 0, compile: new Map(), trials: 0, runCertified: 0, claims: 0, withTies: 0 });
const unsound: ModelReport[] = [];
let claims = 0;
let claimsWithTies = 0;
let kinkTrials = 0;
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

for (const [i, m] of models.entries()) {
  let r: ModelReport;
  try {
    r = await checkModel(m, seed * 100_003 + i);
  } catch (e) {
    process.stderr.write(`${m.name}: ${(e as Error).message}\n${m.text}\n`);
    bump(compileCounts, 'error');
    continue;
  }
  rmSync(r.modulePath, { force: true });
  const fam = perFamily.get(m.family)!;
  fam.models++;
  bump(compileCounts, r.compileVerdict);
  bump(fam.compile, r.compileVerdict);
  for (const t of r.trials) {
    bump(runCounts, t.verdict);
    fam.trials++;
    if (t.verdict === 'certified') fam.runCertified++;
    if (t.kind === 'kink') kinkTrials++;
    if (t.brute) {
      claims++;
      fam.claims++;
      if (t.brute.ties.length) {
        claimsWithTies++;
        fam.withTies++;
      }
    }
  }
  if (r.unsound.length) {
    unsound.push(r);
    for (const t of r.unsound) process.stderr.write(`${describeUnsound(r, t)}\n\n`);
  }
  if ((i + 1) % 500 === 0) process.stderr.write(`${i + 1}/${models.length} models, ${unsound.length} unsound, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

if (unsound.length) {
  const dir = join(root, 'scratch', 'soundness');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `unsound-seed${seed}.txt`);
  writeFileSync(file, unsound.flatMap((r) => r.unsound.map((t) => describeUnsound(r, t))).join('\n\n') + '\n');
  process.stderr.write(`unsound cases written to ${file}\n`);
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
const out: string[] = [];
out.push(`Soundness run: ${models.length} models (seed ${seed}; ${discarded.length} generated models discarded by \`implc check\`), ${((performance.now() - t0) / 1000).toFixed(0)} s.`, '');
out.push('| compile-time verdict | models |', '| --- | ---: |');
for (const v of [...COMPILE, 'error']) if (compileCounts.get(v) || COMPILE.includes(v as never)) out.push(`| ${v} | ${compileCounts.get(v) ?? 0} |`);
out.push('', `| run-time verdict (${[...runCounts.values()].reduce((a, b) => a + b, 0)} trials, ${kinkTrials} at constructed kinks) | trials |`, '| --- | ---: |');
for (const v of RUN) out.push(`| ${v} | ${runCounts.get(v) ?? 0} |`);
out.push(
  '',
  `Claims brute-forced (run-time certified, compile-time certified, or guarded with the guard holding): ${claims}, ${claimsWithTies} of them with ties at the solution.`,
  `**Unsound: ${unsound.reduce((a, r) => a + r.unsound.length, 0)} trials in ${unsound.length} models.**`,
  '',
);
out.push(`| family | models | ${COMPILE.map((v) => `compile ${v}`).join(' | ')} | run-time certified | claims with ties |`);
out.push(`| --- | ---: | ${COMPILE.map(() => '---:').join(' | ')} | ---: | ---: |`);
for (const [f, s] of perFamily) {
  out.push(`| ${f} | ${s.models} | ${COMPILE.map((v) => pct(s.compile.get(v) ?? 0, s.models)).join(' | ')} | ${pct(s.runCertified, s.trials)} | ${s.withTies} |`);
}
console.log(out.join('\n'));
