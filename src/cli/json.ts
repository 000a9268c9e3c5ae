/**
 * The JSON the command line prints. JSON has no Infinity or NaN (JSON.stringify writes them as
 * `null`, which reads as "absent" and hides a wrong number): each is written as the string
 * "Infinity", "-Infinity" or "NaN", and its path is reported so that the command can fail.
 */

/** JSON text, and the paths (`outputs.val`, `solution.y[2]`) of the non-finite numbers in it. */
export interface JsonText {
  text: string;
  nonFinite: string[];
}

/** `value` as indented JSON; non-finite numbers as strings. Own keys such as `__proto__` are kept. */
export function toJsonText(value: unknown): JsonText {
  const nonFinite: string[] = [];
  // The path of each object or array reached, keyed by the object: the replacer sees each holder
  // before its members.
  const paths = new Map<object, string>();
  const text = JSON.stringify(
    value,
    function replacer(this: unknown, key: string, member: unknown): unknown {
      const holder = this as object;
      const base = paths.get(holder);
      const path = base === undefined ? '' : Array.isArray(holder) ? `${base}[${key}]` : base === '' ? key : `${base}.${key}`;
      if (typeof member === 'number' && !Number.isFinite(member)) {
        nonFinite.push(path === '' ? '(the value)' : path);
        return String(member);
      }
      if (typeof member === 'object' && member !== null) paths.set(member, path);
      return member;
    },
    2,
  );
  return { text: text ?? 'null', nonFinite };
}
