/** Activations: the Activation op with MindSpore's activation table, LeakyRelu, Clip, PReLU. */
import { defineOp, ACT, floatLikeInput } from './define.js';
import { mapUnaryWith, prelu } from '../cpu/elementwise.js';
import { applyActivation } from '../cpu/activation.js';
import * as K from '../shaders/kernels.js';
import { ActivationType as A } from '../ir/schema/ops.js';
import { size } from '../ir/tensor.js';
import { outputFloats } from '../cpu/recycle.js';

defineOp({
  name: 'Activation', fields: [ACT, ['alpha', 'float', 0], ['min_val', 'float', 0], ['max_val', 'float', 0], ['approximate', 'bool', false]],
  layout: 'unary', infer: floatLikeInput,
  cpu: (n, [x]) => {
    const a = n.attrs, out = outputFloats(x.data.length);
    out.set(x.data);
    applyActivation(out, a.activation_type as number, a.alpha as number, a.min_val as number, a.max_val as number, !!a.approximate);
    return [{ shape: x.shape, data: out }];
  },
  gpu: (c) => {
    const a = c.node.attrs;
    return c.one(K.unary(size(c.outShape), 'act(x)', a.activation_type as number, a.alpha as number, a.min_val as number, a.max_val as number, '', !!a.approximate), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'LeakyRelu', fields: [['negative_slope', 'float', 0]], layout: 'unary', infer: floatLikeInput,
  cpu: mapUnaryWith((n) => {
    const s = n.attrs.negative_slope as number;
    return (v) => (v > 0 ? v : v * s);
  }),
  gpu: (c) => c.one(K.unary(size(c.outShape), 'act(x)', A.LEAKY_RELU, c.node.attrs.negative_slope as number), [c.node.inputs[0]]),
});

defineOp({
  name: 'Clip', fields: [['max', 'float', 0], ['min', 'float', 0]], layout: 'unary', infer: floatLikeInput,
  cpu: mapUnaryWith((n) => {
    const lo = n.attrs.min as number, hi = n.attrs.max as number;
    return (v) => (v < lo ? lo : v > hi ? hi : v);
  }),
  gpu: (c) => c.one(K.unary(size(c.outShape), 'act(x)', A.HARD_TANH, 0, c.node.attrs.min as number, c.node.attrs.max as number), [c.node.inputs[0]]),
});

// Slope per channel along the last (NHWC) axis, or one shared slope.
defineOp({
  name: 'PReLUFusion', fields: [['channel_shared', 'bool', false]], layout: 'channel', infer: floatLikeInput,
  cpu: prelu,
  gpu: (c) => c.one(K.channelAffine(size(c.inShape(0)), 1, size(c.inShape(1)), 'prelu', false, 0)),
});
