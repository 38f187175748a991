/** Per-channel affine ops: ScaleFusion (what an unfoldable BatchNorm becomes) and FusedBatchNorm. */
import { defineOp, ACT, floatLikeInput, present } from './define.js';
import { scale, batchNorm } from '../cpu/elementwise.js';
import * as K from '../shaders/kernels.js';
import { scaleParams } from '../ir/op-params.js';
import { size } from '../ir/tensor.js';

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
