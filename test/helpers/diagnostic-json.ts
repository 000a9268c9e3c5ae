// Runtime validation of the JSON that `implc check --format json` prints, field by field
// against `DiagnosticJson` of src/diagnostics/render.ts. A validator returns a list of
// problems (empty when valid), each naming the JSON path, so a failing test says what broke.
import { CATALOG } from '../../src/diagnostics/catalog.ts';
import type { DiagnosticJson, SpanJson } from '../../src/diagnostics/render.ts';

type Problems = string[];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function exactKeys(v: Record<string, unknown>, keys: readonly string[], path: string, out: Problems): void {
  for (const k of keys) if (!(k in v)) out.push(`${path}.${k}: missing`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) out.push(`${path}.${k}: unexpected field`);
}

function checkString(v: unknown, path: string, out: Problems, nonEmpty = false): void {
  if (typeof v !== 'string') out.push(`${path}: expected a string, got ${JSON.stringify(v)}`);
  else if (nonEmpty && v.length === 0) out.push(`${path}: expected a non-empty string`);
}

function checkNullableString(v: unknown, path: string, out: Problems): void {
  if (v !== null && typeof v !== 'string') out.push(`${path}: expected a string or null, got ${JSON.stringify(v)}`);
}

function checkStringArray(v: unknown, path: string, out: Problems): void {
  if (!Array.isArray(v)) {
    out.push(`${path}: expected an array`);
    return;
  }
  v.forEach((s, i) => checkString(s, `${path}[${i}]`, out));
}

function checkPosition(v: unknown, path: string, out: Problems): void {
  if (!isObject(v)) {
    out.push(`${path}: expected an object`);
    return;
  }
  exactKeys(v, ['line', 'column', 'offset'], path, out);
  if (!isInt(v.line) || v.line < 1) out.push(`${path}.line: expected an integer >= 1, got ${JSON.stringify(v.line)}`);
  if (!isInt(v.column) || v.column < 1) out.push(`${path}.column: expected an integer >= 1, got ${JSON.stringify(v.column)}`);
  if (!isInt(v.offset) || v.offset < 0) out.push(`${path}.offset: expected an integer >= 0, got ${JSON.stringify(v.offset)}`);
}

export function validateSpanJson(v: unknown, path = 'span'): Problems {
  const out: Problems = [];
  if (!isObject(v)) return [`${path}: expected an object`];
  exactKeys(v, ['start', 'end'], path, out);
  checkPosition(v.start, `${path}.start`, out);
  checkPosition(v.end, `${path}.end`, out);
  if (out.length === 0) {
    const s = v.start as SpanJson['start'];
    const e = v.end as SpanJson['end'];
    if (s.offset > e.offset) out.push(`${path}: start offset ${s.offset} is after end offset ${e.offset}`);
    if (s.line > e.line || (s.line === e.line && s.column > e.column)) out.push(`${path}: start ${s.line}:${s.column} is after end ${e.line}:${e.column}`);
  }
  return out;
}

/** Problems with one diagnostic object; `[]` when it is a valid `DiagnosticJson`. */
export function validateDiagnosticJson(v: unknown, path = 'diagnostic'): Problems {
  const out: Problems = [];
  if (!isObject(v)) return [`${path}: expected an object`];
  exactKeys(v, ['code', 'severity', 'title', 'message', 'file', 'span', 'label', 'notes', 'help', 'related'], path, out);
  checkString(v.code, `${path}.code`, out, true);
  if (typeof v.code === 'string') {
    const entry = (CATALOG as Record<string, { title: string; severity: string }>)[v.code];
    if (!entry) out.push(`${path}.code: ${v.code} is not in the catalog`);
    else {
      if (v.title !== entry.title) out.push(`${path}.title: expected the catalog title ${JSON.stringify(entry.title)}, got ${JSON.stringify(v.title)}`);
      if (v.severity !== entry.severity) out.push(`${path}.severity: expected the catalog severity ${entry.severity}, got ${JSON.stringify(v.severity)}`);
    }
  }
  if (v.severity !== 'error' && v.severity !== 'warning') out.push(`${path}.severity: expected "error" or "warning", got ${JSON.stringify(v.severity)}`);
  checkString(v.title, `${path}.title`, out, true);
  checkString(v.message, `${path}.message`, out, true);
  checkString(v.file, `${path}.file`, out, true);
  out.push(...validateSpanJson(v.span, `${path}.span`));
  checkNullableString(v.label, `${path}.label`, out);
  checkStringArray(v.notes, `${path}.notes`, out);
  checkNullableString(v.help, `${path}.help`, out);
  if (!Array.isArray(v.related)) out.push(`${path}.related: expected an array`);
  else {
    v.related.forEach((r, i) => {
      const p = `${path}.related[${i}]`;
      if (!isObject(r)) {
        out.push(`${p}: expected an object`);
        return;
      }
      exactKeys(r, ['message', 'file', 'span'], p, out);
      checkString(r.message, `${p}.message`, out, true);
      checkString(r.file, `${p}.file`, out, true);
      out.push(...validateSpanJson(r.span, `${p}.span`));
    });
  }
  return out;
}

export interface CheckJson {
  diagnostics: DiagnosticJson[];
  errors: number;
  warnings: number;
}

/** Problems with the whole output of `implc check --format json`. */
export function validateCheckJson(v: unknown): Problems {
  const out: Problems = [];
  if (!isObject(v)) return ['$: expected an object'];
  exactKeys(v, ['diagnostics', 'errors', 'warnings'], '$', out);
  if (!Array.isArray(v.diagnostics)) return [...out, '$.diagnostics: expected an array'];
  v.diagnostics.forEach((d, i) => out.push(...validateDiagnosticJson(d, `$.diagnostics[${i}]`)));
  const list = v.diagnostics as { severity?: unknown }[];
  const errors = list.filter((d) => d.severity === 'error').length;
  const warnings = list.filter((d) => d.severity === 'warning').length;
  if (!isInt(v.errors)) out.push('$.errors: expected an integer');
  else if (v.errors !== errors) out.push(`$.errors: ${v.errors}, but ${errors} diagnostics are errors`);
  if (!isInt(v.warnings)) out.push('$.warnings: expected an integer');
  else if (v.warnings !== warnings) out.push(`$.warnings: ${v.warnings}, but ${warnings} diagnostics are warnings`);
  return out;
}

/** Narrowing assertion for tests: throws with every problem listed. */
export function assertCheckJson(v: unknown): asserts v is CheckJson {
  const problems = validateCheckJson(v);
  if (problems.length) throw new Error(`invalid check JSON:\n  ${problems.join('\n  ')}`);
}
