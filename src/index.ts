/**
 * implc: the compiler's public API (package.json `exports["."]`). The runtime that generated
 * modules import is `implc/runtime`.
 *
 *   analyzeFile(name, text)   parse, check and analyze one file; diagnostics of every stage
 *   emitModule(analysis, f)   the TypeScript module of one analyzed model
 *   compileModel(file, M)     both, then load the generated class in process
 *   runCli(args, io)          the `implc` command line, in process; returns the exit code
 */
export type { AnalyzedFile } from './pipeline.ts';
export { analyzeFile } from './pipeline.ts';
export type { FrontEndResult } from './compile.ts';
export { frontEnd } from './compile.ts';
export type { Analysis, KinkSite } from './analysis/analyze.ts';
export { analyze } from './analysis/analyze.ts';
export type { ExplainJson } from './analysis/explain.ts';
export { explainJson, explainTex, explainText } from './analysis/explain.ts';

export type { EmittedModule } from '../codegen/emit-module.ts';
export { emitModule, RUNTIME_IMPORT } from '../codegen/emit-module.ts';
export type { GeneratedInstance, ModelClass } from '../codegen/build.ts';
export { compileModel } from './compile-model.ts';
export { emitAll, loadModule } from '../codegen/build.ts';

export type { CatalogEntry, DiagnosticCode, Severity } from './diagnostics/catalog.ts';
export { CATALOG } from './diagnostics/catalog.ts';
export type { Diagnostic, DiagnosticOptions, RelatedSpan } from './diagnostics/diagnostic.ts';
export { hasErrors, sortDiagnostics } from './diagnostics/diagnostic.ts';
export type { DiagnosticJson, RenderOptions, SpanJson } from './diagnostics/render.ts';
export { renderSummary, renderText, toJson } from './diagnostics/render.ts';
export type { Position, Span } from './diagnostics/span.ts';
export { formatSpan, SourceFile } from './diagnostics/span.ts';

export type { CliIo, Writer } from './cli/output.ts';
export { EXIT } from './cli/output.ts';
export { runCli } from './cli/main.ts';
