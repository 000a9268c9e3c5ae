import { isScalar, type ValueType } from '../ir/shape.ts';
import { gapKernel, valueKernel } from '../runtime/values/table.ts';
import type { BinaryOp, UnaryOp } from '../syntax/ast.ts';
import { arithmetic } from './arithmetic.ts';
import { elementwisePrimitives } from './elementwise.ts';
import { cones } from './cones.ts';
import { groups } from './groups.ts';
import { indexing } from './indexing.ts';
import { internal } from './internal.ts';
import { logic } from './logic.ts';
import { projections } from './projections.ts';
import { reductions } from './reductions.ts';
import type { Primitive, PrimitiveSpec, StructureFacts } from './types.ts';

/**
 * A family file's record with its arithmetic attached: `evaluate` is the runtime's value
 * kernel named `kernel` (the primitive's name by default), `kink.kinkGap` its kink-gap kernel
 * named `kink.gap`. A name the runtime lacks fails here, when the registry loads.
 */
function withKernels({ kink, ...rules }: PrimitiveSpec): Primitive {
  const kernel = rules.kernel ?? rules.name;
  const value = valueKernel(kernel);
  const p: Primitive = { ...rules, kernel, evaluate: (args) => value(...args) };
  if (kink) {
    const gap = gapKernel(kink.gap);
    p.kink = { ...kink, kinkGap: (args) => gap(...args) };
  }
  return p;
}

/** Every primitive, by name. Adding a primitive means adding a record to one family file (and its kernel to the runtime's table). */
export const REGISTRY: ReadonlyMap<string, Primitive> = new Map(
  [...arithmetic, ...logic, ...elementwisePrimitives, ...reductions, ...projections, ...cones, ...groups, ...indexing, ...internal].map((spec) => [spec.name, withKernels(spec)]),
);

export function primitive(name: string): Primitive {
  const p = REGISTRY.get(name);
  if (!p) throw new Error(`internal error: no primitive named ${name}`);
  return p;
}

/** The structure facts of an IR node's op: its primitive's, or none for inputs and constants. */
export function factsOf(op: string): StructureFacts {
  return op === 'input' || op === 'const' ? {} : primitive(op).structure;
}

/** Primitives users may call by name in .impl files. */
export function callable(name: string): Primitive | undefined {
  const p = REGISTRY.get(name);
  return p && p.surface === 'function' ? p : undefined;
}

export function callableNames(): string[] {
  return [...REGISTRY.values()].filter((p) => p.surface === 'function').map((p) => p.name);
}

const BINARY: Record<Exclude<BinaryOp, '*'>, string> = {
  '+': 'add',
  '-': 'sub',
  '/': 'div',
  '.*': 'mul',
  './': 'div_elementwise',
  '^': 'pow',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
  '==': 'eq',
  '!=': 'ne',
  '&&': 'and',
  '||': 'or',
};

/**
 * The primitive a surface operator means for these operand types (LANGUAGE.md: `*` is the
 * matrix product when both sides are arrays and scaling otherwise).
 */
export function binaryPrimitive(op: BinaryOp, left: ValueType, right: ValueType): Primitive {
  if (op === '*') return primitive(isScalar(left.shape) || isScalar(right.shape) ? 'mul' : 'matmul');
  return primitive(BINARY[op]);
}

export function unaryPrimitive(op: UnaryOp): Primitive | null {
  return op === '+' ? null : primitive(op === '-' ? 'neg' : 'not');
}

export const TRANSPOSE = 'transpose';
export const SELECT = 'select';
