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
 * verdict and the share of trials certified at run time. Then an empirical proxy for the
 * verdict strength of issue 13: each model's reference class from brute force at --draws random
 * inputs and --kink-draws constructed kinks (default 20 and 4), and per family the share of
 * models whose compile-time verdict is that class's strongest. Unsound cases are written in full
 * (model, inputs, singular B) to scratch/soundness/ and listed on stderr. The generated modules
 * this run puts in the module cache are deleted after each model.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkModel, describeUnsound, FAMILIES, randomModels, reachesStrongest, referenceClass, type Family, type ModelReport, type ReferenceClass } from '../test/analysis/random-models.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    draws: { type: 'string', default: '20' },
    'kink-draws': { type: 'string', default: '4' },
  },
});
const count = Math.floor(Number(opts.count));
const seed = Math.floor(Number(opts.seed));
const draws = Math.floor(Number(opts.draws));
const kinkDraws = Math.floor(Number(opts['kink-draws']));
if (!(count >= 1) || !Number.isFinite(seed) || !(draws >= 0) || !(kinkDraws >= 0)) {
  throw new Error('usage: npx tsx scripts/soundness.ts [--count N] [--seed S] [--draws D] [--kink-draws K]');
}

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
/**
 * Verdict strength (issue 13's "strongest verdict that can be proved"): per family, models per
 * reference class from brute force over many inputs, how many reach the class's strongest
 * verdict, and how many are at least `runtime` (not `unverified`); and over all models, the
 * class by compile-time verdict table.
 */
const CLASSES: ReferenceClass[] = ['always-invertible-seen', 'singular-seen', 'no-solution-seen'];
type Strength = { classes: Map<string, number>; compared: number; strongest: number; notUnverified: number };
const newStrength = (): Strength => ({ classes: new Map(), compared: 0, strongest: 0, notUnverified: 0 });
const strength = new Map<Family | 'all', Strength>([['all', newStrength()], ...FAMILIES.map((f) => [f, newStrength()] as const)]);
const crossTable = new Map<string, number>();
const violatedUnseen: string[] = [];
const certifiedSingular: string[] = [];
/** Of those, the ones whose claim holds at the witness (certified, or guarded with the guard below 1): unsound. */
const claimAtWitness: string[] = [];
let strengthSolutions = 0;
let strengthDraws = 0;
let strengthTies = 0;

for (const [i, m] of models.entries()) {
  let r: ModelReport;
  try {
    r = await checkModel(m, seed * 100_003 + i);
  } catch (e) {
    process.stderr.write(`${m.name}: ${(e as Error).message}\n${m.text}\n`);
    bump(compileCounts, 'error');
    continue;
  }
  const ref = referenceClass(m, r.Model, (seed * 100_003 + i) ^ 0x5bd1e995, draws, kinkDraws);
  rmSync(r.modulePath, { force: true });
  strengthSolutions += ref.solutions;
  strengthDraws += ref.draws;
  strengthTies += ref.withTies;
  bump(crossTable, `${ref.cls}|${r.compileVerdict}`);
  const hit = reachesStrongest(ref.cls, r.compileVerdict, r.dataDecided);
  for (const s of [strength.get('all')!, strength.get(m.family)!]) {
    bump(s.classes, ref.cls);
    if (hit === null) continue;
    s.compared++;
    if (hit) s.strongest++;
    if (r.compileVerdict !== 'unverified') s.notUnverified++;
  }
  if (ref.cls === 'always-invertible-seen' && r.compileVerdict === 'violated') violatedUnseen.push(m.name);
  if (ref.cls === 'singular-seen' && (r.compileVerdict === 'certified' || r.compileVerdict === 'guarded')) {
    certifiedSingular.push(m.name);
    const w = ref.witness!;
    const claims = r.compileVerdict === 'certified' || (w.guard !== null && w.guard < 1);
    if (claims) claimAtWitness.push(m.name);
    process.stderr.write(`${claims ? 'UNSOUND ' : ''}${m.name} (${m.family}) compile-time ${r.compileVerdict}, guard bound ${w.guard}, singular at inputs ${JSON.stringify(w.inputs)} solution ${JSON.stringify(w.solution)}: ${w.finding.why}\n${m.text}\n`);
  }
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

const all = strength.get('all')!;
out.push(
  '',
  `### Verdict strength (empirical proxy)`,
  '',
  `Reference class per model by brute force, independent of every verdict: ${draws} random input draws and ${kinkDraws} inputs constructed with a solution on kinks, ` +
    `${strengthSolutions} of ${strengthDraws} draws solved, each solution's conservative set brute-forced (${strengthTies} with ties). ` +
    '`singular-seen`: some sampled solution has a singular B in its set, so a counterexample exists and `violated` is the strongest sound verdict. ' +
    '`always-invertible-seen`: no sampled B singular, strongest taken as `certified`/`guarded` (compile-time `violated` also counts: it carries a checked counterexample the sample missed). ' +
    'Where B reads a matrix input and the exact row-wise test decides at run time (a box QP\'s Q), `runtime` or `guarded` counts as the strongest whatever the class: which matrices make B singular is the data\'s business. ' +
    '`no-solution-seen` models are left out of the shares.',
  '',
  `| family | models | always-invertible-seen | singular-seen | no-solution-seen | compared | reach strongest | at least runtime (not unverified) |`,
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
);
for (const [f, s] of strength) {
  const n = CLASSES.reduce((a, c) => a + (s.classes.get(c) ?? 0), 0);
  const name = f === 'all' ? '**all**' : f;
  out.push(`| ${name} | ${n} | ${CLASSES.map((c) => s.classes.get(c) ?? 0).join(' | ')} | ${s.compared} | ${pct(s.strongest, s.compared)} | ${pct(s.notUnverified, s.compared)} |`);
}
out.push('', `| reference class \\ compile-time verdict | ${COMPILE.join(' | ')} |`, `| --- | ${COMPILE.map(() => '---:').join(' | ')} |`);
for (const c of CLASSES) out.push(`| ${c} | ${COMPILE.map((v) => crossTable.get(`${c}|${v}`) ?? 0).join(' | ')} |`);
out.push(
  '',
  `Compile-time \`violated\` with no singular B seen: ${violatedUnseen.length}${violatedUnseen.length ? ` (${violatedUnseen.slice(0, 20).join(', ')})` : ''}. ` +
    `Compile-time \`certified\`/\`guarded\` on a singular-seen model: ${certifiedSingular.length}${certifiedSingular.length ? ` (${certifiedSingular.slice(0, 20).join(', ')}; a guarded one is sound when its guard fails at the witness, see stderr)` : ''}; ` +
    `of these, claiming invertibility at the singular witness (certified, or guard bound below 1), i.e. unsound: ${claimAtWitness.length}${claimAtWitness.length ? ` (${claimAtWitness.join(', ')})` : ''}.`,
  '',
  'How to read the share: the reference is what brute force saw, not what is provable. Sampling finds singular points only where it looks, ' +
    'so `singular-seen` is a lower bound on the truly singular models and `always-invertible-seen` an upper bound on the truly invertible ones. ' +
    'A truly singular model that the sample calls invertible is counted a miss when its verdict is `runtime` or `unverified` (right: its strongest is `violated`) ' +
    'and a hit when it is `certified`/`guarded` (wrong, and unsound). With no unsound verdict, sampling errors therefore do not inflate the share. ' +
    'The share treats every invertible-on-samples model as provably invertible at compile time, which asks more than any sound test may manage; ' +
    'the misses counted (100% minus the share) are thus an upper-bound estimate of the misses against "the strongest verdict that can be proved", ' +
    'and the share a lower-bound estimate of it, up to unsound `certified`/`guarded` verdicts on models whose singular points the sample missed.',
);
console.log(out.join('\n'));
