import { check, type CheckedModel } from './check/check.ts';
import { sortDiagnostics, type Diagnostic } from './diagnostics/diagnostic.ts';
import { SourceFile } from './diagnostics/span.ts';
import type { Program } from './syntax/ast.ts';
import { parse } from './syntax/parse.ts';

/** The front end's result for one file: every stage's diagnostics in one list. */
export interface FrontEndResult {
  source: SourceFile;
  program: Program | null;
  models: CheckedModel[];
  diagnostics: Diagnostic[];
}

/** Parse and check one file. Never throws on any input text. */
export function frontEnd(fileName: string, text: string): FrontEndResult {
  const source = new SourceFile(fileName, text);
  const parsed = parse(source);
  if (!parsed.program) return { source, program: null, models: [], diagnostics: sortDiagnostics(parsed.diagnostics) };
  const checked = check(parsed.program, parsed.recoveredNames);
  const diagnostics = sortDiagnostics([...parsed.diagnostics, ...checked.diagnostics]);
  // A file with syntax errors passes no model on: its AST is a recovery, not the user's model.
  const models = parsed.diagnostics.some((d) => d.severity === 'error') ? [] : checked.models;
  return { source, program: parsed.program, models, diagnostics };
}
