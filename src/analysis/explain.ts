import { spanJson, type SpanJson } from '../diagnostics/render.ts';
import type { Span } from '../diagnostics/span.ts';
import type { Analysis } from './analyze.ts';

/** The `implc explain --format json` object of LANGUAGE.md, per model. */
export interface ExplainJson {
  model: string;
  definability: string;
  lipschitz: string;
  definabilityCause: { primitive: string; file: string | null; span: SpanJson | null }[];
  lipschitzCause: { primitive: string; why: string; file: string | null; span: SpanJson | null }[];
  kinks: { primitive: string; file: string | null; span: SpanJson | null; size: string; condition: string; used: string; range: string }[];
  pieces: string;
  jacobian: { B: string; A: string };
  verdict: string;
  test: string;
  guard: string | null;
  reason: string;
  counterexample: { point: Record<string, number>; B: number[][]; why: string } | null;
  /** The forward solver the structure selects. */
  solver: string;
}

const where = (s: Span | null) => ({ file: s?.file ?? null, span: s ? spanJson(s) : null });

export function explainJson(a: Analysis): ExplainJson {
  const c = a.certificate;
  return {
    model: a.model.name,
    definability: a.classes.definability,
    lipschitz: a.classes.lipschitz,
    definabilityCause: a.classes.definabilityCause.map((x) => ({ primitive: x.primitive, ...where(x.span) })),
    lipschitzCause: a.classes.lipschitzCause.map((x) => ({ primitive: x.primitive, why: x.why, ...where(x.span) })),
    kinks: a.kinks.map((k) => ({ primitive: k.primitive, ...where(k.span), size: k.size, condition: k.condition, used: k.used, range: k.range })),
    pieces: a.pieces,
    jacobian: { B: a.B, A: a.A },
    verdict: c.verdict,
    test: c.test,
    guard: c.guard,
    reason: c.reason,
    counterexample: c.counterexample,
    solver: a.solver,
  };
}

export function explainText(a: Analysis): string {
  const j = explainJson(a);
  const at = (s: SpanJson | null) => (s ? `${s.start.line}:${s.start.column}` : '-');
  const lines = [
    `model ${j.model}`,
    `  definability  ${j.definability}${j.definabilityCause.length ? `  (from ${j.definabilityCause.map((c) => `${c.primitive} at ${at(c.span)}`).join(', ')})` : ''}`,
    `  lipschitz     ${j.lipschitz}${j.lipschitzCause.length ? `  (${j.lipschitzCause.map((c) => `${c.primitive} at ${at(c.span)}: ${c.why}`).join('; ')})` : ''}`,
    `  kinks         ${j.kinks.length ? '' : 'none (F is smooth)'}`,
    ...j.kinks.map((k) => `    ${k.primitive} at ${at(k.span)}: ${k.size} kink variable${k.size === '1' ? '' : 's'}, switch ${k.condition}, uses ${k.used}, range ${k.range}`),
    `  pieces        ${j.pieces}`,
    `  B = dF/dy     ${j.jacobian.B}`,
    `  A = dF/dx     ${j.jacobian.A}`,
    `  verdict       ${j.verdict} (${j.test})`,
    ...(j.guard ? [`  guard         ${j.guard}`] : []),
    `  why           ${j.reason}`,
    `  solver        ${j.solver}`,
    ...(j.counterexample ? [`  counterexample at ${Object.entries(j.counterexample.point).map(([k, v]) => `${k} = ${v}`).join(', ')}: B = ${JSON.stringify(j.counterexample.B)}`] : []),
  ];
  return lines.join('\n');
}

/**
 * LaTeX through mathjs: the symbolic pieces typeset, names with underscores as subscripts.
 * mathjs is loaded only here: importing it costs seconds, which `check` must not pay.
 */
export async function explainTex(a: Analysis): Promise<string> {
  const { parse: parseMath } = await import('mathjs');
  const tex = (s: string) => {
    try {
      const t = parseMath(s.replace(/\[d ([^\]]*)\]/g, 'd($1)')).toTex({ parenthesis: 'auto', implicit: 'hide' });
      // D_relu: a subscript, not an escaped underscore; X' is mathjs's conjugate transpose
      // (^H), which for real matrices is the transpose.
      return t.replace(/\^H/g, '^{\\top}').replace(/([A-Za-z])\\_([A-Za-z_]+)/g, (_m, head: string, sub: string) => `${head}_{\\mathrm{${sub.replace(/_/g, '\\_')}}}`);
    } catch {
      return `\\text{${s.replace(/[\\{}_^%$#&]/g, (ch) => `\\${ch}`)}}`;
    }
  };
  const j = explainJson(a);
  return [
    `% ${j.model}: ${j.verdict} (${j.test})`,
    '\\begin{align*}',
    `B &= ${j.jacobian.B.split('; ').map(tex).join(',\\quad ')} \\\\`,
    `A &= ${j.jacobian.A.split('; ').map(tex).join(',\\quad ')}`,
    ...(j.guard ? [`\\\\ \\text{guard: } & ${tex(j.guard)}`] : []),
    '\\end{align*}',
  ].join('\n');
}
