/**
 * Mixed-bit weight quantization (`bit_num=0`, `[mixed_bit_weight_quant_param]`, MindSpore's
 * MixedBitWeightQuantization): per weight, a binary search for the largest step whose quantization error —
 * per output-channel bucket sqrt(|w - w'|^2 / |w|^2), averaged, after the layer's varCorr / meanCorr — meets
 * `init_scale`; values q = floor(w / step + 0.5) (int16 working type, zero point 0, numBits 0), stored FSE-coded
 * with float centroids varCorr * q * step + meanCorr, so the runtime decodes straight to float. The bits per
 * weight follow from the step: a layer whose weights tolerate coarse steps gets few distinct values.
 */
import type { Tensor, QuantParam } from '../ir/graph.js';
import { fseEncode, fseDecode } from '../ir/fse.js';
import { Compress } from './dequant.js';

const SEARCH_STEP = 2, TOLERANCE = 0.01;

export interface MixedBitOptions {
  /** init_scale: the target relative error, in (0, 1); 0.02 by default. */
  initScale: number;
  /** max_iterations of the binary search, [40, 65535]; 40 by default. */
  maxIterations: number;
  /** auto_tune: the step from the layer's norm instead of the search. */
  autoTune: boolean;
}

const f = Math.fround;
const level = (w: number, scale: number) => Math.floor(f(f(w / scale) + 0.5));

/** CalculateBiasCorrection: the factors that give the dequantized weights the float ones' mean and spread. */
function correction(w: Float32Array, scale: number): { varCorr: number; meanCorr: number } {
  let meanRaw = 0, meanDq = 0;
  const dq = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    dq[i] = f(scale * level(w[i], scale));
    meanRaw += w[i];
    meanDq += dq[i];
  }
  meanRaw /= w.length;
  meanDq /= w.length;
  let varRaw = 0, varDq = 0;
  for (let i = 0; i < w.length; i++) {
    varDq += (dq[i] - meanDq) ** 2;
    varRaw += (w[i] - meanRaw) ** 2;
  }
  varDq = Math.sqrt(varDq / w.length);
  varRaw = Math.sqrt(varRaw / w.length);
  const varCorr = f(Math.abs(varDq) < Number.EPSILON ? 1 : varRaw / varDq);
  return { varCorr, meanCorr: f(meanRaw - meanDq * varCorr) };
}

/** MeasureQuantizationError over buckets of dim 0 (output channels). */
function quantizationError(w: Float32Array, shape: number[], scale: number): { error: number; varCorr: number; meanCorr: number } {
  const buckets = shape[0], volume = w.length / buckets;
  const { varCorr, meanCorr } = correction(w, scale);
  const norm = new Float32Array(buckets), diff = new Float32Array(buckets);
  for (let i = 0; i < w.length; i++) {
    const b = Math.floor(i / volume) % buckets;
    norm[b] = f(norm[b] + f(w[i] * w[i]));
    const d = f(w[i] - f(f(varCorr * f(scale * level(w[i], scale))) + meanCorr));
    diff[b] = f(diff[b] + f(d * d));
  }
  let sum = f(1e-10), count = 0;
  for (let b = 0; b < buckets; b++) {
    if (norm[b] < 1e-10) continue;
    count++;
    sum = f(sum + f(Math.sqrt(f(diff[b] / norm[b]))));
  }
  return { error: f(sum / f(count + 1e-7)), varCorr, meanCorr };
}

/** BinarySearchForQuantizationScale; undefined when the search ends above the target. */
function searchScale(w: Float32Array, shape: number[], target: number, maxIterations: number): number | undefined {
  let min = Infinity, max = -Infinity;
  for (const v of w) {
    if (v > max) max = v;
    else if (v < min) min = v;
  }
  if (max < min + 1e-5) return f(Math.abs(max) + 1e-5);
  const err = (s: number) => quantizationError(w, shape, s).error;
  let scale = f(f(max - min) * target);
  let right = f(scale * SEARCH_STEP), left = f(scale / SEARCH_STEP);
  while (err(right) < target) right = f(right * SEARCH_STEP);
  while (err(left) > target) left = f(left / SEARCH_STEP);
  for (let iter = 0; ; iter++) {
    const e = err(scale);
    if (Math.abs(e - target) / target < TOLERANCE) return scale;
    if (iter > maxIterations) return e < target ? scale : undefined;
    if (e > target) right = scale;
    else left = scale;
    scale = f(f(left + right) / SEARCH_STEP);
  }
}

/** GetDx (auto_tune): the step from the layer's norm and size. */
function autoTuneScale(w: Float32Array, target: number): number {
  let norm = 0;
  for (const v of w) norm = f(norm + f(v * v));
  const invNorm = f(Math.sqrt(f(1 / norm)));
  return f(f(target + TOLERANCE * f(Math.sqrt(24 / w.length))) / invNorm);
}

/**
 * Quantizes one float weight in place to MindSpore's mixed-bit FSE form. Returns the number of distinct levels,
 * or undefined when the search does not reach the target (the weight stays float).
 */
export function mixedBitQuantize(t: Tensor, o: MixedBitOptions): number | undefined {
  const w = t.data as Float32Array;
  const scale = o.autoTune ? autoTuneScale(w, o.initScale) : searchScale(w, t.shape, o.initScale, o.maxIterations);
  if (scale === undefined || !(scale > 0)) return undefined;
  // The searched step carries the correction measured at it; auto_tune measures nothing and keeps 1 / 0.
  const { varCorr, meanCorr } = o.autoTune ? { varCorr: 1, meanCorr: 0 } : correction(w, scale);
  const q = Int32Array.from(w, (v) => level(v, scale));
  if (q.some((v) => v < -32768 || v > 32767)) return undefined;
  let raw: Uint8Array;
  try {
    raw = fseEncode(q, { kind: 'float', of: (v) => f(f(varCorr * v) * scale + meanCorr) });
  } catch {
    return undefined; // too many distinct levels for the coder
  }
  const param: QuantParam = { scale, zeroPoint: 0, min: 0, max: 0, narrowRange: true, numBits: 0, inited: true, varCorr, meanCorr };
  Object.assign(t, { dtype: 'float32', raw, data: fseDecode(raw, q.length, 'float'), quant: [param], compress: Compress.FSE });
  return new Set(q).size;
}
