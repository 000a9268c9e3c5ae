/**
 * What every part of a generated module shares: the structure it is written from, the
 * kernel writer, the locals of the unknowns, seeds, kink factors and per-solution values, and
 * the two ways a kernel stores its results (`put` into blocks, `addInto` a running sum).
 */
import type { MethodDeclarationStructure, OptionalKind } from 'ts-morph';
import { cone, dependsOn } from '../../src/ir/ad.ts';
import { factsOf } from '../../src/primitives/registry.ts';
import type { NodeId } from '../../src/primitives/types.ts';
import type { ModelStructure } from '../../src/structure/types.ts';
import { KernelWriter } from '../kernel-writer.ts';
import { commentText, literal, localName } from '../names.ts';

export class ModuleContext {
  readonly writer: KernelWriter;
  readonly methods: OptionalKind<MethodDeclarationStructure>[] = [];
  /** The unknowns' locals by node (`$u_beta`). */
  readonly unknownEnv: Map<NodeId, string>;
  /** The unknowns' locals, as views of the flat vector y. */
  readonly unknownViews: string;
  /** Kink factors by node: `f[i]`, i the site. */
  readonly factorEnv: Map<NodeId, string>;
  readonly factorWrap = 'const f = this.wrapFactors(factors);';
  readonly primalLoad = 'const pv = this.primal(y);';
  /**
   * Values the derivative kernels need that depend on the unknowns alone (X * beta - y, W * z
   * + U * u + b): computed once per solution and cached (`primal`), where every kernel would
   * recompute them. Not cached: anything that moves with a seed or a kink factor (the factors
   * are an argument: the vertex test passes others than the selected ones).
   */
  readonly primalNodes: NodeId[];
  readonly primalEnv: Map<NodeId, string>;
  /** Whether some accumulating kernel adds an outer product in place (the module then imports addProduct). */
  usesAddProduct = false;

  constructor(readonly s: ModelStructure) {
    const m = s.ir;
    const g = s.graph;
    const names = new Map<NodeId, string>();
    for (const v of [...m.dims, ...m.data, ...m.params]) names.set(v.node, v.name);
    for (const [name, node] of m.lets) if (!names.has(node)) names.set(node, name);
    this.writer = new KernelWriter(g, names);
    this.unknownEnv = new Map(m.unknowns.map((u, i) => [u.node, this.unknownLocal(i)]));
    this.unknownViews = this.unknownViewsOf('y');
    this.factorEnv = new Map(s.sites.map((site, i) => [site.node, `f[${i}]`]));
    const k = s.kernels;
    const moving = dependsOn(g, new Set<NodeId>([...k.unknownSeeds, ...k.paramSeeds, ...k.cotangentSeeds, ...k.outputPartials.flatMap((o) => (o.seed === null ? [] : [o.seed])), ...s.sites.map((x) => x.node)]));
    // (The kink factors lie in the cone of the derivative roots.)
    this.primalNodes = cone(g, k.derivativeRoots).filter((id) => {
      const n = g.node(id);
      return n.op !== 'input' && n.op !== 'const' && this.writer.dynamic(id) && !moving(id);
    });
    this.primalEnv = new Map(this.primalNodes.map((id) => [id, `pv.t${id}`]));
  }

  // Locals derived from user names carry a `$`, see names.ts: `$u_beta`, `$dot_W`.
  unknownLocal(i: number): string {
    return localName('u', this.s.ir.unknowns[i].name, i);
  }

  unknownViewsOf(source: string): string {
    return `const [${this.s.ir.unknowns.map((_, i) => this.unknownLocal(i)).join(', ')}] = views(${source}, this.unknowns, ${literal(source)});`;
  }

  usesPrimal(code: readonly string[]): boolean {
    return code.some((l) => /\bpv\./.test(l));
  }

  /** The environment of a derivative kernel: unknowns, cached primal values, kink factors, and `extra` (seeds). */
  derivative(extra: [NodeId, string][]): Map<NodeId, string> {
    return new Map([...this.unknownEnv, ...this.primalEnv, ...this.factorEnv, ...extra]);
  }

  method(name: string, params: [string, string][], returnType: string, statements: string[], doc: string): void {
    this.methods.push({ name, parameters: params.map(([n, t]) => ({ name: n, type: t })), returnType, statements, docs: [commentText(doc)] });
  }

  /** A kernel that computes `roots` and puts each into its block of `target` (laid out by `layout`). */
  kernel(roots: readonly (NodeId | null)[], env: Map<NodeId, string>, prologue: string[], target: string, layout: string): string[] {
    const { lines, results } = this.writer.body(roots, env);
    const puts = results.map((r, i) => `put(${r ?? 'null'}, ${target}, ${layout}[${i}].offset, ${layout}[${i}].size);`);
    // `put` checks that each block fits; this also refuses an `out` longer than the layout.
    // (F has the unknowns' total size, E0303: both are this.n.)
    const outCheck = `requireLength(${literal(target)}, ${target}, ${layout === 'this.params' ? 'this.m' : 'this.n'});`;
    return ['const c = this.c;', outCheck, ...prologue, ...(this.usesPrimal([...lines, ...puts]) ? [this.primalLoad] : []), ...lines, ...puts];
  }

  /**
   * Statements adding `scale` times each root into its block of `target` (`addInto`), for the
   * accumulating kernels (addVjpX, addOutputPartials). A root that is an outer product (a
   * matrix product with inner dimension 1: the v z^T of a parameter gradient), not cached per
   * solution and needed by nothing else, is not formed: `addProduct` adds it in place, in one
   * pass over its block. Other products are formed (or read from the cache) and added.
   */
  accumulate(roots: readonly (NodeId | null)[], env: Map<NodeId, string>, target: string, layout: string): string[] {
    const g = this.s.graph;
    const isProduct = (r: NodeId | null): r is NodeId =>
      r !== null && !env.has(r) && this.writer.dynamic(r) && factsOf(g.node(r).op).linearForm === 'matrix product' && g.shape(g.node(r).args[1])[0] === 1;
    const fused = roots.map((r) => isProduct(r));
    const bodyRoots = roots.flatMap((r, i) => (fused[i] ? g.node(r!).args : [r]));
    const { lines, results } = this.writer.body(bodyRoots, env);
    // A product some other root needs is computed anyway: add it like any other value.
    const computed = (r: NodeId) => lines.some((l) => l.startsWith(`const t${r} = `));
    const adds: string[] = [];
    let k = 0;
    roots.forEach((r, i) => {
      const block = `${target}, ${layout}[${i}].offset, ${layout}[${i}].size`;
      if (fused[i]) {
        const [a, b] = [results[k], results[k + 1]];
        k += 2;
        if (computed(r!)) adds.push(`addInto(scale, t${r}, ${block});`);
        else {
          this.usesAddProduct = true;
          adds.push(`addProduct(scale, ${a}, ${b}, ${block});`);
        }
      } else {
        const res = results[k++];
        if (res !== null) adds.push(`addInto(scale, ${res}, ${block});`);
      }
    });
    return [...lines, ...adds];
  }

  /** A statement body evaluating `roots` at y (with the per-solution cache when used), ending in `ret(results)`. */
  atSolution(roots: readonly NodeId[], env: Map<NodeId, string>, prologue: string[], ret: (results: (string | null)[]) => string): string[] {
    const { lines, results } = this.writer.body(roots, env);
    const last = ret(results);
    return ['const c = this.c;', ...prologue, ...(this.usesPrimal([...lines, last]) ? [this.primalLoad] : []), ...lines, last];
  }
}
