/**
 * What the language server answers, as functions of a document and a cursor offset: hover,
 * go to definition, completion and the "did you mean" quick fix. They read the compiler's own
 * results (src/compile.ts, src/pipeline.ts) and the primitive registry, so the editor says what
 * `implc check` and `implc explain` say.
 */
import {
  CodeActionKind, CompletionItemKind, InsertTextFormat, MarkupKind, SymbolKind as LspSymbolKind,
  type CodeAction, type CompletionItem, type Diagnostic as LspDiagnostic, type DocumentSymbol, type Hover, type Location,
} from 'vscode-languageserver/node.js';
import type { Analysis } from '../analysis/analyze.ts';
import { explainJson } from '../analysis/explain.ts';
import { CONSTRUCTORS_WITHOUT_RECORD, type CheckedModel } from '../check/check.ts';
import type { SymbolKind } from '../check/symbols.ts';
import type { Span } from '../diagnostics/span.ts';
import { showType } from '../ir/shape.ts';
import { callable, callableNames, REGISTRY } from '../primitives/registry.ts';
import type { Primitive } from '../primitives/types.ts';
import type { Model } from '../syntax/ast.ts';
import { rangeOf, suggestedName, type DiagnosticData } from './convert.ts';
import type { ModelDocument } from './document.ts';
import { declarationOf, declarations, lexicalDeclarations, modelAt, occurrenceAt, type Declared } from './model-index.ts';

/**
 * The words of the language (grammar/impl.ohm): the reserved ones, and `cone` and `index`,
 * which are words only where a declaration or a type is expected.
 */
export const KEYWORDS = ['model', 'dim', 'data', 'param', 'let', 'unknown', 'fixpoint', 'solve', 'output', 'require', 'cone', 'if', 'then', 'else', 'real', 'index'] as const;

const KIND_TEXT: Record<SymbolKind, string> = {
  dim: 'dimension: a size, bound from the inputs at run time',
  data: 'data input: fixed, no gradient flows to it',
  param: 'parameter: a differentiable input',
  let: 'let binding: inlined where it is used',
  unknown: 'unknown: defined implicitly by its fixpoint or equations',
  output: 'output: a function of the unknowns and inputs, differentiated in the params',
  cone: 'cone: a product of zero, nonneg, soc and psd blocks',
};

const code = (text: string) => `\`\`\`impl\n${text}\n\`\`\``;
const slice = (text: string, s: Span) => text.slice(s.start.offset, s.end.offset);
/** Source text shown in a hover, on one line and at most `max` characters. */
const excerpt = (text: string, max = 160) => {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** `soft_threshold(u, t)`. */
export function signature(p: Primitive): string {
  return `${p.name}(${p.params.join(', ')})`;
}

/**
 * A primitive's documentation: its summary, its classes, and its kink convention (where it
 * switches, the element of the conservative Jacobian the generated code uses at a tie, and the
 * full range there), as `implc explain` prints kinks.
 */
export function primitiveDoc(p: Primitive): string {
  const lines = [p.summary, '', `definable: ${p.definability}; Lipschitz: ${p.lipschitz}${p.irregularity ? ` (${p.irregularity})` : ''}`];
  if (p.kink) lines.push('', `kink: switches where \`${p.kink.condition}\`, uses \`${p.kink.used}\` there; range ${p.kink.rangeText}`);
  else lines.push('', 'no kink');
  return lines.join('\n');
}

/**
 * The constructors the checker knows by name without a registry record (src/check/check.ts
 * CONSTRUCTORS_WITHOUT_RECORD: `zeros` and `ones`), with their forms as README "The language"
 * gives them.
 */
const CONSTRUCTORS: ReadonlyMap<string, { forms: string; doc: string }> = new Map(
  CONSTRUCTORS_WITHOUT_RECORD.map((name) => [name, { forms: `${name}(n)\n${name}(n, m)`, doc: `a vector or matrix of ${name}; sizes are integer literals or dims` }]),
);

function checkedModel(md: ModelDocument, model: Model): CheckedModel | undefined {
  return md.front().models.find((m) => m.model === model);
}

/** The first line of a declared name's hover: `param W: real[n, n]`. */
function declarationLine(md: ModelDocument, model: Model, d: Declared): string {
  const symbol = checkedModel(md, model)?.symbols.get(d.name);
  const decl = d.decl;
  switch (decl.kind) {
    case 'dim':
      return `dim ${d.name}`;
    case 'data':
    case 'param':
    case 'unknown':
      return `${decl.kind} ${d.name}: ${symbol ? showType(symbol.type) : slice(md.text, decl.type.span)}`;
    case 'let':
    case 'output':
      return symbol ? `${decl.kind} ${d.name}: ${showType(symbol.type)}` : `${decl.kind} ${d.name}`;
    case 'cone':
      return excerpt(slice(md.text, decl.span));
    default:
      return d.name;
  }
}

function declarationHover(md: ModelDocument, model: Model, d: Declared): string {
  const parts = [code(declarationLine(md, model, d)), KIND_TEXT[d.kind]];
  const checked = checkedModel(md, model);
  if ((d.decl.kind === 'let' || d.decl.kind === 'output') && !checked) parts.push('(its type is known once the model has no errors)');
  if (d.decl.kind === 'let' || d.decl.kind === 'output') parts.push(`= \`${excerpt(slice(md.text, d.decl.value.span))}\``);
  if (d.decl.kind === 'cone' && checked) {
    const symbol = checked.symbols.get(d.name);
    if (symbol) parts.push(showType(symbol.type));
  }
  if (d.decl.kind === 'unknown' && d.decl.init) parts.push(`starts at \`${excerpt(slice(md.text, d.decl.init.span))}\``);
  return parts.join('\n\n');
}

/** The model's verdict, its test, B and A and the rest of `implc explain`'s report. */
function modelHover(model: Model, analysis: Analysis | undefined, hasErrors: boolean): string {
  const head = code(`model ${model.name.name}`);
  if (!analysis) return `${head}\n\n${hasErrors ? 'not analyzed: fix its errors first' : 'not analyzed'}`;
  const j = explainJson(analysis);
  const lines = [
    head,
    '',
    `**verdict** ${j.verdict} (${j.test})${j.guard ? `, guard \`${j.guard}\`` : ''}`,
    '',
    `- B = dF/dy: \`${j.jacobian.B}\``,
    `- A = dF/dx: \`${j.jacobian.A}\``,
    `- why: ${j.reason}`,
    `- definability ${j.definability}, Lipschitz ${j.lipschitz}`,
    `- kinks: ${j.kinks.length ? j.kinks.map((k) => `${k.primitive} (${k.size})`).join(', ') : 'none (F is smooth)'}; pieces ${j.pieces}`,
    `- solver: ${j.solver}`,
  ];
  return lines.join('\n');
}

export function hover(md: ModelDocument, offset: number): Hover | null {
  const program = md.front().program;
  if (!program) return null;
  const o = occurrenceAt(program, offset);
  if (!o) return null;
  let value: string | null = null;
  if (o.kind === 'model') {
    // The analysis runs here only when diagnostics have not run it for this version yet.
    const full = md.analyzed();
    const analysis = full.analyses.find((a) => a.model.name === o.model.name.name && a.model.span.start.offset === o.model.span.start.offset);
    const errors = full.diagnostics.some((d) => d.severity === 'error' && d.span.start.offset >= o.model.span.start.offset && d.span.end.offset <= o.model.span.end.offset);
    value = modelHover(o.model, analysis, errors);
  } else if (o.kind === 'callee' && callable(o.name)) {
    const p = callable(o.name)!;
    value = `${code(signature(p))}\n\n${primitiveDoc(p)}`;
  } else {
    const d = declarationOf(o.model, o.name);
    if (d) value = declarationHover(md, o.model, d);
    else if (o.kind === 'callee' && CONSTRUCTORS.has(o.name)) {
      const c = CONSTRUCTORS.get(o.name)!;
      value = `${code(c.forms)}\n\n${c.doc}`;
    }
  }
  return value === null ? null : { contents: { kind: MarkupKind.Markdown, value }, range: rangeOf(o.span, md.doc) };
}

/** The declaration a name refers to (a model's name is its own). */
export function definition(md: ModelDocument, offset: number): Location | null {
  const program = md.front().program;
  if (!program) return null;
  const o = occurrenceAt(program, offset);
  if (!o) return null;
  if (o.kind === 'model') return { uri: md.doc.uri, range: rangeOf(o.model.name.span, md.doc) };
  if (o.kind === 'callee' && callable(o.name)) return null;
  const d = declarationOf(o.model, o.name);
  return d ? { uri: md.doc.uri, range: rangeOf(d.ident.span, md.doc) } : null;
}

const SYMBOL_ITEM_KIND: Record<SymbolKind, CompletionItemKind> = {
  dim: CompletionItemKind.Constant,
  data: CompletionItemKind.Variable,
  param: CompletionItemKind.Variable,
  let: CompletionItemKind.Variable,
  unknown: CompletionItemKind.Variable,
  output: CompletionItemKind.Field,
  cone: CompletionItemKind.Struct,
};

/** The user-callable primitives as completion items: signature as detail, summary and kink as documentation. */
function primitiveItems(snippets: boolean): CompletionItem[] {
  const constructors = [...CONSTRUCTORS].map(([name, c]): CompletionItem => ({
    label: name,
    kind: CompletionItemKind.Function,
    detail: c.forms.replace('\n', ' or '),
    documentation: c.doc,
  }));
  return [...constructors, ...callableNames().map((name) => {
    const p = REGISTRY.get(name)!;
    const item: CompletionItem = {
      label: name,
      kind: CompletionItemKind.Function,
      detail: signature(p),
      documentation: { kind: MarkupKind.Markdown, value: primitiveDoc(p) },
    };
    if (snippets) {
      item.insertText = `${name}(${p.params.map((param, i) => `\${${i + 1}:${param}}`).join(', ')})`;
      item.insertTextFormat = InsertTextFormat.Snippet;
    }
    return item;
  })];
}

/**
 * Names in scope at `offset` (those of the enclosing model whose declarations end before the
 * cursor: not the one being written, which cannot refer to itself), the
 * keywords, and the primitives. While the file does not parse into a model around the cursor,
 * the names come from the text (src/lsp/model-index.ts lexicalDeclarations).
 */
export function completion(md: ModelDocument, offset: number, snippets: boolean): CompletionItem[] {
  const program = md.front().program;
  const model = program ? modelAt(program, offset) : undefined;
  const names: CompletionItem[] = model
    ? declarations(model)
        .filter((d) => d.decl.span.end.offset < offset)
        .map((d) => ({ label: d.name, kind: SYMBOL_ITEM_KIND[d.kind], detail: declarationLine(md, model, d), documentation: KIND_TEXT[d.kind] }))
    : lexicalDeclarations(md.text, offset).map((d) => ({ label: d.name, kind: SYMBOL_ITEM_KIND[d.kind], detail: d.kind, documentation: KIND_TEXT[d.kind] }));
  const seen = new Set<string>();
  const unique = names.filter((n) => !seen.has(n.label) && seen.add(n.label));
  const keywords: CompletionItem[] = KEYWORDS.map((k) => ({ label: k, kind: CompletionItemKind.Keyword }));
  return [...unique, ...keywords, ...primitiveItems(snippets)];
}

const OUTLINE_KIND: Record<SymbolKind, LspSymbolKind> = {
  dim: LspSymbolKind.Constant,
  data: LspSymbolKind.Variable,
  param: LspSymbolKind.Variable,
  let: LspSymbolKind.Variable,
  unknown: LspSymbolKind.Variable,
  output: LspSymbolKind.Field,
  cone: LspSymbolKind.Struct,
};

/** The outline: each model, with its declared names (and their types) under it. */
export function documentSymbols(md: ModelDocument): DocumentSymbol[] {
  const program = md.front().program;
  if (!program) return [];
  return program.models.map((model) => ({
    name: model.name.name,
    kind: LspSymbolKind.Class,
    range: rangeOf(model.span, md.doc),
    selectionRange: rangeOf(model.name.span, md.doc),
    children: declarations(model).map((d) => ({
      name: d.name,
      detail: declarationLine(md, model, d),
      kind: OUTLINE_KIND[d.kind],
      range: rangeOf(d.decl.span, md.doc),
      selectionRange: rangeOf(d.ident.span, md.doc),
    })),
  }));
}

/**
 * A quick fix for each diagnostic whose help says "did you mean `x`?": replace its span (the
 * misspelled name) with `x`. The name comes from the diagnostic's data when the client sends
 * it back, else from the help line of its message; the span must hold a single name.
 */
export function quickFixes(md: ModelDocument, diagnostics: readonly LspDiagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of diagnostics) {
    if (d.source !== 'implc') continue;
    const data = d.data as DiagnosticData | undefined;
    const help = /^help: (.*)$/m.exec(d.message)?.[1];
    const replacement = data?.replacement ?? suggestedName(help);
    if (!replacement) continue;
    const current = md.doc.getText(d.range);
    if (!/^[A-Za-z_]\w*$/.test(current)) continue;
    out.push({
      title: `Replace \`${current}\` with \`${replacement}\``,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      isPreferred: true,
      edit: { changes: { [md.doc.uri]: [{ range: d.range, newText: replacement }] } },
    });
  }
  return out;
}
