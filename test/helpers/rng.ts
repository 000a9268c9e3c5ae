/** Deterministic test data: the demos' mulberry32 generator, uniform in [0, 1). */
export { mulberry32 } from '../../demos/data.ts';
export type Rng = () => number;
