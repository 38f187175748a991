/**
 * The int8 executor's convolutions and FullConnection / MatMul on the WebAssembly kernels: int8 minus zero
 * point as int16, exact int32 accumulation with i32x4.dot_i16x8_s, then the runtime's Q31 requantization —
 * bit-exact with the TypeScript kernels of ../int8.ts (the reference). Undefined when the kernels are not
 * loaded.
 */
import type { ConvGeometry, PoolGeometry } from '../../ir/op-params.js';
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

/**
 * One token per (requantization, bias) pair: the owner of their arguments' copy in WebAssembly memory, with
 * the bias values it was made from (an array changed in place afterwards gets a new token, not stale words).
 */
const specTokens = new WeakMap<Requant, WeakMap<object, { bias?: Int32Array }>>();
const NO_BIAS = {};

/**
 * requantize's arguments after the sums and N, in its order: bias, mult, leftPow, rshift, rmask (pointers), zp,
 * lo, hi, then `out`'s place, then flags, eBase, stages, as `head` and `tail`; `words` points at all eleven in a
 * row (convRequantI16's spec). Made once per layer and kept in WebAssembly memory with the packed weights (a
 * small layer spent a fifth of its time rebuilding them); call before the kernel call allocates scratch.
 * `maxAbsSum` bounds |sum| (without bias): with it the flags say whether a bias can overflow int32, and whether
 * any channel shifts left or has multiplier INT32_MIN.
 */
function requantSpec(w: WasmKernels, bias: Int32Array | undefined, r: Requant, maxAbsSum: number): { head: number[]; tail: number[]; words: number } {
  let byBias = specTokens.get(r);
  if (!byBias) specTokens.set(r, (byBias = new WeakMap()));
  let token = byBias.get(bias ?? NO_BIAS);
  const N0 = r.mults.length;
  if (!token || (bias && !sameValues(token.bias!, bias, N0))) byBias.set(bias ?? NO_BIAS, (token = { bias: bias?.slice(0, N0) }));
  const N = r.mults.length, arrays = bias ? 5 : 4, words = arrays * N + 11;
  const p = w.cached(token, `requant/${maxAbsSum}`, words, (at) => {
    const v = new Int32Array(w.memory.buffer, at, words);
    let o = 0;
    if (bias) v.set(bias.subarray(0, N), (o += N) - N);
    let maxBias = 0, eMin = 31, eMax = 0;
    if (bias) for (let i = 0; i < N; i++) maxBias = Math.max(maxBias, Math.abs(bias[i]));
    r.mults.forEach((m, c) => {
      v[o + c] = m.multiplier;
      v[o + N + c] = 2 ** m.leftShift;
      v[o + 2 * N + c] = m.rightShift;
      v[o + 3 * N + c] = 2 ** m.rightShift - 1;
      [eMin, eMax] = [Math.min(eMin, m.rightShift), Math.max(eMax, m.rightShift)];
    });
    const flags = (maxBias + maxAbsSum > 2147483647 ? 1 : 0) | (r.mults.some((m) => m.leftShift > 0) ? 2 : 0) |
      (r.mults.some((m) => m.multiplier === -2147483648) ? 4 : 0);
    const stages = eMax > eMin ? 32 - Math.clz32(eMax - eMin) : 0;
    const arrayAt = (k: number) => at + 4 * k * N;
    v.set([bias ? at : 0, arrayAt(arrays - 4), arrayAt(arrays - 3), arrayAt(arrays - 2), arrayAt(arrays - 1), r.zeroPoint, r.lo, r.hi,
      flags, Math.min(eMin, eMax), stages], arrays * N);
  });
  const spec = Array.from(new Int32Array(w.memory.buffer, p + 4 * arrays * N, 11));
  return { head: spec.slice(0, 8), tail: spec.slice(8), words: p + 4 * arrays * N };
}

function sameValues(a: Int32Array, b: Int32Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A bound on |sum of K products| of int8 values minus their zero points (each within 255 of zero). */
const sumBound = (K: number) => K * 255 * 255;

/** Requantizes int32 sums [rows, N] at `acc` by a spec from requantSpec (made before the scratch). */
function requantize(w: WasmKernels, acc: number, rows: number, N: number, spec: { head: number[]; tail: number[] }): Int8Array {
  const out = w.alloc(Math.ceil((rows * N) / 4));
  w.parallel('requantize', ranges(0, rows, threadsFor(w, rows * N * 16), 1).map(([r0, r1]) => [acc + 4 * r0 * N, r1 - r0, N, ...spec.head, out + r0 * N, ...spec.tail]));
  return readOut(w, out, rows * N);
}

function readOut(w: WasmKernels, out: number, count: number): Int8Array {
  const res = w.readInt8(out, count);
  w.release();
  return res;
}

/** The requantization kernel alone, on int32 sums [rows, N] (tests hold it to the TypeScript definition). */
export function wasmRequantize(sums: Int32Array, rows: number, N: number, bias: Int32Array | undefined, r: Requant): Int8Array | undefined {
  const w = wasmKernels();
  let maxAbs = 0;
  for (const v of sums) maxAbs = Math.max(maxAbs, Math.abs(v));
  if (!w) return undefined;
  const spec = requantSpec(w, bias, r, maxAbs);
  return requantize(w, w.putBytes(sums), rows, N, spec);
}

const threadsFor = (w: WasmKernels, work: number) => (work < 4e5 ? 1 : w.threads);

export function wasmConvInt8(g: ConvGeometry, x: Int8Array, xZp: number, weights: Int8Array, wZp: (i: number) => number,
  bias: Int32Array | undefined, r: Requant): Int8Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  if (isDepthwise(g)) return depthwiseInt8(w, g, x, xZp, weights, wZp, bias, r);
  const icg = g.ic / g.group, ocg = g.oc / g.group, K = g.kh * g.kw * icg, M = g.oh * g.ow;
  const centeredW = () => centeredI16(weights, wZp);
  const packs = Array.from({ length: g.group }, (_, gi) => packedI16(w, weights, `g${gi}`, () => centeredW().subarray(gi * ocg * K, (gi + 1) * ocg * K), ocg, K));
  const spec = requantSpec(w, bias, r, sumBound(K));
  const xp = w.putBytes(x);
  const tile = Math.max(4, Math.min(M, Math.floor(16384 / K) & ~3));
  const parts = ranges(0, M, threadsFor(w, g.n * M * g.oc * K), 4);
  const cols = parts.map(() => w.alloc(Math.ceil((tile * ((K + 1) & ~1)) / 2)));
  if (g.group === 1) {
    // each tile requantized as soon as it is summed: one parallel call per image, the sums never leave the cache
    const out = w.alloc(Math.ceil((g.n * M * g.oc) / 4));
    const accs = parts.map(() => w.alloc(tile * g.oc));
    for (let b = 0; b < g.n; b++)
      w.parallel('convRequantI16', parts.map(([p0, p1], t) => [xp, xZp, g.ih, g.iw, g.ic, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw,
        g.padTop, g.padLeft, b, p0, p1, cols[t], tile, packs[0], g.oc, accs[t], spec.words, out + b * M * g.oc]));
    return readOut(w, out, g.n * M * g.oc);
  }
  const acc = w.alloc(g.n * M * g.oc);
  for (let b = 0; b < g.n; b++)
    packs.forEach((packed, gi) => w.parallel('convTilesI16', parts.map(([p0, p1], t) => [xp, xZp, g.ih, g.iw, g.ic, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw,
      g.padTop, g.padLeft, gi * icg, icg, b, p0, p1, cols[t], tile, packed, ocg, acc + 4 * (b * M * g.oc + gi * ocg), g.oc])));
  return requantize(w, acc, g.n * M, g.oc, spec);
}

/** Depthwise: weights [C, kh, kw, 1] centered and laid out [taps][C] once per layer, sums by depthwiseI8, then requantize. */
function depthwiseInt8(w: WasmKernels, g: ConvGeometry, x: Int8Array, xZp: number, weights: Int8Array, wZp: (i: number) => number,
  bias: Int32Array | undefined, r: Requant): Int8Array {
  const taps = g.kh * g.kw, C = g.oc;
  const wp = w.cached(weights, `dwI16/${C}x${taps}`, Math.ceil((taps * C) / 2), (p) => {
    const t = new Int16Array(w.memory.buffer, p, taps * C);
    for (let c = 0; c < C; c++) for (let k = 0; k < taps; k++) t[k * C + c] = weights[c * taps + k] - wZp(c * taps + k);
  });
  const spec = requantSpec(w, bias, r, sumBound(taps));
  const xp = w.putBytes(x), rows = g.n * g.oh * g.ow, acc = w.alloc(rows * C);
  w.parallel('depthwiseI8', ranges(0, g.oh, threadsFor(w, rows * C * taps)).map(([y0, y1]) =>
    [xp, xZp, g.n, g.ih, g.iw, C, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, wp, acc, y0, y1]));
  return requantize(w, acc, rows, C, spec);
}

/** out[m, n] from x [rows, K] (int8) and centered weight rows [N, K] (made once by `weightRows`). */
export function wasmGemmInt8(rows: number, N: number, K: number, x: Int8Array, xZp: number, owner: object, weightRows: () => Int16Array,
  bias: Int32Array | undefined, r: Requant): Int8Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const packed = packedI16(w, owner, 'rows', weightRows, N, K);
  const spec = requantSpec(w, bias, r, sumBound(K));
  const ldk = (K + 1) & ~1;
  let a = centeredI16(x, xZp);
  if (ldk !== K) {
    const padded = new Int16Array(rows * ldk);
    for (let m = 0; m < rows; m++) padded.set(a.subarray(m * K, (m + 1) * K), m * ldk);
    a = padded;
  }
  const ap = w.putBytes(a), acc = w.alloc(rows * N);
  w.parallel('gemmI16', ranges(0, rows, threadsFor(w, rows * N * K), 4).map(([m0, m1]) => [m0, m1, N, K, ap, ldk, packed, acc, N]));
  return requantize(w, acc, rows, N, spec);
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

/** int8 max pooling (a plain max: the caller rescales when the output's parameters differ). */
export function wasmMaxPoolInt8(p: PoolGeometry, x: Int8Array): Int8Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const count = p.n * p.oh * p.ow * p.c;
  const xp = w.putBytes(x), op = w.alloc(Math.ceil(count / 4));
  w.parallel('poolMaxI8', ranges(0, p.oh, threadsFor(w, count * p.kh * p.kw)).map(([y0, y1]) =>
    [xp, p.n, p.ih, p.iw, p.c, p.oh, p.ow, p.kh, p.kw, p.sh, p.sw, p.pt, p.pl, op, y0, y1]));
  return readOut(w, op, count);
}
