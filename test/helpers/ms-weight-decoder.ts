/**
 * An independent reading of MindSpore Lite's runtime weight decoder (src/litert/weight_decoder.{h,cc}),
 * written for the tests from the runtime's rules, not from our reader: bit streams through a bit queue,
 * SPARSE zero points by flat index, per-channel dequantization through GetDataIndex.
 */
import type { QuantParam } from '../../src/ir/graph.js';

export const COMPRESS = { NONE: 0, INDEXING: 1, SPARSE: 2, BITPACKING: 4 } as const;

/** UnPackUtil: words of 8 bits (numBits < 8) or 16 bits little-endian, bits queued LSB first. */
function unpack(bytes: Uint8Array, bits: number, count: number): number[] {
  const wordBits = bits < 8 ? 8 : 16;
  const words = wordBits === 8 ? bytes.length : bytes.length / 2;
  const queue: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < words; i++) {
    const word = wordBits === 8 ? bytes[i] : bytes[2 * i] | (bytes[2 * i + 1] << 8);
    for (let k = 0; k < wordBits; k++) queue.push((word >> k) & 1);
    while (queue.length >= bits && out.length < count) {
      let u = 0;
      for (let k = 0; k < bits; k++) u += queue.shift()! << k;
      out.push(u - 2 ** (bits - 1));
    }
  }
  return out;
}

/** MSB-first bit reader (StringToBitVector). */
function reader(bytes: Uint8Array) {
  let pos = 0;
  return (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++, pos++) v = v * 2 + ((bytes[pos >> 3] >> (7 - (pos & 7))) & 1);
    return v;
  };
}

function uniqueTable(read: (n: number) => number, bits: number): number[] {
  const count = read(bits) || 2 ** bits;
  return Array.from({ length: count }, () => read(bits) - 2 ** (bits - 1));
}

/** The stored integers as the runtime sees them after DecompressTensor. */
export function runtimeIntegers(bytes: Uint8Array, compress: number, bits: number, count: number, quant: QuantParam[]): number[] {
  if (compress === COMPRESS.INDEXING) {
    const read = reader(bytes);
    const uniq = uniqueTable(read, bits);
    const ib = Math.ceil(Math.log2(uniq.length));
    return Array.from({ length: count }, () => uniq[read(ib)]);
  }
  if (compress === COMPRESS.SPARSE) {
    const read = reader(bytes);
    const coorBits = read(8), nz = read(32);
    const uniq = uniqueTable(read, bits);
    const ib = Math.ceil(Math.log2(uniq.length));
    const values = Array.from({ length: nz }, () => uniq[read(ib)]);
    const gaps = Array.from({ length: nz }, () => read(coorBits));
    const perChannel = Math.floor(count / quant.length);
    const out: number[] = [];
    const fill = () => out.push(quant[Math.floor(out.length / perChannel)].zeroPoint);
    values.forEach((v, i) => {
      for (let j = 0; j < gaps[i]; j++) fill();
      out.push(v);
    });
    if (count - out.length > 2 ** coorBits - 1) throw new Error(`sparse data leaves ${count - out.length} trailing elements`);
    while (out.length < count) fill();
    return out;
  }
  if (bits !== 8 && bits !== 16) return unpack(bytes, bits, count);
  return Array.from(bits === 8 ? new Int8Array(bytes.buffer, bytes.byteOffset, count) : new Int16Array(bytes.slice().buffer, 0, count));
}

/** DequantPerChannelData / DequantPerLayerData with GetDataIndex along the preferred dim. */
export function runtimeDequant(q: number[], shape: number[], dim: number, quant: QuantParam[]): Float32Array {
  const out = new Float32Array(q.length);
  if (quant.length === 1) {
    for (let j = 0; j < q.length; j++) out[j] = (q[j] - quant[0].zeroPoint) * quant[0].scale;
    return out;
  }
  const strideB = shape.slice(dim + 1).reduce((a, b) => a * b, 1), strideA = strideB * shape[dim];
  const per = q.length / quant.length;
  quant.forEach((p, c) => {
    const vc = p.varCorr! < 0 || p.varCorr! > 10 ? 1 : p.varCorr!;
    for (let j = 0; j < per; j++) {
      const index = Math.floor(j / strideB) * strideA + c * strideB + (j % strideB);
      out[index] = (q[index] - p.zeroPoint) * p.scale * vc + p.meanCorr!;
    }
  });
  return out;
}
