/**
 * The `cone` declaration (issue 16) from the user's side: parse, check and bind. Every block
 * kind, dim sums in sizes, a declared length bound at run time from the blocks or checked
 * against an input, and the errors (E0216 psd without a declared length, E0110 an unknown kind
 * with a did-you-mean, E0206 a cone as a value or a vector as a cone, E0201 a cone of the wrong
 * length), each with its code and its line/column span. Values of proj_cone and proj_dual_cone
 * against the cones' definitions written here (zero: {0}, its dual free; nonneg: max(u, 0); the
 * second-order cone's closed form; a 2 x 2 PSD block by its closed-form eigenvalues in svec
 * coordinates), and an explicit layer's Jacobian against central differences.
 */
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { compileModel } from '../../src/compile-model.ts';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.ts';
import { runModel } from '../../src/runtime/index.ts';
import { InputError } from '../../src/runtime/inputs.ts';
import type { ModelInstance } from '../../src/runtime/model.ts';
import { fd } from '../helpers/finite-differences.ts';
import { mulberry32 } from '../helpers/rng.ts';

type Instance = ModelInstance & { readonly dims: Readonly<Record<string, number>> };
type Ctor = new (inputs: object) => Instance;
const flat = (x: unknown): number[] => [x].flat(4) as number[];
const diagnostics = (text: string): Diagnostic[] => frontEnd('t.impl', text).diagnostics;
const errors = (text: string): Diagnostic[] => diagnostics(text).filter((d) => d.severity === 'error');

/** 1-based line and column of the `k`-th (0-based) occurrence of `needle` in `text`. */
function where(text: string, needle: string, k = 0): { line: number; column: number } {
  let at = -1;
  for (let i = 0; i <= k; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`no ${needle} in the text`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}
/** The error's span starts where `needle` (unique in the text) starts and covers its first `length` characters (all of it by default). */
function expectSpan(d: Diagnostic, text: string, needle: string, length = needle.length): void {
  expect(text.indexOf(needle), `${needle} is unique`).toBe(text.lastIndexOf(needle));
  expect(d.span.start).toMatchObject(where(text, needle));
  expect(d.span.end.offset - d.span.start.offset).toBe(length);
}

// ---------------------------------------------------------------------------------------------
// References, written from the definitions.

const norm = (x: number[]) => Math.hypot(...x);
/** Projection onto {(t, x): ||x|| <= t}, t first (the closed form). */
function projSocRef(w: number[]): number[] {
  const [t, ...x] = w;
  const r = norm(x);
  if (r <= t) return [...w];
  if (r <= -t) return w.map(() => 0);
  const a = (t + r) / 2;
  return [a, ...x.map((xi) => (a * xi) / r)];
}
/** Projection of svec(X) = [X11, sqrt2 X21, X22] onto the 2 x 2 PSD cone, by the closed-form eigenvalues. */
function projPsd2Ref(w: number[]): number[] {
  const [a, bs, d] = w;
  const b = bs / Math.SQRT2;
  const mean = (a + d) / 2;
  const rad = Math.hypot((a - d) / 2, b);
  const l1 = mean + rad;
  const l2 = mean - rad;
  // Unit eigenvector of l1: (b, l1 - a) or (l1 - d, b), whichever is better conditioned.
  let e = Math.abs(l1 - a) + Math.abs(b) >= Math.abs(l1 - d) + Math.abs(b) ? [b, l1 - a] : [l1 - d, b];
  if (norm(e) === 0) e = [1, 0];
  e = e.map((z) => z / norm(e));
  const f = [-e[1], e[0]];
  const p1 = Math.max(l1, 0);
  const p2 = Math.max(l2, 0);
  const X = [
    [p1 * e[0] * e[0] + p2 * f[0] * f[0], p1 * e[0] * e[1] + p2 * f[0] * f[1]],
    [p1 * e[1] * e[0] + p2 * f[1] * f[0], p1 * e[1] * e[1] + p2 * f[1] * f[1]],
  ];
  return [X[0][0], Math.SQRT2 * X[1][0], X[1][1]];
}

// ---------------------------------------------------------------------------------------------

/** Every block kind, a dim sum as a size, a declared length checked against the param u. */
const BLOCKS = `model Blocks {
  dim p, q, k, j, t
  data zp: real[p]
  data zq: real[q]
  data zk: real[k]
  data zj: real[j]
  param u: real[t]
  cone K[t] = zero[p] * nonneg[q] * soc[k + 1] * psd[j]
  output pr = proj_cone(u, K)
  output pd = proj_dual_cone(u, K)
  output o = sum(zp) + sum(zq) + sum(zk) + sum(zj)
}
`;
/** p = 2, q = 3, soc[k + 1] with k = 2 (length 3), psd[2] (length 3): t = 11. */
const sizes = { p: 2, q: 3, k: 2, j: 2 };
const T = sizes.p + sizes.q + (sizes.k + 1) + (sizes.j * (sizes.j + 1)) / 2;
const blockInputs = (u: number[]) => ({ zp: new Array(sizes.p).fill(0), zq: new Array(sizes.q).fill(0), zk: new Array(sizes.k).fill(0), zj: new Array(sizes.j).fill(0), u });

/** The references block by block: [zero, nonneg, soc, psd]. */
function projRef(u: number[], dual: boolean): number[] {
  const z = u.slice(0, 2);
  const nn = u.slice(2, 5);
  const soc = u.slice(5, 8);
  const psd = u.slice(8, 11);
  return [...(dual ? z : z.map(() => 0)), ...nn.map((x) => Math.max(x, 0)), ...projSocRef(soc), ...projPsd2Ref(psd)];
}

describe('cone declarations: parse, check, bind', () => {
  it('every block kind, a dim sum as a size and a declared length: no errors', () => {
    expect(errors(BLOCKS)).toEqual([]);
  });

  it('`cone` is still an identifier: `let cone = 1`, a param named cone', () => {
    const text = `model C {
  dim q
  data w: real[q]
  param cone: real
  cone K = nonneg[q]
  let cone2 = cone + 1
  output o = sum(proj_cone(w, K)) + cone2
}
`;
    expect(errors(text)).toEqual([]);
    const asLet = `model C {
  dim q
  data w: real[q]
  cone K = nonneg[q]
  let cone = 1
  output o = sum(proj_cone(w, K)) + cone
}
`;
    expect(errors(asLet)).toEqual([]);
  });

  it('E0216: a psd block without a declared length, at the cone\'s name', () => {
    const text = `model P {
  dim k
  data S: real[k]
  cone Kp = nonneg[k] * psd[k]
  output o = sum(S)
}
`;
    const e = errors(text);
    expect(e.map((d) => d.code)).toEqual(['E0216']);
    expectSpan(e[0], text, 'Kp =', 2);
    expect(e[0].message).toContain('`Kp`');
    expect(e[0].help).toContain('cone Kp[t] =');
  });

  it('E0110: an unknown block kind, at the kind, with a did-you-mean', () => {
    const text = `model U {
  dim q
  data w: real[q]
  cone K = zero[q] * nonng[q]
  output o = sum(w)
}
`;
    const e = errors(text);
    expect(e.map((d) => d.code)).toEqual(['E0110']);
    expectSpan(e[0], text, 'nonng[', 5);
    expect(e[0].message).toContain('`nonng` is not a kind of cone');
    expect(e[0].help).toBe('did you mean `nonneg`?');
  });

  it('E0206: a cone used as a value, at the name, with its declaration related', () => {
    const text = `model V {
  dim q
  data w: real[q]
  cone K = nonneg[q]
  let z = K + 1
  output o = sum(proj_cone(w, K))
}
`;
    const e = errors(text);
    expect(e.map((d) => d.code)).toEqual(['E0206']);
    expectSpan(e[0], text, 'K + 1', 1);
    expect(e[0].message).toBe('`K` is a cone, not a value to compute with');
  });

  it('E0206: a vector where a cone is expected, at the argument', () => {
    const text = `model W {
  dim q
  data w: real[q]
  cone K = nonneg[q]
  output o = sum(proj_cone(w, [1, 2]))
}
`;
    const e = errors(text);
    expect(e.map((d) => d.code)).toEqual(['E0206']);
    expectSpan(e[0], text, '[1, 2]');
    expect(e[0].message).toContain('`proj_cone` takes a cone here');
  });

  it('E0201: a vector of another length than the cone, at the vector', () => {
    const text = `model L {
  dim q, r
  data w: real[q]
  data z: real[r]
  cone K = nonneg[q] * soc[r]
  output o = sum(proj_cone(w, K))
}
`;
    const e = errors(text);
    expect(e.map((d) => d.code)).toEqual(['E0201']);
    expectSpan(e[0], text, 'w, K)', 1);
    expect(e[0].message).toContain("the cone's length q + r");
    // The right length, a sum of dims: no error.
    expect(errors(text.replace('proj_cone(w, K)', 'proj_cone([w; z], K)'))).toEqual([]);
  });

  it('an undeclared name as the cone is E0101 (not declared), a cone used above its declaration E0106, not E0206', () => {
    const text = `model N {
  dim q
  data w: real[q]
  cone K = nonneg[q]
  output o = sum(proj_cone(w, Q))
}
`;
    const e = errors(text);
    expect(e.map((d) => d.code)).toEqual(['E0101']);
    expectSpan(e[0], text, 'Q)', 1);
    const later = `model N {
  dim q
  data w: real[q]
  output o = sum(proj_cone(w, K))
  cone K = nonneg[q]
}
`;
    const l = errors(later);
    expect(l.map((d) => d.code)).toEqual(['E0106']);
    expectSpan(l[0], later, 'K))', 1);
  });
});

/**
 * Lengths (once known limits, now fixed): a declared length that contradicts the blocks for
 * every binding of the dims is a compile-time error; a declared length that is a sum with one
 * dim no input binds binds that dim; a psd block of literal order has a known length.
 */
describe('cone declarations: lengths', () => {
  const provable = `model D {
  param w: real[3]
  cone K[3] = nonneg[2]
  output o = proj_cone(w, K)
}
`;
  it('cone K[3] = nonneg[2] is a compile-time error at the declared length', () => {
    const e = errors(provable);
    expect(e).toHaveLength(1);
    expectSpan(e[0], provable, '3] =', 1);
  });

  it('... with a message naming the cone and both lengths', () => {
    expect(errors(provable)[0].message).toBe('cone `K` is declared of length 3, but its blocks hold 2 entries');
  });

  // The README's own example of a declared length (section "Cone programs as layers"): t occurs
  // only in the sum k + t and no input binds it; the check accepts the model, but binding
  // (src/runtime/inputs.ts bindCone) binds only a declared length that is one dim's name, so it
  // throws "declared of length k + t, but its blocks ... hold 5 entries" instead of t = 3.
  it('cone K[k + t] = zero[k] * psd[k]: t bound from the blocks (t = 3 for k = 2)', async () => {
    const text = `model R {
  dim k, t
  data S: real[k]
  cone K[k + t] = zero[k] * psd[k]
  unknown w: real[k + t]
  solve w = proj_cone(0.5 * w + 1, K)
  output o = sum(w) + 0 * sum(S)
}
`;
    expect(errors(text)).toEqual([]);
    const R = (await compileModel('r.impl', undefined, text)) as unknown as Ctor;
    expect(new R({ S: [1, 2] }).dims).toMatchObject({ k: 2, t: 3 });
  });

  it('cone K = psd[2] (a literal order: length 3) needs no declared length', () => {
    expect(errors('model E {\n  param w: real[3]\n  cone K = psd[2]\n  output o = proj_cone(w, K)\n}\n')).toEqual([]);
  });
});

describe('cone binding: block sizes from dim arithmetic', () => {
  it('soc[q - 1] with q = 1 is an InputError naming the cone, the block and its size', async () => {
    const text = `model S {
  dim q
  data w: real[q]
  data z: real[q - 1]
  cone K = soc[q - 1] * nonneg[q]
  output o = proj_cone([z; w], K)
}
`;
    expect(errors(text)).toEqual([]);
    const S = (await compileModel('s.impl', undefined, text)) as unknown as Ctor;
    expect(() => new S({ w: [1], z: [] })).toThrow(/cone `K`: its soc block has size q - 1 = 0, not a positive integer/);
    // q = 3: soc[2] * nonneg[3], a projection of [z; w] = [t, x; w].
    const r = runModel(new S({ w: [-1, 2, -3], z: [0.5, 2] }));
    const want = [...projSocRef([0.5, 2]), 0, 2, 0];
    flat(r.outputs.o).forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(1e-12));
  });
});

describe('cone values and binding through generated code', async () => {
  const Blocks = (await compileModel('blocks.impl', undefined, BLOCKS)) as unknown as Ctor;
  const rng = mulberry32(3);
  // Away from every kink: |u_i| >= 0.2 on nonneg, the soc point outside K and -K, PSD eigenvalues of both signs.
  const u = [0.7, -1.3, 0.9, -0.6, 0.3, 0.5, 1.1, -0.8, 1.2, 0.9, -0.7];
  expect(u).toHaveLength(T);

  it('binds t from u, checked against the blocks (11 entries)', () => {
    const inst = new Blocks(blockInputs(u));
    expect(inst.dims).toMatchObject({ ...sizes, t: T });
  });

  it('a declared length that an input binds differently: an InputError naming the cone and both numbers', () => {
    const bad = [...u, 0.1];
    let caught: unknown;
    try {
      new Blocks(blockInputs(bad));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InputError);
    const message = (caught as Error).message;
    expect(message).toContain('cone `K`');
    expect(message).toContain('t = 12');
    expect(message).toMatch(/hold 11 entries/);
  });

  it('proj_cone and proj_dual_cone block by block (the zero block free in the dual cone)', () => {
    const r = runModel(new Blocks(blockInputs(u)));
    expect(r.status).toBe('converged');
    const pr = flat(r.outputs.pr);
    const pd = flat(r.outputs.pd);
    const wantPr = projRef(u, false);
    const wantPd = projRef(u, true);
    for (let i = 0; i < T; i++) {
      expect(Math.abs(pr[i] - wantPr[i]), `proj_cone entry ${i}`).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(pd[i] - wantPd[i]), `proj_dual_cone entry ${i}`).toBeLessThanOrEqual(1e-12);
    }
    // The zero block: 0 in K, u itself in K* (free).
    expect(pr.slice(0, 2)).toEqual([0, 0]);
    expect(pd.slice(0, 2)).toEqual(u.slice(0, 2));
    // Moreau: u = proj_K(u) - proj_K*(-u).
    const neg = flat(runModel(new Blocks(blockInputs(u.map((x) => -x)))).outputs.pd);
    for (let i = 0; i < T; i++) expect(Math.abs(pr[i] - neg[i] - u[i])).toBeLessThanOrEqual(1e-12);
  });

  it('an explicit layer: the Jacobians of proj_cone(u, K) and proj_dual_cone(u, K) w.r.t. u against central differences', () => {
    for (let trial = 0; trial < 3; trial++) {
      const w = trial === 0 ? u : u.map((x) => x + 0.05 * (rng() - 0.5));
      const r = runModel(new Blocks(blockInputs(w)), { jacobian: true });
      expect(r.certificate.test).toBe('explicit');
      for (const out of ['pr', 'pd'] as const) {
        const J = r.gradients![out].u as number[][];
        expect(J).toHaveLength(T);
        const cols = fd((p) => flat(runModel(new Blocks(blockInputs(p))).outputs[out]), w, 1e-6);
        for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) expect(Math.abs(J[i][j] - cols[j][i]), `${out} d${i}/du${j}`).toBeLessThanOrEqual(1e-7);
      }
    }
  });

  it('cone K[t] = psd[k]: t bound at run time from k (no input has an axis t)', async () => {
    const text = `model Psd {
  dim k, t
  data S: real[k, k]
  param a: real
  cone K[t] = psd[k]
  unknown w: real[t]
  solve w = proj_cone(a * ones(t), K)
  output o = sum(w) + 0 * sum(S)
}
`;
    expect(errors(text)).toEqual([]);
    const Psd = (await compileModel('psd.impl', undefined, text)) as unknown as Ctor;
    const inst = new Psd({ S: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], a: 1 });
    expect(inst.dims).toMatchObject({ k: 3, t: 6 });
    const r = runModel(inst);
    expect(r.status).toBe('converged');
    // svec of a * (ones 3 x 3 with sqrt 2 off the diagonal scaled back): the matrix with 1 on the
    // diagonal and 1/sqrt2 off it has eigenvalues 1 + sqrt2 and 1 - 1/sqrt2 (twice): PSD, so it projects to itself.
    expect(flat(r.solution.w).map((x) => Math.abs(x - 1)).every((d) => d <= 1e-12)).toBe(true);
  });

  it('two cones in one model, each with its own length', async () => {
    const text = `model Two {
  dim q, r
  param a: real[q]
  param b: real[r]
  cone K1 = nonneg[q]
  cone K2 = soc[r]
  output p1 = proj_cone(a, K1)
  output p2 = proj_cone(b, K2)
  output p3 = proj_dual_cone(b, K2)
}
`;
    expect(errors(text)).toEqual([]);
    const Two = (await compileModel('two.impl', undefined, text)) as unknown as Ctor;
    const a = [0.4, -0.2];
    const b = [0.5, 1.2, -0.9];
    const r = runModel(new Two({ a, b }));
    expect(flat(r.outputs.p1)).toEqual([0.4, 0]);
    const soc = projSocRef(b);
    for (const out of ['p2', 'p3']) flat(r.outputs[out]).forEach((x, i) => expect(Math.abs(x - soc[i])).toBeLessThanOrEqual(1e-12));
    // Mixing them up is a length error: K1 holds 2 entries, b 3.
    const swapped = text.replace('proj_cone(b, K2)', 'proj_cone(b, K1)');
    const e = errors(swapped);
    expect(e.map((d) => d.code)).toEqual(['E0201']);
    expectSpan(e[0], swapped, 'b, K1)', 1);
  });
});
