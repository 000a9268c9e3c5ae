// The `implc` command line, run as a subprocess exactly as users run it.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { toJson } from '../../src/diagnostics/render.ts';
import { assertCheckJson, validateCheckJson, validateDiagnosticJson } from '../helpers/diagnostic-json.ts';
import { spanProblems } from '../helpers/spans.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin/implc.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

const samples = ['samples', 'samples/pathological'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.impl'))
    .sort()
    .map((f) => `${dir}/${f}`),
);
const ERRORS = 'test/fixtures/cli/errors.impl';
const WARNING_ONLY = 'test/fixtures/cli/unused-param.impl';
const MISSING = 'test/fixtures/cli/no-such-file.impl';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function implc(args: string[], cwd = root): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const parseJson = (run: Run): unknown => {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`stdout is not JSON:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
};

describe.concurrent('implc (subprocess)', () => {
  describe('help and version', () => {
    it.each([['--help'], ['-h']])('%s exits 0 with usage', async (flag) => {
      const r = await implc([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: implc');
      expect(r.stdout).toContain('check');
    });

    it('check --help describes the check options', async () => {
      const r = await implc(['check', '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('--format');
      expect(r.stdout).toContain('--deny-warnings');
    });

    it.each([['--version'], ['-V']])('%s exits 0 and prints the package version', async (flag) => {
      const r = await implc([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    });
  });

  describe('usage errors exit 2', () => {
    it('no arguments', async () => {
      const r = await implc([]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('Usage');
    });

    it('check without files', async () => {
      const r = await implc(['check']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/missing required argument/);
    });

    it('an unknown option', async () => {
      const r = await implc(['check', '--no-such-option', samples[0]]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--no-such-option');
    });

    it('an unknown command', async () => {
      const r = await implc(['frobnicate']);
      expect(r.code).toBe(2);
    });

    it('an invalid --format', async () => {
      const r = await implc(['check', '--format', 'xml', samples[0]]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('xml');
    });

    it('a missing file: a message on stderr naming it', async () => {
      const r = await implc(['check', MISSING]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(MISSING);
      expect(r.stderr).toMatch(/no such file/);
      expect(r.stdout.trim()).toBe('');
    });

    it('a missing file among good ones still exits 2', async () => {
      const r = await implc(['check', samples[0], MISSING, samples[1]]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(MISSING);
    });

    it('a directory is unreadable as a model file', async () => {
      const r = await implc(['check', 'samples']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('samples');
    });
  });

  describe('check, text output', () => {
    it('all samples: exit 0 and no output', async () => {
      const r = await implc(['check', ...samples]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('');
      expect(r.code).toBe(0);
    });

    it('the LANGUAGE.md examples: exit 0', async () => {
      const r = await implc(['check', 'test/fixtures/language-examples.impl']);
      expect(r.stdout.trim()).toBe('');
      expect(r.code).toBe(0);
    });

    it('a file with errors: exit 1, every diagnostic and a summary', async () => {
      const r = await implc(['check', ERRORS]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      const headers = [...r.stdout.matchAll(/^(error|warning)\[(\w+)\]/gm)].map((m) => m[2]);
      expect(headers).toEqual(['W0110', 'W0110', 'E0103', 'E0202', 'E0101', 'E0104']);
      expect(r.stdout).toContain(` --> ${ERRORS}:9:19`);
      expect(r.stdout).not.toMatch(/\x1b\[/); // no color when not on a terminal
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('4 errors, 2 warnings');
    });

    it('prints exactly what the golden files hold', async () => {
      const name = 'multi_lasso_errors';
      const r = await implc(['check', `cases/${name}.impl`], join(root, 'test/golden'));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(readFileSync(join(root, `test/golden/cases/${name}.expected.txt`), 'utf8'));
    });

    it('diagnostics of several files are all printed, each with its file', async () => {
      const r = await implc(['check', ERRORS, samples[0], WARNING_ONLY]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(` --> ${ERRORS}:`);
      expect(r.stdout).toContain(` --> ${WARNING_ONLY}:`);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('4 errors, 3 warnings');
    });
  });

  describe('check --format json', () => {
    it('validates against DiagnosticJson and matches the front end', async () => {
      const r = await implc(['check', '--format', 'json', ERRORS]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      const json = parseJson(r);
      assertCheckJson(json);
      expect(json.errors).toBe(4);
      expect(json.warnings).toBe(2);
      expect(json.diagnostics.map((d) => d.code)).toEqual(['W0110', 'W0110', 'E0103', 'E0202', 'E0101', 'E0104']);
      const text = readFileSync(join(root, ERRORS), 'utf8');
      expect(json.diagnostics).toEqual(frontEnd(ERRORS, text).diagnostics.map(toJson));
      // Spans in the JSON point into the file, with line/column matching the offsets.
      const problems = json.diagnostics.flatMap((d, i) => [
        ...spanProblems({ file: d.file, ...d.span }, text, ERRORS, `[${i}].span`),
        ...d.related.flatMap((rel, j) => spanProblems({ file: rel.file, ...rel.span }, text, ERRORS, `[${i}].related[${j}]`)),
      ]);
      expect(problems).toEqual([]);
      const mismatch = json.diagnostics.find((d) => d.code === 'E0202')!;
      expect(mismatch.related.map((rel) => rel.message)).toEqual(['this is real[n, p]', 'this is real[n]']);
      expect(json.diagnostics.find((d) => d.code === 'E0101')!.help).toBe('did you mean `lambda`?');
      expect(json.diagnostics.find((d) => d.code === 'E0104')!.notes).toHaveLength(1);
    });

    it('clean samples: an empty list and exit 0', async () => {
      const r = await implc(['check', '--format', 'json', ...samples]);
      expect(r.code).toBe(0);
      expect(parseJson(r)).toEqual({ diagnostics: [], errors: 0, warnings: 0 });
    });

    it('several files, one of them missing: valid JSON for the others, exit 2', async () => {
      const r = await implc(['check', '--format', 'json', WARNING_ONLY, MISSING]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(MISSING);
      const json = parseJson(r);
      assertCheckJson(json);
      expect(json.diagnostics.map((d) => `${d.file} ${d.code}`)).toEqual([`${WARNING_ONLY} W0110`]);
    });
  });

  describe('--deny-warnings', () => {
    it('a warning-only file exits 0 without it', async () => {
      const r = await implc(['check', WARNING_ONLY]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('warning[W0110]');
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('1 warning');
    });

    it('and exits 1 with it', async () => {
      const r = await implc(['check', '--deny-warnings', WARNING_ONLY]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('warning[W0110]');
    });

    it('also with --format json', async () => {
      const plain = await implc(['check', '--format', 'json', WARNING_ONLY]);
      const denied = await implc(['check', '--format', 'json', '--deny-warnings', WARNING_ONLY]);
      expect(plain.code).toBe(0);
      expect(denied.code).toBe(1);
      const json = parseJson(denied);
      assertCheckJson(json);
      expect(json).toMatchObject({ errors: 0, warnings: 1 });
      expect(parseJson(plain)).toEqual(json);
    });

    it('clean files still exit 0', async () => {
      const r = await implc(['check', '--deny-warnings', ...samples]);
      expect(r.code).toBe(0);
    });
  });
});

describe('the DiagnosticJson validator', () => {
  const valid = () =>
    JSON.parse(
      JSON.stringify({
        code: 'E0101',
        severity: 'error',
        title: 'undeclared name',
        message: '`x` is not declared',
        file: 'a.impl',
        span: { start: { line: 1, column: 2, offset: 1 }, end: { line: 1, column: 3, offset: 2 } },
        label: null,
        notes: [],
        help: null,
        related: [{ message: 'here', file: 'a.impl', span: { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } } }],
      }),
    );

  it('accepts a valid diagnostic and the front end\'s own output', () => {
    expect(validateDiagnosticJson(valid())).toEqual([]);
    const text = readFileSync(join(root, ERRORS), 'utf8');
    for (const d of frontEnd(ERRORS, text).diagnostics) expect(validateDiagnosticJson(JSON.parse(JSON.stringify(toJson(d))))).toEqual([]);
  });

  it.each([
    ['a missing field', (d: any) => delete d.help, 'help: missing'],
    ['an extra field', (d: any) => (d.extra = 1), 'extra: unexpected field'],
    ['a code outside the catalog', (d: any) => (d.code = 'E9999'), 'not in the catalog'],
    ['a severity that disagrees with the catalog', (d: any) => (d.severity = 'warning'), 'catalog severity'],
    ['a wrong title', (d: any) => (d.title = 'other'), 'catalog title'],
    ['a line of 0', (d: any) => (d.span.start.line = 0), 'line'],
    ['a fractional column', (d: any) => (d.span.end.column = 1.5), 'column'],
    ['a string offset', (d: any) => (d.span.end.offset = '2'), 'offset'],
    ['an end before the start', (d: any) => (d.span.end.offset = 0), 'after end offset'],
    ['a label that is not a string', (d: any) => (d.label = 3), 'label'],
    ['notes that are not strings', (d: any) => (d.notes = [1]), 'notes[0]'],
    ['related without a span', (d: any) => delete d.related[0].span, 'related[0].span'],
    ['help undefined', (d: any) => (d.help = undefined), 'help'],
  ])('rejects %s', (_what, breakIt, problem) => {
    const d = valid();
    breakIt(d);
    const problems = validateDiagnosticJson(d);
    expect(problems.join('\n')).toContain(problem);
  });

  it('checks the totals of the whole output', () => {
    expect(validateCheckJson({ diagnostics: [valid()], errors: 1, warnings: 0 })).toEqual([]);
    expect(validateCheckJson({ diagnostics: [valid()], errors: 0, warnings: 0 }).join('\n')).toContain('$.errors');
    expect(validateCheckJson({ diagnostics: {}, errors: 0, warnings: 0 }).join('\n')).toContain('$.diagnostics');
    expect(validateCheckJson([]).length).toBeGreaterThan(0);
  });
});
