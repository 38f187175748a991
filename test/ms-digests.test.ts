/**
 * The bytes of every `.ms` we write for the shared models, pinned by SHA-256: a refactor that is meant to
 * change nothing (the op registry) must leave them identical. After an intended change of the output, run
 * `UPDATE_MS_DIGESTS=1 npx vitest run test/ms-digests.test.ts` and say in the commit why the bytes moved.
 */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadModel, Fmk } from '../src/convert.js';
import { writeMs } from '../src/ir/export/ms.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { statisticsCollector } from '../src/calibrate.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { model, readBytes, mnistDigits, ROOT } from './helpers/data.js';

const FILE = path.join(ROOT, 'test/fixtures/ms-digests.json');
const MODELS: [string, Fmk][] = [
  ['onnx/mnist-8.onnx', 'ONNX'], ['onnx/squeezenet1.1-fp32.onnx', 'ONNX'], ['onnx/squeezenet1.1-fp16.onnx', 'ONNX'],
  ['onnx/ultraface-rfb-320.onnx', 'ONNX'], ['tflite/resnet8-cifar10-float.tflite', 'TFLITE'], ['tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE'],
  ['tflite/kws-dscnn-hybrid.tflite', 'TFLITE'], ['tflite/ad01-autoencoder-float.tflite', 'TFLITE'], ['mindir/relu.mindir', 'MINDIR'],
  ['corpus/deeplabv3-mnv2.onnx', 'ONNX'], ['corpus/yolox-nano.onnx', 'ONNX'], ['corpus/yunet-120x160.onnx', 'ONNX'],
  ['corpus/mp-hand-landmark-lite.tflite', 'TFLITE'],
];
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function digests(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [file, fmk] of MODELS) {
    const load = () => loadModel(readBytes(model(file)), fmk, file);
    out[`${file} float`] = sha(writeMs(load()));
    for (const bitNum of [8, 3]) {
      const g = load();
      weightQuantize(g, { bitNum, minQuantWeightSize: 0, minQuantWeightChannel: 16 });
      out[`${file} WeightQuant ${bitNum}`] = sha(writeMs(g));
    }
  }
  for (const method of ['MAX_MIN', 'KL', 'REMOVAL_OUTLIER'] as const) {
    const g = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist-8.onnx');
    const digits = mnistDigits(20).map((d) => [d.pixels]);
    await fullQuantize(g, { count: digits.length, get: (i) => digits[i] }, { method, biasCorrection: true, batchSize: 8, collect: statisticsCollector({ device: 'cpu' }) });
    out[`onnx/mnist-8.onnx PostTraining ${method}`] = sha(writeMs(g, { explicitQuantParams: true }));
  }
  return out;
}

describe('.ms bytes of the shared models', () => {
  it('equal the pinned SHA-256 digests', async () => {
    const now = await digests();
    if (process.env.UPDATE_MS_DIGESTS) writeFileSync(FILE, `${JSON.stringify(now, null, 1)}\n`);
    expect(now).toEqual(JSON.parse(readFileSync(FILE, 'utf8')));
  });
});
