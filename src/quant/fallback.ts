/**
 * Accuracy-driven fallback (our extension, `[full_quant_param] accuracy_target=<mean relative error %>`):
 * calibrate on most of the calibration set, measure the quantized model's output error on the samples held
 * back, and while it is above the target keep one more int8 layer in float: the one whose float copy lowered
 * the error most when each was tried alone. Statistics are collected once; every trial re-quantizes a copy.
 * The chosen layers stay float in the final model, which is calibrated on the whole set.
 */
import type { Graph } from '../ir/graph.js';
import { sizeOf } from '../ir/graph.js';
import { findOp } from '../ir/op-registry.js';
import { run } from '../cpu/executor.js';
import { meanError } from '../bench/accuracy.js';
import { sampleShape } from '../ir/passes/index.js';
import { fullQuantize, selectQuantNodes, FullQuantOptions, FullQuantResult } from './full-quant.js';
import { cpuCollector, yieldToEventLoop } from './stats.js';
import { passesFor } from './calibrators.js';
import type { SampleSource, StatsCollector } from './stats.js';

export interface FallbackReport {
  target: number;
  heldBack: number;
  /**
   * Mean relative error (%) of the outputs on the held-back samples, all int8 and with the layers kept float,
   * both calibrated on the other samples.
   */
  errorBefore: number;
  errorAfter: number;
  keptFloat: string[];
  /** Share of the weight elements of int8-capable layers that are int8 in the result. */
  int8WeightShare: number;
}

/** Samples [from, from + count) of a source. */
const slice = (s: SampleSource, from: number, count: number): SampleSource => ({ count, get: (i) => s.get(from + i) });

export async function fullQuantizeToTarget(g: Graph, samples: SampleSource, o: FullQuantOptions, target: number,
  log: (line: string) => void = () => {}): Promise<FullQuantResult & { fallback: FallbackReport }> {
  if (samples.count < 2) throw new Error('accuracy_target needs at least 2 calibration samples (one is held back)');
  const heldBack = Math.max(1, Math.floor(samples.count / 5));
  const calib = slice(samples, 0, samples.count - heldBack), check = slice(samples, samples.count - heldBack, heldBack);
  const float = g.clone();
  const inputs = (i: number) => check.get(i).map((data, k) => ({ shape: sampleShape(float, k, data.length), data }));
  const reference = Array.from({ length: heldBack }, (_, i) => run(float, inputs(i)));
  const error = async (q: Graph) => {
    let sum = 0;
    for (let i = 0; i < heldBack; i++) {
      await yieldToEventLoop();
      const outs = run(q, inputs(i));
      sum += outs.reduce((a, out, k) => a + meanError(out.data, reference[i][k].data), 0) / outs.length;
    }
    return (100 * sum) / heldBack;
  };

  // Statistics once, for every tensor any trial can need (trials quantize subsets of the same nodes).
  const collected = await (o.collect ?? cpuCollector)(float, calib, { passes: passesFor(o.method), batchSize: o.batchSize ?? 8 });
  const cached: StatsCollector = async () => collected;
  const candidates = [...selectQuantNodes(float, (n) => !(o.skipQuantNode ?? []).includes(n.name))].filter((n) => findOp(n.op)?.int8 === 'compute').map((n) => n.name);
  // Trials rank layers without bias correction (cheaper); the steps that decide are measured as configured.
  const trial = async (keep: string[], ranking = false) => {
    const q = float.clone();
    const result = await fullQuantize(q, calib, { ...o, collect: cached, skipQuantNode: [...(o.skipQuantNode ?? []), ...keep],
      biasCorrection: ranking ? false : o.biasCorrection, reportSamples: ranking ? 0 : o.reportSamples });
    return { q, result, error: await error(q) };
  };

  const all = await trial([]);
  let best = all;
  const keep: string[] = [];
  log(`accuracy target ${target}%: all int8 ${all.error.toFixed(3)}% on ${heldBack} held-back sample(s)`);
  if (all.error > target) {
    // Sensitivity: the error with each layer alone left in float, most helpful first.
    const alone: [string, number][] = [];
    for (const name of candidates) alone.push([name, (await trial([name], true)).error]);
    alone.sort((a, b) => a[1] - b[1]);
    for (const [name] of alone) {
      keep.push(name);
      best = await trial(keep);
      log(`  ${name} kept in float: ${best.error.toFixed(3)}%`);
      if (best.error <= target) break;
    }
  }
  // The layers are chosen; the model itself is calibrated on every sample, held-back ones included.
  const final = await fullQuantize(g, samples, { ...o, skipQuantNode: [...(o.skipQuantNode ?? []), ...keep] });
  const weights = (names: string[]) => names.reduce((a, name) => a + sizeOf(float.tensors[float.nodes.find((n) => n.name === name)!.inputs[1]].shape), 0);
  return {
    ...final,
    fallback: { target, heldBack, errorBefore: all.error, errorAfter: best.error, keptFloat: keep, int8WeightShare: 1 - weights(keep) / weights(candidates) },
  };
}
