// Lasso solve: implc's generated solver against scikit-learn's coordinate descent on the same
// problems, several lambdas along the path, both checked for the same KKT accuracy.
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import { mulberry32, readCsv, standardize } from '../demos/data.ts';
import { solveInstance, type ModelInstance } from '../src/runtime/index.ts';
import { pythonWith, runPeer, timeMs, writeMatrix } from './peers.ts';

export interface Problem {
  name: string;
  n: number;
  p: number;
  X: Float64Array;
  y: Float64Array;
}

export function diabetes(): Problem {
  const z = standardize(readCsv('samples/data/diabetes.csv').rows);
  return { name: 'diabetes (442 x 10)', n: z.length, p: 10, X: Float64Array.from(z.flatMap((r) => r.slice(0, 10))), y: Float64Array.from(z.map((r) => r[10])) };
}

/** Columns with pairwise correlation 0.5 (a shared factor per row), 20 true nonzeros. */
export function correlated(n: number, p: number): Problem {
  const rng = mulberry32(42);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const X = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const f = normal();
    for (let j = 0; j < p; j++) X[i * p + j] = Math.SQRT1_2 * normal() + Math.SQRT1_2 * f;
  }
  const beta = new Float64Array(p);
  for (let k = 0; k < 20; k++) beta[Math.floor(rng() * p)] = normal() * 2;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += X[i * p + j] * beta[j];
    y[i] = s + normal();
  }
  return { name: `correlated (${n} x ${p})`, n, p, X, y };
}


/** The problems of the Lasso benches: diabetes, and correlated designs of 300 x 1000 and 1000 x 5000. */
export function lassoProblems(): Problem[] {
  return [diabetes(), correlated(300, 1000), correlated(1000, 5000)];
}

export function gradient(P: Problem, beta: ArrayLike<number>): Float64Array {
  const r = new Float64Array(P.n);
  for (let i = 0; i < P.n; i++) {
    let s = -P.y[i];
    for (let j = 0; j < P.p; j++) s += P.X[i * P.p + j] * beta[j];
    r[i] = s;
  }
  const g = new Float64Array(P.p);
  for (let i = 0; i < P.n; i++) for (let j = 0; j < P.p; j++) g[j] += P.X[i * P.p + j] * r[i];
  return g;
}

/** Milliseconds with three significant digits under 10 ms (a diabetes solve takes a fraction of one). */
const fmt = (t: number): string => (t < 10 ? t.toPrecision(2) : t.toFixed(1));

/** Largest violation of the Lasso optimality conditions, relative to lambda. */
export function kkt(P: Problem, beta: ArrayLike<number>, lambda: number): number {
  const g = gradient(P, beta);
  let worst = 0;
  for (let j = 0; j < P.p; j++) {
    const v = beta[j] !== 0 ? Math.abs(g[j] + lambda * Math.sign(beta[j])) : Math.max(0, Math.abs(g[j]) - lambda);
    worst = Math.max(worst, v / lambda);
  }
  return worst;
}

export async function benchLasso(log: (s: string) => void): Promise<string[]> {
  const Lasso = await compileModel('samples/lasso.impl');
  const python = pythonWith(['sklearn', 'numpy']);
  const out: string[] = [
    '| problem | lambda / lambda_max | implc ms | implc ms, `with` | sklearn ms | ratio (sklearn / implc) | ratio, `with` | implc KKT | sklearn KKT | support | implc method |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const P of lassoProblems()) {
    const big = P.n * P.p > 1e6;
    const lambdaMax = Math.max(...gradient(P, new Float64Array(P.p)).map(Math.abs));
    const fractions = [0.5, 0.2, 0.1];
    // The design as a flat row-major buffer with its shape (as NumPy hands it to scikit-learn).
    const X = { shape: [P.n, P.p], data: P.X };
    const Xv = { shape: [5, P.p], data: P.X.subarray(0, 5 * P.p) };
    const inputs = (lambda: number) => ({ X, y: P.y, Xv, yv: P.y.subarray(0, 5), lambda });
    log(`${P.name}: lambda_max ${lambdaMax.toPrecision(6)}`);
    // One instance for the whole path, built untimed: what depends on X alone (its binding,
    // opnorm(X), step * X') is computed once and shared by `base.with({ lambda })`.
    const base = new Lasso(inputs(lambdaMax));
    const implc = fractions.map((f) => {
      const lambda = f * lambdaMax;
      let beta: Float64Array = new Float64Array(0);
      let method = '';
      // Binding the inputs (with the step 1 / opnorm(X)^2) is part of the solve. Small
      // problems warm up for 10 calls and 1 s: V8 compiles the solver's code in tiers, over
      // many calls, and the first problem of the run would otherwise time the compiler (a fresh
      // diabetes solve measured 0.6 to 1.5 ms after 10 calls, 0.49 ms after 300 ms of calls,
      // 0.19 to 0.22 ms once V8 is done, about a second of calls in).
      const [warmup, warmupMs, repeats] = big ? [1, 0, 3] : [10, 1000, 11];
      const ms = timeMs(() => {
        const model = new Lasso(inputs(lambda)) as ModelInstance;
        const r = solveInstance(model, { tol: 1e-10 });
        if (r.status !== 'converged') throw new Error(`implc: ${r.status}`);
        beta = r.y;
        method = r.method;
      }, repeats, warmup, warmupMs);
      const withMs = timeMs(() => {
        const r = solveInstance(base.with({ lambda }), { tol: 1e-10 });
        if (r.status !== 'converged') throw new Error(`implc: ${r.status}`);
      }, repeats, warmup, warmupMs);
      log(`  lambda ${f} lambda_max: implc ${ms.toFixed(1)} ms, with ${withMs.toFixed(1)} ms (${method})`);
      return { lambda, ms, withMs, beta, method };
    });
    let peer: { results: { ms: number; beta: number[] }[] } | null = null;
    if (python) {
      peer = runPeer(python, 'lasso_sklearn.py', {
        X: writeMatrix('lasso-X', P.n, P.p, P.X),
        y: writeMatrix('lasso-y', P.n, 1, P.y),
        lambdas: implc.map((r) => r.lambda),
        tol: 1e-10,
        repeats: big ? 3 : 11,
      });
    }
    implc.forEach((r, k) => {
      const s = peer?.results[k];
      const support = r.beta.filter((b) => b !== 0).length;
      out.push(
        `| ${P.name} | ${fractions[k]} | ${fmt(r.ms)} | ${fmt(r.withMs)} | ${s ? fmt(s.ms) : 'skipped'} | ${s ? (s.ms / r.ms).toPrecision(2) : '-'} | ${s ? (s.ms / r.withMs).toPrecision(2) : '-'} | ` +
          `${kkt(P, r.beta, r.lambda).toExponential(1)} | ${s ? kkt(P, s.beta, r.lambda).toExponential(1) : '-'} | ${support} | ${r.method} |`,
      );
      log(out[out.length - 1]);
    });
  }
  if (!python) out.push('', 'scikit-learn not found (Debian: `apt-get install python3-sklearn`): peer column skipped.');
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  await benchLasso(() => {}).then((lines) => console.log(lines.join('\n')));
}
