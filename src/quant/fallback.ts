/**
 * Accuracy-driven fallback (our extension, `[full_quant_param] accuracy_target=<value>` in `accuracy_metric`'s
 * unit: mean relative error %, worst output cosine or worst output SQNR dB): measure the quantized model's output
 * error on calibration samples it was not calibrated on, and while it misses the target keep one more int8
 * layer out of int8 compute: the one whose fallback helped most when each was tried alone, if it still helps;
 * the int8 layers right after a kept one are tried next (alone, their error hid behind its error). A kept layer computes in float from weights stored int8 (MindSpore's weight
 * quantization, decoded at load), so the model stays small; `skip_quant_node` keeps a layer wholly float.
 *
 * The error is cross-validated: the samples are dealt into (up to) 5 folds, each fold's model is calibrated on
 * the other folds and measured on its own, so every sample is held back once. A single held-back fifth of a
 * small set (3 of 17 photos) misses the near ties that flip, and the layers it picks do not fix them.
 * Statistics are collected once per fold; every trial re-quantizes copies. The chosen layers fall back in the
 * final model, which is calibrated on the whole set.
 */
import type { Graph, Node } from '../ir/graph.js';
import { sizeOf } from '../ir/graph.js';
import { findOp } from '../ir/op-registry.js';
import { QuantType } from '../ir/schema/ops.js';
import { run } from '../cpu/executor.js';
import { meanError, cosineSimilarity } from '../bench/accuracy.js';
import { sqnrDb } from '../bench/compare.js';
import type { RT } from '../ir/tensor.js';
import { sampleShape } from '../ir/passes/index.js';
import { fullQuantize, selectQuantNodes, FullQuantOptions, FullQuantResult } from './full-quant.js';
import { weightQuantize } from './weight-quant.js';
import { cpuCollector, yieldToEventLoop } from './stats.js';
import { passesFor } from './calibrators.js';
import type { SampleSource, StatsCollector } from './stats.js';

/**
 * What the target is measured in, per held-back sample and output: MindSpore's mean relative error (%, the
 * samples' mean, lower is better), or the worst output's cosine similarity or SQNR (dB) over every sample and
 * output (higher is better). Mean relative error is dominated by near-zero outputs (a detector's box
 * offsets, a segmenter's background): there cosine and SQNR say what a user sees.
 */
export type AccuracyMetric = 'MEAN_ERROR' | 'COSINE' | 'SQNR';
export const ACCURACY_METRICS: readonly AccuracyMetric[] = ['MEAN_ERROR', 'COSINE', 'SQNR'];

interface Metric {
  /** One sample's value over the model's outputs. */
  sample(outs: RT[], ref: RT[]): number;
  /** The samples' values combined. */
  combine(values: number[]): number;
  lowerIsBetter: boolean;
  format(v: number): string;
}

const METRICS: Record<AccuracyMetric, Metric> = {
  MEAN_ERROR: {
    sample: (outs, ref) => (100 * outs.reduce((a, out, k) => a + meanError(out.data, ref[k].data), 0)) / outs.length,
    combine: (v) => v.reduce((a, b) => a + b, 0) / v.length, lowerIsBetter: true, format: (v) => `${v.toFixed(3)}%`,
  },
  COSINE: {
    sample: (outs, ref) => Math.min(...outs.map((out, k) => cosineSimilarity(out.data, ref[k].data))),
    combine: (v) => Math.min(...v), lowerIsBetter: false, format: (v) => `cosine ${v.toFixed(5)}`,
  },
  SQNR: {
    sample: (outs, ref) => Math.min(...outs.map((out, k) => sqnrDb(ref[k].data, out.data))),
    combine: (v) => Math.min(...v), lowerIsBetter: false, format: (v) => `SQNR ${v.toFixed(2)} dB`,
  },
};

/** `a` is better than `b` in `metric`. */
const better = (metric: AccuracyMetric, a: number, b: number) => (METRICS[metric].lowerIsBetter ? a < b : a > b);
export const meetsTarget = (metric: AccuracyMetric, v: number, target: number) => (METRICS[metric].lowerIsBetter ? v <= target : v >= target);
export const formatMetric = (metric: AccuracyMetric, v: number) => METRICS[metric].format(v);

export interface FallbackReport {
  metric: AccuracyMetric;
  target: number;
  /** The error is measured on every calibration sample, each held back once in one of `folds` folds. */
  samples: number;
  folds: number;
  /** The metric on the held-back samples, all int8 and with the layers kept, cross-validated. */
  errorBefore: number;
  errorAfter: number;
  /** Layers computed in float (their weights stored int8 where weight quantization takes them). */
  keptFloat: string[];
  /** Share of the weight elements of int8-capable layers that int8 layers compute with. */
  int8ComputeShare: number;
  /** Share of the same weight elements stored as int8 (int8 layers and the kept layers' quantized weights). */
  int8WeightShare: number;
}

const MAX_FOLDS = 5;
/** Decoded samples and float reference outputs are each kept across trials up to this many bytes. */
const CACHE_BYTES = 64 << 20;

/** Memoizes `compute(i)` while the values fit in CACHE_BYTES; beyond, they are recomputed (memory stays bounded). */
function boundedCache<T>(compute: (i: number) => T, bytes: (v: T) => number): (i: number) => T {
  const cache = new Map<number, T>();
  let used = 0;
  return (i) => {
    const hit = cache.get(i);
    if (hit) return hit;
    const v = compute(i);
    const b = bytes(v);
    if (used + b <= CACHE_BYTES) {
      cache.set(i, v);
      used += b;
    }
    return v;
  };
}
const byteLength = (xs: { byteLength: number }[]) => xs.reduce((a, x) => a + x.byteLength, 0);

/** The samples at `indices` of a source. */
const subset = (s: SampleSource, indices: number[]): SampleSource => ({ count: indices.length, get: (i) => s.get(indices[i]) });

/** The kept layers compute in float from `bits`-bit weights, quantized as WeightQuant would (no size thresholds). */
function quantizeKeptWeights(g: Graph, keep: string[], bits: number): void {
  const kept = new Set(keep);
  weightQuantize(g, { bitNum: bits, minQuantWeightSize: 0, minQuantWeightChannel: 0, skipQuantNode: g.nodes.filter((n) => !kept.has(n.name)).map((n) => n.name) });
}

export async function fullQuantizeToTarget(g: Graph, samples: SampleSource, o: FullQuantOptions, target: number,
  log: (line: string) => void = () => {}, metric: AccuracyMetric = 'MEAN_ERROR'): Promise<FullQuantResult & { fallback: FallbackReport }> {
  if (samples.count < 2) throw new Error('accuracy_target needs at least 2 calibration samples (each is held back once)');
  const bits = o.bitNum ?? 8;
  const folds = Math.min(MAX_FOLDS, samples.count);
  const all = Array.from({ length: samples.count }, (_, i) => i);
  // Trials read every sample many times: decoded images are kept (within the cache's bound).
  const cached: SampleSource = { count: samples.count, get: boundedCache((i) => samples.get(i), byteLength) };
  const heldBack = (f: number) => all.filter((i) => i % folds === f);
  const calibration = (f: number) => subset(cached, all.filter((i) => i % folds !== f));
  const float = g.clone();
  const inputs = (i: number) => cached.get(i).map((data, k) => ({ shape: sampleShape(float, k, data.length), data }));
  const reference = boundedCache((i) => run(float, inputs(i)), (outs) => byteLength(outs.map((t) => t.data)));

  // Statistics once per fold, for every tensor any trial can need (trials quantize subsets of the same nodes).
  const collected: StatsCollector[] = [];
  for (let f = 0; f < folds; f++) {
    const stats = await (o.collect ?? cpuCollector)(float, calibration(f), { passes: passesFor(o.method), batchSize: o.batchSize ?? 8 });
    collected.push(async () => stats);
  }
  const candidates = [...selectQuantNodes(float, (n) => !(o.skipQuantNode ?? []).includes(n.name))].filter((n) => findOp(n.op)?.int8 === 'compute').map((n) => n.name);
  // Trials rank layers without bias correction (cheaper); the steps that decide are measured as configured.
  const m = METRICS[metric];
  const error = async (keep: string[], ranking = false) => {
    const values: number[] = [];
    for (let f = 0; f < folds; f++) {
      const q = float.clone();
      await fullQuantize(q, calibration(f), { ...o, collect: collected[f], skipQuantNode: [...(o.skipQuantNode ?? []), ...keep],
        biasCorrection: ranking ? false : o.biasCorrection, reportSamples: 0 });
      quantizeKeptWeights(q, keep, bits);
      for (const i of heldBack(f)) {
        await yieldToEventLoop();
        values.push(m.sample(run(q, inputs(i)), reference(i)));
      }
    }
    return m.combine(values);
  };

  const errorBefore = await error([]);
  let errorAfter = errorBefore;
  const keep: string[] = [];
  log(`accuracy target ${m.format(target)}: all int8 ${m.format(errorBefore)} on ${samples.count} samples (${folds}-fold)`);
  if (!meetsTarget(metric, errorBefore, target)) {
    // Sensitivity: the error with each layer alone kept in float, most helpful first.
    const alone: [string, number][] = [];
    for (const name of candidates) alone.push([name, await error([name], true)]);
    alone.sort((a, b) => (better(metric, a[1], b[1]) ? -1 : better(metric, b[1], a[1]) ? 1 : 0));
    const queue = alone.map(([name]) => name);
    const after = int8Successors(float, new Set(candidates));
    while (queue.length) {
      const name = queue.shift()!;
      const e = await error([...keep, name]);
      // a layer that does not help stays int8
      if (!better(metric, e, errorAfter)) {
        log(`  ${name} kept in float would give ${m.format(e)}: stays int8`);
        continue;
      }
      keep.push(name);
      errorAfter = e;
      log(`  ${name} kept in float: ${m.format(errorAfter)}`);
      if (meetsTarget(metric, errorAfter, target)) break;
      // Its successors are tried next: alone, their error was hidden behind this layer's (YOLOX's stem).
      const successors = (after.get(name) ?? []).filter((next) => queue.includes(next));
      for (const next of successors) queue.splice(queue.indexOf(next), 1);
      queue.unshift(...successors);
    }
  }
  // The layers are chosen; the model itself is calibrated on every sample.
  const final = await fullQuantize(g, samples, { ...o, skipQuantNode: [...(o.skipQuantNode ?? []), ...keep] });
  quantizeKeptWeights(g, keep, bits);
  return { ...final, fallback: { metric, target, samples: samples.count, folds, errorBefore, errorAfter, keptFloat: keep, ...weightShares(g, candidates) } };
}

/** Per candidate, the candidates its output reaches first (through any other nodes), nearest first. */
function int8Successors(g: Graph, candidates: Set<string>): Map<string, string[]> {
  const consumers = g.consumers();
  const out = new Map<string, string[]>();
  for (const n of g.nodes) {
    if (!candidates.has(n.name)) continue;
    const found: string[] = [], seen = new Set<Node>();
    let frontier = (consumers.get(n.outputs[0]) ?? []).slice();
    while (frontier.length) {
      const next: Node[] = [];
      for (const c of frontier) {
        if (seen.has(c)) continue;
        seen.add(c);
        if (candidates.has(c.name)) found.push(c.name);
        else for (const o of c.outputs) next.push(...(consumers.get(o) ?? []));
      }
      frontier = next;
    }
    out.set(n.name, found);
  }
  return out;
}

/** How much of the int8-capable layers' weights int8 layers compute with, and how much is stored int8. */
function weightShares(g: Graph, candidates: string[]): Pick<FallbackReport, 'int8ComputeShare' | 'int8WeightShare'> {
  const nodes = candidates.map((name) => g.nodes.find((n) => n.name === name)!);
  const elements = (ns: Node[]) => ns.reduce((a, n) => a + sizeOf(g.tensors[n.inputs[1]].shape), 0);
  const total = elements(nodes);
  return {
    int8ComputeShare: elements(nodes.filter((n) => n.quantType === QuantType.QUANT_ALL)) / total,
    int8WeightShare: elements(nodes.filter((n) => g.tensors[n.inputs[1]].dtype !== 'float32')) / total,
  };
}
