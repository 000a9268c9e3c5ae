/**
 * Issue 15's reports on `explain`: a multiple of the identity keeps its I in B (`mu * I +
 * X' * D_relu * X`, not `mu + X'DX`), and `--format tex` writes a transpose as ^\top (mathjs
 * reads `'` as the conjugate transpose and typesets ^H).
 */
import { describe, expect, it } from 'vitest';
import { explainTex } from '../../src/analysis/explain.ts';
import { analyzeOne } from '../helpers/brute-force.ts';

const text = `model P {\n  dim n, m\n  data X: real[m, n]\n  param c: real[n]\n  param mu: real\n  require mu >= 0.1\n  unknown y: real[n]\n  solve mu * y + X' * relu(X * y) - c = 0\n}\n`;

describe('explain text', () => {
  it("B = mu * I + X' * D_relu * X", () => {
    expect(analyzeOne(text).B).toBe("mu * I + X' * D_relu * X");
  });

  it('tex: X^{\\top}, never ^H', async () => {
    const tex = await explainTex(analyzeOne(text));
    expect(tex).toContain('X^{\\top}');
    expect(tex).not.toContain('^H');
    expect(tex).toContain('\\mu\\cdot I');
  });
});
