import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Span } from '../diagnostics/span.ts';
import {
  addDims, addSize, broadcast, dimForm, dimNames, dimOf, isDimName, isScalar, real, sameShape, sameSize, showShape, showSize, showType, sizeOf, SCALAR,
  type SizePoly, type ValueType,
} from '../ir/shape.ts';
import { isConeParam } from '../primitives/cones.ts';
import { isIndexParam } from '../primitives/groups.ts';
import { END, gatherFor } from '../primitives/indexing.ts';
import { AXIS_REDUCTIONS, rowwiseReduction } from '../primitives/reductions.ts';
import { binaryPrimitive, callable, callableNames, primitive, unaryPrimitive } from '../primitives/registry.ts';
import type { Attrs, ShapeResult } from '../primitives/types.ts';
import type { ConeBlockRef, Decl, DimRef, Equation, Expr, Ident, Model, Program, TypeExpr } from '../syntax/ast.ts';
import type { Dim } from '../ir/shape.ts';
import { modelNameDiagnostics } from './js-names.ts';
import { closest } from './suggest.ts';
import type { ModelSymbol, SymbolKind } from './symbols.ts';

/** A model whose names, dims and shapes are consistent. Later stages consume only this. */
export interface CheckedModel {
  model: Model;
  symbols: Map<string, ModelSymbol>;
  /** The type of every expression node of the model. */
  types: Map<Expr, ValueType>;
  /** Declaration order of inputs and unknowns. */
  dims: ModelSymbol[];
  data: ModelSymbol[];
  params: ModelSymbol[];
  unknowns: ModelSymbol[];
  lets: ModelSymbol[];
  outputs: ModelSymbol[];
  fixpoints: Map<string, Extract<Decl, { kind: 'fixpoint' }>>;
  equations: Equation[];
  requires: Extract<Decl, { kind: 'require' }>[];
  /**
   * How each index, bracket literal and constructor lowers: its primitive, its arguments (source
   * expressions, constant positions, or nested plans) and its static attributes.
   */
  plans: Map<Expr, Plan>;
  /** The declared cones (`cone K = ...`), by name: their blocks and length (src/ir/lower.ts builds their code). */
  cones: Map<string, ConeInfo>;
}

/** A checked `cone` declaration: its blocks in order, each a kind and a size (a psd block's is the matrix order). */
export interface ConeInfo {
  name: string;
  /** The cone's length as a Dim: the declared `[t]`, or the sum of the blocks' lengths. */
  size: Dim;
  /** The declared length (`cone K[t] = ...`), null when it is the blocks' sum. */
  declared: Dim | null;
  blocks: { kind: ConeBlockKind; size: Dim }[];
  span: Span;
}

/** The kinds of cone block, in the order of their codes (src/runtime/values/cones.ts). */
export const CONE_BLOCK_KINDS = ['zero', 'nonneg', 'soc', 'psd'] as const;
export type ConeBlockKind = (typeof CONE_BLOCK_KINDS)[number];

/** A primitive application decided by the checker (indexing, literals, constructors). */
export interface Plan {
  op: string;
  args: PlanArg[];
  attrs: Attrs;
}
export type PlanArg = { expr: Expr } | { constant: number } | { plan: Plan };

/**
 * A dim expression as a linear form: `c + sum coef * dim`. Index positions and sizes are
 * integer literals, dims and their sums, differences and integer multiples (`n - 1`, `2 * k`).
 */
interface Lin {
  c: number;
  terms: Map<string, number>;
}

const linConst = (c: number): Lin => ({ c, terms: new Map() });
function linAdd(a: Lin, b: Lin, sign: 1 | -1): Lin {
  const terms = new Map(a.terms);
  for (const [k, v] of b.terms) terms.set(k, (terms.get(k) ?? 0) + sign * v);
  for (const [k, v] of terms) if (v === 0) terms.delete(k);
  return { c: a.c + sign * b.c, terms };
}
function linScale(a: Lin, f: number): Lin {
  const terms = new Map<string, number>();
  if (f !== 0) for (const [k, v] of a.terms) terms.set(k, v * f);
  return { c: a.c * f, terms };
}
/** A Dim's linear form (a sum such as `m + n`, made by concatenation, is read term by term). */
const linOfDim = (d: Dim): Lin => dimForm(d);
/** The single Dim a linear form is (a constant, or one dim with coefficient 1), or null. */
function linAsDim(a: Lin): Dim | null {
  if (a.terms.size === 0) return a.c;
  if (a.terms.size === 1 && a.c === 0) {
    const [[k, v]] = [...a.terms];
    if (v === 1) return k;
  }
  return null;
}
function showLin(a: Lin): string {
  const parts: string[] = [];
  for (const [k, v] of a.terms) parts.push(`${parts.length ? (v < 0 ? ' - ' : ' + ') : v < 0 ? '-' : ''}${Math.abs(v) === 1 ? '' : `${Math.abs(v)} * `}${k}`);
  if (a.c !== 0 || parts.length === 0) parts.push(`${parts.length ? (a.c < 0 ? ' - ' : ' + ') : a.c < 0 ? '-' : ''}${Math.abs(a.c)}`);
  return parts.join('');
}

export interface CheckResult {
  /** Models without errors; a model with an error is not passed on. */
  models: CheckedModel[];
  diagnostics: Diagnostic[];
}

const KIND_TEXT: Record<SymbolKind, string> = {
  dim: 'dimension',
  data: 'data input',
  param: 'parameter',
  let: 'let binding',
  unknown: 'unknown',
  output: 'output',
  cone: 'cone',
};

/** E0108: a model defined a second time at `name`, first at `first` (in this file or, for `build`, another). */
export function duplicateModel(name: Ident, first: Span, notes: string[] = []): Diagnostic {
  return diagnostic('E0108', name.span, `model \`${name.name}\` is defined twice`, {
    label: 'second definition',
    related: [{ span: first, message: 'first defined here' }],
    notes,
  });
}

/** Check every model of a program; report every error, not only the first. */
export function check(program: Program, recoveredNames: ReadonlySet<string> = new Set()): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const models: CheckedModel[] = [];
  const seen = new Map<string, Span>();
  for (const model of program.models) {
    const previous = seen.get(model.name.name);
    if (previous) {
      diagnostics.push(duplicateModel(model.name, previous));
    } else {
      seen.set(model.name.name, model.name.span);
    }
    const nameErrors = modelNameDiagnostics(model.name);
    diagnostics.push(...nameErrors);
    const checker = new ModelChecker(model, recoveredNames);
    const checked = checker.run();
    diagnostics.push(...checker.diagnostics);
    if (!nameErrors.length && !checker.diagnostics.some((d) => d.severity === 'error')) models.push(checked);
  }
  return { models, diagnostics };
}

class ModelChecker {
  readonly diagnostics: Diagnostic[] = [];
  private readonly symbols = new Map<string, ModelSymbol>();
  private readonly types = new Map<Expr, ValueType>();
  /** Every name declared anywhere in the model, for "declared later" messages. */
  private readonly laterDecls = new Map<string, Span>();
  private order = 0;

  constructor(
    private readonly model: Model,
    private readonly recoveredNames: ReadonlySet<string>,
  ) {
    for (const d of model.decls) {
      for (const id of declaredNames(d)) if (!this.laterDecls.has(id.name)) this.laterDecls.set(id.name, id.span);
    }
  }

  run(): CheckedModel {
    const fixpoints = new Map<string, Extract<Decl, { kind: 'fixpoint' }>>();
    const equations: Equation[] = [];
    const requires: Extract<Decl, { kind: 'require' }>[] = [];
    const solveDecls: Extract<Decl, { kind: 'solve' }>[] = [];
    for (const decl of this.model.decls) {
      this.order++;
      switch (decl.kind) {
        case 'dim':
          for (const n of decl.names) this.declare(n.name, n.span, 'dim', decl, real(SCALAR));
          break;
        case 'data':
        case 'param':
          if (decl.kind === 'param' && decl.type.base === 'index') this.indexOnlyData(decl.type, 'a `param`');
          this.declare(decl.name.name, decl.name.span, decl.kind, decl, this.typeOf(decl.type));
          break;
        case 'cone':
          this.cone(decl);
          break;
        case 'let': {
          const t = this.expr(decl.value);
          this.declare(decl.name.name, decl.name.span, 'let', decl, t ?? real(SCALAR), decl.value);
          break;
        }
        case 'unknown': {
          if (decl.type.base === 'index') this.indexOnlyData(decl.type, 'an `unknown`');
          const type = this.typeOf(decl.type);
          if (decl.init) {
            const t = this.expectReal(decl.init);
            if (t && !(t.shape.length === 0 || sameShape(t.shape, type.shape))) {
              this.error('E0209', decl.init.span, `initial value is ${showType(t)}, but \`${decl.name.name}\` is ${showType(type)}`, {
                label: `this is ${showType(t)}`,
                help: 'give a scalar (used for every entry) or a value of the unknown\'s shape',
              });
            }
          }
          this.declare(decl.name.name, decl.name.span, 'unknown', decl, type);
          break;
        }
        case 'fixpoint':
          this.fixpoint(decl, fixpoints);
          break;
        case 'solve':
          solveDecls.push(decl);
          for (const eq of decl.equations) {
            const l = this.expectReal(eq.lhs);
            const r = this.expectReal(eq.rhs);
            if (l && r && !broadcast([l.shape, r.shape])) {
              this.error('E0201', eq.span, `the two sides of the equation have different shapes: ${showType(l)} and ${showType(r)}`, {
                label: 'sides differ in shape',
              });
            }
            equations.push(eq);
          }
          break;
        case 'output': {
          // Any shape (issue 15): a vector or matrix output has a full Jacobian in the params
          // (LANGUAGE.md `gradients.O.P`). E0205 (outputs must be scalars) is retired.
          const t = this.expectReal(decl.value);
          this.declare(decl.name.name, decl.name.span, 'output', decl, t ?? real(SCALAR), decl.value);
          break;
        }
        case 'require': {
          const t = this.expr(decl.cond);
          if (t && t.kind !== 'bool') {
            this.error('E0206', decl.cond.span, `\`require\` needs a condition, found ${showType(t)}`, {
              label: 'not a condition',
              help: 'state an assumption with a comparison, e.g. `require opnorm(W) < 1`',
            });
          }
          requires.push(decl);
          break;
        }
      }
    }
    this.dimsOnlyInSums();
    const all = [...this.symbols.values()];
    const of = (k: SymbolKind) => all.filter((s) => s.kind === k);
    const unknowns = of('unknown');
    this.systemSize(unknowns, fixpoints, equations, solveDecls);
    this.unused(all);
    return {
      model: this.model,
      symbols: this.symbols,
      types: this.types,
      dims: of('dim'),
      data: of('data'),
      params: of('param'),
      unknowns,
      lets: of('let'),
      outputs: of('output'),
      fixpoints,
      equations,
      requires,
      plans: this.plans,
      cones: this.cones,
    };
  }

  /** The declared cones (CheckedModel.cones). */
  private readonly cones = new Map<string, ConeInfo>();

  /**
   * `cone K[t] = zero[p] * nonneg[q] * soc[r] * psd[k]`: each block a known kind and a size
   * (a dim expression: the block's length, or a psd block's matrix order k, whose length is
   * k(k+1)/2). The cone's length is `t` when declared, else the sum of the blocks' lengths,
   * which a psd block makes non-affine: then `[t]` is required (E0216). The runtime binds `t`
   * from the blocks when no input does, and checks it when one does (src/runtime/inputs.ts).
   */
  private cone(decl: Extract<Decl, { kind: 'cone' }>): void {
    const blocks: ConeInfo['blocks'] = [];
    let ok = true;
    for (const b of decl.blocks) {
      const kind = this.coneBlockKind(b);
      const size = this.dimRef(b.size);
      if (kind === null) ok = false;
      else blocks.push({ kind, size });
    }
    const declared = decl.size ? this.dimRef(decl.size) : null;
    // A block's length: its size, or k(k+1)/2 for a psd block of literal order k; null for a
    // psd block whose order is a dim (its length is not a sum of dims).
    const lengthOf = (b: ConeInfo['blocks'][number]): Dim | null => (b.kind !== 'psd' ? b.size : typeof b.size === 'number' ? (b.size * (b.size + 1)) / 2 : null);
    const lengths = blocks.map(lengthOf);
    const psd = lengths.some((l) => l === null);
    const sum = psd ? null : addDims(...(lengths as Dim[]));
    if (declared !== null && sum !== null) {
      // Both affine: a difference that is a nonzero constant holds for every binding of the dims.
      const diff = dimForm(addDims(declared, dimOf({ c: -dimForm(sum).c, terms: new Map([...dimForm(sum).terms].map(([k, v]) => [k, -v])) })));
      if (diff.terms.size === 0 && diff.c !== 0) {
        this.error('E0201', decl.size!.span, `cone \`${decl.name.name}\` is declared of length ${declared}, but its blocks hold ${sum} entries`, {
          label: `the blocks hold ${sum}`,
          help: `drop the declared length (the blocks' sum, ${sum}, is the length), or fix the blocks`,
        });
        ok = false;
      }
    }
    let size: Dim | null = declared;
    if (size === null && psd) {
      this.error('E0216', decl.name.span, `cone \`${decl.name.name}\` has a psd block, so its length is not a sum of dims: name it`, {
        label: 'length not given',
        notes: ['a psd[k] block holds the k(k+1)/2 entries of a symmetric matrix in svec form'],
        help: `write \`cone ${decl.name.name}[t] = ...\` with \`dim t\` declared; t is bound from the blocks at run time`,
      });
      ok = false;
    } else if (size === null) size = sum;
    const type: ValueType = { kind: 'cone', shape: [size ?? 0] };
    this.declare(decl.name.name, decl.name.span, 'cone', decl, type);
    if (ok && size !== null) this.cones.set(decl.name.name, { name: decl.name.name, size, declared, blocks, span: decl.span });
  }

  private coneBlockKind(b: ConeBlockRef): ConeBlockKind | null {
    const k = (CONE_BLOCK_KINDS as readonly string[]).includes(b.kind.name) ? (b.kind.name as ConeBlockKind) : null;
    if (k === null) {
      const guess = closest(b.kind.name, [...CONE_BLOCK_KINDS]);
      this.error('E0110', b.kind.span, `\`${b.kind.name}\` is not a kind of cone`, {
        label: 'unknown cone kind',
        notes: ['a cone is a product of `zero[p]` (the point 0: equalities), `nonneg[q]` (inequalities), `soc[r]` (a second-order cone, t first) and `psd[k]` (k x k PSD matrices in svec form)'],
        help: guess ? `did you mean \`${guess}\`?` : undefined,
      });
    }
    return k;
  }

  /** A size written in a declaration, as a normalized Dim (names must be declared dims). */
  private dimRef(d: DimRef): Dim {
    if (d.kind === 'size') return d.value;
    if (d.kind === 'dim') return this.dimName(d.name, d.span);
    const form: Lin = linConst(d.c);
    for (const term of d.terms) {
      const name = this.dimName(term.name, term.span);
      form.terms.set(name, (form.terms.get(name) ?? 0) + term.coef);
    }
    for (const [k, v] of form.terms) if (v === 0) form.terms.delete(k);
    return dimOf(form);
  }

  /** How indexes, bracket literals and constructors lower (CheckedModel.plans). */
  private readonly plans = new Map<Expr, Plan>();

  /** `e` as a dim expression, or null (without a diagnostic) when it is not one. */
  private lin(e: Expr): Lin | null {
    switch (e.kind) {
      case 'number':
        return Number.isInteger(e.value) ? linConst(e.value) : null;
      case 'name': {
        const s = this.symbols.get(e.name);
        return s && s.kind === 'dim' ? linOfDim(e.name) : null;
      }
      case 'unary': {
        if (e.op === '!') return null;
        const a = this.lin(e.arg);
        return a && (e.op === '-' ? linScale(a, -1) : a);
      }
      case 'binary': {
        if (e.op !== '+' && e.op !== '-' && e.op !== '*') return null;
        const a = this.lin(e.left);
        const b = this.lin(e.right);
        if (!a || !b) return null;
        if (e.op === '*') {
          if (a.terms.size === 0) return linScale(b, a.c);
          if (b.terms.size === 0) return linScale(a, b.c);
          return null;
        }
        return linAdd(a, b, e.op === '+' ? 1 : -1);
      }
      default:
        return null;
    }
  }

  /** Type-check a position or size and read it as a dim expression (E0211 when it is not one). */
  private position(e: Expr, what: string): Lin | null {
    const t = this.expectReal(e);
    if (!t) return null;
    const l = this.lin(e);
    if (!l || !isScalar(t.shape)) {
      this.error('E0211', e.span, `${what} must be an integer literal or a dim expression`, {
        label: t && !isScalar(t.shape) ? `this is ${showType(t)}` : 'not an integer or dim expression',
        help: 'write an integer (`1`), a dim (`n`) or simple dim arithmetic (`n - 1`, `2 * k`); positions are 1-based',
      });
      return null;
    }
    return l;
  }

  /**
   * E0210 when position `p` is provably outside 1..size: below 1 as a constant, or above the
   * size (both constants, or the size plus a positive constant). Otherwise the kernel checks it
   * at run time.
   */
  private inRange(p: Lin, size: Dim, e: Expr, axis: number, rank: number, what: string): boolean {
    const over = linAdd(p, linOfDim(size), -1);
    const low = p.terms.size === 0 && p.c < 1;
    const high = over.terms.size === 0 && over.c > 0;
    if (!low && !high) return true;
    this.error('E0210', e.span, `${what} ${showLin(p)} is out of range 1..${size}${rank > 1 ? ` of axis ${axis + 1}` : ''}`, {
      label: low ? 'positions start at 1' : `past the end (${size})`,
      help: 'positions are 1-based and `a:b` includes both ends: `y[1]` is the first entry, `y[n]` the last',
    });
    return false;
  }

  private index(e: Extract<Expr, { kind: 'index' }>): ValueType | null {
    const x = this.expectReal(e.arg);
    if (!x) {
      for (const item of e.indices) {
        if (item.kind === 'at') this.expr(item.index);
        else if (item.kind === 'range') this.expr(item.lo), this.expr(item.hi);
      }
      return null;
    }
    const rank = x.shape.length;
    if (rank === 0 || rank !== e.indices.length) {
      this.error('E0212', e.span, rank === 0 ? 'a scalar cannot be indexed' : `${showType(x)} takes ${rank} ${rank === 1 ? 'index' : 'indices'}, found ${e.indices.length}`, {
        label: `this is ${showType(x)}`,
        help: rank === 0 ? undefined : rank === 1 ? 'write `y[i]` or `y[a:b]`' : 'write `X[i, j]`, `X[:, j]`, `X[i, :]` or `X[a:b, c:d]`',
      });
      return null;
    }
    const args: PlanArg[] = [{ expr: e.arg }];
    const attrs: Record<string, Dim> = {};
    const keep: boolean[] = [];
    let ok = true;
    e.indices.forEach((item, axis) => {
      const size = x.shape[axis];
      if (item.kind === 'all') {
        args.push({ constant: 1 }, { constant: END });
        attrs[`len${axis}`] = size;
        keep.push(true);
        return;
      }
      if (item.kind === 'at') {
        const p = this.position(item.index, 'an index');
        if (!p || !this.inRange(p, size, item.index, axis, rank, 'index')) {
          ok = false;
          return;
        }
        args.push({ expr: item.index }, { expr: item.index });
        keep.push(false);
        return;
      }
      const lo = this.position(item.lo, 'the start of a range');
      const hi = this.position(item.hi, 'the end of a range');
      if (!lo || !hi) {
        ok = false;
        return;
      }
      if (!this.inRange(lo, size, item.lo, axis, rank, 'start') || !this.inRange(hi, size, item.hi, axis, rank, 'end')) {
        ok = false;
        return;
      }
      const len = linAdd(linAdd(hi, lo, -1), linConst(1), 1);
      // The length as a Dim: a literal, a dim, or an affine sum (`y[2:n]` is real[n - 1],
      // src/ir/shape.ts). Positions read only integer literals and dims (`lin`), so the
      // coefficients are integers; the guard keeps E0211 should that ever change.
      const dim = [...len.terms.values()].every(Number.isInteger) && Number.isInteger(len.c) ? dimOf(len) : null;
      // Provably empty: with no positive coefficient the length is largest with every dim at
      // its least value, 1 (dims are bound >= 1, src/runtime/inputs.ts), so below 1 there means
      // below 1 for every binding (`y[n:1]`). Otherwise an empty range is the kernel's bind-time error.
      const most = [...len.terms.values()].every((v) => v <= 0) ? len.c + [...len.terms.values()].reduce((a, v) => a + v, 0) : Infinity;
      if (most < 1) {
        this.error('E0210', item.span, `the range ${showLin(lo)}:${showLin(hi)} is empty`, {
          label: 'its end is before its start',
          help: '`a:b` includes both ends and needs a <= b',
        });
        ok = false;
        return;
      }
      if (dim === null) {
        this.error('E0211', item.span, `the length of this range is ${showLin(len)}, which is not an integer or dim expression`, {
          label: 'length is b - a + 1',
          help: 'a range\'s ends are integers or dim arithmetic (`y[2:4]`, `y[1:n]`, `y[2:n]`, `y[k+1:k+n]`)',
        });
        ok = false;
        return;
      }
      args.push({ expr: item.lo }, { expr: item.hi });
      attrs[`len${axis}`] = dim;
      keep.push(true);
    });
    if (!ok) return null;
    const op = gatherFor(rank, keep[0], keep[1] ?? false);
    const plan: Plan = { op, args, attrs };
    this.plans.set(e, plan);
    return this.applyPlan(e, plan);
  }

  /** The type of a plan through its primitive's shape rule (the registry's, as for every operator). */
  private applyPlan(e: Expr, plan: Plan): ValueType | null {
    const types: ValueType[] = [];
    for (const a of plan.args) {
      if ('constant' in a) types.push(real(SCALAR));
      else if ('expr' in a) {
        const t = this.types.get(a.expr);
        if (!t) return null;
        types.push(t);
      } else {
        const t = this.applyPlan(e, a.plan);
        if (!t) return null;
        types.push(t);
      }
    }
    const result = primitive(plan.op).shape(types, plan.attrs);
    if (result.ok) return result.type;
    this.error(result.code, e.span, result.message, { help: result.help });
    return null;
  }

  /**
   * `[e1, ..., ek]`: scalars make a vector; vectors of one length make the matrix with those
   * rows (`[[1, 0], [0, 1]]`, and `[a, b]` of two vectors: rows a and b); matrices of one
   * number of rows are put side by side (`[A, B]`: real[n, k + l]). `[r1; ...; rk]` with rows of
   * scalars makes the matrix with those rows (`[1, 2; 3, 4]`); rows of one scalar each make a
   * vector (`[1; 2; 3]`). Otherwise `;` is the vertical stack (concatenation): `[a; b]` of
   * vectors (and scalars, as one-entry vectors: `[y; 1]` is real[n + 1]) puts them end to end;
   * `[A; B]` of matrices (each row of the literal may be matrices side by side, `[A, B; C, D]`)
   * puts them one above the other. The sizes add (src/ir/shape.ts, Dim sums). What remains
   * unsupported (E0213): mixing matrices with vectors or scalars, and vectors or scalars side
   * by side with anything but scalars.
   */
  private bracket(e: Extract<Expr, { kind: 'bracket' }>): ValueType | null {
    const types = e.rows.map((row) => row.map((x) => this.expectReal(x)));
    if (types.some((row) => row.some((t) => t === null))) return null;
    const ts = types as ValueType[][];
    const scalar = (t: ValueType) => isScalar(t.shape) && t.shape.length === 0;
    const vector = (t: ValueType) => t.shape.length === 1;
    const matrix = (t: ValueType) => t.shape.length === 2;
    const entries = (row: Expr[]): PlanArg[] => row.map((x) => ({ expr: x }));
    let plan: Plan | null = null;
    if (e.rows.length === 1) {
      const row = ts[0];
      if (row.every(scalar)) plan = { op: 'literal_vector', args: entries(e.rows[0]), attrs: {} };
      else if (row.every(vector)) plan = { op: 'stack_rows', args: entries(e.rows[0]), attrs: {} };
      else if (row.every(matrix)) plan = { op: 'concat_cols', args: entries(e.rows[0]), attrs: {} };
    } else if (ts.every((row) => row.length === 1 && scalar(row[0]))) {
      plan = { op: 'literal_vector', args: e.rows.map((row) => ({ expr: row[0] })), attrs: {} };
    } else if (ts.every((row) => row.every(scalar))) {
      const width = e.rows[0].length;
      const bad = e.rows.findIndex((row) => row.length !== width);
      if (bad >= 0) {
        const row = e.rows[bad];
        this.error('E0213', { file: e.span.file, start: row[0].span.start, end: row[row.length - 1].span.end }, `row ${bad + 1} has ${row.length} entr${row.length === 1 ? 'y' : 'ies'}, row 1 has ${width}`, {
          label: `${row.length} entr${row.length === 1 ? 'y' : 'ies'}`,
          help: 'every row of a matrix literal has the same number of entries',
        });
        return null;
      }
      plan = { op: 'stack_rows', args: e.rows.map((row) => ({ plan: { op: 'literal_vector', args: entries(row), attrs: {} } })), attrs: {} };
    } else if (ts.every((row) => row.length === 1 && (scalar(row[0]) || vector(row[0])))) {
      // The vertical stack of vectors; a scalar is a one-entry vector.
      plan = {
        op: 'concat_rows',
        args: e.rows.map((row, i) => (vector(ts[i][0]) ? { expr: row[0] } : { plan: { op: 'literal_vector', args: [{ expr: row[0] }], attrs: {} } })),
        attrs: {},
      };
    } else if (ts.every((row) => row.every(matrix))) {
      // Block rows: matrices side by side within a row, the rows one above the other.
      plan = {
        op: 'concat_rows',
        args: e.rows.map((row) => (row.length === 1 ? { expr: row[0] } : { plan: { op: 'concat_cols', args: entries(row), attrs: {} } })),
        attrs: {},
      };
    }
    if (!plan) {
      const kinds = [...new Set(ts.flat().map((t) => (t.shape.length === 0 ? 'scalars' : t.shape.length === 1 ? 'vectors' : 'matrices')))].join(' and ');
      this.error('E0213', e.span, `this bracket literal of ${kinds} is not supported`, {
        label: e.rows.length > 1 ? 'rows separated by `;`' : 'entries separated by `,`',
        help: 'write `[1, 2, 3]` (scalars: a vector), `[[1, 0], [0, 1]]` or `[1, 0; 0, 1]` (a matrix by rows), `[a; b]` (vectors or scalars end to end), `[A; B]` or `[A, B]` (matrices stacked or side by side); matrices do not mix with vectors or scalars',
      });
      return null;
    }
    this.plans.set(e, plan);
    return this.applyPlan(e, plan);
  }

  /** `zeros(n)`, `ones(n, m)`, `fill(c, n)`, `eye(n)`: sizes are integer literals or dims. */
  private constructorCall(e: Extract<Expr, { kind: 'call' }>): ValueType | null {
    const name = e.callee.name;
    const valueArgs = name === 'fill' ? 1 : 0;
    const maxSizes = name === 'eye' ? 1 : 2;
    const sizes = e.args.slice(valueArgs);
    if (e.args.length < valueArgs + 1 || sizes.length > maxSizes) {
      const forms = name === 'fill' ? 'fill(c, n) or fill(c, n, m)' : name === 'eye' ? 'eye(n)' : `${name}(n) or ${name}(n, m)`;
      for (const a of e.args) this.expr(a);
      this.error('E0104', e.span, `\`${name}\` takes ${forms}, but ${e.args.length} argument${e.args.length === 1 ? ' was' : 's were'} given`, {
        label: `expected ${forms}`,
      });
      return null;
    }
    const attrs: Record<string, Dim> = {};
    let ok = true;
    sizes.forEach((s, axis) => {
      const l = this.position(s, 'a size');
      if (!l) {
        ok = false;
        return;
      }
      const dim = linAsDim(l);
      if (dim === null || (typeof dim === 'number' && dim < 1)) {
        this.error('E0211', s.span, `a size must be a positive integer or a dim, found ${showLin(l)}`, { label: 'not a size' });
        ok = false;
        return;
      }
      attrs[`len${axis}`] = dim;
    });
    const value = name === 'fill' ? this.expectReal(e.args[0]) : null;
    if (!ok || (name === 'fill' && !value)) return null;
    const first: PlanArg[] = name === 'fill' ? [{ expr: e.args[0] }] : name === 'eye' ? [] : [{ constant: name === 'ones' ? 1 : 0 }];
    const plan: Plan = { op: name === 'eye' ? 'eye' : 'fill', args: [...first, ...sizes.map((x) => ({ expr: x }))], attrs };
    this.plans.set(e, plan);
    return this.applyPlan(e, plan);
  }

  private fixpoint(decl: Extract<Decl, { kind: 'fixpoint' }>, fixpoints: Map<string, Extract<Decl, { kind: 'fixpoint' }>>): void {
    const target = this.symbols.get(decl.name.name);
    const t = this.expectReal(decl.value);
    if (!target) {
      this.undeclared(decl.name.name, decl.name.span);
      return;
    }
    target.used = true;
    if (target.kind !== 'unknown') {
      this.error('E0107', decl.name.span, `\`${decl.name.name}\` is a ${KIND_TEXT[target.kind]}, not an unknown`, {
        label: 'only unknowns have fixpoints',
        related: [{ span: target.span, message: `declared as a ${KIND_TEXT[target.kind]} here` }],
        help: `declare it with \`unknown ${decl.name.name}: ...\``,
      });
      return;
    }
    const previous = fixpoints.get(decl.name.name);
    if (previous) {
      this.error('E0302', decl.name.span, `\`${decl.name.name}\` already has a fixpoint`, {
        label: 'second fixpoint',
        related: [{ span: previous.name.span, message: 'first fixpoint here' }],
        help: 'an unknown is defined by exactly one fixpoint; use `solve` for systems of equations',
      });
    } else {
      fixpoints.set(decl.name.name, decl);
    }
    if (t && !sameShape(t.shape, target.type.shape)) {
      this.error('E0204', decl.value.span, `right side is ${showType(t)}, but \`${decl.name.name}\` is ${showType(target.type)}`, {
        label: `this is ${showType(t)}`,
        related: [{ span: target.span, message: `declared as ${showType(target.type)} here` }],
      });
    }
  }

  /** MATH.md section 1: as many equations as unknowns, counted symbolically in the dims. */
  private systemSize(
    unknowns: ModelSymbol[],
    fixpoints: Map<string, unknown>,
    equations: Equation[],
    solveDecls: Extract<Decl, { kind: 'solve' }>[],
  ): void {
    if (unknowns.length === 0) {
      // An explicit layer (issue 15): no unknown, no equation, outputs of the inputs alone.
      // Equations with nothing to determine are E0305; a model with neither an unknown nor an
      // output computes nothing (E0304).
      if (this.recoveredAny(['unknown'])) return;
      if (solveDecls.length > 0) {
        this.error('E0305', solveDecls[0].span, `model \`${this.model.name.name}\` has no unknown; these equations have nothing to determine`, {
          label: 'equations without unknowns',
          help: 'declare what the equations define, e.g. `unknown y: real`',
        });
      } else if (![...this.symbols.values()].some((s) => s.kind === 'output') && !this.recoveredAny(['output'])) {
        this.error('E0304', this.model.name.span, `model \`${this.model.name.name}\` has no unknown and no output`, {
          label: 'nothing to compute',
          help: 'declare what the model defines implicitly (`unknown y: real`) or what it computes (`output o = ...`)',
        });
      }
      return;
    }
    const free = unknowns.filter((u) => !fixpoints.has(u.name));
    if (solveDecls.length === 0) {
      for (const u of free) {
        if (this.recoveredNames.has(u.name)) continue;
        this.error('E0301', u.span, `unknown \`${u.name}\` has no defining equation`, {
          label: 'never defined',
          help: `add \`fixpoint ${u.name} = ...\` or a \`solve\` equation`,
        });
      }
      return;
    }
    let eqSize: SizePoly = new Map();
    for (const eq of equations) {
      const l = this.types.get(eq.lhs);
      const r = this.types.get(eq.rhs);
      if (!l || !r) return; // an error was reported already
      const shape = broadcast([l.shape, r.shape]);
      if (!shape) return;
      eqSize = addSize(eqSize, sizeOf(shape));
    }
    if (free.length === 0) {
      this.error('E0305', solveDecls[0].span, 'every unknown already has a fixpoint; these equations have nothing to determine', {
        label: 'extra equations',
      });
      return;
    }
    let unknownSize: SizePoly = new Map();
    for (const u of free) unknownSize = addSize(unknownSize, sizeOf(u.type.shape));
    if (!sameSize(eqSize, unknownSize) && !this.recoveredAny(['solve', 'unknown'])) {
      const first = solveDecls[0].span;
      const last = solveDecls[solveDecls.length - 1].span;
      this.error('E0303', { file: first.file, start: first.start, end: last.end }, `${showSize(eqSize)} equations for ${showSize(unknownSize)} unknowns`, {
        label: `equations have total size ${showSize(eqSize)}`,
        notes: [`unknowns without a fixpoint: ${free.map((u) => `\`${u.name}\`: ${showShape(u.type.shape)}`).join(', ')}`],
        related: free.map((u) => ({ span: u.span, message: `size ${showSize(sizeOf(u.type.shape))}` })),
      });
    }
  }

  private recoveredAny(words: string[]): boolean {
    return words.some((w) => this.recoveredNames.has(w));
  }

  private unused(all: ModelSymbol[]): void {
    // After syntax recovery a use may sit in a dropped declaration: say nothing then.
    if (this.recoveredNames.size > 0) return;
    for (const s of all) {
      if (s.used || s.kind === 'output' || s.kind === 'unknown' || s.kind === 'dim') continue;
      this.diagnostics.push(
        diagnostic('W0110', s.span, `${KIND_TEXT[s.kind]} \`${s.name}\` is never used`, {
          label: 'unused',
          help: s.kind === 'let' ? 'remove it' : 'remove it, or use it in an equation or output',
        }),
      );
    }
  }

  private declare(name: string, span: Span, kind: SymbolKind, decl: Decl, type: ValueType, value?: Expr): void {
    const previous = this.symbols.get(name);
    if (previous) {
      this.error('E0102', span, `\`${name}\` is already declared`, {
        label: 'declared again',
        related: [{ span: previous.span, message: `first declared here as a ${KIND_TEXT[previous.kind]}` }],
      });
      return;
    }
    this.symbols.set(name, { name, kind, span, decl, order: this.order, type, value, used: false });
  }

  /**
   * The runtime binds dims from the axes of the inputs that are one dim (src/runtime/inputs.ts
   * `bindInputs`) and only then checks the axes that are sums against their values: a dim that
   * appears in the inputs' types only inside sums (`real[n + m]` with no input of size `m`) could
   * never be bound (solving `n + m = 7` for m is not what a shape check should do), so it is an
   * error here, at each occurrence. Skipped after syntax recovery (a dropped declaration may
   * have bound it).
   */
  private dimsOnlyInSums(): void {
    if (this.recoveredNames.size > 0) return;
    const inputs = this.model.decls.filter((d): d is Extract<Decl, { kind: 'data' | 'param' }> => d.kind === 'data' || d.kind === 'param');
    const shapeOf = (d: Extract<Decl, { kind: 'data' | 'param' }>) => {
      const s = this.symbols.get(d.name.name);
      return s && s.decl === d ? s.type.shape : null;
    };
    const bound = new Set<string>();
    for (const d of inputs) for (const axis of shapeOf(d) ?? []) if (typeof axis === 'string' && isDimName(axis)) bound.add(axis);
    for (const d of inputs) {
      const shape = shapeOf(d);
      if (!shape) continue;
      d.type.dims.forEach((ref, axis) => {
        if (ref.kind !== 'sum') return;
        for (const term of ref.terms) {
          const s = this.symbols.get(term.name);
          if (!s || s.kind !== 'dim' || bound.has(term.name) || !dimNames(shape[axis]).includes(term.name)) continue;
          this.error('E0215', term.span, `dim \`${term.name}\` appears in the inputs' types only inside sums, so no input's shape can fix it`, {
            label: `inside \`${shape[axis]}\``,
            notes: ['dims are bound from the input axes that are one dim (`real[m]`); an axis that is a sum is then checked against them'],
            help: `give an input an axis of size \`${term.name}\` alone (e.g. \`data u: real[${term.name}]\`)`,
            related: [{ span: s.span, message: 'declared here' }],
          });
        }
      });
    }
  }

  /** A name in a type as a dimension: E0105 when it is not a declared dim (the name is kept, so checking goes on). */
  private dimName(name: string, span: Span): string {
    const s = this.symbols.get(name);
    if (s && s.kind === 'dim') {
      s.used = true;
      return name;
    }
    if (s) {
      this.error('E0105', span, `\`${name}\` is a ${KIND_TEXT[s.kind]}, not a dimension`, {
        label: 'not a dimension',
        related: [{ span: s.span, message: 'declared here' }],
      });
    } else if (!this.recoveredNames.has(name)) {
      const dims = [...this.symbols.values()].filter((x) => x.kind === 'dim').map((x) => x.name);
      const guess = closest(name, dims);
      this.error('E0105', span, `dimension \`${name}\` is not declared`, {
        label: 'undeclared dimension',
        help: guess ? `did you mean \`${guess}\`?` : `declare it first: \`dim ${name}\``,
      });
    }
    return name;
  }

  /**
   * A declared type's shape. A sum (`real[n, n + m]`) becomes its normalized Dim (src/ir/shape.ts
   * `dimOf`: `m + n`), so it equals the sums concatenation makes (`[y; u]` of real[n], real[m]).
   */
  private typeOf(t: TypeExpr): ValueType {
    const shape = t.dims.map((d) => this.dimRef(d));
    if (t.base === 'index') {
      if (shape.length !== 1) {
        this.error('E0203', t.span, `group labels are a vector, one label per entry: \`index[p]\`, not ${shape.length === 0 ? '`index`' : `\`index[${shape.join(', ')}]\``}`, { label: 'not a vector of labels' });
      }
      return { kind: 'index', shape };
    }
    return real(shape);
  }

  /** `index[p]` on a param or unknown: group labels are data (fixed integers, nothing to differentiate or solve for). */
  private indexOnlyData(t: TypeExpr, what: string): void {
    this.error('E0206', t.span, `group labels (\`index\`) are data only, not ${what}`, {
      label: 'index type here',
      help: 'declare group labels as `data g: index[p]`',
    });
  }

  /**
   * An argument of a call: where the primitive takes group labels (src/primitives/groups.ts),
   * it must be an `index` input by name; everywhere else `expr` (which refuses `index` names).
   */
  private callArg(callee: string, i: number, a: Expr): ValueType | null {
    if (isConeParam(callee, i)) return this.coneArg(callee, a);
    if (!isIndexParam(callee, i)) return this.expr(a);
    const s = a.kind === 'name' ? this.symbols.get(a.name) : undefined;
    if (s && s.type.kind === 'index') {
      s.used = true;
      this.types.set(a, s.type);
      return s.type;
    }
    const t = this.expr(a);
    if (t) {
      this.error('E0206', a.span, `\`${callee}\` takes group labels here: a \`data\` input of type \`index[...]\`, by name`, {
        label: `this is ${showType(t)}`,
        help: 'declare the labels as `data g: index[p]` and pass `g`',
      });
    }
    return null;
  }

  /** The cone argument of a cone primitive: a declared cone, by name. */
  private coneArg(callee: string, a: Expr): ValueType | null {
    const s = a.kind === 'name' ? this.symbols.get(a.name) : undefined;
    if (s && s.type.kind === 'cone') {
      s.used = true;
      // A cone whose declaration has an error is already reported: no shape to compare with.
      if (!this.cones.has(s.name)) return null;
      this.types.set(a, s.type);
      return s.type;
    }
    if (a.kind === 'name' && !s) {
      this.undeclared(a.name, a.span);
      return null;
    }
    const t = this.expr(a);
    if (t) {
      this.error('E0206', a.span, `\`${callee}\` takes a cone here: one declared with \`cone\`, by name`, {
        label: `this is ${showType(t)}`,
        help: 'declare it as `cone K = nonneg[q] * soc[r]` and pass `K`',
      });
    }
    return null;
  }

  /** Errors already reported, by code, span and message: a chained comparison's middle term is one AST node checked by both of its comparisons. */
  private readonly reported = new Set<string>();

  private error(code: Parameters<typeof diagnostic>[0], span: Span, message: string, options: Parameters<typeof diagnostic>[3] = {}): void {
    const key = `${code} ${span.start.offset} ${span.end.offset} ${message}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.diagnostics.push(diagnostic(code, span, message, options));
  }

  private undeclared(name: string, span: Span): void {
    if (this.recoveredNames.has(name)) return;
    const later = this.laterDecls.get(name);
    if (later) {
      this.error('E0106', span, `\`${name}\` is used before its declaration`, {
        label: 'used here',
        related: [{ span: later, message: 'declared later here' }],
        help: 'move the declaration above its first use',
      });
      return;
    }
    const guess = closest(name, [...this.symbols.keys()]);
    this.error('E0101', span, `\`${name}\` is not declared`, {
      label: 'not declared',
      help: guess ? `did you mean \`${guess}\`?` : undefined,
    });
  }

  private expectReal(e: Expr): ValueType | null {
    const t = this.expr(e);
    if (t && t.kind !== 'real') {
      this.error('E0206', e.span, 'a condition is used as a value', {
        label: 'this is a condition',
        help: 'use `if c then a else b` to choose between values',
      });
      return null;
    }
    return t;
  }

  /** The type of `e`, or null after reporting an error (callers do not cascade on null). */
  private expr(e: Expr): ValueType | null {
    // Chains (`a + b + c`, `x''`) are left-deep: their spine is walked with a loop, so a
    // chain of any length costs no stack.
    const spine: Extract<Expr, { kind: 'binary' | 'transpose' }>[] = [];
    let leaf = e;
    while (leaf.kind === 'binary' || leaf.kind === 'transpose') {
      spine.push(leaf);
      leaf = leaf.kind === 'binary' ? leaf.left : leaf.arg;
    }
    let t = this.exprInner(leaf);
    if (t) this.types.set(leaf, t);
    for (let i = spine.length - 1; i >= 0; i--) {
      const node = spine[i];
      t = node.kind === 'binary' ? this.binary(node, t) : this.transpose(node, t);
      if (t) this.types.set(node, t);
    }
    return t;
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>, l: ValueType | null): ValueType | null {
    const r = this.expr(e.right);
    if (!l || !r) return null;
    const p = binaryPrimitive(e.op, l, r);
    const result = p.shape([l, r]);
    if (!result.ok && result.arg !== undefined && (result.code === 'E0201' || result.code === 'E0202' || result.code === 'E0207')) {
      // A mismatch between the operands: point at the operator, show both sides.
      this.error(result.code, e.opSpan, result.message, {
        label: `\`${e.op}\` of ${showType(l)} and ${showType(r)}`,
        related: [
          { span: e.left.span, message: `this is ${showType(l)}` },
          { span: e.right.span, message: `this is ${showType(r)}` },
        ],
        help: result.help,
      });
      return null;
    }
    return this.apply(e, result, [e.left, e.right]);
  }

  private transpose(e: Extract<Expr, { kind: 'transpose' }>, arg: ValueType | null): ValueType | null {
    return arg ? this.apply(e, primitive('transpose').shape([arg]), [e.arg]) : null;
  }

  private exprInner(e: Expr): ValueType | null {
    switch (e.kind) {
      case 'number':
        return real(SCALAR);
      case 'name': {
        const s = this.symbols.get(e.name);
        if (!s) {
          if (this.recoveredNames.has(e.name)) return null;
          if (callable(e.name)) {
            this.error('E0103', e.span, `\`${e.name}\` is a function; call it with arguments`, {
              label: 'function used as a value',
              help: `write \`${e.name}(${primitive(e.name).params.join(', ')})\``,
            });
          } else {
            this.undeclared(e.name, e.span);
          }
          return null;
        }
        s.used = true;
        if (s.type.kind === 'cone') {
          this.error('E0206', e.span, `\`${e.name}\` is a cone, not a value to compute with`, {
            label: 'cone used as a value',
            related: [{ span: s.span, message: 'declared here' }],
            help: `pass it to a cone primitive, e.g. \`proj_cone(v, ${e.name})\``,
          });
          return null;
        }
        if (s.type.kind === 'index') {
          this.error('E0206', e.span, `\`${e.name}\` holds group labels (${showType(s.type)}), not numbers to compute with`, {
            label: 'group labels used as a value',
            related: [{ span: s.span, message: 'declared here' }],
            help: 'pass group labels only to the group primitives, e.g. `block_soft_threshold(v, t, g)`',
          });
          return null;
        }
        return s.type;
      }
      case 'unary': {
        const arg = this.expr(e.arg);
        if (!arg) return null;
        const p = unaryPrimitive(e.op);
        if (!p) return arg.kind === 'real' ? arg : this.apply(e, primitive('neg').shape([arg]), [e.arg]);
        return this.apply(e, p.shape([arg]), [e.arg]);
      }
      case 'binary':
        return this.binary(e, this.expr(e.left));
      case 'transpose':
        return this.transpose(e, this.expr(e.arg));
      case 'if': {
        const c = this.expr(e.cond);
        const a = this.expr(e.then);
        const b = this.expr(e.else);
        if (!c || !a || !b) return null;
        return this.apply(e, primitive('select').shape([c, a, b]), [e.cond, e.then, e.else]);
      }
      case 'call':
        return CONSTRUCTORS.has(e.callee.name) && !this.symbols.has(e.callee.name) ? this.constructorCall(e) : this.call(e);
      case 'index':
        return this.index(e);
      case 'bracket':
        return this.bracket(e);
    }
  }

  private call(e: Extract<Expr, { kind: 'call' }>): ValueType | null {
    const name = e.callee.name;
    const args = e.args.map((a, i) => this.callArg(name, i, a));
    const p = callable(name);
    if (!p) {
      const s = this.symbols.get(name);
      if (s) {
        s.used = true;
        this.error('E0103', e.callee.span, `\`${name}\` is a ${KIND_TEXT[s.kind]}, not a function`, {
          label: 'called here',
          related: [{ span: s.span, message: 'declared here' }],
          help: 'there is no indexing or call syntax for values; use `*` for products',
        });
      } else {
        const guess = closest(name, callableNames());
        this.error('E0103', e.callee.span, `unknown function \`${name}\``, {
          label: 'not a built-in function',
          help: guess ? `did you mean \`${guess}\`?` : 'see the list of primitives in LANGUAGE.md',
        });
      }
      return null;
    }
    if (args.length === 2 && AXIS_REDUCTIONS.has(name)) return this.axisReduction(e, args[0]);
    if (args.length !== p.params.length) {
      this.error('E0104', e.span, `\`${name}\` takes ${p.params.length} argument${p.params.length === 1 ? '' : 's'}, but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`, {
        label: `expected ${name}(${p.params.join(', ')})`,
        notes: [`${name}: ${p.summary}`],
      });
      return null;
    }
    if (args.some((a) => a === null)) return null;
    return this.apply(e, p.shape(args as ValueType[]), e.args, name);
  }

  /**
   * `f(X, 1)` (over the first axis: one entry per column) and `f(X, 2)` (over the second: one
   * entry per row) for f in AXIS_REDUCTIONS (src/primitives/reductions.ts): planned as
   * `f_rows(X')` and `f_rows(X)`. The axis is the integer literal 1 or 2 (E0214), X a matrix.
   */
  private axisReduction(e: Extract<Expr, { kind: 'call' }>, x: ValueType | null): ValueType | null {
    const name = e.callee.name;
    const axisExpr = e.args[1];
    const axis = axisExpr.kind === 'number' && (axisExpr.value === 1 || axisExpr.value === 2) ? axisExpr.value : null;
    if (axis === null) {
      this.error('E0214', axisExpr.span, `the axis of \`${name}(X, axis)\` must be the integer literal 1 or 2`, {
        label: 'not 1 or 2',
        help: `\`${name}(X, 1)\` reduces over the first axis (one entry per column), \`${name}(X, 2)\` over the second (one entry per row)`,
      });
      return null;
    }
    if (!x) return null;
    if (x.kind !== 'real' || x.shape.length !== 2) {
      this.error(x.kind !== 'real' ? 'E0206' : 'E0203', e.args[0].span, `\`${name}(X, ${axis})\` reduces a matrix X along an axis; this argument is ${showType(x)}`, {
        label: `this is ${showType(x)}`,
        help: x.kind === 'real' && x.shape.length === 1 ? `reduce a whole vector with \`${name}(v)\`` : undefined,
      });
      return null;
    }
    const matrix: PlanArg = axis === 2 ? { expr: e.args[0] } : { plan: { op: 'transpose', args: [{ expr: e.args[0] }], attrs: {} } };
    const plan: Plan = { op: rowwiseReduction(name), args: [matrix], attrs: {} };
    this.plans.set(e, plan);
    return this.applyPlan(e, plan);
  }

  /** Turn a shape rule's verdict into a type or a diagnostic on the right argument. */
  private apply(e: Expr, result: ShapeResult, args: Expr[], callee?: string): ValueType | null {
    if (result.ok) return result.type;
    const at = result.arg !== undefined && args[result.arg] ? args[result.arg] : e;
    const argType = this.types.get(at);
    this.error(result.code, at.span, callee ? `in \`${callee}\`: ${result.message}` : result.message, {
      label: argType ? `this is ${showType(argType)}` : undefined,
      help: result.help,
    });
    return null;
  }
}

/** Calls whose sizes are dims (their shapes depend on which dim): checked by the checker, not by a shape rule alone. */
const CONSTRUCTORS = new Set(['zeros', 'ones', 'fill', 'eye']);

/** The constructors without a registry record of their own (`fill` and `eye` are primitives): names the editor must know besides the registry's. */
export const CONSTRUCTORS_WITHOUT_RECORD: readonly string[] = Object.freeze([...CONSTRUCTORS].filter((name) => !callable(name)));

function declaredNames(d: Decl) {
  switch (d.kind) {
    case 'dim':
      return d.names;
    case 'cone':
    case 'data':
    case 'param':
    case 'let':
    case 'unknown':
    case 'output':
      return [d.name];
    default:
      return [];
  }
}
