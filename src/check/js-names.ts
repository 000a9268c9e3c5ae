import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Ident } from '../syntax/ast.ts';

/**
 * Which model names a generated module can export. The model's name is the name of the
 * exported class (`import { Lasso } from './Lasso.ts'`), so it must be an identifier a module
 * can bind: JavaScript's identifier characters (the grammar's `letter` is wider: U+2E2F is a
 * letter to Ohm, not to JavaScript) and no reserved word of strict module code. Everything
 * else (`K`, `Math`, `c`, `Float64Array`) works: the class is declared under a `$` name inside
 * the module and exported under the model's (codegen/names.ts). Other user names never
 * become identifiers at all, so they are not restricted.
 */

/** An identifier of JavaScript (ECMAScript IdentifierName, without escapes). */
const IDENTIFIER = /^[\p{ID_Start}_$][\p{ID_Continue}$\u200C\u200D]*$/u;
const IDENTIFIER_START = /^[\p{ID_Start}_$]$/u;
const IDENTIFIER_PART = /^[\p{ID_Continue}$\u200C\u200D]$/u;

/**
 * Words no binding of strict module code may be: the reserved words, the future reserved
 * words of strict code, `await` (reserved in modules), and `eval` and `arguments` (which
 * strict code cannot bind, so `import { eval }` is a syntax error).
 */
const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export',
  'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super',
  'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with',
  'implements', 'interface', 'let', 'package', 'private', 'protected', 'public', 'static', 'yield',
  'await', 'eval', 'arguments',
]);

/** Why `name` cannot be the name of an exported class, or null when it can. */
export function modelNameProblem(name: string): string | null {
  if (RESERVED.has(name)) return 'is a reserved word of JavaScript';
  if (IDENTIFIER.test(name)) return null;
  const chars = [...name];
  const bad = chars.find((ch, i) => !(i === 0 ? IDENTIFIER_START : IDENTIFIER_PART).test(ch)) ?? chars[0];
  const code = `U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return chars.indexOf(bad) === 0 && IDENTIFIER_PART.test(bad)
    ? `starts with \`${bad}\` (${code}), which JavaScript does not allow at the start of a name`
    : `contains \`${bad}\` (${code}), which JavaScript does not allow in a name`;
}

/** E0109 when a model's name cannot be the exported class of its module. */
export function modelNameDiagnostics(name: Ident): Diagnostic[] {
  const problem = modelNameProblem(name.name);
  if (problem === null) return [];
  return [
    diagnostic('E0109', name.span, `model name \`${name.name}\` ${problem}`, {
      label: 'the generated module exports a class of this name',
      help: 'rename the model: `implc build` exports a class under its name, and code imports that class by it',
    }),
  ];
}
