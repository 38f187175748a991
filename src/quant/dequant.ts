/**
 * Weight decoding exactly as MindSpore Lite's WeightDecoder: unpack (plain, bit-packed, INDEXING, SPARSE),
 * then x = (q - zp) * scale per layer, or (q - zp) * scale * varCorr + meanCorr per channel along the
 * preferred dim (varCorr outside [0, 10] counts as 1).
 */
import type { Graph, Node, Tensor, QuantParam } from '../ir/graph.js';
import { QuantType } from '../ir/schema/ops.js';
import { UserError, sizeOf } from '../ir/graph.js';
import { bitUnpack, indexingDecode, sparseDecode } from './packing.js';
import { fseDecode } from '../ir/fse.js';
import { preferredDim, channelOf } from './preferred-dim.js';

export const Compress = { NONE: 0, INDEXING: 1, SPARSE: 2, FSE: 3, BITPACKING: 4, FSE_INT: 5 } as const;

/**
 * The zero point SPARSE storage fills skipped elements with, as the runtime's UnSparseTensorData computes it:
 * element j belongs to "channel" j / (elements / channels) of the flat array, whatever the preferred dim is.
 * Writer and reader both use this rule, so a skipped element always decodes to the value it had.
 */
export function sparseZeroPointAt(qp: readonly QuantParam[], count: number): (j: number) => number {
  const perChannel = Math.floor(count / qp.length);
  return (j) => qp[Math.floor(j / perChannel)].zeroPoint;
}

/** The stored integers of a quantized weight, whatever its encoding. */
export function storedIntegers(t: Tensor): Int32Array {
  const n = sizeOf(t.shape);
  const bits = t.quant?.[0]?.numBits ?? 8;
  const bytes = t.raw ?? (t.data ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : undefined);
  if (!bytes) throw new UserError(`tensor ${t.name}: quantized weight without data`);
  if (t.compress === Compress.INDEXING) return indexingDecode(bytes, bits, n);
  if (t.compress === Compress.FSE_INT) return fseDecode(bytes, n, 'int') as Int32Array;
  if (t.compress === Compress.SPARSE) return sparseDecode(bytes, bits, n, sparseZeroPointAt(t.quant!, n));
  if (bits !== 8 && bits !== 16 && t.dtype !== 'int32' && t.quant?.length) return bitUnpack(bytes, bits, n);
  if (t.data) return Int32Array.from(t.data as ArrayLike<number>);
  throw new UserError(`tensor ${t.name}: ${bytes.length} bytes do not hold ${n} ${t.dtype} values`);
}

export function isQuantizedWeight(t: Tensor): boolean {
  return (t.dtype === 'int8' || t.dtype === 'int16' || t.dtype === 'int32') && !!t.quant?.length && !!(t.data || t.raw);
}

export function dequantizeWeight(g: Graph, node: Node, inputIndex: number): Float32Array {
  const t = g.tensors[node.inputs[inputIndex]];
  const qp = t.quant!;
  const perChannel = qp.length > 1;
  const dim = perChannel ? preferredDim(g, node, inputIndex) : 0;
  if (perChannel && qp.length !== t.shape[dim])
    throw new UserError(`tensor ${t.name}: ${qp.length} quant params but dim ${dim} has ${t.shape[dim]} channels`);
  const chan = perChannel ? channelOf(t.shape, dim) : () => 0;
  const q = storedIntegers(t);
  const out = new Float32Array(q.length);
  for (let j = 0; j < q.length; j++) {
    const p = qp[chan(j)];
    let v = (q[j] - p.zeroPoint) * p.scale;
    if (perChannel) {
      const vc = p.varCorr ?? 1;
      v = v * (vc < 0 || vc > 10 ? 1 : vc) + (p.meanCorr ?? 0);
    }
    out[j] = v;
  }
  return out;
}

/** Nodes whose quantized constant inputs the runtime dequantizes before a float kernel. */
export function runsDequantized(node: Node): boolean {
  return node.quantType === QuantType.QUANT_WEIGHT || node.quantType === QuantType.WeightQuant;
}
