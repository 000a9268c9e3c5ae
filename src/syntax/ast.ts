import type { Span } from '../diagnostics/span.ts';

/** A name as written, with where it was written. */
export interface Ident {
  name: string;
  span: Span;
}

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '.*' | './' | '^'
  | '<' | '<=' | '>' | '>=' | '==' | '!='
  | '&&' | '||';

export type UnaryOp = '-' | '+' | '!';

export type Expr =
  | { kind: 'number'; value: number; text: string; span: Span }
  | { kind: 'name'; name: string; span: Span }
  | { kind: 'unary'; op: UnaryOp; arg: Expr; span: Span }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; opSpan: Span; span: Span }
  | { kind: 'transpose'; arg: Expr; span: Span }
  | { kind: 'call'; callee: Ident; args: Expr[]; span: Span }
  | { kind: 'if'; cond: Expr; then: Expr; else: Expr; span: Span }
  /** `x[i]`, `X[a:b, :]`: one index item per axis (README, "The language"). */
  | { kind: 'index'; arg: Expr; indices: IndexItem[]; span: Span }
  /**
   * A bracket literal `[e, e; e, e]`: rows separated by `;`, entries by `,` (README, "The
   * language").
   */
  | { kind: 'bracket'; rows: Expr[][]; span: Span };

/**
 * One axis of an index: a single position (the axis is dropped), a range `lo:hi` (1-based,
 * both ends included; the axis is kept) or `:` (the whole axis).
 */
export type IndexItem =
  | { kind: 'at'; index: Expr; span: Span }
  | { kind: 'range'; lo: Expr; hi: Expr; span: Span }
  | { kind: 'all'; span: Span };

/**
 * A dimension in a type: a declared size symbol, a literal size, or an affine sum of them
 * (`n + m`, `n + 1`, `2 * n`, `n - 1`): `c + sum coef * name`, one term per occurrence as
 * written (the checker resolves the names and normalizes the sum, src/ir/shape.ts `Dim`).
 * A sum without names is a `size`; a lone name is a `dim`.
 */
export type DimRef =
  | { kind: 'dim'; name: string; span: Span }
  | { kind: 'size'; value: number; span: Span }
  | { kind: 'sum'; c: number; terms: { name: string; coef: number; span: Span }[]; span: Span };

export interface TypeExpr {
  /** `real[...]`, or `index[p]`: group labels (positive integer ids), data only. */
  base: 'real' | 'index';
  dims: DimRef[];
  span: Span;
}

/** One block of a `cone` declaration as written: `nonneg[q]` (kind `nonneg`, size `q`). */
export interface ConeBlockRef {
  kind: Ident;
  size: DimRef;
  span: Span;
}

export interface Equation {
  lhs: Expr;
  rhs: Expr;
  span: Span;
}

export type Decl =
  | { kind: 'dim'; names: Ident[]; span: Span }
  | { kind: 'data' | 'param'; name: Ident; type: TypeExpr; span: Span }
  | { kind: 'cone'; name: Ident; size: DimRef | null; blocks: ConeBlockRef[]; span: Span }
  | { kind: 'let'; name: Ident; value: Expr; span: Span }
  | { kind: 'unknown'; name: Ident; type: TypeExpr; init: Expr | null; span: Span }
  | { kind: 'fixpoint'; name: Ident; value: Expr; span: Span }
  | { kind: 'solve'; equations: Equation[]; span: Span }
  | { kind: 'output'; name: Ident; value: Expr; span: Span }
  | { kind: 'require'; cond: Expr; span: Span };

export interface Model {
  name: Ident;
  decls: Decl[];
  span: Span;
}

export interface Program {
  file: string;
  models: Model[];
  span: Span;
}
