/**
 * Statistics collection on the GPU: in every batch's compute pass, right after a tracked tensor is produced
 * (before liveness lets its buffer be reused), the statistics kernels read it in place. Only per-tensor
 * summaries are read back: min/max and the histograms once at the end, per-sample order statistics (a few
 * words per sample) after each batch.
 */
import type { Graph } from '../ir/graph.js';
import type { RT } from '../ir/tensor.js';
import { sizeOf } from '../ir/graph.js';
import type { GpuContext } from './device.js';
import { GpuExecutor } from './executor.js';
import { sampleShape } from '../ir/passes/index.js';
import { STORAGE_USAGE, pipelineFor, readBuffer } from './resources.js';
import { minMaxKernel, histogramKernel, radixInitKernel, radixCountKernel, radixSelectKernel } from '../shaders/stats.js';
import { SampleSource, StatsOptions, TensorStats, defaultTensors, batches, stackBatch, prefetchAround, quantileRanks, emptyStats, HIST_BINS } from '../quant/stats.js';


interface Dispatch {
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  size: [number, number, number];
}

/** Key (order-preserving u32) back to its float. */
export function keyToFloat(k: number): number {
  const bits = k & 0x80000000 ? (k & 0x7fffffff) >>> 0 : ~k >>> 0;
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

export async function collectStatisticsGpu(ctx: GpuContext, g: Graph, src: SampleSource, o: StatsOptions): Promise<{ stats: Map<number, TensorStats>; deviceBytes: number }> {
  const { device } = ctx;
  const ids = o.tensors ?? defaultTensors(g);
  const slotOf = new Map(ids.map((t, i) => [t, i]));
  const owned: GPUBuffer[] = [];
  const buffer = (bytes: number) => {
    const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: STORAGE_USAGE });
    owned.push(b);
    return b;
  };
  const dispatch = async (k: { code: string; dispatch: [number, number, number] }, bufs: GPUBuffer[]): Promise<Dispatch> => {
    const pipeline = await pipelineFor(device, k.code);
    const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })) });
    return { pipeline, bind, size: k.dispatch };
  };

  const stats = buffer(ids.length * 16);
  const init = new Uint32Array(ids.length * 4);
  for (let i = 0; i < ids.length; i++) init[i * 4] = 0xffffffff; // min slot starts at the largest key
  device.queue.writeBuffer(stats, 0, init);
  const wantQuantiles = o.passes.includes('quantiles');
  const hist = o.passes.includes('histogram') ? buffer(ids.length * HIST_BINS * 4) : undefined;
  if (hist) device.queue.writeBuffer(hist, 0, new Uint32Array(ids.length * HIST_BINS));

  const result = emptyStats(g, ids);

  // One executor and one set of statistics dispatches, for the batch size. A graph that cannot take the batch as
  // one pass runs it one sample per pass (GpuExecutor decides). A short last batch runs in the same pipelines,
  // padded with copies of its last sample: `valid` tells the statistics kernels how many samples are real.
  const valid = buffer(16);
  interface Plan { perTensor: Map<number, Dispatch[]>; results?: GPUBuffer }
  const list = batches(src.count, o.batchSize);
  const ex = await GpuExecutor.create(ctx, g, list[0][1] - list[0][0], { inputShapes: g.inputs.map((_, k) => sampleShape(g, k, src.get(0)[k].length)) });
  const samples = ex.batch;
  async function plan(pass: 'minmax' | 'histogram'): Promise<Plan> {
    const perTensor = new Map<number, Dispatch[]>();
    const results = pass === 'minmax' && wantQuantiles ? buffer(ids.length * samples * 2 * 4) : undefined;
    for (const id of ids) {
      const n = sizeOf(ex.shapes.get(id) ?? g.tensors[id].shape);
      const slot = slotOf.get(id)!;
      const act = ex.bufferOf(id);
      if (!act) continue; // folded to a constant at these input shapes
      const list: Dispatch[] = [];
      if (pass === 'histogram') list.push(await dispatch(histogramKernel(n, samples, slot, HIST_BINS), [act, stats, hist!, valid]));
      else {
        list.push(await dispatch(minMaxKernel(n, samples, slot), [act, stats, valid]));
        if (results) {
          const perSample = n / samples;
          const state = buffer(samples * 2 * 2 * 4), counts = buffer(samples * 2 * 256 * 4);
          list.push(await dispatch(radixInitKernel(samples, quantileRanks(perSample)), [state]));
          for (const shift of [24, 16, 8, 0]) {
            list.push(await dispatch(radixCountKernel(perSample, samples, shift), [act, state, counts]));
            list.push(await dispatch(radixSelectKernel(samples, shift, slot * samples * 2), shift === 0 ? [counts, state, results] : [counts, state]));
          }
        }
      }
      perTensor.set(id, list);
    }
    return { perTensor, results };
  }

  /** Folds one pass's per-sample order statistics (read back from `results`) into the tensors' sums: its real samples'. */
  const foldQuantiles = (keys: Uint32Array, samples: number, real: number) => ids.forEach((id, slot) => {
    const st = result.get(id)!;
    for (let s = 0; s < real; s++) {
      const lo = keyToFloat(keys[(slot * samples + s) * 2]), hi = keyToFloat(keys[(slot * samples + s) * 2 + 1]);
      st.lowSum = (st.lowSum ?? 0) + lo;
      st.highSum = (st.highSum ?? 0) + hi;
      st.samples = (st.samples ?? 0) + 1;
      if (o.keepPerSample) {
        (st.lowPerSample ??= []).push(lo);
        (st.highPerSample ??= []).push(hi);
      }
    }
  });
  // A pass's order statistics are read while the next pass computes; folded in pass order, two passes in flight.
  let folded: Promise<void> = Promise.resolve();

  let inFlight: Promise<unknown> = Promise.resolve();
  for (const pass of ['minmax', 'histogram'] as const) {
    if (pass === 'histogram' && !hist) continue;
    const p = await plan(pass);
    for (const [b, [bStart, bEnd]] of list.entries()) {
      prefetchAround(src, list, b);
      for (let start = bStart; start < bEnd; start += samples) {
        const real = Math.min(bEnd, start + samples) - start;
        device.queue.writeBuffer(valid, 0, Uint32Array.of(real, 0, 0, 0));
        ex.writeInputs(paddedBatch(stackBatch(g, src, start, start + real), samples));
        await ex.forward((pe, id) => {
          for (const d of p.perTensor.get(id) ?? []) {
            pe.setPipeline(d.pipeline);
            pe.setBindGroup(0, d.bind);
            pe.dispatchWorkgroups(...d.size);
          }
        });
        if (p.results) {
          // The copy is queued behind this pass now (the next pass overwrites `results` only after it).
          const read = readBuffer(device, p.results, ids.length * samples * 2 * 4);
          const previous = folded;
          folded = previous.then(async () => foldQuantiles(new Uint32Array(await read), samples, real));
          await previous;
        }
        // The next batch is read, stacked and uploaded while this one computes; at most two batches in flight,
        // so queued uploads cannot pile up when the device is the slower side.
        const done = device.queue.onSubmittedWorkDone();
        await inFlight;
        inFlight = done;
      }
      o.onProgress?.(b + 1, list.length, pass);
    }
    await folded;
    if (pass === 'minmax') {
      const s = new Uint32Array(await readBuffer(device, stats, ids.length * 16));
      ids.forEach((id, i) => {
        const st = result.get(id)!;
        st.nanCount = s[i * 4 + 2];
        st.infCount = s[i * 4 + 3];
        if (s[i * 4] !== 0xffffffff) {
          st.min = keyToFloat(s[i * 4]);
          st.max = keyToFloat(s[i * 4 + 1]);
        }
      });
    }
  }
  if (hist) {
    const h = new Uint32Array(await readBuffer(device, hist, ids.length * HIST_BINS * 4));
    ids.forEach((id, i) => {
      const st = result.get(id)!;
      st.histogram = Float64Array.from(h.subarray(i * HIST_BINS, (i + 1) * HIST_BINS));
      st.histMax = Math.max(Math.abs(st.min), Math.abs(st.max));
    });
  }
  const deviceBytes = ex.deviceBytes + owned.reduce((a, b) => a + b.size, 0);
  ex.destroy();
  for (const b of owned) b.destroy();
  return { stats: result, deviceBytes };
}

/** A batch's stacked inputs as `samples` samples: the last real sample repeated where the batch is short. */
function paddedBatch(stacked: RT[], samples: number): Float32Array[] {
  return stacked.map(({ shape, data }) => {
    const d = data as Float32Array, real = shape[0];
    if (real === samples) return d;
    const per = d.length / real, out = new Float32Array(per * samples);
    out.set(d);
    for (let j = real; j < samples; j++) out.set(d.subarray((real - 1) * per, real * per), j * per);
    return out;
  });
}
