/**
 * The WebGPU kernels' variants against the CPU executor, op by op, on shapes that hit their edges — GEMM, depthwise,
 * softmax, pooling, elementwise (unary, same-shape binary, per-channel affine: four elements per thread or one) and
 * reductions (a workgroup per output or a thread per output). GEMM: 8x8 and
 * 4-wide blocking (M or N at most 32), dims that divide the 64 / 32 tiles and dims that do not, M = 1, K = 1,
 * K not a multiple of the 16-deep tile, large K, the contiguous-run convolution path (a group's channels a
 * multiple of 16) and the per-element one, groups, strides, padding and dilation; with today's kernel and the
 * previous ones (`WEBPTQ_KERNELS=v1`, kept for the side-by-side benchmark).
 */
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { buildOnnx, OnnxNode, OnnxInit } from './helpers/onnx-builder.js';
import { relMaxDiff } from './helpers/data.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';

afterAll(async () => (await testGpu())?.release());
afterEach(() => delete process.env.WEBPTQ_KERNELS);

const rand = (n: number, seed: number) => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
};
const init = (name: string, dims: number[], seed: number): OnnxInit => ({ name, dims, data: rand(dims.reduce((a, b) => a * b, 1), seed) });

interface Case { name: string; input: number[]; inits: OnnxInit[]; nodes: OnnxNode[] }
const conv = (name: string, input: number[], w: number[], attrs: Record<string, number[] | number> = {}): Case => ({
  name, input, inits: [init('w', w, 1), init('b', [w[0]], 2)], nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs }],
});
const gemm = (name: string, m: number, k: number, n: number): Case => ({
  name, input: [m, k], inits: [init('w', [n, k], 3), init('b', [n], 4)], nodes: [{ op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { transB: 1 } }],
});
const CASES: Case[] = [
  conv('conv 1x1, 32 channels (contiguous runs), M = 63 and N = 40: 8x8 blocking, neither tile divides', [1, 32, 7, 9], [40, 32, 1, 1]),
  conv('conv 3x3 stride 2 pad 1 over 3 channels (K = 27: per element, a K tail), N = 16: 4-wide', [2, 3, 17, 15], [16, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('conv 3x3 dilated 2, 16 channels (contiguous runs with padding), M = 4096 and N = 64: both tiles divide', [1, 16, 64, 64], [64, 16, 3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }),
  conv('grouped conv, 2 groups of 16 channels -> 2 x 4', [1, 32, 6, 6], [8, 16, 3, 3], { group: 2, pads: [1, 1, 1, 1] }),
  conv('grouped conv, 3 groups of 5 channels (per element)', [1, 15, 5, 6], [9, 5, 2, 2], { group: 3 }),
  gemm('FullConnection M = 1, K = 1, N = 5', 1, 1, 5),
  gemm('FullConnection M = 1, K = 300 (large, a K tail), N = 70', 1, 300, 70),
  gemm('FullConnection M = 33, K = 64, N = 33: 8x8 blocking, one past each tile', 33, 64, 33),
  conv('depthwise 3x3 stride 2 over 12 channels (four per thread), with bias', [2, 12, 9, 11], [12, 1, 3, 3], { group: 12, strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('depthwise 5x5 dilated over 6 channels (one per thread)', [1, 6, 13, 12], [6, 1, 5, 5], { group: 6, dilations: [2, 2], pads: [3, 3, 3, 3] }),
  { name: 'Softmax over 1000 classes (a workgroup per row), 3 rows', input: [3, 1000], inits: [], nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: -1 } }] },
  { name: 'LogSoftmax over 70 (a workgroup per row, a partial last stride)', input: [2, 70], inits: [], nodes: [{ op: 'LogSoftmax', inputs: ['x'], outputs: ['y'], attrs: { axis: -1 } }] },
  { name: 'Softmax over 5 of [2, 5, 3] (a thread per row)', input: [2, 5, 3], inits: [], nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }] },
  { name: 'MaxPool 3x3 stride 2 pad 1 over 12 channels (four per thread)', input: [2, 12, 11, 9], inits: [], nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } }] },
  { name: 'AveragePool 2x2 over 6 channels (one per thread), ceil mode', input: [1, 6, 9, 7], inits: [], nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } }] },
  { name: 'AveragePool 3x3 pad 1 over 8 channels (four per thread, padding excluded)', input: [1, 8, 6, 6], inits: [], nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }] },
  { name: 'Concat of 8 and 12 channels (vec4 copies)', input: [1, 8, 3, 5], inits: [init('c', [1, 12, 3, 5], 16)], nodes: [{ op: 'Concat', inputs: ['x', 'c'], outputs: ['y'], attrs: { axis: 1 } }] },
  { name: 'Concat of 8 and 6 channels (scalar copies)', input: [1, 8, 3, 5], inits: [init('c', [1, 6, 3, 5], 17)], nodes: [{ op: 'Concat', inputs: ['x', 'c'], outputs: ['y'], attrs: { axis: 1 } }] },
  { name: 'Sigmoid over 120 values (four per thread)', input: [2, 3, 4, 5], inits: [], nodes: [{ op: 'Sigmoid', inputs: ['x'], outputs: ['y'] }] },
  { name: 'Tanh over 105 values (one per thread)', input: [3, 5, 7], inits: [], nodes: [{ op: 'Tanh', inputs: ['x'], outputs: ['y'] }] },
  { name: 'Add of two same-shape tensors, then Relu (four per thread)', input: [2, 3, 4, 6], inits: [init('a', [2, 3, 4, 6], 9)], nodes: [{ op: 'Add', inputs: ['x', 'a'], outputs: ['s'] }, { op: 'Relu', inputs: ['s'], outputs: ['y'] }] },
  { name: 'Mul broadcast over the last axis (one per thread)', input: [2, 3, 4, 6], inits: [init('a', [6], 10)], nodes: [{ op: 'Mul', inputs: ['x', 'a'], outputs: ['y'] }] },
  {
    name: 'standalone BatchNormalization over 8 channels (ScaleFusion, four channels per thread)', input: [1, 8, 5, 5],
    inits: [init('s', [8], 11), init('bb', [8], 12), init('m', [8], 13), { name: 'v', dims: [8], data: rand(8, 14).map((v) => 1.5 + v) }],
    nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'bb', 'm', 'v'], outputs: ['y'] }],
  },
  { name: 'PRelu with a slope per channel over 8 channels (four per thread)', input: [1, 8, 3, 5], inits: [init('slope', [8, 1, 1], 15)], nodes: [{ op: 'PRelu', inputs: ['x', 'slope'], outputs: ['y'] }] },
  { name: 'ReduceMean over 500 contiguous values (a workgroup per output)', input: [3, 500], inits: [], nodes: [{ op: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: [1], keepdims: 1 } }] },
  { name: 'ReduceL2 over a strided axis of 300 (a workgroup per output)', input: [4, 300, 3], inits: [], nodes: [{ op: 'ReduceL2', inputs: ['x'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 } }] },
  { name: 'ReduceMax over two separated axes, 350 values (a workgroup per output)', input: [70, 3, 5], inits: [], nodes: [{ op: 'ReduceMax', inputs: ['x'], outputs: ['y'], attrs: { axes: [0, 2], keepdims: 1 } }] },
  { name: 'ReduceSumSquare over 63 values (a thread per output)', input: [2, 7, 9, 5], inits: [], nodes: [{ op: 'ReduceSumSquare', inputs: ['x'], outputs: ['y'], attrs: { axes: [1, 2], keepdims: 1 } }] },
  {
    name: 'batched MatMul with broadcast and transposed B', input: [3, 5, 7],
    inits: [init('w', [1, 9, 7], 5)], nodes: [{ op: 'Transpose', inputs: ['w'], outputs: ['wt'], attrs: { perm: [0, 2, 1] } }, { op: 'MatMul', inputs: ['x', 'wt'], outputs: ['y'] }],
  },
];

describe('GPU GEMM variants equal the CPU executor', () => {
  for (const kernel of ['current', 'v1'])
    for (const c of CASES)
      it(`${kernel}: ${c.name}`, async (t) => {
        const ctx = await gpuOrSkip(t.skip);
        if (kernel === 'v1') process.env.WEBPTQ_KERNELS = 'v1';
        const g = loadModel(buildOnnx({ inputs: [{ name: 'x', dims: c.input }], outputs: ['y'], nodes: c.nodes, inits: c.inits }), 'ONNX', c.name);
        const shape = g.tensors[g.inputs[0]].shape;
        const x = rand(shape.reduce((a, b) => a * b, 1), 7);
        const [cpu] = run(g, [{ shape, data: x }]);
        const ex = await GpuExecutor.create(ctx, g, 1);
        await ex.run([x]);
        const [gpu] = await ex.outputs();
        ex.destroy();
        expect(gpu.shape).toEqual(cpu.shape);
        expect(relMaxDiff(gpu.data, cpu.data)).toBeLessThan(1e-5);
      });
});
