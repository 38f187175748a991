/**
 * Caffe -> Graph: the prototxt (protobuf text) gives the layers, the caffemodel (binary NetParameter) their
 * weights, matched by layer name, as MindSpore's Caffe parser does (`--modelFile=net.prototxt
 * --weightFile=net.caffemodel`). Each layer is written in ONNX's terms (onnx-form.ts) and the ONNX importer
 * maps those to MindSpore Lite's ops, so Caffe shares its layout handling: Caffe is NCHW, 4-D inputs become
 * NHWC. Both the current `layer` and the legacy V1 `layers` forms; in-place layers (top == bottom) make a new
 * version of the blob; the graph outputs are the blobs no layer reads.
 */
import protobuf from 'protobufjs';
import { Graph, FmkType, UserError, sizeOf } from '../graph.js';
import { toNumber } from '../numeric.js';
import { parseProtoText, one, all, TextMessage, TextValue } from './proto-text.js';
import { CAFFE_PROTO } from './proto/caffe-proto.js';
import { OnnxForm, AttrValue } from './onnx-form.js';
import { importOnnxModel, ImportOptions } from './onnx.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
let netType: protobuf.Type | undefined;

interface Blob { data: Float32Array; dims: number[] }

/** V1LayerParameter.LayerType names -> the current type strings. */
const V1_TYPES: Record<string, string> = {
  ABSVAL: 'AbsVal', ARGMAX: 'ArgMax', BNLL: 'BNLL', CONCAT: 'Concat', CONVOLUTION: 'Convolution', DECONVOLUTION: 'Deconvolution',
  DROPOUT: 'Dropout', ELTWISE: 'Eltwise', EXP: 'Exp', FLATTEN: 'Flatten', INNER_PRODUCT: 'InnerProduct', LRN: 'LRN', POOLING: 'Pooling',
  POWER: 'Power', RELU: 'ReLU', SIGMOID: 'Sigmoid', SOFTMAX: 'Softmax', SPLIT: 'Split', SLICE: 'Slice', TANH: 'TanH', THRESHOLD: 'Threshold',
  SILENCE: 'Silence', DATA: 'Data', SOFTMAX_LOSS: 'SoftmaxWithLoss', ACCURACY: 'Accuracy', MVN: 'MVN',
};

/** Layers of training nets that inference has no use for. */
const SKIPPED = new Set(['Silence', 'Accuracy']);

export interface CaffeFiles {
  prototxt: Uint8Array;
  prototxtFile: string;
  caffemodel: Uint8Array;
  caffemodelFile: string;
}

export function importCaffe(files: CaffeFiles, opts: ImportOptions = {}): Graph {
  let net: TextMessage;
  try {
    net = parseProtoText(new TextDecoder().decode(files.prototxt), files.prototxtFile);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(`${files.prototxtFile}: not a Caffe prototxt (protobuf text): line ${e.message.slice(files.prototxtFile.length + 1)}`);
  }
  if (!all(net, 'layer').length && !all(net, 'layers').length)
    throw new UserError(`${files.prototxtFile}: not a Caffe prototxt (no layer found)`);
  const weights = readCaffemodel(files.caffemodel, files.caffemodelFile);
  const t = new CaffeTranslator(files, weights);
  t.translate(net);
  // As MindSpore's Caffe parser: every 4-D input becomes NHWC (no ONNX-style last-dim-3 exception).
  const g = importOnnxModel(t.form.model(String(one(net, 'name', ''))), files.prototxtFile, { ...opts, alwaysNhwcInputs: true });
  g.fmkType = FmkType.CAFFE;
  // Outputs keep the Caffe blob names (the in-place versions are internal).
  g.outputs.forEach((id, k) => { if (!g.inputs.includes(id)) g.tensors[id].name = t.outputNames[k]; });
  return g;
}

/** Layer name -> its blobs, from the binary NetParameter. */
function readCaffemodel(bytes: Uint8Array, file: string): Map<string, Blob[]> {
  netType ??= protobuf.parse(CAFFE_PROTO, { keepCase: true }).root.lookupType('caffe.NetParameter');
  let net: any;
  try {
    net = netType.decode(bytes);
  } catch (e) {
    throw new UserError(`${file}: not a Caffe caffemodel (binary NetParameter): ${(e as Error).message}`);
  }
  const layers = [...(net.layer ?? []), ...(net.layers ?? [])];
  if (!layers.length) throw new UserError(`${file}: not a Caffe caffemodel (no layers with weights)`);
  const out = new Map<string, Blob[]>();
  for (const l of layers) {
    out.set(l.name ?? '', (l.blobs ?? []).map((b: any): Blob => {
      const dims = b.shape?.dim?.length ? b.shape.dim.map(toNumber)
        : [b.num, b.channels, b.height, b.width].map((d: number) => d ?? 0);
      const data = b.data?.length ? Float32Array.from(b.data) : Float32Array.from(b.double_data ?? []);
      return { data, dims: sizeOf(dims) === data.length ? dims : [data.length] };
    }));
  }
  return out;
}

const num = (v: TextValue | undefined, def: number): number => (v === undefined ? def : typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : Number(v));
const bool = (v: TextValue | undefined, def: boolean): boolean => (v === undefined ? def : v === true || v === 'true' || v === 1);
/** An enum field, written by name (text) or by number. */
const enumIs = (v: TextValue | undefined, name: string, index: number): boolean => v === name || v === index;
const nums = (m: TextMessage | undefined, field: string): number[] => all(m, field).map((v) => num(v, 0));

class CaffeTranslator {
  form = new OnnxForm();
  /** Blob name -> the tensor name holding its current version (in-place layers make new versions). */
  private current = new Map<string, string>();
  /** Tensor name -> rank where known (Scale, PReLU, Tile and Reduction need it for broadcasting). */
  private rank = new Map<string, number>();
  private consumed = new Set<string>();
  private produced: { tensor: string; blob: string }[] = [];
  outputNames: string[] = [];
  private layer: TextMessage = {};
  private name = '';
  private type = '';

  constructor(readonly files: CaffeFiles, readonly weights: Map<string, Blob[]>) {}

  fail(msg: string): never {
    throw new UserError(`${this.files.prototxtFile}: layer ${this.name} (${this.type}): ${msg}`);
  }

  translate(net: TextMessage): void {
    this.declareInputs(net);
    const layers = [...all(net, 'layer'), ...all(net, 'layers')] as TextMessage[];
    for (const l of layers) {
      this.layer = l;
      this.name = String(one(l, 'name', ''));
      const type = one(l, 'type', '');
      this.type = typeof type === 'number' ? String(type) : V1_TYPES[type as string] ?? String(type);
      const phases = all(l, 'include').map((inc) => one(inc as TextMessage, 'phase'));
      if (phases.includes('TRAIN') || phases.includes(0) || SKIPPED.has(this.type)) continue;
      this.convert();
    }
    for (const p of this.produced)
      if (!this.consumed.has(p.tensor) && this.current.get(p.blob) === p.tensor) {
        this.form.output(p.tensor);
        this.outputNames.push(p.blob);
      }
    if (!this.outputNames.length) throw new UserError(`${this.files.prototxtFile}: the net has no output (every blob is read by a layer)`);
  }

  private declareInputs(net: TextMessage): void {
    const names = all(net, 'input').map(String);
    const dims = nums(net, 'input_dim');
    const shapes = all(net, 'input_shape') as TextMessage[];
    names.forEach((name, k) => {
      const shape = shapes[k] ? nums(shapes[k], 'dim') : dims.slice(4 * k, 4 * k + 4);
      if (!shape.length) throw new UserError(`${this.files.prototxtFile}: input ${name} has no input_dim or input_shape`);
      this.addInput(name, shape);
    });
  }

  private addInput(name: string, shape: number[]): void {
    this.form.input(name, shape);
    this.current.set(name, name);
    this.rank.set(name, shape.length);
  }

  /* ---- the layer being converted ---- */

  private bottoms(): string[] {
    return all(this.layer, 'bottom').map((b) => {
      const t = this.current.get(String(b));
      if (t === undefined) this.fail(`bottom ${b} is not produced by an earlier layer or input`);
      this.consumed.add(t);
      return t;
    });
  }

  private tops(): string[] {
    return all(this.layer, 'top').map(String);
  }

  /** The tensor name for a new version of top `blob` (in place: a fresh name under the layer's). */
  private topTensor(blob: string, rank: number | undefined): string {
    const tensor = this.current.has(blob) ? `${blob}/${this.name}` : blob;
    this.current.set(blob, tensor);
    if (rank !== undefined) this.rank.set(tensor, rank);
    this.produced.push({ tensor, blob });
    return tensor;
  }

  private param(field: string): TextMessage | undefined {
    return one(this.layer, field) as TextMessage | undefined;
  }

  private blobs(count: number): Blob[] {
    const b = this.weights.get(this.name);
    if (!b) this.fail(`${this.files.caffemodelFile} has no weights for this layer (is it the caffemodel of this prototxt?)`);
    if (b.length < count) this.fail(`${this.files.caffemodelFile} has ${b.length} weight blobs for it, expected ${count}`);
    return b;
  }

  private floats(what: string, data: Float32Array, dims: number[]): string {
    return this.form.floats(this.form.constName(this.name, what), data, dims);
  }

  /** A weight blob, named as MindSpore's Caffe parser names them: `<layer>/weight`, `<layer>/bias`, `<layer>/input-<n>`. */
  private blob(what: string, data: Float32Array, dims: number[]): string {
    return this.form.floats(this.form.uniqueName(`${this.name}/${what}`), data, dims);
  }

  private ints(what: string, values: number[]): string {
    return this.form.ints(this.form.constName(this.name, what), values);
  }

  /** One ONNX node for the whole layer: its bottoms in, its tops out (ranks as the first bottom's unless given). */
  private onnxNode(op: string, attrs: Record<string, AttrValue> = {}, inputs = this.bottoms(), rank?: number): void {
    const r = rank ?? this.rank.get(inputs[0]);
    this.form.node(op, inputs, this.tops().map((t) => this.topTensor(t, r)), attrs, this.name);
  }

  /** A decomposition step `<layer>_<suffix>`. */
  private step(op: string, inputs: string[], suffix: string, attrs: Record<string, AttrValue> = {}): string {
    const out = this.form.step(op, inputs, this.name, suffix, attrs);
    const r = this.rank.get(inputs[0]);
    if (r !== undefined) this.rank.set(out, r);
    return out;
  }

  /** The last step writes the layer's (single) top. */
  private finish(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, rank = this.rank.get(inputs[0])): void {
    const [top] = this.tops();
    if (top === undefined) this.fail('it has no top');
    this.form.node(op, inputs, [this.topTensor(top, rank)], attrs, this.name);
  }

  /** A per-channel vector shaped to broadcast along `axis` of a tensor of rank `rank` (NCHW: [C,1,1]). */
  private channelConst(what: string, data: Float32Array, rank: number | undefined, axis = 1): string {
    if (data.length === 1) return this.floats(what, data, []);
    if (rank === undefined) this.fail('the rank of its input is not known');
    return this.floats(what, data, [data.length, ...Array(Math.max(rank - axis - 1, 0)).fill(1)]);
  }

  private kernel(p: TextMessage | undefined, name: 'kernel' | 'stride' | 'pad' | 'dilation', def: number): [number, number] {
    const h = one(p, `${name}_h`), w = one(p, `${name}_w`);
    if (h !== undefined || w !== undefined) return [num(h, def), num(w, def)];
    const list = nums(p, name === 'kernel' ? 'kernel_size' : name);
    return [list[0] ?? def, list[1] ?? list[0] ?? def];
  }

  /* ---- layers ---- */

  private convert(): void {
    const conv = LAYERS[this.type];
    if (!conv) this.fail(`unsupported Caffe layer type. Supported: ${Object.keys(LAYERS).sort().join(', ')}`);
    conv.call(this);
  }

  Input(): void {
    const p = this.param('input_param');
    const shapes = all(p, 'shape') as TextMessage[];
    this.tops().forEach((top, k) => {
      const shape = nums(shapes[k] ?? shapes[0], 'dim');
      if (!shape.length) this.fail('input_param has no shape');
      this.addInput(top, shape);
    });
  }

  Convolution(): void {
    const p = this.param('convolution_param');
    const deconv = this.type === 'Deconvolution';
    const [kh, kw] = this.kernel(p, 'kernel', 1), [sh, sw] = this.kernel(p, 'stride', 1), [ph, pw] = this.kernel(p, 'pad', 0);
    const [dh, dw] = this.kernel(p, 'dilation', 1);
    const outCh = num(one(p, 'num_output'), 0), group = num(one(p, 'group'), 1), hasBias = bool(one(p, 'bias_term'), true);
    if (num(one(p, 'axis'), 1) !== 1) this.fail('only axis 1 (NCHW) convolutions are supported');
    const [w, b] = this.blobs(hasBias ? 2 : 1);
    const wDims = w.dims.length === 4 ? w.dims : this.fail(`its weight blob has shape [${w.dims}], expected 4-D`);
    const cout = deconv ? wDims[1] * group : wDims[0];
    if (cout !== outCh || wDims[2] !== kh || wDims[3] !== kw)
      this.fail(`the weights (shape [${wDims}]) do not match num_output ${outCh} and kernel ${kh}x${kw}: is ${this.files.caffemodelFile} the caffemodel of this prototxt?`);
    const inputs = [...this.bottoms(), this.blob('weight', w.data, wDims)];
    if (hasBias) {
      if (b.data.length !== outCh) this.fail(`its bias blob has ${b.data.length} values for num_output ${outCh}`);
      inputs.push(this.blob('bias', b.data, [outCh]));
    }
    this.onnxNode(deconv ? 'ConvTranspose' : 'Conv', { kernel_shape: [kh, kw], strides: [sh, sw], pads: [ph, pw, ph, pw], dilations: [dh, dw], group }, inputs);
  }

  Pooling(): void {
    const p = this.param('pooling_param');
    const pool = one(p, 'pool') ?? 'MAX';
    const max = enumIs(pool, 'MAX', 0);
    if (!max && !enumIs(pool, 'AVE', 1)) this.fail(`pool ${pool} is not supported (MAX or AVE)`);
    if (bool(one(p, 'global_pooling'), false)) return this.onnxNode(max ? 'GlobalMaxPool' : 'GlobalAveragePool');
    const [kh, kw] = this.kernel(p, 'kernel', 1), [sh, sw] = this.kernel(p, 'stride', 1), [ph, pw] = this.kernel(p, 'pad', 0);
    const round = one(p, 'round_mode');
    // Caffe rounds the output size up (its default CEIL), with the last window starting inside the padded
    // input; the average divides by the window clipped to the padded input, i.e. padding counts.
    this.onnxNode(max ? 'MaxPool' : 'AveragePool', {
      kernel_shape: [kh, kw], strides: [sh, sw], pads: [ph, pw, ph, pw], ceil_mode: enumIs(round, 'FLOOR', 1) ? 0 : 1,
      ...(max ? {} : { count_include_pad: 1 }),
    });
  }

  ReLU(): void {
    const slope = num(one(this.param('relu_param'), 'negative_slope'), 0);
    if (slope) this.onnxNode('LeakyRelu', { alpha: slope });
    else this.onnxNode('Relu');
  }

  ReLU6(): void {
    const [x] = this.bottoms();
    this.finish('Clip', [x, this.floats('min', Float32Array.of(0), []), this.floats('max', Float32Array.of(6), [])]);
  }

  Clip(): void {
    const p = this.param('clip_param');
    const [x] = this.bottoms();
    this.finish('Clip', [x, this.floats('min', Float32Array.of(num(one(p, 'min'), 0)), []), this.floats('max', Float32Array.of(num(one(p, 'max'), 0)), [])]);
  }

  PReLU(): void {
    const [x] = this.bottoms();
    const [slope] = this.blobs(1);
    this.finish('PRelu', [x, this.channelConst('slope', slope.data, this.rank.get(x))]);
  }

  ELU(): void {
    this.onnxNode('Elu', { alpha: num(one(this.param('elu_param'), 'alpha'), 1) });
  }

  Sigmoid(): void { this.onnxNode('Sigmoid'); }
  TanH(): void { this.onnxNode('Tanh'); }
  AbsVal(): void { this.onnxNode('Abs'); }
  BNLL(): void { this.onnxNode('Softplus'); }
  Dropout(): void { this.onnxNode('Identity'); }

  /** Caffe's Split copies its bottom to every top. */
  Split(): void {
    const [x] = this.bottoms();
    for (const top of this.tops()) this.form.node('Identity', [x], [this.topTensor(top, this.rank.get(x))], {}, `${this.name}_${top}`);
  }

  Eltwise(): void {
    const p = this.param('eltwise_param');
    const op = one(p, 'operation');
    let xs = this.bottoms();
    if (enumIs(op, 'PROD', 0)) return this.chain('Mul', xs);
    if (enumIs(op, 'MAX', 2)) return this.finish('Max', xs);
    const coeff = nums(p, 'coeff');
    if (coeff.length && coeff.length !== xs.length) this.fail(`it has ${coeff.length} coeff for ${xs.length} bottoms`);
    if (coeff.some((c) => c !== 1)) xs = xs.map((x, k) => (coeff[k] === 1 ? x : this.step('Mul', [x, this.floats(`coeff${k}`, Float32Array.of(coeff[k]), [])], `coeff${k}`)));
    this.chain('Add', xs);
  }

  /** A binary op over several bottoms, left to right. */
  private chain(op: string, xs: string[]): void {
    let acc = xs[0];
    for (let k = 1; k < xs.length - 1; k++) acc = this.step(op, [acc, xs[k]], `${op.toLowerCase()}${k}`);
    if (xs.length === 1) return this.finish('Identity', [acc]);
    this.finish(op, [acc, xs[xs.length - 1]]);
  }

  InnerProduct(): void {
    const p = this.param('inner_product_param');
    const outCh = num(one(p, 'num_output'), 0), hasBias = bool(one(p, 'bias_term'), true), transpose = bool(one(p, 'transpose'), false);
    if (num(one(p, 'axis'), 1) !== 1) this.fail('only axis 1 is supported');
    const [w, b] = this.blobs(hasBias ? 2 : 1);
    // Legacy blobs are [1, 1, N, K]; the weight is [N, K] ([K, N] with transpose).
    const k = w.data.length / outCh;
    if (!Number.isInteger(k) || (w.dims.length >= 2 && w.dims[w.dims.length - (transpose ? 1 : 2)] !== outCh))
      this.fail(`the weights (shape [${w.dims}]) do not match num_output ${outCh}: is ${this.files.caffemodelFile} the caffemodel of this prototxt?`);
    let [x] = this.bottoms();
    if (this.rank.get(x) !== 2) x = this.step('Flatten', [x], 'flatten', { axis: 1 });
    const inputs = [x, this.blob('input-1', w.data, transpose ? [k, outCh] : [outCh, k])];
    if (hasBias) inputs.push(this.blob('input-2', b.data, [outCh]));
    this.finish('Gemm', inputs, { transB: transpose ? 0 : 1 }, 2);
  }

  BatchNorm(): void {
    const p = this.param('batch_norm_param');
    const [mean, variance, factor] = this.blobs(3);
    // Caffe stores running sums; the moving-average factor divides them (0 means no statistics yet).
    const f = factor.data[0] === 0 ? 0 : 1 / factor.data[0];
    const c = mean.data.length;
    const [x] = this.bottoms();
    this.finish('BatchNormalization', [x, this.floats('scale', new Float32Array(c).fill(1), [c]), this.floats('shift', new Float32Array(c), [c]),
      this.floats('mean', mean.data.map((v) => v * f), [c]), this.floats('var', variance.data.map((v) => v * f), [c])], { epsilon: num(one(p, 'eps'), 1e-5) });
  }

  Scale(): void { this.scaleOrBias(true); }
  Bias(): void { this.scaleOrBias(false); }

  private scaleOrBias(scale: boolean): void {
    const p = this.param(scale ? 'scale_param' : 'bias_param');
    const xs = this.bottoms();
    if (xs.length > 1) this.fail('a second bottom (a computed scale) is not supported');
    const axis = num(one(p, 'axis'), 1), hasBias = scale ? bool(one(p, 'bias_term'), false) : true;
    if (num(one(p, 'num_axes'), 1) !== 1 || axis !== 1) this.fail('only axis 1 with num_axes 1 (per channel) is supported');
    const blobs = this.blobs(scale ? (hasBias ? 2 : 1) : 1);
    const r = this.rank.get(xs[0]);
    if (!scale) return this.finish('Add', [xs[0], this.channelConst('bias', blobs[0].data, r)]);
    if (!hasBias) return this.finish('Mul', [xs[0], this.channelConst('scale', blobs[0].data, r)]);
    this.finish('Add', [this.step('Mul', [xs[0], this.channelConst('scale', blobs[0].data, r)], 'scale'), this.channelConst('bias', blobs[1].data, r)]);
  }

  Softmax(): void {
    this.onnxNode('Softmax', { axis: num(one(this.param('softmax_param'), 'axis'), 1) });
  }

  Concat(): void {
    const p = this.param('concat_param');
    this.onnxNode('Concat', { axis: num(one(p, 'axis') ?? one(p, 'concat_dim'), 1) });
  }

  Slice(): void {
    const p = this.param('slice_param');
    const axis = num(one(p, 'axis') ?? one(p, 'slice_dim'), 1);
    const points = nums(p, 'slice_point');
    const [x] = this.bottoms();
    const tops = this.tops();
    if (!points.length) {
      this.form.node('Split', [x], tops.map((t) => this.topTensor(t, this.rank.get(x))), { axis }, this.name);
      return;
    }
    if (points.length !== tops.length - 1) this.fail(`${points.length} slice_point for ${tops.length} tops`);
    const bounds = [0, ...points, 2 ** 31 - 1];
    tops.forEach((top, k) => this.form.node('Slice', [x, this.ints(`start${k}`, [bounds[k]]), this.ints(`end${k}`, [bounds[k + 1]]), this.ints(`axis${k}`, [axis])],
      [this.topTensor(top, this.rank.get(x))], {}, `${this.name}_${top}`));
  }

  Reshape(): void {
    const p = this.param('reshape_param');
    if (num(one(p, 'axis'), 0) !== 0 || num(one(p, 'num_axes'), -1) !== -1) this.fail('only axis 0 with num_axes -1 is supported');
    const dims = nums(one(p, 'shape') as TextMessage | undefined, 'dim');
    const [x] = this.bottoms();
    // Caffe's 0 copies the input dim and -1 infers one, as ONNX Reshape's do.
    this.finish('Reshape', [x, this.ints('shape', dims)], {}, dims.length);
  }

  Flatten(): void {
    const p = this.param('flatten_param');
    const axis = num(one(p, 'axis'), 1), end = num(one(p, 'end_axis'), -1);
    const [x] = this.bottoms();
    const r = this.rank.get(x);
    if (end === -1 || (r !== undefined && end === r - 1)) return this.finish('Flatten', [x], { axis }, axis + 1);
    if (r === undefined) this.fail('the rank of its input is not known');
    const e = end < 0 ? r + end : end;
    const dims = [...Array(axis).fill(0), -1, ...Array(r - 1 - e).fill(0)];
    this.finish('Reshape', [x, this.ints('shape', dims)], {}, dims.length);
  }

  Permute(): void {
    const order = nums(this.param('permute_param'), 'order');
    const [x] = this.bottoms();
    const r = this.rank.get(x) ?? order.length;
    const perm = [...order, ...[...Array(r).keys()].filter((d) => !order.includes(d))];
    this.finish('Transpose', [x], { perm });
  }

  Crop(): void {
    const p = this.param('crop_param');
    const [x, like] = this.bottoms();
    const r = this.rank.get(x);
    if (like === undefined || r === undefined) this.fail('it needs two bottoms of known rank');
    const axis = num(one(p, 'axis'), 2), a = axis < 0 ? r + axis : axis;
    const given = nums(p, 'offset');
    const axes = [...Array(r - a).keys()].map((k) => a + k);
    const offsets = axes.map((_, k) => given[given.length === 1 ? 0 : k] ?? 0);
    // ends = offsets + the reference blob's dims on those axes (folded when shapes are static).
    const dims = this.step('Gather', [this.step('Shape', [like], 'shape'), this.ints('axes_idx', axes)], 'dims', { axis: 0 });
    const ends = this.step('Add', [dims, this.ints('offsets', offsets)], 'ends');
    this.finish('Slice', [x, this.ints('starts', offsets), ends, this.ints('axes', axes)]);
  }

  Power(): void {
    const p = this.param('power_param');
    const power = num(one(p, 'power'), 1), scale = num(one(p, 'scale'), 1), shift = num(one(p, 'shift'), 0);
    this.affineThen(scale, shift, power === 1 ? undefined : (x) => ['Pow', [x, this.floats('power', Float32Array.of(power), [])]]);
  }

  Exp(): void {
    const p = this.param('exp_param');
    const base = num(one(p, 'base'), -1), scale = num(one(p, 'scale'), 1), shift = num(one(p, 'shift'), 0);
    // base^(shift + scale x) = e^(ln(base) (shift + scale x)); base -1 means e.
    const ln = base === -1 ? 1 : Math.log(base);
    this.affineThen(scale * ln, shift * ln, (x) => ['Exp', [x]]);
  }

  Log(): void {
    const p = this.param('log_param');
    const base = num(one(p, 'base'), -1), scale = num(one(p, 'scale'), 1), shift = num(one(p, 'shift'), 0);
    const inv = base === -1 ? 1 : 1 / Math.log(base);
    const [x] = this.bottoms();
    const affine = this.affine(x, scale, shift);
    if (inv === 1) return this.finish('Log', [affine]);
    this.finish('Mul', [this.step('Log', [affine], 'log'), this.floats('inv_ln_base', Float32Array.of(inv), [])]);
  }

  /** x * scale + shift, skipping the identity steps. */
  private affine(x: string, scale: number, shift: number): string {
    let y = x;
    if (scale !== 1) y = this.step('Mul', [y, this.floats('scale', Float32Array.of(scale), [])], 'scale');
    if (shift !== 0) y = this.step('Add', [y, this.floats('shift', Float32Array.of(shift), [])], 'shift');
    return y;
  }

  private affineThen(scale: number, shift: number, then?: (x: string) => [string, string[]]): void {
    const [x] = this.bottoms();
    if (!then) {
      if (shift !== 0) return this.finish('Add', [this.affine(x, scale, 0), this.floats('shift', Float32Array.of(shift), [])]);
      return scale !== 1 ? this.finish('Mul', [x, this.floats('scale', Float32Array.of(scale), [])]) : this.finish('Identity', [x]);
    }
    const [op, inputs] = then(this.affine(x, scale, shift));
    this.finish(op, inputs);
  }

  Threshold(): void {
    const t = num(one(this.param('threshold_param'), 'threshold'), 0);
    const [x] = this.bottoms();
    this.finish('Cast', [this.step('Greater', [x, this.floats('threshold', Float32Array.of(t), [])], 'greater')], { to: 1 });
  }

  LRN(): void {
    const p = this.param('lrn_param');
    const region = one(p, 'norm_region');
    if (region !== undefined && !enumIs(region, 'ACROSS_CHANNELS', 0)) this.fail('only ACROSS_CHANNELS normalization is supported');
    // Caffe's alpha is divided by local_size, as ONNX's is.
    this.onnxNode('LRN', { size: num(one(p, 'local_size'), 5), alpha: num(one(p, 'alpha'), 1), beta: num(one(p, 'beta'), 0.75), bias: num(one(p, 'k'), 1) });
  }

  Tile(): void {
    const p = this.param('tile_param');
    const [x] = this.bottoms();
    const r = this.rank.get(x);
    if (r === undefined) this.fail('the rank of its input is not known');
    const axis = num(one(p, 'axis'), 1), a = axis < 0 ? r + axis : axis;
    const repeats = Array.from({ length: r }, (_, d) => (d === a ? num(one(p, 'tiles'), 1) : 1));
    this.finish('Tile', [x, this.ints('repeats', repeats)]);
  }

  ArgMax(): void {
    const p = this.param('argmax_param');
    if (bool(one(p, 'out_max_val'), false) || num(one(p, 'top_k'), 1) !== 1) this.fail('only top_k 1 without out_max_val is supported');
    const [x] = this.bottoms();
    const axis = one(p, 'axis');
    // Without an axis Caffe takes the arg max over each sample, giving [N, 1, 1].
    if (axis === undefined) {
      const idx = this.step('ArgMax', [this.step('Flatten', [x], 'flatten', { axis: 1 })], 'argmax', { axis: 1, keepdims: 1 });
      return this.finish('Reshape', [this.step('Cast', [idx], 'cast', { to: 1 }), this.ints('shape', [0, 1, 1])], {}, 3);
    }
    this.finish('Cast', [this.step('ArgMax', [x], 'argmax', { axis: num(axis, 0), keepdims: 1 })], { to: 1 });
  }

  Reduction(): void {
    const p = this.param('reduction_param');
    const op = one(p, 'operation') ?? 'SUM';
    const ops: Record<string, string> = { SUM: 'ReduceSum', 1: 'ReduceSum', ASUM: 'ReduceL1', 2: 'ReduceL1', SUMSQ: 'ReduceSumSquare', 3: 'ReduceSumSquare', MEAN: 'ReduceMean', 4: 'ReduceMean' };
    const onnxOp = ops[String(op)] ?? this.fail(`operation ${op} is not supported`);
    const [x] = this.bottoms();
    const r = this.rank.get(x);
    if (r === undefined) this.fail('the rank of its input is not known');
    const axis = num(one(p, 'axis'), 0), a = axis < 0 ? r + axis : axis;
    const axes = [...Array(r - a).keys()].map((k) => a + k);
    const coeff = num(one(p, 'coeff'), 1);
    // Caffe reduces every axis from `axis` on; ReduceSum takes its axes as an input at opset 13.
    const inputs = onnxOp === 'ReduceSum' ? [x, this.ints('axes', axes)] : [x];
    const attrs: Record<string, AttrValue> = onnxOp === 'ReduceSum' ? { keepdims: 0 } : { axes, keepdims: 0 };
    if (coeff === 1) return this.finish(onnxOp, inputs, attrs, a);
    const reduced = this.step(onnxOp, inputs, 'reduce', attrs);
    this.rank.set(reduced, a);
    this.finish('Mul', [reduced, this.floats('coeff', Float32Array.of(coeff), [])], {}, a);
  }

  /** SSD's Normalize: x / sqrt(sum of squares + eps) per position (or over the whole sample), times a scale. */
  Normalize(): void {
    const p = this.param('norm_param');
    const acrossSpatial = bool(one(p, 'across_spatial'), true), channelShared = bool(one(p, 'channel_shared'), true);
    const [scale] = this.blobs(1);
    const [x] = this.bottoms();
    const sq = this.step('Mul', [x, x], 'square');
    const sum = this.step('ReduceSum', [sq, this.ints('axes', acrossSpatial ? [1, 2, 3] : [1])], 'sum', { keepdims: 1 });
    const norm = this.step('Sqrt', [this.step('Add', [sum, this.floats('eps', Float32Array.of(num(one(p, 'eps'), 1e-10)), [])], 'eps')], 'norm');
    const y = this.step('Div', [x, norm], 'div');
    this.finish('Mul', [y, channelShared ? this.floats('scale', scale.data.subarray(0, 1), []) : this.channelConst('scale', scale.data, 4)]);
  }

  /** Bilinear with aligned corners to a size given, or zoomed / shrunk from the input's (DeepLab, PSPNet). */
  Interp(): void {
    const p = this.param('interp_param');
    const [x] = this.bottoms();
    if (num(one(p, 'pad_beg'), 0) !== 0 || num(one(p, 'pad_end'), 0) !== 0) this.fail('pad_beg / pad_end are not supported');
    const h = one(p, 'height'), w = one(p, 'width'), zoom = num(one(p, 'zoom_factor'), 1), shrink = num(one(p, 'shrink_factor'), 1);
    const nc = this.step('Slice', [this.step('Shape', [x], 'shape'), this.ints('nc_start', [0]), this.ints('nc_end', [2])], 'nc');
    let hw: string;
    if (h !== undefined && w !== undefined) hw = this.ints('hw', [num(h, 0), num(w, 0)]);
    else {
      // out = (in - 1) / shrink + 1, then out + (out - 1) (zoom - 1), in integer arithmetic as Caffe's.
      let s = this.step('Slice', [this.step('Shape', [x], 'shape2'), this.ints('hw_start', [2]), this.ints('hw_end', [4])], 'in_hw');
      const one1 = this.ints('one', [1]);
      if (shrink !== 1) s = this.step('Add', [this.step('Div', [this.step('Sub', [s, one1], 'm1'), this.ints('shrink', [shrink])], 'shrunk'), one1], 'shrink_hw');
      if (zoom !== 1) s = this.step('Add', [s, this.step('Mul', [this.step('Sub', [s, one1], 'zm1'), this.ints('zoom', [zoom - 1])], 'zoomed')], 'zoom_hw');
      hw = s;
    }
    const sizes = this.step('Concat', [nc, hw], 'sizes', { axis: 0 });
    this.finish('Resize', [x, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'align_corners' });
  }

  /** Nearest-neighbour upsampling by an integer scale (the one-bottom Upsample of YOLO-style Caffe ports). */
  Upsample(): void {
    const p = this.param('upsample_param');
    const xs = this.bottoms();
    if (xs.length > 1) this.fail('max-unpooling with a mask bottom is not supported');
    const s = num(one(p, 'scale'), 2), sh = num(one(p, 'scale_h'), s), sw = num(one(p, 'scale_w'), s);
    this.finish('Resize', [xs[0], '', this.floats('scales', Float32Array.of(1, 1, sh, sw), [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  }
}

type LayerConverter = (this: CaffeTranslator) => void;
const LAYERS: Record<string, LayerConverter> = Object.fromEntries(
  ['Input', 'Convolution', 'Pooling', 'ReLU', 'ReLU6', 'Clip', 'PReLU', 'ELU', 'Sigmoid', 'TanH', 'AbsVal', 'BNLL', 'Dropout', 'Split', 'Eltwise',
    'InnerProduct', 'BatchNorm', 'Scale', 'Bias', 'Softmax', 'Concat', 'Slice', 'Reshape', 'Flatten', 'Permute', 'Crop', 'Power', 'Exp', 'Log',
    'Threshold', 'LRN', 'Tile', 'ArgMax', 'Reduction', 'Normalize', 'Interp', 'Upsample']
    .map((n) => [n, (CaffeTranslator.prototype as any)[n] as LayerConverter]),
);
LAYERS.Deconvolution = LAYERS.Convolution;
LAYERS.DepthwiseConvolution = LAYERS.Convolution;
