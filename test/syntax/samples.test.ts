// Every shipped sample, and the four models of LANGUAGE.md "By example" (copied verbatim
// into test/fixtures/language-examples.impl), parse and check with no diagnostic at all.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { renderDiagnostics } from '../helpers/render.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const implFiles = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.impl'))
    .sort()
    .map((f) => `${dir}/${f}`);

const samples = [...implFiles('samples'), ...implFiles('samples/pathological')];

/** Model names as written in the text: `model Name {`, outside comments. */
function declaredModelNames(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return [...code.matchAll(/\bmodel\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{/g)].map((m) => m[1]);
}

function expectClean(file: string) {
  const text = readFileSync(join(root, file), 'utf8');
  const result = frontEnd(file, text);
  // The rendered text makes a failure readable.
  expect(renderDiagnostics(result.diagnostics, result.source), `${file} diagnostics`).toBe('');
  expect(result.diagnostics).toEqual([]);
  expect(result.program).not.toBeNull();
  const names = declaredModelNames(text);
  expect(names.length).toBeGreaterThan(0);
  expect(result.program!.models.map((m) => m.name.name)).toEqual(names);
  // Without errors every model is passed on to the later stages.
  expect(result.models.map((m) => m.model.name.name)).toEqual(names);
  return result;
}

describe('samples', () => {
  it('finds the samples', () => {
    expect(samples.length).toBeGreaterThanOrEqual(10);
    expect(samples).toContain('samples/lasso.impl');
    expect(samples).toContain('samples/pathological/abs_kink.impl');
  });

  it.each(samples)('%s parses and checks with zero diagnostics', (file) => {
    expectClean(file);
  });
});

describe('LANGUAGE.md "By example"', () => {
  const fixture = relative(root, join(root, 'test/fixtures/language-examples.impl'));

  it('the four example models check clean', () => {
    const result = expectClean(fixture);
    expect(result.program!.models.map((m) => m.name.name)).toEqual(['Lasso', 'Deq', 'Kink', 'SimplexQP']);
  });

  it('the checked models have the declared inputs, unknowns and equations', () => {
    const result = frontEnd(fixture, readFileSync(join(root, fixture), 'utf8'));
    const byName = new Map(result.models.map((m) => [m.model.name.name, m]));
    const lasso = byName.get('Lasso')!;
    expect(lasso.dims.map((s) => s.name)).toEqual(['n', 'p', 'm']);
    expect(lasso.data.map((s) => s.name)).toEqual(['X', 'y', 'Xv', 'yv']);
    expect(lasso.params.map((s) => s.name)).toEqual(['lambda']);
    expect(lasso.unknowns.map((s) => s.name)).toEqual(['beta']);
    expect(lasso.unknowns[0].type).toEqual({ kind: 'real', shape: ['p'] });
    expect([...lasso.fixpoints.keys()]).toEqual(['beta']);
    expect(lasso.outputs.map((s) => s.name)).toEqual(['val']);
    const kink = byName.get('Kink')!;
    expect(kink.equations).toHaveLength(1);
    expect(kink.fixpoints.size).toBe(0);
    const qp = byName.get('SimplexQP')!;
    expect(qp.requires).toHaveLength(1);
    expect(qp.lets.map((s) => s.name)).toEqual(['g']);
    expect(byName.get('Deq')!.params.map((s) => s.name)).toEqual(['W', 'U', 'b']);
  });
});
