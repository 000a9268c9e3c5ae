/**
 * implc diagnostics and spans in the Language Server Protocol's terms. A span's offsets are
 * indices into the JavaScript string of the file, that is UTF-16 code units, which is what LSP
 * positions count by default (`positionEncoding` utf-16); its 1-based line and column come
 * from the same offsets (src/diagnostics/span.ts). The editor's document converts the offsets
 * to positions, so line breaks are counted as the editor counts them.
 */
import { pathToFileURL } from 'node:url';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DiagnosticSeverity, type Diagnostic as LspDiagnostic, type DiagnosticRelatedInformation, type Range } from 'vscode-languageserver/node.js';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Span } from '../diagnostics/span.ts';

/** What a published diagnostic carries for the quick fix: the name the help suggests. */
export interface DiagnosticData {
  replacement?: string;
}

/** The name in a help text `did you mean \`x\`?` (src/check/check.ts writes it so), if any. */
export function suggestedName(help: string | undefined): string | undefined {
  return help ? /^did you mean `([^`]+)`\?$/.exec(help)?.[1] : undefined;
}

/** A span of the document's own file as an LSP range (0-based lines, UTF-16 columns). */
export function rangeOf(span: Span, doc: TextDocument): Range {
  return { start: doc.positionAt(span.start.offset), end: doc.positionAt(span.end.offset) };
}

/** A span in another file (its text is not at hand): its 1-based line and column, made 0-based. */
function rangeFromLines(span: Span): Range {
  return {
    start: { line: span.start.line - 1, character: span.start.column - 1 },
    end: { line: span.end.line - 1, character: span.end.column - 1 },
  };
}

/**
 * One implc diagnostic as LSP publishes it: the same code, severity, message and span as
 * `implc check`; the label, notes and help as lines under the message (editors show the whole
 * message on hover); the related spans as related information.
 */
export function toLspDiagnostic(d: Diagnostic, doc: TextDocument, file: string): LspDiagnostic {
  const where = (s: Span) => (s.file === file ? { uri: doc.uri, range: rangeOf(s, doc) } : { uri: pathToFileURL(s.file).href, range: rangeFromLines(s) });
  const lines = [d.message];
  if (d.label) lines.push(d.label);
  for (const n of d.notes) lines.push(`note: ${n}`);
  if (d.help) lines.push(`help: ${d.help}`);
  const related: DiagnosticRelatedInformation[] = d.related.map((r) => ({ location: where(r.span), message: r.message }));
  const replacement = suggestedName(d.help);
  const data: DiagnosticData = replacement ? { replacement } : {};
  return {
    range: where(d.span).range,
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: 'implc',
    message: lines.join('\n'),
    ...(related.length ? { relatedInformation: related } : {}),
    data,
  };
}
