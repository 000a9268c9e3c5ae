/**
 * Issue 15: a division whose divisor moves with the unknowns and may be 0 there (its interval
 * bound contains 0) is warned about at compile time (W0405), with the divisor's source text
 * and span; a divisor that is bounded away from 0, or that depends on data alone, is not.
 */
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/diagnostics/catalog.ts';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.ts';
import { analyzeFile } from '../../src/pipeline.ts';

/** A model whose line 7 is `solve <equation> = 0` (columns counted from there). */
function model(equation: string, extra = ''): string {
  return `model G {\n  dim n\n  data d: real[n]\n  data s: real\n  param x: real[n]\n  unknown v: real[n]\n  solve ${equation} = 0\n${extra}}\n`;
}

function w0405(text: string): Diagnostic[] {
  const r = analyzeFile('g.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.diagnostics.filter((d) => d.code === 'W0405');
}

/** 1-based column of `needle` on line 7 (`  solve ` is 8 characters). */
const column = (equation: string, needle: string) => 9 + equation.indexOf(needle);

describe('W0405: division by a quantity that may be 0 on the unknowns', () => {
  it('is a warning of the classes group', () => {
    expect(CATALOG.W0405.severity).toBe('warning');
    expect(CATALOG.W0405.group).toBe('classes');
    expect(CATALOG.W0405.title).toMatch(/division/);
  });

  it('v / norm2(v): warned at the span of norm2(v), with its text and a fix', () => {
    const eq = 'v - x + 0.1 * v / norm2(v)';
    const ws = w0405(model(eq));
    expect(ws).toHaveLength(1);
    const [w] = ws;
    expect(w.severity).toBe('warning');
    expect(w.message).toContain('`norm2(v)`');
    expect(w.span.file).toBe('g.impl');
    expect(w.span.start.line).toBe(7);
    expect(w.span.start.column).toBe(column(eq, 'norm2(v)'));
    expect(w.span.end.line).toBe(7);
    expect(w.span.end.column).toBe(column(eq, 'norm2(v)') + 'norm2(v)'.length);
    // norm2 >= 0: the bound [0, inf] is named, and the help clamps it or asks for a require.
    expect(w.label).toContain('[0, inf]');
    expect(w.help).toContain('max(norm2(v), eps)');
    expect(w.help).toContain('require norm2(v) > 0');
  });

  it('x / y with y an unknown of unknown sign: warned, and the help asks for a sign', () => {
    const text = 'model Q {\n  param x: real\n  unknown y: real\n  solve y - 1 - x / y = 0\n}\n';
    const ws = w0405(text);
    expect(ws).toHaveLength(1);
    expect(ws[0].message).toContain('`y`');
    // An unknown's node carries its declaration's span: the division is marked instead.
    // `  solve y - 1 - ` is 16 characters: `x / y` spans columns 17 to 22 (end exclusive).
    expect(ws[0].span.start).toMatchObject({ line: 4, column: 17 });
    expect(ws[0].span.end).toMatchObject({ line: 4, column: 22 });
    expect(ws[0].label).toContain('[-inf, inf]');
    expect(ws[0].help).toContain('require y > 0');
  });

  it('elementwise division ./ is a division too', () => {
    const eq = 'v - x + 0.1 * v ./ (v .* v)';
    const ws = w0405(model(eq));
    expect(ws).toHaveLength(1);
    // The span of the parenthesized divisor is its expression's, inside the parentheses.
    expect(ws[0].span.start.column).toBe(column(eq, 'v .* v)'));
  });

  it('not for a divisor bounded away from 0: v / (1 + norm2(v)), v .* v + 0.5, a stated require', () => {
    expect(w0405(model('v - x + 0.1 * v / (1 + norm2(v))'))).toEqual([]);
    // exp(v) > 0 in exact arithmetic, but its bound is [0, inf]: in f64 it underflows to 0
    // below v = -745, so the warning stands; 1 + exp(v) is clear.
    expect(w0405(model('v - x + 0.1 * v ./ exp(v)'))).toHaveLength(1);
    expect(w0405(model('v - x + 0.1 * v ./ (1 + exp(v))'))).toEqual([]);
    expect(w0405(model('v - x + 0.1 * v ./ (v .* v + 0.5)'))).toEqual([]);
    // A require on the unknowns is a fact (checked at the solution by the generated module).
    expect(w0405(model('v - x + 0.1 * v / norm2(v)', '  require norm2(v) > 0\n'))).toEqual([]);
    expect(w0405(model('v - x + 0.1 * v / norm2(v)', '  require norm2(v) >= 0\n'))).toHaveLength(1);
  });

  it('not for a data-only divisor, nor for a divisor of the parameters alone', () => {
    expect(w0405(model('v - x / s'))).toEqual([]);
    expect(w0405(model('v - x / norm2(d)'))).toEqual([]);
    expect(w0405(model('v - x ./ d'))).toEqual([]);
    expect(w0405(model('v - d / norm2(x)'))).toEqual([]);
  });

  it('one warning per division, in source order, and the model still compiles', () => {
    const eq = 'v - x + 0.1 * v / norm2(v) + 0.1 * v / sum(v)';
    const r = analyzeFile('g.impl', model(eq));
    const ws = r.diagnostics.filter((d) => d.code === 'W0405');
    expect(ws.map((w) => w.span.start.column)).toEqual([column(eq, 'norm2(v)'), column(eq, 'sum(v)')]);
    expect(r.analyses).toHaveLength(1);
  });
});
