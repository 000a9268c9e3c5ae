/**
 * The demos, in the order `npm start` runs them. Each is loaded only when asked for, so that
 * `implc demo --list` (and a run of one demo) does not pay for the others' imports.
 */
import type { Demo } from './demo.ts';

export interface DemoEntry {
  /** `implc demo <name>`, `npm run demo:<name>`. */
  name: string;
  /** One line for `implc demo --list` (the demo's own title comes with the demo). */
  about: string;
  load(): Promise<Demo>;
}

export const DEMOS: readonly DemoEntry[] = [
  {
    name: 'lasso',
    about: 'Lasso by proximal gradient: hyperparameter tuning through the implicit derivative',
    load: async () => (await import('./lasso.ts')).demo,
  },
  {
    name: 'deq',
    about: 'deep equilibrium layer: training through the fixed point, guarded by opnorm(W) < 1',
    load: async () => (await import('./deq.ts')).demo,
  },
  {
    name: 'qp',
    about: 'a QP layer: derivatives of a constrained quadratic program',
    load: async () => (await import('./qp-layer.ts')).qpLayerDemo,
  },
  {
    name: 'pathological',
    about: 'the pathological models: where implicit differentiation is not justified, and why',
    load: async () => (await import('./pathological.ts')).pathologicalDemo,
  },
  {
    name: 'group-lasso',
    about: 'group Lasso on breast cancer: lambda tuned by the implicit hypergradient against a grid',
    load: async () => (await import('./group-lasso.ts')).demo,
  },
  {
    name: 'cone-layers',
    about: 'cone programs as layers: an LP learns costs from plans, a SOCP frontier, an SDP max-cut bound',
    load: async () => (await import('./cone-layers.ts')).coneLayersDemo,
  },
];

export const DEMO_NAMES: readonly string[] = DEMOS.map((d) => d.name);

/** The demo of that name, or undefined. */
export function findDemo(name: string): DemoEntry | undefined {
  return DEMOS.find((d) => d.name === name);
}

/** Load a demo by name; undefined when there is none of that name. */
export async function loadDemo(name: string): Promise<Demo | undefined> {
  return findDemo(name)?.load();
}
