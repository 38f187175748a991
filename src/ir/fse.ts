/**
 * FSE (finite state entropy) weight storage as MindSpore writes and its runtime reads it
 * (`weightQuantCompressType` FSE = 3 with float centroids, FSE_INT = 5 with integer ones): the quantized
 * integers become symbols (one per distinct value, ascending), frequencies are normalised to a power-of-two
 * table, the symbols are coded last to first into 64-bit chunks, and the buffer is
 *   u16 symbol count, u16 table log, u32 chunk count (last chunk index + 2), u32 frequency per symbol,
 *   zero padding to 8 bytes, f32 (or i32) centroid per symbol, padding to 8, u64 chunks, u64 current chunk,
 *   u8 bit count of the current chunk.
 * Written from the converter's fse_encoder.cc / fse_bit_stream.cc and the runtime's fse_decoder; 64-bit chunk
 * arithmetic in BigInt.
 */
import { UserError } from './graph.js';

const MAX_TABLE_LOG = 16;
const MAX_SYMS = 65534;
const MASK64 = (1n << 64n) - 1n;

/** Index of the highest set bit (FSEBitStream::CountBits). */
const countBits = (x: number) => 31 - Math.clz32(x);

/** The converter's bit stream: bits pushed into the low end of 64-bit chunks, full chunks appended. */
class BitWriter {
  chunks: bigint[] = [];
  current = 0n;
  bitCount = 0;

  push(value: number, bits: number): void {
    this.bitCount += bits;
    if (this.bitCount <= 64) {
      this.current = ((this.current << BigInt(bits)) | BigInt(value & ((1 << bits) - 1))) & MASK64;
      if (this.bitCount === 64) {
        this.chunks.push(this.current);
        this.current = 0n;
        this.bitCount = 0;
      }
    } else {
      const left = this.bitCount - 64, right = bits - left;
      this.current = ((this.current << BigInt(right)) | BigInt((value >>> left) & ((1 << right) - 1))) & MASK64;
      this.chunks.push(this.current);
      this.current = BigInt(value & ((1 << left) - 1));
      this.bitCount = left;
    }
  }

  empty(): void {
    this.chunks = [];
    this.current = 0n;
    this.bitCount = 0;
  }

  flush(): void {
    this.current = (this.current << BigInt(64 - this.bitCount)) & MASK64;
  }
}

/** The runtime's reader: pops from the top of the current chunk, walking the chunks back to front. */
class BitReader {
  constructor(private chunks: bigint[], private index: number, private current: bigint, private bitCount: number) {}

  get remaining(): boolean {
    return this.index >= 0 || this.bitCount > 0;
  }

  pop(bits: number): number {
    let right = this.bitCount >= 64 ? this.current : this.current >> BigInt(64 - this.bitCount);
    const result = Number(right & BigInt((2 ** bits - 1) >>> 0));
    this.bitCount -= bits;
    if (this.bitCount > 0) return result;
    if (this.bitCount === 0) {
      if (this.index > -1) {
        this.bitCount = 64;
        this.current = this.chunk(this.index--);
      }
      return result;
    }
    // The value straddles two chunks: the older chunk's low bits join above.
    this.bitCount += bits;
    this.current = this.chunk(this.index--);
    right |= (this.current & BigInt((2 ** (bits - this.bitCount) - 1) >>> 0)) << BigInt(this.bitCount);
    this.bitCount = 64 - (bits - this.bitCount);
    return Number(right & MASK64);
  }

  private chunk(i: number): bigint {
    if (i < 0 || i >= this.chunks.length) throw new UserError('FSE weight data: the bit stream ends early');
    return this.chunks[i];
  }
}

/** Symbols spread over the table as both coder and decoder place them; throws unless the spread closes. */
function spreadSymbols(frequency: ArrayLike<number>, tableLog: number): Uint16Array {
  const size = 1 << tableLog, mask = size - 1, step = (size >> 1) + (size >> 3) + 3;
  const table = new Uint16Array(size);
  let pos = 0;
  for (let sym = 0; sym < frequency.length; sym++)
    for (let i = 0; i < frequency[sym]; i++) {
      table[pos] = sym;
      pos = (pos + step) & mask;
    }
  if (pos !== 0) throw new UserError('FSE weight data: the symbol frequencies do not fill the table');
  return table;
}

/** NormalizeFrequency: scale the counts to 2^tableLog in float arithmetic, fixing the sum on the largest. */
function normalize(counts: number[]): { frequency: Uint32Array; tableLog: number } {
  const tableLog = Math.min(MAX_TABLE_LOG, countBits(counts.length) + 1 + 3);
  const target = 1 << tableLog;
  const total = counts.reduce((a, b) => a + b, 0);
  const f = Math.fround, rat = f(target / total);
  const frequency = Uint32Array.from(counts, (c) => Math.max(1, Math.floor(f(0.5 + f(rat * c)))));
  let sum = frequency.reduce((a, b) => a + b, 0);
  const largest = () => frequency.indexOf(Math.max(...frequency));
  while (sum > target) {
    frequency[largest()]--;
    sum--;
  }
  if (sum < target) frequency[largest()] += target - sum;
  return { frequency, tableLog };
}

export type FseCentroids = { kind: 'float'; of: (value: number) => number } | { kind: 'int' };

/** Encodes integer weights (int8 / int16 values) as MindSpore's FSE buffer. */
export function fseEncode(values: ArrayLike<number>, centroids: FseCentroids): Uint8Array {
  if (!values.length) throw new UserError('FSE: nothing to encode');
  let qmin = Infinity, qmax = -Infinity;
  for (let i = 0; i < values.length; i++) {
    qmin = Math.min(qmin, values[i]);
    qmax = Math.max(qmax, values[i]);
  }
  const counts = new Array<number>(qmax - qmin + 1).fill(0);
  for (let i = 0; i < values.length; i++) counts[values[i] - qmin]++;
  const symbolOf = new Int32Array(counts.length).fill(-1);
  const used: number[] = [], levels: number[] = [];
  counts.forEach((c, i) => {
    if (!c) return;
    symbolOf[i] = used.length;
    used.push(c);
    levels.push(i + qmin);
  });
  if (used.length > MAX_SYMS) throw new UserError(`FSE: ${used.length} distinct values, more than ${MAX_SYMS}`);
  // From 4,096 symbols the table log reaches 16, where MindSpore's uint16 coding table and int16 state deltas
  // overflow: such a tensor is not FSE-coded.
  if (countBits(used.length) + 4 >= MAX_TABLE_LOG) throw new UserError(`FSE: ${used.length} distinct values need a 2^16 table, which the coder cannot address`);
  const { frequency, tableLog } = normalize(used);
  const size = 1 << tableLog;

  // FSECreateStatesForEncoding
  const spread = spreadSymbols(frequency, tableLog);
  const cumulative = new Uint32Array(frequency.length + 2);
  for (let i = 1; i <= frequency.length; i++) cumulative[i] = cumulative[i - 1] + frequency[i - 1];
  const coding = new Uint16Array(size);
  for (let i = 0; i < size; i++) coding[cumulative[spread[i]]++] = size + i;
  const deltaBits = new Uint32Array(frequency.length), deltaState = new Int16Array(frequency.length);
  let total = 0;
  frequency.forEach((fr, sym) => {
    if (fr >= 2) {
      const maxBitsOut = tableLog - countBits(fr - 1);
      deltaBits[sym] = ((maxBitsOut << 16) - (fr << maxBitsOut)) >>> 0;
      deltaState[sym] = total - fr;
      total += fr;
    } else {
      deltaBits[sym] = ((tableLog << 16) - (1 << tableLog)) >>> 0;
      deltaState[sym] = total - 1;
      total++;
    }
  });

  const bs = new BitWriter();
  const encodeSymbol = (sym: number, state: number) => {
    const bitsOut = (((state + deltaBits[sym]) >>> 0) >>> 16) & 0xff;
    bs.push(state, bitsOut);
    return coding[(state >> bitsOut) + deltaState[sym]];
  };
  // The first symbol only finds a valid start state; its bits are discarded.
  let state = encodeSymbol(symbolOf[values[0] - qmin], size);
  bs.empty();
  for (let i = 0; i < values.length; i++) state = encodeSymbol(symbolOf[values[i] - qmin], state);
  bs.push(state - size, tableLog);
  bs.flush();

  const align8 = (n: number) => (n + 7) & ~7;
  const afterFreq = align8(8 + 4 * frequency.length), afterCentroids = align8(afterFreq + 4 * frequency.length);
  const out = new Uint8Array(afterCentroids + 8 * (bs.chunks.length + 1) + 1);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, frequency.length, true);
  dv.setUint16(2, tableLog, true);
  dv.setUint32(4, bs.chunks.length + 1, true);
  frequency.forEach((fr, i) => dv.setUint32(8 + 4 * i, fr, true));
  levels.forEach((v, i) => (centroids.kind === 'float' ? dv.setFloat32(afterFreq + 4 * i, centroids.of(v), true) : dv.setInt32(afterFreq + 4 * i, v, true)));
  bs.chunks.forEach((c, i) => dv.setBigUint64(afterCentroids + 8 * i, c, true));
  dv.setBigUint64(afterCentroids + 8 * bs.chunks.length, bs.current, true);
  dv.setUint8(out.length - 1, bs.bitCount);
  return out;
}

/** Decodes `count` values of an FSE buffer: the float centroids (FSE) or the integers (FSE_INT). */
export function fseDecode(bytes: Uint8Array, count: number, kind: 'float' | 'int'): Float32Array | Int32Array {
  const bad = (what: string) => new UserError(`FSE weight data: ${what}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number) => {
    if (end > bytes.length) throw bad(`${bytes.length} bytes end before offset ${end}`);
  };
  need(8);
  const symbols = dv.getUint16(0, true), tableLog = dv.getUint16(2, true), chunkCount = dv.getUint32(4, true);
  if (!symbols || tableLog > MAX_TABLE_LOG || tableLog < 1) throw bad(`${symbols} symbols, table log ${tableLog}`);
  const afterFreq = (8 + 4 * symbols + 7) & ~7, afterCentroids = (afterFreq + 4 * symbols + 7) & ~7;
  const lastChunk = chunkCount - 2;
  if (lastChunk < -1) throw bad(`chunk count ${chunkCount}`);
  need(afterCentroids + 8 * (lastChunk + 2) + 1);
  const frequency = Array.from({ length: symbols }, (_, i) => dv.getUint32(8 + 4 * i, true));
  if (frequency.reduce((a, b) => a + b, 0) !== 1 << tableLog) throw bad('the frequencies do not sum to the table size');
  const centroid = Array.from({ length: symbols }, (_, i) => (kind === 'float' ? dv.getFloat32(afterFreq + 4 * i, true) : dv.getInt32(afterFreq + 4 * i, true)));
  const chunks = Array.from({ length: lastChunk + 1 }, (_, i) => dv.getBigUint64(afterCentroids + 8 * i, true));
  const current = dv.getBigUint64(afterCentroids + 8 * (lastChunk + 1), true);
  const bitCount = dv.getUint8(afterCentroids + 8 * (lastChunk + 2));

  // FSECreateStatesForDecoding
  const size = 1 << tableLog;
  const spread = spreadSymbols(frequency, tableLog);
  const next = frequency.slice();
  const bits = new Uint8Array(size), baseline = new Uint16Array(size);
  for (let i = 0; i < size; i++) {
    const x = next[spread[i]]++;
    bits[i] = tableLog - countBits(x);
    baseline[i] = ((x << bits[i]) - size) & 0xffff;
  }
  const out = kind === 'float' ? new Float32Array(count) : new Int32Array(count);
  const bs = new BitReader(chunks, lastChunk, current, bitCount);
  let state = bs.pop(tableLog), n = count;
  while (bs.remaining || bits[state] === 0) {
    if (n === 0) return out;
    out[--n] = centroid[spread[state]];
    state = baseline[state] + bs.pop(bits[state]);
    if (state >= size) throw bad('a state outside the table');
  }
  if (n !== 0) throw bad(`${n} of ${count} values missing`);
  return out;
}
