import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { packageVersion } from '../version.ts';
import { EXIT, PROCESS_IO, usageError, type CliIo } from './output.ts';
import type { SolveOptions } from './solve.ts';

// Every command imports what it needs in its action: `implc --version` and `--help` load
// commander and output.ts only, not the parser (ohm-js), the analysis or the code generator
// (ts-morph, and TypeScript under it).


/** The largest `--max-iter`: a bound on what one command can be asked to spend. */
export const MAX_ITER_LIMIT = 1_000_000;

const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

/**
 * The command tree. Every action reports its exit code through `exit`; everything is written
 * to `io` (commander's help and errors too), so that {@link runCli} can run in process.
 */
export function buildProgram(io: CliIo, exit: (code: number) => void): Command {
  // Output and exit settings first: subcommands inherit them when they are created.
  const program = new Command('implc')
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .exitOverride()
    .description('Compiler for implicitly defined nonsmooth models, with certified derivatives')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError();

  program
    .command('check')
    .description('parse and check model files; print diagnostics')
    .argument('<files...>', '.impl model files')
    .addOption(formatOption())
    .option('--deny-warnings', 'exit 1 when there are warnings', false)
    .action(async (files: string[], opts: { format: 'text' | 'json'; denyWarnings: boolean }) => {
      const { runCheck } = await import('./check.ts');
      exit(runCheck(files, opts, io));
    });

  program
    .command('explain')
    .description('explain a model: classes, kinks, Jacobian structure, invertibility verdict')
    .argument('<files...>', '.impl model files')
    .option('--model <name>', 'only this model of the file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'tex']).default('text'))
    .action(async (files: string[], opts: { format: 'text' | 'json' | 'tex'; model?: string }) => {
      const { runExplain } = await import('./explain.ts');
      exit(await runExplain(files, opts, io));
    });

  program
    .command('build')
    .description('write one TypeScript module per model (they import implc/runtime); all or none')
    .argument('<files...>', '.impl model files')
    .addOption(new Option('-o, --out <dir>', 'output folder (created if missing)').makeOptionMandatory().argParser(nonEmptyPath))
    .addHelpText(
      'after',
      '\nWrites <dir>/<Model>.ts for every model of every file, each atomically (a temporary file,\n' +
        'then a rename). A module implc generated before is replaced; any other file or a symbolic\n' +
        'link at a module\'s name is refused (exit 2). A model defined in two files is an error\n' +
        '(E0108). Nothing is written unless every file is free of errors and every module can be written.\n' +
        'Exit code: 0 written, 1 model errors, 2 usage or file error.',
    )
    .action(async (files: string[], opts: { out: string }) => {
      // Code generation loads ts-morph (and TypeScript): only the commands that need it pay.
      const { runBuild } = await import('./build.ts');
      exit(runBuild(files, opts, io));
    });

  program
    .command('solve')
    .description('solve a model on JSON inputs, certify the solution, print derivatives as JSON')
    .argument('<file>', '.impl model file')
    .requiredOption('--input <file>', 'JSON object of inputs keyed by declared names')
    .option('--model <name>', 'the model to solve, when the file has several')
    .option('--jacobian', 'also print the full Jacobian of every unknown in every param', false)
    .addOption(new Option('--method <method>', 'forward solver (fixed-point and anderson need a fixpoint model)').choices(['auto', 'fixed-point', 'anderson', 'newton']).default('auto'))
    .addOption(new Option('--tol <tol>', 'tolerance on the residual (max norm), a positive number').argParser(positiveNumber))
    .addOption(new Option('--max-iter <n>', `iteration limit, an integer from 1 to ${MAX_ITER_LIMIT}`).argParser(iterationLimit))
    .addOption(new Option('--time-limit <seconds>', 'wall-clock limit of the forward solve, a positive number of seconds (then status max-iterations)').argParser(positiveNumber))
    .addOption(new Option('--format <format>', 'output format').choices(['json']).default('json'))
    .addOption(new Option('--cache-dir <dir>', 'folder of the generated modules (default: $IMPLC_CACHE_DIR, else the OS cache folder)').argParser(nonEmptyPath))
    .addHelpText(
      'after',
      '\nPrints one JSON object (LANGUAGE.md "Command line"); numbers that JSON cannot hold are the\n' +
        'strings "Infinity", "-Infinity" and "NaN". Exit code: 0 converged, not violated, every number\n' +
        'finite and the Jacobian there if asked for; 1 otherwise; 2 bad options or inputs.',
    )
    .action(async (file: string, opts: SolveOptions) => {
      const { runSolve } = await import('./solve.ts');
      exit(await runSolve(file, opts, io));
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
      let demo: typeof import('./demo.ts');
      try {
        demo = await import('./demo.ts');
      } catch (e) {
        // The package does not ship the demos (they read the repository's samples/ and data).
        if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String((e as Error).message).includes('demo')) throw e;
        usageError('the demos run in a clone of the repository (npm ci, then npm start or implc demo NAME); this installed package does not include them', io.stderr);
        exit(EXIT.usage);
        return;
      }
      exit(await demo.runDemoCommand(name, opts, io));
    });

  program
    .command('lsp')
    .description('run the language server over stdio')
    // Clients that name their transport pass --stdio; stdio is the only one.
    .option('--stdio', 'speak the protocol on stdin and stdout (the default and only transport)')
    .action(async () => {
      // vscode-languageserver and the analysis load only here.
      const { startServer } = await import('../lsp/server.ts');
      startServer();
    });

  return program;
}

/** A path that names something: an empty one would silently mean the current folder. */
function nonEmptyPath(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a folder, not an empty path');
  return value;
}

/** A positive finite decimal number (not hex, not `Infinity`, no blanks). */
function positiveNumber(value: string): number {
  const x = Number(value);
  if (!/^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) || !Number.isFinite(x) || x <= 0) {
    throw new InvalidArgumentError('expected a positive finite number, such as 1e-10');
  }
  return x;
}

/** An iteration limit: a whole number from 1 to MAX_ITER_LIMIT, in decimal digits. */
function iterationLimit(value: string): number {
  const n = Number(value);
  if (!/^\+?\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > MAX_ITER_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_ITER_LIMIT}`);
  }
  return n;
}

/**
 * Run the command line on `args` (the arguments after the program name) and return its exit
 * code; everything goes to `io`. Never throws: an exception no command expected is a bug,
 * reported in one line (no stack trace unless IMPLC_DEBUG is set) with exit code 70.
 */
export async function runCli(args: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  let code: number = EXIT.ok;
  try {
    const program = buildProgram(io, (c) => (code = c));
    await program.parseAsync([...args], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; any other parse failure is a usage error.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return internalError(e, io);
  }
}

/** Report an unexpected exception: its message on one line, and where to report it. */
export function internalError(e: unknown, io: CliIo): number {
  const what = e instanceof Error ? (e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message) : String(e);
  const line = what.replace(/\s+/g, ' ').trim();
  io.stderr.write(`error: internal error: ${line.length > 500 ? `${line.slice(0, 500)}...` : line}\n`);
  io.stderr.write('This is a bug in implc: please report it with the command and the files it read (IMPLC_DEBUG=1 prints the stack).\n');
  if (process.env.IMPLC_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
  return EXIT.internal;
}

/** The process entry (bin/implc.js): argv from the process, exit code into the process. */
export async function main(args: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A reader that went away (`implc solve ... | head`) ends the run quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    process.exit(internalError(e, { stdout: process.stdout, stderr: process.stderr }));
  });
  // Whatever escapes the commands asynchronously (a worker, a timer) is a bug, not a stack trace.
  process.on('uncaughtException', (e) => process.exit(internalError(e, PROCESS_IO)));
  process.on('unhandledRejection', (e) => process.exit(internalError(e, PROCESS_IO)));
  process.exitCode = await runCli(args);
}
