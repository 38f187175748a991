/**
 * The int8 executor's convolutions and FullConnection / MatMul on the WebAssembly kernels: int8 minus zero
 * point as int16, exact int32 accumulation with i32x4.dot_i16x8_s, then the runtime's Q31 requantization —
 * bit-exact with the TypeScript kernels of ../int8.ts (the reference). Undefined when the kernels are not
 * loaded, or for a depthwise convolution (the TypeScript one is cheap enough).
 */
import type { ConvGeometry } from '../../ir/op-params.js';
import { isDepthwise } from '../../ir/op-params.js';
import type { QuantizedMultiplier } from '../../quant/fixed-point.js';
import { wasmKernels, WasmKernels } from './index.js';
import { ranges } from './conv.js';

/** How int32 sums become int8: per-channel multipliers, the output zero point, the clamp range. */
export interface Requant {
  mults: QuantizedMultiplier[];
  zeroPoint: number;
  lo: number;
  hi: number;
}

/** int8 data minus its zero point(s) (one number, or one per element), as int16. */
export function centeredI16(data: Int8Array, zp: number | ((i: number) => number)): Int16Array {
  const out = new Int16Array(data.length);
  if (typeof zp === 'number') for (let i = 0; i < data.length; i++) out[i] = data[i] - zp;
  else for (let i = 0; i < data.length; i++) out[i] = data[i] - zp(i);
  return out;
}

/** Centered int16 weights [N, K] packed for gemmI16, once per weight array (and slice). */
function packedI16(w: WasmKernels, owner: object, key: string, weights: () => Int16Array, N: number, K: number): number {
  const bytes = Math.ceil(N / 8) * 8 * ((K + 1) & ~1) * 2;
  return w.cached(owner, `i16${key}/${N}x${K}`, bytes / 4, (p) => w.k.packWeightsI16(w.putBytes(weights()), N, K, p));
}

function requantize(w: WasmKernels, acc: number, rows: number, N: number, bias: Int32Array | undefined, r: Requant): Int8Array {
  const ints = (f: (m: QuantizedMultiplier) => number) => w.putBytes(Int32Array.from(r.mults, f));
  const [mult, leftPow, rshift, rmask] = [ints((m) => m.multiplier), ints((m) => 1 << m.leftShift), ints((m) => m.rightShift), ints((m) => 2 ** m.rightShift - 1)];
  const biasPtr = bias ? w.putBytes(bias) : 0, out = w.alloc(Math.ceil((rows * N) / 4));
  w.parallel('requantize', ranges(0, rows, threadsFor(w, rows * N * 16), 1).map(([r0, r1]) =>
    [acc + 4 * r0 * N, r1 - r0, N, biasPtr, mult, leftPow, rshift, rmask, r.zeroPoint, r.lo, r.hi, out + r0 * N]));
  const res = w.readInt8(out, rows * N);
  w.release();
  return res;
}

/** The requantization kernel alone, on int32 sums [rows, N] (tests hold it to the TypeScript definition). */
export function wasmRequantize(sums: Int32Array, rows: number, N: number, bias: Int32Array | undefined, r: Requant): Int8Array | undefined {
  const w = wasmKernels();
  return w && requantize(w, w.putBytes(sums), rows, N, bias, r);
}

const threadsFor = (w: WasmKernels, work: number) => (work < 4e5 ? 1 : w.threads);

export function wasmConvInt8(g: ConvGeometry, x: Int8Array, xZp: number, weights: Int8Array, wZp: (i: number) => number,
  bias: Int32Array | undefined, r: Requant): Int8Array | undefined {
  const w = wasmKernels();
  if (!w || isDepthwise(g)) return undefined;
  const icg = g.ic / g.group, ocg = g.oc / g.group, K = g.kh * g.kw * icg, M = g.oh * g.ow;
  const centeredW = () => centeredI16(weights, wZp);
  const packs = Array.from({ length: g.group }, (_, gi) => packedI16(w, weights, `g${gi}`, () => centeredW().subarray(gi * ocg * K, (gi + 1) * ocg * K), ocg, K));
  const xp = w.putBytes(x), acc = w.alloc(g.n * M * g.oc);
  const tile = Math.max(4, Math.min(M, Math.floor(16384 / K) & ~3));
  const parts = ranges(0, M, threadsFor(w, g.n * M * g.oc * K), 4);
  const cols = parts.map(() => w.alloc(Math.ceil((tile * ((K + 1) & ~1)) / 2)));
  for (let b = 0; b < g.n; b++)
    packs.forEach((packed, gi) => w.parallel('convTilesI16', parts.map(([p0, p1], t) => [xp, xZp, g.ih, g.iw, g.ic, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw,
      g.padTop, g.padLeft, gi * icg, icg, b, p0, p1, cols[t], tile, packed, ocg, acc + 4 * (b * M * g.oc + gi * ocg), g.oc])));
  return requantize(w, acc, g.n * M, g.oc, bias, r);
}

/** out[m, n] from x [rows, K] (int8) and centered weight rows [N, K] (made once by `weightRows`). */
export function wasmGemmInt8(rows: number, N: number, K: number, x: Int8Array, xZp: number, owner: object, weightRows: () => Int16Array,
  bias: Int32Array | undefined, r: Requant): Int8Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const packed = packedI16(w, owner, 'rows', weightRows, N, K);
  const ldk = (K + 1) & ~1;
  let a = centeredI16(x, xZp);
  if (ldk !== K) {
    const padded = new Int16Array(rows * ldk);
    for (let m = 0; m < rows; m++) padded.set(a.subarray(m * K, (m + 1) * K), m * ldk);
    a = padded;
  }
  const ap = w.putBytes(a), acc = w.alloc(rows * N);
  w.parallel('gemmI16', ranges(0, rows, threadsFor(w, rows * N * K), 4).map(([m0, m1]) => [m0, m1, N, K, ap, ldk, packed, acc, N]));
  return requantize(w, acc, rows, N, bias, r);
}

/** QuantDTypeCast float32 -> int8 (inverseScale already rounded to float32, as the runtime holds it). */
export function wasmQuantize(x: Float32Array, inverseScale: number, zeroPoint: number): Int8Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const xp = w.put(x), out = w.alloc(Math.ceil(x.length / 4));
  w.k.quantizeF32(xp, x.length, inverseScale, zeroPoint, out);
  const res = w.readInt8(out, x.length);
  w.release();
  return res;
}

/** QuantDTypeCast int8 -> float32. */
export function wasmDequantize(q: Int8Array, scale: number, zeroPoint: number): Float32Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const qp = w.putBytes(q), out = w.alloc(q.length);
  w.k.dequantizeI8(qp, q.length, scale, zeroPoint, out);
  const res = w.read(out, q.length);
  w.release();
  return res;
}
