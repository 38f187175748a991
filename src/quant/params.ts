/** Scale / zero-point math shared by weight and full quantization (MindSpore's EncodeMinMax and friends). */

/** C's round(): halves away from zero (JS Math.round rounds them up). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export interface Encoded {
  scale: number;
  zeroPoint: number;
  min: number;
  max: number;
}

/**
 * Nudged min/max: the range is widened to contain 0, optionally made symmetric, and shifted so that 0 is
 * exactly representable. scale = step, zp = qmin + round(-min / step).
 */
export function encodeMinMax(min: number, max: number, qmin: number, qmax: number, symmetric = false): Encoded {
  max = Math.max(max, min + 1e-10);
  if (symmetric) {
    const a = Math.max(Math.abs(min), Math.abs(max));
    [min, max] = [-a, a];
  }
  min = Math.min(min, 0);
  max = Math.max(max, 0);
  const levels = qmax - qmin;
  const step = (max - min) / levels;
  // Symmetric ranges put zero at exactly half the levels; computing -min/step there would only add noise.
  const c = symmetric ? roundHalfAway(levels / 2) : roundHalfAway(-min / step);
  // MindSpore keeps enc_min/enc_max as float and derives the scale from them in double.
  const encMin = Math.fround(-c * step);
  const encMax = Math.fround((levels - c) * step);
  const scale = (encMax - encMin) / levels;
  return { scale, zeroPoint: qmin + c, min: encMin, max: encMax };
}

export function quantize(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  if (scale <= 1e-38) return 0;
  const q = roundHalfAway(x / scale + zeroPoint);
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

export const qRange = (bits: number): [number, number] => [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
