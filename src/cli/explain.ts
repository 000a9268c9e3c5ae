import { explainJson, explainTex, explainText } from '../analysis/explain.ts';
import type { SourceFile } from '../diagnostics/span.ts';
import { printable } from '../diagnostics/render.ts';
import { analyzeFile } from '../pipeline.ts';
import { readModelFile } from './files.ts';
import { toJsonText } from './json.ts';
import { diagnosticsJson, EXIT, PROCESS_IO, printDiagnostics, quoted, usageError, type CliIo } from './output.ts';

export interface ExplainOptions {
  format: 'text' | 'json' | 'tex';
  model?: string;
}

/** `implc explain FILE...`: classes, pieces, Jacobian structure, verdict and certificate. */
export async function runExplain(files: string[], options: ExplainOptions, io: CliIo = PROCESS_IO): Promise<number> {
  if (files.length > 1 && options.model) {
    usageError('--model needs a single file', io.stderr);
    return EXIT.usage;
  }
  let code: number = EXIT.ok;
  const json: ReturnType<typeof explainJson>[] = [];
  for (const file of files) code = Math.max(code, await explainOne(file, options, files.length > 1, json, io));
  if (options.format === 'json' && code !== EXIT.errors) {
    io.stdout.write(`${toJsonText(options.model ? json[0] : json).text}\n`);
  }
  return code;
}

async function explainOne(file: string, options: ExplainOptions, several: boolean, json: ReturnType<typeof explainJson>[], io: CliIo): Promise<number> {
  const text = readModelFile(file, io.stderr);
  if (text === null) return EXIT.usage;
  const result = analyzeFile(file, text);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    if (options.format === 'json') io.stdout.write(`${toJsonText(diagnosticsJson(result.diagnostics)).text}\n`);
    else printDiagnostics(result.diagnostics, new Map<string, SourceFile>([[file, result.source]]), io.stdout);
    return EXIT.errors;
  }
  const analyses = options.model ? result.analyses.filter((a) => a.model.name === options.model) : result.analyses;
  if (options.model && analyses.length === 0) {
    usageError(`no model ${quoted(options.model)} in ${quoted(file)}; it has ${result.analyses.map((a) => quoted(a.model.name)).join(', ') || 'none'}`, io.stderr);
    return EXIT.usage;
  }
  if (options.format === 'json') {
    json.push(...analyses.map(explainJson));
  } else if (options.format === 'tex') {
    io.stdout.write(`${(await Promise.all(analyses.map(explainTex))).join('\n\n')}\n`);
  } else {
    if (several) io.stdout.write(`== ${printable(file)}\n`);
    io.stdout.write(`${analyses.map(explainText).join('\n\n')}\n\n`);
    const warnings = result.diagnostics.filter((d) => d.severity === 'warning');
    if (warnings.length) {
      io.stdout.write('\n');
      printDiagnostics(warnings, new Map<string, SourceFile>([[file, result.source]]), io.stdout);
    }
  }
  return EXIT.ok;
}
