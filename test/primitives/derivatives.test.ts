import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/ir/graph.ts';
import { REGISTRY } from '../../src/primitives/registry.ts';
import type { Primitive, Tensor } from '../../src/primitives/types.ts';
import { kinds, sample, seedOf, SPECS, type Case } from './cases.ts';
import { centralDifference, expectClose, inner, jvpAt, run, vjpAt } from './harness.ts';
import { mulberry32, randomTensor, type Rng } from './rng.ts';

// JVP and VJP rules (built as IR, evaluated by the reference interpreter) against central
// differences in f64 at random points away from kinks, and against each other.
const cases = [...REGISTRY.values()]
  .filter((p) => p.jvp)
  .flatMap((p) => (SPECS[p.name]?.cases ?? []).map((c, i) => [p.name, i, c] as const).filter(([, , c]) => !c.valuesOnly));

/** Arguments at least `margin` from every switching surface. */
function awayFromKinks(p: Primitive, c: Case, rng: Rng, margin = 0.05): Tensor[] {
  for (let tries = 0; tries < 1000; tries++) {
    const args = sample(c.args, rng);
    if (!p.kink || Math.min(...p.kink.kinkGap(args)) > margin) return args;
  }
  throw new Error(`${p.name}: no sample away from kinks`);
}

/** Internal piecewise constant primitives in a derivative graph (kink factors, face Jacobians). */
function selections(g: Graph): string[] {
  return g.nodes.map((n) => REGISTRY.get(n.op)).filter((q) => q?.surface === 'internal' && q.lipschitz === 'discontinuous').map((q) => q!.name);
}

describe('derivative rules', () => {
  it.each(cases)('%s case %i', (name, index, c) => {
    const p = REGISTRY.get(name)!;
    const rng = mulberry32(seedOf(name, index) ^ 0x9e3779b9);
    const ks = kinds(c);
    for (let draw = 0; draw < 3; draw++) {
      const args = awayFromKinks(p, c, rng);
      const tangents = args.map((a, i) => (ks[i] === 'real' ? randomTensor(rng, a.shape) : null));
      const ct = randomTensor(rng, run(name, args).shape);

      const all = jvpAt(name, ks, args, tangents);
      const fdAll = centralDifference(name, args, tangents);
      if (all.value === null) expect(p.lipschitz, `${name}: a zero JVP rule needs a piecewise constant primitive`).toBe('discontinuous');
      expectClose(all.value?.data ?? new Float64Array(fdAll.length), fdAll, 1e-6, `${name}: JVP vs central difference`);
      if (p.surface !== 'internal' && selections(all.graph).length > 0) {
        expect(p.kink, `${name} differentiates through ${selections(all.graph)}: it needs a kink description`).toBeDefined();
      }

      const cotangents = vjpAt(name, ks, args, ct);
      args.forEach((_, i) => {
        if (ks[i] !== 'real') {
          expect(cotangents[i], 'no cotangent for a condition or a fixed argument').toBeNull();
          return;
        }
        const only = tangents.map((t, j) => (j === i ? t : null));
        const fd = centralDifference(name, args, only);
        const jvp = jvpAt(name, ks, args, only).value?.data ?? new Float64Array(fd.length);
        expectClose(jvp, fd, 1e-6, `${name}: JVP in argument ${i}`);
        const vjp = cotangents[i] ? inner(cotangents[i]!.data, tangents[i]!.data) : 0;
        expectClose([vjp], [inner(ct.data, fd)], 1e-6, `${name}: VJP in argument ${i} vs central difference`);
        expectClose([vjp], [inner(ct.data, jvp)], 1e-12, `${name}: <vjp(ct), t> = <ct, jvp(t)> in argument ${i}`);
      });
    }
  });

  it('opnorm has no derivative rules (data-only in v1)', () => {
    const opnorm = REGISTRY.get('opnorm')!;
    expect(opnorm.jvp).toBeUndefined();
    expect(opnorm.summary).toMatch(/data-only/);
  });
});
