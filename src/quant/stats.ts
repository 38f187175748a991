/**
 * Activation statistics the calibrators need, and their CPU reference: min/max, the 2048-bin |x|
 * histogram of MindSpore's DataDistribution (second pass, over [0, absmax of pass 1]), and per-sample order
 * statistics at int(0.0001*N) and int(0.9999*N) for REMOVAL_OUTLIER.
 */
import type { Graph } from '../ir/graph.js';
import { sizeOf } from '../ir/graph.js';
import { run, runNode } from '../cpu/executor.js';
import { wasmMinMax, wasmHistogram } from '../cpu/wasm/stats.js';
import type { RT } from '../ir/tensor.js';
import { batchedGraph, hasDynamicInputs } from '../ir/passes/shapes.js';
import { sampleShape, specialize } from '../ir/passes/index.js';
import { beginRecycling, endRecycling, giveBack, outputFloats, recyclableBuffer } from '../cpu/recycle.js';

export const HIST_BINS = 2048;
const DBL_EPSILON = 2.220446049250313e-16;

/** Calibration samples, loaded one at a time so memory stays bounded by a batch. */
export interface SampleSource {
  count: number;
  /** One sample: per graph input, the data of a single batch element. */
  get(i: number): Float32Array[];
  /** A hint that samples [start, end) come next: a source that decodes files may start on them in the background. */
  prefetch?(start: number, end: number): void;
}

export type StatPass = 'minmax' | 'histogram' | 'quantiles';

export interface TensorStats {
  tensor: number;
  name: string;
  min: number;
  max: number;
  nanCount: number;
  infCount: number;
  /** 2048 counts of |x| over [0, histMax]. */
  histogram?: Float64Array;
  histMax?: number;
  /** Sums over samples of the per-sample low / high order statistics, and the sample count. */
  lowSum?: number;
  highSum?: number;
  samples?: number;
  /** Per-sample values, only when asked for (tests): they grow with the calibration set. */
  lowPerSample?: number[];
  highPerSample?: number[];
}

export interface StatsOptions {
  passes: StatPass[];
  batchSize: number;
  /** Tensors to summarise; default every op output and graph input. */
  tensors?: number[];
  keepPerSample?: boolean;
  onProgress?: (done: number, total: number, pass: string) => void;
}

export interface CollectResult {
  stats: Map<number, TensorStats>;
  /** Where the statistics were computed (adapter name, or CPU). */
  device: string;
  /** Device buffer bytes used (GPU path). */
  deviceBytes?: number;
}

/**
 * What the full quantizer asks for statistics: given by its caller (the GPU path of `calibrate.ts`, or the CPU
 * executor), so quantization itself depends on no device.
 */
export type StatsCollector = (g: Graph, samples: SampleSource, o: StatsOptions) => Promise<CollectResult>;

export function defaultTensors(g: Graph): number[] {
  const ids = new Set<number>(g.inputs);
  for (const n of g.nodes) for (const o of n.outputs) ids.add(o);
  return [...ids];
}

export function quantileRanks(perSample: number): [number, number] {
  return [Math.floor(0.0001 * perSample), Math.floor(0.9999 * perSample)];
}

/** MindSpore's bin index; interval and quotient in float32 as its DataDistribution computes them. */
export function histogramBin(absValue: number, interval: number): number {
  return Math.min(Math.floor(Math.fround(absValue / interval)), HIST_BINS - 1);
}

/** k-th smallest (0-based) by quickselect on a copy. */
export function nthElement(values: ArrayLike<number>, k: number): number {
  const a = Float64Array.from(values);
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        [a[i], a[j]] = [a[j], a[i]];
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

export function batches(count: number, batchSize: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < count; s += batchSize) out.push([s, Math.min(count, s + batchSize)]);
  return out;
}

/** Before batch b runs: its own samples (first batch only) and the next batch's, decoded while b computes. */
export function prefetchAround(src: SampleSource, list: [number, number][], b: number): void {
  if (b === 0) src.prefetch?.(...list[0]);
  if (b + 1 < list.length) src.prefetch?.(...list[b + 1]);
}

/** Stacks samples [start, end) into batch tensors (graph-input order). */
export function stackBatch(g: Graph, src: SampleSource, start: number, end: number): RT[] {
  const samples: Float32Array[][] = [];
  for (let i = start; i < end; i++) samples.push(src.get(i));
  return g.inputs.map((_, k) => {
    const shape = [end - start, ...sampleShape(g, k, samples[0][k].length).slice(1)];
    const data = outputFloats(sizeOf(shape));
    samples.forEach((s, j) => data.set(s[k], j * (data.length / samples.length)));
    // a sample read into a recycled buffer (calib-data's .bin files) serves the next one once it is stacked
    for (const s of samples) {
      const b = recyclableBuffer(s[k]);
      if (b) giveBack(b);
    }
    return { shape, data };
  });
}

/** Folds one activation's values into min/max and the NaN / Inf counts. */
export function accumulateMinMax(st: TensorStats, d: ArrayLike<number>): void {
  const fast = d instanceof Float32Array ? wasmMinMax(d) : undefined;
  if (fast) {
    st.nanCount += fast.nanCount;
    st.infCount += fast.infCount;
    if (fast.min < st.min) st.min = fast.min;
    if (fast.max > st.max) st.max = fast.max;
    return;
  }
  accumulateMinMaxReference(st, d);
}

/** The TypeScript loop, the reference the WebAssembly kernel is tested against. */
export function accumulateMinMaxReference(st: TensorStats, d: ArrayLike<number>): void {
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    if (Number.isNaN(x)) st.nanCount++;
    else if (!Number.isFinite(x)) st.infCount++;
    else {
      if (x < st.min) st.min = x;
      if (x > st.max) st.max = x;
    }
  }
}

/** Per-sample order statistics at int(0.0001*N) and int(0.9999*N) of a batch of `samples`. */
export function accumulateQuantiles(st: TensorStats, d: Float32Array, samples: number, keepPerSample = false): void {
  const per = d.length / samples;
  const [lo, hi] = quantileRanks(per);
  for (let s = 0; s < samples; s++) {
    const part = d.subarray(s * per, (s + 1) * per);
    const l = nthElement(part, lo), h = nthElement(part, hi);
    st.lowSum = (st.lowSum ?? 0) + l;
    st.highSum = (st.highSum ?? 0) + h;
    st.samples = (st.samples ?? 0) + 1;
    if (keepPerSample) {
      (st.lowPerSample ??= []).push(l);
      (st.highPerSample ??= []).push(h);
    }
  }
}

/** Adds |x| counts to a 2048-bin histogram over [0, absmax], MindSpore's binning. */
export function accumulateHistogram(hist: Float64Array, absmax: number, d: ArrayLike<number>): void {
  const interval = Math.fround(absmax / HIST_BINS);
  if (!(interval > 0)) return;
  if (d instanceof Float32Array && Number.isFinite(interval) && hist.length === HIST_BINS && wasmHistogram(hist, interval, d)) return;
  accumulateHistogramReference(hist, interval, d);
}

/** The TypeScript loop (interval = fround(absmax / bins) > 0), the reference the WebAssembly kernel is tested against. */
export function accumulateHistogramReference(hist: Float64Array, interval: number, d: ArrayLike<number>): void {
  for (let i = 0; i < d.length; i++) {
    const a = Math.abs(d[i]);
    if (!Number.isFinite(a) || a <= DBL_EPSILON) continue;
    hist[histogramBin(a, interval)]++;
  }
}

export function emptyStats(g: Graph, ids: number[]): Map<number, TensorStats> {
  return new Map(ids.map((t) => [t, { tensor: t, name: g.tensors[t].name, min: Infinity, max: -Infinity, nanCount: 0, infCount: 0 }]));
}

/** The CPU reference: the CPU executor with an observer, double-precision binning. */
export async function collectStatisticsCpu(g: Graph, src: SampleSource, o: StatsOptions): Promise<Map<number, TensorStats>> {
  const ids = o.tensors ?? defaultTensors(g);
  const want = new Set(ids);
  const stats = emptyStats(g, ids);
  // Symbolic input dims are fixed at the calibration data's size; a graph that does not scale with the batch
  // runs one sample at a time.
  const base = hasDynamicInputs(g) ? specialize(g, g.inputs.map((_, k) => sampleShape(g, k, src.get(0)[k].length)), runNode) : g;
  const views = new Map<number, Graph | undefined>([[1, base]]);
  const graphFor = (n: number) => {
    if (!views.has(n)) views.set(n, batchedGraph(base, n)?.graph);
    return views.get(n);
  };
  // `fn` keeps nothing it is given, so each run's dead activations are reused by the next (cpu/recycle).
  const forEachBatch = async (pass: string, fn: (id: number, v: RT, samples: number) => void) => {
    const list = batches(src.count, o.batchSize);
    beginRecycling();
    try {
      for (const [b, [bs, be]] of list.entries()) {
        await yieldToEventLoop();
        prefetchAround(src, list, b);
        const whole = graphFor(be - bs);
        const step = whole ? be - bs : 1;
        for (let s = bs; s < be; s += step) {
          const e = s + step;
          const inputs = stackBatch(g, src, s, e);
          g.inputs.forEach((id, k) => want.has(id) && fn(id, inputs[k], e - s));
          run(whole ?? base, inputs, { observe: (id, v) => want.has(id) && fn(id, v, e - s), recycle: true });
          // The outputs that could alias an input are dropped here too.
          for (const x of inputs) {
            const buffer = recyclableBuffer(x.data);
            if (buffer) giveBack(buffer);
          }
        }
        o.onProgress?.(b + 1, list.length, pass);
      }
    } finally {
      endRecycling();
    }
  };
  // Pass 1 always runs: the histogram's range and every method need min/max.
  await forEachBatch('minmax', (id, v, samples) => {
      const st = stats.get(id)!;
      accumulateMinMax(st, v.data);
      if (o.passes.includes('quantiles')) accumulateQuantiles(st, v.data as Float32Array, samples, o.keepPerSample);
    });
  if (o.passes.includes('histogram')) {
    for (const st of stats.values()) {
      st.histogram = new Float64Array(HIST_BINS);
      st.histMax = Math.max(Math.abs(st.min), Math.abs(st.max));
    }
    await forEachBatch('histogram', (id, v) => {
      const st = stats.get(id)!;
      accumulateHistogram(st.histogram!, st.histMax!, v.data);
    });
  }
  return stats;
}

/** Lets timers and I/O run between batches of long CPU work (progress output, cancel, test runners). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Statistics with the CPU executor: the collector when no other is given. */
export const cpuCollector: StatsCollector = async (g, samples, o) => ({ stats: await collectStatisticsCpu(g, samples, o), device: 'CPU' });
