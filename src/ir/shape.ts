/** A dimension: a declared size symbol (`n`) or a literal size. */
export type Dim = string | number;

/** Array shape: [] is a scalar, [n] a vector, [m, n] a matrix. */
export type Shape = readonly Dim[];

/**
 * The type of an expression: a real array, a condition (bool) array, or group labels
 * (`index[p]`: positive integer ids, data only; only the group primitives read them,
 * src/primitives/groups.ts).
 */
export interface ValueType {
  kind: 'real' | 'bool' | 'index';
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
  let coef = 1;
  const names: string[] = [];
  for (const d of s) {
    if (typeof d === 'number') coef *= d;
    else names.push(d);
  }
  return new Map([[names.sort().join('*'), coef]]);
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
