/** QuantDTypeCast: float32 <-> int8 at the borders of the full-quantized region; uint8 <-> int8 / float32 at uint8 graph I/O. */
import { defineOp, out } from './define.js';
import { TypeId } from '../ir/schema/ops.js';

// The int8 executor runs it (cpu/int8.ts quantDTypeCast) with the quant params of the graph.
import { quantDTypeCast, dynamicQuant } from '../cpu/int8.js';

defineOp({
  name: 'QuantDTypeCast', fields: [['src_t', 'long', 0], ['dst_t', 'long', 0], ['axis', 'long', 0]], layout: 'unary',
  infer: (n, [x]) => out(x.shape, n.attrs.dst_t === TypeId.int8 ? 'int8' : n.attrs.dst_t === TypeId.uint8 ? 'uint8' : 'float32'),
  int8Kernel: quantDTypeCast,
});

/** DynamicQuant (DYNAMIC_QUANT): float32 -> int8 with parameters from the live tensor's range, before a MatMul. */
defineOp({
  name: 'DynamicQuant',
  fields: [['symmetric', 'bool', false], ['dst_type', 'long', 32], ['activation_channel', 'bool', false], ['prefer_axis', 'long', 0],
    ['transpose', 'bool', false], ['prefer_axes', '[int]', null]],
  layout: 'unary',
  infer: (_n, [x]) => out(x.shape, 'int8'),
  int8Kernel: (node, inputs) => dynamicQuant(node, inputs),
});
