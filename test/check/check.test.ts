// The checker's contract with later stages, and its "did you mean" helper.
import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../src/check/suggest.ts';
import { frontEnd } from '../../src/compile.ts';

const kink = (name: string, body = 'solve y - 0.5 * abs(y) - x = 0') => `model ${name} {\n  param x: real\n  unknown y: real\n  ${body}\n}\n`;

describe('models passed on', () => {
  it('a model with an error is held back; the others of the file go on', () => {
    const r = frontEnd('m.impl', kink('Good') + kink('Bad', 'solve y - 0.5 * abss(y) - x = 0'));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['E0103']);
    expect(r.models.map((m) => m.model.name.name)).toEqual(['Good']);
  });

  it('warnings do not hold a model back', () => {
    const r = frontEnd('m.impl', 'model W {\n  param x: real\n  param unused: real\n  unknown y: real\n  solve y - x = 0\n}\n');
    expect(r.diagnostics.map((d) => d.code)).toEqual(['W0110']);
    expect(r.models).toHaveLength(1);
  });

  it('a syntax error anywhere in the file passes no model on', () => {
    const r = frontEnd('m.impl', kink('Good') + 'model Broken {\n  param x real\n}\n');
    expect(r.diagnostics.map((d) => d.code)).toContain('E0001');
    expect(r.program).not.toBeNull();
    expect(r.models).toEqual([]);
  });

  it('a file with only comments and blanks has no model and no diagnostic', () => {
    const r = frontEnd('m.impl', '// nothing yet\n/* later */\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.program?.models).toEqual([]);
  });

  it('the checked types of a model are recorded for every expression', () => {
    const r = frontEnd('m.impl', 'model T {\n  dim n, p\n  data X: real[n, p]\n  unknown b: real[p]\n  fixpoint b = relu(X\' * (X * b))\n}\n');
    expect(r.diagnostics).toEqual([]);
    const [m] = r.models;
    const types = [...m.types.values()].map((t) => `${t.kind}[${t.shape.join(',')}]`);
    expect(types).toContain('real[n]'); // X * b
    expect(types).toContain('real[p,n]'); // X'
    expect(m.fixpoints.get('b')).toBeDefined();
  });
});

describe('suggestions', () => {
  it('edit distance counts an adjacent transposition as one edit', () => {
    expect(editDistance('lambda', 'lamdba')).toBe(1);
    expect(editDistance('lamda', 'lambda')).toBe(1);
    expect(editDistance('soft_treshold', 'soft_threshold')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('suggests the closest name within a distance that grows with the length', () => {
    expect(closest('lamda', ['beta', 'lambda', 'X'])).toBe('lambda');
    expect(closest('soft_treshold', ['soft_threshold', 'sqrt'])).toBe('soft_threshold');
    expect(closest('cols', ['rows'])).toBeUndefined();
    expect(closest('x', ['x'])).toBeUndefined(); // never the name itself
  });
});
