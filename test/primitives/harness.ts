import { expect } from 'vitest';
import { evaluate, Graph } from '../../src/ir/graph.ts';
import { sameShape } from '../../src/ir/shape.ts';
import { primitive } from '../../src/primitives/registry.ts';
import type { NodeId, Tensor } from '../../src/primitives/types.ts';

// Evaluating a primitive and its derivative rules through the IR, as the compiler does.

/** `fixed`: a real argument held fixed, never given a tangent (a cone's code, fixed by the dims). */
export type Kind = 'real' | 'bool' | 'fixed';

export function tensor(shape: number[], values: number[]): Tensor {
  return { shape, data: Float64Array.from(values) };
}

export const vec = (...values: number[]) => tensor([values.length], values);
export const num = (value: number) => tensor([], [value]);

export function run(name: string, args: readonly Tensor[]): Tensor {
  return primitive(name).evaluate(args, {});
}

/** `name` applied to inputs x0..xk bound to `args`, in a fresh graph. */
export function applied(name: string, kinds: readonly Kind[], args: readonly Tensor[]) {
  const g = new Graph();
  const xs = args.map((a, i) => g.input(`x${i}`, kinds[i] === 'fixed' ? 'data' : 'param', { kind: kinds[i] === 'fixed' ? 'real' : kinds[i], shape: a.shape }));
  const node = g.apply(name, xs);
  const inputs: Record<string, Tensor> = Object.fromEntries(args.map((a, i) => [`x${i}`, a]));
  const seed = (label: string, value: Tensor) => {
    inputs[label] = value;
    return g.input(label, 'seed', { kind: 'real', shape: value.shape });
  };
  const value = (id: NodeId) => evaluate(g, [id], { dims: {}, inputs })[0];
  return { g, xs, node, seed, value, primal: { id: node, args: xs, attrs: {} } };
}

/** The JVP rule's tangent at `args` (null: the rule says 0), checked to have the output's shape. */
export function jvpAt(name: string, kinds: readonly Kind[], args: readonly Tensor[], tangents: readonly (Tensor | null)[]) {
  const a = applied(name, kinds, args);
  const ts = tangents.map((t, i) => (t === null ? null : a.seed(`t${i}`, t)));
  const root = primitive(name).jvp!(a.g, a.primal, ts);
  if (root === null) return { value: null, graph: a.g };
  expect(sameShape(a.g.shape(root), a.g.shape(a.node)), `${name}: tangent shape`).toBe(true);
  return { value: a.value(root), graph: a.g };
}

/** The VJP rule's cotangents at `args`, each checked to have its argument's shape. */
export function vjpAt(name: string, kinds: readonly Kind[], args: readonly Tensor[], cotangent: Tensor): (Tensor | null)[] {
  const a = applied(name, kinds, args);
  const ct = a.seed('ct', cotangent);
  expect(sameShape(a.g.shape(ct), a.g.shape(a.node)), `${name}: cotangent seed shape`).toBe(true);
  const out = primitive(name).vjp!(a.g, a.primal, ct);
  expect(out.length).toBe(args.length);
  return out.map((c, i) => {
    if (c === null) return null;
    expect(sameShape(a.g.shape(c), args[i].shape), `${name}: cotangent ${i} shape`).toBe(true);
    return a.value(c);
  });
}

export function axpy(alpha: number, x: Tensor, y: Tensor): Tensor {
  return { shape: y.shape, data: y.data.map((v, i) => v + alpha * x.data[i]) };
}

export function inner(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Central difference of `name` at `args` along the tangents (null: that argument fixed). */
export function centralDifference(name: string, args: readonly Tensor[], tangents: readonly (Tensor | null)[], h = 1e-5): Float64Array {
  const at = (s: number) => run(name, args.map((a, i) => (tangents[i] ? axpy(s, tangents[i]!, a) : a))).data;
  const plus = at(h);
  const minus = at(-h);
  return plus.map((p, i) => (p - minus[i]) / (2 * h));
}

/** One-sided difference (f(x + h t) - f(x)) / h, h of either sign. */
export function oneSidedDifference(name: string, args: readonly Tensor[], tangents: readonly (Tensor | null)[], h: number): Float64Array {
  const base = run(name, args).data;
  const moved = run(name, args.map((a, i) => (tangents[i] ? axpy(h, tangents[i]!, a) : a))).data;
  return moved.map((m, i) => (m - base[i]) / h);
}

/** |a - b|_inf <= tol * max(1, |b|_inf). */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length, what).toBe(b.length);
  const diff = Array.from(a, (x, i) => x - b[i]);
  const scale = Math.max(1, maxAbs(b));
  expect(maxAbs(diff) / scale, `${what}: got ${Array.from(a)}, expected ${Array.from(b)}`).toBeLessThan(tol);
}
