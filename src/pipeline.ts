import { analyze, type Analysis } from './analysis/analyze.ts';
import { frontEnd, type FrontEndResult } from './compile.ts';
import { sortDiagnostics, type Diagnostic } from './diagnostics/diagnostic.ts';

export interface AnalyzedFile extends FrontEndResult {
  analyses: Analysis[];
}

/** Front end, then the analysis of every model without errors. */
export function analyzeFile(fileName: string, text: string): AnalyzedFile {
  const front = frontEnd(fileName, text);
  const analyses = front.models.map((m) => analyze(m, text));
  const diagnostics: Diagnostic[] = sortDiagnostics([...front.diagnostics, ...analyses.flatMap((a) => a.diagnostics)]);
  return { ...front, analyses, diagnostics };
}
