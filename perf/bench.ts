/**
 * npm run bench — forward latency of the CPU executor against onnxruntime-node, side by side, batch 1: for
 * SqueezeNet 1.1, VWW (the float TFLite model, against onnxruntime only where an ONNX form exists), UltraFace
 * RFB-320, DeepLabV3-MobileNetV2 (257x257) and mnist-8, at 1 and 2 threads each (the same count for both), plus the int8 executor on each
 * model's PostTraining (MAX_MIN) copy. Inputs are decoded and laid out before any timed region; each figure is the
 * minimum of --runs runs after warm-up. Then CPU calibration against onnxruntime's forward pass
 * (`calibration`), the calibration image pipeline (`images`), PostTraining of SqueezeNet on 100 ImageNet photos
 * end to end through `converter_lite` (`ptq`), and the time per op type of a model float and int8 (`profile`,
 * `--profile=squeezenet --profileThreads=1`). Timings never appear in tests.
 *
 *   npm run bench [-- --runs=20 --models=squeezenet,ultraface,calibration,images,ptq,profile --profile=deeplabv3]
 */
import * as ort from 'onnxruntime-node';
import { loadModel, Fmk } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { setThreads, useWasm } from '../src/cpu/wasm/index.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { statisticsCollector, collectStatistics } from '../src/calibrate.js';
import { acquireGpu } from '../src/gpu/device.js';
import type { SampleSource } from '../src/quant/stats.js';
import { model, readBytes, photo, PHOTOS, nhwcToNchw, mnistDigits, SHARED, IMAGENET } from '../test/helpers/data.js';
import { calibrationSource } from '../src/quant/calib-data.js';
import { NativeImageDecoder } from '../src/data/native-decode.js';
import { decodeImage } from '../src/data/decode.js';
import { resizeBilinear, toTensor } from '../src/data/images.js';
import path from 'node:path';
import { mkdtempSync, mkdirSync, copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { OpProfile } from '../src/bench/profile.js';
import { tmpdir } from 'node:os';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const runs = Number(arg('runs', '20'));
const which = arg('models', 'squeezenet,vww,ultraface,deeplabv3,mnist,calibration,images,ptq,profile').split(',');

/** `calib`: the samples its PostTraining copy (the int8 column) is calibrated on. */
interface Bench { name: string; file: string; fmk: Fmk; onnx?: string; ortNhwc?: boolean; shape: number[]; input: () => Float32Array; calib: () => Float32Array[] }
const BENCHES: Bench[] = [
  { name: 'squeezenet', file: 'onnx/squeezenet1.1-fp32.onnx', fmk: 'ONNX', onnx: 'onnx/squeezenet1.1-fp32.onnx', shape: [224, 224, 3], input: () => photo('cat.bmp', 224, 224, { channels: 'BGR' }),
    calib: () => PHOTOS.slice(0, 8).map((p) => photo(p, 224, 224, { channels: 'BGR' })) },
  { name: 'vww', file: 'tflite/vww-mobilenetv1-0.25-96-float.tflite', fmk: 'TFLITE', shape: [96, 96, 3],
    input: () => photo(path.join(SHARED, 'data/person/person.bmp'), 96, 96, { std: [255, 255, 255] }),
    calib: () => ['person.bmp', 'no_person.bmp'].map((f) => photo(path.join(SHARED, 'data/person', f), 96, 96, { std: [255, 255, 255] })) },
  { name: 'ultraface', file: 'onnx/ultraface-rfb-320.onnx', fmk: 'ONNX', onnx: 'onnx/ultraface-rfb-320.onnx', shape: [240, 320, 3],
    input: () => photo('face.jpg', 320, 240, { mean: [127, 127, 127], std: [128, 128, 128] }),
    calib: () => PHOTOS.slice(0, 8).map((p) => photo(p, 320, 240, { mean: [127, 127, 127], std: [128, 128, 128] })) },
  // NHWC already (a tf2onnx export): onnxruntime takes the same layout, `ortNhwc`
  { name: 'deeplabv3', file: 'corpus/deeplabv3-mnv2.onnx', fmk: 'ONNX', onnx: 'corpus/deeplabv3-mnv2.onnx', ortNhwc: true, shape: [257, 257, 3],
    input: () => photo('kimono.jpg', 257, 257, { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] }),
    calib: () => PHOTOS.slice(0, 4).map((p) => photo(p, 257, 257, { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] })) },
  { name: 'mnist', file: 'onnx/mnist-8.onnx', fmk: 'ONNX', onnx: 'onnx/mnist-8.onnx', shape: [28, 28, 1], input: () => mnistDigits(1, 7)[0].pixels,
    calib: () => mnistDigits(20, 100).map((d) => d.pixels) },
];

/** Minimum milliseconds of `fn` over the runs, after three warm-up calls. */
async function minMs(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const rows: string[][] = [['model', 'threads', 'onnxruntime ms', 'ours float ms', 'ratio', 'ours int8 ms', 'TypeScript kernels ms']];
for (const b of BENCHES.filter((x) => which.includes(x.name))) {
  const g = loadModel(readBytes(model(b.file)), b.fmk, b.file);
  const [h, w, c] = b.shape;
  const x = b.input();
  const feed = [{ shape: [1, h, w, c], data: x }];
  const int8 = loadModel(readBytes(model(b.file)), b.fmk, b.file);
  const calib = b.calib();
  await fullQuantize(int8, { count: calib.length, get: (i) => [calib[i]] }, { method: 'MAX_MIN', collect: statisticsCollector({ device: 'cpu' }), reportSamples: 1 });
  for (const threads of [1, 2]) {
    let ortMs: number | undefined;
    if (b.onnx) {
      const s = await ort.InferenceSession.create(model(b.onnx), { intraOpNumThreads: threads, interOpNumThreads: 1 });
      const t = b.ortNhwc ? new ort.Tensor('float32', x, [1, h, w, c]) : new ort.Tensor('float32', nhwcToNchw(x, 1, h, w, c), [1, c, h, w]);
      ortMs = await minMs(() => s.run({ [s.inputNames[0]]: t }));
    }
    setThreads(threads);
    const ours = await minMs(() => run(g, feed));
    const q = (await minMs(() => run(int8, feed))).toFixed(2);
    useWasm(false);
    const ts = threads === 1 ? (await minMs(() => run(g, feed))).toFixed(1) : '-';
    useWasm(true);
    rows.push([b.name, String(threads), ortMs?.toFixed(2) ?? '-', ours.toFixed(2), ortMs ? `${(ours / ortMs).toFixed(2)}x` : '-', q, ts]);
    console.log(rows[rows.length - 1].join(' | '));
  }
}
const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
console.log(`\n${rows.map((r) => r.map((v, k) => v.padEnd(widths[k])).join('  ')).join('\n')}`);
console.log(`(minimum of ${runs} runs after warm-up; inputs prepared before timing; ratio = ours / onnxruntime)`);
if (which.includes('calibration')) await calibration();
if (which.includes('images')) await imagePipeline();
if (which.includes('ptq')) postTraining();
if (which.includes('profile')) await profile();

/**
 * `converter_lite --quantType=PostTraining` of SqueezeNet calibrated on 100 ImageNet photos (JPEG files decoded,
 * resized and normalized by the converter, MAX_MIN, bias correction off and on), 2 threads, in a child process: the
 * seconds a user waits, start to written .ms, with the CPU executor calibrating (--device=cpu; `npm run
 * bench:gpu` measures the GPU).
 */
function postTraining(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'webptq-ptq-'));
  const photos = path.join(dir, 'photos');
  mkdirSync(photos);
  const src = path.join(SHARED, 'data/imagenet-500');
  for (const f of readdirSync(src).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 100)) copyFileSync(path.join(src, f), path.join(photos, f));
  const times = [false, true].map((biasCorrection) => {
    const cfg = path.join(dir, `sq-${biasCorrection}.cfg`);
    writeFileSync(cfg, ['[full_quant_param]', 'activation_quant_method=MAX_MIN', `bias_correction=${biasCorrection}`, '[data_preprocess_param]',
      `calibrate_path=data_0:${photos}`, 'calibrate_size=100', 'input_type=IMAGE', 'image_to_format=BGR', 'normalize_mean=[0,0,0]',
      'normalize_std=[1,1,1]', 'resize_width=224', 'resize_height=224', 'resize_method=LINEAR', ''].join('\n'));
    const args = ['bin/converter_lite.js', '--fmk=ONNX', `--modelFile=${model('onnx/squeezenet1.1-fp32.onnx')}`, `--outputFile=${path.join(dir, 'sq')}`,
      '--quantType=PostTraining', `--configFile=${cfg}`, '--numThreads=2', '--device=cpu', '--quiet'];
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`converter_lite failed: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  });
  console.log(`\nPostTraining SqueezeNet, 100 ImageNet photos, MAX_MIN, end to end (converter_lite, 2 threads): ${times[0].toFixed(2)} s; ` +
    `with bias correction (MindSpore's default) ${times[1].toFixed(2)} s`);
}

/**
 * Time per op type (benchmark --timeProfiling's table) of a model's float form and its PostTraining copy
 * (`--profile=<bench name>`, SqueezeNet by default), at `--profileThreads` (default 1).
 */
async function profile(): Promise<void> {
  const b = BENCHES.find((x) => x.name === arg('profile', 'squeezenet'))!;
  const threads = Number(arg('profileThreads', '1'));
  const g = loadModel(readBytes(model(b.file)), b.fmk, b.file), q = g.clone();
  const calib = b.calib();
  await fullQuantize(q, { count: calib.length, get: (i) => [calib[i]] }, { method: 'MAX_MIN', collect: statisticsCollector({ device: 'cpu' }), reportSamples: 0 });
  const feed = [{ shape: [1, ...b.shape], data: b.input() }];
  setThreads(threads);
  for (const [label, graph] of [['float', g], ['int8', q]] as const) {
    const p = new OpProfile();
    for (let i = 0; i < 3; i++) run(graph, feed);
    for (let i = 0; i < runs; i++) {
      run(graph, feed, { timeNode: p.record });
      p.endRun();
    }
    console.log(`\n${b.name} ${label}, ${threads} thread(s), time per op type (mean of ${runs} runs):\n${p.format()}`);
  }
}

/**
 * CPU calibration as full quantization runs it for MAX_MIN + KL (the min/max pass, then the histogram pass) of
 * SqueezeNet on 100 ImageNet photos, decoded before timing, batch 8, against onnxruntime's plain forward pass
 * over the same inputs (NCHW, laid out before timing). The GPU row only where the adapter is hardware.
 */
async function calibration(): Promise<void> {
  const dir = path.join(SHARED, 'data/imagenet-500');
  const files = readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 100);
  const inputs = files.map((f) => photo(path.join(dir, f), 224, 224, { channels: 'BGR' }));
  const g = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'sq');
  const src: SampleSource = { count: inputs.length, get: (i) => [inputs[i]] };
  const s = await ort.InferenceSession.create(model('onnx/squeezenet1.1-fp32.onnx'));
  const nchw = inputs.map((x) => new ort.Tensor('float32', nhwcToNchw(x, 1, 224, 224, 3), [1, 3, 224, 224]));
  const seconds = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return (performance.now() - t0) / 1000;
  };
  await s.run({ [s.inputNames[0]]: nchw[0] });
  const ortRate = inputs.length / (await seconds(async () => { for (const t of nchw) await s.run({ [s.inputNames[0]]: t }); }));
  const passes: ('minmax' | 'histogram')[] = ['minmax', 'histogram'];
  setThreads(2);
  const cpuRate = inputs.length / (await seconds(() => collectStatistics(g, src, { passes, batchSize: 8, device: 'cpu' })));
  const lines = [`onnxruntime forward ${ortRate.toFixed(1)} samples/s`, `CPU executor ${cpuRate.toFixed(1)} samples/s (${(cpuRate / ortRate).toFixed(3)}x)`];
  const gpu = await acquireGpu();
  if (gpu && !gpu.software) {
    await collectStatistics(g, { count: 8, get: src.get }, { passes, batchSize: 8, gpu });
    const gpuRate = inputs.length / (await seconds(() => collectStatistics(g, src, { passes, batchSize: 8, gpu })));
    lines.push(`GPU ${gpu.adapterName} ${gpuRate.toFixed(1)} samples/s (${(gpuRate / ortRate).toFixed(3)}x)`);
  } else lines.push(gpu ? 'GPU row skipped: the adapter is SwiftShader (software)' : 'no GPU adapter');
  gpu?.release();
  console.log(`\ncalibration, SqueezeNet, ${inputs.length} ImageNet photos, MAX_MIN + KL passes, batch 8, 2 threads: ${lines.join('; ')}`);
}

/**
 * The calibration image pipeline on the 17 shared photos (SqueezeNet's preprocessing: 224x224 bilinear, BGR):
 * files read, decoded, resized and normalized, as `calibrationSource` serves them with decoding ahead (sharp in
 * its helper thread), against the JS decoders one photo after another. Files are in the page cache (warm-up).
 */
async function imagePipeline(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'webptq-bench-'));
  for (const f of PHOTOS) copyFileSync(path.join(IMAGENET, f), path.join(dir, f));
  const g = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'sq');
  const image = { format: 'BGR' as const, resize: { width: 224, height: 224, method: 'LINEAR' as const } };
  const files = PHOTOS.map((f) => path.join(dir, f));
  const jsMs = await minMs(() => files.map((f) => toTensor(resizeBilinear(decodeImage(new Uint8Array(readFileSync(f)), f), 224, 224), { channels: 'BGR' })));
  const native = NativeImageDecoder.get();
  const src = calibrationSource(g, { dirs: [dir], count: files.length, inputType: 'IMAGE', image });
  const aheadMs = await minMs(() => {
    src.prefetch!(0, files.length);
    return files.map((_, i) => src.get(i));
  });
  const rate = (ms: number) => (files.length / ms) * 1000;
  console.log(`\nimage pipeline, ${files.length} photos (decode + resize 224x224 + normalize): ` +
    `${native ? 'sharp decoding ahead' : 'JS decoders (sharp did not load)'} ${rate(aheadMs).toFixed(0)} images/s (${aheadMs.toFixed(1)} ms); ` +
    `JS decoders in turn ${rate(jsMs).toFixed(0)} images/s (${jsMs.toFixed(1)} ms); ${(jsMs / aheadMs).toFixed(2)}x`);
}
process.exit(0);
