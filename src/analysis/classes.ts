import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Span } from '../diagnostics/span.ts';
import { cone } from '../ir/ad.ts';
import type { Graph, IrNode } from '../ir/graph.ts';
import type { IrModel } from '../ir/model.ts';
import { primitive } from '../primitives/registry.ts';
import type { Definability, Lipschitz, NodeId } from '../primitives/types.ts';
import { Bounds } from './bounds.ts';

const DEFINABILITY: Definability[] = ['semialgebraic', 'R_exp', 'R_an', 'not definable'];
const LIPSCHITZ: Lipschitz[] = ['globally', 'locally', 'not Lipschitz', 'discontinuous'];

export interface ClassResult {
  definability: Definability;
  lipschitz: Lipschitz;
  /** The primitives that set each class, with their spans (MATH.md 2: say which and where). */
  definabilityCause: { primitive: string; span: Span | null }[];
  lipschitzCause: { primitive: string; span: Span | null; why: string }[];
  diagnostics: Diagnostic[];
}

/** The nodes of F that move with the parameters or the unknowns: "inside the equations". */
export function equationNodes(model: IrModel): IrNode[] {
  const g = model.graph;
  return cone(g, model.residual.map((r) => r.node))
    .map((id) => g.node(id))
    .filter((n) => (n.dep === 'param' || n.dep === 'unknown') && n.op !== 'input' && n.op !== 'const');
}

/** Definability and Lipschitz classes of F (MATH.md section 2), with errors and warnings. */
export function classify(model: IrModel, bounds: Bounds): ClassResult {
  const g = model.graph;
  const diagnostics: Diagnostic[] = [];
  let definability: Definability = 'semialgebraic';
  let lipschitz: Lipschitz = 'globally';
  const definabilityCause: ClassResult['definabilityCause'] = [];
  const lipschitzCause: ClassResult['lipschitzCause'] = [];
  const raiseDefinability = (d: Definability, n: IrNode) => {
    const rank = DEFINABILITY.indexOf(d);
    if (rank > DEFINABILITY.indexOf(definability)) {
      definability = d;
      definabilityCause.length = 0;
    }
    if (rank === DEFINABILITY.indexOf(definability) && rank > 0) definabilityCause.push({ primitive: n.op, span: n.span });
  };
  const raiseLipschitz = (l: Lipschitz, n: IrNode, why: string) => {
    const rank = LIPSCHITZ.indexOf(l);
    if (rank > LIPSCHITZ.indexOf(lipschitz)) {
      lipschitz = l;
      lipschitzCause.length = 0;
    }
    if (rank === LIPSCHITZ.indexOf(lipschitz) && rank > 0) lipschitzCause.push({ primitive: n.op, span: n.span, why });
  };
  const moving = (id: NodeId) => {
    const d = g.node(id).dep;
    return d === 'param' || d === 'unknown';
  };
  const anchor = (n: IrNode) => n.span ?? model.span;

  for (const n of equationNodes(model)) {
    const p = primitive(n.op);
    if (p.structure.predicate) continue; // a condition only matters through `select`, below
    if (p.lipschitz === 'discontinuous') {
      raiseLipschitz('discontinuous', n, p.irregularity ?? 'discontinuous');
      diagnostics.push(
        diagnostic('E0401', anchor(n), `\`${n.op}\` is discontinuous, and here it depends on the ${n.dep === 'unknown' ? 'unknowns' : 'parameters'}`, {
          label: p.irregularity ?? 'discontinuous',
          notes: ['MATH.md 2: F must be locally Lipschitz in (params, unknowns) for implicit differentiation to apply'],
          help: 'a discontinuous primitive is fine in a `let` that depends on data only',
        }),
      );
      continue;
    }
    let d = p.definability;
    if (p.structure.boundedDomain) {
      if (bounds.bounded(n.args[0])) {
        d = 'R_an';
      } else {
        d = 'not definable';
        diagnostics.push(
          diagnostic('W0403', anchor(n), `\`${n.op}\` of an unbounded argument is not definable`, {
            label: 'argument has no stated bound',
            notes: ['MATH.md 2: sin and cos are definable (in R_an) only on a bounded domain'],
            help: `state a bound, e.g. \`require abs(${bounds.text(n.args[0])}) <= 10\``,
          }),
        );
      }
    }
    raiseDefinability(d, n);

    const divisor = p.structure.divisor;
    if (divisor !== undefined) {
      const w = zeroDivisor(model, bounds, n, divisor);
      if (w) diagnostics.push(w);
    }

    if (p.structure.singularAtZero && !bounds.positive(n.args[0])) {
      raiseLipschitz('not Lipschitz', n, `${n.op} is not Lipschitz at 0`);
      diagnostics.push(
        diagnostic('W0402', anchor(n), `\`${n.op}\` of an argument that may reach 0`, {
          label: 'not Lipschitz where this is 0',
          notes: [`MATH.md 2: ${n.op} is not Lipschitz at 0, so the implicit function theorem may fail there`],
          help: `if the argument stays positive, say so: \`require ${bounds.text(n.args[0])} > 0\`; or smooth it: \`sqrt(a + eps)\``,
        }),
      );
      continue;
    }
    if (p.structure.piecewise && moving(n.args[0])) {
      diagnostics.push(
        diagnostic('W0404', anchor(n), 'a piecewise definition switches on the unknowns or parameters', {
          label: 'continuity across the switch is assumed, not proven',
          notes: [
            'LANGUAGE.md: both branches must agree where the condition switches for the model to stay Lipschitz',
            'at run time each comparison in the condition is a kink site: at a solution on the switch, B is checked over the hull of both branches, and where the branches differ there F jumps and the solution is reported unverified',
          ],
          help: 'prefer a primitive with a known kink (max, min, relu, clip, abs), which the analysis understands',
        }),
      );
    }
    if (p.structure.power) {
      const k = constantValue(g, n.args[1]);
      if (k === null || (k < 1 && k !== 0 && !bounds.positive(n.args[0]))) {
        raiseLipschitz('not Lipschitz', n, 'a power below 1 is not Lipschitz at 0');
        continue;
      }
    }
    if (p.lipschitz === 'locally' || p.lipschitz === 'not Lipschitz') {
      // Products are only locally Lipschitz when both sides move; scaling by data is global.
      const bilinear = p.structure.bilinear === true;
      if (!bilinear || n.args.every(moving)) {
        const divisor = p.structure.divisor;
        if (divisor !== undefined) {
          if (moving(n.args[divisor])) raiseLipschitz('locally', n, 'division is Lipschitz only away from a zero divisor');
        } else {
          raiseLipschitz('locally', n, bilinear ? 'a product of two moving quantities' : `${n.op} is Lipschitz only on bounded sets`);
        }
      }
    }
  }
  return { definability, lipschitz, definabilityCause, lipschitzCause, diagnostics };
}

/**
 * W0405: a division inside the equations whose divisor moves with the unknowns and whose
 * interval bound (src/analysis/bounds.ts, with the model's `require` statements as facts)
 * contains 0, as `v / norm2(v)` (norm2 reaches 0 at v = 0) or `x / y` with y an unknown: F is
 * undefined where the divisor is 0, and a solve that passes there fails (MATH.md 2: F must
 * be locally Lipschitz near the solution). A sufficient condition for the warning only: the
 * interval is an enclosure, so a divisor that stays away from 0 in fact may still be warned
 * about (state it with a `require`), while one whose enclosure excludes 0 never reaches it.
 * Divisors of data (and parameters) alone are not warned about here: they do not move during
 * a solve, and the generated module names a non-finite value computed from the inputs
 * (src/runtime/kernels.ts nonFiniteHoisted).
 *
 * The span is the divisor's where its node is that use of it (an expression inside the
 * division's span); a declared name (an unknown, a `let`) has its declaration's span, so then
 * the division's.
 */
function zeroDivisor(model: IrModel, bounds: Bounds, n: IrNode, divisor: number): Diagnostic | null {
  const g = model.graph;
  const id = n.args[divisor];
  const d = g.node(id);
  if (d.dep !== 'unknown') return null;
  const [lo, hi] = bounds.interval(id);
  if (lo > 0 || hi < 0) return null;
  const whole = n.span ?? model.span;
  const own = d.span && within(d.span, whole) ? d.span : null;
  const text = bounds.text(id);
  const numerator = atomOf(bounds.text(n.args[1 - divisor]));
  const help =
    lo >= 0
      ? `keep it away from 0, e.g. \`${numerator} / max(${text}, eps)\` with eps a small positive constant; or, if it stays positive, say so: \`require ${text} > 0\``
      : `if it keeps one sign at the solutions, say so: \`require ${text} > 0\` (or \`< 0\`); otherwise write the equation without the division (multiplied through by \`${text}\`)`;
  return diagnostic('W0405', own ?? whole, `division by \`${text}\`, which may be 0 on the unknowns`, {
    label: `this divisor lies in [${showEnd(lo)}, ${showEnd(hi)}], which contains 0`,
    notes: ['MATH.md 2: F is not defined, let alone Lipschitz, where a divisor is 0; a solve that reaches such a point fails with a non-finite value'],
    help,
  });
}

/** Whether span `a` lies inside span `b` (one file). */
function within(a: Span, b: Span): boolean {
  return a.file === b.file && a.start.offset >= b.start.offset && a.end.offset <= b.end.offset;
}

function showEnd(x: number): string {
  return x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x);
}

/** Source text parenthesized unless it is a single name or number. */
function atomOf(text: string): string {
  return /^[\w.']+$/.test(text) ? text : `(${text})`;
}

export function constantValue(g: Graph, id: NodeId): number | null {
  const n = g.node(id);
  if (n.op === 'const') return (n as { value: number }).value;
  if (n.op === 'neg') {
    const v = constantValue(g, n.args[0]);
    return v === null ? null : -v;
  }
  return null;
}
