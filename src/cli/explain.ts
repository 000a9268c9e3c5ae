import { explainJson, explainTex, explainText } from '../analysis/explain.ts';
import type { SourceFile } from '../diagnostics/span.ts';
import { analyzeFile } from '../pipeline.ts';
import { readModelFile } from './files.ts';
import { diagnosticsJson, EXIT, printDiagnostics, usageError } from './output.ts';

export interface ExplainOptions {
  format: 'text' | 'json' | 'tex';
  model?: string;
}

/** `implc explain FILE`: classes, pieces, Jacobian structure, verdict and certificate. */
export function runExplain(file: string, options: ExplainOptions): number {
  const text = readModelFile(file);
  if (text === null) return EXIT.usage;
  const result = analyzeFile(file, text);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    if (options.format === 'json') process.stdout.write(`${JSON.stringify(diagnosticsJson(result.diagnostics), null, 2)}\n`);
    else printDiagnostics(result.diagnostics, new Map<string, SourceFile>([[file, result.source]]));
    return EXIT.errors;
  }
  const analyses = options.model ? result.analyses.filter((a) => a.model.name === options.model) : result.analyses;
  if (options.model && analyses.length === 0) {
    usageError(`no model \`${options.model}\` in ${file}; it has ${result.analyses.map((a) => `\`${a.model.name}\``).join(', ') || 'none'}`);
    return EXIT.usage;
  }
  if (options.format === 'json') {
    const models = analyses.map(explainJson);
    process.stdout.write(`${JSON.stringify(options.model ? models[0] : models, null, 2)}\n`);
  } else if (options.format === 'tex') {
    process.stdout.write(`${analyses.map(explainTex).join('\n\n')}\n`);
  } else {
    process.stdout.write(`${analyses.map(explainText).join('\n\n')}\n`);
    const warnings = result.diagnostics.filter((d) => d.severity === 'warning');
    if (warnings.length) {
      process.stdout.write('\n');
      printDiagnostics(warnings, new Map<string, SourceFile>([[file, result.source]]));
    }
  }
  return EXIT.ok;
}
