// Ties are F's alone (issue 13): a kink that only an output reads (norm1 of the Lasso's
// coefficients, at every zero coefficient) does not touch the certificate, and is reported on
// that output's gradient instead: the site, its tied elements, the element the gradient used.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import { mulberry32 } from '../helpers/rng.ts';

const source = (output: string) => `model L {
  dim n, p
  data X: real[n, p]
  data y: real[n]
  param lambda: real
  let step = 1 / opnorm(X)^2
  unknown beta: real[p] = 0
  fixpoint beta = soft_threshold(beta - step * X' * (X * beta - y), step * lambda)
  ${output}
}
`;

describe("an output's kinks are the output's", () => {
  const rng = mulberry32(31);
  const normal = () => Math.sqrt(-2 * Math.log(rng() + 1e-300)) * Math.cos(2 * Math.PI * rng());
  const [n, p] = [20, 60];
  const inputs = { X: Array.from({ length: n }, () => Array.from({ length: p }, normal)), y: Array.from({ length: n }, normal), lambda: 2 };

  it('a Lasso with output norm1(beta) is certified like the one without, with the output kinks named', async () => {
    const With = await compileModel('l.impl', undefined, source('output size = norm1(beta)'));
    const Without = await compileModel('l.impl', undefined, source(''));
    const a = (new With(inputs) as unknown as ModelInstance & { solve(): RunResult }).solve();
    const b = (new Without(inputs) as unknown as ModelInstance & { solve(): RunResult }).solve();
    expect(b.certificate.verdict).toBe('certified');
    expect(a.certificate.verdict).toBe(b.certificate.verdict);
    expect(a.certificate.ties).toBe(b.certificate.ties);
    const zeros = Object.values(a.solution.beta as number[]).filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(0);
    const kinks = a.outputKinks!.size;
    expect(kinks).toHaveLength(1);
    expect(kinks[0].ties).toBe(zeros);
    // abs'(0) as the kernels select it: 0, inside the conservative range [-1, 1].
    for (const u of kinks[0].used) expect(u).toBe(0);
    expect(kinks[0].range).toEqual([-1, 1]);
    expect(b.outputKinks).toBeUndefined();
  });

  it('a smooth output reports nothing', async () => {
    const M = await compileModel('l.impl', undefined, source('output fit = 0.5 * sumsq(X * beta - y)'));
    const r = (new M(inputs) as unknown as ModelInstance & { solve(): RunResult }).solve();
    expect(r.outputKinks).toBeUndefined();
  });
});
