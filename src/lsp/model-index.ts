/**
 * Where each name of a parsed file is written, and what it refers to: the part of the language
 * server that reads the AST (hover, go to definition, completion). Names are scoped by model:
 * every declaration of a model is visible in the whole model (the checker reports a use before
 * the declaration as E0106, but the name still means that declaration), and models do not
 * see each other's names.
 */
import type { Span } from '../diagnostics/span.ts';
import type { Decl, DimRef, Expr, Ident, Model, Program, TypeExpr } from '../syntax/ast.ts';
import type { SymbolKind } from '../check/symbols.ts';

/** One name as written in the source, classified. */
export type Occurrence =
  /** The name a model is declared with. */
  | { kind: 'model'; model: Model; span: Span }
  /** A name at its declaration (`param W`, `dim n`). */
  | { kind: 'declaration'; model: Model; name: string; span: Span }
  /** A name used in an expression, a type or a `fixpoint` target. */
  | { kind: 'reference'; model: Model; name: string; span: Span }
  /** The callee of a call (`soft_threshold` in `soft_threshold(u, t)`). */
  | { kind: 'callee'; model: Model; name: string; span: Span };

/** A declared name of a model with its declaration. */
export interface Declared {
  name: string;
  kind: SymbolKind;
  ident: Ident;
  decl: Decl;
}

/** The names a declaration introduces, in order (a `dim` may declare several). */
export function declaredIdents(d: Decl): Ident[] {
  switch (d.kind) {
    case 'dim':
      return d.names;
    case 'data':
    case 'param':
    case 'cone':
    case 'let':
    case 'unknown':
    case 'output':
      return [d.name];
    default:
      return [];
  }
}

/** Every name a model declares, in source order. */
export function declarations(model: Model): Declared[] {
  return model.decls.flatMap((decl) =>
    decl.kind === 'fixpoint' || decl.kind === 'solve' || decl.kind === 'require' ? [] : declaredIdents(decl).map((ident) => ({ name: ident.name, kind: decl.kind, ident, decl })),
  );
}

/** The first declaration of `name` in `model` (a second one is E0102; the first is what the checker keeps). */
export function declarationOf(model: Model, name: string): Declared | undefined {
  return declarations(model).find((d) => d.name === name);
}

/** Every occurrence of a name in the program, in source order of the walk. */
export function occurrences(program: Program): Occurrence[] {
  const out: Occurrence[] = [];
  for (const model of program.models) {
    out.push({ kind: 'model', model, span: model.name.span });
    const ref = (name: string, span: Span) => out.push({ kind: 'reference', model, name, span });
    const dimRef = (d: DimRef) => {
      if (d.kind === 'dim') ref(d.name, d.span);
      else if (d.kind === 'sum') for (const t of d.terms) ref(t.name, t.span);
    };
    const type = (t: TypeExpr) => t.dims.forEach(dimRef);
    const expr = (e: Expr): void => {
      switch (e.kind) {
        case 'number':
          return;
        case 'name':
          return void ref(e.name, e.span);
        case 'unary':
        case 'transpose':
          return expr(e.arg);
        case 'binary':
          expr(e.left);
          return expr(e.right);
        case 'call':
          out.push({ kind: 'callee', model, name: e.callee.name, span: e.callee.span });
          return e.args.forEach(expr);
        case 'if':
          expr(e.cond);
          expr(e.then);
          return expr(e.else);
        case 'index':
          expr(e.arg);
          for (const item of e.indices) {
            if (item.kind === 'at') expr(item.index);
            else if (item.kind === 'range') expr(item.lo), expr(item.hi);
          }
          return;
        case 'bracket':
          return e.rows.forEach((row) => row.forEach(expr));
      }
    };
    for (const d of model.decls) {
      for (const ident of declaredIdents(d)) out.push({ kind: 'declaration', model, name: ident.name, span: ident.span });
      switch (d.kind) {
        case 'data':
        case 'param':
          type(d.type);
          break;
        case 'unknown':
          type(d.type);
          if (d.init) expr(d.init);
          break;
        case 'cone':
          if (d.size) dimRef(d.size);
          for (const b of d.blocks) dimRef(b.size);
          break;
        case 'let':
        case 'output':
          expr(d.value);
          break;
        case 'fixpoint':
          ref(d.name.name, d.name.span);
          expr(d.value);
          break;
        case 'solve':
          for (const eq of d.equations) expr(eq.lhs), expr(eq.rhs);
          break;
        case 'require':
          expr(d.cond);
          break;
        case 'dim':
          break;
      }
    }
  }
  return out;
}

/**
 * The occurrence under a cursor at `offset`: a name whose span contains it, its end included
 * (a cursor just after a name, where an editor leaves it after typing, is on that name).
 */
export function occurrenceAt(program: Program, offset: number): Occurrence | undefined {
  // Two names are always apart by at least one character, so at most one span holds `offset`.
  return occurrences(program).find((o) => o.span.start.offset <= offset && offset <= o.span.end.offset);
}

/** The model whose braces hold `offset`, if any. */
export function modelAt(program: Program, offset: number): Model | undefined {
  return program.models.find((m) => m.span.start.offset <= offset && offset <= m.span.end.offset);
}

const DECLARATION = /\b(dim|data|param|cone|let|unknown|output)\s+([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)/g;

/**
 * The names declared between the last `model` before `offset` and `offset`, read from the text
 * alone: completion's fallback while the file does not parse (a model being typed, its closing
 * brace not written yet), where there is no AST to read. Comments are blanked first.
 */
export function lexicalDeclarations(text: string, offset: number): { name: string; kind: SymbolKind }[] {
  const before = text.slice(0, offset).replace(/\/\*[\s\S]*?(\*\/|$)|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, ' '));
  const starts = [...before.matchAll(/\bmodel\b/g)];
  const body = starts.length ? before.slice(starts[starts.length - 1].index) : before;
  const out: { name: string; kind: SymbolKind }[] = [];
  for (const m of body.matchAll(DECLARATION)) {
    const kind = m[1] as SymbolKind;
    const names = kind === 'dim' ? m[2].split(',').map((s) => s.trim()) : [m[2].split(',')[0].trim()];
    for (const name of names) out.push({ name, kind });
  }
  return out;
}
