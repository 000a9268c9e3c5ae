// `implc solve`: one run as a subprocess, exactly as users run it; the others in process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { implcInProcess, STACK_LINE } from './in-process.ts';

mkdirSync('.build', { recursive: true });
const dir = mkdtempSync('.build/solve-cli-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inputFile(inputs: unknown): string {
  const input = join(dir, `in-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(input, typeof inputs === 'string' ? inputs : JSON.stringify(inputs));
  return input;
}

async function solve(model: string, inputs: unknown, ...flags: string[]) {
  const r = await implcInProcess(['solve', model, '--input', inputFile(inputs), ...flags]);
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

const deqInputs = {
  W: [[0.1, 0.2], [0.0, -0.3]],
  U: [[1, 0, 0.5], [0.2, -1, 0]],
  b: [0.1, 0.2],
  u: [1, 2, 3],
};

describe('implc solve', () => {
  it('prints the JSON of LANGUAGE.md, with the Jacobian shaped [shape of U, shape of P] (subprocess)', () => {
    const r = spawnSync(process.execPath, ['bin/implc.js', 'solve', 'samples/deq.impl', '--input', inputFile(deqInputs), '--jacobian'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ model: 'Deq', status: 'converged' });
    expect(out.residual).toBeLessThan(1e-10);
    expect(out.certificate.verdict).toBe('certified');
    expect(out.solution.z).toHaveLength(2);
    expect(out.jacobian.z.W).toHaveLength(2);
    expect(out.jacobian.z.W[0]).toHaveLength(2);
    expect(out.jacobian.z.W[0][0]).toHaveLength(2);
    expect(out.jacobian.z.b[1]).toHaveLength(2);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown name', { ...deqInputs, V: 1 }, /`V` is not an input of model Deq/],
    ['a missing input', { W: deqInputs.W, U: deqInputs.U, b: deqInputs.b }, /missing input `u`/],
    ['a shape that contradicts the dims', { ...deqInputs, b: [1, 2, 3] }, /dim `h` is 2 .*shape \[2, 2\].* but 3 from b \(shape \[3\]/],
    ['a ragged matrix', { ...deqInputs, W: [[1, 2], [3]] }, /ragged/],
    ['a non-finite number', '{"W": [[0.1, 0.2], [0, -0.3]], "U": [[1, 0, 0.5], [0.2, -1, 0]], "b": [1e999, 0.2], "u": [1, 2, 3]}', /`b`\[0\] is Infinity, not a finite number/],
    ['text that is not JSON', '{ W: ', /cannot read inputs/],
  ];
  for (const [what, inputs, message] of bad) {
    it(`rejects ${what} with exit code 2 and a clear message`, async () => {
      const r = await solve('samples/deq.impl', inputs);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_LINE);
    });
  }

  it('a violated solution exits nonzero and prints no derivatives', async () => {
    const r = await solve('samples/pathological/cubic.impl', { x: 0 }, '--jacobian');
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.certificate.verdict).toBe('violated');
    expect(out.jacobian).toBeUndefined();
    expect(out.gradients).toBeUndefined();
  });

  it('a model with errors exits 1, with the diagnostics on stderr and nothing on stdout', async () => {
    const bad = join(dir, 'bad.impl');
    writeFileSync(bad, 'model M {\n  param x: real\n  unknown y: real\n  solve y - xx = 0\n}\n');
    const input = join(dir, 'bad.json');
    writeFileSync(input, '{"x": 1}');
    const r = await implcInProcess(['solve', bad, '--input', input]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/E0101/);
  });

  it('asks for --model when a file has several', async () => {
    const r = await solve('samples/pathological/relu_unit_weight.impl', { x: 1 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--model/);
  });
});
