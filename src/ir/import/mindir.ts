/**
 * MindIR (MindSpore's protobuf export) -> Graph in MindSpore Lite ops. MindSpore primitives have NCHW
 * semantics, so layout-sensitive ops go through the same channels-last wrapping as ONNX. Handles parameters
 * matched by name, external weight files, attributes of old exports (`ref_attr_name`) and newer ones
 * (`values`, `type`), Constant value nodes, tuples (MakeTuple / TupleGetItem), the monad plumbing of newer
 * exports (Depend, Load, UpdateState) and functions called from the main graph (inlined).
 */
import protobuf from 'protobufjs';
import { toNumber, FLT_MAX } from '../numeric.js';
import { FmkType, Graph, UserError } from '../graph.js';
import { ActivationType as Act, PadMode, ReduceMode, ResizeMethod, CoordinateTransformMode as CT, NearestMode } from '../schema/ops.js';
import { MINDIR_PROTO, CHECKPOINT_PROTO } from './proto/mindir-proto.js';
import { NchwGraphBuilder } from './nchw-builder.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type PB = any;
const num = toNumber;
const text = (b: Uint8Array | string | undefined) => (typeof b === 'string' ? b : b ? new TextDecoder().decode(b) : '');

let root: protobuf.Root | undefined;
function types(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    protobuf.parse(MINDIR_PROTO, root, { keepCase: true });
    protobuf.parse(CHECKPOINT_PROTO, root, { keepCase: true });
  }
  return root;
}

export interface MindIrOptions {
  /** Reads an external weight file named in the model (next to the model file). */
  readExternal?: (location: string) => Uint8Array;
  keepNCHWInputs?: boolean;
  inputShapes?: Map<string, number[]>;
}

export function importMindIr(bytes: Uint8Array, file = 'model', opts: MindIrOptions = {}): Graph {
  let m: PB;
  try {
    m = types().lookupType('mind_ir.ModelProto').decode(bytes);
  } catch (e) {
    throw new UserError(`${file}: not a valid MindIR model (${(e as Error).message})`);
  }
  if (!m.graph || !m.graph.node?.length) throw new UserError(`${file}: not a valid MindIR model (no graph nodes found)`);
  const b = new MindIrBuilder(file, opts, m.functions ?? []);
  b.build(m.graph);
  return b.g;
}

export const MINDIR_SUPPORTED_OPS = (): string[] => Object.keys(CONVERTERS).sort();

/** An attribute's value in either encoding: numbers, strings, booleans, lists (of lists), tensors. */
export function attrValue(a: PB): unknown {
  if (a.values?.length) return a.values.map(attrValue);
  switch (a.type) {
    case 1: return a.f;
    case 11: return a.d;
    case 8: return text(a.s);
    case 9: return !!num(a.i);
    case 17: return a.t ?? a.tensors?.[0];
    case 2: case 3: case 4: case 5: case 6: case 7: case 12: case 13: return num(a.i);
  }
  const ref: string = a.ref_attr_name ?? '';
  const list = a.ints?.length ? a.ints.map(num) : a.floats?.length ? [...a.floats] : a.doubles?.length ? [...a.doubles] : a.strings?.length ? a.strings.map(text) : undefined;
  if (ref.startsWith('scalar:')) {
    if (/List\[|Tuple\[/.test(ref)) return list ?? [];
    return list ? list[0] : a.s?.length ? text(a.s) : a.f ? a.f : num(a.i);
  }
  if (ref.startsWith('tensor:') || ref.startsWith('shape:')) return a.t ?? a.tensors?.[0];
  if (ref.startsWith('type:')) return num(a.i);
  return list ?? (a.s?.length ? text(a.s) : a.t ? a.t : a.f ? a.f : num(a.i));
}

type Converter = (b: MindIrBuilder, n: PB) => void;

class MindIrBuilder extends NchwGraphBuilder {
  node!: PB;
  private functions: Map<string, PB>;
  /** Tuple-valued names -> element tensor names. */
  private tuples = new Map<string, string[]>();
  /** Constant (non-tensor) values: tuple literals, scalars. */
  private values = new Map<string, unknown>();
  /** Ranks of activation tensors, known from inputs and each op's rule (BiasAdd needs them). */
  rank = new Map<number, number>();
  private scope = '';
  private counter = 0;

  constructor(file: string, readonly opts: MindIrOptions, functions: PB[]) {
    super(file);
    this.g.fmkType = FmkType.MINDIR;
    this.functions = new Map(functions.map((f: PB) => [f.name, f]));
  }

  get opLabel(): string {
    return this.node?.op_type ?? '';
  }

  build(graph: PB): void {
    this.g.name = graph.name ?? '';
    for (const p of graph.parameter ?? []) this.ids.set(p.name, this.param(p));
    for (const v of graph.input ?? []) {
      if (this.ids.has(v.name)) continue; // newer exports list parameters as inputs too
      const t = v.tensor?.[0];
      let shape: number[] = (t?.dims ?? []).map(num);
      const given = this.opts.inputShapes?.get(v.name);
      if (given) shape = given;
      if (shape.some((d) => d < 0)) throw new UserError(`${this.file}: input ${v.name} has dynamic dims [${shape}]; give them with --inputShape`);
      this.addInput(v.name, shape, t?.data_type === 6 || t?.data_type === 7 ? 'int32' : 'float32', !!this.opts.keepNCHWInputs);
      this.rank.set(this.ids.get(v.name)!, shape.length);
    }
    this.nodes(graph.node);
    for (const v of graph.output ?? []) {
      const id = this.ids.get(v.name) ?? this.ids.get(this.tuples.get(v.name)?.[0] ?? '');
      if (id === undefined) throw new UserError(`${this.file}: graph output ${v.name} is not produced by any node`);
      this.g.outputs.push(id);
    }
  }

  private param(p: PB): number {
    const ext = p.external_data;
    if (ext?.location && !p.raw_data?.length) {
      if (!this.opts.readExternal) throw new UserError(`${this.file}: parameter ${p.name} is stored in ${ext.location}, which cannot be read here`);
      const all = this.opts.readExternal(ext.location);
      const off = num(ext.offset ?? 0), len = ext.length !== undefined && num(ext.length) >= 0 ? num(ext.length) : all.length - off;
      if (off + len > all.length) throw new UserError(`${this.file}: ${ext.location} is too short for parameter ${p.name}`);
      return this.constFromProto(p.name, p, all.subarray(off, off + len));
    }
    return this.constFromProto(p.name, p);
  }

  private nodes(list: PB[]): void {
    for (const n of list) {
      this.node = n;
      this.nodeName = (this.scope ? `${this.scope}/` : '') + (n.domain || n.name || `Default/${n.op_type}-op${this.counter}`);
      this.counter++;
      const type = primitiveName(n.op_type);
      const fn = this.functions.get(type) ?? this.functions.get(n.op_type);
      if (fn) {
        this.inline(fn, n);
        continue;
      }
      const conv = CONVERTERS[type];
      if (!conv) throw new UserError(`${this.file}: unsupported MindSpore primitive ${type} (node ${this.nodeName}). Supported: ${MINDIR_SUPPORTED_OPS().join(', ')}`);
      conv(this, n);
    }
  }

  /** A call of a function graph: its inputs bound to the call's arguments, its body converted in place. */
  private inline(fn: PB, call: PB): void {
    const outer = this.scope;
    const prefix = `${fn.name}#${this.counter}`;
    const rename = new Map<string, string>();
    (fn.input ?? []).forEach((v: PB, k: number) => rename.set(v.name, call.input[k]));
    const local = (name: string) => rename.get(name) ?? `${prefix}:${name}`;
    for (const p of fn.parameter ?? []) this.ids.set(local(p.name), this.param(p));
    const body = (fn.node ?? []).map((n: PB) => ({ ...n, input: (n.input ?? []).map(local), output: (n.output ?? []).map(local) }));
    this.scope = prefix;
    this.nodes(body);
    this.scope = outer;
    (fn.output ?? []).forEach((v: PB, k: number) => this.alias(call.output[k], local(v.name)));
  }

  /* ---- helpers for converters ---- */

  alias(to: string, from: string): void {
    if (this.tuples.has(from)) this.tuples.set(to, this.tuples.get(from)!);
    else if (this.values.has(from)) this.values.set(to, this.values.get(from));
    else {
      const id = this.ids.get(from);
      if (id === undefined) this.fail(`reads ${from}, which nothing produces`);
      this.ids.set(to, id);
    }
  }

  in(k: number): number {
    const name = this.node.input[k];
    const id = this.ids.get(name) ?? this.ids.get(this.tuples.get(name)?.[0] ?? '');
    if (id === undefined) {
      if (this.values.has(name)) return this.constOf(name, this.values.get(name));
      this.fail(`reads ${name}, which nothing produces`);
    }
    return id;
  }

  /** A literal (tuple/scalar) input as a constant tensor. */
  private constOf(name: string, v: unknown): number {
    const flat = (Array.isArray(v) ? v.flat(4) : [v]) as number[];
    const id = flat.every((x) => Number.isInteger(x)) ? this.g.addConst(name, Int32Array.from(flat), Array.isArray(v) ? [flat.length] : []) : this.g.addConst(name, Float32Array.from(flat), Array.isArray(v) ? [flat.length] : []);
    this.ids.set(name, id);
    return id;
  }

  /** The value of input k when it is a literal or a constant tensor. */
  literal(k: number): unknown {
    const name = this.node.input[k];
    if (this.values.has(name)) return this.values.get(name);
    const id = this.ids.get(name);
    const d = id !== undefined ? this.g.tensors[id].data : undefined;
    if (!d) this.fail(`input ${k} (${name}) must be a constant`);
    return Array.from(d as ArrayLike<number>);
  }

  attr(name: string): unknown {
    const a = (this.node.attribute ?? []).find((x: PB) => x.name === name);
    return a === undefined ? undefined : attrValue(a);
  }

  ints(name: string, def?: number[]): number[] {
    const v = this.attr(name);
    if (v === undefined) return def ?? this.fail(`attribute ${name} is missing`);
    return (Array.isArray(v) ? v.flat(4) : [v]).map(Number);
  }

  /** Two spatial values from MindSpore's 4-element (NCHW) or 2-element or scalar form. */
  hw(name: string, def?: number[]): number[] {
    const v = this.ints(name, def);
    return v.length >= 4 ? v.slice(2, 4) : v.length === 1 ? [v[0], v[0]] : v;
  }

  padMode(): number {
    const v = this.attr('pad_mode');
    if (typeof v === 'number') return v === 1 ? PadMode.SAME : v === 2 ? PadMode.VALID : PadMode.PAD;
    const s = String(v ?? 'valid').toLowerCase();
    return s === 'same' ? PadMode.SAME : s === 'valid' ? PadMode.VALID : s === 'pad' ? PadMode.PAD : this.fail(`pad_mode ${s} is not supported`);
  }

  checkNCHW(): void {
    const f = this.attr('format') ?? this.attr('data_format');
    if (f !== undefined && String(f).toUpperCase() !== 'NCHW' && f !== 0) this.fail(`format ${String(f)} is not supported (NCHW exports are)`);
  }

  /** Emits a node writing the MindIR node's first output; records its rank. */
  out(op: string, attrs: Record<string, unknown>, inputs: number[], rank?: number): number {
    const [id] = this.emitNamed(op, attrs, inputs, [this.node.output[0]]);
    const r = rank ?? this.rank.get(inputs[0]);
    if (r !== undefined) this.rank.set(id, r);
    return id;
  }

  outNHWC(op: string, attrs: Record<string, unknown>, inputs: number[], dataInputs = [0]): number {
    const id = this.emitChannelsLast(op, attrs, inputs, dataInputs);
    this.ids.set(this.node.output[0], id);
    this.rank.set(id, 4);
    return id;
  }

  setTuple(name: string, elements: string[]): void {
    this.tuples.set(name, elements);
  }
  tupleOf(name: string): string[] | undefined {
    return this.tuples.get(name);
  }
  setValue(name: string, v: unknown): void {
    this.values.set(name, v);
  }
  valueOf(name: string): unknown {
    return this.values.get(name);
  }
}

/** "REF::Conv2D", "Default/.../Conv2D-op12" style op types to the primitive name. */
function primitiveName(opType: string): string {
  let t = opType.replace(/^REF::/, '');
  if (t.includes('::')) t = t.slice(t.lastIndexOf('::') + 2);
  return t;
}

const act = (type: number, extra: Record<string, number> = {}): Converter => (b) =>
  void b.out('Activation', { activation_type: type, alpha: 0, min_val: 0, max_val: type === Act.RELU ? FLT_MAX : type === Act.RELU6 ? 6 : 0, ...extra }, [b.in(0)]);
const binary = (op: string): Converter => (b) => {
  const r = Math.max(b.rank.get(b.in(0)) ?? 0, b.rank.get(b.in(1)) ?? 0);
  b.out(op, { activation_type: 0 }, [b.in(0), b.in(1)], r);
};
const alias: Converter = (b, n) => b.alias(n.output[0], n.input[0]);

function pool(op: string): Converter {
  return (b) => {
    b.checkNCHW();
    const global = b.attr('global') === true;
    b.outNHWC(op, {
      kernel_size: b.hw('kernel_size', [1, 1]), strides: b.hw('strides', [1, 1]), pad: [0, 0, 0, 0], pad_mode: b.padMode(),
      round_mode: 0, format: 1, global, activation_type: 0,
    }, [b.in(0)]);
  };
}

const CONVERTERS: Record<string, Converter> = {
  Conv2D: (b) => {
    b.checkNCHW();
    const w = b.weightToKHWC(b.in(1));
    const [cout, kh, kw, cinG] = b.g.tensors[w].shape;
    const group = b.ints('group', [1])[0];
    const pad = b.attr('pad') ?? b.attr('pad_list');
    b.outNHWC('Conv2DFusion', {
      format: 1, kernel_size: [kh, kw], stride: b.hw('stride', [1, 1]), dilation: b.hw('dilation', [1, 1]), pad_mode: b.padMode(),
      pad_list: pad === undefined ? [0, 0, 0, 0] : b.ints(b.attr('pad') !== undefined ? 'pad' : 'pad_list'), mode: 1, group,
      in_channel: cinG * group, out_channel: cout, activation_type: 0,
    }, [b.in(0), w]);
  },
  BiasAdd: (b) => {
    const x = b.in(0), bias = b.g.tensors[b.in(1)];
    const data = bias.data ?? b.fail('the bias must be a constant');
    // NCHW: the bias runs along axis 1, so a 4-D input needs it as [C, 1, 1].
    const r = b.rank.get(x) ?? 2;
    const c = r === 4 ? b.g.addConst(`${bias.name}_nchw`, data, [data.length, 1, 1]) : b.in(1);
    b.out('AddFusion', { activation_type: 0 }, [x, c], r);
  },
  MatMul: (b) => void b.out('MatMulFusion', { transpose_a: !!b.attr('transpose_a'), transpose_b: !!b.attr('transpose_b'), activation_type: 0 }, [b.in(0), b.in(1)], 2),
  Dense: (b, n) => {
    const ins = [b.in(0), b.in(1)];
    if (n.input.length > 2 && b.attr('has_bias') !== false) ins.push(b.in(2));
    b.out('MatMulFusion', { transpose_a: false, transpose_b: true, activation_type: 0 }, ins, 2);
  },
  ReLU: act(Act.RELU),
  ReLU6: act(Act.RELU6),
  Sigmoid: act(Act.SIGMOID),
  Tanh: act(Act.TANH),
  HSwish: act(Act.HSWISH),
  HSigmoid: act(Act.HSIGMOID),
  MaxPool: pool('MaxPoolFusion'),
  AvgPool: pool('AvgPoolFusion'),
  AdaptiveAvgPool2D: (b) => {
    const size = b.ints('output_size', [1, 1]);
    if (size.some((s) => s !== 1)) b.fail(`output_size [${size}] is not supported (1 x 1 is)`);
    b.outNHWC('AvgPoolFusion', { kernel_size: [1, 1], strides: [1, 1], pad: [0, 0, 0, 0], pad_mode: 0, round_mode: 0, format: 1, global: true, activation_type: 0 }, [b.in(0)]);
  },
  ReduceMean: (b, n) => {
    const axes = n.input.length > 1 ? (b.literal(1) as number[] | number) : b.attr('axis');
    const list = (Array.isArray(axes) ? axes : axes === undefined ? [] : [axes]).map(Number);
    const keep = !!b.attr('keep_dims');
    const r = b.rank.get(b.in(0)) ?? 4;
    b.out('ReduceFusion', { keep_dims: keep, mode: ReduceMode.Mean, reduce_to_end: false, coeff: 1 }, [b.in(0), b.intConst('axes', list)], keep ? r : r - (list.length || r));
  },
  Add: binary('AddFusion'),
  Sub: binary('SubFusion'),
  Mul: binary('MulFusion'),
  RealDiv: binary('DivFusion'),
  Div: binary('DivFusion'),
  BatchNorm: (b, n) => {
    if (b.attr('is_training') === true) b.fail('training-mode BatchNorm is not supported');
    const ins = [0, 1, 2, 3, 4].map((k) => b.in(k));
    const id = b.emitChannelsLast('FusedBatchNorm', { epsilon: Number(b.attr('epsilon') ?? 1e-5), momentum: 0.9, mode: 0 }, ins);
    const name = `${n.output[0]}#0`;
    b.ids.set(name, id);
    b.rank.set(id, 4);
    b.setTuple(n.output[0], [name]);
  },
  Reshape: (b, n) => {
    const shape = (n.input.length > 1 ? b.literal(1) : b.attr('shape')) as number[];
    const list = (Array.isArray(shape) ? shape : [shape]).map(Number);
    b.out('Reshape', {}, [b.in(0), b.intConst('shape', list)], list.length);
  },
  Flatten: (b) => void b.out('Flatten', { axis: 1 }, [b.in(0)], 2),
  Transpose: (b, n) => {
    const perm = (n.input.length > 1 ? b.literal(1) : b.attr('perm')) as number[];
    b.out('Transpose', {}, [b.in(0), b.intConst('perm', perm.map(Number))]);
  },
  Concat: (b, n) => {
    const parts = b.tupleOf(n.input[0]) ?? n.input;
    const ids = parts.map((p: string) => b.ids.get(p) ?? b.fail(`reads ${p}, which nothing produces`));
    b.out('Concat', { axis: b.ints('axis', [0])[0] }, ids, b.rank.get(ids[0]));
  },
  Squeeze: (b) => {
    const axis = b.ints('axis', []);
    b.out('Squeeze', { axis }, [b.in(0)], (b.rank.get(b.in(0)) ?? 1) - (axis.length || 1));
  },
  ExpandDims: (b) => void b.out('ExpandDims', {}, [b.in(0), b.intConst('axis', [Number(b.literal(1))], [1])], (b.rank.get(b.in(0)) ?? 0) + 1),
  Softmax: (b) => void b.out('Softmax', { axis: [b.ints('axis', [-1])[0]] }, [b.in(0)]),
  Pad: (b) => {
    const p = b.ints('paddings');
    b.out('PadFusion', { padding_mode: 0, constant_value: 0 }, [b.in(0), b.intConst('paddings', p, [p.length / 2, 2])]);
  },
  ResizeBilinear: (b) => resize(b, ResizeMethod.LINEAR),
  ResizeNearestNeighbor: (b) => resize(b, ResizeMethod.NEAREST),
  Cast: (b, n) => {
    const to = b.attr('dst_type') ?? b.attr('to') ?? (n.input.length > 1 ? b.literal(1) : 43);
    // float -> float casts are no-ops for a float32 graph; int casts stay.
    const code = Number(Array.isArray(to) ? to[0] : to);
    if (code === 43 || code === 41 || code === 42 || code === 1) alias(b, n);
    else b.out('Cast', {}, [b.in(0), b.intConst('to', [code === 7 || code === 6 || code === 35 ? 34 : code], [])]);
  },
  Depend: alias,
  Load: alias,
  UpdateState: (b, n) => b.setValue(n.output[0], 0),
  MakeTuple: (b, n) => b.setTuple(n.output[0], [...n.input]),
  TupleGetItem: (b, n) => {
    const k = Number(b.literal(1));
    const item = b.tupleOf(n.input[0])?.[k] ?? b.fail(`TupleGetItem ${k} of ${n.input[0]}, which is not a tuple`);
    b.alias(n.output[0], item);
  },
  Constant: (b, n) => {
    const v = b.attr('value');
    if (v && typeof v === 'object' && !Array.isArray(v)) b.ids.set(n.output[0], b.constFromProto(n.output[0], v));
    else b.setValue(n.output[0], v);
  },
  Return: () => {},
};

function resize(b: MindIrBuilder, method: number): void {
  const [h, w] = b.ints('size');
  const align = !!b.attr('align_corners'), half = !!b.attr('half_pixel_centers');
  b.outNHWC('Resize', {
    format: 1, method, new_height: h, new_width: w, preserve_aspect_ratio: false,
    coordinate_transform_mode: align ? CT.ALIGN_CORNERS : half ? CT.HALF_PIXEL : CT.ASYMMETRIC,
    cubic_coeff: -0.75, exclude_outside: 0, extrapolation_value: 0, nearest_mode: NearestMode.NORMAL,
  }, [b.in(0)]);
}

/** A MindSpore checkpoint: parameter name -> tensor (float32 data for Float32, else the raw bytes). */
export interface CheckpointTensor {
  dims: number[];
  type: string;
  data: Float32Array | Int32Array | Uint8Array;
}

export function readCheckpoint(bytes: Uint8Array, file = 'checkpoint'): Map<string, CheckpointTensor> {
  let c: PB;
  try {
    c = types().lookupType('mindspore_ckpt.Checkpoint').decode(bytes);
  } catch (e) {
    throw new UserError(`${file}: not a valid MindSpore checkpoint (${(e as Error).message})`);
  }
  const out = new Map<string, CheckpointTensor>();
  for (const v of c.value ?? []) {
    const t = v.tensor;
    const raw: Uint8Array = t.tensor_content ?? new Uint8Array(0);
    const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    const data = t.tensor_type === 'Float32' ? new Float32Array(buf) : t.tensor_type === 'Int32' ? new Int32Array(buf) : new Uint8Array(buf);
    out.set(v.tag, { dims: (t.dims ?? []).map(num), type: t.tensor_type, data });
  }
  return out;
}

export { types as mindirTypes };
