/**
 * When implicit differentiation is not justified (MATH.md 4): the five models of
 * samples/pathological, trained the way a tool that ignores the invertibility condition
 * would (the textbook formula dy/dx = -B^{-1} A with the element of the Jacobian that AD
 * selects, or unrolled differentiation), next to implc's compile-time diagnostic (W0501,
 * rendered as `implc check` prints it) and its run-time certificate at the same points.
 * The trajectories are computed (demos/patho-cases.ts); the text is built from them.
 */
import type { Demo, DemoContext, DemoResult, DemoTable } from './demo.ts';
import { fmt, runPathologicalCases, type CaseResult, type NaiveRun } from './patho-cases.ts';

export const PATHO_TITLE = 'When implicit differentiation is not justified';

/** A metric value: numbers as they are, except the non-finite ones, which JSON cannot carry. */
const metric = (v: number | string | boolean): number | string => (typeof v === 'number' ? (Number.isFinite(v) ? v : String(v)) : typeof v === 'boolean' ? String(v) : v);

/** The facet title of a case: its key, and where a run stopped on a non-finite gradient. */
function panel(c: CaseResult): string {
  const stops = [...c.runs, ...(c.truth ? [c.truth] : [])]
    .filter((r) => r.stopped && r.steps.length)
    .map((r) => {
      const last = r.steps[r.steps.length - 1];
      return `${r.method}: gradient ${fmt(last.grad)} at step ${last.step}, run stopped`;
    });
  return stops.length ? `${c.key} (${stops.join('; ')})` : c.key;
}

function trajectoryRows(c: CaseResult, run: NaiveRun): Record<string, unknown>[] {
  const title = panel(c);
  return run.steps.map((s) => ({ case: c.key, panel: title, method: run.method, step: s.step, x: Number.isFinite(s.x) ? s.x : null }));
}

export function pathologicalResult(cases: CaseResult[]): DemoResult {
  const summary: string[] = [
    'Five models where the condition of the nonsmooth implicit function theorem fails (samples/pathological): a naive tool trains through them, implc refuses.',
  ];
  for (const c of cases) {
    summary.push(`${c.key} (${c.equation}); ${c.objective}:`);
    for (const f of c.findings) summary.push(`  ${f}`);
    const bad = c.implc[0];
    summary.push(
      `  implc: compile time ${c.compile.verdict}${c.compile.diagnostic ? ' with W0501' : ' (no compile-time diagnostic: the verdict depends on the data)'}${c.compile.counterexample ? `, counterexample ${c.compile.counterexample}` : ''}; run time at ${bad.point}: ${bad.verdict}, ${bad.derivatives ? 'derivatives returned' : 'no derivatives'}.`,
    );
  }
  const first = cases.find((c) => c.compile.diagnostic);
  if (first?.compile.diagnostic) summary.push(`implc check ${first.file}:`, ...first.compile.diagnostic.split('\n'));

  const metrics: Record<string, number | string> = {
    cases: cases.length,
    violatedAtBadPoint: cases.filter((c) => c.implc[0].verdict === 'violated' && !c.implc[0].derivatives).length,
    compileTimeW0501: cases.filter((c) => c.compile.diagnostic !== null).length,
  };
  for (const c of cases) {
    for (const [k, v] of Object.entries(c.facts)) metrics[`${c.key}.${k}`] = metric(v);
    metrics[`${c.key}.compileVerdict`] = c.compile.verdict;
    metrics[`${c.key}.verdictAtBadPoint`] = c.implc[0].verdict;
  }

  const tables: DemoTable[] = [
    {
      title: 'What the naive tools did, and what implc says',
      columns: ['case', 'equation', 'objective', 'naive tool(s)', 'what happened', 'implc compile time', 'implc at the bad point'],
      rows: cases.map((c) => [
        c.key,
        c.equation,
        c.objective,
        c.runs.map((r) => r.method).join('; '),
        c.findings.join(' '),
        `${c.compile.verdict} (${c.compile.test})${c.compile.diagnostic ? ', W0501' : ''}`,
        `${c.implc[0].point}: ${c.implc[0].status}, ${c.implc[0].verdict}, ${c.implc[0].derivatives ? 'derivatives returned' : 'no derivatives'}`,
      ]),
    },
    {
      title: 'Naive trajectories (every step)',
      columns: ['case', 'method', 'step', 'x (lambda)', 'y returned (beta_1)', '|F(y)|', "AD's B", 'dy/dx used', 'gradient', 'loss'],
      rows: cases.flatMap((c) => [...c.runs, ...(c.truth ? [c.truth] : [])].flatMap((r) => r.steps.map((s) => [c.key, r.method, s.step, fmt(s.x), fmt(s.y), fmt(s.residual), Number.isNaN(s.B) ? '' : fmt(s.B), fmt(s.dydx), fmt(s.grad), fmt(s.loss)]))),
    },
    {
      title: 'implc at the same points (solve, certify, differentiate)',
      columns: ['case', 'point', 'status', 'verdict', 'derivatives', 'dy/dx', 'solution', 'detail'],
      rows: cases.flatMap((c) => c.implc.map((i) => [c.key, i.point, i.status, i.verdict, i.derivatives ? 'returned' : 'none', i.dydx === null ? '' : fmt(i.dydx), i.solution.map(fmt).join(', '), i.detail])),
    },
    {
      title: 'Compile-time analysis (implc explain / implc check)',
      columns: ['case', 'verdict', 'test', 'counterexample', 'why', 'diagnostic'],
      rows: cases.map((c) => [c.key, c.compile.verdict, c.compile.test, c.compile.counterexample ?? '', c.compile.reason, c.compile.diagnostic ?? '(none)']),
    },
  ];

  const values = cases.flatMap((c) => [...c.runs, ...(c.truth ? [c.truth] : [])].flatMap((r) => trajectoryRows(c, r)));
  const chart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Gradient descent through the pathologies: the parameter against the step',
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: cases.map(panel), header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: {
      width: 460,
      height: 120,
      transform: [{ filter: 'isValid(datum.x)' }],
      mark: { type: 'line', point: { size: 20 } },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'gradient step' },
        y: { field: 'x', type: 'quantitative', scale: { type: 'symlog' }, title: 'x (lambda)' },
        color: { field: 'method', type: 'nominal', title: 'method', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 480 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };

  return {
    name: 'pathological',
    title: PATHO_TITLE,
    summary,
    metrics,
    tables,
    charts: [{ title: 'Naive trajectories (x or lambda against the step, symlog scale; runs stopped by a non-finite gradient named in the panel title)', spec: chart }],
  };
}

export const pathologicalDemo: Demo = {
  name: 'pathological',
  title: PATHO_TITLE,
  async run(ctx: DemoContext): Promise<DemoResult> {
    ctx.log('pathological: compiling samples/pathological/*.impl and running the naive tools');
    const cases = await runPathologicalCases();
    const result = pathologicalResult(cases);
    for (const line of result.summary) ctx.log(`pathological: ${line}`);
    return result;
  },
};
