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
