/**
 * TFLite -> Graph in MindSpore Lite ops. TFLite is already NHWC, so no layout work: conv weights OHWI are
 * KHWC as they are, depthwise [1, KH, KW, C*m] becomes [C*m, KH, KW, 1]. Quantized constant weights (hybrid
 * models) and fp16 constants behind DEQUANTIZE become float32.
 */
import * as fb from 'flatbuffers';
import { Graph, FmkType, Format, UserError, TensorData, sizeOf } from '../graph.js';
import { ActivationType as Act, PadMode, ReduceMode, ResizeMethod, CoordinateTransformMode as CT, NearestMode } from '../schema/ops.js';
import { halfBytesToFloat32, int64BytesToInt32, alignedCopy, FLT_MAX } from '../numeric.js';
import { Table } from './fb-table.js';
import { permuteConst } from '../layout.js';

const MODEL = { operator_codes: 1, subgraphs: 2, buffers: 4 };
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 };
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4 };
const QUANT = { scale: 2, zero_point: 3, quantized_dimension: 6 };
const OPERATOR = { opcode_index: 0, inputs: 1, outputs: 2, builtin_options: 4 };
const OPCODE = { deprecated_builtin_code: 0, builtin_code: 3 };

/** TensorType -> bytes per element and how to read it. */
const TYPES: Record<number, string> = { 0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 6: 'bool', 7: 'int16', 9: 'int8' };


interface Op {
  code: number;
  name: string;
  inputs: number[];
  outputs: number[];
  options?: Table;
}

type Converter = (c: TfliteBuilder, op: Op) => void;

export function importTflite(bytes: Uint8Array, file = 'model'): Graph {
  const bb = new fb.ByteBuffer(bytes);
  if (bytes.length < 8 || !bb.__has_identifier('TFL3'))
    throw new UserError(`${file}: not a TFLite model (file identifier is not TFL3)`);
  try {
    return new TfliteBuilder(bb, file).build();
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: corrupt or truncated TFLite model (${(e as Error).message})`);
  }
}

export const TFLITE_SUPPORTED_OPS = (): string[] => Object.keys(CONVERTERS).sort();

class TfliteBuilder {
  g = new Graph();
  ids: number[] = [];
  private tensors: Table[] = [];
  private buffers: Table[] = [];

  constructor(readonly bb: fb.ByteBuffer, readonly file: string) {
    this.g.fmkType = FmkType.TFLITE;
  }

  build(): Graph {
    const model = new Table(this.bb, this.bb.readInt32(this.bb.position()) + this.bb.position());
    const codes = model.tables(MODEL.operator_codes).map((c) => Math.max(c.int8(OPCODE.deprecated_builtin_code, 0), c.int32(OPCODE.builtin_code, 0)));
    const sub = model.tables(MODEL.subgraphs)[0];
    if (!sub) throw new UserError(`${this.file}: TFLite model has no subgraph`);
    this.g.name = sub.string(SUBGRAPH.name) ?? '';
    this.buffers = model.tables(MODEL.buffers);
    this.tensors = sub.tables(SUBGRAPH.tensors);
    this.ids = this.tensors.map((t, i) => this.addTensor(t, i));
    this.g.inputs = (sub.ints(SUBGRAPH.inputs) ?? []).map((i) => this.ids[i]);
    sub.tables(SUBGRAPH.operators).forEach((o, idx) => {
      const code = codes[o.int32(OPERATOR.opcode_index, 0)];
      const name = `${BUILTIN_NAMES[code] ?? `BUILTIN_${code}`}-${idx}`;
      const conv = CONVERTERS[BUILTIN_NAMES[code] ?? ''];
      if (!conv)
        throw new UserError(`${this.file}: unsupported TFLite op ${BUILTIN_NAMES[code] ?? code} (node ${name}). Supported ops: ${TFLITE_SUPPORTED_OPS().join(', ')}`);
      conv(this, { code, name, inputs: o.ints(OPERATOR.inputs) ?? [], outputs: o.ints(OPERATOR.outputs) ?? [], options: o.table(OPERATOR.builtin_options) });
    });
    this.g.outputs = (sub.ints(SUBGRAPH.outputs) ?? []).map((i) => this.ids[i]);
    return this.g;
  }

  private addTensor(t: Table, index: number): number {
    const name = t.string(TENSOR.name) ?? `tensor_${index}`;
    const shape = t.ints(TENSOR.shape) ?? [];
    const type = TYPES[t.int8(TENSOR.type, 0)];
    if (!type) throw new UserError(`${this.file}: tensor ${name} has unsupported TFLite type ${t.int8(TENSOR.type, 0)}`);
    const bufIndex = t.int32(TENSOR.buffer, 0);
    if (bufIndex < 0 || bufIndex >= Math.max(this.buffers.length, 1)) throw new RangeError(`tensor ${name} refers to buffer ${bufIndex} of ${this.buffers.length}`);
    const buf = this.buffers[bufIndex];
    const raw = buf?.bytes(0);
    if (!raw || raw.length === 0) {
      if (type === 'int8' || type === 'uint8' || type === 'int16')
        throw new UserError(`${this.file}: tensor ${name} is a ${type} activation: fully quantized TFLite models are not supported, convert the float model`);
      return this.g.addTensor({ name, shape, dtype: type === 'int32' || type === 'int64' ? 'int32' : 'float32', format: Format.NHWC });
    }
    let data: TensorData;
    const q = t.table(TENSOR.quantization);
    const scales = q?.floats(QUANT.scale);
    if ((type === 'int8' || type === 'uint8') && scales?.length) {
      data = dequantize(type === 'int8' ? new Int8Array(alignedCopy(raw)) : new Uint8Array(alignedCopy(raw)), shape, scales, q!.longs(QUANT.zero_point) ?? [], q!.int32(QUANT.quantized_dimension, 0));
    } else if (type === 'float32') data = new Float32Array(alignedCopy(raw));
    else if (type === 'float16') data = halfBytesToFloat32(raw);
    else if (type === 'int32') data = new Int32Array(alignedCopy(raw));
    else if (type === 'int64') data = int64BytesToInt32(raw);
    else if (type === 'int8') data = new Int8Array(alignedCopy(raw));
    else if (type === 'uint8' || type === 'bool') data = new Uint8Array(alignedCopy(raw));
    else throw new UserError(`${this.file}: constant ${name} of type ${type} is not supported`);
    if (data.length !== sizeOf(shape)) throw new UserError(`${this.file}: constant ${name} has ${data.length} values for shape [${shape}]`);
    return this.g.addConst(name, data, shape, Format.NHWC);
  }

  in(op: Op, i: number): number {
    const t = op.inputs[i];
    return t === undefined || t < 0 ? -1 : this.ids[t];
  }

  constInts(op: Op, i: number): number[] {
    const d = this.g.tensors[this.in(op, i)]?.data;
    if (!d) throw new UserError(`${this.file}: node ${op.name}: input ${i} must be a constant`);
    return Array.from(d as ArrayLike<number>);
  }

  emit(op: Op, type: string, attrs: Record<string, unknown>, inputs: number[]): void {
    this.g.addNode({ name: op.name, op: type, attrs, inputs, outputs: op.outputs.map((o) => this.ids[o]) });
  }

  /** An op whose fused activation MindSpore cannot hold gets a separate Activation node. */
  emitWithActivation(op: Op, type: string, attrs: Record<string, unknown>, inputs: number[], act: number): void {
    if (act === Act.NO_ACTIVATION) return this.emit(op, type, attrs, inputs);
    const tmp = this.g.addTensor({ name: `${op.name}_pre_act`, format: Format.NHWC });
    this.g.addNode({ name: op.name, op: type, attrs, inputs, outputs: [tmp] });
    this.g.addNode({ name: `${op.name}_activation`, op: 'Activation', attrs: activationAttrs(act), inputs: [tmp], outputs: op.outputs.map((o) => this.ids[o]) });
  }

  fail(op: Op, msg: string): never {
    throw new UserError(`${this.file}: node ${op.name}: ${msg}`);
  }
}

function dequantize(q: Int8Array | Uint8Array, shape: number[], scales: number[], zps: number[], axis: number): Float32Array {
  const out = new Float32Array(q.length);
  const inner = sizeOf(shape.slice(axis + 1));
  const ch = shape[axis] ?? 1;
  for (let i = 0; i < q.length; i++) {
    const c = scales.length === 1 ? 0 : Math.floor(i / inner) % ch;
    out[i] = (q[i] - (zps[c] ?? 0)) * scales[c];
  }
  return out;
}

/** TFLite fused activation -> MindSpore ActivationType; RELU_N1_TO_1 and SIGN_BIT are not representable. */
function fusedActivation(c: TfliteBuilder, op: Op, v: number): number {
  switch (v) {
    case 0: return Act.NO_ACTIVATION;
    case 1: return Act.RELU;
    case 3: return Act.RELU6;
    case 4: return Act.TANH;
    default: return c.fail(op, `fused activation ${v} is not supported`);
  }
}

function activationAttrs(type: number, extra: Record<string, number> = {}): Record<string, unknown> {
  return { activation_type: type, alpha: 0, min_val: 0, max_val: type === Act.RELU ? FLT_MAX : type === Act.RELU6 ? 6 : 0, ...extra };
}

/** SAME padding split as TF does it: the smaller half on top/left. */
function samePads(inLen: number, stride: number, k: number, dil: number): [number, number] {
  const out = Math.ceil(inLen / stride);
  const total = Math.max(0, (out - 1) * stride + (k - 1) * dil + 1 - inLen);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function convLike(depthwise: boolean): Converter {
  return (c, op) => {
    const o = op.options;
    const padding = o?.int8(0, 0) ?? 0;
    const sw = o?.int32(1, 1) || 1, sh = o?.int32(2, 1) || 1;
    const actSlot = depthwise ? 4 : 3;
    const dw = o?.int32(actSlot + 1, 1) || 1, dh = o?.int32(actSlot + 2, 1) || 1;
    const act = fusedActivation(c, op, o?.int8(actSlot, 0) ?? 0);
    const x = c.g.tensors[c.in(op, 0)];
    let wId = c.in(op, 1);
    const w = c.g.tensors[wId];
    if (!w.data) c.fail(op, 'the weight must be a constant');
    let group = 1;
    if (depthwise) {
      // [1, KH, KW, C*m] -> [C*m, KH, KW, 1]
      const p = permuteConst(w.data as Float32Array, w.shape, [3, 1, 2, 0]);
      wId = c.g.addConst(w.name, p.data, p.shape, Format.NHWC);
      group = x.shape[3];
    }
    const [cout, kh, kw, cinG] = c.g.tensors[wId].shape;
    const pads = padding === 0 ? [...samePads(x.shape[1], sh, kh, dh), ...samePads(x.shape[2], sw, kw, dw)] : [0, 0, 0, 0];
    const attrs = {
      format: Format.NHWC, kernel_size: [kh, kw], stride: [sh, sw], dilation: [dh, dw], pad_mode: padding === 0 ? PadMode.SAME : PadMode.VALID,
      pad_list: pads, mode: 1, group, in_channel: cinG * group, out_channel: cout, activation_type: act === Act.TANH ? 0 : act,
    };
    const ins = [c.in(op, 0), wId];
    if (c.in(op, 2) >= 0) ins.push(c.in(op, 2));
    c.emitWithActivation(op, 'Conv2DFusion', attrs, ins, act === Act.TANH ? act : 0);
  };
}

function poolOp(type: string): Converter {
  return (c, op) => {
    const o = op.options!;
    const padding = o.int8(0, 0), sw = o.int32(1, 1), sh = o.int32(2, 1), fw = o.int32(3, 1), fh = o.int32(4, 1);
    const act = fusedActivation(c, op, o.int8(5, 0));
    const x = c.g.tensors[c.in(op, 0)];
    const pad = padding === 0 ? [...samePads(x.shape[1], sh, fh, 1), ...samePads(x.shape[2], sw, fw, 1)] : [0, 0, 0, 0];
    c.emitWithActivation(op, type, {
      kernel_size: [fh, fw], strides: [sh, sw], pad, pad_mode: padding === 0 ? PadMode.SAME : PadMode.VALID, round_mode: 0,
      format: Format.NHWC, global: false, activation_type: act === Act.TANH ? 0 : act,
    }, [c.in(op, 0)], act === Act.TANH ? act : 0);
  };
}

function binaryOp(type: string): Converter {
  return (c, op) => {
    const act = fusedActivation(c, op, op.options?.int8(0, 0) ?? 0);
    c.emitWithActivation(op, type, { activation_type: act === Act.TANH ? 0 : act }, [c.in(op, 0), c.in(op, 1)], act === Act.TANH ? act : 0);
  };
}

const activation = (type: number): Converter => (c, op) => c.emit(op, 'Activation', activationAttrs(type), [c.in(op, 0)]);

const reduceOp = (mode: number): Converter => (c, op) =>
  c.emit(op, 'ReduceFusion', { keep_dims: (op.options?.uint8(0, 0) ?? 0) !== 0, mode, reduce_to_end: false, coeff: 1 }, [c.in(op, 0), c.in(op, 1)]);

function resizeOp(method: number): Converter {
  return (c, op) => {
    const o = op.options;
    const [alignSlot, halfSlot] = method === ResizeMethod.LINEAR ? [2, 3] : [0, 1];
    const align = (o?.uint8(alignSlot, 0) ?? 0) !== 0, half = (o?.uint8(halfSlot, 0) ?? 0) !== 0;
    c.emit(op, 'Resize', {
      format: Format.NHWC, method, new_height: 0, new_width: 0, preserve_aspect_ratio: false,
      coordinate_transform_mode: align ? CT.ALIGN_CORNERS : half ? CT.HALF_PIXEL : CT.ASYMMETRIC,
      cubic_coeff: -0.75, exclude_outside: 0, extrapolation_value: 0, nearest_mode: NearestMode.NORMAL,
    }, [c.in(op, 0), c.in(op, 1)]);
  };
}

/** An elementwise op with one input and no attributes. */
const unary = (msOp: string): Converter => (c, op) => c.emit(op, msOp, {}, [c.in(op, 0)]);

const CONVERTERS: Record<string, Converter> = {
  CONV_2D: convLike(false),
  DEPTHWISE_CONV_2D: convLike(true),
  FULLY_CONNECTED: (c, op) => {
    const act = fusedActivation(c, op, op.options?.int8(0, 0) ?? 0);
    const hasBias = c.in(op, 2) >= 0;
    const ins = [c.in(op, 0), c.in(op, 1)];
    if (hasBias) ins.push(c.in(op, 2));
    c.emitWithActivation(op, 'FullConnection', { has_bias: hasBias, use_axis: false, axis: 1, activation_type: act === Act.TANH ? 0 : act }, ins, act === Act.TANH ? act : 0);
  },
  ADD: binaryOp('AddFusion'),
  SUB: binaryOp('SubFusion'),
  MUL: binaryOp('MulFusion'),
  DIV: binaryOp('DivFusion'),
  MAXIMUM: (c, op) => c.emit(op, 'Maximum', {}, [c.in(op, 0), c.in(op, 1)]),
  MINIMUM: (c, op) => c.emit(op, 'Minimum', {}, [c.in(op, 0), c.in(op, 1)]),
  AVERAGE_POOL_2D: poolOp('AvgPoolFusion'),
  MAX_POOL_2D: poolOp('MaxPoolFusion'),
  RESHAPE: (c, op) => {
    const shape = c.in(op, 1) >= 0 && c.g.tensors[c.in(op, 1)].data ? c.constInts(op, 1) : (op.options?.ints(0) ?? []);
    c.emit(op, 'Reshape', {}, [c.in(op, 0), c.g.addConst(`${op.name}_shape`, Int32Array.from(shape), [shape.length])]);
  },
  SOFTMAX: (c, op) => {
    const beta = op.options?.float32(0, 1) ?? 1;
    if (beta !== 1) c.fail(op, `softmax beta ${beta} is not supported (MindSpore Lite ignores beta)`);
    c.emit(op, 'Softmax', { axis: [-1] }, [c.in(op, 0)]);
  },
  CONCATENATION: (c, op) => {
    const act = fusedActivation(c, op, op.options?.int8(1, 0) ?? 0);
    c.emitWithActivation(op, 'Concat', { axis: op.options?.int32(0, 0) ?? 0 }, op.inputs.map((_, i) => c.in(op, i)), act);
  },
  RELU: activation(Act.RELU),
  RELU6: activation(Act.RELU6),
  LOGISTIC: activation(Act.SIGMOID),
  TANH: activation(Act.TANH),
  HARD_SWISH: activation(Act.HSWISH),
  LEAKY_RELU: (c, op) => c.emit(op, 'Activation', activationAttrs(Act.LEAKY_RELU, { alpha: op.options?.float32(0, 0.2) ?? 0.2 }), [c.in(op, 0)]),
  PRELU: (c, op) => {
    const s = c.g.tensors[c.in(op, 1)];
    const data = s.data ?? c.fail(op, 'the slope must be a constant');
    c.emit(op, 'PReLUFusion', { channel_shared: data.length === 1 }, [c.in(op, 0), c.g.addConst(s.name, data, [data.length], Format.NHWC)]);
  },
  EXP: (c, op) => c.emit(op, 'ExpFusion', { base: -1, scale: 1, shift: 0 }, [c.in(op, 0)]),
  SQRT: unary('Sqrt'),
  LOG: unary('Log'),
  FLOOR: unary('Floor'),
  CEIL: unary('Ceil'),
  ROUND: unary('Round'),
  SIN: unary('Sin'),
  COS: unary('Cos'),
  MEAN: reduceOp(ReduceMode.Mean),
  SUM: reduceOp(ReduceMode.Sum),
  REDUCE_MAX: reduceOp(ReduceMode.Max),
  REDUCE_MIN: reduceOp(ReduceMode.Min),
  PAD: (c, op) => c.emit(op, 'PadFusion', { padding_mode: 0, constant_value: 0 }, [c.in(op, 0), c.in(op, 1)]),
  PADV2: (c, op) => c.emit(op, 'PadFusion', { padding_mode: 0, constant_value: c.g.tensors[c.in(op, 2)].data?.[0] ?? 0 }, [c.in(op, 0), c.in(op, 1)]),
  MIRROR_PAD: (c, op) => c.emit(op, 'PadFusion', { padding_mode: (op.options?.int8(0, 0) ?? 0) === 0 ? 1 : 2, constant_value: 0 }, [c.in(op, 0), c.in(op, 1)]),
  SQUEEZE: (c, op) => c.emit(op, 'Squeeze', { axis: op.options?.ints(0) ?? [] }, [c.in(op, 0)]),
  EXPAND_DIMS: (c, op) => c.emit(op, 'ExpandDims', {}, [c.in(op, 0), c.in(op, 1)]),
  TRANSPOSE: (c, op) => c.emit(op, 'Transpose', {}, [c.in(op, 0), c.in(op, 1)]),
  STRIDED_SLICE: (c, op) => {
    const o = op.options;
    const masks = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((_, i) => o?.int32(i, 0) ?? 0);
    if (masks[2] || masks[3]) c.fail(op, 'ellipsis and new-axis masks are not supported');
    c.emit(op, 'StridedSlice', { begin_mask: masks[0], end_mask: masks[1], ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: masks[4] },
      [c.in(op, 0), c.in(op, 1), c.in(op, 2), c.in(op, 3)]);
  },
  SLICE: (c, op) => c.emit(op, 'SliceFusion', { axes: null }, [c.in(op, 0), c.in(op, 1), c.in(op, 2)]),
  GATHER: (c, op) => c.emit(op, 'Gather', {}, [c.in(op, 0), c.in(op, 1), c.g.addConst(`${op.name}_axis`, Int32Array.of(op.options?.int32(0, 0) ?? 0), [1])]),
  SPLIT: (c, op) => {
    const axis = c.constInts(op, 0)[0];
    c.emit(op, 'Split', { output_num: op.options?.int32(0, op.outputs.length) ?? op.outputs.length, size_splits: null, axis }, [c.in(op, 1)]);
  },
  RESIZE_BILINEAR: resizeOp(ResizeMethod.LINEAR),
  RESIZE_NEAREST_NEIGHBOR: resizeOp(ResizeMethod.NEAREST),
  SHAPE: (c, op) => c.emit(op, 'Shape', {}, [c.in(op, 0)]),
  DEQUANTIZE: (c, op) => {
    // Constant inputs were already made float32 on load; the op is then an alias.
    const x = c.g.tensors[c.in(op, 0)];
    if (!x.data) c.fail(op, 'DEQUANTIZE of a non-constant tensor (a quantized model) is not supported; convert the float model');
    const out = c.g.tensors[c.ids[op.outputs[0]]];
    out.data = x.data;
    out.shape = x.shape;
    out.name = `constfold_${op.name}`;
  },
};

/** BuiltinOperator code -> name, for the ops above and for clear errors about others. */
const BUILTIN_NAMES: Record<number, string> = {
  0: 'ADD', 1: 'AVERAGE_POOL_2D', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D', 5: 'DEPTH_TO_SPACE', 6: 'DEQUANTIZE',
  8: 'FLOOR', 9: 'FULLY_CONNECTED', 14: 'LOGISTIC', 16: 'LSTM', 17: 'MAX_POOL_2D', 18: 'MUL', 19: 'RELU', 21: 'RELU6', 22: 'RESHAPE',
  23: 'RESIZE_BILINEAR', 25: 'SOFTMAX', 26: 'SPACE_TO_DEPTH', 28: 'TANH', 32: 'CUSTOM', 34: 'PAD', 36: 'GATHER', 39: 'TRANSPOSE',
  40: 'MEAN', 41: 'SUB', 42: 'DIV', 43: 'SQUEEZE', 45: 'STRIDED_SLICE', 47: 'EXP', 49: 'SPLIT', 53: 'CAST', 54: 'PRELU', 55: 'MAXIMUM',
  57: 'MINIMUM', 60: 'PADV2', 65: 'SLICE', 66: 'SIN', 73: 'LOG', 104: 'CEIL', 108: 'COS', 116: 'ROUND', 67: 'TRANSPOSE_CONV', 70: 'EXPAND_DIMS', 74: 'SUM', 75: 'SQRT', 77: 'SHAPE', 82: 'REDUCE_MAX',
  83: 'PACK', 89: 'REDUCE_MIN', 97: 'RESIZE_NEAREST_NEIGHBOR', 98: 'LEAKY_RELU', 100: 'MIRROR_PAD', 114: 'QUANTIZE', 117: 'HARD_SWISH',
  126: 'BATCH_MATMUL',
};
