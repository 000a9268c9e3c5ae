/**
 * Cone programs as layers end to end (issue 16): generic models of each cone family
 * (test/runtime/cone-program-models.ts), compiled in process and run by runModel, held
 * against truth that owes nothing to src/runtime:
 *
 * - programs built with a known unique, strictly complementary, nondegenerate solution
 *   (test/helpers/cone-programs.ts), the Minty pair recovered with the tests' own
 *   projections (test/runtime/cone-solver-programs.ts projectBlocks);
 * - the derivatives of the KKT conditions differentiated independently
 *   (test/helpers/cone-kkt.ts), and central differences of re-solved programs;
 * - cvxopt's conelp with polishing (bench/peers/cone_cvxopt.py), when installed;
 * - degenerate programs (a tie by construction, or a non-unique solution), infeasible and
 *   unbounded ones, whose verdicts and statuses are fixed by how they were built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { pythonWith, runPeer } from '../../bench/peers.ts';
import type { GeneratedInstance, ModelClass } from '../../codegen/build.ts';
import { certifySelection } from '../../src/runtime/certificate.ts';
import { coneB, coneProblem, solveConeModel } from '../../src/runtime/cone-program.ts';
import { solveCone } from '../../src/runtime/cone-solver.ts';
import { assembleByColumns } from '../../src/runtime/implicit-system.ts';
import { coneJacobian } from '../../src/runtime/values/cones.ts';
import { runModel, type ModelInstance, type RunResult } from '../../src/runtime/index.ts';
import { kktGradient, kktJacobian } from '../helpers/cone-kkt.ts';
import {
  blockRanges,
  degenerateLp,
  degeneratePsd,
  degenerateSoc,
  gaussian,
  lpProgram,
  randomProgram,
  type Cone,
  type ConeProgram,
} from '../helpers/cone-programs.ts';
import { generatedClass } from '../helpers/generated.ts';
import { mulberry32, type Rng } from '../helpers/rng.ts';
import { lpEqModel, lpModel, mixedModel, nonnegPsdModel, nonnegSocModel, sdpModel, socpModel } from './cone-program-models.ts';
import { projectBlocks, type BlockSpec } from './cone-solver-programs.ts';

type Nested = number | Nested[];

const flat = (v: unknown): number[] => (Array.isArray(v) ? (v as Nested[]).flatMap((e) => flat(e)) : [v as number]);
const inf = (v: ArrayLike<number>) => Array.from(v).reduce((t, e) => Math.max(t, Math.abs(e)), 0);
const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  return inf(Array.from(a, (v, i) => v - b[i]));
};
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((t, e, i) => t + e * b[i], 0);
const randomVector = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => gaussian(rng));

/** A model of one cone: its text, and the names of b's pieces (one per block) among its inputs. */
interface ConeModel {
  name: string;
  text: string;
  bParts: string[];
}

/** A model with the random programs it is tested on: `make` draws one of a size on the model's cone. */
interface Family extends ConeModel {
  make: (rng: Rng, size: number) => ConeProgram;
  sizes: number[];
}

/** The model's inputs for program P: b cut at its blocks, `order` a k-vector when the model has it. */
function inputsOf(family: ConeModel, P: ConeProgram, w: ArrayLike<number>): Record<string, unknown> {
  const ranges = blockRanges(P.cone);
  const inputs: Record<string, unknown> = { c: Array.from(P.c), A: { shape: [P.rows, P.cols], data: Float64Array.from(P.A) }, w: Array.from(w) };
  if (family.bParts.length === 1) inputs[family.bParts[0]] = Array.from(P.b);
  else {
    // One piece per block, the last one (psd, whose length t - ... is a sum) taking the rest.
    family.bParts.forEach((name, i) => {
      const start = ranges[i].start;
      const end = i === family.bParts.length - 1 ? P.rows : ranges[i].start + ranges[i].length;
      inputs[name] = Array.from(P.b.subarray(start, end));
    });
  }
  const psd = P.cone.blocks.find((b) => b.kind === 'psd');
  if (psd && family.text.includes('data order')) inputs.order = new Array<number>(psd.n).fill(0);
  return inputs;
}

/** b of a run's gradient table, its pieces concatenated. */
const bOf = (family: ConeModel, g: Record<string, Nested>) => family.bParts.flatMap((name) => flat(g[name]));

/** The tests' own block list for projectBlocks. */
const specOf = (cone: Cone): BlockSpec[] =>
  cone.blocks.map((b) => (b.kind === 'zero' ? { kind: 'z', size: b.n } : b.kind === 'nonneg' ? { kind: 'l', size: b.n } : b.kind === 'soc' ? { kind: 'q', size: b.n } : { kind: 's', dim: b.n }));

const families: Family[] = [
  {
    name: 'LP, nonneg',
    text: lpModel,
    bParts: ['b'],
    make: (rng, n) => lpProgram(rng, 2 * n + 3, n),
    sizes: [4, 12, 24],
  },
  {
    name: 'LP, zero + nonneg (scaled, reversed equations)',
    text: lpEqModel,
    bParts: ['be', 'bi'],
    make: (rng, n) => lpProgram(rng, 2 * n + 4, n, Math.max(1, n >> 2)),
    sizes: [5, 10, 20],
  },
  {
    name: 'SOCP, nonneg + soc + soc',
    text: socpModel,
    bParts: ['bl', 'b1', 'b2'],
    make: (rng, n) => randomProgram(rng, { blocks: [{ kind: 'nonneg', n: n + 2 }, { kind: 'soc', n: 3 + (n >> 2) }, { kind: 'soc', n: 4 + (n >> 1) }] }, n, true),
    sizes: [4, 9, 18],
  },
  {
    name: 'SDP, zero + psd',
    text: sdpModel,
    bParts: ['be', 'bs'],
    make: (rng, k) => randomProgram(rng, { blocks: [{ kind: 'zero', n: k - 1 }, { kind: 'psd', n: k }] }, k === 3 ? 4 : k === 4 ? 8 : 14, true),
    sizes: [3, 4, 6],
  },
  {
    name: 'mixed, zero + nonneg + soc + psd',
    text: mixedModel,
    bParts: ['be', 'bl', 'bq', 'bs'],
    make: (rng, n) => randomProgram(rng, { blocks: [{ kind: 'zero', n: 2 }, { kind: 'nonneg', n: n + 2 }, { kind: 'soc', n: 4 }, { kind: 'psd', n: 3 }] }, n, true),
    sizes: [6, 12, 24],
  },
];

/** The models of the degenerate generators' cones (cone-programs.ts degenerateSoc, degeneratePsd). */
const nonnegSoc: ConeModel = { name: 'nonneg + soc', text: nonnegSocModel, bParts: ['bl', 'bq'] };
const nonnegPsd: ConeModel = { name: 'nonneg + psd', text: nonnegPsdModel, bParts: ['bl', 'bs'] };

const classes = new Map<string, ModelClass>();
beforeAll(async () => {
  for (const { name, text } of [...families, nonnegSoc, nonnegPsd]) {
    classes.set(name, await generatedClass(`test/runtime/${name.replace(/\W+/g, '-')}.impl`, undefined, text));
  }
}, 60_000);

const instance = (family: ConeModel, P: ConeProgram, w: ArrayLike<number>): GeneratedInstance => new (classes.get(family.name)!)(inputsOf(family, P, w));

/** The unknowns' vector (x and v in the model's layout) of a run. */
function unknownsOf(model: ModelInstance, r: RunResult): Float64Array {
  const y = new Float64Array(model.n);
  for (const u of model.unknowns) y.set(flat(r.solution[u.name]), u.offset);
  return y;
}

/** The unknowns at the constructed solution: x*, and v* = s* - y* (then s* = Pi_K(v*), y* = s* - v*, Moreau). */
function constructedPoint(model: ModelInstance, P: ConeProgram): Float64Array {
  const y0 = new Float64Array(model.n);
  const [x, v] = model.unknowns;
  y0.set(P.x, x.offset);
  y0.set(P.s.map((s, i) => s - P.y[i]), v.offset);
  return y0;
}

/** s = Pi_K(v) and y = s - v by the tests' own projection. */
function mintyPair(cone: Cone, v: Float64Array): { s: Float64Array; y: Float64Array } {
  const s = new Float64Array(v.length);
  projectBlocks(specOf(cone), v, s, false);
  return { s, y: s.map((t, i) => t - v[i]) };
}

/** The worst errors measured, reported at the end. */
const worst = { x: 0, y: 0, s: 0, gradient: 0, jacobian: 0, fd: 0, peer: 0 };
/** Warm and cold iteration counts of the warm-start test, reported at the end. */
const iterationCounts: string[] = [];

describe('cone programs as layers: solutions and derivatives against the known solution and the KKT derivatives', () => {
  for (const family of families) {
    it(`${family.name}: converged by Douglas-Rachford, certified, x, y, s to 1e-8, gradients, dx/dc and dx/db to 1e-6`, () => {
      const runs = family.sizes.flatMap((size, i) => [0, 1].map((k) => ({ size, seed: 100 + 7 * (2 * i + k) + family.name.length })));
      runs.forEach(({ size, seed }) => {
        const rng = mulberry32(seed);
        const P = family.make(rng, size);
        const w = randomVector(rng, P.cols);
        const model = instance(family, P, w);
        const r = runModel(model, { jacobian: true });
        const what = `${family.name}, ${P.rows} x ${P.cols}, seed ${seed}`;
        expect(r.status, what).toBe('converged');
        expect(r.method, what).toBe('douglas-rachford');
        expect(r.certificate.verdict, `${what}: ${r.certificate.detail}`).toBe('certified');
        expect(r.certificate.test).toBe('cone complementarity');

        const x = flat(r.solution.x);
        const v = Float64Array.from(flat(r.solution.v));
        const { s, y } = mintyPair(P.cone, v);
        const scale = Math.max(1, inf(P.x), inf(P.y), inf(P.s));
        const ex = diff(x, P.x) / scale;
        const ey = diff(y, P.y) / scale;
        const es = diff(s, P.s) / scale;
        worst.x = Math.max(worst.x, ex);
        worst.y = Math.max(worst.y, ey);
        worst.s = Math.max(worst.s, es);
        expect(ex, `${what}: x`).toBeLessThan(1e-8);
        expect(ey, `${what}: y`).toBeLessThan(1e-8);
        expect(es, `${what}: s`).toBeLessThan(1e-8);

        const g = kktGradient(P, P, w);
        const gScale = Math.max(inf(g.c), inf(g.b), inf(g.A));
        const got = r.gradients!.o;
        const eg = Math.max(diff(flat(got.c), g.c), diff(bOf(family, got), g.b), diff(flat(got.A), g.A)) / gScale;
        worst.gradient = Math.max(worst.gradient, eg);
        expect(eg, `${what}: gradient of w'x`).toBeLessThan(1e-6);
        // The curved families move x with c (randomPatterns' `curved`): the test has teeth.
        if (family.text !== lpModel && family.text !== lpEqModel) expect(inf(g.c)).toBeGreaterThan(1e-3);

        const J = kktJacobian(P, P);
        const jScale = Math.max(inf(J.dxdc), inf(J.dxdb));
        // dx/db: each row of x's Jacobian in b's pieces, side by side.
        const pieces = family.bParts.map((name) => r.jacobian!.x[name] as Nested[]);
        const dxdb = Array.from({ length: P.cols }, (_, i) => pieces.flatMap((piece) => flat(piece[i]))).flat();
        const ej = Math.max(diff(flat(r.jacobian!.x.c), J.dxdc), diff(dxdb, J.dxdb)) / jScale;
        worst.jacobian = Math.max(worst.jacobian, ej);
        expect(ej, `${what}: dx/dc and dx/db`).toBeLessThan(1e-6);
      });
    });
  }

  for (const family of families) {
    it(`${family.name}: the gradient matches central differences of re-solved programs (entries of c, b and A)`, () => {
      const rng = mulberry32(300 + family.name.length);
      const P = family.make(rng, family.sizes[1]);
      const w = randomVector(rng, P.cols);
      const model = instance(family, P, w);
      const r = runModel(model, { jacobian: true, tol: 1e-12 });
      expect(r.status).toBe('converged');
      const got = r.gradients!.o;
      const gc = flat(got.c);
      const gb = bOf(family, got);
      const gA = flat(got.A);
      const scale = Math.max(inf(gc), inf(gb), inf(gA));
      const h = 1e-5;
      const output = (Q: ConeProgram) => {
        const rr = runModel(instance(family, Q, w), { tol: 1e-12 });
        expect(rr.status).toBe('converged');
        return rr.outputs.o;
      };
      const central = (perturb: (Q: ConeProgram, t: number) => void) => {
        const up = { ...P, A: P.A.slice(), b: P.b.slice(), c: P.c.slice() };
        const dn = { ...P, A: P.A.slice(), b: P.b.slice(), c: P.c.slice() };
        perturb(up, h);
        perturb(dn, -h);
        return (output(up) - output(dn)) / (2 * h);
      };
      // The largest entries: differences of small ones are all rounding.
      const argmax = (g: number[]) => g.reduce((best, e, i) => (Math.abs(e) > Math.abs(g[best]) ? i : best), 0);
      const j = argmax(gc);
      const i = argmax(gb);
      const a = argmax(gA);
      const checks: [string, number, number][] = [
        ['c', gc[j], central((Q, t) => (Q.c[j] += t))],
        ['b', gb[i], central((Q, t) => (Q.b[i] += t))],
        ['A', gA[a], central((Q, t) => (Q.A[a] += t))],
      ];
      for (const [name, analytic, measured] of checks) {
        const e = Math.abs(analytic - measured) / scale;
        worst.fd = Math.max(worst.fd, e);
        expect(e, `${family.name}: d o / d ${name}: ${analytic} vs ${measured}`).toBeLessThan(1e-6);
      }
    });
  }

  /**
   * B at a solution by the model's own jvpY kernels, column by column (assembleByColumns, the
   * generic path's B), against what the certificate uses: its B formed by coneB from the cone's
   * selected Jacobian (at ties, and whenever the certificate keeps a dense selection), and,
   * without ties, its solves through the reduced system (cone-reduced.ts), which never form B:
   * J z = r and J'w = g for random r, g.
   */
  it("the certificate's B (formed, or solved through its reduced system) is the B the model's own jvpY assembles", () => {
    const rng = mulberry32(400);
    const cases: { what: string; family: ConeModel; P: ConeProgram; y0?: 'tie' }[] = [
      ...families.map((family) => ({ what: family.name, family, P: family.make(rng, family.sizes[0]) })),
      ...families.map((family) => ({ what: `${family.name} (larger)`, family, P: family.make(rng, family.sizes[2]) })),
      { what: 'degenerate LP at its tie', family: families[0], P: degenerateLp(rng, 14, 5), y0: 'tie' },
      { what: 'degenerate SOCP at its tie', family: nonnegSoc, P: degenerateSoc(rng, 5, 3), y0: 'tie' },
      { what: 'degenerate SDP at its tie', family: nonnegPsd, P: degeneratePsd(rng, 8, 3), y0: 'tie' },
    ];
    let structuredChecked = 0;
    for (const { what, family, P, y0 } of cases) {
      const model = instance(family, P, randomVector(rng, P.cols));
      const start = y0 ? constructedPoint(model, P) : undefined;
      const r = runModel(model, start ? { y0: start } : {});
      expect(r.status, what).toBe('converged');
      const y = unknownsOf(model, r);
      const J = assembleByColumns(model, y, model.kinkFactors(y), null);
      expect([J.rows, J.cols]).toEqual([model.n, model.n]);
      const scale = inf(J.data);
      const problem = coneProblem(model)!;
      const v = y.slice(problem.vAt, problem.vAt + problem.m);
      const B = coneB(problem, coneJacobian(problem.K, v), model.n);
      expect(diff(B.data, J.data) / scale, `${what}: coneB`).toBeLessThan(1e-13);
      const { certificate, selected, structured } = certifySelection(model, y, r.residual);
      expect(certificate.verdict, what).toBe(y0 ? 'violated' : 'certified');
      if (selected) expect(diff(selected.B.data, J.data) / scale, `${what}: the selected B`).toBeLessThan(1e-13);
      if (structured) {
        structuredChecked++;
        const mul = (M: { data: Float64Array }, z: Float64Array, transposed: boolean) =>
          Float64Array.from({ length: model.n }, (_, i) => {
            let t = 0;
            for (let j = 0; j < model.n; j++) t += (transposed ? M.data[j * model.n + i] : M.data[i * model.n + j]) * z[j];
            return t;
          });
        const rhs = randomVector(rng, model.n);
        const z = structured.solve(rhs);
        const w = structured.solveTranspose(rhs);
        const zScale = Math.max(1, inf(z), inf(w)) * scale;
        expect(diff(mul(J, z, false), rhs) / zScale, `${what}: B z = r`).toBeLessThan(1e-12);
        expect(diff(mul(J, w, true), rhs) / zScale, `${what}: B'w = g`).toBeLessThan(1e-12);
      }
      if (!y0) expect(selected !== null || structured !== undefined, `${what}: the certificate keeps B for the derivatives`).toBe(true);
    }
    if (structuredChecked === 0) console.log('cone-program.test: no certificate solved through a reduced system');
  });
});

describe('warm starts and the factorization', () => {
  it('a program derived with `with` (new c), started from the last solution, takes fewer iterations than cold', () => {
    for (const family of [families[0], families[2], families[4]]) {
      const rng = mulberry32(500 + family.name.length);
      const P = family.make(rng, family.sizes[1]);
      const w = randomVector(rng, P.cols);
      const model = instance(family, P, w);
      const first = runModel(model);
      expect(first.status).toBe('converged');
      const c = P.c.map((t) => t * (1 + 1e-3 * gaussian(rng)));
      const warm = runModel(model.with({ c: Array.from(c) }), { y0: unknownsOf(model, first) });
      const cold = runModel(model.with({ c: Array.from(c) }));
      expect(warm.status).toBe('converged');
      expect(cold.status).toBe('converged');
      expect(diff(flat(warm.solution.x), flat(cold.solution.x))).toBeLessThan(1e-8 * Math.max(1, inf(P.x)));
      iterationCounts.push(`${family.name}: warm ${warm.iterations}, cold ${cold.iterations}`);
      expect(warm.iterations, `${family.name}: warm ${warm.iterations}, cold ${cold.iterations}`).toBeLessThan(cold.iterations);
    }
  });

  it('the second solve of a program with the same A reuses the factorization (new instance by `with`, new c)', () => {
    const family = families[2];
    const rng = mulberry32(600);
    const P = family.make(rng, family.sizes[1]);
    const model = instance(family, P, randomVector(rng, P.cols));
    const first = coneProblem(model)!;
    // A fresh A (the instance binds its own copy of the input): factored by this first call.
    const fresh = solveCone(first.A, first.b, first.c, first.callbacks, { tol: 1e-9 });
    expect(fresh.factorizationReused).toBe(false);
    const next = model.with({ c: Array.from(P.c, (t) => -t * 0.5 + 0.1) });
    const second = coneProblem(next)!;
    // The same A: the per-A cache keys on its array, which the derived instance shares.
    expect(second.A.data).toBe(first.A.data);
    const again = solveConeModel(next, second, new Float64Array(next.n), { tol: 1e-10, maxIter: 100_000, deadline: Infinity });
    expect(again.last.factorizationReused).toBe(true);
    // A different A is not served from the cache.
    const other = instance(family, { ...P, A: P.A.map((t) => t * 1.01) }, new Float64Array(P.cols));
    const third = coneProblem(other)!;
    expect(solveCone(third.A, third.b, third.c, third.callbacks, { tol: 1e-9 }).factorizationReused).toBe(false);
  });
});


/** Never certified, the named pattern in the detail, and no derivatives when violated. */
function expectNotCertified(r: RunResult, what: string, named: RegExp): void {
  expect(r.status, what).toBe('converged');
  expect(['violated', 'unverified'], `${what}: ${r.certificate.verdict}: ${r.certificate.detail}`).toContain(r.certificate.verdict);
  expect(r.certificate.test).toBe('cone complementarity');
  expect(r.certificate.detail, what).toMatch(named);
  if (r.certificate.verdict === 'violated') {
    expect(r.gradients, what).toBeUndefined();
    expect(r.jacobian, what).toBeUndefined();
  }
}

/**
 * A degenerate program (a tie at the constructed solution) run twice. Started from the
 * constructed point (x*, v* = s* - y*), a solution, the solve stays there and the certificate
 * must find the tie and name it by constraint. Started cold, Douglas-Rachford may end at
 * another solution: a tie means the solution is not unique (for an LP by Goldman-Tucker, and in
 * each construction here the dual can move off the tie), and the point found may be strictly
 * complementary with a singular B; then the detail must say the program is degenerate, and when
 * it finds a tie, name the constructed one.
 */
function expectDegenerate(family: ConeModel, P: ConeProgram, seed: number, what: string, named: RegExp): void {
  const w = randomVector(mulberry32(seed), P.cols);
  const cold = runModel(instance(family, P, w), { jacobian: true });
  // Cold, the solver may land anywhere in the (non-unique) solution set: at ties, which the
  // detail names by constraint (not necessarily the constructed one), or at a point without
  // ties whose B is singular. The run from the constructed point names the constructed tie.
  expectNotCertified(cold, `${what}, cold`, cold.certificate.ties > 0 ? /(nonneg row \d+|soc block \d+ \(rows \d+-\d+\)|psd block \d+ \(rows \d+-\d+\))/ : /the single B, but it is singular: .*(solution is not unique|not unique)/);
  const model = instance(family, P, w);
  const warm = runModel(model, { jacobian: true, y0: constructedPoint(model, P) });
  expect(warm.certificate.ties, `${what}, from the tie: ${warm.certificate.detail}`).toBeGreaterThan(0);
  expectNotCertified(warm, `${what}, from the tie`, named);
}

describe('degenerate programs are never certified', () => {
  it('an LP with a weakly active constraint (s_i = y_i = 0): the tie named by its row', () => {
    for (const seed of [1, 2, 3]) {
      const P = degenerateLp(mulberry32(700 + seed), 20, 8);
      const tie = Array.from(P.s, (s, i) => (s === 0 && P.y[i] === 0 ? i : -1)).filter((i) => i >= 0);
      expect(tie).toHaveLength(1);
      expectDegenerate(families[0], P, seed, `degenerate LP, seed ${seed}`, new RegExp(`nonneg row ${tie[0] + 1}:`));
    }
  });

  it('an SOCP with a second-order block at s = y = 0: the block named with its rows', () => {
    for (const seed of [1, 2, 3]) {
      const P = degenerateSoc(mulberry32(710 + seed), 6, 4);
      const soc = blockRanges(P.cone)[1];
      expectDegenerate(nonnegSoc, P, seed, `degenerate SOCP, seed ${seed}`, new RegExp(`soc block 2 \\(rows ${soc.start + 1}-${soc.start + soc.length}\\): at the origin`));
    }
  });

  it('an SDP whose S and Y share a zero eigenvalue: the psd block named with its rows', () => {
    for (const [seed, n, k] of [[1, 8, 3], [2, 10, 4], [3, 8, 3]]) {
      const P = degeneratePsd(mulberry32(720 + seed), n, k);
      const psd = blockRanges(P.cone)[1];
      expectDegenerate(nonnegPsd, P, seed, `degenerate SDP, seed ${seed}, order ${k}`, new RegExp(`psd block 2 \\(rows ${psd.start + 1}-${psd.start + psd.length}\\): eigenvalue \\d of ${k} is`));
    }
  });

  it('an LP whose c is normal to a face (one active row carries all of y): a non-unique solution', () => {
    for (const seed of [1, 2, 3]) {
      const P = lpProgram(mulberry32(730 + seed), 20, 6);
      const i = P.y.findIndex((t) => t > 0);
      // c = -a_i y_i: every feasible point of the face a_i'x = b_i is optimal (dimension n - 1).
      const c = Float64Array.from({ length: P.cols }, (_, j) => -P.A[i * P.cols + j] * P.y[i]);
      const r = runModel(instance(families[0], { ...P, c }, randomVector(mulberry32(seed), P.cols)), { jacobian: true });
      expectNotCertified(r, `LP normal to a face, seed ${seed}`, r.certificate.ties > 0 ? /nonneg row \d+:/ : /it is singular: only \d+ constraint rows? (is|are) tight for \d+ unknowns: the primal solution is not unique/);
      // The point found is optimal: on the face, with the optimal cost c'x* (the known x* is one solution).
      const x = flat(r.solution.x);
      const ai = Array.from(P.A.subarray(i * P.cols, (i + 1) * P.cols));
      expect(Math.abs(dot(ai, x) - P.b[i])).toBeLessThan(1e-8 * Math.max(1, Math.abs(P.b[i])));
      expect(Math.abs(dot(c, x) - dot(c, P.x))).toBeLessThan(1e-8 * Math.max(1, Math.abs(dot(c, P.x))));
    }
  });
});

describe('infeasible and unbounded programs', () => {
  const lp: Family = families[0];
  const expectFailure = (r: RunResult, status: 'infeasible' | 'unbounded', what: string) => {
    expect(r.status, `${what}: ${r.status}`).toBe(status);
    expect(r.method).toBe('douglas-rachford');
    expect(r.certificate.verdict, what).not.toBe('certified');
    expect(r.gradients).toBeUndefined();
  };

  it('an LP with a_1\'x <= 1 and a_1\'x >= 2 among random rows: infeasible', () => {
    for (const seed of [1, 2]) {
      const rng = mulberry32(800 + seed);
      const m = 15;
      const n = 6;
      const A = Float64Array.from({ length: m * n }, () => gaussian(rng));
      for (let j = 0; j < n; j++) A[(m - 1) * n + j] = -A[j];
      const b = Float64Array.from({ length: m }, () => 1 + Math.abs(gaussian(rng)));
      b[0] = 1;
      b[m - 1] = -2;
      // c = -A'y with y > 0: the dual is feasible, so the program is not also unbounded.
      const c = new Float64Array(n);
      for (let i = 0; i < m; i++) {
        const yi = 0.5 + Math.abs(gaussian(rng));
        for (let j = 0; j < n; j++) c[j] -= A[i * n + j] * yi;
      }
      const P = { rows: m, cols: n, A, b, c, cone: { blocks: [{ kind: 'nonneg' as const, n: m }] }, x: new Float64Array(n), y: new Float64Array(m), s: new Float64Array(m) };
      expectFailure(runModel(instance(lp, P, randomVector(rng, n)), { jacobian: true }), 'infeasible', `infeasible LP, seed ${seed}`);
    }
  });

  it('an LP whose feasible set holds the ray x = t 1 along which c decreases: unbounded', () => {
    for (const seed of [1, 2]) {
      const rng = mulberry32(810 + seed);
      const m = 12;
      const n = 5;
      // A = -|G|: A (t 1) <= 0 <= b for every t >= 0, and c'1 = -n.
      const A = Float64Array.from({ length: m * n }, () => -Math.abs(gaussian(rng)));
      const b = Float64Array.from({ length: m }, () => 1 + Math.abs(gaussian(rng)));
      const c = Float64Array.from({ length: n }, () => -1);
      const P = { rows: m, cols: n, A, b, c, cone: { blocks: [{ kind: 'nonneg' as const, n: m }] }, x: new Float64Array(n), y: new Float64Array(m), s: new Float64Array(m) };
      expectFailure(runModel(instance(lp, P, randomVector(rng, n)), { jacobian: true }), 'unbounded', `unbounded LP, seed ${seed}`);
    }
  });

  it('an SOCP with ||x|| <= 1 and x_1 >= 2: infeasible', () => {
    // Rows: nonneg -x_1 + s = -2; soc (1, x) = s; soc (1, 0) = s.
    const A = Float64Array.from([-1, 0, 0, 0, -1, 0, 0, -1, 0, 0, 0, 0]);
    const b = Float64Array.from([-2, 1, 0, 0, 1, 0]);
    const P = {
      rows: 6,
      cols: 2,
      A,
      b,
      c: Float64Array.from([1, 1]),
      cone: { blocks: [{ kind: 'nonneg' as const, n: 1 }, { kind: 'soc' as const, n: 3 }, { kind: 'soc' as const, n: 2 }] },
      x: new Float64Array(2),
      y: new Float64Array(6),
      s: new Float64Array(6),
    };
    expectFailure(runModel(instance(families[2], P, [1, 0]), { jacobian: true }), 'infeasible', 'infeasible SOCP');
  });
});

interface PeerResult {
  x: number[];
  y: number[];
  s: number[];
  status: string;
  polished: boolean;
}

const python = pythonWith(['cvxopt', 'numpy']);

describe.skipIf(python === null)('against cvxopt (bench/peers/cone_cvxopt.py, conelp and polish)', () => {
  for (const family of families) {
    it(`${family.name}: x, y and s agree with the peer's polished solution to 1e-7`, () => {
      const rng = mulberry32(900 + family.name.length);
      const P = family.make(rng, family.sizes[1]);
      const r = runModel(instance(family, P, randomVector(rng, P.cols)));
      expect(r.status).toBe('converged');
      const peer = runPeer<PeerResult>(python!, 'cone_cvxopt.py', {
        A_rows: Array.from({ length: P.rows }, (_, i) => Array.from(P.A.subarray(i * P.cols, (i + 1) * P.cols))),
        b: Array.from(P.b),
        c: Array.from(P.c),
        cone: P.cone,
        repeats: 1,
      });
      expect(peer.status).toBe('optimal');
      const x = flat(r.solution.x);
      const { s, y } = mintyPair(P.cone, Float64Array.from(flat(r.solution.v)));
      const scale = Math.max(1, inf(peer.x), inf(peer.y), inf(peer.s));
      const e = Math.max(diff(x, peer.x), diff(y, peer.y), diff(s, peer.s)) / scale;
      worst.peer = Math.max(worst.peer, e);
      expect(e, family.name).toBeLessThan(1e-7);
    });
  }
});

afterAll(() => {
  console.log(`cone-program.test worst errors: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}; iterations ${iterationCounts.join('; ')}`);
});
