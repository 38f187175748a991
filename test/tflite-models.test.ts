/** The TFLite models in ../shared/models/tflite, converted and run on real data. */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { resizeArea, toTensor } from '../src/data/images.js';
import { decodeImage } from '../src/data/decode.js';
import { model, readBytes, argmax, IMAGENET, SHARED, relMaxDiff } from './helpers/data.js';

const convert = (f: string) => readMs(toMs(loadModel(readBytes(model(f)), 'TFLITE', f)), f);
const CIFAR = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

describe('ResNet-8 (CIFAR-10)', () => {
  const g = convert('tflite/resnet8-cifar10-float.tflite');
  // The MLPerf Tiny model takes 0..255 RGB; shrinking 512 px photos to 32 px needs an area filter.
  const input = (f: string) => toTensor(resizeArea(decodeImage(readBytes(path.join(IMAGENET, f))), 32, 32));
  it('keeps TFLite names and NHWC layout', () => {
    expect(g.tensors[g.inputs[0]].shape).toEqual([1, 32, 32, 3]);
    expect(g.nodes.filter((n) => n.op === 'Conv2DFusion').length).toBe(9);
    expect(g.nodes.some((n) => n.op === 'Activation')).toBe(false); // RELUs are fused
  });
  for (const [f, label] of [['cat.bmp', 'cat'], ['bird.bmp', 'bird']]) {
    it(`classifies ${f} as ${label}`, () => {
      const [out] = run(g, [{ shape: [1, 32, 32, 3], data: input(f) }]);
      expect(CIFAR[argmax(out.data)]).toBe(label);
    });
  }
  it('runs a batch of 2 with the same rows as two single runs', () => {
    const a = input('cat.bmp'), b = input('bird.bmp');
    const both = new Float32Array([...a, ...b]);
    const [out] = run(g, [{ shape: [2, 32, 32, 3], data: both }]);
    const [oa] = run(g, [{ shape: [1, 32, 32, 3], data: a }]);
    const [ob] = run(g, [{ shape: [1, 32, 32, 3], data: b }]);
    expect(out.shape).toEqual([2, 10]);
    expect(relMaxDiff(out.data.slice(0, 10), oa.data)).toBeLessThan(1e-6);
    expect(relMaxDiff(out.data.slice(10), ob.data)).toBeLessThan(1e-6);
  });
});

describe('Visual Wake Words MobileNetV1', () => {
  const g = convert('tflite/vww-mobilenetv1-0.25-96-float.tflite');
  const prob = (f: string) => {
    // 96x96 gray test images, replicated to RGB, scaled to [-1, 1] as MobileNet expects.
    const x = toTensor(decodeImage(readBytes(path.join(SHARED, 'data/person', f))), { mean: [128, 128, 128], std: [128, 128, 128] });
    return run(g, [{ shape: [1, 96, 96, 3], data: x }])[0].data;
  };
  it('has depthwise convolutions with [C, KH, KW, 1] weights', () => {
    const dw = g.nodes.filter((n) => n.op === 'Conv2DFusion' && n.attrs.group === n.attrs.out_channel && (n.attrs.group as number) > 1);
    expect(dw.length).toBe(13);
    for (const n of dw) expect(g.tensors[n.inputs[1]].shape[3]).toBe(1);
  });
  it('says person for person.bmp and no person for no_person.bmp', () => {
    expect(argmax(prob('person.bmp'))).toBe(1);
    expect(argmax(prob('no_person.bmp'))).toBe(0);
  });
});

describe('hybrid and fully-connected models', () => {
  it('KWS DS-CNN (int8 weights dequantized to float) gives finite probabilities', () => {
    const g = convert('tflite/kws-dscnn-hybrid.tflite');
    expect(g.tensors.filter((t) => t.data && t.dtype !== 'int32').every((t) => t.dtype === 'float32')).toBe(true);
    const x = Float32Array.from({ length: 490 }, (_, i) => Math.sin(i / 7) * 20);
    const [out] = run(g, [{ shape: [1, 49, 10, 1], data: x }]);
    expect(out.shape).toEqual([1, 12]);
    expect(out.data.every(Number.isFinite)).toBe(true);
    expect(Array.from(out.data).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
  it('the anomaly-detection autoencoder reconstructs 640 finite values', () => {
    const g = convert('tflite/ad01-autoencoder-float.tflite');
    const [out] = run(g, [{ shape: [1, 640], data: Float32Array.from({ length: 640 }, (_, i) => Math.cos(i / 13)) }]);
    expect(out.shape).toEqual([1, 640]);
    expect(out.data.every(Number.isFinite)).toBe(true);
  });
  it('refuses a fully-quantized TFLite model with one clear error', () => {
    expect(() => loadModel(readBytes(model('tflite/resnet8-cifar10-int8-reference.tflite')), 'TFLITE', 'resnet8-int8.tflite'))
      .toThrow(/fully quantized TFLite models are not supported/);
  });
});
