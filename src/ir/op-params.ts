/**
 * Op parameters decoded once from attributes, input shapes and constant inputs, for the shape rules, the CPU
 * kernels and the GPU lowering alike: geometry of convolutions and pooling, slicing boxes, MatMul batch
 * broadcasting, reduction axes, Gather, Pad, per-channel scale.
 */
import type { Node } from './graph.js';
import { UserError } from './graph.js';
import { PadMode } from './schema/ops.js';
import { size, normAxis, broadcastShape } from './tensor.js';
import type { RTData } from './tensor.js';

/** Integer values of a small constant-like input (shapes, axes, perms, paddings). */
export function ints(t: { data?: RTData } | undefined): number[] {
  if (!t?.data) return [];
  return Array.from(t.data as ArrayLike<number>, (v) => Math.trunc(v));
}

/** SAME padding before the data: half the total (TF, ONNX SAME_UPPER), or the larger half for SAME_LOWER. */
export const sameBefore = (total: number, lower: boolean) => (lower ? total - Math.floor(total / 2) : Math.floor(total / 2));

export interface ConvGeometry {
  n: number; ih: number; iw: number; ic: number;
  oh: number; ow: number; oc: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  padTop: number; padLeft: number; group: number;
}

/**
 * A sliding window's parameters must make sense before any size is computed from them (a hostile model can
 * hold a 1e9 kernel or a zero stride): positive kernel, stride and dilation, pads not negative, and at least
 * one output pixel.
 */
function checkWindow(node: Node, what: { kernel: number[]; stride: number[]; dilation?: number[]; pads: number[]; out: number[] }): void {
  const bad = (field: string, v: number[], rule: string) => {
    throw new UserError(`${node.op} ${node.name}: ${field} [${v}] is out of range (${rule})`);
  };
  const ok = (v: number[], min: number) => v.every((x) => Number.isInteger(x) && x >= min && x <= 1e6);
  if (!ok(what.kernel, 1)) bad('kernel', what.kernel, 'whole numbers 1 .. 1e6');
  if (!ok(what.stride, 1)) bad('stride', what.stride, 'whole numbers 1 .. 1e6');
  if (what.dilation && !ok(what.dilation, 1)) bad('dilation', what.dilation, 'whole numbers 1 .. 1e6');
  if (!ok(what.pads, 0)) bad('pads', what.pads, 'whole numbers 0 .. 1e6');
  if (what.out.some((d) => !(d >= 1))) throw new UserError(`${node.op} ${node.name}: the window [${what.kernel}] leaves no output (${what.out.join(' x ')}) on this input`);
}

/** Output size and padding for SAME (TF split: top = total/2), VALID or explicit pads. */
export function convGeometry(node: Node, input: readonly number[], weightShape: readonly number[]): ConvGeometry {
  if (input.length !== 4) throw new UserError(`${node.op} ${node.name}: expects a 4-D NHWC input, got [${input}]`);
  const a = node.attrs;
  const [n, ih, iw, ic] = input;
  const [oc, kh, kw] = weightShape;
  const [sh, sw] = (a.stride as number[]) ?? [1, 1];
  const [dh, dw] = (a.dilation as number[]) ?? [1, 1];
  const group = (a.group as number) || 1;
  const ekh = (kh - 1) * dh + 1;
  const ekw = (kw - 1) * dw + 1;
  let oh: number, ow: number, padTop = 0, padLeft = 0;
  const mode = a.pad_mode as number;
  if (mode === PadMode.SAME) {
    oh = Math.ceil(ih / sh);
    ow = Math.ceil(iw / sw);
    padTop = sameBefore(Math.max(0, (oh - 1) * sh + ekh - ih), !!a.same_lower);
    padLeft = sameBefore(Math.max(0, (ow - 1) * sw + ekw - iw), !!a.same_lower);
  } else if (mode === PadMode.VALID) {
    oh = Math.floor((ih - ekh) / sh) + 1;
    ow = Math.floor((iw - ekw) / sw) + 1;
  } else {
    const [t, b, l, r] = (a.pad_list as number[] | undefined)?.length === 4 ? (a.pad_list as number[]) : [0, 0, 0, 0];
    padTop = t;
    padLeft = l;
    oh = Math.floor((ih + t + b - ekh) / sh) + 1;
    ow = Math.floor((iw + l + r - ekw) / sw) + 1;
  }
  if (weightShape[3] !== ic / group)
    throw new UserError(`${node.op} ${node.name}: weight [${weightShape}] does not match input channels ${ic} / group ${group}`);
  if (oc % group) throw new UserError(`${node.op} ${node.name}: ${oc} output channels do not split into ${group} groups`);
  if (ih >= 0 && iw >= 0) // symbolic H and W (-1) are checked when the model runs at a size
    checkWindow(node, { kernel: [kh, kw], stride: [sh, sw], dilation: [dh, dw], pads: (a.pad_list as number[] | undefined) ?? [0, 0, 0, 0], out: [oh, ow] });
  return { n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, padTop, padLeft, group };
}

/** Depthwise: one input and one output channel per group (its own kernels on both executors). */
export const isDepthwise = (g: ConvGeometry) => g.group === g.ic && g.group === g.oc && g.group > 1;

/**
 * Transposed convolution. Weight [Cin, KH, KW, Cout/group] (the ONNX [Cin, Cout/g, KH, KW] weight moved to
 * channels-last). Output size: (i-1)*s - padBegin - padEnd + dilated kernel + output_padding.
 */
export interface DeconvGeometry {
  n: number; ih: number; iw: number; ic: number; oh: number; ow: number; oc: number; kh: number; kw: number;
  sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; group: number;
  /** The explicit pads [top, bottom, left, right] and output padding [h, w] that give this geometry. */
  pads: number[]; outputPadding: number[];
}

export function deconvGeometry(node: Node, input: readonly number[], weightShape: readonly number[]): DeconvGeometry {
  if (input.length !== 4) throw new UserError(`${node.op} ${node.name}: expects a 4-D NHWC input, got [${input}]`);
  const a = node.attrs;
  const [n, ih, iw, ic] = input;
  const [, kh, kw, ocg] = weightShape;
  const group = (a.group as number) || 1;
  const [sh, sw] = (a.stride as number[]) ?? [1, 1];
  const [dh, dw] = (a.dilation as number[]) ?? [1, 1];
  let [pt, pb, pl, pr] = (a.pad_list as number[] | undefined)?.length === 4 ? (a.pad_list as number[]) : [0, 0, 0, 0];
  let [oph, opw] = ((a.output_paddings as number[] | undefined) ?? [0, 0]).map((v) => v ?? 0);
  const wanted = (a.output_hw as number[] | undefined) ?? (a.pad_mode === PadMode.SAME ? [ih * sh, iw * sw] : undefined);
  if (wanted) {
    // SAME (the output is input * stride) or an ONNX output_shape: the padding that leaves that size, split as
    // SAME splits it (output_shape without auto_pad puts the larger half first, as ONNX specifies); a size
    // beyond the unpadded output is reached with output padding.
    const th = (ih - 1) * sh + oph + (kh - 1) * dh + 1 - wanted[0], tw = (iw - 1) * sw + opw + (kw - 1) * dw + 1 - wanted[1];
    const lower = !!a.same_lower || (!!a.output_hw && a.pad_mode !== PadMode.SAME);
    [pt, pl] = [sameBefore(Math.max(th, 0), lower), sameBefore(Math.max(tw, 0), lower)];
    [pb, pr] = [Math.max(th, 0) - pt, Math.max(tw, 0) - pl];
    [oph, opw] = [oph + Math.max(-th, 0), opw + Math.max(-tw, 0)];
  }
  const oh = (ih - 1) * sh - pt - pb + (kh - 1) * dh + 1 + oph;
  const ow = (iw - 1) * sw - pl - pr + (kw - 1) * dw + 1 + opw;
  if (ih >= 0 && iw >= 0) checkWindow(node, { kernel: [kh, kw], stride: [sh, sw], dilation: [dh, dw], pads: [pt, pb, pl, pr], out: [oh, ow] });
  return { n, ih, iw, ic, oh, ow, oc: ocg * group, kh, kw, sh, sw, dh, dw, pt, pl, group, pads: [pt, pb, pl, pr], outputPadding: [oph, opw] };
}

export interface PoolGeometry {
  n: number; ih: number; iw: number; c: number; oh: number; ow: number; kh: number; kw: number; sh: number; sw: number; pt: number; pl: number;
}

/** Window, stride, padding and output size of a pooling node on an NHWC input. */
export function poolGeometry(node: Node, shape: readonly number[]): PoolGeometry {
  if (shape.length !== 4) throw new UserError(`${node.op} ${node.name}: expects a 4-D NHWC input, got [${shape}]`);
  const a = node.attrs;
  const [n, ih, iw, c] = shape;
  let [kh, kw] = (a.kernel_size as number[]) ?? [1, 1];
  let [sh, sw] = (a.strides as number[]) ?? [1, 1];
  let [pt, pb, pl, pr] = (a.pad as number[] | undefined)?.length === 4 ? (a.pad as number[]) : [0, 0, 0, 0];
  let oh: number, ow: number;
  if (a.global) {
    [kh, kw, sh, sw, pt, pb, pl, pr, oh, ow] = [ih, iw, 1, 1, 0, 0, 0, 0, 1, 1];
  } else if (a.pad_mode === PadMode.SAME) {
    oh = Math.ceil(ih / sh);
    ow = Math.ceil(iw / sw);
    const th = Math.max(0, (oh - 1) * sh + kh - ih), tw = Math.max(0, (ow - 1) * sw + kw - iw);
    [pt, pl] = [sameBefore(th, !!a.same_lower), sameBefore(tw, !!a.same_lower)];
    [pb, pr] = [th - pt, tw - pl];
  } else {
    if (a.pad_mode === PadMode.VALID) [pt, pb, pl, pr] = [0, 0, 0, 0];
    const round = a.round_mode === 1 ? Math.ceil : Math.floor;
    oh = round((ih + pt + pb - kh) / sh) + 1;
    ow = round((iw + pl + pr - kw) / sw) + 1;
    // With ceil rounding the last window must start inside the (left-padded) input.
    if (a.round_mode === 1) {
      if ((oh - 1) * sh >= ih + pt) oh--;
      if ((ow - 1) * sw >= iw + pl) ow--;
    }
  }
  if (ih >= 0 && iw >= 0) checkWindow(node, { kernel: [kh, kw], stride: [sh, sw], pads: [pt, pb, pl, pr], out: [oh!, ow!] });
  return { n, ih, iw, c, oh: oh!, ow: ow!, kh, kw, sh, sw, pt, pl };
}

export interface SliceBox {
  begin: number[];
  step: number[];
  /** Extent per input dim. */
  shape: number[];
  /** `shape` without the shrunk axes. */
  outShape: number[];
}

/**
 * StridedSlice in two input forms: ONNX-style (x, starts, ends, axes, steps) as MindSpore's ONNX parser
 * emits it, and TF-style (x, begin, end, strides) with the bit masks of the TFLite op.
 */
export function sliceParams(node: Node, inShape: number[], params: ({ data?: RTData } | undefined)[]): SliceBox {
  const r = inShape.length;
  const begin = new Array(r).fill(0), end = [...inShape], step = new Array(r).fill(1);
  const a = node.attrs;
  const starts = ints(params[0]), ends = ints(params[1]);
  let axes: number[], steps: number[];
  const onnxStyle = params.length === 4;
  if (onnxStyle) {
    axes = ints(params[2]).map((v) => normAxis(v, r));
    steps = ints(params[3]);
  } else {
    axes = starts.map((_, i) => i);
    steps = params[2] ? ints(params[2]) : starts.map(() => 1);
  }
  const shrink: number[] = [];
  axes.forEach((ax, i) => {
    const d = inShape[ax];
    const s = steps[i] ?? 1;
    let b = starts[i], e = ends[i];
    if (!onnxStyle && ((a.begin_mask as number) >> i) & 1) b = s > 0 ? 0 : d - 1;
    if (!onnxStyle && ((a.end_mask as number) >> i) & 1) e = s > 0 ? d : -d - 1;
    if (!onnxStyle && ((a.shrink_axis_mask as number) >> i) & 1) { e = (b < 0 ? b + d : b) + 1; shrink.push(ax); }
    if (b < 0) b += d;
    if (e < 0) e += d;
    if (s > 0) { b = Math.min(Math.max(b, 0), d); e = Math.min(Math.max(e, 0), d); }
    else { b = Math.min(Math.max(b, -1), d - 1); e = Math.min(Math.max(e, -1), d - 1); }
    begin[ax] = b; step[ax] = s;
    end[ax] = e;
  });
  const shape = inShape.map((_, d) => Math.max(0, Math.ceil((end[d] - begin[d]) / step[d])));
  return { begin, step, shape, outShape: shape.filter((_, i) => !shrink.includes(i)) };
}

/** SliceFusion (TFLite SLICE): begin and size per dim; size -1 means to the end. */
export function sliceFusionBox(inShape: number[], beginT: { data?: RTData } | undefined, sizeT: { data?: RTData } | undefined): SliceBox {
  const begin = ints(beginT), sz = ints(sizeT);
  const shape = inShape.map((d, i) => (sz[i] === -1 ? d - begin[i] : sz[i]));
  return { begin, step: inShape.map(() => 1), shape, outShape: shape };
}

export interface MatMulShape {
  batch: number[]; aBatch: number[]; bBatch: number[]; M: number; N: number; K: number; transA: boolean; transB: boolean;
  outShape: number[];
}

/** MatMulFusion: batch dims broadcast, optional transposes, 1-D operands as numpy's matmul treats them. */
export function matMulShape(node: Node, a0: readonly number[], b0: readonly number[]): MatMulShape {
  const as = a0.length === 1 ? [1, a0[0]] : [...a0], bs = b0.length === 1 ? [b0[0], 1] : [...b0];
  const transA = !!node.attrs.transpose_a, transB = !!node.attrs.transpose_b;
  const M = transA ? as[as.length - 1] : as[as.length - 2], K = transA ? as[as.length - 2] : as[as.length - 1];
  const N = transB ? bs[bs.length - 2] : bs[bs.length - 1];
  if ((transB ? bs[bs.length - 1] : bs[bs.length - 2]) !== K)
    throw new UserError(`MatMulFusion ${node.name}: inner dimensions differ ([${a0}] x [${b0}])`);
  const aBatch = as.slice(0, -2), bBatch = bs.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch, `MatMulFusion ${node.name}: batch dims`);
  let outShape = [...batch, M, N];
  if (a0.length === 1) outShape = outShape.filter((_, i) => i !== outShape.length - 2);
  if (b0.length === 1) outShape = outShape.slice(0, -1);
  return { batch, aBatch, bBatch, M, N, K, transA, transB, outShape };
}

/** FullConnection (weight [out, in]): rows of `in`, or the dims before `axis` kept (use_axis). */
export function fullConnectionShape(node: Node, x: readonly number[], w: readonly number[]): { rows: number; inC: number; outC: number; outShape: number[] } {
  const [outC, inC] = w;
  const a = node.attrs;
  const rows = a.use_axis ? size(x.slice(0, a.axis as number)) : size(x) / inC;
  if (rows * inC !== size(x)) throw new UserError(`FullConnection ${node.name}: input [${x}] does not flatten to rows of ${inC}`);
  return { rows, inC, outC, outShape: a.use_axis ? [...x.slice(0, a.axis as number), outC] : [rows, outC] };
}

/** ReduceFusion axes: from the axes input, to the end with reduce_to_end, all when none. */
export function reduceAxes(node: Node, rank: number, axesT: { data?: RTData } | undefined): number[] {
  let axes = ints(axesT).map((v) => normAxis(v, rank));
  if (node.attrs.reduce_to_end && axes.length) axes = [...Array(rank - axes[0]).keys()].map((i) => i + axes[0]);
  return axes.length ? axes : [...Array(rank).keys()];
}

export function reduceShape(node: Node, shape: readonly number[], axes: number[]): number[] {
  return node.attrs.keep_dims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

export const softmaxAxis = (node: Node, rank: number) => normAxis(((node.attrs.axis as number[]) ?? [-1])[0], rank);

/** Gather: axis from the third input or the attribute; output [before axis, index dims, after axis]. */
export function gatherParams(node: Node, x: readonly number[], indices: readonly number[], axisT: { data?: RTData } | undefined): { axis: number; outShape: number[] } {
  const axis = normAxis(axisT?.data ? ints(axisT)[0] : ((node.attrs.axis as number) ?? 0), x.length);
  return { axis, outShape: [...x.slice(0, axis), ...indices, ...x.slice(axis + 1)] };
}

/** PadFusion: [begin, end] per dim from the paddings input (or attribute), the mode and the constant. */
export function padParams(node: Node, rank: number, padT: { data?: RTData } | undefined, valueT: { data?: RTData } | undefined): { pads: number[]; mode: number; value: number } {
  const flat = padT ? ints(padT) : ((node.attrs.paddings as number[][]) ?? []).flat();
  const pads = Array.from({ length: 2 * rank }, (_, i) => flat[i] ?? 0);
  return { pads, mode: (node.attrs.padding_mode as number) ?? 0, value: valueT?.data ? valueT.data[0] : ((node.attrs.constant_value as number) ?? 0) };
}

/** ScaleFusion: x * scale + bias with scale along `axis`: element i uses channel floor(i / inner) % channels. */
export function scaleParams(node: Node, x: readonly number[], scale: readonly number[]): { inner: number; channels: number } {
  let axis = (node.attrs.axis as number) ?? -1;
  if (axis < 0) axis += x.length;
  return { inner: size(x.slice(axis + scale.length)), channels: size(scale) };
}

/** Reshape target with 0 (copy) and -1 (infer) resolved. */
export function reshapeTarget(node: Node, x: readonly number[], want: number[]): number[] {
  const shape = want.map((d, i) => (d === 0 ? x[i] : d));
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = size(x);
  const out = shape.map((d) => (d === -1 ? total / known : d));
  if (size(out) !== total || out.some((d) => !Number.isInteger(d))) throw new UserError(`Reshape ${node.name}: cannot reshape [${x}] to [${want}]`);
  return out;
}

/** Split: the axis and the size of every part. */
export function splitSizes(node: Node, x: readonly number[], splitT: { data?: RTData } | undefined): { axis: number; sizes: number[] } {
  const axis = normAxis((node.attrs.axis as number) ?? 0, x.length);
  let sizes = splitT?.data ? ints(splitT) : ((node.attrs.size_splits as number[]) ?? []);
  const num = (node.attrs.output_num as number) || sizes.length;
  if (!sizes.length) sizes = new Array(num).fill(x[axis] / num);
  return { axis, sizes };
}

/** Output height and width: new_height/new_width, or the size input (float: scales of H and W; int: sizes). */
export function resizeOutputSize(n: Node, x: readonly number[], sizeT: { data?: RTData } | undefined): [number, number] {
  if (x.length !== 4) throw new UserError(`Resize ${n.name}: expects a 4-D NHWC input, got [${x}]`);
  if (!sizeT) return [n.attrs.new_height as number, n.attrs.new_width as number];
  if (!sizeT.data) throw new UserError(`Resize ${n.name}: its output size is not known before running`);
  const v = Array.from(sizeT.data as ArrayLike<number>);
  return sizeT.data instanceof Float32Array ? [Math.floor(x[1] * v[0]), Math.floor(x[2] * v[1])] : [v[0], v[1]];
}
