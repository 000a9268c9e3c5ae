import type { CheckedModel } from '../check/check.ts';
import { binaryPrimitive, SELECT, TRANSPOSE, unaryPrimitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Expr } from '../syntax/ast.ts';
import { Graph } from './graph.ts';
import type { IrModel, IrVariable, ResidualBlock } from './model.ts';

/** Lower a checked model to its IR. Only checked models reach here, so lowering cannot fail. */
export function lower(checked: CheckedModel, sourceText: string): IrModel {
  const graph = new Graph();
  const names = new Map<string, NodeId>();
  const variable = (s: CheckedModel['data'][number], role: 'dim' | 'data' | 'param' | 'unknown'): IrVariable => {
    const node = graph.input(s.name, role, s.type, s.span);
    names.set(s.name, node);
    return { name: s.name, shape: s.type.shape, node, span: s.span };
  };
  const text = (e: { span: { start: { offset: number }; end: { offset: number } } }) =>
    sourceText.slice(e.span.start.offset, e.span.end.offset);

  const expr = (e: Expr): NodeId => {
    const saved = graph.currentSpan;
    graph.currentSpan = e.span;
    try {
      return lowerExpr(e);
    } finally {
      graph.currentSpan = saved;
    }
  };
  const typeOf = (e: Expr) => {
    const t = checked.types.get(e);
    if (!t) throw new Error('internal error: expression has no type after checking');
    return t;
  };
  const lowerExpr = (e: Expr): NodeId => {
    switch (e.kind) {
      case 'number':
        return graph.constant(e.value);
      case 'name': {
        const n = names.get(e.name);
        if (n === undefined) throw new Error(`internal error: ${e.name} has no node`);
        return n;
      }
      case 'unary': {
        const p = unaryPrimitive(e.op);
        const arg = expr(e.arg);
        return p ? graph.apply(p.name, [arg]) : arg;
      }
      case 'binary': {
        const p = binaryPrimitive(e.op, typeOf(e.left), typeOf(e.right));
        return graph.apply(p.name, [expr(e.left), expr(e.right)]);
      }
      case 'transpose':
        return graph.apply(TRANSPOSE, [expr(e.arg)]);
      case 'if':
        return graph.apply(SELECT, [expr(e.cond), expr(e.then), expr(e.else)]);
      case 'call':
        return graph.apply(e.callee.name, e.args.map(expr));
    }
  };

  const dims: IrVariable[] = [];
  const data: IrVariable[] = [];
  const params: IrVariable[] = [];
  const unknowns: IrModel['unknowns'] = [];
  const lets = new Map<string, NodeId>();
  const residual: ResidualBlock[] = [];
  const outputs: IrModel['outputs'] = [];
  const requires: IrModel['requires'] = [];

  // Declaration order: a let sees exactly what was declared before it.
  for (const decl of checked.model.decls) {
    switch (decl.kind) {
      case 'dim':
        for (const n of decl.names) dims.push(variable(checked.symbols.get(n.name)!, 'dim'));
        break;
      case 'data':
      case 'param':
        (decl.kind === 'data' ? data : params).push(variable(checked.symbols.get(decl.name.name)!, decl.kind));
        break;
      case 'let': {
        const node = expr(decl.value);
        names.set(decl.name.name, node);
        lets.set(decl.name.name, node);
        break;
      }
      case 'unknown': {
        const v = variable(checked.symbols.get(decl.name.name)!, 'unknown');
        const init = decl.init ? expr(decl.init) : graph.constant(0);
        // A scalar start fills the whole unknown (runtime `put`); no node ties it to the unknown.
        unknowns.push({ ...v, init });
        break;
      }
      case 'fixpoint': {
        const y = names.get(decl.name.name)!;
        const map = expr(decl.value);
        graph.currentSpan = decl.span;
        residual.push({ node: graph.apply('sub', [y, map]), span: decl.span, fixpoint: { unknown: decl.name.name, map } });
        graph.currentSpan = null;
        break;
      }
      case 'solve':
        for (const eq of decl.equations) {
          const lhs = expr(eq.lhs);
          const isZero = eq.rhs.kind === 'number' && eq.rhs.value === 0;
          graph.currentSpan = eq.span;
          const node = isZero ? lhs : graph.apply('sub', [lhs, expr(eq.rhs)]);
          residual.push({ node, span: eq.span, fixpoint: null });
          graph.currentSpan = null;
        }
        break;
      case 'output': {
        const node = expr(decl.value);
        names.set(decl.name.name, node);
        outputs.push({ name: decl.name.name, node, span: decl.span });
        break;
      }
      case 'require':
        requires.push({ node: expr(decl.cond), span: decl.span, text: text(decl.cond) });
        break;
    }
  }
  return {
    name: checked.model.name.name, span: checked.model.span, graph, dims, data, params, unknowns, lets, residual, outputs, requires,
    primalCount: graph.nodes.length,
  };
}
