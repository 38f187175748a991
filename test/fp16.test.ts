/** `--fp16=on`: float32 constants stored as float16, as MindSpore's ConvertFP32ToFP16 pass does. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel, Fmk } from '../src/convert.js';
import { writeMs } from '../src/ir/export/ms.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { storeConstantsAsFloat16 } from '../src/ir/passes/fp16.js';
import { float32ToFloat16, float16ToFloat32 } from '../src/ir/numeric.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { model, readBytes, relMaxDiff } from './helpers/data.js';
import { cli } from './helpers/cli.js';

const MODELS: [string, Fmk][] = [
  ['onnx/mnist-8.onnx', 'ONNX'], ['onnx/squeezenet1.1-fp32.onnx', 'ONNX'], ['onnx/ultraface-rfb-320.onnx', 'ONNX'],
  ['tflite/resnet8-cifar10-float.tflite', 'TFLITE'], ['tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE'],
  ['tflite/kws-dscnn-hybrid.tflite', 'TFLITE'], ['tflite/ad01-autoencoder-float.tflite', 'TFLITE'],
  ['corpus/deeplabv3-mnv2.onnx', 'ONNX'], ['corpus/yunet-120x160.onnx', 'ONNX'], ['corpus/mp-hand-landmark-lite.tflite', 'TFLITE'],
];

/** Seeded uniform [0, 1) data. */
function noise(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 2 ** 32));
}

describe('--fp16=on', () => {
  it('half bits round to nearest even, and every half survives the round trip', () => {
    expect([1 / 3, 65504, 65519, 65520, 2 ** -24, 2 ** -25, 3 * 2 ** -26, -0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11].map(float32ToFloat16))
      .toEqual([0x3555, 0x7bff, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x0001, 0xae66, 0x3c00, 0x3c02]);
    for (let h = 0; h < 0x10000; h++) {
      const v = float16ToFloat32(h);
      if (!Number.isNaN(v)) expect(float32ToFloat16(v)).toBe(h);
    }
  });

  for (const [file, fmk] of MODELS) {
    it(`${file}: half the size, outputs within 1e-2 of float through the written file`, () => {
      const g = loadModel(readBytes(model(file)), fmk, file);
      const floatMs = writeMs(g);
      const converted = storeConstantsAsFloat16(g);
      const halfMs = writeMs(g);
      const ratio = halfMs.length / floatMs.length;
      const back = readMs(halfMs);
      const consts = back.tensors.filter((t) => t.raw && t.data);
      expect(converted).toBeGreaterThan(0);
      expect(consts.every((t) => t.dtype === 'float16')).toBe(true);
      expect(back.tensors.some((t) => t.dtype === 'float32' && t.data)).toBe(false);
      const float = readMs(floatMs);
      const inputs = float.inputs.map((id, k) => {
        const shape = float.tensors[id].shape.map((d) => (d < 0 ? 1 : d));
        return { shape, data: noise(shape.reduce((a, b) => a * b, 1), 17 + k) };
      });
      const want = run(float, inputs), got = run(back, inputs);
      const worst = Math.max(...want.map((o, k) => relMaxDiff(got[k].data, o.data)));
      console.log(`${file}: fp16 .ms ${ratio.toFixed(3)}x of float, worst output max |diff| / max |float| ${worst.toExponential(2)}`);
      if (floatMs.length > 100_000) expect(ratio).toBeLessThan(0.56);
      expect(worst).toBeLessThan(1e-2);
    }, 120_000);
  }

  it('after weight quantization only the float constants are halved; the CLI flag and its check', () => {
    const g = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist');
    weightQuantize(g, { bitNum: 8, minQuantWeightSize: 0, minQuantWeightChannel: 0 });
    const int8Before = g.tensors.filter((t) => t.dtype === 'int8').length;
    storeConstantsAsFloat16(g);
    expect(g.tensors.filter((t) => t.dtype === 'int8').length).toBe(int8Before);
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-fp16-'));
    const out = path.join(dir, 'm');
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${out}`, '--fp16=on']);
    expect(r.code).toBe(0);
    expect(readMs(new Uint8Array(readFileSync(`${out}.ms`))).tensors.filter((t) => t.dtype === 'float16').length).toBeGreaterThan(4);
    expect(statSync(`${out}.ms`).size).toBeLessThan(16_000);
    const bad = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${out}2`, '--fp16=yes']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe('INPUT ILLEGAL: fp16 must be on|off, got "yes"');
  });
});
