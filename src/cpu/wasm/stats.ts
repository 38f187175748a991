/**
 * The CPU collector's statistics on the WebAssembly kernels: min / max with NaN and Inf counts, and MindSpore's
 * |x| histogram, four values per step — equal to the TypeScript loops of quant/stats.ts (the reference; tests
 * compare them). Undefined when the kernels are not loaded.
 */
import { wasmKernels } from './index.js';

export interface MinMax { min: number; max: number; nanCount: number; infCount: number }

export function wasmMinMax(x: Float32Array): MinMax | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const xp = w.put(x), out = w.alloc(4);
  w.k.minMaxF32(xp, x.length, out);
  const [min, max] = w.read(out, 2), [nanCount, infCount] = new Int32Array(w.memory.buffer, out + 8, 2);
  w.release();
  return { min, max, nanCount, infCount };
}

/** Adds the counts of x's |values| in bins of `interval` (float32, > 0) to `hist`; false when the kernels are not loaded. */
export function wasmHistogram(hist: Float64Array, interval: number, x: Float32Array): boolean {
  const w = wasmKernels();
  if (!w) return false;
  const bins = hist.length, copy = bins + 1; // four copies of the counters, each with a slot for skipped values
  const xp = w.put(x), counts = w.alloc(4 * copy);
  new Int32Array(w.memory.buffer, counts, 4 * copy).fill(0);
  w.k.histogramF32(xp, x.length, interval, bins, counts);
  const c = new Int32Array(w.memory.buffer, counts, 4 * copy);
  for (let b = 0; b < bins; b++) hist[b] += c[b] + c[copy + b] + c[2 * copy + b] + c[3 * copy + b];
  w.release();
  return true;
}
