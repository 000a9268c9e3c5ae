import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitModule } from '../../codegen/emit-module.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import { generatedClass } from '../helpers/generated.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';

// `require` is checked at run time on the actual values (LANGUAGE.md "Declarations"): a
// clause on the inputs alone before the solve, one on the unknowns at the solution. A
// violated clause gives status `assumption-failed`, no derivatives and no certificate; a clause
// that holds changes nothing: the result is the one of the same model without it.

type Solver = ModelInstance & {
  solve(options?: object): RunResult;
  with(changes: Record<string, unknown>): Solver;
  requireViolations(y: Float64Array | null): { clause: string; at: string }[];
};

/** The generated class of `source` (one model), and of the same source with its `require` lines removed. */
async function pair(name: string, source: string): Promise<[(inputs: object) => Solver, (inputs: object) => Solver]> {
  const bare = source
    .split('\n')
    .map((l) => (/^\s*require /.test(l) ? '' : l))
    .join('\n');
  expect(bare).not.toBe(source);
  const With = await generatedClass(`${name}.impl`, undefined, source);
  const Without = await generatedClass(`${name}-bare.impl`, undefined, bare);
  return [(x) => new With(x as Record<string, unknown>) as unknown as Solver, (x) => new Without(x as Record<string, unknown>) as unknown as Solver];
}

// Line 7, column 3: the `require`.
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

// An assumption on the unknown: |E| <= 10 at the solution (line 5).
const BOUNDED = `model Bounded {
  param a: real
  unknown E: real
  solve E - 0.5 * sin(E) - a = 0
  require abs(E) <= 10
  output e = E
}
`;

// A relu DEQ stated to be a contraction (line 10).
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

// Clauses on the inputs and on the unknowns, interleaved (lines 6 to 8); `c` is a name the module also uses.
const TWO = `model Two {
  param a: real
  param c: real
  unknown E: real
  solve E - a = 0
  require a > 0
  require abs(E) <= 1
  require c < 0
}
`;

const deqInputs = (w: number) => ({ W: [[w, 0], [0, -0.4]], U: [[1, 0, 0.5], [0.2, -1, 0]], b: [0.1, 0.2], u: [1, 2, 3] });

/**
 * Whether `r` is `bare`'s result: every number the same, and certified when `bare` is (the
 * analysis may certify by another test, using the clause as a fact).
 */
function expectSameAs(r: RunResult, bare: RunResult): void {
  const { certificate, ...rest } = r;
  const { certificate: bareCertificate, ...bareRest } = bare;
  expect(rest).toEqual(bareRest);
  expect(certificate.verdict).toBe(bareCertificate.verdict);
}

function expectFailed(r: RunResult, clause: string, at: string, where: string): void {
  expect(r.status).toBe('assumption-failed');
  expect(r.failedRequires).toEqual([{ clause, at }]);
  expect(r.certificate.verdict).toBe('unverified');
  expect(r.certificate.test).toBe('require');
  expect(r.certificate.detail).toContain(`\`require ${clause}\` (at ${at}) does not hold ${where}`);
  expect(r.gradients).toBeUndefined();
  expect(r.jacobian).toBeUndefined();
  expect(r.derivatives).toBeUndefined();
}

describe('require: a clause on the inputs alone, checked before the solve', () => {
  it("Kepler's equation with e = 1.5 is assumption-failed at 7:3, with nothing solved", async () => {
    const [kepler] = await pair('kepler', KEPLER);
    const r = kepler({ e: 1.5, M: 1 }).solve({ jacobian: true });
    expectFailed(r, '0 <= e && e < 1', '7:3', 'for these inputs');
    expect(r.method).toBe('none');
    expect(r.iterations).toBe(0);
    // The start (E = 0): F = 0 - 1.5 sin 0 - 1.
    expect(r.solution).toEqual({ E: 0 });
    expect(r.residual).toBe(1);
    // The boundary: e = 1 fails (strict), e = 0 holds, and so does a negative M.
    expectFailed(kepler({ e: 1, M: 1 }).solve(), '0 <= e && e < 1', '7:3', 'for these inputs');
    expectFailed(kepler({ e: -0.1, M: 1 }).solve(), '0 <= e && e < 1', '7:3', 'for these inputs');
    expect(kepler({ e: 0, M: -2 }).solve().status).toBe('converged');
  });

  it('Kepler with e = 0.5 holds: the same result as without the clause, and the derivatives of the implicit function theorem', async () => {
    const [kepler, bare] = await pair('kepler', KEPLER);
    const r = kepler({ e: 0.5, M: 1 }).solve({ jacobian: true });
    expectSameAs(r, bare({ e: 0.5, M: 1 }).solve({ jacobian: true }));
    expect(r.status).toBe('converged');
    expect(r.failedRequires).toBeUndefined();
    const E = r.solution.E as number;
    expect(Math.abs(E - 0.5 * Math.sin(E) - 1)).toBeLessThan(1e-10);
    // dE/dM = 1 / (1 - e cos E), dE/de = sin E / (1 - e cos E).
    const denom = 1 - 0.5 * Math.cos(E);
    expect(r.gradients!.anomaly.M as number).toBeCloseTo(1 / denom, 10);
    expect(r.gradients!.anomaly.e as number).toBeCloseTo(Math.sin(E) / denom, 10);
  });

  it('a clause evaluated once per instance is evaluated anew by `with` when its inputs change', async () => {
    const [kepler] = await pair('kepler', KEPLER);
    const base = kepler({ e: 0.5, M: 1 });
    expect(base.requireViolations(null)).toEqual([]);
    expect(base.with({ e: 1.5 }).requireViolations(null)).toEqual([{ clause: '0 <= e && e < 1', at: '7:3' }]);
    expect(base.with({ M: 3 }).solve().status).toBe('converged');
    expect(base.with({ e: 1.5 }).with({ e: 0.9 }).solve().status).toBe('converged');
    // The base is unchanged.
    expect(base.requireViolations(null)).toEqual([]);
  });

  it('a DEQ with opnorm(W) = 1.3 against `require opnorm(W) <= 0.9` is assumption-failed; with 0.8 it is certified as before', async () => {
    const [deq, bare] = await pair('deq', DEQ);
    // W = diag(w, -0.4): opnorm(W) = |w| exactly.
    expectFailed(deq(deqInputs(1.3)).solve(), 'opnorm(W) <= 0.9', '10:3', 'for these inputs');
    const ok = deq(deqInputs(0.8)).solve({ jacobian: true });
    expectSameAs(ok, bare(deqInputs(0.8)).solve({ jacobian: true }));
    expect(ok.status).toBe('converged');
    expect(ok.certificate.verdict).toBe('certified');
    expect(ok.gradients).toBeDefined();
  });

  it('a vector clause holds when every entry does (samples/weighted_lasso.impl: `require lambdas >= 0`)', async () => {
    const WLasso = await generatedClass('samples/weighted_lasso.impl');
    const X = [[1, 0.2], [0.3, 1], [0.5, -0.4]];
    const data = { X, y: [1, -1, 0.5], Xv: X, yv: [0.5, 0, 1] };
    const bad = (new WLasso({ ...data, lambdas: [0.1, -0.01] }) as unknown as Solver).solve();
    expectFailed(bad, 'lambdas >= 0', '16:3', 'for these inputs');
    const good = (new WLasso({ ...data, lambdas: [0.1, 0] }) as unknown as Solver).solve();
    expect(good.status).toBe('converged');
    expect(good.gradients).toBeDefined();
  });
});

describe('require: a clause on the unknowns, checked at the solution', () => {
  it('|E| <= 10 with a = 40: E = 40.27 solves F, and the clause fails there, at 5:3', async () => {
    const [bounded, bare] = await pair('bounded', BOUNDED);
    const r = bounded({ a: 40 }).solve({ jacobian: true });
    expectFailed(r, 'abs(E) <= 10', '5:3', 'at the solution');
    // The solution is reported (the solve ran): E - 0.5 sin E = 40.
    const E = r.solution.E as number;
    expect(Math.abs(E - 0.5 * Math.sin(E) - 40)).toBeLessThan(1e-9);
    expect(E).toBeCloseTo(40.27, 2);
    expect(r.method).not.toBe('none');
    expect(r.outputs.e).toBe(E);
    // Without the clause the same solve is certified with derivatives.
    const free = bare({ a: 40 }).solve();
    expect(free.status).toBe('converged');
    expect(free.solution).toEqual(r.solution);
    expect(free.gradients).toBeDefined();
  });

  it('|E| <= 10 with a = 1 holds: the same result as without the clause', async () => {
    const [bounded, bare] = await pair('bounded', BOUNDED);
    const r = bounded({ a: 1 }).solve({ jacobian: true });
    expectSameAs(r, bare({ a: 1 }).solve({ jacobian: true }));
    expect(r.status).toBe('converged');
    expect(r.certificate.verdict).toBe('certified');
    // dE/da = 1 / (1 - 0.5 cos E).
    const E = r.solution.E as number;
    expect(r.gradients!.e.a as number).toBeCloseTo(1 / (1 - 0.5 * Math.cos(E)), 10);
  });

  it('a clause on the unknowns is not checked at an iterate that is no solution', async () => {
    const [bounded] = await pair('bounded', BOUNDED);
    const r = bounded({ a: 40 }).solve({ maxIter: 1, method: 'newton' });
    expect(r.status).toBe('max-iterations');
    expect(r.failedRequires).toBeUndefined();
  });

  it('the generated check type-checks under strict TypeScript (clauses on the inputs, on the unknowns, both)', () => {
    // The samples' modules are type-checked in test/codegen; none of them has a clause on the unknowns.
    mkdirSync('.build', { recursive: true });
    const dir = mkdtempSync('.build/requires-typecheck-');
    try {
      for (const [file, source] of [['kepler.impl', KEPLER], ['bounded.impl', BOUNDED], ['deq.impl', DEQ], ['two.impl', TWO]]) {
        const m = emitModule(analyzeFile(file, source).analyses[0], file);
        expect(m.text).toContain('requireViolations(y: Float64Array | null)');
        writeFileSync(join(dir, m.fileName), m.text);
      }
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['./*.ts'] }));
      const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', dir], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every failing clause is listed, in declaration order; a clause that holds is not', async () => {
    const Two = await generatedClass('two.impl', undefined, TWO);
    const make = (x: object) => new Two(x as Record<string, unknown>) as unknown as Solver;
    const early = make({ a: 2, c: 1 }).solve();
    // Before the solve only the inputs' clauses are known.
    expect(early.failedRequires).toEqual([{ clause: 'c < 0', at: '8:3' }]);
    const late = make({ a: 2, c: -1 }).solve();
    expect(late.failedRequires).toEqual([{ clause: 'abs(E) <= 1', at: '7:3' }]);
    const both = make({ a: -2, c: 1 });
    expect(both.requireViolations(null)).toEqual([{ clause: 'a > 0', at: '6:3' }, { clause: 'c < 0', at: '8:3' }]);
    const r = both.solve();
    expect(r.certificate.detail).toContain('`require a > 0` (at 6:3) and `require c < 0` (at 8:3) do not hold for these inputs');
    // With y, every clause: those on the inputs and those at y.
    expect(both.requireViolations(Float64Array.of(-2))).toEqual([{ clause: 'a > 0', at: '6:3' }, { clause: 'abs(E) <= 1', at: '7:3' }, { clause: 'c < 0', at: '8:3' }]);
    expect(make({ a: 0.5, c: -1 }).solve().status).toBe('converged');
  });
});

describe('the batched training step checks `require` too', () => {
  it('a sample whose clause fails adds no gradient and says why', async () => {
    const { batchGradient } = await import('../../src/runtime/index.ts');
    const { compileModel } = await import('../../src/compile-model.ts');
    const Kepler = await compileModel('k.impl', undefined, `model K {
  param e: real
  param M: real
  unknown E: real = 0
  require 0 <= e < 1
  solve E - e * sin(E) - M = 0
  output o = E
}
`);
    const make = (inputs: Record<string, unknown>) => new Kepler(inputs) as never;
    const r = batchGradient(make, { M: 1 }, [{ e: 0.5 }, { e: 1.5 }, { e: 0.2 }], { output: 0 });
    expect(r.samples.map((s) => s.status)).toEqual(['certified', 'assumption-failed', 'certified']);
    expect(r.contributing).toBe(2);
    // The sum is the two good samples' dE/dM = 1 / (1 - e cos E) (the gradient layout: e, M).
    const dEdM = r.samples.filter((s) => s.status === 'certified').map((s, i) => 1 / (1 - [0.5, 0.2][i] * Math.cos(s.y[0])));
    expect(r.gradientSum[1]).toBeCloseTo(dEdM[0] + dEdM[1], 10);
  });
});
