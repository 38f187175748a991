/**
 * Any ONNX model against onnxruntime on seeded inputs: our float conversion (through the .ms bytes) and
 * onnxruntime on the same values, the worst output's max |difference| / max |onnxruntime output|. 4-D inputs
 * the converter made NHWC are fed to it transposed (as a user of the .ms feeds them).
 */
import { loadModel, toMs } from '../../src/convert.js';
import { readMs } from '../../src/ir/import/ms.js';
import { run } from '../../src/cpu/executor.js';
import { Format } from '../../src/ir/graph.js';
import type { RT } from '../../src/ir/tensor.js';
import { readBytes, relMaxDiff, nhwcToNchw } from './data.js';
import * as ort from 'onnxruntime-node';

/** mulberry32: the same values on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface OrtComparison { worst: number; perOutput: Record<string, number>; convertMs: number }

/**
 * `ranges` gives [lo, hi] per input name (default [-1, 1]); `inputShape` the --inputShape map for dynamic dims.
 */
export async function compareWithOrt(file: string, ranges: Record<string, [number, number]> = {}, inputShapes?: Map<string, number[]>): Promise<OrtComparison> {
  const bytes = readBytes(file);
  const t0 = performance.now();
  const g = loadModel(bytes, 'ONNX', file, { inputShapes });
  const ms = readMs(toMs(g));
  const convertMs = performance.now() - t0;
  const rand = seeded(7);
  const ours: RT[] = [], feeds: Record<string, ort.Tensor> = {};
  for (const id of g.inputs) {
    const t = g.tensors[id];
    const [lo, hi] = ranges[t.name] ?? [-1, 1];
    const data = Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rand());
    ours.push({ shape: t.shape, data });
    const nhwc = t.shape.length === 4 && t.format === Format.NHWC;
    const [n, h, w, c] = t.shape;
    feeds[t.name] = nhwc ? new ort.Tensor('float32', nhwcToNchw(data, n, h, w, c), [n, c, h, w]) : new ort.Tensor('float32', data, t.shape);
  }
  const session = await ort.InferenceSession.create(file);
  const ref = await session.run(feeds);
  const out = run(ms, ours);
  const perOutput: Record<string, number> = {};
  g.outputs.forEach((id, k) => {
    const name = g.tensors[id].name;
    const shape = out[k].shape, dims = ref[name].dims;
    // An output in the model's own layout is compared as is; one the converter left NHWC, transposed back.
    const [n, h, w, c] = shape;
    const nhwc = shape.length === 4 && String(shape) !== String(dims) && String([n, c, h, w]) === String(dims);
    perOutput[name] = relMaxDiff(nhwc ? nhwcToNchw(out[k].data as Float32Array, n, h, w, c) : out[k].data, ref[name].data as Float32Array);
  });
  return { worst: Math.max(...Object.values(perOutput)), perOutput, convertMs };
}
