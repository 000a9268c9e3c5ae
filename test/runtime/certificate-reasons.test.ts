// The run-time certificate's detail states the real reason (issue 13, build item 5): each path of
// certifySelection that ends `unverified` or `violated` is reached by a small compiled model, and
// its detail names what happened there. The dense limit is named only where B's order exceeds it.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import type { ModelInstance, RunResult } from '../../src/runtime/index.ts';

type Solver = ModelInstance & { solve(options?: object): RunResult };

async function solved(source: string, inputs: Record<string, unknown>, options: object = {}): Promise<RunResult> {
  const M = await compileModel('reason.impl', undefined, source);
  return (new M(inputs) as unknown as Solver).solve(options);
}

const scalar = (residual: string) => `model S {
  param x: real
  unknown y: real
  solve ${residual} = 0
  output o = y
}
`;

// B = I - W D_relu: the kink factor scales a column of B, not a row.
const COLUMN_RELU = `model C {
  dim n
  param W: real[n, n]
  param b: real[n]
  unknown y: real[n]
  solve y - W * relu(y) - b = 0
  output o = sum(y)
}
`;

const DEQ = `model D {
  dim h
  param W: real[h, h]
  param b: real[h]
  unknown z: real[h]
  fixpoint z = relu(W * z + b)
  output o = sum(z)
}
`;

const SIMPLEX = `model P {
  dim n
  param W: real[n, n]
  param c: real[n]
  unknown y: real[n]
  fixpoint y = proj_simplex(W * y + c)
  output o = sum(y)
}
`;

// opnorm(W) ~ 1.12: the guard `opnorm(W) < 1` fails on these values, though B is invertible.
const W3 = [
  [0.5, 0.9, 0],
  [0, 0.5, 0],
  [0, 0, 0.5],
];

const noDenseLimit = (r: RunResult) => expect(r.certificate.detail).not.toMatch(/dense limit/);

describe('run-time certificate reasons', () => {
  it('|y| = x at x = 0: the selected B (abs\'(0) = 0) is singular', async () => {
    const r = await solved(scalar('abs(y) - x'), { x: 0 });
    expect(r.certificate.verdict).toBe('violated');
    expect(r.certificate.detail).toMatch(/selected B = dF\/dy is singular/);
    noDenseLimit(r);
  });

  it('the same written with `if`: det B changes sign between the two branches of the tied switch', async () => {
    const r = await solved(scalar('(if y > 0 then y else -y) - x'), { x: 0 });
    expect(r.certificate.verdict).toBe('violated');
    expect(r.certificate.detail).toMatch(/det B changes sign between two vertices of the 1 tied kink factors \(select\[0\] at 4:10\)/);
    noDenseLimit(r);
  });

  it('a switch whose branches differ at the solution: F jumps there', async () => {
    const r = await solved(scalar('(if y > 0 then y + 1 else y) - x'), { x: 0 });
    expect(r.certificate).toMatchObject({ verdict: 'unverified', test: 'continuity' });
    expect(r.certificate.detail).toMatch(/switch of an `if` whose branches differ there \(select\[0\] at 4:10 jumps by 1\.000\)/);
    noDenseLimit(r);
  });

  it('sqrt at 0: B is not finite', async () => {
    const r = await solved(scalar('sqrt(y) + y - x'), { x: 0 });
    expect(r.certificate.verdict).toBe('unverified');
    expect(r.certificate.detail).toMatch(/entries that are not finite at the solution/);
    noDenseLimit(r);
  });

  it('a tie where B is not row-wise: the tie named, the missing structure given as the reason', async () => {
    // y_0 = 0.5 relu(y_0) has the solution y_0 = 0, a tie of relu; y_1 = y_2 = 2.
    const W = [
      [0.5, 0, 0],
      [0.1, 0.3, 0.2],
      [0.2, 0.1, 0.4],
    ];
    const r = await solved(COLUMN_RELU, { W, b: [0, 1, 1] });
    expect(r.status).toBe('converged');
    expect(r.certificate).toMatchObject({ verdict: 'unverified', ties: 1 });
    expect(r.certificate.detail).toMatch(/^1 tied kink factor at the solution \(relu\[0\] at 6:17\), and B is not row-wise/);
    noDenseLimit(r);
    // Without the tie the local certificate applies.
    const free = await solved(COLUMN_RELU, { W, b: [-3, 1, 1] });
    expect(free.certificate).toMatchObject({ verdict: 'certified', test: 'single element', ties: 0 });
  });

  it('more ties than the vertex test enumerates: their count, not the dense limit', async () => {
    // z = relu(1.5 z): z = 0 with every preactivation 0, 14 ties; the guard opnorm(W) < 1 fails.
    const h = 14;
    const W = Array.from({ length: h }, (_, i) => Array.from({ length: h }, (_, j) => (i === j ? 1.5 : 0)));
    const r = await solved(DEQ, { W, b: new Array(h).fill(0) });
    expect(r.certificate).toMatchObject({ verdict: 'unverified', ties: 14 });
    expect(r.certificate.detail).toMatch(/^opnorm\(W\) < 1 does not hold \(bound 1\.500 >= 1\); too many ties \(14 > 12\)/);
    noDenseLimit(r);
  });

  it('the dense limit, only when B is above it', async () => {
    // z = (5.6, 2, 2), no ties; at the default limit the vertex test certifies.
    const inputs = { W: W3, b: [1, 1, 1] };
    const small = await solved(DEQ, inputs, { denseLimit: 2 });
    expect(small.status).toBe('converged');
    expect(small.certificate.verdict).toBe('unverified');
    expect(small.certificate.detail).toMatch(/B has order 3, above the dense limit 2/);
    const usual = await solved(DEQ, inputs);
    expect(usual.certificate.verdict).toBe('certified');
    noDenseLimit(usual);
  });

  it('a non-diagonal kink (proj_simplex): the faces of the projection decide, the failed guard said', async () => {
    // The projection's own certificate (projection-certificate.ts) locates its ties: none here,
    // so the selected B is the whole conservative Jacobian, and it is invertible.
    const r = await solved(SIMPLEX, { W: W3, c: [0.3, 0.1, 0.2] });
    expect(r.status).toBe('converged');
    expect(r.certificate).toMatchObject({ verdict: 'certified', ties: 0 });
    expect(r.certificate.detail).toMatch(/^opnorm\(W\) < 1 does not hold \(bound 1\.123 >= 1\); /);
    expect(r.certificate.detail).toMatch(/simplex/);
    noDenseLimit(r);
  });

  it('a failed guard without row-wise structure and without ties: the local certificate, the failed guard said', async () => {
    const r = await solved(`model G {
  dim n
  param W: real[n, n]
  param b: real[n]
  unknown y: real[n]
  fixpoint y = W * relu(y) + b
  output o = sum(y)
}
`, { W: W3, b: [1, 1, 1] });
    // y = (5.6, 2, 2): every relu active, no tie; B = I - W is invertible (det 0.125).
    expect(r.status).toBe('converged');
    expect(r.certificate).toMatchObject({ verdict: 'certified', test: 'single element', ties: 0 });
    expect(r.certificate.detail).toMatch(/^opnorm\(W\) < 1 does not hold \(bound 1\.123 >= 1\); no ties at the solution/);
    noDenseLimit(r);
  });
});
