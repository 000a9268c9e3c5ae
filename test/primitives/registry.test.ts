import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../../src/primitives/registry.ts';
import { K, kinkGap } from '../../src/runtime/index.ts';
import { KINK_GAPS, VALUE_KERNELS } from '../../src/runtime/values/table.ts';
import { sample, seedOf, SPECS } from './cases.ts';
import { mulberry32 } from './rng.ts';

// Every primitive is complete (DESIGN.md "The primitive registry") and has test cases.
const all = [...REGISTRY.values()];

describe('primitive registry', () => {
  it.each(all.map((p) => [p.name, p] as const))('%s has a test case entry and every rule it needs', (name, p) => {
    const spec = SPECS[name];
    expect(spec, `${name}: add an entry to test/primitives/cases.ts`).toBeDefined();
    expect(spec.cases.length).toBeGreaterThan(0);
    expect(typeof p.evaluate).toBe('function');
    if (p.surface !== 'internal' && !/data-only/.test(p.summary)) {
      expect(typeof p.jvp, `${name}: jvp`).toBe('function');
      expect(typeof p.vjp, `${name}: vjp`).toBe('function');
    }
    expect(typeof p.jvp === 'function', `${name}: jvp and vjp come together`).toBe(typeof p.vjp === 'function');
    if (p.structure.elementwise) expect(typeof p.scalarExpr, `${name}: scalarExpr`).toBe('function');
    // A kink description exactly when the primitive has tie cases.
    expect(p.kink !== undefined, `${name}: kink description vs tie cases`).toBe(Boolean(spec.diagonalTies ?? spec.faceTies) || p.kink?.switch === true);
  });

  it.each(all.filter((p) => p.kink).map((p) => [p.name, p] as const))('%s describes its kink', (name, p) => {
    const k = p.kink!;
    for (const text of [k.condition, k.used, k.rangeText]) expect(text.length).toBeGreaterThan(0);
    const selection = REGISTRY.get(k.selection);
    expect(selection?.surface, `${name}: selection ${k.selection}`).toBe('internal');
    if (k.range) {
      // Diagonal: the factor is the selection and declares the same range.
      expect(k.factor).toBe(k.selection);
      expect(selection!.structure.kinkFactor?.range).toEqual(k.range);
      expect(k.range[0]).toBeLessThan(k.range[1]);
      // (A switch's factor reads (s, then, else), not select's own arguments: tested in test/analysis/select-kinks.test.ts.)
      if (!k.switch) expect(SPECS[name].diagonalTies).toBeDefined();
    } else {
      expect(k.factor).toBeNull();
      expect(SPECS[name].faceTies).toBeDefined();
    }
  });

  it('kink factors are internal, piecewise constant and name a registered primitive', () => {
    const factors = all.filter((p) => p.structure.kinkFactor);
    expect(factors.map((p) => p.name).sort()).toEqual(['abs_d', 'clip_d', 'max_d', 'min_d', 'proj_linf_ball_d', 'relu_d', 'select_d', 'soft_threshold_d']);
    for (const f of factors) {
      expect(f.surface).toBe('internal');
      expect(f.lipschitz).toBe('discontinuous');
      expect(REGISTRY.get(f.structure.kinkFactor!.of)?.kink?.factor).toBe(f.name);
    }
  });

  it.each(all.map((p) => [p.name, p] as const))('%s computes with the runtime kernel it names, as generated code does', (name, p) => {
    // Generated modules call K.<kernel> and kinkGap(<gap>, args); the analysis calls evaluate and kink.kinkGap.
    expect(Object.hasOwn(VALUE_KERNELS, p.kernel), `${name}: kernel ${p.kernel}`).toBe(true);
    expect(K[p.kernel]).toBe(VALUE_KERNELS[p.kernel]);
    if (p.kink) expect(Object.hasOwn(KINK_GAPS, p.kink.gap), `${name}: gap ${p.kink.gap}`).toBe(true);
    const c = SPECS[name].cases[0];
    const args = sample(c.args, mulberry32(seedOf(name, 0)));
    expect(Array.from(K[p.kernel](...args).data)).toEqual(Array.from(p.evaluate(args, {}).data));
    if (p.kink) expect(Array.from(kinkGap(p.kink.gap, args))).toEqual(Array.from(p.kink.kinkGap(args)));
  });

  it("the runtime's tables hold no kernel or gap that no primitive names", () => {
    expect(Object.keys(VALUE_KERNELS).sort()).toEqual([...new Set(all.map((p) => p.kernel))].sort());
    expect(Object.keys(KINK_GAPS).sort()).toEqual([...new Set(all.flatMap((p) => (p.kink ? [p.kink.gap] : [])))].sort());
  });

  it('a name that is not a kernel or a gap is an error, not an inherited property', () => {
    expect(() => kinkGap('toString', [])).toThrow(/no kink gap named toString/);
    expect(() => kinkGap('sigmoid', [])).toThrow(/no kink gap named sigmoid/);
  });
});

// The `prox` facts the composite recognizer relies on (src/analysis/composite.ts): each
// primitive that claims to be a row-wise prox computes exactly that prox, checked here on
// random values against the formula the fact names (soft thresholding at the threshold
// argument; the clip to the box its bounds describe), not against its own kernel.
describe('prox facts say what the value kernels compute', () => {
  const withProx = all.filter((p) => p.structure.prox !== undefined);

  it('the recognizer has proxes to find: soft thresholding and the box projections', () => {
    expect(withProx.map((p) => p.structure.prox!.penalty).sort()).toContain('l1');
    expect(withProx.filter((p) => p.structure.prox!.penalty === 'box').length).toBeGreaterThanOrEqual(4);
  });

  it.each(withProx.map((p) => [p.name, p] as const))('%s', (_name, p) => {
    const rng = mulberry32(99);
    const n = 64;
    const vec = (lo: number, hi: number) => ({ shape: [n], data: Float64Array.from({ length: n }, () => lo + (hi - lo) * rng()) });
    const fact = p.structure.prox!;
    for (let trial = 0; trial < 5; trial++) {
      const u = vec(-3, 3);
      let args: { shape: number[]; data: Float64Array }[];
      let expected: (i: number) => number;
      if (fact.penalty === 'l1') {
        const t = vec(0, 1.5);
        args = [u, t];
        expected = (i) => Math.sign(u.data[i]) * Math.max(Math.abs(u.data[i]) - t.data[i], 0);
      } else if ('either' in fact) {
        const bnd = vec(-1, 1);
        // Whichever argument is fixed is the bound: both orders give the same clip.
        args = trial % 2 === 0 ? [u, bnd] : [bnd, u];
        expected = (i) => (fact.either === 'lower' ? Math.max(u.data[i], bnd.data[i]) : Math.min(u.data[i], bnd.data[i]));
      } else {
        const lo = vec(-2, 0);
        const hi = vec(0, 2);
        args = [u];
        if (typeof fact.lower === 'number') args[fact.lower] = lo;
        if (typeof fact.upper === 'number') args[fact.upper] = hi;
        const lower = (i: number) => (fact.lower === 'zero' ? 0 : typeof fact.lower === 'number' ? lo.data[i] : -Infinity);
        const upper = (i: number) => (typeof fact.upper === 'number' ? hi.data[i] : Infinity);
        expected = (i) => Math.min(Math.max(u.data[i], lower(i)), upper(i));
      }
      expect(args.length).toBe(p.params.length);
      const out = p.evaluate(args, {}).data;
      for (let i = 0; i < n; i++) expect(out[i]).toBeCloseTo(expected(i), 15);
    }
  });
});
