/**
 * Integer requantization as MindSpore Lite's int8 CPU kernels (nnacl) do it: the real multiplier
 * in_scale * w_scale / out_scale becomes a Q31 multiplier and shifts (double precision), applied with
 * SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, exactly in 64-bit integer semantics.
 */
import { INT32_MIN, INT32_MAX } from '../ir/numeric.js';

const TWO31 = 2147483648;
/** The largest right shift a Q31 multiplier may carry: beyond it the runtime's 32-bit shifts are undefined. */
export const MAX_RIGHT_SHIFT = 31;

export interface QuantizedMultiplier {
  multiplier: number;
  leftShift: number;
  rightShift: number;
}

/** frexp-based Q31 multiplier (QuantizeRoundParameterWithDoublePrecision). */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (real === 0 || !Number.isFinite(real)) return { multiplier: 0, leftShift: 0, rightShift: 0 };
  let shift = Math.floor(Math.log2(Math.abs(real))) + 1;
  let q = real / 2 ** shift; // in [0.5, 1)
  if (Math.abs(q) >= 1) { q /= 2; shift++; }
  if (Math.abs(q) < 0.5) { q *= 2; shift--; }
  let fixed = Math.round(q * TWO31);
  if (fixed === TWO31) {
    fixed /= 2;
    shift++;
  }
  // Below 2^-32 the product of any int32 sum is under half a step: the exact result is 0. The runtime's C shift
  // by 32 or more is undefined (x86 masks the count to 5 bits), so such a multiplier becomes 0, as TFLite's
  // QuantizeMultiplier makes it; the converter never writes one (full-quant.ts, weight-scale floor).
  if (-shift > MAX_RIGHT_SHIFT) return { multiplier: 0, leftShift: 0, rightShift: 0 };
  return { multiplier: fixed, leftShift: shift > 0 ? shift : 0, rightShift: shift > 0 ? 0 : -shift };
}

/** (a * b + nudge) / 2^31 truncated toward zero, computed exactly for int32 a and b. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const bh = Math.floor(b / 65536), bl = b - bh * 65536; // b = bh * 2^16 + bl, 0 <= bl < 2^16
  const hi = a * bh; // |hi| <= 2^46, exact
  const negative = (a < 0) !== (b < 0) && a !== 0 && b !== 0;
  const lo = a * bl + (negative ? 1 - (1 << 30) : 1 << 30); // exact
  // total = hi * 2^16 + lo; divide by 2^31 without ever forming the 62-bit total.
  const q1 = Math.floor(hi / 32768), r1 = hi - q1 * 32768;
  const t = r1 * 65536 + lo;
  const f = q1 + Math.floor(t / TWO31);
  const rem = t - Math.floor(t / TWO31) * TWO31;
  return f < 0 && rem !== 0 ? f + 1 : f;
}

/** x / 2^exponent rounded half away from zero, for exponent 0..31 (the range quantizeMultiplier gives). */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent > MAX_RIGHT_SHIFT) throw new RangeError(`right shift ${exponent} is beyond 31 bits`);
  const mask = (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** The left shift wraps in 32 bits as the runtime's `value * (1 << left_shift)` does. */
export function multiplyByQuantizedMultiplier(x: number, m: QuantizedMultiplier): number {
  const shifted = m.leftShift ? Math.imul(x, 1 << m.leftShift) : x;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, m.multiplier), m.rightShift);
}

/**
 * The per-channel multiplier of an int8 conv / FC / MatMul as the runtime derives it: its QuantArg holds the
 * scales as float, `in_scale * w_scale` is a float product, and only then is the quotient by the output
 * scale taken in double. Computing it all in double picks a different Q31 multiplier for some channels and
 * moves rare outputs by one step.
 */
export function requantMultiplier(inScale: number, weightScale: number, outScale: number): QuantizedMultiplier {
  const f = Math.fround;
  return quantizeMultiplier(f(f(inScale) * f(weightScale)) / f(outScale));
}
