/** The TFLite models in ../shared/models/tflite, converted and run on real data. */
import { describe, it, expect, afterAll } from 'vitest';
import path from 'node:path';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { resizeArea, toTensor } from '../src/data/images.js';
import { decodeImage } from '../src/data/decode.js';
import { model, readBytes, argmax, IMAGENET, SHARED, relMaxDiff, photo } from './helpers/data.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';
import type { Graph } from '../src/ir/graph.js';
import type { RT } from '../src/ir/tensor.js';
import { tfliteTensorParams, tfliteOpOutputs } from './helpers/tflite-quant.js';

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
});

describe('fully int8 TFLite models (TFLite\'s own post-training quantization) run int8 with TFLite\'s parameters', () => {
  /** Our int8 tensor for each TFLite op output: the node's own output, or the cast that requantizes a float op's. */
  function compareParams(file: string) {
    const bytes = readBytes(model(file));
    const g = convert(file);
    const tfl = tfliteTensorParams(bytes);
    const rows: string[] = [];
    let compared = 0, weights = 0;
    tfliteOpOutputs(bytes).forEach((outName, k) => {
      const node = g.nodes.find((n) => n.name.endsWith(`-${k}`) && n.op !== 'QuantDTypeCast');
      const want = tfl.get(outName);
      if (!node || !want) return;
      const cast = g.nodes.find((n) => n.op === 'QuantDTypeCast' && n.inputs[0] === node.outputs[0] && g.tensors[n.outputs[0]].dtype === 'int8');
      const id = node.quantType === 5 ? node.outputs[0] : cast?.outputs[0];
      if (id === undefined) return;
      const q = g.tensors[id].quant![0];
      const zp = want.zeroPoints[0] - (want.type === 3 ? 128 : 0);
      rows.push(`${node.name.padEnd(28)} TFLite ${want.scales[0].toExponential(6)} / ${String(zp).padStart(4)}   ours ${q.scale.toExponential(6)} / ${String(q.zeroPoint).padStart(4)}`);
      expect([q.scale, q.zeroPoint], node.name).toEqual([Math.fround(want.scales[0]), zp]);
      compared++;
      if (node.quantType === 5 && (node.op === 'Conv2DFusion' || node.op === 'FullConnection')) {
        const w = g.tensors[node.inputs[1]], tw = tfl.get(w.name)!;
        expect(w.dtype).toBe('int8');
        expect(w.quant!.map((p) => p.scale)).toEqual(tw.scales.map(Math.fround));
        expect(w.quant!.map((p) => p.zeroPoint)).toEqual(tw.zeroPoints);
        weights++;
      }
    });
    console.log(`${file}: ${compared} activation and ${weights} weight parameter sets equal TFLite's\n${rows.join('\n')}`);
    return { g, compared, weights };
  }

  it('ResNet-8: every QuantParam equals TFLite\'s; the cat and the bird are classified as by the float model', () => {
    const { g, compared, weights } = compareParams('tflite/resnet8-cifar10-int8-reference.tflite');
    expect(weights).toBe(10); // 9 convs + the FC
    expect(compared).toBeGreaterThanOrEqual(weights);
    const float = convert('tflite/resnet8-cifar10-float.tflite');
    for (const f of ['cat.bmp', 'bird.bmp']) {
      const x = toTensor(resizeArea(decodeImage(readBytes(path.join(IMAGENET, f))), 32, 32));
      const [q] = run(g, [{ shape: [1, 32, 32, 3], data: x }]), [fl] = run(float, [{ shape: [1, 32, 32, 3], data: x }]);
      expect(CIFAR[argmax(q.data)], f).toBe(CIFAR[argmax(fl.data)]);
      expect(CIFAR[argmax(q.data)]).toBe(f.replace('.bmp', ''));
    }
  });

  it('VWW: every QuantParam equals TFLite\'s; person probabilities follow the float model (input in [0, 1], as its input scale 1/255 says)', () => {
    const { g, weights } = compareParams('tflite/vww-mobilenetv1-0.25-96-int8-reference.tflite');
    expect(weights).toBe(28); // 27 convs + the FC
    const float = convert('tflite/vww-mobilenetv1-0.25-96-float.tflite');
    const person = (gr: Graph, f: string) => run(gr, [{ shape: [1, 96, 96, 3], data: photo(f, 96, 96, { std: [255, 255, 255] }) }])[0].data[1];
    for (const f of ['face.jpg', 'horse-cart.jpg', 'daisy.jpg', 'goldfish.jpg', 'tulip.jpg']) {
      const pq = person(g, f), pf = person(float, f);
      console.log(`VWW person probability on ${f}: int8 ${pq.toFixed(3)}, float ${pf.toFixed(3)}`);
      expect(Math.abs(pq - pf), f).toBeLessThan(0.1);
      expect(pq > 0.5, f).toBe(['face.jpg', 'horse-cart.jpg'].includes(f));
    }
  });
});

describe('MLPerf Tiny streaming wake word (corpus, fully int8 with int8 input)', () => {
  it('converts to int8 convolutions and an int8 FC behind one input cast; gives a deterministic probability row', () => {
    const g = convert('corpus/tiny-str-ww.tflite');
    expect(g.nodes.filter((n) => n.quantType === 5 && n.op === 'Conv2DFusion').length).toBe(8); // 4 CONV_2D + 4 DEPTHWISE_CONV_2D
    expect(g.nodes[0].op).toBe('QuantDTypeCast');
    // features in the input's real range: (q + 128) * 0.0037 for q in -128..127
    const x = Float32Array.from({ length: 1200 }, (_, i) => ((i * 37) % 256) * 0.003701042616739869);
    const [a] = run(g, [{ shape: [1, 30, 1, 40], data: x }]), [b] = run(g, [{ shape: [1, 30, 1, 40], data: x }]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 1);
  });
});

describe('real TFLite exports from the wild (models/corpus), float and WeightQuant 8-bit, CPU and GPU', () => {
  afterAll(async () => (await testGpu())?.release());
  const person = path.join(SHARED, 'data/person/person.bmp'), noPerson = path.join(SHARED, 'data/person/no_person.bmp');
  /** The float model, its 8-bit weight-quantized twin, both through a .ms write and read. */
  const both = (f: string) => {
    const wq = loadModel(readBytes(model(f)), 'TFLITE', f);
    weightQuantize(wq, { bitNum: 8, minQuantWeightSize: 0, minQuantWeightChannel: 16 });
    return { float: convert(f), wq8: readMs(toMs(wq), f) };
  };
  const onGpu = async (skip: () => void, g: Graph, x: Float32Array) => {
    const ex = await GpuExecutor.create(await gpuOrSkip(skip), g, 1);
    await ex.run([x]);
    const outs = await ex.outputs();
    ex.destroy();
    return outs;
  };

  it('MediaPipe selfie segmentation (Convolution2DTransposeBias): the mask is on the person, not the background', async (t) => {
    const { float, wq8 } = both('corpus/mp-selfie-seg.tflite');
    expect(float.nodes.filter((n) => n.op === 'Conv2dTransposeFusion').length).toBeGreaterThan(0);
    const box = (m: RT, x0: number, x1: number, y0: number, y1: number) => {
      let s = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += m.data[y * 256 + x];
      return s / ((x1 - x0) * (y1 - y0));
    };
    const xp = photo(person, 256, 256, { std: [255, 255, 255] }), xn = photo(noPerson, 256, 256, { std: [255, 255, 255] });
    for (const g of [float, wq8]) {
      const [m] = run(g, [{ shape: [1, 256, 256, 3], data: xp }]);
      const center = box(m, 96, 160, 60, 250), sides = (box(m, 0, 30, 0, 256) + box(m, 226, 256, 0, 256)) / 2;
      console.log(`selfie mask on person.bmp: person ${center.toFixed(3)}, background ${sides.toFixed(3)}`);
      expect(center).toBeGreaterThan(0.8);
      expect(sides).toBeLessThan(0.1);
      expect(box(run(g, [{ shape: [1, 256, 256, 3], data: xn }])[0], 0, 256, 0, 256)).toBeLessThan(0.05);
    }
    const [cpu] = run(float, [{ shape: [1, 256, 256, 3], data: xp }]);
    const [gpu] = await onGpu(t.skip, float, xp);
    expect(relMaxDiff(gpu.data, cpu.data)).toBeLessThan(1e-4);
  }, 180_000);

  it('UltraFace RFB without post-processing (dilated convs as SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND): scores equal the ONNX export of the same network', async (t) => {
    const { float, wq8 } = both('corpus/ultraface-rfb-320-nopost.tflite');
    expect(float.nodes.filter((n) => n.op === 'SpaceToBatchND').length).toBeGreaterThan(0);
    // BatchToSpace, as MindSpore writes it: its runtime cannot load a BatchToSpaceND.
    expect(float.nodes.filter((n) => n.op === 'BatchToSpace').length).toBe(float.nodes.filter((n) => n.op === 'SpaceToBatchND').length);
    expect(float.nodes.filter((n) => n.op === 'BatchToSpaceND')).toEqual([]);
    const x = photo('face.jpg', 320, 240, { mean: [127, 127, 127], std: [128, 128, 128] });
    const [onnxScores] = run(loadModel(readBytes(model('onnx/ultraface-rfb-320.onnx')), 'ONNX', 'rfb'), [{ shape: [1, 240, 320, 3], data: x }]);
    const [, scores] = run(float, [{ shape: [1, 240, 320, 3], data: x }]);
    expect(relMaxDiff(scores.data, onnxScores.data)).toBeLessThan(1e-3);
    const [, wqScores] = run(wq8, [{ shape: [1, 240, 320, 3], data: x }]);
    const best = (s: RT) => Math.max(...Array.from({ length: 4420 }, (_, i) => s.data[2 * i + 1]));
    expect(best(wqScores)).toBeGreaterThan(0.9); // the face is still found
    const gpu = await onGpu(t.skip, float, x);
    expect(relMaxDiff(gpu[1].data, scores.data)).toBeLessThan(1e-4);
  }, 180_000);

  it('MediaPipe hand landmarks (fp16 weights through DEQUANTIZE): finite and deterministic, float and 8-bit', async (t) => {
    const { float, wq8 } = both('corpus/mp-hand-landmark-lite.tflite');
    const x = photo('face.jpg', 224, 224, { std: [255, 255, 255] });
    for (const g of [float, wq8]) {
      const a = run(g, [{ shape: [1, 224, 224, 3], data: x }]), b = run(g, [{ shape: [1, 224, 224, 3], data: x }]);
      expect(a.map((o) => o.shape)).toEqual([[1, 63], [1, 1], [1, 1], [1, 63]]);
      a.forEach((o, k) => {
        expect(o.data.every(Number.isFinite)).toBe(true);
        expect(Array.from(o.data)).toEqual(Array.from(b[k].data));
      });
    }
    const cpu = run(float, [{ shape: [1, 224, 224, 3], data: x }]);
    const gpu = await onGpu(t.skip, float, x);
    gpu.forEach((o, k) => expect(relMaxDiff(o.data, cpu[k].data)).toBeLessThan(1e-4));
  }, 180_000);
});
