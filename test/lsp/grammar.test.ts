/**
 * The VS Code folder (editors/vscode): the TextMate grammar parses, highlights every keyword
 * and every user-callable primitive of the registry (so the list cannot drift from it), and
 * the extension's manifest points at files that exist. Lines are scoped by a small TextMate
 * reader written here (single-line `match` rules with captures, `begin`/`end` rules, includes,
 * earliest match first and the first rule on a tie, as TextMate picks), with the grammar's
 * regular expressions run by JavaScript: they use no Oniguruma-only syntax.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KEYWORDS } from '../../src/lsp/features.ts';
import { callableNames } from '../../src/primitives/registry.ts';
import { CONSTRUCTORS_WITHOUT_RECORD } from '../../src/check/check.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXTENSION = join(ROOT, 'editors/vscode');

interface Rule {
  include?: string;
  name?: string;
  match?: string;
  captures?: Record<string, { name: string }>;
  begin?: string;
  end?: string;
  beginCaptures?: Record<string, { name: string }>;
  patterns?: Rule[];
}
interface Grammar {
  scopeName: string;
  patterns: Rule[];
  repository: Record<string, Rule>;
}

const grammar = JSON.parse(readFileSync(join(EXTENSION, 'syntaxes/impl.tmLanguage.json'), 'utf8')) as Grammar;

/** The rules a list stands for, includes replaced by the repository's rules (recursively). */
function expand(rules: readonly Rule[]): Rule[] {
  return rules.flatMap((r) => {
    if (!r.include) return [r];
    const target = grammar.repository[r.include.replace(/^#/, '')];
    if (!target) throw new Error(`no repository rule ${r.include}`);
    return target.match || target.begin ? [target] : expand(target.patterns ?? []);
  });
}

/** The innermost scope of each character of each line (null: none). Block rules may span lines. */
function scopes(text: string): (string | null)[][] {
  const stack: { rule: Rule; end: RegExp }[] = [];
  return text.split('\n').map((line) => {
    const out: (string | null)[] = new Array(line.length).fill(null);
    const paint = (from: number, to: number, scope: string | undefined) => {
      if (scope) for (let i = from; i < to; i++) out[i] = scope;
    };
    const captures = (m: RegExpExecArray, caps: Rule['captures']) => {
      for (const [k, v] of Object.entries(caps ?? {})) {
        const at = m.indices?.[Number(k)];
        if (at) paint(at[0], at[1], v.name);
      }
    };
    let pos = 0;
    while (pos <= line.length) {
      const top = stack[stack.length - 1];
      const candidates: { rule: Rule | null; re: RegExp }[] = [];
      if (top) candidates.push({ rule: null, re: top.end });
      for (const r of expand(top ? top.rule.patterns ?? [] : grammar.patterns)) candidates.push({ rule: r, re: new RegExp((r.match ?? r.begin)!, 'dg') });
      let best: { rule: Rule | null; m: RegExpExecArray } | null = null;
      for (const c of candidates) {
        c.re.lastIndex = pos;
        const m = c.re.exec(line);
        if (m && (!best || m.index < best.m.index)) best = { rule: c.rule, m };
      }
      if (!best) {
        if (top) paint(pos, line.length, top.rule.name);
        break;
      }
      const { rule, m } = best;
      const endAt = m.index + m[0].length;
      if (top) paint(pos, m.index, top.rule.name);
      if (rule === null) {
        paint(m.index, endAt, top!.rule.name);
        stack.pop();
      } else if (rule.begin) {
        paint(m.index, endAt, rule.name);
        captures(m, rule.beginCaptures);
        stack.push({ rule, end: new RegExp(rule.end!, 'dg') });
      } else {
        paint(m.index, endAt, rule.name);
        captures(m, rule.captures);
      }
      pos = endAt > pos ? endAt : pos + 1;
    }
    return out;
  });
}

/** The scope of the `nth` occurrence of `word` in a one-line text (all its characters must agree). */
function scopeOf(line: string, word: string, nth = 0): string | null {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = line.indexOf(word, at + 1);
  if (at < 0) throw new Error(`no ${word} in ${line}`);
  const s = scopes(line)[0].slice(at, at + word.length);
  expect(new Set(s).size).toBe(1);
  return s[0];
}

/** The user-callable primitives and the two constructors the checker knows by name (src/check/check.ts). */
const FUNCTIONS = [...callableNames(), ...CONSTRUCTORS_WITHOUT_RECORD];

describe('the TextMate grammar for .impl', () => {
  it('is JSON with the scope the extension names', () => {
    expect(grammar.scopeName).toBe('source.impl');
    const manifest = JSON.parse(readFileSync(join(EXTENSION, 'package.json'), 'utf8'));
    expect(manifest.contributes.grammars).toEqual([{ language: 'impl', scopeName: 'source.impl', path: './syntaxes/impl.tmLanguage.json' }]);
    expect(manifest.contributes.languages[0]).toMatchObject({ id: 'impl', extensions: ['.impl'], configuration: './language-configuration.json' });
    const config = JSON.parse(readFileSync(join(EXTENSION, 'language-configuration.json'), 'utf8'));
    expect(config.comments).toEqual({ lineComment: '//', blockComment: ['/*', '*/'] });
    expect(config.brackets).toEqual(expect.arrayContaining([['{', '}'], ['[', ']'], ['(', ')']]));
    expect(manifest.dependencies['vscode-languageclient']).toBeDefined();
    expect(existsSync(join(EXTENSION, 'src/extension.ts'))).toBe(true);
    expect(manifest.main).toBe('./out/extension.js');
  });

  it('highlights every keyword as a keyword or a type', () => {
    const lines: Record<(typeof KEYWORDS)[number], string> = {
      model: 'model Lasso {',
      dim: '  dim n, m',
      data: '  data X: real[n, m]',
      param: '  param lambda: real',
      let: '  let step = 1 / opnorm(X)^2',
      unknown: '  unknown beta: real[m] = 0',
      fixpoint: '  fixpoint beta = relu(beta)',
      solve: '  solve { x = 1; y = 2 }',
      output: '  output loss = sumsq(beta)',
      require: '  require opnorm(W) < 1',
      cone: '  cone K = zero[p] * nonneg[q]',
      if: '  let a = if y > 0 then y else 0',
      then: '  let a = if y > 0 then y else 0',
      else: '  let a = if y > 0 then y else 0',
      real: '  param w: real[n]',
      index: '  data g: index[n]',
    };
    for (const k of KEYWORDS) expect(scopeOf(lines[k], k), k).toMatch(/^(keyword\.(declaration|control)|storage\.type)\./);
  });

  it('highlights every user-callable primitive of the registry when called, and lists no other', () => {
    expect(FUNCTIONS.length).toBeGreaterThan(40);
    for (const f of FUNCTIONS) expect(scopeOf(`  let v = ${f}(x, y) + 1`, f), f).toBe('support.function.builtin.impl');
    const listed = /\\b\(([^)]*)\)\\b\(\?=/.exec(grammar.repository.functions.match!)![1].split('|');
    expect(listed.sort()).toEqual([...FUNCTIONS].sort());
  });

  it('leaves a primitive name that is not called as a name, and reads the declaration', () => {
    expect(scopeOf('  let step = 1 / opnorm(X)^2', 'step')).toBe('variable.other.declaration.impl');
    expect(scopeOf('  fixpoint b = soft_threshold(b - step * g, step)', 'step')).toBeNull();
    expect(scopeOf('model Lasso {', 'Lasso')).toBe('entity.name.type.model.impl');
    expect(scopeOf('  cone K = zero[p] * nonneg[q]', 'nonneg')).toBe('support.type.cone-block.impl');
    expect(scopeOf('  let index = 2', 'index')).toBe('variable.other.declaration.impl');
  });

  it('reads comments and numbers', () => {
    expect(scopeOf('  let a = 2 // relu(a) is not called here', 'relu')).toBe('comment.line.double-slash.impl');
    const block = scopes('let a = 1 /* start\n relu(x) model\n end */ let b = 2');
    expect(new Set(block[1])).toEqual(new Set(['comment.block.impl']));
    expect(block[2].slice(' end */ '.length, ' end */ let'.length)).toEqual(['keyword.declaration.impl', 'keyword.declaration.impl', 'keyword.declaration.impl']);
    for (const n of ['1', '0.5', '1.5e-3', '.25', '2E+4']) expect(scopeOf(`  let a = ${n} * x`, n), n).toBe('constant.numeric.impl');
    expect(scopeOf('  let a = x2 * y', '2')).toBeNull();
  });
});
