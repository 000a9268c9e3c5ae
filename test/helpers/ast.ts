// Readable forms of AST nodes for parser tests: S-expressions and `line:col-line:col` spans.
import type { Span } from '../../src/diagnostics/span.ts';
import type { Decl, Expr } from '../../src/syntax/ast.ts';

/** `(op left right)`, `(- a)`, `(' a)`, `(f a b)`, `(if c a b)`; names and numbers as written. */
export function sexpr(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.text;
    case 'name':
      return e.name;
    case 'unary':
      return `(${e.op} ${sexpr(e.arg)})`;
    case 'binary':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'transpose':
      return `(' ${sexpr(e.arg)})`;
    case 'call':
      return `(${e.callee.name}${e.args.map((a) => ` ${sexpr(a)}`).join('')})`;
    case 'if':
      return `(if ${sexpr(e.cond)} ${sexpr(e.then)} ${sexpr(e.else)})`;
    case 'index':
      return `([] ${sexpr(e.arg)}${e.indices.map((i) => ` ${i.kind === 'all' ? ':' : i.kind === 'at' ? sexpr(i.index) : `${sexpr(i.lo)}:${sexpr(i.hi)}`}`).join('')})`;
    case 'bracket':
      return `[${e.rows.map((r) => r.map(sexpr).join(' ')).join('; ')}]`;
  }
}

export function at(s: Span): string {
  return `${s.start.line}:${s.start.column}-${s.end.line}:${s.end.column}`;
}

/** Every expression node under `e`, pre-order, as `sexpr @ span`. */
export function exprSpans(e: Expr): string[] {
  const out = [`${sexpr(e)} @ ${at(e.span)}`];
  switch (e.kind) {
    case 'unary':
    case 'transpose':
      out.push(...exprSpans(e.arg));
      break;
    case 'binary':
      out.push(...exprSpans(e.left), ...exprSpans(e.right));
      break;
    case 'call':
      for (const a of e.args) out.push(...exprSpans(a));
      break;
    case 'if':
      out.push(...exprSpans(e.cond), ...exprSpans(e.then), ...exprSpans(e.else));
      break;
  }
  return out;
}

/** The expressions a declaration holds, in source order. */
export function declExprs(d: Decl): Expr[] {
  switch (d.kind) {
    case 'let':
    case 'fixpoint':
    case 'output':
      return [d.value];
    case 'unknown':
      return d.init ? [d.init] : [];
    case 'require':
      return [d.cond];
    case 'solve':
      return d.equations.flatMap((q) => [q.lhs, q.rhs]);
    default:
      return [];
  }
}
