// The `implc` command line: a few runs as a subprocess, exactly as users run it; the others in
// process (runCli), which prints the same.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { frontEnd } from '../../src/compile.ts';
import { CATALOG } from '../../src/diagnostics/catalog.ts';
import { toJson } from '../../src/diagnostics/render.ts';
import { assertCheckJson, validateCheckJson, validateDiagnosticJson } from '../helpers/diagnostic-json.ts';
import { spanProblems } from '../helpers/spans.ts';
import { implcInProcess } from './in-process.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin/implc.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

const implFiles = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.impl'))
    .sort()
    .map((f) => `${dir}/${f}`);
const SAMPLES = implFiles('samples');
const PATHOLOGICAL = implFiles('samples/pathological');
const LANGUAGE_EXAMPLES = 'test/fixtures/language-examples.impl';
const GOLDEN = 'multi_lasso_errors';
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
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
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

/**
 * Every invocation the tests below need, made once before the tests; each test asserts on its
 * run. Starting the CLI costs seconds (tsx compiles the sources and loads the analysis
 * libraries), so only the runs marked `spawn` start one, a few at a time.
 */
const RUNS = {
  help: { args: ['--help'], spawn: true },
  version: { args: ['--version'], spawn: true },
  badMaxIter: { args: ['solve', 'samples/kink.impl', '--input', 'samples/inputs/kink.json', '--max-iter', '1.5'], spawn: true },
  noArgs: { args: [] },
  checkNoFiles: { args: ['check'] },
  badFormat: { args: ['check', '--format', 'xml', WARNING_ONLY] },
  missing: { args: ['check', MISSING], spawn: true },
  samplesDenyWarnings: { args: ['check', '--deny-warnings', ...SAMPLES, LANGUAGE_EXAMPLES] },
  pathological: { args: ['check', ...PATHOLOGICAL] },
  errorsText: { args: ['check', ERRORS] },
  golden: { args: ['check', `cases/${GOLDEN}.impl`], cwd: join(root, 'test/golden'), spawn: true },
  errorsJson: { args: ['check', '--format', 'json', ERRORS] },
  jsonWithMissing: { args: ['check', '--format', 'json', WARNING_ONLY, MISSING, SAMPLES[0]] },
  warning: { args: ['check', WARNING_ONLY] },
  warningDenied: { args: ['check', '--deny-warnings', WARNING_ONLY] },
  warningDeniedJson: { args: ['check', '--format', 'json', '--deny-warnings', WARNING_ONLY] },
} satisfies Record<string, { args: string[]; cwd?: string; spawn?: boolean }>;

let runs: Record<keyof typeof RUNS, Run>;

beforeAll(async () => {
  const all = Object.entries(RUNS) as [keyof typeof RUNS, { args: string[]; cwd?: string; spawn?: boolean }][];
  const out: Partial<Record<keyof typeof RUNS, Run>> = {};
  for (const [name, { args }] of all.filter(([, run]) => !run.spawn)) out[name] = await implcInProcess(args);
  const entries = all.filter(([, run]) => run.spawn);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const [name, { args, cwd }] = entries[next++];
      out[name] = await implc(args, cwd);
    }
  };
  await Promise.all(Array.from({ length: Math.max(2, Math.min(4, availableParallelism())) }, worker));
  runs = out as Record<keyof typeof RUNS, Run>;
}, 600_000);

const lastLine = (s: string) => s.trimEnd().split('\n').at(-1);

describe('implc', () => {
  describe('help and version', () => {
    it('--help exits 0 with usage', () => {
      expect(runs.help.code).toBe(0);
      expect(runs.help.stdout).toContain('Usage: implc');
      expect(runs.help.stdout).toMatch(/^\s+check\b/m);
    });

    it('--version exits 0 and prints the package version', () => {
      expect(runs.version.code).toBe(0);
      expect(runs.version.stdout.trim()).toBe(pkg.version);
    });
  });

  describe('usage errors exit 2', () => {
    it('a --max-iter that is not a whole number: the option and the value named, no stack trace', () => {
      expect(runs.badMaxIter.code).toBe(2);
      expect(runs.badMaxIter.stdout).toBe('');
      expect(runs.badMaxIter.stderr).toMatch(/option '--max-iter <n>' argument '1\.5' is invalid/);
      expect(runs.badMaxIter.stderr).not.toMatch(/\n\s+at /);
    });

    it('no arguments', () => {
      expect(runs.noArgs.code).toBe(2);
      expect(runs.noArgs.stderr).toContain('Usage');
    });

    it('check without files', () => {
      expect(runs.checkNoFiles.code).toBe(2);
      expect(runs.checkNoFiles.stderr).toMatch(/missing required argument/);
    });

    it('an invalid --format', () => {
      expect(runs.badFormat.code).toBe(2);
      expect(runs.badFormat.stderr).toContain('xml');
    });

    it('a missing file: a message on stderr naming it, nothing on stdout', () => {
      expect(runs.missing.code).toBe(2);
      expect(runs.missing.stderr).toContain(MISSING);
      expect(runs.missing.stderr).toMatch(/no such file/);
      expect(runs.missing.stdout.trim()).toBe('');
    });
  });

  describe('check, text output', () => {
    it('the samples and the LANGUAGE.md examples: exit 0 and no output, even with --deny-warnings', () => {
      const r = runs.samplesDenyWarnings;
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('');
      expect(r.code).toBe(0);
    });

    it('the pathological samples: exit 0, no error (only analysis warnings)', () => {
      const r = runs.pathological;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/^error\[/m);
      // These models are meant to fail certification, which `check` reports as warnings of the
      // analysis; the front end itself has nothing to say about them.
      for (const m of r.stdout.matchAll(/^warning\[(\w+)\]/gm)) {
        expect(['classes', 'certification']).toContain(CATALOG[m[1] as keyof typeof CATALOG].group);
      }
    });

    it('a file with errors: exit 1, every diagnostic and a summary', () => {
      const r = runs.errorsText;
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      const headers = [...r.stdout.matchAll(/^(error|warning)\[(\w+)\]/gm)].map((m) => m[2]);
      expect(headers).toEqual(['W0110', 'W0110', 'E0103', 'E0202', 'E0101', 'E0104']);
      expect(r.stdout).toContain(` --> ${ERRORS}:9:19`);
      expect(r.stdout).not.toMatch(/\x1b\[/); // no color when not on a terminal
      expect(lastLine(r.stdout)).toBe('4 errors, 2 warnings');
    });

    it('prints exactly what the golden files hold', () => {
      expect(runs.golden.code).toBe(1);
      expect(runs.golden.stdout).toBe(readFileSync(join(root, `test/golden/cases/${GOLDEN}.expected.txt`), 'utf8'));
    });
  });

  describe('check --format json', () => {
    it('validates against DiagnosticJson and matches the front end', () => {
      const r = runs.errorsJson;
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

    it('several files, one of them missing: valid JSON for the others, exit 2', () => {
      const r = runs.jsonWithMissing;
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(MISSING);
      const json = parseJson(r);
      assertCheckJson(json);
      expect(json.diagnostics.map((d) => `${d.file} ${d.code}`)).toEqual([`${WARNING_ONLY} W0110`]);
    });
  });

  describe('--deny-warnings', () => {
    it('a warning-only file exits 0 without it', () => {
      const r = runs.warning;
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('warning[W0110]');
      expect(lastLine(r.stdout)).toBe('1 warning');
    });

    it('and exits 1 with it, printing the same', () => {
      expect(runs.warningDenied.code).toBe(1);
      expect(runs.warningDenied.stdout).toBe(runs.warning.stdout);
    });

    it('also with --format json', () => {
      const r = runs.warningDeniedJson;
      expect(r.code).toBe(1);
      const json = parseJson(r);
      assertCheckJson(json);
      expect(json).toMatchObject({ errors: 0, warnings: 1 });
      expect(json.diagnostics[0]).toMatchObject({ code: 'W0110', severity: 'warning', file: WARNING_ONLY });
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
