/**
 * Writes small real TFLite models (the TFL3 flatbuffer: Model, OperatorCode, SubGraph, Tensor, Buffer,
 * Operator with its builtin options table) so tests can give the importer one op at a time.
 */
import * as fb from 'flatbuffers';

export type TfType = 'float32' | 'int32' | 'int64' | 'bool' | 'int16' | 'int8' | 'uint8';
const TYPE_CODE: Record<TfType, number> = { float32: 0, int32: 2, uint8: 3, int64: 4, bool: 6, int16: 7, int8: 9 };

export interface TfTensor {
  name: string;
  shape: number[];
  type?: TfType;
  /** Constant contents (a buffer); absent for activations. */
  data?: ArrayLike<number>;
  quant?: { scale: number[]; zeroPoint: number[]; dim?: number };
}

/** One field of an options table: [slot, kind, value]. */
export type TfOption = [number, 'int8' | 'bool' | 'int32' | 'float32', number] | [number, 'ints', number[]];

export interface TfOp {
  /** The BuiltinOperator code (see BUILTIN in the importer), or 32 with `custom`. */
  code: number;
  custom?: string;
  inputs: number[];
  outputs: number[];
  options?: TfOption[];
  /** Raw custom_options bytes (MediaPipe's ops read a C struct from them). */
  customOptions?: Uint8Array;
}

function bytesOf(t: TfTensor): Uint8Array {
  const v = Array.from(t.data!);
  const type = t.type ?? 'float32';
  const arr = type === 'float32' ? Float32Array.from(v) : type === 'int32' ? Int32Array.from(v) : type === 'int64' ? BigInt64Array.from(v.map((x) => BigInt(x)))
    : type === 'int16' ? Int16Array.from(v) : type === 'int8' ? Int8Array.from(v) : Uint8Array.from(v);
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

export function buildTflite(spec: { tensors: TfTensor[]; inputs: number[]; outputs: number[]; ops: TfOp[] }): Uint8Array {
  const b = new fb.Builder(1024);
  const ints = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
    return b.endVector();
  };
  const table = (fields: ((bb: fb.Builder) => void)[], count: number) => {
    b.startObject(count);
    fields.forEach((f) => f(b));
    return b.endObject();
  };
  // Buffers: 0 is the empty sentinel; each constant gets its own.
  const bufferOf = new Map<number, number>();
  const buffers = [table([], 1)];
  spec.tensors.forEach((t, i) => {
    if (!t.data) return;
    const data = bytesOf(t);
    b.startVector(1, data.length, 16);
    for (let k = data.length - 1; k >= 0; k--) b.addInt8(data[k]);
    const vec = b.endVector();
    bufferOf.set(i, buffers.length);
    buffers.push(table([(bb) => bb.addFieldOffset(0, vec, 0)], 1));
  });
  const tensors = spec.tensors.map((t, i) => {
    const name = b.createString(t.name), shape = ints(t.shape);
    let quant = 0;
    if (t.quant) {
      b.startVector(4, t.quant.scale.length, 4);
      for (let k = t.quant.scale.length - 1; k >= 0; k--) b.addFloat32(t.quant.scale[k]);
      const scale = b.endVector();
      b.startVector(8, t.quant.zeroPoint.length, 8);
      for (let k = t.quant.zeroPoint.length - 1; k >= 0; k--) b.addInt64(BigInt(t.quant.zeroPoint[k]));
      const zp = b.endVector();
      quant = table([(bb) => bb.addFieldOffset(2, scale, 0), (bb) => bb.addFieldOffset(3, zp, 0), (bb) => bb.addFieldInt32(6, t.quant!.dim ?? 0, 0)], 7);
    }
    return table([
      (bb) => bb.addFieldOffset(0, shape, 0), (bb) => bb.addFieldInt8(1, TYPE_CODE[t.type ?? 'float32'], 0),
      (bb) => bb.addFieldInt32(2, bufferOf.get(i) ?? 0, 0), (bb) => bb.addFieldOffset(3, name, 0),
      ...(quant ? [(bb: fb.Builder) => bb.addFieldOffset(4, quant, 0)] : []),
    ], 5);
  });
  const codeKeys = [...new Set(spec.ops.map((o) => `${o.code}/${o.custom ?? ''}`))];
  const codes = codeKeys.map((k) => {
    const [code, custom] = k.split('/');
    const c = Number(code), customName = custom ? b.createString(custom) : 0;
    return table([(bb) => bb.addFieldInt8(0, Math.min(c, 127), 0), ...(customName ? [(bb: fb.Builder) => bb.addFieldOffset(1, customName, 0)] : []),
      (bb) => bb.addFieldInt32(2, 1, 1), (bb) => bb.addFieldInt32(3, c, 0)], 4);
  });
  const operators = spec.ops.map((o) => {
    let options = 0;
    if (o.options) {
      const vecs = new Map<number, number>();
      for (const [slot, kind, v] of o.options) if (kind === 'ints') vecs.set(slot, ints(v as number[]));
      b.startObject(Math.max(...o.options.map((x) => x[0])) + 1);
      for (const [slot, kind, v] of o.options) {
        if (kind === 'ints') b.addFieldOffset(slot, vecs.get(slot)!, 0);
        else if (kind === 'int8' || kind === 'bool') b.addFieldInt8(slot, v as number, -1);
        else if (kind === 'int32') b.addFieldInt32(slot, v as number, -1);
        else b.addFieldFloat32(slot, v as number, Number.NaN);
      }
      options = b.endObject();
    }
    const ins = ints(o.inputs), outs = ints(o.outputs);
    let custom = 0;
    if (o.customOptions) {
      b.startVector(1, o.customOptions.length, 1);
      for (let k = o.customOptions.length - 1; k >= 0; k--) b.addInt8(o.customOptions[k]);
      custom = b.endVector();
    }
    return table([
      (bb) => bb.addFieldInt32(0, codeKeys.indexOf(`${o.code}/${o.custom ?? ''}`), -1), (bb) => bb.addFieldOffset(1, ins, 0),
      (bb) => bb.addFieldOffset(2, outs, 0), ...(options ? [(bb: fb.Builder) => bb.addFieldOffset(4, options, 0)] : []),
      ...(custom ? [(bb: fb.Builder) => bb.addFieldOffset(5, custom, 0)] : []),
    ], 9);
  });
  const vecOf = (offsets: number[]) => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
    return b.endVector();
  };
  const tensorsVec = vecOf(tensors), opsVec = vecOf(operators), inVec = ints(spec.inputs), outVec = ints(spec.outputs), subName = b.createString('main');
  const sub = table([(bb) => bb.addFieldOffset(0, tensorsVec, 0), (bb) => bb.addFieldOffset(1, inVec, 0), (bb) => bb.addFieldOffset(2, outVec, 0),
    (bb) => bb.addFieldOffset(3, opsVec, 0), (bb) => bb.addFieldOffset(4, subName, 0)], 5);
  const codesVec = vecOf(codes), subsVec = vecOf([sub]), buffersVec = vecOf(buffers);
  const model = table([(bb) => bb.addFieldInt32(0, 3, 0), (bb) => bb.addFieldOffset(1, codesVec, 0), (bb) => bb.addFieldOffset(2, subsVec, 0),
    (bb) => bb.addFieldOffset(4, buffersVec, 0)], 5);
  b.finish(model, 'TFL3');
  return b.asUint8Array();
}
