import { expect } from 'vitest';
import type { Attrs, Tensor } from '../../src/primitives/types.ts';
import { centralDifference, expectClose, inner, num, run, tensor, vec, type Kind } from './harness.ts';
import { uniform, type Rng } from './rng.ts';
import { CONE_SPECS } from './cones-cases.ts';
import { GROUP_SPECS } from './groups-cases.ts';
import { PROJECTION_SPECS_2 } from './projections-2-cases.ts';

// One entry per registry primitive: argument samplers (concrete shapes), an independent value
// reference, and, for nonsmooth primitives, points at an exact tie. registry.test.ts fails when
// a primitive has no entry, so a new primitive cannot go untested.

export interface ArgSpec {
  shape: number[];
  kind?: Kind;
  /** Sampler for entry i (default uniform in [-2, 2]; conditions: 0 or 1). */
  sample?: (rng: Rng, i: number) => number;
}

export interface Case {
  args: ArgSpec[];
  /** Expected output entries (an independent formula), compared to 1e-12 unless `tol`. */
  expected?: (args: Tensor[]) => ArrayLike<number>;
  /** Properties the output must have (e.g. KKT conditions). */
  check?: (args: Tensor[], out: Tensor) => void;
  tol?: number;
  /** Static attributes of the node (the sizes of slices and constructors, src/primitives/indexing.ts). */
  attrs?: Attrs;
  /** Sits on jumps or ties on purpose (or has no real value): checked for values only. */
  valuesOnly?: boolean;
}

/** A tie of a diagonal kink: `tied` kink variables, where the factor takes the value `used`. */
export interface DiagonalTie {
  args: Tensor[];
  tied: number[];
  used: number;
}

/**
 * A tie of a non-diagonal kink. The range is described by its faces: the derivatives at
 * `nearby` points, one inside each adjacent smooth piece (Clarke: limits of nearby
 * Jacobians); `usedFace` is the face whose Jacobian the rules must use. `inRange` replaces
 * the faces when the range has infinitely many (norm2 at 0).
 */
export interface FaceTie {
  args: Tensor[];
  /** Argument kinds (default all `real`): a `fixed` argument gets no direction. */
  kinds?: Kind[];
  tied: number[];
  nearby?: Tensor[][];
  usedFace?: number;
  inRange?: (dirs: readonly (Tensor | null)[], derivative: Float64Array) => boolean;
}

export interface Spec {
  cases: Case[];
  diagonalTies?: DiagonalTie[];
  faceTies?: FaceTie[];
}

// Samplers.
const real = (...shape: number[]): ArgSpec => ({ shape });
const cond = (...shape: number[]): ArgSpec => ({ shape, kind: 'bool' });
const within = (lo: number, hi: number, ...shape: number[]): ArgSpec => ({ shape, sample: (r) => uniform(r, lo, hi) });
/** A scalar position or size (indexing primitives). */
const at = (v: number): ArgSpec => ({ shape: [], sample: () => v });
const awayFromZero = (...shape: number[]): ArgSpec => ({ shape, sample: (r) => (r() < 0.5 ? -1 : 1) * uniform(r, 0.5, 2) });

const entry = (t: Tensor, i: number) => (t.data.length === 1 ? t.data[0] : t.data[i]);

/** Reference of an elementwise primitive from a scalar formula, scalars broadcasting. */
function pointwiseRef(f: (...xs: number[]) => number) {
  return (args: Tensor[]) => {
    const n = Math.max(...args.map((a) => a.data.length));
    return Array.from({ length: n }, (_, i) => f(...args.map((a) => entry(a, i))));
  };
}

/** Arguments placed on jumps or ties on purpose: a values-only case. */
const atJumps = (...args: ArgSpec[]) => ({ args, valuesOnly: true });

const elementwise = (f: (...xs: number[]) => number, ...argLists: (ArgSpec[] | { args: ArgSpec[]; valuesOnly: boolean })[]): Spec => ({
  cases: argLists.map((a) => ({ ...(Array.isArray(a) ? { args: a } : a), expected: pointwiseRef(f) })),
});

const truth = (b: boolean) => (b ? 1 : 0);
const comparison = (f: (a: number, b: number) => boolean): Spec => ({
  cases: [
    { args: [real(4), real(4)], expected: pointwiseRef((a, b) => truth(f(a, b))) },
    { args: [real(2, 2), real()], expected: pointwiseRef((a, b) => truth(f(a, b))) },
    // Equal operands, where eq / le / ge hold.
    { args: [{ shape: [3], sample: (_r, i) => i }, { shape: [3], sample: (_r, i) => (i === 1 ? 1 : -i) }], expected: pointwiseRef((a, b) => truth(f(a, b))), valuesOnly: true },
  ],
});

// Matrix conventions (LANGUAGE.md): a left vector [n] is a column [n, 1], a right vector a column.
function matmulRef([A, B]: Tensor[]): number[] {
  const [m, p] = A.shape.length === 2 ? A.shape : [A.shape[0], 1];
  const q = B.shape.length === 2 ? B.shape[1] : 1;
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < q; j++) {
      let s = 0;
      for (let k = 0; k < p; k++) s += A.data[i * p + k] * B.data[k * q + j];
      out.push(s);
    }
  }
  return out;
}

function transposeRef([A]: Tensor[]): number[] {
  if (A.shape.length < 2) return Array.from(A.data);
  const [m, n] = A.shape;
  return Array.from({ length: m * n }, (_, idx) => A.data[(idx % m) * n + Math.floor(idx / m)]);
}

/** Largest eigenvalue of a symmetric 2x2 matrix [[p, q], [q, s]]. */
const eig2 = (p: number, q: number, s: number) => (p + s) / 2 + Math.hypot((p - s) / 2, q);

/** Singular values of 2x2 [[a, b], [c, d]]: (sqrt((a+d)^2 + (c-b)^2) +- sqrt((a-d)^2 + (b+c)^2)) / 2. */
function opnormRef([A]: Tensor[]): number[] {
  const [m, n] = A.shape.length === 2 ? A.shape : [A.shape[0], 1];
  const x = (i: number, j: number) => A.data[i * n + j];
  if (m === 2 && n === 2) {
    const [a, b, c, d] = A.data;
    return [(Math.hypot(a + d, c - b) + Math.hypot(a - d, b + c)) / 2];
  }
  if (n === 1) return [Math.hypot(...A.data)];
  // A^T A (n = 2) or A A^T (m = 2) is 2x2.
  const gram = (i: number, j: number) => {
    let s = 0;
    if (n === 2) for (let l = 0; l < m; l++) s += x(l, i) * x(l, j);
    else for (let l = 0; l < n; l++) s += x(i, l) * x(j, l);
    return s;
  };
  return [Math.sqrt(eig2(gram(0, 0), gram(0, 1), gram(1, 1)))];
}

/** Power iteration on A^T A to convergence: an independent reference for larger matrices. */
function opnormByPowerIteration([A]: Tensor[]): number[] {
  const [m, n] = A.shape;
  let x = new Float64Array(n).fill(1);
  let lambda = 0;
  for (let it = 0; it < 20000; it++) {
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i] += A.data[i * n + j] * x[j];
    const z = new Float64Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) z[j] += A.data[i * n + j] * y[i];
    lambda = Math.hypot(...z);
    x = z.map((v) => v / lambda);
  }
  return [Math.sqrt(lambda)];
}

/** The tau with sum_i max(w_i - tau, 0) = z, by bisection (independent of the sort-based kernel). */
function bisectThreshold(w: ArrayLike<number>, z: number): number {
  let lo = Math.min(...Array.from(w)) - z - 1;
  let hi = Math.max(...Array.from(w));
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2;
    const s = Array.from(w).reduce((acc, x) => acc + Math.max(x - mid, 0), 0);
    if (s > z) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function simplexRef([v]: Tensor[]): number[] {
  const tau = bisectThreshold(v.data, 1);
  return Array.from(v.data, (x) => Math.max(x - tau, 0));
}

/** KKT of the simplex projection: p >= 0, sum p = 1, v - p = tau on the support, v <= tau off it. */
function simplexKkt([v]: Tensor[], p: Tensor): void {
  const sum = p.data.reduce((s, x) => s + x, 0);
  expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
  const support = Array.from(p.data.keys()).filter((i) => p.data[i] > 0);
  const tau = v.data[support[0]] - p.data[support[0]];
  for (let i = 0; i < p.data.length; i++) {
    expect(p.data[i]).toBeGreaterThanOrEqual(0);
    if (p.data[i] > 0) expect(Math.abs(v.data[i] - p.data[i] - tau)).toBeLessThan(1e-12);
    else expect(v.data[i]).toBeLessThanOrEqual(tau + 1e-12);
  }
}

function l1BallRef([v, r]: Tensor[]): number[] {
  const radius = r.data[0];
  const norm = v.data.reduce((s, x) => s + Math.abs(x), 0);
  if (norm <= radius) return Array.from(v.data);
  const tau = bisectThreshold(v.data.map(Math.abs), radius);
  return Array.from(v.data, (x) => Math.sign(x) * Math.max(Math.abs(x) - tau, 0));
}

/** Moreau: p in the cone, v - p in the polar cone, <p, v - p> = 0; and the projection is idempotent. */
function socCheck([v]: Tensor[], p: Tensor): void {
  const norm = (t: Float64Array) => Math.hypot(...t.subarray(1));
  const rest = v.data.map((x, i) => x - p.data[i]);
  expect(norm(p.data)).toBeLessThanOrEqual(p.data[0] + 1e-12);
  expect(norm(rest)).toBeLessThanOrEqual(-rest[0] + 1e-12);
  expect(Math.abs(inner(p.data, rest))).toBeLessThan(1e-12);
  expectClose(run('proj_soc', [p]).data, p.data, 1e-12, 'proj_soc idempotent');
}

/** Central-difference gradient of a scalar primitive. */
function gradientRef(name: string) {
  return ([a]: Tensor[]) =>
    Array.from(a.data.keys(), (i) => {
      const e = { shape: a.shape, data: new Float64Array(a.data.length) };
      e.data[i] = 1;
      return centralDifference(name, [a], [e])[0];
    });
}

/** exp(a_i - c) / sum_j exp(a_j - c) for a fixed shift c (the naive formula when c = 0). */
function softmaxRef(a: ArrayLike<number>, c: number): number[] {
  const e = Array.from(a, (x) => Math.exp(x - c));
  const total = e.reduce((t, x) => t + x, 0);
  return e.map((x) => x / total);
}

const soc = (t: (r: Rng) => number): ArgSpec => ({ shape: [4], sample: (r, i) => (i === 0 ? t(r) : uniform(r, -2, 2)) });
const delta = 1e-5;

/** Rows of a matrix tensor [n, m] as arrays (independent of the runtime's row views). */
function rowsOfTensor(a: Tensor): number[][] {
  const [n, m] = a.shape as number[];
  return Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => a.data[i * m + j]));
}
/** Reference of a row-wise reduction: one number per row. */
const rowsRef = (f: (row: number[]) => number) => ([a]: Tensor[]) => rowsOfTensor(a).map(f);
/** Reference of a row-wise map: one row per row, flattened. */
const rowwiseRef = (f: (row: number[]) => number[]) => ([a]: Tensor[]) => rowsOfTensor(a).flatMap(f);
/** e_k for the first entry k equal to `value`. */
function indicatorOf(row: ArrayLike<number>, value: number): number[] {
  const k = Array.from(row).indexOf(value);
  return Array.from(row, (_, j) => (j === k ? 1 : 0));
}

export const SPECS: Record<string, Spec> = {
  // Indexing (src/primitives/indexing.ts): 1-based positions as scalar arguments, hi = -1 for
  // a whole axis. Positions are not differentiable and the slices' shapes need static
  // attributes, so these are values only; their derivatives are checked against finite
  // differences through compiled models in test/language/indexing.test.ts.
  index: {
    cases: [
      { args: [real(4), at(3), at(3)], expected: ([x]) => [x.data[2]], valuesOnly: true },
      { args: [real(2, 3), at(2), at(2), at(3), at(3)], expected: ([x]) => [x.data[1 * 3 + 2]], valuesOnly: true },
    ],
  },
  slice: {
    cases: [
      { args: [real(5), at(2), at(4)], attrs: { len0: 3 }, expected: ([x]) => [x.data[1], x.data[2], x.data[3]], valuesOnly: true },
      { args: [real(3, 3), at(2), at(3), at(1), at(-1)], attrs: { len0: 2, len1: 3 }, expected: ([x]) => Array.from(x.data.slice(3, 9)), valuesOnly: true },
    ],
  },
  slice_row: { cases: [{ args: [real(2, 3), at(2), at(2), at(2), at(3)], attrs: { len1: 2 }, expected: ([x]) => [x.data[4], x.data[5]], valuesOnly: true }] },
  slice_col: { cases: [{ args: [real(3, 2), at(1), at(3), at(2), at(2)], expected: ([x]) => [x.data[1], x.data[3], x.data[5]], valuesOnly: true }] },
  scatter: { cases: [{ args: [real(2), real(4), at(2), at(3)], expected: ([v]) => [0, v.data[0], v.data[1], 0], valuesOnly: true }] },
  literal_vector: { cases: [{ args: [real(), real(), real()], expected: ([a, b, c]) => [a.data[0], b.data[0], c.data[0]] }] },
  stack_rows: { cases: [{ args: [real(3), real(3)], expected: ([a, b]) => [...a.data, ...b.data] }] },
  // [a; b] end to end (vectors, then matrices one above the other); [A, B] side by side: row i of the result is row i of A then row i of B.
  concat_rows: { cases: [
    { args: [real(2), real(3)], expected: ([a, b]) => [...a.data, ...b.data] },
    { args: [real(2), real(1), real(2)], expected: ([a, b, c]) => [...a.data, ...b.data, ...c.data] },
    { args: [real(1, 3), real(2, 3)], expected: ([a, b]) => [...a.data, ...b.data] },
  ] },
  concat_cols: { cases: [
    { args: [real(2, 1), real(2, 3)], expected: ([a, b]) => [a.data[0], b.data[0], b.data[1], b.data[2], a.data[1], b.data[3], b.data[4], b.data[5]] },
  ] },
  fill: { cases: [{ args: [real(), at(2), at(3)], attrs: { len0: 2, len1: 3 }, expected: ([c]) => new Array(6).fill(c.data[0]), valuesOnly: true }] },
  eye: { cases: [{ args: [at(2)], attrs: { len0: 2 }, expected: () => [1, 0, 0, 1], valuesOnly: true }] },
  // Arithmetic.
  add: elementwise((a, b) => a + b, [real(3), real(3)], [real(), real(2, 3)], [real(1), real()]),
  sub: elementwise((a, b) => a - b, [real(2, 3), real()], [real(3), real(3)]),
  neg: elementwise((a) => 0 - a, [real(2, 3)], [real()]),
  mul: elementwise((a, b) => a * b, [real(), real(3)], [real(2, 2), real(2, 2)], [real(1, 1), real(3)]),
  matmul: {
    cases: [[real(2, 3), real(3, 4)], [real(2, 3), real(3)], [real(3), real(1, 4)], [real(1, 3), real(3)], [real(3, 1), real(1, 2)], [real(1, 3), real(3, 1)]]
      .map((args) => ({ args, expected: matmulRef })),
  },
  div: elementwise((a, b) => a / b, [real(3), awayFromZero()], [real(), awayFromZero()]),
  div_elementwise: elementwise((a, b) => a / b, [real(3), awayFromZero(3)], [real(), awayFromZero(2, 2)]),
  pow: {
    cases: [
      { args: [within(0.5, 2, 3), within(-2, 3)], expected: pointwiseRef((a, k) => Math.exp(k * Math.log(a))) },
      { args: [within(0.5, 2), within(-2, 3)], expected: pointwiseRef((a, k) => Math.exp(k * Math.log(a))) },
      // A negative base with an integer exponent; a non-integer one has no real value.
      { args: [{ shape: [3], sample: (_r, i) => -1 - i }, { shape: [], sample: () => 3 }], expected: () => [-1, -8, -27], valuesOnly: true },
      { args: [{ shape: [2], sample: () => -2 }, { shape: [], sample: () => 0.5 }], expected: () => [NaN, NaN], valuesOnly: true },
    ],
  },
  transpose: { cases: [[real(2, 3)], [real(3)], [real()]].map((args) => ({ args, expected: transposeRef })) },

  // Logic.
  lt: comparison((a, b) => a < b),
  le: comparison((a, b) => a <= b),
  gt: comparison((a, b) => a > b),
  ge: comparison((a, b) => a >= b),
  eq: comparison((a, b) => a === b),
  ne: comparison((a, b) => a !== b),
  and: elementwise((p, q) => truth(p === 1 && q === 1), [cond(4), cond(4)], [cond(4), cond()]),
  or: elementwise((p, q) => truth(p === 1 || q === 1), [cond(4), cond(4)], [cond(), cond(2, 2)]),
  not: elementwise((p) => 1 - p, [cond(4)]),
  select: elementwise((c, a, b) => (c === 1 ? a : b), [cond(3), real(3), real()], [cond(), real(2, 2), real(2, 2)], [cond(2, 2), real(), real()]),

  // Elementwise functions.
  abs: { ...elementwise((a) => (a < 0 ? -a : a), [real(4)], [real()]), diagonalTies: [{ args: [vec(0, 2, -3, 0)], tied: [0, 3], used: 0 }] },
  relu: { ...elementwise((a) => (a > 0 ? a : 0), [real(2, 3)], [real()]), diagonalTies: [{ args: [vec(0, 1.5, -0.5, 0)], tied: [0, 3], used: 0 }] },
  pos: { ...elementwise((a) => (a > 0 ? a : 0), [real(4)]), diagonalTies: [{ args: [vec(0, 1.5, -0.5, 0)], tied: [0, 3], used: 0 }] },
  max: {
    ...elementwise((a, b) => (a > b ? a : b), [real(3), real(3)], [real(3), real()]),
    diagonalTies: [{ args: [vec(1, 2, -1), vec(1, 0.5, -1)], tied: [0, 2], used: 1 }, { args: [vec(0.5, 1, -1), num(0.5)], tied: [0], used: 1 }],
  },
  min: {
    ...elementwise((a, b) => (a < b ? a : b), [real(3), real(3)], [real(), real(2, 2)]),
    diagonalTies: [{ args: [vec(1, 2, -1), vec(1, 0.5, -1)], tied: [0, 2], used: 1 }],
  },
  clip: {
    ...elementwise((a, lo, hi) => (lo > hi ? hi : a < lo ? lo : a > hi ? hi : a),
      [real(4), within(-1.5, -0.5), within(0.5, 1.5)],
      [real(2, 2), within(-1.5, -0.5, 2, 2), within(0.5, 1.5, 2, 2)],
      // An empty box (lo > hi): the value is hi.
      [real(4), within(1, 2, 4), within(-2, -1, 4)]),
    diagonalTies: [{ args: [vec(-1, 0.25, 2, 3), num(-1), num(2)], tied: [0, 2], used: 0 }],
  },
  soft_threshold: {
    ...elementwise((u, t) => (u > t ? u - t : u < -t ? u + t : 0), [real(4), within(0.2, 1)], [real(2, 2), within(0.2, 1, 2, 2)]),
    diagonalTies: [{ args: [vec(0.5, -0.5, 1.25, 0.125), num(0.5)], tied: [0, 1], used: 0 }],
  },
  huber: elementwise((a, d) => (Math.abs(a) <= d ? (a * a) / 2 : d * Math.abs(a) - (d * d) / 2), [real(4), within(0.5, 1.5)], [real(3), within(0.5, 1.5, 3)]),
  sqrt: elementwise((a) => a ** 0.5, [within(0.3, 3, 4)]),
  exp: elementwise((a) => Math.E ** a, [real(2, 2)]),
  log: elementwise((a) => Math.log2(a) / Math.LOG2E, [within(0.3, 3, 4)]),
  // log1p(a) = 2 atanh(a / (2 + a)): accurate for small a too, unlike log(1 + a).
  log1p: elementwise((a) => 2 * Math.atanh(a / (2 + a)), [within(-0.9, 3, 4)], [within(-1e-9, 1e-9, 3)]),
  softplus: elementwise((a) => Math.log(1 + Math.exp(a)), [real(4)]),
  sigmoid: elementwise((a) => 1 / (1 + Math.exp(-a)), [real(4)]),
  tanh: elementwise((a) => (Math.exp(a) - Math.exp(-a)) / (Math.exp(a) + Math.exp(-a)), [real(4)]),
  sin: elementwise((a) => Math.cos(Math.PI / 2 - a), [real(4)]),
  cos: elementwise((a) => Math.sin(Math.PI / 2 - a), [real(4)]),
  sign: elementwise((a) => (a > 0 ? 1 : a < 0 ? -1 : 0), [real(4)], atJumps({ shape: [3], sample: (_r, i) => i - 1 })),
  step: elementwise((a) => (a > 0 ? 1 : 0), [real(4)], atJumps({ shape: [3], sample: (_r, i) => i - 1 })),
  floor: elementwise((a) => a - (((a % 1) + 1) % 1), [within(-3, 3, 4)]),
  round: elementwise((a) => Math.sign(a) * Math.floor(Math.abs(a) + 0.5),
    [within(-3, 3, 4)], atJumps({ shape: [4], sample: (_r, i) => [2.5, -2.5, 0.5, -1.5][i] })),

  // Reductions and norms.
  sum: { cases: [[real(2, 3)], [real()]].map((args) => ({ args, expected: ([a]: Tensor[]) => [Array.from(a.data).reduce((s, x) => s + x, 0)] })) },
  mean: { cases: [[real(4)], [real(2, 3)]].map((args) => ({ args, expected: ([a]: Tensor[]) => [Array.from(a.data).reduce((s, x) => s + x, 0) / a.data.length] })) },
  dot: { cases: [[real(4), real(4)], [real(2, 3), real(2, 3)]].map((args) => ({ args, expected: ([a, b]: Tensor[]) => [inner(a.data, b.data)] })) },
  sumsq: { cases: [{ args: [real(2, 3)], expected: ([a]) => [inner(a.data, a.data)] }] },
  norm1: {
    cases: [{ args: [real(2, 3)], expected: ([a]) => [Array.from(a.data).reduce((s, x) => s + Math.abs(x), 0)] }],
    diagonalTies: [{ args: [vec(0, 2, -3, 0)], tied: [0, 3], used: 0 }],
  },
  norm2: {
    cases: [{ args: [real(2, 3)], expected: ([a]) => [Math.hypot(...a.data)] }, { args: [real(4)], expected: ([a]) => [Math.hypot(...a.data)] }],
    faceTies: [{ args: [tensor([2, 2], [0, 0, 0, 0])], tied: [0], inRange: (dirs, D) => Math.abs(D[0]) <= Math.hypot(...dirs[0]!.data) + 1e-6 }],
  },
  norminf: {
    cases: [{ args: [real(2, 3)], expected: ([a]) => [Math.max(...Array.from(a.data, Math.abs))] }],
    faceTies: [
      { args: [vec(3, -3, 1)], tied: [0], nearby: [[vec(3 + delta, -3, 1)], [vec(3, -3 - delta, 1)]], usedFace: 0 },
      { args: [vec(0, 0, 0)], tied: [0], nearby: [0, 1, 2].flatMap((k) => [1, -1].map((s) => [vec(...[0, 0, 0].map((_, i) => (i === k ? s * delta : 0)))])) },
    ],
  },
  // Naive formulas where exp cannot overflow, and a fixed shift c (not the largest entry)
  // where it would: log sum exp(a) = c + log sum exp(a - c).
  logsumexp: {
    cases: [
      { args: [real(5)], expected: ([a]) => [Math.log(Array.from(a.data).reduce((t, x) => t + Math.exp(x), 0))] },
      { args: [real(2, 3)], expected: ([a]) => [Math.log(Array.from(a.data).reduce((t, x) => t + Math.exp(x), 0))] },
      { args: [within(800, 804, 4)], expected: ([a]) => [802 + Math.log(Array.from(a.data).reduce((t, x) => t + Math.exp(x - 802), 0))] },
    ],
  },
  softmax: {
    cases: [
      { args: [real(5)], expected: ([a]) => softmaxRef(a.data, 0) },
      { args: [within(-804, -800, 4)], expected: ([a]) => softmaxRef(a.data, -802) },
    ],
  },

  // The kernel is a power iteration with relative accuracy 1e-10 on sigma^2.
  opnorm: {
    cases: [
      { args: [real(2, 2)], expected: opnormRef, tol: 1e-9 },
      { args: [real(3, 2)], expected: opnormRef, tol: 1e-9 },
      { args: [real(2, 4)], expected: opnormRef, tol: 1e-9 },
      { args: [real(5)], expected: opnormRef, tol: 1e-9 },
      { args: [real(6, 5)], expected: opnormByPowerIteration, tol: 1e-9 },
      // diag(1, -3, 2): 3; a rotation scaled by 2 (all singular values equal): 2.
      { args: [{ shape: [3, 3], sample: (_r, i) => [1, 0, 0, 0, -3, 0, 0, 0, 2][i] }], expected: () => [3], tol: 1e-9 },
      { args: [{ shape: [2, 2], sample: (_r, i) => 2 * [0.6, -0.8, 0.8, 0.6][i] }], expected: () => [2], tol: 1e-9 },
      // Rank one u v^T: |u| |v|.
      { args: [{ shape: [3, 2], sample: (_r, i) => [1, 2, 3][Math.floor(i / 2)] * [4, -1][i % 2] }], expected: () => [Math.hypot(1, 2, 3) * Math.hypot(4, -1)], tol: 1e-9 },
    ],
  },

  // Projections.
  proj_nonneg: { ...elementwise((v) => (v > 0 ? v : 0), [real(4)]), diagonalTies: [{ args: [vec(0, 1.5, -0.5, 0)], tied: [0, 3], used: 0 }] },
  proj_box: {
    ...elementwise((v, lo, hi) => (v < lo ? lo : v > hi ? hi : v), [real(4), within(-1.5, -0.5, 4), within(0.5, 1.5, 4)], [real(3), within(-1.5, -0.5), within(0.5, 1.5)]),
    diagonalTies: [{ args: [vec(-1, 0.25, 2, 3), vec(-1, -1, -1, -1), vec(2, 2, 2, 2)], tied: [0, 2], used: 0 }],
  },
  proj_simplex: {
    cases: [{ args: [real(5)], expected: simplexRef, check: simplexKkt }, { args: [within(-0.1, 0.1, 3)], expected: simplexRef, check: simplexKkt }],
    faceTies: [{ args: [vec(0.75, 0.75, 0.25, -1)], tied: [2], nearby: [[vec(0.75, 0.75, 0.25 - delta, -1)], [vec(0.75, 0.75, 0.25 + delta, -1)]], usedFace: 0 }],
  },
  proj_l1ball: {
    cases: [
      { args: [real(5), within(0.5, 1.5)], expected: l1BallRef, check: ([, r], p) => expect(p.data.reduce((s, x) => s + Math.abs(x), 0)).toBeLessThanOrEqual(r.data[0] + 1e-12) },
      { args: [real(4), within(20, 30)], expected: ([v]) => v.data },
    ],
    faceTies: [
      // On the boundary |v|_1 = r: the identity (inside) and the signed-simplex face.
      { args: [vec(0.5, -0.25, 0.125, 0.125), num(1)], tied: [0, 1, 2, 3], nearby: [[vec(0.5, -0.25, 0.125, 0.125), num(1 + delta)], [vec(0.5, -0.25, 0.125, 0.125), num(1 - delta)]], usedFace: 0 },
      // Outside, |v_2| = tau = 0.5.
      { args: [vec(2, -1, 0.5, 0.25), num(2)], tied: [2], nearby: [[vec(2, -1, 0.5 - delta, 0.25), num(2)], [vec(2, -1, 0.5 + delta, 0.25), num(2)]], usedFace: 0 },
    ],
  },
  proj_soc: {
    cases: [
      { args: [real(4)], check: socCheck },
      { args: [soc((r) => uniform(r, 8, 10))], check: socCheck, expected: ([v]) => v.data },
      { args: [soc((r) => uniform(r, -10, -8))], check: socCheck, expected: ([v]) => v.data.map(() => 0) },
    ],
    faceTies: [
      { args: [vec(5, 3, 4)], tied: [0, 1, 2], nearby: [[vec(5 + delta, 3, 4)], [vec(5 - delta, 3, 4)]], usedFace: 1 },
      { args: [vec(-5, 3, 4)], tied: [0, 1, 2], nearby: [[vec(-5 - delta, 3, 4)], [vec(-5 + delta, 3, 4)]], usedFace: 0 },
    ],
  },

  // Internal: shape plumbing.
  broadcast: { cases: [{ args: [real(), real(2, 3)], expected: ([x]) => new Array(6).fill(x.data[0]) }] },
  reshape: { cases: [[real(6), real(2, 3)], [real(2, 3), real(3, 2)], [real(), real(1, 1)]].map((args) => ({ args, expected: ([x]: Tensor[]) => x.data })) },

  // Internal: diagonal kink factors (the used element at a tie is tested in kinks.test.ts).
  relu_d: elementwise((a) => (a > 0 ? 1 : 0), [real(4)], atJumps({ shape: [3], sample: (_r, i) => i - 1 })),
  abs_d: elementwise((a) => (a > 0 ? 1 : a < 0 ? -1 : 0), [real(4)], atJumps({ shape: [3], sample: (_r, i) => i - 1 })),
  max_d: elementwise((a, b) => (a >= b ? 1 : 0), [real(4), real(4)], atJumps({ shape: [3], sample: (_r, i) => i }, { shape: [], sample: () => 1 })),
  min_d: elementwise((a, b) => (a <= b ? 1 : 0), [real(4), real(4)], atJumps({ shape: [3], sample: (_r, i) => i }, { shape: [], sample: () => 1 })),
  clip_d: elementwise((a, lo, hi) => (a > lo && a < hi ? 1 : 0), [real(4), within(-1.5, -0.5), within(0.5, 1.5)], atJumps({ shape: [4], sample: (_r, i) => i - 1 }, { shape: [], sample: () => -1 }, { shape: [], sample: () => 2 })),
  soft_threshold_d: elementwise((u, t) => (Math.abs(u) > t ? 1 : 0), [real(4), within(0.2, 1)], atJumps({ shape: [3], sample: (_r, i) => i - 1 }, { shape: [], sample: () => 1 })),
  // The switch of `if` in canonical form s > 0; the branch values a, b do not change its value.
  select_d: elementwise((s) => (s > 0 ? 1 : 0), [real(4), real(4), real(4)], [real(2, 2), real(), real(2, 2)], atJumps({ shape: [3], sample: (_r, i) => i - 1 }, real(3), real())),

  // Internal: dedicated Jacobian primitives, against central differences of their primitive.
  proj_simplex_jvp: { cases: [{ args: [real(5), real(5)], expected: ([v, t]) => centralDifference('proj_simplex', [v], [t]), tol: 1e-8 }] },
  proj_l1ball_jvp: {
    cases: [
      { args: [real(5), within(0.5, 1.5), real(5)], expected: ([v, r, t]) => centralDifference('proj_l1ball', [v, r], [t, null]), tol: 1e-8 },
      { args: [real(4), within(20, 30), real(4)], expected: ([, , t]) => t.data },
    ],
  },
  proj_l1ball_dr: {
    cases: [
      { args: [real(5), within(0.5, 1.5)], expected: ([v, r]) => centralDifference('proj_l1ball', [v, r], [null, num(1)]), tol: 1e-8 },
      { args: [real(4), within(20, 30)], expected: () => [0, 0, 0, 0] },
    ],
  },
  proj_soc_jvp: {
    cases: [
      { args: [real(4), real(4)], expected: ([v, t]) => centralDifference('proj_soc', [v], [t]), tol: 1e-8 },
      { args: [soc((r) => uniform(r, 8, 10)), real(4)], expected: ([, t]) => t.data },
      { args: [soc((r) => uniform(r, -10, -8)), real(4)], expected: () => [0, 0, 0, 0] },
    ],
  },
  // logsumexp's gradient (softmax over all entries, any shape), and the softmax Jacobian product.
  logsumexp_grad: { cases: [{ args: [real(2, 3)], expected: ([a]) => softmaxRef(a.data, 0) }, { args: [real(4)], expected: gradientRef('logsumexp'), tol: 1e-8 }] },
  softmax_jvp: {
    cases: [
      { args: [real(5), real(5)], expected: ([a, t]) => centralDifference('softmax', [a], [t]), tol: 1e-8 },
      { args: [real(2, 3), real(2, 3)], expected: ([a, t]) => centralDifference('logsumexp_grad', [a], [t]), tol: 1e-8 },
    ],
  },
  norm2_grad: { cases: [{ args: [real(2, 3)], expected: gradientRef('norm2'), tol: 1e-8 }, { args: [{ shape: [3], sample: () => 0 }], expected: () => [0, 0, 0], valuesOnly: true }] },
  norminf_grad: { cases: [{ args: [real(2, 3)], expected: gradientRef('norminf'), tol: 1e-8 }, { args: [{ shape: [3], sample: (_r, i) => [2, -2, 1][i] }], expected: () => [1, 0, 0], valuesOnly: true }] },
  // Reductions along an axis (row-wise primitives; `f(X, 1)` is f_rows(X')), maxof / minof, their
  // selected gradients and spread_rows: references by independent loops over rows (rowsRef).
  sum_rows: { cases: [[real(3, 4)], [real(1, 5)]].map((args) => ({ args, expected: rowsRef((r) => r.reduce((s, x) => s + x, 0)) })) },
  mean_rows: { cases: [[real(3, 4)], [real(2, 1)]].map((args) => ({ args, expected: rowsRef((r) => r.reduce((s, x) => s + x, 0) / r.length) })) },
  sumsq_rows: { cases: [{ args: [real(3, 4)], expected: rowsRef((r) => r.reduce((s, x) => s + x * x, 0)) }] },
  norm1_rows: {
    cases: [{ args: [real(3, 4)], expected: rowsRef((r) => r.reduce((s, x) => s + Math.abs(x), 0)) }],
    // One row, so that the kink variables (entries) all feed output entry 0.
    diagonalTies: [{ args: [tensor([1, 4], [0, 2, -3, 0])], tied: [0, 3], used: 0 }],
  },
  norm2_rows: {
    cases: [{ args: [real(3, 4)], expected: rowsRef((r) => Math.hypot(...r)) }],
    faceTies: [{ args: [tensor([1, 3], [0, 0, 0])], tied: [0], inRange: (dirs, D) => Math.abs(D[0]) <= Math.hypot(...dirs[0]!.data) + 1e-6 }],
  },
  norminf_rows: {
    cases: [{ args: [real(3, 4)], expected: rowsRef((r) => Math.max(...r.map(Math.abs))) }],
    faceTies: [{ args: [tensor([2, 3], [3, -3, 1, 1, 2, 0.5])], tied: [0], nearby: [[tensor([2, 3], [3 + delta, -3, 1, 1, 2, 0.5])], [tensor([2, 3], [3, -3 - delta, 1, 1, 2, 0.5])]], usedFace: 0 }],
  },
  maxof: {
    cases: [{ args: [real(5)], expected: ([a]) => [Math.max(...a.data)] }, { args: [real(2, 3)], expected: ([a]) => [Math.max(...a.data)] }],
    faceTies: [{ args: [vec(3, 3, 1)], tied: [0], nearby: [[vec(3 + delta, 3, 1)], [vec(3, 3 + delta, 1)]], usedFace: 0 }],
  },
  minof: {
    cases: [{ args: [real(5)], expected: ([a]) => [Math.min(...a.data)] }, { args: [real(2, 3)], expected: ([a]) => [Math.min(...a.data)] }],
    faceTies: [{ args: [vec(1, -2, -2)], tied: [0], nearby: [[vec(1, -2 - delta, -2)], [vec(1, -2, -2 - delta)]], usedFace: 0 }],
  },
  maxof_rows: {
    cases: [{ args: [real(3, 4)], expected: rowsRef((r) => Math.max(...r)) }],
    faceTies: [{ args: [tensor([2, 3], [3, 3, 1, 0, 2, 1])], tied: [0], nearby: [[tensor([2, 3], [3 + delta, 3, 1, 0, 2, 1])], [tensor([2, 3], [3, 3 + delta, 1, 0, 2, 1])]], usedFace: 0 }],
  },
  minof_rows: {
    cases: [{ args: [real(3, 4)], expected: rowsRef((r) => Math.min(...r)) }],
    faceTies: [{ args: [tensor([2, 3], [0, 2, 1, -1, 0.5, -1])], tied: [1], nearby: [[tensor([2, 3], [0, 2, 1, -1 - delta, 0.5, -1])], [tensor([2, 3], [0, 2, 1, -1, 0.5, -1 - delta])]], usedFace: 0 }],
  },
  norm2_rows_grad: {
    cases: [
      { args: [real(3, 4)], expected: rowwiseRef((r) => r.map((x) => x / Math.hypot(...r))) },
      { args: [{ shape: [2, 2], sample: (_r, i) => [0, 0, 3, -4][i] }], expected: () => [0, 0, 0.6, -0.8], valuesOnly: true },
    ],
  },
  norminf_rows_grad: {
    cases: [
      { args: [real(3, 4)], expected: rowwiseRef((r) => { const k = r.map(Math.abs).indexOf(Math.max(...r.map(Math.abs))); return r.map((x, j) => (j === k ? Math.sign(x) : 0)); }) },
      { args: [{ shape: [2, 3], sample: (_r, i) => [2, -2, 1, 0, -1, 1][i] }], expected: () => [1, 0, 0, 0, -1, 0], valuesOnly: true },
    ],
  },
  maxof_grad: { cases: [{ args: [real(2, 3)], expected: ([a]) => indicatorOf(a.data, Math.max(...a.data)) }, { args: [{ shape: [3], sample: (_r, i) => [1, 2, 2][i] }], expected: () => [0, 1, 0], valuesOnly: true }] },
  minof_grad: { cases: [{ args: [real(5)], expected: ([a]) => indicatorOf(a.data, Math.min(...a.data)) }, { args: [{ shape: [3], sample: (_r, i) => [-1, 2, -1][i] }], expected: () => [1, 0, 0], valuesOnly: true }] },
  maxof_rows_grad: { cases: [{ args: [real(3, 4)], expected: rowwiseRef((r) => indicatorOf(r, Math.max(...r))) }] },
  minof_rows_grad: { cases: [{ args: [real(3, 4)], expected: rowwiseRef((r) => indicatorOf(r, Math.min(...r))) }] },
  spread_rows: { cases: [{ args: [real(3), real(3, 2)], expected: ([c]) => Array.from(c.data).flatMap((x) => [x, x]) }] },
  // The l2 ball, the l-infinity ball and the PSD cone (and their internal primitives).
  ...PROJECTION_SPECS_2,
  ...GROUP_SPECS,
  ...CONE_SPECS,
};

/** Draws concrete arguments for a case. */
export function sample(specs: readonly ArgSpec[], rng: Rng): Tensor[] {
  return specs.map((s) => {
    const size = s.shape.reduce((n, d) => n * d, 1);
    const draw = s.sample ?? (s.kind === 'bool' ? (r: Rng) => (r() < 0.5 ? 0 : 1) : (r: Rng) => uniform(r, -2, 2));
    return tensor([...s.shape], Array.from({ length: size }, (_, i) => draw(rng, i)));
  });
}

export const kinds = (c: Case): Kind[] => c.args.map((a) => a.kind ?? 'real');

/** A seed per primitive and case, so every test draws the same points on every run. */
export function seedOf(name: string, index: number): number {
  let h = 2166136261;
  for (const ch of `${name}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}
