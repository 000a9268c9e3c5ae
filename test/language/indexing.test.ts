/**
 * Issue 15, items 1 and 2: indexing and slicing (1-based, `a:b` includes both ends), bracket
 * literals and constructors, through every stage: parse, check (errors with spans), lowering
 * to the registry's primitives, generated code, and derivatives (JVP/VJP of the gathers and
 * their scatter transpose) checked against finite differences of independently computed
 * solutions.
 */
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { compileModel } from '../../src/compile-model.ts';
import type { Expr } from '../../src/syntax/ast.ts';

type Solver = { solve(options?: object): { status: string; solution: Record<string, unknown>; outputs: Record<string, number>; gradients?: Record<string, Record<string, unknown>> } };

const front = (text: string) => frontEnd('t.impl', text);
const errors = (text: string) => front(text).diagnostics.filter((d) => d.severity === 'error');

/** The expression of the first output of the first model. */
function outputExpr(text: string): Expr {
  const f = front(text);
  const d = f.program!.models[0].decls.find((x) => x.kind === 'output');
  return (d as { value: Expr }).value;
}

describe('parsing', () => {
  const wrap = (e: string) => `model M {\n  dim n\n  data X: real[n, n]\n  data y: real[n]\n  unknown u: real\n  solve u = 1\n  output o = ${e}\n}\n`;
  it('indexes, ranges and whole axes', () => {
    const e = outputExpr(wrap('X[1:2, :][1, n]'));
    expect(e.kind).toBe('index');
    const outer = e as Extract<Expr, { kind: 'index' }>;
    expect(outer.indices.map((i) => i.kind)).toEqual(['at', 'at']);
    const inner = outer.arg as Extract<Expr, { kind: 'index' }>;
    expect(inner.kind).toBe('index');
    expect(inner.indices.map((i) => i.kind)).toEqual(['range', 'all']);
  });
  it("postfix operators apply left to right: X'[1, 2] indexes the transpose", () => {
    const e = outputExpr(wrap("X'[1, 2]")) as Extract<Expr, { kind: 'index' }>;
    expect(e.kind).toBe('index');
    expect(e.arg.kind).toBe('transpose');
  });
  it('bracket literals: rows by `;`, entries by `,`', () => {
    const e = outputExpr(wrap('sum([1, 2; 3, 4])')) as Extract<Expr, { kind: 'call' }>;
    const b = e.args[0] as Extract<Expr, { kind: 'bracket' }>;
    expect(b.kind).toBe('bracket');
    expect(b.rows.map((r) => r.length)).toEqual([2, 2]);
  });
});

describe('checking: errors with spans', () => {
  const model = (body: string) => `model M {\n  dim n\n  data X: real[2, 3]\n  data y: real[n]\n  unknown u: real\n  solve u = 1\n${body}\n}\n`;
  it('E0210: a literal index past a literal size, or below 1, or past a dim', () => {
    const e = errors(model('  output o = X[3, 1]'));
    expect(e.map((d) => d.code)).toEqual(['E0210']);
    // `X[3, 1]` on line 7: the `3` is at column 16.
    expect(e[0].span.start).toMatchObject({ line: 7, column: 16 });
    expect(e[0].span.end).toMatchObject({ line: 7, column: 17 });
    expect(errors(model('  output o = y[0]')).map((d) => d.code)).toEqual(['E0210']);
    expect(errors(model('  output o = y[n + 1]')).map((d) => d.code)).toEqual(['E0210']);
    expect(errors(model('  output o = sum(X[1, 2:4])')).map((d) => d.code)).toEqual(['E0210']);
    expect(errors(model('  output o = sum(y[3:2])')).map((d) => d.code)).toEqual(['E0210']);
    // Not decidable at compile time: the kernel checks it when the inputs are bound.
    expect(errors(model('  output o = y[5]'))).toEqual([]);
    expect(errors(model('  output o = y[n] + y[n - 1]'))).toEqual([]);
  });
  it('E0211: an index that is not an integer or dim expression (a range of dim arithmetic is fine: y[2:n] is real[n - 1], test/language/dim-sums.test.ts)', () => {
    const e = errors(model('  output o = y[u]'));
    expect(e.map((d) => d.code)).toEqual(['E0211']);
    expect(e[0].span.start).toMatchObject({ line: 7, column: 16 });
    expect(errors(model('  output o = y[1.5]')).map((d) => d.code)).toEqual(['E0211']);
    expect(errors(model('  output o = sum(y[2:n])'))).toEqual([]);
    expect(errors(model('  output o = sum(zeros(u))')).map((d) => d.code)).toEqual(['E0211']);
  });
  it('E0212: the number of indices is the rank', () => {
    const e = errors(model('  output o = y[1, 1]'));
    expect(e.map((d) => d.code)).toEqual(['E0212']);
    expect(e[0].span.start).toMatchObject({ line: 7, column: 14 });
    expect(errors(model('  output o = u[1]')).map((d) => d.code)).toEqual(['E0212']);
  });
  it('E0213: rows of different lengths; matrices mixed with vectors or scalars (concatenation of vectors and of matrices: test/language/concat.test.ts)', () => {
    const e = errors(model('  output o = sum([1, 2; 3])'));
    expect(e.map((d) => d.code)).toEqual(['E0213']);
    // The short row `3` is at column 25.
    expect(e[0].span.start).toMatchObject({ line: 7, column: 25 });
    // `[y; y]` is now the vertical stack (real[2*n]); a matrix with a vector is still not supported.
    expect(errors(model('  output o = sum([y; y])'))).toEqual([]);
    expect(errors(model('  output o = sum([X; y])')).map((d) => d.code)).toEqual(['E0213']);
    expect(errors(model('  output o = sum([X, 1])')).map((d) => d.code)).toEqual(['E0213']);
  });
  it('types: slices keep the axes given by ranges and `:`, indexes drop theirs', () => {
    const ok = model('  output o = sum(X[:, 2] .* [1, 2]) + sum(X[2, :] .* [1, 2, 3]) + sum(X[1:2, 2:3] * [1, 1]) + sum(y[1:n] .* fill(2, n)) + sum(eye(3) * X[1, :])');
    expect(errors(ok)).toEqual([]);
    // A shape mismatch downstream shows the slice's type: X[:, 2] is real[2].
    const bad = errors(model('  output o = sum(X[:, 2] .* [1, 2, 3])'));
    expect(bad.map((d) => d.code)).toEqual(['E0201']);
    expect(bad[0].message).toContain('real[2]');
  });
});

describe('values through generated code', () => {
  it('indexes, slices, literals and constructors against hand-computed values', async () => {
    const M = (await compileModel('values.impl', undefined, `model V {
  dim n
  data X: real[2, 3]
  data y: real[n]
  unknown u: real
  solve u - 1 = 0
  output a = X[2, 3] * u
  output b = sum(X[:, 2])
  output c = sum(X[1, 2:3])
  output d = sumsq(X[1:2, 1:2])
  output e = dot(X[2, :], [1, 0, -1])
  output f = y[n] - y[1] + y[n - 1]
  output g = sum([1, 2; 3, 4] * [1, 1]) + sum([[1, 0], [0, 2]] * X[:, 1])
  output h = sum(zeros(n) + ones(n)) + sum(fill(0.5, 2, 3)) + sum(eye(3) * [1, 2, 3]) + eye(2)[1, 2]
}
`)) as unknown as new (x: object) => Solver;
    const r = new M({ X: [[1, 2, 3], [4, 5, 6]], y: [10, 20, 30, 40] }).solve();
    // X = [1 2 3; 4 5 6]; y = (10, 20, 30, 40), n = 4.
    expect(r.outputs.a).toBeCloseTo(6, 14);
    expect(r.outputs.b).toBeCloseTo(2 + 5, 14);
    expect(r.outputs.c).toBeCloseTo(2 + 3, 14);
    expect(r.outputs.d).toBeCloseTo(1 + 4 + 16 + 25, 12);
    expect(r.outputs.e).toBeCloseTo(4 - 6, 14);
    expect(r.outputs.f).toBeCloseTo(40 - 10 + 30, 14);
    // [1 2; 3 4] (1, 1) = (3, 7); [1 0; 0 2] (1, 4) = (1, 8).
    expect(r.outputs.g).toBeCloseTo(3 + 7 + 1 + 8, 12);
    expect(r.outputs.h).toBeCloseTo(4 + 3 + 6 + 0, 12);
  });

  it('an index out of range of a dim is an error when the inputs are bound, naming the index and the size', async () => {
    const M = (await compileModel('range.impl', undefined, `model R {
  dim n
  param y: real[n]
  unknown u: real
  solve u - y[3] = 0
}
`)) as unknown as new (x: object) => Solver;
    expect(() => new M({ y: [1, 2] }).solve()).toThrow(/index 3 is out of range for axis 1 of size 2/);
    expect(new M({ y: [1, 2, 7] }).solve().solution.u).toBeCloseTo(7, 12);
  });
});

/** Central differences of `f` (a function of a flat parameter vector) at `p`. */
function fd(f: (p: number[]) => number, p: number[], h = 1e-5): number[] {
  return p.map((_, i) => {
    const up = [...p];
    const dn = [...p];
    up[i] += h;
    dn[i] -= h;
    return (f(up) - f(dn)) / (2 * h);
  });
}

function expectRel(actual: number[], expected: number[], tol: number) {
  const scale = Math.max(...expected.map(Math.abs), 1e-3);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]) / scale, `entry ${i}: ${a} vs ${expected[i]}`).toBeLessThan(tol));
}

describe('implicit derivatives through indexing in the fixpoint and the output', () => {
  it('a cyclic shift y -> (y2, y3, y1) and a slice in the output', async () => {
    const M = (await compileModel('chain.impl', undefined, `model Chain {
  param a: real[3]
  param b: real
  unknown y: real[3]
  fixpoint y = 0.5 * tanh([y[2], y[3], y[1]] + a) + 0.1 * b * ones(3)
  output o = y[1] + 3 * y[3] + sumsq(y[1:2])
}
`)) as unknown as new (x: object) => Solver;
    // Independent reference: plain iteration of the contraction (Lipschitz 0.5).
    const solveRef = (a: number[], b: number) => {
      let y = [0, 0, 0];
      for (let k = 0; k < 200; k++) y = [0, 1, 2].map((i) => 0.5 * Math.tanh(y[(i + 1) % 3] + a[i]) + 0.1 * b);
      return y;
    };
    const out = (y: number[]) => y[0] + 3 * y[2] + y[0] ** 2 + y[1] ** 2;
    const a = [0.3, -0.7, 1.1];
    const b = 0.4;
    const r = new M({ a, b }).solve({ tol: 1e-14 });
    expect(r.status).toBe('converged');
    expectRel(r.solution.y as number[], solveRef(a, b), 1e-10);
    expect(r.outputs.o).toBeCloseTo(out(solveRef(a, b)), 10);
    const ga = fd((p) => out(solveRef(p, b)), a);
    const gb = fd((p) => out(solveRef(a, p[0])), [b]);
    expectRel(r.gradients!.o.a as number[], ga, 1e-6);
    expectRel([r.gradients!.o.b as number], gb, 1e-6);
  });

  it('matrix slices of a param: W[:, 1:2] * z + W[:, 3], W[2, 1] and W[1, :] in the output', async () => {
    const M = (await compileModel('mat.impl', undefined, `model Mat {
  param W: real[2, 3]
  param c: real[2]
  unknown z: real[2]
  fixpoint z = 0.3 * tanh(W[:, 1:2] * z + W[:, 3] + c)
  output o = z[1] - 2 * z[2] + W[2, 1] * z[1] + dot(W[1, :], [1, 2, 3])
}
`)) as unknown as new (x: object) => Solver;
    const solveRef = (W: number[][], c: number[]) => {
      let z = [0, 0];
      for (let k = 0; k < 300; k++) z = [0, 1].map((i) => 0.3 * Math.tanh(W[i][0] * z[0] + W[i][1] * z[1] + W[i][2] + c[i]));
      return z;
    };
    const out = (W: number[][], c: number[]) => {
      const z = solveRef(W, c);
      return z[0] - 2 * z[1] + W[1][0] * z[0] + W[0][0] + 2 * W[0][1] + 3 * W[0][2];
    };
    const W = [[0.5, -0.4, 0.2], [0.3, 0.6, -0.8]];
    const c = [0.1, -0.3];
    const r = new M({ W, c }).solve({ tol: 1e-14 });
    expect(r.status).toBe('converged');
    expectRel(r.solution.z as number[], solveRef(W, c), 1e-10);
    const flatW = W.flat();
    const unflat = (p: number[]) => [p.slice(0, 3), p.slice(3, 6)];
    const gW = fd((p) => out(unflat(p), c), flatW);
    const gc = fd((p) => out(W, p), c);
    expectRel((r.gradients!.o.W as number[][]).flat(), gW, 1e-6);
    expectRel(r.gradients!.o.c as number[], gc, 1e-6);
  });
});
