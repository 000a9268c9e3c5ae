import type { Span } from '../diagnostics/span.ts';
import type { ValueType } from '../ir/shape.ts';
import type { Decl, Expr } from '../syntax/ast.ts';

export type SymbolKind = 'dim' | 'data' | 'param' | 'let' | 'unknown' | 'output' | 'cone';

/** A declared name of a model, with its type once checked. */
export interface ModelSymbol {
  name: string;
  kind: SymbolKind;
  span: Span;
  decl: Decl;
  /** Position of the declaration in the model, for "declared before use". */
  order: number;
  type: ValueType;
  /** For `let` and `output`: the defining expression. */
  value?: Expr;
  used: boolean;
}
