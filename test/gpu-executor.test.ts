/** The WebGPU executor against the CPU executor on every real model, at batch sizes 1 and 3. */
import { describe, it, expect, afterAll } from 'vitest';
import { loadModel, Fmk } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { sizeOf } from '../src/ir/graph.js';
import type { Graph } from '../src/ir/graph.js';
import { model, readBytes, mnistDigits, photo, relMaxDiff } from './helpers/data.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';
import { resizeArea, toTensor } from '../src/data/images.js';
import { decodeImage } from '../src/data/decode.js';
import path from 'node:path';
import { SHARED, IMAGENET } from './helpers/data.js';
import { ONNX_CORPUS, corpusPath, corpusInput } from './helpers/corpus.js';

afterAll(async () => (await testGpu())?.release());

/** Real inputs per model, one sample each, several samples for batches. */
const cases: { file: string; fmk: Fmk; sample: (i: number) => Float32Array[]; batches: number[] }[] = [
  { file: 'onnx/mnist-8.onnx', fmk: 'ONNX', sample: (i) => [mnistDigits(1, i)[0].pixels], batches: [1, 3] },
  { file: 'onnx/squeezenet1.1-fp32.onnx', fmk: 'ONNX', sample: (i) => [photo(['cat.bmp', 'owl.jpg', 'tulip.jpg'][i % 3], 224, 224, { channels: 'BGR' })], batches: [1, 3] },
  { file: 'onnx/ultraface-rfb-320.onnx', fmk: 'ONNX', sample: (i) => [photo(['face.jpg', 'kimono.jpg', 'grace_hopper.bmp'][i % 3], 320, 240, { mean: [127, 127, 127], std: [128, 128, 128] })], batches: [1, 3] },
  { file: 'tflite/resnet8-cifar10-float.tflite', fmk: 'TFLITE', sample: (i) => [toTensor(resizeArea(decodeImage(readBytes(path.join(IMAGENET, ['cat.bmp', 'bird.bmp', 'dragonfly.bmp'][i % 3]))), 32, 32))], batches: [1, 3] },
  { file: 'tflite/vww-mobilenetv1-0.25-96-float.tflite', fmk: 'TFLITE', sample: (i) => [toTensor(decodeImage(readBytes(path.join(SHARED, 'data/person', i % 2 ? 'person.bmp' : 'no_person.bmp'))), { mean: [128, 128, 128], std: [128, 128, 128] })], batches: [1, 3] },
  { file: 'tflite/kws-dscnn-hybrid.tflite', fmk: 'TFLITE', sample: (i) => [Float32Array.from({ length: 490 }, (_, k) => Math.sin((k + 31 * i) / 7) * 20)], batches: [1, 3] },
  { file: 'tflite/ad01-autoencoder-float.tflite', fmk: 'TFLITE', sample: (i) => [Float32Array.from({ length: 640 }, (_, k) => Math.cos((k + 17 * i) / 13))], batches: [1, 3] },
];

function stack(g: Graph, samples: Float32Array[][]): Float32Array[] {
  return g.inputs.map((_, k) => {
    const per = samples[0][k].length;
    const out = new Float32Array(per * samples.length);
    samples.forEach((s, j) => out.set(s[k], j * per));
    return out;
  });
}

describe('GPU executor equals the CPU executor', () => {
  for (const c of cases) {
    it(`${c.file}`, async (t) => {
      const ctx = await gpuOrSkip(t.skip);
      const g = loadModel(readBytes(model(c.file)), c.fmk, c.file);
      const single: Float32Array[] = [];
      for (const batch of c.batches) {
        const ex = await GpuExecutor.create(ctx, g, batch);
        // A model whose constants fix batch 1 (mnist-8, UltraFace) runs one sample per pass.
        const samples = [...Array(ex.batch).keys()].map(c.sample);
        const inputs = stack(g, samples);
        await ex.run(inputs);
        const gpu = await ex.outputs();
        // ex.g: the graph as the executor runs it (batch-1 Reshape targets scaled to the batch).
        const cpu = run(ex.g, inputs.map((d, k) => ({ shape: [ex.batch * g.tensors[g.inputs[k]].shape[0], ...g.tensors[g.inputs[k]].shape.slice(1)], data: d })));
        gpu.forEach((o, k) => {
          expect(o.shape).toEqual(cpu[k].shape);
          expect(sizeOf(o.shape)).toBe(cpu[k].data.length);
          const d = relMaxDiff(o.data, cpu[k].data);
          console.log(`${c.file} batch ${ex.batch}${ex.batch !== batch ? ` (asked ${batch}: constants fix the batch)` : ''}: output ${k} max|gpu-cpu|/max|cpu| = ${d.toExponential(2)}`);
          expect(d).toBeLessThan(1e-4);
          // Sample 0 of the batch is the same as sample 0 run alone: the batch really is per-sample.
          if (ex.batch === 1) single[k] = o.data as Float32Array;
          else expect(relMaxDiff(o.data.subarray(0, single[k].length), single[k])).toBeLessThan(1e-5);
        });
        ex.destroy();
      }
    });
  }
});

describe('GPU executor equals the CPU executor on the real ONNX exports (models/corpus)', () => {
  for (const m of ONNX_CORPUS)
    it(m.file, async (t) => {
      const ctx = await gpuOrSkip(t.skip);
      const g = loadModel(readBytes(corpusPath(m)), 'ONNX', m.file, { inputShapes: new Map([[m.input, m.dims]]) });
      const x = corpusInput(m);
      const cpu = run(g, [{ shape: x.shape, data: x.nhwc }]);
      const ex = await GpuExecutor.create(ctx, g, 1);
      await ex.run([x.nhwc]);
      const gpu = await ex.outputs();
      ex.destroy();
      gpu.forEach((o, k) => {
        expect(o.shape).toEqual(cpu[k].shape);
        const d = relMaxDiff(o.data, cpu[k].data);
        console.log(`${m.file}: output ${k} max|gpu-cpu|/max|cpu| = ${d.toExponential(2)}`);
        expect(d).toBeLessThan(1e-4);
      });
    }, 180_000);
});

describe('GPU executor profile (bench:gpu\'s time shares)', () => {
  it('times every op kind that runs a kernel, by device timestamps where the adapter has them, else node by node', async (t) => {
    const ctx = await gpuOrSkip(t.skip);
    const g = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist-8');
    const ex = await GpuExecutor.create(ctx, g, 2);
    await ex.run([new Float32Array(2 * 784).fill(0.5)]);
    const stamped = await ex.profile(), stepped = await ex.profile('node by node');
    ex.destroy();
    expect(stamped.method).toBe(ctx.device.features.has('timestamp-query') ? 'timestamps' : 'node by node');
    expect(stepped.method).toBe('node by node');
    expect([...stamped.ms.keys()].sort()).toEqual([...stepped.ms.keys()].sort());
    expect([...stamped.ms.keys()].every((op) => g.nodes.some((n) => n.op === op))).toBe(true);
    for (const v of [...stamped.ms.values(), ...stepped.ms.values()]) expect(Number.isFinite(v) && v >= 0).toBe(true);
    expect(stamped.ms.get('Conv2DFusion')).toBeGreaterThan(0);
  });
});
