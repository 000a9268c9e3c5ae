/**
 * The runtime certificate (MATH.md 5, "Runtime certificate"; DESIGN.md
 * "Certification"): at a computed solution, find the ties, apply the compiled
 * verdict and, where it calls for one, the exact vertex test, then estimate
 * the condition of the selected B and bound the solution error.
 *
 * Ties. An element of a kink site is tied when its gap to the switching
 * surface is at most
 *
 *     tieTol = max(1e-9, 100 * residual) * (1 + ||y||_inf).
 *
 * The residual term: a solution with ||F|| = r is only known to within about
 * ||B^{-1}|| r, so a gap of that order may be zero at the exact solution. The
 * magnitude scale (1 + ||y||_inf) makes the test relative for large unknowns
 * (kink arguments are formed from y, and rounding in them is relative to its
 * size) and absolute near zero; the floor 1e-9 keeps the rounding of the
 * kernels themselves from hiding a tie at a solution solved to 1e-13.
 *
 * At a tie the conservative Jacobian is the whole hull of the site's range, so
 * "B invertible" must hold for every element, not just the one AD selects
 * (MATH.md 4, "the hypothesis is the whole point").
 */
import { conditionEstimate1, determinantSign, inverseNorm1Estimate, luFactor } from './lu.ts';
import type { LuResult } from './lu.ts';
import { normInf } from './matrix.ts';
import type { Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { assembleB, complementRows, couplingRC, DENSE_LIMIT, reducedRows } from './implicit-system.ts';

/** Most ties the vertex test enumerates (2^12 = 4096 factorizations). */
export const MAX_TIES = 12;

export type RuntimeVerdict = 'certified' | 'unverified' | 'violated';

/** One tied kink element: which site, which entry, how close. */
export interface TiedKink {
  site: number;
  primitive: string;
  /** Source location of the kink, `line:column`. */
  at: string;
  element: number;
  gap: number;
  range: [number, number];
}

/** Where the condition fails (or, for a passing vertex test, nothing). */
export interface CertificatePoint {
  ties: TiedKink[];
  /**
   * The offending kink factor values of the tied elements, in the order of
   * `ties`: one vertex where B is singular, or two vertices where det B has
   * opposite signs (so some element of their segment is singular).
   */
  vertices: number[][];
}

export interface RuntimeCertificate {
  verdict: RuntimeVerdict;
  /** Which test decided. */
  test: string;
  /** Number of tied kink elements at the solution. */
  ties: number;
  detail: string;
  /** 1-norm condition estimate of the selected (reduced) B; null when B was not formed or is singular. */
  condition: number | null;
  /**
   * First-order bound on ||y - y*||_1, the distance from the returned y to the
   * exact solution: the derivatives returned are the exact implicit
   * derivatives at a point within that distance. Null when unknown.
   */
  errorBound: number | null;
  point?: CertificatePoint;
}

export interface CertifyOptions {
  /** Largest (reduced) order of a dense B (default {@link DENSE_LIMIT}). */
  denseLimit?: number;
}

interface Selected {
  rows: Int32Array | null;
  B: Matrix;
  lu: LuResult | null;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(4) : String(v);
}

function sum1(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.abs(v[i]);
  return s;
}

/** The tied elements of every site (MATH.md 5, runtime certificate). */
export function findTies(model: ModelInstance, y: Float64Array, residual: number): TiedKink[] {
  const res = Number.isFinite(residual) ? residual : Infinity;
  const tieTol = Math.max(1e-9, 100 * res) * (1 + normInf(y));
  const gaps = model.kinkGaps(y);
  const ties: TiedKink[] = [];
  gaps.forEach((g, site) => {
    const info = model.kinkSites[site];
    for (let i = 0; i < g.length; i++) {
      // A NaN gap cannot be excluded from being a tie.
      if (!(Math.abs(g[i]) > tieTol)) {
        ties.push({ site, primitive: info.primitive, at: info.at, element: i, gap: Math.abs(g[i]), range: [info.range[0], info.range[1]] });
      }
    }
  });
  return ties;
}

/**
 * Certifies the invertibility condition of MATH.md 4 at y (a solution with
 * ||F(y)||_inf = residual). Never throws on numerical outcomes.
 */
export function certifyAt(model: ModelInstance, y: Float64Array, residual: number, options: CertifyOptions = {}): RuntimeCertificate {
  const limit = options.denseLimit ?? DENSE_LIMIT;
  const { analysis } = model;
  const factors = model.kinkFactors(y);
  const ties = findTies(model, y, residual);
  const t = ties.length;
  const point: CertificatePoint = { ties, vertices: [] };
  const reductionSite = analysis.identityRowsWhereFactorZero;
  // Tied rows stay in the reduced block: their factor ranges over the site's interval.
  const rows = reducedRows(model, factors, (i) => ties.some((k) => k.site === reductionSite && k.element === i));
  const order = rows ? rows.length : model.n;

  // The selected B (the one the derivatives use), with its condition and the error bound.
  let selected: Selected | null = null;
  let condition: number | null = null;
  let errorBound: number | null = null;
  if (order <= limit) {
    const B = assembleB(model, y, factors, rows);
    const lu = luFactor(B);
    selected = { rows, B, lu: lu.singular ? null : lu };
    if (!lu.singular) {
      condition = finiteOrNull(conditionEstimate1(B, lu));
      errorBound = finiteOrNull(firstOrderBound(model, y, factors, rows, lu));
    }
  }
  const base = { ties: t, condition, errorBound };
  const reduction = rows ? ` (reduced by the identity rows of site ${reductionSite}: order ${rows.length} of ${model.n})` : '';

  // A singular element of the conservative set refutes the condition (MATH.md 4), whatever
  // the compiled proof says: it was made in exact arithmetic, and no gradient computed
  // from a B singular to working precision can be trusted.
  if (selected && selected.lu === null) {
    return {
      verdict: 'violated',
      test: 'selected B',
      ...base,
      detail: `the selected B = dF/dy${reduction} is singular to working precision at the solution`,
      point: { ties, vertices: [ties.map((k) => factors[k.site][k.element])] },
    };
  }

  const vertexTest = (prefix: string): RuntimeCertificate => {
    if (t > MAX_TIES) {
      return { verdict: 'unverified', test: 'row-wise vertex test', ...base, detail: `${prefix}too many ties (${t} > ${MAX_TIES}) to enumerate the 2^${t} vertices`, point };
    }
    if (!selected) {
      return {
        verdict: 'unverified',
        test: 'row-wise vertex test',
        ...base,
        detail: `${prefix}B has order ${order}${reduction}, above the dense limit ${limit} of the vertex test`,
        point,
      };
    }
    return vertices(model, y, factors, ties, selected, prefix + (reduction ? `${reduction.trim()}: ` : ''), base);
  };

  const exact = analysis.rowwise || model.n === 1;
  switch (analysis.verdict) {
    case 'certified':
      return { verdict: 'certified', test: analysis.test, ...base, detail: analysis.reason };
    case 'guarded': {
      const g = model.guardBound();
      if (g !== null && g < 1) {
        return { verdict: 'certified', test: 'contraction guard', ...base, detail: `${analysis.guard ?? 'guard'}: the bound evaluates to ${fmt(g)} < 1 on the actual values` };
      }
      const failed = `the guard ${analysis.guard ?? ''} does not hold (bound ${g === null ? 'unavailable' : fmt(g)} >= 1); `;
      if (exact) return vertexTest(failed);
      return { verdict: 'unverified', test: 'contraction guard', ...base, detail: `${failed}no exact test applies: ${analysis.reason}`, point };
    }
    default:
      break;
  }
  if (analysis.verdict === 'runtime' || exact) return vertexTest('');
  // Without ties the conservative Jacobian at y is the single selected B (every kink is
  // strictly on one side), so its invertibility is the whole condition, whatever the structure.
  if (t === 0 && selected) {
    return {
      verdict: 'certified',
      test: 'single element',
      ...base,
      detail: `no ties at the solution: the conservative Jacobian is the selected B alone${reduction}, and it is invertible (locally; compile time: ${analysis.verdict}, ${analysis.reason})`,
    };
  }
  return {
    verdict: 'unverified',
    test: 'none',
    ...base,
    detail: t > 0
      ? `${t} ties, and B is not row-wise in the kink factors, so checking vertices would be unsound (MATH.md 5): ${analysis.reason}`
      : `B has order ${order}, above the dense limit ${limit}: ${analysis.reason}`,
    ...(t > 0 ? { point } : {}),
  };
}

/**
 * First-order error bound. y* = y - B^{-1} F(y) + o(||F||), so to first order
 * ||y - y*||_1 <= ||B^{-1}||_1 ||F(y)||_1. Under the reduction the identity
 * rows are exact, e_C = F_C, and e_R = B_RR^{-1} (F_R - B_RC F_C), giving
 * ||B_RR^{-1}||_1 ||F_R - B_RC F_C||_1 + ||F_C||_1. ||B^{-1}||_1 comes from the
 * Hager-Higham estimator, usually exact or within a small factor.
 */
function firstOrderBound(
  model: ModelInstance,
  y: Float64Array,
  factors: readonly Float64Array[],
  rows: Int32Array | null,
  lu: LuResult,
): number {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  const inv = inverseNorm1Estimate(lu);
  if (!rows) return inv * sum1(F);
  const comp = complementRows(model.n, rows);
  const coupling = couplingRC(model, y, factors, rows, comp, F);
  let r = 0;
  for (let a = 0; a < rows.length; a++) r += Math.abs(F[rows[a]] - coupling[a]);
  let c = 0;
  for (const i of comp) c += Math.abs(F[i]);
  return inv * r + c;
}

/**
 * MATH.md 5.4, the exact row-wise test: det B is affine in each kink entry that
 * scales one row, so over the box of tied entries it takes its extremes at the
 * 2^t vertices; B is invertible on the whole hull iff det B has one strict sign
 * at all of them. Untied entries keep their selected values.
 */
function vertices(
  model: ModelInstance,
  y: Float64Array,
  factors: readonly Float64Array[],
  ties: TiedKink[],
  selected: Selected,
  prefix: string,
  base: { ties: number; condition: number | null; errorBound: number | null },
): RuntimeCertificate {
  const t = ties.length;
  const point: CertificatePoint = { ties, vertices: [] };
  if (t === 0) {
    const sign = determinantSign(selected.lu as LuResult);
    return {
      verdict: 'certified',
      test: 'row-wise vertex test',
      ...base,
      detail: `${prefix}no ties: the conservative Jacobian at the solution is the selected B alone, with det B ${sign > 0 ? '>' : '<'} 0`,
    };
  }
  const trial = factors.map((f) => f.slice());
  let firstSign: 1 | -1 | 0 = 0;
  let firstVertex: number[] = [];
  for (let mask = 0; mask < 2 ** t; mask++) {
    const values = ties.map((k, b) => k.range[(mask >> b) & 1]);
    ties.forEach((k, b) => {
      trial[k.site][k.element] = values[b];
    });
    const lu = luFactor(assembleB(model, y, trial, selected.rows));
    if (lu.singular) {
      return {
        verdict: 'violated',
        test: 'row-wise vertex test',
        ...base,
        detail: `${prefix}B is singular at a vertex of the ${t} tied kink factors (${describe(ties)}): no implicit function here (MATH.md 4)`,
        point: { ties, vertices: [values] },
      };
    }
    const sign = determinantSign(lu);
    if (firstSign === 0) {
      firstSign = sign;
      firstVertex = values;
    } else if (sign !== firstSign) {
      return {
        verdict: 'violated',
        test: 'row-wise vertex test',
        ...base,
        detail: `${prefix}det B changes sign between two vertices of the ${t} tied kink factors (${describe(ties)}), so a singular B lies between them (MATH.md 5.4)`,
        point: { ties, vertices: [firstVertex, values] },
      };
    }
  }
  return {
    verdict: 'certified',
    test: 'row-wise vertex test',
    ...base,
    detail: `${prefix}det B ${firstSign > 0 ? '>' : '<'} 0 at all ${2 ** t} vertices of the ${t} tied kink factors (${describe(ties)}): invertible on their hull (MATH.md 5.4)`,
    point,
  };
}

function describe(ties: TiedKink[]): string {
  const shown = ties.slice(0, 4).map((k) => `${k.primitive}[${k.element}] at ${k.at}`);
  return ties.length > 4 ? `${shown.join(', ')}, ...` : shown.join(', ');
}
