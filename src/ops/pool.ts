/** Pooling on NHWC: MaxPoolFusion and AvgPoolFusion (the average excludes padding). */
import { defineOp, ACT, out } from './define.js';
import { pool } from '../cpu/pool.js';
import * as K from '../shaders/kernels.js';
import { poolGeometry } from '../ir/op-params.js';
import type { Field } from '../ir/schema/ops.js';

const fields: Field[] = [
  ['kernel_size', '[long]', null], ['strides', '[long]', null], ['pad', '[long]', null], ['pad_mode', 'byte', 0],
  ['round_mode', 'byte', 0], ['format', 'int', 0], ['global', 'bool', false], ACT,
];

for (const name of ['MaxPoolFusion', 'AvgPoolFusion'])
  defineOp({
    name, fields, layout: 'nhwc',
    infer: (n, [x]) => {
      const p = poolGeometry(n, x.shape);
      return out([p.n, p.oh, p.ow, p.c]);
    },
    cpu: pool,
    gpu: (c) => c.one(K.pool(poolGeometry(c.node, c.inShape(0)), name === 'MaxPoolFusion', c.act), [c.node.inputs[0]]),
  });
