import { CONE_BLOCK_KINDS, type CheckedModel, type Plan } from '../check/check.ts';
import type { Span } from '../diagnostics/span.ts';
import { binaryPrimitive, SELECT, TRANSPOSE, unaryPrimitive } from '../primitives/registry.ts';
import type { NodeId } from '../primitives/types.ts';
import type { Expr } from '../syntax/ast.ts';
import { Graph } from './graph.ts';
import { isScalar } from './shape.ts';
import type { IrModel, IrVariable, ResidualBlock } from './model.ts';

/**
 * The deepest IR a model may lower to (README, "Limits"): the passes after lowering (AD,
 * the analysis, codegen) recurse along the graph's paths, so this bounds their stack. A
 * `let` adds the depth of its value to every use.
 */
export const MAX_IR_DEPTH = 512;

/**
 * Runs of one associative operator longer than this are lowered as a balanced tree, so a
 * sum of 10^4 terms is 14 levels deep, not 10^4. Shorter runs keep the left-to-right order
 * of the source (and its rounding).
 */
export const BALANCE_MIN_TERMS = 32;

/** Lowering stopped: the expression at `span` is deeper than MAX_IR_DEPTH. */
export class DepthLimitError extends Error {
  constructor(
    readonly span: Span,
    /** What sits at the span: `/`, `'`, `abs(...)`, a `let`. */
    readonly what: string,
  ) {
    super(`expression deeper than ${MAX_IR_DEPTH} operations`);
  }
}

const lowered = new WeakMap<CheckedModel, IrModel>();

/**
 * Lower a model once in the front end to find expressions too deep to compile (E0004); the
 * analysis then takes that IR with `takeLowered` instead of lowering again.
 */
export function lowerOrDepthError(checked: CheckedModel, sourceText: string): DepthLimitError | null {
  try {
    lowered.set(checked, lower(checked, sourceText));
    return null;
  } catch (e) {
    if (e instanceof DepthLimitError) return e;
    throw e;
  }
}

/** The IR `lowerOrDepthError` made for this model (once), or a fresh one. */
export function takeLowered(checked: CheckedModel, sourceText: string): IrModel {
  const hit = lowered.get(checked);
  if (hit) {
    lowered.delete(checked);
    return hit;
  }
  return lower(checked, sourceText);
}

/** The associative family of a binary node, or null when it may not be regrouped. */
type RunClass = 'sum' | 'product' | 'and' | 'or';

/** Lower a checked model to its IR. Fails only with a DepthLimitError. */
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

  const typeOf = (e: Expr) => {
    const t = checked.types.get(e);
    if (!t) throw new Error('internal error: expression has no type after checking');
    return t;
  };
  /** Make a node at `span`, refusing one deeper than MAX_IR_DEPTH. */
  const make = (op: string, args: NodeId[], span: Span | null, at: Span, what: string): NodeId => {
    const saved = graph.currentSpan;
    graph.currentSpan = span;
    const id = graph.apply(op, args);
    graph.currentSpan = saved;
    if (graph.depth(id) > MAX_IR_DEPTH) throw new DepthLimitError(at, what);
    return id;
  };
  const runClass = (e: Extract<Expr, { kind: 'binary' }>): RunClass | null => {
    switch (e.op) {
      case '+':
      case '-':
        return 'sum';
      case '.*':
        return 'product';
      case '*':
        return isScalar(typeOf(e.left).shape) || isScalar(typeOf(e.right).shape) ? 'product' : null;
      case '&&':
        return 'and';
      case '||':
        return 'or';
      default:
        return null;
    }
  };

  const expr = (e: Expr): NodeId => {
    // Chains are left-deep: their spine is walked with a loop, not recursion.
    const spine: Extract<Expr, { kind: 'binary' | 'transpose' }>[] = [];
    let leaf = e;
    while (leaf.kind === 'binary' || leaf.kind === 'transpose') {
      spine.push(leaf);
      leaf = leaf.kind === 'binary' ? leaf.left : leaf.arg;
    }
    let acc = lowerLeaf(leaf);
    let i = spine.length - 1;
    while (i >= 0) {
      const node = spine[i];
      if (node.kind === 'transpose') {
        // An error points at this `'`, the last character of the node's span.
        const end = node.span.end;
        const mark = { file: node.span.file, start: { line: end.line, column: end.column - 1, offset: end.offset - 1 }, end };
        acc = make(TRANSPOSE, [acc], node.span, mark, "`'`");
        i--;
        continue;
      }
      // The run of one regroupable operator family that starts at this node.
      const cls = runClass(node);
      let top = i;
      while (cls && top > 0 && spine[top - 1].kind === 'binary' && runClass(spine[top - 1] as Extract<Expr, { kind: 'binary' }>) === cls) top--;
      if (cls && i - top + 1 >= BALANCE_MIN_TERMS) {
        acc = balanced(cls, acc, spine.slice(top, i + 1).reverse() as Extract<Expr, { kind: 'binary' }>[]);
        i = top - 1;
        continue;
      }
      const p = binaryPrimitive(node.op, typeOf(node.left), typeOf(node.right));
      acc = make(p.name, [acc, expr(node.right)], node.span, node.opSpan, `\`${node.op}\``);
      i--;
    }
    return acc;
  };

  /**
   * A run `t0 op1 t1 op2 t2 ...` (ops given bottom-up) as a balanced tree. Sums keep each
   * term's sign: a half whose first term is subtracted is added as a difference, so no
   * negation is introduced. The top node keeps the whole run's span.
   */
  const balanced = (cls: RunClass, first: NodeId, ops: Extract<Expr, { kind: 'binary' }>[]): NodeId => {
    const terms: { node: NodeId; negative: boolean; span: Span }[] = [{ node: first, negative: false, span: ops[0].left.span }];
    for (const o of ops) terms.push({ node: expr(o.right), negative: o.op === '-', span: o.right.span });
    const top = ops[ops.length - 1];
    const opName = cls === 'sum' ? 'add' : cls === 'product' ? 'mul' : cls;
    const build = (lo: number, hi: number): { node: NodeId; negative: boolean } => {
      if (hi - lo === 1) return terms[lo];
      const mid = (lo + hi) >> 1;
      const l = build(lo, mid);
      const r = build(mid, hi);
      const whole = lo === 0 && hi === terms.length;
      // Products and logic regroup freely; their text from the first to the last term is the value.
      const span = whole ? top.span : cls === 'sum' ? null : { file: top.span.file, start: terms[lo].span.start, end: terms[hi - 1].span.end };
      const at = whole ? top.opSpan : terms[mid].span;
      // The operator in front of the right half's first term (terms[k] follows ops[k - 1]).
      const what = `\`${(whole ? top : ops[mid - 1]).op}\``;
      if (cls !== 'sum') return { node: make(opName, [l.node, r.node], span, at, what), negative: false };
      if (!l.negative) return { node: make(r.negative ? 'sub' : 'add', [l.node, r.node], span, at, what), negative: false };
      if (!r.negative) return { node: make('sub', [r.node, l.node], null, at, what), negative: false };
      return { node: make('add', [l.node, r.node], null, at, what), negative: true };
    };
    return build(0, terms.length).node;
  };

  /** An index, bracket literal or constructor, as the checker planned it (CheckedModel.plans). */
  const lowerPlan = (plan: Plan, e: Expr): NodeId => {
    const args = plan.args.map((a) => ('expr' in a ? expr(a.expr) : 'constant' in a ? graph.constant(a.constant) : lowerPlan(a.plan, e)));
    const saved = graph.currentSpan;
    graph.currentSpan = e.span;
    const id = graph.apply(plan.op, args, plan.attrs);
    graph.currentSpan = saved;
    if (graph.depth(id) > MAX_IR_DEPTH) throw new DepthLimitError(e.span, e.kind === 'call' ? `\`${e.callee.name}(...)\`` : e.kind === 'index' ? 'an index' : 'a bracket literal');
    return id;
  };

  const lowerLeaf = (e: Expr): NodeId => {
    const plan = checked.plans.get(e);
    if (plan) return lowerPlan(plan, e);
    switch (e.kind) {
      case 'number': {
        const saved = graph.currentSpan;
        graph.currentSpan = e.span;
        const id = graph.constant(e.value);
        graph.currentSpan = saved;
        return id;
      }
      case 'name': {
        const n = names.get(e.name);
        if (n === undefined) throw new Error(`internal error: ${e.name} has no node`);
        return n;
      }
      case 'unary': {
        const p = unaryPrimitive(e.op);
        const arg = expr(e.arg);
        return p ? make(p.name, [arg], e.span, e.span, `unary \`${e.op}\``) : arg;
      }
      case 'if':
        return make(SELECT, [expr(e.cond), expr(e.then), expr(e.else)], e.span, e.span, '`if`');
      case 'call':
        return make(e.callee.name, e.args.map(expr), e.span, e.span, `\`${e.callee.name}(...)\``);
      case 'binary':
      case 'transpose':
        return expr(e);
      case 'index':
      case 'bracket':
        throw new Error('internal error: an index or bracket literal without its plan');
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
  const cones: IrModel['cones'] = [];

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
      case 'cone': {
        // The cone's code: [code, size] per block (codes: CONE_BLOCK_KINDS' order; sizes from the
        // dims' values), what the cone primitives' kernels read (src/runtime/values/cones.ts).
        const info = checked.cones.get(decl.name.name)!;
        graph.currentSpan = decl.span;
        const code = graph.apply('literal_vector', info.blocks.flatMap((b) => [graph.constant(CONE_BLOCK_KINDS.indexOf(b.kind)), graph.dim(b.size)]));
        graph.currentSpan = null;
        names.set(decl.name.name, code);
        cones.push({ ...info, node: code });
        break;
      }
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
  const primalCount = graph.nodes.length;
  // The source text ends here: later passes see a node's text through textOf only.
  const textOf = (id: NodeId): string | null => {
    const span = id < primalCount ? graph.node(id).span : null;
    return span ? sourceText.slice(span.start.offset, span.end.offset).replace(/\s+/g, ' ') : null;
  };
  return {
    name: checked.model.name.name, span: checked.model.span, graph, dims, data, params, unknowns, lets, residual, outputs, requires, cones,
    primalCount, textOf,
  };
}
