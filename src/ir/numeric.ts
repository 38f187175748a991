/** Number-format conversions used by importers and passes. */

export function float16ToFloat32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** float32 values as little-endian half bytes. */
export function float32ToHalfBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, float32ToFloat16(values[i]), true);
  return out;
}

export function halfBytesToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = float16ToFloat32(dv.getUint16(2 * i, true));
  return out;
}

/** int64 little-endian bytes to int32, saturating (MindSpore's Int64->Int32 pass). */
export function int64BytesToInt32(bytes: Uint8Array): Int32Array {
  const n = bytes.length >> 3;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = clampInt32(Number(dv.getBigInt64(8 * i, true)));
  return out;
}

/** int64 values exactly where they fit in a double (a 16x8 model's bias reaches 2^47). */
export function int64BytesToFloat64(bytes: Uint8Array): Float64Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float64Array.from({ length: bytes.length >> 3 }, (_, i) => Number(dv.getBigInt64(8 * i, true)));
}

export const FLT_MAX = 3.4028234663852886e38;
export const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

export function clampInt32(v: number): number {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

/** Copies bytes into a fresh, aligned ArrayBuffer. */
export function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** float32 -> IEEE half bits, round to nearest even (fp16 model inputs for reference runtimes, --fp16=on). */
export function float32ToFloat16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** A protobuf integer as decoded by protobufjs (number or Long) as a JS number. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  const long = v as { toNumber?: () => number } | null | undefined;
  return long && typeof long.toNumber === 'function' ? long.toNumber() : Number(v);
}
