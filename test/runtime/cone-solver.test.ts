/**
 * The cone-program solver (src/runtime/cone-solver.ts) against independent truth: programs
 * whose unique solution is known by construction (test/runtime/cone-solver-programs.ts),
 * hand-built infeasible and unbounded programs whose certificates are checked by their
 * defining conditions, and the KKT conditions recomputed here from the returned point.
 */
import { describe, expect, it } from 'vitest';

import { factorCone, solveCone, type ConeSolveResult } from '../../src/runtime/cone-solver.ts';
import type { Matrix } from '../../src/runtime/index.ts';
import { gaussian } from '../helpers/cone-programs.ts';
import { coneOf, knownLp, knownProgram, projectBlocks, type BlockSpec, type KnownProgram } from './cone-solver-programs.ts';
import { mulberry32 } from './rng.ts';

/** max |a - b| / max(1, max |b|). */
function relErr(a: Float64Array, b: Float64Array): number {
  let e = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / s;
}

function mulA(A: Matrix, x: Float64Array): Float64Array {
  const out = new Float64Array(A.rows);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) out[i] += A.data[i * A.cols + j] * x[j];
  return out;
}

function mulAt(A: Matrix, y: Float64Array): Float64Array {
  const out = new Float64Array(A.cols);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) out[j] += A.data[i * A.cols + j] * y[i];
  return out;
}

function dotv(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(v: Float64Array): number {
  return v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
}

/** Distance (inf-norm) of v to K (dual = false) or K* (dual = true), by the test's own projections. */
function coneDistance(blocks: readonly BlockSpec[], v: Float64Array, dual: boolean): number {
  const p = new Float64Array(v.length);
  projectBlocks(blocks, v, p, dual);
  return relErr(p, v) * Math.max(1, maxAbs(v));
}

function expectSolution(p: KnownProgram, r: ConeSolveResult, accuracy: number): void {
  expect(r.status).toBe('converged');
  expect(relErr(r.x, p.x)).toBeLessThan(accuracy);
  expect(relErr(r.y, p.y)).toBeLessThan(accuracy);
  expect(relErr(r.s, p.s)).toBeLessThan(accuracy);
  // The reported residuals are the true ones.
  const rp = mulA(p.A, r.x).map((v, i) => v + r.s[i] - p.b[i]);
  const rd = mulAt(p.A, r.y).map((v, j) => v + p.c[j]);
  expect(Math.abs(maxAbs(rp) - r.primalResidual)).toBeLessThan(1e-9 * Math.max(1, maxAbs(p.b)));
  expect(Math.abs(maxAbs(rd) - r.dualResidual)).toBeLessThan(1e-9 * Math.max(1, maxAbs(p.c)));
}

const socp: BlockSpec[] = [
  { kind: 'l', size: 5 },
  { kind: 'q', size: 4 },
  { kind: 'q', size: 6 },
  { kind: 'q', size: 5 },
  { kind: 'q', size: 8 },
  { kind: 'q', size: 3 },
  { kind: 'q', size: 7 },
];
const sdp: BlockSpec[] = [
  { kind: 's', dim: 3 },
  { kind: 's', dim: 4 },
  { kind: 's', dim: 5 },
];
const mixed: BlockSpec[] = [
  { kind: 'z', size: 3 },
  { kind: 'l', size: 20 },
  { kind: 'q', size: 5 },
  { kind: 'q', size: 5 },
  { kind: 'q', size: 5 },
  { kind: 's', dim: 4 },
];

describe('solveCone: programs with a known unique solution', () => {
  it.each([
    [1, 2, 8],
    [2, 5, 40],
    [3, 20, 180],
  ])('LP seed %i: %i zero rows, %i nonnegative rows', (seed, zeros, nonneg) => {
    const p = knownLp(seed, zeros, nonneg);
    expectSolution(p, solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-12, maxIter: 20000 }), 1e-8);
  });

  it('SOCP: six second-order blocks and a nonnegative block', () => {
    const p = knownProgram(11, socp);
    expectSolution(p, solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-11 }), 1e-8);
  });

  it('SDP: three PSD blocks in svec form', () => {
    // This program's dual is ill-conditioned: the error in y is about 1e3 times the relative
    // residuals (measured: 1e-7 at tol 1e-12), hence the tighter tolerance.
    const p = knownProgram(12, sdp);
    expectSolution(p, solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-13 }), 1e-8);
  });

  it('a mixture of zero, nonnegative, second-order and PSD blocks', () => {
    const p = knownProgram(13, mixed);
    expectSolution(p, solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-12, maxIter: 20000 }), 1e-8);
  });

  it('the Minty variable: s = Pi_K(v), y = Pi_K(v) - v, and s in K, y in K*, s\'y = 0', () => {
    const p = knownProgram(14, mixed);
    const r = solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-10, maxIter: 20000 });
    const pv = new Float64Array(r.v.length);
    projectBlocks(p.blocks, r.v, pv, false);
    expect(relErr(pv, r.s)).toBeLessThan(1e-12);
    expect(relErr(pv.map((v, i) => v - r.v[i]), r.y)).toBeLessThan(1e-12);
    expect(coneDistance(p.blocks, r.s, false)).toBeLessThan(1e-12);
    expect(coneDistance(p.blocks, r.y, true)).toBeLessThan(1e-12);
    expect(Math.abs(dotv(r.s, r.y))).toBeLessThan(1e-10);
  });
});

describe('solveCone: warm starts and the factorization', () => {
  it('a warm start from the solution converges in one or two iterations', () => {
    for (const [seed, blocks] of [
      [21, socp],
      [22, mixed],
    ] as const) {
      const p = knownProgram(seed, blocks);
      const r = solveCone(p.A, p.b, p.c, p.cone, { warm: { x: p.x, y: p.y, s: p.s } });
      expect(r.status).toBe('converged');
      expect(r.iterations).toBeLessThanOrEqual(2);
      expect(relErr(r.x, p.x)).toBeLessThan(1e-10);
      // The same from x and the Minty variable v = s - y alone.
      const rv = solveCone(p.A, p.b, p.c, p.cone, { warm: { x: p.x, v: p.s.map((s, i) => s - p.y[i]) } });
      expect(rv.status).toBe('converged');
      expect(rv.iterations).toBeLessThanOrEqual(2);
    }
  });

  it('the factorization is cached per A, reused by a second solve, and refreshed when A is mutated', () => {
    const p = knownLp(31, 4, 50);
    const first = solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-10 });
    expect(first.factorizationReused).toBe(false);
    expect(first.status).toBe('converged');
    // A nearby program (b perturbed), warm-started from the first solution: same A, cached factor, fewer iterations.
    const rng = mulberry32(5);
    const b2 = p.b.map((v) => v + 1e-3 * gaussian(rng));
    const second = solveCone(p.A, b2, p.c, p.cone, { tol: 1e-10, warm: { x: first.x, y: first.y, s: first.s } });
    expect(second.factorizationReused).toBe(true);
    expect(second.status).toBe('converged');
    expect(second.iterations).toBeLessThan(first.iterations);
    // Scale A, b, c in place by 2 (the solution x, y, s is unchanged): the fingerprint sees the mutation.
    for (let i = 0; i < p.A.data.length; i++) p.A.data[i] *= 2;
    const b3 = p.b.map((v) => 2 * v);
    const c3 = p.c.map((v) => 2 * v);
    const third = solveCone(p.A, b3, c3, p.cone, { tol: 1e-11 });
    expect(third.factorizationReused).toBe(false);
    expect(relErr(third.x, p.x)).toBeLessThan(1e-8);
    expect(relErr(third.y, p.y)).toBeLessThan(1e-8);
    expect(relErr(third.s, p.s.map((v) => 2 * v))).toBeLessThan(1e-8);
  });

  it('a prepared factorization is used and checked against A and the cone blocks', () => {
    const p = knownProgram(32, socp);
    const factorization = factorCone(p.A, { uniformBlocks: p.cone.uniformBlocks });
    const r = solveCone(p.A, p.b, p.c, p.cone, { factorization, tol: 1e-11 });
    expect(r.factorizationReused).toBe(true);
    expectSolution(p, r, 1e-8);
    expect(() => solveCone(p.A, p.b, p.c, { ...p.cone, uniformBlocks: [] }, { factorization })).toThrow(/uniform blocks/);
    const other = knownProgram(33, socp);
    expect(() => solveCone(other.A, other.b, other.c, other.cone, { factorization })).toThrow(/another A/);
  });

  it('a wide A (m < n): the m x m form reaches the known optimal value and the KKT conditions', () => {
    // Known dual y* and a feasible x0: with c = -A'y*, any x with A x + s = b, s'y* = 0 is optimal
    // and the optimal value is -b'y*; x is not unique (A has a null space), so only KKT and the value are checked.
    const rng = mulberry32(41);
    const blocks: BlockSpec[] = [
      { kind: 'z', size: 4 },
      { kind: 'l', size: 12 },
      { kind: 'q', size: 6 },
    ];
    const m = 22;
    const n = 40;
    const A: Matrix = { rows: m, cols: n, data: Float64Array.from({ length: m * n }, () => gaussian(rng)) };
    const y = new Float64Array(m);
    const s = new Float64Array(m);
    for (let i = 0; i < 4; i++) y[i] = gaussian(rng);
    for (let i = 4; i < 16; i++) {
      if (i % 2 === 0) y[i] = 1 + rng();
      else s[i] = 1 + rng();
    }
    s[16] = 2;
    s[17] = 1;
    y[16] = 1.5;
    y[17] = -1.5;
    const x0 = Float64Array.from({ length: n }, () => gaussian(rng));
    const b = mulA(A, x0).map((v, i) => v + s[i]);
    const c = mulAt(A, y).map((v) => -v);
    const cone = coneOf(blocks);
    const r = solveCone(A, b, c, cone, { tol: 1e-11, maxIter: 20000 });
    expect(r.status).toBe('converged');
    const optimum = -dotv(b, y);
    expect(Math.abs(dotv(c, r.x) - optimum)).toBeLessThan(1e-8 * Math.max(1, Math.abs(optimum)));
    expect(maxAbs(mulA(A, r.x).map((v, i) => v + r.s[i] - b[i]))).toBeLessThan(1e-8);
    expect(maxAbs(mulAt(A, r.y).map((v, j) => v + c[j]))).toBeLessThan(1e-8);
    expect(coneDistance(blocks, r.s, false)).toBeLessThan(1e-12);
    expect(coneDistance(blocks, r.y, true)).toBeLessThan(1e-12);
  });
});

describe('solveCone: Anderson acceleration', () => {
  it('reduces the iterations against anderson: 0 over a fixed seed set', () => {
    let accelerated = 0;
    let plain = 0;
    const programs = [knownLp(51, 3, 30), knownProgram(52, socp), knownProgram(53, sdp), knownProgram(54, mixed)];
    for (const p of programs) {
      const a = solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-8, maxIter: 20000 });
      const z = solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-8, maxIter: 20000, anderson: 0 });
      expect(a.status).toBe('converged');
      accelerated += a.iterations;
      plain += z.status === 'converged' ? z.iterations : 20000;
    }
    expect(accelerated).toBeLessThan(0.6 * plain);
  });
});

describe('solveCone: infeasibility and unboundedness', () => {
  it('an infeasible LP: the certificate y >= 0, A\'y ~ 0, b\'y = -1', () => {
    // Random rows a_i'x <= beta_i plus the contradiction a'x <= 0 and -a'x <= -1.
    const rng = mulberry32(61);
    const n = 8;
    const rows: number[][] = [];
    const b: number[] = [];
    for (let i = 0; i < 12; i++) {
      rows.push(Array.from({ length: n }, () => gaussian(rng)));
      b.push(1 + rng());
    }
    const a = Array.from({ length: n }, () => gaussian(rng));
    rows.push(a, a.map((v) => -v));
    b.push(0, -1);
    const m = rows.length;
    const A: Matrix = { rows: m, cols: n, data: Float64Array.from(rows.flat()) };
    const bb = Float64Array.from(b);
    const c = Float64Array.from({ length: n }, () => gaussian(rng));
    const blocks: BlockSpec[] = [{ kind: 'l', size: m }];
    const r = solveCone(A, bb, c, coneOf(blocks));
    expect(r.status).toBe('infeasible');
    const y = r.certificate!;
    expect(y.length).toBe(m);
    expect(dotv(bb, y)).toBeCloseTo(-1, 12);
    expect(Math.min(...y)).toBeGreaterThanOrEqual(0);
    expect(maxAbs(mulAt(A, y))).toBeLessThan(1e-4);
  });

  it('an infeasible SOCP: ||x|| <= 1 and x_1 >= 2', () => {
    const n = 3;
    // SOC rows: (1, x) in Q^4, i.e. s = b - A x with A = [0; -I], b = (1, 0, 0, 0); then -x_1 + s = -2, s >= 0.
    const rows = [
      [0, 0, 0],
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
      [-1, 0, 0],
    ];
    const A: Matrix = { rows: 5, cols: n, data: Float64Array.from(rows.flat()) };
    const b = Float64Array.from([1, 0, 0, 0, -2]);
    const c = Float64Array.from([1, 1, 1]);
    const blocks: BlockSpec[] = [
      { kind: 'q', size: 4 },
      { kind: 'l', size: 1 },
    ];
    const r = solveCone(A, b, c, coneOf(blocks));
    expect(r.status).toBe('infeasible');
    const y = r.certificate!;
    expect(dotv(b, y)).toBeCloseTo(-1, 12);
    expect(coneDistance(blocks, y, true)).toBeLessThan(1e-12);
    expect(maxAbs(mulAt(A, y))).toBeLessThan(1e-4);
  });

  it('an unbounded LP: the certificate A x in -K, c\'x = -1', () => {
    // Rows bent so that A d <= 0 for a direction d, c = -d, and b = A x0 + s0 feasible.
    const rng = mulberry32(62);
    const m = 20;
    const n = 6;
    const d = Float64Array.from({ length: n }, () => gaussian(rng));
    const dd = dotv(d, d);
    const A: Matrix = { rows: m, cols: n, data: new Float64Array(m * n) };
    for (let i = 0; i < m; i++) {
      const row = Float64Array.from({ length: n }, () => gaussian(rng));
      const shift = (dotv(row, d) + 0.1 + rng()) / dd;
      for (let j = 0; j < n; j++) A.data[i * n + j] = row[j] - shift * d[j];
    }
    const x0 = Float64Array.from({ length: n }, () => gaussian(rng));
    const b = mulA(A, x0).map((v) => v + 1 + rng());
    const c = d.map((v) => -v);
    const r = solveCone(A, b, c, coneOf([{ kind: 'l', size: m }]));
    expect(r.status).toBe('unbounded');
    const x = r.certificate!;
    expect(x.length).toBe(n);
    expect(dotv(c, x)).toBeCloseTo(-1, 12);
    expect(Math.max(...mulA(A, x))).toBeLessThan(1e-4);
  });

  it('a feasible program is not declared infeasible or unbounded on the way (seed set)', () => {
    for (const seed of [71, 72, 73]) {
      const p = knownProgram(seed, mixed);
      const r = solveCone(p.A, p.b, p.c, p.cone, { tol: 1e-9, maxIter: 20000 });
      expect(r.status).toBe('converged');
    }
  });
});

describe('solveCone: badly scaled data', () => {
  it('rows scaled by 1e3 and 1e-3 (uniformly within cone blocks) converge thanks to equilibration', () => {
    const p = knownProgram(81, mixed);
    // Row scaling r (positive, constant on SOC and PSD blocks): A -> diag(r) A, b -> diag(r) b keeps
    // the cone and maps the solution to (x, diag(r) s, diag(r)^{-1} y).
    const m = p.A.rows;
    const n = p.A.cols;
    const r = new Float64Array(m);
    let o = 0;
    let k = 0;
    for (const blk of p.blocks) {
      const len = blk.kind === 's' ? (blk.dim * (blk.dim + 1)) / 2 : blk.size;
      const uniform = blk.kind === 'q' || blk.kind === 's';
      for (let i = 0; i < len; i++) {
        if (!uniform) k++;
        r[o + i] = k % 2 === 0 ? 1e3 : 1e-3;
      }
      if (uniform) k++;
      o += len;
    }
    const A: Matrix = { rows: m, cols: n, data: p.A.data.map((v, idx) => v * r[Math.floor(idx / n)]) };
    const b = p.b.map((v, i) => v * r[i]);
    const res = solveCone(A, b, p.c, p.cone, { tol: 1e-12, maxIter: 20000 });
    expect(res.status).toBe('converged');
    expect(relErr(res.x, p.x)).toBeLessThan(1e-8);
    expect(relErr(res.y.map((v, i) => v * r[i]), p.y)).toBeLessThan(1e-8);
    expect(relErr(res.s.map((v, i) => v / r[i]), p.s)).toBeLessThan(1e-8);
  });
});

describe('solveCone: options and misuse', () => {
  it('rejects mismatched lengths and bad options, and stops at maxIter with the last point', () => {
    const p = knownLp(91, 2, 10);
    expect(() => solveCone(p.A, p.b.subarray(1), p.c, p.cone)).toThrow(/length/);
    expect(() => solveCone(p.A, p.b, p.c, p.cone, { relaxation: 2 })).toThrow(/relaxation/);
    const r = solveCone(p.A, p.b, p.c, p.cone, { maxIter: 3 });
    expect(r.status).toBe('max-iterations');
    expect(r.iterations).toBe(3);
    expect(r.x.every(Number.isFinite)).toBe(true);
  });

  it("a projection that turns non-finite stops with 'non-finite' and the last finite point", () => {
    const p = knownLp(92, 2, 10);
    let calls = 0;
    const broken = {
      ...p.cone,
      projectDual: (v: Float64Array, out: Float64Array) => {
        p.cone.projectDual(v, out);
        if (++calls > 5) out[0] = NaN;
      },
    };
    const r = solveCone(p.A, p.b, p.c, broken, { anderson: 0 });
    expect(r.status).toBe('non-finite');
    expect(r.iterations).toBe(6);
    for (const v of [r.x, r.y, r.s, r.v]) expect(v.every(Number.isFinite)).toBe(true);
    // The point returned is the fifth iterate: the same as a clean run stopped there.
    const five = solveCone(p.A, p.b, p.c, p.cone, { anderson: 0, maxIter: 5 });
    expect(relErr(r.x, five.x)).toBe(0);
    expect(relErr(r.y, five.y)).toBe(0);
  });
});
