// Lasso hypergradient, one backward pass at a given solution: implc's generated derivatives
// (the active-set reduction of B = I - D (I - s X'X) to the support) against NumPy's
// support-restricted formula, and against implc's own full-system solve (reduction disabled).
// The forward solve is done once, untimed; only the backward is timed.
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import { type GeneratedInstance } from '../codegen/build.ts';
import { loadDiabetes } from '../demos/lasso.ts';
import { mulberry32 } from '../demos/data.ts';
import { outputGradients, solveInstance, type ModelInstance } from '../src/runtime/index.ts';
import { pythonWith, runPeer, timeMs, writeMatrix } from './peers.ts';

interface Problem {
  name: string;
  X: number[][];
  y: number[];
  Xv: number[][];
  yv: number[];
  lambdaMax: number;
}

function diabetesProblem(): Problem {
  const d = loadDiabetes();
  return { name: `diabetes (${d.X.length} train x ${d.X[0].length}, ${d.Xv.length} val)`, X: d.X, y: d.y, Xv: d.Xv, yv: d.yv, lambdaMax: d.lambdaMax };
}

/** Columns with pairwise correlation 0.5 (a shared factor per row), 20 true nonzeros; n train rows and m validation rows from the same law. */
function correlatedProblem(n: number, m: number, p: number): Problem {
  const rng = mulberry32(42);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const beta = new Float64Array(p);
  for (let k = 0; k < 20; k++) beta[Math.floor(rng() * p)] = normal() * 2;
  const draw = (rows: number) => {
    const X: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < rows; i++) {
      const f = normal();
      const r = Array.from({ length: p }, () => Math.SQRT1_2 * normal() + Math.SQRT1_2 * f);
      X.push(r);
      y.push(r.reduce((s, v, j) => s + v * beta[j], 0) + normal());
    }
    return { X, y };
  };
  const tr = draw(n);
  const va = draw(m);
  let lambdaMax = 0;
  for (let j = 0; j < p; j++) lambdaMax = Math.max(lambdaMax, Math.abs(tr.X.reduce((s, r, i) => s + r[j] * tr.y[i], 0)));
  return { name: `correlated (${n} train x ${p}, ${m} val)`, X: tr.X, y: tr.y, Xv: va.X, yv: va.y, lambdaMax };
}

const flat = (A: number[][]) => Float64Array.from(A.flat());

export async function benchHypergradient(log: (s: string) => void): Promise<string[]> {
  const Lasso = await compileModel('samples/lasso.impl');
  const python = pythonWith(['numpy']);
  const out: string[] = [
    '| problem | lambda / lambda_max | support | implc reduced ms | implc full-system ms | NumPy ms | ratio NumPy / implc reduced | ratio full / reduced | rel. diff implc vs NumPy | rel. diff full vs reduced |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [P, fractions] of [
    [diabetesProblem(), [0.1, 0.01]],
    [correlatedProblem(300, 100, 1000), [0.1]],
  ] as const) {
    for (const f of fractions) {
      const lambda = f * P.lambdaMax;
      const inputs = { X: P.X, y: P.y, Xv: P.Xv, yv: P.yv, lambda };
      const model = new Lasso(inputs);
      const t0 = performance.now();
      const r = solveInstance(model, { tol: 1e-10 });
      if (r.status !== 'converged') throw new Error(`implc forward: ${r.status}`);
      log(`${P.name}, lambda = ${f} lambda_max: forward solve (untimed) ${(performance.now() - t0).toFixed(0)} ms`);
      const beta = r.y;
      const support = beta.filter((b) => b !== 0).length;
      // A second instance of the same inputs whose analysis disables the identity-row reduction.
      const full = new Lasso(inputs);
      Object.assign(full, { analysis: { ...model.analysis, identityRowsWhereFactorZero: null } });
      // Each timed backward pass on a fresh instance (`with({})` shares the data-only values):
      // the values a module caches per solution (its `primal`) are computed inside the timing.
      const fresh = (m: GeneratedInstance): ModelInstance => {
        const inst = m.with({});
        Object.assign(inst, { analysis: m.analysis });
        return inst;
      };

      let gReduced = NaN;
      let gFull = NaN;
      const big = P.X[0].length > 100;
      // JIT warm-up of both paths before either is timed; the reduced one, at every size, for
      // 10 calls and 300 ms (V8 compiles in tiers over many calls: at p = 1000, 21 calls after
      // one warm-up measured 2.6 ms where a warm loop takes 1.3 to 1.9).
      if (!big) for (let k = 0; k < 200; k++) (outputGradients(fresh(model), beta), outputGradients(fresh(full), beta));
      const reducedMs = timeMs(() => {
        gReduced = outputGradients(fresh(model), beta)[0][0];
      }, big ? 21 : 101, 10, 300);
      const fullMs = timeMs(() => {
        gFull = outputGradients(fresh(full), beta)[0][0];
      }, big ? 1 : 21);

      let peer: { ms: number; grad: number; support: number; numpy: string } | null = null;
      if (python) {
        peer = runPeer(python, 'hypergrad_numpy.py', {
          X: writeMatrix('hg-X', P.X.length, P.X[0].length, flat(P.X)),
          y: writeMatrix('hg-y', P.y.length, 1, Float64Array.from(P.y)),
          Xv: writeMatrix('hg-Xv', P.Xv.length, P.Xv[0].length, flat(P.Xv)),
          yv: writeMatrix('hg-yv', P.yv.length, 1, Float64Array.from(P.yv)),
          beta: writeMatrix('hg-beta', beta.length, 1, beta),
          repeats: 101,
        });
      }
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
      if (peer) {
        if (peer.support !== support) throw new Error(`support mismatch: implc ${support}, NumPy ${peer.support}`);
        const d = rel(gReduced, peer.grad);
        if (!(d < 1e-8)) throw new Error(`hypergradient mismatch on ${P.name}: implc ${gReduced}, NumPy ${peer.grad} (rel ${d})`);
      }
      log(`  d val / d lambda: implc ${gReduced}, full ${gFull}, NumPy ${peer?.grad ?? 'skipped'}`);
      out.push(
        `| ${P.name} | ${f} | ${support} | ${reducedMs.toFixed(3)} | ${fullMs.toFixed(3)} | ${peer ? peer.ms.toFixed(3) : 'skipped'} | ${peer ? (peer.ms / reducedMs).toPrecision(2) : '-'} | ${(fullMs / reducedMs).toPrecision(3)} | ${peer ? rel(gReduced, peer.grad).toExponential(1) : '-'} | ${rel(gFull, gReduced).toExponential(1)} |`,
      );
      log(out[out.length - 1]);
    }
  }
  if (!python) out.push('', 'NumPy not found: peer column skipped.');
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  await benchHypergradient((s) => console.error(s)).then((lines) => console.log(lines.join('\n')));
}
