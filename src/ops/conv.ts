/** Convolutions on NHWC activations with KHWC weights: Conv2DFusion (incl. depthwise) and Conv2dTransposeFusion. */
import { defineOp, ACT, out, present, staticInputShape } from './define.js';
import { conv2d, convTranspose } from '../cpu/conv.js';
import { conv2dInt8 } from '../cpu/int8.js';
import * as K from '../shaders/kernels.js';
import { convGeometry, deconvGeometry, isDepthwise } from '../ir/op-params.js';
import { PadMode, Field } from '../ir/schema/ops.js';

const convFields = (extra: Field[]): Field[] => [
  ['format', 'int', 0], ['kernel_size', '[long]', null], ['stride', '[long]', null], ['dilation', '[long]', null],
  ['pad_mode', 'byte', 0], ...extra, ['mode', 'long', 0], ['group', 'long', 0], ['in_channel', 'long', 0], ['out_channel', 'long', 0], ACT,
];

defineOp({
  name: 'Conv2DFusion', fields: convFields([['pad_list', '[long]', null]]),
  layout: 'nhwc', fusedActivation: true, foldsBias: 'conv', int8: 'compute',
  weights: { slots: () => [1], channelThreshold: true },
  // SAME_LOWER has no pad_mode in the schema: the .ms gets the explicit pads.
  complete: (g, n) => {
    if (!n.attrs.same_lower) return;
    const geo = convGeometry(n, staticInputShape(g, n, 'auto_pad SAME_LOWER'), g.tensors[n.inputs[1]].shape);
    const th = Math.max(0, (geo.oh - 1) * geo.sh + (geo.kh - 1) * geo.dh + 1 - geo.ih), tw = Math.max(0, (geo.ow - 1) * geo.sw + (geo.kw - 1) * geo.dw + 1 - geo.iw);
    n.attrs = { ...n.attrs, pad_mode: PadMode.PAD, pad_list: [geo.padTop, th - geo.padTop, geo.padLeft, tw - geo.padLeft], same_lower: undefined };
  },
  infer: (n, [x, w]) => {
    const g = convGeometry(n, x.shape, w.shape);
    return out([g.n, g.oh, g.ow, g.oc]);
  },
  cpu: conv2d,
  int8Kernel: conv2dInt8,
  gpu: (c) => {
    const geo = convGeometry(c.node, c.inShape(0), c.inShape(1));
    const hasBias = present(c.node, 2);
    return c.one(isDepthwise(geo) ? K.depthwise(geo, hasBias, c.act) : K.convGemm(geo, hasBias, c.act));
  },
});

defineOp({
  name: 'Conv2dTransposeFusion',
  fields: [...convFields([['pad', '[long]', null], ['pad_list', '[long]', null]]), ['output_paddings', '[long]', null]],
  layout: 'nhwc', fusedActivation: true, foldsBias: 'conv',
  weights: {
    slots: () => [1], channelThreshold: true,
    // [Cin, KH, KW, Cout/group]: per channel along Cout, except depthwise ([C, KH, KW, 1]) along dim 0.
    preferredDim: (_g, n, _slot, rank) => {
      const a = n.attrs;
      return a.in_channel === a.out_channel && a.group === a.in_channel && (a.group as number) > 1 ? 0 : rank - 1;
    },
  },
  // SAME_LOWER and ONNX's output_shape have no schema fields: the .ms gets the explicit pads and output padding.
  complete: (g, n) => {
    if (!n.attrs.same_lower && !n.attrs.output_hw) return;
    const geo = deconvGeometry(n, staticInputShape(g, n, 'SAME_LOWER or output_shape'), g.tensors[n.inputs[1]].shape);
    n.attrs = { ...n.attrs, pad_mode: PadMode.PAD, pad: geo.pads, pad_list: geo.pads, output_paddings: geo.outputPadding, same_lower: undefined, output_hw: undefined };
  },
  infer: (n, [x, w]) => {
    const g = deconvGeometry(n, x.shape, w.shape);
    return out([g.n, g.oh, g.ow, g.oc]);
  },
  cpu: convTranspose,
  gpu: (c) => c.one(K.deconv(deconvGeometry(c.node, c.inShape(0), c.inShape(1)), present(c.node, 2), c.act)),
});
