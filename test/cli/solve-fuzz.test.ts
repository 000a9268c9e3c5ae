// A property of `implc solve` over bad option values and bad input JSON (in process): whatever
// comes in, the exit code is 0, 1 or 2, stderr has no stack trace, and stdout is empty or one
// JSON object in which no number was written as null.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { implcInProcess as implc, scratch, STACK_LINE } from './in-process.ts';

const { dir } = scratch('implc-solve-fuzz-');

const MODEL = join(dir, 'vec.impl');
writeFileSync(MODEL, 'model Vec {\n  dim n\n  param b: real[n]\n  param c: real\n  unknown y: real[n] = 0\n  fixpoint y = 0.5 * y + c * b\n  output val = 0.5 * sumsq(y)\n}\n');

/** Keys a careless or hostile input uses: the model's names, and the names of Object.prototype. */
const key = fc.constantFrom('b', 'c', 'n', 'y', 'val', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '');
const extreme = fc.constantFrom(1e308, -1e308, 1.7976931348623157e308, 5e-324, -0, 0, 1, -1, 1e-300);
const leaf = fc.oneof(extreme, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 4 }), fc.constant(null), fc.boolean());
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(extreme, { maxLength: 4 }),
    fc.array(fc.array(extreme, { maxLength: 3 }), { maxLength: 3 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 3 }),
  ),
})).v;

/** JSON text written by hand, so that a key `__proto__` is a key of the text (JSON.stringify drops it). */
const objectText = (entries: [string, unknown][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v) ?? 'null'}`).join(', ')}}`;
const good = (n: number, big: boolean) => [
  ['b', Array.from({ length: n }, (_, i) => (big ? 1e308 : i + 1))],
  // b huge, c modest: the solution is finite (y = 2 c b) and the output 0.5 |y|^2 overflows.
  ['c', 0.5],
] as [string, unknown][];

const inputText = fc.oneof(
  // Good inputs, possibly huge, with extra or replaced entries.
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.array(fc.tuple(key, value), { maxLength: 2 }))
      .map(([n, big, extra]) => objectText([...good(n, big), ...extra])),
    weight: 2,
  },
  { arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.boolean()).map(([n, big]) => objectText(good(n, big))), weight: 10 },
  // Arbitrary objects of the dangerous keys.
  fc.array(fc.tuple(key, value), { maxLength: 4 }).map(objectText),
  // Deep nesting under the input name, and text that is not JSON or not an object.
  fc.integer({ min: 1, max: 200 }).map((d) => `{"b": ${'['.repeat(d)}1${']'.repeat(d)}, "c": 1}`),
  fc.constantFrom('', '{', '[]', 'null', '"text"', '1e999', '{"b": [1, 2], "c": 1e999}', '{"b": [1, NaN], "c": 1}', '\ufeff{"b": [1], "c": 1}'),
);

/** An option value: mostly valid ones (so that most runs solve and print), then anything. */
const optionValue = (valid: string[]) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 12 },
    fc.constantFrom('1', '10', '1.5', '0', '-1', '-0', '1e308', '1e-308', '5e-324', 'NaN', 'Infinity', '0x10', '', ' ', '1_000', '999999999999999999999'),
    fc.integer({ min: -5, max: 5000 }).map(String),
    fc.double().map(String),
    fc.string({ maxLength: 5 }),
  );
const flags = fc.record(
  {
    maxIter: optionValue(['1', '3', '50', '1000']),
    tol: optionValue(['1e-3', '1e-8', '1e-12', '.5']),
    method: fc.constantFrom('auto', 'fixed-point', 'anderson', 'newton', 'newton', 'bogus'),
    jacobian: fc.boolean(),
  },
  { requiredKeys: [] },
);

/** Keys whose value may be null in the result: the certificate's estimates when there are none. */
const NULLABLE = new Set(['condition', 'errorBound']);
function nullsWhereNumbers(value: unknown, path = ''): string[] {
  if (value === null) return NULLABLE.has(path.split('.').at(-1) ?? '') ? [] : [path];
  if (typeof value !== 'object') return [];
  return Object.entries(value as object).flatMap(([k, v]) => nullsWhereNumbers(v, path ? `${path}.${k}` : k));
}

describe('implc solve, fuzzed options and inputs', () => {
  it('exits 0, 1 or 2, with no stack trace and no number as null', async () => {
    let run = 0;
    let printed = 0;
    let overflowed = 0;
    await fc.assert(
      fc.asyncProperty(inputText, flags, async (text, f) => {
        const input = join(dir, `in-${run++}.json`);
        writeFileSync(input, text);
        const args = ['solve', MODEL, '--input', input];
        if (f.maxIter !== undefined) args.push(`--max-iter=${f.maxIter}`);
        if (f.tol !== undefined) args.push(`--tol=${f.tol}`);
        if (f.method !== undefined) args.push('--method', f.method);
        if (f.jacobian) args.push('--jacobian');
        const r = await implc(args);
        expect([0, 1, 2], r.stderr).toContain(r.code);
        expect(r.stderr).not.toMatch(STACK_LINE);
        expect(r.stderr).not.toMatch(/internal error/);
        if (r.code === 2) {
          expect(r.stdout).toBe('');
          expect(r.stderr).toMatch(/^error: /);
        }
        if (r.stdout !== '') {
          printed++;
          if (r.code === 1 && r.stdout.includes('"Infinity"')) overflowed++;
          const out = JSON.parse(r.stdout) as Record<string, unknown>;
          expect(typeof out === 'object' && out !== null && !Array.isArray(out)).toBe(true);
          expect(nullsWhereNumbers(out)).toEqual([]);
          if (r.code === 0) {
            expect(out.status).toBe('converged');
            expect(r.stdout).not.toMatch(/"(-?Infinity|NaN)"/);
            if (f.jacobian) expect(out.jacobian).toBeDefined();
          }
        }
      }),
      { numRuns: 100 },
    );
    // The checks on printed results ran on a fair share of the runs, not only on usage errors.
    expect(printed).toBeGreaterThanOrEqual(25);
    // ... and on an output that overflows at a finite solution (1e308 entries), printed as "Infinity".
    expect(overflowed).toBeGreaterThanOrEqual(1);
  });
});
