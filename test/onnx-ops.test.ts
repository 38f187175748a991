/**
 * Op coverage against onnxruntime: small real ONNX graphs, one per op family, converted (NHWC, fused) and run
 * by the CPU executor from the IR and from the written .ms, then by the GPU executor against the CPU.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { buildOnnx, OnnxNode, OnnxInit } from './helpers/onnx-builder.js';
import { ortRun } from './helpers/ort.js';
import { nhwcToNchw, relMaxDiff } from './helpers/data.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';
import type { RT } from '../src/ir/tensor.js';

const rand = (n: number, seed: number, lo = -1, hi = 1) => {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return lo + ((hi - lo) * s) / 2147483648;
  });
};
const init = (name: string, dims: number[], seed: number, lo = -1, hi = 1): OnnxInit => ({ name, dims, data: rand(dims.reduce((a, b) => a * b, 1), seed, lo, hi) });
const ints64 = (name: string, values: number[]): OnnxInit => ({ name, dims: [values.length], data: values, int64: true });

interface Case {
  name: string;
  input: number[]; // NCHW
  nodes: OnnxNode[];
  inits?: OnnxInit[];
  opset?: number;
  expectOps?: string[];
  lo?: number;
}

const X = [1, 4, 9, 11];
const cases: Case[] = [
  { name: 'Conv grouped, dilated, padded, strided, with bias', input: [1, 4, 11, 13],
    inits: [init('w', [6, 2, 3, 3], 1), init('b', [6], 2)],
    nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { group: 2, dilations: [2, 1], pads: [2, 1, 1, 0], strides: [1, 2] } }],
    expectOps: ['Conv2DFusion', 'Transpose'] },
  { name: 'Conv SAME_UPPER', input: [1, 3, 10, 9], inits: [init('w', [5, 3, 3, 3], 3)],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } }] },
  { name: 'depthwise Conv + Relu6 (Clip 0..6) fused', input: X, inits: [init('w', [4, 1, 3, 3], 4), init('b', [4], 5), { name: 'lo', dims: [], data: [0] }, { name: 'hi', dims: [], data: [6] }],
    nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { group: 4, pads: [1, 1, 1, 1] } }, { op: 'Clip', inputs: ['c', 'lo', 'hi'], outputs: ['y'] }],
    expectOps: ['Conv2DFusion', 'Transpose'] },
  { name: 'ConvTranspose stride 2 with output_padding', input: [1, 4, 5, 6], inits: [init('w', [4, 3, 3, 3], 6), init('b', [3], 7)],
    nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } }] },
  { name: 'Conv + BatchNormalization folded', input: X,
    inits: [init('w', [5, 4, 1, 1], 8), init('s', [5], 9, 0.5, 1.5), init('bb', [5], 10), init('m', [5], 11), init('v', [5], 12, 0.1, 2)],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] }, { op: 'BatchNormalization', inputs: ['c', 's', 'bb', 'm', 'v'], outputs: ['y'], attrs: { epsilon: 0.001 } }],
    expectOps: ['Conv2DFusion', 'Transpose'] },
  { name: 'standalone BatchNormalization -> ScaleFusion', input: X,
    inits: [init('s', [4], 9, 0.5, 1.5), init('bb', [4], 10), init('m', [4], 11), init('v', [4], 12, 0.1, 2)],
    nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'bb', 'm', 'v'], outputs: ['y'] }], expectOps: ['ScaleFusion', 'Transpose'] },
  { name: 'broadcasting Add/Sub/Mul/Div with constants', input: X, inits: [init('c', [4, 1, 1], 13), init('d', [11], 14, 0.5, 2), { name: 'k', dims: [], data: [3] }],
    nodes: [{ op: 'Add', inputs: ['x', 'c'], outputs: ['a'] }, { op: 'Mul', inputs: ['a', 'd'], outputs: ['m'] }, { op: 'Sub', inputs: ['k', 'm'], outputs: ['s'] },
      { op: 'Div', inputs: ['s', 'd'], outputs: ['y'] }] },
  { name: 'activations', input: X, inits: [init('slope', [4, 1, 1], 15, 0, 0.5)], opset: 14,
    nodes: [{ op: 'LeakyRelu', inputs: ['x'], outputs: ['a'], attrs: { alpha: 0.1 } }, { op: 'PRelu', inputs: ['x', 'slope'], outputs: ['b'] },
      { op: 'Sigmoid', inputs: ['a'], outputs: ['c'] }, { op: 'HardSigmoid', inputs: ['b'], outputs: ['d'] }, { op: 'HardSwish', inputs: ['x'], outputs: ['e'] },
      { op: 'Tanh', inputs: ['e'], outputs: ['f'] }, { op: 'Add', inputs: ['c', 'd'], outputs: ['g'] }, { op: 'Add', inputs: ['g', 'f'], outputs: ['y'] }] },
  { name: 'Exp, Sqrt, Pow, Abs, Neg, Clip(-1, 1)', input: X, inits: [{ name: 'two', dims: [], data: [2] }], opset: 10,
    nodes: [{ op: 'Abs', inputs: ['x'], outputs: ['a'] }, { op: 'Sqrt', inputs: ['a'], outputs: ['s'] }, { op: 'Pow', inputs: ['x', 'two'], outputs: ['p'] },
      { op: 'Exp', inputs: ['x'], outputs: ['e'] }, { op: 'Neg', inputs: ['e'], outputs: ['n'] }, { op: 'Add', inputs: ['s', 'p'], outputs: ['t'] },
      { op: 'Add', inputs: ['t', 'n'], outputs: ['u'] }, { op: 'Clip', inputs: ['u'], outputs: ['y'], attrs: { min: -1.5, max: 1.5 } }], lo: -1 },
  // One case per elementwise op added through the op registry (definition + importer line only).
  ...(['Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Erf'] as const).map((op): Case => ({ name: op, input: X, nodes: [{ op, inputs: ['x'], outputs: ['y'] }], lo: -3 })),
  { name: 'Log', input: X, nodes: [{ op: 'Log', inputs: ['x'], outputs: ['y'] }], lo: 0.05 },
  { name: 'Reciprocal', input: X, nodes: [{ op: 'Reciprocal', inputs: ['x'], outputs: ['y'] }], lo: 0.25 },
  { name: 'MaxPool (pads, ceil), AveragePool (with and without pads counted), GlobalAveragePool', input: [1, 3, 10, 9],
    nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['a'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
      { op: 'AveragePool', inputs: ['a'], outputs: ['b'], attrs: { kernel_shape: [2, 2], pads: [1, 1, 0, 0] } },
      { op: 'AveragePool', inputs: ['b'], outputs: ['c'], attrs: { kernel_shape: [2, 2], pads: [0, 1, 1, 0], count_include_pad: 1 } },
      { op: 'GlobalAveragePool', inputs: ['c'], outputs: ['g'] }, { op: 'Mul', inputs: ['c', 'g'], outputs: ['y'] }] },
  { name: 'ReduceMean, Softmax, Concat', input: X, inits: [init('w', [4, 4, 1, 1], 16)],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] }, { op: 'Concat', inputs: ['c', 'x'], outputs: ['k'], attrs: { axis: 1 } },
      { op: 'ReduceMean', inputs: ['k'], outputs: ['r'], attrs: { axes: [2, 3], keepdims: 1 } }, { op: 'Mul', inputs: ['k', 'r'], outputs: ['m'] },
      { op: 'Softmax', inputs: ['m'], outputs: ['y'], attrs: { axis: 1 } }] },
  { name: 'Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Gemm (alpha, beta, transA)', input: [1, 2, 3, 4], opset: 11,
    inits: [init('w', [24, 5], 17), init('b', [5], 18), ints64('shape', [1, 6, 4])],
    nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 2, 3, 1] } }, { op: 'Reshape', inputs: ['t', 'shape'], outputs: ['r'] },
      { op: 'Unsqueeze', inputs: ['r'], outputs: ['u'], attrs: { axes: [0] } }, { op: 'Squeeze', inputs: ['u'], outputs: ['s'], attrs: { axes: [0] } },
      { op: 'Flatten', inputs: ['s'], outputs: ['f'], attrs: { axis: 1 } }, { op: 'Transpose', inputs: ['f'], outputs: ['ft'], attrs: { perm: [1, 0] } },
      { op: 'Gemm', inputs: ['ft', 'w', 'b'], outputs: ['y'], attrs: { alpha: 0.5, beta: 2.5, transA: 1 } }] },
  { name: 'Slice with steps, Split, Gather', input: X, inits: [ints64('st', [1, 0]), ints64('en', [9, 100]), ints64('ax', [2, 3]), ints64('sp', [2, 3]), ints64('idx', [3, 0, 2, 1])],
    nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['s'] }, { op: 'Split', inputs: ['s'], outputs: ['a', 'b'], attrs: { axis: 1 } },
      { op: 'Gather', inputs: ['b', 'idx'], outputs: ['g'], attrs: { axis: 3 } }, { op: 'Mul', inputs: ['a', 'g'], outputs: ['y'] }] },
  { name: 'Pad constant and reflect', input: X, inits: [ints64('p1', [0, 0, 1, 2, 0, 0, 2, 1]), ints64('p2', [0, 1, 0, 1, 0, 0, 1, 0])],
    nodes: [{ op: 'Pad', inputs: ['x', 'p1'], outputs: ['a'], attrs: { mode: 'reflect' } }, { op: 'Pad', inputs: ['a', 'p2'], outputs: ['y'] }] },
  { name: 'Resize nearest by scales, bilinear by sizes (half_pixel), align_corners', input: [1, 3, 5, 6],
    inits: [{ name: 'sc', dims: [4], data: [1, 1, 2, 2] }, { name: 'roi', dims: [0], data: [] }, ints64('sz', [1, 3, 7, 9])],
    nodes: [{ op: 'Resize', inputs: ['x', 'roi', 'sc'], outputs: ['a'], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
      { op: 'Resize', inputs: ['x', 'roi', '', 'sz'], outputs: ['b'], attrs: { mode: 'linear' } },
      { op: 'Resize', inputs: ['x', 'roi', '', 'sz'], outputs: ['c'], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' } },
      { op: 'Add', inputs: ['b', 'c'], outputs: ['y0'] }, { op: 'ReduceMean', inputs: ['a'], outputs: ['y1'], attrs: { axes: [2, 3], keepdims: 1 } },
      { op: 'Add', inputs: ['y0', 'y1'], outputs: ['y'] }] },
];

afterAll(async () => (await testGpu())?.release());

describe('ONNX op coverage vs onnxruntime, and the GPU executor vs the CPU', () => {
  for (const c of cases) {
    it(c.name, async (t) => {
      const onnx = buildOnnx({ inputs: [{ name: 'x', dims: c.input }], outputs: ['y'], nodes: c.nodes, inits: c.inits ?? [], opset: c.opset });
      const [n, ch, h, w] = c.input;
      const nhwc = rand(n * ch * h * w, 99, c.lo ?? -2, 2);
      const ref = (await ortRun(onnx, { x: { data: nhwcToNchw(nhwc, n, h, w, ch), dims: c.input } })).y;
      const g = loadModel(onnx, 'ONNX', c.name);
      if (c.expectOps) expect([...new Set(g.nodes.map((x) => x.op))].sort()).toEqual([...c.expectOps].sort());
      let cpu: RT | undefined;
      for (const graph of [g, readMs(toMs(g))]) {
        [cpu] = run(graph, [{ shape: [n, h, w, ch], data: nhwc }]);
        expect(cpu.data.length).toBe(ref.length);
        expect(relMaxDiff(cpu.data, ref)).toBeLessThan(1e-4);
      }
      const ex = await GpuExecutor.create(await gpuOrSkip(t.skip), g, 1);
      ex.run([nhwc]);
      const [gpu] = await ex.outputs();
      ex.destroy();
      expect(gpu.shape).toEqual(cpu!.shape);
      expect(relMaxDiff(gpu.data, cpu!.data)).toBeLessThan(1e-5);
    });
  }
});
