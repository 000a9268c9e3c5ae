/**
 * Random cone programs with a known solution, for checking conic layers and their derivatives.
 *
 * Form (SCS's): min c'x s.t. A x + s = b, s in K; dual max -b'y s.t. A'y + c = 0, y in K*.
 * K is a product of blocks in the cone's order: zero (s = 0, y free), nonneg, second-order
 * {(t, u): ||u|| <= t} (t first, self-dual), PSD of order k in svec storage (lower triangle
 * column by column, off-diagonals times sqrt 2, so <svec X, svec Y> = trace(XY); self-dual).
 *
 * Construction: pick A (Gaussian, full column rank with probability 1) and x*, then per block a
 * complementary pair (s*, y*) in K x K* with s*'y* = 0; then b = A x* + s* and c = -A'y* make
 * (x*, y*, s*) satisfy the KKT conditions, so it is optimal (the program is convex).
 *
 * Uniqueness. With F_s, F_y the smallest faces of K, K* holding s*, y*, every primal solution
 * has b - A x in F_s and every dual solution y in F_y (complementarity with the other side's
 * strictly complementary point), so x* is unique iff range(A) meets span F_s only at 0 and y*
 * is unique iff null(A') meets span F_y only at 0. For a Gaussian A that holds with probability
 * one iff D_y <= n <= m - D_s, D = the summed face dimensions: zero (0, p), nonneg row with
 * s > 0 (1, 0) or y > 0 (0, 1), soc with s interior (q, 0), y interior (0, q), both on the
 * boundary (1, 1), psd with rank S = r, rank Y = k - r (r(r+1)/2, (k-r)(k-r+1)/2). These are
 * also the conditions for primal and dual nondegeneracy (Alizadeh, Haeberly, Overton 1997),
 * which with strict complementarity make the linearized KKT system invertible. For an LP
 * D_s + D_y = m, so exactly n rows are active (y > 0, s = 0) and A_active is square.
 */
import type { Rng } from './rng.ts';

export type ConeKind = 'zero' | 'nonneg' | 'soc' | 'psd';
/** One block of K: `n` is its length, or its order k for 'psd' (length k(k+1)/2). */
export interface ConeBlock {
  kind: ConeKind;
  n: number;
}
export interface Cone {
  blocks: ConeBlock[];
}
/** A cone program: A is rows x cols, row-major. */
export interface ConeProblem {
  rows: number;
  cols: number;
  A: Float64Array;
  b: Float64Array;
  c: Float64Array;
  cone: Cone;
}
export interface ConeSolution {
  x: Float64Array;
  y: Float64Array;
  s: Float64Array;
}
/** A generated program with its known optimal primal-dual point. */
export type ConeProgram = ConeProblem & ConeSolution;

/**
 * Where the optimal pair of a block sits. nonneg: per row, 's' (s > 0 = y), 'y' (y > 0 = s) or
 * 'tie' (s = y = 0, degenerate). soc: 's' (s interior, y = 0), 'y' (the reverse), 'boundary'
 * (s = a (1, u), y = beta (1, -u), ||u|| = 1), 'tie' (s = y = 0, degenerate). psd: S = Q diag(a, 0) Q'
 * of rank rankS and Y = Q diag(0, beta) Q' of rank rankY on the other eigenvectors;
 * rankS + rankY = k is strictly complementary, less shares a zero eigenvalue (degenerate).
 */
export type BlockPattern =
  | { kind: 'zero' }
  | { kind: 'nonneg'; roles: ('s' | 'y' | 'tie')[] }
  | { kind: 'soc'; face: 's' | 'y' | 'boundary' | 'tie' }
  | { kind: 'psd'; rankS: number; rankY: number };

export interface BlockRange {
  kind: ConeKind;
  n: number;
  start: number;
  length: number;
}

/** Each block's rows. */
export function blockRanges(cone: Cone): BlockRange[] {
  let start = 0;
  return cone.blocks.map(({ kind, n }) => {
    const length = kind === 'psd' ? (n * (n + 1)) / 2 : n;
    const r = { kind, n, start, length };
    start += length;
    return r;
  });
}

/** m, the total length of K. */
export function coneDimension(cone: Cone): number {
  return blockRanges(cone).reduce((m, r) => m + r.length, 0);
}

/** (i, j) of each svec entry of an order-k matrix: the lower triangle, column by column. */
export function svecIndex(k: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 0; j < k; j++) for (let i = j; i < k; i++) out.push([i, j]);
  return out;
}

export function svec(X: number[][]): number[] {
  return svecIndex(X.length).map(([i, j]) => (i === j ? X[i][j] : Math.SQRT2 * X[i][j]));
}

export function smat(v: ArrayLike<number>, k: number): number[][] {
  const X = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  svecIndex(k).forEach(([i, j], r) => {
    X[i][j] = X[j][i] = i === j ? v[r] : v[r] / Math.SQRT2;
  });
  return X;
}

/** Eigenvalues and eigenvectors (columns of V, row-major) of the symmetric X by cyclic Jacobi. */
export function jacobiEigen(X: Float64Array, d: number): { values: Float64Array; V: Float64Array } {
  const a = new Float64Array(X);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        total += a[i * d + j] ** 2;
        if (i !== j) off += a[i * d + j] ** 2;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (apq === 0) continue;
        const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = cs * akp - sn * akq;
          a[k * d + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = cs * apk - sn * aqk;
          a[q * d + k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p];
          const vkq = V[k * d + q];
          V[k * d + p] = cs * vkp - sn * vkq;
          V[k * d + q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i];
  return { values, V };
}

/** Eigenvalues of a symmetric matrix, ascending (jacobiEigen; for small k). */
export function symEigenvalues(X: number[][]): number[] {
  const k = X.length;
  return Array.from(jacobiEigen(Float64Array.from(X.flat()), k).values).sort((u, v) => u - v);
}

/**
 * The smallest spectral value of v over the non-zero blocks: nonneg entries, t - ||u|| on an
 * soc (the smaller of its two spectral values t -+ ||u||), the smallest eigenvalue on a psd
 * block. Positive iff v lies in the interior of those blocks; for a complementary pair (s, y),
 * s + y has a positive margin iff the pair is strictly complementary.
 */
export function coneMargin(cone: Cone, v: ArrayLike<number>): number {
  let margin = Infinity;
  for (const { kind, n, start, length } of blockRanges(cone)) {
    const block = Array.from({ length }, (_, i) => v[start + i]);
    if (kind === 'nonneg') margin = Math.min(margin, ...block);
    else if (kind === 'soc') margin = Math.min(margin, block[0] - Math.hypot(...block.slice(1)));
    else if (kind === 'psd') margin = Math.min(margin, symEigenvalues(smat(block, n))[0]);
  }
  return margin;
}

/** How far v lies outside K (dual = false: zero blocks must vanish) or K* (dual = true: they are free); 0 inside. */
export function coneViolation(cone: Cone, v: ArrayLike<number>, dual: boolean): number {
  let worst = Math.max(0, -coneMargin(cone, v));
  if (!dual) {
    for (const { kind, start, length } of blockRanges(cone)) {
      if (kind === 'zero') for (let i = 0; i < length; i++) worst = Math.max(worst, Math.abs(v[start + i]));
    }
  }
  return worst;
}

/** A standard normal draw (Box-Muller). */
export function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** A random k x k orthogonal matrix, columns by Gram-Schmidt on Gaussian vectors. */
export function orthogonal(rng: Rng, k: number): number[][] {
  const cols: number[][] = [];
  while (cols.length < k) {
    const v = Array.from({ length: k }, () => gaussian(rng));
    for (const q of cols) {
      const d = q.reduce((t, qi, i) => t + qi * v[i], 0);
      q.forEach((qi, i) => (v[i] -= d * qi));
    }
    const norm = Math.hypot(...v);
    if (norm > 1e-8) cols.push(v.map((t) => t / norm));
  }
  return Array.from({ length: k }, (_, i) => cols.map((q) => q[i]));
}

/** The face dimensions (F_s, F_y) of a block's pattern, as in the header. */
export function faceDimensions(block: ConeBlock, pattern: BlockPattern): [number, number] {
  switch (pattern.kind) {
    case 'zero':
      return [0, block.n];
    case 'nonneg':
      return [pattern.roles.filter((r) => r === 's').length, pattern.roles.filter((r) => r === 'y').length];
    case 'soc':
      return pattern.face === 's' ? [block.n, 0] : pattern.face === 'y' ? [0, block.n] : pattern.face === 'boundary' ? [1, 1] : [0, 0];
    case 'psd':
      return [(pattern.rankS * (pattern.rankS + 1)) / 2, (pattern.rankY * (pattern.rankY + 1)) / 2];
  }
}

function isStrict(block: ConeBlock, p: BlockPattern): boolean {
  if (p.kind === 'nonneg') return !p.roles.includes('tie');
  if (p.kind === 'soc') return p.face !== 'tie';
  if (p.kind === 'psd') return p.rankS + p.rankY === block.n;
  return true;
}

const uniform = (rng: Rng): number => 0.5 + rng();

/**
 * The program with these block patterns and n variables. When every pattern is strictly
 * complementary it checks D_y <= n <= m - D_s, so the solution is unique and nondegenerate
 * with probability one; degenerate patterns are built as asked, without that check.
 */
export function programWith(rng: Rng, cone: Cone, n: number, patterns: BlockPattern[]): ConeProgram {
  const ranges = blockRanges(cone);
  const m = coneDimension(cone);
  if (patterns.length !== ranges.length) throw new Error('one pattern per block');
  ranges.forEach((r, i) => {
    if (patterns[i].kind !== r.kind) throw new Error(`block ${i} is ${r.kind}, pattern ${patterns[i].kind}`);
  });
  if (cone.blocks.every((b, i) => isStrict(b, patterns[i]))) {
    const [Ds, Dy] = cone.blocks.reduce(([s, y], b, i) => {
      const [fs, fy] = faceDimensions(b, patterns[i]);
      return [s + fs, y + fy];
    }, [0, 0]);
    if (!(Dy <= n && n <= m - Ds)) throw new Error(`no unique solution: need D_y ${Dy} <= n ${n} <= m - D_s ${m - Ds}`);
  }
  const A = Float64Array.from({ length: m * n }, () => gaussian(rng));
  const x = Float64Array.from({ length: n }, () => gaussian(rng));
  const s = new Float64Array(m);
  const y = new Float64Array(m);
  ranges.forEach(({ n: k, start, length }, bi) => {
    const p = patterns[bi];
    if (p.kind === 'zero') {
      for (let i = 0; i < length; i++) y[start + i] = gaussian(rng);
    } else if (p.kind === 'nonneg') {
      if (p.roles.length !== length) throw new Error('one role per nonneg row');
      p.roles.forEach((role, i) => {
        if (role === 's') s[start + i] = uniform(rng);
        if (role === 'y') y[start + i] = uniform(rng);
      });
    } else if (p.kind === 'soc') {
      if (p.face === 'tie') return;
      const u = Array.from({ length: length - 1 }, () => gaussian(rng));
      const norm = Math.hypot(...u);
      if (p.face === 'boundary') {
        if (length < 2) throw new Error('a boundary pair needs an soc of length >= 2');
        const a = uniform(rng);
        const beta = uniform(rng);
        s[start] = a;
        y[start] = beta;
        u.forEach((ui, i) => {
          s[start + 1 + i] = (a * ui) / norm;
          y[start + 1 + i] = (-beta * ui) / norm;
        });
      } else {
        const v = p.face === 's' ? s : y;
        v[start] = norm + uniform(rng);
        u.forEach((ui, i) => (v[start + 1 + i] = ui));
      }
    } else {
      if (p.rankS + p.rankY > k) throw new Error('rank S + rank Y exceeds the order');
      const Q = orthogonal(rng, k);
      const lambdaS = Array.from({ length: k }, (_, i) => (i < p.rankS ? uniform(rng) : 0));
      const lambdaY = Array.from({ length: k }, (_, i) => (i >= k - p.rankY ? uniform(rng) : 0));
      const compose = (lambda: number[]) =>
        Q.map((_, i) => Q.map((_, j) => lambda.reduce((t, l, e) => t + Q[i][e] * l * Q[j][e], 0)));
      svec(compose(lambdaS)).forEach((v, i) => (s[start + i] = v));
      svec(compose(lambdaY)).forEach((v, i) => (y[start + i] = v));
    }
  });
  const b = new Float64Array(m);
  const c = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    let t = s[i];
    for (let j = 0; j < n; j++) {
      t += A[i * n + j] * x[j];
      c[j] -= A[i * n + j] * y[i];
    }
    b[i] = t;
  }
  return { rows: m, cols: n, A, b, c, cone, x, y, s };
}

/** A uniformly random arrangement of counts.s 's' rows, counts.y 'y' rows and counts.tie ties. */
function shuffledRoles(rng: Rng, counts: { s: number; y: number; tie: number }): ('s' | 'y' | 'tie')[] {
  const roles: ('s' | 'y' | 'tie')[] = [
    ...new Array<'s'>(counts.s).fill('s'),
    ...new Array<'y'>(counts.y).fill('y'),
    ...new Array<'tie'>(counts.tie).fill('tie'),
  ];
  for (let i = roles.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [roles[i], roles[j]] = [roles[j], roles[i]];
  }
  return roles;
}

/**
 * Patterns for the zero, soc and psd blocks drawn at random (soc faces uniformly, psd rank S
 * uniformly in 0..k), then the nonneg rows' active count a chosen so that D_y <= n <= m - D_s;
 * redrawn until such an a exists. With no nonneg block the draw itself must fit.
 *
 * `curved`: every soc of length >= 2 gets a boundary pair, every psd of order >= 2 ranks S and
 * Y both >= 1, and D_y < n. Linearized, A dx + ds = db with ds in the tangent space of K at s*
 * (dimension m - D_y), so at D_y = n (every LP) x* is fixed by b alone and dx/dc = 0; below
 * it, the boundary pairs turn with c (d(s o y) couples ds to dy) and x* moves with c.
 */
export function randomPatterns(rng: Rng, cone: Cone, n: number, curved = false): BlockPattern[] {
  const m = coneDimension(cone);
  const nonnegRows = cone.blocks.filter((b) => b.kind === 'nonneg').reduce((t, b) => t + b.n, 0);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const patterns: BlockPattern[] = cone.blocks.map((b): BlockPattern => {
      if (b.kind === 'zero') return { kind: 'zero' };
      if (b.kind === 'nonneg') return { kind: 'nonneg', roles: [] };
      if (b.kind === 'soc') {
        const faces = b.n < 2 ? (['s', 'y'] as const) : curved ? (['boundary'] as const) : (['s', 'y', 'boundary'] as const);
        return { kind: 'soc', face: faces[Math.floor(rng() * faces.length)] };
      }
      const rankS = curved && b.n >= 2 ? 1 + Math.floor(rng() * (b.n - 1)) : Math.floor(rng() * (b.n + 1));
      return { kind: 'psd', rankS, rankY: b.n - rankS };
    });
    let Ds = 0;
    let Dy = 0;
    cone.blocks.forEach((b, i) => {
      const [fs, fy] = faceDimensions(b, patterns[i]);
      Ds += fs;
      Dy += fy;
    });
    // a active rows add (0, a), the other nonneg rows (l - a, 0).
    const lo = Math.max(0, n - m + Ds + nonnegRows);
    const hi = Math.min(nonnegRows, n - Dy - (curved ? 1 : 0));
    if (lo > hi) continue;
    const a = lo + Math.floor(rng() * (hi - lo + 1));
    const roles = shuffledRoles(rng, { s: nonnegRows - a, y: a, tie: 0 });
    let next = 0;
    cone.blocks.forEach((b, i) => {
      if (b.kind !== 'nonneg') return;
      patterns[i] = { kind: 'nonneg', roles: roles.slice(next, next + b.n) };
      next += b.n;
    });
    return patterns;
  }
  throw new Error(`no strictly complementary pattern gives ${cone.blocks.map((b) => b.kind + b.n).join(' ')} a unique solution in ${n} variables`);
}

/** A random program on `cone` in n variables with a unique, strictly complementary, nondegenerate solution (randomPatterns). */
export function randomProgram(rng: Rng, cone: Cone, n: number, curved = false): ConeProgram {
  return programWith(rng, cone, n, randomPatterns(rng, cone, n, curved));
}

/** An LP: p equality rows then m - p nonneg rows, exactly n - p of them active. */
export function lpProgram(rng: Rng, m: number, n: number, p = 0): ConeProgram {
  const blocks: ConeBlock[] = p > 0 ? [{ kind: 'zero', n: p }, { kind: 'nonneg', n: m - p }] : [{ kind: 'nonneg', n: m }];
  return randomProgram(rng, { blocks }, n);
}

/** Degenerate LP: n active rows, one tie s_i = y_i = 0 (a weakly active constraint), the rest inactive. */
export function degenerateLp(rng: Rng, m: number, n: number): ConeProgram {
  if (m < n + 1) throw new Error('a tie needs m > n');
  return programWith(rng, { blocks: [{ kind: 'nonneg', n: m }] }, n, [{ kind: 'nonneg', roles: shuffledRoles(rng, { s: m - n - 1, y: n, tie: 1 }) }]);
}

/** Degenerate SOCP: nonneg rows as in an LP and one soc block of length q with s = y = 0. */
export function degenerateSoc(rng: Rng, n: number, q: number): ConeProgram {
  const cone: Cone = { blocks: [{ kind: 'nonneg', n: n + 3 }, { kind: 'soc', n: q }] };
  return programWith(rng, cone, n, [{ kind: 'nonneg', roles: shuffledRoles(rng, { s: 3, y: n, tie: 0 }) }, { kind: 'soc', face: 'tie' }]);
}

/**
 * Degenerate SDP: one psd block of order k >= 2 where S (rank 1) and Y (rank k - 2) share a
 * zero eigenvalue, the nonneg rows filling D_y up to n so that nothing else is degenerate.
 */
export function degeneratePsd(rng: Rng, n: number, k: number): ConeProgram {
  const rankY = k - 2;
  const Fy = (rankY * (rankY + 1)) / 2;
  if (Fy > n) throw new Error('n too small for the psd block');
  const cone: Cone = { blocks: [{ kind: 'nonneg', n: n - Fy + 3 }, { kind: 'psd', n: k }] };
  return programWith(rng, cone, n, [{ kind: 'nonneg', roles: shuffledRoles(rng, { s: 3, y: n - Fy, tie: 0 }) }, { kind: 'psd', rankS: 1, rankY }]);
}
