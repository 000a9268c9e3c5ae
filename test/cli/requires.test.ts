import { describe, expect, it } from 'vitest';
import { implcInProcess, scratch } from './in-process.ts';

// `implc solve` on a model whose `require` fails: exit 1, the JSON with status
// `assumption-failed` and no derivatives on stdout, and one line on stderr naming the clause
// at FILE:line:column. A clause that holds changes nothing: exit 0, the same JSON as without it.

const { file } = scratch('implc-requires-');

const KEPLER = `// Kepler's equation: the eccentric anomaly E from the mean anomaly M.
model Kepler {
  param e: real
  param M: real
  unknown E: real
  solve E - e * sin(E) - M = 0
  require 0 <= e && e < 1
  output anomaly = E
}
`;

const BOUNDED = `model Bounded {
  param a: real
  unknown E: real
  solve E - 0.5 * sin(E) - a = 0
  require abs(E) <= 10
}
`;

const DEQ = `model Deq {
  dim d, h
  param W: real[h, h]
  param U: real[h, d]
  param b: real[h]
  data u: real[d]
  unknown z: real[h]
  fixpoint z = relu(W * z + U * u + b)
  output s = sum(z)
  require opnorm(W) <= 0.9
}
`;

const deqInputs = (w: number) => ({ W: [[w, 0], [0, -0.4]], U: [[1, 0, 0.5], [0.2, -1, 0]], b: [0.1, 0.2], u: [1, 2, 3] });

let count = 0;
async function solve(source: string, inputs: unknown, ...flags: string[]) {
  const n = count++;
  const model = file(`model-${n}.impl`, source);
  const r = await implcInProcess(['solve', model, '--input', file(`in-${n}.json`, JSON.stringify(inputs)), ...flags]);
  return { ...r, model };
}

const withoutRequire = (source: string) => source.replace(/\n\s*require [^\n]*/g, '\n');

const cases = [
  { name: "Kepler's equation, e = 1.5", source: KEPLER, bad: { e: 1.5, M: 1 }, good: { e: 0.5, M: 1 }, clause: '0 <= e && e < 1', at: '7:3', where: 'for these inputs' },
  { name: 'a bound on the unknown, E = 40.27', source: BOUNDED, bad: { a: 40 }, good: { a: 1 }, clause: 'abs(E) <= 10', at: '5:3', where: 'at the solution' },
  { name: 'a DEQ with opnorm(W) = 1.3', source: DEQ, bad: deqInputs(1.3), good: deqInputs(0.8), clause: 'opnorm(W) <= 0.9', at: '10:3', where: 'for these inputs' },
];

describe('implc solve: `require` checked on the actual values', () => {
  for (const c of cases) {
    it(`${c.name}: exit 1, assumption-failed, one line naming the clause and its place`, async () => {
      for (const flags of [[], ['--jacobian']]) {
        const r = await solve(c.source, c.bad, ...flags);
        expect(r.code).toBe(1);
        const out = JSON.parse(r.stdout);
        expect(out.status).toBe('assumption-failed');
        expect(out.failedRequires).toEqual([{ clause: c.clause, at: c.at }]);
        expect(out.certificate.verdict).toBe('unverified');
        expect(out.certificate.detail).toContain(`\`require ${c.clause}\` (at ${c.at})`);
        expect(out.gradients).toBeUndefined();
        expect(out.jacobian).toBeUndefined();
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`\`require ${c.clause}\` at ${r.model}:${c.at} does not hold ${c.where}`);
      }
    });

    it(`${c.name.replace(/,.*/, '')}, the clause holding: exit 0, the numbers of the model without it`, async () => {
      const r = await solve(c.source, c.good, '--jacobian');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.status).toBe('converged');
      expect(out.certificate.verdict).toBe('certified');
      const bare = await solve(withoutRequire(c.source), c.good, '--jacobian');
      expect(bare.code).toBe(0);
      // The same numbers; the certificate may come from another test (the clause is a fact the analysis uses).
      const { certificate, ...rest } = out;
      const { certificate: bareCertificate, ...bareRest } = JSON.parse(bare.stdout);
      expect(rest).toEqual(bareRest);
      expect(certificate.verdict).toBe(bareCertificate.verdict);
    });
  }

  it('the samples that state assumptions solve as before when they hold (exit 0)', async () => {
    const rows = [[1, 0.2, 0.1], [0.3, 1, -0.2], [0.5, -0.4, 1], [0.1, 0.1, 0.1]];
    const lasso = { X: rows, y: [1, -1, 0.5, 0.2], Xv: rows.slice(0, 2), yv: [0.5, 0] };
    const runs = [
      ['samples/weighted_lasso.impl', { ...lasso, lambdas: [0.1, 0.2, 0] }],
      ['samples/elastic_net.impl', { ...lasso, lambda1: 0.1, lambda2: 0.3 }],
      ['samples/simplex_qp.impl', { Q: [[2, 0.5], [0.5, 1]], q: [0.3, -0.2] }],
    ] as const;
    for (const [sample, inputs] of runs) {
      const r = await implcInProcess(['solve', sample, '--input', file(`sample-${count++}.json`, JSON.stringify(inputs))]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).status).toBe('converged');
    }
    // And fail where they do not: elastic net's `lambda1 >= 0 && lambda2 >= 0` at 16:3.
    const r = await implcInProcess(['solve', 'samples/elastic_net.impl', '--input', file(`sample-${count++}.json`, JSON.stringify({ ...lasso, lambda1: 0.1, lambda2: -0.3 }))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('`require lambda1 >= 0 && lambda2 >= 0` at samples/elastic_net.impl:16:3 does not hold for these inputs');
  });
});
