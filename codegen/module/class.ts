/**
 * The generated class around the kernels: its static spec, its properties, and the
 * constructor that binds inputs and defines every value fixed by them (lazily, shared with a
 * `with` base while its inputs are unchanged).
 */
import { Scope, type ClassDeclarationStructure, type OptionalKind, type PropertyDeclarationStructure } from 'ts-morph';
import { cone } from '../../src/ir/ad.ts';
import type { IrModel } from '../../src/ir/model.ts';
import { isLabels } from '../../src/ir/shape.ts';
import type { NodeId } from '../../src/primitives/types.ts';
import { shapeExpr } from '../kernel-writer.ts';
import { INPUTS_TYPE, literal, member, MODEL_CLASS } from '../names.ts';
import type { ModuleContext } from './context.ts';
import { compositeLazy, guardNodes, structureRoots } from './structure-methods.ts';

export function declOrder(m: IrModel, name: string): number {
  return [...m.data, ...m.params].find((v) => v.name === name)!.span.start.offset;
}

/** The declared inputs (data and params) a node depends on, for `with`. */
function inputsOf(ctx: ModuleContext, id: NodeId): string[] {
  const g = ctx.s.graph;
  return cone(g, [id])
    .map((x) => g.node(x))
    .filter((n) => n.op === 'input' && ['data', 'param'].includes((n as { role: string }).role))
    .map((n) => (n as { name: string }).name);
}

/** Everything that does not move with the unknowns, computed (on first read) in the constructor. */
function constructorStatements(ctx: ModuleContext): string[] {
  const { s, writer } = ctx;
  const m = s.ir;
  const g = s.graph;
  const k = s.kernels;
  const hoistRoots = [
    ...m.unknowns.map((u) => u.init),
    ...k.residual, ...(k.maps ?? []), ...s.sites.flatMap((x) => [x.node, ...g.node(x.node).args]),
    ...k.derivativeRoots,
    ...m.outputs.map((o) => o.node),
    // The `require` clauses: those on the inputs alone, and the input-only parts of the others,
    // are hoisted like any input-only value (shared along `with`).
    ...s.requires.map((r) => r.node),
    ...structureRoots(ctx),
  ];
  const hoisted = writer.hoist(hoistRoots, new Set());
  const labelArgument = (id: NodeId): string => {
    const label = s.labels.get(id);
    return label === undefined ? '' : `, ${literal(label)}`;
  };
  const guardInputs = [...new Set(guardNodes(ctx).flatMap((id) => inputsOf(ctx, id)))];
  return [
    `const bound = base ? bindChanges(${MODEL_CLASS}.spec, inputs as unknown as Record<string, unknown>, base.dims) : bindInputs(${MODEL_CLASS}.spec, inputs as unknown as Record<string, unknown>);`,
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
    `this.outputLayout = layout([${m.outputs.map((o) => `{ name: ${literal(o.name)}, shape: ${shapeExpr(g.shape(o.node))} }`).join(', ')}]);`,
    `this.blocks = layout([${k.residual.map((r, i) => `{ name: 'F${i}', shape: ${shapeExpr(g.shape(r))} }`).join(', ')}]);`,
    'this.n = totalSize(this.unknowns);',
    'this.m = totalSize(this.params);',
    `this.factorShapes = [${s.sites.map((x) => shapeExpr(g.shape(x.node))).join(', ')}];`,
    // Computed on first read (lazy): a solve does not pay for what only derivatives read.
    ...hoisted.map((h) => {
      const deps = inputsOf(ctx, h.node);
      const name = literal(h.name);
      return deps.length === 0
        ? `lazy(c, ${name}, base ? () => base.value(${name}) : () => ${h.expr}${labelArgument(h.node)});`
        : `lazy(c, ${name}, fresh(${deps.map((x) => literal(x)).join(', ')}) ? () => ${h.expr} : () => base!.value(${name})${labelArgument(h.node)});`;
    }),
    ...compositeLazy(ctx, (id) => inputsOf(ctx, id)),
    `this.guardMemo = ${s.guard ? `fresh(${guardInputs.map((x) => literal(x)).join(', ')}) ? {} : base!.guardMemo` : '{}'};`,
  ];
}

function properties(ctx: ModuleContext, gpu: unknown): OptionalKind<PropertyDeclarationStructure>[] {
  const { s } = ctx;
  const m = s.ir;
  const spec = {
    model: m.name,
    dims: m.dims.map((d) => d.name),
    inputs: [...m.data.map((v) => ({ name: v.name, role: 'data' })), ...m.params.map((v) => ({ name: v.name, role: 'param' }))]
      .sort((x, y) => declOrder(m, x.name) - declOrder(m, y.name))
      .map((v) => {
        const decl = (m.data.find((d) => d.name === v.name) ?? m.params.find((q) => q.name === v.name))!;
        // Group labels (`index[p]`) are checked at bind time (src/runtime/inputs.ts).
        return { ...v, dims: [...decl.shape], ...(isLabels(m.graph.node(decl.node).type) ? { index: true } : {}) };
      }),
    // Cones: their lengths bind or check a declared dim at bind time (src/runtime/inputs.ts).
    ...(m.cones.length ? { cones: m.cones.map((k) => ({ name: k.name, ...(k.declared !== null ? { declared: k.declared } : {}), blocks: k.blocks })) } : {}),
  };
  const sites = s.sites.map((x) => ({ primitive: x.primitive, range: x.range, at: x.at, inF: x.inF, ...(x.switch ? { switch: true } : {}), outputs: x.outputs }));
  return [
    { name: 'spec', isStatic: true, isReadonly: true, type: 'InputSpec', initializer: literal(spec) },
    { name: 'name', isReadonly: true, initializer: literal(m.name) },
    { name: 'analysis', isReadonly: true, type: 'CompiledAnalysis', initializer: literal(s.summary) },
    { name: 'kinkSites', isReadonly: true, type: 'readonly KinkSite[]', initializer: literal(sites) },
    {
      name: 'outputNonDiagonalSites', isReadonly: true, type: 'readonly { primitive: string; at: string; outputs: readonly number[]; used: string; hull: string }[]',
      initializer: literal(s.outputNonDiagonalKinks.map((x) => ({ primitive: x.primitive, at: x.at, outputs: x.outputs, used: x.used, hull: x.hull }))),
      docs: ['The kinks without a diagonal factor (projections, block_soft_threshold, norm2, norminf, maxof, minof) that only outputs read (no kink-factor site: their gaps are `outputNonDiagonalGaps`), for RunResult.outputKinks.'],
    },
    { name: 'hasMap', isReadonly: true, initializer: String(s.kernels.maps !== null) },
    { name: 'gpu', isReadonly: true, type: 'GpuMapSpec | null', initializer: literal(gpu), docs: ['Kernels of one application of T over a batch: the gpu.js stages for `solveBatch` and their f64 CPU form (`cpu`) for `solveBatchF64` and `batchGradient` (null: no batched path).'] },
    { name: 'outputNames', isReadonly: true, type: 'readonly string[]', initializer: literal(m.outputs.map((o) => o.name)) },
    { name: 'outputLayout', isReadonly: true, type: 'VariableLayout[]', docs: ['Each output\'s block of the flat vector `outputs(y)` (row-major, in declaration order).'] },
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
  ];
}

/** The methods every module has besides its kernels: values, `with`, the solve. */
function instanceMethods(): ClassDeclarationStructure['methods'] {
  return [
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
      returnType: MODEL_CLASS,
      statements: [`return new ${MODEL_CLASS}(changes as ${INPUTS_TYPE}, this);`],
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
  ];
}

/** The class, declared under `$Model` (a model named `K`, `Math` or `c` shadows nothing the module uses). */
export function modelClass(ctx: ModuleContext, gpu: unknown, docLines: string[]): OptionalKind<ClassDeclarationStructure> {
  return {
    name: MODEL_CLASS,
    implements: ['BatchInstance'],
    // The class's own name is the model's, as for a class declared under it (WorkerPool finds the export by it).
    staticBlocks: [{ statements: [`Object.defineProperty(this, 'name', { value: ${literal(ctx.s.ir.name)} });`] }],
    docs: [docLines.join('\n')],
    properties: properties(ctx, gpu),
    ctors: [
      {
        parameters: [
          { name: 'inputs', type: INPUTS_TYPE },
          { name: 'base', type: MODEL_CLASS, hasQuestionToken: true },
        ],
        docs: [
          [
            'Binds the inputs: checks their names and shapes, fixes the dims, and computes every value',
            'that does not move with the unknowns. `base` is for {@link with}: the inputs are then the',
            'changed ones only, and everything that does not depend on them is shared with `base`.',
          ].join('\n'),
        ],
        statements: constructorStatements(ctx),
      },
    ],
    methods: [...ctx.methods, ...(instanceMethods() ?? [])],
  };
}
