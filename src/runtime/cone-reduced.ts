/**
 * Solves with a cone program's B without forming it (the reduced backward of issue 16).
 *
 * B = dF/d(x, v) has the primal rows alpha [A, D] and the dual rows beta [0, A'(D - I)], D the
 * cone's selected Jacobian at v: block diagonal, and at a solution without ties each block is
 * the identity (v inside K: s = v, y = 0, the constraint is slack), zero (v inside the polar
 * cone: s = 0, y = -v, the constraint is tight) or, for a second-order or PSD block on a
 * face, a matrix M strictly between. Split the cone's rows into P (D = I), Z (D = 0) and M
 * (the rest). The primal rows of P read alpha (A_P dx + dv_P), so dv_P = r_P / alpha - A_P dx
 * is eliminated, and the dual rows do not read dv_P at all ((D - I) vanishes on P). What is
 * left is the reduced matrix, of order n + |Z| + |M| instead of n + m:
 *
 *              dx            dv_Z           dv_M
 *     Z  [ alpha A_Z          0              0              ]
 *     M  [ alpha A_M          0              alpha D_MM     ]
 *     n  [ 0                 -beta A_Z'      beta A_M'(D_MM - I) ]
 *
 * B is block triangular over (P, rest) with the identity on P, so B is invertible exactly
 * when R is, and B^T w = g is R^T's system with w_P = g_P / alpha moved to the right side.
 * With no M rows (an LP, or every block slack or tight), R is block diagonal: alpha A_Z and
 * -beta A_Z', invertible exactly when A_Z is square and invertible (n tight constraints,
 * linearly independent: a nondegenerate vertex), and one LU of the n x n matrix A_Z serves
 * both solves. At m = n = 1000 that is an LU of order 1000 instead of 2000.
 */
import { conditionEstimate1, luFactor, luSolve, luSolveTranspose, type LuResult } from './lu.ts';
import type { Matrix } from './matrix.ts';
import type { ConeProblem } from './cone-program.ts';

/** The cone's rows split by D: slack (D = I), tight (D = 0), and the rest (a face of a curved block). */
export interface ConeRowSplit {
  P: Int32Array;
  Z: Int32Array;
  M: Int32Array;
}

/** Whether the m x m block of D on rows [o, o + size) is exactly `value` times the identity. */
function blockIs(D: Float64Array, m: number, o: number, size: number, value: 0 | 1): boolean {
  for (let i = o; i < o + size; i++) {
    for (let j = o; j < o + size; j++) if (D[i * m + j] !== (i === j ? value : 0)) return false;
  }
  return true;
}

/** The split of the cone's rows by D (dense m x m, block diagonal over the cone's blocks). */
export function splitRows(problem: ConeProblem, D: Float64Array): ConeRowSplit {
  const m = problem.m;
  const P: number[] = [];
  const Z: number[] = [];
  const M: number[] = [];
  for (const b of problem.K.blocks) {
    if (b.size === 0) continue;
    if (b.kind === 'nonneg') {
      // Diagonal: entry by entry.
      for (let i = b.offset; i < b.offset + b.size; i++) (D[i * m + i] === 1 ? P : D[i * m + i] === 0 ? Z : M).push(i);
      continue;
    }
    const rows = Array.from({ length: b.size }, (_, i) => b.offset + i);
    if (blockIs(D, m, b.offset, b.size, 1)) P.push(...rows);
    else if (blockIs(D, m, b.offset, b.size, 0)) Z.push(...rows);
    else M.push(...rows);
  }
  return { P: Int32Array.from(P), Z: Int32Array.from(Z), M: Int32Array.from(M) };
}

/** B's solves through the reduced matrix; `lu` null when it is singular. */
export interface ReducedConeSystem {
  split: ConeRowSplit;
  /** Order of what was factored: n when R is block diagonal (A_Z alone), else n + |Z| + |M|. */
  order: number;
  /** 'diagonal': R = diag(alpha A_Z, -beta A_Z'), one LU of A_Z; 'coupled': an LU of R. */
  form: 'diagonal' | 'coupled';
  singular: boolean;
  /** Not formed: its order is above the caller's limit (then `singular` is true too, and says nothing of B). */
  tooLarge?: boolean;
  /** 1-norm condition estimate of what was factored (A_Z or R); null when singular. */
  condition: number | null;
  /** z with B z = r (r in F's row order, z in the unknowns' order). */
  solve(r: Float64Array): Float64Array;
  /** w with B^T w = g (g in the unknowns' order, w in F's row order). */
  solveTranspose(g: Float64Array): Float64Array;
}

/**
 * The LU of A_Z for the last tight rows, per A's array (held weakly). A program's A is never
 * written (an instance's values are snapshots of its inputs), so the array and the rows name
 * the matrix.
 */
const tightFactors = new WeakMap<Float64Array, { key: string; lu: LuResult; condition: number | null }>();

/** The order of the matrix reducedConeSystem would factor for this split: n (block diagonal) or n + |Z| + |M|. */
export function reducedOrder(problem: ConeProblem, split: ConeRowSplit): number {
  return split.M.length === 0 ? problem.n : problem.n + split.Z.length + split.M.length;
}

/**
 * The reduced system of B at D (see the file's comment). `order` is the model's n (= n + m);
 * a reduced system of order above `maxOrder` is not formed (reported singular, `tooLarge`).
 */
export function reducedConeSystem(problem: ConeProblem, D: Float64Array, order: number, maxOrder = Infinity): ReducedConeSystem {
  const { A, n, m, alpha, beta, xAt, vAt, primalAt, dualAt } = problem;
  const a = A.data;
  const split = splitRows(problem, D);
  const { P, Z, M } = split;
  const zc = Z.length;
  const mc = M.length;
  const diagonal = mc === 0;
  if (reducedOrder(problem, split) > maxOrder) return { ...singularSystem(split, reducedOrder(problem, split)), tooLarge: true };
  if (diagonal && zc !== n) {
    // R = diag(alpha A_Z, -beta A_Z') with A_Z of |Z| x n: singular unless square.
    return singularSystem(split, n + zc);
  }
  if (diagonal) {
    // The same tight rows give the same A_Z: its LU is kept per A (the polish's last step and
    // the certificate at the point it lands on share it, and so do the instances of a `with`
    // path that keep A and the active set: training on c).
    const key = `${n}:${Z.join(',')}`;
    const hit = tightFactors.get(a);
    if (hit && hit.key === key) return build(split, n, 'diagonal', hit.condition, hit.lu);
    const AZ = new Float64Array(n * n);
    for (let r = 0; r < zc; r++) AZ.set(a.subarray(Z[r] * n, Z[r] * n + n), r * n);
    const lu = luFactor({ rows: n, cols: n, data: AZ });
    if (lu.singular) return singularSystem(split, n);
    const cond = conditionEstimate1({ rows: n, cols: n, data: AZ }, lu);
    const condition = Number.isFinite(cond) ? cond : null;
    tightFactors.set(a, { key, lu, condition });
    return build(split, n, 'diagonal', condition, lu);
  }
  const k = n + zc + mc;
  const R = new Float64Array(k * k);
  // Rows Z: alpha A_Z in the dx columns.
  for (let r = 0; r < zc; r++) for (let j = 0; j < n; j++) R[r * k + j] = alpha * a[Z[r] * n + j];
  // Rows M: alpha A_M (dx) and alpha D_MM (dv_M).
  for (let r = 0; r < mc; r++) {
    const row = (zc + r) * k;
    const i = M[r];
    for (let j = 0; j < n; j++) R[row + j] = alpha * a[i * n + j];
    for (let c = 0; c < mc; c++) R[row + n + zc + c] = alpha * D[i * m + M[c]];
  }
  // Dual rows: -beta A_Z' (dv_Z) and beta A_M'(D_MM - I) (dv_M). D_MM is block diagonal (one
  // block per curved cone block, whose rows are consecutive in M): each column of D_MM is
  // summed over its own block's rows only.
  const blockStart = new Int32Array(mc);
  const blockEnd = new Int32Array(mc);
  for (let c = 0; c < mc; ) {
    const block = problem.K.blocks.find((b) => M[c] >= b.offset && M[c] < b.offset + b.size)!;
    let e = c;
    while (e < mc && M[e] < block.offset + block.size) e++;
    for (let t = c; t < e; t++) {
      blockStart[t] = c;
      blockEnd[t] = e;
    }
    c = e;
  }
  for (let j = 0; j < n; j++) {
    const row = (zc + mc + j) * k;
    for (let c = 0; c < zc; c++) R[row + n + c] = -beta * a[Z[c] * n + j];
    for (let c = 0; c < mc; c++) {
      let s = -a[M[c] * n + j];
      const col = M[c];
      for (let r = blockStart[c]; r < blockEnd[c]; r++) s += a[M[r] * n + j] * D[M[r] * m + col];
      R[row + n + zc + c] = beta * s;
    }
  }
  const Rm: Matrix = { rows: k, cols: k, data: R };
  const lu = luFactor(Rm);
  if (lu.singular) return singularSystem(split, k);
  const cond = conditionEstimate1(Rm, lu);
  return build(split, k, 'coupled', Number.isFinite(cond) ? cond : null, lu);

  function build(s: ConeRowSplit, size: number, form: 'diagonal' | 'coupled', condition: number | null, f: LuResult): ReducedConeSystem {
    return {
      split: s,
      order: size,
      form,
      singular: false,
      condition,
      solve: (r) => {
        const z = new Float64Array(order);
        const dx = new Float64Array(n);
        const dv = new Float64Array(m);
        if (form === 'diagonal') {
          // alpha A_Z dx = r_Z; -beta A_Z' dv_Z = r_dual.
          const rz = new Float64Array(n);
          for (let t = 0; t < zc; t++) rz[t] = r[primalAt + Z[t]] / alpha;
          dx.set(luSolve(f, rz));
          const rd = new Float64Array(n);
          for (let j = 0; j < n; j++) rd[j] = -r[dualAt + j] / beta;
          const dvz = luSolveTranspose(f, rd);
          for (let t = 0; t < zc; t++) dv[Z[t]] = dvz[t];
        } else {
          const rhs = new Float64Array(size);
          for (let t = 0; t < zc; t++) rhs[t] = r[primalAt + Z[t]];
          for (let t = 0; t < mc; t++) rhs[zc + t] = r[primalAt + M[t]];
          for (let j = 0; j < n; j++) rhs[zc + mc + j] = r[dualAt + j];
          const sol = luSolve(f, rhs);
          dx.set(sol.subarray(0, n));
          for (let t = 0; t < zc; t++) dv[Z[t]] = sol[n + t];
          for (let t = 0; t < mc; t++) dv[M[t]] = sol[n + zc + t];
        }
        // The slack rows: dv_P = r_P / alpha - A_P dx.
        for (let t = 0; t < P.length; t++) {
          const i = P[t];
          let s = r[primalAt + i] / alpha;
          for (let j = 0; j < n; j++) s -= a[i * n + j] * dx[j];
          dv[i] = s;
        }
        z.set(dx, xAt);
        z.set(dv, vAt);
        return z;
      },
      solveTranspose: (g) => {
        const w = new Float64Array(order);
        const w1 = new Float64Array(m);
        const w2 = new Float64Array(n);
        // w1_P = g_P / alpha; it moves to the dx row's right side: g_x - alpha A_P' w1_P.
        const rx = Float64Array.from(g.subarray(xAt, xAt + n));
        for (let t = 0; t < P.length; t++) {
          const i = P[t];
          w1[i] = g[vAt + i] / alpha;
          for (let j = 0; j < n; j++) rx[j] -= alpha * a[i * n + j] * w1[i];
        }
        if (form === 'diagonal') {
          // alpha A_Z' w1_Z = rx; -beta A_Z w2 = g_Z.
          const w1z = luSolveTranspose(f, Float64Array.from(rx, (v) => v / alpha));
          for (let t = 0; t < zc; t++) w1[Z[t]] = w1z[t];
          const gz = new Float64Array(n);
          for (let t = 0; t < zc; t++) gz[t] = -g[vAt + Z[t]] / beta;
          w2.set(luSolve(f, gz));
        } else {
          // R^T (w1_Z, w1_M, w2) = (rx, g_Z, g_M).
          const rhs = new Float64Array(size);
          rhs.set(rx, 0);
          for (let t = 0; t < zc; t++) rhs[n + t] = g[vAt + Z[t]];
          for (let t = 0; t < mc; t++) rhs[n + zc + t] = g[vAt + M[t]];
          const sol = luSolveTranspose(f, rhs);
          for (let t = 0; t < zc; t++) w1[Z[t]] = sol[t];
          for (let t = 0; t < mc; t++) w1[M[t]] = sol[zc + t];
          w2.set(sol.subarray(zc + mc, zc + mc + n));
        }
        w.set(w1, primalAt);
        w.set(w2, dualAt);
        return w;
      },
    };
  }
}

function singularSystem(split: ConeRowSplit, order: number): ReducedConeSystem {
  const fail = (): never => {
    throw new Error('internal error: a solve with a singular cone system');
  };
  return { split, order, form: split.M.length === 0 ? 'diagonal' : 'coupled', singular: true, condition: null, solve: fail, solveTranspose: fail };
}
