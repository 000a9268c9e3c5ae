import type { CheckedModel } from '../check/check.ts';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Span } from '../diagnostics/span.ts';
import { takeLowered } from '../ir/lower.ts';
import type { IrModel } from '../ir/model.ts';
import { showSize, sizeOf } from '../ir/shape.ts';
import { primitive } from '../primitives/registry.ts';
import type { Definability, Lipschitz } from '../primitives/types.ts';
import { Bounds } from './bounds.ts';
import { certify, jacobians, type Certificate, type Jacobians } from './certify.ts';
import { classify, equationNodes, type ClassResult } from './classes.ts';
import { Namer, showLinOp } from './linop.ts';
import { buildStructure } from './structure.ts';
import type { Coefficient, ModelStructure } from '../structure/types.ts';

/** One kink site of F: a nonsmooth primitive applied to something that moves. */
export interface KinkSite {
  primitive: string;
  span: Span | null;
  /** Number of kink variables, symbolic in the dims. */
  size: string;
  used: string;
  range: string;
  condition: string;
}

/** Everything `implc explain` reports for a model, and what codegen consumes. */
export interface Analysis {
  model: IrModel;
  classes: ClassResult;
  kinks: KinkSite[];
  /** The count of smooth pieces F is made of, symbolic in the dims. */
  pieces: string;
  jacobians: Jacobians;
  /** `B` and `A` printed: `I - D_relu * W`. */
  B: string;
  A: string;
  certificate: Certificate;
  diagnostics: Diagnostic[];
  /** What codegen reads (src/structure/types.ts): everything it needs, nothing else. */
  structure: ModelStructure;
  /** The forward solver the structure selects, in words (`implc explain`). */
  solver: string;
}

export function analyze(checked: CheckedModel, sourceText: string): Analysis {
  const model = takeLowered(checked, sourceText);
  // The source text stops at lowering: names come from the IR (model.textOf).
  const bounds = new Bounds(model);
  const namer = new Namer(model);
  const classes = classify(model, bounds);
  const kinks = kinkSites(model);
  const jac = jacobians(model);
  const identity = model.unknowns.length > 1 ? (v: string) => `I_${v}` : () => 'I';
  const B = jac.B.map((b) => showLinOp(b, namer, identity)).join('; ');
  const A = jac.A.map((a) => showLinOp(a, namer, (v) => `d${v}`)).join('; ');
  const certificate = atMostRuntimeAtSwitches(
    classes.lipschitz === 'discontinuous'
      ? { verdict: 'unverified' as const, test: 'none' as const, guard: null, guardBound: null, rowwise: false, counterexample: null, reason: 'F is discontinuous: the implicit function theorem does not apply' }
      : certify(model, jac, bounds, namer),
    kinks,
  );
  const diagnostics = [...classes.diagnostics, ...certificationDiagnostics(model, certificate, kinks)];
  const nonDiagonalKinks = kinks.some((k) => primitive(k.primitive).kink?.factor === null);
  const structure = buildStructure({ model, jacobians: jac, certificate, classes, B, A, nonDiagonalKinks });
  return { model, classes, kinks, pieces: pieceCount(kinks), jacobians: jac, B, A, certificate, diagnostics, structure, solver: solverText(structure, namer) };
}

/** The forward solver in words: the composite problem the analysis read, or the generic methods. */
function solverText(s: ModelStructure, namer: Namer): string {
  const f = s.composite;
  if (!f) return s.kernels.maps ? 'Anderson acceleration of T, then semismooth Newton on F' : 'semismooth Newton on F';
  /** A coefficient as text, its constant terms folded: null when it is 0. */
  const coef = (c: Coefficient): string | null => {
    let constant = 0;
    const symbolic: string[] = [];
    for (const t of c.terms) {
      if (t.factors.length === 0) constant += t.sign;
      else symbolic.push(`${t.sign === 1 ? '+' : '-'} ${t.factors.map((x) => (x.inverse ? `1/${namer.atom(x.node)}` : namer.atom(x.node))).join(' * ')}`);
    }
    const parts = [...(constant !== 0 ? [`${constant > 0 ? '+' : '-'} ${Math.abs(constant)}`] : []), ...symbolic];
    if (parts.length === 0) return null;
    const text = parts.join(' ').replace(/^\+ /, '').replace(/^- /, '-');
    return parts.length > 1 ? `(${text})` : text;
  };
  const term = (c: Coefficient, what: string): string[] => {
    const k = coef(c);
    return k === null ? [] : [k === '1' ? what : k === '-1' ? `-${what}` : `${k} ${what}`];
  };
  const terms = [
    ...term(f.identity, 'I'),
    ...f.diagonals.flatMap((d) => term(d.coef, `diag(${namer.name(d.vector)})`)),
    ...f.grams.flatMap((x) => {
      const z = namer.atom(x.matrix);
      return term(x.coef, x.transposed ? `${z} ${z}'` : `${z}' ${z}`);
    }),
    ...f.matrices.flatMap((x) => term(x.coef, `${namer.atom(x.matrix)}${x.transposed ? "'" : ''}`)),
  ];
  const g =
    f.penalty.kind === 'l1'
      ? ` + ||diag(${namer.name(f.penalty.weights)}) y||_1`
      : f.penalty.kind === 'box'
        ? ` over [${f.penalty.lower.map((x) => namer.name(x)).join(', ') || '-inf'}, ${f.penalty.upper.map((x) => namer.name(x)).join(', ') || 'inf'}]`
        : '';
  const when = f.matrices.length ? ' (when H is symmetric on the inputs; otherwise the generic solvers)' : '';
  return `coordinate descent${when} on min 1/2 y'Hy - c'y${g}, H = ${terms.join(' + ').replace(/\+ -/g, '- ') || '0'}, c = the prox's argument at y = 0; then Newton on F`;
}

/**
 * An `if` on the unknowns (or params) switches F between two branches; MATH.md 4 needs F
 * locally Lipschitz, which holds at a solution on the switch only when the branches agree
 * there. Nothing at compile time proves that they do (`if y > 0 then y + 1 else y` jumps by 1),
 * so a compile-time `certified` or `guarded` becomes `runtime`: the run-time certificate checks
 * each solution's switches for a jump (src/runtime/certificate.ts, test `continuity`) before
 * any other test, and a guard or interval argument is still used there when F is continuous.
 */
function atMostRuntimeAtSwitches(c: Certificate, kinks: readonly KinkSite[]): Certificate {
  const switches = kinks.filter((k) => primitive(k.primitive).kink?.switch);
  if (switches.length === 0 || (c.verdict !== 'certified' && c.verdict !== 'guarded')) return c;
  const at = switches.map((k) => (k.span ? `${k.span.start.line}:${k.span.start.column}` : '?')).join(', ');
  return {
    ...c,
    verdict: 'runtime',
    reason: `${c.reason}; but F switches at an \`if\` on the unknowns or params (${at}), where it is continuous only if its branches agree: checked at run time at each solution`,
  };
}

function kinkSites(model: IrModel): KinkSite[] {
  const sites: KinkSite[] = [];
  for (const n of equationNodes(model)) {
    const p = primitive(n.op);
    if (!p.kink) continue;
    // A switch on data alone is fixed for the model's life: no kink of F.
    if (p.kink.switch && !['unknown', 'param'].includes(model.graph.node(n.args[0]).dep)) continue;
    const shape = p.structure.elementwise || p.kink.factor === null ? model.graph.shape(p.structure.elementwise ? n.id : n.args[0]) : model.graph.shape(n.id);
    sites.push({
      primitive: n.op,
      span: n.span,
      size: showSize(sizeOf(shape)),
      used: p.kink.used,
      range: p.kink.rangeText,
      condition: p.kink.condition,
    });
  }
  return sites;
}

/** Each kink variable splits F into pieces: 2 per variable (both sides of its switch). */
function pieceCount(kinks: KinkSite[]): string {
  if (kinks.length === 0) return '1';
  const exponents = kinks.map((k) => (k.size === '1' ? '1' : k.size));
  const ones = exponents.filter((e) => e === '1').length;
  const symbolic = exponents.filter((e) => e !== '1');
  const parts = [...(ones ? [String(ones)] : []), ...symbolic];
  const exponent = parts.length === 1 ? parts[0] : parts.join(' + ');
  if (symbolic.length === 0) return String(2 ** ones);
  return `at most 2^(${exponent})`;
}

function certificationDiagnostics(model: IrModel, c: Certificate, kinks: KinkSite[]): Diagnostic[] {
  const related = kinks.filter((k) => k.span).map((k) => ({ span: k.span!, message: `kink of \`${k.primitive}\`: ${k.condition}, range ${k.range}` }));
  const at = model.residual[0]?.span ?? model.span;
  if (c.verdict === 'violated') {
    return [
      diagnostic('W0501', at, `implicit differentiation of \`${model.name}\` is not justified`, {
        label: 'a singular B is reachable here',
        notes: [c.reason, 'MATH.md 4: every B in the conservative Jacobian must be invertible; no derivative is justified at such a solution'],
        related,
        help: 'change the model so that B stays invertible (e.g. a contraction: scale the map by a factor below 1)',
      }),
    ];
  }
  if (c.verdict === 'unverified') {
    return [
      diagnostic('W0502', at, `invertibility of B for \`${model.name}\` could not be certified`, {
        label: 'no sound test applies',
        notes: [c.reason],
        related,
        help: 'state a contraction assumption with `require`, or restructure the kinks so that each scales one row',
      }),
    ];
  }
  return [];
}

export type { Definability, Lipschitz };
