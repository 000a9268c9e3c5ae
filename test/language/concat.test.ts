/**
 * Issue 15: concatenation. `[a; b]` stacks vectors end to end (real[n], real[m] -> real[m + n])
 * and matrices one above the other; `[A, B]` puts matrices side by side (real[n, k],
 * real[n, l] -> real[n, k + l]); a scalar in `[y; 1]` is one entry (real[n + 1]). Sizes are
 * Dim sums (src/ir/shape.ts), shown normalized (names sorted: `m + n`). Checked: the shapes
 * (and the sums in error messages), values against hand computation, derivatives (forward
 * Jacobian, reverse gradients) against central finite differences of independently computed
 * solutions, and two unknowns stacked inside a fixpoint map with its implicit gradient.
 */
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { compileModel } from '../../src/compile-model.ts';
import { addDims, dimForm, dimOf, evalDim, sameSize, sizeOf } from '../../src/ir/shape.ts';
import { dimValue } from '../../src/runtime/inputs.ts';
import { ImplicitDerivatives } from '../../src/runtime/derivatives.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import { expectRel, fd } from '../helpers/finite-differences.ts';

type Instance = ModelInstance & { solve(o?: object): RunResult };
type Ctor = new (x: object) => Instance;

const errors = (text: string) => frontEnd('t.impl', text).diagnostics.filter((d) => d.severity === 'error');
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

describe('dim sums', () => {
  it('normalized: names sorted, coefficients first, the literal last; equal sums are equal strings', () => {
    expect(addDims('n', 'm')).toBe('m + n');
    expect(addDims('m', 'n')).toBe('m + n');
    expect(addDims('n', 1)).toBe('n + 1');
    expect(addDims('n', 'n')).toBe('2*n');
    expect(addDims(2, 3)).toBe(5);
    expect(addDims('m + n', -1, 'k')).toBe('k + m + n - 1');
    // A sum that cancels to one name is that name; a constant one is a number.
    expect(addDims('m + n', dimOf({ c: 0, terms: new Map([['m', -1]]) }))).toBe('n');
    expect(dimForm('2*n + m - 3')).toEqual({ c: -3, terms: new Map([['n', 2], ['m', 1]]) });
  });
  it('evaluated against bound dims, by the compiler and by the runtime alike', () => {
    const dims = { m: 3, n: 4 };
    for (const d of ['m + n', '2*n + 1', 'n - 1', 'n', 7] as const) {
      const expected = { 'm + n': 7, '2*n + 1': 9, 'n - 1': 3, n: 4, 7: 7 }[d];
      expect(evalDim(d, dims)).toBe(expected);
      expect(dimValue(d, (k) => (dims as Record<string, number>)[k])).toBe(expected);
    }
    expect(evalDim('m + k', dims)).toBeUndefined();
  });
  it('sizes: (m + n) * k expands to k*m + k*n', () => {
    expect(sameSize(sizeOf(['m + n', 'k']), new Map([['k*m', 1], ['k*n', 1]]))).toBe(true);
    expect(sameSize(sizeOf(['n + 1']), new Map([['n', 1], ['', 1]]))).toBe(true);
    expect(sameSize(sizeOf(['m + n']), sizeOf(['n + m'.replace(' + ', ' + ')]))).toBe(true);
  });
});

describe('checking', () => {
  const model = (body: string) => `model M {
  dim n, m, k, l
  data y: real[n]
  data u: real[m]
  data A: real[n, k]
  data B: real[n, l]
  data C: real[m, k]
  data p: real[k]
  data q: real[l]
  unknown t: real
  solve t = 1
${body}
}
`;
  it('what now checks: [a; b], [y; 1], [A, B] * [p; q], [A; C], block rows, indexes into a concatenation', () => {
    expect(errors(model('  output o = sum([y; u]) + sum([y; 1]) + sum([A, B] * [p; q]) + sum([A; C] * p) + [y; u][n + 1] + sum([A, B; A, B] * [p; q])'))).toEqual([]);
    // `[a, b]` of two vectors of one length is still the matrix with rows a and b.
    expect(errors(model('  output o = sum([y, y] * y)'))).toEqual([]);
  });
  it('shapes with sums in error messages', () => {
    const e1 = errors(model('  output o = sum([y; u] .* y)'));
    expect(e1.map((d) => d.code)).toEqual(['E0201']);
    expect(e1[0].message).toContain('real[m + n]');
    const e2 = errors(model('  output o = sum([y; 1] .* y)'));
    expect(e2[0].message).toContain('real[n + 1]');
    const e3 = errors(model('  output o = sum([A, B] * p)'));
    expect(e3[0].message).toContain('real[n, k + l]');
    // Past the end of a concatenation: [y; u] has m + n entries.
    const e4 = errors(model('  output o = [y; u][n + m + 1]'));
    expect(e4.map((d) => d.code)).toEqual(['E0210']);
    expect(e4[0].message).toContain('1..m + n');
  });
  it('parts that do not fit: columns of a vertical stack, rows side by side, matrices with vectors', () => {
    const cols = errors(model('  output o = sum([A; B])'));
    expect(cols.map((d) => d.code)).toEqual(['E0201']);
    expect(cols[0].message).toContain('columns');
    const rows = errors(model('  output o = sum([A, C])'));
    expect(rows.map((d) => d.code)).toEqual(['E0201']);
    expect(rows[0].message).toContain('rows');
    expect(errors(model('  output o = sum([A; y])')).map((d) => d.code)).toEqual(['E0213']);
  });
  it('a system counted in sums: two unknowns against one stacked equation', () => {
    const text = `model S {
  dim n, m
  data a: real[n]
  data b: real[m]
  unknown y: real[n]
  unknown z: real[m]
  solve [y; z] - 0.5 * tanh([z; y]) = [a; b]
}
`;
    expect(errors(text)).toEqual([]);
    // (y; z; y) has 2n + m entries for n + m unknowns: counted in the sums' expansion.
    const over = errors(text.replace('solve [y; z] - 0.5 * tanh([z; y]) = [a; b]', 'solve [y; z; y] = 0'));
    expect(over.map((d) => d.code)).toEqual(['E0303']);
    expect(over[0].message).toBe('m + 2*n equations for m + n unknowns');
  });
});

describe('values through generated code', () => {
  it('[y; 1], [A, B] * [p; q], [A; C] * p, [y; y] and an index past the first part, by hand', async () => {
    const M = (await compileModel('values.impl', undefined, `model V {
  dim n, m, k, l
  data y: real[n]
  data u: real[m]
  data A: real[n, k]
  data B: real[n, l]
  data C: real[m, k]
  data p: real[k]
  data q: real[l]
  unknown t: real
  solve t - 2 = 0
  output a = [y; 1] * t
  output b = [A, B] * [p; q]
  output c = [A; C] * p
  output d = [y; u][n + 1] + sum([y; y])
  output e = [A, B; A, B] * [p; q]
}
`)) as unknown as Ctor;
    const r = new M({ y: [1, 2], u: [5, 6, 7], A: [[1, 2], [3, 4]], B: [[1], [-1]], C: [[0, 1], [1, 0], [2, 2]], p: [10, 20], q: [3] }).solve();
    expect(r.status).toBe('converged');
    expect(r.outputs.a).toEqual([2, 4, 2]);
    // [A, B] [p; q] = A p + B q = (50 + 3, 110 - 3).
    expect(r.outputs.b).toEqual([53, 107]);
    // [A; C] p = (A p; C p) = (50, 110, 20, 10, 60).
    expect(r.outputs.c).toEqual([50, 110, 20, 10, 60]);
    // entry n + 1 = 3 of (1, 2, 5, 6, 7) is 5; sum of (y; y) is 6.
    expect(r.outputs.d).toBe(11);
    expect(r.outputs.e).toEqual([53, 107, 53, 107]);
  });
});



const matvec = (M: number[][], x: number[]) => M.map((row) => row.reduce((s, v, j) => s + v * x[j], 0));

describe('derivatives against finite differences', () => {
  it('fixpoint y = 0.5 tanh([W, V] [y; u] + b): the vector output [y; u; 1] (forward and reverse Jacobians) and a scalar one', async () => {
    const M = (await compileModel('stack.impl', undefined, `model Stack {
  dim n, m
  param W: real[n, n]
  param V: real[n, m]
  param b: real[n]
  data u: real[m]
  unknown y: real[n]
  fixpoint y = 0.5 * tanh([W, V] * [y; u] + b)
  output s = [y; u; 1] * 2
  output o = dot([y; 1], [b; 3]) + sumsq([W, V] * [y; u])
}
`)) as unknown as Ctor;
    const W = [[0.3, -0.2], [0.1, 0.4]];
    const V = [[0.5, -0.3, 0.2], [0.2, 0.1, -0.6]];
    const b = [0.1, -0.2];
    const u = [0.7, -0.4, 0.9];
    // Independent reference: iterate the contraction with the blocks written out.
    const solveRef = (W: number[][], V: number[][], b: number[]) => {
      let y = [0, 0];
      for (let it = 0; it < 400; it++) {
        const Wy = matvec(W, y);
        const Vu = matvec(V, u);
        y = y.map((_, i) => 0.5 * Math.tanh(Wy[i] + Vu[i] + b[i]));
      }
      return y;
    };
    const outs = (W: number[][], V: number[][], b: number[]) => {
      const y = solveRef(W, V, b);
      const z = matvec(W, y).map((v, i) => v + matvec(V, u)[i]);
      const s = [...y, ...u, 1].map((v) => 2 * v);
      const o = y[0] * b[0] + y[1] * b[1] + 3 + z.reduce((acc, v) => acc + v * v, 0);
      return { s, o };
    };
    const inst = new M({ W, V, b, u });
    const r = inst.solve({ tol: 1e-14 });
    expect(r.status).toBe('converged');
    const ref = outs(W, V, b);
    (r.outputs.s as unknown as number[]).forEach((v, i) => expectRel(v, ref.s[i], 1e-10, `s[${i}]`));
    expectRel(r.outputs.o as number, ref.o, 1e-10, 'o');
    // Params flat in declaration order: W (4), V (6), b (2).
    const unflat = (p: number[]): [number[][], number[][], number[]] => [[p.slice(0, 2), p.slice(2, 4)], [p.slice(4, 7), p.slice(7, 10)], p.slice(10, 12)];
    const p0 = [...W.flat(), ...V.flat(), ...b];
    const cols = fd((p) => {
      const [w, v, c] = unflat(p);
      const x = outs(w, v, c);
      return [...x.s, x.o];
    }, p0);
    // Reverse: the gradient of o.
    const go = r.gradients!.o;
    const grad = [...flat(go.W), ...flat(go.V), ...flat(go.b)];
    grad.forEach((g, j) => expectRel(g, cols[j][6], 1e-6, `do/dp${j}`));
    // The vector output's Jacobian: forward (JVP) and reverse (VJP) through the runtime.
    const d = new ImplicitDerivatives(inst, Float64Array.from(r.solution.y as number[]));
    const J = d.outputJacobian(0);
    expect([J.rows, J.cols]).toEqual([6, 12]);
    for (let e = 0; e < 6; e++) for (let j = 0; j < 12; j++) expectRel(J.data[e * 12 + j], cols[j][e], 1e-6, `ds${e}/dp${j}`);
    const obar = Float64Array.of(0.3, -1.7, 1, 1, 1, 5);
    const v = d.outputVjp(0, obar);
    for (let j = 0; j < 12; j++) expectRel(v[j], [0, 1, 2, 3, 4, 5].reduce((acc, e) => acc + obar[e] * cols[j][e], 0), 1e-6, `vjp ${j}`);
  });

  it('two unknowns stacked inside the map: w = [y; z], fixpoint of 0.5 tanh([P, Q; R, S] w + [b; c]), sliced back', async () => {
    const M = (await compileModel('two.impl', undefined, `model Two {
  dim n, m
  param P: real[n, n]
  param Q: real[n, m]
  param R: real[m, n]
  param S: real[m, m]
  param b: real[n]
  param c: real[m]
  unknown y: real[n]
  unknown z: real[m]
  let w = [y; z]
  let a = 0.5 * tanh([P, Q; R, S] * w + [b; c])
  fixpoint y = a[1:n]
  fixpoint z = a[n + 1:n + m]
  output o = sum(y) - 2 * sum(z) + dot(w, w)
}
`)) as unknown as Ctor;
    const P = [[0.3, -0.2], [0.1, 0.4]];
    const Q = [[0.5, -0.3, 0.2], [0.2, 0.1, -0.6]];
    const R = [[0.2, 0.1], [-0.4, 0.3], [0.1, -0.1]];
    const S = [[0.2, 0, 0.1], [0.3, -0.2, 0], [0, 0.25, 0.1]];
    const b = [0.1, -0.2];
    const c = [0.3, 0.05, -0.4];
    const solveRef = (P: number[][], Q: number[][], R: number[][], S: number[][], b: number[], c: number[]) => {
      let y = [0, 0];
      let z = [0, 0, 0];
      for (let it = 0; it < 500; it++) {
        const ny = y.map((_, i) => 0.5 * Math.tanh(matvec(P, y)[i] + matvec(Q, z)[i] + b[i]));
        const nz = z.map((_, i) => 0.5 * Math.tanh(matvec(R, y)[i] + matvec(S, z)[i] + c[i]));
        y = ny;
        z = nz;
      }
      return { y, z };
    };
    const out = (p: number[]) => {
      const at = (k: number, r: number, s: number) => Array.from({ length: r }, (_, i) => p.slice(k + i * s, k + (i + 1) * s));
      const { y, z } = solveRef(at(0, 2, 2), at(4, 2, 3), at(10, 3, 2), at(16, 3, 3), p.slice(25, 27), p.slice(27, 30));
      return [y[0] + y[1] - 2 * (z[0] + z[1] + z[2]) + [...y, ...z].reduce((s, v) => s + v * v, 0)];
    };
    const r = new M({ P, Q, R, S, b, c }).solve({ tol: 1e-14 });
    expect(r.status).toBe('converged');
    const ref = solveRef(P, Q, R, S, b, c);
    (r.solution.y as number[]).forEach((v, i) => expectRel(v, ref.y[i], 1e-10, `y[${i}]`));
    (r.solution.z as number[]).forEach((v, i) => expectRel(v, ref.z[i], 1e-10, `z[${i}]`));
    const p0 = [...P.flat(), ...Q.flat(), ...R.flat(), ...S.flat(), ...b, ...c];
    expect(p0).toHaveLength(30);
    const cols = fd(out, p0);
    const g = r.gradients!.o;
    const grad = ['P', 'Q', 'R', 'S', 'b', 'c'].flatMap((name) => flat(g[name]));
    expect(grad).toHaveLength(30);
    grad.forEach((v, j) => expectRel(v, cols[j][0], 1e-6, `do/dp${j}`));
  });
});
