/** Reads the output scale of every operator of a quantized TFLite model (QUANTIZE / DEQUANTIZE skipped). */
import * as fb from 'flatbuffers';
import { Table } from '../../src/ir/import/fb-table.js';

const QUANTIZE = 114, DEQUANTIZE = 6;

export function tfliteOutputScales(bytes: Uint8Array): { code: number; scale: number; zeroPoint: number }[] {
  const bb = new fb.ByteBuffer(bytes);
  const m = new Table(bb, bb.readInt32(0));
  const codes = m.tables(1).map((c) => Math.max(c.int8(0, 0), c.int32(3, 0)));
  const sub = m.tables(2)[0];
  const tensors = sub.tables(0);
  return sub.tables(3)
    .map((op) => ({ code: codes[op.int32(0, 0)], out: tensors[op.ints(2)![0]] }))
    .filter((o) => o.code !== QUANTIZE && o.code !== DEQUANTIZE)
    .map((o) => {
      const q = o.out.table(4)!;
      return { code: o.code, scale: q.floats(2)![0], zeroPoint: q.longs(3)![0] };
    });
}

/** Every tensor's TFLite quantization: name -> scales and zero points (tensors without parameters left out). */
export function tfliteTensorParams(bytes: Uint8Array): Map<string, { scales: number[]; zeroPoints: number[]; type: number }> {
  const bb = new fb.ByteBuffer(bytes);
  const m = new Table(bb, bb.readInt32(0));
  const out = new Map<string, { scales: number[]; zeroPoints: number[]; type: number }>();
  for (const t of m.tables(2)[0].tables(0)) {
    const q = t.table(4), scales = q?.floats(2);
    if (scales?.length) out.set(t.string(3)!, { scales: Array.from(scales), zeroPoints: (q!.longs(3) ?? []).map(Number), type: t.int8(1, 0) });
  }
  return out;
}

/** Per operator (in file order, QUANTIZE / DEQUANTIZE included): its output tensor's name. */
export function tfliteOpOutputs(bytes: Uint8Array): string[] {
  const bb = new fb.ByteBuffer(bytes);
  const sub = new Table(bb, bb.readInt32(0)).tables(2)[0];
  const tensors = sub.tables(0);
  return sub.tables(3).map((op) => tensors[op.ints(2)![0]].string(3)!);
}
