/**
 * The products M v_b of fixed matrices with a batch of vectors: the matrix-vector work of a
 * batched fixed-point map (BatchMapF64), in f64. Two engines compute the same sums:
 *
 * - 'wasm-simd': the WebAssembly kernel `products` of wasm/kernels.wat (f64x2 SIMD, 4 rows by 2
 *   samples per pass). The matrices live in its memory, copied in once, zero-padded to the
 *   blocking; each call copies the batch's vectors in and the products out.
 * - 'js': `productsNT` (matrix.ts), register-blocked JavaScript, wherever WebAssembly SIMD
 *   is missing.
 *
 * The engine that ran is reported (`engine`), as the batched solvers report theirs.
 */
import { productsNT } from './matrix.ts';
import { SolverError } from './status.ts';
import { WasmKernels } from './wasm.ts';

export type ProductEngine = 'wasm-simd' | 'js';

/** A row-major rows x cols matrix. */
export interface ProductMatrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

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

  constructor(
    matrices: readonly ProductMatrix[],
    readonly B: number,
    engine: ProductEngine | 'auto' = 'auto',
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
    const wasm = engine === 'js' ? null : WasmKernels.create();
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
    // The matrices, once, zero-padded (fresh memory is zero).
    for (const m of this.matrices) {
      if (m.colsP === m.cols) memory.set(m.data, m.at);
      else for (let r = 0; r < m.rows; r++) memory.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), m.at + r * m.colsP);
    }
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
    if (m.colsP === m.cols) mem.set(V.subarray(0, B * m.cols), vAt);
    else {
      for (let b = 0; b < B; b++) {
        mem.set(V.subarray(b * m.cols, (b + 1) * m.cols), vAt + b * m.colsP);
        mem[vAt + b * m.colsP + m.cols] = 0; // the padding column must not carry a NaN from elsewhere
      }
    }
    this.kernel(8 * m.at, m.rowsP, m.colsP, 8 * vAt, this.BP, 8 * oAt);
    if (m.rowsP === m.rows) out.set(mem.subarray(oAt, oAt + B * m.rows));
    else for (let b = 0; b < B; b++) out.set(mem.subarray(oAt + b * m.rowsP, oAt + b * m.rowsP + m.rows), b * m.rows);
  }
}
