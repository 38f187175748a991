/**
 * Where each Resize output row/column reads from, as MindSpore Lite's CPU runtime computes it (nnacl
 * resize_fp32.c), in float32 arithmetic. The CPU and GPU executors both use these tables, so a `.ms` computes
 * the same on either and on the phone.
 *
 * The runtime's nearest-neighbour kernel ignores `nearest_mode`: it takes floor() of the source coordinate,
 * or round-half-away for ALIGN_CORNERS. ONNX's `round_prefer_ceil` with `half_pixel` therefore picks other
 * pixels there than in onnxruntime; the runtime is what users deploy, so that is what we compute.
 */
import { CoordinateTransformMode as CT } from './schema/ops.js';

const f = Math.fround;

/** Source coordinate of output index x (CalculateAsymmetric / CalculateAlignCorners / CalculateHalfPixel). */
export function resizeSourceCoordinate(mode: number, x: number, inLen: number, outLen: number): number {
  let v: number;
  if (mode === CT.ALIGN_CORNERS) v = f(x / f(f(outLen - 1) / f(inLen - 1)));
  else if (mode === CT.HALF_PIXEL) v = Math.max(f(f(f(x + 0.5) / f(f(outLen) / f(inLen))) - 0.5), 0);
  else v = f(x / f(f(outLen) / f(inLen)));
  // 1-pixel ALIGN_CORNERS divides 0 by 0 in the runtime; the only sensible source there is pixel 0.
  return Number.isFinite(v) ? v : 0;
}

const clampIndex = (i: number, len: number) => Math.min(Math.max(i, 0), len - 1);

/** Nearest-neighbour source index of every output position along one axis. */
export function nearestSourceIndices(mode: number, inLen: number, outLen: number): Int32Array {
  return Int32Array.from({ length: outLen }, (_, x) => {
    const s = resizeSourceCoordinate(mode, x, inLen, outLen);
    return clampIndex(mode === CT.ALIGN_CORNERS ? Math.sign(s) * Math.round(Math.abs(s)) : Math.floor(s), inLen);
  });
}

/** Bilinear taps along one axis: out = in[lo] * loWeight + in[hi] * (1 - loWeight) (CalculateCoordinate). */
export interface LinearTaps {
  lo: Int32Array;
  hi: Int32Array;
  loWeight: Float32Array;
}

export function linearSourceTaps(mode: number, inLen: number, outLen: number): LinearTaps {
  const taps: LinearTaps = { lo: new Int32Array(outLen), hi: new Int32Array(outLen), loWeight: new Float32Array(outLen) };
  for (let x = 0; x < outLen; x++) {
    const s = resizeSourceCoordinate(mode, x, inLen, outLen);
    const lo = clampIndex(Math.floor(s), inLen);
    taps.lo[x] = lo;
    taps.hi[x] = Math.min(lo + 1, inLen - 1);
    taps.loWeight[x] = f(1 - f(s - lo));
  }
  return taps;
}

/**
 * Bicubic taps along one axis (CalculateWeightForBicubic): the four source indices floor(s) - 1 .. floor(s) + 2,
 * clamped to the edges, and their weights W(d) with W(x) = (a+2)|x|^3 - (a+3)|x|^2 + 1 for |x| <= 1,
 * a|x|^3 - 5a|x|^2 + 8a|x| - 4a for 1 < |x| <= 2. `exclude_outside` is not applied, as in the runtime.
 */
export function cubicSourceTaps(mode: number, inLen: number, outLen: number, a: number): { index: Int32Array; weight: Float32Array } {
  const index = new Int32Array(outLen * 4), weight = new Float32Array(outLen * 4);
  const w = (x: number) => {
    const t = Math.abs(x);
    return t <= 1 ? ((a + 2) * t - (a + 3)) * t * t + 1 : t <= 2 ? a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a : 0;
  };
  for (let x = 0; x < outLen; x++) {
    const s = resizeSourceCoordinate(mode, x, inLen, outLen);
    const fl = Math.floor(s), d = f(s - fl);
    for (let k = 0; k < 4; k++) {
      index[4 * x + k] = clampIndex(fl - 1 + k, inLen);
      weight[4 * x + k] = f(w(f(k - 1 - d)));
    }
  }
  return { index, weight };
}
