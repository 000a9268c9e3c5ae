/** The module's derivative kernels: products with B, A and their transposes, and the outputs' partials. */
import type { NodeId } from '../../src/primitives/types.ts';
import { localName } from '../names.ts';
import type { ModuleContext } from './context.ts';

const NO_OUTPUT =
  "  default: throw new SolverError('invalid-option', `no output ${typeof k === 'number' ? k : typeof k} of model ${this.name}: its outputs are ${this.outputNames.length === 0 ? 'none' : `0 to ${this.outputNames.length - 1}`}`);";

export function emitDerivativeKernels(ctx: ModuleContext): void {
  const { s, unknownViews, factorWrap } = ctx;
  const m = s.ir;
  const k = s.kernels;
  const fParams: [string, string][] = [['y', 'Float64Array'], ['factors', 'readonly Float64Array[]']];
  const dotLocals = m.unknowns.map((u, i) => localName('dot', u.name, i));
  const paramDots = m.params.map((q, i) => localName('dot', q.name, i));
  const bars = k.cotangentSeeds.map((_, i) => `bar_${i}`);
  const cotangents: [NodeId, string][] = k.cotangentSeeds.map((seed, i) => [seed, bars[i]]);
  const barViews = `const [${bars.join(', ')}] = views(w, this.blocks, 'w');`;

  ctx.method('jvpY', [...fParams, ['ydot', 'Float64Array'], ['out', 'Float64Array']], 'void',
    ctx.kernel(k.bTangents, ctx.derivative(m.unknowns.map((_, i) => [k.unknownSeeds[i], dotLocals[i]])),
      [unknownViews, factorWrap, `const [${dotLocals.join(', ')}] = views(ydot, this.unknowns, 'ydot');`], 'out', 'this.blocks'),
    `B ydot, with B = dF/dy = ${s.text.B}.`);
  ctx.method('vjpY', [...fParams, ['w', 'Float64Array'], ['out', 'Float64Array']], 'void',
    ctx.kernel(k.vjpY, ctx.derivative(cotangents), [unknownViews, factorWrap, barViews], 'out', 'this.unknowns'), 'B^T w.');
  ctx.method('jvpX', [...fParams, ['xdot', 'Float64Array'], ['out', 'Float64Array']], 'void',
    ctx.kernel(k.aTangents, ctx.derivative(m.params.map((_, i) => [k.paramSeeds[i], paramDots[i]])),
      [unknownViews, factorWrap, m.params.length ? `const [${paramDots.join(', ')}] = views(xdot, this.params, 'xdot');` : 'void xdot;'], 'out', 'this.blocks'),
    `A xdot, with A = dF/dx = ${s.text.A}.`);
  ctx.method('vjpX', [...fParams, ['w', 'Float64Array'], ['out', 'Float64Array']], 'void',
    ctx.kernel(k.vjpX, ctx.derivative(cotangents), [unknownViews, factorWrap, barViews], 'out', 'this.params'), 'A^T w.');
  ctx.method('addVjpX', [...fParams, ['w', 'Float64Array'], ['out', 'Float64Array'], ['scale', 'number']], 'void', (() => {
    const body = ctx.accumulate(k.vjpX, ctx.derivative(cotangents), 'out', 'this.params');
    return ['const c = this.c;', unknownViews, factorWrap, barViews, ...(ctx.usesPrimal(body) ? [ctx.primalLoad] : []), ...body];
  })(), 'out += scale A^T w (a running gradient sum: outer-product parameter gradients added in place, never formed).');

  if (k.outputPartials.some((op) => op.seed !== null)) {
    emitVectorOutputKernels(ctx, fParams);
    return;
  }
  ctx.method('outputPartials', [['k', 'number'], ...fParams], '{ y: Float64Array; x: Float64Array }', [
    'const y_ = new Float64Array(this.n);',
    'const x_ = new Float64Array(this.m);',
    'switch (k) {',
    ...k.outputPartials.flatMap((op, j) => {
      const { lines, results } = ctx.writer.body([...op.y, ...op.x], ctx.derivative([]));
      return [
        `  case ${j}: {`,
        '    const c = this.c;',
        `    ${unknownViews}`,
        `    ${factorWrap}`,
        ...(ctx.usesPrimal([...lines, ...results.map((r) => r ?? '')]) ? [`    ${ctx.primalLoad}`] : []),
        ...lines.map((l) => `    ${l}`),
        ...results.slice(0, m.unknowns.length).map((r, i) => `    put(${r ?? 'null'}, y_, this.unknowns[${i}].offset, this.unknowns[${i}].size);`),
        ...results.slice(m.unknowns.length).map((r, i) => `    put(${r ?? 'null'}, x_, this.params[${i}].offset, this.params[${i}].size);`),
        '    break;',
        '  }',
      ];
    }),
    NO_OUTPUT,
    '}',
    'return { y: y_, x: x_ };',
  ], 'Explicit partial derivatives of output k in the unknowns and the params.');
  ctx.method('addOutputPartials', [['k', 'number'], ...fParams, ['yOut', 'Float64Array | null'], ['xOut', 'Float64Array | null'], ['scale', 'number']], 'void', [
    'switch (k) {',
    ...k.outputPartials.flatMap((op, j) => {
      const yBody = ctx.accumulate(op.y, ctx.derivative([]), 'yOut', 'this.unknowns');
      const xBody = ctx.accumulate(op.x, ctx.derivative([]), 'xOut', 'this.params');
      return [
        `  case ${j}: {`,
        '    const c = this.c;',
        `    ${unknownViews}`,
        `    ${factorWrap}`,
        ...(ctx.usesPrimal([...yBody, ...xBody]) ? [`    ${ctx.primalLoad}`] : []),
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
    NO_OUTPUT,
    '}',
  ], 'yOut += scale d o_k/dy, xOut += scale d o_k/dx (each skipped when null): the explicit partials of output k, added in place.');
}

/**
 * The output kernels of a module with a vector or matrix output (issue 15): `outputVjp`, one
 * case per declared output, pulls a cotangent of the output's shape back through the output's
 * own formula (its seed bound to the cotangent; a scalar output scales by its one entry);
 * `addOutputPartials` and `outputPartials` of output entry k (output-layout.ts) are `outputVjp`
 * with a unit cotangent at that entry.
 */
function emitVectorOutputKernels(ctx: ModuleContext, fParams: [string, string][]): void {
  const { s, unknownViews, factorWrap } = ctx;
  const k = s.kernels;
  ctx.method('outputVjp', [['j', 'number'], ['outbar', 'Float64Array'], ...fParams, ['yOut', 'Float64Array | null'], ['xOut', 'Float64Array | null'], ['scale', 'number']], 'void', [
    "if (!Number.isInteger(j) || j < 0 || j >= this.outputLayout.length) throw new SolverError('invalid-option', `outputVjp: no output ${typeof j === 'number' ? j : typeof j} of model ${this.name}: its outputs are ${this.outputLayout.length === 0 ? 'none' : `0 to ${this.outputLayout.length - 1}`}`);",
    "requireLength('outbar', outbar, this.outputLayout[j].size);",
    'switch (j) {',
    ...k.outputPartials.flatMap((op, j) => {
      const env = ctx.derivative(op.seed === null ? [] : [[op.seed, 'obar']]);
      const yBody = ctx.accumulate(op.y, env, 'yOut', 'this.unknowns');
      const xBody = ctx.accumulate(op.x, env, 'xOut', 'this.params');
      return [
        `  case ${j}: {`,
        '    const c = this.c;',
        `    ${unknownViews}`,
        `    ${factorWrap}`,
        op.seed === null ? '    scale *= outbar[0];' : `    const obar: Tensor = { shape: this.outputLayout[${j}].shape, data: outbar };`,
        ...(ctx.usesPrimal([...yBody, ...xBody]) ? [`    ${ctx.primalLoad}`] : []),
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
    '}',
  ], 'yOut += scale <outbar, d o_j/dy>, xOut += scale <outbar, d o_j/dx> (each skipped when null): the explicit vector-Jacobian product of declared output j, outbar of its size (row-major).');
  ctx.method('addOutputPartials', [['k', 'number'], ...fParams, ['yOut', 'Float64Array | null'], ['xOut', 'Float64Array | null'], ['scale', 'number']], 'void', [
    'const [j, e] = outputEntry(this.outputLayout, k, this.name);',
    'const bar = new Float64Array(this.outputLayout[j].size);',
    'bar[e] = 1;',
    'this.outputVjp(j, bar, y, factors, yOut, xOut, scale);',
  ], 'yOut += scale d o_k/dy, xOut += scale d o_k/dx (each skipped when null) for output entry k (the flat outputs\' k-th number).');
  ctx.method('outputPartials', [['k', 'number'], ...fParams], '{ y: Float64Array; x: Float64Array }', [
    'const y_ = new Float64Array(this.n);',
    'const x_ = new Float64Array(this.m);',
    'this.addOutputPartials(k, y, factors, y_, x_, 1);',
    'return { y: y_, x: x_ };',
  ], 'Explicit partial derivatives of output entry k in the unknowns and the params.');
}
