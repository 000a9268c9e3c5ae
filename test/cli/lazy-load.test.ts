// The command line loads what each command needs, in the command's action (issue 17):
// `--version` and `--help` load neither the parser (ohm-js), the analysis nor the code
// generator (ts-morph); `check` loads the parser and the analysis but not the code generator;
// `build` loads the code generator. Observed, not read from the code: Node's module hooks
// (module.register) log the URL of every ES module the process resolves, for the sources under
// tsx and for the build (dist/, when `npm run build` made it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'implc-lazy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

writeFileSync(
  join(work, 'hooks.mjs'),
  [
    "import { appendFileSync } from 'node:fs';",
    'let log;',
    'export function initialize(data) { log = data.log; }',
    'export async function resolve(specifier, context, next) {',
    '  const r = await next(specifier, context);',
    "  appendFileSync(log, r.url + '\\n');",
    '  return r;',
    '}',
    '',
  ].join('\n'),
);
writeFileSync(
  join(work, 'register.mjs'),
  "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url, { data: { log: process.env.IMPLC_TEST_LOAD_LOG } });\n",
);

let runs = 0;
/** The URLs of the ES modules a run of the command line resolves, after checking it exits 0. */
function loaded(via: 'sources' | 'build', args: string[]): string[] {
  const log = join(work, `load-${runs++}.log`);
  writeFileSync(log, '');
  const env = { ...process.env, IMPLC_TEST_LOAD_LOG: log, IMPLC_SOURCES: '1' };
  const register = pathToFileURL(join(work, 'register.mjs')).href;
  const command =
    via === 'sources'
      ? ['--import', register, join(root, 'bin', 'implc.js'), ...args]
      : ['--import', register, '--input-type=module', '-e', `const { main } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/cli/main.js')).href)}); await main(${JSON.stringify(args)});`];
  const r = spawnSync(process.execPath, command, { cwd: root, env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

const heavy = {
  parser: /\/node_modules\/ohm-js\/|\/grammar\/impl\.ohm-bundle\.js$/,
  analysis: /\/src\/(analysis|syntax|check|ir)\/|\/src\/pipeline\.(ts|js)$/,
  codegen: /\/node_modules\/ts-morph\/|\/codegen\//,
};
const matching = (urls: string[], re: RegExp) => urls.filter((u) => re.test(u));

const ways = (['sources', 'build'] as const).filter((w) => w === 'sources' || existsSync(join(root, 'dist', '.built')));

describe.each(ways)('what the command line loads (%s)', (via) => {
  it('--version and --help: commander, not the parser, the analysis or the code generator', () => {
    for (const args of [['--version'], ['--help'], ['check', '--help']]) {
      const urls = loaded(via, args);
      expect(matching(urls, /\/node_modules\/commander\//).length, args.join(' ')).toBeGreaterThan(0);
      for (const re of Object.values(heavy)) expect(matching(urls, re), args.join(' ')).toEqual([]);
    }
  });

  it('check: the parser and the analysis, not the code generator; build: the code generator too', () => {
    const check = loaded(via, ['check', 'samples/kink.impl']);
    expect(matching(check, heavy.parser).length).toBeGreaterThan(0);
    expect(matching(check, heavy.analysis).length).toBeGreaterThan(0);
    expect(matching(check, heavy.codegen)).toEqual([]);
    const out = mkdtempSync(join(work, 'out-'));
    const build = loaded(via, ['build', 'samples/kink.impl', '-o', out]);
    expect(matching(build, /\/node_modules\/ts-morph\//).length).toBeGreaterThan(0);
  });
});
