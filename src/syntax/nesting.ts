import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { SourceFile } from '../diagnostics/span.ts';

/**
 * The deepest nesting of expressions a file may have (README, "Limits"): parentheses, calls,
 * unary `-`, `+`, `!`, `if` and the exponent of `^`, all counted together. The parser
 * recurses once per level, so this bounds its stack; flat chains (`a + b + c`, `x'''`) do not
 * nest and are not counted here.
 */
export const MAX_NESTING = 64;

type LevelKind = 'paren' | 'call' | 'unary' | 'pow' | 'if';

interface Level {
  kind: LevelKind;
  /** The token that opened the level: `(`, `abs(`, `-`, `^`, `if`. */
  token: string;
  start: number;
  end: number;
  /** For `if`: which part is being read. */
  part?: 'cond' | 'then' | 'else';
}

const DECL_WORDS = new Set(['model', 'dim', 'data', 'param', 'let', 'unknown', 'fixpoint', 'solve', 'output', 'require']);
const KEYWORDS = new Set([...DECL_WORDS, 'real', 'if', 'then', 'else']);
const TOKEN = /\s+|\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|([\p{L}_][\p{L}\p{N}_]*)|([0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)|(\|\||&&|<=|>=|==|!=|\.\*|\.\/)|([\s\S])/uy;

/**
 * Find expressions nested deeper than MAX_NESTING before the parser sees them, without
 * recursion. Each diagnostic points at the token that opens the first level past the limit
 * and names what is nested there. One diagnostic per declaration at most.
 */
export function nestingDiagnostics(source: SourceFile, text: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const stack: Level[] = [];
  let operand = true; // the next token starts an operand (so `-` is unary)
  let previousName: { text: string; start: number } | null = null; // so `(` opens a call
  let reported = false; // this declaration already has its diagnostic
  const reset = () => {
    stack.length = 0;
    reported = false;
  };
  const push = (level: Level) => {
    stack.push(level);
    if (stack.length > MAX_NESTING && !reported) {
      reported = true;
      out.push(tooDeep(source, level, stack));
    }
  };
  /** Close the unary and `^` levels: their operand ends at a looser binary operator. */
  const popPrefix = () => {
    while (stack.length && (stack[stack.length - 1].kind === 'unary' || stack[stack.length - 1].kind === 'pow')) stack.pop();
  };
  /** Close levels up to (not including) the innermost parenthesis or call. */
  const popToGroup = () => {
    while (stack.length && stack[stack.length - 1].kind !== 'paren' && stack[stack.length - 1].kind !== 'call') stack.pop();
  };
  const innermostIf = (part: 'cond' | 'then'): number => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const l = stack[i];
      if (l.kind === 'paren' || l.kind === 'call') return -1;
      if (l.kind === 'if' && l.part === part) return i;
    }
    return -1;
  };

  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < text.length && (m = TOKEN.exec(text)) !== null) {
    const start = m.index;
    const end = TOKEN.lastIndex;
    const [, word, number, pair, single] = m;
    if (word !== undefined) {
      if (DECL_WORDS.has(word)) {
        reset();
        operand = true;
      } else if (word === 'if') {
        push({ kind: 'if', token: 'if', start, end, part: 'cond' });
        operand = true;
      } else if (word === 'then' || word === 'else') {
        const at = innermostIf(word === 'then' ? 'cond' : 'then');
        if (at >= 0) {
          stack.length = at + 1;
          stack[at].part = word === 'then' ? 'then' : 'else';
        }
        operand = true;
      } else {
        operand = false;
      }
      previousName = KEYWORDS.has(word) ? null : { text: word, start };
      continue;
    }
    if (number !== undefined) {
      operand = false;
      previousName = null;
      continue;
    }
    const op = pair ?? single;
    if (op === undefined) continue; // whitespace or a comment
    const wasName = previousName;
    previousName = null;
    switch (op) {
      case '(':
        push(wasName ? { kind: 'call', token: `${wasName.text}(`, start: wasName.start, end } : { kind: 'paren', token: '(', start, end });
        operand = true;
        break;
      case '[':
        // A bracket (a literal, or an index list) nests like a parenthesis.
        push({ kind: 'paren', token: '[', start, end });
        operand = true;
        break;
      case ']':
      case ')':
        popToGroup();
        stack.pop();
        operand = false;
        break;
      case ',':
        popToGroup();
        operand = true;
        break;
      case ';':
        // Inside a bracket literal `;` separates rows; elsewhere it ends a declaration.
        if (stack.some((l) => l.token === '[')) {
          popToGroup();
          operand = true;
          break;
        }
        reset();
        operand = true;
        break;
      case '{':
      case '}':
        reset();
        operand = true;
        break;
      case '=':
        // The `=` of a declaration or an equation: a new expression starts.
        if (!stack.some((l) => l.kind === 'paren' || l.kind === 'call')) reset();
        operand = true;
        break;
      case "'":
        operand = false;
        break;
      case '^':
        push({ kind: 'pow', token: '^', start, end });
        operand = true;
        break;
      case '-':
      case '+':
      case '!':
        if (operand || op === '!') {
          push({ kind: 'unary', token: op, start, end });
        } else {
          popPrefix();
        }
        operand = true;
        break;
      default:
        if (!operand) popPrefix();
        operand = true;
    }
  }
  return out;
}

/** What a level is, in words: singular and plural. */
const KIND_WORDS: Record<LevelKind, (token: string) => [string, string]> = {
  paren: () => ['parenthesis', 'parentheses'],
  call: () => ['function call', 'function calls'],
  unary: (t) => [`unary \`${t}\``, `unary \`${t}\``],
  pow: () => ['exponent of `^`', 'exponents of `^`'],
  if: () => ['`if`', '`if`s'],
};

function tooDeep(source: SourceFile, level: Level, stack: readonly Level[]): Diagnostic {
  const counts = new Map<string, { n: number; words: [string, string] }>();
  for (const l of stack) {
    const words = KIND_WORDS[l.kind](l.token);
    const c = counts.get(words[1]) ?? { n: 0, words };
    c.n++;
    counts.set(words[1], c);
  }
  const what = [...counts.values()].sort((a, b) => b.n - a.n).map((c) => `${c.n} ${c.words[c.n === 1 ? 0 : 1]}`).join(', ');
  const here = `\`${level.token}\``;
  return diagnostic('E0003', source.span(level.start, level.end), `expression is nested more than ${MAX_NESTING} levels deep`, {
    label: `${here} opens level ${stack.length}`,
    notes: [`nested here: ${what}`],
    help: 'name intermediate results with `let`',
  });
}
