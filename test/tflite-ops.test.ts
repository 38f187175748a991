/**
 * One small TFLite model per builtin operator (written with the flatbuffers builder of helpers/tflite-builder),
 * converted, written to .ms and read back, run by the CPU executor (and the GPU executor against the CPU), and
 * compared with values worked out here by hand or by a few lines of reference code independent of the kernels.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { buildTflite, TfTensor, TfOp, TfOption } from './helpers/tflite-builder.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';

afterAll(async () => (await testGpu())?.release());

// BuiltinOperator codes (TFLite schema)
const OP = {
  BATCH_TO_SPACE_ND: 37, SPACE_TO_BATCH_ND: 38, TOPK_V2: 48, LOG_SOFTMAX: 50, CAST: 53, ARG_MAX: 56, LESS: 58, NEG: 59, GREATER: 61,
  GREATER_EQUAL: 62, LESS_EQUAL: 63, SELECT: 64, TRANSPOSE_CONV: 67, TILE: 69, EQUAL: 71, NOT_EQUAL: 72, RSQRT: 76, POW: 78, ARG_MIN: 79,
  REDUCE_PROD: 81, PACK: 83, LOGICAL_OR: 84, ONE_HOT: 85, LOGICAL_AND: 86, LOGICAL_NOT: 87, UNPACK: 88, FLOOR_DIV: 90, SQUARE: 92,
  ZEROS_LIKE: 93, FILL: 94, FLOOR_MOD: 95, RANGE: 96, SQUARED_DIFFERENCE: 99, ABS: 101, SPLIT_V: 102, REVERSE_V2: 105, ADD_N: 106,
  GATHER_ND: 107, RANK: 110, ELU: 111, REVERSE_SEQUENCE: 112, SCATTER_ND: 122, SELECT_V2: 123, BATCH_MATMUL: 126, CUMSUM: 128,
  BROADCAST_TO: 130, GELU: 150, L2_NORMALIZATION: 11, LOCAL_RESPONSE_NORMALIZATION: 13, DEPTH_TO_SPACE: 5, SPACE_TO_DEPTH: 26, CUSTOM: 32,
} as const;

interface Case {
  name: string;
  /** Graph inputs (fed `feed`), constants (with data), and the outputs, in tensor order. */
  inputs: TfTensor[];
  consts?: TfTensor[];
  outputs: TfTensor[];
  op: number;
  custom?: string;
  options?: TfOption[];
  /** Op input order as tensor indices into [...inputs, ...consts]; default all in that order. */
  opInputs?: number[];
  feed: number[][];
  want: number[][];
  /** The GPU executor is compared with the CPU too (ops that run on the host included). */
  gpu?: boolean;
}

const x23 = [1, -2, 3, -4, 5, -6];
const cases: Case[] = [
  { name: 'ABS', op: OP.ABS, inputs: [{ name: 'x', shape: [2, 3] }], outputs: [{ name: 'y', shape: [2, 3] }], feed: [x23], want: [[1, 2, 3, 4, 5, 6]], gpu: true },
  { name: 'NEG', op: OP.NEG, inputs: [{ name: 'x', shape: [2, 3] }], outputs: [{ name: 'y', shape: [2, 3] }], feed: [x23], want: [[-1, 2, -3, 4, -5, 6]] },
  { name: 'SQUARE', op: OP.SQUARE, inputs: [{ name: 'x', shape: [2, 3] }], outputs: [{ name: 'y', shape: [2, 3] }], feed: [x23], want: [[1, 4, 9, 16, 25, 36]], gpu: true },
  { name: 'RSQRT', op: OP.RSQRT, inputs: [{ name: 'x', shape: [4] }], outputs: [{ name: 'y', shape: [4] }], feed: [[1, 4, 16, 0.25]], want: [[1, 0.5, 0.25, 2]], gpu: true },
  { name: 'ELU', op: OP.ELU, inputs: [{ name: 'x', shape: [3] }], outputs: [{ name: 'y', shape: [3] }], feed: [[-1, 0, 2]], want: [[Math.exp(-1) - 1, 0, 2]] },
  { name: 'GELU (tanh approximation)', op: OP.GELU, options: [[0, 'bool', 1]], inputs: [{ name: 'x', shape: [3] }], outputs: [{ name: 'y', shape: [3] }], feed: [[-1, 0, 1.5]],
    want: [[-1, 0, 1.5].map((v) => 0.5 * v * (1 + Math.tanh(0.7978845608 * (v + 0.044715 * v ** 3))))], gpu: true },
  { name: 'SQUARED_DIFFERENCE (broadcast)', op: OP.SQUARED_DIFFERENCE, inputs: [{ name: 'a', shape: [2, 3] }], consts: [{ name: 'b', shape: [3], data: [1, 1, 2] }],
    outputs: [{ name: 'y', shape: [2, 3] }], feed: [x23], want: [[0, 9, 1, 25, 16, 64]], gpu: true },
  { name: 'FLOOR_DIV and FLOOR_MOD follow the divisor\'s sign', op: OP.FLOOR_DIV, inputs: [{ name: 'a', shape: [4] }], consts: [{ name: 'b', shape: [4], data: [2, -2, 2, -2] }],
    outputs: [{ name: 'y', shape: [4] }], feed: [[7, 7, -7, -7]], want: [[3, -4, -4, 3]], gpu: true },
  { name: 'FLOOR_MOD', op: OP.FLOOR_MOD, inputs: [{ name: 'a', shape: [4] }], consts: [{ name: 'b', shape: [4], data: [2, -2, 2, -2] }],
    outputs: [{ name: 'y', shape: [4] }], feed: [[7, 7, -7, -7]], want: [[1, -1, 1, -1]] },
  { name: 'POW', op: OP.POW, inputs: [{ name: 'a', shape: [3] }], consts: [{ name: 'b', shape: [3], data: [2, 0.5, 3] }],
    outputs: [{ name: 'y', shape: [3] }], feed: [[3, 16, -2]], want: [[9, 4, -8]] },
  { name: 'ADD_N of three inputs', op: OP.ADD_N, inputs: [{ name: 'a', shape: [3] }, { name: 'b', shape: [3] }], consts: [{ name: 'c', shape: [3], data: [100, 200, 300] }],
    outputs: [{ name: 'y', shape: [3] }], feed: [[1, 2, 3], [10, 20, 30]], want: [[111, 222, 333]], gpu: true },
  { name: 'EQUAL / NOT_EQUAL / LESS / LESS_EQUAL / GREATER / GREATER_EQUAL', op: OP.LESS, inputs: [{ name: 'a', shape: [3] }], consts: [{ name: 'b', shape: [3], data: [1, 2, 3] }],
    outputs: [{ name: 'y', shape: [3], type: 'bool' }], feed: [[0, 2, 4]], want: [[1, 0, 0]] },
  { name: 'LESS_EQUAL', op: OP.LESS_EQUAL, inputs: [{ name: 'a', shape: [3] }], consts: [{ name: 'b', shape: [3], data: [1, 2, 3] }], outputs: [{ name: 'y', shape: [3], type: 'bool' }], feed: [[0, 2, 4]], want: [[1, 1, 0]] },
  { name: 'GREATER', op: OP.GREATER, inputs: [{ name: 'a', shape: [3] }], consts: [{ name: 'b', shape: [3], data: [1, 2, 3] }], outputs: [{ name: 'y', shape: [3], type: 'bool' }], feed: [[0, 2, 4]], want: [[0, 0, 1]] },
  { name: 'GREATER_EQUAL', op: OP.GREATER_EQUAL, inputs: [{ name: 'a', shape: [3] }], consts: [{ name: 'b', shape: [3], data: [1, 2, 3] }], outputs: [{ name: 'y', shape: [3], type: 'bool' }], feed: [[0, 2, 4]], want: [[0, 1, 1]] },
  { name: 'EQUAL', op: OP.EQUAL, inputs: [{ name: 'a', shape: [3] }], consts: [{ name: 'b', shape: [3], data: [1, 2, 3] }], outputs: [{ name: 'y', shape: [3], type: 'bool' }], feed: [[0, 2, 4]], want: [[0, 1, 0]] },
  { name: 'NOT_EQUAL', op: OP.NOT_EQUAL, inputs: [{ name: 'a', shape: [3] }], consts: [{ name: 'b', shape: [3], data: [1, 2, 3] }], outputs: [{ name: 'y', shape: [3], type: 'bool' }], feed: [[0, 2, 4]], want: [[1, 0, 1]] },
  { name: 'LOGICAL_AND / OR / NOT of comparisons', op: OP.LOGICAL_AND, inputs: [{ name: 'a', shape: [4], type: 'bool' }], consts: [{ name: 'b', shape: [4], type: 'bool', data: [1, 0, 1, 0] }],
    outputs: [{ name: 'y', shape: [4], type: 'bool' }], feed: [[1, 1, 0, 0]], want: [[1, 0, 0, 0]] },
  { name: 'LOGICAL_OR', op: OP.LOGICAL_OR, inputs: [{ name: 'a', shape: [4], type: 'bool' }], consts: [{ name: 'b', shape: [4], type: 'bool', data: [1, 0, 1, 0] }], outputs: [{ name: 'y', shape: [4], type: 'bool' }], feed: [[1, 1, 0, 0]], want: [[1, 1, 1, 0]] },
  { name: 'LOGICAL_NOT', op: OP.LOGICAL_NOT, inputs: [{ name: 'a', shape: [2], type: 'bool' }], outputs: [{ name: 'y', shape: [2], type: 'bool' }], feed: [[1, 0]], want: [[0, 1]] },
  { name: 'SELECT_V2 (broadcast condition)', op: OP.SELECT_V2, inputs: [{ name: 'x', shape: [2, 2] }], consts: [{ name: 'c', shape: [2], type: 'bool', data: [1, 0] }, { name: 'z', shape: [2, 2], data: [9, 9, 9, 9] }],
    opInputs: [1, 0, 2], outputs: [{ name: 'y', shape: [2, 2] }], feed: [[1, 2, 3, 4]], want: [[1, 9, 3, 9]], gpu: true },
  { name: 'SELECT', op: OP.SELECT, inputs: [{ name: 'x', shape: [3] }], consts: [{ name: 'c', shape: [3], type: 'bool', data: [0, 1, 0] }, { name: 'z', shape: [3], data: [7, 8, 9] }],
    opInputs: [1, 0, 2], outputs: [{ name: 'y', shape: [3] }], feed: [[1, 2, 3]], want: [[7, 2, 9]] },
  { name: 'CAST float -> int32 truncates', op: OP.CAST, inputs: [{ name: 'x', shape: [3] }], outputs: [{ name: 'y', shape: [3], type: 'int32' }], feed: [[1.7, -1.7, 2]], want: [[1, -1, 2]] },
  { name: 'ARG_MAX over the last axis', op: OP.ARG_MAX, inputs: [{ name: 'x', shape: [2, 3] }], consts: [{ name: 'axis', shape: [1], type: 'int32', data: [1] }],
    outputs: [{ name: 'y', shape: [2], type: 'int32' }], feed: [[1, 5, 2, 9, 0, 3]], want: [[1, 0]] },
  { name: 'ARG_MIN', op: OP.ARG_MIN, inputs: [{ name: 'x', shape: [2, 3] }], consts: [{ name: 'axis', shape: [1], type: 'int32', data: [1] }],
    outputs: [{ name: 'y', shape: [2], type: 'int32' }], feed: [[1, 5, 2, 9, 0, 3]], want: [[0, 1]] },
  { name: 'TOPK_V2 values and indices', op: OP.TOPK_V2, inputs: [{ name: 'x', shape: [1, 5] }], consts: [{ name: 'k', shape: [], type: 'int32', data: [2] }],
    outputs: [{ name: 'v', shape: [1, 2] }, { name: 'i', shape: [1, 2], type: 'int32' }], feed: [[3, 9, 1, 7, 5]], want: [[9, 7], [1, 3]] },
  { name: 'LOG_SOFTMAX', op: OP.LOG_SOFTMAX, inputs: [{ name: 'x', shape: [1, 3] }], outputs: [{ name: 'y', shape: [1, 3] }], feed: [[1, 2, 3]],
    want: [[1, 2, 3].map((v) => v - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)))], gpu: true },
  { name: 'REDUCE_PROD', op: OP.REDUCE_PROD, inputs: [{ name: 'x', shape: [2, 3] }], consts: [{ name: 'axes', shape: [1], type: 'int32', data: [1] }],
    outputs: [{ name: 'y', shape: [2] }], feed: [x23], want: [[-6, 120]] },
  { name: 'TILE', op: OP.TILE, inputs: [{ name: 'x', shape: [1, 2] }], consts: [{ name: 'm', shape: [2], type: 'int32', data: [2, 2] }],
    outputs: [{ name: 'y', shape: [2, 4] }], feed: [[1, 2]], want: [[1, 2, 1, 2, 1, 2, 1, 2]], gpu: true },
  { name: 'BROADCAST_TO', op: OP.BROADCAST_TO, inputs: [{ name: 'x', shape: [1, 3] }], consts: [{ name: 's', shape: [2], type: 'int32', data: [2, 3] }],
    outputs: [{ name: 'y', shape: [2, 3] }], feed: [[1, 2, 3]], want: [[1, 2, 3, 1, 2, 3]], gpu: true },
  { name: 'PACK along axis 1', op: OP.PACK, options: [[0, 'int32', 2], [1, 'int32', 1]], inputs: [{ name: 'a', shape: [2] }, { name: 'b', shape: [2] }],
    outputs: [{ name: 'y', shape: [2, 2] }], feed: [[1, 2], [3, 4]], want: [[1, 3, 2, 4]], gpu: true },
  { name: 'UNPACK along axis 1', op: OP.UNPACK, options: [[0, 'int32', 2], [1, 'int32', 1]], inputs: [{ name: 'x', shape: [2, 2] }],
    outputs: [{ name: 'a', shape: [2] }, { name: 'b', shape: [2] }], feed: [[1, 2, 3, 4]], want: [[1, 3], [2, 4]], gpu: true },
  { name: 'SPLIT_V with sizes [1, 2]', op: OP.SPLIT_V, options: [[0, 'int32', 2]], inputs: [{ name: 'x', shape: [3, 2] }],
    consts: [{ name: 'sizes', shape: [2], type: 'int32', data: [1, 2] }, { name: 'axis', shape: [], type: 'int32', data: [0] }],
    outputs: [{ name: 'a', shape: [1, 2] }, { name: 'b', shape: [2, 2] }], feed: [[1, 2, 3, 4, 5, 6]], want: [[1, 2], [3, 4, 5, 6]] },
  { name: 'REVERSE_V2 over axis 1', op: OP.REVERSE_V2, inputs: [{ name: 'x', shape: [2, 3] }], consts: [{ name: 'axis', shape: [1], type: 'int32', data: [1] }],
    outputs: [{ name: 'y', shape: [2, 3] }], feed: [x23], want: [[3, -2, 1, -6, 5, -4]], gpu: true },
  { name: 'REVERSE_SEQUENCE (seq_dim 1, batch_dim 0)', op: OP.REVERSE_SEQUENCE, options: [[0, 'int32', 1], [1, 'int32', 0]], inputs: [{ name: 'x', shape: [2, 3] }],
    consts: [{ name: 'len', shape: [2], type: 'int32', data: [2, 3] }], outputs: [{ name: 'y', shape: [2, 3] }], feed: [x23], want: [[-2, 1, 3, -6, 5, -4]], gpu: true },
  { name: 'GATHER_ND', op: OP.GATHER_ND, inputs: [{ name: 'x', shape: [2, 3] }], consts: [{ name: 'idx', shape: [2, 2], type: 'int32', data: [1, 2, 0, 1] }],
    outputs: [{ name: 'y', shape: [2] }], feed: [x23], want: [[-6, -2]] },
  { name: 'SCATTER_ND into zeros of the given shape', op: OP.SCATTER_ND, inputs: [{ name: 'u', shape: [2] }],
    consts: [{ name: 'idx', shape: [2, 1], type: 'int32', data: [3, 0] }, { name: 'shape', shape: [1], type: 'int32', data: [5] }],
    opInputs: [1, 0, 2], outputs: [{ name: 'y', shape: [5] }], feed: [[7, 8]], want: [[8, 0, 0, 7, 0]] },
  { name: 'ONE_HOT', op: OP.ONE_HOT, options: [[0, 'int32', -1]], inputs: [{ name: 'i', shape: [3], type: 'int32' }],
    consts: [{ name: 'depth', shape: [], type: 'int32', data: [3] }, { name: 'on', shape: [], data: [5] }, { name: 'off', shape: [], data: [-1] }],
    outputs: [{ name: 'y', shape: [3, 3] }], feed: [[2, 0, 1]], want: [[-1, -1, 5, 5, -1, -1, -1, 5, -1]] },
  { name: 'CUMSUM exclusive', op: OP.CUMSUM, options: [[0, 'bool', 1], [1, 'bool', 0]], inputs: [{ name: 'x', shape: [4] }], consts: [{ name: 'axis', shape: [], type: 'int32', data: [0] }],
    outputs: [{ name: 'y', shape: [4] }], feed: [[1, 2, 3, 4]], want: [[0, 1, 3, 6]] },
  { name: 'ZEROS_LIKE', op: OP.ZEROS_LIKE, inputs: [{ name: 'x', shape: [3] }], outputs: [{ name: 'y', shape: [3] }], feed: [[1, 2, 3]], want: [[0, 0, 0]], gpu: true },
  { name: 'FILL (folds)', op: OP.FILL, inputs: [], consts: [{ name: 'dims', shape: [2], type: 'int32', data: [2, 2] }, { name: 'v', shape: [], data: [3.5] }],
    outputs: [{ name: 'y', shape: [2, 2] }], feed: [], want: [[3.5, 3.5, 3.5, 3.5]] },
  { name: 'RANK (folds)', op: OP.RANK, inputs: [{ name: 'x', shape: [2, 3, 1] }], outputs: [{ name: 'y', shape: [], type: 'int32' }], feed: [[1, 2, 3, 4, 5, 6]], want: [[3]] },
  { name: 'RANGE', op: OP.RANGE, inputs: [], consts: [{ name: 's', shape: [], type: 'int32', data: [2] }, { name: 'l', shape: [], type: 'int32', data: [9] }, { name: 'd', shape: [], type: 'int32', data: [3] }],
    outputs: [{ name: 'y', shape: [3], type: 'int32' }], feed: [], want: [[2, 5, 8]] },
  { name: 'BATCH_MATMUL with adj_y', op: OP.BATCH_MATMUL, options: [[0, 'bool', 0], [1, 'bool', 1]], inputs: [{ name: 'a', shape: [1, 2, 2] }], consts: [{ name: 'b', shape: [1, 3, 2], data: [1, 0, 0, 1, 1, 1] }],
    outputs: [{ name: 'y', shape: [1, 2, 3] }], feed: [[1, 2, 3, 4]], want: [[1, 2, 3, 3, 4, 7]], gpu: true },
  { name: 'L2_NORMALIZATION', op: OP.L2_NORMALIZATION, inputs: [{ name: 'x', shape: [2, 2] }], outputs: [{ name: 'y', shape: [2, 2] }], feed: [[3, 4, 0, -5]], want: [[0.6, 0.8, 0, -1]], gpu: true },
  { name: 'LOCAL_RESPONSE_NORMALIZATION (radius 1)', op: OP.LOCAL_RESPONSE_NORMALIZATION, options: [[0, 'int32', 1], [1, 'float32', 1], [2, 'float32', 0.5], [3, 'float32', 1]],
    inputs: [{ name: 'x', shape: [1, 1, 1, 3] }], outputs: [{ name: 'y', shape: [1, 1, 1, 3] }], feed: [[1, 2, 3]],
    // x_c / (1 + 0.5 * sum of squares of c-1..c+1)
    want: [[1 / (1 + 0.5 * 5), 2 / (1 + 0.5 * 14), 3 / (1 + 0.5 * 13)]] },
  { name: 'DEPTH_TO_SPACE block 2', op: OP.DEPTH_TO_SPACE, options: [[0, 'int32', 2]], inputs: [{ name: 'x', shape: [1, 1, 1, 4] }], outputs: [{ name: 'y', shape: [1, 2, 2, 1] }],
    feed: [[1, 2, 3, 4]], want: [[1, 2, 3, 4]], gpu: true },
  { name: 'SPACE_TO_DEPTH block 2', op: OP.SPACE_TO_DEPTH, options: [[0, 'int32', 2]], inputs: [{ name: 'x', shape: [1, 2, 2, 1] }], outputs: [{ name: 'y', shape: [1, 1, 1, 4] }],
    feed: [[1, 2, 3, 4]], want: [[1, 2, 3, 4]], gpu: true },
  { name: 'SPACE_TO_BATCH_ND block 2, padding 1 on the left of W', op: OP.SPACE_TO_BATCH_ND, inputs: [{ name: 'x', shape: [1, 2, 3, 1] }],
    consts: [{ name: 'block', shape: [2], type: 'int32', data: [2, 2] }, { name: 'pad', shape: [2, 2], type: 'int32', data: [0, 0, 1, 0] }],
    // padded W: [0 a b c] rows [a b c]=[1 2 3], [4 5 6] -> batches (dy, dx): (0,0) [0 2], (0,1) [1 3], (1,0) [0 5], (1,1) [4 6]
    outputs: [{ name: 'y', shape: [4, 1, 2, 1] }], feed: [[1, 2, 3, 4, 5, 6]], want: [[0, 2, 1, 3, 0, 5, 4, 6]], gpu: true },
  { name: 'BATCH_TO_SPACE_ND block 2, crop 1 on the left of W (the inverse)', op: OP.BATCH_TO_SPACE_ND, inputs: [{ name: 'x', shape: [4, 1, 2, 1] }],
    consts: [{ name: 'block', shape: [2], type: 'int32', data: [2, 2] }, { name: 'crop', shape: [2, 2], type: 'int32', data: [0, 0, 1, 0] }],
    outputs: [{ name: 'y', shape: [1, 2, 3, 1] }], feed: [[0, 2, 1, 3, 0, 5, 4, 6]], want: [[1, 2, 3, 4, 5, 6]], gpu: true },
  { name: 'TRANSPOSE_CONV stride 2 SAME: each input pixel stamps the kernel', op: OP.TRANSPOSE_CONV, options: [[0, 'int8', 0], [1, 'int32', 2], [2, 'int32', 2]],
    inputs: [{ name: 'x', shape: [1, 1, 2, 1] }], consts: [{ name: 'oshape', shape: [4], type: 'int32', data: [1, 2, 4, 1] }, { name: 'w', shape: [1, 2, 2, 1], data: [1, 2, 3, 4] }],
    opInputs: [1, 2, 0], outputs: [{ name: 'y', shape: [1, 2, 4, 1] }], feed: [[1, 10]], want: [[1, 2, 10, 20, 3, 4, 30, 40]], gpu: true },
  { name: 'MediaPipe Convolution2DTransposeBias (custom): stamp plus bias', op: OP.CUSTOM, custom: 'Convolution2DTransposeBias',
    inputs: [{ name: 'x', shape: [1, 1, 2, 1] }], consts: [{ name: 'w', shape: [1, 2, 2, 1], data: [1, 2, 3, 4] }, { name: 'b', shape: [1], data: [0.5] }],
    outputs: [{ name: 'y', shape: [1, 2, 4, 1] }], feed: [[1, 10]], want: [[1.5, 2.5, 10.5, 20.5, 3.5, 4.5, 30.5, 40.5]], gpu: true },
];

/** MediaPipe's custom options: TfLiteTransposeConvParams {padding = SAME (1), stride_w = 2, stride_h = 2}. */
const TRANSPOSE_CONV_BIAS_OPTIONS = new Uint8Array(Int32Array.of(1, 2, 2).buffer);

function model(c: Case): Uint8Array {
  const tensors = [...c.inputs, ...(c.consts ?? []), ...c.outputs];
  const nIn = c.inputs.length + (c.consts?.length ?? 0);
  const op: TfOp = { code: c.op, custom: c.custom, inputs: c.opInputs ?? [...Array(nIn).keys()], outputs: c.outputs.map((_, k) => nIn + k), options: c.options,
    customOptions: c.custom ? TRANSPOSE_CONV_BIAS_OPTIONS : undefined };
  return buildTflite({ tensors, inputs: c.inputs.map((_, k) => k), outputs: op.outputs, ops: [op] });
}

describe('TFLite builtin operators against hand-worked values', () => {
  for (const c of cases)
    it(c.name, async (t) => {
      const g = loadModel(model(c), 'TFLITE', `${c.name}.tflite`);
      const feeds = c.inputs.map((ti, k) => ({ shape: ti.shape, data: ti.type === 'int32' ? Int32Array.from(c.feed[k]) : ti.type === 'bool' ? Uint8Array.from(c.feed[k]) : Float32Array.from(c.feed[k]) }));
      for (const graph of [g, readMs(toMs(g))]) {
        const outs = run(graph, feeds);
        c.want.forEach((w, k) => {
          expect(Array.from(outs[k].data).length, `output ${k}`).toBe(w.length);
          Array.from(outs[k].data).forEach((v, i) => expect(v, `output ${k}[${i}]`).toBeCloseTo(w[i], 5));
        });
      }
      if (!c.gpu) return;
      const ex = await GpuExecutor.create(await gpuOrSkip(t.skip), g, 1);
      await ex.run(feeds.map((f) => Float32Array.from(f.data)));
      const gpu = await ex.outputs();
      ex.destroy();
      c.want.forEach((w, k) => Array.from(gpu[k].data).forEach((v, i) => expect(v, `GPU output ${k}[${i}]`).toBeCloseTo(w[i], 5)));
    });

  it('an unknown custom op is named by its custom_code', () => {
    const m = buildTflite({ tensors: [{ name: 'x', shape: [2] }, { name: 'y', shape: [2] }], inputs: [0], outputs: [1], ops: [{ code: OP.CUSTOM, custom: 'MaxPoolingWithArgmax3D', inputs: [0], outputs: [1] }] });
    expect(() => loadModel(m, 'TFLITE', 'c.tflite')).toThrow(/c\.tflite: unsupported TFLite custom op MaxPoolingWithArgmax3D \(node CUSTOM_MaxPoolingWithArgmax3D-0\)/);
  });
  it('an unsupported builtin is named, not numbered', () => {
    const m = buildTflite({ tensors: [{ name: 'x', shape: [2] }, { name: 'y', shape: [2] }], inputs: [0], outputs: [1], ops: [{ code: 147, inputs: [0], outputs: [1] }] });
    expect(() => loadModel(m, 'TFLITE', 'b.tflite')).toThrow(/unsupported TFLite op BUCKETIZE \(node BUCKETIZE-0\)/);
  });
});
