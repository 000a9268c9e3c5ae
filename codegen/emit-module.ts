import { printStructure, Scope, type ClassDeclarationStructure, type MethodDeclarationStructure, type OptionalKind, type StatementStructures, StructureKind } from 'ts-morph';
import type { Analysis } from '../src/analysis/analyze.ts';
import { modelNameProblem } from '../src/check/js-names.ts';
import { factorsOf, type LinOp } from '../src/analysis/linop.ts';
import type { NormBound } from '../src/analysis/norm-bound.ts';
import { cone, dependsOn, jvp, vjp } from '../src/ir/ad.ts';
import type { Graph } from '../src/ir/graph.ts';
import type { IrModel } from '../src/ir/model.ts';
import type { Shape } from '../src/ir/shape.ts';
import { factsOf, primitive } from '../src/primitives/registry.ts';
import type { DenseOp } from '../src/runtime/structured.ts';
import type { NodeId } from '../src/primitives/types.ts';
import { gpuMapKernels } from './emit-gpu.ts';
import { KernelWriter, shapeExpr } from './kernel-writer.ts';
import { commentText, INPUTS_TYPE, literal, localName, member, MODEL_CLASS, propertyKey } from './names.ts';

/** Where generated modules import the runtime from: the package, never a copy. */
export const RUNTIME_IMPORT = 'implc/runtime';

/** Everything the kernels of one model are made of: the IR roots of each method. */
interface KernelPlan {
  residual: NodeId[];
  maps: NodeId[] | null;
  unknownSeeds: NodeId[];
  paramSeeds: NodeId[];
  cotangentSeeds: NodeId[];
  bTangents: (NodeId | null)[];
  aTangents: (NodeId | null)[];
  vjpY: (NodeId | null)[];
  vjpX: (NodeId | null)[];
  outputPartials: { y: (NodeId | null)[]; x: (NodeId | null)[] }[];
  /** Every non-zero root above: what the derivative kernels compute. */
  derivativeRoots: NodeId[];
  /** Kink-factor nodes used by the derivative kernels, in a fixed order (the sites). */
  factors: NodeId[];
}

/** Differentiate once, with the generic passes, everything the module needs. */
function plan(a: Analysis): KernelPlan {
  const m = a.model;
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
  const outputPartials = m.outputs.map((o) => ({ y: vjp(g, [o.node], [one], unknownNodes), x: vjp(g, [o.node], [one], paramNodes) }));
  const maps = m.residual.every((r) => r.fixpoint) && m.residual.length === m.unknowns.length
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
function identityRowsSite(a: Analysis, factors: NodeId[]): number | null {
  if (a.jacobians.B.length !== 1 || a.model.unknowns.length !== 1) return null;
  const B = a.jacobians.B[0];
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
function paramRowsVanish(a: Analysis, factors: NodeId[]): boolean {
  const site = identityRowsSite(a, factors);
  if (site === null || a.jacobians.A.length !== 1) return false;
  const g = a.model.graph;
  const d = factors[site];
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
  return rowsVanish(a.jacobians.A[0]);
}

/**
 * The analysis's LinOp for B as a {@link DenseOp} over numbered leaves (the IR nodes of its
 * scalings, diagonal factors and matrices), or null when some part has no dense rule
 * (projection blocks, unreadable tangents, a seed on the left of a product).
 */
function denseOpOf(B: LinOp): { op: DenseOp; leaves: NodeId[] } | null {
  const leaves: NodeId[] = [];
  const leaf = (id: NodeId): number => {
    const at = leaves.indexOf(id);
    if (at >= 0) return at;
    leaves.push(id);
    return leaves.length - 1;
  };
  const read = (op: LinOp): DenseOp | null => {
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
        return of && { k: 'mm', M: leaf(op.matrix), of };
      }
      case 'sum': {
        const terms: [1 | -1, DenseOp][] = [];
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
  const op = read(B);
  return op ? { op, leaves } : null;
}

/**
 * The fixpoint y = prox_l1(y - G (A y - b), tau) (soft thresholding, the registry's `prox`) with G, A, b, tau fixed by the inputs
 * (possibly G scaled by a fixed scalar, s G (A y - b)): proximal gradient on a least-squares
 * Lasso, which the runtime can solve by coordinate descent (src/runtime/lasso.ts). Returns
 * the nodes of A, b, G (or its scalar and matrix factors) and tau, or null; with them `step`,
 * the scalar s when G = s A^T by construction (the map reads `s * A'`). Without it the runtime
 * checks numerically that G is a positive multiple of A^T before using them.
 */
function leastSquaresProxOf(
  g: Graph,
  map: NodeId,
  unknown: NodeId,
  writer: KernelWriter,
): { A: NodeId; b: NodeId; G: NodeId; scale: NodeId | null; tau: NodeId; step: NodeId | null } | null {
  const facts = (id: NodeId) => factsOf(g.node(id).op);
  const args = (id: NodeId) => g.node(id).args;
  if (facts(map).prox !== 'l1') return null;
  const [u, tau] = args(map);
  if (writer.dynamic(tau)) return null;
  if (facts(u).linearForm !== 'difference' || args(u)[0] !== unknown) return null;
  let grad = args(u)[1];
  let scale: NodeId | null = null;
  if (facts(grad).linearForm === 'product') {
    const [x, y] = args(grad);
    const [s, rest] = writer.dynamic(x) ? [y, x] : [x, y];
    if (writer.dynamic(s) || g.shape(s).length !== 0) return null;
    scale = s;
    grad = rest;
  }
  if (facts(grad).linearForm !== 'matrix product') return null;
  const [G, r] = args(grad);
  if (writer.dynamic(G) || g.shape(G).length !== 2) return null;
  if (facts(r).linearForm !== 'difference') return null;
  const [Ay, b] = args(r);
  if (writer.dynamic(b) || facts(Ay).linearForm !== 'matrix product' || args(Ay)[1] !== unknown) return null;
  const A = args(Ay)[0];
  if (writer.dynamic(A) || g.shape(A).length !== 2 || g.shape(b).length !== 1) return null;
  return { A, b, G, scale, tau, step: stepNode(G, scale) };

  /** The scalar node s with (scale) G = s A' by construction (G itself A', or a scalar times A'), else null. */
  function stepNode(G: NodeId, scale: NodeId | null): NodeId | null {
    const isTransposeOfA = (id: NodeId) => facts(id).transpose === true && args(id)[0] === A;
    if (isTransposeOfA(G)) return scale;
    if (scale !== null || facts(G).linearForm !== 'product') return null;
    const [x, y] = args(G);
    if (g.shape(x).length === 0 && isTransposeOfA(y)) return x;
    if (g.shape(y).length === 0 && isTransposeOfA(x)) return y;
    return null;
  }
}

export interface EmittedModule {
  model: string;
  fileName: string;
  text: string;
}

/** One TypeScript module for one analyzed model (DESIGN.md "Generated modules"). */
export function emitModule(a: Analysis, sourceFile: string): EmittedModule {
  const m = a.model;
  const g = m.graph;
  const p = plan(a);
  const names = new Map<NodeId, string>();
  for (const v of [...m.dims, ...m.data, ...m.params]) names.set(v.node, v.name);
  for (const [name, node] of m.lets) if (!names.has(node)) names.set(node, name);
  const writer = new KernelWriter(g, names);

  // Locals for the unknowns, seeds and cotangents of each kernel.
  // (Locals derived from user names carry a `$`, see names.ts: `$u_beta`, `$dot_W`.)
  const unknownLocal = (i: number) => localName('u', m.unknowns[i].name, i);
  const unknownEnv = new Map<NodeId, string>(m.unknowns.map((u, i) => [u.node, unknownLocal(i)]));
  /** The unknowns' locals, as views of the flat vector `source`. */
  const unknownViewsOf = (source: string) => `const [${m.unknowns.map((_, i) => unknownLocal(i)).join(', ')}] = views(${source}, this.unknowns, ${literal(source)});`;
  const unknownViews = unknownViewsOf('y');
  const factorEnv = new Map<NodeId, string>(p.factors.map((f, i) => [f, `f[${i}]`]));
  const factorWrap = 'const f = this.wrapFactors(factors);';
  // Values the derivative kernels need that depend on the unknowns alone (X * beta - y, W * z
  // + U * u + b): computed once per solution and cached (`primal`), where every kernel would
  // recompute them. Not cached: anything that moves with a seed or a kink factor (the factors
  // are an argument: the vertex test passes others than the selected ones).
  const moving = dependsOn(g, new Set<NodeId>([...p.unknownSeeds, ...p.paramSeeds, ...p.cotangentSeeds, ...p.factors]));
  // (The kink factors lie in the cone of the derivative roots.)
  const primalNodes = cone(g, p.derivativeRoots).filter((id) => {
    const n = g.node(id);
    return n.op !== 'input' && n.op !== 'const' && writer.dynamic(id) && !moving(id);
  });
  const primalEnv = new Map<NodeId, string>(primalNodes.map((id) => [id, `pv.t${id}`]));
  const usesPrimal = (code: string[]): boolean => code.some((l) => /\bpv\./.test(l));
  const primalLoad = 'const pv = this.primal(y);';
  const derivative = (extra: [NodeId, string][]) => new Map([...unknownEnv, ...primalEnv, ...factorEnv, ...extra]);

  const kernel = (roots: (NodeId | null)[], env: Map<NodeId, string>, prologue: string[], target: string, layout: string) => {
    const { lines, results } = writer.body(roots, env);
    const puts = results.map((r, i) => `put(${r ?? 'null'}, ${target}, ${layout}[${i}].offset, ${layout}[${i}].size);`);
    // `put` checks that each block fits; this also refuses an `out` longer than the layout.
    // (F has the unknowns' total size, E0303: both are this.n.)
    const outCheck = `requireLength(${literal(target)}, ${target}, ${layout === 'this.params' ? 'this.m' : 'this.n'});`;
    return ['const c = this.c;', outCheck, ...prologue, ...(usesPrimal([...lines, ...puts]) ? [primalLoad] : []), ...lines, ...puts];
  };

  /**
   * Statements adding `scale` times each root into its block of `target` (`addInto`), for the
   * accumulating kernels (addVjpX, addOutputPartials). A root that is an outer product (a
   * matrix product with inner dimension 1: the v z^T of a parameter gradient), not cached per
   * solution and needed by nothing else, is not formed: `addProduct` adds it in place, in one
   * pass over its block. Other products are formed (or read from the cache) and added.
   */
  let usesAddProduct = false;
  const accumulate = (roots: (NodeId | null)[], env: Map<NodeId, string>, target: string, layout: string): string[] => {
    const isProduct = (r: NodeId | null): r is NodeId =>
      r !== null && !env.has(r) && writer.dynamic(r) && factsOf(g.node(r).op).linearForm === 'matrix product' && g.shape(g.node(r).args[1])[0] === 1;
    const fused = roots.map((r) => isProduct(r));
    const bodyRoots = roots.flatMap((r, i) => (fused[i] ? g.node(r!).args : [r]));
    const { lines, results } = writer.body(bodyRoots, env);
    // A product some other root needs is computed anyway: add it like any other value.
    const computed = (r: NodeId) => lines.some((l) => l.startsWith(`const t${r} = `));
    const adds: string[] = [];
    let k = 0;
    roots.forEach((r, i) => {
      const block = `${target}, ${layout}[${i}].offset, ${layout}[${i}].size`;
      if (fused[i]) {
        const [a, b] = [results[k], results[k + 1]];
        k += 2;
        if (computed(r!)) adds.push(`addInto(scale, t${r}, ${block});`);
        else {
          usesAddProduct = true;
          adds.push(`addProduct(scale, ${a}, ${b}, ${block});`);
        }
      } else {
        const res = results[k++];
        if (res !== null) adds.push(`addInto(scale, ${res}, ${block});`);
      }
    });
    return [...lines, ...adds];
  };

  const methods: OptionalKind<MethodDeclarationStructure>[] = [];
  const method = (name: string, params: [string, string][], returnType: string, statements: string[], doc: string) =>
    methods.push({ name, parameters: params.map(([n, t]) => ({ name: n, type: t })), returnType, statements, docs: [commentText(doc)] });

  method('initial', [], 'Float64Array', [
    'const c = this.c;',
    'const out = new Float64Array(this.n);',
    ...m.unknowns.map((u, i) => `put(${writer.read(u.init)}, out, this.unknowns[${i}].offset, this.unknowns[${i}].size);`),
    'return out;',
  ], 'The declared starting point of the unknowns.');
  method('residual', [['y', 'Float64Array'], ['out', 'Float64Array']], 'void', kernel(p.residual, unknownEnv, [unknownViews], 'out', 'this.blocks'),
    `F(x, y): ${m.residual.map((r) => (r.fixpoint ? `${r.fixpoint.unknown} - T` : 'lhs - rhs')).join('; ')}.`);
  method('map', [['y', 'Float64Array'], ['out', 'Float64Array']], 'void',
    p.maps ? kernel(p.maps, unknownEnv, [unknownViews], 'out', 'this.unknowns') : ["throw new SolverError('invalid-option', `map: model ${this.name} is not in fixed-point form (it has solve equations; hasMap is false)`);"],
    'The fixed-point map T(x, y).');
  const primalOnly = new Map([...unknownEnv, ...primalEnv]);
  method('kinkFactors', [['y', 'Float64Array']], 'Float64Array[]', [
    ...(() => {
      const { lines, results } = writer.body(p.factors, primalOnly);
      const ret = `return [${results.map((r) => `${r}.data.slice()`).join(', ')}];`;
      return ['const c = this.c;', unknownViews, ...(usesPrimal([...lines, ret]) ? [primalLoad] : []), ...lines, ret];
    })(),
  ], 'The element of each kink factor that backprop selects at y.');
  method('kinkGaps', [['y', 'Float64Array']], 'Float64Array[]', [
    ...(() => {
      const args = p.factors.flatMap((f) => g.node(f).args);
      const { lines, results } = writer.body(args, primalOnly);
      let k = 0;
      const gaps = p.factors.map((f) => {
        const n = g.node(f);
        const own = results.slice(k, k + n.args.length);
        k += n.args.length;
        return `kinkGap(${literal(primitive(n.op).structure.kinkFactor!.of)}, [${own.join(', ')}])`;
      });
      const ret = `return [${gaps.join(', ')}];`;
      return ['const c = this.c;', unknownViews, ...(usesPrimal([...lines, ret]) ? [primalLoad] : []), ...lines, ret];
    })(),
  ], 'Per kink factor and element, the distance to its switching surface (0 at a tie).');
  const fParams: [string, string][] = [['y', 'Float64Array'], ['factors', 'readonly Float64Array[]']];
  method('jvpY', [...fParams, ['ydot', 'Float64Array'], ['out', 'Float64Array']], 'void',
    kernel(p.bTangents, derivative(m.unknowns.map((u, i) => [p.unknownSeeds[i], localName('dot', u.name, i)])),
      [unknownViews, factorWrap, `const [${m.unknowns.map((u, i) => localName('dot', u.name, i)).join(', ')}] = views(ydot, this.unknowns, 'ydot');`], 'out', 'this.blocks'),
    `B ydot, with B = dF/dy = ${a.B}.`);
  method('vjpY', [...fParams, ['w', 'Float64Array'], ['out', 'Float64Array']], 'void',
    kernel(p.vjpY, derivative(p.cotangentSeeds.map((s, i) => [s, `bar_${i}`])),
      [unknownViews, factorWrap, `const [${p.cotangentSeeds.map((_, i) => `bar_${i}`).join(', ')}] = views(w, this.blocks, 'w');`], 'out', 'this.unknowns'),
    'B^T w.');
  method('jvpX', [...fParams, ['xdot', 'Float64Array'], ['out', 'Float64Array']], 'void',
    kernel(p.aTangents, derivative(m.params.map((q, i) => [p.paramSeeds[i], localName('dot', q.name, i)])),
      [unknownViews, factorWrap, m.params.length ? `const [${m.params.map((q, i) => localName('dot', q.name, i)).join(', ')}] = views(xdot, this.params, 'xdot');` : 'void xdot;'], 'out', 'this.blocks'),
    `A xdot, with A = dF/dx = ${a.A}.`);
  method('vjpX', [...fParams, ['w', 'Float64Array'], ['out', 'Float64Array']], 'void',
    kernel(p.vjpX, derivative(p.cotangentSeeds.map((s, i) => [s, `bar_${i}`])),
      [unknownViews, factorWrap, `const [${p.cotangentSeeds.map((_, i) => `bar_${i}`).join(', ')}] = views(w, this.blocks, 'w');`], 'out', 'this.params'),
    'A^T w.');
  method('addVjpX', [...fParams, ['w', 'Float64Array'], ['out', 'Float64Array'], ['scale', 'number']], 'void', (() => {
    const body = accumulate(p.vjpX, derivative(p.cotangentSeeds.map((s, i) => [s, `bar_${i}`])), 'out', 'this.params');
    const prologue = [unknownViews, factorWrap, `const [${p.cotangentSeeds.map((_, i) => `bar_${i}`).join(', ')}] = views(w, this.blocks, 'w');`];
    return ['const c = this.c;', ...prologue, ...(usesPrimal(body) ? [primalLoad] : []), ...body];
  })(), 'out += scale A^T w (a running gradient sum: outer-product parameter gradients added in place, never formed).');
  method('outputs', [['y', 'Float64Array']], 'Float64Array', (() => {
    const { lines, results } = writer.body(m.outputs.map((o) => o.node), unknownEnv);
    return ['const c = this.c;', unknownViews, ...lines, `return Float64Array.of(${results.map((r) => `${r}.data[0]`).join(', ')});`];
  })(), `The outputs: ${m.outputs.map((o) => o.name).join(', ') || 'none'}.`);
  method('outputPartials', [['k', 'number'], ...fParams], '{ y: Float64Array; x: Float64Array }', [
    'const y_ = new Float64Array(this.n);',
    'const x_ = new Float64Array(this.m);',
    'switch (k) {',
    ...p.outputPartials.flatMap((op, k) => {
      const { lines, results } = writer.body([...op.y, ...op.x], derivative([]));
      return [
        `  case ${k}: {`,
        '    const c = this.c;',
        `    ${unknownViews}`,
        `    ${factorWrap}`,
        ...(usesPrimal([...lines, ...results.map((r) => r ?? '')]) ? [`    ${primalLoad}`] : []),
        ...lines.map((l) => `    ${l}`),
        ...results.slice(0, m.unknowns.length).map((r, i) => `    put(${r ?? 'null'}, y_, this.unknowns[${i}].offset, this.unknowns[${i}].size);`),
        ...results.slice(m.unknowns.length).map((r, i) => `    put(${r ?? 'null'}, x_, this.params[${i}].offset, this.params[${i}].size);`),
        '    break;',
        '  }',
      ];
    }),
    "  default: throw new SolverError('invalid-option', `no output ${typeof k === 'number' ? k : typeof k} of model ${this.name}: its outputs are ${this.outputNames.length === 0 ? 'none' : `0 to ${this.outputNames.length - 1}`}`);",
    '}',
    'return { y: y_, x: x_ };',
  ], 'Explicit partial derivatives of output k in the unknowns and the params.');
  method('addOutputPartials', [['k', 'number'], ...fParams, ['yOut', 'Float64Array | null'], ['xOut', 'Float64Array | null'], ['scale', 'number']], 'void', [
    'switch (k) {',
    ...p.outputPartials.flatMap((op, k) => {
      const yBody = accumulate(op.y, derivative([]), 'yOut', 'this.unknowns');
      const xBody = accumulate(op.x, derivative([]), 'xOut', 'this.params');
      return [
        `  case ${k}: {`,
        '    const c = this.c;',
        `    ${unknownViews}`,
        `    ${factorWrap}`,
        ...(usesPrimal([...yBody, ...xBody]) ? [`    ${primalLoad}`] : []),
        '    if (yOut !== null) {',
        ...yBody.map((l) => `      ${l}`),
        '    }',
        '    if (xOut !== null) {',
        ...xBody.map((l) => `      ${l}`),
        '    }',
        '    return;',
        '  }',
      ];
    }),
    "  default: throw new SolverError('invalid-option', `no output ${typeof k === 'number' ? k : typeof k} of model ${this.name}: its outputs are ${this.outputNames.length === 0 ? 'none' : `0 to ${this.outputNames.length - 1}`}`);",
    '}',
  ], 'yOut += scale d o_k/dy, xOut += scale d o_k/dx (each skipped when null): the explicit partials of output k, added in place.');
  // B assembled from its structure (src/runtime/structured.ts) where the analysis read it.
  const structured = m.unknowns.length === 1 && a.jacobians.B.length === 1 ? denseOpOf(a.jacobians.B[0]) : null;
  method('denseB', [...fParams, ['rows', 'Int32Array | null']], 'Matrix | null', structured
    ? (() => {
        const { lines, results } = writer.body(structured.leaves, derivative([]));
        const ret = `return assembleStructured(${JSON.stringify(structured.op)}, [${results.join(', ')}], this.n, rows);`;
        return ['const c = this.c;', unknownViews, factorWrap, ...(usesPrimal([...lines, ret]) ? [primalLoad] : []), ...lines, ret];
      })()
    : ['void y, factors, rows;', 'return null;'],
  structured
    ? 'B[rows, rows] (all of B when rows is null) assembled from its structure, without kernel calls per column; null when the values do not fit it.'
    : 'No structured assembly for this B: null (the runtime applies jvpY to unit vectors).');
  const lsq = p.maps && m.unknowns.length === 1 && g.shape(m.unknowns[0].node).length === 1
    ? leastSquaresProxOf(g, p.maps[0], m.unknowns[0].node, writer)
    : null;
  method('leastSquaresProx', [], 'LeastSquaresProx | null', lsq
    ? ['const c = this.c;', `return { A: ${writer.read(lsq.A)}, b: ${writer.read(lsq.b)}, G: ${lsq.scale === null ? writer.read(lsq.G) : `K.mul(${writer.read(lsq.scale)}, ${writer.read(lsq.G)})`}, tau: ${writer.read(lsq.tau)}${lsq.step === null ? '' : `, s: ${writer.read(lsq.step)}.data[0]`} };`]
    : ['return null;'],
  lsq
    ? 'The map is proximal gradient on a least-squares Lasso: its design, targets, gradient operator and thresholds (src/runtime/lasso.ts).'
    : 'The map is not a recognized least-squares prox: null.');
  methods.push({
    name: 'primal',
    scope: Scope.Private,
    parameters: [{ name: 'y', type: 'Float64Array' }],
    returnType: 'Record<string, Tensor>',
    docs: [
      'The values of the derivative kernels that depend on y alone, for the last y (compared entry by entry), each computed on first use.',
    ],
    statements: (() => {
      const env = new Map<NodeId, string>([...unknownEnv, ...primalNodes.map((id): [NodeId, string] => [id, `values.t${id}`])]);
      return [
        'const hit = this.primalCache;',
        'if (hit !== null && sameVector(hit.y, y)) return hit.values;',
        'const c = this.c;',
        // A copy: the kernels of later calls must see these values, whatever the caller does to y.
        'const yc = y.slice();',
        unknownViewsOf('yc'),
        'const values: Record<string, Tensor> = {};',
        ...primalNodes.map((id) => `lazy(values, ${literal(`t${id}`)}, () => ${writer.expression(id, env)});`),
        'this.primalCache = { y: yc, values };',
        'return values;',
      ];
    })(),
  });
  const guard = a.certificate.verdict === 'guarded' ? a.certificate.guardBound : null;
  method('guardBound', [], 'number | null', guard
    ? ['if (this.guardMemo.value === undefined) this.guardMemo.value = (() => {', ...guardStatements(guard, g, writer, m).map((l) => `  ${l}`), '})();', 'return this.guardMemo.value;']
    : ['return null;'],
    guard ? `A sound upper bound on ${a.certificate.guard?.replace(/ < 1$/, '')}, evaluated on the actual values.` : 'No guard.');

  // Everything that does not move with the unknowns is computed once, in the constructor.
  const hoistRoots = [
    ...m.unknowns.map((u) => u.init),
    ...p.residual, ...(p.maps ?? []), ...p.factors.flatMap((f) => [f, ...g.node(f).args]),
    ...[...p.bTangents, ...p.aTangents, ...p.vjpY, ...p.vjpX, ...p.outputPartials.flatMap((o) => [...o.y, ...o.x])].filter((r): r is NodeId => r !== null),
    ...m.outputs.map((o) => o.node),
    ...(guard ? guard.terms.flat().flatMap((f) => (f.op ? factorsOf(f.op) : [])) : []),
    ...(structured?.leaves ?? []),
    ...(lsq ? [lsq.A, lsq.b, lsq.G, lsq.tau, ...(lsq.scale === null ? [] : [lsq.scale])] : []),
  ];
  const hoisted = writer.hoist(hoistRoots, new Set());
  // The declared inputs each hoisted value (and the guard) depends on, for `with`.
  const inputsOf = (id: NodeId): string[] =>
    cone(g, [id])
      .map((x) => g.node(x))
      .filter((n) => n.op === 'input' && ['data', 'param'].includes((n as { role: string }).role))
      .map((n) => (n as { name: string }).name);
  // How an InputError names a hoisted value that is not finite: the let, or the operation and its place.
  const letNames = new Map<NodeId, string>([...m.lets].map(([name, node]) => [node, name]));
  // Numbers are finite by the parser's checks: they get no label, so nothing is recorded for them.
  const hoistedLabel = (id: NodeId): string | null => {
    const n = g.node(id);
    if (n.op === 'const' || n.op === 'input') return null;
    const at = n.span ? ` at ${n.span.start.line}:${n.span.start.column}` : '';
    const letName = letNames.get(id);
    if (letName !== undefined) return `\`${letName}\` (let${at})`;
    const notation = primitive(n.op).notation;
    const shown = factsOf(n.op).transpose ? "'" : notation?.infix ?? notation?.prefix ?? `${n.op}(…)`;
    return `the value of \`${shown}\`${at}`;
  };
  const labelArgument = (id: NodeId): string => {
    const label = hoistedLabel(id);
    return label === null ? '' : `, ${literal(label)}`;
  };
  const guardInputs = guard ? [...new Set(guard.terms.flat().flatMap((f) => (f.op ? factorsOf(f.op) : [])).flatMap(inputsOf))] : [];
  // The batched f32 pipeline (gpu.js) for one vector unknown in fixed-point form; it reads
  // hoisted values by the names `hoist` gave them.
  const gpu = p.maps && m.unknowns.length === 1 ? gpuMapKernels(g, p.maps[0], m.unknowns[0].node, writer) : null;

  // The class and its inputs interface are declared under `$` names and exported under the
  // model's: a model named `K`, `Math` or `c` shadows nothing the module uses.
  const problem = modelNameProblem(m.name);
  if (problem !== null) throw new Error(`internal error: model name ${literal(m.name)} ${problem} (implc check reports E0109)`);
  const className = MODEL_CLASS;
  const spec = {
    model: m.name,
    dims: m.dims.map((d) => d.name),
    inputs: [...m.data.map((v) => ({ name: v.name, role: 'data' })), ...m.params.map((v) => ({ name: v.name, role: 'param' }))]
      .sort((x, y) => declOrder(m, x.name) - declOrder(m, y.name))
      .map((v) => ({ ...v, dims: [...(m.data.find((d) => d.name === v.name) ?? m.params.find((q) => q.name === v.name))!.shape] })),
  };
  const analysis = {
    verdict: a.certificate.verdict,
    test: a.certificate.test,
    guard: a.certificate.guard,
    rowwise: a.certificate.rowwise,
    identityRowsWhereFactorZero: identityRowsSite(a, p.factors),
    paramRowsVanishWhereFactorZero: paramRowsVanish(a, p.factors),
    nonDiagonalKinks: a.kinks.some((k) => primitive(k.primitive).kink?.factor === null),
    reason: a.certificate.reason,
  };
  const sites = p.factors.map((f) => {
    const n = g.node(f);
    const k = primitive(n.op).structure.kinkFactor!;
    return { primitive: k.of, range: k.range, at: n.span ? `${n.span.start.line}:${n.span.start.column}` : '?' };
  });

  const cls: OptionalKind<ClassDeclarationStructure> = {
    name: className,
    implements: ['BatchInstance'],
    // The class's own name is the model's, as for a class declared under it (WorkerPool finds the export by it).
    staticBlocks: [{ statements: [`Object.defineProperty(this, 'name', { value: ${literal(m.name)} });`] }],
    docs: [
      [
        `Model \`${m.name}\` of ${sourceFile}, generated by implc: do not edit.`,
        '',
        `Verdict: ${a.certificate.verdict} (${a.certificate.test})${a.certificate.guard ? `, guard \`${a.certificate.guard}\`` : ''}.`,
        `${a.certificate.reason}.`,
        '',
        `B = dF/dy = ${a.B}`,
        `A = dF/dx = ${a.A}`,
        `Definability: ${a.classes.definability}; Lipschitz: ${a.classes.lipschitz}.`,
      ].map(commentText).join('\n'),
    ],
    properties: [
      { name: 'spec', isStatic: true, isReadonly: true, type: 'InputSpec', initializer: literal(spec) },
      { name: 'name', isReadonly: true, initializer: literal(m.name) },
      { name: 'analysis', isReadonly: true, type: 'CompiledAnalysis', initializer: literal(analysis) },
      { name: 'kinkSites', isReadonly: true, type: 'readonly KinkSite[]', initializer: literal(sites) },
      { name: 'hasMap', isReadonly: true, initializer: String(p.maps !== null) },
      { name: 'gpu', isReadonly: true, type: 'GpuMapSpec | null', initializer: literal(gpu), docs: ['Kernels of one application of T over a batch: the gpu.js stages for `solveBatch` and their f64 CPU form (`cpu`) for `solveBatchF64` and `batchGradient` (null: no batched path).'] },
      { name: 'outputNames', isReadonly: true, type: 'readonly string[]', initializer: literal(m.outputs.map((o) => o.name)) },
      { name: 'dims', isReadonly: true, type: 'Readonly<Record<string, number>>' },
      { name: 'unknowns', isReadonly: true, type: 'VariableLayout[]' },
      { name: 'params', isReadonly: true, type: 'VariableLayout[]' },
      { name: 'blocks', isReadonly: true, type: 'VariableLayout[]', scope: Scope.Private },
      { name: 'n', isReadonly: true, type: 'number' },
      { name: 'm', isReadonly: true, type: 'number' },
      {
        name: 'c',
        isReadonly: true,
        type: 'Record<string, Tensor>',
        initializer: 'Object.create(null)',
        scope: Scope.Private,
        docs: ['Values fixed by the inputs: data, params, dims (by their names) and everything computed from them alone (named with a `$`). No prototype: only these names are in it.'],
      },
      { name: 'factorShapes', isReadonly: true, type: 'number[][]', scope: Scope.Private },
      { name: 'primalCache', type: '{ y: Float64Array; values: Record<string, Tensor> } | null', initializer: 'null', scope: Scope.Private },
      { name: 'guardMemo', isReadonly: true, type: '{ value?: number | null }', scope: Scope.Private, docs: ['The guard bound once computed, shared by the instances `with` derives while its inputs are unchanged.'] },
    ],
    ctors: [
      {
        parameters: [
          { name: 'inputs', type: INPUTS_TYPE },
          { name: 'base', type: className, hasQuestionToken: true },
        ],
        docs: [
          [
            'Binds the inputs: checks their names and shapes, fixes the dims, and computes every value',
            'that does not move with the unknowns. `base` is for {@link with}: the inputs are then the',
            'changed ones only, and everything that does not depend on them is shared with `base`.',
          ].join('\n'),
        ],
        statements: [
          `const bound = base ? bindChanges(${className}.spec, inputs as unknown as Record<string, unknown>, base.dims) : bindInputs(${className}.spec, inputs as unknown as Record<string, unknown>);`,
          'const d = base ? base.dims : bound.dims;',
          'this.dims = d;',
          'const c = this.c;',
          '/** Whether a value depending on these inputs must be computed anew (else it is shared with base). */',
          'const fresh = (...names: string[]): boolean => !base || names.some((name) => Object.hasOwn(bound.tensors, name));',
          ...m.dims.map((v) => `${member('c', v.name)} = scalar(${member('d', v.name)});`),
          ...[...m.data, ...m.params].map((v) => {
            const name = literal(v.name);
            return `${member('c', v.name)} = Object.hasOwn(bound.tensors, ${name}) ? ${member('bound.tensors', v.name)} : base!.value(${name});`;
          }),
          `this.unknowns = layout([${m.unknowns.map((u) => `{ name: ${literal(u.name)}, shape: ${shapeExpr(u.shape)} }`).join(', ')}]);`,
          `this.params = layout([${m.params.map((q) => `{ name: ${literal(q.name)}, shape: ${shapeExpr(q.shape)} }`).join(', ')}]);`,
          `this.blocks = layout([${p.residual.map((r, i) => `{ name: 'F${i}', shape: ${shapeExpr(g.shape(r))} }`).join(', ')}]);`,
          'this.n = totalSize(this.unknowns);',
          'this.m = totalSize(this.params);',
          `this.factorShapes = [${p.factors.map((f) => shapeExpr(g.shape(f))).join(', ')}];`,
          // Computed on first read (lazy): a solve does not pay for what only derivatives read.
          ...hoisted.map((h) => {
            const deps = inputsOf(h.node);
            const name = literal(h.name);
            return deps.length === 0
              ? `lazy(c, ${name}, base ? () => base.value(${name}) : () => ${h.expr}${labelArgument(h.node)});`
              : `lazy(c, ${name}, fresh(${deps.map((x) => literal(x)).join(', ')}) ? () => ${h.expr} : () => base!.value(${name})${labelArgument(h.node)});`;
          }),
          `this.guardMemo = ${guard ? `fresh(${guardInputs.map((x) => literal(x)).join(', ')}) ? {} : base!.guardMemo` : '{}'};`,
        ],
      },
    ],
    methods: [
      ...methods,
      {
        name: 'inputProblems',
        parameters: [],
        returnType: 'string[]',
        statements: ['return nonFiniteHoisted(this.c);'],
        docs: ['The values computed from the inputs alone so far that are not finite, each named with its place in the model.'],
      },
      {
        name: 'value',
        parameters: [{ name: 'name', type: 'string' }],
        returnType: 'Tensor',
        statements: [
          "if (typeof name !== 'string' || !Object.hasOwn(this.c, name)) throw new SolverError('invalid-option', `value(${typeof name === 'string' ? JSON.stringify(name) : typeof name}): not a value of model ${this.name}`);",
          'return this.c[name];',
        ],
        docs: ['A value fixed by the inputs, by its name in the kernels (batched kernels read their arguments here); a SolverError for any other name.'],
      },
      {
        name: 'with',
        parameters: [{ name: 'changes', type: `Partial<${INPUTS_TYPE}>` }],
        returnType: className,
        statements: [`return new ${className}(changes as ${INPUTS_TYPE}, this);`],
        docs: [
          [
            'A new instance whose inputs are these ones with `changes` applied (same dims): what',
            'depends only on unchanged inputs (W^T, opnorm(X), the guard bound) is shared, not',
            'recomputed. One instance per sample of a batch: `base.with({ u })`.',
          ].join('\n'),
        ],
      },
      {
        name: 'wrapFactors',
        scope: Scope.Private,
        parameters: [{ name: 'factors', type: 'readonly Float64Array[]' }],
        returnType: 'Tensor[]',
        statements: ['return wrapFactors(factors, this.factorShapes);'],
      },
      {
        name: 'solve',
        parameters: [{ name: 'options', type: 'RunOptions', initializer: '{}' }],
        returnType: 'RunResult',
        statements: ['return runModel(this, options);'],
        docs: ['Solve, certify at the solution, and differentiate (LANGUAGE.md `implc solve`).'],
      },
    ],
  };

  // One structure printed once, never parsed: adding statements one by one to a source file
  // re-parses it each time (10 ms a model; a file of a thousand models took 14 s to build).
  const statements: StatementStructures[] = [];
  statements.push({
    kind: StructureKind.ImportDeclaration,
    moduleSpecifier: RUNTIME_IMPORT,
    namedImports: [
      'addInto', ...(usesAddProduct ? ['addProduct'] : []), 'assembleStructured', 'bindChanges', 'bindInputs', 'K', 'kinkGap', 'layout', 'lazy', ...(guard ? ['matrixNormUpper', 'operatorNormUpper'] : []), 'nonFiniteHoisted', 'put', 'requireLength', 'runModel', 'scalar', 'SolverError',
      ...(writer.usesScaledTranspose ? ['scaledTranspose'] : []), 'sameVector', 'totalSize', 'views', 'wrapFactors',
    ],
  });
  statements.push({
    kind: StructureKind.ImportDeclaration,
    moduleSpecifier: RUNTIME_IMPORT,
    isTypeOnly: true,
    namedImports: ['BatchInstance', 'CompiledAnalysis', ...([...m.data, ...m.params].some((v) => v.shape.length >= 2) ? ['DenseInput'] : []), 'GpuMapSpec', 'InputSpec', 'KinkSite', 'LeastSquaresProx', 'Matrix', 'RunOptions', 'RunResult', 'Tensor', 'VariableLayout'],
  });
  statements.push({
    kind: StructureKind.Interface,
    name: INPUTS_TYPE,
    docs: [commentText(`Inputs of \`${m.name}\`: scalars as numbers, vectors as arrays, matrices as arrays of rows or { shape, data } (row-major).`)],
    properties: [...m.data, ...m.params]
      .sort((x, y) => declOrder(m, x.name) - declOrder(m, y.name))
      .map((v) => ({
        // Quoted unless an ASCII identifier name: `"ⸯ"`, `"__proto__"`.
        name: propertyKey(v.name),
        type: jsonType(v.shape),
        isReadonly: true,
        docs: [commentText(`${m.data.includes(v) ? 'data' : 'param'} ${v.name}: ${showDeclType(v.shape)}`)],
      })),
  });
  statements.push({ ...cls, kind: StructureKind.Class });
  statements.push({ kind: StructureKind.ExportDeclaration, namedExports: [{ name: MODEL_CLASS, alias: m.name }] });
  statements.push({ kind: StructureKind.ExportDeclaration, isTypeOnly: true, namedExports: [{ name: INPUTS_TYPE, alias: `${m.name}Inputs` }] });
  const text = printStructure({ kind: StructureKind.SourceFile, statements });
  const header = commentText(`// Generated by implc from ${sourceFile}, model ${m.name}. Do not edit: rebuild with \`implc build\`.`) + '\n';
  return { model: m.name, fileName: `${m.name}.ts`, text: header + text };
}

function guardStatements(bound: NormBound, g: Graph, writer: KernelWriter, m: IrModel): string[] {
  const shape = m.unknowns[0].shape;
  const factor = (f: NormBound['terms'][number][number]): string => {
    if (f.value !== null) return String(f.value);
    const op = f.op!;
    if (op.kind === 'scale' && op.of.kind === 'identity') {
      const v = `Math.abs(${writer.read(op.factor)}.data[0])`;
      return op.inverse ? `1 / ${v}` : v;
    }
    // M itself (W z): its norm from its entries, not from M applied to n unit vectors.
    if (op.kind === 'matmul' && op.of.kind === 'identity' && g.shape(op.matrix).length === 2 && shape.length === 1) {
      return `matrixNormUpper(${writer.read(op.matrix)})`;
    }
    return `operatorNormUpper((v) => ${applyLinOp(op, 'v', writer)}, ${shapeExpr(shape)})`;
  };
  const terms = bound.terms.map((t) => (t.length ? t.map(factor).join(' * ') : '1'));
  return ['const c = this.c;', 'const d = this.dims;', `return ${terms.join(' + ')};`];
}

/** A kink-free LinOp applied to a tensor expression, as kernel calls. */
function applyLinOp(op: LinOp, v: string, writer: KernelWriter): string {
  const c = (id: NodeId) => writer.read(id);
  switch (op.kind) {
    case 'identity':
      return v;
    case 'scale':
      return op.inverse ? `K.div(${applyLinOp(op.of, v, writer)}, ${c(op.factor)})` : `K.mul(${c(op.factor)}, ${applyLinOp(op.of, v, writer)})`;
    case 'diag':
      return `K.mul(${c(op.factor)}, ${applyLinOp(op.of, v, writer)})`;
    case 'matmul':
      return `K.matmul(${c(op.matrix)}, ${applyLinOp(op.of, v, writer)})`;
    case 'rmatmul':
      return `K.matmul(${applyLinOp(op.of, v, writer)}, ${c(op.matrix)})`;
    case 'sum':
      return op.terms.reduce<string>((acc, t, i) => {
        const term = applyLinOp(t.op, v, writer);
        if (i === 0) return t.sign === 1 ? term : `K.neg(${term})`;
        return `K.${t.sign === 1 ? 'add' : 'sub'}(${acc}, ${term})`;
      }, '');
    default:
      throw new Error(`internal error: a guard over a ${op.kind} operator`);
  }
}

function declOrder(m: IrModel, name: string): number {
  return [...m.data, ...m.params].find((v) => v.name === name)!.span.start.offset;
}

function jsonType(shape: Shape): string {
  if (shape.length === 0) return 'number';
  if (shape.length === 1) return 'readonly number[] | Float64Array';
  return 'readonly (readonly number[])[] | DenseInput';
}

function showDeclType(shape: Shape): string {
  return shape.length === 0 ? 'real' : `real[${shape.join(', ')}]`;
}
