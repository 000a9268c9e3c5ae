// A Lasso path as a tuning loop or a path solver runs it: 100 lambdas from lambda_max down to
// lambda_max / 10 (geometric), each solve warm-started from the previous solution, X bound
// once (`base.with({ lambda })`), against scikit-learn's `lasso_path` (warm-started along the
// same grid, the strongest way it is used); the worst KKT violation of each path is measured
// the same way for both.
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import { solveInstance } from '../src/runtime/index.ts';
import { gradient, kkt, lassoProblems } from './lasso.ts';
import { pythonWith, runPeer, timeMs, writeMatrix } from './peers.ts';

/** `model`: any spelling of the Lasso with the sample's inputs (bench/models/lasso_*.impl). */
export async function benchLassoPath(log: (s: string) => void, model = 'samples/lasso.impl'): Promise<string[]> {
  const Lasso = await compileModel(model);
  const python = pythonWith(['sklearn', 'numpy']);
  const out: string[] = [
    '| problem | implc path ms | implc worst KKT | sklearn tol | lasso_path ms | sklearn worst KKT | ratio (sklearn / implc) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const P of lassoProblems()) {
    const big = P.n * P.p > 1e6;
    const lambdaMax = Math.max(...gradient(P, new Float64Array(P.p)).map(Math.abs));
    const lambdas = Array.from({ length: 100 }, (_, k) => lambdaMax * 0.1 ** (k / 99));
    const base = new Lasso({
      X: { shape: [P.n, P.p], data: P.X },
      y: P.y,
      Xv: { shape: [1, P.p], data: P.X.subarray(0, P.p) },
      yv: P.y.subarray(0, 1),
      lambda: lambdaMax,
    });
    let betas: Float64Array[] = [];
    const ms = timeMs(
      () => {
        betas = [];
        let y0: Float64Array | undefined;
        for (const lambda of lambdas) {
          const r = solveInstance(base.with({ lambda }), { tol: 1e-10, y0 });
          if (r.status !== 'converged') throw new Error(`implc: ${r.status} at lambda ${lambda}`);
          y0 = r.y;
          betas.push(r.y);
        }
      },
      big ? 3 : 5,
      1,
      big ? 0 : 1000,
    );
    const implcKkt = Math.max(...lambdas.map((l, k) => kkt(P, betas[k], l)));
    // scikit-learn at the tolerance implc is given, and at looser ones: the loosest whose
    // worst KKT still meets 1e-8 is the fair comparison (its tol is a duality gap, not a KKT).
    for (const tol of python ? [1e-10, 1e-8, 1e-6] : [null]) {
      const peer =
        python && tol !== null
          ? runPeer<{ ms: number; coefs: number[][] }>(python, 'lasso_path_sklearn.py', {
              X: writeMatrix('path-X', P.n, P.p, P.X),
              y: writeMatrix('path-y', P.n, 1, P.y),
              lambdas,
              tol,
              repeats: big ? 3 : 5,
            })
          : null;
      const sk = peer ? Math.max(...lambdas.map((l, k) => kkt(P, peer.coefs[k], l))) : null;
      out.push(
        `| ${P.name} | ${ms.toFixed(1)} | ${implcKkt.toExponential(1)} | ${tol === null ? '-' : tol.toExponential(0)} | ${peer ? peer.ms.toFixed(1) : 'skipped'} | ${sk === null ? '-' : sk.toExponential(1)} | ${peer ? (peer.ms / ms).toFixed(2) : '-'} |`,
      );
      log(out[out.length - 1]);
    }
  }
  if (!python) out.push('', 'scikit-learn not found (Debian: `apt-get install python3-sklearn`): peer column skipped.');
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Usage: npx tsx bench/lasso-path.ts [--model bench/models/lasso_expanded.impl]
  const at = process.argv.indexOf('--model');
  const model = at >= 0 ? process.argv[at + 1] : 'samples/lasso.impl';
  console.log(`command: \`npx tsx bench/lasso-path.ts${at >= 0 ? ` --model ${model}` : ''}\``);
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
  await benchLassoPath(() => {}, model).then((lines) => console.log(lines.join('\n')));
}
