import { CATALOG, type DiagnosticCode, type Severity } from './catalog.ts';
import type { Span } from './span.ts';

/** A secondary location shown with a diagnostic. */
export interface RelatedSpan {
  span: Span;
  message: string;
}

/** A diagnostic is a value; stages return them and a renderer prints them (rustc's model). */
export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  span: Span;
  /** Short text printed under the carets. */
  label?: string;
  notes: string[];
  help?: string;
  related: RelatedSpan[];
}

export interface DiagnosticOptions {
  label?: string;
  notes?: string[];
  help?: string;
  related?: RelatedSpan[];
}

export function diagnostic(code: DiagnosticCode, span: Span, message: string, options: DiagnosticOptions = {}): Diagnostic {
  return {
    code,
    severity: CATALOG[code].severity,
    message,
    span,
    label: options.label,
    notes: options.notes ?? [],
    help: options.help,
    related: options.related ?? [],
  };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Source order, then code: a stable order for rendering and golden files. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.span.file.localeCompare(b.span.file) ||
      a.span.start.offset - b.span.start.offset ||
      a.code.localeCompare(b.code),
  );
}
