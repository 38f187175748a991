/** Reductions: ReduceFusion (every mode) and Softmax. */
import { defineOp, out, floatLikeInput } from './define.js';
import { reduce, softmax, logSoftmax } from '../cpu/reduce.js';
import * as K from '../shaders/kernels.js';
import { reduceAxes, reduceShape, softmaxAxis } from '../ir/op-params.js';
import { size, normAxis } from '../ir/tensor.js';

defineOp({
  name: 'ReduceFusion', fields: [['keep_dims', 'bool', false], ['mode', 'byte', 0], ['reduce_to_end', 'bool', false], ['coeff', 'float', 0]],
  layout: 'fixed',
  // No axes input means every axis; the .ms spells them out, as MindSpore's converter does.
  complete: (g, n) => {
    if (n.inputs.length > 1) return;
    const rank = g.tensors[n.inputs[0]].shape.length;
    n.inputs.push(g.addConst(`${n.name}_axes`, Int32Array.from({ length: rank }, (_, i) => i), [rank]));
  },
  infer: (n, [x, axes]) => out(reduceShape(n, x.shape, reduceAxes(n, x.shape.length, axes))),
  cpu: reduce,
  gpu: (c) => {
    const s = c.inShape(0);
    const axes = reduceAxes(c.node, s.length, c.constOf(1, 'axes'));
    return c.one(K.reduce(s, axes, c.node.attrs.mode as number, c.node.attrs.coeff as number), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'Softmax', fields: [['axis', '[long]', null]], layout: 'fixed', infer: floatLikeInput,
  cpu: softmax,
  gpu: (c) => {
    const s = c.inShape(0);
    const axis = softmaxAxis(c.node, s.length);
    return c.one(K.softmax(size(s.slice(0, axis)), s[axis], size(s.slice(axis + 1))), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'LogSoftmax', fields: [['axis', 'long', 0]], layout: 'fixed', infer: floatLikeInput,
  cpu: logSoftmax,
  gpu: (c) => {
    const s = c.inShape(0);
    const axis = normAxis((c.node.attrs.axis as number) ?? -1, s.length);
    return c.one(K.softmax(size(s.slice(0, axis)), s[axis], size(s.slice(axis + 1)), true), [c.node.inputs[0]]);
  },
});
