/** Resize on NHWC, sampling where MindSpore Lite's runtime samples (ir/resize-coords). */
import { defineOp, out } from './define.js';
import { resize } from '../cpu/resize.js';
import * as K from '../shaders/kernels.js';
import { resizeOutputSize } from '../ir/op-params.js';

defineOp({
  name: 'Resize', layout: 'nhwc',
  fields: [
    ['format', 'int', 0], ['method', 'byte', 0], ['new_height', 'long', 0], ['new_width', 'long', 0],
    ['preserve_aspect_ratio', 'bool', false], ['coordinate_transform_mode', 'byte', 0], ['cubic_coeff', 'float', 0],
    ['exclude_outside', 'long', 0], ['extrapolation_value', 'float', 0], ['nearest_mode', 'byte', 0],
  ],
  infer: (n, [x, sizeT]) => {
    // A size computed from another tensor's run-time shape (FPN upsampling to a lateral): known when running.
    if (sizeT && !sizeT.data) return out([x.shape[0], -1, -1, x.shape[3]]);
    const [oh, ow] = resizeOutputSize(n, x.shape, sizeT);
    return out([x.shape[0], oh, ow, x.shape[3]]);
  },
  cpu: resize,
  gpu: (c) => {
    const [n, ih, iw, ch] = c.inShape(0);
    const [, oh, ow] = c.outShape;
    const a = c.node.attrs;
    return c.one(K.resize(n, ih, iw, ch, oh, ow, a.method as number, (a.coordinate_transform_mode as number) ?? 0, (a.cubic_coeff as number) ?? -0.75), [c.node.inputs[0]]);
  },
});
