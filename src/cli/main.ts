import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runCheck } from './check.ts';
import { runExplain } from './explain.ts';
import type { SolveOptions } from './solve.ts';
import { EXIT } from './output.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

export function buildProgram(): Command {
  const program = new Command('implc')
    .description('Compiler for implicitly defined nonsmooth models, with certified derivatives')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('check')
    .description('parse and check model files; print diagnostics')
    .argument('<files...>', '.impl model files')
    .addOption(formatOption())
    .option('--deny-warnings', 'exit 1 when there are warnings', false)
    .action((files: string[], opts: { format: 'text' | 'json'; denyWarnings: boolean }) => {
      process.exitCode = runCheck(files, opts);
    });

  program
    .command('explain')
    .description('explain a model: classes, kinks, Jacobian structure, invertibility verdict')
    .argument('<files...>', '.impl model files')
    .option('--model <name>', 'only this model of the file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'tex']).default('text'))
    .action(async (files: string[], opts: { format: 'text' | 'json' | 'tex'; model?: string }) => {
      process.exitCode = await runExplain(files, opts);
    });

  program
    .command('build')
    .description('write one TypeScript module per model (they import implc/runtime)')
    .argument('<files...>', '.impl model files')
    .requiredOption('-o, --out <dir>', 'output folder')
    .action(async (files: string[], opts: { out: string }) => {
      // Code generation loads ts-morph (and TypeScript): only the commands that need it pay.
      const { runBuild } = await import('./build.ts');
      process.exitCode = runBuild(files, opts);
    });

  program
    .command('solve')
    .description('solve a model on JSON inputs, certify the solution, print derivatives as JSON')
    .argument('<file>', '.impl model file')
    .requiredOption('--input <file>', 'JSON object of inputs keyed by declared names')
    .option('--model <name>', 'the model to solve, when the file has several')
    .option('--jacobian', 'also print the full Jacobian of every unknown in every param', false)
    .addOption(new Option('--method <method>', 'forward solver').choices(['auto', 'fixed-point', 'anderson', 'newton']).default('auto'))
    .addOption(new Option('--tol <tol>', 'tolerance on the residual (max norm)').argParser(positiveNumber))
    .addOption(new Option('--max-iter <n>', 'iteration limit').argParser(positiveNumber))
    .addOption(new Option('--format <format>', 'output format').choices(['json']).default('json'))
    .action(async (file: string, opts: SolveOptions) => {
      const { runSolve } = await import('./solve.ts');
      process.exitCode = await runSolve(file, opts);
    });

  program
    .command('demo')
    .description('run a demo: progress, then its summary; writes <dir>/<name>.html (default report/)')
    .argument('[name]', 'the demo (see --list)')
    .option('--list', 'list the demos and exit', false)
    .option('--report <dir>', 'folder for the demo\'s report page <dir>/<name>.html', 'report')
    .option('--no-report', 'print the summary only; write no page')
    .addHelpText(
      'after',
      '\nRuns one demo of `npm start` (progress on stdout), prints its summary and time, and writes\n' +
        'its section of the report, charts as inline SVG, to <dir>/<name>.html.\n' +
        'Exit code: 0 done, 1 the demo failed, 2 no such demo or no name.',
    )
    .action(async (name: string | undefined, opts: { list: boolean; report: string | false }) => {
      // The demos load codegen, runtimes and the chart renderer: only this command pays.
      const { runDemoCommand } = await import('./demo.ts');
      process.exitCode = await runDemoCommand(name, opts);
    });

  return program;
}

function positiveNumber(value: string): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError('expected a positive number');
  return x;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; any other parse failure is a usage error.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    throw e;
  }
}

await main(process.argv);
