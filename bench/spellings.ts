// Any spelling of a model, the same speed (issue 12): every spelling of the Lasso, the elastic
// net and the box QP in bench/models, solved from a fresh instance on the same problems, side
// by side with the canonical spelling (the sample's). For each: the time of a fresh solve
// (`new Model(inputs)` + solveInstance, binding and every data-only `let` included), of a warm
// second solve on the same instance, the solver's status, and the KKT violation of the
// returned point measured independently in f64 (bench/kkt.ts), never the spelling's own
// fixed-point residual, whose scale depends on how the step and the signs are written.
//
// Some spellings take a minute or do not converge today, so each (spelling, problem) runs in
// its own process under a wall-clock cap (`--cap S`, default 60 s; killed past it, reported
// as a timeout), and a spelling slower than 20 s on 300 x 1000 skips the 1000 x 5000 column.
//
// Usage: npx tsx bench/spellings.ts [--problems a,b] [--families lasso,elastic-net,box-qp]
//        [--cap S] [--max-iter N] [--from-json]
// Problems: diabetes, breast-raw, breast-std, correlated-300x1000, gaussian-1000x5000.
// Results also go to .build/bench/spellings.json (merged across runs, keyed by family,
// spelling and problem), where a later `--problems gaussian-1000x5000` run finds the 300 x
// 1000 times that decide its skips; `--from-json` runs nothing and prints the tables of the
// saved results (say, of several chunks run one after the other).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import { mulberry32, readCsv, standardize } from '../demos/data.ts';
import { solveInstance, type ModelInstance, type SolveInstanceResult } from '../src/runtime/index.ts';
import { boxQpKkt, elasticNetKkt, lambdaMax, lassoKkt, meanColumnSumsq, type BoxQp, type Problem } from './kkt.ts';
import { correlated, diabetes } from './lasso.ts';
import { pythonWith, runPeer, writeMatrix } from './peers.ts';

/**
 * Wisconsin breast cancer, its first 400 rows (the issue's 400 x 30): the 30 features and the
 * malignant label as y. Raw, the columns' scales differ by 10^5 (area against smoothness), the
 * ill-conditioned case; standardized, every column (y too) has mean 0 and variance 1.
 */
export function breastCancer(standardized: boolean): Problem {
  const rows = readCsv('samples/data/breast_cancer.csv').rows.slice(0, 400);
  const z = standardized ? standardize(rows) : rows;
  return {
    name: `breast cancer ${standardized ? 'standardized' : 'raw'} (400 x 30)`,
    n: z.length,
    p: 30,
    X: Float64Array.from(z.flatMap((r) => r.slice(0, 30))),
    y: Float64Array.from(z.map((r) => r[30])),
  };
}

/** I.i.d. standard normal design, 20 true nonzeros, unit noise (the design of scratch/fresh-profile.ts). */
export function gaussian(n: number, p: number): Problem {
  const rng = mulberry32(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const X = new Float64Array(n * p);
  for (let i = 0; i < n * p; i++) X[i] = normal();
  const beta = new Float64Array(p);
  for (let k = 0; k < 20; k++) beta[Math.floor(rng() * p)] = normal() * 2;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += X[i * p + j] * beta[j];
    y[i] = s + normal();
  }
  return { name: `gaussian (${n} x ${p})`, n, p, X, y };
}

export const PROBLEMS: Record<string, () => Problem> = {
  diabetes,
  'breast-raw': () => breastCancer(false),
  'breast-std': () => breastCancer(true),
  'correlated-300x1000': () => correlated(300, 1000),
  'gaussian-1000x5000': () => gaussian(1000, 5000),
};
const SKIP_AFTER = { from: 'correlated-300x1000', to: 'gaussian-1000x5000', ms: 20_000 };

export type Family = 'lasso' | 'elastic-net' | 'box-qp';
const PREFIX: Record<Family, string> = { lasso: 'lasso_', 'elastic-net': 'elastic_net_', 'box-qp': 'box_qp_' };

/** The family's model files, the canonical spelling (`*_sample.impl`) first. */
export function spellingsOf(family: Family): string[] {
  const files = readdirSync('bench/models').filter((f) => f.startsWith(PREFIX[family]) && f.endsWith('.impl'));
  files.sort((a, b) => Number(b.endsWith('_sample.impl')) - Number(a.endsWith('_sample.impl')) || a.localeCompare(b));
  return files.map((f) => `bench/models/${f}`);
}

/** How a model file spells its map: its `let`s other than the usual step, and the fixpoint's right side. */
export function spellingOf(file: string): string {
  const text = readFileSync(file, 'utf8');
  const usualStep = /^(step = 1 \/ opnorm\(X\)\^2|g = 1 \/ opnorm\(Q\))$/;
  const lets = [...text.matchAll(/^\s*let (\w+ = .*?)\s*(\/\/.*)?$/gm)].map((m) => m[1]).filter((l) => !usualStep.test(l));
  const fix = /^\s*fixpoint \w+ = (.*?)\s*(\/\/.*)?$/m.exec(text)?.[1] ?? '?';
  return [...lets.map((l) => `let ${l}`), fix].join('; ');
}

/** A raw little-endian float64 file (a copy: a small file's Buffer is a view into a shared pool). */
function readF64(path: string): Float64Array {
  const b = readFileSync(path);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * The box QP of a regression problem: bounded least squares, Q = X'X, q = -X'y, with the box
 * [-h, h], h a tenth of the largest one-coordinate minimizer |q_j| / Q_jj, so that bounds are
 * active on both sides and some coordinates are free. Q comes from NumPy when present (a
 * 5000 x 5000 Gram matrix is a minute of plain JavaScript), cached in .build/bench.
 */
function boxQpOf(key: string, P: Problem): BoxQp {
  const k = P.p;
  const qPath = `.build/bench/spell-${key}-q.f64`;
  const QPath = `.build/bench/spell-${key}-Q.f64`;
  let Q: Float64Array;
  let q: Float64Array;
  if (existsSync(QPath) && existsSync(qPath)) {
    Q = readF64(QPath);
    q = readF64(qPath);
  } else {
    Q = new Float64Array(k * k);
    q = new Float64Array(k);
    for (let i = 0; i < P.n; i++) {
      for (let a = 0; a < k; a++) {
        const xa = P.X[i * k + a];
        if (xa === 0) continue;
        q[a] -= xa * P.y[i];
        for (let b = a; b < k; b++) Q[a * k + b] += xa * P.X[i * k + b];
      }
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) Q[a * k + b] = Q[b * k + a];
  }
  if (Q.length !== k * k) throw new Error(`${QPath}: ${Q.length} entries, expected ${k * k}`);
  let h = 0;
  for (let j = 0; j < k; j++) if (Q[j * k + j] > 0) h = Math.max(h, Math.abs(q[j]) / Q[j * k + j]);
  h *= 0.1;
  return { k, Q, q, lo: new Float64Array(k).fill(-h), hi: new Float64Array(k).fill(h) };
}

/** Writes the box QP's Q and q for `key` with NumPy (false without it: the case computes them). */
function prepareBoxQp(key: string, P: Problem, python: string | null): boolean {
  if (!python || existsSync(`.build/bench/spell-${key}-Q.f64`)) return python !== null;
  runPeer(python, 'gram_numpy.py', {
    X: writeMatrix(`spell-${key}-X`, P.n, P.p, P.X),
    y: writeMatrix(`spell-${key}-y`, P.n, 1, P.y),
    Q: `.build/bench/spell-${key}-Q.f64`,
    q: `.build/bench/spell-${key}-q.f64`,
  });
  return true;
}

/** A family's inputs on a problem (one set for every spelling) and its KKT measure. */
function familyCase(family: Family, key: string, P: Problem): { inputs: Record<string, unknown>; kkt: (y: Float64Array) => number; what: string } {
  const regression = { X: { shape: [P.n, P.p], data: P.X }, y: P.y, Xv: { shape: [5, P.p], data: P.X.subarray(0, 5 * P.p) }, yv: P.y.subarray(0, 5) };
  const lambda = 0.1 * lambdaMax(P);
  if (family === 'lasso') return { inputs: { ...regression, lambda }, kkt: (b) => lassoKkt(P, b, lambda), what: 'lambda = 0.1 lambda_max' };
  if (family === 'elastic-net') {
    const lambda2 = 0.1 * meanColumnSumsq(P);
    return { inputs: { ...regression, lambda1: lambda, lambda2 }, kkt: (b) => elasticNetKkt(P, b, lambda, lambda2), what: 'lambda1 = 0.1 lambda_max, lambda2 = 0.1 trace(X\'X) / p' };
  }
  const B = boxQpOf(key, P);
  return {
    inputs: { Q: { shape: [B.k, B.k], data: B.Q }, lo: B.lo, hi: B.hi, target: new Float64Array(B.k), q: B.q },
    kkt: (y) => boxQpKkt(B, y),
    what: 'Q = X\'X, q = -X\'y, box [-h, h] with h = 0.1 max |q_j| / Q_jj',
  };
}

export interface CaseResult {
  family: Family;
  file: string;
  problem: string;
  /** Fresh solves (instance built in the timing), ms, each run. */
  freshMs: number[];
  /** Second solves on the same instance, ms. */
  warmMs: number[];
  status: string;
  warmStatus: string;
  iterations: number;
  method: string;
  kkt: number;
  warmKkt: number;
  support: number;
  /** Set when the case did not run to the end: 'timeout (> S s)', 'skipped (cap)', 'failed: ...'. */
  note?: string;
}

/**
 * One (spelling, problem) in this process: fresh solves and warm second solves. A solve under
 * 0.2 s is first repeated for a second (V8 compiles the generated code in tiers, over many
 * calls; the first solve of a process would time the compiler), then timed 7 times; under 3 s,
 * the first is a warm-up and 3 are timed; longer, the one solve is the measurement.
 */
async function runCase(family: Family, file: string, key: string, maxIter: number | undefined): Promise<CaseResult> {
  const P = PROBLEMS[key]();
  const { inputs, kkt } = familyCase(family, key, P);
  const Model = await compileModel(file);
  // The box QP's KKT measure is relative to max |q| while F carries the step g = 1 / opnorm(Q):
  // ||F|| <= 1e-10 leaves KKT up to opnorm(Q) / max|q| times that (1.4e-10 at 300 x 1000), so
  // its spellings are solved to 1e-12 to meet the bar of KKT <= 1e-10 (all of them alike).
  const options = { tol: family === 'box-qp' ? 1e-12 : 1e-10, ...(maxIter === undefined ? {} : { maxIter }) };
  const freshMs: number[] = [];
  const warmMs: number[] = [];
  const once = (): [SolveInstanceResult, SolveInstanceResult] => {
    const t0 = performance.now();
    const inst = new Model(inputs) as ModelInstance;
    const r = solveInstance(inst, options);
    const t1 = performance.now();
    const r2 = solveInstance(inst, options);
    const t2 = performance.now();
    freshMs.push(t1 - t0);
    warmMs.push(t2 - t1);
    return [r, r2];
  };
  const [r, r2] = once();
  const cold = freshMs[0] + warmMs[0];
  if (cold < 3000) {
    const start = performance.now();
    while (cold < 200 && performance.now() - start < 1000) once();
    freshMs.length = 0;
    warmMs.length = 0;
    for (let i = 0; i < (cold < 200 ? 7 : 3); i++) once();
  }
  return {
    family,
    file,
    problem: key,
    freshMs,
    warmMs,
    status: r.status,
    warmStatus: r2.status,
    iterations: r.iterations,
    method: r.method,
    kkt: kkt(r.y),
    warmKkt: kkt(r2.y),
    // The Lasso's and the elastic net's support; the box QP's free coordinates (inside the box).
    support: family === 'box-qp' ? Array.from(r.y).filter((v, j) => v > (inputs.lo as Float64Array)[j] && v < (inputs.hi as Float64Array)[j]).length : r.y.filter((v) => v !== 0).length,
  };
}

const RESULTS = '.build/bench/spellings.json';
const keyOf = (family: string, file: string, problem: string) => `${family} ${file} ${problem}`;

function loadResults(): Record<string, CaseResult> {
  return existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, CaseResult>) : {};
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t: number): string => (t >= 10_000 ? `${(t / 1000).toFixed(1)} s` : t >= 10 ? t.toFixed(0) : t.toPrecision(2));
/** The median, with the range over the runs when there are several: `12 (9.8-15)`. */
const range = (xs: number[]): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return xs.length === 1 || ms(lo) === ms(hi) ? ms(lo) : `${ms(median(xs))} (${ms(lo)}-${ms(hi)})`;
};

export interface SpellingsOptions {
  problems?: string[];
  families?: Family[];
  capS?: number;
  maxIter?: number;
  /** Run nothing: tables from .build/bench/spellings.json (chunks of earlier runs, say). */
  fromJson?: boolean;
}

export async function benchSpellings(log: (s: string) => void, opts: SpellingsOptions = {}): Promise<string[]> {
  const problems = opts.problems ?? Object.keys(PROBLEMS);
  const families = opts.families ?? (['lasso', 'elastic-net', 'box-qp'] as Family[]);
  const capS = opts.capS ?? 60;
  const python = pythonWith(['numpy']);
  const saved = loadResults();
  const results: CaseResult[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const key of problems) {
    if (!PROBLEMS[key]) throw new Error(`unknown problem ${key}; one of ${Object.keys(PROBLEMS).join(', ')}`);
    if (families.includes('box-qp')) {
      const P = PROBLEMS[key]();
      if (!prepareBoxQp(key, P, python) && P.p > 1000) log(`${key}: NumPy absent, the box QP's Gram matrix is formed in JavaScript (slow)`);
    }
    for (const family of families) {
      for (const file of spellingsOf(family)) {
        const base = { family, file, problem: key, freshMs: [], warmMs: [], status: '-', warmStatus: '-', iterations: 0, method: '-', kkt: NaN, warmKkt: NaN, support: 0 };
        let result: CaseResult;
        const before = key === SKIP_AFTER.to ? (results.find((r) => r.family === family && r.file === file && r.problem === SKIP_AFTER.from) ?? saved[keyOf(family, file, SKIP_AFTER.from)]) : undefined;
        if (opts.fromJson) {
          result = saved[keyOf(family, file, key)] ?? { ...base, note: 'not run' };
        } else if (before && (before.note?.startsWith('timeout') || before.note?.startsWith('skipped') || Math.min(...before.freshMs) > SKIP_AFTER.ms)) {
          result = { ...base, note: 'skipped (cap)' };
        } else {
          const args = ['--import', 'tsx', self, '--case', family, file, key, ...(opts.maxIter ? ['--max-iter', String(opts.maxIter)] : [])];
          const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: capS * 1000, killSignal: 'SIGKILL', maxBuffer: 1 << 26 });
          if (r.error || r.signal) result = { ...base, note: r.signal === 'SIGKILL' ? `timeout (> ${capS} s)` : `failed: ${r.error?.message ?? r.signal}` };
          else if (r.status !== 0) result = { ...base, note: `failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}` };
          else result = JSON.parse(r.stdout.trim().split('\n').pop()!) as CaseResult;
        }
        results.push(result);
        saved[keyOf(family, file, key)] = result;
        log(`${key} ${family} ${file}: ${result.note ?? `${result.status}, fresh ${range(result.freshMs)} ms, warm ${range(result.warmMs)} ms, KKT ${result.kkt.toExponential(1)}, ${result.method}`}`);
      }
    }
  }
  mkdirSync('.build/bench', { recursive: true });
  if (!opts.fromJson) writeFileSync(RESULTS, JSON.stringify(saved, null, 1));

  const out: string[] = [];
  for (const family of families) {
    const files = spellingsOf(family);
    out.push('', `### ${family}: ${familyCase(family, 'diabetes', diabetes()).what}`, '');
    out.push('| spelling | problem | fresh ms | warm ms | ratio to canonical (fresh) | status | KKT | iterations | method | support (box QP: free) |');
    out.push('| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: |');
    const ratios: { ratio: number; where: string }[] = [];
    const misses: string[] = [];
    for (const key of problems) {
      const canonical = results.find((r) => r.family === family && r.file === files[0] && r.problem === key);
      const canonicalMs = canonical && canonical.status === 'converged' ? median(canonical.freshMs) : NaN;
      for (const file of files) {
        const r = results.find((x) => x.family === family && x.file === file && x.problem === key)!;
        const spelling = `\`${spellingOf(file).replaceAll('|', '\\|')}\``;
        const name = PROBLEMS[key]().name;
        if (r.note) {
          out.push(`| ${spelling} | ${name} | - | - | - | ${r.note} | - | - | - | - |`);
          misses.push(`${spellingOf(file)} on ${name}: ${r.note}`);
          continue;
        }
        const ratio = Number.isFinite(canonicalMs) ? (median(r.freshMs) / canonicalMs).toFixed(2) : '-';
        const status = r.status === r.warmStatus ? r.status : `${r.status}, warm ${r.warmStatus}`;
        out.push(`| ${spelling} | ${name} | ${range(r.freshMs)} | ${range(r.warmMs)} | ${ratio} | ${status} | ${r.kkt.toExponential(1)} | ${r.iterations} | ${r.method} | ${r.support} |`);
        if (file !== files[0] && Number.isFinite(canonicalMs) && !r.note) ratios.push({ ratio: median(r.freshMs) / canonicalMs, where: `${spellingOf(file)} on ${name}` });
        if (r.status !== 'converged' || !(r.kkt <= 1e-10)) misses.push(`${spellingOf(file)} on ${name}: ${r.note ?? `${r.status}, KKT ${r.kkt.toExponential(1)}`}`);
      }
    }
    // The issue's acceptance, read off the table: every spelling at KKT <= 1e-10, within 1.5x.
    const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a), { ratio: -Infinity, where: '-' });
    out.push('', `Worst ratio to canonical: ${Number.isFinite(worst.ratio) ? `${worst.ratio.toFixed(2)} (\`${worst.where}\`)` : '-'}; over 1.5: ${ratios.filter((r) => r.ratio > 1.5).length} of ${ratios.length}.`);
    out.push(`Not converged to KKT <= 1e-10 (or not run): ${misses.length === 0 ? 'none' : misses.map((m) => `\`${m}\``).join('; ')}.`);
  }
  return out;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const maxIter = argValue('--max-iter') === undefined ? undefined : Number(argValue('--max-iter'));
  if (process.argv[2] === '--case') {
    const [family, file, key] = process.argv.slice(3, 6);
    console.log(JSON.stringify(await runCase(family as Family, file, key, maxIter)));
  } else {
    const command = `npx tsx bench/spellings.ts ${process.argv.slice(2).join(' ')}`.trim();
    const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
    console.log(`command: \`${command}\``);
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, load at start ${load()}`);
    const lines = await benchSpellings((s) => console.error(s), {
      problems: argValue('--problems')?.split(','),
      families: argValue('--families')?.split(',') as Family[] | undefined,
      capS: argValue('--cap') === undefined ? undefined : Number(argValue('--cap')),
      maxIter,
      fromJson: process.argv.includes('--from-json'),
    });
    console.log(lines.join('\n'));
    console.log(`\nload at end ${load()}; fresh = \`new Model(inputs)\` + solveInstance(tol 1e-10); warm = a second solveInstance on the same instance; times are medians (ranges) over the timed runs (one run for a solve over 3 s); KKT of the fresh solve's point, bench/kkt.ts.`);
  }
}
