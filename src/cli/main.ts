import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { runCheck } from './check.ts';
import { runExplain } from './explain.ts';
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

  return program;
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
