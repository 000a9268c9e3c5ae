/** A dense f64 array value: row-major data with a concrete shape (the runtime's one value type). */
export interface Tensor {
  shape: number[];
  data: Float64Array;
}
