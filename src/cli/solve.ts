import { readFileSync } from 'node:fs';
import { loadModule } from '../../codegen/build.ts';
import { emitModule } from '../../codegen/emit-module.ts';
import type { SourceFile } from '../diagnostics/span.ts';
import { analyzeFile } from '../pipeline.ts';
import { InputError } from '../runtime/inputs.ts';
import { readModelFile } from './files.ts';
import { EXIT, printDiagnostics, usageError } from './output.ts';

export interface SolveOptions {
  input: string;
  model?: string;
  jacobian: boolean;
  method: 'auto' | 'fixed-point' | 'anderson' | 'newton';
  tol?: number;
  maxIter?: number;
}

/** `implc solve FILE --input IN.json`: solve, certify, differentiate; print the JSON of LANGUAGE.md. */
export async function runSolve(file: string, options: SolveOptions): Promise<number> {
  const text = readModelFile(file);
  if (text === null) return EXIT.usage;
  const result = analyzeFile(file, text);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    // stdout carries the JSON result only.
    printDiagnostics(errors, new Map<string, SourceFile>([[file, result.source]]), process.stderr);
    return EXIT.errors;
  }
  const names = result.analyses.map((a) => a.model.name);
  const analysis = options.model ? result.analyses.find((a) => a.model.name === options.model) : result.analyses.length === 1 ? result.analyses[0] : undefined;
  if (!analysis) {
    usageError(options.model ? `no model \`${options.model}\` in ${file}; it has ${names.map((n) => `\`${n}\``).join(', ')}` : `${file} has several models (${names.join(', ')}): choose one with --model`);
    return EXIT.usage;
  }
  let inputs: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(readFileSync(options.input, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InputError('the input file must hold one JSON object keyed by input names');
    inputs = parsed as Record<string, unknown>;
  } catch (e) {
    usageError(`cannot read inputs from \`${options.input}\`: ${(e as Error).message}`);
    return EXIT.usage;
  }
  const Model = await loadModule(emitModule(analysis, file));
  let instance;
  try {
    instance = new Model(inputs);
  } catch (e) {
    if (e instanceof InputError) {
      usageError(`invalid input for model ${analysis.model.name} [${e.code}]: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
  const out = instance.solve({ method: options.method, tol: options.tol, maxIter: options.maxIter, jacobian: options.jacobian }) as {
    status: string;
    certificate: { verdict: string };
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return out.status === 'converged' && out.certificate.verdict !== 'violated' ? EXIT.ok : EXIT.errors;
}
