// The one operator algebra (src/runtime/structured.ts): applyOperator and assembleStructured
// against the same operator formed densely here, entry by entry, on random leaves.
import { describe, expect, it } from 'vitest';
import { applyOperator, assembleStructured, type Operator, type Tensor } from '../../src/runtime/index.ts';
import { mulberry32 } from '../helpers/rng.ts';

const rng = mulberry32(612);
const tensor = (shape: number[]): Tensor => ({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rng() - 1) });

/** The operator as a dense rows x n matrix, by the definitions (M' read as M[c, r]). */
function dense(op: Operator, leaves: readonly Tensor[], n: number): number[][] {
  const identity = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  const walk = (o: Operator): number[][] => {
    switch (o.k) {
      case 'I':
        return identity;
      case 'scale': {
        const s = leaves[o.s].data[0];
        return walk(o.of).map((row) => row.map((v) => (o.inv ? v / s : v * s)));
      }
      case 'diag': {
        const f = leaves[o.f].data;
        return walk(o.of).map((row, i) => row.map((v) => v * (f.length === 1 ? f[0] : f[i])));
      }
      case 'mm':
      case 'mmT': {
        const M = leaves[o.M];
        const [r, c] = M.shape;
        const at = (i: number, k: number) => (o.k === 'mm' ? M.data[i * c + k] : M.data[k * c + i]);
        const V = walk(o.of);
        const rows = o.k === 'mm' ? r : c;
        return Array.from({ length: rows }, (_, i) => Array.from({ length: n }, (_, j) => V.reduce((acc, vrow, k) => acc + at(i, k) * vrow[j], 0)));
      }
      case 'sum': {
        const parts = o.terms.map(([sign, t]) => walk(t).map((row) => row.map((v) => sign * v)));
        return parts[0].map((row, i) => row.map((_, j) => parts.reduce((acc, p) => acc + p[i][j], 0)));
      }
    }
  };
  return walk(op);
}

describe('the operator algebra', () => {
  const n = 7;
  const k = 11;
  // I - D (s X'X + diag(w)) and I - s W' W D, with X k x n, W k x n.
  const leaves = [tensor([]), tensor([n]), tensor([k, n]), tensor([n]), tensor([k, n])];
  const ops: Operator[] = [
    { k: 'sum', terms: [[1, { k: 'I' }], [-1, { k: 'diag', f: 1, of: { k: 'sum', terms: [[1, { k: 'scale', s: 0, inv: false, of: { k: 'mmT', M: 2, of: { k: 'mm', M: 2, of: { k: 'I' } } } }], [1, { k: 'diag', f: 3, of: { k: 'I' } }]] } }]] },
    { k: 'sum', terms: [[1, { k: 'I' }], [-1, { k: 'scale', s: 0, inv: true, of: { k: 'mmT', M: 4, of: { k: 'mm', M: 4, of: { k: 'diag', f: 1, of: { k: 'I' } } } } }]] },
    { k: 'mmT', M: 2, of: { k: 'mm', M: 4, of: { k: 'I' } } },
  ];

  it('applyOperator is the dense product', () => {
    for (const op of ops) {
      const D = dense(op, leaves, n);
      const v = Float64Array.from({ length: n }, () => 2 * rng() - 1);
      const out = applyOperator(op, leaves, v);
      D.forEach((row, i) => expect(out[i]).toBeCloseTo(row.reduce((acc, x, j) => acc + x * v[j], 0), 13));
    }
  });

  it('assembleStructured gives its rows and columns, all or selected', () => {
    for (const op of ops) {
      const D = dense(op, leaves, n);
      for (const rows of [null, Int32Array.of(0, 2, 3, 6), Int32Array.of(5)]) {
        const B = assembleStructured(op, leaves, n, rows)!;
        const sel = rows ? Array.from(rows) : Array.from({ length: n }, (_, i) => i);
        expect(B.rows).toBe(sel.length);
        sel.forEach((r, a) => sel.forEach((c, b) => expect(B.data[a * sel.length + b]).toBeCloseTo(D[r][c], 13)));
      }
    }
  });

  it('leaves that do not fit are refused (null), not misread', () => {
    const bad: Operator = { k: 'mmT', M: 2, of: { k: 'I' } }; // X' needs an operand of k rows, not n
    expect(assembleStructured(bad, leaves, n, null)).toBeNull();
  });
});
