/**
 * A dimension: a literal size, a declared size symbol (`n`), or an affine combination of dim
 * symbols and a literal (`m + n`, `n + 1`, `2*n`), as concatenation makes (`[a; b]` of real[n]
 * and real[m] is real[m + n]). A combination is kept as one normalized string (see `dimOf`):
 * terms sorted by name, coefficient first (`2*n`), the literal last, so that equal sums are
 * equal strings and `sameShape` stays a comparison of strings. A plain symbol is its name, a
 * constant combination is a number: every Dim there was before sums is written as before.
 */
export type Dim = string | number;

/** A Dim as an affine form `c + sum coef * dim` (terms with coefficient 0 are absent). */
export interface DimForm {
  c: number;
  terms: Map<string, number>;
}

/** Is `d` one declared symbol (not a number, not a sum)? */
export function isDimName(d: Dim): boolean {
  return typeof d === 'string' && !/[\s+*-]/.test(d);
}

/** The affine form of a Dim (parses a normalized sum string). */
export function dimForm(d: Dim): DimForm {
  if (typeof d === 'number') return { c: d, terms: new Map() };
  if (isDimName(d)) return { c: 0, terms: new Map([[d, 1]]) };
  const out: DimForm = { c: 0, terms: new Map() };
  for (const tok of d.replace(/\s+/g, '').match(/[+-]?[^+-]+/g) ?? []) {
    const sign = tok.startsWith('-') ? -1 : 1;
    const body = tok.replace(/^[+-]/, '');
    const m = /^(\d+)\*(.+)$/.exec(body);
    if (/^\d+$/.test(body)) out.c += sign * Number(body);
    else if (m) out.terms.set(m[2], (out.terms.get(m[2]) ?? 0) + sign * Number(m[1]));
    else out.terms.set(body, (out.terms.get(body) ?? 0) + sign);
  }
  for (const [k, v] of out.terms) if (v === 0) out.terms.delete(k);
  return out;
}

/** The normalized Dim of an affine form: a number, a name, or a sum string (`m + n`, `n - 1`, `2*n + 1`). */
export function dimOf(f: DimForm): Dim {
  const terms = [...f.terms].filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (terms.length === 0) return f.c;
  if (terms.length === 1 && terms[0][1] === 1 && f.c === 0) return terms[0][0];
  let text = '';
  const push = (neg: boolean, body: string) => {
    text += text === '' ? (neg ? `-${body}` : body) : neg ? ` - ${body}` : ` + ${body}`;
  };
  for (const [k, v] of terms) push(v < 0, Math.abs(v) === 1 ? k : `${Math.abs(v)}*${k}`);
  if (f.c !== 0) push(f.c < 0, String(Math.abs(f.c)));
  return text;
}

/** The sum of Dims, normalized (`addDims('n', 'm')` is `'m + n'`, `addDims('n', 1)` is `'n + 1'`). */
export function addDims(...ds: readonly Dim[]): Dim {
  const out: DimForm = { c: 0, terms: new Map() };
  for (const d of ds) {
    const f = dimForm(d);
    out.c += f.c;
    for (const [k, v] of f.terms) out.terms.set(k, (out.terms.get(k) ?? 0) + v);
  }
  return dimOf(out);
}

/** The dim symbols a Dim reads. */
export function dimNames(d: Dim): string[] {
  return [...dimForm(d).terms.keys()];
}

/** The value of a Dim with the dims bound (own properties only), or undefined when a symbol it reads is unbound. */
export function evalDim(d: Dim, dims: Readonly<Record<string, number>>): number | undefined {
  if (typeof d === 'number') return d;
  const f = dimForm(d);
  let v = f.c;
  for (const [k, coef] of f.terms) {
    const x = Object.hasOwn(dims, k) ? dims[k] : undefined;
    if (x === undefined) return undefined;
    v += coef * x;
  }
  return v;
}

/** Array shape: [] is a scalar, [n] a vector, [m, n] a matrix. */
export type Shape = readonly Dim[];

/**
 * The type of an expression: a real array, a condition (bool) array, group labels
 * (`index[p]`: positive integer ids, data only; only the group primitives read them,
 * src/primitives/groups.ts), or a cone (`cone K = ...`, shape [its length]: only the cone
 * primitives read it, src/primitives/cones.ts; the checker's type only, the IR holds its code).
 */
export interface ValueType {
  kind: 'real' | 'bool' | 'index' | 'cone';
  shape: Shape;
}

export const SCALAR: Shape = [];

/** Group labels (`index[p]`): checked at bind time as positive integers (src/runtime/inputs.ts). */
export function isLabels(t: ValueType): boolean {
  return t.kind === 'index';
}

export function real(shape: Shape): ValueType {
  return { kind: 'real', shape };
}

export function isScalar(s: Shape): boolean {
  return s.every((d) => d === 1);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function showShape(s: Shape): string {
  return s.length === 0 ? 'real' : `real[${s.join(', ')}]`;
}

export function showType(t: ValueType): string {
  if (t.kind === 'index') return t.shape.length === 0 ? 'index' : `index[${t.shape.join(', ')}]`;
  if (t.kind === 'cone') return `a cone of length ${t.shape[0]}`;
  return t.kind === 'bool' ? (t.shape.length === 0 ? 'condition' : `condition[${t.shape.join(', ')}]`) : showShape(t.shape);
}

/**
 * Elementwise broadcasting: all shapes equal, or scalar. Returns the common shape, or null
 * when two non-scalar shapes differ.
 */
export function broadcast(shapes: readonly Shape[]): Shape | null {
  let out: Shape = SCALAR;
  for (const s of shapes) {
    if (isScalar(s)) continue;
    if (isScalar(out)) out = s;
    else if (!sameShape(out, s)) return null;
  }
  return out;
}

/** The total size as a polynomial in the dims: monomial (sorted dim names joined by '*') -> coefficient. */
export type SizePoly = Map<string, number>;

export function sizeOf(s: Shape): SizePoly {
  // The product of the axes' affine forms, expanded (a sum dim `m + n` makes two monomials).
  let poly: SizePoly = new Map([['', 1]]);
  for (const d of s) {
    const f = dimForm(d);
    const next: SizePoly = new Map();
    const add = (names: string[], c: number) => {
      const key = names.sort().join('*');
      next.set(key, (next.get(key) ?? 0) + c);
    };
    for (const [m, c] of poly) {
      const names = m === '' ? [] : m.split('*');
      add([...names], c * f.c);
      for (const [k, v] of f.terms) add([...names, k], c * v);
    }
    poly = next;
  }
  if (poly.size > 1) for (const [k, v] of poly) if (v === 0) poly.delete(k);
  return poly;
}

export function addSize(a: SizePoly, b: SizePoly): SizePoly {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

export function sameSize(a: SizePoly, b: SizePoly): boolean {
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const k of keys) if ((a.get(k) ?? 0) !== (b.get(k) ?? 0)) return false;
  return true;
}

export function showSize(p: SizePoly): string {
  const terms = [...p.entries()]
    .sort(([a], [b]) => b.length - a.length || a.localeCompare(b))
    .map(([m, c]) => (m === '' ? String(c) : c === 1 ? m : `${c}*${m}`));
  return terms.length ? terms.join(' + ') : '0';
}
