// How a fresh Lasso solve's time grows with p at n = 1000 (issue 12): Gaussian designs of
// p = 1000, 5000 and 20000 columns (bench/spellings.ts `gaussian`, 20 true nonzeros),
// lambda = 0.1 lambda_max, implc's fresh instance + solveInstance beside scikit-learn's
// Lasso.fit from a fresh estimator, with the KKT of both answers and scikit-learn at the
// tolerance that matches implc's KKT (bench/fresh.ts `compareFresh`).
//
// Usage: npx tsx bench/scaling.ts [--p 1000,5000,20000] [--repeats N]
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { compileModel } from '../src/compile-model.ts';
import { compareFresh, freshTable, type FreshRow } from './fresh.ts';
import { pythonWith } from './peers.ts';
import { gaussian } from './spellings.ts';

export async function benchScaling(log: (s: string) => void, ps = [1000, 5000, 20000], repeats = 3): Promise<string[]> {
  const Lasso = await compileModel('samples/lasso.impl');
  const python = pythonWith(['sklearn', 'numpy']);
  const rows: FreshRow[] = [];
  for (const p of ps) {
    rows.push(compareFresh(Lasso, gaussian(1000, p), 0.1, repeats, python));
    log(freshTable(rows.slice(-1)).slice(-1)[0]);
  }
  const out = freshTable(rows, 'n x p');
  // Growth between consecutive sizes: the exponent a of time ~ p^a, from the medians.
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  out.push('', '| from p | to p | implc exponent | sklearn exponent (matched tol) |', '| ---: | ---: | ---: | ---: |');
  for (let i = 1; i < rows.length; i++) {
    const lp = Math.log(ps[i] / ps[i - 1]);
    const sk = (r: FreshRow) => (r.sklearn && r.matched ? med(r.sklearn[r.matched.index].ms) : NaN);
    const ske = Math.log(sk(rows[i]) / sk(rows[i - 1])) / lp;
    out.push(`| ${ps[i - 1]} | ${ps[i]} | ${(Math.log(med(rows[i].implcMs) / med(rows[i - 1].implcMs)) / lp).toFixed(2)} | ${Number.isFinite(ske) ? ske.toFixed(2) : '-'} |`);
  }
  if (!python) out.push('', 'scikit-learn not found (Debian: `apt-get install python3-sklearn`): peer columns skipped.');
  return out;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`command: \`${`npx tsx bench/scaling.ts ${process.argv.slice(2).join(' ')}`.trim()}\``);
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, load at start ${load()}`);
  const lines = await benchScaling((s) => console.error(s), argValue('--p')?.split(',').map(Number), Number(argValue('--repeats') ?? 3));
  console.log(lines.join('\n'));
  console.log(`\nload at end ${load()}; n = 1000, lambda = 0.1 lambda_max; implc solves to ||F||_inf <= 1e-10; times are min / median over the repetitions.`);
}
