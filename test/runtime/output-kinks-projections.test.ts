// Output-only kinks of projections with faces (issue 15): proj_simplex in an output has no
// diagonal kink factor, its ties are entries on the threshold tau (sum_i max(v_i - tau, 0) = 1).
// Inputs are chosen by hand so that an entry sits exactly on tau, or none does.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';

const near = (got: unknown, want: number[]) => (got as number[]).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-12));
type Instance = ModelInstance & { solve(): RunResult };
const make = async (src: string) => (await compileModel('p.impl', undefined, src)) as unknown as new (x: object) => Instance;

const layer = `model L {
  dim n
  param theta: real[n]
  data tau: real
  output p = proj_simplex(theta / tau)
}`;
// z = 2 theta at the fixed point of z = 0.5 z + theta; the output projects z.
const fixpoint = `model F {
  dim n
  param theta: real[n]
  unknown z: real[n] = 0
  fixpoint z = 0.5 * z + theta
  output p = proj_simplex(z)
  output s = sum(z)
}`;

describe('output kinks of a projection with faces', () => {
  it('explicit layer: v = theta / tau = [2, 1, 0] puts v_2 = 1 on tau = 1 (p = [1, 0, 0]): one tie reported', async () => {
    const C = await make(layer);
    // tau: v sorted (2, 1, 0); with support {1}, tau = 2 - 1 = 1, and v_2 = 1 is not > 1: tau = 1.
    const at = new C({ theta: [4, 2, 0], tau: 2 }).solve();
    expect(at.certificate.test).toBe('explicit');
    expect(at.outputs.p).toEqual([1, 0, 0]);
    const kinks = at.outputKinks!.p;
    expect(kinks).toHaveLength(1);
    expect(kinks[0].site).toMatch(/^proj_simplex at 5:/);
    expect(kinks[0].ties).toBe(1);
    expect(kinks[0].face?.used).toContain('left out of the support');
    expect(kinks[0].used).toEqual([]);
    // Two entries on the threshold: v = [2, 1, 1] has tau = 1 (support {1}: 2 - 1 = 1; adding v_2, (3 - 1) / 2 = 1
    // is not < v_2 = 1), so v_2 = v_3 = tau: two ties.
    const two = new C({ theta: [2, 1, 1], tau: 1 }).solve();
    near(two.outputs.p, [1, 0, 0]);
    expect(two.outputKinks!.p[0].ties).toBe(2);
  });

  it('explicit layer at generic points reports none', async () => {
    const C = await make(layer);
    // v = [0.9, 0.35, -0.4] / 0.5 = [1.8, 0.7, -0.8]: tau = (1.8 + 0.7 - 1) / 2 = 0.75, |v_i - tau| >= 0.05.
    expect(new C({ theta: [0.9, 0.35, -0.4], tau: 0.5 }).solve().outputKinks).toBeUndefined();
    // v = [3, 0.5, 0]: tau = 2, every entry at distance >= 1.
    expect(new C({ theta: [6, 1, 0], tau: 2 }).solve().outputKinks).toBeUndefined();
  });

  it('a fixpoint model: the output proj_simplex(z) at z = 2 theta = [2, 1, 0] reports the tie on p only', async () => {
    const C = await make(fixpoint);
    const r = new C({ theta: [1, 0.5, 0] }).solve();
    expect(r.status).toBe('converged');
    expect(r.certificate.verdict).toBe('certified');
    expect(r.certificate.ties).toBe(0);
    const kinks = r.outputKinks!;
    expect(Object.keys(kinks)).toEqual(['p']);
    expect(kinks.p).toHaveLength(1);
    expect(kinks.p[0].site).toMatch(/^proj_simplex at 6:/);
    expect(kinks.p[0].ties).toBe(1);
    // z = [1.6, 0.7, -0.2]: tau = (1.6 + 0.7 - 1) / 2 = 0.65, every entry at distance >= 0.05.
    expect(new C({ theta: [0.8, 0.35, -0.1] }).solve().outputKinks).toBeUndefined();
  });

  it("a projection F reads is the certificate's, not an output kink", async () => {
    const C = await make(`model S {
  dim n
  param theta: real[n]
  unknown z: real[n] = 0
  fixpoint z = proj_simplex(0.5 * z + theta)
  output p = proj_simplex(0.5 * z + theta)
}`);
    // z = P(0.5 z + theta): with theta = [1.5, 1, 0], z = [1, 0, 0] and v = [2, 1, 0], tau = 1: v_2 is on
    // tau, a tie of F (the certificate's); the output reads the same projection, so it is not the output's.
    const r = new C({ theta: [1.5, 1, 0] }).solve();
    expect(r.status).toBe('converged');
    near(r.solution.z, [1, 0, 0]);
    // The tie is there: v_2 = 0.5 z_2 + theta_2 = 1 = tau = v_1 - 1.
    const z = r.solution.z as number[];
    expect(Math.abs(0.5 * z[1] + 1 - (0.5 * z[0] + 1.5 - 1))).toBeLessThan(1e-9);
    expect(r.certificate.verdict).not.toBe('violated');
    expect(r.outputKinks).toBeUndefined();
  });
});
