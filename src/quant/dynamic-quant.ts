/**
 * Dynamic quantization (`quant_type=DYNAMIC_QUANT`, MindSpore's DynamicQuantizer): every MatMulFusion with a
 * constant 2-D weight gets symmetric per-channel int8 weights ([-127, 127], zero point 0, along the output dim)
 * and a DynamicQuant node in front of its activation input, which the runtime quantizes per tensor from the live
 * values; both nodes are marked QUANT_DYNAMIC and the MatMul's output stays float32. No calibration data.
 */
import { Graph, Node, QuantParam } from '../ir/graph.js';
import { QuantType, TypeId } from '../ir/schema/ops.js';
import { encodeMinMax, quantize } from './params.js';
import { preferredDim, channelOf } from './preferred-dim.js';

export interface DynamicQuantRow {
  node: string;
  quantized: boolean;
  reason?: string;
}

export function dynamicQuantize(g: Graph, o: { skipQuantNode?: string[] } = {}): DynamicQuantRow[] {
  const rows: DynamicQuantRow[] = [];
  const skip = new Set(o.skipQuantNode ?? []);
  const consumers = g.consumers();
  for (const node of [...g.nodes]) {
    if (node.op !== 'MatMulFusion') continue;
    const w = g.tensors[node.inputs[1]], x = g.tensors[node.inputs[0]];
    const reason = skip.has(node.name) ? 'node listed in skip_quant_node'
      : g.isConst(node.inputs[0]) || x.dtype !== 'float32' ? 'its first input is not a float32 activation'
      : !(w?.data instanceof Float32Array) || w.shape.length !== 2 ? 'its weight is not a constant 2-D float32 tensor'
      : node.attrs.transpose_a ? 'transpose_a is not supported by the dynamic int8 kernel'
      : (consumers.get(node.inputs[1]) ?? []).length > 1 ? 'its weight is shared with other nodes' : undefined;
    rows.push({ node: node.name, quantized: !reason, reason });
    if (reason) continue;
    quantizeWeightSymmetric(g, node);
    const int8Input = g.addTensor({ name: `${node.name}_dynamic_cast_node_1`, dtype: 'int8', shape: [...x.shape], format: x.format });
    g.nodes.splice(g.nodes.indexOf(node), 0, {
      name: `${node.name}_dynamic_cast_node_1`, op: 'DynamicQuant', quantType: QuantType.QUANT_DYNAMIC, inputs: [node.inputs[0]], outputs: [int8Input],
      attrs: { symmetric: false, dst_type: TypeId.int8, activation_channel: false, prefer_axis: 0, transpose: false },
    });
    node.inputs[0] = int8Input;
    node.quantType = QuantType.QUANT_DYNAMIC;
  }
  return rows;
}

/** Per output channel: scale = max|w| / 127, zero point 0, values in [-127, 127]. */
function quantizeWeightSymmetric(g: Graph, node: Node): void {
  const w = g.tensors[node.inputs[1]], data = w.data as Float32Array;
  const dim = preferredDim(g, node, 1), chan = channelOf(w.shape, dim);
  const absMax = new Float64Array(w.shape[dim]);
  for (let j = 0; j < data.length; j++) absMax[chan(j)] = Math.max(absMax[chan(j)], Math.abs(data[j]));
  const params: QuantParam[] = Array.from(absMax, (a) => {
    const e = encodeMinMax(-a, a, -127, 127, true);
    return { scale: e.scale, zeroPoint: 0, min: 0, max: 0, narrowRange: true, numBits: 8, inited: true, varCorr: 1, meanCorr: 0, dstDtype: TypeId.int8, roundType: 1, multiplier: 1 };
  });
  const q = Int8Array.from(data, (v, j) => quantize(v, params[chan(j)].scale, 0, -127, 127));
  g.tensors[node.inputs[1]] = { ...w, dtype: 'int8', data: q, quant: params, compress: 0 };
}
