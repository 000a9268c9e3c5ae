import type { Primitive } from './types.ts';

// Primitives the compiler creates itself (derivative factors, broadcasts, reductions to a
// shape). Users cannot call them.
export const internal: Primitive[] = [];
