/**
 * npm run bench:calib — calibration throughput (samples/s) of the statistics pass over the same samples on
 * (a) the WebGPU path, (b) the CPU executor, (c) onnxruntime-node's plain float inference of the same ONNX
 * model (the floor a CPU-based calibrator pays), side by side with ratios and peak memory.
 * Options: --samples=N (default 16) --batch=N (default 8) --models=squeezenet,vww
 */
import * as ort from 'onnxruntime-node';
import { loadModel, Fmk } from '../src/convert.js';
import { collectStatistics } from '../src/calibrate.js';
import { acquireGpu } from '../src/gpu/device.js';
import type { SampleSource } from '../src/quant/stats.js';
import { model, readBytes, photo, PHOTOS, nhwcToNchw, SHARED } from '../test/helpers/data.js';
import path from 'node:path';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const samples = Number(arg('samples', '16'));
const batch = Number(arg('batch', '8'));
const which = arg('models', 'squeezenet,vww').split(',');

interface Bench { name: string; file: string; fmk: Fmk; onnx?: string; shape: number[]; sample: (i: number) => Float32Array }
const BENCHES: Bench[] = [
  { name: 'squeezenet', file: 'onnx/squeezenet1.1-fp32.onnx', fmk: 'ONNX', onnx: 'onnx/squeezenet1.1-fp32.onnx', shape: [224, 224, 3],
    sample: (i) => photo(PHOTOS[i % PHOTOS.length], 224, 224, { channels: 'BGR' }) },
  { name: 'vww', file: 'tflite/vww-mobilenetv1-0.25-96-float.tflite', fmk: 'TFLITE', shape: [96, 96, 3],
    sample: (i) => photo(path.join(SHARED, 'data/person', i % 2 ? 'person.bmp' : 'no_person.bmp'), 96, 96, { mean: [128, 128, 128], std: [128, 128, 128] }) },
];

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
async function timed<T>(fn: () => Promise<T>): Promise<{ s: number; rss: number; value: T }> {
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const value = await fn();
  return { s: (performance.now() - t0) / 1000, rss: peakRss, value };
}

const gpu = await acquireGpu();
console.log(`GPU adapter: ${gpu ? gpu.adapterName : 'none (GPU column skipped)'}; ${samples} samples, batch ${batch}, passes minmax + histogram`);
const rows: string[][] = [['model', 'path', 'samples/s', 'vs onnxruntime', 'peak RSS MB', 'device MB']];
for (const b of BENCHES.filter((x) => which.includes(x.name))) {
  const g = loadModel(readBytes(model(b.file)), b.fmk, b.file);
  const cache = new Map<number, Float32Array>();
  const src: SampleSource = { count: samples, get: (i) => [cache.get(i % 17) ?? cache.set(i % 17, b.sample(i)).get(i % 17)!] };
  let ortRate: number | undefined;
  if (b.onnx) {
    const s = await ort.InferenceSession.create(model(b.onnx));
    const [h, w, c] = b.shape;
    // Its inputs laid out (NCHW) before timing, as ours are decoded before timing: only inference is measured.
    const nchw = Array.from({ length: Math.min(samples, 17) }, (_, i) => new ort.Tensor('float32', nhwcToNchw(src.get(i)[0], 1, h, w, c), [1, c, h, w]));
    const r = await timed(async () => {
      // The model declares batch 1: feed its samples one by one.
      for (let i = 0; i < samples; i++) await s.run({ [s.inputNames[0]]: nchw[i % nchw.length] });
    });
    ortRate = samples / r.s;
    rows.push([b.name, 'onnxruntime float forward', ortRate.toFixed(2), '1.00', (r.rss / 1e6).toFixed(0), '-']);
  }
  const opts = { passes: ['minmax', 'histogram'] as ('minmax' | 'histogram')[], batchSize: batch };
  if (gpu) {
    await collectStatistics(g, { count: Math.min(batch, samples), get: src.get }, { ...opts, gpu }); // compile pipelines once
    const r = await timed(() => collectStatistics(g, src, { ...opts, gpu }));
    const rate = samples / r.s;
    rows.push([b.name, `GPU (${gpu.software ? 'SwiftShader' : 'hardware'})`, rate.toFixed(2), ortRate ? (rate / ortRate).toFixed(2) : 'n/a', (r.rss / 1e6).toFixed(0), ((r.value.deviceBytes ?? 0) / 1e6).toFixed(1)]);
  }
  const r = await timed(() => collectStatistics(g, src, { ...opts, device: 'cpu' }));
  const rate = samples / r.s;
  rows.push([b.name, 'CPU executor', rate.toFixed(2), ortRate ? (rate / ortRate).toFixed(2) : 'n/a (no ONNX model)', (r.rss / 1e6).toFixed(0), '-']);
}
// Memory bound: the same statistics over 100 and over 1,000 samples (made on demand) of a small model.
const ad01 = loadModel(readBytes(model('tflite/ad01-autoencoder-float.tflite')), 'TFLITE', 'ad01');
const synthetic = (count: number): SampleSource => ({ count, get: (i) => [Float32Array.from({ length: 640 }, (_, k) => Math.sin((k + i * 7) / 11))] });
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
for (const count of [100, 1000]) {
  gc();
  const before = process.memoryUsage().heapUsed;
  let heapPeak = before;
  const r = await collectStatistics(ad01, synthetic(count), {
    passes: ['minmax', 'histogram', 'quantiles'], batchSize: 50, ...(gpu ? { gpu } : { device: 'cpu' as const }),
    // live heap after collecting garbage, so the figure is what the run holds, not what it has dropped
    onProgress: () => {
      gc();
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    },
  });
  rows.push(['ad01 memory', `${count} samples on ${gpu ? 'GPU' : 'CPU'}`, '', '', `heap +${((heapPeak - before) / 1e6).toFixed(1)}`, r.deviceBytes !== undefined ? (r.deviceBytes / 1e6).toFixed(2) : '-']);
}
clearInterval(sampler);
const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
for (const r of rows) console.log(r.map((c, k) => c.padEnd(widths[k])).join('  '));
console.log('(calibration paths run two passes over the samples; onnxruntime runs one forward pass)');
gpu?.release();
process.exit(0);
