/**
 * Convolutions into a Concat (cpu/conv-concat): SqueezeNet's eight fire modules each run as one route whose
 * output is the separate convolutions followed by the Concat, bit for bit, on one and two threads; a Concat
 * whose input is read elsewhere too keeps its nodes.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { convConcatRoutes } from '../src/cpu/conv-concat.js';
import { setThreads } from '../src/cpu/wasm/index.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import { model, readBytes, photo } from './helpers/data.js';

afterAll(() => setThreads(1));

const bits = (a: ArrayLike<number>) => new Uint32Array(Float32Array.from(a).buffer);

describe('convolutions into a Concat', () => {
  const g = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'sq');
  const x = [{ shape: [1, 224, 224, 3], data: photo('cat.bmp', 224, 224, { channels: 'BGR' }) }];

  it('SqueezeNet: one route per fire module; outputs equal the node-by-node run bit for bit on 1 and 2 threads', () => {
    expect(convConcatRoutes(g).map((r) => [...r.replaces.map((i) => g.nodes[i].op), g.nodes[r.at].op].join('+'))).toEqual(Array(8).fill('Conv2DFusion+Conv2DFusion+Concat'));
    const [byNode] = run(g, x, { observe: () => {} }); // an observer sees every value: no routes
    for (const threads of [1, 2]) {
      expect(setThreads(threads)).toBe(threads);
      const [routed] = run(g, x);
      expect(bits(routed.data)).toEqual(bits(byNode.data));
    }
  });

  it('keeps the nodes when a convolution\'s output is read by something else too', () => {
    const w = (o: number, i: number, k: number) => ({ dims: [o, i, k, k], data: Float32Array.from({ length: o * i * k * k }, (_, j) => Math.sin(j)) });
    const onnx = buildOnnx({
      inputs: [{ name: 'x', dims: [1, 4, 6, 6] }], outputs: ['y', 'b'],
      inits: [{ name: 'w1', ...w(3, 4, 1) }, { name: 'w2', ...w(5, 4, 3) }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w1'], outputs: ['a'], attrs: { kernel_shape: [1, 1] } },
        { op: 'Conv', inputs: ['x', 'w2'], outputs: ['b'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Concat', inputs: ['a', 'b'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    });
    const two = loadModel(onnx, 'ONNX', 'two.onnx');
    expect(convConcatRoutes(two)).toEqual([]);
  });
});
