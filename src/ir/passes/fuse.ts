/**
 * MindSpore's default fusions that change what the .ms holds: BatchNorm folded into the preceding conv
 * (else turned into ScaleFusion), a per-channel constant Add folded into the conv bias, a 1-D constant Add
 * after MatMul/FullConnection made its bias, and RELU/RELU6 fused into the producer's activation_type.
 */
import { Graph, Node, sizeOf } from '../graph.js';
import { ActivationType as Act } from '../schema/ops.js';
import { findOp } from '../op-registry.js';

/** The single consumer of `n`'s only output, when that output is not a graph output. */
function soleConsumer(g: Graph, n: Node): Node | undefined {
  if (n.outputs.length !== 1 || g.outputs.includes(n.outputs[0])) return undefined;
  const cons = g.consumers().get(n.outputs[0]) ?? [];
  return cons.length === 1 ? cons[0] : undefined;
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
