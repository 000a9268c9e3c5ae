import type * as ohm from 'ohm-js';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.ts';
import { SourceFile, type Span } from '../diagnostics/span.ts';
import type { BinaryOp, ConeBlockRef, Decl, DimRef, Equation, Expr, Ident, IndexItem, Model, Program, TypeExpr, UnaryOp } from './ast.ts';
import { grammar } from './grammar.ts';
import { MAX_NESTING, nestingDiagnostics } from './nesting.ts';

export interface ParseResult {
  /** The AST of what could be parsed; declarations with syntax errors are left out. */
  program: Program | null;
  diagnostics: Diagnostic[];
  /**
   * Names written inside declarations dropped by error recovery. Later stages do not report
   * them as undeclared: the syntax error already explains them.
   */
  recoveredNames: Set<string>;
}

const DECL_KEYWORD = /\b(model|dim|data|param|cone(?=\s+[A-Za-z_]\w*\s*[=[])|let|unknown|fixpoint|solve|output|require)\b/g;
const MAX_RECOVERIES = 25;

/** Parse one file; report every syntax error that recovery can reach, not only the first. */
export function parse(source: SourceFile): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const recoveredNames = new Set<string>();
  // A leading byte-order mark reads as a space: every offset stays an offset into the text
  // as read (the mark is column 1 of line 1).
  let text = blankUnterminatedComment(source, diagnostics).replace(/^\uFEFF/, ' ');
  const deep = nestingDiagnostics(source, text);
  if (deep.length) {
    diagnostics.push(...deep);
    return { program: null, diagnostics, recoveredNames };
  }
  let lastFailure = -1;
  // One incremental matcher for every attempt: blanking a declaration keeps what Ohm memoized
  // before it, so recovering from errors at the end of a big file does not parse it again
  // each time (8 errors after a 50 KB equation took 18 s).
  const matcher = grammar.matcher();
  matcher.setInput(text);
  for (let attempt = 0; attempt <= MAX_RECOVERIES; attempt++) {
    let match: ohm.MatchResult;
    try {
      match = matcher.match();
    } catch (e) {
      // Ohm recurses several frames per nesting level: MAX_NESTING keeps it inside Node's
      // default stack, but with little to spare (64 nested calls overflow a stack of 950 KB
      // of the default 984), so a deeper caller or a smaller stack can still land here.
      if (!(e instanceof RangeError)) throw e;
      diagnostics.push(tooDeep(source));
      return { program: null, diagnostics, recoveredNames };
    }
    if (!match.failed()) {
      let program: Program;
      const built: Diagnostic[] = [];
      try {
        program = buildAst(match, source, built);
      } catch (e) {
        // The semantics recurse along the same nesting as the match.
        if (!(e instanceof RangeError)) throw e;
        diagnostics.push(tooDeep(source));
        return { program: null, diagnostics, recoveredNames };
      }
      diagnostics.push(...built, ...numberChecks(program));
      return { program, diagnostics, recoveredNames };
    }
    const pos = match.getRightmostFailurePosition();
    if (pos <= lastFailure && diagnostics.length > 0) break;
    lastFailure = pos;
    diagnostics.push(syntaxError(source, text, pos, match));
    const region = recoveryRegion(text, pos);
    if (!region) break;
    const removed = text.slice(region[0], region[1]);
    for (const m of removed.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) recoveredNames.add(m[0]);
    const blank = removed.replace(/[^\n]/g, ' ');
    matcher.replaceInputRange(region[0], region[1], blank);
    text = text.slice(0, region[0]) + blank + text.slice(region[1]);
  }
  return { program: null, diagnostics, recoveredNames };
}

/** The declaration around `pos`, from its keyword to the next declaration's keyword. */
function recoveryRegion(text: string, pos: number): [number, number] | null {
  let start = -1;
  let startWord = '';
  for (const m of text.slice(0, pos + 1).matchAll(DECL_KEYWORD)) {
    if (m.index <= pos) {
      start = m.index;
      startWord = m[1];
    }
  }
  if (start < 0 || startWord === 'model') return null;
  DECL_KEYWORD.lastIndex = 0;
  const after = /\b(model|dim|data|param|cone(?=\s+[A-Za-z_]\w*\s*[=[])|let|unknown|fixpoint|solve|output|require)\b|\}\s*$/m;
  // Failing right at a declaration keyword means the declaration before it is incomplete.
  const atKeyword = /^(dim|data|param|cone(?=\s+[A-Za-z_]\w*\s*[=[])|let|unknown|fixpoint|solve|output|require)\b/.test(text.slice(pos)) && start < pos;
  const rest = text.slice(pos + 1);
  const next = after.exec(rest);
  let end = atKeyword ? pos : next ? pos + 1 + next.index : text.length;
  // A closing brace of the model just before the next declaration stays.
  const region = text.slice(start, end);
  const closing = region.lastIndexOf('}');
  const opens = (region.match(/\{/g) ?? []).length;
  const closes = (region.match(/\}/g) ?? []).length;
  if (closes > opens && closing >= 0) end = start + closing;
  if (end <= start) return null;
  const kept = text.slice(start, end);
  if ((kept.match(/\{/g) ?? []).length !== (kept.match(/\}/g) ?? []).length) return null;
  return [start, end];
}

function tooDeep(source: SourceFile): Diagnostic {
  return diagnostic('E0003', source.span(0, 0), 'the file is nested too deeply to parse', {
    label: `expressions may nest at most ${MAX_NESTING} levels`,
    help: 'name intermediate results with `let`',
  });
}

function syntaxError(source: SourceFile, text: string, pos: number, match: ohm.FailedMatchResult): Diagnostic {
  let end = pos;
  if (/[A-Za-z0-9_]/.test(text[pos] ?? '')) {
    while (end < text.length && /[A-Za-z0-9_.]/.test(text[end])) end++;
  } else if (pos < text.length && text[pos] !== '\n') {
    end = pos + 1;
  }
  const found = pos >= text.length ? 'end of file' : end > pos ? `\`${text.slice(pos, end)}\`` : 'end of line';
  const expected = expectedList(match);
  return diagnostic('E0001', source.span(pos, end), `unexpected ${found}`, {
    label: expected ? `expected ${expected}` : 'not expected here',
  });
}

/** Ohm's expected set, made readable: literal tokens quoted, rule descriptions plain. */
function expectedList(match: ohm.FailedMatchResult): string {
  let raw: string;
  try {
    raw = match.getExpectedText();
  } catch {
    return '';
  }
  const items = raw
    .split(/, or |, | or /)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (s === '"_"' ? 'a name' : s.startsWith('"') ? `\`${JSON.parse(s)}\`` : describeRule(s)))
    .filter((s) => s.length > 0);
  let unique = [...new Set(items)];
  // The tokens that can start an expression collapse to one phrase.
  const starters = new Set(['`[`', '`(`', '`!`', '`+`', '`-`', '`.`', 'a number', 'a name', '`if`']);
  if (unique.includes('`(`') && (unique.includes('a number') || unique.includes('a name'))) {
    unique = ['an expression', ...unique.filter((s) => !starters.has(s))];
  }
  // So do the binary operators that could continue an expression.
  const operators = new Set(['`[`', '`||`', '`&&`', '`<`', '`<=`', '`>`', '`>=`', '`==`', '`!=`', '`+`', '`-`', '`*`', '`/`', '`.*`', '`./`', '`^`', "`'`"]);
  if (unique.filter((s) => operators.has(s)).length >= 3) {
    unique = [...unique.filter((s) => !operators.has(s)), 'an operator'];
  }
  unique = unique.slice(0, 10);
  if (unique.length <= 1) return unique.join('');
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

function describeRule(s: string): string {
  switch (s) {
    case 'ident':
      return 'a name';
    case 'number':
    case 'a digit':
      return 'a number';
    case 'intLit':
      return 'a size';
    case 'end of input':
      return 'end of file';
    case 'a letter':
      return 'a name';
    case 'an alpha-numeric character':
    case 'not a keyword':
    case '"_"':
      return 'a name';
    default:
      return s;
  }
}

function blankUnterminatedComment(source: SourceFile, diagnostics: Diagnostic[]): string {
  const text = source.text;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) {
        diagnostics.push(
          diagnostic('E0002', source.span(i, i + 2), 'block comment is never closed', {
            label: 'comment starts here',
            help: 'close it with `*/`',
          }),
        );
        return text.slice(0, i) + text.slice(i).replace(/[^\n]/g, ' ');
      }
      i = close + 2;
    } else {
      i++;
    }
  }
  return text;
}

/** Numbers that do not fit an f64. Iterative: a chain of 10^5 terms is a deep AST. */
function numberChecks(program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  const stack: Expr[] = [];
  for (const m of program.models) {
    for (const d of m.decls) {
      if (d.kind === 'let' || d.kind === 'fixpoint' || d.kind === 'output') stack.push(d.value);
      else if (d.kind === 'unknown' && d.init) stack.push(d.init);
      else if (d.kind === 'require') stack.push(d.cond);
      else if (d.kind === 'solve') for (const q of d.equations) stack.push(q.lhs, q.rhs);
    }
  }
  stack.reverse();
  const found: Extract<Expr, { kind: 'number' }>[] = [];
  while (stack.length) {
    const e = stack.pop()!;
    switch (e.kind) {
      case 'number':
        if (!Number.isFinite(e.value)) found.push(e);
        break;
      case 'name':
        break;
      case 'unary':
      case 'transpose':
        stack.push(e.arg);
        break;
      case 'binary':
        stack.push(e.right, e.left);
        break;
      case 'call':
        for (let i = e.args.length - 1; i >= 0; i--) stack.push(e.args[i]);
        break;
      case 'if':
        stack.push(e.else, e.then, e.cond);
        break;
      case 'index':
        for (let i = e.indices.length - 1; i >= 0; i--) {
          const item = e.indices[i];
          if (item.kind === 'at') stack.push(item.index);
          else if (item.kind === 'range') stack.push(item.hi, item.lo);
        }
        stack.push(e.arg);
        break;
      case 'bracket':
        for (let r = e.rows.length - 1; r >= 0; r--) for (let i = e.rows[r].length - 1; i >= 0; i--) stack.push(e.rows[r][i]);
        break;
    }
  }
  for (const e of found) out.push(diagnostic('E0001', e.span, `number \`${e.text}\` is out of range`, { label: 'not a finite f64' }));
  return out;
}

// ---------------------------------------------------------------------------------------
// AST construction: one Ohm operation whose only job is building nodes with spans.

const semantics = grammar.createSemantics();
let currentSource: SourceFile | null = null;
let currentDiagnostics: Diagnostic[] | null = null;

function spanOf(node: ohm.Node): Span {
  return currentSource!.span(node.source.startIdx, node.source.endIdx);
}

function ident(node: ohm.Node): Ident {
  return { name: node.sourceString, span: spanOf(node) };
}

function foldLeft(first: ohm.Node, ops: ohm.Node, rests: ohm.Node): Expr {
  let acc: Expr = first.ast();
  const opNodes = ops.children;
  const restNodes = rests.children;
  for (let i = 0; i < opNodes.length; i++) {
    const right: Expr = restNodes[i].ast();
    acc = {
      kind: 'binary',
      op: opNodes[i].sourceString as BinaryOp,
      left: acc,
      right,
      opSpan: spanOf(opNodes[i]),
      span: { file: acc.span.file, start: acc.span.start, end: right.span.end },
    };
  }
  return acc;
}

semantics.addOperation('ast', {
  Program(models) {
    return { file: currentSource!.name, models: models.children.map((m) => m.ast()), span: spanOf(this) } satisfies Program;
  },
  Model(_kw, name, _open, decls, _close) {
    const list: Decl[] = decls.children.map((d) => d.ast()).filter((d: Decl | null) => d !== null);
    return { name: ident(name), decls: list, span: spanOf(this) } satisfies Model;
  },
  Decl(d) {
    return d.ast();
  },
  Semicolon(_) {
    return null;
  },
  DimDecl(_kw, names) {
    return { kind: 'dim', names: names.asIteration().children.map(ident), span: spanOf(this) } satisfies Decl;
  },
  InputDecl(kw, name, _colon, type) {
    return { kind: kw.sourceString as 'data' | 'param', name: ident(name), type: type.ast(), span: spanOf(this) } satisfies Decl;
  },
  ConeDecl(_kw, name, _open, size, _close, _eq, blocks) {
    const sizes = size.children;
    return {
      kind: 'cone',
      name: ident(name),
      size: sizes.length ? (sizes[0].ast() as DimRef) : null,
      blocks: blocks.asIteration().children.map((b) => b.ast() as ConeBlockRef),
      span: spanOf(this),
    } satisfies Decl;
  },
  ConeBlock(kind, _open, size, _close) {
    return { kind: ident(kind), size: size.ast(), span: spanOf(this) } satisfies ConeBlockRef;
  },
  LetDecl(_kw, name, _eq, value) {
    return { kind: 'let', name: ident(name), value: value.ast(), span: spanOf(this) } satisfies Decl;
  },
  UnknownDecl(_kw, name, _colon, type, _eq, init) {
    const initNodes = init.children;
    return {
      kind: 'unknown',
      name: ident(name),
      type: type.ast(),
      init: initNodes.length ? initNodes[0].ast() : null,
      span: spanOf(this),
    } satisfies Decl;
  },
  FixpointDecl(_kw, name, _eq, value) {
    return { kind: 'fixpoint', name: ident(name), value: value.ast(), span: spanOf(this) } satisfies Decl;
  },
  SolveDecl_block(_kw, _open, first, _semis, rest, _semi, _close) {
    const equations: Equation[] = [first.ast(), ...rest.children.map((e) => e.ast())];
    return { kind: 'solve', equations, span: spanOf(this) } satisfies Decl;
  },
  SolveDecl_single(_kw, eq) {
    return { kind: 'solve', equations: [eq.ast()], span: spanOf(this) } satisfies Decl;
  },
  Equation(lhs, _eq, rhs) {
    return { lhs: lhs.ast(), rhs: rhs.ast(), span: spanOf(this) } satisfies Equation;
  },
  OutputDecl(_kw, name, _eq, value) {
    return { kind: 'output', name: ident(name), value: value.ast(), span: spanOf(this) } satisfies Decl;
  },
  RequireDecl(_kw, cond) {
    return { kind: 'require', cond: cond.ast(), span: spanOf(this) } satisfies Decl;
  },
  Type_real(_real, _open, dims, _close) {
    const list = dims.children.length ? dims.children[0].asIteration().children.map((d) => d.ast()) : [];
    return { base: 'real', dims: list, span: spanOf(this) } satisfies TypeExpr;
  },
  Type_index(_index, _open, dims, _close) {
    const list = dims.children.length ? dims.children[0].asIteration().children.map((d) => d.ast()) : [];
    return { base: 'index', dims: list, span: spanOf(this) } satisfies TypeExpr;
  },
  DimRef(first, ops, rests) {
    // Terms as written, signed: a lone name is a `dim`, names cancelling are left to the checker.
    const items = [first, ...rests.children].map((t, i) => ({ t, sign: i === 0 || ops.children[i - 1].sourceString === '+' ? 1 : -1 }));
    let c = 0;
    const terms: { name: string; coef: number; span: Span }[] = [];
    for (const { t, sign } of items) {
      const term = t.children[0];
      if (term.ctorName === 'DimTerm_size') c += sign * Number(term.sourceString);
      else if (term.ctorName === 'DimTerm_name') terms.push({ name: term.sourceString, coef: sign, span: spanOf(term.children[0]) });
      else terms.push({ name: term.children[2].sourceString, coef: sign * Number(term.children[0].sourceString), span: spanOf(term) });
    }
    if (terms.length === 0) return { kind: 'size', value: c, span: spanOf(this) } satisfies DimRef;
    if (terms.length === 1 && terms[0].coef === 1 && c === 0) return { kind: 'dim', name: terms[0].name, span: spanOf(this) } satisfies DimRef;
    return { kind: 'sum', c, terms, span: spanOf(this) } satisfies DimRef;
  },
  Expr(e) {
    return e.ast();
  },
  IfExpr(_if, cond, _then, a, _else, b) {
    return { kind: 'if', cond: cond.ast(), then: a.ast(), else: b.ast(), span: spanOf(this) } satisfies Expr;
  },
  OrExpr(first, ops, rests) {
    return foldLeft(first, ops, rests);
  },
  AndExpr(first, ops, rests) {
    return foldLeft(first, ops, rests);
  },
  CmpExpr(left, ops, rights) {
    if (!ops.children.length) return left.ast();
    if (ops.children.length > 1) return comparisonChain(left, ops.children, rights.children);
    const l: Expr = left.ast();
    const r: Expr = rights.children[0].ast();
    return { kind: 'binary', op: ops.children[0].sourceString as BinaryOp, left: l, right: r, opSpan: spanOf(ops.children[0]), span: spanOf(this) } satisfies Expr;
  },
  AddExpr(first, ops, rests) {
    return foldLeft(first, ops, rests);
  },
  MulExpr(first, ops, rests) {
    return foldLeft(first, ops, rests);
  },
  Unary_neg(op, arg) {
    return unary('-', op, arg, this);
  },
  Unary_pos(op, arg) {
    return unary('+', op, arg, this);
  },
  Unary_not(op, arg) {
    return unary('!', op, arg, this);
  },
  Power_pow(base, op, exp) {
    return { kind: 'binary', op: '^', left: base.ast(), right: exp.ast(), opSpan: spanOf(op), span: spanOf(this) } satisfies Expr;
  },
  Postfix(primary, ops) {
    let e: Expr = primary.ast();
    for (const op of ops.children) {
      const span = { file: e.span.file, start: e.span.start, end: spanOf(op).end };
      const inner = op.children[0];
      if (inner.ctorName === 'PostfixOp_index') {
        const items: IndexItem[] = inner.children[1].asIteration().children.map((i: ohm.Node) => i.ast());
        e = { kind: 'index', arg: e, indices: items, span };
      } else {
        e = { kind: 'transpose', arg: e, span };
      }
    }
    return e;
  },
  IndexItem_range(lo, _colon, hi) {
    return { kind: 'range', lo: lo.ast(), hi: hi.ast(), span: spanOf(this) } satisfies IndexItem;
  },
  IndexItem_all(_colon) {
    return { kind: 'all', span: spanOf(this) } satisfies IndexItem;
  },
  IndexItem_at(e) {
    return { kind: 'at', index: e.ast(), span: spanOf(this) } satisfies IndexItem;
  },
  Primary_bracket(_open, rows, _close) {
    const list: Expr[][] = rows.asIteration().children.map((r) => r.asIteration().children.map((x) => x.ast()));
    return { kind: 'bracket', rows: list, span: spanOf(this) } satisfies Expr;
  },
  Primary_paren(_open, e, _close) {
    return e.ast();
  },
  Primary_call(name, _open, args, _close) {
    return { kind: 'call', callee: ident(name), args: args.asIteration().children.map((a) => a.ast()), span: spanOf(this) } satisfies Expr;
  },
  Primary_number(n) {
    return { kind: 'number', value: Number(n.sourceString), text: n.sourceString, span: spanOf(this) } satisfies Expr;
  },
  Primary_name(n) {
    return { kind: 'name', name: n.sourceString, span: spanOf(this) } satisfies Expr;
  },
});

/** Which way an ordering operator points; `==` and `!=` point nowhere and do not chain. */
function direction(op: string): 'up' | 'down' | null {
  return op === '<' || op === '<=' ? 'up' : op === '>' || op === '>=' ? 'down' : null;
}

/**
 * `t0 op1 t1 op2 t2 ...` as in mathematics and Python: `(t0 op1 t1) && (t1 op2 t2) && ...`,
 * folded left like the same text written with `&&`, so every later stage (checker, lowering,
 * the `require` facts of Bounds) sees exactly what the `&&` spelling gives. Each inner term
 * is one AST node shared by its two comparisons: it is evaluated once, and hash-consing makes
 * it one IR node. Each comparison has its own span; each `&&` spans the chain up to its last
 * term, and its operator span is that of the comparison it adds (no `&&` is written; the
 * chain is joined there).
 *
 * Only chains that point one way are accepted (`a <= b < c`, `a > b >= c`). `a < b > c`
 * says nothing about `a` against `c`, and reads as a bound on both sides when it is none;
 * `a == b < c` and `a != b != c` mean different things to different readers (`!=` does not
 * even chain transitively). They are syntax errors (E0001) at the operator that breaks the
 * chain, with the `&&` spelling as help: rejecting now leaves room to accept later without
 * changing the meaning of any program, which accepting would not.
 */
function comparisonChain(first: ohm.Node, opNodes: ohm.Node[], restNodes: ohm.Node[]): Expr {
  const terms: Expr[] = [first.ast(), ...restNodes.map((r) => r.ast() as Expr)];
  const ops = opNodes.map((o) => o.sourceString as BinaryOp);
  const opSpans = opNodes.map(spanOf);
  const text = (e: Expr) => currentSource!.text.slice(e.span.start.offset, e.span.end.offset);
  const spelled = ops.map((op, i) => `${text(terms[i])} ${op} ${text(terms[i + 1])}`).join(' && ');
  const bad = ops.findIndex((op) => direction(op) === null);
  const turn = ops.findIndex((op) => direction(op) !== direction(ops[0]));
  if (bad >= 0) {
    currentDiagnostics!.push(
      diagnostic('E0001', opSpans[bad], `\`${ops[bad]}\` does not chain with other comparisons`, {
        label: 'only `<`, `<=`, `>` and `>=` chain, all pointing the same way',
        help: `write each comparison out: \`${spelled}\``,
      }),
    );
  } else if (turn >= 0) {
    currentDiagnostics!.push(
      diagnostic('E0001', opSpans[turn], 'a chain of comparisons must point one way', {
        label: `\`${ops[turn]}\` turns the chain around`,
        related: [{ span: opSpans[0], message: `the chain starts with \`${ops[0]}\`` }],
        notes: [`\`${text(terms[0])} ${ops[0]} ... ${ops[turn]} ${text(terms[turn + 1])}\` does not compare its first and last terms`],
        help: `if that is what you mean, write \`${spelled}\``,
      }),
    );
  }
  const file = terms[0].span.file;
  let acc: Expr | null = null;
  for (let i = 0; i < ops.length; i++) {
    const left = terms[i];
    const right = terms[i + 1];
    const cmp: Expr = { kind: 'binary', op: ops[i], left, right, opSpan: opSpans[i], span: { file, start: left.span.start, end: right.span.end } };
    acc = acc === null ? cmp : { kind: 'binary', op: '&&', left: acc, right: cmp, opSpan: opSpans[i], span: { file, start: acc.span.start, end: right.span.end } };
  }
  return acc!;
}

function unary(op: UnaryOp, _opNode: ohm.Node, arg: ohm.Node, self: ohm.Node): Expr {
  return { kind: 'unary', op, arg: arg.ast(), span: spanOf(self) };
}

/** The AST, and the syntax errors found while building it (rejected comparison chains). */
function buildAst(match: ohm.MatchResult, source: SourceFile, diagnostics: Diagnostic[]): Program {
  currentSource = source;
  currentDiagnostics = diagnostics;
  try {
    return semantics(match).ast();
  } finally {
    currentSource = null;
    currentDiagnostics = null;
  }
}
