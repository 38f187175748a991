/**
 * TFLite -> Graph in MindSpore Lite ops. TFLite is already NHWC, so no layout work: conv weights OHWI are
 * KHWC as they are, depthwise [1, KH, KW, C*m] becomes [C*m, KH, KW, 1]. Quantized constant weights (hybrid
 * models) and fp16 constants behind DEQUANTIZE become float32.
 */
import * as fb from 'flatbuffers';
import { Graph, FmkType, Format, UserError, TensorData, QuantParam, sizeOf } from '../graph.js';
import { ActivationType as Act, PadMode, ReduceMode, ResizeMethod, CoordinateTransformMode as CT, NearestMode, TypeId } from '../schema/ops.js';
import { halfBytesToFloat32, int64BytesToInt32, int64BytesToFloat64, alignedCopy, FLT_MAX } from '../numeric.js';
import { Table } from './fb-table.js';
import { permuteConst } from '../layout.js';

const MODEL = { operator_codes: 1, subgraphs: 2, buffers: 4 };
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 };
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4 };
const QUANT = { scale: 2, zero_point: 3, quantized_dimension: 6 };
const OPERATOR = { opcode_index: 0, inputs: 1, outputs: 2, builtin_options: 4, custom_options: 5 };
const OPCODE = { deprecated_builtin_code: 0, custom_code: 1, builtin_code: 3 };
const CUSTOM = 32;

/** TensorType -> bytes per element and how to read it. */
const TYPES: Record<number, string> = { 0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 6: 'bool', 7: 'int16', 9: 'int8' };


interface Op {
  code: number;
  name: string;
  inputs: number[];
  outputs: number[];
  options?: Table;
  /** A CUSTOM op's raw options (MediaPipe writes C structs there). */
  custom?: Uint8Array;
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
  /** Some activation is int8 / uint8: a quantization-aware model whose parameters the converter applies. */
  quantized = false;
  /**
   * Activations of TFLite's 16x8 quantization (int16 with a scale, zero point 0). MindSpore Lite's runtime has
   * no int16 kernels, so such a model converts to float: weights dequantized, activations float, which computes
   * what the int16 model approximates (to within its 16-bit step).
   */
  int16Activations: string[] = [];
  ids: number[] = [];
  private tensors: Table[] = [];
  private buffers: Table[] = [];

  constructor(readonly bb: fb.ByteBuffer, readonly file: string) {
    this.g.fmkType = FmkType.TFLITE;
  }

  build(): Graph {
    const model = new Table(this.bb, this.bb.readInt32(this.bb.position()) + this.bb.position());
    const opcodes = model.tables(MODEL.operator_codes);
    const codes = opcodes.map((c) => Math.max(c.int8(OPCODE.deprecated_builtin_code, 0), c.int32(OPCODE.builtin_code, 0)));
    // A CUSTOM op is known by its custom_code (MediaPipe's Convolution2DTransposeBias, ...).
    const opNames = opcodes.map((c, k) => (codes[k] === CUSTOM ? `CUSTOM:${c.string(OPCODE.custom_code) ?? ''}` : BUILTIN_NAMES[codes[k]] ?? `BUILTIN_${codes[k]}`));
    const sub = model.tables(MODEL.subgraphs)[0];
    if (!sub) throw new UserError(`${this.file}: TFLite model has no subgraph`);
    this.g.name = sub.string(SUBGRAPH.name) ?? '';
    this.buffers = model.tables(MODEL.buffers);
    this.tensors = sub.tables(SUBGRAPH.tensors);
    this.ids = this.tensors.map((t, i) => this.addTensor(t, i));
    this.g.inputs = (sub.ints(SUBGRAPH.inputs) ?? []).map((i) => this.ids[i]);
    this.refuseInt16Borders(sub);
    sub.tables(SUBGRAPH.operators).forEach((o, idx) => {
      const k = o.int32(OPERATOR.opcode_index, 0), code = codes[k], opName = opNames[k] ?? `BUILTIN_${code}`;
      const name = `${opName.replace(':', '_')}-${idx}`;
      const conv = CONVERTERS[opName];
      if (!conv) {
        const what = code === CUSTOM ? `custom op ${opName.slice(7) || '(no custom_code)'}` : `op ${opName}`;
        throw new UserError(`${this.file}: unsupported TFLite ${what} (node ${name}). Supported ops: ${TFLITE_SUPPORTED_OPS().join(', ')}`);
      }
      conv(this, {
        code, name, inputs: o.ints(OPERATOR.inputs) ?? [], outputs: o.ints(OPERATOR.outputs) ?? [], options: o.table(OPERATOR.builtin_options),
        custom: code === CUSTOM ? o.bytes(OPERATOR.custom_options) : undefined,
      });
    });
    this.g.outputs = (sub.ints(SUBGRAPH.outputs) ?? []).map((i) => this.ids[i]);
    // A float model keeps no parameters (hybrid int8 weights are plain float weights now); nor does a 16x8 one.
    if (!this.quantized || this.int16Activations.length) for (const t of this.g.tensors) delete t.quant;
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
    const q = t.table(TENSOR.quantization);
    const scales = q?.floats(QUANT.scale), zps = q?.longs(QUANT.zero_point) ?? [];
    if (!raw || raw.length === 0) {
      if (type === 'int8' || type === 'uint8') {
        // A fully quantized model: the graph is built in float with each activation's own parameters, which
        // quantizeAsGiven then applies (uint8 becomes int8: zero point - 128).
        // Without parameters it is ordinary integer data (MoveNet's uint8 image input, read through a CAST).
        if (!scales?.length) return this.g.addTensor({ name, shape, dtype: type, format: Format.NHWC });
        this.quantized = true;
        return this.g.addTensor({ name, shape, dtype: 'float32', format: Format.NHWC, quant: [givenParam(scales[0], (zps[0] ?? 0) - (type === 'uint8' ? 128 : 0))] });
      }
      if (type === 'int16') {
        if (!scales?.length) throw new UserError(`${this.file}: tensor ${name} is an int16 activation without quantization parameters: MindSpore Lite has no int16 tensors`);
        this.int16Activations.push(name);
        return this.g.addTensor({ name, shape, dtype: 'float32', format: Format.NHWC });
      }
      return this.g.addTensor({ name, shape, dtype: type === 'int32' || type === 'int64' ? 'int32' : 'float32', format: Format.NHWC });
    }
    let data: TensorData;
    let quant: ReturnType<typeof givenParam>[] | undefined;
    if ((type === 'int8' || type === 'uint8') && scales?.length) {
      data = dequantize(type === 'int8' ? new Int8Array(alignedCopy(raw)) : new Uint8Array(alignedCopy(raw)), shape, scales, zps, q!.int32(QUANT.quantized_dimension, 0));
      // Kept for a fully quantized model's weights; dropped again when the model turns out float.
      quant = scales.map((sc, k) => givenParam(sc, (zps[k] ?? 0) - (type === 'uint8' ? 128 : 0)));
    } else if ((type === 'int32' || type === 'int64' || type === 'int16') && scales?.length) {
      // An int32 bias of a quantized conv / FC (int64 in a 16x8 model): float here, requantized at input scale x
      // weight scale; an int16 constant of a 16x8 model is dequantized like an int8 weight.
      const ints = type === 'int32' ? new Int32Array(alignedCopy(raw)) : type === 'int16' ? new Int16Array(alignedCopy(raw)) : int64BytesToFloat64(raw);
      data = dequantize(ints, shape, scales, zps, q!.int32(QUANT.quantized_dimension, 0));
    } else if (type === 'float32') data = new Float32Array(alignedCopy(raw));
    else if (type === 'float16') data = halfBytesToFloat32(raw);
    else if (type === 'int32') data = new Int32Array(alignedCopy(raw));
    else if (type === 'int64') data = int64BytesToInt32(raw);
    else if (type === 'int8') data = new Int8Array(alignedCopy(raw));
    else if (type === 'uint8' || type === 'bool') data = new Uint8Array(alignedCopy(raw));
    else throw new UserError(`${this.file}: constant ${name} of type ${type} is not supported`);
    if (data.length !== sizeOf(shape)) throw new UserError(`${this.file}: constant ${name} has ${data.length} values for shape [${shape}]`);
    const id = this.g.addConst(name, data, shape, Format.NHWC);
    if (quant) this.g.tensors[id].quant = quant;
    return id;
  }

  /** A 16x8 model must take and give float: an int16 graph input or output would have no MindSpore Lite type. */
  private refuseInt16Borders(sub: Table): void {
    const int16 = new Set(this.int16Activations);
    for (const [what, slot] of [['input', SUBGRAPH.inputs], ['output', SUBGRAPH.outputs]] as const) {
      for (const i of sub.ints(slot) ?? []) {
        const name = this.g.tensors[this.ids[i]].name;
        if (int16.has(name)) throw new UserError(`${this.file}: graph ${what} ${name} is int16 (16x8 quantization): MindSpore Lite has no int16 tensors; export the model with float32 ${what}s (inference_${what}_type=tf.float32)`);
      }
    }
  }

  /** A variable tensor (a recurrent layer's state): zeros at the start, updated by the op in place. */
  isVariable(op: Op, i: number): boolean {
    const t = op.inputs[i];
    return t !== undefined && t >= 0 && this.tensors[t].int8(5, 0) !== 0;
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

  /** The op's output is its input: later readers (and the graph outputs) use `id` instead. */
  alias(op: Op, id: number): void {
    this.ids[op.outputs[0]] = id;
  }

  fail(op: Op, msg: string): never {
    throw new UserError(`${this.file}: node ${op.name}: ${msg}`);
  }
}

/** A TFLite scale / zero point as the QuantParam of an int8 tensor. */
function givenParam(scale: number, zeroPoint: number): QuantParam {
  return { scale, zeroPoint, min: 0, max: 0, narrowRange: false, numBits: 8, inited: true, varCorr: 1, meanCorr: 0, dstDtype: TypeId.int8, roundType: 1, multiplier: 1 };
}

function dequantize(q: Int8Array | Uint8Array | Int16Array | Int32Array | Float64Array, shape: number[], scales: number[], zps: number[], axis: number): Float32Array {
  const out = new Float32Array(q.length);
  const inner = sizeOf(shape.slice(axis + 1));
  const ch = shape[axis] ?? 1;
  for (let i = 0; i < q.length; i++) {
    const c = scales.length === 1 ? 0 : Math.floor(i / inner) % ch;
    out[i] = (q[i] - (zps[c] ?? 0)) * scales[c];
  }
  return out;
}

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM as the ONNX-form LSTM MindSpore keeps (gates i, o, f, c; W [1, 4H, in],
 * R [1, 4H, H], B [1, 8H]), sequence-first between transposes; peepholes, a cell activation other than tanh
 * or a clipped cell state are unrolled (passes/unroll-rnn). The state tensors are variables that start at zero.
 */
function sequenceLstm(c: TfliteBuilder, op: Op): void {
  const o = op.options;
  const act = o?.int8(0, 0) ?? 0, cellClip = o?.float32(1, 0) ?? 0, projClip = o?.float32(2, 0) ?? 0, timeMajor = !!o?.int8(3, 0);
  const present = (i: number) => c.in(op, i) >= 0;
  if (!present(1)) c.fail(op, 'coupled input and forget gates (CIFG, no input gate weights) are not supported');
  if (present(16) || projClip) c.fail(op, 'a projection layer is not supported');
  if ([20, 21, 22, 23].some(present)) c.fail(op, 'layer normalization inside the LSTM is not supported');
  const weight = (i: number) => {
    const t = c.g.tensors[c.in(op, i)];
    if (!t.data) c.fail(op, `input ${i} (${t.name}) must be a constant`);
    return { data: Float32Array.from(t.data as ArrayLike<number>), shape: t.shape };
  };
  // ONNX's gate order i, o, f, c from TFLite's i, f, c, o
  const order = (first: number) => [first, first + 3, first + 1, first + 2].map(weight);
  const wx = order(1), wh = order(5), bias = order(12);
  const H = wh[0].shape[0], input = wx[0].shape[1];
  const joined = (parts: { data: Float32Array }[]) => Float32Array.from(parts.flatMap((p) => Array.from(p.data)));
  const name = (s: string) => `${op.name}_${s}`;
  const W = c.g.addConst(name('W'), joined(wx), [1, 4 * H, input]);
  const R = c.g.addConst(name('R'), joined(wh), [1, 4 * H, H]);
  const B = c.g.addConst(name('B'), Float32Array.from([...joined(bias), ...new Float32Array(4 * H)]), [1, 8 * H]);
  const tensor = (s: string) => c.g.addTensor({ name: name(s), format: Format.NHWC });
  const node = (type: string, attrs: Record<string, unknown>, inputs: number[], s: string, out = tensor(s)) => {
    c.g.addNode({ name: name(s), op: type, attrs, inputs, outputs: [out] });
    return out;
  };
  const swap01 = (x: number, s: string, out?: number) => node('Transpose', {}, [x, c.g.addConst(name(`${s}_perm`), Int32Array.of(1, 0, 2), [3])], s, out);
  const x = timeMajor ? c.in(op, 0) : swap01(c.in(op, 0), 'x_time_first');
  const state = (i: number, s: string) => (c.isVariable(op, i) || !present(i) ? -1 : node('Unsqueeze', { axis: [0] }, [c.in(op, i)], s));
  const peepholes = [9, 10, 11].some(present);
  const inputs = [x, W, R, B, -1, state(18, 'h0'), state(19, 'c0')];
  const y = tensor('y'), yh = tensor('y_h'), yc = tensor('y_c');
  const cellAct = fusedActivation(c, op, act);
  if (peepholes || cellAct !== Act.TANH || cellClip) {
    if (peepholes) inputs.push(c.g.addConst(name('P'), joined([9, 11, 10].map(weight)), [1, 3 * H]));
    const g = cellAct === Act.RELU ? 'Relu' : cellAct === Act.TANH ? 'Tanh' : cellAct === Act.NO_ACTIVATION ? 'Affine' : c.fail(op, `cell activation ${act} is not supported`);
    c.g.addNode({ name: op.name, op: 'RnnToUnroll', attrs: { kind: 'LSTM', direction: 'forward', hidden: H, linearBeforeReset: false, activations: ['Sigmoid', g, g], alphas: [], betas: [], inputForget: false, cellClip }, inputs, outputs: [y, yh, yc] });
  } else {
    c.g.addNode({ name: op.name, op: 'LSTM', attrs: { bidirectional: false, has_bias: true, input_size: 0, hidden_size: H, num_layers: 1, num_directions: 1, dropout: 0, zoneout_cell: 0, zoneout_hidden: 0, proj_size: 0 }, inputs, outputs: [y, yh, yc] });
  }
  // Y [time, 1, batch, H] -> [time, batch, H] (-> [batch, time, H])
  const out = c.ids[op.outputs[0]];
  const squeezed = node('Squeeze', { axis: [1] }, [y], 'y_squeezed', timeMajor ? out : undefined);
  if (!timeMajor) swap01(squeezed, 'y_batch_first', out);
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
      c.g.tensors[wId].quant = w.quant; // per channel along C*m, dim 3 before, dim 0 now
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

/** An op whose first `count` inputs map one to one and that has no attributes. */
const plain = (msOp: string, count: number): Converter => (c, op) => c.emit(op, msOp, {}, [...Array(count).keys()].map((k) => c.in(op, k)));

/** [before0, after0, before1, after1] (a [2, 2] paddings / crops tensor) as MindSpore's Vec2D rows. */
const pairs = (v: number[]) => [[v[0], v[1]], [v[2], v[3]]];

/** ARG_MAX / ARG_MIN: axis is a constant input, the reduced dim is dropped. */
const argOp = (msOp: string): Converter => (c, op) => c.emit(op, msOp, { axis: c.constInts(op, 1)[0], top_k: 1, keep_dims: false, out_max_value: false }, [c.in(op, 0)]);

/**
 * A transposed convolution: weights [Cout, KH, KW, Cin] become [Cin, KH, KW, Cout]; SAME makes the output
 * input x stride (or the given output shape), VALID (input - 1) x stride + kernel.
 */
function transposeConv(c: TfliteBuilder, op: Op, x: number, wIn: number, bias: number, padding: 'SAME' | 'VALID', sh: number, sw: number, act: number, outShape?: number[]): void {
  const w = c.g.tensors[wIn];
  if (!w.data) c.fail(op, 'the weight must be a constant');
  const p = permuteConst(w.data as Float32Array, w.shape, [3, 1, 2, 0]);
  const wId = c.g.addConst(w.name, p.data, p.shape, Format.NHWC);
  c.g.tensors[wId].quant = w.quant;
  const [cin, kh, kw, cout] = p.shape;
  const [ih, iw] = c.g.tensors[x].shape.slice(1, 3);
  const outHw = outShape ? outShape.slice(1, 3) : padding === 'SAME' ? [ih * sh, iw * sw] : [(ih - 1) * sh + kh, (iw - 1) * sw + kw];
  const attrs = {
    format: Format.NHWC, kernel_size: [kh, kw], stride: [sh, sw], dilation: [1, 1], pad_mode: padding === 'SAME' ? PadMode.SAME : PadMode.VALID,
    pad: [0, 0, 0, 0], pad_list: [0, 0, 0, 0], mode: 1, group: 1, in_channel: cin, out_channel: cout, activation_type: act === Act.TANH ? 0 : act,
    output_paddings: [0, 0], output_hw: outHw,
  };
  c.emitWithActivation(op, 'Conv2dTransposeFusion', attrs, bias >= 0 ? [x, wId, bias] : [x, wId], act === Act.TANH ? act : 0);
}

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
    // The target: a constant input, else the options' new_shape, else a computed input the passes fold.
    const given = c.in(op, 1);
    if (given >= 0 && !c.g.tensors[given].data && !op.options?.ints(0)) return c.emit(op, 'Reshape', {}, [c.in(op, 0), given]);
    const shape = given >= 0 && c.g.tensors[given].data ? c.constInts(op, 1) : (op.options?.ints(0) ?? []);
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
  TRANSPOSE_CONV: (c, op) => {
    // inputs: output shape, weights [Cout, KH, KW, Cin], input, optional bias
    const o = op.options;
    transposeConv(c, op, c.in(op, 2), c.in(op, 1), c.in(op, 3), o?.int8(0, 0) === 1 ? 'VALID' : 'SAME', o?.int32(2, 1) || 1, o?.int32(1, 1) || 1,
      fusedActivation(c, op, o?.int8(3, 0) ?? 0), c.constInts(op, 0));
  },
  'CUSTOM:Convolution2DTransposeBias': (c, op) => {
    // MediaPipe's transposed conv with bias: options are a TfLiteTransposeConvParams struct {padding, stride_w, stride_h}.
    const p = op.custom && op.custom.length >= 12 ? new DataView(op.custom.buffer, op.custom.byteOffset, 12) : undefined;
    if (!p) c.fail(op, 'Convolution2DTransposeBias without its 12-byte options');
    transposeConv(c, op, c.in(op, 0), c.in(op, 1), c.in(op, 2), p!.getInt32(0, true) === 2 ? 'VALID' : 'SAME', p!.getInt32(8, true) || 1, p!.getInt32(4, true) || 1, Act.NO_ACTIVATION);
  },
  // As MindSpore's TFLite parser: BatchToSpace (the runtime cannot load a BatchToSpaceND, see ops/indexing).
  BATCH_TO_SPACE_ND: (c, op) => c.emit(op, 'BatchToSpace', { block_size: c.constInts(op, 1), crops: pairs(c.constInts(op, 2)) }, [c.in(op, 0)]),
  SPACE_TO_BATCH_ND: (c, op) => c.emit(op, 'SpaceToBatchND', { block_shape: c.constInts(op, 1), paddings: pairs(c.constInts(op, 2)) }, [c.in(op, 0)]),
  DEPTH_TO_SPACE: (c, op) => c.emit(op, 'DepthToSpace', { block_size: op.options?.int32(0, 1) ?? 1, format: Format.NHWC, mode: 'DCR' }, [c.in(op, 0)]),
  SPACE_TO_DEPTH: (c, op) => c.emit(op, 'SpaceToDepth', { block_size: op.options?.int32(0, 1) ?? 1, format: Format.NHWC }, [c.in(op, 0)]),
  ADD_N: (c, op) => c.emit(op, 'AddN', {}, op.inputs.map((_, k) => c.in(op, k))),
  ARG_MAX: argOp('ArgMaxFusion'),
  ARG_MIN: argOp('ArgMinFusion'),
  BATCH_MATMUL: (c, op) => c.emit(op, 'MatMulFusion', { transpose_a: !!op.options?.uint8(0, 0), transpose_b: !!op.options?.uint8(1, 0), activation_type: 0 }, [c.in(op, 0), c.in(op, 1)]),
  CAST: (c, op) => {
    const to = c.g.tensors[c.ids[op.outputs[0]]].dtype;
    c.emit(op, 'Cast', {}, [c.in(op, 0), c.g.addConst(`${op.name}_to`, Int32Array.of(to === 'int32' ? 34 : to === 'bool' ? 30 : 43), [])]);
  },
  EQUAL: plain('Equal', 2),
  NOT_EQUAL: plain('NotEqual', 2),
  GREATER: plain('Greater', 2),
  GREATER_EQUAL: plain('GreaterEqual', 2),
  LESS: plain('Less', 2),
  LESS_EQUAL: plain('LessEqual', 2),
  LOGICAL_AND: plain('LogicalAnd', 2),
  LOGICAL_OR: plain('LogicalOr', 2),
  LOGICAL_NOT: plain('LogicalNot', 1),
  SELECT: plain('Where', 3),
  SELECT_V2: plain('Where', 3),
  FILL: plain('Fill', 2),
  ZEROS_LIKE: plain('ZerosLike', 1),
  RANK: plain('Rank', 1),
  FLOOR_DIV: plain('FloorDiv', 2),
  FLOOR_MOD: plain('FloorMod', 2),
  SQUARED_DIFFERENCE: plain('SquaredDifference', 2),
  POW: (c, op) => c.emit(op, 'PowFusion', { scale: 1, shift: 0 }, [c.in(op, 0), c.in(op, 1)]),
  ABS: unary('Abs'),
  NEG: unary('Neg'),
  RSQRT: unary('Rsqrt'),
  SQUARE: unary('Square'),
  ELU: (c, op) => c.emit(op, 'Activation', activationAttrs(Act.ELU, { alpha: 1 }), [c.in(op, 0)]),
  GELU: (c, op) => c.emit(op, 'Activation', { ...activationAttrs(Act.GELU), approximate: !!op.options?.uint8(0, 0) }, [c.in(op, 0)]),
  GATHER_ND: plain('GatherNd', 2),
  SCATTER_ND: (c, op) => {
    // indices, updates, shape: the updates scattered into zeros of that shape.
    const shape = c.constInts(op, 2);
    c.emit(op, 'ScatterNdUpdate', {}, [c.g.addConst(`${op.name}_zeros`, new Float32Array(sizeOf(shape)), shape, Format.NHWC), c.in(op, 0), c.in(op, 1)]);
  },
  L2_NORMALIZATION: (c, op) => {
    const act = fusedActivation(c, op, op.options?.int8(0, 0) ?? 0);
    // TFLite divides by max(||x||, 1e-6): epsilon is on the sum of squares.
    c.emitWithActivation(op, 'L2NormalizeFusion', { axis: [-1], epsilon: 1e-12, activation_type: act === Act.TANH ? 0 : act }, [c.in(op, 0)], act === Act.TANH ? act : 0);
  },
  LOCAL_RESPONSE_NORMALIZATION: (c, op) => {
    const o = op.options;
    c.emit(op, 'LRN', { depth_radius: o?.int32(0, 5) ?? 5, bias: o?.float32(1, 1) ?? 1, alpha: o?.float32(2, 1) ?? 1, beta: o?.float32(3, 0.5) ?? 0.5, norm_region: 'ACROSS_CHANNELS' }, [c.in(op, 0)]);
  },
  LOG_SOFTMAX: (c, op) => c.emit(op, 'LogSoftmax', { axis: -1 }, [c.in(op, 0)]),
  ONE_HOT: (c, op) => c.emit(op, 'OneHot', { axis: op.options?.int32(0, -1) ?? -1 }, [c.in(op, 0), c.in(op, 1), c.in(op, 2), c.in(op, 3)]),
  PACK: (c, op) => c.emit(op, 'Stack', { axis: op.options?.int32(1, 0) ?? 0 }, op.inputs.map((_, k) => c.in(op, k))),
  UNPACK: (c, op) => c.emit(op, 'Unstack', { axis: op.options?.int32(1, 0) ?? 0 }, [c.in(op, 0)]),
  RANGE: (c, op) => c.emit(op, 'Range', { d_type: 0, start: 0, limit: 0, delta: 1 }, [c.in(op, 0), c.in(op, 1), c.in(op, 2)]),
  REVERSE_V2: (c, op) => c.emit(op, 'ReverseV2', { axis: c.constInts(op, 1) }, [c.in(op, 0)]),
  REVERSE_SEQUENCE: (c, op) => c.emit(op, 'ReverseSequence', { seq_dim: op.options?.int32(0, 0) ?? 0, batch_dim: op.options?.int32(1, 0) ?? 0 }, [c.in(op, 0), c.in(op, 1)]),
  SPLIT_V: (c, op) => c.emit(op, 'Split', { output_num: op.outputs.length, size_splits: c.constInts(op, 1), axis: c.constInts(op, 2)[0] }, [c.in(op, 0)]),
  TILE: (c, op) => c.emit(op, 'TileFusion', { dims: null }, [c.in(op, 0), c.in(op, 1)]),
  TOPK_V2: (c, op) => c.emit(op, 'TopKFusion', { sorted: true, axis: -1, largest: 1 }, [c.in(op, 0), c.in(op, 1)]),
  REDUCE_PROD: reduceOp(ReduceMode.Prod),
  BROADCAST_TO: (c, op) => c.emit(op, 'BroadcastTo', { shape: null }, [c.in(op, 0), c.in(op, 1)]),
  CUMSUM: (c, op) => c.emit(op, 'CumSum', { exclusive: !!op.options?.uint8(0, 0), reverse: !!op.options?.uint8(1, 0) }, [c.in(op, 0), c.in(op, 1)]),
  DEQUANTIZE: (c, op) => {
    // Constant inputs were already made float32 on load; the op is then an alias. Of an activation (the float
    // output of a quantized model) it is the int8 -> float border the quantizer writes as a QuantDTypeCast.
    const x = c.g.tensors[c.in(op, 0)];
    if (!x.data) return c.alias(op, c.in(op, 0));
    const out = c.g.tensors[c.ids[op.outputs[0]]];
    out.data = x.data;
    out.shape = x.shape;
    out.name = `constfold_${op.name}`;
  },
  UNIDIRECTIONAL_SEQUENCE_LSTM: (c, op) => sequenceLstm(c, op),
  // float -> int8 at a quantized model's input: the input takes the int8 tensor's parameters. Between two
  // quantized tensors (a requantization, MindSpore's int8 -> int8 QuantDTypeCast) it is a float Cast whose
  // output keeps its own parameters: the int8 border before the next int8 layer quantizes with them.
  QUANTIZE: (c, op) => {
    const x = c.in(op, 0), y = c.ids[op.outputs[0]];
    if (!c.g.tensors[x].quant) {
      c.g.tensors[x].quant = c.g.tensors[y].quant;
      return c.alias(op, x);
    }
    c.g.tensors[y].dtype = 'float32';
    c.emit(op, 'Cast', {}, [x, c.g.addConst(`${op.name}_to`, Int32Array.of(43), [])]);
  },
};

/** BuiltinOperator code -> name (TFLite's schema enum, in order), for the converters and for clear errors. */
const BUILTIN_NAMES: readonly string[] = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU', 'RELU_N1_TO_1',
  'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH', 'CONCAT_EMBEDDINGS',
  'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD', 'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER',
  'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB', 'DIV', 'SQUEEZE',
  'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2', 'SPLIT',
  'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM', 'ARG_MAX', 'MINIMUM', 'LESS',
  'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE', 'SIN', 'TRANSPOSE_CONV',
  'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT', 'SHAPE', 'POW',
  'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR', 'ONE_HOT', 'LOGICAL_AND',
  'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL', 'FLOOR_MOD',
  'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE',
  'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG',
  'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE', 'NON_MAX_SUPPRESSION_V4',
  'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM', 'BATCH_MATMUL',
  'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE', 'BROADCAST_TO', 'RFFT2D', 'CONV_3D', 'IMAG', 'REAL',
  'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND', 'HASHTABLE_IMPORT', 'HASHTABLE_SIZE', 'REDUCE_ALL',
  'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE', 'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL',
  'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU', 'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1',
  'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX', 'UNSORTED_SEGMENT_SUM', 'ATAN2', 'UNSORTED_SEGMENT_MIN',
  'COMPLEX', 'SIGN', 'BITCAST', 'BITWISE_XOR', 'RIGHT_SHIFT',
];
