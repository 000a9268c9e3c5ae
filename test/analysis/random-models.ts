/**
 * Random models and a brute-force soundness oracle for the invertibility certificate (issue 13,
 * Build item 4; MATH.md 4-5).
 *
 * The generator writes seeded .impl models from the registry's piecewise and smooth primitives:
 * scalar and vector unknowns, `fixpoint` and `solve` forms, one or two unknowns. Every unknown u
 * has an offset param `x_u` of u's shape that enters its equation with coefficient -1
 * (`solve G(y) - x_u = 0`, or `fixpoint u = T(y) + x_u`, so F = G - x_u either way). That makes
 * solutions at kinks easy to build: pick y* with entries at the kinks of the atoms (0 for abs,
 * the bounds of clip, +-t for soft_threshold, the switch of an `if`), evaluate F(y*) with the
 * offsets at 0, and set the offsets to that value: F(y*) = 0 exactly. Random inputs alone
 * almost never land on a tie, and ties are where certificates go wrong.
 *
 * The oracle ({@link bruteForce}) does not trust the certificate: at a solution it enumerates
 * the conservative Jacobian of F in y that the generated kernels define (every tied kink factor
 * at both ends of its range, and random points of the hull, each B assembled column by column
 * from jvpY), and independently samples the Clarke Jacobian by central finite differences of
 * the residual at random points within 1e-6 of the solution (this sees switches that are not
 * kink sites, such as an `if` on the unknowns). The set is convex and B depends continuously on
 * it, so two sampled elements whose determinants have opposite signs prove a singular element
 * between them; an element with a tiny smallest singular value is singular outright.
 */
import { mulberry32 } from '../../demos/data.ts';
import { cone } from '../../src/ir/ad.ts';
import { analyzeFile } from '../../src/pipeline.ts';
import { compileModel } from '../../src/compile-model.ts';
import type { ModelInstance } from '../../src/runtime/model.ts';
import type { ModelClass } from '../../codegen/build.ts';

export type Rng = () => number;

/** The families of generated models, so that the report can say which reach which verdict. */
export const FAMILIES = ['scalar-solve', 'scalar-fixpoint', 'vector-solve', 'vector-fixpoint', 'layer-fixpoint', 'box-qp', 'multi-solve', 'multi-fixpoint'] as const;
export type Family = (typeof FAMILIES)[number];

export interface UnknownSpec {
  name: string;
  /** Its dim symbol, or null for a scalar. */
  dim: string | null;
  /** Its offset param (same shape), or null when the family has no additive offset. */
  offset: string | null;
}

export interface RandomModel {
  family: Family;
  name: string;
  text: string;
  unknowns: UnknownSpec[];
  /** The size bound to each dim symbol. */
  dims: Record<string, number>;
  /** Random values for every data and param, with shapes from `dims`. */
  inputs: (rng: Rng) => Record<string, unknown>;
  /** Values at which some atom applied to an unknown directly has a kink (targets for y*). */
  kinkPoints: number[];
  /**
   * For families without an additive offset: change `inputs` so that a y* with entries at
   * kinks solves the model exactly, and return y*.
   */
  construct?: (rng: Rng, inputs: Record<string, unknown>) => Float64Array;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
/** A short decimal in [lo, hi], written so that the parser reads it back exactly as printed. */
const num = (rng: Rng, lo: number, hi: number): number => Math.round((lo + (hi - lo) * rng()) * 100) / 100;
/** A number as an .impl literal: negative ones parenthesized so they can stand anywhere. */
const lit = (v: number): string => (v < 0 ? `(${v})` : `${v}`);

/** What an atom contributes: its text and, when it is applied to the bare unknown, where its kinks are. */
interface Atom {
  text: string;
  kinks: number[];
  smooth: boolean;
}

/**
 * One elementwise atom applied to `u` (a scalar or vector expression). `bare`: u is the unknown
 * itself, so its kink points are targets for y*. Every `if` is continuous across its switch.
 */
function atom(rng: Rng, u: string, bare: boolean): Atom {
  const k = (vs: number[]) => (bare ? vs : []);
  const c = pick(rng, [0, 0, num(rng, -1, 1)]);
  const shifted = c === 0 ? u : `(${u} - ${lit(c)})`;
  switch (int(rng, 0, 13)) {
    case 0:
      return { text: `abs(${shifted})`, kinks: k([c]), smooth: false };
    case 1:
      return { text: `relu(${shifted})`, kinks: k([c]), smooth: false };
    case 2: {
      const s = num(rng, -1, 2);
      return { text: `max(${u}, ${lit(s)} * ${u})`, kinks: k([0]), smooth: false };
    }
    case 3: {
      const s = num(rng, -1, 2);
      return { text: `min(${u}, ${lit(s)} * ${u})`, kinks: k([0]), smooth: false };
    }
    case 4: {
      const lo = num(rng, -1.5, -0.1);
      const hi = num(rng, 0.1, 1.5);
      return { text: `clip(${u}, ${lit(lo)}, ${lit(hi)})`, kinks: k([lo, hi]), smooth: false };
    }
    case 5: {
      const t = num(rng, 0.1, 1);
      return { text: `soft_threshold(${u}, ${t})`, kinks: k([t, -t]), smooth: false };
    }
    case 6: {
      const lo = num(rng, -1.5, -0.1);
      const hi = num(rng, 0.1, 1.5);
      return { text: `proj_box(${u}, ${lit(lo)}, ${lit(hi)})`, kinks: k([lo, hi]), smooth: false };
    }
    case 7: {
      const a = num(rng, -1, 2);
      const b = num(rng, -1, 2);
      return { text: `(if ${u} > ${lit(c)} then ${lit(a)} * ${shifted} else ${lit(b)} * ${shifted})`, kinks: k([c]), smooth: false };
    }
    case 8:
      return { text: `(if ${u} > 0 then ${u} else -${u})`, kinks: k([0]), smooth: false };
    case 9:
      return { text: `tanh(${u})`, kinks: [], smooth: true };
    case 10:
      return { text: `sin(${u})`, kinks: [], smooth: true };
    case 11:
      return { text: `exp(${lit(num(rng, -1, -0.1))} * ${u} .* ${u})`, kinks: [], smooth: true };
    case 12:
      return { text: `${u} .* ${u} .* ${u}`, kinks: k([0]), smooth: true };
    default:
      return { text: `sigmoid(${u})`, kinks: [], smooth: true };
  }
}

/** A sum of 1 to 3 atoms with random coefficients; `lead` is the coefficient of the bare unknown. */
function body(rng: Rng, u: string, args: string[], lead: number, kinks: number[]): string {
  const terms: string[] = lead === 0 ? [] : [`${lit(lead)} * ${u}`];
  const count = int(rng, 1, 3);
  for (let i = 0; i < count; i++) {
    const arg = pick(rng, args);
    const a = atom(rng, arg, arg === u);
    kinks.push(...a.kinks);
    terms.push(`${lit(num(rng, -1.2, 1.2) || 0.5)} * ${a.text}`);
  }
  return terms.join(' + ');
}

type Inputs = Record<string, unknown>;
type Decl = { name: string; kind: 'data' | 'param'; shape: string[] };

function randomValue(rng: Rng, shape: number[], scale: number): unknown {
  if (shape.length === 0) return num(rng, -scale, scale);
  if (shape.length === 1) return Array.from({ length: shape[0] }, () => num(rng, -scale, scale));
  return Array.from({ length: shape[0] }, () => Array.from({ length: shape[1] }, () => num(rng, -scale, scale)));
}

function inputsOf(decls: Decl[], dims: Record<string, number>, scales: Record<string, number> = {}): (rng: Rng) => Inputs {
  return (rng) => Object.fromEntries(decls.map((d) => [d.name, randomValue(rng, d.shape.map((s) => dims[s]), scales[d.name] ?? 1)]));
}

const typeOf = (shape: string[]): string => (shape.length === 0 ? 'real' : `real[${shape.join(', ')}]`);

function render(name: string, dims: string[], decls: Decl[], unknowns: UnknownSpec[], lines: string[]): string {
  const out = [`model ${name} {`];
  if (dims.length) out.push(`  dim ${dims.join(', ')}`);
  for (const d of decls) out.push(`  ${d.kind} ${d.name}: ${typeOf(d.shape)}`);
  for (const u of unknowns) out.push(`  unknown ${u.name}: ${u.dim ? `real[${u.dim}]` : 'real'}`);
  for (const l of lines) out.push(`  ${l}`);
  out.push('}');
  return out.join('\n') + '\n';
}

/** One random model of the given family (or a random family). */
export function randomModel(rng: Rng, index: number, family: Family = pick(rng, FAMILIES)): RandomModel {
  const name = `R${index}`;
  const kinks: number[] = [0];
  // The coefficient of the bare unknown: 1 usually (often certifiable), 0 or small sometimes
  // (pathologies: |y| - x, y^3 - x), negative rarely.
  const lead = () => pick(rng, [1, 1, 1, 2, 0.5, 0, -1]);
  switch (family) {
    case 'scalar-solve':
    case 'scalar-fixpoint': {
      const decls: Decl[] = [{ name: 'x', kind: 'param', shape: [] }];
      const u: UnknownSpec = { name: 'y', dim: null, offset: 'x' };
      const line =
        family === 'scalar-solve' ? `solve ${body(rng, 'y', ['y'], lead(), kinks)} - x = 0` : `fixpoint y = ${body(rng, 'y', ['y'], pick(rng, [0, 0, 0.5, -0.5]), kinks)} + x`;
      return { family, name, text: render(name, [], decls, [u], [line]), unknowns: [u], dims: {}, inputs: inputsOf(decls, {}), kinkPoints: kinks };
    }
    case 'vector-solve':
    case 'vector-fixpoint': {
      const dims = { n: int(rng, 1, 4) };
      const coupled = rng() < 0.6;
      const decls: Decl[] = [{ name: 'x', kind: 'param', shape: ['n'] }];
      if (coupled) decls.push({ name: 'W', kind: pick(rng, ['data', 'param']), shape: ['n', 'n'] });
      const args = coupled ? ['y', 'y', '(W * y)'] : ['y'];
      const u: UnknownSpec = { name: 'y', dim: 'n', offset: 'x' };
      const line =
        family === 'vector-solve' ? `solve ${body(rng, 'y', args, lead(), kinks)} - x = 0` : `fixpoint y = ${body(rng, 'y', args, pick(rng, [0, 0, 0.5]), kinks)} + x`;
      return { family, name, text: render(name, ['n'], decls, [u], [line]), unknowns: [u], dims, inputs: inputsOf(decls, dims, { W: pick(rng, [0.3, 0.6, 1.2]) }), kinkPoints: kinks };
    }
    case 'layer-fixpoint': {
      // A DEQ layer: y = sigma(W y + U u + b), sigma a 1-Lipschitz kink (or tanh).
      const dims = { n: int(rng, 1, 4), d: int(rng, 1, 3) };
      const decls: Decl[] = [
        { name: 'W', kind: 'param', shape: ['n', 'n'] },
        { name: 'U', kind: 'param', shape: ['n', 'd'] },
        { name: 'b', kind: 'param', shape: ['n'] },
        { name: 'u', kind: 'data', shape: ['d'] },
      ];
      const pre = 'W * y + U * u + b';
      // Each activation with its value in JavaScript and its kinks, for constructed solutions.
      const sigma = pick(rng, [
        { text: `relu(${pre})`, f: (p: number) => Math.max(p, 0), kinks: [0] },
        { text: `tanh(${pre})`, f: Math.tanh, kinks: [] },
        { text: `clip(${pre}, -1, 1)`, f: (p: number) => Math.min(1, Math.max(-1, p)), kinks: [-1, 1] },
        { text: `max(${pre}, 0.1 * (${pre}))`, f: (p: number) => Math.max(p, 0.1 * p), kinks: [0] },
        { text: `soft_threshold(${pre}, 0.2)`, f: (p: number) => Math.sign(p) * Math.max(Math.abs(p) - 0.2, 0), kinks: [-0.2, 0.2] },
        { text: `proj_box(${pre}, 0, 1)`, f: (p: number) => Math.min(1, Math.max(0, p)), kinks: [0, 1] },
      ]);
      const u: UnknownSpec = { name: 'y', dim: 'n', offset: null };
      const text = render(name, ['n', 'd'], decls, [u], [`fixpoint y = ${sigma.text}`]);
      // y* = sigma(p*) with entries of p* at kinks, and b = p* - W y* - U u.
      const construct = (r: Rng, inputs: Inputs): Float64Array => {
        const W = inputs.W as number[][];
        const U = inputs.U as number[][];
        const uu = inputs.u as number[];
        const p = Array.from({ length: dims.n }, () => (sigma.kinks.length && r() < 0.7 ? pick(r, sigma.kinks) : num(r, -1.5, 1.5)));
        const y = Float64Array.from(p, sigma.f);
        inputs.b = p.map((pi, i) => pi - W[i].reduce((a, w, j) => a + w * y[j], 0) - U[i].reduce((a, w, j) => a + w * uu[j], 0));
        return y;
      };
      return { family, name, text, unknowns: [u], dims, inputs: inputsOf(decls, dims, { W: pick(rng, [0.2, 0.5, 1]) }), kinkPoints: [], construct };
    }
    case 'box-qp': {
      // Projected gradient on a box QP: y = proj_box(y - g (Q y + q), lo, hi).
      const dims = { k: int(rng, 1, 4) };
      const decls: Decl[] = [
        { name: 'Q', kind: 'data', shape: ['k', 'k'] },
        { name: 'q', kind: 'param', shape: ['k'] },
      ];
      const u: UnknownSpec = { name: 'y', dim: 'k', offset: null };
      const g = pick(rng, ['0.1', '0.3', '1 / opnorm(Q)']);
      const text = render(name, ['k'], decls, [u], [`fixpoint y = proj_box(y - ${g} * (Q * y + q), -1, 1)`]);
      // y* in the box with entries on its faces, and q = -Q y*: the gradient vanishes, so y* is
      // fixed and every entry on a face is a tie.
      const construct = (r: Rng, inputs: Inputs): Float64Array => {
        const Q = inputs.Q as number[][];
        const y = Float64Array.from({ length: dims.k }, () => (r() < 0.6 ? pick(r, [-1, 1]) : num(r, -0.9, 0.9)));
        inputs.q = Q.map((row) => -row.reduce((a, v, j) => a + v * y[j], 0));
        return y;
      };
      return { family, name, text, unknowns: [u], dims, inputs: inputsOf(decls, dims), kinkPoints: [], construct };
    }
    case 'multi-solve':
    case 'multi-fixpoint': {
      // Two unknowns y (vector or scalar) and z (scalar or vector), coupled.
      const dims: Record<string, number> = {};
      const yVec = rng() < 0.6;
      const zVec = rng() < 0.4;
      if (yVec) dims.n = int(rng, 1, 3);
      if (zVec) dims.m = int(rng, 1, 3);
      const y: UnknownSpec = { name: 'y', dim: yVec ? 'n' : null, offset: 'x1' };
      const z: UnknownSpec = { name: 'z', dim: zVec ? 'm' : null, offset: 'x2' };
      const decls: Decl[] = [
        { name: 'x1', kind: 'param', shape: yVec ? ['n'] : [] },
        { name: 'x2', kind: 'param', shape: zVec ? ['m'] : [] },
      ];
      // z into y's equation, y into z's: a matrix when both are vectors, a sum or broadcast otherwise.
      let zInY: string;
      let yInZ: string;
      if (yVec && zVec) {
        decls.push({ name: 'C', kind: 'data', shape: ['n', 'm'] });
        zInY = '(C * z)';
        yInZ = "(C' * y)";
      } else if (yVec) {
        zInY = `${lit(num(rng, -1, 1))} * z`;
        yInZ = 'sum(y)';
      } else if (zVec) {
        zInY = 'sum(z)';
        yInZ = `${lit(num(rng, -1, 1))} * y`;
      } else {
        zInY = `${lit(num(rng, -1, 1))} * z`;
        yInZ = `${lit(num(rng, -1, 1))} * y`;
      }
      const yArgs = ['y', `(y + ${zInY})`];
      const zArgs = ['z', `(z + ${yInZ})`];
      const lines =
        family === 'multi-solve'
          ? [`solve {`, `  ${body(rng, 'y', yArgs, lead(), kinks)} - x1 = 0;`, `  ${body(rng, 'z', zArgs, lead(), kinks)} - x2 = 0`, `}`]
          : [`fixpoint y = ${body(rng, 'y', yArgs, pick(rng, [0, 0.5]), kinks)} + x1`, `fixpoint z = ${body(rng, 'z', zArgs, pick(rng, [0, 0.5]), kinks)} + x2`];
      const text = render(name, Object.keys(dims), decls, [y, z], lines);
      return { family, name, text, unknowns: [y, z], dims, inputs: inputsOf(decls, dims, { C: 0.5 }), kinkPoints: kinks };
    }
  }
}

/** Whether `implc check` accepts the model: no error diagnostic (warnings are fine). */
export function passesCheck(m: RandomModel): boolean {
  const r = analyzeFile(`${m.name}.impl`, m.text);
  return !r.diagnostics.some((d) => d.severity === 'error');
}

/** Seeded models that pass `implc check`; those that do not are discarded and counted. */
export function randomModels(seed: number, count: number): { models: RandomModel[]; discarded: RandomModel[] } {
  const rng = mulberry32(seed);
  const models: RandomModel[] = [];
  const discarded: RandomModel[] = [];
  for (let i = 0; models.length < count; i++) {
    const m = randomModel(rng, i);
    (passesCheck(m) ? models : discarded).push(m);
    if (discarded.length > count) throw new Error(`more than ${count} generated models fail implc check, the first:\n${discarded[0].text}`);
  }
  return { models, discarded };
}

// ------------------------------------------------------------------------- linear algebra

/** Column-major-agnostic small dense matrix as rows. */
export type Rows = number[][];

/**
 * Singular values of a small square matrix by one-sided Jacobi rotations (Hestenes): accurate
 * to rounding relative to the largest, which is what a relative singularity test needs.
 */
export function singularValues(B: Rows): number[] {
  const n = B.length;
  const U = B.map((r) => r.slice());
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let a = 0;
        let b = 0;
        let c = 0;
        for (let i = 0; i < n; i++) {
          a += U[i][p] * U[i][p];
          b += U[i][q] * U[i][q];
          c += U[i][p] * U[i][q];
        }
        if (c === 0 || Math.abs(c) <= 1e-15 * Math.sqrt(a * b)) continue;
        off = Math.max(off, Math.abs(c) / Math.sqrt(a * b));
        const zeta = (b - a) / (2 * c);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let i = 0; i < n; i++) {
          const up = U[i][p];
          const uq = U[i][q];
          U[i][p] = cs * up - sn * uq;
          U[i][q] = sn * up + cs * uq;
        }
      }
    }
    if (off < 1e-15) break;
  }
  const s: number[] = [];
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += U[i][j] * U[i][j];
    s.push(Math.sqrt(ss));
  }
  return s.sort((a, b) => b - a);
}

/** Sign of det B by Gaussian elimination with partial pivoting (0 when a pivot is exactly 0). */
export function detSign(B: Rows): number {
  const n = B.length;
  const A = B.map((r) => r.slice());
  let sign = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(A[i][k]) > Math.abs(A[p][k])) p = i;
    if (A[p][k] === 0) return 0;
    if (p !== k) {
      [A[p], A[k]] = [A[k], A[p]];
      sign = -sign;
    }
    if (A[k][k] < 0) sign = -sign;
    for (let i = k + 1; i < n; i++) {
      const f = A[i][k] / A[k][k];
      for (let j = k; j < n; j++) A[i][j] -= f * A[k][j];
    }
  }
  return sign;
}

/** Smallest over largest singular value: 0 for a singular B, 1 for an orthogonal one. */
export function relativeSmallest(B: Rows): number {
  const s = singularValues(B);
  return s[0] === 0 ? 0 : s[s.length - 1] / s[0];
}

// ------------------------------------------------------------------------------ the oracle

/** B = dF/dy with the given factor values, assembled column by column from jvpY. */
export function assembleBFromJvp(inst: ModelInstance, y: Float64Array, factors: readonly Float64Array[]): Rows {
  const n = inst.n;
  const B: Rows = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const e = new Float64Array(n);
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    inst.jvpY(y, factors, e, col);
    for (let i = 0; i < n; i++) B[i][j] = col[i];
  }
  return B;
}

/** B at y by central finite differences of the residual (the Clarke Jacobian's sample there). */
function finiteDifferenceB(inst: ModelInstance, y: Float64Array, h: number): Rows {
  const n = inst.n;
  const B: Rows = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const plus = new Float64Array(n);
  const minus = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const yp = y.slice();
    const ym = y.slice();
    yp[j] += h;
    ym[j] -= h;
    inst.residual(yp, plus);
    inst.residual(ym, minus);
    for (let i = 0; i < n; i++) B[i][j] = (plus[i] - minus[i]) / (2 * h);
  }
  return B;
}

/** Relative threshold under which an element of the set counts as singular (the brief's 1e-10). */
export const SINGULAR_REL = 1e-10;

export interface Tie {
  site: number;
  element: number;
  gap: number;
  range: readonly [number, number];
}

export interface BruteForceFinding {
  /** Where the singular element was found: a vertex or hull point of the kink factors, or the finite-difference samples. */
  source: 'selected' | 'vertex' | 'hull' | 'clarke';
  why: string;
  /** The singular element, or the first of two elements whose determinants differ in sign. */
  B: Rows;
  /** With a sign change: the second element. */
  B2?: Rows;
}

export interface BruteForceResult {
  ties: Tie[];
  /** Elements of the set examined. */
  examined: number;
  finding: BruteForceFinding | null;
}

/**
 * Brute force over the conservative Jacobian of F in y at the solution y (MATH.md 4): ties
 * within `tieTol` (ten times the runtime certificate's tolerance, so that the oracle sees at
 * least its ties), every vertex of the tied factors (up to 2^10; random vertices beyond),
 * random points of their hull, the selected element, and finite-difference samples near y.
 */
export function bruteForce(inst: ModelInstance, y: Float64Array, residual: number, rng: Rng): BruteForceResult {
  const n = inst.n;
  let yInf = 0;
  for (const v of y) yInf = Math.max(yInf, Math.abs(v));
  const tieTol = 10 * Math.max(1e-9, 100 * residual) * (1 + yInf);
  const gaps = inst.kinkGaps(y);
  const ties: Tie[] = [];
  gaps.forEach((g, site) => {
    if (inst.kinkSites[site].inF === false) return;
    for (let i = 0; i < g.length; i++) if (!(Math.abs(g[i]) > tieTol)) ties.push({ site, element: i, gap: Math.abs(g[i]), range: inst.kinkSites[site].range });
  });
  const selected = inst.kinkFactors(y);
  const samples: { source: BruteForceFinding['source']; B: Rows }[] = [];
  const withValues = (values: number[]): Float64Array[] => {
    const f = selected.map((s) => s.slice());
    ties.forEach((t, b) => (f[t.site][t.element] = values[b]));
    return f;
  };
  samples.push({ source: 'selected', B: assembleBFromJvp(inst, y, selected) });
  const t = ties.length;
  const vertexCount = t <= 10 ? 2 ** t : 1024;
  if (t > 0) {
    for (let v = 0; v < vertexCount; v++) {
      const values = ties.map((k, b) => k.range[t <= 10 ? (v >> b) & 1 : rng() < 0.5 ? 0 : 1]);
      samples.push({ source: 'vertex', B: assembleBFromJvp(inst, y, withValues(values)) });
    }
    for (let r = 0; r < 16; r++) {
      const values = ties.map((k) => k.range[0] + rng() * (k.range[1] - k.range[0]));
      samples.push({ source: 'hull', B: assembleBFromJvp(inst, y, withValues(values)) });
    }
  }
  // Clarke samples: gradients at random points near y, away from the kinks by construction
  // (the difference step is a thousandth of the distance).
  const delta = 1e-6 * (1 + yInf);
  const clarke: Rows[] = [];
  for (let r = 0; r < 2 * n + 4; r++) {
    const dir = Array.from({ length: n }, () => rng() * 2 - 1);
    const norm = Math.hypot(...dir) || 1;
    const near = Float64Array.from(y, (v, i) => v + (delta * dir[i]) / norm);
    clarke.push(finiteDifferenceB(inst, near, delta * 1e-3));
  }
  let examined = 0;
  let first: { source: BruteForceFinding['source']; B: Rows; sign: number } | null = null;
  for (const s of samples) {
    examined++;
    if (!s.B.every((r) => r.every(Number.isFinite))) continue;
    const rel = relativeSmallest(s.B);
    if (rel < SINGULAR_REL) return { ties, examined, finding: { source: s.source, why: `smallest singular value ${rel.toExponential(2)} of the largest`, B: s.B } };
    const sign = detSign(s.B);
    if (!first) first = { ...s, sign };
    else if (sign !== first.sign) {
      return { ties, examined, finding: { source: s.source, why: `det B changes sign between the ${first.source} element and this ${s.source} element: a singular B lies between them`, B: first.B, B2: s.B } };
    }
  }
  // Finite differences carry an error of about 1e-7 relative: only a sign change between
  // elements that are clearly nonsingular (1e-4 relative) counts, so that a merely
  // ill-conditioned B is not taken for a singular one.
  for (const B of clarke) {
    examined++;
    if (!first || !B.every((r) => r.every(Number.isFinite))) continue;
    const rel = relativeSmallest(B);
    if (rel < 1e-4) continue;
    if (detSign(B) !== first.sign && relativeSmallest(first.B) >= 1e-4) {
      return { ties, examined, finding: { source: 'clarke', why: `the Clarke Jacobian sampled by finite differences within ${delta.toExponential(1)} of the solution has det B of the other sign than the ${first.source} element: a singular element lies in its hull`, B: first.B, B2: B } };
    }
  }
  return { ties, examined, finding: null };
}

// ----------------------------------------------------------------------------- one model

export type RunVerdict = 'certified' | 'unverified' | 'violated' | 'not-converged' | 'error';

export interface Trial {
  /** `random`: random inputs from the declared start; `kink`: offsets set so that y* (entries at kinks) solves exactly. */
  kind: 'random' | 'kink';
  inputs: Record<string, unknown>;
  verdict: RunVerdict;
  /** Why the result claims invertibility: run-time certified, or the compile-time verdict (guarded with the guard holding). */
  claim: string | null;
  solution: number[] | null;
  brute: BruteForceResult | null;
  detail: string;
}

export interface ModelReport {
  model: RandomModel;
  compileVerdict: string;
  compileTest: string;
  /** B reads a matrix input and the row-wise test decides at run time (see reachesStrongest). */
  dataDecided: boolean;
  trials: Trial[];
  /** The trials with a claim and a singular element in the set. */
  unsound: Trial[];
  /** The generated module's file in the module cache (callers that make many may delete it). */
  modulePath: string;
  /** The compiled class, so that {@link referenceClass} can solve the model again without compiling it twice. */
  Model: ModelClass;
}

const toPlain = (v: Float64Array): number[] => Array.from(v);

/** The entries of y*: each at a kink point of some atom, or random, with at least one at a kink. */
function kinkTarget(rng: Rng, m: RandomModel, n: number): Float64Array {
  const y = Float64Array.from({ length: n }, () => (rng() < 0.7 ? pick(rng, m.kinkPoints) : num(rng, -1.5, 1.5)));
  y[int(rng, 0, n - 1)] = pick(rng, m.kinkPoints);
  return y;
}

/**
 * Inputs at which y* (entries at kinks) solves the model exactly, and y* as the solver's start:
 * the family's own construction, or, with additive offsets, F = G(y) - offsets with the offsets
 * set to G(y*). Null when the model has neither or G(y*) is not finite.
 */
function kinkInputs(m: RandomModel, Model: ModelClass, rng: Rng): { inputs: Record<string, unknown>; y0: Float64Array } | null {
  if (m.construct) {
    const inputs = m.inputs(rng);
    return { inputs, y0: m.construct(rng, inputs) };
  }
  if (!(m.unknowns.every((u) => u.offset) && m.kinkPoints.length)) return null;
  // F = G(y) - offsets: G(y*) is the residual at y* with the offsets at 0.
  const inputs = m.inputs(rng);
  const zeroed = { ...inputs };
  for (const u of m.unknowns) zeroed[u.offset as string] = u.dim ? new Array<number>(m.dims[u.dim]).fill(0) : 0;
  const probe = new Model(zeroed) as unknown as ModelInstance;
  const y = kinkTarget(rng, m, probe.n);
  const G = new Float64Array(probe.n);
  probe.residual(y, G);
  if (!G.every(Number.isFinite)) return null;
  let at = 0;
  for (const u of m.unknowns) {
    const size = u.dim ? m.dims[u.dim] : 1;
    const part = Array.from(G.subarray(at, at + size));
    inputs[u.offset as string] = u.dim ? part : part[0];
    at += size;
  }
  return { inputs, y0: y };
}

/** Compile the model, solve at random inputs and at a constructed kink, and brute-force every claimed certificate. */
export async function checkModel(m: RandomModel, seed: number, randomTrials = 1): Promise<ModelReport> {
  const rng = mulberry32(seed);
  const analysis = analyzeFile(`${m.name}.impl`, m.text).analyses[0];
  const compileVerdict = analysis.certificate.verdict;
  const Model = await compileModel(`${m.name}.impl`, undefined, m.text);
  const trials: Trial[] = [];
  const runOne = (kind: Trial['kind'], inputs: Record<string, unknown>, y0?: Float64Array): void => {
    let inst: ModelInstance & { solve(o: object): unknown };
    let r: { status: string; residual: number; solution: Record<string, unknown>; certificate: { verdict: RunVerdict; detail: string } };
    try {
      inst = new Model(inputs) as unknown as typeof inst;
      r = inst.solve({ tol: 1e-12, maxIter: 2000, ...(y0 ? { y0 } : {}) }) as typeof r;
    } catch (e) {
      trials.push({ kind, inputs, verdict: 'error', claim: null, solution: null, brute: null, detail: (e as Error).message });
      return;
    }
    if (r.status !== 'converged') {
      trials.push({ kind, inputs, verdict: 'not-converged', claim: null, solution: null, brute: null, detail: r.status });
      return;
    }
    const y = Float64Array.from(Object.values(r.solution).flatMap((v) => (Array.isArray(v) ? (v.flat(3) as number[]) : [v as number])));
    const guard = inst.guardBound();
    const claim =
      r.certificate.verdict === 'certified'
        ? 'run-time certified'
        : compileVerdict === 'certified'
          ? 'compile-time certified'
          : compileVerdict === 'guarded' && guard !== null && guard < 1
            ? `compile-time guarded (bound ${guard.toPrecision(4)} < 1)`
            : null;
    const brute = claim ? bruteForce(inst, y, r.residual, rng) : null;
    trials.push({ kind, inputs, verdict: r.certificate.verdict, claim, solution: toPlain(y), brute, detail: r.certificate.detail });
  };
  for (let i = 0; i < randomTrials; i++) runOne('random', m.inputs(rng));
  const kink = kinkInputs(m, Model, rng);
  if (kink) runOne('kink', kink.inputs, kink.y0);
  const unsound = trials.filter((t) => t.brute?.finding);
  const g = analysis.model.graph;
  const readsMatrix = cone(g, analysis.jacobians.bTangents.filter((t): t is number => t !== null)).some((id) => g.node(id).op === 'input' && g.shape(id).length === 2);
  const dataDecided = analysis.certificate.rowwise && readsMatrix;
  return { model: m, compileVerdict, compileTest: analysis.certificate.test, dataDecided, trials, unsound, modulePath: (Model as { modulePath: string }).modulePath, Model };
}

/** A report of one unsound trial, with everything needed to reproduce it. */
export function describeUnsound(r: ModelReport, t: Trial): string {
  const f = t.brute?.finding;
  return [
    `UNSOUND ${r.model.name} (${r.model.family}), compile-time ${r.compileVerdict}, run-time ${t.verdict}, claim: ${t.claim}, trial ${t.kind}`,
    r.model.text.trimEnd(),
    `inputs: ${JSON.stringify(t.inputs)}`,
    `solution: ${JSON.stringify(t.solution)}`,
    `ties: ${JSON.stringify(t.brute?.ties.map((k) => [k.site, k.element, k.gap]))}`,
    `found (${f?.source}): ${f?.why}`,
    `B = ${JSON.stringify(f?.B)}${f?.B2 ? `, B2 = ${JSON.stringify(f.B2)}` : ''}`,
  ].join('\n');
}

// ------------------------------------------------------------ reference class (verdict strength)

/**
 * What brute force over many inputs says about a model's B, the reference against which the
 * compile-time verdict's strength is measured (issue 13: "the strongest verdict that can be
 * proved"). `singular-seen`: some sampled solution has a singular element in its conservative
 * set (a counterexample exists, so `violated` is the strongest sound verdict).
 * `always-invertible-seen`: solutions were found and none had a singular element (so a
 * compile-time `certified` or `guarded` is the strongest, if the sample did not miss a singular
 * point). `no-solution-seen`: no draw converged, nothing to compare against.
 */
export type ReferenceClass = 'singular-seen' | 'always-invertible-seen' | 'no-solution-seen';

export interface ReferenceResult {
  cls: ReferenceClass;
  /** Draws solved to convergence (each one brute-forced). */
  solutions: number;
  /** Draws made (random plus constructed at kinks). */
  draws: number;
  /** Brute-forced solutions with at least one tie. */
  withTies: number;
  /**
   * The first singular finding, with the inputs and solution it was found at and the model's
   * guard bound there (a compile-time `guarded` verdict claims invertibility when it is below 1).
   */
  witness: { inputs: Record<string, unknown>; solution: number[]; finding: BruteForceFinding; guard: number | null } | null;
}

/**
 * Solve the compiled model at `randomDraws` random inputs and `kinkDraws` inputs constructed so
 * that a solution sits on kinks (as {@link checkModel} does once), and run {@link bruteForce}
 * at every converged solution, whatever the verdicts say. Stops at the first singular finding.
 * Its own seed: the draws are independent of checkModel's.
 */
export function referenceClass(m: RandomModel, Model: ModelClass, seed: number, randomDraws = 20, kinkDraws = 4): ReferenceResult {
  const rng = mulberry32(seed);
  let solutions = 0;
  let draws = 0;
  let withTies = 0;
  const tryOne = (inputs: Record<string, unknown>, y0?: Float64Array): ReferenceResult['witness'] => {
    draws++;
    let inst: ModelInstance & { solve(o: object): unknown };
    let r: { status: string; residual: number; solution: Record<string, unknown> };
    try {
      inst = new Model(inputs) as unknown as typeof inst;
      r = inst.solve({ tol: 1e-12, maxIter: 2000, ...(y0 ? { y0 } : {}) }) as typeof r;
    } catch {
      return null;
    }
    if (r.status !== 'converged') return null;
    solutions++;
    const y = Float64Array.from(Object.values(r.solution).flatMap((v) => (Array.isArray(v) ? (v.flat(3) as number[]) : [v as number])));
    const b = bruteForce(inst, y, r.residual, rng);
    if (b.ties.length) withTies++;
    return b.finding ? { inputs, solution: toPlain(y), finding: b.finding, guard: inst.guardBound() } : null;
  };
  let witness: ReferenceResult['witness'] = null;
  for (let i = 0; i < randomDraws && !witness; i++) witness = tryOne(m.inputs(rng));
  for (let i = 0; i < kinkDraws && !witness; i++) {
    const k = kinkInputs(m, Model, rng);
    if (k) witness = tryOne(k.inputs, k.y0);
  }
  const cls: ReferenceClass = witness ? 'singular-seen' : solutions ? 'always-invertible-seen' : 'no-solution-seen';
  return { cls, solutions, draws, withTies, witness };
}

/**
 * Whether a compile-time verdict is the strongest sound one for the reference class:
 * `violated` for `singular-seen`; `certified` or `guarded` for `always-invertible-seen`, and also
 * `violated` there (it carries a checked counterexample, so the sample missed the singular point
 * and the model really is singular). Null for `no-solution-seen`. With `dataDecided` (the
 * model's B reads a matrix input and the exact row-wise test applies at run time) a run-time
 * verdict counts as the strongest too: which matrices make B singular is the data's business.
 */
export function reachesStrongest(cls: ReferenceClass, verdict: string, dataDecided = false): boolean | null {
  if (cls === 'no-solution-seen') return null;
  // B's invertibility decided by matrix data, with the exact row-wise test at run time (a Lasso's
  // X, a box QP's Q): `runtime` is the strongest claim that holds for the model whatever the data.
  if (dataDecided && (verdict === 'runtime' || verdict === 'guarded')) return true;
  if (cls === 'singular-seen') return verdict === 'violated';
  return verdict === 'certified' || verdict === 'guarded' || verdict === 'violated';
}
