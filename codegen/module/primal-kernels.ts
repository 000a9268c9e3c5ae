/** The module's kernels at a point y: the start, F, T, the kink factors and their gaps, the outputs. */
import { literal } from '../names.ts';
import type { ModuleContext } from './context.ts';

export function emitPrimalKernels(ctx: ModuleContext): void {
  const { s, writer, unknownEnv, unknownViews } = ctx;
  const m = s.ir;
  const g = s.graph;
  const k = s.kernels;
  ctx.method('initial', [], 'Float64Array', [
    'const c = this.c;',
    'const out = new Float64Array(this.n);',
    ...m.unknowns.map((u, i) => `put(${writer.read(u.init)}, out, this.unknowns[${i}].offset, this.unknowns[${i}].size);`),
    'return out;',
  ], 'The declared starting point of the unknowns.');
  ctx.method('residual', [['y', 'Float64Array'], ['out', 'Float64Array']], 'void', ctx.kernel(k.residual, unknownEnv, [unknownViews], 'out', 'this.blocks'), `F(x, y): ${s.text.residual}.`);
  ctx.method('map', [['y', 'Float64Array'], ['out', 'Float64Array']], 'void',
    k.maps
      ? ctx.kernel(k.maps, unknownEnv, [unknownViews], 'out', 'this.unknowns')
      : ["throw new SolverError('invalid-option', `map: model ${this.name} is not in fixed-point form (it has solve equations; hasMap is false)`);"],
    'The fixed-point map T(x, y).');
  const primalOnly = new Map([...unknownEnv, ...ctx.primalEnv]);
  ctx.method('kinkFactors', [['y', 'Float64Array']], 'Float64Array[]',
    ctx.atSolution(s.sites.map((x) => x.node), primalOnly, [unknownViews], (results) => `return [${results.map((r) => `${r}.data.slice()`).join(', ')}];`),
    'The element of each kink factor that backprop selects at y.');
  const gapArgs = s.sites.flatMap((x) => g.node(x.node).args);
  ctx.method('kinkGaps', [['y', 'Float64Array']], 'Float64Array[]',
    ctx.atSolution(gapArgs, primalOnly, [unknownViews], (results) => {
      let at = 0;
      const gaps = s.sites.map((x) => {
        const count = g.node(x.node).args.length;
        const own = results.slice(at, at + count);
        at += count;
        return `kinkGap(${literal(x.gap)}, [${own.join(', ')}])`;
      });
      return `return [${gaps.join(', ')}];`;
    }),
    'Per kink factor and element, the distance to its switching surface (0 at a tie).');
  const nonDiagonalArgs = s.outputNonDiagonalKinks.flatMap((x) => x.args);
  ctx.method('outputNonDiagonalGaps', [['y', 'Float64Array']], 'Float64Array[]',
    ctx.atSolution(nonDiagonalArgs, primalOnly, [unknownViews], (results) => {
      let at = 0;
      const gaps = s.outputNonDiagonalKinks.map((x) => {
        const own = results.slice(at, at + x.args.length);
        at += x.args.length;
        return `kinkGap(${literal(x.gap)}, [${own.join(', ')}])`;
      });
      return `return [${gaps.join(', ')}];`;
    }),
    'Per output-only kink without a diagonal factor (outputNonDiagonalSites: projections, groups, norms, extremes) and element, the distance to its switching surfaces (0 at a tie).');
  ctx.method('outputs', [['y', 'Float64Array']], 'Float64Array', (() => {
    const { lines, results } = writer.body(m.outputs.map((o) => o.node), unknownEnv);
    if (m.outputs.every((o) => g.shape(o.node).length === 0)) {
      return ['const c = this.c;', unknownViews, ...lines, `return Float64Array.of(${results.map((r) => `${r}.data[0]`).join(', ')});`];
    }
    // Vector and matrix outputs: each output's block of the flat vector (this.outputLayout).
    return [
      'const c = this.c;', unknownViews, ...lines,
      'const out = new Float64Array(totalSize(this.outputLayout));',
      ...results.map((r, i) => `put(${r}, out, this.outputLayout[${i}].offset, this.outputLayout[${i}].size);`),
      'return out;',
    ];
  })(), `The outputs, flattened (this.outputLayout): ${m.outputs.map((o) => o.name).join(', ') || 'none'}.`);
}
