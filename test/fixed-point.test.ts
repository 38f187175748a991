/** The int8 runtime's fixed-point requantization, checked against exact 64-bit BigInt arithmetic. */
import { describe, it, expect } from 'vitest';
import { saturatingRoundingDoublingHighMul, roundingDivideByPOT, quantizeMultiplier, multiplyByQuantizedMultiplier } from '../src/quant/fixed-point.js';

function srdhmRef(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C
}

describe('fixed point', () => {
  it('SaturatingRoundingDoublingHighMul is exact over edge values and 100,000 pseudo-random pairs', () => {
    const edge = [0, 1, -1, 2, -2, 32767, 65535, 65536, -65536, 1 << 30, -(1 << 30), 2147483647, -2147483648, 987654321, -987654321];
    for (const a of edge) for (const b of edge) expect(saturatingRoundingDoublingHighMul(a, b), `${a}*${b}`).toBe(srdhmRef(a, b));
    let s = 12345;
    const next = () => ((s = (s * 1103515245 + 12345) % 2147483648), s * 2 - 2147483648);
    for (let i = 0; i < 100000; i++) {
      const a = next(), b = next();
      if (saturatingRoundingDoublingHighMul(a, b) !== srdhmRef(a, b)) expect.fail(`${a} * ${b}`);
    }
  });
  it('RoundingDivideByPOT rounds half away from zero', () => {
    expect(roundingDivideByPOT(5, 1)).toBe(3);
    expect(roundingDivideByPOT(-5, 1)).toBe(-3);
    expect(roundingDivideByPOT(4, 2)).toBe(1);
    expect(roundingDivideByPOT(-6, 2)).toBe(-2);
  });
  it('a quantized multiplier reproduces the real multiplier', () => {
    for (const real of [0.00123, 0.0456, 0.5, 0.999, 1.5, 3.25]) {
      const m = quantizeMultiplier(real);
      for (const x of [1000, -1000, 123456, -7]) expect(Math.abs(multiplyByQuantizedMultiplier(x, m) - x * real)).toBeLessThanOrEqual(1);
    }
  });
});
