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
import { boundValue, normBound } from './norm-bound.ts';
import { buildStructure } from './structure.ts';
import { switchContinuity, switchNodes } from './continuity.ts';
import type { Coefficient, ConeForm, ModelStructure } from '../structure/types.ts';
import { coneForm } from './cone-form.ts';

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
  // A cone program (src/analysis/cone-form.ts) is read before the certificate: its verdict is the cone's test.
  const cone = coneForm(model);
  const compiled = atMostRuntimeAtSwitches(
    classes.lipschitz === 'discontinuous'
      ? { verdict: 'unverified' as const, test: 'none' as const, guard: null, guardBound: null, rowwise: false, counterexample: null, reason: 'F is discontinuous: the implicit function theorem does not apply' }
      : certify(model, jac, bounds, namer),
    kinks,
    model,
  );
  const certificate = cone ? coneVerdict(compiled, cone) : compiled;
  const nonexpansiveMap = jac.Ty !== null && ((b) => b !== null && (boundValue(b) ?? Infinity) <= 1)(normBound(jac.Ty, model.graph, bounds, namer));
  const diagnostics = [...classes.diagnostics, ...certificationDiagnostics(model, certificate, kinks, nonexpansiveMap)];
  const nonDiagonalKinks = kinks.some((k) => primitive(k.primitive).kink?.factor === null);
  const structure = buildStructure({ model, jacobians: jac, certificate, classes, B, A, nonDiagonalKinks, cone });
  return { model, classes, kinks, pieces: pieceCount(kinks), jacobians: jac, B, A, certificate, diagnostics, structure, solver: solverText(structure, namer) };
}

/**
 * A cone program in Minty form (src/analysis/cone-form.ts): whether B is invertible at a
 * solution is the program's strict complementarity and nondegeneracy there, a property of the
 * data (A reads a matrix input), decided at run time by the cone's test (cone-program.ts).
 * A compile-time proof (certified) or refutation stands; anything else is that test.
 */
function coneVerdict(c: Certificate, cone: ConeForm): Certificate {
  if (c.verdict === 'certified' || c.verdict === 'violated') return c;
  return {
    ...c,
    verdict: 'runtime',
    test: 'cone complementarity',
    guard: null,
    guardBound: null,
    reason: `the equations are the KKT conditions of a cone program over \`${cone.coneName}\` in Minty form (s = proj_cone(v), y = s - v): B = [[A, D], [0, A'(D - I)]], D in the conservative Jacobian of the projection; at a solution without ties (strict complementarity) B is one matrix, invertible exactly when the program is nondegenerate there, which the run-time certificate checks; a solution with ties is never certified`,
  };
}

/** The forward solver in words: the composite problem the analysis read, or the generic methods. */
function solverText(s: ModelStructure, namer: Namer): string {
  if (s.cone) {
    const a = s.cone.matrices.map((x) => `${x.coef === 1 ? '' : x.coef === -1 ? '-' : `${x.coef} `}${namer.atom(x.matrix)}${x.transposed ? "'" : ''}`).join(' + ').replace(/\+ -/g, '- ');
    return `Douglas-Rachford (SCS without homogenization, Anderson-accelerated) on min c'x s.t. A x + s = b, s in ${s.cone.coneName}, A = ${a}, b and c the equations' constant parts; the factorization of rho I + A'A is kept across iterations and instances; semismooth Newton polishes on the faces it finds`;
  }
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
 * there (`if y > 0 then y + 1 else y` jumps by 1). Where src/analysis/continuity.ts proves,
 * exactly, that the branches of every switch agree on its switch surface
 * (`if y > 0 then y * y else 0` at y = 0), F is continuous across the switches and the
 * compile-time verdict stands: the switch's kink factor ranges over [0, 1] at a tie, so its
 * conservative Jacobian W J_then + (1 - W) J_else covers both branches' Jacobians, which is
 * what the tests behind `certified` and `guarded` assumed. Otherwise a compile-time
 * `certified` or `guarded` becomes `runtime`: the run-time certificate checks each solution's
 * switches for a jump (src/runtime/certificate.ts, test `continuity`) before any other test,
 * and a guard or interval argument is still used there when F is continuous.
 */
function atMostRuntimeAtSwitches(c: Certificate, kinks: readonly KinkSite[], model: IrModel): Certificate {
  const switches = kinks.filter((k) => primitive(k.primitive).kink?.switch);
  if (switches.length === 0 || (c.verdict !== 'certified' && c.verdict !== 'guarded')) return c;
  const where = (id: number) => {
    const span = model.graph.node(id).span;
    return span ? `${span.start.line}:${span.start.column}` : '?';
  };
  const proofs = switchNodes(model).map((id) => ({ id, proof: switchContinuity(model, id) }));
  // kinkSites and switchNodes read the same selects of F; should they ever disagree, prove nothing.
  if (proofs.length === switches.length && proofs.every((p) => p.proof.verdict === 'continuous')) {
    const agree = proofs.map((p) => `at ${where(p.id)} ${p.proof.why}`).join('; ');
    return { ...c, reason: `${c.reason}; F is continuous across its \`if\` switches (${agree})` };
  }
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

function certificationDiagnostics(model: IrModel, c: Certificate, kinks: KinkSite[], nonexpansiveMap: boolean): Diagnostic[] {
  const related = kinks.filter((k) => k.span).map((k) => ({ span: k.span!, message: `kink of \`${k.primitive}\`: ${k.condition}, range ${k.range}` }));
  const at = model.residual[0]?.span ?? model.span;
  if (c.verdict === 'violated') {
    return [
      diagnostic('W0501', at, `implicit differentiation of \`${model.name}\` is not justified`, {
        label: 'a singular B is reachable here',
        notes: [c.reason, 'MATH.md 4: every B in the conservative Jacobian must be invertible; no derivative is justified at such a solution'],
        related,
        help: repairHelp(model, kinks.length > 0, nonexpansiveMap),
      }),
    ];
  }
  if (c.verdict === 'unverified') {
    return [
      diagnostic('W0502', at, `invertibility of B for \`${model.name}\` could not be certified`, {
        label: 'no sound test applies',
        notes: [c.reason],
        related,
        help: proofHelp(model),
      }),
    ];
  }
  return [];
}

/**
 * W0501's help: a change of the model after which no singular B is reachable, in the model's
 * own terms (test/analysis/help.test.ts applies each one and checks that the verdict changes).
 * A fixpoint map scaled by 0.9 has Lipschitz constant 0.9 times the map's: a contraction when
 * the map is nonexpansive (its norm bound is at most 1 whatever the inputs, MATH.md 5.2), and
 * only then is that the help. A scalar residual plus 2y has B shifted by 2: the interval test
 * certifies when the kinks' range of B stays above -2 (abs, relu, |y|-like `if`). Otherwise the
 * counterexample comes from inputs that no test excludes (a matrix W of any norm, a map times
 * the unknown): the help is W0502's, what makes a sound test apply.
 */
function repairHelp(model: IrModel, hasKinks: boolean, nonexpansiveMap: boolean): string {
  const fix = model.residual.length === 1 ? model.residual[0].fixpoint : null;
  if (fix && nonexpansiveMap) return `scale the map by a factor below 1, e.g. \`fixpoint ${fix.unknown} = 0.9 * (...)\`, so that it is a contraction and every B = I - T_y is invertible`;
  const scalar = model.unknowns.length === 1 && model.unknowns[0].shape.length === 0;
  if (scalar && !fix) {
    const y = model.unknowns[0].name;
    return `make F strictly increasing in \`${y}\`${hasKinks ? ' across its kinks' : ''}, e.g. add \`2 * ${y}\` to the residual, so that no B reaches 0`;
  }
  return proofHelp(model);
}

/**
 * W0502's help: what makes a sound test apply (test/analysis/help.test.ts applies each one).
 * The contraction and small-gain tests read norm bounds from `require` (MATH.md 5.2), but only
 * of fixpoint maps: a `solve` form needs rewriting as `fixpoint` first.
 */
function proofHelp(model: IrModel): string {
  const matrices = matricesOf(model);
  // A bound already stated is named as such (the rewrite is then all that is missing).
  const stated = matrices.length > 0 && model.requires.some((r) => (model.textOf(r.node) ?? '').includes(`opnorm(${matrices[0]})`));
  const bound = matrices.length ? `\`require opnorm(${matrices[0]}) <= 0.9\`` : '`require opnorm(W) <= 0.9` on the matrix W the map multiplies';
  const reads = (test: string) => `: the ${test} then reads the bound your \`require\` states on \`opnorm(${matrices[0]})\``;
  if (model.unknowns.length > 1 || model.residual.length > 1) {
    // The small-gain test between blocks reads the norms of fixpoint maps' blocks dT_i/dy_j.
    const u = model.unknowns[0].name;
    const form = `write each equation in fixpoint form (\`fixpoint ${u} = T(...)\`, one per unknown)`;
    return stated ? `${form}${reads('small-gain test between the blocks')}` : `${form} and bound the matrices the maps multiply with ${bound}, so that the small-gain test between the blocks applies`;
  }
  const fix = model.residual[0].fixpoint;
  const y = model.unknowns[0].name;
  // A fixpoint reaching here has no norm bound for T_y (a factor of the unknown itself, say):
  // a `require` on a matrix alone bounds nothing until T is built of bounded pieces.
  if (fix) return `write the map as nonexpansive functions (relu, clip, tanh, ...) of \`${matrices[0] ?? 'W'} * ${y} + ...\`, with no other factor of \`${y}\`${stated ? reads('contraction test') : `, and state a contraction with ${bound}`}`;
  return `write the equation as \`fixpoint ${y} = T(${y})\` (F = ${y} - T)${stated ? reads('contraction test') : ` and state a contraction with ${bound}`}`;
}

/** Matrix-valued params, data and lets that the residual's source text names: the operators whose norm a `require` can bound. */
function matricesOf(model: IrModel): string[] {
  const text = model.residual.map((b) => model.textOf(b.fixpoint ? b.fixpoint.map : b.node) ?? '').join(' ');
  const named = (v: string) => new RegExp(`(^|[^A-Za-z0-9_])${v}([^A-Za-z0-9_]|$)`).test(text);
  const vars = [...model.params, ...model.data].filter((v) => v.shape.length === 2).map((v) => v.name);
  const lets = [...model.lets].filter(([, id]) => model.graph.shape(id).length === 2).map(([name]) => name);
  return [...vars, ...lets].filter(named);
}

export type { Definability, Lipschitz };
