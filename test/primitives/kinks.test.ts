import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../../src/primitives/registry.ts';
import type { Tensor } from '../../src/primitives/types.ts';
import { sample, seedOf, SPECS, type FaceTie } from './cases.ts';
import { centralDifference, expectClose, inner, jvpAt, maxAbs, oneSidedDifference, run, vjpAt } from './harness.ts';
import { mulberry32, randomTensor } from './rng.ts';

// At an exact tie: the element the rules use lies in the declared range, the range holds
// both one-sided derivatives, and kinkGap is 0 there and positive elsewhere.
const diagonal = [...REGISTRY.keys()].flatMap((name) => (SPECS[name]?.diagonalTies ?? []).map((t, i) => [name, i, t] as const));
const faces = [...REGISTRY.keys()].flatMap((name) => (SPECS[name]?.faceTies ?? []).map((t, i) => [name, i, t] as const));

function expectGaps(gap: Float64Array, tied: readonly number[]): void {
  gap.forEach((g, i) => {
    if (tied.includes(i)) expect(g, `gap ${i} at a tie`).toBe(0);
    else expect(g, `gap ${i} off the tie`).toBeGreaterThan(0);
  });
}

const unit = (t: Tensor, i: number): Tensor => ({ shape: t.shape, data: t.data.map((_, j) => (j === i ? 1 : 0)) });

describe('kinks: random points are off every switching surface', () => {
  // (The switch of `select` has a gap of two halves, distances and jumps: test/analysis/select-kinks.test.ts.)
  it.each([...REGISTRY.values()].filter((p) => p.kink && !p.kink.switch).map((p) => [p.name, p] as const))('%s', (name, p) => {
    const rng = mulberry32(seedOf(name, 99));
    for (const c of SPECS[name].cases.filter((c) => !c.valuesOnly)) {
      for (let draw = 0; draw < 5; draw++) expect(Math.min(...p.kink!.kinkGap(sample(c.args, rng)))).toBeGreaterThan(0);
    }
  });
});

describe('diagonal kinks at a tie', () => {
  it.each(diagonal)('%s tie %i', (name, _index, tie) => {
    const k = REGISTRY.get(name)!.kink!;
    const [lo, hi] = k.range!;
    const gap = k.kinkGap(tie.args);
    expectGaps(gap, tie.tied);
    const factor = run(k.factor!, tie.args).data;
    expect(factor.length).toBe(gap.length);
    const ks = tie.args.map(() => 'real' as const);
    const out = run(name, tie.args);
    factor.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(lo);
      expect(d).toBeLessThanOrEqual(hi);
      // Kink variable i is the derivative of output entry o in entry i of the first argument.
      const o = out.data.length === 1 ? 0 : i;
      const e = tie.args.map((a, j) => (j === 0 ? unit(a, i) : null));
      expect(jvpAt(name, ks, tie.args, e).value!.data[o], 'the JVP rule uses the factor').toBe(d);
      if (tie.tied.includes(i)) {
        expect(d, 'the documented element used at a tie').toBe(tie.used);
        const right = oneSidedDifference(name, tie.args, e, 1e-7)[o];
        const left = oneSidedDifference(name, tie.args, e, -1e-7)[o];
        for (const side of [right, left]) {
          expect(side).toBeGreaterThanOrEqual(lo - 1e-6);
          expect(side).toBeLessThanOrEqual(hi + 1e-6);
        }
        expect(Math.abs(right - left), 'a real kink').toBeGreaterThan(0.5);
      } else {
        expect(Math.abs(centralDifference(name, tie.args, e)[o] - d)).toBeLessThan(1e-6);
      }
    });
  });
});

/** Membership of a directional derivative in the range: one of the faces (a scalar: their hull). */
function inRange(tie: FaceTie, dirs: Tensor[], faceValues: Float64Array[], D: Float64Array): boolean {
  if (tie.inRange) return tie.inRange(dirs, D);
  const tol = 1e-4 * Math.max(1, maxAbs(D));
  if (D.length === 1) {
    const values = faceValues.map((f) => f[0]);
    return Math.min(...values) - tol <= D[0] && D[0] <= Math.max(...values) + tol;
  }
  return faceValues.some((f) => maxAbs(f.map((x, i) => x - D[i])) < tol);
}

describe('non-diagonal kinks at a tie', () => {
  it.each(faces)('%s tie %i', (name, index, tie) => {
    const k = REGISTRY.get(name)!.kink!;
    expectGaps(k.kinkGap(tie.args), tie.tied);
    for (const point of tie.nearby ?? []) expect(Math.min(...k.kinkGap(point))).toBeGreaterThan(0);
    const ks = tie.kinds ?? tie.args.map(() => 'real' as const);
    const rng = mulberry32(seedOf(name, 1000 + index));
    for (let draw = 0; draw < 8; draw++) {
      // A fixed argument (a cone's code) is not moved: a zero direction.
      const dirs = tie.args.map((a, i) => (ks[i] === 'real' ? randomTensor(rng, a.shape) : { shape: a.shape, data: new Float64Array(a.data.length) }));
      const faceValues = (tie.nearby ?? []).map((point) => centralDifference(name, point, dirs, 1e-8));
      const used = jvpAt(name, ks, tie.args, dirs).value!.data;
      const right = oneSidedDifference(name, tie.args, dirs, 1e-8);
      const left = oneSidedDifference(name, tie.args, dirs, -1e-8);
      expect(inRange(tie, dirs, faceValues, used), `used element ${Array.from(used)}`).toBe(true);
      expect(inRange(tie, dirs, faceValues, right), `right derivative ${Array.from(right)}`).toBe(true);
      expect(inRange(tie, dirs, faceValues, left), `left derivative ${Array.from(left)}`).toBe(true);
      if (tie.usedFace !== undefined) expectClose(used, faceValues[tie.usedFace], 1e-4, 'the documented face is used');
      // The VJP uses the same element (its transpose).
      const ct = randomTensor(rng, run(name, tie.args).shape);
      const cts = vjpAt(name, ks, tie.args, ct);
      const vjp = cts.reduce((s, c, i) => s + (c ? inner(c.data, dirs[i].data) : 0), 0);
      expectClose([vjp], [inner(ct.data, used)], 1e-12, 'VJP and JVP agree at the tie');
    }
  });
});
