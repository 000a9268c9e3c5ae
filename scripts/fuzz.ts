/**
 * The long fuzz run of issue 18: the real `implc` command, spawned as a user or a harness
 * spawns it, on generated and mutated models, names, paths, inputs and options.
 *
 *   npm run fuzz                         # every class at the default counts
 *   npm run fuzz -- --scale 4 --seed 7   # four times as many cases, another seed
 *   npm run fuzz -- --only names,paths   # some classes only
 *
 * Each case has an oracle that does not come from the code under test:
 * - crash: an exit code outside {0, 1, 2}, a signal, or a stack frame on stderr;
 * - hang: a file under 100 KB that takes over 5 s (`--hang-ms`);
 * - wrong: a number that differs from the closed form of the model (names, paths), a
 *   `null` where the JSON contract has a number, exit 0 with a non-converged status, a
 *   bad input that does not exit 2 or whose message does not name it;
 * - injection: a marker file that generated code would create if a path or a name ran as code.
 * Failures are written to scratch/fuzz/ (model, input, command, output) and counted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../demos/data.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'implc.js');

const { values: opts } = parseArgs({
  options: {
    seed: { type: 'string', default: '20261205' },
    scale: { type: 'string', default: '1' },
    only: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    'hang-ms': { type: 'string', default: '5000' },
  },
});
const scale = Number(opts.scale);
const jobs = Math.max(1, Math.floor(Number(opts.jobs)));
const hangMs = Number(opts['hang-ms']);
const rng = mulberry32(Number(opts.seed));
const only = opts.only ? new Set(opts.only.split(',')) : null;

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

const work = mkdtempSync(join(tmpdir(), 'implc-fuzz-'));
const failDir = join(root, 'scratch', 'fuzz');
const MARKER = join(work, 'INJECTED');

// ---------------------------------------------------------------- running the command

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  killed: boolean;
}

function run(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: work, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, killed });
    });
  });
}

/** Runs tasks with at most `jobs` children at once. */
async function pool<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return out;
}

// ---------------------------------------------------------------- verdicts

type Kind = 'crash' | 'hang' | 'wrong' | 'injection';
interface Tally {
  cases: number;
  crash: number;
  hang: number;
  wrong: number;
  injection: number;
  ms: number[];
}
const tallies = new Map<string, Tally>();
let failures = 0;

function tally(cls: string): Tally {
  let t = tallies.get(cls);
  if (!t) tallies.set(cls, (t = { cases: 0, crash: 0, hang: 0, wrong: 0, injection: 0, ms: [] }));
  return t;
}

const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;

/** Crash or hang, whatever the command; null when the run is neither. */
function crashOrHang(r: Run, sizeBytes: number): Kind | null {
  if (r.killed) return 'hang';
  if (r.signal !== null || r.code === null || ![0, 1, 2].includes(r.code)) return 'crash';
  if (STACK_FRAME.test(r.stderr) || STACK_FRAME.test(r.stdout)) return 'crash';
  if (sizeBytes < 100_000 && r.ms > hangMs) return 'hang';
  return null;
}

function record(cls: string, r: Run, kind: Kind | null, why: string, files: Record<string, string>, args: string[]): void {
  const t = tally(cls);
  t.cases++;
  t.ms.push(r.ms);
  if (existsSync(MARKER)) {
    kind = 'injection';
    why = `marker file created: ${readFileSync(MARKER, 'utf8')}`;
    rmSync(MARKER, { force: true });
  }
  if (!kind) return;
  t[kind]++;
  failures++;
  const dir = join(failDir, `${cls}-${kind}-${t[kind]}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name.replaceAll('/', '_')), text);
  writeFileSync(
    join(dir, 'run.txt'),
    `why: ${why}\ncommand: implc ${args.map((a) => JSON.stringify(a)).join(' ')}\nexit: ${r.code} signal: ${r.signal} ms: ${r.ms.toFixed(0)}\n--- stdout\n${r.stdout.slice(0, 20_000)}\n--- stderr\n${r.stderr.slice(0, 20_000)}\n`,
  );
  if (t[kind] <= 3) process.stderr.write(`  ${cls}: ${kind}: ${why.slice(0, 200)}\n`);
}

/** The path of the first `null` in a solve result outside the certificate's documented estimates, or null when there is none. */
function nullWhereNumber(value: unknown, path = ''): string | null {
  if (value === null) return path || '(root)';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = nullWhereNumber(value[i], `${path}[${i}]`);
      if (p) return p;
    }
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      // The certificate's optional numbers are documented as null when absent.
      // The certificate's estimates are documented as null when there are none.
      if (v === null && /^\.certificate\.(condition|errorBound|guard|counterexample)$/.test(`${path}.${k}`)) continue;
      const p = nullWhereNumber(v, `${path}.${k}`);
      if (p) return p;
    }
  }
  return null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- the model of known answer

/**
 * y = 0.5 y + 2 P, so y = 4 P; O = 3 y + sum(Q); dO/dP = 12. Every name is the caller's.
 * The model name is `names.model`.
 */
interface Names {
  model: string;
  dim: string;
  param: string;
  data: string;
  let: string;
  unknown: string;
  output: string;
}
const SLOTS: (keyof Names)[] = ['model', 'dim', 'param', 'data', 'let', 'unknown', 'output'];

function knownModel(n: Names): string {
  return [
    `model ${n.model} {`,
    `  dim ${n.dim}`,
    `  param ${n.param}: real`,
    `  data ${n.data}: real[${n.dim}]`,
    `  let ${n.let} = 2 * ${n.param}`,
    `  unknown ${n.unknown}: real = 0`,
    `  fixpoint ${n.unknown} = 0.5 * ${n.unknown} + ${n.let}`,
    `  output ${n.output} = 3 * ${n.unknown} + sum(${n.data})`,
    `}`,
    '',
  ].join('\n');
}

/** The names a JavaScript module cannot declare: a model may be refused for these, nothing else. */
const JS_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in ' +
    'instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package ' +
    'private protected public await arguments eval'
  ).split(' '),
);
const isJsIdentifier = (s: string) => /^[\p{ID_Start}_$][\p{ID_Continue}$\u200C\u200D]*$/u.test(s);
const modelMayBeRefused = (name: string) => JS_RESERVED.has(name) || !isJsIdentifier(name);

const NAME_POOL = [
  // JavaScript reserved and strict-mode words
  ...'class with new static enum await yield let var function return this super delete typeof void in instanceof import export default arguments eval'.split(' '),
  // Object.prototype and friends
  ...'constructor toString hasOwnProperty valueOf isPrototypeOf propertyIsEnumerable toLocaleString __proto__ __defineGetter__ prototype length name'.split(' '),
  // what generated code holds: runtime imports, locals, temporaries, globals
  ...'K put lazy views layout scalar c d b i n m y out base inputs bound fresh spec value solve residual map t1 t9 t17 num_0 num_1 num_2 num_0_5 u_y w0 dX seed'.split(' '),
  ...'Math Float64Array Array Object Number JSON Symbol Promise process globalThis require module exports undefined NaN Infinity'.split(' '),
  // Unicode letters the grammar accepts
  ...['é', 'λ', 'Δx', 'θ_1', 'ⸯ', 'ſ', 'ǅ', 'x\u02B0', '日本', '_', '__', '_1'],
  // longer than a file name may be
  'L'.repeat(300), `λ${'_'.repeat(200)}`,
];

/** The .impl language's own keywords (grammar/impl.ohm): never names. */
const IMPL_KEYWORDS = new Set('model dim data param let unknown fixpoint solve output require real if then else'.split(' '));

function freshName(used: Set<string>): string {
  for (;;) {
    const r = rng();
    const name = r < 0.8 ? pick(NAME_POOL) : `${pick(['a', 'Z', '_', 'q'])}${pick(['', '_', '1', 'x'])}${int(0, 99)}`;
    if (!used.has(name) && !IMPL_KEYWORDS.has(name)) {
      used.add(name);
      return name;
    }
  }
}

async function knownCase(cls: string, n: Names, file: string, expectRefusal: boolean): Promise<void> {
  const P = pick([10, -3.5, 0.25, 1e-3]);
  const Q = [1, 2, 0.5];
  const inputs = JSON.stringify({ [n.param]: P, [n.data]: Q });
  const inputFile = `${file}.json`;
  writeFileSync(inputFile, inputs);
  const args = ['solve', file, '--input', inputFile];
  const r = await run(args);
  const files = { 'model.impl': readFileSync(file, 'utf8'), 'input.json': inputs };
  let kind = crashOrHang(r, 1000);
  let why = kind ?? '';
  if (!kind) {
    const y = 4 * P;
    const O = 3 * y + 3.5;
    const out = parseJson(r.stdout) as Record<string, Record<string, unknown>> | undefined;
    if (r.code === 1 && expectRefusal && /error\[E0109\]/.test(r.stderr)) {
      // a model name JavaScript cannot declare, refused with a coded diagnostic
    } else if (r.code !== 0 || !out) {
      kind = 'wrong';
      why = `exit ${r.code} for a valid model: ${r.stderr.slice(0, 300)}`;
    } else {
      const got = Object.getOwnPropertyDescriptor(out.solution ?? {}, n.unknown)?.value;
      const gotO = Object.getOwnPropertyDescriptor(out.outputs ?? {}, n.output)?.value;
      const grad = Object.getOwnPropertyDescriptor(Object.getOwnPropertyDescriptor(out.gradients ?? {}, n.output)?.value ?? {}, n.param)?.value;
      const close = (a: unknown, b: number) => typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
      if (!close(got, y) || !close(gotO, O) || !close(grad, 12)) {
        kind = 'wrong';
        why = `expected ${n.unknown} = ${y}, ${n.output} = ${O}, d${n.output}/d${n.param} = 12; got ${JSON.stringify(got)}, ${JSON.stringify(gotO)}, ${JSON.stringify(grad)}`;
      }
    }
  }
  record(cls, r, kind, why, files, args);
}

// ---------------------------------------------------------------- classes

const classes: Record<string, () => Promise<void>> = {
  /** Names from every pool in every declaration slot, solved against the closed form. */
  async names() {
    const count = Math.round(60 * scale);
    const tasks = Array.from({ length: count }, (_, k) => async () => {
      const used = new Set<string>();
      const n = Object.fromEntries(SLOTS.map((s) => [s, freshName(used)])) as unknown as Names;
      const dir = join(work, `names${k}`);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'm.impl');
      writeFileSync(file, knownModel(n));
      await knownCase('names', n, file, modelMayBeRefused(n.model));
    });
    await pool(tasks);
  },

  /** Model files under directories whose names try to end a comment or a string and run code. */
  async paths() {
    // Run with cwd = work: a payload that ran would create work/INJECTED (the marker) and set exit 77.
    const payload = 'process.exitCode=77;import("node:fs").then((f)=>f.writeFileSync("INJECTED","ran"))';
    const escapes = ['\n', '\r', '\u2028', '\u2029', '*' + '/', '*' + '/\n', '"', "'", '`', '${', '\\', '\\n', '\n' + '//', ' *' + '/ ', '*' + '/;'];
    const count = Math.round(20 * scale);
    const tasks = Array.from({ length: count }, (_, k) => async () => {
      const dir = join(work, `p${k}${pick(escapes)}${payload}${pick(escapes)}`);
      const nested = join(dir, pick(['', '*', '"q"']));
      mkdirSync(nested, { recursive: true });
      const file = join(nested, `${pick(['m', 'a*b', "it's", 'x\ny'])}.impl`);
      const n: Names = { model: 'M', dim: 'n', param: 'p', data: 'q', let: 'l', unknown: 'y', output: 'o' };
      writeFileSync(file, knownModel(n));
      await knownCase('paths', n, file, false);
      const out = join(nested, 'out');
      const args = ['build', file, '-o', out];
      const r = await run(args);
      const kind = crashOrHang(r, 1000) ?? (r.code === 0 ? null : 'wrong');
      record('paths', r, kind, kind === 'wrong' ? `build exit ${r.code}: ${r.stderr.slice(0, 300)}` : kind ?? '', { 'model.impl': knownModel(n) }, args);
    });
    await pool(tasks);
  },

  /** Mutated samples through `check --format json` (and `explain` when they check). */
  async mutate() {
    const dirs = ['samples', 'samples/pathological'];
    const texts = dirs.flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.impl')).map((f) => readFileSync(join(root, d, f), 'utf8')));
    const junk = ['\0', 'é', 'λ', '😀', '\uD800', '\r\n', '\t', '\uFEFF', '\u2028', '/*', '*/', '//', '{', '}', '(', ')', '[', ']', ',', ';', ':', '=', "'", '^', '-', '.', '1e999', '1e-999', '.5e', 'model', 'solve', 'if', 'then', 'else', 'fixpoint', 'unknown', 'require', 'output', '__proto__', 'constructor', 'relu(', 'max(', '0/0', '&&', '!', '.*', './'];
    const count = Math.round(300 * scale);
    const tasks = Array.from({ length: count }, (_, k) => async () => {
      let t = pick(texts);
      for (let j = int(1, 6); j > 0; j--) {
        const at = int(0, t.length);
        const r = rng();
        if (r < 0.3) t = t.slice(0, at) + t.slice(Math.min(t.length, at + int(1, 12)));
        else if (r < 0.6) t = t.slice(0, at) + pick(junk) + t.slice(at);
        else if (r < 0.8) {
          const b = int(0, t.length);
          t = t.slice(0, at) + t.slice(Math.min(at, b), Math.max(at, b)) + t.slice(at);
        } else if (r < 0.9) t = t.slice(0, at);
        else t = '\uFEFF' + t;
      }
      const file = join(work, `mut${k}.impl`);
      writeFileSync(file, t);
      const args = ['check', file, '--format', 'json'];
      const r = await run(args);
      let kind = crashOrHang(r, t.length);
      let why = kind ?? '';
      if (!kind) {
        const out = parseJson(r.stdout) as { diagnostics?: { code: string; span: { start: { offset: number }; end: { offset: number } } }[] } | undefined;
        if (!out || !Array.isArray(out.diagnostics)) {
          kind = 'wrong';
          why = `stdout is not the diagnostics JSON (exit ${r.code})`;
        } else {
          const bad = out.diagnostics.find((d) => !/^[EW]\d{4}$/.test(d.code) || d.span.start.offset < 0 || d.span.end.offset > t.length || d.span.start.offset > d.span.end.offset);
          if (bad) {
            kind = 'wrong';
            why = `diagnostic without a code or with a span outside the file: ${JSON.stringify(bad).slice(0, 300)}`;
          }
        }
      }
      record('mutate', r, kind, why, { 'model.impl': t }, args);
      if (!kind && r.code === 0 && rng() < 0.3) {
        const eargs = ['explain', file, '--format', 'json'];
        const e = await run(eargs);
        const ek = crashOrHang(e, t.length) ?? (e.code === 0 && parseJson(e.stdout) !== undefined ? null : 'wrong');
        record('mutate', e, ek, ek ?? '', { 'model.impl': t }, eargs);
      }
    });
    await pool(tasks);
  },

  /** Long chains, deep nesting and big files: check, explain and build, each timed. */
  async deep() {
    const shapes: ((k: number) => string)[] = [
      (k) => `solve ${Array.from({ length: k }, (_, i) => `${i % 7 + 1} * y`).join(' + ')} - x = 0`,
      (k) => `solve y * ${Array.from({ length: k }, () => '1').join(' * ')} - x = 0`,
      (k) => `solve ${'-'.repeat(k)}y - x = 0`,
      (k) => `solve ${'- '.repeat(k)}y - x = 0`,
      (k) => `solve ${'('.repeat(k)}y${')'.repeat(k)} - x = 0`,
      (k) => `solve ${'abs('.repeat(k)}y${')'.repeat(k)} + y - x = 0`,
      (k) => `solve ${'if y > 0 then '.repeat(k)}y${' else -y'.repeat(k)} + 2 * y - x = 0`,
      (k) => `solve ${'if x > 0 then '.repeat(k)}y${' else 2 * y'.repeat(k)} - x = 0`,
      (k) => `solve y${"''".repeat(k)} - x = 0`,
      (k) => `solve y - x = 0\n  require ${Array.from({ length: k }, () => 'x > -1').join(' && ')}`,
    ];
    const sizes = [10, 100, 500, 1000, 1700, 3000, 10_000, 30_000];
    const tasks: (() => Promise<void>)[] = [];
    for (const shape of shapes) {
      for (const k of sizes) {
        if (rng() > Math.min(1, 0.5 * scale)) continue;
        const index = tasks.length;
        tasks.push(async () => {
          const text = `model M {\n  param x: real\n  unknown y: real\n  ${shape(k)}\n}\n`;
          const file = join(work, `deep${index}-${k}.impl`);
          writeFileSync(file, text);
          for (const cmd of [['check', file, '--format', 'json'], ['explain', file, '--format', 'json'], ['build', file, '-o', join(work, `deep-out${index}`)]]) {
            const r = await run(cmd, 60_000);
            const kind = crashOrHang(r, text.length);
            record('deep', r, kind, kind ? `${kind} at size ${k} (${r.ms.toFixed(0)} ms, exit ${r.code})` : '', text.length < 200_000 ? { 'model.impl': text } : {}, cmd);
          }
        });
      }
    }
    await pool(tasks);
  },

  /** Bad and extreme inputs to `solve`: exit 2 naming the input, or a JSON with no null for a number. */
  async inputs() {
    const lasso = readFileSync(join(root, 'samples', 'lasso.impl'), 'utf8');
    writeFileSync(join(work, 'lasso.impl'), lasso);
    const n: Names = { model: 'M', dim: 'n', param: 'p', data: 'q', let: 'l', unknown: 'y', output: 'o' };
    writeFileSync(join(work, 'known.impl'), knownModel(n));
    const base = (): { file: string; value: Record<string, unknown> } =>
      rng() < 0.5
        ? { file: 'known.impl', value: { p: 1.5, q: [1, 2, 3] } }
        : {
            file: 'lasso.impl',
            value: { X: [[1, 2], [3, 4], [5, 7]], y: [1, 0, 2], Xv: [[1, 1]], yv: [0.5], lambda: 0.1 },
          };
    const weird = (): unknown =>
      pick<() => unknown>([
        () => null,
        () => 'abc',
        () => '1',
        () => true,
        () => ({}),
        () => [],
        () => [[]],
        () => 1e308,
        () => -1e308,
        () => 5e-324,
        () => -0,
        () => [1e308, 1e308],
        () => [1, 'a'],
        () => [1, [2]],
        () => DEEP, // written into the text below: JSON.stringify cannot nest 10^5 deep
        () => ({ shape: [1, 2], data: [1] }),
        () => ({ shape: [-1], data: [] }),
        () => ({ shape: [1e9, 1e9], data: [] }),
        () => Array.from({ length: int(0, 5) }, () => rng() * 10),
        () => Array.from({ length: 3 }, () => Array.from({ length: int(1, 3) }, () => rng())),
        () => ({ __proto__: 1 }),
      ])();
    const DEEP = '\u0000deep\u0000';
    const count = Math.round(120 * scale);
    const tasks = Array.from({ length: count }, (_, k) => async () => {
      const { file, value } = base();
      const keys = Object.keys(value);
      const mutated: Record<string, unknown> = { ...value };
      // A missing or an extra key is a bad input for sure: exit 2, and the message names it.
      let mustName: string | null = null;
      const r0 = rng();
      if (r0 < 0.15) {
        mustName = pick(keys);
        delete mutated[mustName];
      } else if (r0 < 0.3) {
        mustName = pick(['__proto__', 'constructor', 'toString', 'extra', 'hasOwnProperty']);
        Object.defineProperty(mutated, mustName, { value: pick([1, [1, 2], null]), enumerable: true });
      } else {
        mutated[pick(keys)] = weird();
      }
      const depth = int(10, 100_000);
      let text = JSON.stringify(mutated).replace(JSON.stringify(DEEP), `${'['.repeat(depth)}1${']'.repeat(depth)}`);
      if (rng() < 0.05) {
        text = text.slice(0, int(0, text.length));
        mustName = null;
      }
      const inputFile = join(work, `in${k}.json`);
      writeFileSync(inputFile, text);
      const args = ['solve', file, '--input', inputFile, ...(rng() < 0.5 ? ['--jacobian'] : [])];
      const r = await run(args);
      let kind = crashOrHang(r, text.length);
      let why = kind ?? '';
      if (!kind) {
        if (mustName !== null && (r.code !== 2 || !r.stderr.includes(`\`${mustName}\``))) {
          kind = 'wrong';
          why = `the missing or extra input \`${mustName}\`: exit ${r.code}, and stderr ${r.stderr.includes(mustName) ? 'names it' : 'does not name it'}`;
        } else if (r.code === 2) {
          if (!r.stderr.trim()) {
            kind = 'wrong';
            why = 'exit 2 with nothing said';
          }
        } else {
          const out = parseJson(r.stdout) as Record<string, unknown> | undefined;
          const nul = out ? nullWhereNumber(out) : 'stdout';
          if (!out) {
            kind = 'wrong';
            why = `exit ${r.code} without a JSON result: ${r.stderr.slice(0, 200)}`;
          } else if (nul) {
            kind = 'wrong';
            why = `null where a number belongs at ${nul}`;
          } else if (r.code === 0 && out.status !== 'converged') {
            kind = 'wrong';
            why = `exit 0 with status ${String(out.status)}`;
          } else if (r.code === 0 && args.includes('--jacobian') && !('jacobian' in out)) {
            kind = 'wrong';
            why = 'exit 0 with the requested jacobian missing';
          }
        }
      }
      record('inputs', r, kind, why, { 'input.json': text.slice(0, 100_000), 'model.impl': file }, args);
    });
    await pool(tasks);
  },

  /** Options of `solve` and `build`: invalid ones exit 2 naming the option. */
  async options() {
    const n: Names = { model: 'M', dim: 'n', param: 'p', data: 'q', let: 'l', unknown: 'y', output: 'o' };
    writeFileSync(join(work, 'opt.impl'), knownModel(n));
    writeFileSync(join(work, 'opt-eq.impl'), 'model E {\n  param x: real\n  unknown y: real\n  solve y - 0.5 * abs(y) - x = 0\n}\n');
    writeFileSync(join(work, 'opt.json'), JSON.stringify({ p: 1, q: [1] }));
    writeFileSync(join(work, 'opt-eq.json'), JSON.stringify({ x: 1 }));
    const values = ['1.5', '0', '-1', 'NaN', 'Infinity', '1e400', 'abc', '', '3', '1e-12', '0x10', ' 7', '100000000000000000000'];
    const count = Math.round(40 * scale);
    const tasks = Array.from({ length: count }, () => async () => {
      const eq = rng() < 0.5;
      const args = ['solve', eq ? 'opt-eq.impl' : 'opt.impl', '--input', eq ? 'opt-eq.json' : 'opt.json'];
      const opt = pick(['--max-iter', '--tol', '--method', '--model']);
      const v = opt === '--method' ? pick(['fixed-point', 'anderson', 'newton', 'auto', 'bogus', '']) : opt === '--model' ? pick(['M', 'E', 'X', '__proto__', '']) : pick(values);
      args.push(opt, v);
      const r = await run(args);
      let kind = crashOrHang(r, 100);
      let why = kind ?? '';
      if (!kind && r.code !== 2) {
        const out = parseJson(r.stdout) as Record<string, unknown> | undefined;
        if (!out) {
          kind = 'wrong';
          why = `exit ${r.code} without JSON and not a usage error: ${r.stderr.slice(0, 200)}`;
        } else if (r.code === 0 && out.status !== 'converged') {
          kind = 'wrong';
          why = `exit 0 with status ${String(out.status)}`;
        }
      }
      // The contract (README, "Command line"): which values each option takes.
      const valid =
        opt === '--max-iter' ? /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 1_000_000
        : opt === '--tol' ? /^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v) && Number.isFinite(Number(v)) && Number(v) > 0
        : opt === '--method' ? ['newton', 'auto'].includes(v) || (!eq && ['fixed-point', 'anderson'].includes(v))
        : v === (eq ? 'E' : 'M');
      if (!kind && !valid && (r.code !== 2 || !r.stderr.includes(opt === '--model' ? `\`${v}\`` : opt.replace('--', '')))) {
        kind = 'wrong';
        why = `the invalid ${opt} ${JSON.stringify(v)}: exit ${r.code}, not 2 naming it: ${r.stderr.slice(0, 200)}`;
      } else if (!kind && valid && r.code === 2) {
        kind = 'wrong';
        why = `the valid ${opt} ${JSON.stringify(v)} refused: ${r.stderr.slice(0, 200)}`;
      }
      record('options', r, kind, why, {}, args);
    });
    await pool(tasks);
  },

  /**
   * Bad calls into the runtime API of generated modules, in process: every one returns a result
   * or throws an InputError or SolverError; none throws anything else, and a converged result
   * carries only finite numbers.
   */
  async api() {
    const { compileModel } = await import('../src/compile-model.ts');
    const { InputError, SolverError } = await import('../src/runtime/index.ts');
    type Instance = Record<string, (...args: unknown[]) => unknown> & { n: number; m: number };
    type Klass = new (inputs: unknown) => Instance;
    const n: Names = { model: 'M', dim: 'n', param: 'p', data: 'q', let: 'l', unknown: 'y', output: 'o' };
    const Known = (await compileModel('known.impl', 'M', knownModel(n))) as unknown as Klass;
    const Lasso = (await compileModel(join(root, 'samples', 'lasso.impl'))) as unknown as Klass;
    const good = [
      { K: Known, inputs: { p: 1.5, q: [1, 2, 3] } },
      { K: Lasso, inputs: { X: [[1, 2], [3, 4], [5, 7]], y: [1, 0, 2], Xv: [[1, 1]], yv: [0.5], lambda: 0.1 } },
    ];
    const junk = (): unknown =>
      pick<() => unknown>([
        () => null, () => undefined, () => 5, () => NaN, () => 'x', () => true, () => [], () => ({}), () => () => 1,
        () => new Float64Array(int(0, 6)), () => new Float64Array(int(0, 6)).fill(NaN), () => [1, 2], () => ({ __proto__: null }),
        () => JSON.parse('{"__proto__": 1}'), () => ({ constructor: 1 }), () => ({ toString: [1] }), () => ({ method: 'bogus' }),
        () => ({ tol: -1 }), () => ({ tol: NaN }), () => ({ maxIter: 1.5 }), () => ({ maxIter: 0 }), () => ({ denseLimit: NaN }),
        () => ({ y0: [NaN] }), () => ({ y0: new Float64Array(99) }), () => ({ jacobian: 'yes' }), () => ({ bogus: 1 }),
      ])();
    const calls: ((base: Instance, K: Klass, inputs: Record<string, unknown>) => unknown)[] = [
      (_b, K) => new K(junk()),
      (_b, K, inputs) => new K({ ...inputs, [pick(Object.keys(inputs))]: junk() }),
      (b) => (b.with as (c: unknown) => unknown)(junk()),
      (b, _K, inputs) => (b.with as (c: unknown) => unknown)({ [pick(Object.keys(inputs))]: junk() }),
      (b) => b.solve(junk()),
      (b) => b.residual(junk(), junk()),
      (b) => b.residual(new Float64Array(b.n), new Float64Array(b.n + int(-1, 1))),
      (b) => b.outputs(junk()),
      (b) => b.value(pick(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'nope', '$t9', 'X', 'p', 'step'])),
      (b) => b.jvpY(new Float64Array(b.n), junk(), junk(), new Float64Array(b.n)),
      (b) => b.vjpX(new Float64Array(b.n), b.kinkFactors(new Float64Array(b.n)), junk(), new Float64Array(b.m)),
      (b) => b.jvpX(new Float64Array(b.n), b.kinkFactors(new Float64Array(b.n)), new Float64Array(b.m + int(-1, 1)), new Float64Array(b.n)),
      (b) => b.kinkGaps(junk()),
      (b) => b.kinkFactors(new Float64Array(b.n + int(-1, 1))),
      (b) => b.outputPartials(pick<unknown>([-1, 0, 1, 7, 0.5, NaN, '0', null]), new Float64Array(b.n), b.kinkFactors(new Float64Array(b.n))),
      (b) => b.denseB?.(new Float64Array(b.n), b.kinkFactors(new Float64Array(b.n)), pick<unknown>([null, new Int32Array([0]), new Int32Array([99]), new Int32Array([-1]), [0], 'x'])),
      (b) => b.addVjpX?.(new Float64Array(b.n), b.kinkFactors(new Float64Array(b.n)), new Float64Array(b.n), new Float64Array(b.m + int(-1, 1)), pick<unknown>([1, NaN, 'x'])),
      (b) => b.guardBound(),
      (b) => b.initial(),
    ];
    const count = Math.round(300 * scale);
    for (let k = 0; k < count; k++) {
      const { K, inputs } = pick(good);
      const base = new K(inputs);
      const call = pick(calls);
      const t0 = performance.now();
      let kind: Kind | null = null;
      let why = '';
      try {
        const r = call(base, K, inputs) as { status?: string; residual?: number; outputs?: Record<string, number>; solution?: Record<string, unknown> } | undefined;
        if (r && typeof r === 'object' && r.status === 'converged') {
          const text = JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? '<non-finite>' : v));
          if (text.includes('<non-finite>')) {
            kind = 'wrong';
            why = 'a converged result with a number that is not finite';
          }
        }
      } catch (e) {
        if (!(e instanceof InputError) && !(e instanceof SolverError)) {
          kind = 'crash';
          why = `untyped ${(e as Error)?.name}: ${(e as Error)?.message}`;
        }
      }
      const ms = performance.now() - t0;
      record('api', { code: 0, signal: null, stdout: '', stderr: '', ms, killed: false }, kind, why, {}, [`api call ${calls.indexOf(call)}`]);
    }
  },
};

// ---------------------------------------------------------------- main

const t0 = performance.now();
const load = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
process.stdout.write(`implc fuzz: seed ${opts.seed}, scale ${scale}, ${jobs} jobs, hang over ${hangMs} ms; load ${load}; work in ${work}\n`);
for (const [name, fn] of Object.entries(classes)) {
  if (only && !only.has(name)) continue;
  const c0 = performance.now();
  await fn();
  const t = tally(name);
  const ms = [...t.ms].sort((a, b) => a - b);
  const p = (q: number) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(q * ms.length))].toFixed(0) : '-');
  process.stdout.write(
    `${name.padEnd(8)} ${String(t.cases).padStart(5)} runs  crash ${t.crash}  hang ${t.hang}  wrong ${t.wrong}  injection ${t.injection}  (median ${p(0.5)} ms, max ${p(1)} ms; ${((performance.now() - c0) / 1000).toFixed(0)} s)\n`,
  );
}
rmSync(work, { recursive: true, force: true });
process.stdout.write(`${failures} failures in ${((performance.now() - t0) / 1000).toFixed(0)} s${failures ? `; cases in ${failDir}` : ''}\n`);
process.exitCode = failures ? 1 : 0;
