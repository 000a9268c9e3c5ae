import { normInf } from './matrix.ts';
import type { ModelInstance } from './model.ts';

/** ||F(y)||_inf for the model at y: Infinity when F is not finite there. */
export function residualInf(model: ModelInstance, y: Float64Array): number {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  const r = normInf(F);
  return Number.isFinite(r) ? r : Infinity;
}
