/**
 * MindSpore's default fusions that change what the .ms holds: BatchNorm folded into the preceding conv
 * (else turned into ScaleFusion), a per-channel constant Add folded into the conv bias, a 1-D constant Add
 * after MatMul/FullConnection made its bias, RELU/RELU6 fused into the producer's activation_type,
 * written-out HardSwish and LayerNorm patterns made one op each, and zero Pads merged into convolutions.
 */
import { Graph, Node, sizeOf } from '../graph.js';
import { ActivationType as Act, PadMode } from '../schema/ops.js';
import { findOp } from '../op-registry.js';

/** The single consumer of `n`'s only output, when that output is not a graph output. */
function soleConsumer(g: Graph, n: Node): Node | undefined {
  if (n.outputs.length !== 1 || g.outputs.includes(n.outputs[0])) return undefined;
  // A scan that stops at the second reader: the passes call this per node, and building the whole consumer
  // map each time made them quadratic (unrolled recurrent layers have thousands of nodes).
  const id = n.outputs[0];
  let sole: Node | undefined;
  for (const c of g.nodes)
    for (const i of c.inputs) {
      if (i !== id) continue;
      if (sole) return undefined; // a second reader, or the same node reading it twice
      sole = c;
    }
  return sole;
}

function bypass(g: Graph, producer: Node, consumer: Node): void {
  // producer takes over consumer's output tensor (and so its name), consumer disappears.
  producer.outputs = [...consumer.outputs];
  g.nodes.splice(g.nodes.indexOf(consumer), 1);
}

export function foldBatchNorm(g: Graph): void {
  for (const conv of [...g.nodes]) {
    if (conv.op !== 'Conv2DFusion' || conv.attrs.activation_type) continue;
    const bn = soleConsumer(g, conv);
    if (!bn || bn.op !== 'FusedBatchNorm' || bn.inputs[0] !== conv.outputs[0]) continue;
    const [scale, beta, mean, variance] = bn.inputs.slice(1).map((i) => g.tensors[i].data as Float32Array);
    const eps = (bn.attrs.epsilon as number) ?? 1e-5;
    const w = g.tensors[conv.inputs[1]];
    const cout = w.shape[0];
    const per = sizeOf(w.shape) / cout;
    const wd = Float32Array.from(w.data as Float32Array);
    const oldBias = conv.inputs[2] !== undefined ? (g.tensors[conv.inputs[2]].data as Float32Array) : undefined;
    const bias = new Float32Array(cout);
    for (let c = 0; c < cout; c++) {
      const k = scale[c] / Math.sqrt(variance[c] + eps);
      for (let j = 0; j < per; j++) wd[c * per + j] *= k;
      bias[c] = ((oldBias ? oldBias[c] : 0) - mean[c]) * k + beta[c];
    }
    conv.inputs[1] = g.addConst(w.name, wd, w.shape, w.format);
    const biasName = oldBias ? g.tensors[conv.inputs[2]].name : `${conv.name}_bias`;
    conv.inputs[2] = g.addConst(biasName, bias, [cout]);
    bypass(g, conv, bn);
  }
  // BatchNorm left alone becomes a per-channel scale and shift on the channel (last, NHWC) axis.
  for (const bn of g.nodes) {
    if (bn.op !== 'FusedBatchNorm') continue;
    const [scale, beta, mean, variance] = bn.inputs.slice(1).map((i) => g.tensors[i].data as Float32Array);
    const eps = (bn.attrs.epsilon as number) ?? 1e-5;
    const k = scale.map((s, c) => s / Math.sqrt(variance[c] + eps));
    const b = beta.map((bt, c) => bt - mean[c] * k[c]);
    bn.op = 'ScaleFusion';
    bn.attrs = { axis: -1, activation_type: 0 };
    bn.inputs = [bn.inputs[0], g.addConst(`${bn.name}_scale`, k, [k.length]), g.addConst(`${bn.name}_bias`, b, [b.length])];
  }
}

/** Conv + Add(const with one non-1 dim == Cout on the channel axis) -> conv bias (ConvBiasaddFusion). */
export function foldBiasAdd(g: Graph): void {
  for (const prod of [...g.nodes]) {
    const folds = findOp(prod.op)?.foldsBias;
    const isConv = folds === 'conv';
    const isMatMul = folds === 'matmul';
    if ((!isConv && !isMatMul) || prod.attrs.activation_type) continue;
    const add = soleConsumer(g, prod);
    if (!add || add.op !== 'AddFusion') continue;
    const other = add.inputs.find((i) => i !== prod.outputs[0]);
    if (other === undefined || !g.isConst(other) || add.inputs.length !== 2) continue;
    const c = g.tensors[other];
    const channels = prod.op === 'Conv2DFusion' ? g.tensors[prod.inputs[1]].shape[0] : (prod.attrs.out_channel as number);
    const nonOne = c.shape.filter((d) => d !== 1);
    if (nonOne.length > 1) continue;
    // The constant must broadcast along the last (channel / feature) axis only.
    if (c.shape.length && c.shape[c.shape.length - 1] !== sizeOf(c.shape)) continue;
    const n = sizeOf(c.shape);
    const outDim = isConv ? channels : lastDimOfMatMul(g, prod);
    if (outDim === undefined || (n !== outDim && n !== 1)) continue;
    if (isMatMul && prod.inputs.length > 2) continue;
    const addData = c.data as Float32Array;
    const existing = prod.inputs[2] !== undefined ? (g.tensors[prod.inputs[2]].data as Float32Array) : undefined;
    const bias = new Float32Array(outDim);
    for (let i = 0; i < outDim; i++) bias[i] = (existing ? existing[i] : 0) + addData[n === 1 ? 0 : i];
    prod.inputs[2] = g.addConst(c.name, bias, [outDim]);
    if (prod.op === 'FullConnection') prod.attrs = { ...prod.attrs, has_bias: true };
    prod.attrs = { ...prod.attrs, activation_type: add.attrs.activation_type ?? 0 };
    bypass(g, prod, add);
  }
}

function lastDimOfMatMul(g: Graph, n: Node): number | undefined {
  const out = g.tensors[n.outputs[0]].shape;
  if (out.length) return out[out.length - 1];
  const w = g.tensors[n.inputs[1]];
  if (!w.shape.length) return undefined;
  if (n.op === 'FullConnection') return w.shape[0];
  return n.attrs.transpose_b ? w.shape[w.shape.length - 2] : w.shape[w.shape.length - 1];
}

/** Activation RELU / RELU6 right after an op with a free activation_type slot is fused into it. */
export function fuseActivations(g: Graph): void {
  for (const prod of [...g.nodes]) {
    if (!findOp(prod.op)?.fusedActivation || prod.attrs.activation_type) continue;
    const a = soleConsumer(g, prod);
    if (!a || a.op !== 'Activation') continue;
    const t = a.attrs.activation_type as number;
    if (t !== Act.RELU && t !== Act.RELU6) continue;
    prod.attrs = { ...prod.attrs, activation_type: t };
    bypass(g, prod, a);
  }
}

/** The value of a constant scalar (or one-element) input, else undefined. */
function scalarOf(g: Graph, id: number | undefined): number | undefined {
  if (id === undefined || id < 0 || !g.isConst(id)) return undefined;
  const d = g.tensors[id].data;
  return d && d.length === 1 ? Number(d[0]) : undefined;
}

/** The node `n` whose only output feeds only `next`'s inputs (so fusing them loses no other reader). */
function feedsOnly(g: Graph, n: Node | undefined, ...readers: Node[]): boolean {
  if (!n || n.outputs.length !== 1 || g.outputs.includes(n.outputs[0])) return false;
  const cons = g.consumers().get(n.outputs[0]) ?? [];
  return cons.every((c) => readers.includes(c));
}

/** The other input of a two-input node, given one. */
const otherInput = (n: Node, id: number) => (n.inputs[0] === id ? n.inputs[1] : n.inputs[0]);

/**
 * HardSwishFusion: x * relu6(x + 3) / 6 (exporters write it out: paddle2onnx, older PyTorch) becomes one
 * Activation HSWISH, as MindSpore's converter does. The add's RELU6 is fused already (fuseActivations).
 */
export function fuseHardSwish(g: Graph): void {
  for (const add of [...g.nodes]) {
    if (add.op !== 'AddFusion' || add.attrs.activation_type !== Act.RELU6 || add.inputs.length !== 2) continue;
    const x = add.inputs.find((i) => !g.isConst(i));
    if (x === undefined || scalarOf(g, otherInput(add, x)) !== 3) continue;
    const mul = soleConsumer(g, add);
    if (!mul || mul.op !== 'MulFusion' || mul.attrs.activation_type || otherInput(mul, add.outputs[0]) !== x) continue;
    const div = soleConsumer(g, mul);
    if (!div || div.attrs.activation_type || div.inputs[0] !== mul.outputs[0]) continue;
    const k = scalarOf(g, div.inputs[1]);
    if (!((div.op === 'DivFusion' && k === 6) || (div.op === 'MulFusion' && k !== undefined && Math.abs(k - 1 / 6) < 1e-7))) continue;
    div.op = 'Activation';
    div.attrs = { activation_type: Act.HSWISH, alpha: 0, min_val: 0, max_val: 0, approximate: false };
    div.inputs = [x];
    for (const dead of [add, mul]) g.nodes.splice(g.nodes.indexOf(dead), 1);
  }
}

/**
 * OnnxLayerNormFusion: mean over the trailing axes, x - mean, its square's mean plus epsilon, square root,
 * division, then gamma and beta (how exporters write LayerNorm before opset 17) becomes one LayerNormFusion.
 */
export function fuseLayerNorm(g: Graph): void {
  const producer = new Map<number, Node>();
  for (const n of g.nodes) n.outputs.forEach((o) => producer.set(o, n));
  const meanAxes = (r: Node | undefined, rank: number): number[] | undefined => {
    if (!r || r.op !== 'ReduceFusion' || (r.attrs.mode ?? 0) !== 0 || !r.attrs.keep_dims || r.attrs.reduce_to_end) return undefined;
    const a = r.inputs[1] !== undefined ? g.tensors[r.inputs[1]]?.data : undefined;
    if (!a) return undefined;
    return Array.from(a, (v) => (Number(v) < 0 ? Number(v) + rank : Number(v))).sort((p, q) => p - q);
  };
  for (const div of [...g.nodes]) {
    if (div.op !== 'DivFusion' || div.attrs.activation_type || !g.nodes.includes(div)) continue;
    const sub = producer.get(div.inputs[0]), sqrt = producer.get(div.inputs[1]);
    if (sub?.op !== 'SubFusion' || sub.attrs.activation_type || sqrt?.op !== 'Sqrt') continue;
    const x = sub.inputs[0], rank = g.tensors[x].shape.length;
    const mean = producer.get(sub.inputs[1]);
    const axes = meanAxes(mean, rank);
    if (!axes || mean!.inputs[0] !== x || !axes.every((a, i) => a === rank - axes.length + i)) continue;
    const addEps = producer.get(sqrt.inputs[0]);
    const eps = addEps?.op === 'AddFusion' && !addEps.attrs.activation_type ? scalarOf(g, addEps.inputs[1]) : undefined;
    if (eps === undefined) continue;
    const variance = producer.get(addEps!.inputs[0]);
    const square = producer.get(variance?.inputs[0] ?? -1);
    const v = meanAxes(variance, rank);
    const squares = square && ((square.op === 'PowFusion' && scalarOf(g, square.inputs[1]) === 2 && (square.attrs.scale ?? 1) === 1 && !square.attrs.shift)
      || (square.op === 'MulFusion' && !square.attrs.activation_type && square.inputs[1] === square.inputs[0]));
    if (!squares || square!.inputs[0] !== sub.outputs[0] || v?.join() !== axes.join()) continue;
    const chain = [mean!, sub, square!, variance!, addEps!, sqrt];
    if (!feedsOnly(g, mean, sub) || !feedsOnly(g, sub, square!, div) || !chain.slice(2).every((n, i) => feedsOnly(g, n, chain[i + 3] ?? div))) continue;
    // gamma and beta: constants over the normalized dims (trailing), else the identity.
    const trailing = g.tensors[x].shape.slice(rank - axes.length);
    const affine = (n: Node | undefined, op: string): number | undefined => {
      if (!n || n.op !== op || n.attrs.activation_type) return undefined;
      const c = n.inputs[1];
      if (!g.isConst(c)) return undefined;
      const s = g.tensors[c].shape;
      return sizeOf(s) === sizeOf(trailing) && s.filter((d) => d !== 1).join() === trailing.filter((d) => d !== 1).join() ? c : undefined;
    };
    const mul = soleConsumer(g, div);
    const gamma = mul && mul.inputs[0] === div.outputs[0] ? affine(mul, 'MulFusion') : undefined;
    const add = gamma !== undefined ? soleConsumer(g, mul!) : undefined;
    const beta = add && add.inputs[0] === mul!.outputs[0] ? affine(add, 'AddFusion') : undefined;
    if (gamma === undefined || beta === undefined) continue;
    const flat = (id: number) => g.addConst(g.tensors[id].name, Float32Array.from(g.tensors[id].data as Float32Array), trailing);
    add!.op = 'LayerNormFusion';
    add!.attrs = { begin_norm_axis: rank - axes.length, begin_params_axis: rank - axes.length, epsilon: eps, elementwise_affine: true };
    add!.inputs = [x, flat(gamma), flat(beta)];
    for (const dead of [...chain, div, mul!]) g.nodes.splice(g.nodes.indexOf(dead), 1);
  }
}

/**
 * ConvPadFusion: a zero Pad (constant mode) of H and W only, read only by a convolution with explicit or VALID
 * padding, becomes part of the convolution's pad_list, as MindSpore's converter does.
 */
export function fusePadIntoConv(g: Graph): void {
  for (const pad of [...g.nodes]) {
    if (pad.op !== 'PadFusion' || (pad.attrs.padding_mode ?? 0) !== 0 || (pad.attrs.constant_value ?? 0) !== 0) continue;
    const padsT = pad.inputs[1] !== undefined ? g.tensors[pad.inputs[1]] : undefined;
    if (!padsT?.data || padsT.data.length !== 8 || (pad.inputs[2] !== undefined && scalarOf(g, pad.inputs[2]) !== 0)) continue;
    const [nb, na, hb, ha, wb, wa, cb, ca] = Array.from(padsT.data as ArrayLike<number>);
    if (nb || na || cb || ca || [hb, ha, wb, wa].some((v) => v < 0)) continue;
    const conv = soleConsumer(g, pad);
    if (!conv || conv.op !== 'Conv2DFusion' || conv.inputs[0] !== pad.outputs[0]) continue;
    const mode = (conv.attrs.pad_mode as number) ?? PadMode.PAD;
    if (mode !== PadMode.PAD && mode !== PadMode.VALID) continue;
    const [t, b, l, r] = mode === PadMode.VALID ? [0, 0, 0, 0] : ((conv.attrs.pad_list as number[]) ?? [0, 0, 0, 0]);
    conv.attrs = { ...conv.attrs, pad_mode: PadMode.PAD, pad_list: [t + hb, b + ha, l + wb, r + wa] };
    conv.inputs[0] = pad.inputs[0];
    g.nodes.splice(g.nodes.indexOf(pad), 1);
  }
}
