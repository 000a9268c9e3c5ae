import { check, type CheckedModel } from './check/check.ts';
import { diagnostic, sortDiagnostics, type Diagnostic } from './diagnostics/diagnostic.ts';
import { MAX_IR_DEPTH, lowerOrDepthError } from './ir/lower.ts';
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
  // A file with syntax errors passes no model on: its AST is a recovery, not the user's model.
  const candidates = parsed.diagnostics.some((d) => d.severity === 'error') ? [] : checked.models;
  const depthErrors: Diagnostic[] = [];
  const models = candidates.filter((m) => {
    const deep = lowerOrDepthError(m, text);
    if (deep) depthErrors.push(tooDeepToCompile(deep.span, deep.what));
    return deep === null;
  });
  const diagnostics = sortDiagnostics([...parsed.diagnostics, ...checked.diagnostics, ...depthErrors]);
  return { source, program: parsed.program, models, diagnostics };
}

function tooDeepToCompile(span: Diagnostic['span'], what: string): Diagnostic {
  return diagnostic('E0004', span, `expression is more than ${MAX_IR_DEPTH} operations deep`, {
    label: `${what} here is operation ${MAX_IR_DEPTH + 1} in a row`,
    notes: [
      'long runs of `+`, `-`, `.*`, `&&`, `||` and of `*` by a scalar are regrouped and stay shallow; each `/`, `./`, matrix product, `\'` and nested call counts one level',
      'a `let` is inlined: its depth adds to every expression that uses it',
    ],
    help: 'regroup the chain with parentheses (e.g. `a / (b * c * d)`), or split the model',
  });
}
