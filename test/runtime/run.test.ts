import { describe, expect, it } from 'vitest';
import { jacobian, outputGradients, runModel, solveInstance, SolverError, unflatten } from '../../src/runtime/index.ts';
import type { Nested } from '../../src/runtime/index.ts';
import { DeqFull } from './models.ts';
import { deqData, makeLasso } from './driver-fixtures.ts';

function shapeOf(v: Nested): number[] {
  return Array.isArray(v) ? [v.length, ...shapeOf(v[0])] : [];
}

describe('unflatten', () => {
  it('scalars, vectors, row-major matrices and 3-tensors', () => {
    expect(unflatten([7], [])).toBe(7);
    expect(unflatten([1, 2, 3], [3])).toEqual([1, 2, 3]);
    expect(unflatten([1, 2, 3, 4, 5, 6], [2, 3])).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(unflatten([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2])).toEqual([
      [
        [0, 1],
        [2, 3],
      ],
      [
        [4, 5],
        [6, 7],
      ],
    ]);
    expect(unflatten([], [0])).toEqual([]);
  });

  it('a size mismatch is a typed error', () => {
    expect(() => unflatten([1, 2], [3])).toThrow(SolverError);
  });
});

describe('runModel: the `implc solve` JSON (LANGUAGE.md "Command line")', () => {
  const { W, b } = deqData(2024);
  const model = new DeqFull(W, b);
  const h = model.n;
  const out = runModel(model, { tol: 1e-13, jacobian: true });

  it('has the documented keys, in order', () => {
    expect(Object.keys(out)).toEqual(['model', 'status', 'iterations', 'residual', 'method', 'solution', 'outputs', 'certificate', 'jacobian', 'gradients']);
    expect(out.model).toBe('Deq');
    expect(out.status).toBe('converged');
    expect(out.residual).toBeLessThanOrEqual(1e-13);
    expect(out.certificate.verdict).toBe('certified');
    expect(Object.keys(out.certificate)).toEqual(expect.arrayContaining(['verdict', 'test', 'ties', 'detail', 'condition', 'errorBound']));
  });

  it('jacobian.U.P has the shape of U followed by that of P, and matches jacobian()', () => {
    const y = solveInstance(model, { tol: 1e-13 }).y;
    const J = jacobian(model, y);
    const JW = out.jacobian?.z.W as Nested;
    const Jb = out.jacobian?.z.b as Nested;
    expect(shapeOf(JW)).toEqual([h, h, h]);
    expect(shapeOf(Jb)).toEqual([h, h]);
    const m = model.m;
    const i = 2;
    const [r, c] = [4, 1];
    expect(((JW as Nested[])[i] as Nested[][])[r][c]).toBeCloseTo(J.data[i * m + r * h + c], 13);
    expect((Jb as Nested[][])[i][r]).toBeCloseTo(J.data[i * m + h * h + r], 13);
  });

  it('gradients.O.P has the shape of P', () => {
    const y = solveInstance(model, { tol: 1e-13 }).y;
    const [g] = outputGradients(model, y);
    const gW = out.gradients?.loss.W as Nested;
    const gb = out.gradients?.loss.b as Nested;
    expect(shapeOf(gW)).toEqual([h, h]);
    expect(shapeOf(gb)).toEqual([h]);
    expect((gW as number[][])[3][5]).toBeCloseTo(g[3 * h + 5], 13);
    expect((gb as number[])[2]).toBeCloseTo(g[h * h + 2], 13);
  });

  it('serializes to JSON without losing anything', () => {
    const back = JSON.parse(JSON.stringify(out));
    expect(back.solution.z).toHaveLength(h);
    expect(back.outputs.loss).toBeCloseTo(out.outputs.loss, 14);
  });

  it('without --jacobian: gradients only; scalar params stay scalars', () => {
    const lasso = runModel(makeLasso(7), { tol: 1e-13 });
    expect(lasso.jacobian).toBeUndefined();
    expect(typeof lasso.gradients?.val.lambda).toBe('number');
    expect(shapeOf(lasso.solution.beta)).toEqual([8]);
    expect(lasso.certificate.verdict).toBe('certified');
  });
});
