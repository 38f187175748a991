/** Weight quantization on the real models: sizes, accuracy on real data, thresholds, CLI and config. */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel, toMs, Fmk } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { weightQuantize, WeightQuantOptions } from '../src/quant/weight-quant.js';
import { dequantizeWeight } from '../src/quant/dequant.js';
import { meanError } from '../src/bench/accuracy.js';
import type { Graph } from '../src/ir/graph.js';
import { model, readBytes, mnistDigits, photo, PHOTOS, argmax } from './helpers/data.js';
import { cli } from './helpers/cli.js';

const ALL = { minQuantWeightSize: 0, minQuantWeightChannel: 0 };
function quantized(file: string, fmk: Fmk, o: Partial<WeightQuantOptions> & { bitNum: number }): { g: Graph; ratio: number } {
  const float = toMs(loadModel(readBytes(model(file)), fmk, file)).length;
  const g = loadModel(readBytes(model(file)), fmk, file);
  weightQuantize(g, { ...ALL, ...o });
  const bytes = toMs(g);
  return { g: readMs(bytes), ratio: bytes.length / float };
}

describe('SqueezeNet weight quantization', () => {
  const floatG = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'squeezenet');
  it('4-bit is at most 0.16x and 2-bit at most 0.10x of the float .ms; 8-bit ratio printed', () => {
    const r8 = quantized('onnx/squeezenet1.1-fp32.onnx', 'ONNX', { bitNum: 8 }).ratio;
    const r4 = quantized('onnx/squeezenet1.1-fp32.onnx', 'ONNX', { bitNum: 4 }).ratio;
    const r2 = quantized('onnx/squeezenet1.1-fp32.onnx', 'ONNX', { bitNum: 2 }).ratio;
    console.log(`squeezenet .ms size vs float: 8-bit ${r8.toFixed(4)}x, 4-bit ${r4.toFixed(4)}x, 2-bit ${r2.toFixed(4)}x`);
    expect(r4).toBeLessThanOrEqual(0.16);
    expect(r2).toBeLessThanOrEqual(0.1);
    expect(r8).toBeLessThan(0.29);
  });
  it('8-bit keeps the float top-1 class on every photo', () => {
    const { g } = quantized('onnx/squeezenet1.1-fp32.onnx', 'ONNX', { bitNum: 8 });
    expect(g.nodes.filter((n) => n.quantType === 4).length).toBe(26);
    let err = 0;
    for (const f of PHOTOS) {
      const x = photo(f, 224, 224, { channels: 'BGR' });
      const [a] = run(floatG, [{ shape: [1, 224, 224, 3], data: x }]);
      const [b] = run(g, [{ shape: [1, 224, 224, 3], data: x }]);
      expect(argmax(b.data), f).toBe(argmax(a.data));
      err += meanError(b.data, a.data);
    }
    console.log(`squeezenet 8-bit vs float: mean relative error ${((err / PHOTOS.length) * 100).toFixed(3)}% over ${PHOTOS.length} photos`);
  }, 60_000);
  it('--quantWeightSize above a layer\'s element count and --quantWeightChannel at its channel count keep it float', () => {
    const bySize = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 's');
    const rows = weightQuantize(bySize, { bitNum: 8, minQuantWeightSize: 1728, minQuantWeightChannel: 0 });
    const conv1 = rows.find((r) => r.tensor === 'conv1_w_0')!; // 64x3x3x3 = 1728 elements
    expect(conv1.quantized).toBe(false);
    expect(conv1.reason).toMatch(/1728 elements <= min_quant_weight_size 1728/);
    expect(bySize.tensors.find((t) => t.name === 'conv1_w_0')!.dtype).toBe('float32');
    const byChannel = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 's');
    const rows2 = weightQuantize(byChannel, { bitNum: 8, minQuantWeightSize: 0, minQuantWeightChannel: 64 });
    for (const r of rows2) {
      const t = byChannel.tensors.find((x) => x.name === r.tensor)!;
      expect(r.quantized, r.tensor).toBe(t.shape[0] > 64);
    }
    expect(rows2.some((r) => !r.quantized) && rows2.some((r) => r.quantized)).toBe(true);
  });
});

describe('mnist-8 on 2,000 real digits', () => {
  const digits = mnistDigits(2000, 1000);
  const floatG = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist');
  const predict = (g: Graph) => digits.map((d) => run(g, [{ shape: [1, 28, 28, 1], data: d.pixels }])[0].data);
  const floatOut = predict(floatG);
  const acc = (outs: ArrayLike<number>[]) => outs.filter((o, i) => argmax(o) === digits[i].label).length / digits.length;
  for (const [bits, maxDrop] of [[8, 0.002], [4, 0.02]]) {
    it(`${bits}-bit accuracy within ${maxDrop * 100} points of float`, () => {
      const { g } = quantized('onnx/mnist-8.onnx', 'ONNX', { bitNum: bits });
      const q = predict(g);
      const agree = q.filter((o, i) => argmax(o) === argmax(floatOut[i])).length / digits.length;
      const mre = q.reduce((s, o, i) => s + meanError(o, floatOut[i]), 0) / digits.length;
      console.log(`mnist-8 ${bits}-bit: accuracy ${(acc(q) * 100).toFixed(2)}% (float ${(acc(floatOut) * 100).toFixed(2)}%), top-1 agreement ${(agree * 100).toFixed(2)}%, mean relative error ${(mre * 100).toFixed(3)}%`);
      expect(acc(floatOut) - acc(q)).toBeLessThanOrEqual(maxDrop + 1e-12);
      if (bits === 8) expect(agree).toBeGreaterThanOrEqual(0.995);
    });
  }
});

describe('every real float model', () => {
  const models: [string, Fmk][] = [['onnx/mnist-8.onnx', 'ONNX'], ['onnx/ultraface-rfb-320.onnx', 'ONNX'], ['tflite/resnet8-cifar10-float.tflite', 'TFLITE'],
    ['tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE'], ['tflite/kws-dscnn-hybrid.tflite', 'TFLITE'], ['tflite/ad01-autoencoder-float.tflite', 'TFLITE']];
  it('prints its 8/4/2-bit size ratios and runs after quantization', () => {
    for (const [f, fmk] of models) {
      const ratios = [8, 4, 2].map((b) => quantized(f, fmk, { bitNum: b }));
      console.log(`${f}: ${ratios.map((r, i) => `${[8, 4, 2][i]}-bit ${r.ratio.toFixed(3)}x`).join(', ')}`);
      const g = ratios[0].g;
      const inputs = g.inputs.map((id) => ({ shape: g.tensors[id].shape, data: new Float32Array(g.tensors[id].shape.reduce((a, b) => a * b, 1)).fill(0.3) }));
      expect(run(g, inputs).every((o) => o.data.every(Number.isFinite))).toBe(true);
    }
  }, 60_000);
});

describe('dequantization as the runtime does it', () => {
  it('applies varCorr/meanCorr per channel and ignores them per layer', () => {
    const g = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist');
    const conv = g.nodes.find((n) => n.op === 'Conv2DFusion')!;
    const w = g.tensors[conv.inputs[1]];
    const original = Float32Array.from(w.data as Float32Array);
    weightQuantize(g, { bitNum: 3, ...ALL });
    expect(w.quant!.length).toBe(8);
    const per = dequantizeWeight(g, conv, 1);
    w.quant![0].varCorr = 2;
    const scaled = dequantizeWeight(g, conv, 1);
    expect(scaled[0]).toBeCloseTo(per[0] * 2 - (w.quant![0].meanCorr ?? 0), 5);
    let maxErr = 0;
    for (let i = 0; i < original.length; i++) maxErr = Math.max(maxErr, Math.abs(per[i] - original[i]));
    expect(maxErr).toBeLessThan(Math.max(...w.quant!.map((q) => q.scale)));
    const perLayer = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist');
    weightQuantize(perLayer, { bitNum: 8, ...ALL, perChannel: false });
    const pc = perLayer.nodes.find((n) => n.op === 'Conv2DFusion')!;
    const t = perLayer.tensors[pc.inputs[1]];
    expect(t.quant!.length).toBe(1);
    t.quant![0].meanCorr = 100; // must not be applied to a per-layer weight
    const d = dequantizeWeight(perLayer, pc, 1);
    expect(Math.abs(d[0])).toBeLessThan(1);
  });
});

describe('converter_lite --quantType=WeightQuant', () => {
  let dir: string;
  const mnist = model('onnx/mnist-8.onnx');
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'webptq-wq-'));
  });
  const conv = (...extra: string[]) => cli('converter_lite', ['--fmk=ONNX', `--modelFile=${mnist}`, `--outputFile=${path.join(dir, 'm')}`, '--quantType=WeightQuant', ...extra]);

  it('quantizes with the seed defaults and prints a summary', () => {
    const r = conv();
    expect(r.code).toBe(0);
    // mnist-8's convolutions have 8 and 16 output channels: at or below the default quantWeightChannel 16.
    expect(r.stdout).toMatch(/skipped\s+Parameter5 \(Convolution28\): 8 channels <= min_quant_weight_channel 16/);
    expect(r.stdout).toMatch(/quantized constfold_Times212_reshape1 .*10 channels/);
    expect(r.stdout).toMatch(/1 of 3 weight tensors quantized, 2 skipped; .*model \d+ -> \d+ bytes \(0\.\d+x\)/);
    const g = readMs(new Uint8Array(readFileSync(path.join(dir, 'm.ms'))));
    expect(g.nodes.find((n) => n.op === 'MatMulFusion')!.quantType).toBe(4);
  });
  const bad: [string[], RegExp][] = [
    [['--bitNum=abc'], /^bitNum should be a valid number\.$/m],
    [['--bitNum=0'], /^bitNum should be greater than zero and lesser than 16 currently\.$/m],
    [['--bitNum=17'], /^bitNum should be greater than zero and lesser than 16 currently\.$/m],
    [['--quantWeightSize=x'], /^quantWeightSize should be a valid number\.$/m],
    [['--quantWeightSize=-1'], /^quantWeightSize should be greater than or equal to zero\.$/m],
    [['--quantWeightChannel=1.5'], /^quantWeightChannel should be a valid number\.$/m],
    [['--quantWeightChannel=-3'], /^quantWeightChannel should be greater than or equal to zero\.$/m],
  ];
  for (const [args, msg] of bad)
    it(`rejects ${args.join(' ')}`, () => {
      const r = conv(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(msg);
    });
  it('reads the INI config and rejects contradictions and bad values', () => {
    const cfg = path.join(dir, 'wq.cfg');
    writeFileSync(cfg, '[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=4\nmin_quant_weight_size=0\nmin_quant_weight_channel=0\nmystery=1\n[weight_quant_param]\nper_channel=true\nbias_correction=false\n');
    const ok = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${mnist}`, `--outputFile=${path.join(dir, 'c')}`, `--configFile=${cfg}`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Weight quantization, 4 bit/);
    expect(ok.stdout).toMatch(/3 of 3 weight tensors quantized/);
    expect(ok.stderr).toMatch(/unknown key "mystery" in \[common_quant_param\]/);
    const g = readMs(new Uint8Array(readFileSync(path.join(dir, 'c.ms'))));
    expect(g.tensors.filter((t) => t.quant).every((t) => t.quant!.every((q) => q.varCorr === 1 && q.meanCorr === 0))).toBe(true);
    const contra = conv(`--configFile=${cfg}`, '--bitNum=8');
    expect(contra.code).toBe(1);
    expect(contra.stderr).toMatch(/--bitNum=8 contradicts bit_num=4/);
    writeFileSync(cfg, '[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=20\n');
    expect(conv(`--configFile=${cfg}`).stderr).toMatch(/INPUT ILLEGAL: bit_num should be \[0,16\]\./);
    writeFileSync(cfg, '[common_quant_param]\nquant_type=HALF_QUANT\n');
    expect(conv(`--configFile=${cfg}`).stderr).toMatch(/INPUT ILLEGAL: quant_type must be WEIGHT_QUANT\|FULL_QUANT\|DYNAMIC_QUANT\./);
    writeFileSync(cfg, '[common_quant_param]\nquant_type=FULL_QUANT\n');
    expect(conv(`--configFile=${cfg}`).stderr).toMatch(/--quantType=WeightQuant contradicts quant_type=FULL_QUANT/);
  });
});
