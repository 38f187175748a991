/**
 * `collectStatistics`: activation statistics over a calibration set, on the GPU when an adapter exists
 * (WGSL forward pass + on-device reductions), else with the CPU executor. `statisticsCollector` hands it to
 * the full quantizer.
 */
import type { Graph } from './ir/graph.js';
import { UserError } from './ir/graph.js';
import { acquireGpu, GpuContext, gpuUnavailableReason } from './gpu/device.js';
import { collectStatisticsGpu } from './gpu/stats.js';
import { collectStatisticsCpu, SampleSource, StatsOptions, StatsCollector, CollectResult } from './quant/stats.js';

export type DeviceChoice = 'auto' | 'gpu' | 'cpu';

export interface CollectOptions extends Partial<StatsOptions> {
  device?: DeviceChoice;
  /** A device already acquired (tests, the browser demo); otherwise one is acquired and released here. */
  gpu?: GpuContext;
  /** One-line notices: which adapter, or why the CPU is used. */
  log?: (line: string) => void;
}

export async function collectStatistics(g: Graph, samples: SampleSource, o: CollectOptions = {}): Promise<CollectResult> {
  const opts: StatsOptions = {
    passes: o.passes ?? ['minmax'],
    batchSize: o.batchSize ?? 8,
    tensors: o.tensors,
    keepPerSample: o.keepPerSample,
    onProgress: o.onProgress,
  };
  const choice = o.device ?? 'auto';
  if (choice !== 'cpu') {
    // auto: a hardware adapter only (a software one computes slower than the CPU executor)
    const ctx = o.gpu ?? (await acquireGpu({ software: choice === 'gpu' }));
    if (ctx) {
      o.log?.(`calibrating on the GPU: ${ctx.adapterName}`);
      try {
        return { ...(await collectStatisticsGpu(ctx, g, samples, opts)), device: ctx.adapterName };
      } finally {
        if (!o.gpu) ctx.release();
      }
    }
    const why = gpuUnavailableReason();
    if (choice === 'gpu') throw new UserError(`--device=gpu: no WebGPU adapter found${why ? ` (${why})` : ''}: install a GPU driver, or chromium for SwiftShader`);
    o.log?.(`no WebGPU adapter found${why ? ` (${why})` : ''}: calibrating with the CPU executor`);
  }
  return { stats: await collectStatisticsCpu(g, samples, opts), device: 'CPU' };
}

/** A collector for the full quantizer with these device choices; progress and notices go where `o` says. */
export function statisticsCollector(o: CollectOptions = {}): StatsCollector {
  return (g, samples, req) => collectStatistics(g, samples, { ...o, ...req, onProgress: o.onProgress ?? req.onProgress });
}

export type { SampleSource, TensorStats, CollectResult } from './quant/stats.js';
