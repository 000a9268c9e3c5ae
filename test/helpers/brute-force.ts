/**
 * Brute force for certification claims (issue 13): compile and solve a model with the
 * generated code, then assemble B at the solution with the kink factors drawn anywhere in
 * their ranges (vertices first), and the checks the claims are compared with.
 */
import { expect } from 'vitest';
import { mulberry32 } from '../../demos/data.ts';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { compileModel } from '../../src/compile-model.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';

export function analyzeOne(text: string): Analysis {
  const r = analyzeFile('test.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}

export const verdictOf = (text: string) => analyzeOne(text).certificate;

export type Solver = ModelInstance & { solve(options?: object): RunResult };

/** Solve with the generated code; return the instance and the flattened solution. */
export async function solveAt(text: string, inputs: Record<string, unknown>): Promise<{ inst: Solver; y: Float64Array }> {
  const M = await compileModel('stronger.impl', undefined, text);
  const inst = new M(inputs) as unknown as Solver;
  const r = inst.solve();
  expect(r.status).toBe('converged');
  const value = Object.values(r.solution)[0];
  const y = Float64Array.from([value].flat(4) as number[]);
  expect(y.length).toBe(inst.n);
  return { inst, y };
}

/**
 * B at y with every kink factor entry drawn from its range (vertices for the first draws,
 * then uniform): a superset of the conservative set at y, which the compile-time claims cover.
 */
export function sampledBs(inst: ModelInstance, y: Float64Array, ranges: readonly (readonly [number, number])[], draws: number): number[][][] {
  const rng = mulberry32(7);
  const n = inst.n;
  const out: number[][][] = [];
  for (let k = 0; k < draws; k++) {
    const factors = inst.kinkFactors(y).map((f, site) => {
      const [lo, hi] = ranges[site];
      return f.map(() => (k === 0 ? lo : k === 1 ? hi : lo + (hi - lo) * rng()));
    });
    const B = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let j = 0; j < n; j++) {
      const e = new Float64Array(n);
      e[j] = 1;
      const col = new Float64Array(n);
      inst.jvpY(y, factors, e, col);
      for (let i = 0; i < n; i++) B[i][j] = col[i];
    }
    out.push(B);
  }
  return out;
}

/** Cholesky of the symmetric part succeeds iff it is positive definite. */
export function symmetricPartPositiveDefinite(B: number[][]): boolean {
  const n = B.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0.5 * (B[i][j] + B[j][i]);
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (!(s > 0)) return false;
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  }
  return true;
}

/** ||M||_2 by power iteration on M'M (plenty of iterations for order <= 6). */
export function opnorm(M: number[][]): number {
  const n = M[0].length;
  let v = Array.from({ length: n }, (_, i) => 1 + i / 7);
  let s = 0;
  for (let it = 0; it < 500; it++) {
    const Mv = M.map((r) => r.reduce((a, x, j) => a + x * v[j], 0));
    const MtMv = v.map((_, j) => M.reduce((a, r, i) => a + r[j] * Mv[i], 0));
    const norm = Math.hypot(...MtMv);
    if (norm === 0) return 0;
    s = Math.sqrt(norm / Math.hypot(...v));
    v = MtMv.map((x) => x / norm);
  }
  return s;
}

export const identityMinus = (B: number[][]) => B.map((r, i) => r.map((x, j) => (i === j ? 1 : 0) - x));
