/**
 * Compile-time continuity of F at its `if` switches (src/analysis/continuity.ts): a switch is
 * proved continuous when then - else vanishes, as an exact polynomial, on the switch surface;
 * then the compile-time verdict is not capped to `runtime`
 * (analyze.ts atMostRuntimeAtSwitches). The expected answers come from hand algebra on each
 * case; the certified ones are checked by brute force on the generated code at a solution on
 * the switch: F is continuous there (its one-sided differences shrink with the step) and its
 * one-sided slopes are the B of the kink factor's two vertices, so the range [0, 1] covers
 * both branches.
 */
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/analyze.ts';
import { literalValue, switchContinuity, switchNodes } from '../../src/analysis/continuity.ts';
import { compileModel } from '../../src/compile-model.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';

function analyzeOne(text: string): Analysis {
  const r = analyzeFile('x.impl', text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.analyses[0];
}

const scalarModel = (equation: string) => `model M {\n  param x: real\n  unknown y: real\n  ${equation}\n}\n`;

/** The decision for the one switch of `solve y + 0.1 * (<cond>) - x = 0`. */
function decide(ifExpr: string): string {
  const a = analyzeOne(scalarModel(`solve y + 0.1 * (${ifExpr}) - x = 0`));
  const sites = switchNodes(a.model);
  expect(sites.length).toBe(1);
  return switchContinuity(a.model, sites[0]).verdict;
}

const verdictOf = (text: string) => analyzeOne(text).certificate;

describe('literals as exact decimals', () => {
  it('the shortest decimal of a double is the literal, as a fraction', () => {
    const show = (v: number) => {
      const r = literalValue(v)!;
      return `${r.n}/${r.d}`;
    };
    expect(show(0.1)).toBe('1/10');
    expect(show(0.3)).toBe('3/10');
    expect(show(-2.5)).toBe('-5/2');
    expect(show(3)).toBe('3/1');
    expect(show(1e-30)).toBe(`1/${10n ** 30n}`);
    expect(show(1.5e21)).toBe(`${15n * 10n ** 20n}/1`);
    expect(show(0)).toBe('0/1');
    expect(literalValue(Infinity)).toBeNull();
    expect(literalValue(NaN)).toBeNull();
  });
});

describe('the polynomial decision', () => {
  it.each([
    // d = y at y = 0.
    ['if y > 0 then y else 0', 'continuous'],
    // d = y^2 at y = 0.
    ['if y > 0 then y * y else 0', 'continuous'],
    ['if y > 0 then y^3 - y else 0', 'continuous'],
    // d = y at y = 1: 1.
    ['if y > 1 then y else 0', 'unknown'],
    // d = 1.
    ['if y > 0 then 1 else 0', 'unknown'],
    // d = 2y - 2 at y = 1.
    ['if y > 1 then 3 * y - 2 else y', 'continuous'],
    // The four comparisons and `!`: the same surface y = 1.
    ['if y >= 1 then 3 * y - 2 else y', 'continuous'],
    ['if 1 < y then 3 * y - 2 else y', 'continuous'],
    ['if y <= 1 then y else 3 * y - 2', 'continuous'],
    ['if !(y > 1) then y else 3 * y - 2', 'continuous'],
    ['if y >= 1 then 3 * y - 1 else y', 'unknown'],
    // Exact rationals: y = 1/10, y = 1/2, y = 3/10.
    ['if y > 0.1 then y - 0.1 else 0', 'continuous'],
    ['if y > 0.1 then y - 0.2 else 0', 'unknown'],
    ['if 2 * y > 1 then 2 * y - 1 else 0', 'continuous'],
    ['if 2 * y > 1 then y - 0.5 else 0', 'continuous'],
    ['if y / 4 > 0.25 then y - 1 else 0', 'continuous'],
    ['if 3 * y > 1 then 3 * y - 1 else 0', 'continuous'],
    ['if 3 * y > 1 then y - 0.333333 else 0', 'unknown'],
    // In f64, 0.3 - 0.1 - 0.2 != 0; as the decimals the source writes, it is 0.
    ['if y > 0.3 then y - 0.1 - 0.2 else 0', 'continuous'],
    ['if y > 0.3 then y - 0.1 - 0.1 else 0', 'unknown'],
    // d = y^2 - 9 at y = 3 (the surface y/3 = 1).
    ['if y / 3 > 1 then y^2 - 9 else 0', 'continuous'],
    ['if y / 3 > 1 then y^2 - 8 else 0', 'unknown'],
    // A surface in y and x: y = x, d = (y - x)(y + x).
    ['if y > x then y * y else x * x', 'continuous'],
    ['if y - x > 0 then y * y - x * y else 0', 'continuous'],
    ['if y > x then y * y else x', 'unknown'],
    // A condition on the param only: the surface x = 0, where d = y - 2y = -y != 0.
    ['if x > 0 then y else 2 * y', 'unknown'],
    // ... and one where d = x y vanishes at x = 0.
    ['if x > 0 then x * y + y else y', 'continuous'],
    // Not affine in any variable: y^2 = 1/4 has two sheets; not attempted.
    ['if y^2 > 0.25 then y - 0.5 else 0', 'unknown'],
    // The same node in both branches: equal everywhere.
    ['if y^2 > 0.25 then tanh(y) else tanh(y)', 'continuous'],
    // Opaque subexpressions (atoms): tanh(x) (y - x) vanishes at y = x, whatever tanh(x) is.
    ['if y > x then tanh(x) * (y - x) else 0', 'continuous'],
    // tanh(0) = 0 makes this one continuous, but not by algebra on an opaque tanh(y): not proved.
    ['if y > 0 then tanh(y) else 0', 'unknown'],
    // Compound conditions: d must vanish on every comparison's surface.
    ['if y > 0 && y < 1 then y * (1 - y) else 0', 'continuous'],
    ['if y > 0 && y < 1 then y else 0', 'unknown'],
    ['if y < -1 || y > 1 then y * y - 1 else 0', 'continuous'],
    // `==`: the surface itself is the then-region; d = 2y vanishes there.
    ['if y == 0 then 3 * y else y', 'continuous'],
    ['if y == 0 then 1 else y', 'unknown'],
  ])('%s: %s', (ifExpr, expected) => {
    expect(decide(ifExpr)).toBe(expected);
  });

  it('f64 would mislead on 0.3 - 0.1 - 0.2', () => {
    expect(0.3 - 0.1 - 0.2).not.toBe(0);
    expect(decide('if y > 0.3 then y - 0.1 - 0.2 else 0')).toBe('continuous');
  });

  const vectorModel = (body: string) =>
    `model V {\n  dim n\n  param b: real[n]\n  param s: real\n  param W: real[n, n]\n  unknown y: real[n]\n  fixpoint y = 0.5 * (${body}) + b\n}\n`;
  const decideVector = (body: string) => {
    const a = analyzeOne(vectorModel(body));
    const sites = switchNodes(a.model);
    expect(sites.length).toBe(1);
    return switchContinuity(a.model, sites[0]).verdict;
  };

  it.each([
    // Entrywise: y_i - b_i vanishes where y_i = b_i.
    ['if y > b then y - b else 0', 'continuous'],
    ['if y > b then y .* y - b .* b else 0', 'continuous'],
    ['if y > b then y else 0', 'unknown'],
    // A scalar condition on a param, scaling vectors: s y - y vanishes at s = 1.
    ['if s > 1 then s * y - y else 0', 'continuous'],
    ['if s > 1 then s * y else 0', 'unknown'],
    // A condition shared by all rows: then - else = y does not vanish where sum(y) = 0.
    ['if sum(y) > 0 then y else 0', 'unknown'],
    // ... and y + sum(y) - y = sum(y) does.
    ['if sum(y) > 0 then y + sum(y) else y', 'continuous'],
    // A matrix product as an opaque entry: (W y)_i - b_i vanishes where (W y)_i = b_i.
    ['if W * y > b then W * y - b else 0', 'continuous'],
    ['if W * y > b then W * y else 0', 'unknown'],
  ])('vectors: %s: %s', (body, expected) => {
    expect(decideVector(body)).toBe(expected);
  });
});

describe('verdicts through analyzeFile', () => {
  it('fixpoint y = 0.5 * (if y > 0 then y else 0) + x: B = 1 - 0.5 d in [0.5, 1], certified', () => {
    const c = verdictOf(scalarModel('fixpoint y = 0.5 * (if y > 0 then y else 0) + x'));
    expect(c.verdict).toBe('certified');
    expect(c.reason).toContain('[0.5, 1]');
    expect(c.reason).toContain('agree where y = 0');
  });

  it('solve (if y > 1 then 3 * y - 2 else y) - x = 0: B in [1, 3], certified', () => {
    const c = verdictOf(scalarModel('solve (if y > 1 then 3 * y - 2 else y) - x = 0'));
    expect(c.verdict).toBe('certified');
    expect(c.reason).toContain('[1, 3]');
  });

  it('a jump is never certified: y + (if y > 0 then 1 else 0) - x', () => {
    const c = verdictOf(scalarModel('solve y + (if y > 0 then 1 else 0) - x = 0'));
    expect(['runtime', 'violated', 'unverified']).toContain(c.verdict);
  });

  it('|y| written with if is continuous but B in [-1, 1]: not certified', () => {
    const c = verdictOf(scalarModel('solve (if y > 0 then y else -y) - x = 0'));
    expect(c.verdict).not.toBe('certified');
    expect(c.verdict).not.toBe('guarded');
  });

  it('a switch on the param where the branches differ stays runtime', () => {
    const c = verdictOf(scalarModel('solve y + 0.1 * (if x > 0 then y else 2 * y) - x = 0'));
    expect(c.verdict).toBe('runtime');
  });

  it('one proved switch and one jump: runtime', () => {
    const c = verdictOf(scalarModel('solve y + 0.1 * (if y > 0 then y else 0) + 0.1 * (if y > 1 then 1 else 0) - x = 0'));
    expect(c.verdict).toBe('runtime');
  });

  it('two proved switches: certified', () => {
    // B = 1 + 0.1 d1 + 0.1 d2 in [1, 1.2].
    const c = verdictOf(scalarModel('solve y + 0.1 * (if y > 0 then y else 0) + 0.1 * (if y > 1 then y - 1 else 0) - x = 0'));
    expect(c.verdict).toBe('certified');
  });

  it('the exact-rational cases are certified, their float-misleading twin too', () => {
    for (const ifExpr of ['if y > 0.1 then y - 0.1 else 0', 'if 2 * y > 1 then 2 * y - 1 else 0', 'if y > 0.3 then y - 0.1 - 0.2 else 0']) {
      expect(verdictOf(scalarModel(`solve y + 0.1 * (${ifExpr}) - x = 0`)).verdict, ifExpr).toBe('certified');
    }
    expect(verdictOf(scalarModel('solve y + 0.1 * (if y > 0.1 then y - 0.2 else 0) - x = 0')).verdict).toBe('runtime');
  });

  it('a guarded verdict keeps its guard when the switch is proved continuous', () => {
    const text = `model V {\n  dim n\n  param b: real[n]\n  param s: real\n  unknown y: real[n]\n  fixpoint y = 0.5 * (if s > 1 then s * y - y else 0) + b\n}\n`;
    expect(verdictOf(text).verdict).toBe('guarded');
    // With a jump at s = 1 it is capped.
    expect(verdictOf(text.replace('s * y - y', 's * y')).verdict).toBe('runtime');
  });
});

type Solver = ModelInstance & { solve(options?: object): RunResult };

async function solveAt(text: string, inputs: Record<string, unknown>, y0?: number[]): Promise<{ inst: Solver; y: Float64Array }> {
  const M = await compileModel('continuity.impl', undefined, text);
  const inst = new M(inputs) as unknown as Solver;
  const r = inst.solve(y0 ? { y0 } : {});
  expect(r.status).toBe('converged');
  const y = Float64Array.from([Object.values(r.solution)[0]].flat(4) as number[]);
  return { inst, y };
}

/** F at y + t e_j. */
function residualAt(inst: ModelInstance, y: Float64Array, j: number, t: number): Float64Array {
  const z = Float64Array.from(y);
  z[j] += t;
  const out = new Float64Array(inst.n);
  inst.residual(z, out);
  return out;
}

/** B e_j with every kink factor entry set to `d`. */
function bColumn(inst: ModelInstance, y: Float64Array, j: number, d: number): Float64Array {
  const factors = inst.kinkFactors(y).map((f) => f.map(() => d));
  const e = new Float64Array(inst.n);
  e[j] = 1;
  const out = new Float64Array(inst.n);
  inst.jvpY(y, factors, e, out);
  return out;
}

/**
 * At a solution y on the switch: F(y + h e_j) - F(y) and F(y) - F(y - h e_j) shrink like h
 * (no jump), and their quotients are B e_j at the two vertices of the kink factor (d = 1 on
 * the side where the condition holds, d = 0 on the other): the range [0, 1] covers both
 * branches. Returns the largest one-sided difference at the step h.
 */
function checkContinuousAt(inst: ModelInstance, y: Float64Array, sides: { right: number; left: number }) {
  const h = 1e-7;
  let largest = 0;
  for (let j = 0; j < inst.n; j++) {
    const f0 = residualAt(inst, y, j, 0);
    const fr = residualAt(inst, y, j, h);
    const fl = residualAt(inst, y, j, -h);
    const right = bColumn(inst, y, j, sides.right);
    const left = bColumn(inst, y, j, sides.left);
    for (let i = 0; i < inst.n; i++) {
      largest = Math.max(largest, Math.abs(fr[i] - f0[i]), Math.abs(f0[i] - fl[i]));
      expect((fr[i] - f0[i]) / h).toBeCloseTo(right[i], 5);
      expect((f0[i] - fl[i]) / h).toBeCloseTo(left[i], 5);
    }
  }
  return largest;
}

describe('brute force on the generated code, at a solution on the switch', () => {
  it('fixpoint y = 0.5 * (if y > 0 then y else 0) + x at x = 0: y = 0, slopes 0.5 (right) and 1 (left)', async () => {
    const text = scalarModel('fixpoint y = 0.5 * (if y > 0 then y else 0) + x');
    const { inst, y } = await solveAt(text, { x: 0 });
    expect(y[0]).toBe(0);
    expect(checkContinuousAt(inst, y, { right: 1, left: 0 })).toBeLessThan(2e-7);
    expect(bColumn(inst, y, 0, 1)[0]).toBeCloseTo(0.5, 12);
    expect(bColumn(inst, y, 0, 0)[0]).toBeCloseTo(1, 12);
  });

  it('solve (if y > 1 then 3 * y - 2 else y) - x = 0 at x = 1: y = 1, slopes 3 and 1', async () => {
    const text = scalarModel('solve (if y > 1 then 3 * y - 2 else y) - x = 0');
    const { inst, y } = await solveAt(text, { x: 1 });
    expect(y[0]).toBeCloseTo(1, 12);
    expect(checkContinuousAt(inst, y, { right: 1, left: 0 })).toBeLessThan(4e-7);
    expect(bColumn(inst, y, 0, 1)[0]).toBeCloseTo(3, 12);
  });

  it('the exact-rational switch at y = 0.3: F jumps only by rounding', async () => {
    // y + 0.1 (y - 0.1 - 0.2) = x at y = 0.3: x = 0.3.
    const text = scalarModel('solve y + 0.1 * (if y > 0.3 then y - 0.1 - 0.2 else 0) - x = 0');
    const { inst, y } = await solveAt(text, { x: 0.3 });
    expect(y[0]).toBeCloseTo(0.3, 12);
    const z = Float64Array.of(0.3);
    expect(checkContinuousAt(inst, z, { right: 1, left: 0 })).toBeLessThan(2e-7);
  });

  it('vectors: fixpoint y = 0.5 * (if y > b then y - b else 0) + b at y = b, every entry on its switch', async () => {
    const text = `model V {\n  dim n\n  param b: real[n]\n  unknown y: real[n]\n  fixpoint y = 0.5 * (if y > b then y - b else 0) + b\n}\n`;
    expect(verdictOf(text).verdict).toBe('certified');
    const b = [0.25, -1.5, 2];
    const { inst, y } = await solveAt(text, { b });
    expect(Array.from(y)).toEqual(b);
    expect(checkContinuousAt(inst, y, { right: 1, left: 0 })).toBeLessThan(2e-7);
  });

  it('control: the check sees the jump of y + (if y > 0 then 1 else 0) at y = 0', async () => {
    const text = scalarModel('solve y + (if y > 0 then 1 else 0) - x = 0');
    const M = await compileModel('continuity.impl', undefined, text);
    const inst = new M({ x: 0 }) as unknown as ModelInstance;
    const y = Float64Array.of(0);
    const jump = residualAt(inst, y, 0, 1e-7)[0] - residualAt(inst, y, 0, 0)[0];
    expect(jump).toBeGreaterThan(0.9);
  });
});
