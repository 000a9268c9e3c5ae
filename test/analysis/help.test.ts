// Help that helps (issue 13, build item 5): each W0501/W0502 `help` suggestion is applied to the
// model, as the text of the help says, and the verdict must change. The edits are read from the
// help itself (the backquoted code), so a help that names the wrong operator or the wrong
// unknown fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/pipeline.ts';

function analyzed(text: string): { verdict: string; help: string | undefined; code: string | undefined } {
  const r = analyzeFile('help.impl', text);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  expect(errors.map((d) => d.message)).toEqual([]);
  expect(r.analyses).toHaveLength(1);
  const d = r.diagnostics.find((x) => x.code === 'W0501' || x.code === 'W0502');
  return { verdict: r.analyses[0].certificate.verdict, help: d?.help, code: d?.code };
}

/** The first backquoted piece of code in a help text that matches `pattern`. */
function quoted(help: string, pattern: RegExp): string {
  const piece = [...help.matchAll(/`([^`]+)`/g)].map((m) => m[1]).find((c) => pattern.test(c));
  if (!piece) throw new Error(`no code matching ${pattern} in: ${help}`);
  return piece;
}

/** Adds a line after the residual line (the line holding `solve` or `fixpoint`). */
function addLine(text: string, line: string): string {
  return text.replace(/^(\s*)((?:solve|fixpoint) .*)$/m, (_m, indent: string, eq: string) => `${indent}${eq}\n${indent}${line}`);
}

const sample = (path: string) => readFileSync(path, 'utf8');

describe('W0501 help: applied, the model is no longer violated', () => {
  // What the changed model reaches: certified where B is a kink factor's range plus 2 (the
  // interval test), for y^3 + 2y (B = 3y^2 + 2 >= 2, an exact end), and for the `if` (its
  // switch proved continuous, B in [1, 3]).
  const scalarSolve: [string, string, string][] = [
    ['abs(y) - x', sample('samples/pathological/abs_kink.impl'), 'certified'],
    ['y^3 - x', sample('samples/pathological/cubic.impl'), 'certified'],
    ['relu(y) - relu(-y) - x', sample('samples/pathological/relu_identity.impl'), 'certified'],
    ['(if y > 0 then y else -y) - x', 'model IfAbs {\n  param x: real\n  unknown y: real\n  solve (if y > 0 then y else -y) - x = 0\n}\n', 'certified'],
  ];
  it.each(scalarSolve)('%s: add the term the help names to the residual', (_name, text, reached) => {
    const before = analyzed(text);
    expect(before).toMatchObject({ verdict: 'violated', code: 'W0501' });
    const term = quoted(before.help!, /\* y$/);
    const after = analyzed(text.replace(/(solve .*) = 0/, `$1 + ${term} = 0`));
    expect(after.verdict).toBe(reached);
    expect(after.code).not.toBe('W0501');
  });

  it('a fixpoint map (ReluUnitWeight): scale it as the help writes', () => {
    const text = sample('samples/pathological/relu_unit_weight.impl').replace(/\nmodel ReluWeightParam[\s\S]*$/, '\n');
    const before = analyzed(text);
    expect(before).toMatchObject({ verdict: 'violated', code: 'W0501' });
    const form = quoted(before.help!, /^fixpoint /);
    expect(form).toBe('fixpoint y = 0.9 * (...)');
    const after = analyzed(text.replace(/fixpoint y = (.*)$/m, (_m, map: string) => form.replace('...', map)));
    expect(after.verdict).toBe('certified');
  });
});

describe('W0502 help: applied, the model is certified', () => {
  it('a solve form whose kink factor is inside a product: fixpoint form and the named bound', () => {
    const text = `model C {
  dim n
  param W: real[n, n]
  param b: real[n]
  unknown y: real[n]
  solve y - W * relu(y) - b = 0
  output o = sum(y)
}
`;
    // B = I - W D reads the matrix W, whose values decide: no `violated` from a chosen W
    // (counterexample.ts), and no test applies to the `solve` form.
    const before = analyzed(text);
    expect(before).toMatchObject({ verdict: 'unverified', code: 'W0502' });
    expect(quoted(before.help!, /^fixpoint /)).toBe('fixpoint y = T(y)');
    const require = quoted(before.help!, /^require /);
    expect(require).toBe('require opnorm(W) <= 0.9');
    // The `require` alone does not do it: the contraction test reads bounds of a fixpoint map;
    // then the help names the rewrite alone.
    const bounded = analyzed(addLine(text, require));
    expect(bounded).toMatchObject({ verdict: 'unverified', code: 'W0502' });
    expect(bounded.help).toContain('the contraction test then reads the bound your `require` states');
    const after = analyzed(addLine(text.replace('solve y - W * relu(y) - b = 0', 'fixpoint y = W * relu(y) + b'), require));
    expect(after.verdict).toBe('certified');
  });

  it('a fixpoint map with another factor of the unknown: the map the help describes, and its bound', () => {
    const text = `model F {
  dim n
  param W: real[n, n]
  param b: real[n]
  unknown y: real[n]
  fixpoint y = relu(W * y + b) .* y
  output o = sum(y)
}
`;
    const before = analyzed(text);
    expect(before).toMatchObject({ verdict: 'unverified', code: 'W0502' });
    expect(quoted(before.help!, /^W \* y/)).toBe('W * y + ...');
    const require = quoted(before.help!, /^require /);
    expect(require).toBe('require opnorm(W) <= 0.9');
    const after = analyzed(addLine(text.replace('relu(W * y + b) .* y', 'relu(W * y + b)'), require));
    expect(after.verdict).toBe('certified');
  });

  it('several unknowns: fixpoint form per unknown and the named bound, certified by small gain', () => {
    const text = sample('test/golden/cases/cert_unverified_several_unknowns.impl');
    const before = analyzed(text);
    expect(before).toMatchObject({ verdict: 'unverified', code: 'W0502' });
    expect(quoted(before.help!, /^fixpoint /)).toBe('fixpoint u = T(...)');
    // Without its `require` too (B reads W, whose values decide).
    expect(analyzed(text.replace(/^\s*require .*\n/m, '')).verdict).toBe('unverified');
    const fixpoints = text.replace('solve u - W * relu(v) - b = 0', 'fixpoint u = W * relu(v) + b').replace('solve v - W * relu(u) - b = 0', 'fixpoint v = W * relu(u) + b');
    expect(analyzed(fixpoints).verdict).toBe('certified');
  });
});
