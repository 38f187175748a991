/**
 * Statistics on the device against a CPU reference computed from the very activations the GPU produced
 * (read back from an executor that keeps every buffer), so the comparison tests the reductions exactly.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { loadModel } from '../src/convert.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { collectStatistics, statisticsCollector } from '../src/calibrate.js';
import { accumulateMinMax, accumulateQuantiles, accumulateHistogram, emptyStats, defaultTensors, HIST_BINS, SampleSource } from '../src/quant/stats.js';
import { model, readBytes, mnistDigits } from './helpers/data.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';

afterAll(async () => (await testGpu())?.release());

describe('statistics on the GPU', () => {
  it('min/max and quantiles equal the CPU reference exactly; histograms within 0.1 % L1', async (t) => {
    const ctx = await gpuOrSkip(t.skip);
    const g = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist-8');
    const digits = mnistDigits(6, 500);
    const src: SampleSource = { count: digits.length, get: (i) => [digits[i].pixels] };
    const { stats } = await collectStatistics(g, src, { gpu: ctx, passes: ['minmax', 'histogram', 'quantiles'], batchSize: 6, keepPerSample: true });

    // The same batch through an executor that keeps every activation, read back for the reference.
    const ex = await GpuExecutor.create(ctx, g, 6, { reuseBuffers: false });
    expect(ex.batch).toBe(6);
    const x = new Float32Array(6 * 784);
    digits.forEach((d, i) => x.set(d.pixels, i * 784));
    await ex.run([x]);
    const ids = defaultTensors(g);
    const ref = emptyStats(g, ids);
    const values = new Map<number, Float32Array>();
    for (const id of ids) values.set(id, id === g.inputs[0] ? x : ((await ex.read(id)).data as Float32Array));
    for (const id of ids) {
      const r = ref.get(id)!;
      accumulateMinMax(r, values.get(id)!);
      accumulateQuantiles(r, values.get(id)!, 6, true);
      r.histogram = new Float64Array(HIST_BINS);
      accumulateHistogram(r.histogram, Math.max(Math.abs(r.min), Math.abs(r.max)), values.get(id)!);
    }
    ex.destroy();
    expect(stats.size).toBe(ids.length);
    for (const id of ids) {
      const a = stats.get(id)!, r = ref.get(id)!;
      expect([a.min, a.max], a.name).toEqual([r.min, r.max]);
      expect(a.lowPerSample, a.name).toEqual(r.lowPerSample);
      expect(a.highPerSample, a.name).toEqual(r.highPerSample);
      const total = r.histogram!.reduce((p, q) => p + q, 0);
      expect(a.histogram!.reduce((p, q) => p + q, 0), a.name).toBe(total);
      let l1 = 0;
      for (let b = 0; b < HIST_BINS; b++) l1 += Math.abs(a.histogram![b] - r.histogram![b]);
      expect(l1, a.name).toBeLessThanOrEqual(0.001 * total);
    }
  });

  it('a short last batch runs padded in the full batch\'s pipelines: the statistics of 4 + 2 samples equal those of one batch of 6', async (t) => {
    const ctx = await gpuOrSkip(t.skip);
    const g = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist-8');
    const digits = mnistDigits(6, 700);
    const source = (count: number): SampleSource => ({ count, get: (i) => [digits[i].pixels] });
    const collect = (count: number, batchSize: number) => collectStatistics(g, source(count), { gpu: ctx, passes: ['minmax', 'histogram', 'quantiles'], batchSize, keepPerSample: true });
    const whole = await collect(6, 6), split = await collect(6, 4), evenOnly = await collect(4, 4);
    for (const [id, a] of split.stats) {
      const r = whole.stats.get(id)!;
      expect([a.min, a.max, a.nanCount, a.infCount], a.name).toEqual([r.min, r.max, r.nanCount, r.infCount]);
      expect(a.lowPerSample, a.name).toEqual(r.lowPerSample);
      expect(a.highPerSample, a.name).toEqual(r.highPerSample);
      expect(Array.from(a.histogram!), a.name).toEqual(Array.from(r.histogram!));
    }
    // no second executor for the 2-sample pass: the same device memory as batches of 4 that divide evenly
    expect(split.deviceBytes).toBe(evenOnly.deviceBytes);
  });

  it('over 1,000 samples uses no more device or host memory than over 100', async (t) => {
    const ctx = await gpuOrSkip(t.skip);
    const g = loadModel(readBytes(model('tflite/ad01-autoencoder-float.tflite')), 'TFLITE', 'ad01');
    // Samples are made on demand, as files would be read: the set itself never sits in memory.
    const source = (count: number): SampleSource => ({ count, get: (i) => [Float32Array.from({ length: 640 }, (_, k) => Math.sin((k + i * 7) / 11) * (1 + (i % 5)))] });
    const measure = async (count: number) => {
      (globalThis as { gc?: () => void }).gc?.();
      const before = process.memoryUsage().heapUsed;
      let peak = before;
      const r = await collectStatistics(g, source(count), {
        gpu: ctx, passes: ['minmax', 'histogram', 'quantiles'], batchSize: 50,
        onProgress: () => {
          (globalThis as { gc?: () => void }).gc?.();
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        },
      });
      return { device: r.deviceBytes!, host: peak - before, stats: r.stats };
    };
    const small = await measure(100);
    const large = await measure(1000);
    console.log(`device bytes: ${small.device} (100 samples) vs ${large.device} (1,000); host heap growth: ${(small.host / 1e6).toFixed(1)} MB vs ${(large.host / 1e6).toFixed(1)} MB`);
    expect(large.device).toBe(small.device);
    expect((globalThis as { gc?: unknown }).gc, 'tests run with --expose-gc').toBeTypeOf('function');
    expect(large.host).toBeLessThan(small.host + 8e6);
    const any = [...large.stats.values()][3];
    expect(any.samples).toBe(1000);
  });
});

describe('full quantization calibrated on the GPU', () => {
  it('chooses the same activation parameters as the CPU executor (same data, GPU statistics)', async (t) => {
    const ctx = await gpuOrSkip(t.skip);
    const { fullQuantize } = await import('../src/quant/full-quant.js');
    const digits = mnistDigits(16, 900);
    const src: SampleSource = { count: 16, get: (i) => [digits[i].pixels] };
    for (const method of ['MAX_MIN', 'KL', 'REMOVAL_OUTLIER'] as const) {
      const onGpu = await fullQuantize(loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'm'), src, { method, batchSize: 8, collect: statisticsCollector({ gpu: ctx }), reportSamples: 1 });
      const onCpu = await fullQuantize(loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'm'), src, { method, batchSize: 8, collect: statisticsCollector({ device: 'cpu' }), reportSamples: 1 });
      expect(onGpu.device).toMatch(/./);
      for (const [id, r] of onCpu.ranges) {
        const gr = onGpu.ranges.get(id)!;
        // The float activations differ in the last bits between executors; the parameters agree to that precision.
        expect(Math.abs(gr.scale - r.scale) / r.scale, `${method} tensor ${id}`).toBeLessThan(1e-4);
        expect(gr.zeroPoint).toBe(r.zeroPoint);
      }
    }
  });
});
