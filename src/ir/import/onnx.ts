/**
 * ONNX -> Graph in MindSpore Lite ops. Layout-sensitive ops (Conv, pooling, BatchNorm, PRelu, Resize) are
 * emitted in NHWC between a Transpose NCHW->NHWC (`<node>_pre_<i>`) and a Transpose back (`<node>_post`), the
 * way MindSpore's UnifyFormatToNHWC does; the transpose pass then cancels the pairs. Constants (initializers
 * and Constant nodes) become constant tensors; int64 becomes int32 and fp16/double become float32.
 */
import protobuf from 'protobufjs';
import { toNumber, FLT_MAX } from '../numeric.js';
import { Graph, FmkType, Format, UserError, TensorData, sizeOf } from '../graph.js';
import { findOp } from '../op-registry.js';
import type { RT } from '../tensor.js';
import { ActivationType as Act, PadMode, ReduceMode, ResizeMethod, CoordinateTransformMode as CT, NearestMode } from '../schema/ops.js';
import { ONNX_PROTO } from './proto/onnx-proto.js';
import { NchwGraphBuilder } from './nchw-builder.js';
import { DEFAULT_ACTIVATIONS, RnnToUnrollAttrs, supportedRnnActivation } from '../passes/unroll-rnn.js';
import type { OnnxResizeInfo } from '../passes/exact-resize.js';

export interface ImportOptions {
  /** name -> shape, resolves dynamic dims (`--inputShape`). */
  inputShapes?: Map<string, number[]>;
  /** Keep 4-D graph inputs NCHW (`--inputDataFormat=NCHW`). */
  keepNCHWInputs?: boolean;
  /** name -> values: the input is a constant (`--inputValue`, ours). */
  inputValues?: Map<string, number[]>;
  /** Every 4-D input becomes NHWC, without ONNX's "single input whose last dim is 3" exception (Caffe). */
  alwaysNhwcInputs?: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type PB = any;
let modelType: protobuf.Type | undefined;

const num = toNumber;

export function parseOnnx(bytes: Uint8Array, file = 'model'): PB {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  let m: PB;
  try {
    m = modelType.decode(bytes);
  } catch (e) {
    throw new UserError(`${file}: not a valid ONNX model (${(e as Error).message})`);
  }
  if (!m.graph || !m.graph.node?.length)
    throw new UserError(`${file}: not a valid ONNX model (no graph nodes found)`);
  return m;
}

export function importOnnx(bytes: Uint8Array, file = 'model', opts: ImportOptions = {}): Graph {
  return importOnnxModel(parseOnnx(bytes, file), file, opts);
}

/**
 * A decoded ModelProto (or one the Caffe and TensorFlow importers wrote in ONNX's terms, see onnx-form.ts)
 * into a graph.
 */
export function importOnnxModel(m: PB, file: string, opts: ImportOptions = {}): Graph {
  const opset = num((m.opset_import ?? []).find((o: PB) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13);
  const b = new OnnxBuilder(file, opset, opts);
  b.build(m.graph);
  return b.g;
}

/** The ONNX ops this importer converts. */
export const ONNX_SUPPORTED_OPS = (): string[] => Object.keys(CONVERTERS).sort();

type Converter = (b: OnnxBuilder, n: PB) => void;

class OnnxBuilder extends NchwGraphBuilder {
  private counter = 0;
  node!: PB;

  constructor(file: string, readonly opset: number, readonly opts: ImportOptions) {
    super(file);
    this.g.fmkType = FmkType.ONNX;
  }

  get opLabel(): string {
    return this.node?.op_type ?? '';
  }

  build(graph: PB): void {
    this.g.name = graph.name ?? '';
    for (const t of graph.initializer ?? []) this.ids.set(t.name, this.constFromProto(t.name, t));
    const inits = new Set((graph.initializer ?? []).map((t: PB) => t.name));
    const realInputs = (graph.input ?? []).filter((v: PB) => !inits.has(v.name));
    for (const v of realInputs) this.addGraphInput(v, realInputs.length);
    this.importNodes(graph.node);
    for (const v of graph.output ?? []) {
      const id = this.ids.get(v.name);
      if (id === undefined) throw new UserError(`${this.file}: graph output ${v.name} is not produced by any node`);
      // Outputs keep their ONNX names, whatever tensor (a layout transpose, a decomposition's last step) holds them.
      if (!this.g.inputs.includes(id) && !this.g.isConst(id)) this.g.tensors[id].name = v.name;
      this.g.outputs.push(id);
    }
  }

  importNodes(nodes: PB[]): void {
    for (const n of nodes) {
      this.node = n;
      this.nodeName = n.name || `Default/${n.op_type}-op${this.counter}`;
      this.counter++;
      const conv = CONVERTERS[n.op_type];
      if (!conv || (n.domain && n.domain !== 'ai.onnx'))
        throw new UserError(
          `${this.file}: unsupported ONNX op ${n.op_type} (node ${this.nodeName}). Supported ops: ${ONNX_SUPPORTED_OPS().join(', ')}`,
        );
      conv(this, n);
    }
  }

  /** A subgraph (an If branch) inlined: its initializers and nodes join this graph, its outputs are returned. */
  inlineGraph(graph: PB): number[] {
    for (const t of graph.initializer ?? []) this.ids.set(t.name, this.constFromProto(t.name, t));
    this.importNodes(graph.node ?? []);
    return (graph.output ?? []).map((v: PB) => {
      const id = this.ids.get(v.name);
      if (id === undefined) throw new UserError(`${this.file}: subgraph output ${v.name} is not produced by any node`);
      return id;
    });
  }

  private addGraphInput(v: PB, count: number): void {
    const dims = v.type?.tensor_type?.shape?.dim ?? [];
    const fixed = this.opts.inputValues?.get(v.name);
    if (fixed) {
      const elem = v.type?.tensor_type?.elem_type ?? 1;
      const shape: number[] = dims.map((d: PB) => num(d.dim_value ?? 0));
      if (sizeOf(shape) !== fixed.length) throw new UserError(`--inputValue: input ${v.name} has shape [${shape}] (${sizeOf(shape)} values), got ${fixed.length}`);
      const integer = elem === 7 || elem === 6 || elem === 9;
      this.ids.set(v.name, this.g.addConst(v.name, integer ? Int32Array.from(fixed, Math.trunc) : Float32Array.from(fixed), shape));
      return;
    }
    let shape: number[] = dims.map((d: PB) => (d.dim_param || d.dim_value === undefined || d.dim_value === null ? -1 : num(d.dim_value)));
    const given = this.opts.inputShapes?.get(v.name);
    if (given) {
      if (given.length !== shape.length)
        throw new UserError(`--inputShape: input ${v.name} has rank ${shape.length}, got ${given.length} dims`);
      shape = given;
    }
    // Symbolic dims stay -1 (as in MindSpore Lite); the executors resolve them from the inputs they are given.
    const elem = v.type?.tensor_type?.elem_type ?? 1;
    // MindSpore makes 4-D inputs NHWC, except a single ONNX input that already looks like NHWC (last dim 3).
    this.addInput(v.name, shape, elem === 7 || elem === 6 ? 'int32' : 'float32', !!this.opts.keepNCHWInputs || (!this.opts.alwaysNhwcInputs && count === 1 && shape[3] === 3));
  }

  /* ---- helpers for converters ---- */

  in(i: number): number {
    const name = this.node.input[i];
    if (!name) return -1;
    const id = this.ids.get(name);
    if (id === undefined) throw new UserError(`${this.file}: node ${this.nodeName} reads ${name}, which no earlier node produces`);
    return id;
  }

  hasIn(i: number): boolean {
    return !!this.node.input[i];
  }

  constData(i: number): TensorData | undefined {
    const id = this.in(i);
    return id >= 0 ? this.g.tensors[id].data : undefined;
  }

  constInts(i: number, what: string): number[] {
    const d = this.constData(i);
    if (!d) throw new UserError(`${this.file}: node ${this.nodeName} (${this.node.op_type}): ${what} must be a constant`);
    return Array.from(d as ArrayLike<number>);
  }

  attr(name: string): PB | undefined {
    return (this.node.attribute ?? []).find((a: PB) => a.name === name);
  }
  int(name: string, def: number): number {
    const a = this.attr(name);
    return a ? num(a.i) : def;
  }
  float(name: string, def: number): number {
    const a = this.attr(name);
    return a ? a.f : def;
  }
  ints(name: string, def?: number[]): number[] | undefined {
    const a = this.attr(name);
    return a ? (a.ints ?? []).map(num) : def;
  }
  str(name: string, def: string): string {
    const a = this.attr(name);
    return a ? new TextDecoder().decode(a.s) : def;
  }

  /** Emits a node in NCHW semantics writing the ONNX outputs. */
  emit(op: string, attrs: Record<string, unknown>, inputs: number[], outNames: string[] = this.node.output): number[] {
    return this.emitNamed(op, attrs, inputs, outNames);
  }

  /** Emits a layout-sensitive node between NCHW<->NHWC transposes; the post transpose is the ONNX output. */
  emitNHWC(op: string, attrs: Record<string, unknown>, inputs: number[], dataInputs = [0]): void {
    this.ids.set(this.node.output[0], this.emitChannelsLast(op, attrs, inputs, dataInputs));
  }

  /** An integer input (shape, repeats, k, axis): re-made as an int32 constant when constant, else the tensor. */
  intInput(i: number): number {
    return this.constData(i) ? this.intConst(`in${i}`, this.constInts(i, 'input'), this.g.tensors[this.in(i)].shape) : this.in(i);
  }

  /** The node's output is `id` (default: its first input): no node of its own. */
  alias(id = this.in(0)): void {
    this.ids.set(this.node.output[0], id);
  }
}

/* ------------------------------------------------------------------------------------------------ */

const act = (type: number, extra: Record<string, number> = {}): Converter => (b) =>
  b.emit('Activation', { activation_type: type, alpha: 0, min_val: 0, max_val: type === Act.RELU ? FLT_MAX : 0, ...extra }, [b.in(0)]);
const binaryOp = (op: string): Converter => (b) => b.emit(op, { activation_type: 0 }, [b.in(0), b.in(1)]);
const plain = (op: string): Converter => (b) => b.emit(op, {}, [b.in(0)]);

function convWeight(b: OnnxBuilder): number {
  return b.weightToKHWC(b.in(1));
}

/**
 * auto_pad and pads as MindSpore's pad_mode and pad_list [top, bottom, left, right]. SAME_LOWER (the extra
 * padding before) has no pad_mode: it is marked `same_lower` and written as explicit pads once shapes are known.
 */
function padsToList(b: OnnxBuilder): { pad_mode: number; pad_list: number[]; same_lower?: true } {
  const autoPad = b.str('auto_pad', 'NOTSET');
  const pads = b.ints('pads', [0, 0, 0, 0])!;
  if (pads.length !== 4) b.fail(`only 1-D and 2-D pads are supported, got [${pads}]`);
  const mode = autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' ? PadMode.SAME : autoPad === 'VALID' ? PadMode.VALID : PadMode.PAD;
  return { pad_mode: mode, pad_list: [pads[0], pads[2], pads[1], pads[3]], ...(autoPad === 'SAME_LOWER' ? { same_lower: true as const } : {}) };
}

const conv: Converter = (b) => {
  const w = convWeight(b);
  const [cout, kh, kw, cinG] = b.g.tensors[w].shape;
  const group = b.int('group', 1);
  const { pad_mode, pad_list, same_lower } = padsToList(b);
  const attrs = {
    format: Format.NHWC, kernel_size: [kh, kw], stride: b.ints('strides', [1, 1]), dilation: b.ints('dilations', [1, 1]),
    pad_mode, pad_list, mode: 1, group, in_channel: cinG * group, out_channel: cout, activation_type: 0, ...(same_lower ? { same_lower } : {}),
  };
  const ins = [b.in(0), w];
  if (b.hasIn(2)) ins.push(b.in(2));
  b.emitNHWC('Conv2DFusion', attrs, ins);
};

const convTranspose: Converter = (b) => {
  const w = convWeight(b);
  const [cin, kh, kw, coutG] = b.g.tensors[w].shape;
  const group = b.int('group', 1);
  const { pad_mode, pad_list, same_lower } = padsToList(b);
  // output_shape fixes the size: the pads follow from it once the input size is known (see deconvGeometry).
  const outputShape = b.ints('output_shape');
  const attrs = {
    format: Format.NHWC, kernel_size: [kh, kw], stride: b.ints('strides', [1, 1]), dilation: b.ints('dilations', [1, 1]),
    pad_mode, pad: pad_list, pad_list, mode: 1, group, in_channel: cin, out_channel: coutG * group, activation_type: 0,
    output_paddings: b.ints('output_padding', [0, 0]), ...(same_lower ? { same_lower } : {}),
    ...(outputShape ? { output_hw: outputShape.slice(-2) } : {}),
  };
  const ins = [b.in(0), w];
  if (b.hasIn(2)) ins.push(b.in(2));
  b.emitNHWC('Conv2dTransposeFusion', attrs, ins);
};

const gemm: Converter = (b) => {
  const alpha = b.float('alpha', 1), beta = b.float('beta', 1);
  let B = b.in(1);
  let C = b.hasIn(2) ? b.in(2) : -1;
  if (alpha !== 1) {
    const t = b.g.tensors[B];
    if (!t.data) b.fail('alpha != 1 needs a constant B');
    B = b.g.addConst(t.name, (t.data as Float32Array).map((v) => v * alpha), t.shape);
  }
  if (C >= 0 && beta !== 1) {
    const t = b.g.tensors[C];
    if (!t.data) b.fail('beta != 1 needs a constant C');
    C = b.g.addConst(t.name, (t.data as Float32Array).map((v) => v * beta), t.shape);
  }
  const attrs = { transpose_a: !!b.int('transA', 0), transpose_b: !!b.int('transB', 0), activation_type: 0 };
  // C that is one row (or a scalar) is MatMul's bias; a full [M, N] matrix or a computed C is added after.
  const c = C >= 0 && beta !== 0 ? b.g.tensors[C] : undefined;
  const isBias = c?.data && (c.shape.length < 2 || c.shape[0] === 1);
  if (c && !isBias) b.emit('AddFusion', { activation_type: 0 }, [b.step('MatMulFusion', attrs, [b.in(0), B], 'matmul'), C]);
  else b.emit('MatMulFusion', attrs, c ? [b.in(0), B, b.g.addConst(c.name, c.data!, [c.shape[c.shape.length - 1] ?? 1])] : [b.in(0), B]);
};

const pool = (op: string, global: boolean): Converter => (b) => {
  let x = b.in(0);
  const attrs: Record<string, unknown> = { format: Format.NHWC, global, activation_type: 0, round_mode: 0, pad_mode: PadMode.PAD };
  if (global) {
    Object.assign(attrs, { kernel_size: [1, 1], strides: [1, 1], pad: [0, 0, 0, 0] });
  } else {
    const k = b.ints('kernel_shape')!;
    if (k.length !== 2) b.fail(`only 2-D pooling is supported, got kernel_shape [${k}]`);
    const dil = b.ints('dilations', [1, 1])!;
    if (dil.some((d) => d !== 1)) b.fail('dilated pooling is not supported');
    const { pad_mode, pad_list, same_lower } = padsToList(b);
    Object.assign(attrs, { kernel_size: k, strides: b.ints('strides', [1, 1]), pad: pad_list, pad_mode, round_mode: b.int('ceil_mode', 0), ...(same_lower ? { same_lower } : {}) });
    if (op === 'AvgPoolFusion' && b.int('count_include_pad', 0) && pad_list.some((p) => p)) {
      // The runtime's average excludes padding; make the zeros real with an explicit Pad first.
      const padOut = b.g.addTensor({ name: `${b.nodeName}_pad` });
      const pads = b.intConst('paddings', [0, 0, 0, 0, pad_list[0], pad_list[1], pad_list[2], pad_list[3]], [4, 2]);
      b.g.addNode({ name: `${b.nodeName}_pad`, op: 'PadFusion', attrs: { padding_mode: 0, constant_value: 0 }, inputs: [x, pads], outputs: [padOut] });
      x = padOut;
      attrs.pad = [0, 0, 0, 0];
    }
  }
  b.emitNHWC(op, attrs, [x]);
};

/** The axes of a Reduce*: an attribute before opset 18 (13 for ReduceSum), else an optional input. */
function reduceAxesInput(b: OnnxBuilder): number[] {
  if (b.opset >= 18 || (b.node.op_type === 'ReduceSum' && b.opset >= 13)) return b.hasIn(1) ? [b.constData(1) ? b.intConst('axes', b.constInts(1, 'axes')) : b.in(1)] : [];
  const axes = b.ints('axes', []) ?? [];
  // No axes: every axis (the definition's rule; the passes write them out once the rank is known).
  return axes.length ? [b.intConst('axes', axes)] : [];
}

const reduceOp = (mode: number): Converter => (b) => {
  b.emit('ReduceFusion', { keep_dims: !!b.int('keepdims', 1), mode, reduce_to_end: false, coeff: 1 }, [b.in(0), ...reduceAxesInput(b)]);
};

/** ReduceLogSum(Exp): the schema's ReduceMode has neither, so ReduceSum then Log (after Exp). */
const reduceLogSum = (exp: boolean): Converter => (b) => {
  const x = exp ? b.step('ExpFusion', { base: -1, scale: 1, shift: 0 }, [b.in(0)], 'exp') : b.in(0);
  const sum = b.step('ReduceFusion', { keep_dims: !!b.int('keepdims', 1), mode: ReduceMode.Sum, reduce_to_end: false, coeff: 1 }, [x, ...reduceAxesInput(b)], 'sum');
  b.emit('Log', {}, [sum]);
};

/**
 * atan(x) from ops the runtime has (MindSpore Lite has no Atan primitive): |x| > 1 folds to 1/|x| (pi/2 minus
 * the result), |x| > tan(pi/8) to (t - 1) / (t + 1) (plus pi/4), then Cephes' single-precision polynomial.
 */
function atanOf(b: OnnxBuilder, x: number, p: string): number {
  const c = (name: string, v: number) => b.scalar(`${p}${name}`, v);
  const where = (cond: number, yes: number, no: number, name: string) => b.step('Where', {}, [cond, yes, no], `${p}${name}`);
  const a = b.step('Abs', {}, [x], `${p}abs`);
  const inv = b.step('Greater', {}, [a, c('one', 1)], `${p}gt1`);
  const t1 = where(inv, bin(b, 'DivFusion', c('one_', 1), a, `${p}recip`), a, 't1');
  const big = b.step('Greater', {}, [t1, c('tan_pi_8', 0.41421356237309503)], `${p}big`);
  const reduced = bin(b, 'DivFusion', bin(b, 'SubFusion', t1, c('one_m', 1), `${p}tm1`), bin(b, 'AddFusion', t1, c('one_p', 1), `${p}tp1`), `${p}red`);
  const t2 = where(big, reduced, t1, 't2');
  const z = bin(b, 'MulFusion', t2, t2, `${p}z`);
  let poly = c('c3', 8.05374449538e-2);
  [-1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1].forEach((k, i) =>
    (poly = bin(b, 'AddFusion', bin(b, 'MulFusion', poly, z, `${p}pz${i}`), c(`c${2 - i}`, k), `${p}pa${i}`)));
  const core = bin(b, 'AddFusion', bin(b, 'MulFusion', bin(b, 'MulFusion', poly, z, `${p}pzz`), t2, `${p}pt`), t2, `${p}core`);
  const r1 = bin(b, 'AddFusion', core, where(big, c('pi_4', Math.PI / 4), c('zero', 0), 'off'), `${p}r1`);
  const r = where(inv, bin(b, 'SubFusion', c('pi_2', Math.PI / 2), r1, `${p}comp`), r1, 'r');
  return where(b.step('Less', {}, [x, c('zero_', 0)], `${p}neg`), b.step('Neg', {}, [r], `${p}minus`), r, 'atan');
}

/** asin(x) = atan(x / sqrt(1 - x^2)). */
function asinOf(b: OnnxBuilder, x: number): number {
  const root = b.step('Sqrt', {}, [bin(b, 'SubFusion', b.scalar('one_s', 1), bin(b, 'MulFusion', x, x, 'sq'), 'one_minus')], 'root');
  return atanOf(b, bin(b, 'DivFusion', x, root, 'ratio'), '');
}

/**
 * LSTM / GRU, ONNX's inputs kept in place (omitted ones stay -1): MindSpore's fused op where its kernel computes
 * the layer, else unrolled. layout = 1 (batch first) is transposed to and from the sequence-first form.
 */
function rnn(b: OnnxBuilder, op: 'LSTM' | 'GRU' | 'RNN', outputs: number): void {
  const direction = b.str('direction', 'forward');
  const activations = (b.attr('activations')?.strings ?? []).map((s: Uint8Array) => new TextDecoder().decode(s));
  const defaults = [...DEFAULT_ACTIVATIONS[op], ...(direction === 'bidirectional' ? DEFAULT_ACTIVATIONS[op] : [])];
  const defaultActivations = !activations.length || (activations.length === defaults.length && activations.every((a: string, i: number) => a.toLowerCase() === defaults[i].toLowerCase()));
  const unsupported = activations.find((a: string) => !supportedRnnActivation(a));
  if (unsupported) b.fail(`activation ${unsupported} is not supported (supported: Sigmoid, Tanh, Relu, LeakyRelu, Elu, Softplus, HardSigmoid, Affine, ScaledTanh)`);
  // MindSpore Lite's fused kernels compute the default activations, forward or bidirectional, without clip,
  // input_forget or peepholes, and its GRU multiplies the reset gate into h before the recurrent product (ONNX's
  // linear_before_reset = 0). Anything else (PyTorch's GRU has linear_before_reset = 1) is unrolled into
  // primitive ops once shapes are known (passes/unroll-rnn).
  const fused = op !== 'RNN' && defaultActivations && !b.attr('clip') && !b.int('input_forget', 0) && !(op === 'LSTM' && b.hasIn(7))
    && !(op === 'GRU' && b.int('linear_before_reset', 0)) && direction !== 'reverse';
  const batchFirst = b.int('layout', 0) === 1;
  const swap01 = (x: number, name: string) => b.step('Transpose', {}, [x, b.intConst(`${name}_perm`, [1, 0, 2])], name);
  const inputs = [...Array(op === 'LSTM' ? 7 : 6).keys()].map((i) => (b.hasIn(i) ? b.in(i) : -1));
  if (batchFirst) {
    inputs[0] = swap01(inputs[0], 'x_seq_first');
    for (const k of [5, 6]) if (inputs[k] >= 0) inputs[k] = swap01(inputs[k], `state${k}_dir_first`);
  }
  const hidden = b.int('hidden_size', 0), bidirectional = direction === 'bidirectional';
  const attrs = op === 'LSTM'
    ? { bidirectional, has_bias: inputs[3] >= 0, input_size: 0, hidden_size: hidden, num_layers: 1, num_directions: bidirectional ? 2 : 1, dropout: 0, zoneout_cell: 0, zoneout_hidden: 0, proj_size: 0 }
    : { bidirectional };
  const names = b.node.output.slice(0, outputs).map((o: string, k: number) => o || `${b.nodeName}_out${k}`);
  if (!fused) {
    while (names.length < outputs) names.push(`${b.nodeName}_out${names.length}`);
    if (op === 'LSTM' && b.hasIn(7)) inputs.push(b.in(7));
    const unroll: RnnToUnrollAttrs = {
      kind: op, direction: direction as RnnToUnrollAttrs['direction'], hidden, linearBeforeReset: !!b.int('linear_before_reset', 0),
      activations, alphas: b.attr('activation_alpha')?.floats ?? [], betas: b.attr('activation_beta')?.floats ?? [],
      clip: b.attr('clip') ? b.float('clip', 0) : undefined, inputForget: !!b.int('input_forget', 0),
    };
    return finishRnn(b, 'RnnToUnroll', unroll as unknown as Record<string, unknown>, inputs, names, batchFirst);
  }
  finishRnn(b, op, attrs, inputs, names, batchFirst);
}

/** Emits the recurrent node; batch-first (layout = 1) outputs are transposed back. */
function finishRnn(b: OnnxBuilder, op: string, attrs: Record<string, unknown>, inputs: number[], names: string[], batchFirst: boolean): void {
  if (!batchFirst) {
    b.emitNamed(op, attrs, inputs, names);
    return;
  }
  const outs = b.emitNamed(op, attrs, inputs, names.map((n: string) => `${n}_seq_first`));
  // Y [seq, dir, batch, H] -> [batch, seq, dir, H]; Y_h, Y_c [dir, batch, H] -> [batch, dir, H]
  b.ids.set(names[0], b.emitNamed('Transpose', {}, [outs[0], b.intConst('y_perm', [2, 0, 1, 3])], [names[0]])[0]);
  names.slice(1).forEach((n: string, k: number) => b.ids.set(n, b.emitNamed('Transpose', {}, [outs[k + 1], b.intConst(`s${k}_perm`, [1, 0, 2])], [n])[0]));
}

/**
 * Einsum in the forms that are a MatMul and transposes (one contracted index, at most one free index per
 * operand, any shared batch indices; leading `...` when the rest is a plain matmul), or a transpose and sum of
 * one operand. Others (diagonals, several contracted indices) are refused naming the equation.
 */
function einsum(b: OnnxBuilder): void {
  const eq = b.str('equation', '').replace(/\s+/g, '');
  const [lhs, out] = eq.includes('->') ? eq.split('->') : [eq, undefined];
  const terms = lhs.split(',');
  const refuse = (): never => b.fail(`equation "${eq}" is not supported (supported: a MatMul with transposes, or a transpose and sum of one operand)`);
  const perm = (from: string, to: string) => [...to].map((c) => from.indexOf(c));
  const transposed = (x: number, from: string, to: string, suffix: string) =>
    from === to ? x : b.step('Transpose', {}, [x, b.intConst(`${suffix}_perm`, perm(from, to))], suffix);
  if (terms.some((t) => new Set(t.replace('...', '')).size !== t.replace('...', '').length)) refuse();
  if (terms.length === 1) {
    const [a] = terms;
    const o = out ?? [...a].sort().join('');
    if (a.includes('...') || [...o].some((c) => !a.includes(c))) refuse();
    const summed = [...a].filter((c) => !o.includes(c));
    let x = b.in(0), kept = a;
    if (summed.length) {
      x = b.step('ReduceFusion', { keep_dims: false, mode: ReduceMode.Sum, reduce_to_end: false, coeff: 1 }, [x, b.intConst('axes', summed.map((c) => a.indexOf(c)))], 'sum');
      kept = [...a].filter((c) => o.includes(c)).join('');
    }
    b.ids.set(b.node.output[0], transposed(x, kept, o, 'out'));
    return;
  }
  if (terms.length !== 2) refuse();
  let [a, c] = terms;
  const o = out ?? refuse();
  const ellipsis = a.startsWith('...') && c.startsWith('...') && o.startsWith('...');
  if (ellipsis) [a, c] = [a.slice(3), c.slice(3)];
  const oo = ellipsis ? o.slice(3) : o;
  if ([a, c, oo].some((t) => t.includes('.'))) refuse();
  const batch = [...oo].filter((x) => a.includes(x) && c.includes(x));
  const contract = [...a].filter((x) => c.includes(x) && !oo.includes(x));
  const freeA = [...a].filter((x) => !c.includes(x)), freeB = [...c].filter((x) => !a.includes(x));
  if (contract.length !== 1 || freeA.length !== 1 || freeB.length !== 1 || [...freeA, ...freeB].some((x) => !oo.includes(x))) refuse();
  const aOrder = [...batch, ...freeA, ...contract].join(''), bOrder = [...batch, ...contract, ...freeB].join('');
  if (ellipsis && (a !== aOrder || c !== bOrder)) refuse(); // the rank behind ... is unknown: no transposes
  const mm = b.step('MatMulFusion', { transpose_a: false, transpose_b: false, activation_type: 0 },
    [transposed(b.in(0), a, aOrder, 'a'), transposed(b.in(1), c, bOrder, 'b')], 'matmul');
  const mmOrder = [...batch, ...freeA, ...freeB].join('');
  if (ellipsis && mmOrder !== oo) refuse();
  b.ids.set(b.node.output[0], transposed(mm, mmOrder, oo, 'out'));
}

/** Inputs 0..count-1 folded with a binary op, as steps. */
function fold(b: OnnxBuilder, op: string, count: number): number {
  let acc = b.in(0);
  for (let i = 1; i < count; i++) acc = b.step(op, op.endsWith('Fusion') ? { activation_type: 0 } : {}, [acc, b.in(i)], `${i}`);
  return acc;
}

/** An n-ary elementwise op as a chain of binary ones (one input: the input itself). */
const chain = (op: string): Converter => (b) => {
  const n = b.node.input.length;
  if (n === 1) return b.alias();
  b.emit(op, op.endsWith('Fusion') ? { activation_type: 0 } : {}, [fold(b, op, n - 1), b.in(n - 1)]);
};

/** Elementwise math written with the unary and binary ops the runtime has. */
const math = (build: (b: OnnxBuilder, x: number) => [string, Record<string, unknown>, number[]]): Converter => (b) => {
  const [op, attrs, inputs] = build(b, b.in(0));
  b.emit(op, attrs, inputs);
};
const exp = (b: OnnxBuilder, x: number, suffix: string) => b.step('ExpFusion', { base: -1, scale: 1, shift: 0 }, [x], suffix);
const bin = (b: OnnxBuilder, op: string, x: number, y: number, suffix: string) => b.step(op, { activation_type: 0 }, [x, y], suffix);
/** log(x + sqrt(x * x + c)): asinh with c = 1, acosh with c = -1. */
const logOfRoot = (c: number) => math((b, x) => {
  const root = b.step('Sqrt', {}, [bin(b, 'AddFusion', bin(b, 'MulFusion', x, x, 'sq'), b.scalar('c', c), 'add')], 'sqrt');
  return ['Log', {}, [bin(b, 'AddFusion', x, root, 'sum')]];
});

function clipBounds(b: OnnxBuilder): [number, number] {
  if (b.opset < 11) return [b.float('min', -FLT_MAX), b.float('max', FLT_MAX)];
  const lo = b.hasIn(1) ? b.constData(1) : undefined;
  const hi = b.hasIn(2) ? b.constData(2) : undefined;
  if ((b.hasIn(1) && !lo) || (b.hasIn(2) && !hi)) b.fail('min and max must be constants');
  return [lo ? lo[0] : -FLT_MAX, hi ? hi[0] : FLT_MAX];
}

/**
 * A 1-D Conv / ConvTranspose / pooling run as the 2-D op with H = 1, as MindSpore does: [N, C, W] is unsqueezed
 * to [N, C, 1, W], the attributes gain a leading 1 (pads a leading 0), a constant weight [O, I, K] becomes
 * [O, I, 1, K], and the result is squeezed back.
 */
const oneD = (convert: Converter): Converter => (b, n) => {
  const w = n.op_type.startsWith('Conv') ? b.g.tensors[b.in(1)] : undefined;
  const rank = b.ints('kernel_shape')?.length ?? (w ? w.shape.length - 2 : 2);
  if (rank !== 1) return convert(b, n);
  const widen: Record<string, (v: number[]) => number[]> = {
    kernel_shape: (v) => [1, ...v], strides: (v) => [1, ...v], dilations: (v) => [1, ...v], output_padding: (v) => [0, ...v],
    output_shape: (v) => [1, ...v], pads: (v) => [0, v[0], 0, v[1]],
  };
  const attribute = (n.attribute ?? []).map((a: PB) => (widen[a.name] ? { ...a, ints: widen[a.name]((a.ints ?? []).map(num)) } : a));
  const x2d = b.step('Unsqueeze', { axis: [2] }, [b.in(0)], 'as_2d');
  const inputs = [...n.input];
  inputs[0] = `${b.nodeName}/x_2d`;
  b.ids.set(inputs[0], x2d);
  if (w) {
    const wd = w.data ?? b.fail('the weight of a 1-D convolution must be a constant');
    inputs[1] = `${b.nodeName}/w_2d`;
    b.ids.set(inputs[1], b.g.addConst(w.name, wd, [w.shape[0], w.shape[1], 1, w.shape[2]]));
  }
  const y2d = `${b.nodeName}/y_2d`;
  b.node = { ...n, input: inputs, output: [y2d], attribute };
  convert(b, b.node);
  b.node = n;
  b.emit('Squeeze', { axis: [2] }, [b.ids.get(y2d)!]);
};

const CONVERTERS: Record<string, Converter> = {
  Conv: oneD(conv),
  ConvTranspose: oneD(convTranspose),
  Gemm: gemm,
  MatMul: (b) => b.emit('MatMulFusion', { transpose_a: false, transpose_b: false, activation_type: 0 }, [b.in(0), b.in(1)]),
  Relu: act(Act.RELU),
  LeakyRelu: (b) => act(Act.LEAKY_RELU, { alpha: b.float('alpha', 0.01) })(b, b.node),
  Sigmoid: act(Act.SIGMOID),
  Tanh: act(Act.TANH),
  Elu: (b) => act(Act.ELU, { alpha: b.float('alpha', 1) })(b, b.node),
  Softplus: act(Act.SOFTPLUS),
  HardSwish: act(Act.HSWISH),
  HardSigmoid: (b) => {
    const alpha = b.float('alpha', 0.2), beta = b.float('beta', 0.5);
    if (Math.abs(alpha - 1 / 6) < 1e-6 && Math.abs(beta - 0.5) < 1e-6) return act(Act.HSIGMOID)(b, b.node);
    // The runtime's HSIGMOID is fixed at relu6(x+3)/6, so other slopes become clamp(alpha*x + beta, 0, 1).
    const mul = b.g.addTensor({ name: `${b.nodeName}_mul` });
    const add = b.g.addTensor({ name: `${b.nodeName}_add` });
    b.g.addNode({ name: `${b.nodeName}_mul`, op: 'MulFusion', attrs: { activation_type: 0 }, inputs: [b.in(0), b.g.addConst(`${b.nodeName}_alpha`, Float32Array.of(alpha), [])], outputs: [mul] });
    b.g.addNode({ name: `${b.nodeName}_add`, op: 'AddFusion', attrs: { activation_type: 0 }, inputs: [mul, b.g.addConst(`${b.nodeName}_beta`, Float32Array.of(beta), [])], outputs: [add] });
    b.emit('Activation', { activation_type: Act.HARD_TANH, alpha: 0, min_val: 0, max_val: 1 }, [add]);
  },
  Clip: (b) => {
    const [lo, hi] = clipBounds(b);
    if (lo === 0 && hi === 6) return act(Act.RELU6, { min_val: 0, max_val: 6 })(b, b.node);
    if (lo === 0 && hi >= FLT_MAX) return act(Act.RELU)(b, b.node);
    b.emit('Activation', { activation_type: Act.HARD_TANH, alpha: 0, min_val: lo, max_val: hi }, [b.in(0)]);
  },
  PRelu: (b) => {
    const s = b.g.tensors[b.in(1)];
    const perChannel = s.data && s.shape.filter((d) => d !== 1).length <= 1 && (s.shape.length < 3 || s.shape.slice(1).every((d) => d === 1));
    if (!perChannel) {
      // A slope per element (or computed): max(x, 0) + min(x, 0) * slope.
      const zero = b.scalar('zero', 0);
      const neg = bin(b, 'MulFusion', b.step('Minimum', {}, [b.in(0), zero], 'neg'), b.in(1), 'scaled');
      return b.emit('AddFusion', { activation_type: 0 }, [b.step('Maximum', {}, [b.in(0), zero], 'pos'), neg]);
    }
    const data = s.data!;
    const slope = b.g.addConst(s.name, data, [data.length]);
    const attrs = { channel_shared: data.length === 1 };
    // A [C,1,1] slope means per-channel over NCHW: layout-sensitive, so it runs in NHWC.
    if (s.shape.length >= 3) b.emitNHWC('PReLUFusion', attrs, [b.in(0), slope]);
    else b.emit('PReLUFusion', attrs, [b.in(0), slope]);
  },
  Exp: (b) => b.emit('ExpFusion', { base: -1, scale: 1, shift: 0 }, [b.in(0)]),
  Sqrt: plain('Sqrt'),
  Abs: plain('Abs'),
  Neg: plain('Neg'),
  Log: plain('Log'),
  Floor: plain('Floor'),
  Ceil: plain('Ceil'),
  Round: plain('Round'),
  Reciprocal: plain('Reciprocal'),
  Sin: plain('Sin'),
  Cos: plain('Cos'),
  Erf: plain('Erf'),
  Gelu: (b) => b.emit('Activation', { activation_type: Act.GELU, alpha: 0, min_val: 0, max_val: 0, approximate: b.str('approximate', 'none') === 'tanh' }, [b.in(0)]),
  Pow: (b) => b.emit('PowFusion', { scale: 1, shift: 0 }, [b.in(0), b.in(1)]),
  Tan: math((b, x) => ['DivFusion', { activation_type: 0 }, [b.step('Sin', {}, [x], 'sin'), b.step('Cos', {}, [x], 'cos')]]),
  Sinh: math((b, x) => ['MulFusion', { activation_type: 0 }, [bin(b, 'SubFusion', exp(b, x, 'exp'), exp(b, b.step('Neg', {}, [x], 'neg'), 'exp_neg'), 'sub'), b.scalar('half', 0.5)]]),
  Cosh: math((b, x) => ['MulFusion', { activation_type: 0 }, [bin(b, 'AddFusion', exp(b, x, 'exp'), exp(b, b.step('Neg', {}, [x], 'neg'), 'exp_neg'), 'add'), b.scalar('half', 0.5)]]),
  Atan: (b) => b.alias(atanOf(b, b.in(0), '')),
  Asin: (b) => b.alias(asinOf(b, b.in(0))),
  Acos: (b) => b.emit('SubFusion', { activation_type: 0 }, [b.scalar('pi_2_', Math.PI / 2), asinOf(b, b.in(0))]),
  Asinh: logOfRoot(1),
  Acosh: logOfRoot(-1),
  // atanh(x) = log((1 + x) / (1 - x)) / 2
  Atanh: math((b, x) => {
    const one = b.scalar('one', 1);
    const ratio = bin(b, 'DivFusion', bin(b, 'AddFusion', one, x, 'plus'), bin(b, 'SubFusion', one, x, 'minus'), 'ratio');
    return ['MulFusion', { activation_type: 0 }, [b.step('Log', {}, [ratio], 'log'), b.scalar('half', 0.5)]];
  }),
  // x / (1 + |x|): SOFTSIGN is not among the runtime's Activation types.
  Softsign: math((b, x) => ['DivFusion', { activation_type: 0 }, [x, bin(b, 'AddFusion', b.step('Abs', {}, [x], 'abs'), b.scalar('one', 1), 'den')]]),
  // gamma * elu(x, alpha)
  Selu: math((b, x) => {
    const elu = b.step('Activation', { activation_type: Act.ELU, alpha: b.float('alpha', 1.67326319217681884765625), min_val: 0, max_val: 0 }, [x], 'elu');
    return ['MulFusion', { activation_type: 0 }, [elu, b.scalar('gamma', b.float('gamma', 1.05070102214813232421875))]];
  }),
  // alpha * elu(x / alpha, 1)
  Celu: math((b, x) => {
    const alpha = b.float('alpha', 1);
    const elu = b.step('Activation', { activation_type: Act.ELU, alpha: 1, min_val: 0, max_val: 0 }, [bin(b, 'MulFusion', x, b.scalar('inv_alpha', 1 / alpha), 'scaled')], 'elu');
    return ['MulFusion', { activation_type: 0 }, [elu, b.scalar('alpha', alpha)]];
  }),
  // x where x > alpha, else 0
  ThresholdedRelu: math((b, x) => {
    const above = b.step('Greater', {}, [x, b.scalar('alpha', b.float('alpha', 1))], 'above');
    return ['MulFusion', { activation_type: 0 }, [x, b.step('Cast', {}, [above, b.intConst('to', [43], [])], 'mask')]];
  }),
  // (x > 0) - (x < 0)
  Sign: math((b, x) => {
    const zero = b.scalar('zero', 0), to = b.intConst('to', [43], []);
    const pos = b.step('Cast', {}, [b.step('Greater', {}, [x, zero], 'gt'), to], 'pos');
    const neg = b.step('Cast', {}, [b.step('Less', {}, [x, zero], 'lt'), to], 'neg');
    return ['SubFusion', { activation_type: 0 }, [pos, neg]];
  }),
  // x + bias below -lambd, x - bias above lambd, 0 between
  Shrink: math((b, x) => {
    const lambd = b.float('lambd', 0.5), bias = b.float('bias', 0);
    const below = b.step('Less', {}, [x, b.scalar('neg_lambd', -lambd)], 'below');
    const above = b.step('Greater', {}, [x, b.scalar('lambd', lambd)], 'above');
    const upper = b.step('Where', {}, [above, bin(b, 'SubFusion', x, b.scalar('bias', bias), 'minus'), b.scalar('zero', 0)], 'upper');
    return ['Where', {}, [below, bin(b, 'AddFusion', x, b.scalar('bias_plus', bias), 'plus'), upper]];
  }),
  Equal: (b) => b.emit('Equal', {}, [b.in(0), b.in(1)]),
  Less: (b) => b.emit('Less', {}, [b.in(0), b.in(1)]),
  LessOrEqual: (b) => b.emit('LessEqual', {}, [b.in(0), b.in(1)]),
  Greater: (b) => b.emit('Greater', {}, [b.in(0), b.in(1)]),
  GreaterOrEqual: (b) => b.emit('GreaterEqual', {}, [b.in(0), b.in(1)]),
  Not: (b) => b.emit('LogicalNot', {}, [b.in(0)]),
  And: (b) => b.emit('LogicalAnd', {}, [b.in(0), b.in(1)]),
  Or: (b) => b.emit('LogicalOr', {}, [b.in(0), b.in(1)]),
  Xor: (b) => b.emit('NotEqual', {}, [b.in(0), b.in(1)]),
  Where: (b) => b.emit('Where', {}, [b.in(0), b.in(1), b.in(2)]),
  Size: (b) => b.emit('Size', {}, [b.in(0)]),
  ConstantOfShape: (b) => {
    const v = b.attr('value')?.t;
    const value = v ? b.g.tensors[b.constFromProto(`${b.nodeName}_value`, v)].data! : Float32Array.of(0);
    const isInt = value instanceof Int32Array;
    b.emit('ConstantOfShape', { data_type: isInt ? 34 : 43, value: [value[0] ?? 0], element_size: 1, shape: null }, [b.in(0)]);
  },
  LayerNormalization: (b) => {
    const axis = b.int('axis', -1), eps = b.float('epsilon', 1e-5);
    const [, meanOut, invOut] = b.node.output;
    const ins = [b.in(0), ...(b.hasIn(1) ? [b.in(1)] : []), ...(b.hasIn(2) ? [b.in(2)] : [])];
    if (!meanOut && !invOut) {
      b.emit('LayerNormFusion', { begin_norm_axis: axis, epsilon: eps, elementwise_affine: ins.length > 1, begin_params_axis: axis }, ins, [b.node.output[0]]);
      return;
    }
    // Mean and InvStdDev are wanted too: the normalization in primitive ops, each output a tensor of its own.
    const reduce = (x: number, suffix: string, name?: string) => {
      const attrs = { keep_dims: true, mode: ReduceMode.Mean, reduce_to_end: true, coeff: 1 };
      return name ? b.emitNamed('ReduceFusion', attrs, [x, b.intConst(`${suffix}_axes`, [axis])], [name])[0] : b.step('ReduceFusion', attrs, [x, b.intConst(`${suffix}_axes`, [axis])], suffix);
    };
    const mean = reduce(b.in(0), 'mean', meanOut || undefined);
    const dev = bin(b, 'SubFusion', b.in(0), mean, 'dev');
    const variance = reduce(bin(b, 'MulFusion', dev, dev, 'sq'), 'var');
    const std = b.step('Sqrt', {}, [bin(b, 'AddFusion', variance, b.scalar('eps', eps), 'var_eps')], 'std');
    const inv = invOut ? b.emitNamed('Reciprocal', {}, [std], [invOut])[0] : b.step('Reciprocal', {}, [std], 'inv');
    // (x - mean) * inv, then * scale, then + bias: the last of them writes Y.
    const factors: [string, number][] = [['MulFusion', inv], ...(b.hasIn(1) ? [['MulFusion', b.in(1)] as [string, number]] : []), ...(b.hasIn(2) ? [['AddFusion', b.in(2)] as [string, number]] : [])];
    let y = dev;
    factors.forEach(([op, with_], k) => {
      if (k < factors.length - 1) y = bin(b, op, y, with_, `y${k}`);
      else b.emit(op, { activation_type: 0 }, [y, with_], [b.node.output[0]]);
    });
  },
  DepthToSpace: (b) => b.emitNHWC('DepthToSpace', { block_size: b.int('blocksize', 1), format: Format.NHWC, mode: b.str('mode', 'DCR') }, [b.in(0)]),
  SpaceToDepth: (b) => b.emitNHWC('SpaceToDepth', { block_size: b.int('blocksize', 1), format: Format.NHWC }, [b.in(0)]),
  Tile: (b) => b.emit('TileFusion', { dims: null }, [b.in(0), b.intInput(1)]),
  Expand: (b) => b.emit('BroadcastTo', { shape: null }, [b.in(0), b.intInput(1)]),
  OneHot: (b) => {
    // values = [off, on]: the runtime takes them as two inputs.
    const pick = (k: number, name: string) => b.step('Gather', {}, [b.in(2), b.intConst(`${name}_index`, [k], []), b.intConst(`${name}_axis`, [0], [1])], name);
    b.emit('OneHot', { axis: b.int('axis', -1) }, [b.in(0), b.intInput(1), pick(1, 'on'), pick(0, 'off')]);
  },
  Range: (b) => b.emit('Range', { d_type: 0, start: 0, limit: 0, delta: 1 }, [b.in(0), b.in(1), b.in(2)]),
  ArgMax: (b) => b.emit('ArgMaxFusion', { axis: b.int('axis', 0), top_k: 1, keep_dims: !!b.int('keepdims', 1), out_max_value: false }, [b.in(0)]),
  ArgMin: (b) => b.emit('ArgMinFusion', { axis: b.int('axis', 0), top_k: 1, keep_dims: !!b.int('keepdims', 1), out_max_value: false }, [b.in(0)]),
  TopK: (b) => b.emit('TopKFusion', { sorted: !!b.int('sorted', 1), axis: b.int('axis', -1), largest: b.int('largest', 1) }, [b.in(0), b.intInput(1)]),
  CumSum: (b) => b.emit('CumSum', { exclusive: !!b.int('exclusive', 0), reverse: !!b.int('reverse', 0) }, [b.in(0), b.intInput(1)]),
  GatherElements: (b) => b.emit('GatherD', {}, [b.in(0), b.intConst('dim', [b.int('axis', 0)], [1]), b.in(1)]),
  GatherND: (b) => {
    if (b.int('batch_dims', 0)) b.fail('batch_dims is not supported');
    b.emit('GatherNd', {}, [b.in(0), b.in(1)]);
  },
  ScatterND: (b) => b.emit('ScatterNdUpdate', {}, [b.in(0), b.in(1), b.in(2)]),
  ScatterElements: (b) => {
    if (b.str('reduction', 'none') !== 'none') b.fail(`reduction ${b.str('reduction', 'none')} is not supported`);
    b.emit('ScatterElements', { axis: b.int('axis', 0) }, [b.in(0), b.in(1), b.in(2)]);
  },
  Mod: (b) => b.emit(b.int('fmod', 0) ? 'Mod' : 'FloorMod', {}, [b.in(0), b.in(1)]),
  InstanceNormalization: (b) => {
    const attrs = { epsilon: b.float('epsilon', 1e-5) };
    const rank = knownRank(b, b.in(0));
    if (rank === undefined || rank === 4) return b.emitNHWC('InstanceNorm', attrs, [b.in(0), b.in(1), b.in(2)]);
    // Another rank ([N, C, L] after a Reshape): normalized as [N, C, L..., 1] in 4-D, then given its shape back.
    const flat = b.step('Reshape', {}, [b.in(0), b.intConst('as_4d', [0, 0, -1, 1])], 'as_4d');
    const norm = b.emitChannelsLast('InstanceNorm', attrs, [flat, b.in(1), b.in(2)]);
    b.emit('Reshape', {}, [norm, b.step('Shape', {}, [b.in(0)], 'shape')]);
  },
  LRN: (b) => {
    const n = b.int('size', 1);
    b.emitNHWC('LRN', { depth_radius: Math.floor(n / 2), bias: b.float('bias', 1), alpha: b.float('alpha', 1e-4) / n, beta: b.float('beta', 0.75), norm_region: 'ACROSS_CHANNELS' }, [b.in(0)]);
  },
  // (x - mean) / sqrt(var) over the axes (ONNX's epsilon 1e-9)
  MeanVarianceNormalization: (b) => {
    const axes = b.ints('axes', [0, 2, 3])!;
    const mean = (x: number, suffix: string) => b.step('ReduceFusion', { keep_dims: true, mode: ReduceMode.Mean, reduce_to_end: false, coeff: 1 }, [x, b.intConst(`${suffix}_axes`, axes)], suffix);
    const dev = bin(b, 'SubFusion', b.in(0), mean(b.in(0), 'mean'), 'dev');
    const std = b.step('Sqrt', {}, [bin(b, 'AddFusion', mean(bin(b, 'MulFusion', dev, dev, 'sq'), 'var'), b.scalar('eps', 1e-9), 'var_eps')], 'std');
    b.emit('DivFusion', { activation_type: 0 }, [dev, std]);
  },
  // one-hot of the argmax along the axis
  Hardmax: (b) => {
    const axis = b.int('axis', b.opset < 13 ? 1 : -1);
    const depth = b.step('Gather', {}, [b.step('Shape', {}, [b.in(0)], 'shape'), b.intConst('axis_index', [axis], []), b.intConst('gather_axis', [0], [1])], 'depth');
    const arg = b.step('ArgMaxFusion', { axis, top_k: 1, keep_dims: false, out_max_value: false }, [b.in(0)], 'argmax');
    b.emit('OneHot', { axis }, [arg, depth, b.scalar('on', 1), b.scalar('off', 0)]);
  },
  LSTM: (b) => rnn(b, 'LSTM', 3),
  GRU: (b) => rnn(b, 'GRU', 2),
  RNN: (b) => rnn(b, 'RNN', 2),
  LogSoftmax: (b) => b.emit('LogSoftmax', { axis: b.int('axis', b.opset < 13 ? 1 : -1) }, [b.in(0)]),
  Sum: chain('AddFusion'),
  Mean: (b) => {
    const n = b.node.input.length;
    if (n === 1) return b.alias();
    b.emit('MulFusion', { activation_type: 0 }, [fold(b, 'AddFusion', n), b.scalar('inv_count', 1 / n)]);
  },
  Add: binaryOp('AddFusion'),
  Sub: binaryOp('SubFusion'),
  Mul: binaryOp('MulFusion'),
  Div: binaryOp('DivFusion'),
  Max: chain('Maximum'),
  Min: chain('Minimum'),
  MaxPool: oneD(pool('MaxPoolFusion', false)),
  AveragePool: oneD(pool('AvgPoolFusion', false)),
  GlobalAveragePool: pool('AvgPoolFusion', true),
  GlobalMaxPool: pool('MaxPoolFusion', true),
  BatchNormalization: (b) => {
    const ins = [0, 1, 2, 3, 4].map((i) => b.in(i));
    // Training mode normalizes with the batch's statistics (passes/lower-with-shapes).
    if (b.int('training_mode', 0)) {
      const names = [0, 1, 2].map((k) => b.node.output[k] || `${b.nodeName}_out${k}`);
      b.emitNamed('LowerWithShapes', { kind: 'BatchNormTraining', epsilon: b.float('epsilon', 1e-5), momentum: b.float('momentum', 0.9) }, ins, names);
      return;
    }
    if (ins.slice(1).some((i) => !b.g.tensors[i].data)) b.fail('scale, bias, mean and var must be constants');
    b.emitNHWC('FusedBatchNorm', { epsilon: b.float('epsilon', 1e-5), momentum: b.float('momentum', 0.9), mode: 0 }, ins);
  },
  ReduceMean: reduceOp(ReduceMode.Mean),
  ReduceMax: reduceOp(ReduceMode.Max),
  ReduceMin: reduceOp(ReduceMode.Min),
  ReduceSum: reduceOp(ReduceMode.Sum),
  ReduceProd: reduceOp(ReduceMode.Prod),
  ReduceSumSquare: reduceOp(ReduceMode.SumSquare),
  ReduceL2: reduceOp(ReduceMode.L2),
  ReduceL1: reduceOp(ReduceMode.ASum),
  ReduceLogSum: reduceLogSum(false),
  ReduceLogSumExp: reduceLogSum(true),
  Concat: (b) => b.emit('Concat', { axis: b.int('axis', 0) }, b.node.input.map((_: string, i: number) => b.in(i))),
  Reshape: (b) => {
    // A computed shape stays an input: the passes fold it once every dim is known.
    const shape = b.opset >= 5 ? (b.constData(1) ? b.intConst('shape', b.constInts(1, 'shape')) : b.in(1)) : b.intConst('shape', b.ints('shape', [])!);
    b.emit('Reshape', {}, [b.in(0), shape]);
  },
  Flatten: (b) => b.emit('Flatten', { axis: b.int('axis', 1) }, [b.in(0)]),
  Squeeze: (b) => b.emit('Squeeze', { axis: b.opset >= 13 ? (b.hasIn(1) ? b.constInts(1, 'axes') : []) : b.ints('axes', []) }, [b.in(0)]),
  Unsqueeze: (b) => b.emit('Unsqueeze', { axis: b.opset >= 13 ? b.constInts(1, 'axes') : b.ints('axes', []) }, [b.in(0)]),
  Transpose: (b) => {
    let perm = b.ints('perm');
    if (!perm) perm = [...Array(b.g.tensors[b.in(0)].shape.length || 4).keys()].reverse();
    b.emit('Transpose', {}, [b.in(0), b.intConst('perm', perm)]);
  },
  Slice: (b) => {
    let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
    if (b.opset < 10) {
      starts = b.ints('starts')!; ends = b.ints('ends')!; axes = b.ints('axes');
    } else {
      starts = b.constInts(1, 'starts'); ends = b.constInts(2, 'ends');
      axes = b.hasIn(3) ? b.constInts(3, 'axes') : undefined;
      steps = b.hasIn(4) ? b.constInts(4, 'steps') : undefined;
    }
    axes ??= starts.map((_, i) => i);
    steps ??= starts.map(() => 1);
    b.emit('StridedSlice', { begin_mask: 0, end_mask: 0, ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: 0 },
      [b.in(0), b.intConst('begin', starts), b.intConst('end', ends), b.intConst('axes', axes), b.intConst('strides', steps)]);
  },
  Split: (b) => {
    const sizes = b.opset >= 13 && b.hasIn(1) ? b.constInts(1, 'split') : (b.ints('split', []) ?? []);
    b.emit('Split', { output_num: b.node.output.length, size_splits: sizes.length ? sizes : null, axis: b.int('axis', 0) }, [b.in(0)]);
  },
  Gather: (b) => b.emit('Gather', {}, [b.in(0), b.in(1), b.intConst('axis', [b.int('axis', 0)], [1])]),
  Softmax: (b) => b.emit('Softmax', { axis: [b.int('axis', b.opset < 13 ? 1 : -1)] }, [b.in(0)]),
  Pad: (b) => {
    const value = b.opset >= 11 ? (b.hasIn(2) ? (b.constData(2)?.[0] ?? 0) : 0) : b.float('value', 0);
    if (b.opset >= 11 && b.hasIn(2) && !b.constData(2)) b.fail('the constant value must be a constant');
    const mode = b.str('mode', 'constant');
    // ONNX's pads are [begins..., ends...]; MindSpore's paddings [[begin, end] per dim].
    let paddings: number;
    const known = b.opset >= 11 ? b.constData(1) : Int32Array.from(b.ints('pads')!);
    if (known) {
      const pads = Array.from(known as ArrayLike<number>), r = pads.length / 2;
      paddings = b.intConst('paddings', [...Array(r).keys()].flatMap((i) => [pads[i], pads[i + r]]), [r, 2]);
    } else {
      // Computed pads (Shape arithmetic) are rearranged by ops that fold once shapes are known, else run.
      const halves = b.step('Reshape', {}, [b.in(1), b.intConst('pads_halves', [2, -1])], 'pads_halves');
      paddings = b.step('Transpose', {}, [halves, b.intConst('pads_perm', [1, 0])], 'paddings');
    }
    // MindSpore maps ONNX 'edge' to SYMMETRIC.
    b.emit('PadFusion', { padding_mode: mode === 'reflect' ? 1 : mode === 'edge' ? 2 : 0, constant_value: value }, [b.in(0), paddings]);
  },
  Resize: (b) => resizeOp(b, b.opset >= 11 ? 'resize11' : 'resize10'),
  DFT: (b) => {
    const length = b.hasIn(1) ? (b.constData(1) ?? b.fail('dft_length must be a constant'))[0] : 0;
    b.emit('LowerWithShapes', { kind: 'DFT', axis: b.int('axis', 1), inverse: !!b.int('inverse', 0), onesided: !!b.int('onesided', 0), length }, [b.in(0)]);
  },
  Upsample: (b) => resizeOp(b, 'upsample'),
  Shape: (b) => b.emit('Shape', {}, [b.in(0)]),
  Cast: (b) => {
    const to = b.int('to', 1);
    const typeId = to === 1 || to === 10 || to === 11 ? 43 : to === 6 || to === 7 ? 34 : to === 9 ? 30 : to === 3 ? 32 : 43;
    b.emit('Cast', {}, [b.in(0), b.intConst('to', [typeId], [])]);
  },
  Constant: (b) => {
    const v = b.attr('value');
    let id: number;
    if (v?.t) id = b.constFromProto(b.node.output[0], v.t);
    else if (b.attr('value_float')) id = b.g.addConst(b.node.output[0], Float32Array.of(b.float('value_float', 0)), []);
    else if (b.attr('value_int')) id = b.g.addConst(b.node.output[0], Int32Array.of(b.int('value_int', 0)), []);
    else if (b.attr('value_ints')) { const xs = b.ints('value_ints')!; id = b.g.addConst(b.node.output[0], Int32Array.from(xs), [xs.length]); }
    else if (b.attr('value_floats')) { const xs = b.attr('value_floats').floats; id = b.g.addConst(b.node.output[0], Float32Array.from(xs), [xs.length]); }
    else b.fail('unsupported Constant attribute');
    b.ids.set(b.node.output[0], id!);
  },
  Identity: (b) => b.alias(),
  If: (b) => {
    // Exporters emit If for shape checks whose condition is a constant once the model is loaded: inline the
    // branch it takes. A condition known only at run time has no MindSpore Lite form.
    const node = b.node, name = b.nodeName;
    const cond = b.constData(0) ?? evaluateConstant(b.g, b.in(0));
    if (!cond) {
      const inputs = graphInputsBehind(b.g, b.in(0)).map((id) => b.g.tensors[id].name);
      b.fail(`condition ${node.input[0]} is known only when running${inputs.length ? ` (it depends on input ${inputs.join(', ')})` : ''}: an If is converted by inlining the branch its condition takes at conversion; fix ${inputs.length ? 'the input' : 'its inputs'} with --inputValue=${inputs[0] ?? 'name'}:<value> (ours)`);
    }
    const branch = b.attr(cond![0] ? 'then_branch' : 'else_branch')?.g;
    if (!branch) b.fail('branch graph missing');
    const outs = b.inlineGraph(branch);
    node.output.forEach((o: string, k: number) => b.ids.set(o, outs[k]));
    b.node = node;
    b.nodeName = name;
  },
  Einsum: (b) => einsum(b),
  NonZero: (b) => b.emit('NonZero', {}, [b.in(0)]),
  Dropout: (b) => b.alias(),
};

/** The rank of a tensor where the import already knows it: a graph input, a constant, a Reshape to a constant shape. */
function knownRank(b: OnnxBuilder, id: number): number | undefined {
  const t = b.g.tensors[id];
  if (b.g.inputs.includes(id) || t.data) return t.shape.length;
  const producer = b.g.nodes.find((n) => n.outputs.includes(id));
  const shape = producer?.op === 'Reshape' ? b.g.tensors[producer.inputs[1]]?.data : undefined;
  return shape ? shape.length : undefined;
}

/** A tensor's value when it is computed from constants only (the producers run on the CPU kernels), else undefined. */
function evaluateConstant(g: Graph, id: number, depth = 0): TensorData | undefined {
  const t = g.tensors[id];
  if (t.data) return t.data;
  const producer = g.nodes.find((n) => n.outputs.includes(id));
  const def = producer && findOp(producer.op);
  if (!producer || !def?.cpu || depth > 64) return undefined;
  const ins: RT[] = [];
  for (const i of producer.inputs.filter((x) => x >= 0)) {
    const data = evaluateConstant(g, i, depth + 1);
    if (!data) return undefined;
    ins.push({ shape: g.tensors[i].shape, data });
  }
  const outs = def.cpu(producer, ins);
  return outs[producer.outputs.indexOf(id)]?.data as TensorData | undefined;
}

/** The graph inputs a tensor is computed from. */
function graphInputsBehind(g: Graph, id: number, seen = new Set<number>()): number[] {
  if (seen.has(id)) return [];
  seen.add(id);
  if (g.inputs.includes(id)) return [id];
  const producer = g.nodes.find((n) => n.outputs.includes(id));
  return producer ? [...new Set(producer.inputs.filter((i) => i >= 0).flatMap((i) => graphInputsBehind(g, i, seen)))] : [];
}

function resizeOp(b: OnnxBuilder, form: 'resize11' | 'resize10' | 'upsample'): void {
  const mode = b.str('mode', 'nearest');
  const method = mode === 'nearest' ? ResizeMethod.NEAREST : mode === 'linear' || mode === 'bilinear' ? ResizeMethod.LINEAR : mode === 'cubic' ? ResizeMethod.CUBIC : b.fail(`mode ${mode} is not supported`);
  let ctm: number = CT.ASYMMETRIC;
  let nearest: number = NearestMode.FLOOR;
  if (form === 'resize11') {
    const c = b.str('coordinate_transformation_mode', 'half_pixel');
    ctm = c === 'half_pixel' || c === 'pytorch_half_pixel' ? CT.HALF_PIXEL : c === 'align_corners' ? CT.ALIGN_CORNERS : c === 'asymmetric' ? CT.ASYMMETRIC : b.fail(`coordinate_transformation_mode ${c} is not supported`);
    const nm = b.str('nearest_mode', 'round_prefer_floor');
    nearest = nm === 'round_prefer_ceil' ? NearestMode.ROUND_HALF_UP : nm === 'floor' ? NearestMode.FLOOR : nm === 'ceil' ? NearestMode.CEIL : NearestMode.ROUND_HALF_DOWN;
  }
  // sizes [N,C,H,W] or scales [N,C,H,W] become a 2-element [H, W] constant, as MindSpore's format pass does;
  // computed ones (tf2onnx's Concat(Slice(Shape(x)), [h, w])) are sliced to [H, W] and fold once shapes are known.
  const hw = (i: number) => b.step('StridedSlice', { begin_mask: 0, end_mask: 0, ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: 0 },
    [b.in(i), b.intConst(`in${i}_begin`, [2]), b.intConst(`in${i}_end`, [4]), b.intConst(`in${i}_axes`, [0]), b.intConst(`in${i}_strides`, [1])], `in${i}_hw`);
  let sizeInput: number;
  const scaleIdx = form === 'resize11' ? 2 : 1;
  const sizes = form === 'resize11' && b.hasIn(3) ? b.constData(3) : undefined;
  if (sizes && sizes.length) sizeInput = b.intConst('sizes', [sizes[2], sizes[3]]);
  else if (form === 'resize11' && b.hasIn(3) && !sizes) sizeInput = hw(3);
  else if (form !== 'upsample' || b.opset >= 9 ? b.hasIn(scaleIdx) && !b.constData(scaleIdx) : false) sizeInput = hw(scaleIdx);
  else {
    const scales = form === 'upsample' && b.opset < 9 ? Float32Array.from(b.attr('scales')?.floats ?? []) : b.constData(scaleIdx);
    if (!scales || scales.length !== 4) b.fail('needs 4-element scales or sizes');
    sizeInput = b.g.addConst(`${b.nodeName}_scales`, Float32Array.of(scales[2], scales[3]), [2]);
  }
  // What ONNX samples, for passes/exact-resize where the runtime would sample otherwise.
  const given = b.g.tensors[sizeInput].data;
  const onnx: OnnxResizeInfo = {
    coordinateMode: form === 'resize11' ? b.str('coordinate_transformation_mode', 'half_pixel') : 'asymmetric',
    nearestMode: form === 'resize11' ? b.str('nearest_mode', 'round_prefer_floor') : 'floor',
    cubicA: b.float('cubic_coeff_a', -0.75), excludeOutside: !!b.int('exclude_outside', 0),
    scales: given instanceof Float32Array ? [given[0], given[1]] : undefined,
  };
  b.emitNHWC('Resize', {
    format: Format.NHWC, method, new_height: 0, new_width: 0, preserve_aspect_ratio: false, coordinate_transform_mode: ctm,
    cubic_coeff: b.float('cubic_coeff_a', -0.75), exclude_outside: b.int('exclude_outside', 0), extrapolation_value: 0, nearest_mode: nearest, onnx,
  }, [b.in(0), sizeInput]);
}
