import { describe, expect, it } from 'vitest';
import type { CompositeProblem, GramTerm, MatrixTerm, Penalty } from '../../src/runtime/composite.ts';
import { CompositeSolver } from '../../src/runtime/composite-cd.ts';
import { luFactor, luSolve } from '../../src/runtime/lu.ts';
import type { Tensor } from '../../src/runtime/tensor.ts';
import { mulberry32 } from '../helpers/rng.ts';

// Coordinate descent on separable composite quadratics (src/runtime/composite-cd.ts), checked
// against references built here from the dense H: a dense solve, closed forms, projected
// gradient, a plain cyclic coordinate descent for the Lasso, and the optimality conditions
// themselves.

const rng = mulberry32(23);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

/** An n x p design with columns correlated by `correlation` (a shared factor), and targets. */
function design(n: number, p: number, correlation = 0) {
  const A = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const f = normal();
    for (let j = 0; j < p; j++) A[i * p + j] = Math.sqrt(1 - correlation) * normal() + Math.sqrt(correlation) * f;
  }
  const b = Float64Array.from({ length: n }, normal);
  return { A: { shape: [n, p], data: A } as Tensor, b };
}

const transpose = (M: Tensor): Tensor => {
  const [r, c] = M.shape;
  const data = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = M.data[i * c + j];
  return { shape: [c, r], data };
};

/** A' A, plainly. */
function gramOf(A: Tensor): Float64Array {
  const [n, p] = A.shape;
  const G = new Float64Array(p * p);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += A.data[i * p + a] * A.data[i * p + b];
      G[a * p + b] = s;
    }
  }
  return G;
}

/** A' b. */
function atb(A: Tensor, b: Float64Array): Float64Array {
  const [n, p] = A.shape;
  const out = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) out[j] += A.data[i * p + j] * b[i];
  return out;
}

/** The dense H of a problem, from its terms, plainly. */
function denseH(P: CompositeProblem): Float64Array {
  const p = P.size;
  const H = new Float64Array(p * p);
  for (let j = 0; j < p; j++) H[j * p + j] = P.identity + (P.diagonal ? P.diagonal[j] : 0);
  for (const t of P.grams) {
    const G = gramOf(t.transposed ? transpose(t.matrix) : t.matrix);
    for (let i = 0; i < p * p; i++) H[i] += t.coef * G[i];
  }
  for (const t of P.matrices) for (let i = 0; i < p * p; i++) H[i] += t.coef * t.matrix.data[i];
  return H;
}

/** The natural residual ||y - P(y - (H y - c))||_inf, from the dense H. */
function naturalResidual(P: CompositeProblem, y: Float64Array): number {
  const p = P.size;
  const H = denseH(P);
  let worst = 0;
  for (let j = 0; j < p; j++) {
    let g = -P.offset[j];
    for (let k = 0; k < p; k++) g += H[j * p + k] * y[k];
    const z = y[j] - g;
    const pen = P.penalty;
    const next =
      pen.kind === 'l1'
        ? Math.sign(z) * Math.max(0, Math.abs(z) - pen.weights[j])
        : pen.kind === 'box'
          ? Math.min(pen.upper[j], Math.max(pen.lower[j], z))
          : z;
    worst = Math.max(worst, Math.abs(y[j] - next));
  }
  return worst;
}

const infNorm = (x: Float64Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (x: Float64Array, y: Float64Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);

/** Largest violation of the Lasso's optimality conditions (H = A'A, c = A'b), relative to the weight. */
function lassoKkt(A: Tensor, b: Float64Array, y: Float64Array, w: Float64Array): number {
  const [n, p] = A.shape;
  const r = Float64Array.from(b);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) r[i] -= A.data[i * p + j] * y[j];
  let worst = 0;
  for (let j = 0; j < p; j++) {
    let g = 0;
    for (let i = 0; i < n; i++) g -= A.data[i * p + j] * r[i];
    const v = y[j] !== 0 ? Math.abs(g + w[j] * Math.sign(y[j])) : Math.max(0, Math.abs(g) - w[j]);
    worst = Math.max(worst, v / w[j]);
  }
  return worst;
}

/**
 * The Lasso min 1/2 ||A y - b||^2 + lambda ||y||_1 by textbook cyclic coordinate descent: every
 * coordinate every sweep, from zero, on the dense A, until no coordinate moves by more than
 * 1e-14. No active set, no residual tricks beyond keeping r = b - A y, no WebAssembly.
 */
function plainLasso(A: Tensor, b: Float64Array, lambda: number): Float64Array {
  const [n, p] = A.shape;
  const at = (i: number, j: number) => A.data[i * p + j];
  const y = new Float64Array(p);
  const r = Float64Array.from(b);
  const q = new Float64Array(p);
  for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) q[j] += at(i, j) ** 2;
  for (let sweep = 0; sweep < 200_000; sweep++) {
    let change = 0;
    for (let j = 0; j < p; j++) {
      // rho = a_j' (r + a_j y_j): the correlation of column j with the residual without it.
      let rho = q[j] * y[j];
      for (let i = 0; i < n; i++) rho += at(i, j) * r[i];
      const next = (Math.sign(rho) * Math.max(0, Math.abs(rho) - lambda)) / q[j];
      const delta = next - y[j];
      if (delta === 0) continue;
      for (let i = 0; i < n; i++) r[i] -= at(i, j) * delta;
      y[j] = next;
      change = Math.max(change, Math.abs(delta));
    }
    if (change <= 1e-14) return y;
  }
  throw new Error('plainLasso: no convergence');
}

/** run to a tight tolerance, then polish (falling back to the run's point when polish declines). */
function solve(P: CompositeProblem, engine: 'auto' | 'js' = 'auto'): Float64Array {
  const s = new CompositeSolver(P, engine);
  const run = s.run(new Float64Array(P.size), 1e-12);
  return s.polish(run.y, 1000) ?? run.y;
}

/**
 * One H in several spellings: Gram of A, Gram of the stored transpose, the dense A'A as Q,
 * halves of both Gram readings (two residuals), half Gram and half Q.
 */
function spellings(A: Tensor, alpha: number, d: Float64Array | null): { name: string; grams: GramTerm[]; matrices: MatrixTerm[]; identity: number; diagonal: Float64Array | null }[] {
  const At = transpose(A);
  const G: Tensor = { shape: [A.shape[1], A.shape[1]], data: gramOf(A) };
  return [
    { name: 'gram', grams: [{ coef: 1, matrix: A, transposed: false }], matrices: [] },
    { name: 'gram of the transpose', grams: [{ coef: 1, matrix: At, transposed: true }], matrices: [] },
    { name: 'dense', grams: [], matrices: [{ coef: 1, matrix: G }] },
    {
      name: 'two grams',
      grams: [
        { coef: 0.5, matrix: A, transposed: false },
        { coef: 0.5, matrix: At, transposed: true },
      ],
      matrices: [],
    },
    { name: 'gram and dense', grams: [{ coef: 0.25, matrix: A, transposed: false }], matrices: [{ coef: 0.75, matrix: G }] },
  ].map((s) => ({ ...s, identity: alpha, diagonal: d }));
}

describe('CompositeSolver', () => {
  it('Lasso, elastic net, box QP and NNLS: every spelling of H gives the same solution, meeting the optimality conditions', () => {
    const cases: { name: string; n: number; p: number; corr: number; alpha: number; diag: boolean; penalty: (c: Float64Array) => Penalty }[] = [
      { name: 'lasso', n: 30, p: 50, corr: 0.4, alpha: 0, diag: false, penalty: (c) => ({ kind: 'l1', weights: new Float64Array(50).fill(0.2 * infNorm(c)) }) },
      {
        name: 'elastic net, per-coordinate weights',
        n: 40,
        p: 25,
        corr: 0.3,
        alpha: 0.7,
        diag: false,
        penalty: (c) => ({ kind: 'l1', weights: Float64Array.from({ length: 25 }, () => 0.3 * infNorm(c) * rng()) }),
      },
      {
        name: 'box QP, some bounds infinite',
        n: 45,
        p: 20,
        corr: 0.5,
        alpha: 0,
        diag: true,
        penalty: () => ({
          kind: 'box',
          lower: Float64Array.from({ length: 20 }, (_, j) => (j % 5 === 0 ? -Infinity : -0.05 - 0.1 * rng())),
          upper: Float64Array.from({ length: 20 }, (_, j) => (j % 7 === 0 ? Infinity : 0.05 + 0.1 * rng())),
        }),
      },
      {
        name: 'NNLS',
        n: 50,
        p: 30,
        corr: 0.2,
        alpha: 0,
        diag: false,
        penalty: () => ({ kind: 'box', lower: new Float64Array(30), upper: new Float64Array(30).fill(Infinity) }),
      },
      { name: 'ridge (no penalty)', n: 20, p: 30, corr: 0.3, alpha: 0.5, diag: true, penalty: () => ({ kind: 'none' }) },
    ];
    for (const k of cases) {
      const { A, b } = design(k.n, k.p, k.corr);
      const c = atb(A, b);
      const penalty = k.penalty(c);
      const d = k.diag ? Float64Array.from({ length: k.p }, () => 0.1 + rng()) : null;
      let reference: Float64Array | null = null;
      let pieces = 0;
      for (const s of spellings(A, k.alpha, d)) {
        const P: CompositeProblem = { size: k.p, offset: c, penalty, ...s };
        expect(CompositeSolver.refusal(P), `${k.name}, ${s.name}`).toBeNull();
        const solver = new CompositeSolver(P);
        const run = solver.run(new Float64Array(k.p), 1e-12);
        const y = solver.polish(run.y, 1000);
        expect(y, `${k.name}, ${s.name}: polish`).not.toBeNull();
        const scale = 1 + infNorm(c);
        expect(naturalResidual(P, y!) / scale, `${k.name}, ${s.name}`).toBeLessThan(1e-10);
        expect(solver.residual(y!) / scale).toBeLessThan(1e-10);
        // The solver's own residual is the dense one.
        expect(Math.abs(solver.residual(run.y) - naturalResidual(P, run.y))).toBeLessThan(1e-12 * scale);
        reference ??= y!;
        expect(maxDiff(y!, reference), `${k.name}, ${s.name} vs gram`).toBeLessThan(1e-9 * (1 + infNorm(reference)));
        if (k.penalty(c).kind !== 'none') pieces += y!.filter((v, j) => (penalty.kind === 'l1' ? v === 0 : penalty.kind === 'box' && (v === penalty.lower[j] || v === penalty.upper[j]))).length;
      }
      // The cases exercise the penalty: some coordinates sit at a kink or bound.
      if (penalty.kind !== 'none') expect(pieces, k.name).toBeGreaterThan(0);
    }
  });

  it('no penalty: the solution of H y = c by a dense LU', () => {
    const { A, b } = design(15, 12, 0.3);
    const P: CompositeProblem = {
      size: 12,
      identity: 0.2,
      diagonal: null,
      grams: [{ coef: 2, matrix: A, transposed: false }],
      matrices: [],
      offset: atb(A, b),
      penalty: { kind: 'none' },
    };
    const f = luFactor({ rows: 12, cols: 12, data: denseH(P) });
    if (f.singular) throw new Error('test H is singular');
    const exact = luSolve(f, P.offset);
    const s = new CompositeSolver(P);
    const run = s.run(new Float64Array(12), 1e-13);
    expect(maxDiff(run.y, exact)).toBeLessThan(1e-9);
    expect(maxDiff(s.polish(run.y, 100)!, exact)).toBeLessThan(1e-12 * (1 + infNorm(exact)));
  });

  it('matches a plain cyclic coordinate descent on a Lasso to 1e-9', () => {
    for (const [n, p, corr] of [
      [40, 10, 0],
      [30, 80, 0.5],
      [100, 300, 0.3],
    ] as const) {
      const { A, b } = design(n, p, corr);
      const c = atb(A, b);
      const lambda = 0.1 * infNorm(c);
      const ref = plainLasso(A, b, lambda);
      // The reference is itself a solution, not just where its sweeps stopped.
      expect(lassoKkt(A, b, ref, new Float64Array(p).fill(lambda))).toBeLessThan(1e-9);
      const y = solve({
        size: p,
        identity: 0,
        diagonal: null,
        grams: [{ coef: 1, matrix: A, transposed: false }],
        matrices: [],
        offset: c,
        penalty: { kind: 'l1', weights: new Float64Array(p).fill(lambda) },
      });
      expect(maxDiff(y, ref)).toBeLessThan(1e-9);
      expect(y.some((v) => v !== 0) && y.some((v) => v === 0)).toBe(true);
    }
  });

  it('Lasso: zero exactly from lambda_max = ||c||_inf up, and with A = [I; 0] soft thresholding exactly', () => {
    // A = [I; 0]: H = I, c = b[0..5], y_j = soft(b_j, w), every step exact in floating point.
    const I: Tensor = { shape: [7, 5], data: new Float64Array(35) };
    for (let j = 0; j < 5; j++) I.data[j * 5 + j] = 1;
    const lassoOf = (A: Tensor, c: Float64Array, w: number): CompositeProblem => ({
      size: A.shape[1],
      identity: 0,
      diagonal: null,
      grams: [{ coef: 1, matrix: A, transposed: false }],
      matrices: [],
      offset: c,
      penalty: { kind: 'l1', weights: new Float64Array(A.shape[1]).fill(w) },
    });
    const c5 = atb(I, Float64Array.of(3, -0.5, 1.5, -4, 0.2, 9, 9));
    expect(Array.from(new CompositeSolver(lassoOf(I, c5, 1)).run(new Float64Array(5), 1e-15).y)).toEqual([2, 0, 0.5, -3, 0]);
    expect(Array.from(new CompositeSolver(lassoOf(I, c5, 100)).run(new Float64Array(5), 1e-15).y)).toEqual([0, 0, 0, 0, 0]);
    // A correlated design large enough for WebAssembly: 0 solves the Lasso iff w >= ||A'b||_inf.
    const { A, b } = design(60, 40, 0.5);
    const c = atb(A, b);
    const lambdaMax = infNorm(c);
    for (const engine of ['auto', 'js'] as const) {
      const at = (w: number) => new CompositeSolver(lassoOf(A, c, w), engine);
      expect(at(lambdaMax).engine).toBe(engine === 'js' ? 'js' : 'wasm-simd');
      // From zero at lambda_max itself: no coordinate moves.
      const edge = at(lambdaMax).run(new Float64Array(40), 1e-13);
      expect(edge.y.every((v) => v === 0)).toBe(true);
      expect(edge.change).toBe(0);
      // From a dense start above it: back to zero exactly.
      expect(at(2 * lambdaMax).run(Float64Array.from({ length: 40 }, normal), 1e-13).y.every((v) => v === 0)).toBe(true);
      // Just below it, the coordinate of the largest |c_j| leaves zero.
      const j = c.findIndex((v) => Math.abs(v) === lambdaMax);
      expect(at(0.99 * lambdaMax).run(new Float64Array(40), 1e-13).y[j]).not.toBe(0);
    }
  });

  it('an orthogonal design: the elastic net in closed form, soft(c_j, w_j) / (||a_j||^2 + alpha)', () => {
    // Columns: Gram-Schmidt on random vectors, then scaled to norms 0.5 .. 3.
    // n p >= 1024: the 'auto' engine is WebAssembly.
    const n = 160;
    const p = 8;
    const cols: Float64Array[] = [];
    for (let j = 0; j < p; j++) {
      const v = Float64Array.from({ length: n }, normal);
      for (const u of cols) {
        let s = 0;
        for (let i = 0; i < n; i++) s += u[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= s * u[i];
      }
      const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      for (let i = 0; i < n; i++) v[i] /= norm;
      cols.push(v);
    }
    const scales = Float64Array.from({ length: p }, (_, j) => 0.5 + (2.5 * j) / (p - 1));
    const A: Tensor = { shape: [n, p], data: new Float64Array(n * p) };
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) A.data[i * p + j] = scales[j] * cols[j][i];
    const c = Float64Array.from({ length: p }, () => 4 * normal());
    // Every third weight exceeds its |c_j|: those coordinates are 0.
    const w = Float64Array.from({ length: p }, (_, j) => (j % 3 === 0 ? Math.abs(c[j]) + 0.5 : 2 * rng()));
    const alpha = 0.3;
    const expected = c.map((cj, j) => (Math.sign(cj) * Math.max(0, Math.abs(cj) - w[j])) / (scales[j] ** 2 + alpha));
    expect(expected.some((v) => v === 0)).toBe(true);
    for (const engine of ['auto', 'js'] as const) {
      const P: CompositeProblem = {
        size: p,
        identity: alpha,
        diagonal: null,
        grams: [{ coef: 1, matrix: A, transposed: false }],
        matrices: [],
        offset: c,
        penalty: { kind: 'l1', weights: w },
      };
      const solver = new CompositeSolver(P, engine);
      expect(solver.engine).toBe(engine === 'js' ? 'js' : 'wasm-simd');
      const run = solver.run(new Float64Array(p), 1e-14);
      expect(maxDiff(run.y, expected)).toBeLessThan(1e-12);
    }
  });

  it('box QP: the limit of a long projected-gradient run', () => {
    const p = 15;
    const { A, b } = design(12, p, 0.4);
    const d = Float64Array.from({ length: p }, () => 0.5 + rng());
    const lower = Float64Array.from({ length: p }, () => -0.1 - 0.2 * rng());
    const upper = Float64Array.from({ length: p }, (_, j) => (j % 4 === 0 ? Infinity : 0.1 + 0.2 * rng()));
    const P: CompositeProblem = {
      size: p,
      identity: 0,
      diagonal: d,
      grams: [{ coef: 1, matrix: A, transposed: false }],
      matrices: [],
      offset: atb(A, b),
      penalty: { kind: 'box', lower, upper },
    };
    // Projected gradient at step 1 / ||H||_F (||H||_F >= lambda_max), strongly convex (d > 0).
    const H = denseH(P);
    const step = 1 / Math.sqrt(H.reduce((a, v) => a + v * v, 0));
    let y = new Float64Array(p);
    for (let it = 0; it < 20000; it++) {
      const next = new Float64Array(p);
      for (let j = 0; j < p; j++) {
        let g = -P.offset[j];
        for (let k = 0; k < p; k++) g += H[j * p + k] * y[k];
        next[j] = Math.min(upper[j], Math.max(lower[j], y[j] - step * g));
      }
      y = next;
    }
    const got = solve(P);
    expect(maxDiff(got, y)).toBeLessThan(1e-9);
    expect(got.some((v, j) => v === lower[j] || v === upper[j])).toBe(true);
  });

  it('converges from any start, an infeasible one included', () => {
    const { A, b } = design(25, 40, 0.3);
    const c = atb(A, b);
    for (const penalty of [
      { kind: 'l1', weights: new Float64Array(40).fill(0.15 * infNorm(c)) },
      { kind: 'box', lower: new Float64Array(40).fill(-0.1), upper: new Float64Array(40).fill(0.2) },
    ] as Penalty[]) {
      const P: CompositeProblem = { size: 40, identity: 0.05, diagonal: null, grams: [{ coef: 1, matrix: A, transposed: false }], matrices: [], offset: c, penalty };
      const s = new CompositeSolver(P);
      const cold = s.run(new Float64Array(40), 1e-12);
      const warm = s.run(Float64Array.from({ length: 40 }, () => 5 * normal()), 1e-12);
      expect(s.residual(cold.y) / (1 + infNorm(c))).toBeLessThan(1e-9);
      expect(s.residual(warm.y) / (1 + infNorm(c))).toBeLessThan(1e-9);
      expect(maxDiff(cold.y, warm.y)).toBeLessThan(1e-8);
    }
  });

  it('WebAssembly and JavaScript sweeps give the same iterates, bit for bit (n mod 4 = 0..3, every penalty)', () => {
    for (const [n, p] of [
      [40, 60],
      [41, 50],
      [42, 45],
      [43, 70],
    ] as const) {
      const { A, b } = design(n, p, 0.4);
      const c = atb(A, b);
      for (const penalty of [
        { kind: 'l1', weights: new Float64Array(p).fill(0.1 * infNorm(c)) },
        { kind: 'box', lower: new Float64Array(p).fill(-0.05), upper: Float64Array.from({ length: p }, (_, j) => (j % 3 ? 0.1 : Infinity)) },
        { kind: 'none' },
      ] as Penalty[]) {
        const P: CompositeProblem = {
          size: p,
          identity: 0.1,
          diagonal: Float64Array.from({ length: p }, () => rng()),
          grams: [{ coef: 1.5, matrix: A, transposed: false }],
          matrices: [],
          offset: c,
          penalty,
        };
        const wasm = new CompositeSolver(P);
        const js = new CompositeSolver(P, 'js');
        expect([wasm.engine, js.engine]).toEqual(['wasm-simd', 'js']);
        const y0 = Float64Array.from({ length: p }, () => (rng() < 0.5 ? 0 : 0.1 * normal()));
        for (const [tol, max] of [
          [1e-12, 10_000],
          [0, 7],
        ] as const) {
          const w = wasm.run(y0, tol, max);
          const j = js.run(y0, tol, max);
          expect(w.sweeps).toBe(j.sweeps);
          expect(w.change).toBe(j.change);
          expect(maxDiff(w.y, j.y), `${n} x ${p}, ${penalty.kind}`).toBe(0);
        }
      }
    }
  });

  it('solvers of different designs take turns in the one WebAssembly instance', () => {
    const problems = [design(50, 40, 0.2), design(64, 30, 0.6)].map(({ A, b }): CompositeProblem => {
      const c = atb(A, b);
      const p = A.shape[1];
      return { size: p, identity: 0, diagonal: null, grams: [{ coef: 1, matrix: A, transposed: false }], matrices: [], offset: c, penalty: { kind: 'l1', weights: new Float64Array(p).fill(0.1 * infNorm(c)) } };
    });
    const solvers = problems.map((P) => new CompositeSolver(P));
    for (const k of [0, 1, 0, 1]) {
      expect(solvers[k].engine).toBe('wasm-simd');
      const y = solvers[k].run(new Float64Array(problems[k].size), 1e-12).y;
      expect(naturalResidual(problems[k], y) / (1 + infNorm(problems[k].offset))).toBeLessThan(1e-9);
    }
  });

  it('applyH is the dense H', () => {
    const { A } = design(9, 7, 0.2);
    const Q = Float64Array.from({ length: 49 });
    for (let i = 0; i < 7; i++) for (let j = 0; j <= i; j++) Q[i * 7 + j] = Q[j * 7 + i] = normal();
    const P: CompositeProblem = {
      size: 7,
      identity: 0.3,
      diagonal: Float64Array.from({ length: 7 }, () => 20 + rng()),
      grams: [
        { coef: 2, matrix: A, transposed: false },
        { coef: 0.5, matrix: transpose(A), transposed: true },
      ],
      matrices: [
        { coef: -0.5, matrix: { shape: [7, 7], data: Q } },
        { coef: 1, matrix: { shape: [7, 7], data: Q } },
      ],
      offset: new Float64Array(7),
      penalty: { kind: 'none' },
    };
    const v = Float64Array.from({ length: 7 }, normal);
    const H = denseH(P);
    const out = new Float64Array(7);
    new CompositeSolver(P).applyH(v, out);
    for (let j = 0; j < 7; j++) {
      let s = 0;
      for (let k = 0; k < 7; k++) s += H[j * 7 + k] * v[k];
      expect(out[j]).toBeCloseTo(s, 12);
    }
  });

  it('polish: the exact Lasso minimizer on a loose run\'s support and signs, scalar and per-coordinate weights', () => {
    for (const [n, p, corr] of [
      [40, 10, 0],
      [30, 80, 0.5],
      [60, 50, 0.3],
    ] as const) {
      const { A, b } = design(n, p, corr);
      const c = atb(A, b);
      const perCoordinate = Float64Array.from({ length: p }, () => (0.05 + 0.2 * rng()) * infNorm(c));
      for (const w of [new Float64Array(p).fill(0.1 * infNorm(c)), perCoordinate]) {
        const solver = new CompositeSolver({ size: p, identity: 0, diagonal: null, grams: [{ coef: 1, matrix: A, transposed: false }], matrices: [], offset: c, penalty: { kind: 'l1', weights: w } });
        // A loose run finds the support; the polished point meets the conditions to rounding,
        // where the loose one does not, on the same support.
        const loose = solver.run(new Float64Array(p), 1e-3).y;
        const exact = solver.polish(loose, 100);
        expect(exact, `${n} x ${p}`).not.toBeNull();
        expect(lassoKkt(A, b, loose, w)).toBeGreaterThan(1e-9);
        expect(lassoKkt(A, b, exact!, w)).toBeLessThan(1e-11);
        exact!.forEach((v, j) => expect(v === 0).toBe(loose[j] === 0));
        // The wrong sign on one coordinate of the solution: its equation pulls it across zero.
        const flipped = exact!.slice();
        const k = flipped.findIndex((v) => v !== 0);
        flipped[k] = -flipped[k];
        expect(solver.polish(flipped, 100)).toBeNull();
        // No free coordinate: zero; more free ones than the limit: no answer.
        expect(Array.from(solver.polish(new Float64Array(p), 100)!)).toEqual(new Array(p).fill(0));
        expect(solver.polish(new Float64Array(p).fill(1), 5)).toBeNull();
      }
    }
  });

  it('polish: null when the piece is not the solution\'s (a sign flips, a bound is crossed), too large, or singular', () => {
    const one = (penalty: Penalty, c: number): CompositeSolver =>
      new CompositeSolver({ size: 1, identity: 1, diagonal: null, grams: [], matrices: [], offset: Float64Array.of(c), penalty });
    // min y^2 / 2 - y + 2 |y|: the solution is 0; the piece y > 0 gives y = -1.
    const l1 = one({ kind: 'l1', weights: Float64Array.of(2) }, 1);
    expect(l1.polish(Float64Array.of(0.5), 10)).toBeNull();
    expect(Array.from(l1.polish(Float64Array.of(0), 10)!)).toEqual([0]);
    // min y^2 / 2 - 5 y on [0, 1]: the interior piece gives 5.
    const box = one({ kind: 'box', lower: Float64Array.of(0), upper: Float64Array.of(1) }, 5);
    expect(box.polish(Float64Array.of(0.5), 10)).toBeNull();
    expect(Array.from(box.polish(Float64Array.of(1), 10)!)).toEqual([1]);
    expect(Array.from(one({ kind: 'none' }, 5).polish(Float64Array.of(0), 10)!)).toEqual([5]);
    expect(one({ kind: 'none' }, 5).polish(Float64Array.of(0), 0)).toBeNull();
    // Two equal columns and no identity: H_FF is singular when both are free.
    const Z: Tensor = { shape: [3, 2], data: Float64Array.of(1, 1, 2, 2, 3, 3) };
    const twin = new CompositeSolver({
      size: 2,
      identity: 0,
      diagonal: null,
      grams: [{ coef: 1, matrix: Z, transposed: false }],
      matrices: [],
      offset: Float64Array.of(1, 1),
      penalty: { kind: 'l1', weights: Float64Array.of(0.1, 0.1) },
    });
    expect(twin.polish(Float64Array.of(0.1, 0.1), 10)).toBeNull();
    expect(twin.polish(Float64Array.of(0.1, 0), 10)).not.toBeNull();
  });

  it('polish holds box coordinates at their bounds and accounts for their coupling', () => {
    // H = [[2, 1], [1, 2]], c = (1, 10), y_2 at its upper bound 1: y_1 = (1 - 1 * 1) / 2 = 0.
    const P: CompositeProblem = {
      size: 2,
      identity: 0,
      diagonal: null,
      grams: [],
      matrices: [{ coef: 1, matrix: { shape: [2, 2], data: Float64Array.of(2, 1, 1, 2) } }],
      offset: Float64Array.of(1, 10),
      penalty: { kind: 'box', lower: Float64Array.of(-1, -1), upper: Float64Array.of(1, 1) },
    };
    const s = new CompositeSolver(P);
    const y = s.polish(Float64Array.of(0.3, 1), 10)!;
    expect(Array.from(y)).toEqual([0, 1]);
    expect(s.residual(y)).toBe(0);
    expect(Array.from(s.run(Float64Array.of(0, 0), 1e-15).y).map((v) => Math.abs(v) < 1e-14 ? 0 : v)).toEqual([0, 1]);
  });

  it('refuses what coordinate descent cannot solve, and says why', () => {
    const { A } = design(6, 4);
    const ok = (): CompositeProblem => ({
      size: 4,
      identity: 0.1,
      diagonal: null,
      grams: [{ coef: 1, matrix: A, transposed: false }],
      matrices: [],
      offset: new Float64Array(4),
      penalty: { kind: 'l1', weights: new Float64Array(4).fill(1) },
    });
    expect(CompositeSolver.refusal(ok())).toBeNull();
    const Q = (data: number[]): MatrixTerm => ({ coef: 1, matrix: { shape: [2, 2], data: Float64Array.from(data) } });
    const two = (over: Partial<CompositeProblem>): CompositeProblem => ({
      size: 2,
      identity: 1,
      diagonal: null,
      grams: [],
      matrices: [],
      offset: new Float64Array(2),
      penalty: { kind: 'none' },
      ...over,
    });
    const refused: [string, CompositeProblem, RegExp][] = [
      ['offset size', { ...ok(), offset: new Float64Array(3) }, /offset/],
      ['columns', { ...ok(), grams: [{ coef: 1, matrix: A, transposed: true }] }, /columns/],
      ['non-finite offset', { ...ok(), offset: Float64Array.of(0, NaN, 0, 0) }, /non-finite/],
      ['non-finite design', { ...ok(), grams: [{ coef: 1, matrix: { shape: [1, 4], data: Float64Array.of(1, Infinity, 0, 0) }, transposed: false }] }, /non-finite/],
      ['negative Gram coef', { ...ok(), grams: [{ coef: -1, matrix: A, transposed: false }] }, /< 0/],
      ['nonsymmetric Q', two({ matrices: [Q([2, 1, 1 + 1e-9, 2])] }), /symmetric/],
      ['H_jj = 0', two({ identity: 0, matrices: [Q([1, 0, 0, 0])] }), /H_11/],
      ['H_jj < 0', two({ identity: 1, matrices: [{ ...Q([1, 0, 0, -1]), coef: 2 }] }), /H_11/],
      ['empty box', two({ penalty: { kind: 'box', lower: Float64Array.of(0, 2), upper: Float64Array.of(1, 1) } }), /empty/],
      ['box at infinity', two({ penalty: { kind: 'box', lower: Float64Array.of(0, Infinity), upper: Float64Array.of(1, Infinity) } }), /infinity/],
      ['negative weight', two({ penalty: { kind: 'l1', weights: Float64Array.of(1, -1) } }), /weight 1/],
      ['diagonal size', two({ diagonal: new Float64Array(3) }), /diagonal/],
    ];
    for (const [what, P, why] of refused) {
      expect(CompositeSolver.refusal(P), what).toMatch(why);
      expect(() => new CompositeSolver(P), what).toThrow(/refusal/);
    }
    // Symmetric to rounding, infinite bounds, zero weights, a zero column carried by the identity: accepted.
    expect(CompositeSolver.refusal(two({ matrices: [Q([2, 1, 1 + 1e-15, 2])] }))).toBeNull();
    expect(CompositeSolver.refusal(two({ penalty: { kind: 'box', lower: Float64Array.of(-Infinity, 0), upper: Float64Array.of(Infinity, 0) } }))).toBeNull();
    expect(CompositeSolver.refusal(two({ penalty: { kind: 'l1', weights: new Float64Array(2) } }))).toBeNull();
    expect(CompositeSolver.refusal(two({ grams: [{ coef: 1, matrix: { shape: [3, 2], data: Float64Array.of(1, 0, 1, 0, 1, 0) }, transposed: false }] }))).toBeNull();
  });
});
