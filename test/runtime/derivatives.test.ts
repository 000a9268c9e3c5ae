import { describe, expect, it } from 'vitest';
import {
  certifyAt,
  certifySelection,
  dot,
  ImplicitDerivatives,
  jacobian,
  jvp,
  outputGradients,
  solveInstance,
  SolverError,
  vjp,
} from '../../src/runtime/index.ts';
import { AbsModel, Deq, DeqFull, Lasso } from './models.ts';
import { deqReferenceJacobian, lassoReferenceDerivative, makeDeq, makeLasso, maxRelError } from './driver-fixtures.ts';
import { mulberry32, randomVector } from './rng.ts';

const TOL = 1e-14;

function solved(model: Deq | Lasso): Float64Array {
  const r = solveInstance(model, { tol: TOL });
  expect(r.status).toBe('converged');
  return r.y;
}

/** Central differences of the whole solve along parameter j (DEQ: b_j). */
function deqFiniteDifferences(model: Deq, h = 1e-6): Float64Array[] {
  const base = model.b.slice();
  const cols: Float64Array[] = [];
  for (let j = 0; j < model.m; j++) {
    model.b = base.slice();
    model.b[j] += h;
    const plus = solved(model);
    model.b = base.slice();
    model.b[j] -= h;
    const minus = solved(model);
    cols.push(plus.map((v, i) => (v - minus[i]) / (2 * h)));
  }
  model.b = base;
  return cols;
}

describe('(b) DEQ z = relu(W z + b), ||W||_2 = 0.9', () => {
  const model = makeDeq(2024);
  const z = solved(model);

  it('has both active and inactive units (a nontrivial D)', () => {
    const d = model.kinkFactors(z)[0];
    expect(d.includes(0)).toBe(true);
    expect(d.includes(1)).toBe(true);
  });

  it('dz/db matches the dense formula (I - D W)^{-1} D and central differences of the solve', () => {
    const J = jacobian(model, z);
    const ref = deqReferenceJacobian(model.W, model.b, z);
    expect(maxRelError(J.data, ref.data)).toBeLessThan(1e-12);
    const fd = deqFiniteDifferences(model);
    const fdFlat = new Float64Array(model.n * model.m);
    fd.forEach((col, j) => col.forEach((v, i) => (fdFlat[i * model.m + j] = v)));
    expect(maxRelError(J.data, fdFlat, 1e-6)).toBeLessThan(1e-6);
  });

  it('vjp and jvp are the two sides of one Jacobian: <ybar, J xdot> = <J^T ybar, xdot>', () => {
    const rng = mulberry32(9);
    const ybar = randomVector(rng, model.n);
    const xdot = randomVector(rng, model.m);
    const lhs = dot(ybar, jvp(model, z, xdot));
    const rhs = dot(vjp(model, z, ybar), xdot);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-13 * Math.max(1, Math.abs(lhs)));
  });

  it('reverse mode (m > n, W a parameter too) matches forward products and central differences in W', () => {
    const full = new DeqFull(model.W, model.b);
    const J = jacobian(full, z);
    const n = full.n;
    const m = full.m;
    expect(m).toBeGreaterThan(n);
    // The b block equals the forward-mode Jacobian of the b-only model.
    const Jb = jacobian(model, z);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(J.data[i * m + n * n + j]).toBeCloseTo(Jb.data[i * n + j], 13);
    // A column of the W block: forward mode on a unit xdot, and differences of the solve.
    const rng = mulberry32(21);
    for (let trial = 0; trial < 3; trial++) {
      const k = Math.floor(rng() * n * n);
      const e = new Float64Array(m);
      e[k] = 1;
      const col = jvp(full, z, e);
      const h = 1e-6;
      const w0 = model.W.data[k];
      model.W.data[k] = w0 + h;
      const plus = solved(model);
      model.W.data[k] = w0 - h;
      const minus = solved(model);
      model.W.data[k] = w0;
      const fd = plus.map((v, i) => (v - minus[i]) / (2 * h));
      for (let i = 0; i < n; i++) expect(J.data[i * m + k]).toBeCloseTo(col[i], 13);
      expect(maxRelError(col, fd, 1e-6)).toBeLessThan(1e-6);
    }
  });

  it('output gradient of 0.5||z||^2 + sum(b) matches central differences', () => {
    const [g] = outputGradients(model, z);
    const base = model.b.slice();
    const h = 1e-6;
    const fd = new Float64Array(model.m);
    for (let j = 0; j < model.m; j++) {
      model.b = base.slice();
      model.b[j] += h;
      const plus = model.outputs(solved(model))[0];
      model.b = base.slice();
      model.b[j] -= h;
      const minus = model.outputs(solved(model))[0];
      fd[j] = (plus - minus) / (2 * h);
    }
    model.b = base;
    expect(maxRelError(g, fd, 1e-6)).toBeLessThan(1e-6);
  });

  it('addOutputGradient adds exactly outputGradients()[0] into a running sum', () => {
    const D = new ImplicitDerivatives(model, z);
    const [g] = D.outputGradients();
    const start = Float64Array.from({ length: model.m }, (_, j) => 0.25 * j - 1);
    const sum = start.slice();
    D.addOutputGradient(0, sum);
    sum.forEach((v, j) => expect(v).toBe(start[j] + g[j]));
    expect(() => D.addOutputGradient(1, sum)).toThrow(/no output 1/);
    expect(() => D.addOutputGradient(0, new Float64Array(model.m + 1))).toThrow();
  });

  it('matrix-free GMRES beyond the dense limit gives the dense answers', () => {
    const dense = new ImplicitDerivatives(model, z);
    const free = new ImplicitDerivatives(model, z, { denseLimit: 2 });
    expect(free.system.method).toBe('gmres');
    expect(maxRelError(free.jacobian().data, dense.jacobian().data)).toBeLessThan(1e-9);
    expect(maxRelError(free.outputGradients()[0], dense.outputGradients()[0])).toBeLessThan(1e-9);
  });
});

describe('(c) Lasso beta = ST(beta - s X\'(X beta - y), s lambda)', () => {
  const model = makeLasso(7);
  const beta = solved(model);
  const support = [...beta.keys()].filter((j) => beta[j] !== 0);

  it('has a proper support', () => {
    expect(support.length).toBeGreaterThan(0);
    expect(support.length).toBeLessThan(model.n);
  });

  it('d beta/d lambda = -(X_S\'X_S)^{-1} sign(beta_S) on S and 0 off S, from the reduced system', () => {
    const d = new ImplicitDerivatives(model, beta);
    expect(d.system.method).toBe('dense-lu');
    expect(d.system.reducedSize).toBe(support.length);
    expect([...(d.system.rows ?? [])]).toEqual(support);
    const J = d.jacobian();
    const ref = lassoReferenceDerivative(model.X, beta);
    expect(maxRelError(J.data, ref, 1e-12)).toBeLessThan(1e-10);
    for (let j = 0; j < model.n; j++) if (!support.includes(j)) expect(Math.abs(J.data[j])).toBe(0);
  });

  it('the reduced solves equal the unreduced ones (B^T w = ybar through the identity rows)', () => {
    const full = new Lasso(model.X, model.yv, model.lambda, model.step);
    Object.assign(full, { analysis: { ...model.analysis, identityRowsWhereFactorZero: null } });
    const rng = mulberry32(4);
    const ybar = randomVector(rng, model.n);
    const reduced = new ImplicitDerivatives(model, beta);
    const unreduced = new ImplicitDerivatives(full, beta);
    expect(unreduced.system.reducedSize).toBe(model.n);
    expect(reduced.vjp(ybar)[0]).toBeCloseTo(unreduced.vjp(ybar)[0], 12);
    const w1 = reduced.system.solveTranspose(ybar);
    const w2 = unreduced.system.solveTranspose(ybar);
    expect(maxRelError(w1, w2, 1e-12)).toBeLessThan(1e-10);
    const z1 = reduced.system.solve(ybar);
    const z2 = unreduced.system.solve(ybar);
    expect(maxRelError(z1, z2, 1e-12)).toBeLessThan(1e-10);
    // keptRowsOnly: the same w on the kept rows, 0 on the identity rows.
    const kept = reduced.system.solveTranspose(ybar, { keptRowsOnly: true });
    const rows = new Set(reduced.system.rows);
    kept.forEach((v, i) => expect(rows.has(i) ? Math.abs(v - w1[i]) : Math.abs(v)).toBeLessThanOrEqual(rows.has(i) ? 1e-15 * Math.abs(w1[i]) : 0));
  });

  it("with A's rows vanishing on the identity rows, the backward pass skips them: no vjpY, the same gradient", () => {
    const flagged = new Lasso(model.X, model.yv, model.lambda, model.step);
    Object.assign(flagged, { analysis: { ...model.analysis, paramRowsVanishWhereFactorZero: true } });
    let calls = 0;
    const vjpY = flagged.vjpY.bind(flagged);
    Object.assign(flagged, { vjpY: (...args: Parameters<typeof vjpY>) => (calls++, vjpY(...args)) });
    const ybar = randomVector(mulberry32(5), model.n);
    const skipped = new ImplicitDerivatives(flagged, beta).vjp(ybar);
    expect(calls).toBe(0);
    const [g] = outputGradients(flagged, beta);
    expect(calls).toBe(0);
    expect(maxRelError(skipped, new ImplicitDerivatives(model, beta).vjp(ybar), 1e-14)).toBeLessThan(1e-12);
    expect(maxRelError(g, outputGradients(model, beta)[0], 1e-14)).toBeLessThan(1e-12);
  });

  it('the hypergradient of the validation loss matches central differences in lambda', () => {
    const [g] = outputGradients(model, beta);
    const lambda = model.lambda;
    const h = 1e-6 * lambda;
    model.lambda = lambda + h;
    const plus = model.outputs(solved(model))[0];
    model.lambda = lambda - h;
    const minus = model.outputs(solved(model))[0];
    model.lambda = lambda;
    expect(maxRelError(g, [(plus - minus) / (2 * h)])).toBeLessThan(1e-6);
  });

  it('derivatives can reuse the certificate\'s factorization of the selected B', () => {
    const r = solveInstance(model, { tol: TOL });
    const { selected } = certifySelection(model, r.y, r.residual);
    expect(selected?.rows?.length).toBe(support.length);
    const shared = new ImplicitDerivatives(model, r.y, { prefactored: selected ?? undefined });
    const fresh = new ImplicitDerivatives(model, r.y);
    expect(shared.system.lu).toBe(selected?.lu);
    expect(shared.outputGradients()[0][0]).toBe(fresh.outputGradients()[0][0]);
  });

  it('the certificate uses the same reduction: order |S|, no ties, certified by the vertex test', () => {
    const r = solveInstance(model, { tol: TOL });
    const cert = certifyAt(model, r.y, r.residual);
    expect(cert.verdict).toBe('certified');
    expect(cert.test).toBe('row-wise vertex test');
    expect(cert.ties).toBe(0);
    expect(cert.detail).toContain(`order ${support.length} of ${model.n}`);
    expect(cert.condition).not.toBeNull();
  });
});

describe('singular B', () => {
  it('throws SolverError singular, never returns NaN', () => {
    const model = new AbsModel(0);
    const y = Float64Array.of(0);
    let caught: unknown = null;
    try {
      vjp(model, y, Float64Array.of(1));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SolverError);
    expect((caught as SolverError).code).toBe('singular');
  });
});
