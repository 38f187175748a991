/** Runtime tensors, as both executors and the passes see them: a shape and a flat typed array in row-major order. */
import { UserError, stridesOf as strides, sizeOf as size } from './graph.js';
import { checkTensorSize } from './validate.js';

export type RTData = Float32Array | Int32Array | Int8Array | Uint8Array | Int16Array;
export interface RT {
  shape: number[];
  data: RTData;
  /** The parameters an int8 value was quantized with at run time (DynamicQuant's output). */
  quant?: { scale: number; zeroPoint: number };
}

/** Element count of a shape (graph.ts's sizeOf). */
export { size };

export { stridesOf as strides } from './graph.js';

/** A float32 tensor of `shape` (zeros unless `data`); refused with one line over the 2 GiB tensor limit. */
export function f32(shape: number[], data?: Float32Array): RT {
  if (!data) checkTensorSize('output', shape);
  return { shape, data: data ?? new Float32Array(size(shape)) };
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Numpy broadcasting of two shapes. */
export function broadcastShape(a: readonly number[], b: readonly number[], where: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new UserError(`${where}: shapes [${a}] and [${b}] cannot be broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` viewed as broadcast to `out` (0 on broadcast dims). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const s = strides(shape);
  const off = out.length - shape.length;
  return out.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]));
}

export function permute(t: RT, perm: number[]): RT {
  const rank = t.shape.length;
  const outShape = perm.map((p) => t.shape[p]);
  const inStr = strides(t.shape);
  const permStr = perm.map((p) => inStr[p]);
  const n = size(outShape);
  const out = new (t.data.constructor as Float32ArrayConstructor)(n) as RTData;
  const idx = new Array(rank).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = t.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += permStr[d];
      if (idx[d] < outShape[d]) break;
      src -= permStr[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return { shape: outShape, data: out };
}
