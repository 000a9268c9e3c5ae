// The command line in process (runCli): option values, model and input files that are not
// what they should be. Every one exits 2 with a message naming it, and never a stack trace.
import { execFileSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonDepth } from '../../src/cli/solve.ts';
import { MAX_RELATED_LABELS } from '../../src/diagnostics/render.ts';
import { implcInProcess as implc, scratch, STACK_LINE } from './in-process.ts';

const { dir, file } = scratch('implc-options-');

/** An equation model (no fixpoint map) and a fixpoint model, with good inputs. */
const EQUATION = file('kink.impl', 'model Kink {\n  param x: real\n  unknown y: real\n  solve y - 0.5 * abs(y) - x = 0\n}\n');
const FIXPOINT = file('fix.impl', 'model Fix {\n  param x: real\n  unknown y: real = 0\n  fixpoint y = 0.5 * y + x\n  output val = y * y\n}\n');
const X1 = file('x1.json', '{"x": 1}');

const usage = async (args: string[], ...mentions: (string | RegExp)[]) => {
  const r = await implc(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(STACK_LINE);
  for (const m of mentions) expect(r.stderr).toMatch(typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
  return r;
};

describe('solve options', () => {
  it.each(['1.5', '0', '-1', 'abc', '1e3', '0x10', '', ' 5', '2000000', 'Infinity'])('--max-iter %j: exit 2 naming the option and the value', async (value) => {
    await usage(['solve', FIXPOINT, '--input', X1, '--max-iter', value], '--max-iter', `'${value}'`, 'whole number');
  });

  it.each(['0', '-1e-8', 'inf', 'Infinity', 'NaN', '1e400', '0x1p-3', 'abc', ''])('--tol %j: exit 2 naming the option and the value', async (value) => {
    await usage(['solve', FIXPOINT, '--input', X1, '--tol', value], '--tol', `'${value}'`, 'positive finite number');
  });

  it('good values pass', async () => {
    const r = await implc(['solve', FIXPOINT, '--input', X1, '--max-iter', '500', '--tol', '1e-12', '--method', 'fixed-point']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ model: 'Fix', status: 'converged', method: 'fixed-point' });
    expect(out.solution.y).toBeCloseTo(2, 10);
  });

  it.each(['fixed-point', 'anderson'])('--method %s on an equation model: exit 2, it needs a fixpoint model', async (method) => {
    await usage(['solve', EQUATION, '--input', X1, '--method', method], `--method ${method}`, 'fixpoint model', '`Kink`');
  });

  it('--method newton on the equation model works', async () => {
    const r = await implc(['solve', EQUATION, '--input', X1, '--method', 'newton']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).solution.y).toBeCloseTo(2, 12);
  });

  it('an unknown option, a bad --method, a missing --input, an unknown --model', async () => {
    await usage(['solve', FIXPOINT, '--input', X1, '--bogus'], "unknown option '--bogus'");
    await usage(['solve', FIXPOINT, '--input', X1, '--method', 'bisect'], '--method', 'bisect');
    await usage(['solve', FIXPOINT], "required option '--input <file>'");
    await usage(['solve', FIXPOINT, '--input', X1, '--model', 'Nope'], 'no model `Nope`', '`Fix`');
    await usage(['explain', FIXPOINT, '--model', 'Nope'], 'no model `Nope`');
  });
});

describe('solve inputs', () => {
  const fifo = join(dir, 'fifo.json');
  execFileSync('mkfifo', [fifo]);

  it.each([
    ['a missing file', join(dir, 'none.json'), /cannot read input file `.*none\.json`: no such file/],
    ['a directory', dir, /cannot read input file `.*`: it is a directory/],
    ['a FIFO (no hang)', fifo, /`.*fifo\.json`: not a regular file/],
    ['/dev/zero (no hang)', '/dev/zero', /`\/dev\/zero`: not a regular file/],
    ['text that is not JSON', file('bad.json', '{ x: '), /cannot read inputs from `.*bad\.json`: not JSON/],
    ['JSON that is not an object', file('arr.json', '[1]'), /`.*arr\.json`: it holds an array, not one JSON object/],
    ['null', file('null.json', 'null'), /it holds null/],
    ['a number', file('num.json', '3'), /it holds a number/],
    ['bytes that are not UTF-8', file('latin1.json', Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])), /`.*latin1\.json`: not UTF-8 text/],
    ['100,000 nested arrays', file('deep.json', `{"x": ${'['.repeat(100_000)}1${']'.repeat(100_000)}}`), /`.*deep\.json`: arrays and objects nest 100001 deep; at most 64/],
    ['a name with a newline, printed escaped', join(dir, 'a\nb.json'), /`.*a\\u000ab\.json`/],
  ])('%s: exit 2 naming the file', async (_what, input, message) => {
    await usage(['solve', FIXPOINT, '--input', input], message);
  });

  it.each([
    ['an unknown name', '{"x": 1, "z": 2}', /invalid input for model Fix \[E0901\]: .*`z`/],
    ['a missing input', '{}', /invalid input for model Fix \[E0901\]: .*`x`/],
    ['a string', '{"x": "1"}', /invalid input for model Fix \[E0901\]/],
    ['an overflowing number', '{"x": 1e999}', /invalid input for model Fix \[E0901\]: .*Infinity/],
    ['nesting under the limit but not the shape', `{"x": ${'['.repeat(30)}1${']'.repeat(30)}}`, /invalid input for model Fix \[E0901\]/],
    ['a __proto__ key', '{"x": 1, "__proto__": {"x": 2}}', /invalid input for model Fix \[E0901\]: .*__proto__/],
  ])('%s: exit 2, the runtime\'s typed error', async (_what, json, message) => {
    await usage(['solve', FIXPOINT, '--input', file(`in-${Math.random().toString(36).slice(2)}.json`, json)], message);
  });

  it('a byte order mark before the JSON is accepted', async () => {
    const r = await implc(['solve', FIXPOINT, '--input', file('bom.json', '\ufeff{"x": 1}')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('jsonDepth counts brackets outside strings only', () => {
    expect(jsonDepth('{}')).toBe(1);
    expect(jsonDepth('{"a": [[1], [2, [3]]]}')).toBe(4);
    expect(jsonDepth('{"[[[": "\\"[[[", "b": [1]}')).toBe(2);
    expect(jsonDepth('3')).toBe(0);
  });
});

describe('model files that are not model files', () => {
  const fifo = join(dir, 'fifo.impl');
  execFileSync('mkfifo', [fifo]);
  const huge = join(dir, 'huge.impl');
  writeFileSync(huge, '');
  truncateSync(huge, 512 * 1024 + 1);
  mkdirSync(join(dir, 'folder.impl'));

  it.each([
    ['a directory', join(dir, 'folder.impl'), /it is a directory/],
    ['a FIFO', fifo, /not a regular file/],
    ['/dev/zero', '/dev/zero', /not a regular file/],
    ['a file over 512 KiB', huge, /524289 bytes, over the limit of 524288/],
    ['a file that is not UTF-8', file('latin1.impl', Buffer.from('model M\xe9 {}\n', 'latin1')), /not UTF-8 text/],
  ])('check, explain, build, solve on %s: exit 2 naming it, at once', async (_what, path, message) => {
    for (const args of [['check', path], ['explain', path], ['build', path, '-o', join(dir, 'out')], ['solve', path, '--input', X1]]) {
      const started = performance.now();
      const r = await usage(args, `cannot read model file \`${path}\``, message);
      // Not a speed claim: a FIFO or /dev/zero read never returned before; in process this takes ms.
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('error')).length).toBe(1);
    }
  });
});

describe('an exception no command expected', () => {
  it('is one line on stderr and exit 70, without a stack trace', async () => {
    let stderr = '';
    const { runCli } = await import('../../src/cli/main.ts');
    const code = await runCli(['check', '--format', 'json', EQUATION], {
      stdout: {
        write: () => {
          throw new TypeError('the disk is on fire');
        },
      },
      stderr: { write: (s: string) => (stderr += s) },
    });
    expect(code).toBe(70);
    expect(stderr).toMatch(/^error: internal error: TypeError: the disk is on fire\n.*report/);
    expect(stderr).not.toMatch(STACK_LINE);
  });
});

describe('file names in diagnostics', () => {
  it('a model path with a newline and a terminal escape is printed as one escaped line', async () => {
    const sub = join(dir, 'a\nerror[E0000]: forged\u001b[31m');
    mkdirSync(sub, { recursive: true });
    const path = join(sub, 'bad.impl');
    writeFileSync(path, 'model M {\n  param x: real\n  unknown y: real\n  solve y - z * x = 0\n}\n');
    const r = await implc(['check', path]);
    expect(r.code).toBe(1);
    const arrows = r.stdout.split('\n').filter((l) => l.includes('-->'));
    expect(arrows).toEqual([' --> ' + join(dir, 'a\\u000aerror[E0000]: forged\\u001b[31m', 'bad.impl') + ':4:13']);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('error[')).map((l) => l.slice(0, 11))).toEqual(['error[E0101']);
  });
});

describe('diagnostics with many related places', () => {
  it('draws at most MAX_RELATED_LABELS of them under the source and counts the rest; JSON keeps all', async () => {
    // 400 kinks on one line: drawing each label took rows per label, quadratic in the kinks.
    const terms = Array.from({ length: 400 }, (_, i) => `max(y, ${i}) .* max(-y, ${i})`).join(' + ');
    const path = file('many-kinks.impl', `model M {\n  param x: real\n  unknown y: real\n  solve ${terms} - x = 0\n}\n`);
    const text = await implc(['check', path]);
    const json = await implc(['check', path, '--format', 'json']);
    const warnings = JSON.parse(json.stdout).diagnostics.filter((d: { code: string }) => d.code.startsWith('W05'));
    expect(warnings).toHaveLength(1);
    const related = warnings[0].related.length;
    expect(related).toBe(800);
    expect(text.stdout).toContain(`= note: ${related - MAX_RELATED_LABELS} more related places not shown (\`--format json\` lists them all)`);
    expect(text.stdout.length).toBeLessThan(200_000);
  });
});
