/**
 * Accuracy work (issue: accuracy ahead of MindSpore's table): our range-search extensions (MSE, KL_ASYMMETRIC),
 * WeightQuant's clipping search at few bits, an independent fake-quant check of 8-bit weights on MediaPipe's
 * hand landmarks, and a small run of `npm run accuracy`.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { activationRange, mseThreshold, klThresholdBin } from '../src/quant/calibrators.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { dequantizeWeight } from '../src/quant/dequant.js';
import type { TensorStats } from '../src/quant/stats.js';
import type { Graph } from '../src/ir/graph.js';
import { model, readBytes, photo, ROOT } from './helpers/data.js';

const stats = (hist: Float64Array, histMax: number, min: number, max: number): TensorStats =>
  ({ tensor: 0, name: 't', min, max, nanCount: 0, infCount: 0, histogram: hist, histMax });

describe('range-search extensions', () => {
  // 10^7 values spread over [0, 1) and one outlier at 100: 2048 bins over [0, 100]. Clipping it at T costs
  // (100 - T)^2, the rounding noise of the rest 10^7 (T / 255)^2 / 12: the optimum is near T = 7.
  const hist = new Float64Array(2048);
  for (let b = 0; b < 21; b++) hist[b] = 1e7 / 21;
  hist[2047] = 1;
  it('MSE clips a lone outlier that MAX_MIN keeps', () => {
    const t = mseThreshold(hist, 100, false);
    expect(t).toBeGreaterThan(5);
    expect(t).toBeLessThan(10);
    const r = activationRange('MSE', stats(hist, 100, 0, 100));
    expect(r.zeroPoint).toBe(-128); // non-negative: [0, T] with all 256 levels
    expect(r.scale).toBeCloseTo(t / 255, 6);
    expect(activationRange('MAX_MIN', stats(hist, 100, 0, 100)).scale).toBeCloseTo(100 / 255, 6);
    // a signed tensor is symmetric, its step twice as wide for the same T
    const s = activationRange('MSE', stats(hist, 100, -100, 100));
    expect(s.zeroPoint).toBe(0);
    expect(s.scale).toBeCloseTo((2 * mseThreshold(hist, 100, true)) / 255, 6);
  });
  it('MSE keeps the whole range of a flat histogram', () => {
    expect(mseThreshold(new Float64Array(2048).fill(5), 8, false)).toBeGreaterThan(7.9);
  });
  it('KL_ASYMMETRIC: [0, T] over 256 levels on a ReLU output, MindSpore\'s KL on a signed tensor', () => {
    const peaked = new Float64Array(2048);
    for (let i = 0; i < 300; i++) peaked[i] = 1000 + ((i * 37) % 11);
    const relu = activationRange('KL_ASYMMETRIC', stats(peaked, 4.096, 0, 4.096));
    expect(relu.zeroPoint).toBe(-128);
    const t = (klThresholdBin(peaked, 256) + 0.5) * Math.fround(4.096 / 2048);
    expect(relu.scale).toBeCloseTo(t / 255, 6);
    expect(activationRange('KL_ASYMMETRIC', stats(peaked, 4.096, -1, 4.096))).toEqual(activationRange('KL', stats(peaked, 4.096, -1, 4.096)));
  });
});

describe('WeightQuant clipping search', () => {
  const sq = () => loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'squeezenet');
  const weightError = (g: Graph, ref: Graph) => {
    let e = 0;
    g.nodes.forEach((n, k) => {
      if (n.op !== 'Conv2DFusion' || !n.quantType) return;
      const d = dequantizeWeight(g, n, 1), w = ref.tensors[ref.nodes[k].inputs[1]].data as Float32Array;
      for (let i = 0; i < w.length; i++) e += (d[i] - w[i]) ** 2;
    });
    return e;
  };
  it('lowers the 4-bit weight error of SqueezeNet; plain min/max when turned off, and at 8 bits', () => {
    const ref = sq();
    const o = { bitNum: 4, minQuantWeightSize: 0, minQuantWeightChannel: 16, biasCorrection: false };
    const clipped = sq(), plain = sq();
    weightQuantize(clipped, o);
    weightQuantize(plain, { ...o, clipSearch: false });
    const [ec, ep] = [weightError(clipped, ref), weightError(plain, ref)];
    console.log(`SqueezeNet 4-bit weight squared error: ${ep.toExponential(3)} min/max, ${ec.toExponential(3)} clipping search`);
    expect(ec).toBeLessThan(0.9 * ep); // 46.8 against 57.1
    const eight = sq(), eightPlain = sq();
    weightQuantize(eight, { ...o, bitNum: 8 });
    weightQuantize(eightPlain, { ...o, bitNum: 8, clipSearch: false });
    expect(weightError(eight, ref)).toBe(weightError(eightPlain, ref));
  }, 60_000);
});

describe('MediaPipe hand landmarks, 8-bit weights', () => {
  it('ours equals an independent fake quantization; the world-landmark FullConnection alone explains the drift', () => {
    const file = 'corpus/mp-hand-landmark-lite.tflite';
    const load = () => loadModel(readBytes(model(file)), 'TFLITE', file);
    const float = load();
    const ours = load();
    const rows = weightQuantize(ours, { bitNum: 8, minQuantWeightSize: 0, minQuantWeightChannel: 16, biasCorrection: false });
    const quantized = new Set(rows.filter((r) => r.quantized).map((r) => r.tensor));
    expect(quantized.size).toBeGreaterThan(30);
    // Written here, not shared with the quantizer: per output channel, 255 steps over [min(0, lo), max(0, hi)].
    const fakeQuant = (names: Set<string>): Graph => {
      const g = load();
      for (const t of g.tensors) {
        if (!names.has(t.name)) continue;
        const d = t.data as Float32Array, per = d.length / t.shape[0], out = new Float32Array(d.length);
        for (let c = 0; c < t.shape[0]; c++) {
          const ch = d.subarray(c * per, (c + 1) * per);
          const lo = Math.min(0, ...ch), hi = Math.max(0, ...ch), s = (hi - lo) / 255 || 1, zp = Math.round(-128 - lo / s);
          ch.forEach((v, j) => (out[c * per + j] = (Math.max(-128, Math.min(127, Math.round(v / s) + zp)) - zp) * s));
        }
        t.data = out;
      }
      return g;
    };
    const x = photo('face.jpg', 224, 224, { std: [255, 255, 255] });
    const outputs = (g: Graph) => run(g, [{ shape: [1, 224, 224, 3], data: x }]);
    const ref = outputs(float);
    const drift = (g: Graph) => outputs(g).map((o, k) => {
      const m = Math.max(...ref[k].data.map(Math.abs));
      return Math.max(...o.data.map((v, i) => Math.abs(v - ref[k].data[i]))) / m;
    });
    const mine = drift(ours), independent = drift(fakeQuant(quantized));
    console.log(`hand landmarks, max |8-bit - float| / max |float| per output: ours ${mine.map((d) => d.toFixed(3))}, independent ${independent.map((d) => d.toFixed(3))}`);
    mine.forEach((d, k) => expect(Math.abs(d - independent[k])).toBeLessThan(0.05 + 0.1 * independent[k]));
    const fc = float.nodes.find((n) => n.op === 'FullConnection' && float.tensors[n.outputs[0]].name === 'Identity_3')!;
    const fcWeight = float.tensors[fc.inputs[1]].name;
    const [onlyFc, allButFc] = [new Set([fcWeight]), new Set([...quantized].filter((n) => n !== fcWeight))].map((s) => drift(fakeQuant(s))[3]);
    expect(onlyFc).toBeGreaterThan(0.5);
    expect(allButFc).toBeLessThan(0.25);
  }, 120_000);
});

describe('npm run accuracy, small', () => {
  it('prints the table for SqueezeNet: 10 calibration photos, 30 scored', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/accuracy.ts', '--calib=10', '--score=30', '--methods=MAX_MIN,MSE', '--wq=8,4'], { cwd: ROOT, encoding: 'utf8' });
    console.log(r.stdout);
    expect(r.status).toBe(0);
    const row = (name: string) => {
      const m = r.stdout.match(new RegExp(`^${name}\\s+([\\d.]+)\\s+([\\d.]+)\\s+(-?[\\d.]+)\\s+([\\d.]+)\\s+[\\d.]+\\s*$`, 'm'));
      expect(m, name).toBeTruthy();
      return { top1: Number(m![1]), change: Number(m![3]), agreement: Number(m![4]) };
    };
    expect(row('float').agreement).toBe(100);
    expect(row('WeightQuant 8').agreement).toBeGreaterThanOrEqual(90);
    expect(row('WeightQuant 4').change).toBeGreaterThanOrEqual(-10);
    for (const m of ['MAX_MIN', 'MSE']) expect(row(`PostTraining ${m}`).agreement).toBeGreaterThanOrEqual(80);
  }, 300_000);
});
