/**
 * Issue 15: reductions along one axis of a matrix. Syntax: for X: real[n, m], `f(X, 1)` reduces
 * over the first axis (down each column: real[m], one entry per column) and `f(X, 2)` over the
 * second (along each row: real[n]), for f in sum, mean, sumsq, norm1, norm2, norminf, maxof,
 * minof; `maxof(a)` / `minof(a)` give the largest / smallest entry of a whole array (`max` and
 * `min` stay the elementwise binary primitives). The axis must be the literal 1 or 2 (E0214).
 *
 * Every expected value here comes from loops written in this file (over columns or rows of
 * number[][]), and every derivative is checked against central differences of those loops in
 * f64, through compiled models (the generated module's residual, jvpX / vjpX / jvpY / vjpY,
 * solve, jacobian and output gradients).
 */
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import { mulberry32 } from './rng.ts';

type Solver = ModelInstance & { solve(options?: Record<string, unknown>): RunResult };

const rng = mulberry32(2115);
const uniform = (lo: number, hi: number) => lo + (hi - lo) * rng();
const randomVector = (n: number, lo = -2, hi = 2) => Array.from({ length: n }, () => uniform(lo, hi));
const randomMatrix = (n: number, m: number, lo = -2, hi = 2) => Array.from({ length: n }, () => randomVector(m, lo, hi));
const dotRef = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);

/** |got - want|_inf <= tol * max(1, |want|_inf). */
function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = '') {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  const err = Math.max(0, ...Array.from(got, (g, i) => Math.abs(g - want[i])));
  expect(err / scale, `${what}: got ${Array.from(got)}, want ${Array.from(want)}`).toBeLessThan(tol);
}

/** Central difference of f: R^k -> R^p at x in direction d. */
function central(f: (x: number[]) => number[], x: readonly number[], d: readonly number[], h = 1e-5): number[] {
  const plus = f(x.map((v, i) => v + h * d[i]));
  const minus = f(x.map((v, i) => v - h * d[i]));
  return plus.map((p, i) => (p - minus[i]) / (2 * h));
}

// --- Independent references: one number per column (axis 1) or per row (axis 2) ------------

type Reducer = (entries: number[]) => number;
const REDUCERS: Record<string, Reducer> = {
  sum: (v) => v.reduce((s, x) => s + x, 0),
  mean: (v) => v.reduce((s, x) => s + x, 0) / v.length,
  sumsq: (v) => v.reduce((s, x) => s + x * x, 0),
  norm1: (v) => v.reduce((s, x) => s + Math.abs(x), 0),
  norm2: (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)),
  norminf: (v) => v.reduce((s, x) => Math.max(s, Math.abs(x)), 0),
  maxof: (v) => v.reduce((s, x) => (x > s ? x : s), -Infinity),
  minof: (v) => v.reduce((s, x) => (x < s ? x : s), Infinity),
};
const NAMES = Object.keys(REDUCERS);

/** f along `axis` of X (n x m), by loops: axis 1 gives one entry per column, axis 2 per row. */
function alongAxis(f: Reducer, X: number[][], axis: 1 | 2): number[] {
  const n = X.length;
  const m = X[0].length;
  const out: number[] = [];
  if (axis === 1) {
    for (let j = 0; j < m; j++) {
      const column: number[] = [];
      for (let i = 0; i < n; i++) column.push(X[i][j]);
      out.push(f(column));
    }
  } else {
    for (let i = 0; i < n; i++) out.push(f([...X[i]]));
  }
  return out;
}

const reshape = (flat: readonly number[], n: number, m: number) => Array.from({ length: n }, (_, i) => flat.slice(i * m, (i + 1) * m));

async function instance(text: string, inputs: Record<string, unknown>): Promise<Solver> {
  const M = await compileModel('m.impl', undefined, text);
  return new M(inputs) as unknown as Solver;
}

// --- Shapes and errors -----------------------------------------------------------------------

describe('shapes and errors with spans', () => {
  const head = 'model S {\n  dim n, m\n  param X: real[n, m]\n  param v: real[n]\n';
  const run = (body: string) => {
    const text = `${head}${body}\n}\n`;
    return { text, diagnostics: analyzeFile('s.impl', text).diagnostics.filter((d) => d.severity === 'error') };
  };
  /** The source text a diagnostic's span covers. */
  const spanText = (text: string, d: { span: { start: { offset: number }; end: { offset: number } } }) => text.slice(d.span.start.offset, d.span.end.offset);

  it('axis 1 gives one entry per column (real[m]), axis 2 one per row (real[n]), maxof/minof of a whole array a scalar', () => {
    for (const f of NAMES) {
      expect(run(`  unknown y: real[m]\n  fixpoint y = ${f}(X, 1)`).diagnostics, `${f}(X, 1)`).toEqual([]);
      expect(run(`  unknown y: real[n]\n  fixpoint y = ${f}(X, 2)`).diagnostics, `${f}(X, 2)`).toEqual([]);
      // The wrong length: the fixpoint's shape error names both shapes.
      const wrong = run(`  unknown y: real[n]\n  fixpoint y = ${f}(X, 1)`).diagnostics;
      expect(wrong.map((d) => d.code), `${f}(X, 1) is real[m]`).toEqual(['E0204']);
      expect(wrong[0].message).toContain('real[m]');
    }
    expect(run('  unknown y: real\n  fixpoint y = maxof(X) + minof(v) + maxof(v) - minof(X)').diagnostics).toEqual([]);
  });

  it('E0214 at the axis when it is not the literal 1 or 2', () => {
    for (const axis of ['0', '3', 'n', '-1', '1 + 1', '2.5']) {
      const r = run(`  unknown y: real[m]\n  fixpoint y = sum(X, ${axis})`);
      expect(r.diagnostics.map((d) => d.code), axis).toEqual(['E0214']);
      expect(spanText(r.text, r.diagnostics[0])).toBe(axis);
      expect(r.diagnostics[0].message).toContain('1 or 2');
    }
    const r = run('  unknown y: real[n]\n  fixpoint y = maxof(X, 0) + norm2(X, 2)');
    expect(r.diagnostics.map((d) => [d.code, spanText(r.text, d)])).toEqual([['E0214', '0']]);
  });

  it('E0203 at the argument when it is not a matrix; E0104 for three arguments', () => {
    const r = run('  unknown y: real\n  fixpoint y = sum(norm1(v, 1))');
    expect(r.diagnostics.map((d) => [d.code, spanText(r.text, d)])).toEqual([['E0203', 'v']]);
    expect(r.diagnostics[0].message).toContain('real[n]');
    const s = run('  unknown y: real\n  fixpoint y = sum(maxof(2, 2))');
    expect(s.diagnostics.map((d) => [d.code, spanText(s.text, d)])).toEqual([['E0203', '2']]);
    expect(run('  unknown y: real[m]\n  fixpoint y = sum(X, 1, 2)').diagnostics.map((d) => d.code)).toEqual(['E0104']);
    // dot and the other reductions keep their arity.
    expect(run('  unknown y: real\n  fixpoint y = logsumexp(X, 1)').diagnostics.map((d) => d.code)).toEqual(['E0104']);
  });

  it('an axis reduction of the unknowns is analyzed: nonsmooth ones report their kink, smooth ones none', () => {
    const kinks = (f: string) => {
      const text = `model K {\n  dim n, m\n  data A: real[n, m]\n  param b: real[n]\n  unknown y: real[n]\n  fixpoint y = 0.1 * ${f}(A + y * ones(m)', 2) + b\n}\n`;
      const r = analyzeFile('k.impl', text);
      expect(r.diagnostics.filter((d) => d.severity === 'error'), f).toEqual([]);
      return r.analyses[0].kinks.map((k) => k.primitive);
    };
    expect(kinks('sum')).toEqual([]);
    expect(kinks('mean')).toEqual([]);
    expect(kinks('sumsq')).toEqual([]);
    expect(kinks('norm1')).toEqual(['norm1_rows']);
    expect(kinks('norm2')).toEqual(['norm2_rows']);
    expect(kinks('norminf')).toEqual(['norminf_rows']);
    expect(kinks('maxof')).toEqual(['maxof_rows']);
    expect(kinks('minof')).toEqual(['minof_rows']);
  });
});

// --- Values and derivatives through compiled models ---------------------------------------------

describe('values, JVP and VJP through compiled models, against loops and central differences', () => {
  const n = 3;
  const m = 4;

  it.each([1, 2] as const)('in the params: y_f = f(X, %i) for every f, one unknown per reduction', async (axis) => {
    const len = axis === 1 ? 'm' : 'n';
    const body = NAMES.map((f) => `  unknown y_${f}: real[${len}]\n  fixpoint y_${f} = ${f}(X, ${axis})`).join('\n');
    const text = `model P {\n  dim n, m\n  param X: real[n, m]\n${body}\n}\n`;
    const ref = (x: number[]) => NAMES.flatMap((f) => alongAxis(REDUCERS[f], reshape(x, n, m), axis));
    const X = randomMatrix(n, m);
    const x = X.flat();
    const model = await instance(text, { X });
    const size = NAMES.length * (axis === 1 ? m : n);
    expect(model.n).toBe(size);
    expect(model.m).toBe(n * m);
    // Values: the solution is the reference, and the residual vanishes there.
    const r = model.solve();
    expect(r.status).toBe('converged');
    for (const f of NAMES) close(r.solution[`y_${f}`] as number[], alongAxis(REDUCERS[f], X, axis), 1e-14, `${f}(X, ${axis})`);
    const y = Float64Array.from(ref(x));
    const F = new Float64Array(size);
    model.residual(y, F);
    close(F, new Array(size).fill(0), 1e-14, 'residual at the reference');
    // F = y - T(X): jvpX = -J_T xdot, vjpX = -J_T^T w.
    const factors = model.kinkFactors(y);
    for (let draw = 0; draw < 3; draw++) {
      const xdot = randomVector(x.length);
      const w = randomVector(size);
      const fd = central(ref, x, xdot);
      const jvp = new Float64Array(size);
      model.jvpX(y, factors, Float64Array.from(xdot), jvp);
      close(jvp, fd.map((v) => -v), 1e-8, 'jvpX vs central difference');
      const vjp = new Float64Array(x.length);
      model.vjpX(y, factors, Float64Array.from(w), vjp);
      close([dotRef(vjp, xdot)], [-dotRef(w, fd)], 1e-8, '<vjpX(w), xdot> vs central difference');
      close([dotRef(vjp, xdot)], [dotRef(w, jvp)], 1e-13, '<vjpX(w), xdot> = <w, jvpX(xdot)>');
    }
  });

  it.each([1, 2] as const)('in the unknowns: F(y) = y - 0.1 sum_f f(A .* (y 1ᵀ) + B .* (1 yᵀ), %i)', async (axis) => {
    const k = 4;
    const A = randomMatrix(k, k);
    const B = randomMatrix(k, k);
    const terms = NAMES.map((f) => `${f}(X, ${axis})`).join(' + ');
    const text = `model U {\n  dim k\n  data A: real[k, k]\n  data B: real[k, k]\n  unknown y: real[k]\n  let X = A .* (y * ones(k)') + B .* (ones(k) * y')\n  solve y - 0.1 * (${terms}) = 0\n}\n`;
    const model = await instance(text, { A, B });
    const Xof = (y: readonly number[]) => A.map((row, i) => row.map((a, j) => a * y[i] + B[i][j] * y[j]));
    const F = (y: number[]) => {
      const X = Xof(y);
      const total = new Array(k).fill(0);
      for (const f of NAMES) alongAxis(REDUCERS[f], X, axis).forEach((v, i) => (total[i] += v));
      return y.map((v, i) => v - 0.1 * total[i]);
    };
    const y = randomVector(k);
    const out = new Float64Array(k);
    model.residual(Float64Array.from(y), out);
    close(out, F(y), 1e-13, 'residual');
    const factors = model.kinkFactors(Float64Array.from(y));
    for (let draw = 0; draw < 3; draw++) {
      const ydot = randomVector(k);
      const w = randomVector(k);
      const fd = central(F, y, ydot);
      const jvp = new Float64Array(k);
      model.jvpY(Float64Array.from(y), factors, Float64Array.from(ydot), jvp);
      close(jvp, fd, 1e-8, 'jvpY vs central difference');
      const vjp = new Float64Array(k);
      model.vjpY(Float64Array.from(y), factors, Float64Array.from(w), vjp);
      close([dotRef(vjp, ydot)], [dotRef(w, fd)], 1e-8, '<vjpY(w), ydot> vs central difference');
      close([dotRef(vjp, ydot)], [dotRef(w, jvp)], 1e-13, '<vjpY(w), ydot> = <w, jvpY(ydot)>');
    }
  });
});

// --- Kinks: the element used at a tie ------------------------------------------------------------

describe('ties: the selected element of the conservative Jacobian', () => {
  it('maxof(X, 2) at a tie in a row uses the first tied entry; norm2(X, 1) at a zero column the gradient 0', async () => {
    const text = 'model T {\n  dim n, m\n  param X: real[n, m]\n  unknown a: real[n]\n  unknown b: real[m]\n  fixpoint a = maxof(X, 2)\n  fixpoint b = norm2(X, 1)\n}\n';
    // Row 0 ties at 3 (entries 0 and 2); column 1 is zero.
    const X = [
      [3, 0, 3],
      [1, 0, -2],
    ];
    const model = await instance(text, { X });
    const y = Float64Array.from([3, 1, ...alongAxis(REDUCERS.norm2, X, 1)]);
    const factors = model.kinkFactors(y);
    // d/dX of -[a; b] applied to e_(0,2) (the second tied entry of row 0): 0, as the first takes the tie.
    const e = (i: number, j: number) => Float64Array.from({ length: 6 }, (_, q) => (q === i * 3 + j ? 1 : 0));
    const jvp = (dir: Float64Array) => {
      const out = new Float64Array(5);
      model.jvpX(y, factors, dir, out);
      return Array.from(out, (v) => -v);
    };
    close(jvp(e(0, 0)), [1, 0, 3 / Math.hypot(3, 1), 0, 0], 1e-15, 'first tied entry');
    close(jvp(e(0, 2)), [0, 0, 0, 0, 3 / Math.hypot(3, -2)], 1e-15, 'second tied entry');
    // Column 1 is zero: norm2's gradient there is the element 0 of the unit ball.
    close(jvp(e(0, 1)), [0, 0, 0, 0, 0], 1e-15, 'zero column');
    close(jvp(e(1, 1)), [0, 0, 0, 0, 0], 1e-15, 'zero column');
  });
});

// --- A model that solves and differentiates ----------------------------------------------------

describe('an axis reduction inside a fixpoint and in an output', () => {
  it('column normalization: y = 0.5 tanh(C(y) ./ (1 norm2(C(y), 1)ᵀ) * b), C(y) = A + y 1ᵀ; the implicit gradient against differences of the solution', async () => {
    const n = 4;
    const m = 3;
    const A = randomMatrix(n, m, 1, 2);
    const w = randomVector(n);
    const b = randomVector(m, -0.4, 0.4);
    const text = `model C {
  dim n, m
  data A: real[n, m]
  data w: real[n]
  param b: real[m]
  unknown y: real[n] = 0
  let C = A + y * ones(m)'
  fixpoint y = 0.5 * tanh((C ./ (ones(n) * norm2(C, 1)')) * b)
  output o = dot(w, mean(C, 2)) + maxof(norm1(C, 1)) + sum(minof(C, 2))
}
`;
    const M = await compileModel('c.impl', undefined, text);
    const Cof = (y: readonly number[]) => A.map((row, i) => row.map((a) => a + y[i]));
    const map = (y: readonly number[], bb: readonly number[]) => {
      const C = Cof(y);
      const norms = alongAxis(REDUCERS.norm2, C, 1);
      return C.map((row) => 0.5 * Math.tanh(row.reduce((s, c, j) => s + (c / norms[j]) * bb[j], 0)));
    };
    // The test's own fixed-point iteration (|b| small: a contraction near the solution).
    const solveRef = (bb: readonly number[]) => {
      let y = new Array(n).fill(0);
      for (let k = 0; k < 400; k++) y = map(y, bb);
      return y;
    };
    const outputRef = (y: readonly number[]) => {
      const C = Cof(y);
      return dotRef(w, alongAxis(REDUCERS.mean, C, 2)) + REDUCERS.maxof(alongAxis(REDUCERS.norm1, C, 1)) + REDUCERS.sum(alongAxis(REDUCERS.minof, C, 2));
    };
    const yRef = solveRef(b);
    close(map(yRef, b), yRef, 1e-14, 'the reference is a fixed point');
    const r = (new M({ A, w, b }) as unknown as Solver).solve({ jacobian: true });
    expect(r.status).toBe('converged');
    close(r.solution.y as number[], yRef, 1e-10, 'solution');
    // The output at the module's own solution (which matches yRef to the solver's tolerance).
    close([r.outputs!.o as number], [outputRef(r.solution.y as number[])], 1e-13, 'output');
    close([r.outputs!.o as number], [outputRef(yRef)], 1e-9, 'output at the reference solution');
    const h = 1e-5;
    const J = r.jacobian!.y.b as number[][];
    for (let j = 0; j < m; j++) {
      const col = central(solveRef, b, b.map((_, i) => (i === j ? 1 : 0)), h);
      const got = J.map((row) => row[j]);
      expect(Math.max(...got.map((g, i) => Math.abs(g - col[i]))) / Math.max(...col.map(Math.abs)), `dy/db_${j}`).toBeLessThan(1e-6);
    }
    const grad = r.gradients!.o.b as number[];
    const fdGrad = b.map((_, j) => central((bb) => [outputRef(solveRef(bb))], b, b.map((_, i) => (i === j ? 1 : 0)), h)[0]);
    expect(Math.max(...grad.map((g, j) => Math.abs(g - fdGrad[j]))) / Math.max(...fdGrad.map(Math.abs)), 'do/db').toBeLessThan(1e-6);
  });
});
