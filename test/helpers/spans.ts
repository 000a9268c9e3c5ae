// Independent recomputation of line/column from offsets, to cross-check SourceFile.
import type { Position, Span } from '../../src/diagnostics/span.ts';

/** 1-based line and column (UTF-16 units) of a 0-based offset; lines end at '\n' only. */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, offset };
}

/** Problems with a span against the text it points into (empty when consistent). */
export function spanProblems(span: Span, text: string, file: string, what = 'span'): string[] {
  const out: string[] = [];
  const { start, end } = span;
  if (span.file !== file) out.push(`${what}: file ${JSON.stringify(span.file)} is not ${JSON.stringify(file)}`);
  for (const [name, p] of [['start', start], ['end', end]] as const) {
    if (!Number.isInteger(p.offset) || !Number.isInteger(p.line) || !Number.isInteger(p.column)) {
      out.push(`${what}.${name}: non-integer position ${JSON.stringify(p)}`);
      continue;
    }
    if (p.offset < 0 || p.offset > text.length) out.push(`${what}.${name}: offset ${p.offset} outside [0, ${text.length}]`);
    const expected = positionAt(text, p.offset);
    if (p.line !== expected.line || p.column !== expected.column) {
      out.push(`${what}.${name}: ${p.line}:${p.column} at offset ${p.offset}, expected ${expected.line}:${expected.column}`);
    }
  }
  if (start.offset > end.offset) out.push(`${what}: start offset ${start.offset} > end offset ${end.offset}`);
  return out;
}
