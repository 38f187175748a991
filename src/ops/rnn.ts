/** Recurrent layers: LSTM and GRU with ONNX's inputs, as MindSpore's ONNX parser keeps them. */
import { defineOp } from './define.js';
import { lstm, gru, inputAt } from '../cpu/rnn.js';
import type { Graph, Node } from '../ir/graph.js';

// The hidden size is R's last dim ([dir, gates * H, H]): the GRU table has no field for it.

/**
 * A .ms has no empty input slots: omitted optional inputs before the last given one become their defaults
 * (zero biases, full sequence lengths, zero initial states); trailing omitted ones are dropped.
 */
function fillOmitted(g: Graph, n: Node, gates: number): void {
  while (n.inputs.length && n.inputs[n.inputs.length - 1] < 0) n.inputs.pop();
  const [seq, batch] = g.tensors[n.inputs[0]].shape, dirs = g.tensors[n.inputs[1]].shape[0], H = g.tensors[n.inputs[2]].shape[2];
  const defaults: [string, () => Float32Array | Int32Array, number[]][] = [
    ['bias', () => new Float32Array(dirs * 2 * gates * H), [dirs, 2 * gates * H]],
    ['sequence_lens', () => new Int32Array(batch).fill(seq), [batch]],
    ['initial_h', () => new Float32Array(dirs * batch * H), [dirs, batch, H]],
    ['initial_c', () => new Float32Array(dirs * batch * H), [dirs, batch, H]],
  ];
  n.inputs.forEach((id, k) => {
    if (id >= 0 || k < 3) return;
    const [name, make, shape] = defaults[k - 3];
    n.inputs[k] = g.addConst(`${n.name}_${name}`, make(), shape);
  });
}

defineOp({
  name: 'LSTM', layout: 'fixed',
  fields: [['bidirectional', 'bool', false], ['has_bias', 'bool', false], ['input_size', 'long', 0], ['hidden_size', 'long', 0],
    ['num_layers', 'long', 0], ['num_directions', 'long', 0], ['dropout', 'float', 0], ['zoneout_cell', 'float', 0],
    ['zoneout_hidden', 'float', 0], ['proj_size', 'long', 0]],
  complete: (g, n) => fillOmitted(g, n, 4),
  infer: (n, ins) => {
    const [seq, batch] = ins[0].shape, dirs = inputAt(n, ins, 1)!.shape[0], H = inputAt(n, ins, 2)!.shape[2];
    return [{ shape: [seq, dirs, batch, H], dtype: 'float32' }, { shape: [dirs, batch, H], dtype: 'float32' }, { shape: [dirs, batch, H], dtype: 'float32' }];
  },
  cpu: lstm,
});

// ONNX's linear_before_reset = 0 only (the runtime's kernel); the importer refuses PyTorch's 1.
defineOp({
  name: 'GRU', layout: 'fixed', fields: [['bidirectional', 'bool', false]],
  complete: (g, n) => fillOmitted(g, n, 3),
  infer: (n, ins) => {
    const [seq, batch] = ins[0].shape, dirs = inputAt(n, ins, 1)!.shape[0], H = inputAt(n, ins, 2)!.shape[2];
    return [{ shape: [seq, dirs, batch, H], dtype: 'float32' }, { shape: [dirs, batch, H], dtype: 'float32' }];
  },
  cpu: gru,
});

/**
 * An ONNX LSTM / GRU the fused kernels cannot compute, with ONNX's inputs: the importer's placeholder, which
 * passes/unroll-rnn replaces with primitive ops once shapes are known. Never written to a .ms, never run.
 */
defineOp({
  name: 'RnnToUnroll', layout: 'fixed', fields: [],
  infer: (n, ins) => {
    const [seq, batch] = ins[0].shape, dirs = inputAt(n, ins, 1)!.shape[0], H = n.attrs.hidden as number;
    const state = { shape: [dirs, batch, H], dtype: 'float32' as const };
    return [{ shape: [seq, dirs, batch, H], dtype: 'float32' }, state, ...(n.attrs.kind === 'LSTM' ? [{ ...state }] : [])];
  },
});
