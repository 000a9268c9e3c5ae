import { describe, it, expect } from 'vitest';
import { ensureConverged, SolverError } from '../../src/runtime/index.ts';
import type { KrylovResult } from '../../src/runtime/index.ts';

describe('SolverError and ensureConverged', () => {
  it('passes converged results through and throws a coded error otherwise', () => {
    const ok: KrylovResult = { x: new Float64Array(1), status: 'converged', iterations: 3, residual: 1e-12 };
    expect(ensureConverged(ok, 'solve')).toBe(ok);
    const bad: KrylovResult = { ...ok, status: 'breakdown', residual: 0.5 };
    try {
      ensureConverged(bad, 'inner solve');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SolverError);
      expect(e).toBeInstanceOf(Error);
      const err = e as SolverError;
      expect(err.code).toBe('breakdown');
      expect(err.name).toBe('SolverError');
      expect(err.message).toContain('inner solve: breakdown');
    }
  });
});
