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
 *
 * Switches of `if` (sites of `select`): the hull of the two branches is a
 * conservative Jacobian only where F is continuous across the switch; a tied
 * switch whose branches differ is a jump of F, and the verdict is `unverified`
 * before any test (see `jumps`).
 */
import { conditionEstimate1, determinantSign, inverseNorm1Estimate, luFactor, luSolve } from './lu.ts';
import type { LuResult } from './lu.ts';
import { matNorm1, normInf, type Matrix } from './matrix.ts';
import type { ModelInstance } from './model.ts';
import { certifyProjectionFixpoint } from './projection-certificate.ts';
import { certifyCone, coneProblem, type ConeProblem } from './cone-program.ts';
import { assembleB, complementRows, couplingRC, DENSE_LIMIT, reducedRows } from './implicit-system.ts';
import type { DenseSelection, StructuredSolver } from './implicit-system.ts';
import { isFiniteVector, requireFiniteVector, requireLimit, requireModel, requireOptions } from './validate.ts';

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
  /** A switch of `if` only: |then - else| at the element, the jump of F across the switch. */
  jump?: number;
  /**
   * A cone program's tie (cone-program.ts), named by constraint: `nonneg row 4: v = 3e-12`,
   * `soc block 2 (rows 7-10): on the cone's boundary`, `psd block 1 (...): eigenvalue 2 of 3 is 1e-13`.
   * Its `site` is -1 (the cone is not a kink-factor site) and `element` the row in v.
   */
  constraint?: string;
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
  /**
   * Condition of the selected (reduced) B: the 1-norm estimate of Hager and Higham, or, when
   * the contraction guard certifies, the bound (1 + g) / (1 - g) on its 2-norm condition;
   * null when B was not formed or is singular.
   */
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

/** What the tests found, before the key order of the certificate is fixed. */
interface Finding {
  verdict: RuntimeVerdict;
  test: string;
  detail: string;
  point?: CertificatePoint;
}

/** A certificate with the factored selected B it computed, for the derivatives to reuse. */
export interface CertifiedSelection {
  certificate: RuntimeCertificate;
  /** The selected B[rows, rows] and its LU; null when not formed or singular. */
  selected: DenseSelection | null;
  /** Solves with the selected B by its structure (a cone program's reduced system), when the certificate made one. */
  structured?: StructuredSolver;
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

/** The tie tolerance at y for a solution with ||F(y)||_inf = residual (see the header). */
function tieTolerance(y: Float64Array, residual: number): number {
  const res = Number.isFinite(residual) ? residual : Infinity;
  return Math.max(1e-9, 100 * res) * (1 + normInf(y));
}

/** The tied elements of every site (MATH.md 5, runtime certificate). */
export function findTies(model: ModelInstance, y: Float64Array, residual: number): TiedKink[] {
  const tieTol = tieTolerance(y, residual);
  const gaps = model.kinkGaps(y);
  const ties: TiedKink[] = [];
  gaps.forEach((g, site) => {
    const info = model.kinkSites[site];
    // Ties are F's alone: a kink only an output reads does not make B a set.
    if (info.inF === false) return;
    // A switch site (`if`): its gap holds the n distances, then the n jumps |then - else|.
    const switching = info.switch === true;
    const count = switching ? g.length / 2 : g.length;
    for (let i = 0; i < count; i++) {
      // A NaN gap cannot be excluded from being a tie.
      if (!(Math.abs(g[i]) > tieTol)) {
        ties.push({
          site, primitive: info.primitive, at: info.at, element: i, gap: Math.abs(g[i]), range: [info.range[0], info.range[1]],
          ...(switching ? { jump: Math.abs(g[count + i]) } : {}),
        });
      }
    }
  });
  return ties;
}

/**
 * The tied switches across which F jumps (MATH.md 2 and 4). The hull of the two branches'
 * Jacobians is a conservative Jacobian of F only where F is continuous across the switch;
 * where the branches differ at a tie, F is not Lipschitz there and no implicit function
 * theorem applies, whatever B is. Continuity is judged with the tie tolerance itself: a
 * solution is known to within that distance of the surface, and a jump no larger than that
 * cannot be told from the change of a continuous F over it; larger (or NaN) is a jump.
 * Sound by construction: a continuous F whose branches separate faster than 1 per unit of
 * distance from the surface is only reported as a possible jump (unverified), never certified
 * by mistake; an F that jumps by more than the tolerance is never certified.
 */
function jumps(ties: readonly TiedKink[], tieTol: number): TiedKink[] {
  return ties.filter((k) => k.jump !== undefined && !(k.jump <= tieTol));
}

/**
 * Certifies the invertibility condition of MATH.md 4 at y (a solution with
 * ||F(y)||_inf = residual). Never throws on numerical outcomes.
 */
export function certifyAt(model: ModelInstance, y: Float64Array, residual: number, options: CertifyOptions = {}): RuntimeCertificate {
  return certifySelection(model, y, residual, options).certificate;
}

/**
 * {@link certifyAt}, also returning the factored selected B: assembling B costs
 * n jvpY products, so the derivatives should reuse it.
 *
 * Which test (the compiled verdict decides, MATH.md 5):
 * - a selected B singular to working precision: `violated`, whatever the
 *   compiled proof (made in exact arithmetic) says: no gradient computed from
 *   it can be trusted;
 * - `certified`: stays certified;
 * - `guarded`: the guard bound < 1 certifies; otherwise the vertex test when it
 *   is exact here, else the local test below, its detail led by the failed guard;
 * - `runtime`, row-wise B, or a scalar unknown (whatever the compiled verdict):
 *   the exact vertex test;
 * - anything else: without ties the conservative Jacobian at y is the selected
 *   B alone, so its invertibility certifies locally; with ties, `unverified`
 *   (checking vertices without row-wise structure is unsound, MATH.md 5).
 */
export function certifySelection(model: ModelInstance, y: Float64Array, residual: number, options: CertifyOptions = {}): CertifiedSelection {
  requireModel('certifySelection', model);
  requireFiniteVector(`certifySelection(${model.name}): y`, y, model.n);
  requireOptions('certifySelection', options, ['denseLimit']);
  const limit = options.denseLimit === undefined ? DENSE_LIMIT : requireLimit('certifySelection: denseLimit', options.denseLimit);
  const { analysis } = model;
  const ties = findTies(model, y, residual);
  const t = ties.length;
  const jumped = jumps(ties, tieTolerance(y, residual));
  if (jumped.length > 0) {
    // Before any test, the guard's included: each presumes F continuous (MATH.md 4).
    const shown = jumped.slice(0, 4).map((k) => `${k.primitive}[${k.element}] at ${k.at} jumps by ${fmt(k.jump!)}`);
    const certificate: RuntimeCertificate = {
      verdict: 'unverified',
      test: 'continuity',
      ties: t,
      detail: `the solution lies on the switch of an \`if\` whose branches differ there (${shown.join(', ')}${jumped.length > 4 ? ', ...' : ''}): F jumps at the solution, so it is not Lipschitz there and the implicit function theorem does not apply (MATH.md 2, 4); the derivatives are not defined`,
      condition: null,
      errorBound: null,
      point: { ties: jumped, vertices: [] },
    };
    return { certificate, selected: null };
  }
  // A cone program (src/analysis/cone-form.ts): its ties are the cone's, named by constraint.
  const cone = coneProblem(model);
  if (cone) return coneSelection(model, cone, y, residual, limit);
  if (analysis.verdict === 'guarded') {
    const quick = guardCertificate(model, y, t);
    if (quick) return { certificate: quick, selected: null };
  }
  const factors = model.kinkFactors(y);
  const reductionSite = analysis.identityRowsWhereFactorZero;
  // Tied rows stay in the reduced block: their factor ranges over the site's interval.
  const rows = reducedRows(model, factors, (i) => ties.some((k) => k.site === reductionSite && k.element === i));
  const order = rows ? rows.length : model.n;
  const reduction = rows ? `reduced to the rows where site ${reductionSite} is not 0 (order ${rows.length} of ${model.n})` : '';

  // The selected B (the one the derivatives use), its condition and the error bound.
  let selected: DenseSelection | null = null;
  let singular = false;
  let condition: number | null = null;
  let errorBound: number | null = null;
  if (order <= limit) {
    const B = assembleB(model, y, factors, rows);
    if (!isFiniteVector(B.data)) {
      // F is not differentiable here as computed (sqrt'(0) = Infinity, say): no test applies.
      const certificate: RuntimeCertificate = {
        verdict: 'unverified',
        test: 'selected B',
        ties: t,
        detail: `the selected B = dF/dy${reduction ? `, ${reduction},` : ''} has entries that are not finite at the solution (a derivative that blows up there): neither its invertibility nor the derivatives can be computed`,
        condition: null,
        errorBound: null,
        ...(t > 0 ? { point: { ties, vertices: [] } } : {}),
      };
      return { certificate, selected: null };
    }
    const lu = luFactor(B);
    if (lu.singular) {
      singular = true;
    } else {
      selected = { rows, B, lu };
      condition = finiteOrNull(conditionEstimate1(B, lu));
      errorBound = finiteOrNull(firstOrderBound(model, y, factors, rows, lu));
    }
  }
  const fragile = selected && !rows ? fragility(model, y, factors, selected.B, selected.lu) : null;
  const done = (f: Finding): CertifiedSelection => ({
    certificate: {
      verdict: f.verdict === 'certified' && fragile ? 'unverified' : f.verdict,
      test: f.test,
      ties: t,
      detail: f.verdict === 'certified' && fragile ? `${f.detail}; but ${fragile}` : f.detail,
      condition,
      errorBound,
      ...(f.point ? { point: f.point } : {}),
    },
    selected,
  });
  const named: CertificatePoint | undefined = t > 0 ? { ties, vertices: [] } : undefined;

  if (singular) {
    return done({
      verdict: 'violated',
      test: 'selected B',
      detail: `the selected B = dF/dy${reduction ? `, ${reduction},` : ''} is singular to working precision at the solution`,
      point: { ties, vertices: [ties.map((k) => factors[k.site][k.element])] },
    });
  }
  // B = I - T_y for a fixpoint: the identity sets its scale, and a B whose inverse is above
  // 1e12 of it is singular within the rounding of T_y's own terms (0.96 + 0.04 is 1 in one
  // order of summation and 1 - 3.5e-17 in another: the random-model check found B = 3.5e-17
  // from the structured assembly where the kernels give 0). No certificate on such a B.
  const inverseNorm = selected && model.hasMap ? inverseNorm1Estimate(selected.lu) : 0;
  if (inverseNorm > 1e12) {
    return done({
      verdict: 'unverified',
      test: 'selected B',
      detail: `the selected B = dF/dy${reduction ? `, ${reduction},` : ''} = I - T_y has ||B^-1|| about ${fmt(inverseNorm)}: singular within the rounding of T_y's terms, so no invertibility can be claimed at the solution`,
      point: { ties, vertices: [ties.map((k) => factors[k.site][k.element])] },
    });
  }

  const vertexTest = (prefix: string): CertifiedSelection => {
    const test = 'row-wise vertex test';
    if (t > MAX_TIES) {
      return done({ verdict: 'unverified', test, detail: `${prefix}too many ties (${t} > ${MAX_TIES}) to enumerate the 2^${t} vertices`, point: named });
    }
    if (!selected) {
      return done({ verdict: 'unverified', test, detail: `${prefix}B has order ${order}, above the dense limit ${limit} of the vertex test`, point: named });
    }
    return done(vertices(model, y, factors, ties, selected, prefix + (reduction ? `B ${reduction}: ` : '')));
  };

  const exact = analysis.rowwise || model.n === 1;
  if (analysis.verdict === 'certified') return done({ verdict: 'certified', test: analysis.test, detail: analysis.reason });
  let failedGuard = '';
  if (analysis.verdict === 'guarded') {
    const g = model.guardBound();
    const guard = analysis.guard ?? 'the contraction guard';
    if (g !== null && g < 1) {
      return done({ verdict: 'certified', test: 'contraction guard', detail: `${guard}: the bound evaluates to ${fmt(g)} < 1 on the actual values (MATH.md 5.2)` });
    }
    failedGuard = `${guard} does not hold (bound ${g === null ? 'unavailable' : `${fmt(g)} >= 1`}); `;
    if (exact) return vertexTest(failedGuard);
  }
  if (analysis.verdict === 'runtime' || exact) return vertexTest('');
  // A failed guard leaves the same ground as a compile-time `unverified`: the local test below
  // presumes nothing of the compiled proof, only the conservative Jacobian at y.
  const compiled = `at compile time: ${analysis.verdict}, ${analysis.reason}`;
  // A projection with faces (simplex, l1 ball, SOC): its ties are not kink sites; the faces'
  // certificate (projection-certificate.ts) finds them and bounds the whole hull.
  const projection = analysis.nonDiagonalKinks ? (model.projectionFixpoint?.() ?? null) : null;
  const faces = projection ? certifyProjectionFixpoint(model, y, residual, projection, { denseLimit: limit }) : null;
  if (faces) {
    const weak = faces.verdict === 'certified' && fragile;
    return {
      certificate: { ...faces, verdict: weak ? 'unverified' : faces.verdict, detail: `${failedGuard}${faces.detail}${weak ? `; but ${fragile}` : ''}` },
      selected,
    };
  }
  if (t === 0 && selected && !analysis.nonDiagonalKinks) {
    return done({
      verdict: 'certified',
      test: 'single element',
      detail: `${failedGuard}no ties at the solution: the conservative Jacobian there is the selected B alone${reduction ? `, ${reduction}` : ''}, and it is invertible (a local certificate; ${compiled})`,
    });
  }
  return done({ verdict: 'unverified', test: failedGuard ? 'contraction guard' : 'none', detail: failedGuard + noLocalTest(t, ties, selected !== null, order, limit, compiled), point: named });
}

/** The cone program's certificate (cone-program.ts) as the runtime's, its B and LU kept for the derivatives. */
function coneSelection(model: ModelInstance, cone: ConeProblem, y: Float64Array, residual: number, limit: number): CertifiedSelection {
  const c = certifyCone(model, cone, y, tieTolerance(y, residual), limit);
  const ties: TiedKink[] = c.ties.map((k) => ({ site: -1, primitive: cone.primitive, at: cone.at, element: k.row, gap: k.gap, range: [0, 1], constraint: k.what }));
  return {
    certificate: {
      verdict: c.verdict,
      test: c.test,
      ties: ties.length,
      detail: c.detail,
      condition: c.condition,
      errorBound: c.errorBound,
      ...(ties.length ? { point: { ties, vertices: c.vertices } } : {}),
    },
    selected: c.selected ? { rows: null, B: c.selected.B, lu: c.selected.lu } : null,
    ...(c.structured ? { structured: c.structured } : {}),
  };
}

/**
 * Why neither an exact test nor the local certificate applies (B not row-wise, the compiled
 * verdict neither `certified` nor `runtime`), in the order the conditions are checked: the first
 * that holds is the real reason. The dense limit is named only when it is the reason (order >
 * limit); ties are named with their sites.
 */
function noLocalTest(t: number, ties: TiedKink[], formed: boolean, order: number, limit: number, compiled: string): string {
  if (t > 0) {
    return `${t} tied kink factor${t === 1 ? '' : 's'} at the solution (${describe(ties)}), and B is not row-wise in the kink factors (a factor inside a product), so its hull is not decided by the vertices and checking them would be unsound (MATH.md 5.4; ${compiled})`;
  }
  if (!formed) {
    return `no ties at the solution, but B has order ${order}, above the dense limit ${limit}, so the selected B was not formed and its invertibility is not checked (${compiled})`;
  }
  // The only case left: t = 0 with B formed certifies unless F has non-diagonal kinks.
  return `no tie among the kink-factor sites, but F also has kinks that are not diagonal kink factors (a projection onto the simplex, the l1 ball or the cone; norm2, norminf), whose ties are not located at run time: a tie there, where the conservative Jacobian is a set, cannot be ruled out (${compiled})`;
}

/**
 * The contraction guard holds (MATH.md 5.2): the generated bound g >= ||T_y||_2 over the
 * whole conservative set, with B = I - T_y, so every B is invertible with ||B^{-1}||_2 <=
 * 1 / (1 - g) and nothing needs to be assembled. T is then a contraction with constant g
 * (conservative Jacobians obey the chain rule along paths), so ||y - y*||_2 <= ||F(y)||_2 /
 * (1 - g), a bound that holds without a first-order term; reported in the 1-norm (times
 * sqrt(n)). The condition reported is the bound (1 + g) / (1 - g) on the 2-norm condition
 * number. Null when the guard does not hold.
 */
function guardCertificate(model: ModelInstance, y: Float64Array, ties: number): RuntimeCertificate | null {
  const g = model.guardBound();
  if (g === null || !(g < 1)) return null;
  const F = new Float64Array(model.n);
  model.residual(y, F);
  let sq = 0;
  for (let i = 0; i < F.length; i++) sq += F[i] * F[i];
  const guard = model.analysis.guard ?? 'the contraction guard';
  return {
    verdict: 'certified',
    test: 'contraction guard',
    ties,
    detail: `${guard}: the bound evaluates to ${fmt(g)} < 1 on the actual values (MATH.md 5.2)`,
    condition: finiteOrNull((1 + g) / (1 - g)),
    errorBound: finiteOrNull((Math.sqrt(model.n) * Math.sqrt(sq)) / (1 - g)),
  };
}

/**
 * First-order error bound. y* = y - B^{-1} F(y) + o(||F||), so to first order
 * ||y - y*||_1 <= ||B^{-1}||_1 ||F(y)||_1. Under the reduction the identity
 * rows are exact, e_C = F_C, and e_R = B_RR^{-1} (F_R - B_RC F_C), giving
 * ||B_RR^{-1}||_1 ||F_R - B_RC F_C||_1 + ||F_C||_1. ||B^{-1}||_1 comes from the
 * Hager-Higham estimator, usually exact or within a small factor.
 */
/**
 * MATH.md 4 asks for B invertible at the solution itself, which is known only up to the
 * Newton correction d = B^{-1} F. When B moves, across y +- d, by more than half its distance
 * to the singular matrices (1 / ||B^{-1}||_1), invertibility at the true solution is not
 * established (y^3 = x near 0 stopped at y = 1e-4 is the example): a reason, else null.
 * Kink factors are held fixed: a kink inside the ball is a tie, which the tests above handle.
 */
function fragility(model: ModelInstance, y: Float64Array, factors: readonly Float64Array[], B: Matrix, lu: LuResult): string | null {
  const F = new Float64Array(model.n);
  model.residual(y, F);
  const d = luSolve(lu, F);
  const margin = 1 / inverseNorm1Estimate(lu);
  let change = 0;
  for (const sign of [1, -1]) {
    const moved = Float64Array.from(y, (v, i) => v + sign * d[i]);
    const Bm = assembleB(model, moved, factors, null);
    const diff = { rows: B.rows, cols: B.cols, data: Float64Array.from(B.data, (v, i) => Bm.data[i] - v) };
    change = Math.max(change, matNorm1(diff));
  }
  if (!Number.isFinite(change) || !Number.isFinite(margin)) return `B is not finite within the solution's uncertainty (|d| = ${normInf(d).toExponential(2)}): treat the derivative as unreliable`;
  if (!(change > 0.5 * margin)) return null;
  return `B changes by ${change.toExponential(2)} within the solution's uncertainty (|d| = ${normInf(d).toExponential(2)}), more than half its distance ${margin.toExponential(2)} to a singular matrix: solve to a tighter tolerance or treat the derivative as unreliable`;
}

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
  selected: DenseSelection,
  prefix: string,
): Finding {
  const t = ties.length;
  const test = 'row-wise vertex test';
  if (t === 0) {
    const sign = determinantSign(selected.lu);
    return { verdict: 'certified', test, detail: `${prefix}no ties: the conservative Jacobian at the solution is the selected B alone, with det B ${sign > 0 ? '>' : '<'} 0` };
  }
  const trial = factors.map((f) => f.slice());
  let firstSign: 1 | -1 | 0 = 0;
  let firstVertex: number[] = [];
  for (let mask = 0; mask < 2 ** t; mask++) {
    const values = ties.map((k, b) => k.range[(mask >> b) & 1]);
    ties.forEach((k, b) => {
      trial[k.site][k.element] = values[b];
    });
    const Bv = assembleB(model, y, trial, selected.rows);
    if (!isFiniteVector(Bv.data)) {
      return {
        verdict: 'unverified',
        test,
        detail: `${prefix}B has entries that are not finite at a vertex of the ${t} tied kink factors (${describe(ties)}): the vertex test cannot decide`,
        point: { ties, vertices: [values] },
      };
    }
    const lu = luFactor(Bv);
    if (lu.singular) {
      return {
        verdict: 'violated',
        test,
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
        test,
        detail: `${prefix}det B changes sign between two vertices of the ${t} tied kink factors (${describe(ties)}), so a singular B lies between them (MATH.md 5.4)`,
        point: { ties, vertices: [firstVertex, values] },
      };
    }
  }
  return {
    verdict: 'certified',
    test,
    detail: `${prefix}det B ${firstSign > 0 ? '>' : '<'} 0 at all ${2 ** t} vertices of the ${t} tied kink factors (${describe(ties)}): invertible on their hull (MATH.md 5.4)`,
    point: { ties, vertices: [] },
  };
}

function describe(ties: TiedKink[]): string {
  const shown = ties.slice(0, 4).map((k) => k.constraint ?? `${k.primitive}[${k.element}] at ${k.at}`);
  return ties.length > 4 ? `${shown.join(', ')}, ...` : shown.join(', ');
}
