/**
 * Activation ranges from statistics, one strategy per method (MindSpore's calibrator.cc / data_distribution.cc):
 * MAX_MIN takes [min, max]; KL searches the 2048-bin |x| histogram for the threshold whose 128-bin
 * quantization loses least information; REMOVAL_OUTLIER averages per-sample 0.01 % / 99.99 % order statistics.
 */
import { encodeMinMax, Encoded } from './params.js';
import { HIST_BINS, TensorStats } from './stats.js';

export type CalibrationMethod = 'MAX_MIN' | 'KL' | 'REMOVAL_OUTLIER';
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
      const t = (klThresholdBin(st.histogram) + 0.5) * interval;
      return { ...encodeMinMax(-t, t, qmin, qmax, true), lo: -t, hi: t };
    }
    case 'REMOVAL_OUTLIER': {
      if (!st.samples) throw new Error(`tensor ${st.name}: REMOVAL_OUTLIER needs the quantile pass`);
      const lo = st.lowSum! / st.samples, hi = st.highSum! / st.samples;
      return { ...encodeMinMax(lo, hi, qmin, qmax), lo, hi };
    }
  }
}

export function passesFor(method: CalibrationMethod): ('minmax' | 'histogram' | 'quantiles')[] {
  return method === 'KL' ? ['minmax', 'histogram'] : method === 'REMOVAL_OUTLIER' ? ['minmax', 'quantiles'] : ['minmax'];
}
