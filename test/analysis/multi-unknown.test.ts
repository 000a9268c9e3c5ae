/**
 * Issue 13, Build item 3: compile-time tests for several unknowns (src/analysis/certify.ts,
 * `certifyBlocks`): row-wise across blocks, block-triangular, systems of scalar equations
 * and small gain between fixpoint blocks. Each test is paired with a model just outside its
 * condition that must not be certified, and each certified model is brute-forced at run
 * time: at the generated code's solution (and at a constructed tie), B is assembled column
 * by column from jvpY with every kink factor entry at every vertex of its range (a superset
 * of the conservative set, which the compile-time claims cover) and must be invertible.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../demos/data.ts';
import type { Certificate } from '../../src/analysis/certify.ts';
import { Namer, showLinOp } from '../../src/analysis/linop.ts';
import { compileModel } from '../../src/compile-model.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';
import { singularValues } from './random-models.ts';

function analyzeOne(text: string) {
  const r = analyzeFile('test.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}

const verdictOf = (text: string): Certificate => analyzeOne(text).certificate;

type Solver = ModelInstance & { solve(options?: object): RunResult };

/** Solve with the generated code; the instance and the solution in the layout of the unknowns. */
async function solveAt(text: string, inputs: Record<string, unknown>): Promise<{ inst: Solver; y: Float64Array; result: RunResult }> {
  const M = await compileModel('multi.impl', undefined, text);
  const inst = new M(inputs) as unknown as Solver;
  const result = inst.solve();
  expect(result.status).toBe('converged');
  const y = new Float64Array(inst.n);
  for (const u of inst.unknowns) y.set([result.solution[u.name]].flat(4) as number[], u.offset);
  return { inst, y, result };
}

/** B at y with the given kink factor values, column by column from jvpY. */
function assemble(inst: ModelInstance, y: Float64Array, factors: Float64Array[]): number[][] {
  const n = inst.n;
  const B = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const col = new Float64Array(n);
    inst.jvpY(y, factors, e, col);
    for (let i = 0; i < n; i++) B[i][j] = col[i];
  }
  return B;
}

/**
 * Every B with each kink factor entry at an end of its range (all vertices when there are
 * at most 12 entries, else random vertices), plus random interior points: the smallest
 * singular value relative to the largest over all of them.
 */
function worstConditioning(inst: ModelInstance, y: Float64Array): number {
  const rng = mulberry32(11);
  const selected = inst.kinkFactors(y);
  const entries = selected.flatMap((f, site) => Array.from(f, (_, e) => ({ site, e })));
  const draws = entries.length <= 12 ? 1 << entries.length : 4096;
  let worst = Infinity;
  for (let k = 0; k < draws + 64; k++) {
    const factors = selected.map((f) => Float64Array.from(f));
    entries.forEach(({ site, e }, i) => {
      const [lo, hi] = inst.kinkSites[site].range;
      const bit = k < draws ? (entries.length <= 12 ? (k >> i) & 1 : rng() < 0.5 ? 1 : 0) : rng();
      factors[site][e] = lo + (hi - lo) * bit;
    });
    const s = singularValues(assemble(inst, y, factors));
    worst = Math.min(worst, Math.min(...s) / Math.max(...s));
  }
  return worst;
}

describe('row-wise across blocks (MATH.md 5.4 for several unknowns)', () => {
  const model = (yEq: string, zEq: string) => `model R {
  dim n
  param x1: real[n]
  param x2: real[n]
  data C: real[n, n]
  unknown y: real[n]
  unknown z: real[n]
  solve {
    ${yEq} - x1 = 0;
    ${zEq} - x2 = 0
  }
}
`;

  it('each kink factor leftmost in its own block, one entry per row: the exact run-time test (runtime)', () => {
    const c = verdictOf(model('y - 2 * relu(y + C * z)', 'z - abs(z + C * y)'));
    expect(c.verdict).toBe('runtime');
    expect(c.test).toBe('row-wise vertex test');
    expect(c.rowwise).toBe(true);
  });

  it('a kink used by both blocks is not row-wise: its variable sits in two rows of B', () => {
    const c = verdictOf(model('y - 2 * relu(y + z)', 'z - relu(y + z)'));
    expect(c.rowwise).toBe(false);
    // B = [[1 - 2d, -2d], [-d, 1 - d]] has det 1 - 3d: singular at d = 1/3, at the tie y + z = 0,
    // which the parameters reach: the counterexample search finds it.
    expect(c.verdict).toBe('violated');
    expect(Math.abs(det2(c.counterexample!.B))).toBeLessThan(1e-9);
  });

  it('the same relu(y) in both equations is not row-wise, so the run time does not trust the vertices either', async () => {
    const text = `model S {\n  param x1: real\n  param x2: real\n  unknown y: real\n  unknown z: real\n  solve {\n    y - 2 * relu(y) + 0.5 * z - x1 = 0;\n    z + 0.5 * relu(y) - x2 = 0\n  }\n}\n`;
    expect(verdictOf(text).rowwise).toBe(false);
  });

  it('a kink factor to the right of a matrix is not row-wise', () => {
    // (y's equation reads z, so B is not block-triangular either.)
    const c = verdictOf(model('y - 2 * relu(y) + 0.1 * z', 'z - C * relu(y) - abs(z)'));
    expect(c.rowwise).toBe(false);
    // B reads the matrix C, whose values decide (counterexample.ts: no `violated` from chosen
    // matrices), and no test applies.
    expect(c.verdict).toBe('unverified');
  });

  it('a singular hull at a tie: found by the compile-time search and by the run-time vertex test at the solution', async () => {
    // At y = z = 0 (x = 0) all three factors tie; the rows of B are (1 - 2 d, 0.5) and
    // (0.5 a, 1 + 0.25 b), each kink in one row: d = 1 gives det = -(1 + 0.25 b) - 0.25 a < 0,
    // d = 0, a = b = -1 gives det = 1 > 0, so the hull holds a singular B.
    const text = `model S {
  param x1: real
  param x2: real
  unknown y: real
  unknown z: real
  solve {
    y - 2 * relu(y) + 0.5 * z - x1 = 0;
    z + 0.5 * abs(y) + 0.25 * abs(z) - x2 = 0
  }
}
`;
    // The compile-time search finds that hull too (violated); the run time, at this solution.
    const c = verdictOf(text);
    expect(c.verdict).toBe('violated');
    const { result } = await solveAt(text, { x1: 0, x2: 0 });
    const cert = (result as unknown as { certificate?: { verdict: string } }).certificate;
    expect(cert?.verdict).toBe('violated');
  });
});

describe('block-triangular B (each equation block depends on no later unknown)', () => {
  const model = (yEq: string, zEq: string) => `model T {
  dim n
  param x1: real[n]
  param x2: real[n]
  data C: real[n, n]
  unknown y: real[n]
  unknown z: real[n]
  solve {
    ${yEq} - x1 = 0;
    ${zEq} - x2 = 0
  }
}
`;
  const certifiedText = model('y - 0.5 * abs(y)', 'z - 0.5 * abs(z) + C * relu(y)');

  it('diagonal blocks I - 0.5 D_abs in [0.5, 1.5] and a kinked coupling C D_relu below: certified', () => {
    const c = verdictOf(certifiedText);
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('block-triangular');
    expect(c.reason).toContain('order y, z');
    // The whole B is not row-wise (C D_relu puts the kink right of C): no other test applies.
    expect(c.rowwise).toBe(false);
  });

  it('the order is found whichever block is written first', () => {
    const c = verdictOf(model('y - 0.5 * abs(y) + C * relu(z)', 'z - 0.5 * abs(z)'));
    expect(c.verdict).toBe('certified');
    expect(c.reason).toContain('order z, y');
  });

  it('a diagonal block with entries in [-1, 3] is not certified (it is singular at d = 1/2); being row-wise alone, it leaves the exact test to the run time', async () => {
    const text = model('y - 0.5 * abs(y)', 'z - 2 * abs(z) + C * relu(y)');
    const c = verdictOf(text);
    expect(c.verdict).toBe('runtime');
    expect(c.rowwise).toBe(true);
    expect(c.reason).toContain('B_z = I_z - 2 * D_abs * I_z');
    const C = [
      [1, 0],
      [0, 1],
    ];
    // y = -0.2 (1.5 y = x1), z = 0: the abs(z) factors tie, 1 - 2 a changes sign: violated.
    const tied = await solveAt(text, { x1: [-0.3, -0.3], x2: [0, 0], C });
    expect((tied.result as unknown as { certificate: { verdict: string } }).certificate.verdict).toBe('violated');
    // Away from z = 0 every factor is selected: certified at run time, and B is invertible there.
    // (z - 2 |z| = x2 - relu(y) <= 0 has the solutions z = r / 3 and z = -r.)
    const away = await solveAt(text, { x1: [-0.3, 0.6], x2: [-1, -2], C });
    expect((away.result as unknown as { certificate: { verdict: string } }).certificate.verdict).toBe('certified');
  });

  it('brute force at the solution and at a tie: every B with the kink factors at their vertices is invertible', async () => {
    const C = [
      [2, -1],
      [0.5, 3],
    ];
    for (const [x1, x2] of [
      [[0.3, -0.4], [1, 2]],
      [[0, 0], [0, 0]], // y = z = 0: every abs and relu factor tied
    ]) {
      const { inst, y } = await solveAt(certifiedText, { x1, x2, C });
      if (x1[0] === 0) expect(Math.max(...Array.from(y, Math.abs))).toBeLessThan(1e-9);
      expect(worstConditioning(inst, y)).toBeGreaterThan(1e-3);
    }
  });

  it('fixpoint blocks: a contraction along its own unknown certifies the diagonal block', () => {
    const text = `model F {
  dim n
  param x1: real[n]
  param x2: real[n]
  data C: real[n, n]
  unknown y: real[n]
  unknown z: real[n]
  fixpoint y = 0.5 * relu(y) + x1
  fixpoint z = 0.9 * clip(z, -1, 1) + C * abs(y) + x2
}
`;
    const c = verdictOf(text);
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('block-triangular');
    const outside = text.replace('0.9 * clip', '1.5 * clip');
    expect(verdictOf(outside).verdict).not.toBe('certified');
  });
});

describe('systems of scalar equations: an enclosure of det B', () => {
  const model = (yEq: string, zEq: string) => `model S {
  param x1: real
  param x2: real
  unknown y: real
  unknown z: real
  solve {
    ${yEq} - x1 = 0;
    ${zEq} - x2 = 0
  }
}
`;
  // B = [[1 - 0.5 a, 0.4 r], [0.3 s, 2 - t]] with a in [-1, 1], r, s, t in [0, 1]:
  // det >= 0.5 * 1 - 0.4 * 0.3 = 0.38 > 0.
  const certifiedText = model('y - 0.5 * abs(y) + 0.4 * relu(z)', '2 * z - relu(z) + 0.3 * relu(y)');

  it('coupled kinks: det B in [0.38, ...] excludes 0: certified', () => {
    const c = verdictOf(certifiedText);
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('interval determinant');
    expect(c.reason).toContain('det B lies in [0.38');
  });

  it('a stronger coupling lets det B reach 0 (0.5 - 0.6 * 1 < 0): not certified', () => {
    const c = verdictOf(model('y - 0.5 * abs(y) + 2 * relu(z)', '2 * z - relu(z) + 0.3 * relu(y)'));
    expect(c.verdict).not.toBe('certified');
  });

  it('the same kink in both factors of a product is kept together: max(y, 2 y) gives [1, 2], not [0, 3]', () => {
    // B = [[d + 2 (1 - d), 0.5], [0.5, 1]]: det = 2 - d - 0.25 in [0.75, 1.75].
    const c = verdictOf(model('max(y, 2 * y) + 0.5 * z', 'z + 0.5 * y'));
    expect(c.verdict).toBe('certified');
    expect(c.reason).toContain('[0.75, 1.75]');
  });

  it('three equations, strictly diagonally dominant by rows', () => {
    const text = `model D {
  param x1: real
  param x2: real
  param x3: real
  unknown a: real
  unknown b: real
  unknown c: real
  solve {
    4 * a - abs(a) + 0.9 * relu(b) + 0.9 * relu(c) - x1 = 0;
    4 * b - abs(b) + 0.9 * relu(a) - 0.9 * relu(c) - x2 = 0;
    4 * c - abs(c) - 0.9 * relu(a) + 0.9 * relu(b) - x3 = 0
  }
}
`;
    expect(verdictOf(text).verdict).toBe('certified');
    // The diagonal 4 - d in [3, 5] against off-diagonal sums up to 1.8: certified; with a
    // diagonal 2 - 2 d in [0, 4] none of the enclosures excludes a singular element.
    expect(verdictOf(text.replaceAll('4 * ', '2 * ').replaceAll('- abs(', '- 2 * abs(')).verdict).not.toBe('certified');
  });

  it('brute force at the solution and at the tie y = z = 0', async () => {
    for (const [x1, x2] of [
      [0.7, -0.2],
      [0, 0],
    ]) {
      const { inst, y } = await solveAt(certifiedText, { x1, x2 });
      expect(worstConditioning(inst, y)).toBeGreaterThan(1e-3);
    }
  });
});

describe('small gain between fixpoint blocks', () => {
  const model = (a: number, b: number) => `model G {
  dim n
  param x1: real[n]
  param x2: real[n]
  unknown y: real[n]
  unknown z: real[n]
  fixpoint y = 0.5 * relu(y + ${a} * z) + x1
  fixpoint z = 0.5 * abs(z) + ${b} * clip(y, -1, 1) + x2
}
`;

  it('gains [[0.5, 0.5 a], [b, 0.5]] with (1 - 0.5)^2 > 0.5 a b: certified', () => {
    // a = 0.8, b = 0.5: 0.25 > 0.2.
    const c = verdictOf(model(0.8, 0.5));
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('small gain');
  });

  it('just outside: 0.5 a b = 0.25 is not < 0.25, not certified', () => {
    expect(verdictOf(model(1, 0.5)).verdict).not.toBe('certified');
  });

  it('brute force at the solution and at a tie', async () => {
    const text = model(0.8, 0.5);
    for (const [x1, x2] of [
      [[0.2, -0.3], [0.1, 0.4]],
      [[0, 0], [0, 0]],
    ]) {
      const { inst, y } = await solveAt(text, { x1, x2 });
      expect(worstConditioning(inst, y)).toBeGreaterThan(1e-3);
    }
  });
});

describe('showLinOp', () => {
  it('y - 0.5 (y - c) in fixpoint form folds the identities: B = 0.5 * I, not `I - I + 0.5`', () => {
    const a = analyzeOne(`model F {\n  param c: real\n  unknown y: real\n  fixpoint y = y - 0.5 * (y - c)\n}\n`);
    expect(a.B).toBe('0.5 * I');
    expect(showLinOp(a.jacobians.B[0], new Namer(a.model))).toBe('0.5 * I');
  });

  it('with a param: I - I + w reads w * I; a multiple of I in a sum keeps its I (issue 15: `mu * I + X\' D X`, not `mu + X\'DX`)', () => {
    const a = analyzeOne(`model F {\n  dim n\n  param c: real[n]\n  param w: real\n  unknown y: real[n]\n  fixpoint y = y - w * (y - c)\n}\n`);
    expect(a.B).toBe('w * I');
    const b = analyzeOne(`model F {\n  param c: real\n  unknown y: real\n  solve y - 0.5 * (y - c) = 0\n}\n`);
    expect(b.B).toBe('I - 0.5 * I');
  });
});

/** The determinant of a 2 x 2 matrix. */
function det2(B: number[][]): number {
  return B[0][0] * B[1][1] - B[0][1] * B[1][0];
}
