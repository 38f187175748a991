/**
 * Activation ranges from statistics, one strategy per method (MindSpore's calibrator.cc / data_distribution.cc):
 * MAX_MIN takes [min, max]; KL searches the 2048-bin |x| histogram for the threshold whose 128-bin
 * quantization loses least information (ours falls back to the MSE-optimal one where KL's clipping costs more
 * than 6 dB); REMOVAL_OUTLIER averages per-sample 0.01 % / 99.99 % order statistics.
 */
import { encodeMinMax, Encoded } from './params.js';
import { HIST_BINS, TensorStats } from './stats.js';

/** MindSpore's three methods, and our documented extensions MSE and KL_ASYMMETRIC (see docs/ACCURACY.md). */
export type CalibrationMethod = 'MAX_MIN' | 'KL' | 'REMOVAL_OUTLIER' | 'MSE' | 'KL_ASYMMETRIC';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['MAX_MIN', 'KL', 'REMOVAL_OUTLIER', 'MSE', 'KL_ASYMMETRIC'];
export const QUANT_BINS = 128;

/** Threshold bin index i in [128, 2048): hist[0..i) kept, KL-optimal; T = (i + 0.5) * interval. */
export function klThresholdBin(histIn: ArrayLike<number>, quantBins = QUANT_BINS): number {
  const n = histIn.length;
  // Every bin starts at 1e-7, as MindSpore initialises its distribution.
  const hist = Float64Array.from(histIn, (v) => v + 1e-7);
  let tail = 0;
  for (let k = quantBins; k < n; k++) tail += hist[k];
  let best = quantBins, minKl = Infinity;
  const quantized = new Float64Array(quantBins);
  for (let i = quantBins; i < n; i++) {
    const ref = hist.slice(0, i);
    ref[i - 1] += tail;
    tail -= hist[i];
    const width = i / quantBins;
    quantized.fill(0);
    const expanded = new Float64Array(i);
    for (let b = 0; b < quantBins; b++) {
      const start = b * width, end = start + width;
      const leftUpper = Math.ceil(start), rightLower = Math.floor(end);
      const leftScale = leftUpper - start, rightScale = end - rightLower;
      if (leftUpper > start) quantized[b] += leftScale * hist[leftUpper - 1];
      if (rightLower < end) quantized[b] += rightScale * hist[rightLower];
      for (let k = leftUpper; k < rightLower; k++) quantized[b] += hist[k];
    }
    for (let b = 0; b < quantBins; b++) {
      const start = b * width, end = start + width;
      const leftUpper = Math.ceil(start), rightLower = Math.floor(end);
      const leftScale = leftUpper - start, rightScale = end - rightLower;
      let count = 0;
      if (leftUpper > start && hist[leftUpper - 1] !== 0) count += leftScale;
      if (rightLower < end && hist[rightLower] !== 0) count += rightScale;
      for (let k = leftUpper; k < rightLower; k++) if (hist[k] !== 0) count += 1;
      if (count === 0) continue;
      const avg = quantized[b] / count;
      if (leftUpper > start && hist[leftUpper - 1] !== 0) expanded[leftUpper - 1] += avg * leftScale;
      if (rightLower < end && hist[rightLower] !== 0) expanded[rightLower] += avg * rightScale;
      for (let k = leftUpper; k < rightLower; k++) if (hist[k] !== 0) expanded[k] += avg;
    }
    const kl = klDivergence(ref, expanded);
    if (kl < minKl) {
      minKl = kl;
      best = i;
    }
  }
  return best;
}

/** KL(P || Q) of normalised histograms; a term with Q = 0 where P > 0 adds 1. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let sp = 0, sq = 0;
  for (let k = 0; k < p.length; k++) {
    sp += p[k];
    sq += q[k];
  }
  let kl = 0;
  for (let k = 0; k < p.length; k++) {
    const pk = p[k] / sp, qk = q[k] / sq;
    if (pk === 0) continue;
    kl += qk === 0 ? 1 : pk * Math.log(pk / qk);
  }
  return kl;
}

export interface ActivationRange extends Encoded {
  /** The float range before nudging, for the report. */
  lo: number;
  hi: number;
}

/**
 * MSE (our extension, as TensorRT's and PPQ's MSE calibrators): the clipping threshold T minimising the expected
 * squared quantization error of the |x| histogram: values above T cost (x - T)^2, values below the rounding
 * noise step^2 / 12, with step = T / levels on a non-negative tensor ([0, T]) and 2T / levels on a signed one
 * ([-T, T]). Candidates are the bin edges; prefix sums make the search linear in the bins.
 */
export function mseThreshold(hist: ArrayLike<number>, histMax: number, signed: boolean, levels = 255): number {
  return mseSearch(hist, histMax, (t) => (signed ? 2 * t : t) / levels, 0).t;
}

/**
 * The threshold T >= `from` (a bin edge) with the least expected squared error when the encoded range is
 * `step(T) * levels` wide and |x| above T is clipped; returns T and that error.
 */
function mseSearch(hist: ArrayLike<number>, histMax: number, step: (t: number) => number, from: number): { t: number; err: number } {
  const n = hist.length, interval = histMax / n;
  // Suffix sums of h, h*c and h*c^2 over bin centres c: the clipped part of the error for any T.
  const s0 = new Float64Array(n + 1), s1 = new Float64Array(n + 1), s2 = new Float64Array(n + 1);
  for (let b = n - 1; b >= 0; b--) {
    const c = (b + 0.5) * interval;
    s0[b] = s0[b + 1] + hist[b];
    s1[b] = s1[b + 1] + hist[b] * c;
    s2[b] = s2[b + 1] + hist[b] * c * c;
  }
  let best = histMax, bestErr = Infinity;
  for (let i = Math.max(1, Math.ceil(from / interval)); i <= n; i++) {
    const t = i * interval, st = step(t);
    const clipped = s2[i] - 2 * t * s1[i] + t * t * s0[i];
    const err = clipped + ((s0[0] - s0[i]) * st * st) / 12;
    if (err < bestErr) {
      bestErr = err;
      best = t;
    }
  }
  return { t: best, err: bestErr };
}

/**
 * MSE's range for a signed tensor: [-T, T], or [min, T] when that costs less. A skewed tensor (SiLU, GELU: a
 * minimum of -0.28 under a maximum of 124) wastes half its levels on [-T, T]; [min, T] with T >= |min| clips only
 * positive values, so the |x| histogram gives its error exactly (up to the bins).
 */
function mseSignedRange(hist: ArrayLike<number>, histMax: number, min: number, levels: number): [number, number] {
  const symmetric = mseSearch(hist, histMax, (t) => (2 * t) / levels, 0);
  const skewed = mseSearch(hist, histMax, (t) => (t - min) / levels, -min);
  return skewed.err < symmetric.err ? [min, skewed.t] : [-symmetric.t, symmetric.t];
}

/** How much worse than the least achievable a KL threshold's expected squared error may be: 6 dB of SQNR. */
export const KL_ERROR_LIMIT = 4;

/**
 * KL's threshold `tk`, unless clipping there makes the tensor's expected squared error (the MSE calibrator's
 * estimate, for the same encoding: `step(T)` per level) more than KL_ERROR_LIMIT times the least any threshold
 * gives; then the MSE-optimal one. KL weighs the shape of the distribution, not the size of what it cuts: on a
 * segmenter's long-tailed ReLU outputs it cuts at a sixth of the range, and on raw 0..255 pixels at 16
 * (road-seg-adas: cosine 0.87 against MAX_MIN's 0.9995). Where it is within that factor (every tensor of
 * SqueezeNet, 2.3x at most) MindSpore's threshold stands.
 */
function guardedKl(hist: ArrayLike<number>, histMax: number, tk: number, step: (t: number) => number): number {
  const best = mseSearch(hist, histMax, step, 0);
  return expectedError(hist, histMax, tk, step(tk)) > KL_ERROR_LIMIT * best.err ? best.t : tk;
}

/** The expected squared error of clipping |x| at `t` with rounding steps of `step` (mseSearch's model, one T). */
function expectedError(hist: ArrayLike<number>, histMax: number, t: number, step: number): number {
  const interval = histMax / hist.length;
  let err = 0;
  for (let b = 0; b < hist.length; b++) {
    const c = (b + 0.5) * interval;
    err += hist[b] * (c > t ? (c - t) ** 2 : (step * step) / 12);
  }
  return err;
}

/** Activation quant params of one tensor from its statistics, int8 [qmin, qmax]. */
export function activationRange(method: CalibrationMethod, st: TensorStats, qmin = -128, qmax = 127): ActivationRange {
  if (!Number.isFinite(st.min) || !Number.isFinite(st.max))
    throw new Error(`tensor ${st.name}: no finite calibration values`);
  switch (method) {
    case 'MAX_MIN':
      return { ...encodeMinMax(st.min, st.max, qmin, qmax), lo: st.min, hi: st.max };
    case 'KL': {
      if (!st.histogram || st.histMax === undefined) throw new Error(`tensor ${st.name}: KL needs the histogram pass`);
      const interval = Math.fround(st.histMax / HIST_BINS);
      const t = guardedKl(st.histogram, st.histMax, (klThresholdBin(st.histogram) + 0.5) * interval, (t) => (2 * t) / (qmax - qmin));
      return { ...encodeMinMax(-t, t, qmin, qmax, true), lo: -t, hi: t };
    }
    case 'KL_ASYMMETRIC': {
      // A non-negative tensor (ReLU output) gets [0, T] and all 2^bits levels, the KL search over that many
      // bins; a signed one is MindSpore's KL.
      if (st.min < 0) return activationRange('KL', st, qmin, qmax);
      if (!st.histogram || st.histMax === undefined) throw new Error(`tensor ${st.name}: KL_ASYMMETRIC needs the histogram pass`);
      const interval = Math.fround(st.histMax / HIST_BINS);
      const t = guardedKl(st.histogram, st.histMax, (klThresholdBin(st.histogram, Math.min(qmax - qmin + 1, HIST_BINS / 2)) + 0.5) * interval, (t) => t / (qmax - qmin));
      return { ...encodeMinMax(0, Math.min(t, st.max), qmin, qmax), lo: 0, hi: t };
    }
    case 'MSE': {
      if (!st.histogram || st.histMax === undefined) throw new Error(`tensor ${st.name}: MSE needs the histogram pass`);
      if (st.min >= 0) {
        const t = mseThreshold(st.histogram, st.histMax, false, qmax - qmin);
        return { ...encodeMinMax(0, Math.min(t, st.max), qmin, qmax), lo: 0, hi: t };
      }
      const [lo, hi] = mseSignedRange(st.histogram, st.histMax, st.min, qmax - qmin);
      return { ...encodeMinMax(lo, Math.min(hi, Math.max(st.max, 0)), qmin, qmax, lo === -hi), lo, hi };
    }
    case 'REMOVAL_OUTLIER': {
      if (!st.samples) throw new Error(`tensor ${st.name}: REMOVAL_OUTLIER needs the quantile pass`);
      const lo = st.lowSum! / st.samples, hi = st.highSum! / st.samples;
      return { ...encodeMinMax(lo, hi, qmin, qmax), lo, hi };
    }
  }
}

export function passesFor(method: CalibrationMethod): ('minmax' | 'histogram' | 'quantiles')[] {
  return method === 'KL' || method === 'KL_ASYMMETRIC' || method === 'MSE' ? ['minmax', 'histogram'] : method === 'REMOVAL_OUTLIER' ? ['minmax', 'quantiles'] : ['minmax'];
}
