/** Matrix products: FullConnection (weight [out, in]) and MatMulFusion (batched, broadcast, transposes). */
import { defineOp, ACT, out, present } from './define.js';
import { fullConnection, matMul } from '../cpu/matmul.js';
import { matMulInt8 } from '../cpu/int8.js';
import * as K from '../shaders/kernels.js';
import { fullConnectionShape, matMulShape } from '../ir/op-params.js';
import { size } from '../ir/tensor.js';

defineOp({
  name: 'FullConnection', fields: [['has_bias', 'bool', false], ['use_axis', 'bool', false], ['axis', 'long', 0], ACT],
  layout: 'fixed', fusedActivation: true, foldsBias: 'matmul', int8: 'compute',
  weights: { slots: (n) => n.inputs.map((_, i) => i).filter((i) => i > 0) },
  infer: (n, [x, w]) => out(fullConnectionShape(n, x.shape, w.shape).outShape),
  cpu: fullConnection,
  int8Kernel: matMulInt8,
  gpu: (c) => {
    const s = fullConnectionShape(c.node, c.inShape(0), c.inShape(1));
    return c.one(K.fullConnection(s.rows, s.inC, s.outC, present(c.node, 2), c.act));
  },
});

defineOp({
  name: 'MatMulFusion', fields: [['transpose_a', 'bool', false], ['transpose_b', 'bool', false], ACT],
  layout: 'fixed', fusedActivation: true, foldsBias: 'matmul', int8: 'compute',
  weights: {
    slots: (n) => n.inputs.map((_, i) => i),
    // Along the output dim of B and the row dim of A (GetMatMulPreferredDim).
    preferredDim: (_g, n, slot, rank) => {
      const a = n.attrs;
      if (slot === 0) return a.transpose_a ? rank - 1 : rank - 2;
      return a.transpose_b ? rank - 2 : rank - 1;
    },
  },
  infer: (n, [a, b]) => out(matMulShape(n, a.shape, b.shape).outShape),
  cpu: matMul,
  int8Kernel: matMulInt8,
  gpu: (c) => {
    const s = matMulShape(c.node, c.inShape(0), c.inShape(1));
    const bias = present(c.node, 2) ? size(c.inShape(2)) : 0;
    return c.one(K.matMul(s, bias > 0, bias, c.act));
  },
});
