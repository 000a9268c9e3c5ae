import pc from 'picocolors';
import { CATALOG } from './catalog.ts';
import type { Diagnostic } from './diagnostic.ts';
import type { SourceFile, Span } from './span.ts';

export interface RenderOptions {
  color: boolean;
}

type Colors = ReturnType<typeof pc.createColors>;

/** A span with its text under the source line: `^` marks the primary span, `-` the others. */
interface Label {
  span: Span;
  text: string;
  primary: boolean;
}

/** How many related spans of one diagnostic are drawn under the source; the others are counted. */
export const MAX_RELATED_LABELS = 8;

/** Text rendering in the style of rustc: header, location, source lines with labels, notes. */
export function renderText(d: Diagnostic, source: SourceFile | undefined, options: RenderOptions): string {
  const c = pc.createColors(options.color);
  const tone = d.severity === 'error' ? c.red : c.yellow;
  // Each label on a line adds a row under it: past a few, the rest are counted, not drawn
  // (a model with thousands of kinks would print millions of rows; JSON keeps them all).
  const inFile = d.related.filter((r) => source && r.span.file === source.name);
  const labels: Label[] = [
    { span: d.span, text: d.label ?? '', primary: true },
    ...inFile.slice(0, MAX_RELATED_LABELS).map((r) => ({ span: r.span, text: r.message, primary: false })),
  ];
  const hidden = Math.max(0, inFile.length - MAX_RELATED_LABELS);
  const gutter = String(Math.max(...labels.map((l) => Math.min(l.span.end.line, l.span.start.line + 2)))).length;
  const pad = ' '.repeat(gutter);
  const bar = c.blue('|');
  const out: string[] = [];
  out.push(`${tone(c.bold(`${d.severity}[${d.code}]`))}${c.bold(`: ${d.message}`)}`);
  out.push(`${pad}${c.blue('-->')} ${printable(d.span.file)}:${d.span.start.line}:${d.span.start.column}`);
  if (source) {
    out.push(`${pad} ${bar}`);
    const lines = [...new Set(labels.map((l) => l.span.start.line))].sort((a, b) => a - b);
    let previous = 0;
    for (const line of lines) {
      if (previous && line > previous + 1) out.push(c.blue('...'));
      const onLine = labels.filter((l) => l.span.start.line === line);
      previous = renderLine(out, source, line, onLine, gutter, tone, c);
    }
    out.push(`${pad} ${bar}`);
  }
  for (const r of d.related) {
    if (source && r.span.file === source.name) continue;
    out.push(`${pad} ${c.blue('=')} ${c.bold('see')}: ${printable(r.span.file)}:${r.span.start.line}:${r.span.start.column}: ${r.message}`);
  }
  if (hidden > 0) out.push(`${pad} ${c.blue('=')} ${c.bold('note')}: ${hidden} more related place${hidden === 1 ? '' : 's'} not shown (\`--format json\` lists them all)`);
  for (const n of d.notes) out.push(`${pad} ${c.blue('=')} ${c.bold('note')}: ${n}`);
  if (d.help) out.push(`${pad} ${c.blue('=')} ${c.bold('help')}: ${d.help}`);
  return out.join('\n');
}

/**
 * One source line (or up to three for a multi-line span) and the labels starting on it.
 * Several labels on a line share one marker row; all but the rightmost hang below it on
 * `|` connectors, as rustc draws them. Returns the last source line printed.
 */
function renderLine(out: string[], source: SourceFile, line: number, labels: Label[], gutter: number, tone: (s: string) => string, c: Colors): number {
  const bar = c.blue('|');
  const pad = ' '.repeat(gutter);
  const text = source.lineText(line).replace(/\t/g, ' ');
  out.push(`${c.blue(String(line).padStart(gutter))} ${bar} ${text}`);
  const sorted = [...labels].sort((a, b) => a.span.start.column - b.span.start.column);
  const paint = (l: Label, s: string) => (l.primary ? tone(s) : c.blue(s));
  const from = (l: Label) => l.span.start.column - 1;
  const to = (l: Label) => {
    const end = l.span.end.line === line ? l.span.end.column - 1 : text.length;
    return Math.max(end, from(l) + 1);
  };
  let marks = '';
  let width = 0;
  for (const l of sorted) {
    if (from(l) < width) continue; // overlapping marks: the earlier one wins the row
    marks += ' '.repeat(from(l) - width) + paint(l, (l.primary ? '^' : '-').repeat(to(l) - from(l)));
    width = to(l);
  }
  const last = sorted[sorted.length - 1];
  const hanging = sorted.slice(0, -1).filter((l) => l.text);
  out.push(`${pad} ${bar} ${marks}${last.text ? ` ${paint(last, last.text)}` : ''}`.trimEnd());
  if (hanging.length) {
    const connectors = (upTo: number) => {
      let row = '';
      for (const l of hanging.slice(0, upTo)) {
        const gap = from(l) - stripAnsi(row).length;
        if (gap >= 0) row += ' '.repeat(gap) + paint(l, '|');
      }
      return row;
    };
    out.push(`${pad} ${bar} ${connectors(hanging.length)}`);
    for (let i = hanging.length - 1; i >= 0; i--) {
      const row = connectors(i);
      out.push(`${pad} ${bar} ${row}${' '.repeat(Math.max(0, from(hanging[i]) - stripAnsi(row).length))}${paint(hanging[i], hanging[i].text)}`);
    }
  }
  // A multi-line primary span: show up to two more lines, marked to their ends.
  let shown = line;
  for (const l of sorted) {
    if (l.span.end.line === line) continue;
    for (let next = line + 1; next <= Math.min(l.span.end.line, line + 2); next++) {
      const t = source.lineText(next).replace(/\t/g, ' ');
      const start = /\S/.exec(t)?.index ?? 0;
      const end = next === l.span.end.line ? Math.max(l.span.end.column - 1, start + 1) : t.length;
      out.push(`${c.blue(String(next).padStart(gutter))} ${bar} ${t}`);
      out.push(`${pad} ${bar} ${' '.repeat(start)}${paint(l, (l.primary ? '^' : '-').repeat(Math.max(1, end - start)))}`);
      shown = Math.max(shown, next);
    }
  }
  return shown;
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

export function renderSummary(diagnostics: readonly Diagnostic[], options: RenderOptions): string {
  const c = pc.createColors(options.color);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const parts: string[] = [];
  if (errors) parts.push(c.red(`${errors} error${errors === 1 ? '' : 's'}`));
  if (warnings) parts.push(c.yellow(`${warnings} warning${warnings === 1 ? '' : 's'}`));
  return parts.join(', ');
}

export interface SpanJson {
  start: { line: number; column: number; offset: number };
  end: { line: number; column: number; offset: number };
}

/** JSON form of a diagnostic (README "Diagnostics"). */
export interface DiagnosticJson {
  code: string;
  severity: 'error' | 'warning';
  title: string;
  message: string;
  file: string;
  span: SpanJson;
  label: string | null;
  notes: string[];
  help: string | null;
  related: { message: string; file: string; span: SpanJson }[];
}

export function spanJson(s: Span): SpanJson {
  return { start: { ...s.start }, end: { ...s.end } };
}

export function toJson(d: Diagnostic): DiagnosticJson {
  return {
    code: d.code,
    severity: d.severity,
    title: CATALOG[d.code].title,
    message: d.message,
    file: d.span.file,
    span: spanJson(d.span),
    label: d.label ?? null,
    notes: d.notes,
    help: d.help ?? null,
    related: d.related.map((r) => ({ message: r.message, file: r.span.file, span: spanJson(r.span) })),
  };
}

/**
 * Text with its control characters (and line separators) escaped as `\uXXXX`: one printable
 * line, so that a file name holding a newline or a terminal escape cannot forge output.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
