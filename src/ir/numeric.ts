/** Number-format conversions used by importers and passes. */

export function float16ToFloat32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
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

export function clampInt32(v: number): number {
  return v > 2147483647 ? 2147483647 : v < -2147483648 ? -2147483648 : v;
}

/** Copies bytes into a fresh, aligned ArrayBuffer. */
export function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
