/** Full quantization on real models and real data, the calibrators' arithmetic, and multi-input pairing. */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { mkdtempSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadModel, Fmk } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { writeMs } from '../src/ir/export/ms.js';
import { run } from '../src/cpu/executor.js';
import { maxPoolInt8 } from '../src/cpu/int8.js';
import { statisticsCollector } from '../src/calibrate.js';
import { fullQuantize, FullQuantOptions } from '../src/quant/full-quant.js';
import { klThresholdBin, activationRange, CALIBRATION_METHODS } from '../src/quant/calibrators.js';
import { calibrationSource } from '../src/quant/calib-data.js';
import type { SampleSource, TensorStats } from '../src/quant/stats.js';
import { meanError } from '../src/bench/accuracy.js';
import type { Graph } from '../src/ir/graph.js';
import { resizeArea, toTensor } from '../src/data/images.js';
import { decodeImage } from '../src/data/decode.js';
import { model, readBytes, mnistDigits, photo, PHOTOS, argmax, IMAGENET, SHARED } from './helpers/data.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import { tfliteOutputScales } from './helpers/tflite-quant.js';

const arraySource = (xs: Float32Array[][]): SampleSource => ({ count: xs.length, get: (i) => xs[i] });
/** Quantize a fresh copy of a model, write the .ms with every QuantParam field and read it back. */
async function quantizeModel(file: string, fmk: Fmk, src: SampleSource, o: FullQuantOptions) {
  const g = loadModel(readBytes(model(file)), fmk, file);
  const r = await fullQuantize(g, src, { batchSize: 8, collect: statisticsCollector({ device: 'cpu' }), reportSamples: 4, ...o });
  return { g: readMs(writeMs(g, { explicitQuantParams: true })), r };
}

describe('calibrator arithmetic', () => {
  it('KL keeps 128 bins when all mass sits in them, and the last bin for a flat histogram', () => {
    const peaked = new Float64Array(2048);
    for (let i = 0; i < 128; i++) peaked[i] = 1000 + ((i * 37) % 11);
    // i = 128: P is the histogram itself (plus 1e-7 tail mass), Q equals P: KL = 0, the minimum.
    expect(klThresholdBin(peaked)).toBe(128);
    // Flat: every candidate's P spikes in its last bin with the tail mass; the smallest spike (i = 2047) wins.
    expect(klThresholdBin(new Float64Array(2048).fill(50))).toBe(2047);
    const st: TensorStats = { tensor: 0, name: 't', min: -1, max: 4.096, nanCount: 0, infCount: 0, histogram: peaked, histMax: 4.096 };
    const r = activationRange('KL', st);
    expect(r.hi).toBeCloseTo(128.5 * (4.096 / 2048), 6); // T = (i + 0.5) * interval
    expect(r.zeroPoint).toBe(0);
    expect(r.scale).toBeCloseTo((2 * r.hi) / 255, 6);
  });
  it('MAX_MIN and REMOVAL_OUTLIER on small tensors', () => {
    const mm = activationRange('MAX_MIN', { tensor: 0, name: 'a', min: -1, max: 3, nanCount: 0, infCount: 0 });
    expect(mm.scale).toBeCloseTo(4 / 255, 6);
    expect(mm.zeroPoint).toBe(-128 + Math.round(1 / (4 / 255)));
    // per-sample 0.01 % / 99.99 % values of two samples: (-2, 6) and (-4, 10) -> range [-3, 8]
    const ro = activationRange('REMOVAL_OUTLIER', { tensor: 0, name: 'b', min: -9, max: 99, nanCount: 0, infCount: 0, lowSum: -6, highSum: 16, samples: 2 });
    expect([ro.lo, ro.hi]).toEqual([-3, 8]);
    expect(ro.scale).toBeCloseTo(11 / 255, 6);
  });
});

describe('int8 MaxPool (nnacl pooling_int8)', () => {
  const node = { name: 'p', op: 'MaxPoolFusion', attrs: { kernel_size: [2, 2], strides: [2, 2], pad: [0, 0, 0, 0], pad_mode: 0 }, inputs: [0], outputs: [1], quantType: 5 };
  const q = (scale: number, zeroPoint: number) => [{ scale, zeroPoint, min: 0, max: 0, narrowRange: true, numBits: 8, inited: true, varCorr: 1, meanCorr: 0, dstDtype: 32, roundType: 1, multiplier: 1 }];
  const graphWith = (outScale: number, outZp: number) => ({ tensors: [{ name: 'x', quant: q(0.5, 3) }, { name: 'y', quant: q(outScale, outZp) }] }) as unknown as Graph;
  // 1x2x4x1 NHWC: windows {-7, 5, -128, 0} and {12, 127, 9, -3}.
  const x = { shape: [1, 2, 4, 1], data: Int8Array.from([-7, 5, 12, 127, -128, 0, 9, -3]) };
  it('is the plain max when the output keeps the input parameters', () => {
    expect(Array.from(maxPoolInt8(node, [x], graphWith(0.5, 3))[0].data)).toEqual([5, 127]);
  });
  it('rescales by in_scale / out_scale with C round and an int8 wrap when they differ', () => {
    // (5 - 3) * 0.5 / 0.2 = 5 -> 5 - 10 = -5; (127 - 3) * 2.5 = 310 -> 300 wraps to 44.
    expect(Array.from(maxPoolInt8(node, [x], graphWith(0.2, -10))[0].data)).toEqual([-5, 44]);
  });
});

describe('mnist-8: 100 calibration digits, 2,000 test digits', () => {
  const calib = arraySource(mnistDigits(100, 0).map((d) => [d.pixels]));
  const test = mnistDigits(2000, 3000);
  const accuracy = (g: Graph) => test.filter((d) => argmax(run(g, [{ shape: [1, 28, 28, 1], data: d.pixels }])[0].data) === d.label).length / test.length;
  const floatAcc = accuracy(loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist'));
  for (const method of CALIBRATION_METHODS) {
    it(`${method}: int8 accuracy within 0.3 points of float`, async () => {
      const { g } = await quantizeModel('onnx/mnist-8.onnx', 'ONNX', calib, { method, biasCorrection: false });
      const acc = accuracy(g);
      console.log(`mnist-8 ${method}: int8 ${(acc * 100).toFixed(2)}% vs float ${(floatAcc * 100).toFixed(2)}%`);
      expect(floatAcc - acc).toBeLessThanOrEqual(0.003 + 1e-12);
      // the file as MindSpore Lite expects it: float graph I/O, QUANT_ALL int8 nodes, casts at the borders
      expect(g.tensors[g.inputs[0]].dtype).toBe('float32');
      expect(g.tensors[g.outputs[0]]).toMatchObject({ dtype: 'float32', name: 'Plus214_Output_0' });
      const convs = g.nodes.filter((n) => n.op === 'Conv2DFusion');
      expect(convs.every((n) => n.quantType === 5)).toBe(true);
      expect(g.nodes.filter((n) => n.op === 'QuantDTypeCast').length).toBeGreaterThanOrEqual(4);
      for (const c of convs) {
        expect(g.tensors[c.inputs[0]]).toMatchObject({ dtype: 'int8' });
        expect(g.tensors[c.inputs[0]].quant).toHaveLength(1);
        expect(g.tensors[c.inputs[1]].dtype).toBe('int8');
        expect(g.tensors[c.inputs[1]].quant!.every((q) => q.zeroPoint === 0)).toBe(true);
        expect(g.tensors[c.inputs[2]].dtype).toBe('int32');
      }
    });
  }
});

describe('SqueezeNet calibrated on the 17 photos', () => {
  const photos = PHOTOS.map((f) => photo(f, 224, 224, { channels: 'BGR' }));
  const src = arraySource(photos.map((p) => [p]));
  const floatG = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'squeezenet');
  const floatOut = photos.map((x) => run(floatG, [{ shape: [1, 224, 224, 3], data: x }])[0].data);
  const evaluate = (g: Graph) => {
    const outs = photos.map((x) => run(g, [{ shape: [1, 224, 224, 3], data: x }])[0].data);
    const agree = outs.filter((o, i) => argmax(o) === argmax(floatOut[i])).length;
    const mre = outs.reduce((s, o, i) => s + meanError(o, floatOut[i]), 0) / outs.length;
    const l2 = outs.reduce((s, o, i) => s + Array.from(o).reduce((a, v, k) => a + (v - floatOut[i][k]) ** 2, 0), 0);
    return { agree, mre, l2 };
  };
  it('int8 top-1 equals float top-1 on at least 15 of 17 photos with the best method; bias correction helps', async () => {
    const results: Record<string, { agree: number; mre: number; l2: number }> = {};
    for (const method of ['MAX_MIN', 'KL', 'REMOVAL_OUTLIER'] as const) {
      const { g } = await quantizeModel('onnx/squeezenet1.1-fp32.onnx', 'ONNX', src, { method, biasCorrection: true });
      results[method] = evaluate(g);
      console.log(`squeezenet ${method} (bias correction): top-1 = float on ${results[method].agree}/17, mean relative error ${(results[method].mre * 100).toFixed(2)}%`);
    }
    const best = Math.max(...Object.values(results).map((r) => r.agree));
    expect(best).toBeGreaterThanOrEqual(15);
    const { g: noBc } = await quantizeModel('onnx/squeezenet1.1-fp32.onnx', 'ONNX', src, { method: 'MAX_MIN', biasCorrection: false });
    const without = evaluate(noBc);
    console.log(`squeezenet MAX_MIN output squared error: ${without.l2.toExponential(3)} without bias correction, ${results.MAX_MIN.l2.toExponential(3)} with`);
    expect(results.MAX_MIN.l2).toBeLessThan(without.l2);
  });
});

describe('TFLite models', () => {
  const cifar = [...PHOTOS.map((f) => path.join(IMAGENET, f))].map((f) => toTensor(resizeArea(decodeImage(readBytes(f)), 32, 32)));
  it('ResNet-8 MAX_MIN activation scales of the conv and add tensors are within 1.5x of TFLite\'s own int8 model', async () => {
    const g = loadModel(readBytes(model('tflite/resnet8-cifar10-float.tflite')), 'TFLITE', 'resnet8');
    const { ranges } = await fullQuantize(g, arraySource(cifar.map((x) => [x])), { method: 'MAX_MIN', biasCorrection: false, collect: statisticsCollector({ device: 'cpu' }), reportSamples: 2 });
    const ref = tfliteOutputScales(readBytes(model('tflite/resnet8-cifar10-int8-reference.tflite')));
    const float = loadModel(readBytes(model('tflite/resnet8-cifar10-float.tflite')), 'TFLITE', 'resnet8');
    expect(ref.length).toBe(float.nodes.length); // same operators, same order
    let compared = 0;
    // TFLite calibrates the outputs of CONV_2D and ADD (and FULLY_CONNECTED, printed below); AVERAGE_POOL_2D and
    // RESHAPE outputs inherit their input's scale by op constraint, so they are not calibrated choices to compare.
    const CALIBRATED = new Set([3, 0]);
    const fc = float.nodes.findIndex((n) => n.op === 'FullConnection');
    // Our calibration set is 17 photos, not CIFAR-10: the logits are smaller than on the data TFLite calibrated with.
    console.log(`logits (FULLY_CONNECTED) scale: ours ${ranges.get(float.nodes[fc].outputs[0])!.scale.toExponential(3)}, TFLite ${ref[fc].scale.toExponential(3)}`);
    float.nodes.forEach((n, k) => {
      const r = ranges.get(n.outputs[0]);
      if (!r || !CALIBRATED.has(ref[k].code)) return;
      const ratio = r.scale / ref[k].scale;
      console.log(`${n.name}: ours ${r.scale.toExponential(3)} TFLite ${ref[k].scale.toExponential(3)} ratio ${ratio.toFixed(2)}`);
      expect(ratio).toBeGreaterThan(1 / 1.5);
      expect(ratio).toBeLessThan(1.5);
      compared++;
    });
    expect(compared).toBeGreaterThanOrEqual(10);
  });
  it('VWW still separates person.bmp from no_person.bmp', async () => {
    const person = (f: string) => toTensor(decodeImage(readBytes(path.join(SHARED, 'data/person', f))), { mean: [128, 128, 128], std: [128, 128, 128] });
    const calib = [person('person.bmp'), person('no_person.bmp'), ...PHOTOS.slice(0, 8).map((f) => photo(f, 96, 96, { mean: [128, 128, 128], std: [128, 128, 128] }))];
    const { g } = await quantizeModel('tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE', arraySource(calib.map((x) => [x])), { method: 'MAX_MIN', biasCorrection: true });
    const p = (x: Float32Array) => run(g, [{ shape: [1, 96, 96, 3], data: x }])[0].data;
    expect(argmax(p(person('person.bmp')))).toBe(1);
    expect(argmax(p(person('no_person.bmp')))).toBe(0);
  });
});

describe('a two-input model', () => {
  // y = Conv(a + b): two real inputs, calibrated from two directories paired by sorted file name.
  const onnx = buildOnnx({
    inputs: [{ name: 'a', dims: [1, 4] }, { name: 'b', dims: [1, 4] }], outputs: ['y'],
    inits: [{ name: 'w', dims: [4, 3], data: Float32Array.from([1, 0, 0.5, -1, 2, 0, 0, 1, 1, 0.5, -0.5, 2]) }],
    nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['s'] }, { op: 'MatMul', inputs: ['s', 'w'], outputs: ['y'] }],
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'webptq-2in-'));
  mkdirSync(path.join(dir, 'a'));
  mkdirSync(path.join(dir, 'b'));
  // a_i is small, b_i grows with i: the sum's range depends on which files get paired.
  for (let i = 0; i < 4; i++) {
    writeFileSync(path.join(dir, 'a', `s${i}.bin`), Float32Array.from([i, -i, 0.5, 1]));
    writeFileSync(path.join(dir, 'b', `s${i}.bin`), Float32Array.from([10 * i, 0, -10 * i, 1]));
  }
  const rangeOf = async () => {
    const g = loadModel(onnx, 'ONNX', 'two-inputs');
    const src = calibrationSource(g, { dirs: [path.join(dir, 'a'), path.join(dir, 'b')], count: 4, inputType: 'BIN' });
    const { ranges } = await fullQuantize(g, src, { method: 'REMOVAL_OUTLIER', collect: statisticsCollector({ device: 'cpu' }) });
    const matmul = g.nodes.find((n) => n.op === 'MatMulFusion')!;
    return ranges.get(g.nodes.find((n) => n.op === 'AddFusion')!.outputs[0]) ?? ranges.get(matmul.outputs[0])!;
  };
  it('pairs files by lexicographic order across directories; reordering a directory changes the pairing', async () => {
    const paired = await rangeOf();
    // a_i + b_i = [11i, -i, 0.5 - 10i, 2]: per-sample max 2, 11, 22, 33 (mean 17), min 0, -9.5, -19.5, -29.5 (mean -14.625)
    expect(paired.hi).toBeCloseTo(17, 5);
    expect(paired.lo).toBeCloseTo(-14.625, 5);
    // Renaming b's files reverses their order: a_i now meets b_(3-i).
    for (let i = 0; i < 4; i++) renameSync(path.join(dir, 'b', `s${i}.bin`), path.join(dir, 'b', `t${3 - i}.bin`));
    const swapped = await rangeOf();
    // a_i + b_(3-i): max 30, 21, 12, 3 (mean 16.5), min -29.5, -19.5, -9.5, -3 (mean -15.375)
    expect(swapped.hi).toBeCloseTo(16.5, 5);
    expect(swapped.lo).toBeCloseTo(-15.375, 5);
    console.log(`two-input sum range: [${paired.lo}, ${paired.hi}] paired by name, [${swapped.lo}, ${swapped.hi}] after reordering b`);
  });
});
