/**
 * The package as a user installs it, from outside the repository: `npm pack` of the build (the
 * tarball's file list checked), `npm install` of the tarball in a new project in the system's
 * temporary folder, then
 *
 *   - `npx implc --version`, `check` and `build` of a model written there (and `demo`, which
 *     says the demos are the repository's);
 *   - a TypeScript file importing the generated module and `implc/runtime`, compiled by the
 *     repository's tsc (strict, module NodeNext, no @types/node) and run by plain `node`, and
 *     type-checked by TypeScript 6 as well (ts-morph's); a file with a wrong input type must
 *     fail to compile (the declarations reach the user);
 *   - a TypeScript file using the compiler's API (`implc`), compiled and run the same way;
 *   - a JavaScript file importing the compiled generated module, run by `node`;
 *   - an esbuild bundle for the browser (platform browser, no plugin), which must build with no
 *     error or warning and contain no Node built-in, then run with a stand-in `document`;
 *   - `npx implc solve` with IMPLC_CACHE_DIR set: the modules land there, nothing in the package.
 *
 * The model is one proximal-gradient step of min 1/2 ||y - a||^2 + lambda ||y||_1 as a fixed
 * point, whose solution is y = soft_threshold(a, lambda) = sign(a) max(|a| - lambda, 0). For
 * loss = 1/2 ||y||^2 the gradients are, where no |a_i| equals lambda,
 *   d loss / d a_i = y_i dy_i/da_i = y_i,   d loss / d lambda = sum_i y_i (-sign(a_i)) = -sum_i |y_i|,
 * which the numbers printed by every consumer are checked against.
 *
 * It needs npm, and the dependencies of the tarball in npm's cache (they are after `npm ci`) or
 * the network: without them it skips, saying why. It uses the build in dist/ (`npm test` makes it
 * first), and builds it itself when it is missing or older than a source file.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const MODEL = `// One proximal-gradient step (step 1/2) of min 1/2 ||y - a||^2 + lambda ||y||_1, as a fixed point.
model Shrink {
  dim n
  param a: real[n]
  param lambda: real
  unknown y: real[n] = 0
  fixpoint y = soft_threshold(0.5 * y + 0.5 * a, 0.5 * lambda)
  output loss = 0.5 * sumsq(y)
}
`;
const a = [3, -2, 0.5, -0.25, 1.75];
const lambda = 0.75;
const INPUTS = JSON.stringify({ a, lambda });

/** The closed form (see the file's comment). */
const y = a.map((v) => Math.sign(v) * Math.max(Math.abs(v) - lambda, 0));
const expected = { a: y, lambda: -y.reduce((s, v) => s + Math.abs(v), 0) };

/** What each consumer prints: one JSON line with the status, the verdict and the gradients of `loss`. */
interface Printed {
  status: string;
  verdict: string;
  gradients: { loss: { a: number[]; lambda: number } };
}

function expectClosedForm(p: Printed): void {
  expect(p.status).toBe('converged');
  expect(p.verdict).toBe('certified');
  expect(p.gradients.loss.a).toHaveLength(a.length);
  p.gradients.loss.a.forEach((g, i) => expect(g).toBeCloseTo(expected.a[i], 12));
  expect(p.gradients.loss.lambda).toBeCloseTo(expected.lambda, 12);
}

/** The printed JSON line of a run that must succeed. */
function printed(r: SpawnSyncReturns<string>): Printed {
  expect(r.stderr + (r.error?.message ?? '')).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Printed;
}

const run = (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeout = 120_000) =>
  spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout, shell: process.platform === 'win32' });

/** The newest modification time of a file under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Whether dist/ was built after the last change to a source it compiles. */
function buildIsFresh(): boolean {
  const stamp = join(root, 'dist', '.built');
  if (!existsSync(stamp)) return false;
  const started = Number(readFileSync(stamp, 'utf8'));
  return ['src', 'codegen', 'grammar'].every((d) => newest(join(root, d)) < started) && statSync(join(root, 'package.json')).mtimeMs < started;
}

let work = '';
let app = '';
let tarballFiles: string[] = [];
/** Why the tests cannot run here (no npm, no dependencies), or null. */
let unavailable: string | null = null;

function skipWhenUnavailable(ctx: TestContext): void {
  if (unavailable !== null) ctx.skip(unavailable);
}

beforeAll(() => {
  if (!buildIsFresh()) {
    const b = run(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/build.ts'], root);
    expect(b.status, b.stdout + b.stderr).toBe(0);
  }
  work = mkdtempSync(join(tmpdir(), 'implc-consumer-'));
  // --ignore-scripts: `prepare` would rebuild dist/ under the feet of the other test files.
  const pack = run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
  if (pack.status !== 0 || pack.error) {
    unavailable = `npm pack is not available here: ${(pack.error?.message ?? pack.stderr).trim().split('\n')[0]}`;
    console.warn(`consumer test skipped: ${unavailable}`);
    return;
  }
  const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  tarballFiles = packed.files.map((f) => f.path);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'implc-consumer', private: true, type: 'module' }, null, 2)}\n`);
  const install = run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--fetch-retries=1', join(work, packed.filename)], app, process.env, 240_000);
  if (install.status !== 0 || install.error) {
    const why = (install.error?.message ?? install.stderr).trim().split('\n').filter((l) => /ERR|error/i.test(l)).slice(0, 3).join(' | ');
    unavailable = `npm install of the tarball failed (its dependencies are neither in npm's cache nor reachable): ${why}`;
    console.warn(`consumer test skipped: ${unavailable}`);
    return;
  }
  writeFileSync(join(app, 'model.impl'), MODEL);
  writeFileSync(join(app, 'inputs.json'), INPUTS);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the package as a user installs it', () => {
  it('the tarball holds the build, the CLI, the README and the license, and no tests, benches, sources or samples', (ctx) => {
    skipWhenUnavailable(ctx);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/implc.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/runtime/index.js', 'dist/src/runtime/index.d.ts', 'dist/src/cli/main.js', 'dist/src/runtime/worker-boot.mjs', 'dist/grammar/impl.ohm-bundle.js']) {
      expect(tarballFiles).toContain(f);
    }
    const stray = tarballFiles.filter((f) => !/^(dist\/|bin\/implc\.js$|README\.md$|LICENSE$|package\.json$)/.test(f) || f.startsWith('dist/demos/') || /\.ts$/.test(f.replace(/\.d\.ts$/, '')));
    expect(stray).toEqual([]);
    // The demos' command module and the build's time stamp (for a clone's bin/implc.js) stay home.
    expect(tarballFiles.filter((f) => /^dist\/(\.built$|src\/cli\/demo\.)/.test(f))).toEqual([]);
  });

  it('npx implc: --version, check and build of a model written in the project', (ctx) => {
    skipWhenUnavailable(ctx);
    const version = run(npx, ['--no', '--', 'implc', '--version'], app);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    const check = run(npx, ['--no', '--', 'implc', 'check', 'model.impl'], app);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const build = run(npx, ['--no', '--', 'implc', 'build', 'model.impl', '-o', 'gen'], app);
    expect(build.status, build.stderr).toBe(0);
    expect(readdirSync(join(app, 'gen'))).toEqual(['Shrink.ts']);
    expect(readFileSync(join(app, 'gen', 'Shrink.ts'), 'utf8')).toContain('from "implc/runtime"');
    // The demos are the repository's (they read its samples/): the package says so.
    const demo = run(npx, ['--no', '--', 'implc', 'demo', 'lasso'], app);
    expect(demo.status).toBe(2);
    expect(demo.stderr).toMatch(/^error: the demos run in a clone of the repository/);
  });

  it('TypeScript: the generated module and implc/runtime compile with tsc (strict, NodeNext) and run on plain node', (ctx) => {
    skipWhenUnavailable(ctx);
    writeFileSync(
      join(app, 'main.ts'),
      [
        "import { Shrink } from './gen/Shrink.js';",
        "import { SolverError, type RunResult } from 'implc/runtime';",
        `const r: RunResult = new Shrink(${INPUTS}).solve();`,
        "if (typeof SolverError !== 'function') throw new Error('implc/runtime has no SolverError');",
        'console.log(JSON.stringify({ status: r.status, verdict: r.certificate.verdict, gradients: r.gradients }));',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'api.ts'),
      [
        "import { analyzeFile, emitModule } from 'implc';",
        "import { readFileSync } from 'node:fs';",
        "const analyzed = analyzeFile('model.impl', readFileSync('model.impl', 'utf8'));",
        'console.log(JSON.stringify({ diagnostics: analyzed.diagnostics.length, model: emitModule(analyzed.analyses[0], "model.impl").model }));',
        '',
      ].join('\n'),
    );
    // No @types/node: the package's declarations must not need it. (api.ts reads a file, so
    // it declares the one function it uses.)
    writeFileSync(join(app, 'node-fs.d.ts'), "declare module 'node:fs' { export function readFileSync(path: string, encoding: 'utf8'): string; }\n");
    const options = { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', outDir: 'out', types: [] as string[] };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['main.ts', 'api.ts', 'node-fs.d.ts', 'gen/*.ts'] }, null, 2));
    const compiled = run(process.execPath, [tsc, '-p', '.'], app);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    expectClosedForm(printed(run(process.execPath, ['out/main.js'], app)));
    expect(JSON.parse(run(process.execPath, ['out/api.js'], app).stdout)).toEqual({ diagnostics: 0, model: 'Shrink' });

    // The declarations keep the sources' `.ts` import paths (tsc's declaration emit does not
    // rewrite them): TypeScript 6 too, the one ts-morph (a dependency) bundles, must read them.
    writeFileSync(
      join(app, 'check-ts6.mjs'),
      [
        "import { Project, ts } from 'ts-morph';",
        'const project = new Project({ compilerOptions: { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, types: [] } });',
        "project.addSourceFilesAtPaths(['main.ts', 'api.ts', 'node-fs.d.ts']);",
        "console.log(JSON.stringify({ version: ts.version, errors: project.getPreEmitDiagnostics().map((d) => ts.flattenDiagnosticMessageText(d.compilerObject.messageText, ' ')) }));",
        '',
      ].join('\n'),
    );
    const ts6 = JSON.parse(run(process.execPath, ['check-ts6.mjs'], app).stdout) as { version: string; errors: string[] };
    expect(ts6.version).toMatch(/^[56]\./);
    expect(ts6.errors).toEqual([]);

    // The declarations are the generated ones: a string where a number is due does not compile.
    writeFileSync(join(app, 'wrong.ts'), "import { Shrink } from './gen/Shrink.js';\nnew Shrink({ a: [1], lambda: 'one' });\n");
    writeFileSync(join(app, 'tsconfig.wrong.json'), JSON.stringify({ compilerOptions: { ...options, noEmit: true }, include: ['wrong.ts', 'gen/*.ts'] }));
    const wrong = run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], app);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts\(2,\d+\): error TS2322/);
  });

  it('JavaScript: a plain .mjs file imports the compiled generated module', (ctx) => {
    skipWhenUnavailable(ctx);
    // The TypeScript test compiled gen/Shrink.ts to out/gen/Shrink.js; compile it here if it ran alone.
    if (!existsSync(join(app, 'out', 'gen', 'Shrink.js'))) {
      const c = run(process.execPath, [tsc, '--ignoreConfig', '--strict', '--module', 'nodenext', '--target', 'es2022', '--types', '', '--outDir', 'out/gen', 'gen/Shrink.ts'], app);
      expect(c.stdout + c.stderr).toBe('');
    }
    writeFileSync(
      join(app, 'main.mjs'),
      `import { Shrink } from './out/gen/Shrink.js';\nconst r = new Shrink(${INPUTS}).solve();\nconsole.log(JSON.stringify({ status: r.status, verdict: r.certificate.verdict, gradients: r.gradients }));\n`,
    );
    expectClosedForm(printed(run(process.execPath, ['main.mjs'], app)));
  });

  it('a bundler: esbuild bundles the generated module for the browser with no error, warning or Node built-in', async (ctx) => {
    skipWhenUnavailable(ctx);
    writeFileSync(
      join(app, 'browser.ts'),
      `import { Shrink } from './gen/Shrink.ts';\nconst r = new Shrink(${INPUTS}).solve();\ndocument.body.textContent = JSON.stringify({ status: r.status, verdict: r.certificate.verdict, gradients: r.gradients });\n`,
    );
    const { build } = await import('esbuild');
    const outfile = join(app, 'web', 'bundle.js');
    const result = await build({ absWorkingDir: app, entryPoints: ['browser.ts'], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile, logLevel: 'silent' });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    const bundle = readFileSync(outfile, 'utf8');
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:/);
    // The bundle runs where there is no Node API it would need: a document is all it touches.
    writeFileSync(join(app, 'web', 'run.mjs'), "globalThis.document = { body: { textContent: '' } };\nawait import('./bundle.js');\nconsole.log(document.body.textContent);\n");
    expectClosedForm(printed(run(process.execPath, ['web/run.mjs'], app)));
  });

  it('npx implc solve caches its module in IMPLC_CACHE_DIR, nothing in the installed package', (ctx) => {
    skipWhenUnavailable(ctx);
    const installed = join(app, 'node_modules', 'implc');
    const files = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
    const before = files(installed);
    const cache = join(work, 'cache');
    const solve = run(npx, ['--no', '--', 'implc', 'solve', 'model.impl', '--input', 'inputs.json'], app, { ...process.env, IMPLC_CACHE_DIR: cache });
    expect(solve.stderr).toBe('');
    const out = JSON.parse(solve.stdout) as { status: string; certificate: { verdict: string }; gradients: Printed['gradients'] };
    expectClosedForm({ status: out.status, verdict: out.certificate.verdict, gradients: out.gradients });
    expect(files(installed)).toEqual(before);
    const cached = files(cache).filter((f) => f.endsWith('.ts') && !f.includes('node_modules')).map((f) => relative(cache, join(cache, f)));
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatch(/^runtime-[0-9a-f]{12}[/\\]Shrink-src-[0-9a-f]{16}\.ts$/);
  });
});
