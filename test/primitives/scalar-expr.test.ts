import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../../src/primitives/registry.ts';
import { sample, seedOf, SPECS } from './cases.ts';
import { run } from './harness.ts';
import { mulberry32 } from './rng.ts';

// Kernel expressions for batched gpu.js kernels: only Math functions gpu.js compiles on every
// backend, ternaries and float literals, and the same values as the f64 rule.
const GPU_MATH = new Set(['abs', 'exp', 'log', 'sqrt', 'sin', 'cos', 'max', 'min', 'pow', 'floor']);
const withExpr = [...REGISTRY.values()].filter((p) => p.scalarExpr).map((p) => [p.name, p] as const);

describe('scalar kernel expressions', () => {
  it.each(withExpr)('%s', (name, p) => {
    const names = p.params.map((_, i) => `x${i}`);
    const expr = p.scalarExpr!(names);
    const rest = expr
      .replace(/Math\.(\w+)/g, (m, fn: string) => (GPU_MATH.has(fn) ? ' ' : m))
      .replace(/\bx\d+\b/g, ' ');
    expect(rest, `${expr}: integer literals (gpu.js types them as ints)`).not.toMatch(/(?<![\d.])\d+(?![\d.])/);
    expect(rest.replace(/\d+\.\d+/g, ' '), `${expr}: only operators remain`).toMatch(/^[\s()+\-*/?:<>=!&|,]*$/);

    const f = new Function(...names, `return ${expr};`) as (...xs: number[]) => number;
    SPECS[name].cases.forEach((c, index) => {
      const rng = mulberry32(seedOf(name, index) ^ 0x5bd1e995);
      for (let draw = 0; draw < 3; draw++) {
        const args = sample(c.args, rng);
        const out = run(name, args);
        out.data.forEach((want, i) => {
          const got = f(...args.map((a) => (a.data.length === 1 ? a.data[0] : a.data[i])));
          if (Number.isNaN(want)) expect(got).toBeNaN();
          else expect(Math.abs(got - want), `${name}(${args.map((a) => a.data[i] ?? a.data[0])})`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
        });
      }
    });
  });
});
