/**
 * Full quantization (QUANT_ALL): int8 activations calibrated on a data set, per-channel symmetric int8
 * weights, int32 bias, QuantDTypeCast at every float/int8 border, optional bias correction of convolutions.
 * The one place that decides which nodes run int8 (MindSpore's MODERN CPU list) and why.
 */
import { Graph, Node, QuantParam } from '../ir/graph.js';
import { TypeId, QuantType } from '../ir/schema/ops.js';
import { findOp } from '../ir/op-registry.js';
import { clampInt32, INT32_MAX } from '../ir/numeric.js';
import { encodeMinMax, quantize, roundHalfAway } from './params.js';
import { preferredDim, channelOf } from './preferred-dim.js';
import { activationRange, passesFor, CalibrationMethod, ActivationRange } from './calibrators.js';
import type { SampleSource, TensorStats, StatsCollector } from './stats.js';
import { yieldToEventLoop, cpuCollector, batches, prefetchAround } from './stats.js';
import { run } from '../cpu/executor.js';
import { conv2dInt8 } from '../cpu/int8.js';
import { MAX_RIGHT_SHIFT } from './fixed-point.js';
import { int8Divergences, Int8Divergence } from './int8-check.js';
import type { RT } from '../ir/tensor.js';
import { sampleShape } from '../ir/passes/index.js';

/**
 * Calibration samples the CLI's and the API's report (cosines, clipped shares) is measured on by default: each
 * runs the float and the int8 model once more, which on 100 SqueezeNet photos was 6 of a conversion's 11
 * seconds; the first 16 give the same cosines to 4e-4.
 */
export const REPORT_SAMPLES = 16;

export interface FullQuantOptions {
  method: CalibrationMethod;
  /** 1..8: int8 storage; below 8 the integer range is restricted. */
  bitNum?: number;
  perChannel?: boolean;
  biasCorrection?: boolean;
  batchSize?: number;
  /** Where statistics come from (calibrate.ts's `statisticsCollector` picks the GPU); the CPU executor by default. */
  collect?: StatsCollector;
  /** Samples used for the accuracy part of the report (the whole set when absent). */
  reportSamples?: number;
  /** Also collect |x| histograms (for plots) whatever the method needs. */
  histograms?: boolean;
  /** Nodes that stay float (`skip_quant_node`), e.g. the layers a sensitivity run finds costly. */
  skipQuantNode?: string[];
  /**
   * MaxPool (without a fused activation) runs int8 too, as data movement: the max of int8 values with the input's
   * parameters on the output is exact (MindSpore's PropagateQuantParamPass treats pooling the same way, and the
   * runtime's MaxPoolingOptInt8 is a plain max when the parameters agree). Off by default, where MindSpore's CPU
   * node selection keeps pooling float; on for int8 graph I/O, so the graph has no QuantDTypeCast left.
   */
  int8Pooling?: boolean;
  /**
   * Also calibrate these tensors (graph inputs and outputs that int8 graph I/O needs parameters for even where
   * no int8 node reads or writes them): their ranges are in the result's `ranges`.
   */
  alsoCalibrate?: number[];
}

export interface QuantReportRow {
  tensor: string;
  min: number;
  max: number;
  scale: number;
  zeroPoint: number;
  clippedFraction: number;
  cosine: number;
}

export interface FullQuantResult {
  device: string;
  /** Statistics of every calibrated tensor, by name (what the browser demo plots). */
  stats: Map<string, TensorStats>;
  quantizedNodes: string[];
  floatNodes: string[];
  rows: QuantReportRow[];
  ranges: Map<number, ActivationRange>;
  /** int8 nodes more than one step from their float recomputation on the first sample (int8-check.ts): a wrong kernel, not a range. */
  divergences?: Int8Divergence[];
}

/** The node's full-quantization role from its op's definition: int8 compute with a weight, or int8 data movement. */
function int8Role(n: Node, int8Pooling = false): 'compute' | 'move' | undefined {
  if (int8Pooling && n.op === 'MaxPoolFusion' && !n.attrs.activation_type) return 'move';
  return findOp(n.op)?.int8;
}

function isFloatData(g: Graph, id: number): boolean {
  return id >= 0 && !g.isConst(id) && g.tensors[id].dtype === 'float32';
}

/**
 * Nodes that will run int8: conv / FC / MatMul with a constant weight, and the data movement between them
 * (`eligible` narrows the choice: a quantization-aware model's nodes need its parameters on their tensors).
 */
export function selectQuantNodes(g: Graph, eligible: (n: Node) => boolean = () => true, int8Pooling = false): Set<Node> {
  const q = new Set<Node>();
  for (const n of g.nodes) {
    if (int8Role(n) !== 'compute' || !isFloatData(g, n.inputs[0]) || !eligible(n)) continue;
    const w = g.tensors[n.inputs[1]];
    if (!(w?.data instanceof Float32Array) || w.shape.length < 2) continue;
    if (n.op === 'MatMulFusion' && (w.shape.length !== 2 || n.attrs.transpose_a)) continue;
    q.add(n);
  }
  // Reshape / Transpose join in when they touch an int8 neighbour; alone they would only add casts.
  const prod = g.producers(), cons = g.consumers();
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of g.nodes) {
      if (int8Role(n, int8Pooling) !== 'move' || q.has(n) || !isFloatData(g, n.inputs[0]) || !eligible(n)) continue;
      const p = prod.get(n.inputs[0]);
      const users = cons.get(n.outputs[0]) ?? [];
      if ((p && q.has(p)) || (users.length && users.every((u) => q.has(u)))) {
        q.add(n);
        grew = true;
      }
    }
  }
  return q;
}

export function activationParam(r: { scale: number; zeroPoint: number }, bits: number): QuantParam {
  return { scale: r.scale, zeroPoint: r.zeroPoint, min: 0, max: 0, narrowRange: true, numBits: bits, inited: true, varCorr: 1, meanCorr: 0, dstDtype: TypeId.int8, roundType: 1, multiplier: 1 };
}

/**
 * Makes the selected nodes int8: QUANT_ALL, weights and int32 bias quantized (with `weightParams` when the
 * model gives them), int8 outputs with their activation parameters, QuantDTypeCast at every float border.
 * Returns, per float tensor an int8 node reads, the int8 tensor that carries it.
 */
function quantizeNodes(g: Graph, quantNodes: Set<Node>, param: (id: number) => QuantParam, perChannel: boolean, wMax: number,
  weightParams: (n: Node) => QuantParam[] | undefined = () => undefined): Map<number, number> {
  const order = g.nodes.filter((n) => quantNodes.has(n));
  for (const n of order) {
    n.quantType = QuantType.QUANT_ALL;
    if (int8Role(n) === 'compute') quantizeWeightAndBias(g, n, param(n.inputs[0]), param(n.outputs[0]), perChannel, wMax, weightParams(n));
  }
  for (const n of order) Object.assign(g.tensors[n.outputs[0]], { dtype: 'int8', quant: [param(n.outputs[0])] });
  return insertCasts(g, quantNodes, param);
}

/**
 * A quantization-aware model (a fully int8 TFLite file) imported as float with each tensor's own parameters in
 * `quant`: the nodes our int8 executor runs become int8 with exactly those scales and zero points (weights and
 * bias too), the rest stay float between QuantDTypeCasts, and float tensors drop the parameters.
 */
export function quantizeAsGiven(g: Graph): void {
  const given = (id: number) => id >= 0 && !!g.tensors[id].quant?.length && !g.isConst(id);
  const quantNodes = selectQuantNodes(g, (n) => given(n.inputs[0]) && given(n.outputs[0]));
  const params = new Map<number, QuantParam>();
  g.tensors.forEach((t, id) => given(id) && params.set(id, t.quant![0]));
  quantizeNodes(g, quantNodes, (id) => params.get(id)!, true, 127, (n) => g.tensors[n.inputs[1]].quant);
  for (const t of g.tensors) if (t.dtype === 'float32' && t.quant) delete t.quant;
}

export async function fullQuantize(g: Graph, samples: SampleSource, o: FullQuantOptions): Promise<FullQuantResult> {
  const bits = o.bitNum ?? 8;
  const aRange: [number, number] = [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
  const wMax = 2 ** (bits - 1) - 1;
  const skip = new Set(o.skipQuantNode ?? []);
  const quantNodes = selectQuantNodes(g, (n) => !skip.has(n.name), o.int8Pooling);
  const order = g.nodes.filter((n) => quantNodes.has(n));
  const tensors = new Set<number>();
  for (const n of order) {
    if (isFloatData(g, n.inputs[0])) tensors.add(n.inputs[0]);
    tensors.add(n.outputs[0]);
  }
  // The report covers the int8 borders; graph I/O asked for besides is calibrated only.
  const calibrated = new Set([...tensors, ...(o.alsoCalibrate ?? []).filter((id) => isFloatData(g, id))]);
  const passes = passesFor(o.method);
  if (o.histograms && !passes.includes('histogram')) passes.push('histogram');
  const { stats, device } = await (o.collect ?? cpuCollector)(g, samples, { passes, batchSize: o.batchSize ?? 8, tensors: [...calibrated] });
  const ranges = new Map<number, ActivationRange>();
  for (const id of calibrated) ranges.set(id, activationRange(o.method, stats.get(id)!, aRange[0], aRange[1]));
  // Data movement does not change values: its output keeps its input's parameters exactly.
  for (const n of order) if (int8Role(n, o.int8Pooling) === 'move') ranges.set(n.outputs[0], ranges.get(n.inputs[0])!);

  // Float copies of what bias correction and the report compare against.
  const floatGraph = g.clone();
  const int8Of = quantizeNodes(g, quantNodes, (id) => activationParam(ranges.get(id)!, bits), o.perChannel ?? true, wMax);
  if (o.biasCorrection) await biasCorrect(g, floatGraph, order.filter((n) => n.op === 'Conv2DFusion'), samples);
  const rows = await report(g, floatGraph, samples, tensors, int8Of, o.reportSamples);
  const first = samples.count && o.reportSamples !== 0 ? samples.get(0) : undefined;
  const divergences = first && int8Divergences(g, g.inputs.map((_, k) => ({ shape: sampleShape(g, k, first[k].length), data: first[k] })));
  return {
    device, rows, ranges, divergences, stats: new Map([...stats.values()].map((st) => [st.name, st])),
    quantizedNodes: order.map((n) => n.name),
    floatNodes: g.nodes.filter((n) => n.quantType !== 5 && n.op !== 'QuantDTypeCast').map((n) => n.name),
  };
}

/**
 * The smallest weight scale whose requantization multiplier in_scale * w_scale / out_scale the runtime computes
 * correctly: 2^-31, a right shift of 30 or 31. A smaller one (a dead channel: weights of 1e-28 get MindSpore's
 * 1e-10 range floor, a scale of 7.9e-13) makes a right shift of 40, which nnacl's C shifts get wrong (x86
 * masks the count to 5 bits: the channel saturates). Raising the scale to this floor changes nothing the
 * output can show: every such weight contributes less than one output step at either scale (|sum| < 2^31).
 */
const weightScaleFloor = (inScale: number, outScale: number) => (outScale * 2 ** -MAX_RIGHT_SHIFT) / inScale;

/**
 * Per-channel symmetric weights (zp 0, [-127, 127] at 8 bits) and int32 bias with the overflow rule; a
 * quantization-aware model's own weight parameters (`given`, one or one per channel) are used as they are.
 */
function quantizeWeightAndBias(g: Graph, n: Node, input: { scale: number }, output: { scale: number }, perChannel: boolean, wMax: number,
  given?: QuantParam[]): void {
  const w = g.tensors[n.inputs[1]];
  const data = w.data as Float32Array;
  const dim = given ? (given.length > 1 ? preferredDim(g, n, 1) : -1) : perChannel ? preferredDim(g, n, 1) : -1;
  const channels = dim < 0 ? 1 : w.shape[dim];
  const chan = dim < 0 ? () => 0 : channelOf(w.shape, dim);
  let params: QuantParam[] = [];
  if (given) {
    if (given.length !== channels) throw new Error(`${n.name}: ${given.length} weight parameters for ${channels} channels`);
    params = given.map((p) => ({ ...p }));
  } else {
    const absMax = new Float64Array(channels);
    for (let j = 0; j < data.length; j++) absMax[chan(j)] = Math.max(absMax[chan(j)], Math.abs(data[j]));
    const min = new Float64Array(channels).fill(Infinity), max = new Float64Array(channels).fill(-Infinity);
    if (dim < 0) for (const v of data) { min[0] = Math.min(min[0], v); max[0] = Math.max(max[0], v); }
    for (let c = 0; c < channels; c++) {
      // per channel: symmetric [-wMax, wMax]; per layer: asymmetric [-wMax-1, wMax]
      const e = dim < 0 ? encodeMinMax(min[0], max[0], -wMax - 1, wMax) : encodeMinMax(-absMax[c], absMax[c], -wMax, wMax, true);
      const scale = Math.max(e.scale, weightScaleFloor(input.scale, output.scale));
      params.push({ scale, zeroPoint: e.zeroPoint, min: 0, max: 0, narrowRange: true, numBits: 8, inited: true, varCorr: 1, meanCorr: 0, dstDtype: TypeId.int8, roundType: 1, multiplier: 1 });
    }
  }
  const biasId = n.inputs[2];
  const bias = biasId !== undefined ? (g.tensors[biasId].data as Float32Array) : undefined;
  const biasScale = new Float64Array(bias?.length ?? 0);
  if (bias) {
    for (let c = 0; c < bias.length; c++) {
      const p = params[channels === 1 ? 0 : c];
      let s = input.scale * p.scale || 1;
      // A bias too large for int32 at this scale widens the channel's weight scale instead (a model's own
      // parameters are kept: its int32 bias fitted them).
      if (!given && Math.abs(bias[c] / s) >= 0.5 * INT32_MAX && channels > 1) {
        p.scale = Math.abs(bias[c]) / (input.scale * 0.5 * INT32_MAX);
        p.zeroPoint = 0;
        s = Math.abs(bias[c]) / (0.5 * INT32_MAX);
      }
      biasScale[c] = s;
    }
  }
  const q = new Int8Array(data.length);
  for (let j = 0; j < data.length; j++) {
    const p = params[chan(j)];
    q[j] = quantize(data[j], p.scale, p.zeroPoint, dim < 0 ? -wMax - 1 : -wMax, wMax);
  }
  g.tensors[n.inputs[1]] = { ...w, dtype: 'int8', data: q, quant: params, compress: 0 };
  if (bias && biasId !== undefined) {
    const bq = Int32Array.from(bias, (b, c) => clampInt32(roundHalfAway(b / biasScale[c])));
    g.tensors[biasId] = { ...g.tensors[biasId], dtype: 'int32', data: bq, quant: Array.from(biasScale, (s) => ({ scale: s, zeroPoint: 0, min: 0, max: 0, narrowRange: true, numBits: 32, inited: true, varCorr: 1, meanCorr: 0, dstDtype: TypeId.int32, roundType: 1, multiplier: 1 })) };
  }
}


/**
 * Per sample, each watched conv's float input quantized with the conv's input parameters and its float output,
 * from one run of the float graph: what bias correction compares the int8 kernel with.
 */
async function forEachConvSample(g: Graph, floatGraph: Graph, convs: Node[], samples: SampleSource,
  visit: (conv: Node, xq: RT, floatOut: RT) => void): Promise<void> {
  const floatNode = new Map(floatGraph.nodes.map((n) => [n.name, n]));
  const watch = new Map<number, Node>(); // float-graph conv output -> quantized conv
  for (const c of convs) watch.set(floatNode.get(c.name)!.outputs[0], c);
  // Only the watched convs' inputs and outputs are kept from each run.
  const wanted = new Set<number>([...watch.keys(), ...convs.map((c) => floatNode.get(c.name)!.inputs[0])]);
  const list = batches(samples.count, PREFETCH);
  for (const [b, [start, end]] of list.entries()) {
    prefetchAround(samples, list, b); // images decode ahead while this stretch computes
    for (let s = start; s < end; s++) {
      await yieldToEventLoop();
      const values = new Map<number, RT>();
      const sample = samples.get(s);
      const inputs = floatGraph.inputs.map((_, k) => ({ shape: sampleShape(floatGraph, k, sample[k].length), data: sample[k] }));
      floatGraph.inputs.forEach((id, k) => values.set(id, inputs[k]));
      run(floatGraph, inputs, { observe: (id, v) => wanted.has(id) && values.set(id, v) });
      for (const [outId, conv] of watch) {
        const fIn = values.get(floatNode.get(conv.name)!.inputs[0])!;
        visit(conv, { shape: fIn.shape, data: quantizeForCorrection(fIn.data as Float32Array, g.tensors[conv.inputs[0]].quant![0]) }, values.get(outId)!);
      }
    }
  }
}

/** Samples decoded ahead of bias correction's runs. */
const PREFETCH = 8;

/** round(x / scale + zp) half away from zero, clamped to int8 (in double: bias correction's own quantization). */
function quantizeForCorrection(x: Float32Array, q: QuantParam): Int8Array {
  const scale = q.scale, zp = q.zeroPoint, out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] / scale + zp;
    const r = v < 0 ? -Math.round(-v) : Math.round(v);
    out[i] = r < -128 ? -128 : r > 127 ? 127 : r;
  }
  return out;
}

/** The conv's int8 output on `xq` with the int32 bias `bias` (none when undefined). */
function convInt8With(g: Graph, conv: Node, xq: RT, bias: Int32Array | undefined): RT {
  const w = g.tensors[conv.inputs[1]];
  const ins: RT[] = [xq, { shape: w.shape, data: w.data! }];
  if (bias) ins.push({ shape: [bias.length], data: bias });
  return conv2dInt8(conv, ins, g)[0];
}

/**
 * Bias correction (Conv2DFusion), MindSpore's BiasCorrection: per sample, the conv's float input is quantized and
 * run through the int8 kernel; the mean per output channel of (float output - dequantized int8 output), averaged
 * over samples, is added to the int32 bias (clamped to +-0.6 * INT32_MAX), or becomes the bias of a conv that had
 * none. Beyond MindSpore, a second pass keeps a channel's correction only where it lowers that channel's squared
 * error on the same samples: a mean error that a bias cannot remove (a clipped or saturated channel) is then left
 * alone instead of being driven towards the clamp.
 */
async function biasCorrect(g: Graph, floatGraph: Graph, convs: Node[], samples: SampleSource): Promise<void> {
  if (!convs.length) return;
  const biasOf = (conv: Node) => (conv.inputs[2] === undefined ? undefined : (g.tensors[conv.inputs[2]].data as Int32Array));
  /** Per channel, adds (float - dequantized int8) / pixels to `mean` (when given) and its square to `squares`. */
  const dequantizedError = (conv: Node, out: RT, floatOut: RT, squares: Float64Array, mean?: Float64Array) => {
    const { scale, zeroPoint } = g.tensors[conv.outputs[0]].quant![0];
    const oc = floatOut.shape[floatOut.shape.length - 1];
    const f = floatOut.data as Float32Array, q = out.data as Int8Array, pixels = f.length / oc;
    for (let i = 0; i < f.length; i += oc)
      for (let c = 0; c < oc; c++) {
        const e = f[i + c] - (q[i + c] - zeroPoint) * scale;
        if (mean) mean[c] += e / pixels;
        squares[c] += e * e;
      }
  };
  // Pass 1: the mean error per channel (the correction: summed per sample, then over samples) and the squared
  // error with the bias as it is.
  const diffs = new Map<Node, { mean: Float64Array; before: Float64Array }>();
  await forEachConvSample(g, floatGraph, convs, samples, (conv, xq, floatOut) => {
    const oc = floatOut.shape[floatOut.shape.length - 1];
    const d = diffs.get(conv) ?? { mean: new Float64Array(oc), before: new Float64Array(oc) };
    dequantizedError(conv, convInt8With(g, conv, xq, biasOf(conv)), floatOut, d.before, d.mean);
    diffs.set(conv, d);
  });
  const limit = 0.6 * INT32_MAX;
  const corrected = new Map<Node, { bias: Int32Array; scales: number[] }>();
  for (const [conv, { mean }] of diffs) {
    const wQ = g.tensors[conv.inputs[1]].quant!, inScale = g.tensors[conv.inputs[0]].quant![0].scale;
    const old = biasOf(conv);
    const scales = old ? g.tensors[conv.inputs[2]].quant!.map((q) => q.scale) : Array.from(mean, (_, c) => inScale * wQ[wQ.length > 1 ? c : 0].scale || 1);
    const bias = Int32Array.from(mean, (v, c) => Math.max(-limit, Math.min(limit, (old ? old[c] : 0) + roundHalfAway(v / samples.count / scales[c]))));
    corrected.set(conv, { bias, scales });
  }
  // Pass 2: the squared error with the corrected bias; a channel it made worse keeps its bias.
  const after = new Map<Node, Float64Array>();
  await forEachConvSample(g, floatGraph, convs, samples, (conv, xq, floatOut) => {
    const e = after.get(conv) ?? new Float64Array(floatOut.shape[floatOut.shape.length - 1]);
    dequantizedError(conv, convInt8With(g, conv, xq, corrected.get(conv)!.bias), floatOut, e);
    after.set(conv, e);
  });
  for (const [conv, { bias: tried, scales }] of corrected) {
    const before = diffs.get(conv)!.before, worse = after.get(conv)!;
    const old = biasOf(conv);
    // a new array: kernels keep what they derived from the one pass 2 ran with (wasm/int8's cached arguments)
    const bias = Int32Array.from(tried, (v, c) => (worse[c] > before[c] ? (old ? old[c] : 0) : v));
    if (old) g.tensors[conv.inputs[2]] = { ...g.tensors[conv.inputs[2]], data: bias };
    else if (bias.some((v) => v !== 0)) conv.inputs[2] = g.addTensor({ name: `${conv.name}_bias`, dtype: 'int32', data: bias, shape: [bias.length], format: 0,
      quant: scales.map((s) => ({ scale: s, zeroPoint: 0, min: 0, max: 0, narrowRange: true, numBits: 32, inited: true, varCorr: 1, meanCorr: 0, dstDtype: TypeId.int32, roundType: 1, multiplier: 1 })) });
  }
}

/**
 * QuantDTypeCast float->int8 in front of int8 nodes fed by float data (`<node>_input0_pre_cast`), int8->float
 * behind them for float users and graph outputs (`<producer>_post_cast`). Returns, for every calibrated
 * tensor, the int8 tensor that carries it.
 */
function insertCasts(g: Graph, quantNodes: Set<Node>, param: (id: number) => QuantParam): Map<number, number> {
  const prod = g.producers();
  const isInt8 = (id: number) => { const p = prod.get(id); return !!p && quantNodes.has(p); };
  const int8Of = new Map<number, number>();
  const floatOf = new Map<number, number>();
  const before = new Map<Node, Node[]>();
  const addCast = (at: Node, name: string, input: number, output: number, src: number, dst: number) =>
    before.set(at, [...(before.get(at) ?? []), { name, op: 'QuantDTypeCast', attrs: { src_t: src, dst_t: dst, axis: 0 }, inputs: [input], outputs: [output], quantType: 0 }]);
  const floatCopy = (id: number, at: Node): number => {
    let f = floatOf.get(id);
    if (f === undefined) {
      const t = g.tensors[id];
      f = g.addTensor({ ...t, name: `${t.name}_post_cast`, dtype: 'float32', quant: t.quant?.map((p) => ({ ...p })) });
      floatOf.set(id, f);
      addCast(at, `${prod.get(id)!.name}_post_cast`, id, f, TypeId.int8, TypeId.float32);
    }
    return f;
  };
  for (const n of [...g.nodes]) {
    if (quantNodes.has(n)) {
      const id = n.inputs[0];
      int8Of.set(n.outputs[0], n.outputs[0]);
      if (isInt8(id)) { int8Of.set(id, id); continue; }
      let c = int8Of.get(id);
      if (c === undefined) {
        c = g.addTensor({ ...g.tensors[id], name: `${n.name}_input0_pre_cast`, dtype: 'int8', quant: [param(id)] });
        int8Of.set(id, c);
        addCast(n, `${n.name}_input0_pre_cast`, id, c, TypeId.float32, TypeId.int8);
      }
      n.inputs[0] = c;
    } else {
      n.inputs = n.inputs.map((id) => (id >= 0 && isInt8(id) ? floatCopy(id, n) : id));
    }
  }
  // Graph outputs stay float32 with their names; the int8 tensor behind one is renamed.
  const last = g.nodes[g.nodes.length - 1];
  g.outputs = g.outputs.map((id) => {
    if (!isInt8(id)) return id;
    const name = g.tensors[id].name;
    const f = floatCopy(id, last);
    g.tensors[id].name = `${name}_int8`;
    g.tensors[f].name = name;
    return f;
  });
  g.nodes = g.nodes.flatMap((n) => [...(before.get(n) ?? []), n]);
  g.topoSort(); // a cast queued before the last node may belong after it
  return int8Of;
}

/** Per quantized tensor: range, scale, zero point, share of float values clipped, cosine of dequantized vs float. */
async function report(g: Graph, floatGraph: Graph, samples: SampleSource, tensors: Set<number>, int8Of: Map<number, number>, limit?: number): Promise<QuantReportRow[]> {
  const n = Math.min(samples.count, limit ?? samples.count);
  const acc = new Map<number, { clipped: number; count: number; dot: number; nf: number; nq: number }>();
  const watched = new Map([...tensors].map((id) => [int8Of.get(id)!, id]));
  for (let s = 0; s < n; s++) {
    await yieldToEventLoop();
    const x = samples.get(s);
    const inputs = (gr: Graph) => gr.inputs.map((_, k) => ({ shape: sampleShape(gr, k, x[k].length), data: x[k] }));
    const floatVals = new Map<number, RT>(floatGraph.inputs.map((id, k) => [id, { shape: sampleShape(floatGraph, k, x[k].length), data: x[k] }]));
    run(floatGraph, inputs(floatGraph), { observe: (id, v) => tensors.has(id) && floatVals.set(id, v) });
    run(g, inputs(g), {
      observe: (qid, v) => {
        const id = watched.get(qid);
        if (id === undefined) return;
        const f = floatVals.get(id)!;
        const q = g.tensors[qid].quant![0];
        const lo = (-128 - q.zeroPoint) * q.scale, hi = (127 - q.zeroPoint) * q.scale;
        const a = acc.get(id) ?? { clipped: 0, count: 0, dot: 0, nf: 0, nq: 0 };
        for (let i = 0; i < v.data.length; i++) {
          const fv = f.data[i], dq = (v.data[i] - q.zeroPoint) * q.scale;
          if (fv < lo - q.scale / 2 || fv > hi + q.scale / 2) a.clipped++;
          a.dot += fv * dq;
          a.nf += fv * fv;
          a.nq += dq * dq;
        }
        a.count += v.data.length;
        acc.set(id, a);
      },
    });
  }
  return [...tensors].map((id) => {
    const q = g.tensors[int8Of.get(id)!].quant![0], a = acc.get(id);
    return {
      tensor: floatGraph.tensors[id].name, min: (-128 - q.zeroPoint) * q.scale, max: (127 - q.zeroPoint) * q.scale, scale: q.scale, zeroPoint: q.zeroPoint,
      clippedFraction: a ? a.clipped / a.count : 0,
      cosine: a ? (a.nf === 0 && a.nq === 0 ? 1 : a.dot / Math.sqrt(a.nf * a.nq || 1)) : NaN,
    };
  });
}
