/**
 * Real models of every kind convert (#27): one corpus model per failure class — recurrent layers, shape
 * arithmetic, layout, TFLite integer tensors — checked against onnxruntime or its documented behaviour, plus
 * the forms behind them on small graphs: an If on an input fixed with --inputValue, an ONNX RNN unrolled.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { formatViolations } from '../src/ir/formats.js';
import { COVERAGE_CORPUS } from './helpers/coverage.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import { buildTflite } from './helpers/tflite-builder.js';
import { readBytes, model, relMaxDiff } from './helpers/data.js';
import { cli } from './helpers/cli.js';
import { checkEach } from './helpers/check-each.js';
import { compareWithOrt } from './helpers/ort-compare.js';
import * as ort from 'onnxruntime-node';

describe('corpus models of every kind', () => {
  checkEach(COVERAGE_CORPUS);

  it('the unrolled and relabelled models have nothing the runtime lacks: no placeholder op, no mislabelled input', () => {
    for (const [file, fmk] of [['gtcrn-simple.onnx', 'ONNX'], ['tflm-mnist-lstm.tflite', 'TFLITE'], ['basic-pitch-nmp.tflite', 'TFLITE']] as const) {
      const g = readMs(toMs(loadModel(readBytes(model(`corpus/${file}`)), fmk, file)));
      expect(g.nodes.filter((n) => ['RnnToUnroll', 'LowerWithShapes', 'GRU'].includes(n.op)).map((n) => n.name), file).toEqual([]);
      expect(formatViolations(g), file).toEqual([]);
    }
  });
});

describe('forms behind the classes', () => {
  // y = If(sr == 16000) then x * 2 else x * 3, Silero VAD's shape: the condition reads an int64 input.
  const ifModel = () => buildOnnx({
    inputs: [{ name: 'x', dims: [1, 4] }, { name: 'sr', dims: [1], int64: true }], outputs: ['y'],
    inits: [{ name: 'rate', dims: [1], data: [16000], int64: true }, { name: 'two', dims: [], data: [2] }, { name: 'three', dims: [], data: [3] }],
    nodes: [
      { op: 'Equal', inputs: ['sr', 'rate'], outputs: ['is16k'] },
      { op: 'Squeeze', inputs: ['is16k'], outputs: ['cond'] },
      { op: 'If', inputs: ['cond'], outputs: ['y'], attrs: {
        then_branch: { graph: { nodes: [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['t'] }], outputs: ['t'] } },
        else_branch: { graph: { nodes: [{ op: 'Mul', inputs: ['x', 'three'], outputs: ['e'] }], outputs: ['e'] } },
      } },
    ],
  });

  it('an If on an input: refused naming the input and --inputValue; with it, the branch taken equals onnxruntime', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-if-'));
    const file = path.join(dir, 'vad-like.onnx');
    writeFileSync(file, ifModel());
    const refused = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${file}`, `--outputFile=${path.join(dir, 'out')}`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/condition .* depends on input sr.*--inputValue=sr:/);
    expect(existsSync(path.join(dir, 'out.ms'))).toBe(false);
    const x = Float32Array.of(1, -2, 3.5, 4);
    for (const rate of [16000, 8000]) {
      const ok = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${file}`, `--outputFile=${path.join(dir, `r${rate}`)}`, `--inputValue=sr:${rate}`]);
      expect(ok.code, ok.stderr).toBe(0);
      const g = readMs(readBytes(path.join(dir, `r${rate}.ms`)));
      expect(g.inputs.map((id) => g.tensors[id].name)).toEqual(['x']);
      const session = await ort.InferenceSession.create(file);
      const want = (await session.run({ x: new ort.Tensor('float32', x, [1, 4]), sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), [1]) })).y.data as Float32Array;
      expect(Array.from(run(g, [{ shape: [1, 4], data: x }])[0].data)).toEqual(Array.from(want));
    }
  });

  it('Resize to a lateral tensor\'s run-time shape (FPN) stays a run-time op without --inputShape; InstanceNormalization of a rank-3 reshape', async () => {
    const fpn = buildOnnx({
      inputs: [{ name: 'coarse', dims: [1, 4, -1, -1] }, { name: 'lateral', dims: [1, 4, -1, -1] }], outputs: ['y'],
      inits: [{ name: 'roi', dims: [0], data: [] }, { name: 'scales', dims: [0], data: [] }],
      nodes: [{ op: 'Shape', inputs: ['lateral'], outputs: ['s'] }, { op: 'Resize', inputs: ['coarse', 'roi', 'scales', 's'], outputs: ['up'], attrs: { mode: 'linear' } },
        { op: 'Add', inputs: ['up', 'lateral'], outputs: ['y'] }],
    });
    const g = readMs(toMs(loadModel(fpn, 'ONNX', 'fpn.onnx')));
    expect(g.nodes.map((n) => n.op)).toContain('Resize');
    const c = Float32Array.from({ length: 4 * 5 * 6 }, (_, i) => Math.sin(i)), l = Float32Array.from({ length: 4 * 10 * 12 }, (_, i) => Math.cos(i));
    const nhwc = (x: Float32Array, h: number, w: number) => Float32Array.from(x, (_, i) => x[((i % 4) * h + Math.floor(i / 4 / w)) * w + (Math.floor(i / 4) % w)]);
    const [y] = run(g, [{ shape: [1, 5, 6, 4], data: nhwc(c, 5, 6) }, { shape: [1, 10, 12, 4], data: nhwc(l, 10, 12) }]);
    const session = await ort.InferenceSession.create(fpn);
    const want = await session.run({ coarse: new ort.Tensor('float32', c, [1, 4, 5, 6]), lateral: new ort.Tensor('float32', l, [1, 4, 10, 12]) });
    expect(y.shape).toEqual([1, 4, 10, 12]);
    expect(relMaxDiff(y.data, want.y.data as Float32Array)).toBeLessThan(1e-5);

    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-in3-'));
    const in3 = path.join(dir, 'in3.onnx');
    writeFileSync(in3, buildOnnx({
      inputs: [{ name: 'x', dims: [1, 4, 6, 8] }], outputs: ['y'],
      inits: [{ name: 's3', dims: [3], data: [1, 4, 48], int64: true }, { name: 's4', dims: [4], data: [1, 4, 6, 8], int64: true },
        { name: 'sc', dims: [4], data: [1, 2, 0.5, 1.5] }, { name: 'b', dims: [4], data: [0.1, -0.2, 0.3, 0] },
        { name: 'w', dims: [4, 4, 1, 1], data: Array.from({ length: 16 }, (_, i) => Math.sin(i)) }],
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] }, { op: 'Reshape', inputs: ['c', 's3'], outputs: ['r'] },
        { op: 'InstanceNormalization', inputs: ['r', 'sc', 'b'], outputs: ['n'], attrs: { epsilon: 0.00001 } }, { op: 'Reshape', inputs: ['n', 's4'], outputs: ['y'] }],
    }));
    expect((await compareWithOrt(in3)).worst).toBeLessThan(1e-4);
  });

  it('layout: a YOLOv8 DFL head (Reshape, Transpose, Softmax into a 1x1 Conv) and strided slices into a Conv equal onnxruntime', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-layout-'));
    const file = path.join(dir, 'layout.onnx');
    const A = 20; // anchors
    writeFileSync(file, buildOnnx({
      inputs: [{ name: 'box', dims: [1, 64, A] }, { name: 'img', dims: [1, 3, 8, 8] }], outputs: ['dist', 'focus'],
      inits: [{ name: 's4', dims: [4], data: [1, 4, 16, A], int64: true }, { name: 's3', dims: [3], data: [1, 4, A], int64: true },
        { name: 'proj', dims: [1, 16, 1, 1], data: Array.from({ length: 16 }, (_, i) => i) },
        { name: 'st0', dims: [2], data: [0, 0], int64: true }, { name: 'st1', dims: [2], data: [1, 1], int64: true }, { name: 'en', dims: [2], data: [8, 8], int64: true },
        { name: 'ax', dims: [2], data: [2, 3], int64: true }, { name: 'step', dims: [2], data: [2, 2], int64: true },
        { name: 'wf', dims: [4, 6, 3, 3], data: Array.from({ length: 216 }, (_, i) => Math.sin(i * 0.37)) }],
      nodes: [
        // YOLOv8's distribution focal loss decode: [1,64,A] -> [1,4,16,A] -> [1,16,4,A] -> softmax over 16 -> conv with 0..15
        { op: 'Reshape', inputs: ['box', 's4'], outputs: ['r'] }, { op: 'Transpose', inputs: ['r'], outputs: ['t'], attrs: { perm: [0, 2, 1, 3] } },
        { op: 'Softmax', inputs: ['t'], outputs: ['sm'], attrs: { axis: 1 } }, { op: 'Conv', inputs: ['sm', 'proj'], outputs: ['c'] },
        { op: 'Reshape', inputs: ['c', 's3'], outputs: ['dist'] },
        // YOLOv5's Focus: two strided slices concatenated, then a conv
        { op: 'Slice', inputs: ['img', 'st0', 'en', 'ax', 'step'], outputs: ['even'] }, { op: 'Slice', inputs: ['img', 'st1', 'en', 'ax', 'step'], outputs: ['odd'] },
        { op: 'Concat', inputs: ['even', 'odd'], outputs: ['cat'], attrs: { axis: 1 } }, { op: 'Conv', inputs: ['cat', 'wf'], outputs: ['focus'], attrs: { pads: [1, 1, 1, 1] } },
      ],
    }));
    const g = readMs(toMs(loadModel(readBytes(file), 'ONNX', 'layout.onnx')));
    expect(formatViolations(g)).toEqual([]);
    expect((await compareWithOrt(file, { box: [-4, 4] })).worst).toBeLessThan(1e-5);
  });

  it('ONNX RNN (no MindSpore kernel) and a reverse GRU with linear_before_reset are unrolled and equal onnxruntime', async () => {
    const H = 3, I = 2, T = 4;
    const seeded = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * 0.8);
    for (const [op, gates, attrs] of [['RNN', 1, {}], ['GRU', 3, { linear_before_reset: 1, direction: 'reverse' }], ['LSTM', 4, { activations: ['Sigmoid', 'Relu', 'Tanh'] }]] as const) {
      const bytes = buildOnnx({
        inputs: [{ name: 'x', dims: [T, 1, I] }], outputs: ['y', 'h'],
        inits: [{ name: 'w', dims: [1, gates * H, I], data: seeded(gates * H * I, 1) }, { name: 'r', dims: [1, gates * H, H], data: seeded(gates * H * H, 2) },
          { name: 'b', dims: [1, 2 * gates * H], data: seeded(2 * gates * H, 3) }],
        nodes: [{ op, inputs: ['x', 'w', 'r', 'b'], outputs: ['y', 'h'], attrs: { hidden_size: H, ...attrs } }],
      });
      const x = seeded(T * I, 4);
      const session = await ort.InferenceSession.create(bytes);
      const want = await session.run({ x: new ort.Tensor('float32', x, [T, 1, I]) });
      const g = readMs(toMs(loadModel(bytes, 'ONNX', `${op}.onnx`)));
      expect(g.nodes.some((n) => n.op === op), op).toBe(false);
      const [y, h] = run(g, [{ shape: [T, 1, I], data: x }]);
      expect(relMaxDiff(y.data, want.y.data as Float32Array), op).toBeLessThan(1e-5);
      expect(relMaxDiff(h.data, want.h.data as Float32Array), op).toBeLessThan(1e-5);
    }
  });
});

describe('TFLite 16x8 quantization (int16 activations, int8 weights, int64 bias)', () => {
  // input float -> QUANTIZE -> int16 -> FULLY_CONNECTED (int8 per-channel weights, int64 bias) -> int16 -> DEQUANTIZE
  const QUANTIZE = 114, FULLY_CONNECTED = 9, DEQUANTIZE = 6;
  const inScale = 1 / 8192, wScales = [0.01, 0.02, 0.005], outScale = 1 / 2048;
  const w = [12, -7, 100, -128, 3, 45, -60, 127, -1, 0, 88, -33];
  const bias = [4096, -20000, 150000];
  const int16Model = (io: 'float32' | 'int16') => buildTflite({
    tensors: [
      { name: 'x', shape: [1, 4], type: io, ...(io === 'int16' ? { quant: { scale: [inScale], zeroPoint: [0] } } : {}) },
      { name: 'x_q', shape: [1, 4], type: 'int16', quant: { scale: [inScale], zeroPoint: [0] } },
      { name: 'w', shape: [3, 4], type: 'int8', data: w, quant: { scale: wScales, zeroPoint: [0, 0, 0], dim: 0 } },
      { name: 'b', shape: [3], type: 'int64', data: bias, quant: { scale: wScales.map((s) => s * inScale), zeroPoint: [0, 0, 0] } },
      { name: 'y_q', shape: [1, 3], type: 'int16', quant: { scale: [outScale], zeroPoint: [0] } },
      { name: 'y', shape: [1, 3] },
    ],
    inputs: [0], outputs: [5],
    ops: [
      { code: QUANTIZE, inputs: [0], outputs: [1] },
      { code: FULLY_CONNECTED, inputs: [1, 2, 3], outputs: [4] },
      { code: DEQUANTIZE, inputs: [4], outputs: [5] },
    ],
  });

  it('converts to a float model computing the dequantized layer', () => {
    const g = readMs(toMs(loadModel(int16Model('float32'), 'TFLITE', '16x8.tflite')));
    expect(g.tensors.some((t) => t.quant?.length), 'no quantization parameters are left').toBe(false);
    const x = [0.5, -1.25, 2, 0.125];
    const [y] = run(g, [{ shape: [1, 4], data: Float32Array.from(x) }]);
    // Worked out here: y[o] = sum_i x[i] * w[o][i] * wScale[o] + bias[o] * wScale[o] * inScale
    const want = [0, 1, 2].map((o) => x.reduce((s, xi, i) => s + xi * w[o * 4 + i] * wScales[o], 0) + bias[o] * wScales[o] * inScale);
    expect(relMaxDiff(y.data, Float32Array.from(want))).toBeLessThan(1e-6);
  });

  it('an int16 graph input is refused naming it and the export setting', () => {
    expect(() => loadModel(int16Model('int16'), 'TFLITE', '16x8.tflite')).toThrow(/16x8\.tflite: graph input x is int16 .*inference_input_type=tf\.float32/);
  });
});
