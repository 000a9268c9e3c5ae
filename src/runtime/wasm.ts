/**
 * The runtime's WebAssembly kernels (wasm/kernels.wat, f64x2 SIMD): compiled once per process
 * from the bytes embedded in wasm/kernels.wasm.ts, instantiated with a memory of their own
 * wherever a caller needs one. Where WebAssembly or its SIMD is missing, `wasmModule()` and
 * `WasmKernels.create()` give null and callers keep their JavaScript loops (they report which
 * ran).
 */
import { KERNELS_WASM_BASE64 } from './wasm/kernels.wasm.ts';

/**
 * The part of the WebAssembly JavaScript API used here (the compiler's `lib` is ES2022, whose
 * declarations do not include it; Node has it as a global).
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly kind?: 'module';
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
const WASM = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The exports of kernels.wat (byte offsets into the instance's memory, and counts). */
export interface KernelExports {
  memory: WasmMemory;
  products(m: number, rowsP: number, colsP: number, v: number, BP: number, o: number): void;
  products_t(m: number, rowsP: number, colsP: number, u: number, o: number): void;
  /** M^T (M v) and M (M^T u), each in one pass over M (matrix.ts opnorm2). */
  gram_rows(m: number, rowsP: number, colsP: number, v: number, o: number): void;
  gram_cols(m: number, rowsP: number, colsP: number, u: number, o: number): void;
  lu_eliminate(a: number, n: number, k: number, inv: number): void;
  lu_eliminate2(a: number, n: number, k: number, inv1: number): void;
  chol_update(a: number, n: number, j: number): void;
  /** composite-cd.ts: a sweep of coordinate descent on a composite quadratic (mode 0 none, 1 l1, 2 box). */
  cd_sweep_composite(cols: number, nP: number, coef: number, h: number, shift: number, c: number, y: number, r: number, mode: number, a: number, b: number, which: number, count: number): number;
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is not available. */
export function wasmModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const bytes = Uint8Array.from(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
      compiled = WASM && WASM.validate(bytes) ? new WASM.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const PAGE = 65536;
/** wasm32 addresses 4 GiB; stay a page below. */
const MAX_BYTES = 2 ** 32 - PAGE;

/** One instance of the kernels with its own memory, grown on demand. */
export class WasmKernels {
  readonly exports: KernelExports;
  private f64: Float64Array;

  private constructor(api: WasmApi, module: WasmModule) {
    this.exports = new api.Instance(module, {}).exports as unknown as KernelExports;
    this.f64 = new Float64Array(this.exports.memory.buffer);
  }

  /** A fresh instance, or null without WebAssembly SIMD. */
  static create(): WasmKernels | null {
    const module = wasmModule();
    return module && WASM ? new WasmKernels(WASM, module) : null;
  }

  /**
   * The memory as f64 entries, at least `entries` long (grown if needed), or null when that
   * exceeds what wasm32 can address. Growing replaces the buffer: take the view again after.
   */
  ensure(entries: number): Float64Array | null {
    const bytes = entries * 8;
    if (bytes > MAX_BYTES) return null;
    const have = this.exports.memory.buffer.byteLength;
    if (bytes > have) {
      try {
        this.exports.memory.grow(Math.ceil((bytes - have) / PAGE));
      } catch {
        return null; // the engine's own limit (RangeError), below wasm32's
      }
      this.f64 = new Float64Array(this.exports.memory.buffer);
    }
    return this.f64;
  }
}

/** x rounded up to a multiple of `to` (the kernels' row and sample blocking). */
export const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * Rows of the row-major rows x cols array `src` into `dst` from entry `at`, each row at
 * stride `stride` (>= cols) with its padding entries set to 0, and rows rows..rowsP (when
 * asked) set to 0: how every kernel here reads a matrix (padded to the SIMD blocking, pads
 * that add nothing, whatever the memory held before).
 */
export function placePadded(dst: Float64Array, at: number, src: Float64Array, rows: number, cols: number, stride: number, rowsP = rows): void {
  dst.fill(0, at + rows * stride, at + rowsP * stride);
  if (stride === cols) {
    dst.set(src.subarray(0, rows * cols), at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = at + r * stride;
    dst.set(src.subarray(r * cols, (r + 1) * cols), o);
    dst.fill(0, o + cols, o + stride);
  }
}

/** Below this order a factorization's copies into WebAssembly memory cost more than its SIMD saves (LU, Cholesky). */
export const SCRATCH_MIN_ORDER = 16;

let shared: WasmKernels | null | undefined;
/**
 * The process's scratch instance, for work that copies in, runs and copies out within one
 * call: LU and Cholesky factorizations, the Gram matrix and the Lanczos steps of opnorm2 and
 * opnorm2Upper (a ResidentMatrix held for the call), a batch's deferred outer products.
 * JavaScript runs one such call at a time, so they can share it. What one call leaves there
 * is garbage to the next: a ResidentMatrix on it must not outlive its call (another user
 * overwrites its matrix, or grows the memory and detaches its view).
 */
export function scratchKernels(): WasmKernels | null {
  if (shared === undefined) shared = WasmKernels.create();
  return shared;
}
