/** Normalizations: ScaleFusion (what an unfoldable BatchNorm becomes), FusedBatchNorm, LayerNormFusion, InstanceNorm, LRN, L2NormalizeFusion. */
import { defineOp, ACT, floatLikeInput, present, out } from './define.js';
import type { Node } from '../ir/graph.js';
import { scale, batchNorm } from '../cpu/elementwise.js';
import * as K from '../shaders/kernels.js';
import { scaleParams } from '../ir/op-params.js';
import { RT, size, normAxis } from '../ir/tensor.js';
import { activationFn } from '../cpu/activation.js';

defineOp({
  name: 'ScaleFusion', fields: [['axis', 'long', 0], ACT], layout: 'channel', fusedActivation: true, infer: floatLikeInput,
  cpu: scale,
  gpu: (c) => {
    const { inner, channels } = scaleParams(c.node, c.inShape(0), c.inShape(1));
    return c.one(K.channelAffine(size(c.inShape(0)), inner, channels, 'scale', present(c.node, 2), c.act));
  },
});

// Inputs x, scale, bias, mean, var (ONNX order); folded into the preceding conv, or turned into ScaleFusion.
defineOp({
  name: 'FusedBatchNorm', fields: [['epsilon', 'float', 0.0001], ['momentum', 'float', 0.9], ['mode', 'long', 0]],
  layout: 'channel', infer: floatLikeInput,
  cpu: batchNorm,
});

/** Normalization axes [axis, rank) and the per-row length. */
function layerNormGeometry(n: Node, shape: number[]): { rows: number; len: number; axis: number } {
  const axis = normAxis((n.attrs.begin_norm_axis as number) ?? -1, shape.length);
  return { rows: size(shape.slice(0, axis)), len: size(shape.slice(axis)), axis };
}

/** y = (x - mean) / sqrt(var + epsilon) * gamma + beta over the trailing axes; gamma and beta cover them. */
function layerNorm(n: Node, [x, gamma, beta]: RT[]): RT[] {
  const { rows, len } = layerNormGeometry(n, x.shape);
  const eps = (n.attrs.epsilon as number) ?? 1e-5;
  const xd = x.data as Float32Array, od = new Float32Array(xd.length);
  const gd = gamma?.data, bd = beta?.data;
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < len; i++) mean += xd[r * len + i];
    mean /= len;
    let v = 0;
    for (let i = 0; i < len; i++) v += (xd[r * len + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / len + eps);
    for (let i = 0; i < len; i++) {
      const g = gd ? gd[i % gd.length] : 1, b = bd ? bd[i % bd.length] : 0;
      od[r * len + i] = (xd[r * len + i] - mean) * inv * g + b;
    }
  }
  return [{ shape: x.shape, data: od }];
}

defineOp({
  name: 'LayerNormFusion', layout: 'fixed',
  fields: [['begin_norm_axis', 'long', 0], ['epsilon', 'float', 0.00001], ['elementwise_affine', 'bool', false], ['begin_params_axis', 'long', 0]],
  // The .ms holds non-negative axes.
  complete: (g, n) => {
    const rank = g.tensors[n.inputs[0]].shape.length;
    n.attrs = { ...n.attrs, begin_norm_axis: normAxis(n.attrs.begin_norm_axis as number, rank), begin_params_axis: normAxis(n.attrs.begin_params_axis as number, rank) };
  },
  infer: (_n, [x]) => out(x.shape),
  cpu: layerNorm,
  gpu: (c) => {
    const { rows, len } = layerNormGeometry(c.node, c.inShape(0));
    return c.one(K.layerNorm(rows, len, (c.node.attrs.epsilon as number) ?? 1e-5, c.node.inputs.length > 1 ? size(c.inShape(1)) : 0, c.node.inputs.length > 2));
  },
});

/** Per (sample, channel) normalization over H and W of NHWC data, then gamma and beta per channel. */
function instanceNorm(n: Node, [x, gamma, beta]: RT[]): RT[] {
  const [N, H, W, C] = x.shape, hw = H * W;
  const eps = (n.attrs.epsilon as number) ?? 1e-5;
  const xd = x.data as Float32Array, od = new Float32Array(xd.length);
  for (let b = 0; b < N; b++)
    for (let c = 0; c < C; c++) {
      let mean = 0, v = 0;
      for (let p = 0; p < hw; p++) mean += xd[(b * hw + p) * C + c];
      mean /= hw;
      for (let p = 0; p < hw; p++) v += (xd[(b * hw + p) * C + c] - mean) ** 2;
      const k = gamma.data[c] / Math.sqrt(v / hw + eps);
      for (let p = 0; p < hw; p++) od[(b * hw + p) * C + c] = (xd[(b * hw + p) * C + c] - mean) * k + beta.data[c];
    }
  return [{ shape: x.shape, data: od }];
}

defineOp({ name: 'InstanceNorm', fields: [['epsilon', 'float', 0]], layout: 'nhwc', infer: floatLikeInput, cpu: instanceNorm });

/** x / (bias + alpha * sum of squares over channels c - r .. c + r) ^ beta on NHWC data (the runtime's LRN). */
function lrn(n: Node, [x]: RT[]): RT[] {
  const C = x.shape[x.shape.length - 1];
  const a = n.attrs, r = a.depth_radius as number, bias = a.bias as number, alpha = a.alpha as number, beta = a.beta as number;
  const xd = x.data as Float32Array, od = new Float32Array(xd.length);
  for (let i = 0; i < xd.length; i += C)
    for (let c = 0; c < C; c++) {
      let sq = 0;
      for (let k = Math.max(0, c - r); k <= Math.min(C - 1, c + r); k++) sq += xd[i + k] ** 2;
      od[i + c] = xd[i + c] / Math.pow(bias + alpha * sq, beta);
    }
  return [{ shape: x.shape, data: od }];
}

defineOp({
  name: 'LRN', layout: 'nhwc', infer: floatLikeInput, cpu: lrn,
  fields: [['depth_radius', 'long', 0], ['bias', 'float', 0], ['alpha', 'float', 0], ['beta', 'float', 0], ['norm_region', 'string', null]],
});

/** x / sqrt(max(sum of squares over the (trailing) axes, epsilon)), then the fused activation. */
function l2Normalize(n: Node, [x]: RT[]): RT[] {
  const axes = ((n.attrs.axis as number[]) ?? [-1]).map((a) => normAxis(a, x.shape.length)).sort((a, b) => a - b);
  const len = size(x.shape.slice(axes[0])), eps = (n.attrs.epsilon as number) ?? 0;
  const act = activationFn((n.attrs.activation_type as number) ?? 0) ?? ((v: number) => v);
  const xd = x.data as Float32Array, od = new Float32Array(xd.length);
  for (let r = 0; r < xd.length; r += len) {
    let sq = 0;
    for (let i = 0; i < len; i++) sq += xd[r + i] * xd[r + i];
    const k = 1 / Math.sqrt(Math.max(sq, eps));
    for (let i = 0; i < len; i++) od[r + i] = act(xd[r + i] * k);
  }
  return [{ shape: x.shape, data: od }];
}

defineOp({
  name: 'L2NormalizeFusion', fields: [['axis', '[long]', null], ['epsilon', 'float', 0], ACT], layout: 'fixed', infer: floatLikeInput,
  cpu: l2Normalize,
});
