import { describe, expect, it } from 'vitest';
import { certifyAt, findTies, frobenius, luFactor, luSolve, matvec, opnorm2, runModel, solveInstance } from '../../src/runtime/index.ts';
import type { Matrix } from '../../src/runtime/index.ts';
import { AbsModel, Deq, frobeniusGuard } from './models.ts';
import { deqData, makeDeq } from './driver-fixtures.ts';

function certifySolved(model: Deq | AbsModel, tol = 1e-13) {
  const r = solveInstance(model, { tol });
  expect(r.status).toBe('converged');
  return { r, cert: certifyAt(model, r.y, r.residual) };
}

/** A DEQ whose solution is planted: z*_0 = 0 with preactivation exactly 0 (a tie), z*_last inactive. */
function tiedDeq(analysis?: ConstructorParameters<typeof Deq>[2]): { model: Deq; z: Float64Array } {
  const { W } = deqData(31);
  const h = W.rows;
  const z = Float64Array.from({ length: h }, (_, i) => (i === 0 || i === h - 1 ? 0 : 0.5 + i / h));
  const Wz = matvec(W, z);
  const b = Float64Array.from({ length: h }, (_, i) => (i === 0 ? -Wz[0] : i === h - 1 ? -Wz[i] - 1 : z[i] - Wz[i]));
  return { model: new Deq(W, b, analysis), z };
}

/** A^{-1} by LU, column by column. */
function luInverse(A: Matrix): Matrix {
  const n = A.rows;
  const lu = luFactor(A);
  if (lu.singular) throw new Error('singular');
  const inv: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const x = luSolve(lu, e);
    for (let i = 0; i < n; i++) inv.data[i * n + j] = x[i];
  }
  return inv;
}

function scalarDeq(w: number): Deq {
  const W: Matrix = { rows: 1, cols: 1, data: Float64Array.of(w) };
  return new Deq(W, Float64Array.of(0), {
    analysis: { verdict: 'runtime', test: 'row-wise vertex test', rowwise: true },
  });
}

describe('(d) the pathology |y| - x', () => {
  it('at x = 0: the solution y = 0 is a tie, B ranges over [-1, 1]: violated, and no gradients', () => {
    const model = new AbsModel(0);
    const { r, cert } = certifySolved(model);
    expect(r.y[0]).toBe(0);
    expect(cert.verdict).toBe('violated');
    expect(cert.ties).toBe(1);
    expect(cert.point?.ties[0]).toMatchObject({ site: 0, primitive: 'abs', at: '3:9', element: 0 });
    expect(cert.condition).toBeNull();
    expect(cert.errorBound).toBeNull();
    const out = runModel(model, { jacobian: true });
    expect(out.certificate.verdict).toBe('violated');
    expect(out.jacobian).toBeUndefined();
    expect(out.gradients).toBeUndefined();
  });

  it('at x = 1: no tie at y = 1, certified locally despite the compile-time counterexample', () => {
    const model = new AbsModel(1);
    const { r, cert } = certifySolved(model);
    expect(r.y[0]).toBeCloseTo(1, 14);
    expect(cert.verdict).toBe('certified');
    expect(cert.test).toBe('row-wise vertex test');
    expect(cert.ties).toBe(0);
    expect(cert.condition).toBeCloseTo(1, 14);
    const out = runModel(model, { jacobian: true });
    expect(out.jacobian?.y.x).toBeCloseTo(1, 14);
    expect(out.gradients?.o.x).toBeCloseTo(1, 14);
  });
});

describe('the row-wise vertex test (MATH.md 5.4)', () => {
  it('a tie with every vertex invertible: certified, the tie named', () => {
    const { model, z } = tiedDeq({ analysis: { verdict: 'runtime', test: 'row-wise vertex test', rowwise: true } });
    const { r, cert } = certifySolved(model);
    for (let i = 0; i < z.length; i++) expect(r.y[i]).toBeCloseTo(z[i], 12);
    expect(cert.verdict).toBe('certified');
    expect(cert.ties).toBe(1);
    expect(cert.point?.ties.map((t) => t.element)).toEqual([0]);
    expect(cert.detail).toContain('all 2 vertices');
  });

  it('y = relu(w y) with w = 1 at y = 0: the vertex d = 1 is singular: violated', () => {
    const model = scalarDeq(1);
    const { cert } = certifySolved(model);
    expect(cert.verdict).toBe('violated');
    expect(cert.point?.vertices).toEqual([[1]]);
  });

  it('y = relu(2 y) at y = 0: det B = 1 - 2 d changes sign between the vertices: violated', () => {
    const model = scalarDeq(2);
    const { cert } = certifySolved(model);
    expect(cert.verdict).toBe('violated');
    expect(cert.detail).toContain('changes sign');
    expect(cert.point?.vertices).toEqual([[0], [1]]);
    expect(runModel(model).gradients).toBeUndefined();
  });

  it('more than 12 ties: unverified', () => {
    const { W } = deqData(5, 14);
    const model = new Deq(W, new Float64Array(14), { analysis: { verdict: 'runtime', rowwise: true } });
    const { cert } = certifySolved(model);
    expect(cert.ties).toBe(14);
    expect(cert.verdict).toBe('unverified');
    expect(cert.detail).toContain('too many ties');
  });

  it('above the dense limit: unverified, with the reason', () => {
    const model = makeDeq(3, { analysis: { verdict: 'runtime', rowwise: true } });
    const r = solveInstance(model, { tol: 1e-13 });
    const cert = certifyAt(model, r.y, r.residual, { denseLimit: 3 });
    expect(cert.verdict).toBe('unverified');
    expect(cert.detail).toContain('dense limit');
    expect(cert.condition).toBeNull();
  });
});

describe('without row-wise structure', () => {
  const unstructured = { analysis: { verdict: 'unverified' as const, rowwise: false, reason: 'a kink inside a product' } };

  it('ties: evaluating vertices would be unsound, so unverified', () => {
    const { W } = deqData(5, 3);
    const model = new Deq(W, new Float64Array(3), unstructured);
    const { cert } = certifySolved(model);
    expect(cert.ties).toBe(3);
    expect(cert.verdict).toBe('unverified');
    expect(cert.detail).toContain('unsound');
  });

  it('no ties: the selected B is the whole conservative Jacobian, certified locally', () => {
    const model = makeDeq(3, unstructured);
    const { cert } = certifySolved(model);
    expect(cert.ties).toBe(0);
    expect(cert.verdict).toBe('certified');
    expect(cert.test).toBe('single element');
  });
});

describe('(e) a guarded DEQ (guard opnorm(W) < 1)', () => {
  it('guard bound < 1: certified by the guard, with its value', () => {
    const model = makeDeq(2024);
    const bound = model.guardBound();
    expect(bound).not.toBeNull();
    expect(bound as number).toBeLessThan(1);
    const { cert } = certifySolved(model);
    expect(cert.verdict).toBe('certified');
    expect(cert.test).toBe('contraction guard');
    expect(cert.detail).toContain((bound as number).toPrecision(4));
  });

  it('under the guard, the error bound holds and the condition bound is above the true condition', () => {
    const model = makeDeq(2024);
    const g = model.guardBound() as number;
    const exact = solveInstance(model, { tol: 1e-15 }).y;
    // Stopped early on purpose: the bound must cover the distance to the solution.
    const loose = solveInstance(model, { method: 'fixed-point', tol: 1e-4 });
    const cert = certifyAt(model, loose.y, loose.residual);
    expect(cert.test).toBe('contraction guard');
    let dist = 0;
    loose.y.forEach((v, i) => (dist += Math.abs(v - exact[i])));
    expect(dist).toBeGreaterThan(0);
    expect(cert.errorBound as number).toBeGreaterThanOrEqual(dist);
    expect(cert.errorBound as number).toBeLessThan(1e3 * dist);
    // kappa_2(B) <= (1 + g) / (1 - g): check against the singular values of B through B^T B.
    expect(cert.condition).toBeCloseTo((1 + g) / (1 - g), 12);
    const factors = model.kinkFactors(exact);
    const n = model.n;
    const B: Matrix = { rows: n, cols: n, data: new Float64Array(n * n) };
    const e = new Float64Array(n);
    const col = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      e.fill(0);
      e[j] = 1;
      model.jvpY(exact, factors, e, col);
      for (let i = 0; i < n; i++) B.data[i * n + j] = col[i];
    }
    const sigma = (M: Matrix) => opnorm2(M);
    const inverse = luInverse(B);
    expect(sigma(B) * sigma(inverse)).toBeLessThanOrEqual((cert.condition as number) * (1 + 1e-12));
  });

  it('guard bound >= 1 (a loose Frobenius bound): falls to the vertex test, which certifies', () => {
    const model = makeDeq(2024, { guard: frobeniusGuard });
    expect(frobenius(model.W)).toBeGreaterThanOrEqual(1);
    const { cert } = certifySolved(model);
    expect(cert.verdict).toBe('certified');
    expect(cert.test).toBe('row-wise vertex test');
    expect(cert.detail).toContain('does not hold');
  });

  it('guard bound >= 1 without row-wise structure and no ties: the selected B alone, certified locally', () => {
    // Without ties the conservative Jacobian at y is the selected B (MATH.md 5): its
    // invertibility certifies at this solution, whatever the failed guard says about others.
    const model = makeDeq(2024, {
      guard: frobeniusGuard,
      analysis: { verdict: 'guarded', test: 'contraction', guard: 'opnorm(W) < 1', rowwise: false },
    });
    const { cert } = certifySolved(model);
    expect(cert.ties).toBe(0);
    expect(cert.verdict).toBe('certified');
    expect(cert.test).toBe('single element');
    expect(cert.detail).toContain('does not hold');
  });
});

describe('(f) condition and error bound', () => {
  it('a loose solve has a larger error bound than a tight one, and the bound covers the true error', () => {
    const model = makeDeq(77, { analysis: { verdict: 'runtime', rowwise: true } });
    const loose = solveInstance(model, { method: 'fixed-point', tol: 1e-3 });
    const tight = solveInstance(model, { method: 'fixed-point', tol: 1e-12 });
    expect(loose.status).toBe('converged');
    expect(tight.status).toBe('converged');
    const a = certifyAt(model, loose.y, loose.residual);
    const b = certifyAt(model, tight.y, tight.residual);
    expect(a.errorBound).not.toBeNull();
    expect(b.errorBound).not.toBeNull();
    expect(a.errorBound as number).toBeGreaterThan(1e3 * (b.errorBound as number));
    let err = 0;
    for (let i = 0; i < model.n; i++) err += Math.abs(loose.y[i] - tight.y[i]);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThanOrEqual((a.errorBound as number) * (1 + 1e-6));
    // The same B at both points (same active set): the same condition estimate.
    expect(a.condition).toBeCloseTo(b.condition as number, 8);
    expect(b.condition as number).toBeGreaterThanOrEqual(1);
  });

  it('tie tolerance max(1e-9, 100 r)(1 + ||y||_inf): a loose residual widens it', () => {
    const { model } = tiedDeq();
    const z = solveInstance(model, { tol: 1e-13 }).y;
    const gaps = model.kinkGaps(z)[0];
    const second = [...gaps].sort((p, q) => p - q)[1];
    expect(findTies(model, z, 1e-13)).toHaveLength(1);
    const scale = 1 + Math.max(...z.map(Math.abs));
    expect(findTies(model, z, (1.01 * second) / (100 * scale)).length).toBeGreaterThanOrEqual(2);
  });
});
