// The command line run in process (src/cli/main.ts runCli): its exit code and what it wrote.
import { runCli } from '../../src/cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function implcInProcess(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

/** A line of a JavaScript stack trace (`    at f (file:1:2)`). */
export const STACK_LINE = /\n\s+at .*[(:]/;
