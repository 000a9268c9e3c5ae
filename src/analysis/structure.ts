/**
 * The structure of an analyzed model (src/structure/types.ts): computed here, once, from the
 * lowered IR and the analysis's results, and handed to codegen as the only thing it reads.
 * Differentiation of the kernels' roots, the kink sites in kernel order, the reduction that
 * implicit solves use, B as an operator of the runtime's algebra, the composite form a
 * structured solver can take, the guard's bound and the names of hoisted values all live
 * here, so that the next primitive, solver or backend has one place to add its facts.
 */
import { cone, jvp, vjp } from '../ir/ad.ts';
import type { Graph } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { factsOf, primitive, REGISTRY } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Operator } from '../runtime/structured.ts';
import type { AnalysisSummary, ConeForm, GuardFactor, GuardStructure, KernelRoots, ModelStructure, OperatorForm, OutputNonDiagonalKinkStructure, ProjectionStructure, RequireStructure, SiteStructure } from '../structure/types.ts';
import type { Certificate, Jacobians } from './certify.ts';
import type { ClassResult } from './classes.ts';
import { compositeForm } from './composite.ts';
import type { LinOp } from './linop.ts';
import type { NormBound } from './norm-bound.ts';

/** Differentiate once, with the generic passes, everything a module needs. */
function kernelRoots(m: IrModel): KernelRoots & { factors: NodeId[] } {
  const g = m.graph;
  const residual = m.residual.map((r) => r.node);
  const unknownNodes = m.unknowns.map((u) => u.node);
  const paramNodes = m.params.map((p) => p.node);
  // The same seeds the analysis made (inputs are interned by name).
  const unknownSeeds = m.unknowns.map((u) => g.input(`d${u.name}`, 'seed', { kind: 'real', shape: u.shape }));
  const paramSeeds = m.params.map((p) => g.input(`d${p.name}`, 'seed', { kind: 'real', shape: p.shape }));
  const cotangentSeeds = residual.map((r, i) => g.input(`w${i}`, 'seed', g.node(r).type));
  const bTangents = jvp(g, residual, new Map(unknownNodes.map((u, i) => [u, unknownSeeds[i]])));
  const aTangents = jvp(g, residual, new Map(paramNodes.map((p, i) => [p, paramSeeds[i]])));
  const vjpY = vjp(g, residual, cotangentSeeds, unknownNodes);
  const vjpX = vjp(g, residual, cotangentSeeds, paramNodes);
  const one = g.constant(1);
  // A scalar output is pulled back from 1; a vector or matrix one from a cotangent seed of its
  // shape (`obar<k>`): its kernels give <obar, d o/dy> and <obar, d o/dx>, one entry's partials
  // with a unit obar, a vector-Jacobian product with any.
  const outputPartials = m.outputs.map((o, k) => {
    const type = g.node(o.node).type;
    const seed = type.shape.length === 0 ? null : g.input(`obar${k}`, 'seed', type);
    const bar = seed ?? one;
    return { y: vjp(g, [o.node], [bar], unknownNodes), x: vjp(g, [o.node], [bar], paramNodes), seed };
  });
  const maps =
    m.residual.every((r) => r.fixpoint) && m.residual.length === m.unknowns.length
      ? m.unknowns.map((u) => m.residual.find((r) => r.fixpoint!.unknown === u.name)!.fixpoint!.map)
      : null;
  const derivativeRoots = [...bTangents, ...aTangents, ...vjpY, ...vjpX, ...outputPartials.flatMap((p) => [...p.y, ...p.x])].filter(
    (r): r is NodeId => r !== null,
  );
  const factors = cone(g, derivativeRoots).filter((id) => factsOf(g.node(id).op).kinkFactor !== undefined);
  return { residual, maps, unknownSeeds, paramSeeds, cotangentSeeds, bTangents, aTangents, vjpY, vjpX, outputPartials, derivativeRoots, factors };
}

/**
 * B = I - (scalars) D M with one kink factor D scaling the rows (prox and projection
 * fixpoints): the site of D, so that implicit solves can drop the rows where D is 0.
 */
function identityRowsSite(m: IrModel, jac: Jacobians, factors: readonly NodeId[]): number | null {
  if (jac.B.length !== 1 || m.unknowns.length !== 1) return null;
  const B = jac.B[0];
  if (B.kind !== 'sum' || B.terms.length !== 2) return null;
  const [first, second] = B.terms;
  if (first.sign !== 1 || first.op.kind !== 'identity' || second.sign !== -1) return null;
  let op: LinOp = second.op;
  while (op.kind === 'scale') op = op.of;
  if (op.kind !== 'diag' || op.kinks.length !== 1 || op.kinks[0] !== op.factor) return null;
  const site = factors.indexOf(op.factor);
  return site >= 0 ? site : null;
}

/**
 * Whether every row of A = dF/dx vanishes where the reduction site's factor D is 0: each term
 * of A is, under signs, sums and scalar scalings, a diagonal scaling whose factor is D, or a
 * product or negation with D among its factors (soft thresholding's t-partial, -sign(u) D).
 * Then A^T w never reads w on the identity rows, and a backward pass need not solve for it
 * there. Conservative: false for anything else (a matrix applied after D, an unreadable term).
 */
function paramRowsVanish(g: Graph, jac: Jacobians, d: NodeId): boolean {
  if (jac.A.length !== 1) return false;
  /** The factor node is 0 wherever D is (its finite other factors times D's 0). */
  const vanishes = (f: NodeId): boolean => {
    if (f === d) return true;
    const n = g.node(f);
    const form = factsOf(n.op).linearForm;
    if (form === 'negation') return vanishes(n.args[0]);
    if (form === 'product') return n.args.some(vanishes);
    return false;
  };
  const rowsVanish = (op: LinOp): boolean => {
    switch (op.kind) {
      case 'scale':
        return rowsVanish(op.of);
      case 'diag':
        return vanishes(op.factor) || rowsVanish(op.of);
      case 'sum':
        return op.terms.every((t) => rowsVanish(t.op));
      default:
        return false;
    }
  };
  return rowsVanish(jac.A[0]);
}

/**
 * A LinOp as an {@link Operator} over numbered leaves (the IR nodes of its scalings, diagonal
 * factors and matrices), or null when some part has no operator form (projection blocks,
 * unreadable tangents, a seed on the left of a product).
 */
export function operatorForm(B: LinOp, g: Graph): OperatorForm | null {
  const leaves: NodeId[] = [];
  const leaf = (id: NodeId): number => {
    const at = leaves.indexOf(id);
    if (at >= 0) return at;
    leaves.push(id);
    return leaves.length - 1;
  };
  const read = (op: LinOp): Operator | null => {
    switch (op.kind) {
      case 'identity':
        return { k: 'I' };
      case 'scale': {
        const of = read(op.of);
        return of && { k: 'scale', s: leaf(op.factor), inv: op.inverse, of };
      }
      case 'diag': {
        const of = read(op.of);
        return of && { k: 'diag', f: leaf(op.factor), of };
      }
      case 'matmul': {
        const of = read(op.of);
        return of && product(op.matrix, of);
      }
      case 'sum': {
        const terms: [1 | -1, Operator][] = [];
        for (const t of op.terms) {
          const o = read(t.op);
          if (!o) return null;
          terms.push([t.sign, o]);
        }
        return { k: 'sum', terms };
      }
      default:
        return null;
    }
  };
  /**
   * M applied to `of`; a fixed product of matrices (`let G = X' * X`) applied factor by factor,
   * so that assembling rows and columns of B never forms it (X'X[S, S] from X's columns).
   */
  const product = (matrix: NodeId, of: Operator): Operator => {
    const n = g.node(matrix);
    if (n.op === 'input' || n.op === 'const' || n.dep === 'unknown') return { k: 'mm', M: leaf(matrix), of };
    const facts = factsOf(n.op);
    const [a, b] = n.args;
    if (facts.linearForm === 'matrix product' && g.shape(a).length === 2 && g.shape(b).length === 2) return product(a, product(b, of));
    // X' and s * X' from X itself: the rows and columns B needs, without forming the transpose.
    const transposeOf = (id: NodeId): NodeId | null => {
      const t = g.node(id);
      return t.op !== 'input' && t.op !== 'const' && factsOf(t.op).transpose === true && g.shape(t.args[0]).length === 2 ? t.args[0] : null;
    };
    const t = transposeOf(matrix);
    if (t !== null) return { k: 'mmT', M: leaf(t), of };
    if (facts.linearForm === 'product') {
      for (const [s, m] of [[a, b], [b, a]]) {
        const x = g.shape(s).length === 0 ? transposeOf(m) : null;
        if (x !== null) return { k: 'scale', s: leaf(s), inv: false, of: { k: 'mmT', M: leaf(x), of } };
      }
    }
    return { k: 'mm', M: leaf(matrix), of };
  };
  const op = read(B);
  return op ? { op, leaves } : null;
}

/** The guard's bound in the structure's terms: each factor a number, a scalar, a matrix or an operator. */
function guardStructure(text: string, bound: NormBound, g: Graph, unknownRank: number): GuardStructure | null {
  const terms: GuardFactor[][] = [];
  for (const t of bound.terms) {
    const factors: GuardFactor[] = [];
    for (const f of t) {
      if (f.value !== null) {
        factors.push({ kind: 'number', value: f.value });
        continue;
      }
      const op = f.op!;
      if (op.kind === 'scale' && op.of.kind === 'identity') {
        factors.push({ kind: 'scalar', node: op.factor, inverse: op.inverse });
      } else if (op.kind === 'matmul' && op.of.kind === 'identity' && g.shape(op.matrix).length === 2 && unknownRank === 1) {
        // M itself (W z): its norm from its entries, not from M applied to n unit vectors.
        factors.push({ kind: 'matrix', node: op.matrix });
      } else {
        const form = operatorForm(op, g);
        if (!form) return null;
        factors.push({ kind: 'operator', form });
      }
    }
    terms.push(factors);
  }
  return { text, terms };
}

/** How a message names a value computed from the inputs alone: the let, or the operation and its place. */
function hoistedLabels(m: IrModel): Map<NodeId, string> {
  const g = m.graph;
  const letNames = new Map<NodeId, string>([...m.lets].map(([name, node]) => [node, name]));
  const labels = new Map<NodeId, string>();
  for (let id = 0; id < g.nodes.length; id++) {
    const n = g.node(id);
    // Numbers are finite by the parser's checks, inputs are checked when bound: no label.
    if (n.op === 'const' || n.op === 'input' || n.dep === 'unknown') continue;
    const at = n.span ? ` at ${n.span.start.line}:${n.span.start.column}` : '';
    const letName = letNames.get(id);
    if (letName !== undefined) {
      labels.set(id, `\`${letName}\` (let${at})`);
      continue;
    }
    const notation = primitive(n.op).notation;
    const shown = factsOf(n.op).transpose ? "'" : notation?.infix ?? notation?.prefix ?? `${n.op}(…)`;
    labels.set(id, `the value of \`${shown}\`${at}`);
  }
  return labels;
}

/**
 * The `require` clauses as the run time checks them: a clause on the inputs alone holds or
 * fails for the inputs, before any solve; one that reads the unknowns only at a solution.
 */
function requireStructures(m: IrModel): RequireStructure[] {
  return m.requires.map((r) => ({
    node: r.node,
    text: r.text,
    at: `${r.span.start.line}:${r.span.start.column}`,
    onUnknowns: m.graph.node(r.node).dep === 'unknown',
  }));
}

/** The map of a single vector fixpoint when it is exactly P(u) with P a non-diagonal projection, with u's tangent. */
function projectionForm(m: IrModel): ProjectionStructure | null {
  if (m.unknowns.length !== 1 || m.residual.length !== 1 || !m.residual[0].fixpoint || m.unknowns[0].shape.length !== 1) return null;
  const g = m.graph;
  const map = g.node(m.residual[0].fixpoint.map);
  if (map.op === 'input' || map.op === 'const') return null;
  const kind = factsOf(map.op).projection;
  if (kind !== 'simplex' && kind !== 'l1ball' && kind !== 'soc') return null;
  const radius = kind === 'l1ball' ? map.args[1] : null;
  if (radius !== null && (g.node(radius).dep === 'unknown' || g.shape(radius).length !== 0)) return null;
  const u = map.args[0];
  const unknown = m.unknowns[0];
  const seed = g.input(`d${unknown.name}`, 'seed', { kind: 'real', shape: unknown.shape });
  const [tangent] = jvp(g, [u], new Map([[unknown.node, seed]]));
  if (tangent === null) return null;
  return { kind, at: map.span ? `${map.span.start.line}:${map.span.start.column}` : '?', argument: u, tangent, seed, radius };
}

/**
 * The primitives whose kink has no diagonal factor (projections with faces or a smooth
 * boundary, block_soft_threshold, norm2, norminf, maxof, minof and their row forms), by the
 * ops their derivative rules apply to the primitive's own arguments: the selection kernel of
 * the registry's kink (`proj_simplex_jvp`, `norm2_grad`: its leading arguments are the
 * primitive's, a trailing one is the tangent), and the derivative in a radius or threshold
 * (`proj_l1ball_dr`, `proj_l2ball_dr`, `block_soft_threshold_dt`: the internal primitives
 * named `<name>_d...` with the primitive's parameters), which switches on the same surfaces
 * (for the l2 ball, 0 inside and u = v / |v| outside): a layer whose only param is the
 * radius reads only that one. A diagonal kink (a factor) is a kink-factor site instead.
 */
const NON_DIAGONAL_KINK_OPS: ReadonlyMap<string, string> = new Map(
  [...REGISTRY.values()].flatMap((p) => {
    if (!p.kink || p.kink.factor !== null) return [];
    const same = (q: { params: readonly string[] }) => q.params.length === p.params.length && q.params.every((x, i) => x === p.params[i]);
    const partials = [...REGISTRY.values()].filter((q) => q.surface === 'internal' && q.name.startsWith(`${p.name}_d`) && same(q));
    return [[p.kink.selection, p.name] as const, ...partials.map((q) => [q.name, p.name] as const)];
  }),
);

/**
 * The kinks without a diagonal factor that only outputs read (an explicit layer's
 * `output p = proj_simplex(theta / tau)` or `output n = norm2(theta)`, a fixpoint model's
 * `output p = proj_l2ball(z, r)`): the nodes of their derivatives (NON_DIAGONAL_KINK_OPS) in
 * the outputs' partials, one site per primitive and arguments (the node's leading arguments).
 * One whose derivative nodes F's derivatives also read is F's kink, not the output's, and is
 * left out (as a diagonal site with `inF`). Reading the derivative is what matters: the
 * gradient an output reports is the kernels' selection there, one element of the hull.
 */
function outputNonDiagonalKinks(g: Graph, ofF: ReadonlySet<NodeId>, outputCones: readonly ReadonlySet<NodeId>[]): OutputNonDiagonalKinkStructure[] {
  const found = new Map<string, OutputNonDiagonalKinkStructure & { outputs: number[] }>();
  const inF = new Set<string>();
  const keyOf = (id: NodeId): { key: string; name: string; args: NodeId[] } | null => {
    const n = g.node(id);
    const name = NON_DIAGONAL_KINK_OPS.get(n.op);
    if (name === undefined) return null;
    const args = n.args.slice(0, primitive(name).params.length);
    return { key: `${name}(${args.join(',')})`, name, args };
  };
  for (const id of ofF) {
    const k = keyOf(id);
    if (k) inF.add(k.key);
  }
  outputCones.forEach((cone, o) => {
    for (const id of cone) {
      const k = keyOf(id);
      if (!k || inF.has(k.key)) continue;
      let site = found.get(k.key);
      if (!site) {
        const n = g.node(id);
        const kink = primitive(k.name).kink!;
        site = { primitive: k.name, gap: kink.gap, args: k.args, at: n.span ? `${n.span.start.line}:${n.span.start.column}` : '?', outputs: [], used: kink.used, hull: kink.rangeText };
        found.set(k.key, site);
      }
      if (!site.outputs.includes(o)) site.outputs.push(o);
    }
  });
  return [...found.values()];
}

export interface StructureInputs {
  model: IrModel;
  jacobians: Jacobians;
  certificate: Certificate;
  classes: ClassResult;
  B: string;
  A: string;
  /** Some kink of F is not a diagonal kink-factor site (projections onto a simplex or a cone, norms). */
  nonDiagonalKinks: boolean;
  /** The cone program the equations state (src/analysis/cone-form.ts), read before the certificate. */
  cone: ConeForm | null;
}

/** The structure of one analyzed model, frozen. */
export function buildStructure(a: StructureInputs): ModelStructure {
  const m = a.model;
  const g = m.graph;
  const roots = kernelRoots(m);
  const { factors, ...kernels } = roots;
  const ofF = new Set(cone(g, [...kernels.bTangents, ...kernels.aTangents, ...kernels.vjpY, ...kernels.vjpX].filter((r): r is NodeId => r !== null)));
  const outputCones = kernels.outputPartials.map((o) => new Set(cone(g, [...o.y, ...o.x].filter((r): r is NodeId => r !== null))));
  const sites: SiteStructure[] = factors.map((f) => {
    const n = g.node(f);
    const k = primitive(n.op).structure.kinkFactor!;
    return { node: f, primitive: k.of, gap: primitive(k.of).kink!.gap, range: k.range, at: n.span ? `${n.span.start.line}:${n.span.start.column}` : '?', inF: ofF.has(f), switch: primitive(k.of).kink!.switch === true, outputs: outputCones.flatMap((c, i) => (c.has(f) ? [i] : [])) };
  });
  const outputKinkSites = outputNonDiagonalKinks(g, ofF, outputCones);
  const site = identityRowsSite(m, a.jacobians, factors);
  const reduction = site === null ? null : { site, paramRowsVanish: paramRowsVanish(g, a.jacobians, factors[site]) };
  const denseB = m.unknowns.length === 1 && a.jacobians.B.length === 1 ? operatorForm(a.jacobians.B[0], g) : null;
  const c = a.certificate;
  const guard = c.verdict === 'guarded' && c.guardBound ? guardStructure(c.guard ?? '', c.guardBound, g, m.unknowns[0]?.shape.length ?? 0) : null;
  if (c.verdict === 'guarded' && guard === null) throw new Error(`internal error: the guard of ${m.name} has no operator form`);
  const summary: AnalysisSummary = {
    verdict: c.verdict,
    test: c.test,
    guard: c.guard,
    rowwise: c.rowwise,
    identityRowsWhereFactorZero: site,
    paramRowsVanishWhereFactorZero: reduction?.paramRowsVanish ?? false,
    nonDiagonalKinks: a.nonDiagonalKinks,
    reason: c.reason,
  };
  // Before the labels: recognition adds nodes (a tangent, a constant bound) to the graph.
  const composite = compositeForm(m);
  const projection = projectionForm(m);
  const structure: ModelStructure = {
    ir: m,
    graph: g,
    kernels,
    sites,
    outputNonDiagonalKinks: outputKinkSites,
    reduction,
    denseB,
    composite,
    cone: a.cone,
    projection,
    guard,
    requires: requireStructures(m),
    summary,
    text: {
      B: a.B,
      A: a.A,
      definability: a.classes.definability,
      lipschitz: a.classes.lipschitz,
      residual: m.residual.map((r) => (r.fixpoint ? `${r.fixpoint.unknown} - T` : 'lhs - rhs')).join('; '),
    },
    labels: hoistedLabels(m),
  };
  return deepFreeze(structure, new Set([g, m]));
}

/** Freezes the description (not the IR it points into: the graph stays append-only for AD). */
function deepFreeze<T>(value: T, skip: Set<unknown>): T {
  if (value === null || typeof value !== 'object' || skip.has(value) || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v, skip);
    return value;
  }
  for (const v of Object.values(value as object)) deepFreeze(v, skip);
  return Object.freeze(value);
}
