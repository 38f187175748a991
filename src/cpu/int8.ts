/**
 * int8 kernels as MindSpore Lite's CPU runtime runs full-quantized nodes: int8 activations with one
 * QuantParam each, per-channel symmetric int8 weights, int32 bias; int32 accumulation, then requantization
 * with the per-channel real multiplier in_scale * w_scale / out_scale (Q31 fixed point), output zero point,
 * and the fused activation clamped in the quantized domain. QuantDTypeCast converts at the float borders.
 */
import type { Graph, Node, QuantParam } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { RT, size } from '../ir/tensor.js';
import { convAccumulate } from './conv.js';
import { forEachPoolWindow } from './pool.js';
import { convGeometry, poolGeometry, PoolGeometry } from '../ir/op-params.js';
import { gemmNT } from './gemm.js';
import { requantMultiplier, multiplyByQuantizedMultiplier } from '../quant/fixed-point.js';
import { roundHalfAway } from '../quant/params.js';
import { clampInt32 } from '../ir/numeric.js';
import { ActivationType as A, TypeId, QuantType } from '../ir/schema/ops.js';
import { wasmConvInt8, wasmGemmInt8, wasmQuantize, wasmDequantize, wasmMaxPoolInt8, Requant } from './wasm/int8.js';

function qparam(g: Graph, id: number, what: string, node: Node): QuantParam {
  const q = g.tensors[id].quant?.[0];
  if (!q) throw new UserError(`${node.op} ${node.name}: ${what} ${g.tensors[id].name} has no quant params`);
  return q;
}

/** Integer values minus the zero point, as float (exact for int8 / int32). */
function centered(data: ArrayLike<number>, zp: (i: number) => number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] - zp(i);
  return out;
}

/** float -> int8 as the runtime's QuantizeToInt8 / DoQuantizeFp32ToInt8: float arithmetic, C's round(). */
function quantizeFloat(v: number, inverseScale: number, zp: number): number {
  return roundHalfAway(Math.fround(Math.fround(v * inverseScale) + zp));
}

/** Quantized [min, max] of the output after the fused activation (CalculateActivationRangeQuantized). */
function activationRange(act: number, out: QuantParam): [number, number] {
  const f = Math.fround;
  const q = (v: number) => roundHalfAway(f(f(v / f(out.scale)) + out.zeroPoint));
  let lo = -128, hi = 127;
  if (act === A.RELU || act === A.RELU6) lo = Math.max(lo, out.zeroPoint);
  if (act === A.RELU6) hi = Math.min(hi, q(6));
  return [lo, hi];
}

/** Requantization parameters per weight-parameter array and the scales around it: made once, not per run. */
const requantCache = new WeakMap<QuantParam[], Map<string, Requant>>();

/** How a node's int32 sums become int8: per-channel Q31 multipliers, output zero point, activation clamp. */
function requantParams(channels: number, inScale: number, wParams: QuantParam[], out: QuantParam, act: number): Requant {
  const key = `${channels}/${inScale}/${out.scale}/${out.zeroPoint}/${act}`;
  let byKey = requantCache.get(wParams);
  if (!byKey) requantCache.set(wParams, (byKey = new Map()));
  let r = byKey.get(key);
  if (!r) {
    const mults = [];
    for (let c = 0; c < channels; c++) mults.push(requantMultiplier(inScale, (wParams.length > 1 ? wParams[c] : wParams[0]).scale, out.scale));
    const [lo, hi] = activationRange(act, out);
    byKey.set(key, (r = { mults, zeroPoint: out.zeroPoint, lo, hi }));
  }
  return r;
}

/** int32 accumulators [rows, channels] -> int8 with a per-channel multiplier. */
function requantize(acc: Float64Array, channels: number, r: Requant): Int8Array {
  const res = new Int8Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    const v = r.zeroPoint + multiplyByQuantizedMultiplier(clampInt32(acc[i]), r.mults[i % channels]);
    res[i] = v < r.lo ? r.lo : v > r.hi ? r.hi : v;
  }
  return res;
}

function weightZp(w: QuantParam[], channelOf: (i: number) => number): (i: number) => number {
  return w.length > 1 ? (i) => w[channelOf(i)].zeroPoint : () => w[0].zeroPoint;
}

/** Output shape, channel count and requantization of an int8 conv / FC / MatMul node on an input of `xShape`. */
function int8Layer(node: Node, xShape: number[], wShape: number[], g: Graph): { shape: number[]; channels: number; r: Requant } {
  const inQ = qparam(g, node.inputs[0], 'input', node), outQ = qparam(g, node.outputs[0], 'output', node);
  const wQ = g.tensors[node.inputs[1]].quant!;
  const act = (node.attrs.activation_type as number) ?? 0;
  if (node.op === 'Conv2DFusion') {
    const geo = convGeometry(node, xShape, wShape);
    return { shape: [geo.n, geo.oh, geo.ow, geo.oc], channels: geo.oc, r: requantParams(geo.oc, inQ.scale, wQ, outQ, act) };
  }
  const { outC, inC } = matMulDims(node, wShape);
  const shape = node.op === 'FullConnection' && !node.attrs.use_axis ? [size(xShape) / inC, outC] : [...xShape.slice(0, -1), outC];
  return { shape, channels: outC, r: requantParams(outC, inQ.scale, wQ, outQ, act) };
}

/** FullConnection's and transpose_b MatMul's weights are [N, K]; a plain MatMul's [K, N]. */
function matMulDims(node: Node, wShape: number[]): { outC: number; inC: number; rowsFirst: boolean } {
  if (wShape.length !== 2 || node.attrs.transpose_a) throw new UserError(`${node.op} ${node.name}: int8 kernel supports 2-D weights without transpose_a`);
  const rowsFirst = node.op === 'FullConnection' || !!node.attrs.transpose_b;
  const [outC, inC] = rowsFirst ? wShape : [wShape[1], wShape[0]];
  return { outC, inC, rowsFirst };
}

/**
 * The exact int32 sums (bias included) of an int8 conv / FC / MatMul before requantization, by the TypeScript
 * reference: what the int8 result is a rounding of (tests measure how far the runtime's fixed point rounds
 * from them). Also the layer's output shape and requantization.
 */
export function int8Sums(node: Node, [x, w, bias]: RT[], g: Graph): { sums: Float64Array; shape: number[]; channels: number; r: Requant } {
  const layer = int8Layer(node, x.shape, w.shape, g);
  const xZp = qparam(g, node.inputs[0], 'input', node).zeroPoint;
  const wQ = g.tensors[node.inputs[1]].quant!;
  const sums = new Float64Array(size(layer.shape));
  if (node.op === 'Conv2DFusion') {
    const geo = convGeometry(node, x.shape, w.shape);
    const per = size(w.shape) / w.shape[0];
    convAccumulate(geo, centered(x.data, () => xZp), centered(w.data, weightZp(wQ, (i) => Math.floor(i / per))), bias?.data, sums);
    return { sums, ...layer };
  }
  const { outC, inC } = matMulDims(node, w.shape);
  gemmNT(size(x.shape) / inC, outC, inC, centered(x.data, () => xZp), inC, weightRows(node, w, wQ), inC, sums, outC);
  if (bias) for (let i = 0; i < sums.length; i += outC) for (let c = 0; c < outC; c++) sums[i + c] += bias.data[c];
  return { sums, ...layer };
}

/** Centered FC / MatMul weights with one row per output channel ([K, N] transposed to [N, K]). */
function weightRows(node: Node, w: RT, wQ: QuantParam[]): Float32Array {
  const { outC, inC, rowsFirst } = matMulDims(node, w.shape);
  if (rowsFirst) return centered(w.data, weightZp(wQ, (i) => Math.floor(i / inC)));
  const c = centered(w.data, weightZp(wQ, (i) => i % outC));
  const rows = new Float32Array(c.length);
  for (let k = 0; k < inC; k++) for (let n = 0; n < outC; n++) rows[n * inC + k] = c[k * outC + n];
  return rows;
}

export function conv2dInt8(node: Node, ins: RT[], g: Graph): RT[] {
  const [x, w, bias] = ins;
  const geo = convGeometry(node, x.shape, w.shape);
  const inQ = qparam(g, node.inputs[0], 'input', node);
  const wQ = g.tensors[node.inputs[1]].quant!;
  const per = size(w.shape) / w.shape[0];
  const { shape, r } = int8Layer(node, x.shape, w.shape, g);
  const fast = wasmConvInt8(geo, x.data as Int8Array, inQ.zeroPoint, w.data as Int8Array, weightZp(wQ, (i) => Math.floor(i / per)), bias?.data as Int32Array | undefined, r);
  if (fast) return [{ shape, data: fast }];
  const { sums, channels } = int8Sums(node, ins, g);
  return [{ shape, data: requantize(sums, channels, r) }];
}

/** FullConnection and 2-D MatMulFusion: weight per channel along the output dim. */
export function matMulInt8(node: Node, ins: RT[], g: Graph): RT[] {
  if (node.quantType === QuantType.QUANT_DYNAMIC) return matMulDynamicInt8(node, ins, g);
  const [x, w, bias] = ins;
  const inQ = qparam(g, node.inputs[0], 'input', node);
  const wQ = g.tensors[node.inputs[1]].quant!;
  const { outC, inC } = matMulDims(node, w.shape);
  const { shape, r } = int8Layer(node, x.shape, w.shape, g);
  const fast = wasmGemmInt8(size(x.shape) / inC, outC, inC, x.data as Int8Array, inQ.zeroPoint, w.data, () => Int16Array.from(weightRows(node, w, wQ)), bias?.data as Int32Array | undefined, r);
  if (fast) return [{ shape, data: fast }];
  const { sums } = int8Sums(node, ins, g);
  return [{ shape, data: requantize(sums, outC, r) }];
}

/** The parameters a QuantDTypeCast converts with: its output's, else its input's. */
export function castParam(g: Graph, node: Node): QuantParam {
  const q = g.tensors[node.outputs[0]].quant?.[0] ?? g.tensors[node.inputs[0]].quant?.[0];
  if (!q) throw new UserError(`QuantDTypeCast ${node.name}: no quant params on its input or output`);
  return q;
}

/** One float to int8 as QuantDTypeCast does; NaN ends at -128 as in the runtime, where (int)round(NaN) is INT_MIN before the clamp. */
export function quantizeToInt8(v: number, inverseScale: number, zp: number): number {
  const r = v === Infinity ? 127 : v === -Infinity || Number.isNaN(v) ? -128 : quantizeFloat(v, inverseScale, zp);
  return r < -128 ? -128 : r > 127 ? 127 : r;
}

/** float -> int8: clamp(round(x * (1 / scale) + zp)); int8 -> float: (q - zp) * scale; in float, as the runtime. */
export function quantDTypeCast(node: Node, [x]: RT[], g: Graph): RT[] {
  const src = node.attrs.src_t as number, dst = node.attrs.dst_t as number;
  const q = castParam(g, node);
  const inQ = g.tensors[node.inputs[0]].quant?.[0];
  if (src === TypeId.float32 && dst === TypeId.int8) {
    const inverseScale = Math.fround(1 / Math.fround(q.scale));
    const fast = x.data instanceof Float32Array ? wasmQuantize(x.data, inverseScale, q.zeroPoint) : undefined;
    if (fast) return [{ shape: x.shape, data: fast }];
    return [{ shape: x.shape, data: Int8Array.from(x.data, (v) => quantizeToInt8(v, inverseScale, q.zeroPoint)) }];
  }
  // uint8 graph I/O: the same integers shifted by 128, as the runtime's UInt8ToInt8 / Int8ToUInt8.
  if (src === TypeId.uint8 && dst === TypeId.int8) return [{ shape: x.shape, data: Int8Array.from(x.data, (v) => v - 128) }];
  if (src === TypeId.int8 && dst === TypeId.uint8) return [{ shape: x.shape, data: Uint8Array.from(x.data, (v) => v + 128) }];
  if ((src === TypeId.int8 || src === TypeId.uint8) && dst === TypeId.float32) {
    // Dequantized with the integer input's own parameters (a uint8 input's zero point is 128 higher).
    const p = src === TypeId.uint8 ? inQ ?? q : q;
    const scale = Math.fround(p.scale);
    const fast = x.data instanceof Int8Array ? wasmDequantize(x.data, scale, p.zeroPoint) : undefined;
    if (fast) return [{ shape: x.shape, data: fast }];
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = (x.data[i] - p.zeroPoint) * scale;
    return [{ shape: x.shape, data: out }];
  }
  throw new UserError(`QuantDTypeCast ${node.name}: ${src} -> ${dst} is not supported`);
}

const FLT_MAX = 3.4028234663852886e38, FLT_MIN = 1.1754943508222875e-38;

/**
 * DynamicQuant (the runtime's DynamicQuantCPUKernel): the live tensor's min and max (the max starts at FLT_MIN,
 * as the runtime's), asymmetric int8 parameters scale = range / 255 in double, zp = round(-128 - min / scale), or
 * symmetric scale = 2 max|x| / 254; then DoQuantizeFp32ToInt8. The parameters travel with the value.
 */
export function dynamicQuant(node: Node, [x]: RT[]): RT[] {
  if (node.attrs.activation_channel) throw new UserError(`DynamicQuant ${node.name}: per-channel activations (quant_strategy=ACWL) are not supported`);
  let min = FLT_MAX, max = FLT_MIN;
  for (const v of x.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let scale: number, zeroPoint = 0;
  if (!node.attrs.symmetric) {
    let range = Math.fround(max - min);
    if (range <= 0) range = 0.01;
    scale = range / 255;
    zeroPoint = roundHalfAway(-128 - min / scale);
  } else scale = (2 * Math.max(Math.abs(max), Math.abs(min))) / 254;
  const inverseScale = Math.fround(1 / Math.fround(scale));
  const out = new Int8Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const r = quantizeFloat(x.data[i], inverseScale, zeroPoint);
    out[i] = r < -128 ? -128 : r > 127 ? 127 : r;
  }
  return [{ shape: x.shape, data: out, quant: { scale, zeroPoint } }];
}

/**
 * MatMulFusion marked QUANT_DYNAMIC (nnacl's DynamicMatmul4x4x16AIWI): int32 sums of int8 products minus the
 * input zero point times each column's weight sum (weights symmetric), scaled in float by
 * input_scale * weight_scale[c], plus the float bias, then the fused activation; float32 output.
 */
function matMulDynamicInt8(node: Node, [x, w, bias]: RT[], g: Graph): RT[] {
  if (!x.quant) throw new UserError(`MatMulFusion ${node.name}: a dynamic-quantized input needs its DynamicQuant parameters`);
  const wQ = g.tensors[node.inputs[1]].quant!;
  const transB = !!node.attrs.transpose_b;
  if (w.shape.length !== 2 || node.attrs.transpose_a) throw new UserError(`${node.op} ${node.name}: dynamic int8 kernel supports 2-D weights without transpose_a`);
  const [outC, inC] = transB ? w.shape : [w.shape[1], w.shape[0]];
  const at = transB ? (k: number, c: number) => w.data[c * inC + k] : (k: number, c: number) => w.data[k * outC + c];
  const rows = size(x.shape) / inC;
  const weightSums = new Int32Array(outC);
  for (let c = 0; c < outC; c++) for (let k = 0; k < inC; k++) weightSums[c] += at(k, c);
  const f = Math.fround, inScale = f(x.quant.scale), zp = x.quant.zeroPoint;
  const scales = Float32Array.from({ length: outC }, (_, c) => f(inScale * f(wQ[wQ.length > 1 ? c : 0].scale)));
  const out = new Float32Array(rows * outC);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < outC; c++) {
      let s = 0;
      for (let k = 0; k < inC; k++) s += x.data[r * inC + k] * at(k, c);
      let v = f(scales[c] * (s - weightSums[c] * zp));
      if (bias) v = f(v + bias.data[c]);
      out[r * outC + c] = v;
    }
  }
  const act = (node.attrs.activation_type as number) ?? 0;
  if (act === A.RELU) for (let i = 0; i < out.length; i++) out[i] = Math.max(0, out[i]);
  else if (act === A.RELU6) for (let i = 0; i < out.length; i++) out[i] = Math.min(6, Math.max(0, out[i]));
  else if (act !== 0) throw new UserError(`MatMulFusion ${node.name}: activation ${act} after a dynamic int8 MatMul is not supported`);
  return [{ shape: [...x.shape.slice(0, -1), outC], data: out }];
}

/**
 * int8 MaxPoolFusion as nnacl's pooling_int8: the max of the window's int8 values (padding skipped); when the
 * output's parameters are the input's it is stored as is (MaxPoolingOptInt8), otherwise rescaled by
 * in_scale / out_scale with C's round and an int8 wrap (MaxPoolingWithQuantInt8). The runtime applies no fused
 * activation here, so the converter only makes activation-free MaxPools int8.
 */
export function maxPoolInt8(node: Node, [x]: RT[], g: Graph): RT[] {
  const inQ = qparam(g, node.inputs[0], 'input', node), outQ = qparam(g, node.outputs[0], 'output', node);
  const geo = poolGeometry(node, x.shape);
  const out = int8WindowMax(geo, x.data as Int8Array);
  if (inQ.scale !== outQ.scale || inQ.zeroPoint !== outQ.zeroPoint) {
    const multiplier = Math.fround(Math.fround(inQ.scale) / Math.fround(outQ.scale));
    for (let i = 0; i < out.length; i++) out[i] = roundHalfAway(Math.fround((out[i] - inQ.zeroPoint) * multiplier)) + outQ.zeroPoint;
  }
  return [{ shape: [geo.n, geo.oh, geo.ow, geo.c], data: out }];
}

/** The max of each pooling window of int8 NHWC data (padding skipped): WebAssembly, else `int8WindowMaxReference`. */
export function int8WindowMax(geo: PoolGeometry, x: Int8Array): Int8Array {
  return wasmMaxPoolInt8(geo, x) ?? int8WindowMaxReference(geo, x);
}

/** The TypeScript window max, the reference the WebAssembly kernel is tested against. */
export function int8WindowMaxReference(geo: PoolGeometry, x: Int8Array): Int8Array {
  const { n, c, oh, ow } = geo;
  const out = new Int8Array(n * oh * ow * c);
  const acc = new Int8Array(c);
  forEachPoolWindow(geo, (dst, each) => {
    acc.fill(-128);
    each((src) => {
      for (let ch = 0; ch < c; ch++) if (x[src + ch] > acc[ch]) acc[ch] = x[src + ch];
    });
    out.set(acc, dst);
  });
  return out;
}
