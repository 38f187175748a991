/**
 * TensorFlow frozen GraphDef (`--fmk=TF --modelFile=frozen.pb`) -> Graph. Each node is written in ONNX's terms
 * (onnx-form.ts) and the ONNX importer maps those to MindSpore Lite's ops. TensorFlow is NHWC and stays NHWC:
 * the graph inputs keep their layout, and an NHWC op (Conv2D, pooling, FusedBatchNorm, resizes) is written as
 * its NCHW ONNX form between two transposes, which the transpose pass cancels against the ONNX importer's own.
 * Constants are evaluated here where a layer needs them (weights behind Identity or an 8-bit Dequantize);
 * Identity/NoOp/StopGradient disappear; TF's atrous pattern SpaceToBatchND -> Conv2D -> BatchToSpaceND is one
 * dilated convolution, as MindSpore fuses it. TF1 control flow is refused by name.
 */
import protobuf from 'protobufjs';
import { Graph, FmkType, Format, UserError, sizeOf } from '../graph.js';
import { toNumber, halfBytesToFloat32, alignedCopy } from '../numeric.js';
import { TF_PROTO } from './proto/tf-proto.js';
import { OnnxForm, AttrValue } from './onnx-form.js';
import { importOnnxModel, ImportOptions } from './onnx.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type PB = any;
let graphType: protobuf.Type | undefined;

const DT = { FLOAT: 1, DOUBLE: 2, INT32: 3, UINT8: 4, INT16: 5, INT8: 6, INT64: 9, BOOL: 10, QINT8: 11, QUINT8: 12, QINT32: 13, HALF: 19 } as const;
/** TF DataType -> ONNX elem type, for Cast and inputs. */
const ONNX_TYPE: Record<number, number> = { [DT.FLOAT]: 1, [DT.DOUBLE]: 1, [DT.HALF]: 1, [DT.INT32]: 6, [DT.INT64]: 7, [DT.BOOL]: 9, [DT.UINT8]: 2, [DT.INT8]: 3, [DT.INT16]: 6 };
const CONTROL_FLOW = new Set(['Enter', 'Exit', 'Merge', 'Switch', 'NextIteration', 'LoopCond', 'While', 'StatelessWhile', 'If', 'StatelessIf']);
const GONE = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient', 'CheckNumerics', 'EnsureShape']);

interface ConstValue { data: Float32Array | Int32Array; dims: number[]; int: boolean }

export function importTf(bytes: Uint8Array, file: string, opts: ImportOptions = {}): Graph {
  const t = new TfTranslator(parseGraphDef(bytes, file), file, opts);
  t.translate();
  const g = importOnnxModel(t.form.model('tf'), file, { ...opts, keepNCHWInputs: true });
  g.fmkType = FmkType.TF;
  // Outputs are named after their nodes (an Identity at the end names the output, as in TF).
  g.outputs.forEach((id, k) => { if (!g.inputs.includes(id) && !g.isConst(id)) g.tensors[id].name = t.outputNodes[k]; });
  for (const id of g.inputs) if (g.tensors[id].shape.length === 4) g.tensors[id].format = Format.NHWC;
  return g;
}

function parseGraphDef(bytes: Uint8Array, file: string): PB {
  const head = new TextDecoder().decode(bytes.subarray(0, 256));
  if (/^\s*(node|versions|library)\s*\{/.test(head)) throw new UserError(`${file}: a text GraphDef (pbtxt); --fmk=TF takes the binary frozen graph (.pb)`);
  graphType ??= protobuf.parse(TF_PROTO, { keepCase: true }).root.lookupType('tensorflow.GraphDef');
  let g: PB;
  try {
    g = graphType.decode(bytes);
  } catch (e) {
    throw new UserError(`${file}: not a TensorFlow frozen GraphDef (.pb): ${(e as Error).message}`);
  }
  if (!g.node?.length || g.node.some((n: PB) => !n.op)) throw new UserError(`${file}: not a TensorFlow frozen GraphDef (.pb): no nodes with ops`);
  return g;
}

/** "name:1" -> ["name", 1]; "^name" (a control input) -> undefined. */
function splitRef(ref: string): [string, number] | undefined {
  if (ref.startsWith('^')) return undefined;
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? [m[1], Number(m[2])] : [ref, 0];
}

/** A TensorProto's values as float (or int) data with its dims; a short value list fills the shape. */
function tensorValue(t: PB, file: string, name: string): ConstValue {
  const dims: number[] = (t.tensor_shape?.dim ?? []).map((d: PB) => toNumber(d.size));
  const n = sizeOf(dims);
  const raw: Uint8Array | undefined = t.tensor_content?.length ? t.tensor_content : undefined;
  const dtype = t.dtype;
  let vals: ArrayLike<number>;
  let int = true;
  switch (dtype) {
    case DT.FLOAT: vals = raw ? new Float32Array(alignedCopy(raw)) : t.float_val ?? []; int = false; break;
    case DT.DOUBLE: vals = raw ? new Float64Array(alignedCopy(raw)) : t.double_val ?? []; int = false; break;
    case DT.HALF: vals = raw ? halfBytesToFloat32(raw) : halfBytesToFloat32(new Uint8Array(Uint16Array.from(t.half_val ?? []).buffer)); int = false; break;
    case DT.INT32: case DT.QINT32: vals = raw ? new Int32Array(alignedCopy(raw)) : t.int_val ?? []; break;
    case DT.INT64: vals = raw ? Array.from(new BigInt64Array(alignedCopy(raw)), Number) : (t.int64_val ?? []).map(toNumber); break;
    case DT.UINT8: case DT.QUINT8: vals = raw ? raw : t.int_val ?? []; break;
    case DT.INT8: case DT.QINT8: vals = raw ? new Int8Array(raw.buffer, raw.byteOffset, raw.length) : t.int_val ?? []; break;
    case DT.INT16: vals = raw ? new Int16Array(alignedCopy(raw)) : t.int_val ?? []; break;
    case DT.BOOL: vals = raw ? raw : (t.bool_val ?? []).map(Number); break;
    default: throw new UserError(`${file}: constant ${name} has TensorFlow data type ${dtype}, which is not supported`);
  }
  if (vals.length > n) throw new UserError(`${file}: constant ${name} has ${vals.length} values for shape [${dims}]`);
  const out = int ? new Int32Array(n) : new Float32Array(n);
  // TF writes a constant whose values repeat as its distinct prefix: the last value fills the rest.
  for (let i = 0; i < n; i++) out[i] = vals.length ? vals[Math.min(i, vals.length - 1)] : 0;
  return { data: out, dims, int };
}

/** TF's Dequantize of an 8-bit constant (MIN_COMBINED, MIN_FIRST, SCALED), as its kernels compute it. */
function dequantize(q: ConstValue, min: number, max: number, mode: string, signed: boolean): Float32Array {
  const lowest = signed ? -128 : 0, highest = signed ? 127 : 255;
  if (mode === 'MIN_FIRST') {
    const scale = ((max - min) * (256 / 255)) / 256;
    const minRounded = Math.round(min / Math.fround(scale)) * Math.fround(scale);
    return Float32Array.from(q.data, (v) => minRounded + (v - lowest) * scale);
  }
  if (mode === 'SCALED') {
    const scale = Math.max(lowest ? min / lowest : 0, max / highest);
    return Float32Array.from(q.data, (v) => v * scale);
  }
  return Float32Array.from(q.data, (v) => min + ((v - lowest) * (max - min)) / (highest - lowest));
}

class TfTranslator {
  form = new OnnxForm();
  private nodes: PB[];
  private byName = new Map<string, PB>();
  private consts = new Map<string, ConstValue>();
  /** Tensor references ("node" / "node:k") -> the ONNX tensor name holding them (aliases of removed nodes). */
  private alias = new Map<string, string>();
  private emitted = new Set<string>();
  private consumers = new Map<string, PB[]>();
  /** BatchToSpaceND nodes whose atrous convolution wrote their output. */
  readonly atrousOutputs = new Set<string>();
  /** The nodes whose outputs are the graph's, in order (their tensors are named after them). */
  outputNodes: string[] = [];
  node!: PB;

  constructor(graph: PB, readonly file: string, readonly opts: ImportOptions) {
    this.nodes = graph.node;
    for (const n of this.nodes) this.byName.set(n.name, n);
    for (const n of this.nodes)
      for (const ref of n.input) {
        const r = splitRef(ref);
        if (r) (this.consumers.get(r[0]) ?? this.consumers.set(r[0], []).get(r[0])!).push(n);
      }
  }

  fail(msg: string): never {
    throw new UserError(`${this.file}: node ${this.node.name} (${this.node.op}): ${msg}`);
  }

  translate(): void {
    for (const n of this.topologicalOrder()) {
      this.node = n;
      if (CONTROL_FLOW.has(n.op))
        this.fail('TF1 control flow (a while loop or cond) is not supported: freeze the graph for a fixed input, or export the model to TFLite or ONNX');
      const conv = OPS[n.op];
      if (!conv) this.fail(`unsupported TensorFlow op. Supported: ${Object.keys(OPS).sort().join(', ')}`);
      conv(this, n);
    }
    const outputs = this.nodes.filter((n) => !this.consumers.get(n.name)?.length && !['Const', 'NoOp', 'Placeholder'].includes(n.op) && !this.consts.has(n.name));
    if (!outputs.length) throw new UserError(`${this.file}: the graph has no output (every node's output is read)`);
    for (const n of outputs) this.form.output(this.tensor(n.name));
    this.outputNodes = outputs.map((n) => n.name);
  }

  private topologicalOrder(): PB[] {
    const order: PB[] = [], state = new Map<string, number>();
    const visit = (root: PB) => {
      // Iterative DFS: frozen graphs can be thousands of nodes deep.
      const stack: [PB, number][] = [[root, 0]];
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [n, i] = top;
        if (i === 0) {
          if (state.get(n.name) === 2) { stack.pop(); continue; }
          state.set(n.name, 1);
        }
        if (i < n.input.length) {
          top[1]++;
          const dep = this.byName.get(splitRef(n.input[i])?.[0] ?? n.input[i].slice(1));
          if (dep && !state.has(dep.name)) stack.push([dep, 0]);
          continue;
        }
        state.set(n.name, 2);
        order.push(n);
        stack.pop();
      }
    };
    for (const n of this.nodes) if (!state.has(n.name)) visit(n);
    return order;
  }

  /* ---- values ---- */

  /** The node's data inputs (control inputs dropped). */
  inputs(n: PB = this.node): string[] {
    return n.input.filter((r: string) => !r.startsWith('^'));
  }

  /** The ONNX tensor name of a reference; a constant becomes an initializer the first time it is read as data. */
  tensor(ref: string): string {
    const [name, k] = splitRef(ref)!;
    const key = k ? `${name}:${k}` : name;
    const a = this.alias.get(key);
    if (a !== undefined) return a;
    const constKey = this.aliasOfConst.get(key) ?? key;
    const c = this.consts.get(constKey);
    if (!c) {
      if (!this.byName.has(name)) this.fail(`input ${ref} is not produced by any node`);
      return key;
    }
    if (!this.emitted.has(constKey)) {
      this.emitted.add(constKey);
      if (c.int) this.form.ints(constKey, Array.from(c.data), c.dims);
      else this.form.floats(constKey, c.data as Float32Array, c.dims);
    }
    return constKey;
  }

  in(i: number): string {
    const ref = this.inputs()[i];
    if (ref === undefined) this.fail(`input ${i} is missing`);
    return this.tensor(ref);
  }

  constOf(ref: string): ConstValue | undefined {
    const [name, k] = splitRef(ref)!;
    const key = k ? `${name}:${k}` : name;
    return this.consts.get(this.aliasOfConst.get(key) ?? key);
  }

  /** Aliases among constants (Identity of a Const). */
  private aliasOfConst = new Map<string, string>();

  constIn(i: number, what: string): ConstValue {
    const c = this.constOf(this.inputs()[i] ?? '');
    if (!c) this.fail(`its ${what} (input ${i}) must be a constant`);
    return c;
  }

  constInts(i: number, what: string): number[] {
    return Array.from(this.constIn(i, what).data);
  }

  setConst(name: string, v: ConstValue): void {
    this.consts.set(name, v);
  }

  /** The node's output `out` is the tensor (or constant) `ref`: no node of its own. */
  aliasTo(ref: string, out = this.node.name): void {
    const [name, k] = splitRef(ref)!;
    const key = k ? `${name}:${k}` : name;
    const constKey = this.aliasOfConst.get(key) ?? key;
    if (this.consts.has(constKey)) this.aliasOfConst.set(out, constKey);
    else this.alias.set(out, this.tensor(ref));
  }

  attr(name: string): PB | undefined {
    return this.node.attr?.[name];
  }
  int(name: string, def: number): number {
    const a = this.attr(name);
    return a?.i !== undefined && a?.i !== null ? toNumber(a.i) : def;
  }
  float(name: string, def: number): number {
    return this.attr(name)?.f ?? def;
  }
  bool(name: string, def: boolean): boolean {
    return this.attr(name)?.b ?? def;
  }
  str(name: string, def: string): string {
    const s = this.attr(name)?.s;
    return s?.length ? new TextDecoder().decode(s) : def;
  }
  ints(name: string): number[] {
    return (this.attr(name)?.list?.i ?? []).map(toNumber);
  }
  type(name: string, def: number): number {
    return this.attr(name)?.type ?? def;
  }

  /** The output names of the node: `name`, `name:1`, ... */
  outs(count = 1, n: PB = this.node): string[] {
    return Array.from({ length: count }, (_, k) => (k ? `${n.name}:${k}` : n.name));
  }

  onnxNode(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, count = 1): void {
    this.form.node(op, inputs, this.outs(count), attrs, this.node.name);
  }

  step(op: string, inputs: string[], suffix: string, attrs: Record<string, AttrValue> = {}): string {
    return this.form.step(op, inputs, this.node.name, suffix, attrs);
  }

  intConst(what: string, values: number[]): string {
    return this.form.ints(this.form.constName(this.node.name, what), values);
  }

  floatScalar(what: string, v: number): string {
    return this.form.floats(this.form.constName(this.node.name, what), Float32Array.of(v), []);
  }

  isNchw(): boolean {
    return this.str('data_format', 'NHWC') === 'NCHW';
  }

  /** An NCHW ONNX op on NHWC data: transposed in and out unless the node is NCHW already. */
  channelsFirst(op: string, inputs: string[], attrs: Record<string, AttrValue>, outName = this.node.name): void {
    if (this.isNchw()) return this.form.node(op, inputs, [outName], attrs, this.node.name);
    const x = this.step('Transpose', [inputs[0]], 'to_nchw', { perm: [0, 3, 1, 2] });
    const y = this.step(op, [x, ...inputs.slice(1)], 'nchw', attrs);
    this.form.node('Transpose', [y], [outName], { perm: [0, 2, 3, 1] }, `${this.node.name}_to_nhwc`);
  }

  /** [N, H, W, C] or [N, C, H, W] attribute lists (strides, ksize, dilations) -> [H, W]. */
  hw(list: number[], def = 1): number[] {
    if (!list.length) return [def, def];
    return this.isNchw() ? [list[2], list[3]] : [list[1], list[2]];
  }

  padding(): Record<string, AttrValue> {
    const p = this.str('padding', 'VALID');
    if (p === 'SAME') return { auto_pad: 'SAME_UPPER' };
    if (p === 'VALID') return { auto_pad: 'VALID' };
    if (p === 'EXPLICIT') {
      const e = this.ints('explicit_paddings');
      const [h, w] = this.isNchw() ? [4, 6] : [2, 4];
      return { pads: [e[h], e[w], e[h + 1], e[w + 1]] };
    }
    return this.fail(`padding ${p} is not supported`);
  }

  consumersOf(name: string): PB[] {
    return this.consumers.get(name) ?? [];
  }

  byNodeName(name: string): PB | undefined {
    return this.byName.get(name);
  }
}

type Converter = (t: TfTranslator, n: PB) => void;

/* ---- converters ---- */

const unary = (op: string): Converter => (t) => t.onnxNode(op, [t.in(0)]);
const binary = (op: string): Converter => (t) => t.onnxNode(op, [t.in(0), t.in(1)]);

/** A conv weight HWIO (or H W C multiplier for depthwise) as ONNX's OIHW. */
function convWeight(t: TfTranslator, depthwise: boolean): { name: string; cout: number; group: number } {
  const w = t.constIn(1, 'filter');
  if (w.dims.length !== 4) t.fail(`the filter has shape [${w.dims}], expected 4-D`);
  const [kh, kw, cin, m] = w.dims;
  const out = new Float32Array(w.data.length);
  // depthwise: [KH, KW, C, M] -> [C*M, 1, KH, KW]; conv: [KH, KW, Cin, Cout] -> [Cout, Cin, KH, KW]
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < cin; c++) for (let o = 0; o < m; o++) {
    const v = w.data[((y * kw + x) * cin + c) * m + o];
    out[depthwise ? (((c * m + o) * kh + y) * kw + x) : (((o * cin + c) * kh + y) * kw + x)] = v;
  }
  const name = t.form.floats(t.form.constName(t.node.name, 'filter'), out, depthwise ? [cin * m, 1, kh, kw] : [m, cin, kh, kw]);
  return { name, cout: depthwise ? cin * m : m, group: depthwise ? cin : 1 };
}

const conv2d = (depthwise: boolean): Converter => (t, n) => {
  const { name } = convWeight(t, depthwise);
  const group = depthwise ? t.constIn(1, 'filter').dims[2] : 1;
  const attrs: Record<string, AttrValue> = { strides: t.hw(t.ints('strides')), dilations: t.hw(t.ints('dilations')), group, ...t.padding() };
  // TF's atrous convolution: SpaceToBatchND -> Conv2D (VALID, stride 1) -> BatchToSpaceND is a dilated conv.
  const s2b = t.byNodeName(splitRef(n.input[0])![0]);
  const b2s = t.consumersOf(n.name);
  if (s2b?.op === 'SpaceToBatchND') {
    const block = b2s.length === 1 && b2s[0].op === 'BatchToSpaceND' && attrs.auto_pad === 'VALID' && String(attrs.strides) === '1,1' ? atrous(t, s2b, b2s[0]) : undefined;
    if (!block) return t.fail('SpaceToBatchND before a convolution is supported only as an atrous (dilated) convolution: VALID, stride 1, then BatchToSpaceND with the same block');
    t.channelsFirst('Conv', [t.tensor(s2b.input[0]), name], { ...attrs, auto_pad: 'NOTSET', dilations: block.dilations, pads: block.pads }, b2s[0].name);
    t.atrousOutputs.add(b2s[0].name);
    return;
  }
  t.channelsFirst('Conv', [t.in(0), name], attrs);
};

/** The dilation and pads of an atrous pattern, or undefined when it is not one (see conv2d). */
function atrous(t: TfTranslator, s2b: PB, b2s: PB): { dilations: number[]; pads: number[] } | undefined {
  const c = (ref: string) => t.constOf(ref);
  const block = c(s2b.input[1]), paddings = c(s2b.input[2]), block2 = c(b2s.input[1]), crops = c(b2s.input[2]);
  if (!block || !paddings || !block2 || !crops || String(block.data) !== String(block2.data) || block.data.length !== 2) return undefined;
  const [p, q] = [paddings.data, crops.data];
  // Cropping the output's start/end is padding the input that much less (stride 1).
  const pads = [p[0] - q[0], p[2] - q[2], p[1] - q[1], p[3] - q[3]];
  if (pads.some((v) => v < 0)) return undefined;
  return { dilations: Array.from(block.data), pads };
}

function pool(op: 'MaxPool' | 'AveragePool'): Converter {
  return (t) => {
    const attrs: Record<string, AttrValue> = { kernel_shape: t.hw(t.ints('ksize')), strides: t.hw(t.ints('strides')), ...t.padding() };
    // TF's average over SAME padding counts only the real elements.
    if (op === 'AveragePool') attrs.count_include_pad = 0;
    t.channelsFirst(op, [t.in(0)], attrs);
  };
}

const fusedBatchNorm: Converter = (t) => {
  if (t.bool('is_training', false)) t.fail('is_training must be false in an inference graph');
  t.channelsFirst('BatchNormalization', [t.in(0), t.in(1), t.in(2), t.in(3), t.in(4)], { epsilon: t.float('epsilon', 1e-4) });
};

const biasAdd: Converter = (t) => {
  if (!t.isNchw()) return t.onnxNode('Add', [t.in(0), t.in(1)]);
  // NCHW: the bias runs along dim 1.
  t.onnxNode('Add', [t.in(0), t.step('Reshape', [t.in(1), t.intConst('shape', [-1, 1, 1])], 'bias')]);
};

const reduce = (op: string): Converter => (t) => {
  const axes = t.constInts(1, 'reduction_indices');
  const keep = t.bool('keep_dims', false) ? 1 : 0;
  if (op === 'ReduceSum') return t.onnxNode(op, [t.in(0), t.intConst('axes', axes)], { keepdims: keep });
  t.onnxNode(op, [t.in(0)], { axes, keepdims: keep });
};

const resize = (mode: 'linear' | 'nearest'): Converter => (t) => {
  const align = t.bool('align_corners', false), half = t.bool('half_pixel_centers', false);
  const ct = align ? 'align_corners' : half ? (mode === 'nearest' ? 'tf_half_pixel_for_nn' : 'half_pixel') : 'asymmetric';
  const nearest = align ? 'round_prefer_ceil' : 'floor';
  // sizes = [N, C] of the NCHW input followed by TF's [new_height, new_width].
  const x = t.step('Transpose', [t.in(0)], 'to_nchw', { perm: [0, 3, 1, 2] });
  const nc = t.step('Slice', [t.step('Shape', [x], 'shape'), t.intConst('nc_start', [0]), t.intConst('nc_end', [2])], 'nc');
  const size = t.constOf(t.inputs()[1]) ? t.intConst('size', t.constInts(1, 'size')) : t.step('Cast', [t.in(1)], 'size64', { to: 7 });
  const sizes = t.step('Concat', [nc, size], 'sizes', { axis: 0 });
  const y = t.step('Resize', [x, '', '', sizes], 'nchw', { mode, coordinate_transformation_mode: ct, nearest_mode: nearest });
  t.form.node('Transpose', [y], [t.node.name], { perm: [0, 2, 3, 1] }, `${t.node.name}_to_nhwc`);
};

/** StridedSlice with constant begin/end/strides: Slice, then Squeeze for shrink_axis_mask. */
const stridedSlice: Converter = (t) => {
  if (t.int('ellipsis_mask', 0) || t.int('new_axis_mask', 0)) t.fail('ellipsis_mask and new_axis_mask are not supported');
  const begin = t.constInts(1, 'begin'), end = t.constInts(2, 'end'), strides = t.constInts(3, 'strides');
  const bm = t.int('begin_mask', 0), em = t.int('end_mask', 0), sm = t.int('shrink_axis_mask', 0);
  const BIG = 2 ** 31 - 1;
  const starts = begin.map((b, i) => ((bm >> i) & 1 ? (strides[i] > 0 ? 0 : BIG) : b));
  const ends = end.map((e, i) => ((sm >> i) & 1 ? (begin[i] === -1 ? BIG : begin[i] + 1) : (em >> i) & 1 ? (strides[i] > 0 ? BIG : -BIG) : e));
  const axes = begin.map((_, i) => i);
  const inputs = [t.in(0), t.intConst('starts', starts), t.intConst('ends', ends), t.intConst('axes', axes), t.intConst('steps', strides)];
  const shrunk = axes.filter((i) => (sm >> i) & 1);
  if (!shrunk.length) return t.onnxNode('Slice', inputs);
  t.onnxNode('Squeeze', [t.step('Slice', inputs, 'slice'), t.intConst('squeeze_axes', shrunk)]);
};

const pack: Converter = (t) => {
  const axis = t.int('axis', 0);
  const parts = t.inputs().map((_, i) => t.step('Unsqueeze', [t.in(i), t.intConst(`axes${i}`, [axis])], `unsqueeze${i}`));
  t.onnxNode('Concat', parts, { axis });
};

const unpack: Converter = (t) => {
  const axis = t.int('axis', 0), num = t.int('num', 0);
  const parts = Array.from({ length: num }, (_, k) => `${t.node.name}_part${k}`);
  t.form.node('Split', [t.in(0)], parts, { axis }, `${t.node.name}_split`);
  t.outs(num).forEach((out, k) => t.form.node('Squeeze', [parts[k], t.intConst(`axes${k}`, [axis])], [out], {}, `${t.node.name}_squeeze${k}`));
};

const pad: Converter = (t) => {
  const p = t.constIn(1, 'paddings').data;
  const r = p.length / 2;
  const pads = [...Array.from({ length: r }, (_, i) => p[2 * i]), ...Array.from({ length: r }, (_, i) => p[2 * i + 1])];
  const inputs = [t.in(0), t.intConst('pads', pads)];
  if (t.node.op === 'PadV2') inputs.push(t.in(2));
  if (t.node.op !== 'MirrorPad') return t.onnxNode('Pad', inputs);
  const mode = t.str('mode', 'REFLECT');
  if (mode !== 'REFLECT') t.fail(`MirrorPad mode ${mode} is not supported (REFLECT is)`);
  t.onnxNode('Pad', inputs, { mode: 'reflect' });
};

const matMul: Converter = (t) => {
  const flip = (i: number, on: boolean) => (on ? t.step('Transpose', [t.in(i)], `t${i}`, { perm: [1, 0] }) : t.in(i));
  t.onnxNode('MatMul', [flip(0, t.bool('transpose_a', false)), flip(1, t.bool('transpose_b', false))]);
};

const batchMatMul: Converter = (t) => {
  if (t.bool('adj_x', false) || t.bool('adj_y', false)) t.fail('adj_x / adj_y are not supported');
  t.onnxNode('MatMul', [t.in(0), t.in(1)]);
};

const identity: Converter = (t) => t.aliasTo(t.inputs()[0]);

const OPS: Record<string, Converter> = {
  Const: (t, n) => t.setConst(n.name, tensorValue(n.attr.value?.tensor ?? {}, t.file, n.name)),
  Placeholder: (t, n) => {
    const shape = n.attr.shape?.shape;
    const given = t.opts.inputShapes?.get(n.name);
    let dims: number[] | undefined = shape && !shape.unknown_rank ? (shape.dim ?? []).map((d: PB) => toNumber(d.size)) : undefined;
    if (given) {
      if (dims && dims.length !== given.length) t.fail(`--inputShape gives ${given.length} dims for a rank-${dims.length} input`);
      dims = given;
    }
    if (!dims) return t.fail(`the input's shape is not in the graph: give it with --inputShape=${n.name}:1,224,224,3 (its dims, NHWC)`);
    t.form.input(n.name, dims, ONNX_TYPE[n.attr.dtype?.type ?? DT.FLOAT] ?? 1);
  },
  PlaceholderWithDefault: identity,
  NoOp: () => undefined,
  Conv2D: conv2d(false),
  DepthwiseConv2dNative: conv2d(true),
  Conv2DBackpropInput: (t) => {
    // inputs: output shape, filter [KH, KW, Cout, Cin], the input.
    const outShape = t.constInts(0, 'input_sizes');
    const w = t.constIn(1, 'filter');
    const [kh, kw, cout, cin] = w.dims;
    const out = new Float32Array(w.data.length);
    // ONNX ConvTranspose weight: [Cin, Cout, KH, KW]
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++)
      out[((c * cout + o) * kh + y) * kw + x] = w.data[((y * kw + x) * cout + o) * cin + c];
    const wName = t.form.floats(t.form.constName(t.node.name, 'filter'), out, [cin, cout, kh, kw]);
    const hw = t.isNchw() ? outShape.slice(2, 4) : outShape.slice(1, 3);
    const pad = t.padding();
    t.channelsFirst('ConvTranspose', [t.tensor(t.inputs()[2]), wName], { strides: t.hw(t.ints('strides')), dilations: t.hw(t.ints('dilations')), output_shape: hw, ...(pad.pads ? { pads: pad.pads } : { auto_pad: pad.auto_pad === 'VALID' ? 'VALID' : 'SAME_UPPER' }) });
  },
  BiasAdd: biasAdd,
  BiasAddV1: biasAdd,
  FusedBatchNorm: fusedBatchNorm,
  FusedBatchNormV2: fusedBatchNorm,
  FusedBatchNormV3: fusedBatchNorm,
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  MatMul: matMul,
  BatchMatMul: batchMatMul,
  BatchMatMulV2: batchMatMul,
  Relu: unary('Relu'),
  Relu6: (t) => t.onnxNode('Clip', [t.in(0), t.floatScalar('min', 0), t.floatScalar('max', 6)]),
  Elu: unary('Elu'),
  Selu: unary('Selu'),
  LeakyRelu: (t) => t.onnxNode('LeakyRelu', [t.in(0)], { alpha: t.float('alpha', 0.2) }),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Softplus: unary('Softplus'),
  Softsign: unary('Softsign'),
  Softmax: (t) => t.onnxNode('Softmax', [t.in(0)], { axis: -1 }),
  LogSoftmax: (t) => t.onnxNode('LogSoftmax', [t.in(0)], { axis: -1 }),
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Div: binary('Div'),
  FloorDiv: (t) => t.onnxNode('Floor', [t.step('Div', [t.in(0), t.in(1)], 'div')]),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  SquaredDifference: (t) => {
    const d = t.step('Sub', [t.in(0), t.in(1)], 'diff');
    t.onnxNode('Mul', [d, d]);
  },
  Square: (t) => t.onnxNode('Mul', [t.in(0), t.in(0)]),
  Sqrt: unary('Sqrt'),
  Rsqrt: (t) => t.onnxNode('Reciprocal', [t.step('Sqrt', [t.in(0)], 'sqrt')]),
  Reciprocal: unary('Reciprocal'),
  Inv: unary('Reciprocal'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Abs: unary('Abs'),
  Neg: unary('Neg'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Round: unary('Round'),
  Sin: unary('Sin'),
  Cos: unary('Cos'),
  Erf: unary('Erf'),
  AddN: (t) => t.onnxNode('Sum', t.inputs().map((_, i) => t.in(i))),
  Equal: binary('Equal'),
  Less: binary('Less'),
  Greater: binary('Greater'),
  LessEqual: binary('LessOrEqual'),
  GreaterEqual: binary('GreaterOrEqual'),
  LogicalAnd: binary('And'),
  LogicalOr: binary('Or'),
  LogicalNot: unary('Not'),
  Select: (t) => t.onnxNode('Where', [t.in(0), t.in(1), t.in(2)]),
  SelectV2: (t) => t.onnxNode('Where', [t.in(0), t.in(1), t.in(2)]),
  Reshape: (t) => t.onnxNode('Reshape', [t.in(0), t.constOf(t.inputs()[1]) ? t.intConst('shape', t.constInts(1, 'shape')) : t.in(1)]),
  Squeeze: (t) => {
    const axes = t.ints('squeeze_dims');
    t.onnxNode('Squeeze', axes.length ? [t.in(0), t.intConst('axes', axes)] : [t.in(0)]);
  },
  ExpandDims: (t) => t.onnxNode('Unsqueeze', [t.in(0), t.intConst('axes', t.constInts(1, 'axis'))]),
  Transpose: (t) => t.onnxNode('Transpose', [t.in(0)], { perm: t.constInts(1, 'perm') }),
  ConcatV2: (t) => {
    const k = t.inputs().length - 1;
    t.onnxNode('Concat', t.inputs().slice(0, k).map((_, i) => t.in(i)), { axis: t.constInts(k, 'axis')[0] });
  },
  Concat: (t) => t.onnxNode('Concat', t.inputs().slice(1).map((_, i) => t.in(i + 1)), { axis: t.constInts(0, 'concat_dim')[0] }),
  Pack: pack,
  Unpack: unpack,
  Split: (t) => {
    const num = t.int('num_split', 1);
    t.form.node('Split', [t.in(1)], t.outs(num), { axis: t.constInts(0, 'axis')[0] }, t.node.name);
  },
  SplitV: (t) => {
    const sizes = t.constInts(1, 'size_splits');
    t.form.node('Split', [t.in(0), t.intConst('split', sizes)], t.outs(sizes.length), { axis: t.constInts(2, 'axis')[0] }, t.node.name);
  },
  StridedSlice: stridedSlice,
  Slice: (t) => {
    const begin = t.constInts(1, 'begin'), size = t.constInts(2, 'size');
    const ends = size.map((s, i) => (s < 0 ? 2 ** 31 - 1 : begin[i] + s));
    t.onnxNode('Slice', [t.in(0), t.intConst('starts', begin), t.intConst('ends', ends), t.intConst('axes', begin.map((_, i) => i))]);
  },
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  GatherV2: (t) => t.onnxNode('Gather', [t.in(0), t.in(1)], { axis: t.constInts(2, 'axis')[0] }),
  Gather: (t) => t.onnxNode('Gather', [t.in(0), t.in(1)], { axis: 0 }),
  Tile: (t) => t.onnxNode('Tile', [t.in(0), t.in(1)]),
  Fill: (t) => t.onnxNode('Expand', [t.in(1), t.in(0)]),
  Range: (t) => t.onnxNode('Range', [t.in(0), t.in(1), t.in(2)]),
  Shape: (t) => t.onnxNode('Shape', [t.in(0)]),
  Size: (t) => t.onnxNode('Size', [t.in(0)]),
  Cast: (t) => {
    const to = ONNX_TYPE[t.type('DstT', DT.FLOAT)];
    if (to === undefined) t.fail(`casting to TensorFlow type ${t.type('DstT', DT.FLOAT)} is not supported`);
    t.onnxNode('Cast', [t.in(0)], { to });
  },
  Mean: reduce('ReduceMean'),
  Sum: reduce('ReduceSum'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  ArgMax: (t) => t.onnxNode('ArgMax', [t.in(0)], { axis: t.constInts(1, 'dimension')[0], keepdims: 0 }),
  ResizeBilinear: resize('linear'),
  ResizeNearestNeighbor: resize('nearest'),
  DepthToSpace: (t) => t.channelsFirst('DepthToSpace', [t.in(0)], { blocksize: t.int('block_size', 2), mode: 'DCR' }),
  SpaceToDepth: (t) => t.channelsFirst('SpaceToDepth', [t.in(0)], { blocksize: t.int('block_size', 2) }),
  // Part of an atrous convolution (see conv2d), which writes the whole pattern.
  SpaceToBatchND: (t, n) => {
    const conv = t.consumersOf(n.name);
    if (conv.length !== 1 || !['Conv2D', 'DepthwiseConv2dNative'].includes(conv[0].op)) t.fail('only as part of an atrous (dilated) convolution is SpaceToBatchND supported');
  },
  BatchToSpaceND: (t, n) => {
    if (!t.atrousOutputs.has(n.name)) t.fail('only as part of an atrous (dilated) convolution is BatchToSpaceND supported');
  },
  Dequantize: (t, n) => {
    const q = t.constOf(t.inputs()[0]);
    if (!q) return t.fail('only 8-bit constants (weights) can be dequantized');
    const [min] = t.constIn(1, 'min_range').data, [max] = t.constIn(2, 'max_range').data;
    const type = t.type('T', DT.QUINT8);
    t.setConst(n.name, { data: dequantize(q, min, max, t.str('mode', 'MIN_COMBINED'), type === DT.QINT8), dims: q.dims, int: false });
  },
};
for (const op of GONE) OPS[op] = identity;
OPS.IdentityN = (t) => t.inputs().forEach((ref, k) => t.aliasTo(ref, k ? `${t.node.name}:${k}` : t.node.name));
