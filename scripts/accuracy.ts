/**
 * npm run accuracy — a classifier's ImageNet accuracy after each quantization, on a labeled image folder:
 * calibrates on --calib images picked with a fixed seed and scores the rest: top-1, top-5, the drop from float
 * and the top-1 agreement with the float model, for float, WeightQuant 8 and 4 bits and every PostTraining
 * method, MindSpore's and our extensions (bias correction on, as the seed's config), with conversion time. WeightQuant
 * at 4 bits uses the clipping search, its default at <= 6 bits.
 *
 *   npm run accuracy [-- --model=onnx/squeezenet1.1-fp32.onnx --data=../shared/data/imagenet-500 --calib=100
 *                        --score=400 --seed=1 --methods=MAX_MIN,KL,REMOVAL_OUTLIER,MSE,KL_ASYMMETRIC --wq=8,4]
 *
 * Preprocessing is SqueezeNet's (BGR, 0..255, the whole photo resized to 224x224). Photos are decoded once and
 * kept as 8-bit pixels; float tensors are made per use.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { fullQuantizeToTarget } from '../src/quant/fallback.js';
import { CALIBRATION_METHODS, CalibrationMethod } from '../src/quant/calibrators.js';
import { statisticsCollector } from '../src/calibrate.js';
import { decodeImage } from '../src/data/decode.js';
import { resizeBilinear, toTensor, RgbImage } from '../src/data/images.js';
import type { Graph } from '../src/ir/graph.js';
import { MODELS, SHARED } from '../test/helpers/data.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=') ?? def;
const modelFile = path.join(MODELS, arg('model', 'onnx/squeezenet1.1-fp32.onnx'));
const dataDir = arg('data', path.join(SHARED, 'data/imagenet-500'));
const calibCount = Number(arg('calib', '100')), seed = Number(arg('seed', '1'));
const methods = arg('methods', CALIBRATION_METHODS.join(',')).split(',').filter(Boolean) as CalibrationMethod[];
const wqBits = arg('wq', '8,4').split(',').filter(Boolean).map(Number);
/** --target=<mean relative error %>: also each method with accuracy_target (our fallback). */
const targets = arg('target', '').split(',').filter(Boolean).map(Number);

/** mulberry32 */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const labeled = readFileSync(path.join(dataDir, 'labels.txt'), 'utf8').trim().split('\n').map((l) => {
  const [file, label] = l.trim().split(/\s+/);
  return { file, label: Number(label) };
});
const r = prng(seed);
const order = labeled.map((x) => ({ x, k: r() })).sort((a, b) => a.k - b.k).map((o) => o.x);
const calibSet = order.slice(0, calibCount), scoreSet = order.slice(calibCount, calibCount + Number(arg('score', String(order.length))));

process.stderr.write(`decoding ${calibSet.length + scoreSet.length} photos...\n`);
const pixels = new Map<string, RgbImage>();
for (const { file } of [...calibSet, ...scoreSet]) pixels.set(file, resizeBilinear(decodeImage(new Uint8Array(readFileSync(path.join(dataDir, file))), file), 224, 224));
const tensor = (file: string) => toTensor(pixels.get(file)!, { channels: 'BGR' });
const calib = { count: calibSet.length, get: (i: number) => [tensor(calibSet[i].file)] };

const bytes = new Uint8Array(readFileSync(modelFile));
const load = () => loadModel(bytes, 'ONNX', modelFile);

/** Top-5 class indices of every scored photo. */
function predict(g: Graph): number[][] {
  return scoreSet.map(({ file }) => {
    const [out] = run(g, [{ shape: [1, 224, 224, 3], data: tensor(file) }]);
    return Array.from(out.data.keys()).sort((a, b) => out.data[b] - out.data[a]).slice(0, 5);
  });
}

const rows: string[][] = [['model', 'top-1', 'top-5', 'change (pt)', 'agreement', 'convert s']];
const t0 = performance.now();
const float = load();
const reference = predict(float);
const pct = (n: number) => ((100 * n) / scoreSet.length).toFixed(2);
const floatTop1 = reference.filter((p, i) => p[0] === scoreSet[i].label).length;
function report(name: string, preds: number[][], seconds: number): void {
  const top1 = preds.filter((p, i) => p[0] === scoreSet[i].label).length;
  const top5 = preds.filter((p, i) => p.includes(scoreSet[i].label)).length;
  const agree = preds.filter((p, i) => p[0] === reference[i][0]).length;
  rows.push([name, pct(top1), pct(top5), ((100 * (top1 - floatTop1)) / scoreSet.length).toFixed(2), pct(agree), seconds.toFixed(1)]);
  console.log(rows[rows.length - 1].join(' | '));
}
report('float', reference, (performance.now() - t0) / 1000);
for (const bits of wqBits) {
  const s = performance.now();
  const g = load();
  weightQuantize(g, { bitNum: bits, minQuantWeightSize: 0, minQuantWeightChannel: 16 });
  report(`WeightQuant ${bits}`, predict(g), (performance.now() - s) / 1000);
}
for (const method of methods) {
  const s = performance.now();
  const g = load();
  await fullQuantize(g, calib, { method, biasCorrection: true, collect: statisticsCollector({ device: 'cpu' }), reportSamples: 4 });
  const seconds = (performance.now() - s) / 1000;
  report(`PostTraining ${method}`, predict(g), seconds);
  for (const target of targets) {
    const s2 = performance.now();
    const t = load();
    const { fallback } = await fullQuantizeToTarget(t, calib, { method, biasCorrection: true, collect: statisticsCollector({ device: 'cpu' }), reportSamples: 0 }, target);
    report(`${method} target ${target}% (${fallback.keptFloat.length} float, ${(100 * fallback.int8WeightShare).toFixed(0)}% int8 weights)`, predict(t), (performance.now() - s2) / 1000);
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
console.log(`\n${path.basename(modelFile)} on ${path.basename(dataDir)}: ${calibSet.length} calibration photos (seed ${seed}), ${scoreSet.length} scored`);
console.log(rows.map((row) => row.map((v, c) => v.padEnd(widths[c])).join('  ')).join('\n'));
process.exit(0);
