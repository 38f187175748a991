/**
 * Weight storage encodings of MindSpore Lite (weight_decoder): BITPACKING (LSB-first into uint8 words for
 * b < 8, little-endian uint16 words for 9..15), INDEXING and SPARSE (MSB-first bit streams of unique values
 * and indices). Encoders and decoders are exact inverses; sizes follow the converter's formulas.
 */

/** Packs b-bit signed values as unsigned v + 2^(b-1), LSB-first, into 8-bit (b < 8) or 16-bit LE words. */
export function bitPack(values: ArrayLike<number>, bits: number): Uint8Array {
  const word = bits < 8 ? 8 : 16;
  const totalBits = values.length * bits;
  const words = Math.ceil(totalBits / word);
  const out = new Uint8Array(words * (word / 8));
  const offset = 2 ** (bits - 1);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const u = values[i] + offset;
    for (let j = 0; j < bits; j++, k++) {
      if ((u >> j) & 1) {
        const w = Math.floor(k / word), bit = k % word;
        // word w occupies bytes [w*word/8, ...) little-endian
        out[w * (word / 8) + (bit >> 3)] |= 1 << (bit & 7);
      }
    }
  }
  return out;
}

export function bitUnpack(bytes: Uint8Array, bits: number, count: number): Int32Array {
  const word = bits < 8 ? 8 : 16;
  const out = new Int32Array(count);
  const offset = 2 ** (bits - 1);
  let k = 0;
  for (let i = 0; i < count; i++) {
    let u = 0;
    for (let j = 0; j < bits; j++, k++) {
      const w = Math.floor(k / word), bit = k % word;
      if ((bytes[w * (word / 8) + (bit >> 3)] >> (bit & 7)) & 1) u |= 1 << j;
    }
    out[i] = u - offset;
  }
  return out;
}

/** MSB-first bit stream writer/reader used by INDEXING and SPARSE. */
class BitWriter {
  private bits: number[] = [];
  put(value: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(value / 2 ** i) % 2);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => {
      if (b) out[i >> 3] |= 0x80 >> (i & 7);
    });
    return out;
  }
}

class BitReader {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}
  get(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++, this.pos++) {
      const byte = this.data[this.pos >> 3];
      if (byte === undefined) throw new RangeError('compressed weight stream ends early');
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
    }
    return v;
  }
}

const log2ceil = (u: number) => (u <= 1 ? 0 : Math.ceil(Math.log2(u)));

function uniques(values: ArrayLike<number>): number[] {
  return [...new Set(Array.from(values))].sort((a, b) => a - b);
}

export function indexingSizeBits(values: ArrayLike<number>, bits: number): number {
  const u = uniques(values).length;
  return bits + bits * u + log2ceil(u) * values.length;
}

export function indexingEncode(values: ArrayLike<number>, bits: number): Uint8Array {
  const uniq = uniques(values);
  const index = new Map(uniq.map((v, i) => [v, i]));
  const w = new BitWriter();
  const offset = 2 ** (bits - 1);
  w.put(uniq.length === 2 ** bits ? 0 : uniq.length, bits);
  for (const v of uniq) w.put(v + offset, bits);
  const ib = log2ceil(uniq.length);
  for (let i = 0; i < values.length; i++) w.put(index.get(values[i])!, ib);
  return w.bytes();
}

export function indexingDecode(data: Uint8Array, bits: number, count: number): Int32Array {
  const r = new BitReader(data);
  const offset = 2 ** (bits - 1);
  const u = r.get(bits) || 2 ** bits;
  const uniq = Array.from({ length: u }, () => r.get(bits) - offset);
  const ib = log2ceil(u);
  return Int32Array.from({ length: count }, () => uniq[r.get(ib)]);
}

/** Per-element zero point for SPARSE: channel = element / (N / channels). */
type ZeroPointAt = (i: number) => number;

function sparsePairs(values: ArrayLike<number>, zpAt: ZeroPointAt, coorBits: number): { gaps: number[]; vals: number[] } {
  const gaps: number[] = [], vals: number[] = [];
  const maxGap = 2 ** coorBits - 1;
  let gap = 0;
  for (let i = 0; i < values.length; i++) {
    // An element equal to its zero point is skipped, unless the gap counter is full.
    if (values[i] === zpAt(i) && gap < maxGap) gap++;
    else {
      gaps.push(gap);
      vals.push(values[i]);
      gap = 0;
    }
  }
  return { gaps, vals };
}

export function sparseBest(values: ArrayLike<number>, bits: number, zpAt: ZeroPointAt): { coorBits: number; sizeBits: number } {
  let best = { coorBits: 2, sizeBits: Infinity };
  for (let cb = 2; cb <= 10; cb++) {
    const { vals } = sparsePairs(values, zpAt, cb);
    const u = uniques(vals).length;
    const size = 8 + 32 + bits + bits * u + log2ceil(u) * vals.length + vals.length * cb;
    if (size < best.sizeBits) best = { coorBits: cb, sizeBits: size };
  }
  return best;
}

export function sparseEncode(values: ArrayLike<number>, bits: number, zpAt: ZeroPointAt, coorBits: number): Uint8Array {
  const { gaps, vals } = sparsePairs(values, zpAt, coorBits);
  const uniq = uniques(vals);
  const index = new Map(uniq.map((v, i) => [v, i]));
  const offset = 2 ** (bits - 1);
  const w = new BitWriter();
  w.put(coorBits, 8);
  w.put(vals.length, 32);
  w.put(uniq.length === 2 ** bits ? 0 : uniq.length, bits);
  for (const v of uniq) w.put(v + offset, bits);
  const ib = log2ceil(uniq.length);
  for (const v of vals) w.put(index.get(v)!, ib);
  for (const g of gaps) w.put(g, coorBits);
  return w.bytes();
}

export function sparseDecode(data: Uint8Array, bits: number, count: number, zpAt: ZeroPointAt): Int32Array {
  const r = new BitReader(data);
  const coorBits = r.get(8);
  const nz = r.get(32);
  const offset = 2 ** (bits - 1);
  const u = r.get(bits) || 2 ** bits;
  const uniq = Array.from({ length: u }, () => r.get(bits) - offset);
  const ib = log2ceil(u);
  const vals = Array.from({ length: nz }, () => uniq[r.get(ib)]);
  const gaps = Array.from({ length: nz }, () => r.get(coorBits));
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < nz; i++) {
    for (let j = 0; j < gaps[i]; j++, k++) out[k] = zpAt(k);
    out[k++] = vals[i];
  }
  for (; k < count; k++) out[k] = zpAt(k);
  return out;
}
