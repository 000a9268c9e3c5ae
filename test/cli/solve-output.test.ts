// What `implc solve` prints when a number is not finite, and its exit code (in process).
import { describe, expect, it } from 'vitest';
import { toJsonText } from '../../src/cli/json.ts';
import { implcInProcess as implc, scratch, STACK_LINE } from './in-process.ts';

const { file } = scratch('implc-solve-output-');

const SQUARE = file('square.impl', 'model Square {\n  param x: real\n  unknown y: real\n  solve y - x = 0\n  output val = y * y\n}\n');
const PROTO = file('proto.impl', 'model P {\n  param x: real\n  unknown y: real\n  solve y - x = 0\n  output __proto__ = y * 2\n}\n');
const LASSO = 'samples/lasso.impl';

/** Every `null` in the JSON text, with its key: numbers must never be written as null. */
const nulls = (text: string) => [...text.matchAll(/"([^"]*)": null/g)].map((m) => m[1]).filter((k) => k !== 'condition' && k !== 'errorBound');

describe('non-finite numbers in the result', () => {
  it('an output that overflows at a finite solution: "Infinity", not null, and exit 1', async () => {
    const r = await implc(['solve', SQUARE, '--input', file('big.json', '{"x": 1e200}')]);
    expect(r.code).toBe(1);
    expect(nulls(r.stdout)).toEqual([]);
    const out = JSON.parse(r.stdout);
    expect(out.outputs.val).toBe('Infinity');
    expect(out.solution.y).toBe(1e200);
    expect(r.stderr).toMatch(/model Square: non-finite numbers in the result \(written as strings\): .*outputs\.val/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('and with --jacobian, which cannot be given: exit 1 saying so', async () => {
    const r = await implc(['solve', SQUARE, '--input', file('big2.json', '{"x": 1e200}'), '--jacobian']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the Jacobian was requested but is unavailable/);
    expect(nulls(r.stdout)).toEqual([]);
  });

  it('the lasso with validation data of 1e308 (the issue\'s case): no null, exit 1', async () => {
    const inputs = { X: [[1, 0], [0, 1], [1, 1]], y: [1, 2, 3], Xv: [[1e308, 1e308]], yv: [1], lambda: 0.1 };
    const r = await implc(['solve', LASSO, '--input', file('lasso-big.json', JSON.stringify(inputs))]);
    expect(r.code).toBe(1);
    expect(nulls(r.stdout)).toEqual([]);
    expect(JSON.parse(r.stdout).outputs.val).toBe('Infinity');
  });

  it('an all-zero X (step = 1 / opnorm(X)^2 is Infinity): exit 2 naming the let and its place', async () => {
    const inputs = { X: [[0, 0], [0, 0]], y: [1, 2], Xv: [[1, 1]], yv: [1], lambda: 0.1 };
    const r = await implc(['solve', LASSO, '--input', file('lasso-zero.json', JSON.stringify(inputs)), '--jacobian']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // The hoisted value is computed on first use, inside the solve, and named there.
    expect(r.stderr).toMatch(/^error: invalid input for model Lasso \[E0901\]: `step` \(let at 10:14\) is not finite for these inputs: it is Infinity/);
  });

  it('a finite result with the Jacobian: exit 0 and nothing on stderr', async () => {
    const r = await implc(['solve', SQUARE, '--input', file('three.json', '{"x": 3}'), '--jacobian']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outputs: { val: 9 }, jacobian: { y: { x: 1 } }, gradients: { val: { x: 6 } } });
  });

  it('an output named __proto__ is in the JSON', async () => {
    const r = await implc(['solve', PROTO, '--input', file('one.json', '{"x": 1}')]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out.outputs)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(out.outputs, '__proto__')?.value).toBe(2);
  });
});

describe('toJsonText', () => {
  it('writes Infinity, -Infinity and NaN as strings and lists their paths', () => {
    const json = toJsonText({ residual: Infinity, outputs: { a: -Infinity, b: 1 }, solution: { y: [[1, NaN]] }, ok: null });
    expect(JSON.parse(json.text)).toEqual({ residual: 'Infinity', outputs: { a: '-Infinity', b: 1 }, solution: { y: [[1, 'NaN']] }, ok: null });
    expect(json.nonFinite).toEqual(['residual', 'outputs.a', 'solution.y[0][1]']);
  });

  it('keeps own keys named __proto__ or constructor, with or without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare['__proto__'] = 1;
    bare['constructor'] = Infinity;
    const plain = {};
    Object.defineProperty(plain, '__proto__', { value: [2], enumerable: true });
    const json = toJsonText({ bare, plain });
    expect(json.text).toContain('"__proto__": 1');
    expect(json.text).toContain('"constructor": "Infinity"');
    expect(json.nonFinite).toEqual(['bare.constructor']);
    const back = JSON.parse(json.text);
    expect(Object.getOwnPropertyDescriptor(back.plain, '__proto__')?.value).toEqual([2]);
  });

  it('a finite value is JSON.stringify\'s text', () => {
    const value = { a: [1, -0, 1e-300, 1.7976931348623157e308], b: 'x', c: { d: true } };
    expect(toJsonText(value)).toEqual({ text: JSON.stringify(value, null, 2), nonFinite: [] });
  });
});
