/**
 * Every ONNX model in ../shared/models/onnx and ../shared/models/corpus, converted to MindSpore Lite form and
 * run by the CPU executor, straight from the IR and after a write/read of the .ms file, against
 * onnxruntime-node on real inputs.
 */
import { describe, it, expect } from 'vitest';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import type { Graph } from '../src/ir/graph.js';
import { model, readBytes, mnistDigits, photo, PHOTOS, nhwcToNchw, argmax, relMaxDiff } from './helpers/data.js';
import { ortRun } from './helpers/ort.js';
import { ONNX_CORPUS, corpusPath, corpusInput } from './helpers/corpus.js';

function convertBoth(file: string): [Graph, Graph] {
  const g = loadModel(readBytes(model(file)), 'ONNX', file);
  return [g, readMs(toMs(g), file)];
}

describe('mnist-8.onnx', () => {
  const [ir, ms] = convertBoth('onnx/mnist-8.onnx');
  it('declares an NHWC input and keeps the ONNX names', () => {
    expect(ms.tensors[ms.inputs[0]].name).toBe('Input3');
    expect(ms.tensors[ms.inputs[0]].shape).toEqual([1, 28, 28, 1]);
    expect(ms.tensors[ms.outputs[0]].name).toBe('Plus214_Output_0');
    expect(ms.nodes.map((n) => n.op)).toEqual(['Conv2DFusion', 'MaxPoolFusion', 'Conv2DFusion', 'MaxPoolFusion', 'Transpose', 'Reshape', 'MatMulFusion']);
    // Conv + Add(bias) + Relu fused as MindSpore does
    expect(ms.nodes[0].attrs.activation_type).toBe(1);
    expect(ms.nodes[0].inputs.length).toBe(3);
  });
  it('matches onnxruntime on 50 real digits, from the IR and from the .ms', async () => {
    let worst = 0;
    for (const d of mnistDigits(50, 3000)) {
      const ref = (await ortRun(model('onnx/mnist-8.onnx'), { Input3: { data: d.pixels, dims: [1, 1, 28, 28] } })).Plus214_Output_0;
      for (const g of [ir, ms]) {
        const [out] = run(g, [{ shape: [1, 28, 28, 1], data: d.pixels }]);
        worst = Math.max(worst, relMaxDiff(out.data, ref));
      }
    }
    console.log(`mnist-8: worst max|diff|/max|ref| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('SqueezeNet 1.1', () => {
  const [ir, ms] = convertBoth('onnx/squeezenet1.1-fp32.onnx');
  const [, ms16] = convertBoth('onnx/squeezenet1.1-fp16.onnx');
  const bgr = (f: string) => photo(f, 224, 224, { channels: 'BGR' });

  it('fp32: matches onnxruntime within 1e-4 and has the same top-1 on every photo', async () => {
    let worst = 0;
    for (const f of PHOTOS) {
      const x = bgr(f);
      const ref = (await ortRun(model('onnx/squeezenet1.1-fp32.onnx'), { data_0: { data: nhwcToNchw(x, 1, 224, 224, 3), dims: [1, 3, 224, 224] } })).softmaxout_1;
      for (const g of [ir, ms]) {
        const [out] = run(g, [{ shape: [1, 224, 224, 3], data: x }]);
        worst = Math.max(worst, relMaxDiff(out.data, ref));
        expect(argmax(out.data), f).toBe(argmax(ref));
      }
    }
    console.log(`squeezenet fp32: worst rel diff ${worst.toExponential(2)} over ${PHOTOS.length} photos`);
    expect(worst).toBeLessThan(1e-4);
  }, 120_000);

  it('fp16: weights become float32 (= the fp32 network); top-1 equals onnxruntime running the fp16 model', async () => {
    expect(ms16.tensors.filter((t) => t.data).every((t) => t.dtype === 'float32' || t.dtype === 'int32')).toBe(true);
    let worst = 0, fp16Dev = 0;
    for (const f of PHOTOS.slice(0, 6)) {
      const x = bgr(f);
      const ref32 = (await ortRun(model('onnx/squeezenet1.1-fp32.onnx'), { data_0: { data: nhwcToNchw(x, 1, 224, 224, 3), dims: [1, 3, 224, 224] } })).softmaxout_1;
      const [out] = run(ms16, [{ shape: [1, 224, 224, 3], data: x }]);
      worst = Math.max(worst, relMaxDiff(out.data, ref32));
      expect(argmax(out.data), f).toBe(argmax(ref32));
      const ref16 = (await ortRun(model('onnx/squeezenet1.1-fp16.onnx'), { data_0: { data: nhwcToNchw(x, 1, 224, 224, 3), dims: [1, 3, 224, 224] } }, true)).softmaxout_1;
      fp16Dev = Math.max(fp16Dev, relMaxDiff(out.data, ref16));
      expect(argmax(out.data), f).toBe(argmax(ref16));
    }
    console.log(`squeezenet fp16 (as float32) vs onnxruntime fp32 network: worst rel diff ${worst.toExponential(2)}; vs onnxruntime computing in fp16: ${fp16Dev.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);
});

describe('UltraFace RFB-320', () => {
  const [ir, ms] = convertBoth('onnx/ultraface-rfb-320.onnx');
  it('matches onnxruntime on real photos (scores and boxes)', async () => {
    let worst = 0;
    for (const f of ['face.jpg', 'grace_hopper.bmp', 'kimono.jpg']) {
      const x = photo(f, 320, 240, { mean: [127, 127, 127], std: [128, 128, 128] });
      const ref = await ortRun(model('onnx/ultraface-rfb-320.onnx'), { input: { data: nhwcToNchw(x, 1, 240, 320, 3), dims: [1, 3, 240, 320] } });
      for (const g of [ir, ms]) {
        const [scores, boxes] = run(g, [{ shape: [1, 240, 320, 3], data: x }]);
        expect(scores.shape).toEqual([1, 4420, 2]);
        worst = Math.max(worst, relMaxDiff(scores.data, ref.scores), relMaxDiff(boxes.data, ref.boxes));
      }
    }
    console.log(`ultraface: worst rel diff ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);
});

describe('real ONNX exports from the wild (models/corpus)', () => {
  for (const m of ONNX_CORPUS) {
    it(`${m.file}: converts${m.dynamic ? ' with --inputShape' : ''} and equals onnxruntime on a real photo, from the IR and the .ms`, async () => {
      const t0 = performance.now();
      const g = loadModel(readBytes(corpusPath(m)), 'ONNX', m.file, { inputShapes: new Map([[m.input, m.dims]]) });
      const ms = Math.round(performance.now() - t0);
      const x = corpusInput(m);
      const ref = await ortRun(corpusPath(m), { [m.input]: { data: x.ort, dims: m.dims } });
      let worst = 0;
      for (const graph of [g, readMs(toMs(g), m.file)]) {
        const outs = run(graph, [{ shape: x.shape, data: x.nhwc }]);
        outs.forEach((o, i) => {
          const r = ref[graph.tensors[graph.outputs[i]].name];
          expect(r, `output ${graph.tensors[graph.outputs[i]].name} keeps its ONNX name`).toBeDefined();
          expect(o.data.length).toBe(r.length);
          worst = Math.max(worst, relMaxDiff(o.data, r));
        });
      }
      console.log(`${m.file}: converted in ${ms} ms, ${g.nodes.length} ops; worst max|diff|/max|ref| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    }, 120_000);
  }
  // Symbolic dims kept: the .ms has -1 and runtime shape ops; the executors take any size the model allows.
  const SIZES: Record<string, number[][]> = { 'ppocr-rec.onnx': [[1, 3, 48, 320], [2, 3, 48, 640]], 'espcn-superres.onnx': [[1, 1, 224, 224], [2, 1, 224, 224]] };
  const DECLARED: Record<string, number[]> = { 'ppocr-rec.onnx': [-1, 48, -1, 3], 'espcn-superres.onnx': [-1, 224, 224, 1] };
  for (const m of ONNX_CORPUS.filter((c) => c.dynamic))
    it(`${m.file} without --inputShape: symbolic dims stay -1 and the .ms equals onnxruntime at ${SIZES[m.file].map((d) => d.join('x')).join(' and ')}`, async () => {
      const g = loadModel(readBytes(corpusPath(m)), 'ONNX', m.file);
      const ms = readMs(toMs(g), m.file);
      expect(ms.tensors[ms.inputs[0]].shape).toEqual(DECLARED[m.file]);
      for (const dims of SIZES[m.file]) {
        const [n, c, h, w] = dims;
        const one = photo('face.jpg', w, h, m.pre);
        const nhwc = new Float32Array(one.length * n);
        for (let i = 0; i < n; i++) nhwc.set(one.map((v) => v * (1 - 0.2 * i)), i * one.length);
        const ref = await ortRun(corpusPath(m), { [m.input]: { data: nhwcToNchw(nhwc, n, h, w, c), dims } });
        const outs = run(ms, [{ shape: [n, h, w, c], data: nhwc }]);
        outs.forEach((o, i) => expect(relMaxDiff(o.data, ref[ms.tensors[ms.outputs[i]].name]), dims.join('x')).toBeLessThan(1e-4));
      }
    }, 120_000);
  it('with --inputShape every shape subgraph folds: no Shape op is left', () => {
    const m = ONNX_CORPUS.find((c) => c.file === 'ppocr-rec.onnx')!;
    expect(loadModel(readBytes(corpusPath(m)), 'ONNX', m.file).nodes.some((n) => n.op === 'Shape')).toBe(true);
    expect(loadModel(readBytes(corpusPath(m)), 'ONNX', m.file, { inputShapes: new Map([[m.input, m.dims]]) }).nodes.some((n) => n.op === 'Shape')).toBe(false);
  });
});
