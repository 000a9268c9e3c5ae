import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../../src/primitives/registry.ts';
import { kinds, sample, seedOf, SPECS } from './cases.ts';
import { maxAbs, run } from './harness.ts';
import { mulberry32 } from './rng.ts';

// Value rules against independent references, on shapes the shape rule accepts.
const cases = [...REGISTRY.keys()].flatMap((name) => (SPECS[name]?.cases ?? []).map((c, i) => [name, i, c] as const));

describe('value rules', () => {
  it.each(cases)('%s case %i', (name, index, c) => {
    const p = REGISTRY.get(name)!;
    const rng = mulberry32(seedOf(name, index));
    expect(c.expected ?? c.check, 'a reference or a property').toBeDefined();
    for (let draw = 0; draw < 5; draw++) {
      const args = sample(c.args, rng);
      const out = run(name, args);
      const rule = p.shape(args.map((a, i) => { const k = kinds(c)[i]; return { kind: k === 'fixed' ? ('real' as const) : k, shape: a.shape }; }), c.attrs);
      expect(rule.ok).toBe(true);
      if (rule.ok) expect(out.shape, 'shape as the shape rule says').toEqual(rule.type.shape);
      if (c.expected) {
        const want = Array.from(c.expected(args));
        expect(out.data.length).toBe(want.length);
        const tol = c.tol ?? 1e-12;
        out.data.forEach((x, i) => {
          if (Number.isNaN(want[i])) expect(x).toBeNaN();
          else expect(Math.abs(x - want[i]), `${name} entry ${i}: ${x} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, maxAbs(want)));
        });
      }
      c.check?.(args, out);
    }
  });
});
