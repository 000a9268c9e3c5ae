// The spellings of bench/models (issue 12): every file checks without errors, and within a
// family every spelling solves a small random instance to the same point, one that meets the
// optimization problem's KKT conditions measured independently in f64 (bench/kkt.ts). A
// correctness test of the pipeline on every spelling; their speed is bench/spellings.ts's.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import { mulberry32 } from '../../demos/data.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import { solveInstance, type ModelInstance } from '../../src/runtime/index.ts';
import { boxQpKkt, elasticNetKkt, lambdaMax, lassoKkt, type BoxQp, type Problem } from '../../bench/kkt.ts';

const DIR = 'bench/models';
const files = readdirSync(DIR).filter((f) => f.endsWith('.impl')).sort();
const family = (prefix: string) => files.filter((f) => f.startsWith(prefix)).map((f) => `${DIR}/${f}`);
const FAMILIES = { lasso: family('lasso_'), elasticNet: family('elastic_net_'), boxQp: family('box_qp_') };

const rng = mulberry32(1205);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

/** n > p with Gaussian columns: X'X is positive definite, so each problem has one solution. */
function design(n: number, p: number): Problem {
  const X = Float64Array.from({ length: n * p }, normal);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 2 * X[i * p] - 1.5 * X[i * p + 3] + X[i * p + 7] + 0.5 * normal();
  return { name: `random ${n} x ${p}`, n, p, X, y };
}

const P = design(40, 15);
const regression = { X: { shape: [P.n, P.p], data: P.X }, y: P.y, Xv: { shape: [3, P.p], data: P.X.subarray(0, 3 * P.p) }, yv: P.y.subarray(0, 3) };
const lambda = 0.2 * lambdaMax(P);

const k = 10;
const box: BoxQp = (() => {
  const A = Float64Array.from({ length: k * k }, normal);
  const Q = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let r = 0; r < k; r++) Q[i * k + j] += A[r * k + i] * A[r * k + j] + (i === j && r === 0 ? 0.5 : 0);
  return { k, Q, q: Float64Array.from({ length: k }, () => 4 * normal()), lo: new Float64Array(k).fill(-0.3), hi: new Float64Array(k).fill(0.5) };
})();
const boxInputs = { Q: { shape: [k, k], data: box.Q }, lo: box.lo, hi: box.hi, target: new Float64Array(k), q: box.q };

async function solveAll(paths: string[], inputs: Record<string, unknown>): Promise<{ file: string; status: string; y: Float64Array }[]> {
  const out = [];
  for (const file of paths) {
    const Model = await compileModel(file);
    const r = solveInstance(new Model(inputs) as ModelInstance, { tol: 1e-12 });
    out.push({ file, status: r.status, y: r.y });
  }
  return out;
}

const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('bench/models: spellings of the Lasso, the elastic net and the box QP', () => {
  it('has at least five Lasso spellings and four of each other family, one model per file', () => {
    expect(FAMILIES.lasso.length).toBeGreaterThanOrEqual(5);
    expect(FAMILIES.elasticNet.length).toBeGreaterThanOrEqual(4);
    expect(FAMILIES.boxQp.length).toBeGreaterThanOrEqual(4);
    expect(FAMILIES.lasso.length + FAMILIES.elasticNet.length + FAMILIES.boxQp.length).toBe(files.length);
    for (const f of files) expect(readFileSync(`${DIR}/${f}`, 'utf8').match(/^model /gm)?.length, f).toBe(1);
  });

  it.each(files)('%s checks without errors, and declares its family\'s inputs', (f) => {
    const r = analyzeFile(`${DIR}/${f}`, readFileSync(`${DIR}/${f}`, 'utf8'));
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
    expect(r.analyses.length).toBe(1);
    // Same declared inputs across a family, so one input set serves every spelling.
    const declared = readFileSync(`${DIR}/${f}`, 'utf8').match(/^\s*(dim|data|param) .*$/gm)?.map((l) => l.trim());
    const canonical = f.startsWith('lasso_') ? 'lasso_sample.impl' : f.startsWith('elastic_net_') ? 'elastic_net_sample.impl' : 'box_qp_sample.impl';
    expect(declared).toEqual(readFileSync(`${DIR}/${canonical}`, 'utf8').match(/^\s*(dim|data|param) .*$/gm)?.map((l) => l.trim()));
  });

  it('every Lasso spelling converges to the same point, which meets the KKT conditions', async () => {
    const rs = await solveAll(FAMILIES.lasso, { ...regression, lambda });
    const ref = rs.find((r) => r.file.endsWith('lasso_sample.impl'))!;
    expect(lassoKkt(P, ref.y, lambda)).toBeLessThan(1e-9);
    // Not a trivial solution: some coefficients in, some out.
    const support = ref.y.filter((b) => b !== 0).length;
    expect(support).toBeGreaterThan(0);
    expect(support).toBeLessThan(P.p);
    for (const r of rs) {
      expect(r.status, r.file).toBe('converged');
      expect(maxDiff(r.y, ref.y), r.file).toBeLessThan(1e-8);
      expect(lassoKkt(P, r.y, lambda), r.file).toBeLessThan(1e-9);
    }
  });

  it('every elastic net spelling converges to the same point, which meets the KKT conditions', async () => {
    const lambda2 = 3;
    const rs = await solveAll(FAMILIES.elasticNet, { ...regression, lambda1: lambda, lambda2 });
    const ref = rs.find((r) => r.file.endsWith('elastic_net_sample.impl'))!;
    expect(elasticNetKkt(P, ref.y, lambda, lambda2)).toBeLessThan(1e-9);
    // lambda2 matters: the Lasso's solution is not the elastic net's.
    expect(elasticNetKkt(P, ref.y, lambda, 0)).toBeGreaterThan(1e-3);
    for (const r of rs) {
      expect(r.status, r.file).toBe('converged');
      expect(maxDiff(r.y, ref.y), r.file).toBeLessThan(1e-8);
      expect(elasticNetKkt(P, r.y, lambda, lambda2), r.file).toBeLessThan(1e-9);
    }
  });

  it('every box QP spelling converges to the same point, which meets the KKT conditions', async () => {
    const rs = await solveAll(FAMILIES.boxQp, boxInputs);
    const ref = rs.find((r) => r.file.endsWith('box_qp_sample.impl'))!;
    expect(boxQpKkt(box, ref.y)).toBeLessThan(1e-9);
    // Both kinds of coordinates occur: some on a bound, some inside.
    const onBound = Array.from(ref.y).filter((v, j) => v === box.lo[j] || v === box.hi[j]).length;
    expect(onBound).toBeGreaterThan(0);
    expect(onBound).toBeLessThan(k);
    for (const r of rs) {
      expect(r.status, r.file).toBe('converged');
      expect(maxDiff(r.y, ref.y), r.file).toBeLessThan(1e-8);
      expect(boxQpKkt(box, r.y), r.file).toBeLessThan(1e-9);
    }
  });
});

describe('bench/kkt.ts measures', () => {
  it('are zero at the exact solution of a one-coordinate problem and grow off it', () => {
    // One column x, 1/2 (x b - y)^2 + lambda |b|: b* = (x'y - lambda) / x'x when x'y > lambda.
    const one: Problem = { name: 'one', n: 2, p: 1, X: Float64Array.of(1, 2), y: Float64Array.of(3, 1) };
    const b = (5 - 1) / 5;
    expect(lassoKkt(one, [b], 1)).toBeLessThan(1e-15);
    expect(lassoKkt(one, [b + 0.1], 1)).toBeCloseTo(0.5, 12);
    expect(lassoKkt(one, [0], 1)).toBeCloseTo(4, 12);
    // Elastic net: b* = (x'y - lambda1) / (x'x + lambda2).
    expect(elasticNetKkt(one, [(5 - 1) / (5 + 2)], 1, 2)).toBeLessThan(1e-15);
    // Box [0, 1] on 1/2 * 2 y^2 - 4 y: the unconstrained minimizer 2 is clipped to 1, g = -2 there.
    const b1: BoxQp = { k: 1, Q: Float64Array.of(2), q: Float64Array.of(-4), lo: Float64Array.of(0), hi: Float64Array.of(1) };
    expect(boxQpKkt(b1, [1])).toBe(0);
    expect(boxQpKkt(b1, [0.5])).toBeCloseTo(3 / 4, 12);
    expect(boxQpKkt(b1, [0])).toBeCloseTo(1, 12);
  });
});
