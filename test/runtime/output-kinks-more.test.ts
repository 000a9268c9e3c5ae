// Output-only kinks without a diagonal factor beyond the projections with faces (issue 15):
// proj_l2ball (|v|_2 = r), proj_psd (a zero eigenvalue), block_soft_threshold (|v_G|_2 = t),
// norm2 (at 0), norm2 of rows (a zero row), norminf and maxof / minof (ties). Each is an
// explicit layer (outputs only) at a point chosen by hand so that the tie is exact in floating
// point (3^2 + 4^2 = 25 = 5^2, equal entries, the eigenvalues 0 and 2 of [[1, 1], [1, 1]]),
// and the same layer at generic points, where nothing is reported.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import type { OutputKink } from '../../src/runtime/run.ts';

type Instance = ModelInstance & { solve(): RunResult };
const make = async (src: string) => (await compileModel('k.impl', undefined, src)) as unknown as new (x: object) => Instance;
const near = (got: unknown, want: number[]) => {
  const flat = (got as unknown[]).flat(2) as number[];
  expect(flat).toHaveLength(want.length);
  flat.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-12));
};

/** The one kink reported, on the one output named, with its site at line `line` of the model. */
function only(r: RunResult, output: string, primitive: string, line: number): OutputKink {
  expect(r.certificate.test).toBe('explicit');
  expect(Object.keys(r.outputKinks ?? {})).toEqual([output]);
  const kinks = r.outputKinks![output];
  expect(kinks).toHaveLength(1);
  expect(kinks[0].site).toMatch(new RegExp(`^${primitive} at ${line}:\\d+$`));
  // No diagonal factor: the element used and the hull are the registry's words.
  expect(kinks[0].used).toEqual([]);
  expect(kinks[0].range).toEqual([0, 1]);
  expect(kinks[0].face).toBeDefined();
  return kinks[0];
}

describe('output kinks of proj_l2ball', () => {
  const layer = `model B {
  param theta: real[2]
  data r: real
  output p = proj_l2ball(theta, r)
}`;
  it('theta = [3, 4] on the sphere r = 5: a tie shared by both entries, the inside piece used (dp/dtheta = I)', async () => {
    const C = await make(layer);
    const r = new C({ theta: [3, 4], r: 5 }).solve();
    near(r.outputs.p, [3, 4]);
    const k = only(r, 'p', 'proj_l2ball', 4);
    // | |v|_2 - r | is shared by every entry of v.
    expect(k.ties).toBe(2);
    expect(k.face!.used).toContain('inside piece');
    expect(k.face!.hull).toContain('hull of the two pieces');
    near(r.gradients!.p.theta, [1, 0, 0, 1]);
  });

  it('inside (r = 6) and outside (r = 4) report none', async () => {
    const C = await make(layer);
    expect(new C({ theta: [3, 4], r: 6 }).solve().outputKinks).toBeUndefined();
    const out = new C({ theta: [3, 4], r: 4 }).solve();
    near(out.outputs.p, [2.4, 3.2]);
    expect(out.outputKinks).toBeUndefined();
  });

  it('a layer whose only param is the radius reads the kink through dp/dr', async () => {
    const C = await make(`model R {
  data theta: real[2]
  param r: real
  output p = proj_l2ball(theta, r)
}`);
    expect(only(new C({ theta: [3, 4], r: 5 }).solve(), 'p', 'proj_l2ball', 4).ties).toBe(2);
    // Outside: dp/dr = theta / |theta| = [0.6, 0.8].
    const out = new C({ theta: [3, 4], r: 4 }).solve();
    expect(out.outputKinks).toBeUndefined();
    near(out.gradients!.p.r, [0.6, 0.8]);
  });
});

describe('output kinks of norm2, norm2 of rows, norminf, maxof and minof', () => {
  it('norm2(theta) at theta = 0: one tie, the gradient 0 used; none at theta = [1, 2, 2]', async () => {
    const C = await make(`model N {
  param theta: real[3]
  output n = norm2(theta)
}`);
    const r = new C({ theta: [0, 0, 0] }).solve();
    expect(r.outputs.n).toBe(0);
    const k = only(r, 'n', 'norm2', 3);
    expect(k.ties).toBe(1);
    expect(k.face!.hull).toContain('unit ball');
    near(r.gradients!.n.theta, [0, 0, 0]);
    const g = new C({ theta: [1, 2, 2] }).solve();
    expect(g.outputs.n).toBe(3);
    expect(g.outputKinks).toBeUndefined();
    near(g.gradients!.n.theta, [1 / 3, 2 / 3, 2 / 3]);
  });

  it('norm2(X, 2) with a zero row: one tie (that row); none when no row is 0', async () => {
    const C = await make(`model NR {
  param X: real[2, 2]
  output r = norm2(X, 2)
}`);
    const r = new C({ X: [[0, 0], [3, 4]] }).solve();
    near(r.outputs.r, [0, 5]);
    expect(only(r, 'r', 'norm2_rows', 3).ties).toBe(1);
    expect(new C({ X: [[1, 0], [3, 4]] }).solve().outputKinks).toBeUndefined();
  });

  it('norminf(theta) with |-3| = |3| tied for the largest: one tie; none at [-3, 2, 1]', async () => {
    const C = await make(`model I {
  param theta: real[3]
  output m = norminf(theta)
}`);
    const r = new C({ theta: [-3, 3, 1] }).solve();
    expect(r.outputs.m).toBe(3);
    expect(only(r, 'm', 'norminf', 3).ties).toBe(1);
    // sign(a_k) e_k for the first largest entry k = 1.
    near(r.gradients!.m.theta, [-1, 0, 0]);
    expect(new C({ theta: [-3, 2, 1] }).solve().outputKinks).toBeUndefined();
  });

  it('maxof and minof with ties: one each, on its own output; none at distinct entries', async () => {
    const C = await make(`model E {
  param theta: real[3]
  output hi = maxof(theta)
  output lo = minof(theta)
}`);
    // 3 = 3 tie for the largest; the smallest, 1, is alone.
    const r = new C({ theta: [3, 1, 3] }).solve();
    expect(r.outputs.hi).toBe(3);
    expect(r.outputs.lo).toBe(1);
    expect(Object.keys(r.outputKinks!)).toEqual(['hi']);
    expect(r.outputKinks!.hi[0].site).toMatch(/^maxof at 3:/);
    near(r.gradients!.hi.theta, [1, 0, 0]);
    const both = new C({ theta: [1, 3, 1.5] }).solve();
    expect(both.outputKinks).toBeUndefined();
    const two = new C({ theta: [2, 2, 2] }).solve();
    expect(Object.keys(two.outputKinks!).sort()).toEqual(['hi', 'lo']);
    expect(two.outputKinks!.lo[0].site).toMatch(/^minof at 4:/);
    expect(two.outputKinks!.lo[0].ties).toBe(1);
    expect(two.outputKinks!.hi[0].face!.hull).toContain('tied');
  });
});

describe('output kinks of proj_psd', () => {
  const layer = `model Q {
  param S: real[2, 2]
  output q = proj_psd(S)
}`;
  it('S = [[1, 1], [1, 1]] (eigenvalues 0 and 2): the zero eigenvalue is a tie, shared by the 4 entries', async () => {
    const C = await make(layer);
    const r = new C({ S: [[1, 1], [1, 1]] }).solve();
    // S is PSD: the projection is S.
    near(r.outputs.q, [1, 1, 1, 1]);
    const k = only(r, 'q', 'proj_psd', 3);
    expect(k.ties).toBe(4);
    expect(k.face!.hull).toContain('Daleckii-Krein');
  });

  it('eigenvalues 1 and 3 ([[2, 1], [1, 2]]) or -1 and 3 ([[1, 2], [2, 1]]) report none', async () => {
    const C = await make(layer);
    expect(new C({ S: [[2, 1], [1, 2]] }).solve().outputKinks).toBeUndefined();
    // [[1, 2], [2, 1]] = 3 u u^T - w w^T (u, w = (1, +-1) / sqrt 2): the projection is 3 u u^T = 1.5 [[1, 1], [1, 1]].
    const neg = new C({ S: [[1, 2], [2, 1]] }).solve();
    near(neg.outputs.q, [1.5, 1.5, 1.5, 1.5]);
    expect(neg.outputKinks).toBeUndefined();
  });
});

describe('output kinks of block_soft_threshold', () => {
  const layer = `model G {
  param v: real[3]
  data t: real
  data g: index[3]
  output b = block_soft_threshold(v, t, g)
}`;
  it('group {1, 2} of norm |(3, 4)| = 5 = t: its two entries tied, the zero piece used', async () => {
    const C = await make(layer);
    const r = new C({ v: [3, 4, 1], t: 5, g: [1, 1, 2] }).solve();
    near(r.outputs.b, [0, 0, 0]);
    const k = only(r, 'b', 'block_soft_threshold', 5);
    // Group 2 = {3}: min(| 1 - 5 |, 5) = 4, no tie.
    expect(k.ties).toBe(2);
    expect(k.face!.used).toContain('zero piece');
    near(r.gradients!.b.v, [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('t = 2 (norms 5 and 1, distances 3 and 1) reports none', async () => {
    const C = await make(layer);
    const r = new C({ v: [3, 4, 1], t: 2, g: [1, 1, 2] }).solve();
    // Group 1 scaled by 1 - 2/5: (1.8, 2.4); group 2 (norm 1 < 2) is 0.
    near(r.outputs.b, [1.8, 2.4, 0]);
    expect(r.outputKinks).toBeUndefined();
  });

  it('a layer whose only param is t reads the kink through db/dt', async () => {
    const C = await make(`model T {
  data v: real[3]
  param t: real
  data g: index[3]
  output b = block_soft_threshold(v, t, g)
}`);
    expect(only(new C({ v: [3, 4, 1], t: 5, g: [1, 1, 2] }).solve(), 'b', 'block_soft_threshold', 5).ties).toBe(2);
    const r = new C({ v: [3, 4, 1], t: 2, g: [1, 1, 2] }).solve();
    expect(r.outputKinks).toBeUndefined();
    // db/dt = -v_G / |v_G| on the active group, 0 on the other.
    near(r.gradients!.b.t, [-0.6, -0.8, 0]);
  });
});

describe('a fixpoint model', () => {
  it('an output norm2(z) that F does not read reports z = 0; one F reads is the certificate\'s', async () => {
    const C = await make(`model F {
  param theta: real[2]
  unknown z: real[2] = 0
  fixpoint z = 0.5 * z + theta
  output n = norm2(z)
}`);
    const r = new C({ theta: [0, 0] }).solve();
    expect(r.status).toBe('converged');
    expect(r.certificate.ties).toBe(0);
    expect(r.outputKinks!.n[0].site).toMatch(/^norm2 at 5:/);
    expect(new C({ theta: [1, 0] }).solve().outputKinks).toBeUndefined();
    const D = await make(`model D {
  param theta: real[2]
  unknown z: real[2] = 0
  fixpoint z = 0.5 * z + theta + 0.1 * norm2(z)
  output n = norm2(z)
}`);
    const d = new D({ theta: [0, 0] }).solve();
    expect(d.status).toBe('converged');
    near(d.solution.z, [0, 0]);
    expect(d.outputKinks).toBeUndefined();
  });
});
