import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emitAll } from '../../codegen/build.ts';
import type { SourceFile } from '../diagnostics/span.ts';
import { analyzeFile } from '../pipeline.ts';
import { readModelFile } from './files.ts';
import { EXIT, printDiagnostics, usageError } from './output.ts';

/** `implc build FILE... -o DIR`: one TypeScript module per model. */
export function runBuild(files: string[], options: { out: string }): number {
  let code: number = EXIT.ok;
  for (const file of files) code = Math.max(code, buildOne(file, options));
  return code;
}

function buildOne(file: string, options: { out: string }): number {
  const text = readModelFile(file);
  if (text === null) return EXIT.usage;
  const result = analyzeFile(file, text);
  if (result.diagnostics.length) printDiagnostics(result.diagnostics, new Map<string, SourceFile>([[file, result.source]]));
  if (result.diagnostics.some((d) => d.severity === 'error')) return EXIT.errors;
  try {
    mkdirSync(options.out, { recursive: true });
  } catch (e) {
    usageError(`cannot create \`${options.out}\`: ${(e as Error).message}`);
    return EXIT.usage;
  }
  for (const m of emitAll(result.analyses, file)) {
    const path = join(options.out, m.fileName);
    writeFileSync(path, m.text);
    process.stdout.write(`wrote ${path} (model ${m.model})\n`);
  }
  return EXIT.ok;
}
