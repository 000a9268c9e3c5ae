import { describe, expect, it } from 'vitest';
import { coneB, type ConeProblem } from '../../src/runtime/cone-program.ts';
import { reducedConeSystem, splitRows } from '../../src/runtime/cone-reduced.ts';
import { luFactor, luSolve, luSolveTranspose } from '../../src/runtime/lu.ts';
import { coneJacobian, decodeCone, encodeCone, projectCone, projectDualCone, type ConeBlockKind } from '../../src/runtime/values/cones.ts';
import { mulberry32, type Rng } from '../helpers/rng.ts';

// The reduced solves with a cone program's B (src/runtime/cone-reduced.ts) against dense LU
// of B itself (coneB), at random points v of random cones: forward and transposed, both
// layouts of the unknowns and of the equations, scaled equations.

const normal = (rng: Rng) => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

function problem(rng: Rng, blocks: { kind: ConeBlockKind; n: number }[], n: number, layout: { xFirst: boolean; primalFirst: boolean; alpha: number; beta: number }): ConeProblem {
  const K = decodeCone(encodeCone(blocks));
  const m = K.size;
  const A = { rows: m, cols: n, data: Float64Array.from({ length: m * n }, () => normal(rng)) };
  return {
    name: 'K', primitive: 'p', at: '1:1', A, b: new Float64Array(m), c: new Float64Array(n), K,
    callbacks: { project: (v, out) => projectCone(K, v, out), projectDual: (v, out) => projectDualCone(K, v, out), uniformBlocks: [] },
    n, m,
    xAt: layout.xFirst ? 0 : m, vAt: layout.xFirst ? n : 0,
    primalAt: layout.primalFirst ? 0 : n, dualAt: layout.primalFirst ? m : 0,
    alpha: layout.alpha, beta: layout.beta,
  };
}

/** A point v whose LP rows are n tight (v < 0) and the rest slack, other blocks random. */
function point(rng: Rng, p: ConeProblem, tightLp: number): Float64Array {
  const v = Float64Array.from({ length: p.m }, () => normal(rng));
  let tight = 0;
  for (const b of p.K.blocks) {
    if (b.kind !== 'nonneg') continue;
    for (let i = b.offset; i < b.offset + b.size; i++) v[i] = tight++ < tightLp ? -(0.5 + rng()) : 0.5 + rng();
  }
  return v;
}

const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));

function check(p: ConeProblem, v: Float64Array, rng: Rng, wantForm?: 'diagonal' | 'coupled') {
  const order = p.n + p.m;
  const D = coneJacobian(p.K, v);
  const B = coneB(p, D, order);
  const lu = luFactor(B);
  const reduced = reducedConeSystem(p, D, order);
  if (wantForm) expect(reduced.form).toBe(wantForm);
  expect(reduced.singular).toBe(lu.singular);
  if (lu.singular) return;
  const r = Float64Array.from({ length: order }, () => normal(rng));
  const scale = 1 + maxAbs(luSolve(lu, r));
  expect(maxAbs(reduced.solve(r).map((z, i) => z - luSolve(lu, r)[i])) / scale).toBeLessThan(1e-9);
  const scaleT = 1 + maxAbs(luSolveTranspose(lu, r));
  expect(maxAbs(reduced.solveTranspose(r).map((w, i) => w - luSolveTranspose(lu, r)[i])) / scaleT).toBeLessThan(1e-9);
  // The solve is B's inverse: B z = r, checked by the product with B.
  const z = reduced.solve(r);
  const Bz = new Float64Array(order);
  for (let i = 0; i < order; i++) for (let j = 0; j < order; j++) Bz[i] += B.data[i * order + j] * z[j];
  expect(maxAbs(Bz.map((x, i) => x - r[i])) / (1 + maxAbs(r))).toBeLessThan(1e-9);
}

const layouts = [
  { xFirst: true, primalFirst: true, alpha: 1, beta: 1 },
  { xFirst: false, primalFirst: false, alpha: -2, beta: 0.5 },
  { xFirst: true, primalFirst: false, alpha: 3, beta: -1 },
];

describe('reduced cone system against dense LU of B', () => {
  it('LP (n tight rows): R is block diagonal, one LU of the n x n A_Z, at every layout', () => {
    const rng = mulberry32(5);
    for (const layout of layouts) {
      for (const [m, n] of [[12, 5], [7, 7], [30, 9]]) {
        const p = problem(rng, [{ kind: 'nonneg', n: m }], n, layout);
        const v = point(rng, p, n);
        expect(splitRows(p, coneJacobian(p.K, v)).Z.length).toBe(n);
        check(p, v, rng, 'diagonal');
      }
    }
  });

  it('LP with equalities (zero rows are always tight) and the wrong count of tight rows is singular, as B', () => {
    const rng = mulberry32(6);
    for (const layout of layouts) {
      const p = problem(rng, [{ kind: 'zero', n: 2 }, { kind: 'nonneg', n: 10 }], 6, layout);
      check(p, point(rng, p, 4), rng, 'diagonal');
      // 5 tight rows + 2 equalities = 7 > n = 6: B singular, and so is R.
      const q = problem(rng, [{ kind: 'zero', n: 2 }, { kind: 'nonneg', n: 10 }], 6, layout);
      const reduced = reducedConeSystem(q, coneJacobian(q.K, point(rng, q, 5)), q.n + q.m);
      expect(reduced.singular).toBe(true);
      expect(luFactor(coneB(q, coneJacobian(q.K, point(mulberry32(1), q, 5)), q.n + q.m)).singular).toBe(true);
    }
  });

  it('second-order and PSD blocks on faces (coupled R), mixed with slack and tight rows', () => {
    const rng = mulberry32(7);
    for (const layout of layouts) {
      for (let trial = 0; trial < 4; trial++) {
        const p = problem(rng, [{ kind: 'zero', n: 1 }, { kind: 'nonneg', n: 6 }, { kind: 'soc', n: 4 }, { kind: 'soc', n: 3 }, { kind: 'psd', n: 3 }], 8, layout);
        check(p, point(rng, p, 3), rng);
      }
    }
  });

  it('a second-order block inside its cone (D = I) and one in the polar (D = 0) are slack and tight rows', () => {
    const rng = mulberry32(8);
    const p = problem(rng, [{ kind: 'soc', n: 3 }, { kind: 'soc', n: 3 }, { kind: 'nonneg', n: 4 }], 4, layouts[0]);
    const v = Float64Array.of(5, 1, 1, -5, 1, 1, -1, -1, 1, 1);
    const split = splitRows(p, coneJacobian(p.K, v));
    expect(Array.from(split.P)).toEqual([0, 1, 2, 8, 9]);
    expect(Array.from(split.Z)).toEqual([3, 4, 5, 6, 7]);
    expect(split.M.length).toBe(0);
    check(p, v, rng);
  });
});
