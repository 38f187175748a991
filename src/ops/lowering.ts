/**
 * Placeholders the ONNX importer writes for ops MindSpore Lite has no kernel for, which passes/lower-with-shapes
 * replaces with primitive ops once shapes are known: DFT (two MatMuls with cosine / sine tables) and
 * BatchNormalization in training mode (batch statistics). Never written to a .ms, never run.
 */
import { defineOp } from './define.js';
import { normAxis } from '../ir/tensor.js';

defineOp({
  name: 'LowerWithShapes', layout: 'fixed', fields: [],
  infer: (n, [x]) => {
    if (n.attrs.kind === 'DFT') {
      const axis = normAxis(n.attrs.axis as number, x.shape.length), length = n.attrs.length as number;
      const len = length > 0 ? length : x.shape[axis];
      const bins = n.attrs.onesided ? Math.floor(len / 2) + 1 : len;
      return [{ shape: x.shape.map((d, i) => (i === axis ? (d < 0 ? -1 : bins) : i === x.shape.length - 1 ? 2 : d)), dtype: 'float32' }];
    }
    const c = x.shape[1];
    return [{ shape: [...x.shape], dtype: 'float32' }, { shape: [c], dtype: 'float32' }, { shape: [c], dtype: 'float32' }];
  },
});
