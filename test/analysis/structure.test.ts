/**
 * The structure the analysis hands to codegen does not depend on how a model is spelled:
 * the Lasso, the elastic net and the box QP, each in several spellings (bench/models), read
 * as the same composite problem (the same kinds of terms on the same inputs; the same numbers
 * up to a positive scale, which changes no solution), and solved by the same structured
 * solver to the same point. And models that are not the form are not read as it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import { assembleByColumns, solveInstance, type CompositeProblem, type ModelInstance } from '../../src/runtime/index.ts';
import type { CompositeForm, ModelStructure } from '../../src/structure/types.ts';
import { mulberry32 } from '../helpers/rng.ts';

const DIR = 'bench/models';
const families = ['lasso', 'elastic_net', 'box_qp'] as const;
const filesOf = (family: string) => readdirSync(DIR).filter((f) => f.startsWith(`${family}_`) && f.endsWith('.impl')).sort();

function structureOf(file: string): ModelStructure {
  const r = analyzeFile(file, readFileSync(file, 'utf8'));
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.analyses[0].structure;
}

/** The composite form with its nodes named by the inputs they are (`X`), or by `let`/expression otherwise. */
function shapeOf(s: ModelStructure): unknown {
  const f = s.composite as CompositeForm;
  const g = s.graph;
  const name = (id: number) => {
    const n = g.node(id);
    return n.op === 'input' ? (n as { name: string }).name : `<${n.op}>`;
  };
  return {
    grams: f.grams.map((x) => ({ matrix: name(x.matrix), transposed: x.transposed })),
    matrices: f.matrices.map((x) => ({ matrix: name(x.matrix) })),
    diagonals: f.diagonals.length,
    penalty: f.penalty.kind,
  };
}

const rng = mulberry32(20261206);
const normal = () => Math.sqrt(-2 * Math.log(rng() + 1e-300)) * Math.cos(2 * Math.PI * rng());
const rows = (n: number, p: number) => Array.from({ length: n }, () => Array.from({ length: p }, normal));

function inputsFor(family: (typeof families)[number]): Record<string, unknown> {
  const [n, p, m] = [30, 12, 5];
  const X = rows(n, p);
  const y = Array.from({ length: n }, normal);
  const common = { X, y, Xv: rows(m, p), yv: Array.from({ length: m }, normal) };
  if (family === 'lasso') return { ...common, lambda: 2 };
  if (family === 'elastic_net') return { ...common, lambda1: 2, lambda2: 0.7 };
  const k = 10;
  const R = rows(k + 3, k);
  const Q = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => R.reduce((acc, row) => acc + row[i] * row[j], 0)));
  return { Q, lo: Array(k).fill(-0.3), hi: Array(k).fill(0.5), target: Array(k).fill(0), q: Array.from({ length: k }, () => 3 * normal()) };
}

/** The problem divided by a positive scale (the first Gram or matrix coefficient), as plain numbers. */
function normalized(p: CompositeProblem): { identity: number; diagonal: number[]; coefs: number[]; offset: number[]; penalty: number[] } {
  const scale = p.grams[0]?.coef ?? p.matrices[0]?.coef ?? 1;
  expect(scale).toBeGreaterThan(0);
  const diag = p.diagonal ? Array.from(p.diagonal, (v) => v / scale) : Array(p.size).fill(0);
  const penalty = p.penalty.kind === 'l1' ? Array.from(p.penalty.weights, (w) => w / scale) : p.penalty.kind === 'box' ? [...p.penalty.lower, ...p.penalty.upper] : [];
  return {
    // An identity and a constant diagonal are the same term: fold them.
    identity: 0,
    diagonal: diag.map((d) => d + p.identity / scale),
    coefs: [...p.grams.map((x) => x.coef / scale), ...p.matrices.map((x) => x.coef / scale)],
    offset: Array.from(p.offset, (v) => v / scale),
    penalty,
  };
}

function close(a: number[], b: number[], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]))));
}

describe('the structure is an output of the analysis, the same whatever the spelling', () => {
  for (const family of families) {
    const files = filesOf(family).map((f) => `${DIR}/${f}`);

    it(`${family}: every spelling (${files.length}) is the composite form, with the same terms on the same inputs`, () => {
      expect(files.length).toBeGreaterThanOrEqual(4);
      const shapes = files.map((f) => shapeOf(structureOf(f)));
      for (const s of shapes) expect(s).toEqual(shapes[0]);
      // And the same reduction for the implicit solves (one diagonal kink site, identity rows where it is 0) ...
      for (const f of files) expect(structureOf(f).reduction).not.toBeNull();
    });

    it(`${family}: the same problem up to a positive scale, and the same solution by the same solver`, async () => {
      const inputs = inputsFor(family);
      const problems: ReturnType<typeof normalized>[] = [];
      const solutions: Float64Array[] = [];
      for (const f of files) {
        const Model = await compileModel(f);
        const model = new Model(inputs) as ModelInstance;
        const p = model.compositeProblem!()!;
        expect(p).not.toBeNull();
        problems.push(normalized(p));
        const r = solveInstance(model, { tol: 1e-11 });
        expect(r.status).toBe('converged');
        expect(r.method).toBe('coordinate-descent+newton');
        solutions.push(r.y);
        // B assembled from the structure (products of fixed matrices applied factor by factor,
        // transposes read from the matrix) is B column by column through the kernels.
        const factors = model.kinkFactors(r.y);
        const rows = Int32Array.from({ length: model.n }, (_, i) => i).filter((i) => i % 3 !== 1);
        for (const sel of [null, rows]) {
          const direct = model.denseB!(r.y, factors, sel);
          expect(direct, `${f}: denseB`).not.toBeNull();
          const columns = assembleByColumns(model, r.y, factors, sel);
          const scale = Math.max(1, ...columns.data.map(Math.abs));
          columns.data.forEach((v, i) => expect(Math.abs(direct!.data[i] - v) / scale).toBeLessThan(1e-13));
        }
      }
      for (const p of problems.slice(1)) {
        close(p.diagonal, problems[0].diagonal, 1e-12);
        close(p.coefs, problems[0].coefs, 1e-12);
        close(p.offset, problems[0].offset, 1e-11);
        close(p.penalty, problems[0].penalty, 1e-12);
      }
      for (const y of solutions.slice(1)) close(Array.from(y), Array.from(solutions[0]), 1e-9);
    });
  }
});

describe('what is not the form is not read as it', () => {
  const model = (map: string, extra = '') => `model M {
  dim n, p
  data X: real[n, p]
  data Z: real[n, p]
  data y: real[n]
  data w: real[n]
  param lambda: real
  let step = 1 / opnorm(X)^2
  unknown beta: real[p] = 0
  ${extra}
  fixpoint beta = ${map}
}
`;
  const cases: [string, string][] = [
    ['a gradient through another design (Z\'X is no Gram product)', "soft_threshold(beta - step * Z' * (X * beta - y), step * lambda)"],
    ['a weighted Gram product X\'diag(w)X', "soft_threshold(beta - step * X' * (w .* (X * beta) - y), step * lambda)"],
    ['a kink inside the argument', "soft_threshold(beta - step * X' * (relu(X * beta) - y), step * lambda)"],
    ['a prox inside a sum with something other than the unknown', "0.5 * beta + 0.5 * soft_threshold(beta - step * X' * (X * beta - y), step * lambda) + 0.1 * relu(beta)"],
    ['a threshold that moves with the unknown', "soft_threshold(beta - step * X' * (X * beta - y), step * lambda * sum(beta))"],
  ];
  for (const [what, map] of cases) {
    it(what, () => {
      const r = analyzeFile('m.impl', model(map));
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(r.analyses[0].structure.composite).toBeNull();
    });
  }

  it('the structure is frozen: codegen can only read it', () => {
    const s = structureOf(`${DIR}/lasso_sample.impl`);
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.composite)).toBe(true);
    expect(Object.isFrozen(s.kernels.residual)).toBe(true);
  });
});

describe('the same problem stated as an equation or as a damped map', () => {
  const lasso = (decl: string) => `model L {
  dim n, p
  data X: real[n, p]
  data y: real[n]
  param lambda: real
  let step = 1 / opnorm(X)^2
  unknown beta: real[p] = 0
  ${decl}
}
`;
  const prox = "soft_threshold(beta - step * X' * (X * beta - y), step * lambda)";
  const forms: [string, string][] = [
    ['the fixpoint', `fixpoint beta = ${prox}`],
    ['an equation y - T = 0', `solve beta - ${prox} = 0`],
    ['an equation T - y = 0', `solve ${prox} - beta = 0`],
    ['a damped map', `fixpoint beta = 0.25 * beta + 0.75 * ${prox}`],
    ['a damped map, the damping subtracted', `fixpoint beta = 1.5 * ${prox} - 0.5 * beta`],
  ];

  it('each is the composite form, solved by coordinate descent to the fixpoint\'s solution', async () => {
    const inputs = { X: rows(40, 25), y: Array.from({ length: 40 }, normal), lambda: 3 };
    const solutions: Float64Array[] = [];
    for (const [, decl] of forms) {
      const source = lasso(decl);
      expect(analyzeFile('l.impl', source).analyses[0].structure.composite).not.toBeNull();
      const Model = await compileModel('l.impl', undefined, source);
      const model = new Model(inputs) as ModelInstance;
      const r = solveInstance(model, { tol: 1e-11 });
      expect(r.status).toBe('converged');
      expect(r.method).toBe('coordinate-descent+newton');
      solutions.push(r.y);
    }
    for (const y of solutions.slice(1)) close(Array.from(y), Array.from(solutions[0]), 1e-9);
  });

  it('a map scaled so that kappa <= 0, or a projection scaled from outside, is refused on the values: the generic solvers run', async () => {
    // y = 0.5 y - P(u) is y = -2 P(u): kappa = -1/2 (while y = 2 y - P(u) is y = P(u), kappa 1).
    for (const decl of [`fixpoint beta = 0.5 * beta - ${prox}`, "fixpoint beta = proj_box(beta - step * X' * (X * beta - y), -1, 1) / 2"]) {
      const source = lasso(decl);
      const Model = await compileModel('l.impl', undefined, source);
      const model = new Model({ X: rows(20, 8), y: Array.from({ length: 20 }, normal), lambda: 1 }) as ModelInstance;
      expect(model.compositeProblem!()).toBeNull();
      expect(solveInstance(model, { tol: 1e-10, maxIter: 50 }).method).not.toBe('coordinate-descent+newton');
    }
  });
});
