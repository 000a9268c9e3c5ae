/**
 * How user text gets into generated TypeScript, safely.
 *
 * Names the generator invents carry `$` (`c.$t9`, `c.$num_2`, `$u_beta`, `$Model`), a
 * character no `.impl` name can contain (grammar/impl.ohm: identStart = letter | "_",
 * identPart = alnum | "_"), so they can never meet a user's name. User names are never bare
 * identifiers in a module: they are property keys (`c.X`, `c["class"]`), string literals, or
 * follow such a `$` prefix. User text in comments (paths, names, reasons) goes through
 * {@link commentText}, and every string through {@link literal}.
 */

/** The generated class and its inputs interface, declared under these names and exported under the model's. */
export const MODEL_CLASS = '$Model';
export const INPUTS_TYPE = '$Inputs';

/**
 * `text` made inert inside any comment: line terminators (\n, \r, U+2028, U+2029, which end a
 * `//` comment) are written as the escapes `\n`, `\r`, `\u2028`, `\u2029`, and `*` `/` (which
 * ends a block comment) as `*\/`. Other text is kept as it is.
 */
export function commentText(text: string): string {
  return text.replace(/[\n\r\u2028\u2029]/g, (t) => LINE_ESCAPES[t]).replace(/\*\//g, '*\\/');
}

const LINE_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * A JavaScript expression for `value` (a string, number, boolean, null, or plain data of
 * them): JSON, with U+2028 and U+2029 escaped as well, so that it is one line whatever it holds.
 */
export function literal(value: unknown): string {
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, (t) => (t === '\u2028' ? '\\u2028' : '\\u2029'));
}

/** Names that can follow a `.`: ASCII identifier names (every such one is an IdentifierName, reserved words included). */
const DOT_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Whether `key` is written bare after a dot or in a type's member list (else quoted). */
const bareKey = (key: string) => DOT_KEY.test(key) && key !== '__proto__';

/** `object.key`, or `object["key"]` when key cannot follow a dot (Unicode; `__proto__` kept explicit as a string). */
export function member(object: string, key: string): string {
  return bareKey(key) ? `${object}.${key}` : `${object}[${literal(key)}]`;
}

/** A property name in an interface: `X`, or `"ⸯ"` quoted. */
export function propertyKey(key: string): string {
  return bareKey(key) ? key : literal(key);
}

/**
 * A local for the user variable `name` (the `index`-th of its kind): `$<prefix>_<name>` when
 * name is ASCII, else `$<prefix><index>`. Distinct names give distinct locals (the `_` tells
 * the two forms apart), and none can meet an import, a global or another generated local.
 */
export function localName(prefix: string, name: string, index: number): string {
  return /^[A-Za-z0-9_]+$/.test(name) ? `$${prefix}_${name}` : `$${prefix}${index}`;
}
