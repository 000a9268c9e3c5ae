/**
 * The module's `require` check (LANGUAGE.md "Declarations": a stated assumption is checked
 * at run time): `requireViolations(y)` evaluates each clause on the actual values and returns
 * the ones that fail. A clause is a boolean tensor (comparisons and logic store 1 for true and
 * 0 for false, src/primitives/logic.ts), and it holds when every entry is 1: a comparison with
 * a NaN is 0, so a clause on a value that is not a number fails rather than passes.
 */
import { literal } from '../names.ts';
import type { ModuleContext } from './context.ts';

export function emitRequires(ctx: ModuleContext): void {
  const { s, writer } = ctx;
  const clauses = s.requires;
  const onUnknowns = clauses.filter((r) => r.onUnknowns);
  const type = '{ clause: string; at: string }[]';
  const doc =
    'The `require` clauses that do not hold: with y null, those on the inputs alone (each computed once, on first use); with y, also those that read the unknowns, at y (a solution).';
  if (clauses.length === 0) {
    ctx.method('requireViolations', [['y', 'Float64Array | null']], type, ['void y;', 'return [];'], `${doc} The model states none: none.`);
    return;
  }
  // Every value the clauses read that the inputs fix (a clause on the inputs alone included)
  // is hoisted by the constructor (class.ts), computed once per instance on first use.
  const fails = (value: string) => `!${value}.data.every((v) => v === 1)`;
  const push = (r: (typeof clauses)[number]) => `failed.push({ clause: ${literal(r.text)}, at: ${literal(r.at)} });`;
  // The clauses on the unknowns at y, computed first so that every clause is checked in declaration order.
  const atY = (() => {
    if (onUnknowns.length === 0) return { lines: ['void y;'], value: (_: number) => '' };
    const { lines, results } = writer.body(onUnknowns.map((r) => r.node), ctx.unknownEnv);
    return {
      lines: ['const atY = y === null ? null : (() => {', `  ${ctx.unknownViewsOf('y')}`, ...lines.map((l) => `  ${l}`), `  return [${results.join(', ')}];`, '})();'],
      value: (i: number) => `atY[${i}]`,
    };
  })();
  ctx.method('requireViolations', [['y', 'Float64Array | null']], type, [
    'const c = this.c;',
    ...atY.lines,
    `const failed: ${type} = [];`,
    ...clauses.map((r) =>
      r.onUnknowns ? `if (atY !== null && ${fails(atY.value(onUnknowns.indexOf(r)))}) ${push(r)}` : `if (${fails(writer.read(r.node))}) ${push(r)}`),
    'return failed;',
  ], doc);
}
