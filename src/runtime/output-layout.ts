/**
 * Where the outputs lie in the flat vector `outputs(y)` returns (issue 15): each declared
 * output, scalar, vector or matrix, is a block of it in declaration order, row-major, as the
 * unknowns are in y ({@link VariableLayout}). An output *entry* is one number of that vector:
 * `outputPartials(k, ...)`, `addOutputPartials(k, ...)` and `addOutputGradient(k, ...)` take
 * the entry's index k. When every output is a scalar the entries are the outputs, k the
 * declared index, as before vector outputs existed.
 */
import type { ModelInstance, VariableLayout } from './model.ts';
import { SolverError } from './status.ts';

/** The outputs' layout: the module's own, or (hand-written models without one) every output a scalar. */
export function outputLayoutOf(model: Pick<ModelInstance, 'outputNames' | 'outputLayout'>): readonly VariableLayout[] {
  return model.outputLayout ?? model.outputNames.map((name, k) => ({ name, shape: [], size: 1, offset: k }));
}

/** The number of output entries (the length of `outputs(y)`). */
export function outputEntryCount(model: Pick<ModelInstance, 'outputNames' | 'outputLayout'>): number {
  const layout = outputLayoutOf(model);
  const last = layout[layout.length - 1];
  return last === undefined ? 0 : last.offset + last.size;
}

/**
 * Entry k of the flat outputs as [declared output j, row-major index e inside it]; a
 * SolverError('invalid-option') for any k that is not an entry.
 */
export function outputEntry(layout: readonly VariableLayout[], k: number, model: string): [number, number] {
  if (Number.isInteger(k)) {
    for (let j = 0; j < layout.length; j++) {
      const o = layout[j];
      if (k >= o.offset && k < o.offset + o.size) return [j, k - o.offset];
    }
  }
  const count = layout.length === 0 ? 0 : layout[layout.length - 1].offset + layout[layout.length - 1].size;
  throw new SolverError('invalid-option', `no output entry ${typeof k === 'number' ? k : typeof k} of model ${model}: its output entries are ${count === 0 ? 'none' : `0 to ${count - 1}`}`);
}

/** The name of entry e of output o: `s` for a scalar, `s[2]` (1-based, as the language indexes), `X[1, 2]`. */
export function outputEntryName(o: VariableLayout, e: number): string {
  if (o.shape.length === 0) return o.name;
  const index: number[] = [];
  let rest = e;
  for (let d = o.shape.length - 1; d >= 0; d--) {
    index.unshift((rest % o.shape[d]) + 1);
    rest = Math.floor(rest / o.shape[d]);
  }
  return `${o.name}[${index.join(', ')}]`;
}
