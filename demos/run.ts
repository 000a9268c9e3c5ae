/**
 * `npm start`: compile every sample model, run every demo, print a summary, and write
 * report/index.html. Exit code 1 when a sample has errors or a demo fails (the others still
 * run and the report is still written); 0 otherwise.
 */
import { statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pc from 'picocolors';
import { useColor } from '../src/cli/output.ts';
import type { DemoContext, DemoResult } from './demo.ts';
import { DEMOS, type DemoEntry } from './index.ts';
// Type-only: codegen (ts-morph) and the chart renderer (vega) are loaded by main() when it
// needs them, so that `implc demo --list`, which imports this module, stays quick.
import type { CompiledSample } from './report-samples.ts';
import type { DemoFailure, SampleRow } from './report.ts';

const c = pc.createColors(useColor);
const out = (line = '') => process.stdout.write(`${line}\n`);

/** The whole run should take less than this on the reference 2-core machine. */
export const BUDGET_SECONDS = 300;

/** CPU, cores, memory, Node: the header of the console output and of the report. */
export function machineDescription(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.replace(/\s+/g, ' ').trim() || 'unknown CPU';
  return `${model}, ${cpu.length} core${cpu.length === 1 ? '' : 's'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version} on ${process.platform}-${process.arch}`;
}

const seconds = (start: number) => (performance.now() - start) / 1000;

export interface DemoOutcome {
  entry: DemoEntry;
  title: string;
  seconds: number;
  result?: DemoResult;
  error?: unknown;
}

/** The console context of a demo: its lines indented under its header. */
export function consoleContext(): DemoContext {
  return { log: (line: string) => out(`  ${line}`), tty: Boolean(process.stdout.isTTY) };
}

/** Load and run one demo; a throw (at load or run) is caught and returned. */
export async function runDemo(entry: DemoEntry, ctx: DemoContext = consoleContext()): Promise<DemoOutcome> {
  const start = performance.now();
  let title = entry.name;
  let header = false;
  try {
    const demo = await entry.load();
    title = demo.title;
    out(c.bold(`== ${entry.name}: ${demo.title}`));
    header = true;
    const result = await demo.run(ctx);
    return { entry, title: result.title || title, seconds: seconds(start), result };
  } catch (error) {
    if (!header) out(c.bold(`== ${entry.name}`));
    return { entry, title, seconds: seconds(start), error };
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}

/** A demo's summary lines under its title. */
export function printSummary(result: DemoResult): void {
  out(c.bold(`${result.name}: ${result.title}`));
  for (const line of result.summary) out(`  ${line}`);
}

function printSamples(compiled: CompiledSample[]): void {
  const rows = compiled.flatMap((s) => s.rows);
  const w = (k: (r: SampleRow) => string) => Math.max(...rows.map((r) => k(r).length));
  const wf = w((r) => r.file);
  const wm = w((r) => r.model);
  for (const r of rows) {
    if (r.error) {
      out(`  ${r.file.padEnd(wf)}  ${c.red('error')}  ${r.error}`);
      continue;
    }
    const verdict = `${r.verdict} (${r.test})`;
    const paint = r.verdict === 'violated' ? c.red : r.verdict === 'unverified' ? c.yellow : c.green;
    out(`  ${r.file.padEnd(wf)}  ${r.model.padEnd(wm)}  ${paint(verdict)}${r.guard ? `  guard ${r.guard}` : ''}`);
  }
}

/** `npm start`. Returns the exit code. */
export async function main(): Promise<number> {
  const start = performance.now();
  const machine = machineDescription();
  let failed = false;
  out(c.bold('implc demos'));
  out(`machine  ${machine}`);
  out();

  // (a) Every sample, compiled as `implc check` and `implc build` would.
  out(c.bold('== samples: analysis and code generation'));
  const t0 = performance.now();
  const { compileSample, sampleFiles } = await import('./report-samples.ts');
  const compiled: CompiledSample[] = [];
  for (const file of sampleFiles()) {
    try {
      compiled.push(compileSample(file));
    } catch (e) {
      compiled.push({ file, rows: [{ file, model: '-', verdict: 'error', test: '-', guard: null, error: `internal error: ${(e as Error).message}` }], errors: [String(e)], warnings: 0, moduleChars: 0 });
    }
  }
  printSamples(compiled);
  const models = compiled.reduce((n, s) => n + (s.errors.length ? 0 : s.rows.length), 0);
  const errors = compiled.reduce((n, s) => n + s.errors.length, 0);
  const warnings = compiled.reduce((n, s) => n + s.warnings, 0);
  const chars = compiled.reduce((n, s) => n + s.moduleChars, 0);
  out(
    `  ${models} models in ${compiled.length} files: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ` +
      `${Math.round(chars / 1024)} KiB of generated TypeScript, ${seconds(t0).toFixed(1)} s`,
  );
  if (errors) {
    failed = true;
    for (const s of compiled) for (const e of s.errors) out(c.red(`  ${e}`));
  }
  out();

  // (b) Every demo, in order; a failing one is reported and the others still run.
  const outcomes: DemoOutcome[] = [];
  for (const entry of DEMOS) {
    const o = await runDemo(entry);
    outcomes.push(o);
    if (o.error !== undefined) {
      failed = true;
      out(c.red(`  ${entry.name} failed after ${o.seconds.toFixed(1)} s:`));
      for (const line of errorText(o.error).split('\n')) out(c.red(`    ${line}`));
    } else {
      out(`  ${entry.name} done in ${o.seconds.toFixed(1)} s`);
    }
    out();
  }

  // (c) The summary block.
  out(c.bold('== summary'));
  for (const o of outcomes) {
    if (o.result) printSummary(o.result);
    else out(`${c.bold(`${o.entry.name}: ${o.title}`)}  ${c.red('FAILED')}`);
  }
  out();
  out(c.bold('time per demo'));
  for (const o of outcomes) out(`  ${o.entry.name.padEnd(14)} ${o.seconds.toFixed(1).padStart(7)} s${o.error !== undefined ? c.red('  (failed)') : ''}`);
  out();

  // (d) The report.
  const results = outcomes.flatMap((o) => (o.result ? [o.result] : []));
  const failures: DemoFailure[] = outcomes.flatMap((o) => (o.error !== undefined ? [{ name: o.entry.name, title: o.title, error: errorText(o.error) }] : []));
  const demoSeconds = Object.fromEntries(outcomes.map((o) => [o.entry.name, o.seconds]));
  try {
    const { writeReport } = await import('./report.ts');
    const path = await writeReport(results, { samples: compiled.flatMap((s) => s.rows), machine, totalSeconds: seconds(start), demoSeconds, failures, order: outcomes.map((o) => o.entry.name) });
    out(`report   ${path} (${Math.round(statSync(path).size / 1024)} KiB)`);
  } catch (e) {
    failed = true;
    out(c.red(`report not written: ${errorText(e)}`));
  }

  // (e) Total time.
  const total = seconds(start);
  out(`total    ${total.toFixed(1)} s${total > BUDGET_SECONDS ? c.yellow(`  (over the ${BUDGET_SECONDS} s budget)`) : ''}`);
  if (failed) out(c.red('some steps failed (see above)'));
  return failed ? 1 : 0;
}

const isEntry = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntry) {
  const code = await main();
  // Exit explicitly: a demo that leaves a handle open (a worker, a timer) must not hang `npm start`.
  process.exit(code);
}
