/**
 * A peer check of the box-QP layer's gradients: cvxopt (an interior-point QP solver)
 * solves each program, and the gradient of 0.5 ||y - target||^2 with respect to q comes
 * from differentiating its KKT conditions, as OptNet does:
 *
 *   [ Q          G'       ] [dy]   [-dq]        G = [I; -I],  h = [hi; -lo],
 *   [ diag(z) G  -diag(s) ] [dz] = [ 0 ],       s = h - G y,  z the multipliers,
 *
 * so dL/dq = -(K^{-T} [y - target; 0])_y. Python 3 with cvxopt is optional: without it the
 * check is skipped and says so.
 */
import { spawnSync } from 'node:child_process';

export interface PeerProblem {
  Q: number[][];
  q: number[];
  lo: number[];
  hi: number[];
  target: number[];
}

export interface PeerSolution {
  status: string;
  y: number[];
  grad: number[];
}

export type PeerResult = { available: true; python: string; solutions: PeerSolution[] } | { available: false; reason: string };

export const PEER_SKIPPED = 'cvxopt not installed: peer check skipped';

const SCRIPT = String.raw`
import json, sys
from cvxopt import matrix, solvers, lapack
solvers.options['show_progress'] = False
solvers.options['abstol'] = 1e-12
solvers.options['reltol'] = 1e-12
solvers.options['feastol'] = 1e-12
solvers.options['maxiters'] = 200
out = []
for p in json.load(sys.stdin):
    Q, q, lo, hi, t = p['Q'], p['q'], p['lo'], p['hi'], p['target']
    k = len(q)
    G = [[0.0] * k for _ in range(2 * k)]
    for i in range(k):
        G[i][i] = 1.0
        G[k + i][i] = -1.0
    h = [float(v) for v in hi] + [-float(v) for v in lo]
    # cvxopt fills matrices column by column: a row-major list gives the transpose.
    P = matrix([float(Q[i][j]) for j in range(k) for i in range(k)], (k, k))
    Gm = matrix([G[i][j] for j in range(k) for i in range(2 * k)], (2 * k, k))
    sol = solvers.qp(P, matrix([float(v) for v in q]), Gm, matrix(h))
    y = list(sol['x'])
    z = list(sol['z'])
    s = list(sol['s'])
    n = 3 * k
    K = [[0.0] * n for _ in range(n)]
    for i in range(k):
        for j in range(k):
            K[i][j] = float(Q[i][j])
        for r in range(2 * k):
            K[i][k + r] = G[r][i]
    for r in range(2 * k):
        for j in range(k):
            K[k + r][j] = z[r] * G[r][j]
        K[k + r][k + r] = -s[r]
    KT = matrix([K[i][j] for i in range(n) for j in range(n)], (n, n))
    rhs = matrix([y[i] - float(t[i]) for i in range(k)] + [0.0] * (2 * k))
    lapack.gesv(KT, rhs)
    out.append({'status': sol['status'], 'y': y, 'grad': [-rhs[i] for i in range(k)]})
print(json.dumps(out))
`;

/** The first Python that imports cvxopt, or null. */
export function findCvxopt(candidates = ['python3', '/usr/bin/python3']): string | null {
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import cvxopt'], { stdio: 'ignore', timeout: 20_000 });
    if (r.status === 0) return py;
  }
  return null;
}

export function cvxoptPeer(problems: PeerProblem[], candidates?: string[]): PeerResult {
  const python = findCvxopt(candidates);
  if (!python) return { available: false, reason: PEER_SKIPPED };
  const r = spawnSync(python, ['-c', SCRIPT], { input: JSON.stringify(problems), encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    return { available: false, reason: `cvxopt peer check failed (${python}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}` };
  }
  return { available: true, python, solutions: JSON.parse(r.stdout) as PeerSolution[] };
}
