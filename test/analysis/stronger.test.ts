/**
 * Issue 13, Build item 3: the stronger compile-time tests (MATH.md 5), each paired with a
 * model just outside its condition that must not be certified, and, where a solve is cheap,
 * a brute-force check at run time: at the solution of the generated code, B (assembled from
 * jvpY with the kink factors set anywhere in their ranges, vertices included, not only at
 * the selected element) is checked against the claim the certificate makes.
 */
import { describe, expect, it } from 'vitest';
import { explainText } from '../../src/analysis/explain.ts';
import { analyzeOne, identityMinus, opnorm, sampledBs, solveAt, symmetricPartPositiveDefinite, verdictOf } from '../helpers/brute-force.ts';

describe('constant folding in norm bounds (MATH.md 5.2)', () => {
  const body = (inner: string) => `model F {\n  dim n\n  param c: real[n]\n  unknown y: real[n]\n  fixpoint y = proj_simplex(${inner})\n}\n`;

  it('y - 0.5 (y - c) contracts like 0.5 y + 0.5 c: T_y = J (I - 0.5 I) has norm <= 0.5', () => {
    for (const inner of ['y - 0.5 * (y - c)', '0.5 * y + 0.5 * c', 'y - (y - c) / 2']) {
      const c = verdictOf(body(inner));
      expect(c.verdict, inner).toBe('certified');
      expect(c.test).toBe('contraction');
      expect(c.reason).toContain('0.5 < 1');
    }
  });

  it('y + 0.5 (y - c) folds to 1.5: not a contraction, not certified', () => {
    const c = verdictOf(body('y + 0.5 * (y - c)'));
    expect(c.verdict).not.toBe('certified');
    expect(c.verdict).not.toBe('guarded');
  });
});

describe('`require` clauses as facts', () => {
  const deq = (req: string, kind = 'param') => `model D {
  dim h
  dim m
  ${kind} W: real[h, h]
  param U: real[h, m]
  param b: real[h]
  data u: real[m]
  unknown z: real[h]
  fixpoint z = relu(W * z + U * u + b)
  ${req}
}
`;

  it('require opnorm(W) <= 0.9 certifies the DEQ; opnorm(W) <= 1 leaves the guard', () => {
    const c = verdictOf(deq('require opnorm(W) <= 0.9'));
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('contraction');
    expect(c.reason).toContain('0.9 < 1');
    // ||W'|| = ||W||: a bound stated on the transpose counts too.
    expect(verdictOf(deq("require opnorm(W') < 0.95")).verdict).toBe('certified');
    const edge = verdictOf(deq('require opnorm(W) <= 1'));
    expect(edge.verdict).toBe('guarded');
    expect(edge.guard).toBe('opnorm(W) < 1');
    // A bound on another matrix says nothing about W.
    expect(verdictOf(deq('require opnorm(U) <= 0.5')).verdict).toBe('guarded');
  });

  it('with data W and the require: certified (the row-wise test is not needed)', () => {
    expect(verdictOf(deq('require opnorm(W) <= 0.9', 'data')).verdict).toBe('certified');
    expect(verdictOf(deq('', 'data')).verdict).toBe('runtime');
  });

  it('brute force: at the solution of a DEQ with opnorm(W) = 0.89, every D_relu in [0, 1]^h gives ||D W|| <= 0.9', async () => {
    const W = [
      [0.5, -0.4, 0.2],
      [0.3, 0.6, -0.1],
      [-0.2, 0.1, 0.4],
    ];
    const s = opnorm(W);
    const scaled = W.map((r) => r.map((x) => (0.89 * x) / s));
    const { inst, y } = await solveAt(deq('require opnorm(W) <= 0.9'), { W: scaled, U: [[1], [-1], [0.5]], b: [0.1, 0, -0.2], u: [0.3] });
    for (const B of sampledBs(inst, y, [[0, 1]], 40)) expect(opnorm(identityMinus(B))).toBeLessThanOrEqual(0.9 + 1e-9);
  });

  const kepler = (req: string) => `model Kepler {
  param e: real
  param M: real
  unknown E: real
  solve E - e * sin(E) - M = 0
  ${req}
  require abs(E) <= 10
}
`;

  it("Kepler's equation under 0 <= e <= 0.99: B = 1 - e cos(E) in [0.01, 1.99], certified by the scalar interval test", () => {
    const c = verdictOf(kepler('require 0 <= e && e <= 0.99'));
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('scalar interval');
  });

  it('under 0 <= e < 1 (the issue\'s case): the clause is checked on doubles, so e <= 1 - 2^-53 and B >= 2^-53 > 0, computed exactly: certified', () => {
    // (strict-interval.ts: an end computed without rounding needs no margin.)
    const c = verdictOf(kepler('require 0 <= e && e < 1'));
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('scalar interval');
    // The bound the proof uses, checked independently: the double below 1 is 1 - 2^-53,
    // and 1 - (1 - 2^-53) * 1 is exactly 2^-53 in floating point (Sterbenz).
    const below = 1 - 2 ** -53;
    expect(below).toBeLessThan(1);
    expect(1 - 2 ** -54).toBe(1); // nothing lies between below and 1
    expect(1 - below * 1).toBe(2 ** -53);
  });

  it('Kepler under e <= 1 (B = 0 at e = 1, E = 0) or without the clause: not certified', () => {
    expect(verdictOf(kepler('require 0 <= e && e <= 1')).verdict).not.toBe('certified');
    expect(verdictOf(kepler('')).verdict).not.toBe('certified');
  });

  it('brute force: Kepler solved at e = 0.99, M = 0.01 (near the worst case) has B = 1 - e cos(E) > 0', async () => {
    const { inst, y } = await solveAt(kepler('require 0 <= e && e < 1'), { e: 0.99, M: 0.01 });
    const [[B]] = sampledBs(inst, y, [], 1)[0].map((r) => r);
    expect(B).toBeCloseTo(1 - 0.99 * Math.cos(y[0]), 12);
    expect(B).toBeGreaterThan(0);
  });
});

describe('kink factors with their correlations (MATH.md 5.1)', () => {
  const scalar = (body: string) => `model M {\n  param x: real\n  unknown y: real\n  solve ${body}\n}\n`;

  it('max(y, 2 y) - x: B = d + 2 (1 - d) in [1, 2], certified', () => {
    const c = verdictOf(scalar('max(y, 2 * y) - x = 0'));
    expect(c.verdict).toBe('certified');
    expect(c.reason).toContain('[1, 2]');
    // min too: B = d + 3 (1 - d) in [1, 3].
    expect(verdictOf(scalar('min(y, 3 * y) - x = 0')).reason).toContain('[1, 3]');
  });

  it('max(y, -2 y) - x: B = d - 2 (1 - d) in [-2, 1] contains 0: violated', () => {
    expect(verdictOf(scalar('max(y, -2 * y) - x = 0')).verdict).toBe('violated');
  });

  it('brute force: max(y, 2 y) - x at its kink x = 0 has B in [1, 2] over the whole range of d', async () => {
    const { inst, y } = await solveAt(scalar('max(y, 2 * y) - x = 0'), { x: 0 });
    expect(Math.abs(y[0])).toBeLessThan(1e-12);
    for (const [[B]] of sampledBs(inst, y, [[0, 1]], 30)) {
      expect(B).toBeGreaterThanOrEqual(1 - 1e-12);
      expect(B).toBeLessThanOrEqual(2 + 1e-12);
    }
  });
});

describe('smooth diagonal factors', () => {
  const tanh = (req: string) => `model T {
  dim h
  param W: real[h, h]
  param b: real[h]
  unknown z: real[h]
  fixpoint z = tanh(W * z + b)
  ${req}
}
`;

  it("a tanh DEQ: tanh' in [0, 1] gives ||T_y|| <= opnorm(W): guarded; certified under require opnorm(W) <= 0.8", () => {
    const a = analyzeOne(tanh(''));
    expect(a.certificate.verdict).toBe('guarded');
    expect(a.certificate.guard).toBe('opnorm(W) < 1');
    expect(verdictOf(tanh('require opnorm(W) <= 0.8')).verdict).toBe('certified');
  });

  it('explain says "kinks none" and never names a kink factor for a smooth model', () => {
    // A smooth model no test certifies for every input (B = I + W diag(tanh'), invertible under
    // the bound, but the solve form is not read as a contraction): `runtime`, since at each
    // solution the set is the one matrix dF/dy; its reason must not speak of kink factors.
    const a = analyzeOne(`model S {\n  dim h\n  param W: real[h, h]\n  param b: real[h]\n  unknown z: real[h]\n  require opnorm(W) <= 0.9\n  solve z + W * tanh(z) - b = 0\n}\n`);
    const text = explainText(a);
    expect(text).toContain('none (F is smooth)');
    expect(a.certificate.verdict).toBe('runtime');
    expect(a.certificate.test).toBe('selected B');
    expect(text).not.toContain('kink factor');
    expect(explainText(analyzeOne(tanh('')))).not.toContain('kink factor');
  });

  it("a sigmoid DEQ: sigmoid' = s (1 - s) is bounded by its interval (sound, if looser than 1/4): a guard on W, not certified", () => {
    const c = verdictOf(`model G {\n  dim h\n  param W: real[h, h]\n  unknown z: real[h]\n  fixpoint z = sigmoid(2 * W * z)\n}\n`);
    expect(c.verdict).toBe('guarded');
  });

  it('brute force: the tanh DEQ solved with opnorm(W) = 0.79 has ||T_y|| <= 0.8 at its solution', async () => {
    const W = [
      [0.3, -0.5],
      [0.4, 0.2],
    ];
    const s = opnorm(W);
    const scaled = W.map((r) => r.map((x) => (0.79 * x) / s));
    const { inst, y } = await solveAt(tanh('require opnorm(W) <= 0.8'), { W: scaled, b: [0.5, -1] });
    const [B] = sampledBs(inst, y, [], 1);
    expect(opnorm(identityMinus(B))).toBeLessThanOrEqual(0.8 + 1e-12);
  });
});

describe('positive definite by construction (MATH.md 5.3)', () => {
  const pd = (residual: string, req: string) => `model P {
  dim n
  dim m
  data X: real[m, n]
  param c: real[n]
  param mu: real
  unknown y: real[n]
  solve ${residual} = 0
  ${req}
}
`;

  it('mu y + X\' relu(X y) - c with mu >= 0.1: B = mu I + X\' D X, certified monotone', () => {
    const c = verdictOf(pd("mu * y + X' * relu(X * y) - c", 'require mu >= 0.1'));
    expect(c.verdict).toBe('certified');
    expect(c.test).toBe('monotone');
    expect(c.reason).toContain('0.1');
    // A smooth nonnegative factor (exp) and a constant mu: the same argument.
    expect(verdictOf(pd("0.5 * y + X' * exp(X * y) - c", '')).verdict).toBe('certified');
  });

  it('just outside: mu >= 0, a factor of either sign (abs), a minus sign, or two different matrices', () => {
    expect(verdictOf(pd("mu * y + X' * relu(X * y) - c", 'require mu >= 0')).verdict).not.toBe('certified');
    expect(verdictOf(pd("mu * y + X' * abs(X * y) - c", 'require mu >= 0.1')).verdict).not.toBe('certified');
    expect(verdictOf(pd("mu * y - X' * relu(X * y) - c", 'require mu >= 0.1')).verdict).not.toBe('certified');
    const two = `model P {\n  dim n\n  data X: real[n, n]\n  data Z: real[n, n]\n  param c: real[n]\n  unknown y: real[n]\n  solve 0.5 * y + X' * relu(Z * y) - c = 0\n}\n`;
    expect(verdictOf(two).verdict).not.toBe('certified');
  });

  it('brute force: at the solution, the symmetric part of B is positive definite for every D_relu in [0, 1]^m', async () => {
    const X = [
      [1, -2, 0.5],
      [0.3, 1, -1],
      [2, 0, 1],
      [-1, 1, 1],
    ];
    const { inst, y } = await solveAt(pd("mu * y + X' * relu(X * y) - c", 'require mu >= 0.1'), { X, c: [1, -0.5, 2], mu: 0.1 });
    for (const B of sampledBs(inst, y, [[0, 1]], 40)) expect(symmetricPartPositiveDefinite(B)).toBe(true);
  });
});

describe('guards by what they depend on', () => {
  it('a data-only scalar bound stays a run-time guard; a stated bound decides it at compile time', () => {
    const base = (req: string) => `model G {\n  data a: real\n  param x: real\n  unknown y: real\n  fixpoint y = a * relu(y) + x\n  ${req}\n}\n`;
    const free = verdictOf(base(''));
    expect(free.verdict).toBe('guarded');
    expect(free.guardBound!.terms.flat().filter((f) => f.value === null).map((f) => f.dep)).toEqual(['data']);
    expect(verdictOf(base('require abs(a) < 1')).verdict).toBe('certified');
    expect(verdictOf(base('require abs(a) <= 1')).verdict).not.toBe('certified');
  });

  it('a bound on constants is decided at compile time: no guard is left', () => {
    const c = verdictOf(`model K {\n  dim n\n  param c: real[n]\n  unknown y: real[n]\n  fixpoint y = proj_simplex(y - 0.25 * (y + y - c))\n}\n`);
    expect(c.verdict).toBe('certified');
    expect(c.guard).toBeNull();
  });
});
