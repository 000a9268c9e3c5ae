import { reshapeTo } from './build.ts';
import { kinkFactors } from './kink-factors.ts';
import * as rules from './shape-rules.ts';
import type { PrimitiveSpec } from './types.ts';

// Primitives the compiler creates itself (shape plumbing for derivative rules, and the
// diagonal kink factors). Users cannot call them. The dedicated Jacobian primitives of
// projections and norms sit with their families. Values are the runtime's kernels of the
// same names (src/runtime/values/table.ts).
export const internal: PrimitiveSpec[] = [
  {
    name: 'broadcast', interval: ([a]) => a, surface: 'internal', params: ['x', 'like'], summary: 'the scalar x repeated to the shape of like (Graph.broadcastTo)', definability: 'semialgebraic', lipschitz: 'globally', shape: rules.broadcastLike, structure: { linear: true, repeatsFirst: true },
    jvp: (g, node, [dx]) => (dx === null ? null : g.broadcastTo(dx, node.args[1])),
    vjp: (g, node, ct) => [g.reduceTo(ct, node.args[0]), null],
  },
  {
    name: 'reshape', surface: 'internal', params: ['x', 'like'], summary: "x's entries (row-major) laid out with the shape of like, of the same size", definability: 'semialgebraic', lipschitz: 'globally', shape: rules.reshapeLike, structure: { linear: true },
    jvp: (g, node, [dx]) => (dx === null ? null : reshapeTo(g, dx, node.args[1])),
    vjp: (g, node, ct) => [reshapeTo(g, ct, node.args[0]), null],
  },
  ...kinkFactors,
];
