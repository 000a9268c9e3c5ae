// Property test: mutated samples never crash the front end, and every diagnostic it reports
// has a catalog code and spans that lie inside the file with line/column matching offsets.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { CATALOG } from '../../src/diagnostics/catalog.ts';
import { renderSummary, renderText, toJson } from '../../src/diagnostics/render.ts';
import { spanProblems } from '../helpers/spans.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SEED = 20250611;

const files = [
  ...['samples', 'samples/pathological'].flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.impl'))
      .sort()
      .map((f) => `${dir}/${f}`),
  ),
  'test/fixtures/language-examples.impl',
];
const texts = files.map((f) => readFileSync(join(root, f), 'utf8'));

/** A rough lexer: enough to cut a sample into tokens, whitespace and comments included. */
const TOKEN =
  /\/\/[^\n]*|\/\*[\s\S]*?\*\/|\s+|[A-Za-z_][A-Za-z0-9_]*|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\.\*|\.\/|<=|>=|==|!=|&&|\|\||[\s\S]/g;
const tokenize = (text: string) => text.match(TOKEN) ?? [];
const samples = texts.map(tokenize);

type Mutation =
  | { kind: 'delete'; i: number }
  | { kind: 'duplicate'; i: number }
  | { kind: 'swap'; i: number; j: number }
  | { kind: 'insert'; i: number; s: string }
  | { kind: 'truncate'; at: number };

const junk = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: 'binary-ascii', maxLength: 6 }),
  fc.constantFrom('\0', '\u0000\u0000', 'é', 'λ', '日本', '😀', '\uD800', '\uDFFF', '\r', '\r\n', '\t', '\uFEFF', '\u2028'),
  fc.constantFrom('/*', '*/', '//', '{', '}', '(', ')', '[', ']', ',', ';', ':', '=', "'", '^', '-', '.', '1e999', '.5e', 'model', 'solve', 'if', 'then'),
);

const idx = fc.nat({ max: 10_000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), i: idx }),
  fc.record({ kind: fc.constant('duplicate' as const), i: idx }),
  fc.record({ kind: fc.constant('swap' as const), i: idx, j: idx }),
  fc.record({ kind: fc.constant('insert' as const), i: idx, s: junk }),
  fc.record({ kind: fc.constant('truncate' as const), at: idx }),
);

function mutate(tokens: readonly string[], mutations: readonly Mutation[]): string {
  let t = [...tokens];
  for (const m of mutations) {
    const n = t.length;
    switch (m.kind) {
      case 'delete':
        if (n) t.splice(m.i % n, 1);
        break;
      case 'duplicate':
        if (n) t.splice(m.i % n, 0, t[m.i % n]);
        break;
      case 'swap':
        if (n) [t[m.i % n], t[m.j % n]] = [t[m.j % n], t[m.i % n]];
        break;
      case 'insert':
        t.splice(m.i % (n + 1), 0, m.s);
        break;
      case 'truncate': {
        // Cut anywhere in the text, also inside a token.
        const text = t.join('');
        t = [text.slice(0, m.at % (text.length + 1))];
        break;
      }
    }
  }
  return t.join('');
}

/** Every invariant of the front end's result on `text`; throws with the first one broken. */
function checkInvariants(fileName: string, text: string): void {
  const result = frontEnd(fileName, text);
  const problems: string[] = [];
  for (const d of result.diagnostics) {
    const entry = (CATALOG as Record<string, { severity: string }>)[d.code];
    if (!entry) problems.push(`code ${d.code} is not in the catalog`);
    else if (entry.severity !== d.severity) problems.push(`${d.code}: severity ${d.severity}, catalog says ${entry.severity}`);
    if (typeof d.message !== 'string' || d.message.length === 0) problems.push(`${d.code}: empty message`);
    problems.push(...spanProblems(d.span, text, fileName, `${d.code} span`));
    d.related.forEach((r, i) => problems.push(...spanProblems(r.span, text, fileName, `${d.code} related[${i}]`)));
    // Rendering a diagnostic of any input must not throw either.
    renderText(d, result.source, { color: false });
    renderText(d, result.source, { color: true });
    JSON.stringify(toJson(d));
  }
  renderSummary(result.diagnostics, { color: false });
  for (let i = 1; i < result.diagnostics.length; i++) {
    if (result.diagnostics[i - 1].span.start.offset > result.diagnostics[i].span.start.offset) problems.push('diagnostics are not in source order');
  }
  if (result.diagnostics.some((d) => d.severity === 'error') && result.models.length > 0 && result.diagnostics.some((d) => d.code === 'E0001' || d.code === 'E0002')) {
    problems.push('a file with syntax errors passed models on');
  }
  if (problems.length) throw new Error(`${problems.join('\n')}\n--- input ---\n${JSON.stringify(text)}`);
}

describe('front end on mutated samples', () => {
  it('the lexer of this test round-trips every sample', () => {
    samples.forEach((tokens, i) => expect(tokens.join('')).toBe(texts[i]));
  });

  it('never throws; diagnostics have catalog codes and spans inside the file', () => {
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
        checkInvariants(files[which], mutate(samples[which], mutations));
      }),
      { seed: SEED, numRuns: 450 },
    );
  });

  it('holds on arbitrary text, binary included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'binary-ascii', maxLength: 80 })), (text) => {
        checkInvariants('random.impl', text);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it.each([
    ['empty', ''],
    ['only a NUL', '\0'],
    ['NUL inside a model', 'model M {\n  param x: real\0\n  unknown y: real\n  solve y - x = 0\n}\n'],
    ['non-ASCII name', 'model M {\n  param λ: real\n  unknown y: real\n  solve y - λ = 0\n}\n'],
    ['lone surrogate', 'model M { \uD800 }'],
    ['unclosed comment at the very end', 'model M { }\n/*'],
    ['only a line comment without newline', '// nothing'],
    // Nesting is kept moderate: about 100 levels overflow the parser's stack (reported as a bug).
    ['nested parentheses', `model M {\n  let e = ${'('.repeat(40)}1${')'.repeat(40)}\n}\n`],
    ['unbalanced nested parentheses', `model M {\n  let e = ${'('.repeat(40)}1\n}\n`],
    ['long unary chain', `model M {\n  let e = ${'-'.repeat(300)}1\n}\n`],
    ['many broken declarations', `model M {\n${'  let = \n'.repeat(60)}}\n`],
    ['CRLF endings', 'model M {\r\n  param x: real\r\n  unknown y: real\r\n  solve y - x == 0\r\n}\r\n'],
  ])('edge case: %s', (_name, text) => {
    checkInvariants('edge.impl', text);
  });
});
