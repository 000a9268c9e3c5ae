/**
 * The products M v_b of fixed matrices with a batch of vectors: the matrix-vector work of a
 * batched fixed-point map (BatchMapF64), a batch's deferred outer products and the Gram
 * matrices of opnorm2Upper, in f64; and one matrix resident for many single products
 * (`ResidentMatrix`). Two engines compute the same sums, up to rounding (the JavaScript pairs
 * of samples sum in one chain per entry, the SIMD lanes in two):
 *
 * - 'wasm-simd': the WebAssembly kernel `products` of wasm/kernels.wat (f64x2 SIMD, 4 rows by 2
 *   samples per pass). The matrices live in its memory, copied in once, zero-padded to the
 *   blocking; each call copies the batch's vectors in and the products out.
 * - 'js': `productsNT` (below), register-blocked JavaScript, wherever WebAssembly SIMD
 *   is missing.
 *
 * The engine that ran is reported (`engine`), as the batched solvers report theirs.
 */
import { dotAt, matvecAt } from './dot.ts';
import { SolverError } from './status.ts';
import { placePadded, roundUp, WasmKernels } from './wasm.ts';

export type ProductEngine = 'wasm-simd' | 'js';

/** A row-major rows x cols matrix. */
export interface ProductMatrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

interface Placed extends ProductMatrix {
  /** Offsets in f64 entries of the padded matrix in wasm memory; padded sizes. */
  at: number;
  rowsP: number;
  colsP: number;
}

/** The products of a fixed list of matrices with batches of B vectors. */
export class BatchProducts {
  readonly engine: ProductEngine;
  private readonly matrices: Placed[];
  private readonly kernel: ((m: number, rowsP: number, colsP: number, v: number, BP: number, o: number) => void) | null = null;
  private readonly memory: Float64Array | null = null;
  private readonly vAt: number = 0;
  private readonly oAt: number = 0;
  private readonly BP: number;

  /**
   * `kernels`: the instance to hold the matrices (default a fresh one, for a map kept across
   * calls). The process's scratch instance (wasm.ts `scratchKernels`) serves a product used
   * at once, before the scratch instance's next user.
   */
  constructor(
    matrices: readonly ProductMatrix[],
    readonly B: number,
    engine: ProductEngine | 'auto' = 'auto',
    kernels?: WasmKernels | null,
  ) {
    for (const m of matrices) {
      if (m.data.length !== m.rows * m.cols) throw new SolverError('dimension-mismatch', `BatchProducts: a ${m.rows} x ${m.cols} matrix with ${m.data.length} entries`);
    }
    this.BP = roundUp(B, 2);
    let at = 0;
    this.matrices = matrices.map((m) => {
      const rowsP = roundUp(m.rows, 4);
      const colsP = roundUp(m.cols, 2);
      const placed = { ...m, at, rowsP, colsP };
      at += rowsP * colsP;
      return placed;
    });
    const wasm = engine === 'js' ? null : (kernels ?? WasmKernels.create());
    this.vAt = at;
    this.oAt = at + this.BP * Math.max(2, ...this.matrices.map((m) => m.colsP));
    const memory = wasm?.ensure(this.oAt + this.BP * Math.max(4, ...this.matrices.map((m) => m.rowsP))) ?? null;
    if (wasm === null || memory === null) {
      if (engine === 'wasm-simd') throw new SolverError('invalid-option', `BatchProducts: ${wasm ? 'the matrices exceed WebAssembly\'s 4 GiB memory' : 'WebAssembly SIMD is not available here'}`);
      this.engine = 'js';
      return;
    }
    this.engine = 'wasm-simd';
    this.kernel = wasm.exports.products;
    this.memory = memory;
    // The matrices, once, their padding columns zeroed (padding rows and samples give products
    // that are never read, whatever the memory held).
    for (const m of this.matrices) placePadded(memory, m.at, m.data, m.rows, m.cols, m.colsP);
  }

  /** out[b rows + r] = (M_j v_b)_r, with v_b = V[b cols .. (b + 1) cols), for matrix j. */
  run(j: number, V: Float64Array, out: Float64Array): void {
    const m = this.matrices[j];
    const { B } = this;
    if (V.length < B * m.cols || out.length < B * m.rows) throw new SolverError('dimension-mismatch', `BatchProducts.run: ${V.length} and ${out.length} entries for ${B} products with a ${m.rows} x ${m.cols} matrix`);
    const mem = this.memory;
    if (mem === null || this.kernel === null) {
      productsNT(m.data, m.rows, m.cols, V, B, out);
      return;
    }
    const { vAt, oAt } = this;
    // Padding cleared on every call: it must not carry a NaN left by another matrix's vectors.
    placePadded(mem, vAt, V, B, m.cols, m.colsP);
    this.kernel(8 * m.at, m.rowsP, m.colsP, 8 * vAt, this.BP, 8 * oAt);
    if (m.rowsP === m.rows) out.set(mem.subarray(oAt, oAt + B * m.rows));
    else for (let b = 0; b < B; b++) out.set(mem.subarray(oAt + b * m.rowsP, oAt + b * m.rowsP + m.rows), b * m.rows);
  }
}

/**
 * One matrix kept in WebAssembly memory (copied in once, zero-padded), for many products
 * with single vectors, M v, M^T u and M^T (M v): the iterations of `opnorm2` and the immutable matrices
 * of resident.ts (whose M v are the sums of dot.ts `matvecAt`, bit for bit), where JavaScript's scalar
 * loops run at about 1 GFLOP/s. `create` gives null without WebAssembly SIMD (or when M is
 * too large for its memory): callers keep their JavaScript loops.
 */
export class ResidentMatrix {
  private constructor(
    private readonly wasm: WasmKernels,
    private readonly memory: Float64Array,
    readonly rows: number,
    readonly cols: number,
    private readonly rowsP: number,
    private readonly colsP: number,
    /** Offsets (f64 entries) of M, the two vector slots (B = 2) and the product. */
    private readonly vAt: number,
    private readonly oAt: number,
  ) {}

  /**
   * `kernels`: the instance to hold M (default a fresh one). With the process's scratch
   * instance (wasm.ts `scratchKernels`), whose memory stays grown, a second matrix of the
   * same size costs no new pages; the matrix is then valid only until the scratch instance's
   * next user (an LU, another resident matrix) writes over it.
   */
  static create(M: ProductMatrix, kernels: WasmKernels | null = WasmKernels.create()): ResidentMatrix | null {
    if (kernels === null) return null;
    const rowsP = roundUp(M.rows, 4);
    const colsP = roundUp(M.cols, 2);
    const vAt = rowsP * colsP;
    const oAt = vAt + 2 * Math.max(rowsP, colsP);
    const memory = kernels.ensure(oAt + 2 * Math.max(rowsP, colsP));
    if (memory === null) return null;
    // Padding rows zeroed too: the scratch instance may hold anything there.
    placePadded(memory, 0, M.data, M.rows, M.cols, colsP, rowsP);
    return new ResidentMatrix(kernels, memory, M.rows, M.cols, rowsP, colsP, vAt, oAt);
  }

  /**
   * out = M^T (M v), in one pass over M from memory (kernels.wat `gram_rows`: each group of
   * four rows is used for its dot products with v and for its share of M^T (M v) while in
   * cache). At 1000 x 5000 it took 2.1 to 2.6 ms where mul then mulT took 3.0 to 3.6
   * (measured, scratch/opnorm-kern.ts): the two passes were bound by memory, not arithmetic.
   * The sums are those of mulT(mul(v)), in the same order.
   */
  gram(v: Float64Array, out: Float64Array = new Float64Array(this.cols)): Float64Array {
    const { memory, vAt, oAt, colsP, rowsP, cols } = this;
    // v's padding zeroed: the padding columns of M are 0, but 0 times a stale NaN is not.
    memory.fill(0, vAt + cols, vAt + colsP);
    memory.set(v.subarray(0, cols), vAt);
    this.wasm.exports.gram_rows(0, rowsP, colsP, 8 * vAt, 8 * oAt);
    out.set(memory.subarray(oAt, oAt + cols));
    return out;
  }

  /** out = M v. */
  mul(v: Float64Array, out: Float64Array = new Float64Array(this.rows)): Float64Array {
    const { memory, vAt, oAt, colsP, rowsP } = this;
    // Two vector slots (the kernel pairs samples): v and zeros.
    memory.fill(0, vAt, vAt + 2 * colsP);
    memory.set(v.subarray(0, this.cols), vAt);
    this.wasm.exports.products(0, rowsP, colsP, 8 * vAt, 2, 8 * oAt);
    out.set(memory.subarray(oAt, oAt + this.rows));
    return out;
  }

  /** out = M^T u. */
  mulT(u: Float64Array, out: Float64Array = new Float64Array(this.cols)): Float64Array {
    const { memory, vAt, oAt, colsP, rowsP } = this;
    memory.fill(0, vAt, vAt + rowsP);
    memory.set(u.subarray(0, this.rows), vAt);
    this.wasm.exports.products_t(0, rowsP, colsP, 8 * vAt, 8 * oAt);
    out.set(memory.subarray(oAt, oAt + this.cols));
    return out;
  }
}

/**
 * out[b rows + r] = sum_k M[r cols + k] V[b cols + k]: the products M v_b of one row-major
 * rows x cols matrix with B vectors stored one after the other (out = V M^T, sample-major).
 * Register-blocked, 2 samples by 4 rows per pass over k: each M entry loaded feeds two
 * products and each v entry four, so it runs about twice as fast as one dot product per
 * entry (4.0 against 2.0 GFLOP/s for 64 samples at h = 128 in a microbenchmark on this
 * project's machine), and M is read once per pair of samples instead of once per sample.
 */
function productsNT(M: Float64Array, rows: number, cols: number, V: Float64Array, B: number, out: Float64Array): void {
  let b = 0;
  for (; b + 1 < B; b += 2) pairRows(M, rows, cols, V, b * cols, (b + 1) * cols, out, b * rows, (b + 1) * rows);
  if (b < B) matvecAt(M, rows, cols, V, b * cols, out, b * rows);
}

/** Rows of M times two vectors (at va, vb), into out at oa and ob. */
function pairRows(M: Float64Array, rows: number, cols: number, V: Float64Array, va: number, vb: number, out: Float64Array, oa: number, ob: number): void {
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const m0 = r * cols;
    const m1 = m0 + cols;
    const m2 = m1 + cols;
    const m3 = m2 + cols;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    let c3 = 0;
    for (let k = 0; k < cols; k++) {
      const x = V[va + k];
      const z = V[vb + k];
      const w0 = M[m0 + k];
      const w1 = M[m1 + k];
      const w2 = M[m2 + k];
      const w3 = M[m3 + k];
      a0 += w0 * x;
      a1 += w1 * x;
      a2 += w2 * x;
      a3 += w3 * x;
      c0 += w0 * z;
      c1 += w1 * z;
      c2 += w2 * z;
      c3 += w3 * z;
    }
    out[oa + r] = a0;
    out[oa + r + 1] = a1;
    out[oa + r + 2] = a2;
    out[oa + r + 3] = a3;
    out[ob + r] = c0;
    out[ob + r + 1] = c1;
    out[ob + r + 2] = c2;
    out[ob + r + 3] = c3;
  }
  for (; r < rows; r++) {
    out[oa + r] = dotAt(M, r * cols, V, va, cols);
    out[ob + r] = dotAt(M, r * cols, V, vb, cols);
  }
}
