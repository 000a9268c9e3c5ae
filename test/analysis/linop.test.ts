/** Direct tests of src/analysis/linop.ts: tangents read back as structured operators. */
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { factorsOf, kinkFactorsOf, kinkFree, Namer, normalize, showLinOp, type LinOp } from '../../src/analysis/linop.ts';
import { analyzeFile } from '../../src/pipeline.ts';

function analyzeOne(text: string): Analysis {
  const r = analyzeFile('linop.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}

const I: LinOp = { kind: 'identity', variable: 'y' };

describe('toLinOp (through jacobians)', () => {
  it('the DEQ reads B = I - D_relu W: a sum of the identity and a negated row-scaled matmul', () => {
    const a = analyzeOne(`model D {\n  dim h\n  param W: real[h, h]\n  param b: real[h]\n  unknown z: real[h]\n  fixpoint z = relu(W * z + b)\n}\n`);
    const B = a.jacobians.B[0];
    expect(B.kind).toBe('sum');
    if (B.kind !== 'sum') return;
    expect(B.terms.map((t) => [t.sign, t.op.kind])).toEqual([
      [1, 'identity'],
      [-1, 'diag'],
    ]);
    const D = B.terms[1].op;
    if (D.kind !== 'diag') return;
    expect(D.kinks).toHaveLength(1);
    expect(a.model.graph.node(D.kinks[0]).op).toBe('relu_d');
    expect(D.of).toMatchObject({ kind: 'matmul', matrix: a.model.params[0].node, of: { kind: 'identity' } });
    expect(kinkFree(B)).toBe(false);
    expect(kinkFree(D.of)).toBe(true);
    expect(factorsOf(B)).toEqual([D.factor, a.model.params[0].node]);
    expect(showLinOp(B, new Namer(a.model))).toBe('I - D_relu * W');
  });

  it("max(y, 2 y): both convex weights come from one kink factor, named D_max and D_max'", () => {
    const a = analyzeOne(`model M {\n  param x: real\n  unknown y: real\n  solve max(y, 2 * y) - x = 0\n}\n`);
    const B = a.jacobians.B[0];
    expect(showLinOp(B, new Namer(a.model))).toBe("D_max + D_max' * 2");
    if (B.kind !== 'sum') throw new Error('expected a sum');
    const kinks = B.terms.map((t) => (t.op.kind === 'diag' ? t.op.kinks : []));
    expect(kinks[0]).toHaveLength(1);
    expect(kinks[1]).toEqual(kinks[0]);
    const g = a.model.graph;
    const complement = (B.terms[1].op as { factor: number }).factor;
    expect(kinkFactorsOf(g, complement)).toEqual(kinks[0]);
  });
});

describe('normalize', () => {
  it('moves signs outward and flattens nested sums: -(-(I)) is I, and D (-(I)) is -(D I)', () => {
    expect(normalize({ kind: 'sum', terms: [{ sign: -1, op: { kind: 'sum', terms: [{ sign: -1, op: I }] } }] })).toEqual(I);
    const d: LinOp = { kind: 'diag', factor: 3, kinks: [3], of: { kind: 'sum', terms: [{ sign: -1, op: I }] } };
    expect(normalize(d)).toEqual({ kind: 'sum', terms: [{ sign: -1, op: { kind: 'diag', factor: 3, kinks: [3], of: I } }] });
    // A product of a two-term sum keeps the sum inside (products are linear, not distributed).
    const two: LinOp = { kind: 'matmul', matrix: 5, of: { kind: 'sum', terms: [{ sign: 1, op: I }, { sign: -1, op: I }] } };
    expect(normalize(two)).toEqual(two);
  });

  it('kinkFree: false for kink diagonals, projection blocks and opaque parts; true for fixed maps', () => {
    expect(kinkFree({ kind: 'scale', factor: 1, inverse: false, of: { kind: 'matmul', matrix: 2, of: I } })).toBe(true);
    expect(kinkFree({ kind: 'diag', factor: 1, kinks: [], of: I })).toBe(true);
    expect(kinkFree({ kind: 'diag', factor: 1, kinks: [1], of: I })).toBe(false);
    expect(kinkFree({ kind: 'block', node: 1, primitive: 'proj_simplex', of: I })).toBe(false);
    expect(kinkFree({ kind: 'opaque', node: 1 })).toBe(false);
    expect(kinkFree({ kind: 'sum', terms: [{ sign: 1, op: I }, { sign: -1, op: { kind: 'opaque', node: 1 } }] })).toBe(false);
  });
});
