// Cone programs as layers (issue 16): implc's solve plus derivative against cvxopt's conelp plus
// the KKT differentiation of bench/peers/cone_cvxopt.py, side by side in one run.
//
// The programs are those of test/helpers/cone-programs.ts: min c'x s.t. A x + s = b, s in K,
// with a known unique, strictly complementary, nondegenerate solution (x*, y*, s*). LPs at
// m = n and m = 2n, an SOCP (nonneg rows and second-order blocks) and an SDP (nonneg rows and
// two PSD blocks). The layer's scalar output is loss = w'x* for a fixed Gaussian w, so its
// gradient in (c, b) is what the peer computes from the adjoint of its KKT matrix (grad_c,
// grad_b with weights w).
//
// implc: the model below (samples/lp_layer.impl with b a parameter, any cone, and the output
// w'x), compiled once per cone. Cold: per repeat a fresh instance (A copied into it, so the
// solver's factorization of I + A'A, cached per A array, is computed again) and
// runModel(instance, { jacobian: false }), which solves (Douglas-Rachford, then a semismooth
// Newton polish on the face), certifies (B = dF/d(x, v) of order n + m, through its reduced
// system) and returns gradients.loss.{c, b} from that factorization. Its phases are timed
// apart on another fresh instance: solveInstance, then what runModel does after the solve
// (certifySelection and the output gradients from its factorization, as run.ts). Warm: what
// training does, same A and a new c each repeat (instance.with({ c }), the factorization
// shared; c = -A'y with y* moved within its face, so that the program stays bounded),
// solved from the previous solution (runModel's y0), derivatives included.
//
// cvxopt: solve_ms is conelp alone (median over the repeats, after one untimed call that fixes
// the tightest tolerance it converges at, 1e-10 at best), diff_ms the KKT differentiation alone
// (assembly of M of order n + 2m, one dense solve with M'). Its Newton polish of conelp's point
// (on curved cones conelp is only good to ~sqrt(gap)) is listed apart, not in its total.
//
// Usage: npx tsx bench/cones.ts [--sizes 50x50,100x50,...] (m x n, LPs) [--repeats N]
//        [--extra socp,sdp|none]
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { compileModel } from '../src/compile-model.ts';
import type { ModelClass } from '../codegen/build.ts';
import { certifySelection, ImplicitDerivatives, runModel, solveInstance, type ModelInstance, type RunResult } from '../src/runtime/index.ts';
import { blockRanges, gaussian, lpProgram, randomProgram, type Cone, type ConeProgram } from '../test/helpers/cone-programs.ts';
import { mulberry32 } from '../test/helpers/rng.ts';
import { pythonWith, runPeer, writeMatrix } from './peers.ts';

/** A program with m n above this is timed from its first run (no untimed warm-up) and, by default, once: the bench's budget is minutes. */
export const LARGE = 250_000;

/** Repeats stop once a program's timed runs have taken this long (at least one is timed): a slow solve is timed once. */
export const REPEAT_BUDGET_MS = 5000;

/** The issue's LP sizes, m x n: m = n and m = 2n, m and n from 50 to 1000. */
export const DEFAULT_SIZES = '50x50,100x100,200x200,500x500,1000x1000,100x50,200x100,400x200,1000x500';

/** The SOCP and SDP rows: moderate programs on curved cones (boundary pairs that move with c). */
export const EXTRA_PROGRAMS: Record<string, { cone: Cone; n: number }> = {
  socp: { cone: { blocks: [{ kind: 'nonneg', n: 200 }, ...Array.from({ length: 40 }, () => ({ kind: 'soc' as const, n: 10 }))] }, n: 200 },
  sdp: { cone: { blocks: [{ kind: 'nonneg', n: 100 }, { kind: 'psd', n: 15 }, { kind: 'psd', n: 15 }] }, n: 120 },
};

/**
 * The layer: samples/lp_layer.impl with b a parameter too, the cone given, and the output w'x.
 * An LP's cone is `nonneg[m]`, m bound from A (one class for every size); other cones are
 * spelled with their block sizes, their length named m.
 */
export function layerSource(cone: Cone | 'lp'): string {
  const declaration = cone === 'lp' ? 'cone K = nonneg[m]' : `cone K[m] = ${cone.blocks.map((b) => `${b.kind}[${b.n}]`).join(' * ')}`;
  return `model ConeLayer {
  dim n, m
  param c: real[n]
  param b: real[m]
  data A: real[m, n]
  data w: real[n]
  ${declaration}
  unknown x: real[n]
  unknown v: real[m]
  let s = proj_cone(v, K)
  let y = s - v
  solve {
    A * x + s = b
    A' * y + c = 0
  }
  output loss = w' * x
}
`;
}

interface PeerResult {
  status: string;
  tol: number;
  iterations: number;
  solve_ms: number;
  polish_ms: number;
  x: number[];
  kkt_singular: boolean;
  diff_ms?: number;
  grad_c?: number[];
  grad_b?: number[];
}

export interface ConeRow {
  name: string;
  m: number;
  n: number;
  /** Timed repeats made (fewer than asked once REPEAT_BUDGET_MS is spent). */
  repeats: number;
  solveMs: number;
  /** certifySelection and the output gradients from its factorization, as runModel does after the solve. */
  derivativeMs: number;
  /** runModel(instance, { jacobian: false }) on a fresh instance. */
  totalMs: number;
  warmMs: number;
  warmRepeats: number;
  iterations: number;
  warmIterations: number;
  certificate: string;
  /** max |x - x*| (the known solution), over the cold run and the warm ones (whose new c keeps x*). */
  errX: number;
  peer: PeerResult | null;
  /** max |x - x_cvxopt|, and the gradients' max differences relative to the largest entry of either. */
  errPeerX: number | null;
  errGradC: number | null;
  errGradB: number | null;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((t, v) => Math.max(t, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((t, v, i) => Math.max(t, Math.abs(v - b[i])), 0);
/** Largest difference relative to the larger vector's largest entry (an LP's grad_c is 0 up to rounding: then absolute). */
const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => maxDiff(a, b) / Math.max(1, maxAbs(a), maxAbs(b));

/**
 * A new cost c = -A'y with y = y* moved within K* and on y*'s face: nonneg entries scaled by
 * factors in [0.95, 1.05], second-order and PSD blocks each by one such factor. A c moved
 * freely need not keep the program bounded: at m = n every row is active, y = -A'^{-1} c, and
 * a small y_i turns negative under a relative 1e-3 change of c (the LP is then unbounded, as
 * implc reports). This c keeps (x*, s*) optimal, with the dual solution y.
 */
function movedCost(P: ConeProgram, rng: () => number): Float64Array {
  const y = P.y.slice();
  const factor = () => 1 + 0.05 * (2 * rng() - 1);
  for (const { kind, start, length } of blockRanges(P.cone)) {
    if (kind === 'zero' || kind === 'nonneg') {
      for (let i = start; i < start + length; i++) y[i] *= factor();
    } else {
      const f = factor();
      for (let i = start; i < start + length; i++) y[i] *= f;
    }
  }
  const c = new Float64Array(P.cols);
  for (let i = 0; i < P.rows; i++) for (let j = 0; j < P.cols; j++) c[j] -= P.A[i * P.cols + j] * y[i];
  return c;
}

/** The unknowns of a run, flat in the model's order (a warm start for the next). */
function flatSolution(model: ModelInstance, r: RunResult): Float64Array {
  const y = new Float64Array(model.n);
  for (const u of model.unknowns) y.set((r.solution[u.name] as number[]).flat(), u.offset);
  return y;
}

/** One program: implc cold (solve; solve + derivatives) and warm, then the peer on the same data. */
export function compareCone(Layer: ModelClass, name: string, P: ConeProgram, repeats: number, python: string | null): ConeRow {
  const m = P.rows;
  const n = P.cols;
  const w = Float64Array.from({ length: n }, ((rng) => () => gaussian(rng))(mulberry32(1000 + m + n)));
  const inputs = { A: { shape: [m, n], data: P.A }, b: P.b, c: P.c, w };
  const fresh = () => new Layer(inputs) as ModelInstance;
  const check = (r: { status: string }, what: string) => {
    if (r.status !== 'converged') throw new Error(`implc ${what} on ${name}: ${r.status}`);
  };
  // Untimed runs first: V8 compiles the solver's code in tiers over many calls, so a small
  // program warms up for a second of runs; a large one (its inner loops compiled within the
  // run) is timed from its first run, and one that takes seconds is timed once (the budget).
  if (m * n <= LARGE) {
    const start = performance.now();
    do check(runModel(fresh(), { jacobian: false }), 'run');
    while (performance.now() - start < 1000);
  }
  const solveMs: number[] = [];
  const derivativeMs: number[] = [];
  const totalMs: number[] = [];
  let iterations = 0;
  let last: RunResult | null = null;
  const timed = performance.now();
  for (let k = 0; k < repeats && (k === 0 || performance.now() - timed < REPEAT_BUDGET_MS); k++) {
    // The phases of runModel apart, on one fresh instance: the solve, then what runModel does
    // after it (run.ts): the certificate, and the output gradients from its factorization.
    const inst = fresh();
    let t0 = performance.now();
    const s = solveInstance(inst);
    solveMs.push(performance.now() - t0);
    check(s, 'solve');
    iterations = s.iterations;
    t0 = performance.now();
    const certified = certifySelection(inst, s.y, s.residual);
    new ImplicitDerivatives(inst, s.y, { prefactored: certified.selected ?? undefined, ...(certified.structured ? { structured: certified.structured } : {}) }).outputGradients();
    derivativeMs.push(performance.now() - t0);
    // The whole: runModel on another fresh instance (solution, certificate, gradients tables).
    t0 = performance.now();
    last = runModel(fresh(), { jacobian: false });
    totalMs.push(performance.now() - t0);
    check(last, 'run');
  }
  const r = last!;
  const x = r.solution.x as number[];
  const grad = r.gradients?.loss as { c: number[]; b: number[] } | undefined;

  // Warm: the same A and a new c each repeat, solved from the previous solution.
  const base = new Layer(inputs);
  let y0 = flatSolution(base, r);
  const rng = mulberry32(7 + m + n);
  const warmMs: number[] = [];
  let warmIterations = 0;
  let warmErrX = 0;
  const warmStart = performance.now();
  for (let k = 0; k < repeats + 1 && (k < 2 || performance.now() - warmStart < REPEAT_BUDGET_MS); k++) {
    const c = movedCost(P, rng);
    const inst = base.with({ c });
    const t0 = performance.now();
    const rw = runModel(inst, { jacobian: false, y0 });
    const t = performance.now() - t0;
    check(rw, 'warm run');
    if (!rw.gradients) throw new Error(`implc warm run on ${name}: no gradients (${rw.certificate.verdict})`);
    warmErrX = Math.max(warmErrX, maxDiff(rw.solution.x as number[], P.x));
    // The first warm call is the first `with` instance: untimed, like the cold warm-up.
    if (k > 0) warmMs.push(t);
    warmIterations = rw.iterations;
    y0 = flatSolution(inst, rw);
  }

  let peer: PeerResult | null = null;
  if (python) {
    peer = runPeer<PeerResult>(python, 'cone_cvxopt.py', {
      A: writeMatrix(`cones-A-${m}x${n}`, m, n, P.A),
      b: Array.from(P.b),
      c: Array.from(P.c),
      cone: P.cone,
      weights: Array.from(w),
      repeats,
    });
  }
  return {
    name,
    m,
    n,
    repeats: solveMs.length,
    solveMs: median(solveMs),
    derivativeMs: median(derivativeMs),
    totalMs: median(totalMs),
    warmMs: median(warmMs),
    warmRepeats: warmMs.length,
    iterations,
    warmIterations,
    certificate: r.certificate.verdict,
    errX: Math.max(maxDiff(x, P.x), warmErrX),
    peer,
    errPeerX: peer ? maxDiff(x, peer.x) : null,
    errGradC: peer?.grad_c && grad ? relDiff(grad.c, peer.grad_c) : null,
    errGradB: peer?.grad_b && grad ? relDiff(grad.b, peer.grad_b) : null,
  };
}

const fmt = (t: number): string => (t < 10 ? t.toPrecision(2) : t.toFixed(0));
const exp = (v: number | null): string => (v === null ? '-' : v.toExponential(1));

export const TABLE_HEADER = [
  '| program | m | n | repeats (implc; warm) | implc solve ms | implc derivative ms | implc runModel ms | implc warm ms (`with`, new c) | cvxopt solve ms | cvxopt diff ms | cvxopt total ms | ratio cvxopt / implc | ratio cvxopt / implc warm | DR iterations (cold; warm) | conelp iterations (tol) | cvxopt polish ms | max \\|x - x_cvxopt\\| | max \\|x - x*\\| | grad_c diff | grad_b diff | certificate |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
];

export function coneTableRow(r: ConeRow): string {
  const p = r.peer;
  const peerTotal = p && p.diff_ms !== undefined ? p.solve_ms + p.diff_ms : null;
  return (
    `| ${r.name} | ${r.m} | ${r.n} | ${r.repeats}; ${r.warmRepeats} | ${fmt(r.solveMs)} | ${fmt(r.derivativeMs)} | ${fmt(r.totalMs)} | ${fmt(r.warmMs)} | ` +
    `${p ? fmt(p.solve_ms) : 'skipped'} | ${p?.diff_ms !== undefined ? fmt(p.diff_ms) : p ? 'singular' : '-'} | ${peerTotal !== null ? fmt(peerTotal) : '-'} | ` +
    `${peerTotal !== null ? (peerTotal / r.totalMs).toPrecision(2) : '-'} | ${peerTotal !== null ? (peerTotal / r.warmMs).toPrecision(2) : '-'} | ` +
    `${r.iterations}; ${r.warmIterations} | ${p ? `${p.iterations} (${p.tol.toExponential(0)})` : '-'} | ${p ? fmt(p.polish_ms) : '-'} | ` +
    `${exp(r.errPeerX)} | ${exp(r.errX)} | ${exp(r.errGradC)} | ${exp(r.errGradB)} | ${r.certificate} |`
  );
}

/** Parses `50x50,100x50` (m x n) into pairs. */
export function parseSizes(text: string): [number, number][] {
  return text.split(',').map((s) => {
    const [m, n] = s.split('x').map(Number);
    if (!Number.isInteger(m) || !Number.isInteger(n) || n < 1 || m < n) throw new Error(`size ${s}: want m x n with integers m >= n >= 1 (an LP with a unique solution has n active rows)`);
    return [m, n];
  });
}

export async function benchCones(log: (s: string) => void, sizes: [number, number][], extras: string[], repeatsFor: (m: number, n: number) => number): Promise<string[]> {
  const python = pythonWith(['cvxopt', 'numpy']);
  const rows: ConeRow[] = [];
  const layers = new Map<string, ModelClass>();
  const layer = async (cone: Cone) => {
    // LPs of every size share one class: the cone's length is the dim m, bound from A.
    const key = cone.blocks.length === 1 && cone.blocks[0].kind === 'nonneg' ? 'lp' : JSON.stringify(cone);
    if (!layers.has(key)) {
      layers.set(key, await compileModel(`bench/cones-${layers.size}.impl`, undefined, layerSource(key === 'lp' ? 'lp' : cone)));
    }
    return layers.get(key)!;
  };
  const programs: { name: string; make: () => ConeProgram }[] = [
    ...sizes.map(([m, n]) => ({ name: `LP, m = ${m === n ? 'n' : m === 2 * n ? '2n' : `${(m / n).toPrecision(2)} n`}`, make: () => lpProgram(mulberry32(m * 7919 + n), m, n) })),
    ...extras.map((e) => {
      const spec = EXTRA_PROGRAMS[e];
      if (!spec) throw new Error(`--extra ${e}: want one of ${Object.keys(EXTRA_PROGRAMS).join(', ')} or none`);
      const shape = spec.cone.blocks.map((b) => `${b.kind}[${b.n}]`);
      const counted = shape.reduce<[string, number][]>((acc, s) => (acc.length && acc[acc.length - 1][0] === s ? (acc[acc.length - 1][1]++, acc) : [...acc, [s, 1]]), []);
      return { name: `${e.toUpperCase()} (${counted.map(([s, k]) => (k > 1 ? `${k} x ${s}` : s)).join(', ')})`, make: () => randomProgram(mulberry32(17), spec.cone, spec.n, true) };
    }),
  ];
  for (const { name, make } of programs) {
    const P = make();
    const Layer = await layer(P.cone);
    rows.push(compareCone(Layer, name, P, repeatsFor(P.rows, P.cols), python));
    log(coneTableRow(rows[rows.length - 1]));
  }
  const out = [...TABLE_HEADER, ...rows.map(coneTableRow)];
  if (!python) out.push('', 'cvxopt not found (Debian: `apt-get install python3-cvxopt`): peer columns skipped.');
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const program = new Command()
    .name('bench/cones.ts')
    .option('--sizes <list>', 'LP sizes, m x n, comma separated', DEFAULT_SIZES)
    .option('--repeats <n>', 'timed repeats per program (default 5 up to m n = 1e5, 3 up to 2.5e5, 1 above)')
    .option('--extra <list>', `curved programs: ${Object.keys(EXTRA_PROGRAMS).join(',')} or none`, Object.keys(EXTRA_PROGRAMS).join(','))
    .parse(process.argv);
  const opts = program.opts<{ sizes: string; repeats?: string; extra: string }>();
  const repeats = opts.repeats === undefined ? null : Number(opts.repeats);
  if (repeats !== null && !(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`--repeats ${opts.repeats}: want an integer >= 1`);
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const started = performance.now();
  console.log(`command: \`${`npx tsx bench/cones.ts ${process.argv.slice(2).join(' ')}`.trim()}\``);
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, load at start ${load()}`);
  const lines = await benchCones(
    (s) => console.error(s),
    parseSizes(opts.sizes),
    opts.extra === 'none' ? [] : opts.extra.split(','),
    (m, n) => repeats ?? (m * n <= 1e5 ? 5 : m * n <= LARGE ? 3 : 1),
  );
  console.log(lines.join('\n'));
  console.log(
    `\nload at end ${load()}; ${((performance.now() - started) / 1000).toFixed(0)} s in all. Times are medians over the repeats (timed repeats stop after ${REPEAT_BUDGET_MS / 1000} s per program; cvxopt's as asked). implc solves to ||F||_inf <= 1e-10 (runModel's default); ` +
      'implc solve: solveInstance; derivative: what runModel does next (certifySelection, then the output gradients from its factorization), on the same fresh instance; runModel: the whole call on another fresh instance (the ratios use it). ' +
      'Warm: instance.with({ c }), c = -A\'y with y* scaled within its face by factors in [0.95, 1.05] (x* stays optimal), from the previous solution, derivatives included. cvxopt total = solve_ms + diff_ms (polish apart). ' +
      'Gradient diffs: max |implc - cvxopt| over max(1, the larger entry) of grad w\'x in c and b.',
  );
}
