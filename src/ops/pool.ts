/** Pooling on NHWC: MaxPoolFusion and AvgPoolFusion (the average excludes padding). */
import { defineOp, ACT, out, staticInputShape } from './define.js';
import { pool } from '../cpu/pool.js';
import { maxPoolInt8 } from '../cpu/int8.js';
import * as K from '../shaders/kernels.js';
import { poolGeometry } from '../ir/op-params.js';
import { PadMode, Field } from '../ir/schema/ops.js';

const fields: Field[] = [
  ['kernel_size', '[long]', null], ['strides', '[long]', null], ['pad', '[long]', null], ['pad_mode', 'byte', 0],
  ['round_mode', 'byte', 0], ['format', 'int', 0], ['global', 'bool', false], ACT,
];

for (const name of ['MaxPoolFusion', 'AvgPoolFusion'])
  defineOp({
    name, fields, layout: 'nhwc',
    complete: (g, n) => {
      if (!n.attrs.same_lower) return;
      const p = poolGeometry(n, staticInputShape(g, n, 'auto_pad SAME_LOWER'));
      const th = Math.max(0, (p.oh - 1) * p.sh + p.kh - p.ih), tw = Math.max(0, (p.ow - 1) * p.sw + p.kw - p.iw);
      n.attrs = { ...n.attrs, pad_mode: PadMode.PAD, pad: [p.pt, th - p.pt, p.pl, tw - p.pl], same_lower: undefined };
    },
    infer: (n, [x]) => {
      const p = poolGeometry(n, x.shape);
      return out([p.n, p.oh, p.ow, p.c]);
    },
    cpu: pool,
    // Full quantization makes a MaxPool int8 only on request (FullQuantOptions.int8Pooling); a .ms may hold one.
    int8Kernel: name === 'MaxPoolFusion' ? maxPoolInt8 : undefined,
    gpu: (c) => c.one(K.pool(poolGeometry(c.node, c.inShape(0)), name === 'MaxPoolFusion', c.act), [c.node.inputs[0]]),
  });
