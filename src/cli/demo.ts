import { statSync } from 'node:fs';
import { DEMOS, findDemo } from '../../demos/index.ts';
import { errorText, machineDescription, printSummary, runDemo } from '../../demos/run.ts';
import { EXIT, PROCESS_IO, quoted, usageError, type CliIo } from './output.ts';

export interface DemoOptions {
  list: boolean;
  /** Folder of the report page; `false` with --no-report. */
  report: string | false;
}

/**
 * `implc demo NAME`: run one demo (its progress on stdout), print its summary, and write its
 * report page to `<report>/NAME.html` (the same section as in report/index.html, without the
 * sample table). `implc demo --list`: the demos' names, one a line with what each shows.
 */
export async function runDemoCommand(name: string | undefined, options: DemoOptions, io: CliIo = PROCESS_IO): Promise<number> {
  if (options.list) {
    const w = Math.max(...DEMOS.map((d) => d.name.length));
    for (const d of DEMOS) io.stdout.write(`${d.name.padEnd(w)}  ${d.about}\n`);
    return EXIT.ok;
  }
  if (name === undefined) {
    usageError(`name a demo (one of ${DEMOS.map((d) => d.name).join(', ')}), or pass --list`, io.stderr);
    return EXIT.usage;
  }
  const entry = findDemo(name);
  if (!entry) {
    usageError(`no demo ${quoted(name)}; the demos are ${DEMOS.map((d) => d.name).join(', ')} (implc demo --list)`, io.stderr);
    return EXIT.usage;
  }
  const start = performance.now();
  const outcome = await runDemo(entry);
  if (outcome.error !== undefined || !outcome.result) {
    process.stderr.write(`demo ${name} failed after ${outcome.seconds.toFixed(1)} s:\n${errorText(outcome.error)}\n`);
    return EXIT.errors;
  }
  process.stdout.write('\n');
  printSummary(outcome.result);
  process.stdout.write(`time     ${outcome.seconds.toFixed(1)} s\n`);
  if (options.report !== false) {
    // Loaded here: vega and vega-lite cost a moment, which --no-report does not pay.
    const { writeReport } = await import('../../demos/report.ts');
    const path = await writeReport(
      [outcome.result],
      {
        samples: [],
        machine: machineDescription(),
        totalSeconds: (performance.now() - start) / 1000,
        demoSeconds: { [name]: outcome.seconds },
        title: `implc demo ${name}`,
      },
      options.report,
      `${name}.html`,
    );
    process.stdout.write(`report   ${path} (${Math.round(statSync(path).size / 1024)} KiB)\n`);
  }
  return EXIT.ok;
}
