import { describe, expect, it } from 'vitest';
import { mulberry32, type Rng } from '../helpers/rng.ts';
import { generatedClass } from '../helpers/generated.ts';
import { assembleByColumns, type ModelInstance } from '../../src/runtime/index.ts';

// Every sample, compiled and solved on random instances: the residual is tiny and the
// Jacobians and output gradients match central finite differences of the whole solve in f64.

type Inputs = Record<string, number | number[] | number[][]>;
const normal = (rng: Rng) => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const vec = (rng: Rng, n: number) => Array.from({ length: n }, () => normal(rng));
const mat = (rng: Rng, r: number, c: number) => Array.from({ length: r }, () => vec(rng, c));
const matmul = (A: number[][], B: number[][]) => A.map((row) => B[0].map((_, j) => row.reduce((s, a, k) => s + a * B[k][j], 0)));
const transpose = (A: number[][]) => A[0].map((_, j) => A.map((r) => r[j]));
/** A symmetric positive definite matrix with eigenvalues in [1, 1 + ||A||^2]. */
const spd = (rng: Rng, k: number) => {
  const A = mat(rng, k, k);
  return matmul(transpose(A), A).map((row, i) => row.map((v, j) => v / k + (i === j ? 1 : 0)));
};
/** A matrix with spectral norm about `norm` (Frobenius scaling bounds it from above). */
const contraction = (rng: Rng, h: number, norm: number) => {
  const W = mat(rng, h, h);
  const f = Math.sqrt(W.flat().reduce((s, v) => s + v * v, 0));
  return W.map((r) => r.map((v) => (v * norm) / f));
};

const samples: { file: string; inputs: (rng: Rng) => Inputs }[] = [
  { file: 'samples/kink.impl', inputs: (rng) => ({ x: 3 * normal(rng) }) },
  { file: 'samples/deq.impl', inputs: (rng) => ({ W: contraction(rng, 5, 0.8), U: mat(rng, 5, 3), b: vec(rng, 5), u: vec(rng, 3) }) },
  {
    file: 'samples/lasso.impl',
    inputs: (rng) => {
      const X = mat(rng, 20, 6);
      const y = vec(rng, 20);
      const corr = Math.max(...transpose(X).map((col) => Math.abs(col.reduce((s, v, i) => s + v * y[i], 0))));
      return { X, y, Xv: mat(rng, 8, 6), yv: vec(rng, 8), lambda: 0.2 * corr };
    },
  },
  {
    file: 'samples/elastic_net.impl',
    inputs: (rng) => ({ X: mat(rng, 20, 6), y: vec(rng, 20), Xv: mat(rng, 8, 6), yv: vec(rng, 8), lambda1: 1 + rng(), lambda2: 0.5 + rng() }),
  },
  { file: 'samples/simplex_qp.impl', inputs: (rng) => ({ Q: spd(rng, 5), q: vec(rng, 5) }) },
  {
    file: 'samples/box_qp.impl',
    inputs: (rng) => ({ Q: spd(rng, 5), lo: Array(5).fill(-0.5), hi: Array(5).fill(0.5), target: vec(rng, 5).map((v) => v / 4), q: vec(rng, 5) }),
  },
  { file: 'samples/lp_layer.impl', inputs: (rng) => lpInputs(rng, 9, 4) },
  { file: 'samples/portfolio_socp.impl', inputs: (rng) => portfolioInputs(rng, 4) },
  { file: 'samples/maxcut_sdp.impl', inputs: (rng) => maxcutInputs(rng, 4) },
];

/**
 * An LP min c'x s.t. A x <= b with a known nondegenerate vertex: n active rows (b_i = a_i'x*),
 * the others slack by at least 0.5, and c = -A_active' y with y >= 0.5 (strict complementarity).
 */
function lpInputs(rng: Rng, m: number, n: number): Inputs {
  const A = mat(rng, m, n);
  const x = vec(rng, n);
  const b = A.map((row, i) => row.reduce((s, a, j) => s + a * x[j], 0) + (i < n ? 0 : 0.5 + rng()));
  const y = Array.from({ length: m }, (_, i) => (i < n ? 0.5 + rng() : 0));
  const c = Array.from({ length: n }, (_, j) => -A.reduce((s, row, i) => s + row[j] * y[i], 0));
  return { A, b, c, x_obs: vec(rng, n) };
}

/** Returns and a covariance factor, the risk budget halfway between the equal-weight portfolio's risk and the best asset's (so that it binds). */
function portfolioInputs(rng: Rng, n: number): Inputs {
  for (;;) {
    const L = mat(rng, n, n).map((row, i) => row.map((v, j) => 0.05 * v + (i === j ? 0.2 : 0)));
    const mu = vec(rng, n).map((v) => 0.08 + 0.03 * v);
    const risk = (w: number[]) => Math.hypot(...transpose(L).map((col) => col.reduce((s, a, i) => s + a * w[i], 0)));
    const best = mu.indexOf(Math.max(...mu));
    const rBest = risk(mu.map((_, i) => (i === best ? 1 : 0)));
    const rEqual = risk(mu.map(() => 1 / n));
    if (rEqual < rBest) return { L, mu, sigma: (rEqual + rBest) / 2 };
  }
}

/** A complete graph on k vertices with weights in [0.5, 2]: M (svec of each edge's Laplacian) and E (the diagonal of svec). */
function maxcutInputs(rng: Rng, k: number): Inputs {
  const t = (k * (k + 1)) / 2;
  const at = (i: number, j: number) => {
    // svec index of (i, j), i >= j: columns of the lower triangle in order.
    let idx = 0;
    for (let col = 0; col < j; col++) idx += k - col;
    return idx + (i - j);
  };
  const edges: [number, number][] = [];
  for (let j = 0; j < k; j++) for (let i = j + 1; i < k; i++) edges.push([i, j]);
  const M = Array.from({ length: t }, () => Array(edges.length).fill(0));
  edges.forEach(([i, j], e) => {
    M[at(i, i)][e] = 1;
    M[at(j, j)][e] = 1;
    M[at(i, j)][e] = -Math.SQRT2;
  });
  const E = Array.from({ length: k }, (_, i) => Array.from({ length: t }, (_, idx) => (idx === at(i, i) ? 1 : 0)));
  return { weights: edges.map(() => 0.5 + 1.5 * rng()), M, E };
}

interface Result {
  status: string;
  residual: number;
  solution: Record<string, unknown>;
  outputs: Record<string, number>;
  certificate: { verdict: string; ties: number };
  jacobian?: Record<string, Record<string, unknown>>;
  gradients?: Record<string, Record<string, unknown>>;
}

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

/** The input with one scalar entry of a param moved by `h`. */
function perturb(inputs: Inputs, name: string, index: number, h: number): Inputs {
  const v = inputs[name];
  if (typeof v === 'number') return { ...inputs, [name]: v + h };
  const copy = JSON.parse(JSON.stringify(v)) as number[] | number[][];
  if (Array.isArray(copy[0])) {
    const cols = (copy[0] as number[]).length;
    (copy as number[][])[Math.floor(index / cols)][index % cols] += h;
  } else (copy as number[])[index] += h;
  return { ...inputs, [name]: copy };
}

describe('generated modules: solutions and derivatives against finite differences', () => {
  for (const sample of samples) {
    it(sample.file, async () => {
      const Model = await generatedClass(sample.file);
      const rng = mulberry32(7);
      let checked = 0;
      for (let trial = 0; trial < 3; trial++) {
        const inputs = sample.inputs(rng);
        const model = new Model(inputs);
        const solve = (x: Inputs) => new Model(x).solve({ tol: 1e-13, jacobian: true }) as Result;
        const r = solve(inputs);
        expect(r.status).toBe('converged');
        expect(r.residual).toBeLessThan(1e-10);
        expect(r.certificate.verdict).not.toBe('violated');
        if (r.certificate.ties > 0) continue; // finite differences are only meaningful away from kinks
        checked++;
        for (const p of model.params) {
          for (let i = 0; i < p.size; i++) {
            const h = 1e-6 * Math.max(1, Math.abs(flat(inputs[p.name])[i]));
            const plus = solve(perturb(inputs, p.name, i, h));
            const minus = solve(perturb(inputs, p.name, i, -h));
            for (const u of model.unknowns) {
              const fd = flat(plus.solution[u.name]).map((v, k) => (v - flat(minus.solution[u.name])[k]) / (2 * h));
              const J = flat(r.jacobian![u.name][p.name]);
              // jacobian.U.P has the shape of U followed by the shape of P.
              const column = fd.map((_, k) => J[k * p.size + i]);
              const scale = Math.max(1, ...fd.map(Math.abs));
              fd.forEach((v, k) => expect(Math.abs(column[k] - v) / scale).toBeLessThan(1e-6));
            }
            for (const o of model.outputNames) {
              const fd = (plus.outputs[o] - minus.outputs[o]) / (2 * h);
              const g = flat(r.gradients![o][p.name])[i];
              expect(Math.abs(g - fd) / Math.max(1, Math.abs(fd))).toBeLessThan(1e-6);
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

describe('structured assembly of B agrees with jvpY on unit vectors', () => {
  // The samples whose B the analysis reads (the simplex projection's block has no dense rule).
  const structured = new Set(['samples/kink.impl', 'samples/deq.impl', 'samples/lasso.impl', 'samples/elastic_net.impl', 'samples/box_qp.impl']);
  for (const sample of samples) {
    it(sample.file, async () => {
      const Model = await generatedClass(sample.file);
      const rng = mulberry32(11);
      for (let trial = 0; trial < 3; trial++) {
        const model = new Model(sample.inputs(rng)) as unknown as ModelInstance;
        const y = Float64Array.from({ length: model.n }, () => normal(rng));
        // Factors anywhere in their sites' ranges, zeros included (the vertex test's values).
        const factors = model.kinkFactors(y).map((f, s) => {
          const [lo, hi] = model.kinkSites[s].range;
          return f.map(() => (rng() < 0.3 ? lo : lo + (hi - lo) * rng()));
        });
        const rows = Int32Array.from(Array.from({ length: model.n }, (_, i) => i).filter(() => rng() < 0.6));
        for (const sel of [null, rows]) {
          const direct = model.denseB?.(y, factors, sel) ?? null;
          if (!structured.has(sample.file)) {
            expect(direct).toBeNull();
            continue;
          }
          expect(direct).not.toBeNull();
          const columns = assembleByColumns(model, y, factors, sel);
          expect(direct!.rows).toBe(columns.rows);
          expect(direct!.cols).toBe(columns.cols);
          const scale = Math.max(1, ...columns.data.map(Math.abs));
          columns.data.forEach((v, i) => expect(Math.abs(direct!.data[i] - v) / scale).toBeLessThan(1e-13));
        }
      }
    });
  }
});

describe("A's rows vanish where the reduction site's factor does, when the analysis says so", () => {
  // The analysis's claim (paramRowsVanishWhereFactorZero) against the generated kernels: with
  // the site's factor 0 on random rows and anything in range elsewhere, every column of A (jvpX
  // on unit vectors) is exactly 0 on those rows; and a backward pass that skips them agrees.
  const expected: Record<string, boolean> = {
    'samples/kink.impl': false, // A = -dx: no factor at all
    'samples/deq.impl': true,
    'samples/lasso.impl': true, // -sign(u) D step dlambda
    'samples/elastic_net.impl': false, // the lambda2 term is divided, not multiplied, by D's companion
    'samples/simplex_qp.impl': false, // no reduction site
    'samples/box_qp.impl': true,
    // Cone programs: no diagonal kink site (the cone's kinks are the projection's own).
    'samples/lp_layer.impl': false,
    'samples/portfolio_socp.impl': false,
    'samples/maxcut_sdp.impl': false,
  };
  for (const sample of samples) {
    it(sample.file, async () => {
      const Model = await generatedClass(sample.file);
      const rng = mulberry32(23);
      const model = new Model(sample.inputs(rng)) as unknown as ModelInstance;
      expect(model.analysis.paramRowsVanishWhereFactorZero).toBe(expected[sample.file]);
      if (!model.analysis.paramRowsVanishWhereFactorZero) return;
      const site = model.analysis.identityRowsWhereFactorZero!;
      const y = Float64Array.from({ length: model.n }, () => normal(rng));
      const zero = Array.from({ length: model.n }, () => rng() < 0.5);
      const factors = model.kinkFactors(y).map((f, s) => {
        const [lo, hi] = model.kinkSites[s].range;
        return f.map((_, i) => (s === site && zero[i] ? 0 : lo + (hi - lo) * (0.1 + 0.8 * rng())));
      });
      const e = new Float64Array(model.m);
      const col = new Float64Array(model.n);
      for (let j = 0; j < model.m; j++) {
        e[j] = 1;
        model.jvpX(y, factors, e, col);
        e[j] = 0;
        for (let i = 0; i < model.n; i++) if (zero[i]) expect(Math.abs(col[i])).toBe(0);
      }
    });
  }
});

describe('the in-place kernels add what vjpX and outputPartials compute', () => {
  for (const sample of samples) {
    it(sample.file, async () => {
      const Model = await generatedClass(sample.file);
      const rng = mulberry32(13);
      const model = new Model(sample.inputs(rng)) as unknown as ModelInstance;
      const y = Float64Array.from({ length: model.n }, () => normal(rng));
      const factors = model.kinkFactors(y);
      const w = Float64Array.from({ length: model.n }, () => normal(rng));
      const s = -0.75;
      const close = (got: Float64Array, start: Float64Array, v: Float64Array) => {
        const scale = Math.max(1, ...v.map(Math.abs));
        got.forEach((x, j) => expect(Math.abs(x - (start[j] + s * v[j])) / scale).toBeLessThan(1e-14));
      };
      const startX = Float64Array.from({ length: model.m }, () => normal(rng));
      const out = startX.slice();
      model.addVjpX!(y, factors, w, out, s);
      const ref = new Float64Array(model.m);
      model.vjpX(y, factors, w, ref);
      close(out, startX, ref);
      model.outputNames.forEach((_, k) => {
        const startY = Float64Array.from({ length: model.n }, () => normal(rng));
        const [yOut, xOut] = [startY.slice(), startX.slice()];
        model.addOutputPartials!(k, y, factors, yOut, xOut, s);
        const p = model.outputPartials(k, y, factors);
        close(yOut, startY, p.y);
        close(xOut, startX, p.x);
      });
    });
  }
});
