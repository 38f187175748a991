/**
 * The WebGPU GEMM kernel's variants (and depthwise's and softmax's two forms each) against the CPU executor, op by op, on shapes
 * that hit their edges: 8x8 and
 * 4-wide blocking (M or N at most 32), dims that divide the 64 / 32 tiles and dims that do not, M = 1, K = 1,
 * K not a multiple of the 16-deep tile, large K, the contiguous-run convolution path (a group's channels a
 * multiple of 16) and the per-element one, groups, strides, padding and dilation; with today's kernel and the
 * previous one (`WEBPTQ_GEMM=v1`, kept for the side-by-side benchmark).
 */
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { buildOnnx, OnnxNode, OnnxInit } from './helpers/onnx-builder.js';
import { relMaxDiff } from './helpers/data.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';

afterAll(async () => (await testGpu())?.release());
afterEach(() => delete process.env.WEBPTQ_GEMM);

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
        if (kernel === 'v1') process.env.WEBPTQ_GEMM = 'v1';
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
