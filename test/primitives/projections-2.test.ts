/**
 * The l2 ball, the l-infinity ball and the PSD cone (issue 15): values against references
 * written here (independent of the kernels), the properties that characterize a projection
 * onto a closed convex set, the conservative Jacobians' facts the analysis relies on
 * (symmetric, spectrum in [0, 1]), JVP and VJP through compiled models against central
 * differences in f64, implicit gradients of solved fixpoints against finite differences of
 * the solution, and the run-time projection certificate's refusal of kinds it does not list.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/compile-model.ts';
import { REGISTRY } from '../../src/primitives/registry.ts';
import type { Tensor } from '../../src/primitives/types.ts';
import { certifyProjectionFixpoint, type ProjectionFixpoint } from '../../src/runtime/projection-certificate.ts';
import type { ModelInstance } from '../../src/runtime/model.ts';
import { symmetricEigen } from '../../src/runtime/values/projections.ts';
import { run, tensor } from './harness.ts';
import { add, flatOf, identity, matOf, mul, psdRef, sym, transposed, type Mat } from './projections-2-cases.ts';
import { mulberry32, uniform, type Rng } from './rng.ts';

const randomMat = (rng: Rng, n: number, lo = -2, hi = 2): Mat => Array.from({ length: n }, () => Array.from({ length: n }, () => uniform(rng, lo, hi)));
const asTensor = (A: Mat): Tensor => tensor([A.length, A[0].length], A.flat());
const frob = (A: Mat): number => Math.sqrt(A.flat().reduce((s, x) => s + x * x, 0));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/**
 * Eigenvalues of a symmetric matrix by bisection on Sylvester's inertia (the LDL^T pivots of
 * A - x I count the eigenvalues below x), independent of the runtime's Jacobi kernel.
 */
function eigenvaluesByBisection(A: Mat): number[] {
  const n = A.length;
  const below = (x: number): number => {
    // Gaussian elimination without pivoting on A - x I (a shift keeps pivots nonzero generically).
    const M = A.map((row, i) => row.map((a, j) => a - (i === j ? x : 0)));
    let count = 0;
    for (let k = 0; k < n; k++) {
      let p = M[k][k];
      if (p === 0) p = -1e-300;
      if (p < 0) count++;
      for (let i = k + 1; i < n; i++) {
        const f = M[i][k] / p;
        for (let j = k; j < n; j++) M[i][j] -= f * M[k][j];
      }
    }
    return count;
  };
  const bound = 1 + Math.max(...A.map((row) => row.reduce((s, a) => s + Math.abs(a), 0)));
  return Array.from({ length: n }, (_, k) => {
    let lo = -bound;
    let hi = bound;
    for (let it = 0; it < 200; it++) {
      const mid = (lo + hi) / 2;
      if (below(mid) <= k) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  });
}

describe('proj_psd values', () => {
  it('matches the sign-function reference and is the PSD projection (symmetric, PSD, idempotent, nearest)', () => {
    const rng = mulberry32(15);
    for (const n of [2, 3, 4, 6]) {
      for (let draw = 0; draw < 5; draw++) {
        const S = randomMat(rng, n);
        const P = matOf(run('proj_psd', [asTensor(S)]));
        expect(maxDiff(flatOf(P), psdRef(asTensor(S)))).toBeLessThan(1e-12 * Math.max(1, frob(S)));
        // Exactly symmetric, PSD (its smallest eigenvalue >= -rounding), idempotent.
        expect(maxDiff(flatOf(P), flatOf(transposed(P)))).toBe(0);
        expect(Math.min(...eigenvaluesByBisection(P))).toBeGreaterThan(-1e-12);
        expect(maxDiff(run('proj_psd', [asTensor(P)]).data, flatOf(P))).toBeLessThan(1e-13);
        // Moreau: S_sym - P is negative semidefinite and orthogonal to P.
        const R = add(sym(S), P, -1);
        expect(Math.max(...eigenvaluesByBisection(R))).toBeLessThan(1e-12);
        expect(Math.abs(flatOf(P).reduce((s, x, i) => s + x * flatOf(R)[i], 0))).toBeLessThan(1e-12);
        // Nearest: |S - P|_F <= |S - X|_F for random PSD X = G G^T.
        for (let k = 0; k < 5; k++) {
          const G = randomMat(rng, n, -1, 1);
          const X = mul(G, transposed(G));
          expect(frob(add(S, P, -1))).toBeLessThanOrEqual(frob(add(S, X, -1)) + 1e-12);
        }
      }
    }
  });

  it('the Jacobi kernel diagonalizes: Q orthogonal and Q^T A Q diagonal with the bisection eigenvalues', () => {
    const rng = mulberry32(16);
    for (const n of [1, 3, 5, 8]) {
      const A = sym(randomMat(rng, n));
      const { values, vectors } = symmetricEigen(Float64Array.from(A.flat()), n);
      const Q = Array.from({ length: n }, (_, i) => Array.from(vectors.subarray(i * n, (i + 1) * n)));
      expect(maxDiff(mul(transposed(Q), Q).flat(), identity(n).flat())).toBeLessThan(1e-14);
      const D = mul(transposed(Q), mul(A, Q));
      D.forEach((row, i) => row.forEach((d, j) => expect(Math.abs(d - (i === j ? values[i] : 0))).toBeLessThan(1e-13)));
      const sorted = [...values].sort((a, b) => a - b);
      expect(maxDiff(sorted, eigenvaluesByBisection(A))).toBeLessThan(1e-12);
    }
  });

  it('reads only the symmetric part, and handles repeated eigenvalues (a rotation of diag(1, 1, -2, -2))', () => {
    const rng = mulberry32(17);
    const S = randomMat(rng, 4);
    const St = transposed(S);
    expect(maxDiff(run('proj_psd', [asTensor(S)]).data, run('proj_psd', [asTensor(St)]).data)).toBeLessThan(1e-14);
    // An orthogonal Q from Gram-Schmidt; S = Q diag(1, 1, -2, -2) Q^T: P = Q diag(1, 1, 0, 0) Q^T, dP = Q (Gamma .* (Q^T T Q)) Q^T
    // with Gamma = [[1, 1, 1/3, 1/3], [1, 1, 1/3, 1/3], [1/3, 1/3, 0, 0], [1/3, 1/3, 0, 0]] (1 / (1 + 2) across).
    const G = randomMat(rng, 4);
    const Q: Mat = [];
    for (const col of transposed(G)) {
      let v = col;
      for (const q of Q) v = v.map((x, i) => x - q.reduce((s, qj, j) => s + qj * col[j], 0) * q[i]);
      const norm = Math.hypot(...v);
      Q.push(v.map((x) => x / norm));
    }
    const Qm = transposed(Q);
    const lambda = [1, 1, -2, -2];
    const A = mul(Qm, mul(lambda.map((l, i) => lambda.map((_, j) => (i === j ? l : 0))), transposed(Qm)));
    const Pexp = mul(Qm, mul(lambda.map((l, i) => lambda.map((_, j) => (i === j ? Math.max(l, 0) : 0))), transposed(Qm)));
    expect(maxDiff(run('proj_psd', [asTensor(A)]).data, flatOf(Pexp))).toBeLessThan(1e-13);
    const T = sym(randomMat(rng, 4));
    const gamma = (i: number, j: number) => (lambda[i] > 0 && lambda[j] > 0 ? 1 : lambda[i] < 0 && lambda[j] < 0 ? 0 : 1 / 3);
    const W = mul(transposed(Qm), mul(T, Qm)).map((row, i) => row.map((w, j) => gamma(i, j) * w));
    const dPexp = mul(Qm, mul(W, transposed(Qm)));
    expect(maxDiff(run('proj_psd_jvp', [asTensor(A), asTensor(T)]).data, flatOf(dPexp))).toBeLessThan(1e-13);
  });
});

describe('the Jacobians are symmetric with spectrum in [0, 1] (the analysis relies on it)', () => {
  /** The dense Jacobian of `name` in argument 0, column by column from its JVP kernel. */
  function jacobian(jvp: string, args: Tensor[], size: number, shape: number[]): Mat {
    const cols = Array.from({ length: size }, (_, j) => {
      const t = tensor(shape, Array.from({ length: size }, (_, i) => (i === j ? 1 : 0)));
      return Array.from(run(jvp, [args[0], ...args.slice(1), t]).data);
    });
    return transposed(cols);
  }
  const check = (J: Mat) => {
    expect(maxDiff(J.flat(), transposed(J).flat())).toBeLessThan(1e-14);
    const eig = eigenvaluesByBisection(J);
    expect(Math.min(...eig)).toBeGreaterThan(-1e-12);
    expect(Math.max(...eig)).toBeLessThan(1 + 1e-12);
  };

  it('proj_l2ball_jvp inside and outside', () => {
    const rng = mulberry32(21);
    for (const r of [0.3, 1, 10]) {
      const v = tensor([5], Array.from({ length: 5 }, () => uniform(rng, -2, 2)));
      check(jacobian('proj_l2ball_jvp', [v, tensor([], [r])], 5, [5]));
    }
  });

  it('proj_psd_jvp on the n^2 entries (with the symmetrization)', () => {
    const rng = mulberry32(22);
    for (const n of [2, 3]) {
      const S = asTensor(randomMat(rng, n));
      check(jacobian('proj_psd_jvp', [S], n * n, [n, n]));
    }
    // At a zero eigenvalue (the kink), the used element too.
    check(jacobian('proj_psd_jvp', [tensor([3, 3], [2, 0, 0, 0, 0, 0, 0, 0, -1])], 9, [3, 3]));
  });

  it('every projection in the registry states a projection kind and is nonexpansive and monotone', () => {
    for (const name of ['proj_l2ball', 'proj_linf_ball', 'proj_psd']) {
      const p = REGISTRY.get(name)!;
      expect(p.structure.projection).toBeDefined();
      expect(p.structure.nonexpansive).toBe(true);
      expect(p.structure.monotone).toBe(true);
      expect(p.definability).toBe('semialgebraic');
      expect(p.lipschitz).toBe('globally');
    }
  });
});

describe('intervals', () => {
  it('bound every entry of random values', () => {
    const rng = mulberry32(31);
    const l2 = REGISTRY.get('proj_l2ball')!;
    const linf = REGISTRY.get('proj_linf_ball')!;
    for (let k = 0; k < 50; k++) {
      const v = tensor([4], Array.from({ length: 4 }, () => uniform(rng, -3, 1)));
      const r = uniform(rng, 0.2, 2);
      const vIv: [number, number] = [-3, 1];
      const rIv: [number, number] = [0.2, 2];
      for (const [p, out] of [
        [l2, run('proj_l2ball', [v, tensor([], [r])])],
        [linf, run('proj_linf_ball', [v, tensor([], [r])])],
      ] as const) {
        const [lo, hi] = p.interval!([vIv, rIv], [null, null]);
        for (const x of out.data) {
          expect(x).toBeGreaterThanOrEqual(lo);
          expect(x).toBeLessThanOrEqual(hi);
        }
      }
    }
  });
});

type Solved = ModelInstance & { solve(options?: object): { status: string; solution: Record<string, unknown>; certificate: { verdict: string }; gradients?: Record<string, Record<string, unknown>> } };

async function instance(text: string, inputs: Record<string, unknown>): Promise<Solved> {
  const M = await compileModel('projections-2.impl', undefined, text);
  return new M(inputs) as unknown as Solved;
}

const flat = (x: unknown): number[] => [x].flat(4) as number[];

describe('JVP and VJP through compiled models (explicit use)', () => {
  // F(y) = y - c .* P(u), u affine in the param w, read through the implicit gradient: at y*,
  // dy/dw = c .* dP/du du/dw (B = I), so the output's gradient is the VJP of P.
  const models: { name: string; text: string; inputs: (rng: Rng) => Record<string, unknown>; param: string }[] = [
    {
      name: 'proj_l2ball',
      text: 'model E {\n  dim n\n  param w: real[n]\n  param r: real\n  data c: real[n]\n  unknown y: real[n]\n  solve y - proj_l2ball(3 * w, r) = 0\n  output o = dot(c, y)\n}\n',
      inputs: (rng) => ({ w: [0.5, -0.4, 0.3].map((x) => x + uniform(rng, -0.1, 0.1)), r: 0.9, c: [1, -2, 0.5] }),
      param: 'w',
    },
    {
      name: 'proj_linf_ball',
      text: 'model E {\n  dim n\n  param w: real[n]\n  param r: real\n  data c: real[n]\n  unknown y: real[n]\n  solve y - proj_linf_ball(w, r) = 0\n  output o = dot(c, y)\n}\n',
      inputs: () => ({ w: [1.5, -0.2, -2, 0.4], r: 0.8, c: [1, -2, 0.5, 3] }),
      param: 'w',
    },
    {
      name: 'proj_psd',
      text: 'model E {\n  dim n\n  param S: real[n, n]\n  data C: real[n, n]\n  unknown Y: real[n, n]\n  solve Y - proj_psd(S) = 0\n  output o = dot(C, Y)\n}\n',
      inputs: (rng) => ({ S: randomMat(rng, 3), C: randomMat(rng, 3) }),
      param: 'S',
    },
  ];

  it.each(models.map((m) => [m.name, m] as const))('%s: gradients in every param against central differences', async (_name, m) => {
    const rng = mulberry32(41);
    const inputs = m.inputs(rng);
    const inst = await instance(m.text, inputs);
    // `jacobian`: dy/dx by forward mode (the JVP rules); `gradients`: the adjoint (the VJP rules).
    const res = inst.solve({ tol: 1e-14, jacobian: true }) as ReturnType<Solved['solve']> & { jacobian: Record<string, Record<string, unknown>> };
    expect(res.status).toBe('converged');
    expect(res.certificate.verdict).not.toBe('violated');
    const solutionAt = async (changed: Record<string, unknown>): Promise<number[]> => {
      const other = await instance(m.text, { ...inputs, ...changed });
      return flat(Object.values(other.solve({ tol: 1e-14 }).solution)[0]);
    };
    const outputAt = async (changed: Record<string, unknown>): Promise<number> => inst.outputs(Float64Array.from(await solutionAt(changed)))[0];
    const unknown = Object.keys(res.jacobian)[0];
    for (const param of Object.keys(res.gradients!.o)) {
      const grad = flat(res.gradients!.o[param]);
      const base = flat(inputs[param]);
      const h = 1e-6;
      for (let k = 0; k < base.length; k++) {
        const shaped = (d: number) => {
          const x = base.slice();
          x[k] += d;
          const orig = inputs[param];
          if (Array.isArray(orig) && Array.isArray(orig[0])) return x.reduce<number[][]>((rows, v, i) => (i % orig.length === 0 ? [...rows, [v]] : (rows[rows.length - 1].push(v), rows)), []);
          return Array.isArray(orig) ? x : x[0];
        };
        const fd = ((await outputAt({ [param]: shaped(h) })) - (await outputAt({ [param]: shaped(-h) }))) / (2 * h);
        expect(Math.abs(grad[k] - fd), `${m.name} d o / d ${param}[${k}]: ${grad[k]} vs ${fd}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        // Column k of dy/dparam (row-major over y, then the param's entries).
        const yp = await solutionAt({ [param]: shaped(h) });
        const ym = await solutionAt({ [param]: shaped(-h) });
        const jac = flat(res.jacobian[unknown][param]);
        const size = base.length;
        yp.forEach((x, i) => {
          const fdy = (x - ym[i]) / (2 * h);
          expect(Math.abs(jac[i * size + k] - fdy), `${m.name} d ${unknown}[${i}] / d ${param}[${k}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fdy)));
        });
      }
    }
    expect(m.param in res.gradients!.o).toBe(true);
  });
});

describe('implicit gradients of projection fixpoints', () => {
  const l2 = `model L {
  dim n
  data A: real[n, n]
  param b: real[n]
  data r: real
  data s: real
  data c: real[n]
  unknown y: real[n] = 0
  fixpoint y = proj_l2ball(y - s * (A' * (A * y) - b), r)
  output o = dot(c, y)
}
`;
  const A = [[2, 0.3, -0.5, 0], [0.1, 1.5, 0.2, -0.3], [0, -0.4, 1.2, 0.5], [0.3, 0, 0.2, 1.8]];

  async function solveL2(b: number[], r: number) {
    const inst = await instance(l2, { A, b, r, s: 0.15, c: [1, -0.5, 2, 0.25] });
    const res = inst.solve({ tol: 1e-15 });
    expect(res.status).toBe('converged');
    return { inst, res, y: flat(res.solution.y) };
  }

  it.each([
    ['outside the ball (active constraint)', 0.5],
    ['inside the ball (the identity piece)', 50],
  ] as const)('%s: d o / d b and dy/db against finite differences of the solution', async (_what, r) => {
    const b = [3, -2, 1, 0.5];
    const { res, y } = await solveL2(b, r);
    expect(['certified', 'unverified']).toContain(res.certificate.verdict);
    // The solution is the constrained least-squares minimizer: y on the sphere when active.
    if (r < 1) expect(Math.abs(Math.hypot(...y) - r)).toBeLessThan(1e-12);
    const grad = flat(res.gradients!.o.b);
    const h = 1e-6;
    for (let k = 0; k < b.length; k++) {
      const plus = b.slice();
      plus[k] += h;
      const minus = b.slice();
      minus[k] -= h;
      const yp = (await solveL2(plus, r)).y;
      const ym = (await solveL2(minus, r)).y;
      const dy = yp.map((x, i) => (x - ym[i]) / (2 * h));
      const fd = [1, -0.5, 2, 0.25].reduce((s, c, i) => s + c * dy[i], 0);
      expect(Math.abs(grad[k] - fd), `d o / d b[${k}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  it('the l2-ball layer: r has a gradient (u = y / |y| on the sphere)', async () => {
    const text = l2.replace('data r: real', 'param r: real');
    const b = [3, -2, 1, 0.5];
    const at = async (r: number) => {
      const inst = await instance(text, { A, b, r, s: 0.15, c: [1, -0.5, 2, 0.25] });
      return inst.solve({ tol: 1e-15 });
    };
    const res = await at(0.5);
    const h = 1e-6;
    const o = async (r: number) => {
      const x = await at(r);
      return [1, -0.5, 2, 0.25].reduce((s, c, i) => s + c * flat(x.solution.y)[i], 0);
    };
    const fd = ((await o(0.5 + h)) - (await o(0.5 - h))) / (2 * h);
    expect(Math.abs(flat(res.gradients!.o.r)[0] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
  });

  it('a nearest-PSD layer X = proj_psd(X - 0.5 (X - C)): X = P(C), and d o / d C against finite differences', async () => {
    const text = `model N {
  dim n
  param C: real[n, n]
  data W: real[n, n]
  unknown X: real[n, n] = 0
  fixpoint X = proj_psd(X - 0.5 * (X - C))
  output o = dot(W, X)
}
`;
    const rng = mulberry32(51);
    const C = sym(randomMat(rng, 3));
    const W = randomMat(rng, 3);
    const solveAt = async (Cm: Mat) => {
      const inst = await instance(text, { C: Cm, W });
      const res = inst.solve({ tol: 1e-15 });
      expect(res.status).toBe('converged');
      return { res, X: flat(res.solution.X) };
    };
    const { res, X } = await solveAt(C);
    expect(maxDiff(X, psdRef(asTensor(C)))).toBeLessThan(1e-12);
    const grad = flat(res.gradients!.o.C);
    const h = 1e-6;
    for (let k = 0; k < 9; k++) {
      const moved = (d: number) => C.map((row, i) => row.map((x, j) => (i * 3 + j === k ? x + d : x)));
      const Xp = (await solveAt(moved(h))).X;
      const Xm = (await solveAt(moved(-h))).X;
      const fd = W.flat().reduce((s, w, i) => s + (w * (Xp[i] - Xm[i])) / (2 * h), 0);
      expect(Math.abs(grad[k] - fd), `d o / d C[${k}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe('the run-time projection certificate and the new kinds', () => {
  it('the analysis gives no projection hook for l2ball, linf_ball or psd fixpoints: the general test decides', async () => {
    const text = `model L {
  dim n
  data A: real[n, n]
  param b: real[n]
  unknown y: real[n] = 0
  fixpoint y = proj_l2ball(y - 0.1 * (A' * (A * y) - b), 1)
}
`;
    const inst = await instance(text, { A: [[1, 0], [0, 2]], b: [3, 1] });
    expect(inst.projectionFixpoint?.() ?? null).toBeNull();
  });

  it('a hook naming a kind it does not list gets no verdict (null), never the cone hull by default', () => {
    // A model whose map is the SOC projection of y's own value: the soc hull would apply if the kind were read as soc.
    const n = 3;
    const model = {
      n,
      hasMap: true,
      map: (y: Float64Array, out: Float64Array) => out.set(y),
      residual: (_y: Float64Array, out: Float64Array) => out.fill(0),
    } as unknown as ModelInstance;
    const y = Float64Array.of(5, 3, 4);
    for (const kind of ['l2ball', 'linf_ball', 'psd', 'unknown']) {
      const hook = { kind, at: '1:1', argument: (x: Float64Array) => x.slice(), argumentJvp: (_y: Float64Array, d: Float64Array, out: Float64Array) => out.set(d) } as unknown as ProjectionFixpoint;
      expect(certifyProjectionFixpoint(model, y, 0, hook)).toBeNull();
    }
    // The same hook as soc is certified or decided (y is on the cone's boundary): the refusal above is the kind's.
    const soc = { kind: 'soc', at: '1:1', argument: (x: Float64Array) => x.slice(), argumentJvp: (_y: Float64Array, d: Float64Array, out: Float64Array) => out.set(d) } as ProjectionFixpoint;
    expect(certifyProjectionFixpoint(model, y, 0, soc)).not.toBeNull();
  });
});

describe('samples/l2ball.impl', () => {
  it('checks and solves from the command line, certified, with gradients', () => {
    const root = new URL('../..', import.meta.url).pathname;
    const bin = `${root}bin/implc.js`;
    execFileSync('node', [bin, 'check', `${root}samples/l2ball.impl`], { encoding: 'utf8' });
    const out = JSON.parse(execFileSync('node', [bin, 'solve', `${root}samples/l2ball.impl`, '--input', `${root}samples/inputs/l2ball.json`], { encoding: 'utf8' }));
    expect(out.status).toBe('converged');
    expect(out.certificate.verdict).toBe('certified');
    const y = out.solution.y as number[];
    const inputs = JSON.parse(readFileSync(`${root}samples/inputs/l2ball.json`, 'utf8'));
    expect(Math.hypot(...y)).toBeLessThanOrEqual(inputs.r * (1 + 1e-9));
    expect(out.gradients.loss.b).toHaveLength(4);
  }, 60_000);
});
