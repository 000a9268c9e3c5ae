/**
 * Gradient sums over a batch, with the outer products deferred (DESIGN.md "Generated
 * modules", training step). A parameter gradient of a matrix-vector product is an outer
 * product per sample: v_b z_b^T for W in W z. Generated modules add it in place
 * (`addVjpX` calls {@link addProduct}); added sample by sample, that is one pass over the
 * whole h x h block per sample, which at h = 512 costs more than everything else in the
 * backward pass. Inside {@link DeferredProducts.run}, an outer product aimed at the batch's
 * sum is recorded instead (the two vectors, O(h)), and `flush` adds every block's
 * sum_b s_b a_b b_b^T at once, as one blocked matrix product (`BatchProducts`, WebAssembly
 * SIMD): A^T B over the batch.
 */
import { addProduct as addProductNow } from './values/tensor.ts';
import type { Tensor } from './tensor.ts';
import { transpose } from './matrix.ts';
import { BatchProducts } from './products.ts';
import { scratchKernels } from './wasm.ts';

/** The deferral in effect, if any (JavaScript runs one batch at a time per thread). */
let active: DeferredProducts | null = null;

/**
 * out[offset ..] += s a b (matmul's shape conventions): generated modules' in-place product.
 * Deferred when `out` is the target of the running {@link DeferredProducts} and a b is an
 * outer product; applied now otherwise.
 */
export function addProduct(s: number, a: Tensor, b: Tensor, out: Float64Array, offset: number, size: number): void {
  if (active !== null && out === active.target && active.record(s, a, b, offset, size)) return;
  addProductNow(s, a, b, out, offset, size);
}

/** The recorded products of one block: rows of s a (m each) and of b (q each), one per call. */
interface Block {
  offset: number;
  m: number;
  q: number;
  count: number;
  a: Float64Array;
  b: Float64Array;
}

export class DeferredProducts {
  private readonly blocks = new Map<number, Block>();

  /** `target`: the sum the outer products are meant for. */
  constructor(readonly target: Float64Array) {}

  /** Runs `body` with outer products into `target` recorded; `flush` adds them. */
  run<T>(body: () => T): T {
    const previous = active;
    active = this;
    try {
      return body();
    } finally {
      active = previous;
    }
  }

  /** Records s a b^T for the block at `offset` when it is an outer product; false otherwise. */
  record(s: number, a: Tensor, b: Tensor, offset: number, size: number): boolean {
    const sa = a.shape;
    const sb = b.shape;
    // An outer product: a a column ([m] or [m, 1]), b a row ([1, q]).
    if (!(sa.length === 1 || (sa.length === 2 && sa[1] === 1)) || sb.length !== 2 || sb[0] !== 1) return false;
    const m = sa[0];
    const q = sb[1];
    if (m * q !== size) return false;
    let block = this.blocks.get(offset);
    if (block === undefined) {
      block = { offset, m, q, count: 0, a: new Float64Array(8 * m), b: new Float64Array(8 * q) };
      this.blocks.set(offset, block);
    } else if (block.m !== m || block.q !== q) return false;
    if ((block.count + 1) * m > block.a.length) {
      const grow = (x: Float64Array) => {
        const bigger = new Float64Array(2 * x.length);
        bigger.set(x);
        return bigger;
      };
      block.a = grow(block.a);
      block.b = grow(block.b);
    }
    const at = block.count * m;
    for (let i = 0; i < m; i++) block.a[at + i] = s * a.data[i];
    block.b.set(b.data.subarray(0, q), block.count * q);
    block.count++;
    return true;
  }

  /** Adds every recorded product into `target` (sum over calls of s a b^T per block) and forgets them. */
  flush(): void {
    for (const block of this.blocks.values()) {
      const { m, q, count } = block;
      if (count === 0) continue;
      // target[i q + j] += sum_c A[c, i] Bm[c, j]: the m "vectors" A^T (length count) against the
      // q x count matrix Bm^T.
      const At = transpose({ rows: count, cols: m, data: block.a.subarray(0, count * m) }).data;
      const Bt = transpose({ rows: count, cols: q, data: block.b.subarray(0, count * q) }).data;
      const product = new Float64Array(m * q);
      // Used at once: the scratch instance, not a new one per block and step.
      new BatchProducts([{ data: Bt, rows: q, cols: count }], m, 'auto', scratchKernels()).run(0, At, product);
      const { target } = this;
      for (let k = 0, o = block.offset; k < product.length; k++, o++) target[o] += product[k];
    }
    this.blocks.clear();
  }
}
