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
  { name: 'Concat with a constant input along channels (the constant follows the layout change)', input: X, inits: [init('w', [3, 4, 1, 1], 40), init('k', [1, 5, 9, 11], 41)],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] }, { op: 'Concat', inputs: ['c', 'k'], outputs: ['y'], attrs: { axis: 1 } }] },
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
  // Written-out patterns MindSpore's converter fuses (OnnxLayerNormFusion, HardSwishFusion).
  { name: 'LayerNorm written out (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) -> LayerNormFusion', input: [1, 6, 20, 1], opset: 13,
    inits: [ints64('s3', [1, 6, 20]), { name: 'two', dims: [], data: [2] }, { name: 'eps', dims: [], data: [1e-5] }, init('g', [20], 60, 0.5, 1.5), init('b', [20], 61)],
    nodes: [{ op: 'Reshape', inputs: ['x', 's3'], outputs: ['r'] }, { op: 'ReduceMean', inputs: ['r'], outputs: ['m'], attrs: { axes: [-1] } },
      { op: 'Sub', inputs: ['r', 'm'], outputs: ['d'] }, { op: 'Pow', inputs: ['d', 'two'], outputs: ['p'] },
      { op: 'ReduceMean', inputs: ['p'], outputs: ['v'], attrs: { axes: [-1] } }, { op: 'Add', inputs: ['v', 'eps'], outputs: ['ve'] },
      { op: 'Sqrt', inputs: ['ve'], outputs: ['sd'] }, { op: 'Div', inputs: ['d', 'sd'], outputs: ['n'] },
      { op: 'Mul', inputs: ['n', 'g'], outputs: ['ng'] }, { op: 'Add', inputs: ['ng', 'b'], outputs: ['y'] }],
    expectOps: ['LayerNormFusion', 'Reshape', 'Transpose'] },
  { name: 'HardSwish written out (x * Relu6(x + 3) / 6) -> Activation HSWISH', input: X, lo: -5, opset: 11,
    inits: [{ name: 'three', dims: [], data: [3] }, { name: 'six', dims: [], data: [6] }, { name: 'zero', dims: [], data: [0] }],
    nodes: [{ op: 'Add', inputs: ['x', 'three'], outputs: ['a'] }, { op: 'Clip', inputs: ['a', 'zero', 'six'], outputs: ['c'] },
      { op: 'Mul', inputs: ['x', 'c'], outputs: ['m'] }, { op: 'Div', inputs: ['m', 'six'], outputs: ['y'] }],
    expectOps: ['Activation', 'Transpose'] },
  { name: 'Einsum as MatMul with transposes (attention scores) and as a transpose; If with a constant condition inlined; NonZero of a constant', input: X, opset: 13,
    inits: [init('k', [1, 4, 5, 11], 62), { name: 'yes', dims: [], data: [1], bool: true }, { name: 'mask', dims: [6], data: [0, 2, 0, 0, 1, 3] }],
    nodes: [{ op: 'Einsum', inputs: ['x', 'k'], outputs: ['s'], attrs: { equation: 'nchw,nckw->nchk' } },
      { op: 'Einsum', inputs: ['s'], outputs: ['t'], attrs: { equation: 'nchk->nkch' } },
      { op: 'If', inputs: ['yes'], outputs: ['r'], attrs: {
        then_branch: { graph: { nodes: [{ op: 'Relu', inputs: ['t'], outputs: ['tr'] }], outputs: ['tr'] } },
        else_branch: { graph: { nodes: [{ op: 'Neg', inputs: ['t'], outputs: ['tn'] }], outputs: ['tn'] } } } },
      { op: 'NonZero', inputs: ['mask'], outputs: ['nz'] }, { op: 'Squeeze', inputs: ['nz'], outputs: ['idx'], attrs: {} },
      { op: 'Gather', inputs: ['r', 'idx'], outputs: ['y'], attrs: { axis: 3 } }] },
  { name: 'Gelu (exact and tanh approximation)', input: X, opset: 20, lo: -4,
    nodes: [{ op: 'Gelu', inputs: ['x'], outputs: ['a'] }, { op: 'Gelu', inputs: ['x'], outputs: ['b'], attrs: { approximate: 'tanh' } },
      { op: 'Sub', inputs: ['a', 'b'], outputs: ['d'] }, { op: 'Mul', inputs: ['d', 'x'], outputs: ['e'] }, { op: 'Add', inputs: ['e', 'a'], outputs: ['y'] }] },
  // Ops added for #10 (ONNX coverage): each family once, against onnxruntime.
  { name: 'InstanceNormalization, LRN, MeanVarianceNormalization', input: X, inits: [init('s', [4], 30, 0.5, 1.5), init('b', [4], 31)],
    nodes: [{ op: 'InstanceNormalization', inputs: ['x', 's', 'b'], outputs: ['i'], attrs: { epsilon: 0.001 } },
      { op: 'LRN', inputs: ['i'], outputs: ['l'], attrs: { size: 3, alpha: 0.02, beta: 0.75, bias: 1.5 } },
      { op: 'MeanVarianceNormalization', inputs: ['l'], outputs: ['y'] }] },
  { name: 'DepthToSpace (DCR, CRD), SpaceToDepth', input: [1, 8, 4, 6],
    nodes: [{ op: 'DepthToSpace', inputs: ['x'], outputs: ['a'], attrs: { blocksize: 2 } },
      { op: 'DepthToSpace', inputs: ['x'], outputs: ['b'], attrs: { blocksize: 2, mode: 'CRD' } },
      { op: 'Add', inputs: ['a', 'b'], outputs: ['c'] }, { op: 'SpaceToDepth', inputs: ['c'], outputs: ['y'], attrs: { blocksize: 2 } }] },
  { name: 'Tile, Expand, Mod (fmod)', input: X, inits: [ints64('rep', [1, 1, 2, 1]), ints64('to', [2, 4, 18, 11]), { name: 'k', dims: [], data: [0.7] }],
    nodes: [{ op: 'Tile', inputs: ['x', 'rep'], outputs: ['t'] }, { op: 'Expand', inputs: ['t', 'to'], outputs: ['e'] },
      { op: 'Mod', inputs: ['e', 'k'], outputs: ['y'], attrs: { fmod: 1 } }] },
  { name: 'CumSum (exclusive, reverse), GatherElements, TopK values, Hardmax', input: X,
    inits: [ints64('ax', [3]), ints64('k', [3]), { name: 'gi', dims: [1, 4, 9, 3], data: Array.from({ length: 108 }, (_, i) => (i * 7) % 11), int64: true }],
    nodes: [{ op: 'CumSum', inputs: ['x', 'ax'], outputs: ['c'], attrs: { exclusive: 1, reverse: 1 } },
      { op: 'GatherElements', inputs: ['c', 'gi'], outputs: ['g'], attrs: { axis: 3 } },
      { op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'vi'], attrs: { axis: 3 } }, { op: 'Add', inputs: ['g', 'v'], outputs: ['a'] },
      { op: 'Hardmax', inputs: ['x'], outputs: ['h'], attrs: { axis: 2 } }, { op: 'ReduceMax', inputs: ['h'], outputs: ['hs'], attrs: { axes: [3], keepdims: 1 } },
      { op: 'Add', inputs: ['a', 'hs'], outputs: ['y'] }] },
  { name: 'GatherND, ScatterND, ScatterElements', input: X,
    inits: [{ name: 'gi', dims: [2, 3], data: [0, 2, 1, 0, 3, 8], int64: true }, { name: 'si', dims: [1, 2], data: [0, 3], int64: true },
      init('upd', [1, 9, 11], 32), { name: 'ei', dims: [1, 4, 1, 3], data: [2, 0, 4, 1, 7, 3, 10, 9, 0, 5, 6, 2], int64: true }, init('eu', [1, 4, 1, 3], 33)],
    nodes: [{ op: 'GatherND', inputs: ['x', 'gi'], outputs: ['g'] },
      { op: 'ScatterND', inputs: ['x', 'si', 'upd'], outputs: ['s'] },
      { op: 'ScatterElements', inputs: ['s', 'ei', 'eu'], outputs: ['e'], attrs: { axis: 3 } },
      { op: 'ReduceSum', inputs: ['g'], outputs: ['gs'], attrs: { keepdims: 0 } }, { op: 'Mul', inputs: ['e', 'gs'], outputs: ['y'] }] },
  { name: 'LSTM and GRU (bidirectional) over a reshaped input', input: X, opset: 14,
    inits: [ints64('seq', [4, 9, 11]), init('lw', [2, 20, 11], 34, -0.5, 0.5), init('lr', [2, 20, 5], 35, -0.5, 0.5), init('lb', [2, 40], 36, -0.5, 0.5),
      init('gw', [2, 15, 11], 37, -0.5, 0.5), init('gr', [2, 15, 5], 38, -0.5, 0.5), init('gb', [2, 30], 39, -0.5, 0.5)],
    nodes: [{ op: 'Reshape', inputs: ['x', 'seq'], outputs: ['s'] },
      { op: 'LSTM', inputs: ['s', 'lw', 'lr', 'lb'], outputs: ['ly'], attrs: { hidden_size: 5, direction: 'bidirectional' } },
      { op: 'GRU', inputs: ['s', 'gw', 'gr', 'gb'], outputs: ['', 'gh'], attrs: { hidden_size: 5, direction: 'bidirectional' } },
      { op: 'Add', inputs: ['ly', 'gh'], outputs: ['y'] }] },
  { name: 'LayerNormalization, Resize cubic (align_corners: half_pixel and scales follow the runtime, test/resize)', input: X, opset: 18, inits: [init('g', [11], 40, 0.5, 1.5), init('b', [11], 41), { name: 'sc', dims: [4], data: [1, 1, 1.5, 2] }],
    nodes: [{ op: 'LayerNormalization', inputs: ['x', 'g', 'b'], outputs: ['l'], attrs: { epsilon: 0.001 } },
      { op: 'Resize', inputs: ['l', '', 'sc'], outputs: ['y'], attrs: { mode: 'cubic', coordinate_transformation_mode: 'align_corners' } }] },
  { name: '1-D Conv, ConvTranspose with output_shape, SAME_LOWER pooling', input: X, inits: [ints64('s3', [1, 36, 11]), init('w1', [6, 36, 3], 42),
    init('wt', [4, 3, 3, 3], 43), ints64('s4', [1, 6, 1, 11])],
    nodes: [{ op: 'Reshape', inputs: ['x', 's3'], outputs: ['r'] }, { op: 'Conv', inputs: ['r', 'w1'], outputs: ['c1'], attrs: { pads: [1, 1] } },
      { op: 'Reshape', inputs: ['c1', 's4'], outputs: ['c4'] },
      { op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['t'], attrs: { strides: [2, 2], output_shape: [20, 23] } },
      { op: 'MaxPool', inputs: ['t'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [3, 2], auto_pad: 'SAME_LOWER' } },
      { op: 'ReduceMean', inputs: ['p'], outputs: ['pm'], attrs: { axes: [1, 2, 3], keepdims: 1 } }, { op: 'Add', inputs: ['c4', 'pm'], outputs: ['y'] }] },
  { name: 'Gemm with a full-matrix C, PRelu with a scalar slope, Atan, Asin, Shrink', input: [1, 3, 1, 8], opset: 11,
    inits: [ints64('s2', [3, 8]), init('w', [8, 6], 44), init('cm', [3, 6], 45), { name: 'sl', dims: [1], data: [0.3] }],
    nodes: [{ op: 'Reshape', inputs: ['x', 's2'], outputs: ['r'] }, { op: 'Gemm', inputs: ['r', 'w', 'cm'], outputs: ['gm'], attrs: { beta: 0.5 } },
      { op: 'PRelu', inputs: ['gm', 'sl'], outputs: ['pr'] }, { op: 'Atan', inputs: ['pr'], outputs: ['at'] },
      { op: 'Tanh', inputs: ['gm'], outputs: ['th'] }, { op: 'Asin', inputs: ['th'], outputs: ['as'] },
      { op: 'Shrink', inputs: ['gm'], outputs: ['sh'], attrs: { lambd: 0.5, bias: 0.25 } },
      { op: 'Add', inputs: ['at', 'as'], outputs: ['aa'] }, { op: 'Add', inputs: ['aa', 'sh'], outputs: ['y'] }] },
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
      await ex.run([nhwc]);
      const [gpu] = await ex.outputs();
      ex.destroy();
      expect(gpu.shape).toEqual(cpu!.shape);
      expect(relMaxDiff(gpu.data, cpu!.data)).toBeLessThan(1e-5);
    });
  }
});

describe('ONNX forms the runtime cannot compute are refused by name', () => {
  const gru = (lbr: number) => buildOnnx({
    inputs: [{ name: 'x', dims: [3, 1, 4] }], outputs: ['y'], opset: 14,
    inits: [init('w', [1, 6, 4], 50), init('r', [1, 6, 2], 51)],
    nodes: [{ op: 'GRU', inputs: ['x', 'w', 'r'], outputs: ['y'], attrs: { hidden_size: 2, linear_before_reset: lbr } }],
  });
  it('Einsum outside the MatMul / transpose forms, and If whose condition is known only when running', () => {
    const diag = buildOnnx({ inputs: [{ name: 'x', dims: [4, 4] }], outputs: ['y'], inits: [], nodes: [{ op: 'Einsum', inputs: ['x'], outputs: ['y'], attrs: { equation: 'ii->i' } }] });
    expect(() => loadModel(diag, 'ONNX', 'diag.onnx')).toThrow(/diag\.onnx: node Einsum_0 \(Einsum\): equation "ii->i" is not supported/);
    const branch = (op: string) => ({ graph: { nodes: [{ op, inputs: ['x'], outputs: [`o${op}`] }], outputs: [`o${op}`] } });
    const dynIf = buildOnnx({ inputs: [{ name: 'x', dims: [4] }], outputs: ['y'], inits: [{ name: 'zero', dims: [], data: [0] }],
      nodes: [{ op: 'ReduceSum', inputs: ['x'], outputs: ['s'], attrs: { keepdims: 0 } }, { op: 'Greater', inputs: ['s', 'zero'], outputs: ['c'] },
        { op: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: branch('Relu'), else_branch: branch('Neg') } }] });
    expect(() => loadModel(dynIf, 'ONNX', 'if.onnx')).toThrow(/node If_2 \(If\): condition c is known only when running \(it depends on input x\).*--inputValue=x:/);
  });
  it("GRU with linear_before_reset = 1 (PyTorch's form) is not refused: unrolled into ops the runtime has, equal to onnxruntime", async () => {
    const x = rand(12, 52);
    for (const lbr of [0, 1]) {
      const g = loadModel(gru(lbr), 'ONNX', 'gru.onnx');
      expect(g.nodes.some((n) => n.op === 'GRU')).toBe(lbr === 0);
      const ref = (await ortRun(gru(lbr), { x: { data: x, dims: [3, 1, 4] } })).y;
      expect(relMaxDiff(run(readMs(toMs(g)), [{ shape: [3, 1, 4], data: x }])[0].data, ref)).toBeLessThan(1e-5);
    }
  });
});
