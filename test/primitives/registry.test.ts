import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../../src/primitives/registry.ts';
import { SPECS } from './cases.ts';

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
    expect(p.kink !== undefined, `${name}: kink description vs tie cases`).toBe(Boolean(spec.diagonalTies ?? spec.faceTies));
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
      expect(SPECS[name].diagonalTies).toBeDefined();
    } else {
      expect(k.factor).toBeNull();
      expect(SPECS[name].faceTies).toBeDefined();
    }
  });

  it('kink factors are internal, piecewise constant and name a registered primitive', () => {
    const factors = all.filter((p) => p.structure.kinkFactor);
    expect(factors.map((p) => p.name).sort()).toEqual(['abs_d', 'clip_d', 'max_d', 'min_d', 'relu_d', 'soft_threshold_d']);
    for (const f of factors) {
      expect(f.surface).toBe('internal');
      expect(f.lipschitz).toBe('discontinuous');
      expect(REGISTRY.get(f.structure.kinkFactor!.of)?.kink?.factor).toBe(f.name);
    }
  });
});
