/**
 * Issue 15: log1p, logsumexp and softmax through the registry. Every expected value here is an
 * independent formula written in this file (2 atanh(a / (2 + a)) for log1p, naive or fixed-shift
 * sums of exponentials, exp(a_i) / sum exp(a_j)), and every derivative is checked against
 * central differences of those formulas in f64, through compiled models (the generated
 * module's jvpX / vjpX / jvpY / vjpY, its solve, its jacobian and its output gradients).
 */
import { describe, expect, it } from 'vitest';
import type { Interval } from '../../src/analysis/bounds.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import { compileModel } from '../../src/compile-model.ts';
import type { LinOp } from '../../src/analysis/linop.ts';
import { primitive } from '../../src/primitives/registry.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import type { Tensor } from '../../src/primitives/types.ts';
import { mulberry32 } from './rng.ts';

type Solver = ModelInstance & { solve(options?: Record<string, unknown>): RunResult };

const rng = mulberry32(1515);
const uniform = (lo: number, hi: number) => lo + (hi - lo) * rng();
const randomVector = (n: number, lo = -2, hi = 2) => Array.from({ length: n }, () => uniform(lo, hi));
const t = (shape: number[], data: number[]): Tensor => ({ shape, data: Float64Array.from(data) });
const value = (name: string, ...args: Tensor[]) => primitive(name).evaluate(args, {});

// Independent references.
const log1pRef = (a: number) => 2 * Math.atanh(a / (2 + a));
/** log sum exp(a) = c + log sum exp(a - c) for any fixed c (the naive formula at c = 0). */
const lseRef = (a: readonly number[], c = 0) => c + Math.log(a.reduce((s, x) => s + Math.exp(x - c), 0));
const softmaxRef = (a: readonly number[], c = 0) => {
  const e = a.map((x) => Math.exp(x - c));
  const total = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / total);
};
const dotRef = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);

/** |got - want|_inf <= tol * max(1, |want|_inf). */
function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = '') {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  const err = Math.max(0, ...Array.from(got, (g, i) => Math.abs(g - want[i])));
  expect(err / scale, `${what}: got ${Array.from(got)}, want ${Array.from(want)}`).toBeLessThan(tol);
}

/** Central difference of f: R^k -> R^m at x in direction d. */
function central(f: (x: number[]) => number[], x: readonly number[], d: readonly number[], h = 1e-5): number[] {
  const plus = f(x.map((v, i) => v + h * d[i]));
  const minus = f(x.map((v, i) => v - h * d[i]));
  return plus.map((p, i) => (p - minus[i]) / (2 * h));
}

describe('values against independent formulas', () => {
  it('log1p: 2 atanh(a / (2 + a)), accurate at tiny a, -Infinity at -1, NaN below', () => {
    const a = [...randomVector(6, -0.95, 5), 1e-12, -3e-10, 0];
    close(value('log1p', t([a.length], a)).data, a.map(log1pRef), 1e-14, 'log1p');
    // Relative accuracy where log(1 + a) would lose every digit: log1p(a) = a - a^2/2 + ...
    const tiny = value('log1p', t([], [1e-17])).data[0];
    expect(tiny).toBe(1e-17);
    expect(value('log1p', t([], [-1])).data[0]).toBe(-Infinity);
    expect(value('log1p', t([], [-2])).data[0]).toBeNaN();
  });

  it('logsumexp: vectors and matrices, no overflow or underflow, exact at one entry', () => {
    const a = randomVector(7);
    close(value('logsumexp', t([7], a)).data, [lseRef(a)], 1e-14, 'vector');
    const A = randomVector(6);
    close(value('logsumexp', t([2, 3], A)).data, [lseRef(A)], 1e-14, 'matrix');
    // exp(1000) overflows and exp(-1000) underflows: a fixed shift c gives the reference.
    const big = [1000, 999, 1000.5];
    close(value('logsumexp', t([3], big)).data, [lseRef(big, 1000)], 1e-15, 'large');
    const small = [-1000, -1001, -999.25];
    close(value('logsumexp', t([3], small)).data, [lseRef(small, -1000)], 1e-15, 'very negative');
    expect(value('logsumexp', t([2], [1000, 1000])).data[0]).toBe(1000 + Math.LN2);
    expect(value('logsumexp', t([1], [-3.25])).data[0]).toBe(-3.25);
    // An entry -Infinity contributes exp(-inf) = 0; all of them: -Infinity.
    close(value('logsumexp', t([3], [0.5, -Infinity, -1])).data, [lseRef([0.5, -1])], 1e-15, '-inf entry');
    expect(value('logsumexp', t([2], [-Infinity, -Infinity])).data[0]).toBe(-Infinity);
  });

  it('softmax: exp(a_i) / sum exp(a_j), shift invariant, in [0, 1] summing to 1', () => {
    const a = randomVector(6);
    const s = value('softmax', t([6], a));
    expect(s.shape).toEqual([6]);
    close(s.data, softmaxRef(a), 1e-15, 'softmax');
    close([s.data.reduce((x, y) => x + y, 0)], [1], 1e-15, 'sum');
    // Shifted by 1000 (the naive formula overflows), the same distribution.
    close(value('softmax', t([6], a.map((x) => x + 1000))).data, softmaxRef(a), 1e-13, 'shifted');
    close(value('softmax', t([3], [2, -Infinity, 0])).data, [softmaxRef([2, 0])[0], 0, softmaxRef([2, 0])[1]], 1e-15, '-inf entry');
    // The gradient of logsumexp is softmax over every entry, with the argument's shape.
    const A = randomVector(6);
    const G = value('logsumexp_grad', t([2, 3], A));
    expect(G.shape).toEqual([2, 3]);
    close(G.data, softmaxRef(A), 1e-15, 'logsumexp_grad');
  });

  it('softmax_jvp is (diag(s) - s s^T) t', () => {
    const a = randomVector(5);
    const d = randomVector(5);
    const s = softmaxRef(a);
    const want = s.map((si, i) => si * d[i] - si * dotRef(s, d));
    close(value('softmax_jvp', t([5], a), t([5], d)).data, want, 1e-15, 'softmax_jvp');
  });
});

describe('shapes and classes', () => {
  const check = (body: string) => analyzeFile('s.impl', `model S {\n  dim n\n  param a: real[n]\n  param A: real[n, n]\n  unknown y: real[n]\n  unknown z: real\n${body}\n}\n`);
  const errors = (body: string) => check(body).diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);

  it('softmax takes a vector; logsumexp a vector or a matrix; log1p is elementwise', () => {
    expect(errors('  fixpoint y = softmax(a + y / 4)\n  fixpoint z = 0.5 * logsumexp(A) + 0.25 * logsumexp(y) + sum(log1p(a .* a)) / 8 + z / 4')).toEqual([]);
    expect(errors('  fixpoint y = softmax(A) * a\n  fixpoint z = 0.5 * z')).toContain('E0203');
    expect(errors('  fixpoint y = a\n  fixpoint z = logsumexp(z)')).toContain('E0203');
  });

  it('classes: R_exp; softmax and logsumexp keep F globally Lipschitz, log1p makes it locally', () => {
    // (A data matrix: a param matrix times y would be a product of two moving quantities.)
    const smooth = analyzeFile('g.impl', 'model G {\n  dim n\n  data A: real[n, n]\n  param a: real[n]\n  unknown y: real[n]\n  unknown z: real\n  fixpoint y = 0.5 * softmax(A * y + a)\n  fixpoint z = logsumexp(y - z) / 2\n}\n').analyses[0].classes;
    expect(smooth.definability).toBe('R_exp');
    expect(smooth.definabilityCause.map((c) => c.primitive).sort()).toEqual(['logsumexp', 'softmax']);
    expect(smooth.lipschitz).toBe('globally');
    const local = check('  fixpoint y = 0.1 * log1p(y .* y + 1)\n  fixpoint z = z / 2 + 1').analyses[0].classes;
    expect(local.definability).toBe('R_exp');
    expect(local.lipschitz).toBe('locally');
    expect(local.lipschitzCause.map((c) => c.primitive)).toContain('log1p');
  });

  it("softmax's Jacobian reads as an opaque operator, never a diagonal", () => {
    const a = check('  fixpoint y = 0.5 * softmax(A * y + a)\n  fixpoint z = z / 2').analyses[0];
    const ops: LinOp[] = [];
    const walk = (o: LinOp) => {
      ops.push(o);
      if ('of' in o) walk(o.of);
      if (o.kind === 'sum') o.terms.forEach((x) => walk(x.op));
    };
    walk(a.jacobians.B[0]);
    expect(ops.some((o) => o.kind === 'diag')).toBe(false);
    const opaque = ops.filter((o): o is Extract<LinOp, { kind: 'opaque' }> => o.kind === 'opaque');
    expect(opaque.map((o) => a.model.graph.node(o.node).op)).toEqual(['softmax_jvp']);
  });
});

describe('intervals', () => {
  const iv = (name: string, ...args: Interval[]) => primitive(name).interval!(args, args.map(() => null));

  it('log1p is monotone: the image of the ends (outward by at most one double), none below -1', () => {
    const [lo, hi] = iv('log1p', [-0.5, 3]);
    expect(lo).toBeLessThanOrEqual(log1pRef(-0.5));
    expect(lo).toBeGreaterThan(log1pRef(-0.5) * (1 + 1e-15));
    expect(hi).toBeGreaterThanOrEqual(log1pRef(3));
    expect(hi).toBeLessThan(log1pRef(3) * (1 + 1e-15));
    expect(iv('log1p', [0, Infinity])).toEqual([0, Infinity]);
    expect(iv('log1p', [-1, 0])).toEqual([-Infinity, 0]);
    expect(iv('log1p', [-5, 1])[0]).toBe(-Infinity);
    expect(iv('log1p', [-5, -2])).toEqual([-Infinity, Infinity]);
    // Sampled values lie inside.
    for (let k = 0; k < 200; k++) {
      const x = uniform(-0.999, 10);
      expect(Math.log1p(x)).toBeGreaterThanOrEqual(iv('log1p', [-0.999, 10])[0]);
      expect(Math.log1p(x)).toBeLessThanOrEqual(iv('log1p', [-0.999, 10])[1]);
    }
  });

  it('logsumexp is at least the largest entry; softmax entries lie in [0, 1]', () => {
    expect(iv('logsumexp', [-2, 3])).toEqual([-2, Infinity]);
    expect(iv('softmax', [-Infinity, Infinity])).toEqual([0, 1]);
    for (let k = 0; k < 100; k++) {
      const n = 1 + Math.floor(rng() * 6);
      const a = randomVector(n, 1, 4);
      const lse = value('logsumexp', t([n], a)).data[0];
      expect(lse).toBeGreaterThanOrEqual(Math.max(...a));
      expect(lse).toBeGreaterThanOrEqual(iv('logsumexp', [1, 4])[0]);
      for (const s of value('softmax', t([n], a.map((x) => 200 * x))).data) {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }
    }
  });

  it('the bounds reach the analysis: a divisor 1 + log1p(y .* y) or logsumexp(relu(y) + 1) is never 0', () => {
    const warns = (expr: string) => {
      const r = analyzeFile('i.impl', `model I {\n  dim n\n  param x: real[n]\n  unknown y: real[n]\n  solve y - x + 0.1 * ${expr} = 0\n}\n`);
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      return r.diagnostics.some((d) => d.code === 'W0405');
    };
    expect(warns('y ./ (1 + log1p(y .* y))')).toBe(false);
    expect(warns('y / logsumexp(relu(y) + 1)')).toBe(false);
    expect(warns('y ./ log1p(y .* y)')).toBe(true);
    expect(warns('y ./ softmax(y)')).toBe(true);
    expect(warns('y / logsumexp(y)')).toBe(true);
  });
});

// --- Through compiled models ---------------------------------------------------------------

/** Param x laid out as the module's x vector (one param per model here). */
async function instance(text: string, inputs: Record<string, unknown>): Promise<Solver> {
  const M = await compileModel('m.impl', undefined, text);
  return new M(inputs) as unknown as Solver;
}

/**
 * F = y - T(x) with T a primitive of the param: jvpX(xdot) = -J_T xdot and vjpX(w) = -J_T^T w,
 * checked against central differences of the reference T and against each other.
 */
async function checkParamDerivatives(text: string, ref: (x: number[]) => number[], x: number[], n: number) {
  const m = await instance(text, { x });
  expect(m.m).toBe(x.length);
  expect(m.n).toBe(n);
  const y = Float64Array.from(ref(x));
  // The residual at y = T(x) is 0 up to rounding: the kernel agrees with the reference.
  const F = new Float64Array(n);
  m.residual(y, F);
  close(F, new Array(n).fill(0), 1e-14, 'residual at the reference');
  const factors = m.kinkFactors(y);
  for (let draw = 0; draw < 3; draw++) {
    const xdot = randomVector(x.length);
    const w = randomVector(n);
    const fd = central(ref, x, xdot);
    const jvp = new Float64Array(n);
    m.jvpX(y, factors, Float64Array.from(xdot), jvp);
    close(jvp, fd.map((v) => -v), 1e-8, 'jvpX vs central difference');
    const vjp = new Float64Array(x.length);
    m.vjpX(y, factors, Float64Array.from(w), vjp);
    close([dotRef(vjp, xdot)], [-dotRef(w, fd)], 1e-8, '<vjpX(w), xdot> vs central difference');
    close([dotRef(vjp, xdot)], [dotRef(w, jvp)], 1e-13, '<vjpX(w), xdot> = <w, jvpX(xdot)>');
  }
}

describe('JVP and VJP through compiled models, against central differences', () => {
  it('log1p', async () => {
    const text = 'model P {\n  dim n\n  param x: real[n]\n  unknown y: real[n]\n  fixpoint y = log1p(x)\n}\n';
    await checkParamDerivatives(text, (x) => x.map(log1pRef), randomVector(5, -0.8, 3), 5);
  });

  it('logsumexp of a vector and of a matrix', async () => {
    const vector = 'model P {\n  dim n\n  param x: real[n]\n  unknown y: real\n  fixpoint y = logsumexp(x)\n}\n';
    await checkParamDerivatives(vector, (x) => [lseRef(x)], randomVector(6), 1);
    const matrix = 'model P {\n  dim n, k\n  param x: real[n, k]\n  unknown y: real\n  fixpoint y = logsumexp(3 * x)\n}\n';
    const X = [randomVector(3), randomVector(3)];
    const m = await instance(matrix, { x: X });
    const flat = X.flat();
    const y = Float64Array.of(lseRef(flat.map((v) => 3 * v)));
    const xdot = randomVector(6);
    const jvp = new Float64Array(1);
    m.jvpX(y, m.kinkFactors(y), Float64Array.from(xdot), jvp);
    close(jvp, central((x) => [-lseRef(x.map((v) => 3 * v))], flat, xdot), 1e-8, 'matrix jvpX');
    const vjp = new Float64Array(6);
    m.vjpX(y, m.kinkFactors(y), Float64Array.of(1), vjp);
    // The gradient of -logsumexp(3 x) is -3 softmax(3 x) over every entry.
    close(vjp, softmaxRef(flat.map((v) => 3 * v)).map((s) => -3 * s), 1e-13, 'matrix vjpX');
  });

  it('softmax', async () => {
    const text = 'model P {\n  dim n\n  param x: real[n]\n  unknown y: real[n]\n  fixpoint y = softmax(x)\n}\n';
    await checkParamDerivatives(text, (x) => softmaxRef(x), randomVector(5), 5);
  });

  it('in the unknowns too: jvpY and vjpY of y - 0.5 softmax(W y + b) + 0.1 log1p(y .* y)', async () => {
    const n = 4;
    const W = Array.from({ length: n }, () => randomVector(n));
    const b = randomVector(n);
    const text = `model P {\n  dim n\n  data W: real[n, n]\n  param b: real[n]\n  unknown y: real[n]\n  solve y - 0.5 * softmax(W * y + b) + 0.1 * log1p(y .* y) = 0\n}\n`;
    const m = await instance(text, { W, b });
    const F = (y: number[]) => {
      const u = W.map((row, i) => dotRef(row, y) + b[i]);
      const s = softmaxRef(u);
      return y.map((v, i) => v - 0.5 * s[i] + 0.1 * log1pRef(v * v));
    };
    const y = randomVector(n);
    const out = new Float64Array(n);
    m.residual(Float64Array.from(y), out);
    close(out, F(y), 1e-14, 'residual');
    const factors = m.kinkFactors(Float64Array.from(y));
    const ydot = randomVector(n);
    const w = randomVector(n);
    const jvp = new Float64Array(n);
    m.jvpY(Float64Array.from(y), factors, Float64Array.from(ydot), jvp);
    const fd = central(F, y, ydot);
    close(jvp, fd, 1e-8, 'jvpY');
    const vjp = new Float64Array(n);
    m.vjpY(Float64Array.from(y), factors, Float64Array.from(w), vjp);
    close([dotRef(vjp, ydot)], [dotRef(w, fd)], 1e-8, 'vjpY');
  });
});

describe('models that solve and differentiate', () => {
  it('a softmax fixpoint y = 0.5 softmax(W y + b): the implicit gradient against differences of the solution', async () => {
    const n = 5;
    const W = Array.from({ length: n }, () => randomVector(n, -1, 1));
    const b = randomVector(n);
    const c = randomVector(n);
    const text = `model S {\n  dim n\n  data W: real[n, n]\n  data c: real[n]\n  param b: real[n]\n  unknown y: real[n] = 0\n  fixpoint y = 0.5 * softmax(W * y + b)\n  output o = dot(c, y)\n}\n`;
    const M = await compileModel('s.impl', undefined, text);
    // The solution by the test's own iteration: ||0.5 J W|| <= 0.25 ||W|| < 1 (||J|| <= 1/2).
    const solveRef = (bb: readonly number[]) => {
      let y = new Array(n).fill(0);
      for (let k = 0; k < 500; k++) y = softmaxRef(W.map((row, i) => dotRef(row, y) + bb[i])).map((s) => 0.5 * s);
      return y;
    };
    const r = (new M({ W, b, c }) as unknown as Solver).solve({ jacobian: true });
    expect(r.status).toBe('converged');
    const y = r.solution.y as number[];
    close(y, solveRef(b), 1e-9, 'solution');
    // dy/db by central differences of the solution map, column by column.
    const J = r.jacobian!.y.b as number[][];
    const h = 1e-5;
    for (let j = 0; j < n; j++) {
      const e = b.map((_, i) => (i === j ? 1 : 0));
      const col = central(solveRef, b, e, h);
      const got = J.map((row) => row[j]);
      expect(Math.max(...got.map((g, i) => Math.abs(g - col[i]))) / Math.max(...col.map(Math.abs))).toBeLessThan(1e-6);
    }
    // The output's gradient (reverse mode) against differences of o(b) = <c, y(b)>.
    const grad = r.gradients!.o.b as number[];
    const fdGrad = b.map((_, j) => central((bb) => [dotRef(c, solveRef(bb))], b, b.map((_, i) => (i === j ? 1 : 0)), h)[0]);
    expect(Math.max(...grad.map((g, j) => Math.abs(g - fdGrad[j]))) / Math.max(...fdGrad.map(Math.abs))).toBeLessThan(1e-6);
  });

  it('logsumexp and log1p in F: t solving logsumexp(s a - t) + 0.1 log1p(t^2) = 0', async () => {
    const a = randomVector(4);
    const text = `model L {\n  dim n\n  data a: real[n]\n  param s: real\n  unknown t: real = 0\n  solve logsumexp(s * a - t) - 0.1 * log1p(t * t) = 0\n  output o = t\n}\n`;
    const M = await compileModel('l.impl', undefined, text);
    // The test's own Newton iteration on the reference formula, and dt/ds by differences of it.
    const G = (s: number, tt: number) => lseRef(a.map((v) => s * v - tt)) - 0.1 * log1pRef(tt * tt);
    const solveRef = (s: number) => {
      let tt = 0;
      // dG/dt = -sum softmax - 0.2 t / (1 + t^2) = -1 - 0.2 t / (1 + t^2), in [-1.1, -0.9].
      for (let k = 0; k < 60; k++) tt -= G(s, tt) / -(1 + (0.2 * tt) / (1 + tt * tt));
      return tt;
    };
    for (const s of [0.7, -1.3]) {
      const r = (new M({ a, s }) as unknown as Solver).solve({ jacobian: true });
      expect(r.status).toBe('converged');
      close([r.solution.t as number], [solveRef(s)], 1e-12, 'solution');
      const fd = central((x) => [solveRef(x[0])], [s], [1])[0];
      // One param, one unknown: the jacobian is forward mode (jvpX), the gradient reverse (vjpX).
      expect(Math.abs((r.jacobian!.t.s as number) - fd) / Math.abs(fd)).toBeLessThan(1e-6);
      expect(Math.abs((r.gradients!.o.s as number) - fd) / Math.abs(fd)).toBeLessThan(1e-6);
    }
  });
});
