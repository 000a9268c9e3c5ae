/**
 * The module's methods that carry the analysis's structure to the runtime: B assembled from
 * its operator, the composite problem a structured solver takes, the guard's bound, and the
 * per-solution cache of the derivative kernels.
 */
import { Scope } from 'ts-morph';
import type { NodeId } from '../../src/primitives/types.ts';
import type { Coefficient, CompositeForm, GuardFactor } from '../../src/structure/types.ts';
import { shapeExpr } from '../kernel-writer.ts';
import { literal } from '../names.ts';
import type { ModuleContext } from './context.ts';

/** The name of the composite problem's linear term among the values fixed by the inputs. */
export const COMPOSITE_OFFSET = '$composite_offset';

/**
 * The constructor's statement defining c = u(0) lazily: computed on first use, and shared with
 * a `with` base whose changes it does not depend on (a Lasso path changes lambda, not X'y).
 */
export function compositeLazy(ctx: ModuleContext, inputsOf: (id: NodeId) => string[]): string[] {
  const f = ctx.s.composite;
  if (!f) return [];
  const deps = [...new Set(inputsOf(f.argument))];
  const name = literal(COMPOSITE_OFFSET);
  return [`lazy(c, ${name}, fresh(${deps.map((x) => literal(x)).join(', ')}) ? () => this.compositeOffset() : () => base!.value(${name}));`];
}

/** The hoisted nodes these methods read: the constructor defines them (lazily). */
export function structureRoots(ctx: ModuleContext): NodeId[] {
  const { s } = ctx;
  return [
    ...(s.denseB?.leaves ?? []), ...guardNodes(ctx), ...(s.composite ? compositeNodes(s.composite) : []), ...(s.projection?.radius != null ? [s.projection.radius] : []),
    ...(s.cone ? [s.cone.cone, ...s.cone.matrices.map((x) => x.matrix)] : []),
  ];
}

export function guardNodes(ctx: ModuleContext): NodeId[] {
  return (ctx.s.guard?.terms ?? []).flat().flatMap((f: GuardFactor) =>
    f.kind === 'number' ? [] : f.kind === 'operator' ? [...f.form.leaves] : [f.node]);
}

function coefficientNodes(c: Coefficient): NodeId[] {
  return c.terms.flatMap((t) => t.factors.map((f) => f.node));
}

function compositeNodes(f: CompositeForm): NodeId[] {
  const penalty = f.penalty.kind === 'l1' ? [f.penalty.weights] : f.penalty.kind === 'box' ? [...f.penalty.lower, ...f.penalty.upper] : [];
  return [
    ...coefficientNodes(f.scale), ...coefficientNodes(f.identity),
    ...f.diagonals.flatMap((d) => [...coefficientNodes(d.coef), d.vector]),
    ...f.grams.flatMap((x) => [...coefficientNodes(x.coef), x.matrix]),
    ...f.matrices.flatMap((x) => [...coefficientNodes(x.coef), x.matrix]),
    ...penalty,
  ];
}

export function emitStructureMethods(ctx: ModuleContext): void {
  const { s, writer, unknownViews, factorWrap } = ctx;
  const fParams: [string, string][] = [['y', 'Float64Array'], ['factors', 'readonly Float64Array[]']];
  // B assembled from its structure (src/runtime/structured.ts) where the analysis read it.
  const B = s.denseB;
  ctx.method('denseB', [...fParams, ['rows', 'Int32Array | null']], 'Matrix | null',
    B
      ? ctx.atSolution([...B.leaves], ctx.derivative([]), [unknownViews, factorWrap], (results) => `return assembleStructured(${JSON.stringify(B.op)}, [${results.join(', ')}], this.n, rows);`)
      : ['void y, factors, rows;', 'return null;'],
    B
      ? 'B[rows, rows] (all of B when rows is null) assembled from its structure, without kernel calls per column; null when the values do not fit it.'
      : 'No structured assembly for this B: null (the runtime applies jvpY to unit vectors).');
  // The same operator with its leaves' values, for products with B and B^T over a batch
  // (src/runtime/batch-backward.ts): shared matrices stay the instances' own tensors.
  ctx.method('bOperator', fParams, '{ op: Operator; leaves: Tensor[] } | null',
    B
      ? ctx.atSolution([...B.leaves], ctx.derivative([]), [unknownViews, factorWrap], (results) => `return { op: ${JSON.stringify(B.op)}, leaves: [${results.join(', ')}] };`)
      : ['void y, factors;', 'return null;'],
    B ? 'B as an operator over its leaves at y (identity, scalings, diagonal factors, matrix products), for batched products with B and B^T.' : 'No operator form for this B: null.');
  emitComposite(ctx);
  emitCone(ctx);
  emitProjection(ctx);
  emitGuard(ctx);
  ctx.methods.push({
    name: 'primal',
    scope: Scope.Private,
    parameters: [{ name: 'y', type: 'Float64Array' }],
    returnType: 'Record<string, Tensor>',
    docs: ['The values of the derivative kernels that depend on y alone, for the last y (compared entry by entry), each computed on first use.'],
    statements: (() => {
      const env = new Map<NodeId, string>([...ctx.unknownEnv, ...ctx.primalNodes.map((id): [NodeId, string] => [id, `values.t${id}`])]);
      return [
        'const hit = this.primalCache;',
        'if (hit !== null && sameVector(hit.y, y)) return hit.values;',
        'const c = this.c;',
        // A copy: the kernels of later calls must see these values, whatever the caller does to y.
        'const yc = y.slice();',
        ctx.unknownViewsOf('yc'),
        'const values: Record<string, Tensor> = {};',
        ...ctx.primalNodes.map((id) => `lazy(values, ${literal(`t${id}`)}, () => ${writer.expression(id, env)});`),
        'this.primalCache = { y: yc, values };',
        'return values;',
      ];
    })(),
  });
}

/** A coefficient's value as an expression over hoisted scalars. */
function coefficientExpr(ctx: ModuleContext, c: Coefficient): string {
  if (c.terms.length === 0) return '0';
  return c.terms
    .map((t, i) => {
      const factors = t.factors.map((f) => (f.inverse ? `(1 / ${ctx.writer.read(f.node)}.data[0])` : `${ctx.writer.read(f.node)}.data[0]`));
      const body = factors.length ? factors.join(' * ') : '1';
      return i === 0 ? `${t.sign === 1 ? '' : '-'}${body}` : `${t.sign === 1 ? '+' : '-'} ${body}`;
    })
    .join(' ');
}

function emitComposite(ctx: ModuleContext): void {
  const f = ctx.s.composite;
  if (!f) {
    ctx.method('compositeProblem', [], 'CompositeProblem | null', ['return null;'], 'The map is not a recognized prox of a composite quadratic: null.');
    return;
  }
  const { writer } = ctx;
  const read = (id: NodeId) => writer.read(id);
  const vector = (id: NodeId) => `spread(${read(id)}, n)`;
  // c = u(0): the prox's argument at y = 0, through the model's own kernels, computed once per
  // inputs it depends on (a constructor `lazy`, shared along a `with` path: see compositeLazy).
  const zero = '$zero';
  const offset = writer.body([f.argument], new Map([[f.unknown, zero]]));
  ctx.methods.push({
    name: 'compositeOffset',
    scope: Scope.Private,
    parameters: [],
    returnType: 'Tensor',
    docs: ["c = u(0), the composite problem's linear term: the prox's argument at y = 0."],
    statements: [
      'const c = this.c;',
      `const ${zero}: Tensor = { shape: this.unknowns[0].shape.slice(), data: new Float64Array(this.n) };`,
      ...offset.lines,
      `return ${offset.results[0]};`,
    ],
  });
  const penalty =
    f.penalty.kind === 'l1'
      ? `{ kind: 'l1', weights: ${vector(f.penalty.weights)} }`
      : f.penalty.kind === 'box'
        ? `{ kind: 'box', lower: bound([${f.penalty.lower.map(read).join(', ')}], n, -1), upper: bound([${f.penalty.upper.map(read).join(', ')}], n, 1) }`
        : "{ kind: 'none' }";
  const diagonal = f.diagonals.length
    ? `sumDiagonals([${f.diagonals.map((d) => `[${coefficientExpr(ctx, d.coef)}, ${read(d.vector)}]`).join(', ')}], n)`
    : 'null';
  ctx.method('compositeProblem', [], 'CompositeProblem | null', [
    'const c = this.c;',
    'const n = this.n;',
    `const kappa = ${coefficientExpr(ctx, f.scale)};`,
    'if (!(kappa > 0)) return null;',
    // y = clip(u) / kappa is the form only at kappa = 1 (a projection does not commute with a scale).
    ...(f.penalty.kind === 'box' ? ['if (Math.abs(kappa - 1) > 1e-12) return null;'] : []),
    'return {',
    '  size: n,',
    `  identity: ${coefficientExpr(ctx, f.identity)},`,
    `  diagonal: ${diagonal},`,
    `  grams: [${f.grams.map((x) => `{ coef: ${coefficientExpr(ctx, x.coef)}, matrix: ${read(x.matrix)}, transposed: ${x.transposed} }`).join(', ')}],`,
    `  matrices: [${f.matrices.map((x) => `{ coef: ${coefficientExpr(ctx, x.coef)}, matrix: ${read(x.matrix)} }`).join(', ')}],`,
    `  offset: spread(c[${literal(COMPOSITE_OFFSET)}], n),`,
    `  penalty: ${penalty},`,
    '};',
  ], [
    'The fixpoint is y = P(M y + c) / kappa with P a row-wise prox (the analysis read it from the algebra of the map):',
    'proximal gradient on min 1/2 y\'Hy - c\'y + g(y), which a structured solver takes (src/runtime/composite.ts); null when kappa <= 0 on these inputs.',
  ].join('\n'));
}

/**
 * `coneProgram()`: the cone program the model's equations state (src/analysis/cone-form.ts),
 * its matrices and the cone's code as the instance's values, for the cone solver and the
 * cone's run-time certificate (src/runtime/cone-program.ts); null for any other model.
 */
function emitCone(ctx: ModuleContext): void {
  const f = ctx.s.cone;
  if (!f) {
    ctx.method('coneProgram', [], 'ConeProgramHook | null', ['return null;'], 'The equations are not a cone program in Minty form: null.');
    return;
  }
  const read = (id: NodeId) => ctx.writer.read(id);
  ctx.method('coneProgram', [], 'ConeProgramHook | null', [
    'const c = this.c;',
    'return {',
    `  cone: ${read(f.cone)},`,
    `  coneName: ${literal(f.coneName)},`,
    `  primitive: ${literal(f.primitive)},`,
    `  at: ${literal(f.at)},`,
    `  x: ${f.x},`,
    `  v: ${f.v},`,
    `  primal: ${JSON.stringify(f.primal)},`,
    `  dual: ${JSON.stringify(f.dual)},`,
    `  matrices: [${f.matrices.map((x) => `{ coef: ${x.coef}, matrix: ${read(x.matrix)}, transposed: ${x.transposed} }`).join(', ')}],`,
    '};',
  ], [
    `The equations state the cone program min c'x s.t. A x + s = b, s in ${f.coneName} in Minty form (s = proj_cone(v), y = s - v):`,
    'A as its matrices, the cone\'s code and where x, v and the two equations lie; b and c are F at 0 (src/runtime/cone-program.ts).',
  ].join('\n'));
}

/**
 * `projectionFixpoint()`: for y = P(u(y)) with P a non-diagonal projection, u and M ydot at a
 * point, so that the run-time certificate can try every face of P at the solution
 * (src/runtime/projection-certificate.ts); null for any other model.
 */
function emitProjection(ctx: ModuleContext): void {
  const p = ctx.s.projection;
  if (!p) {
    ctx.method('projectionFixpoint', [], 'ProjectionFixpoint | null', ['return null;'], 'The map is not a projection with faces: null.');
    return;
  }
  const { writer } = ctx;
  const u = writer.body([p.argument], ctx.unknownEnv);
  const dot = '$dot_seed';
  const t = writer.body([p.tangent], new Map([...ctx.unknownEnv, [p.seed, dot]]));
  ctx.method('projectionFixpoint', [], 'ProjectionFixpoint | null', [
    'return {',
    `  kind: ${literal(p.kind)},`,
    `  at: ${literal(p.at)},`,
    ...(p.radius !== null ? [`  radius: this.c[${literal(writer.hoistedName(p.radius))}].data[0],`] : []),
    '  argument: (y: Float64Array): Float64Array => {',
    '    const c = this.c;',
    `    ${ctx.unknownViews}`,
    ...u.lines.map((l) => `    ${l}`),
    `    return Float64Array.from(${u.results[0]}.data);`,
    '  },',
    '  argumentJvp: (y: Float64Array, ydot: Float64Array, out: Float64Array): void => {',
    '    const c = this.c;',
    // (u affine in y: its tangent reads no y, then y is unused.)
    ...(t.lines.some((l) => [...ctx.unknownEnv.values()].some((name) => l.includes(name))) ? [`    ${ctx.unknownViews}`] : ['    void y;']),
    `    const [${dot}] = views(ydot, this.unknowns, 'ydot');`,
    ...t.lines.map((l) => `    ${l}`),
    `    out.set(${t.results[0]}.data);`,
    '  },',
    '};',
  ], 'The fixpoint is y = P(u(y)) with P a projection with faces: u and M ydot at a point, for the run-time certificate of its faces.');
}

function emitGuard(ctx: ModuleContext): void {
  const guard = ctx.s.guard;
  const { writer } = ctx;
  const shape = ctx.s.ir.unknowns[0]?.shape ?? [];
  const factor = (f: GuardFactor): string => {
    switch (f.kind) {
      case 'number':
        return String(f.value);
      case 'scalar': {
        const v = `Math.abs(${writer.read(f.node)}.data[0])`;
        return f.inverse ? `1 / ${v}` : v;
      }
      case 'matrix':
        return `matrixNormUpper(${writer.read(f.node)})`;
      case 'operator':
        return `operatorNormUpper((v) => ({ shape: [v.data.length], data: applyOperator(${JSON.stringify(f.form.op)}, [${f.form.leaves.map((l) => writer.read(l)).join(', ')}], v.data) }), ${shapeExpr(shape)})`;
    }
  };
  const terms = guard?.terms.map((t) => (t.length ? t.map(factor).join(' * ') : '1')) ?? [];
  ctx.method('guardBound', [], 'number | null',
    guard
      ? ['if (this.guardMemo.value === undefined) this.guardMemo.value = (() => {', '  const c = this.c;', '  const d = this.dims;', '  void d;', `  return ${terms.join(' + ')};`, '})();', 'return this.guardMemo.value;']
      : ['return null;'],
    guard ? `A sound upper bound on ${guard.text.replace(/ < 1$/, '')}, evaluated on the actual values.` : 'No guard.');
}
