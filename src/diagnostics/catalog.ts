/**
 * Every diagnostic implc can emit, in one table (after tsc's diagnosticMessages.json).
 * A code never changes meaning once published; retire codes instead of reusing them.
 */
export type Severity = 'error' | 'warning';

export interface CatalogEntry {
  readonly title: string;
  readonly severity: Severity;
  readonly group: 'syntax' | 'names' | 'shapes' | 'structure' | 'classes' | 'certification' | 'input';
}

export const CATALOG = {
  // syntax
  E0001: { title: 'syntax error', severity: 'error', group: 'syntax' },
  E0002: { title: 'unterminated block comment', severity: 'error', group: 'syntax' },
  E0003: { title: 'expression nested too deeply', severity: 'error', group: 'syntax' },
  E0004: { title: 'expression too deep to compile', severity: 'error', group: 'syntax' },
  // names
  E0101: { title: 'undeclared name', severity: 'error', group: 'names' },
  E0102: { title: 'duplicate declaration', severity: 'error', group: 'names' },
  E0103: { title: 'unknown function', severity: 'error', group: 'names' },
  E0104: { title: 'wrong number of arguments', severity: 'error', group: 'names' },
  E0105: { title: 'undeclared dimension', severity: 'error', group: 'names' },
  E0106: { title: 'name used before its declaration', severity: 'error', group: 'names' },
  E0107: { title: 'fixpoint target is not an unknown', severity: 'error', group: 'names' },
  E0108: { title: 'duplicate model', severity: 'error', group: 'names' },
  E0109: { title: 'model name cannot name a TypeScript class', severity: 'error', group: 'names' },
  E0110: { title: 'unknown kind of cone block', severity: 'error', group: 'names' },
  W0110: { title: 'unused declaration', severity: 'warning', group: 'names' },
  // shapes and types
  E0201: { title: 'shape mismatch', severity: 'error', group: 'shapes' },
  E0202: { title: 'matrix product dimensions do not agree', severity: 'error', group: 'shapes' },
  E0203: { title: 'argument has the wrong shape', severity: 'error', group: 'shapes' },
  E0204: { title: 'fixpoint right side does not have the unknown\'s shape', severity: 'error', group: 'shapes' },
  // E0205 (output is not a scalar) is retired: outputs may have any shape (issue 15).
  E0206: { title: 'condition where a value is expected, or a value where a condition is expected', severity: 'error', group: 'shapes' },
  E0207: { title: 'ambiguous product of two vectors', severity: 'error', group: 'shapes' },
  E0208: { title: 'operator needs a scalar operand', severity: 'error', group: 'shapes' },
  E0209: { title: 'initial value does not have the unknown\'s shape', severity: 'error', group: 'shapes' },
  E0210: { title: 'index out of range', severity: 'error', group: 'shapes' },
  E0211: { title: 'index or size is not an integer or dim expression', severity: 'error', group: 'shapes' },
  E0212: { title: 'wrong number of indices', severity: 'error', group: 'shapes' },
  E0213: { title: 'entries of a bracket literal do not fit together', severity: 'error', group: 'shapes' },
  E0214: { title: 'axis of a reduction is not 1 or 2', severity: 'error', group: 'shapes' },
  E0215: { title: 'dim that no input can bind', severity: 'error', group: 'shapes' },
  E0216: { title: 'cone with a psd block needs its length named', severity: 'error', group: 'shapes' },
  // structure of the system
  E0301: { title: 'unknown has no defining equation', severity: 'error', group: 'structure' },
  E0302: { title: 'unknown has more than one fixpoint', severity: 'error', group: 'structure' },
  E0303: { title: 'equations and unknowns differ in size', severity: 'error', group: 'structure' },
  E0304: { title: 'model has no unknown and no output', severity: 'error', group: 'structure' },
  E0305: { title: 'equations without unknowns', severity: 'error', group: 'structure' },
  // definability and regularity classes (MATH.md section 2)
  E0401: { title: 'discontinuous primitive inside the equations', severity: 'error', group: 'classes' },
  W0402: { title: 'sqrt may reach 0 inside the equations', severity: 'warning', group: 'classes' },
  W0403: { title: 'periodic function without a bounded domain', severity: 'warning', group: 'classes' },
  W0404: { title: 'branches of a piecewise definition may disagree on the boundary', severity: 'warning', group: 'classes' },
  W0405: { title: 'division by a quantity that may be 0 inside the equations', severity: 'warning', group: 'classes' },
  // certification (MATH.md sections 4 and 5)
  W0501: { title: 'implicit differentiation is not justified: counterexample found', severity: 'warning', group: 'certification' },
  W0502: { title: 'invertibility could not be certified', severity: 'warning', group: 'certification' },
  // inputs at run time
  E0901: { title: 'invalid input', severity: 'error', group: 'input' },
} as const satisfies Record<string, CatalogEntry>;

export type DiagnosticCode = keyof typeof CATALOG;
