/**
 * npm run corpus — the real ONNX exports of ../shared/models/corpus end to end, as a user would run them:
 * float conversion time, float outputs against onnxruntime-node (CPU executor; GPU executor against the CPU
 * when an adapter exists), WeightQuant 8-bit and PostTraining (MAX_MIN, bias correction, calibration on
 * photos at the model's own size) with their mean bias against the float model on a held-out photo and the
 * worst per-layer cosines of the calibration report. Models with symbolic dims convert without --inputShape
 * (dims stay -1) and are run at their listed size. Then the corpus models of every other kind (audio, depth,
 * pose, transcription; test/helpers/coverage.ts) and the Caffe and TensorFlow models (test/helpers/frameworks.ts): conversion
 * time and their check against onnxruntime, a sibling export or their documented behaviour.
 *
 *   npm run corpus [-- --models=yunet,ppocr --calib=8 --device=cpu|gpu|auto]
 */
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { statisticsCollector, DeviceChoice } from '../src/calibrate.js';
import { meanError } from '../src/bench/accuracy.js';
import { acquireGpu } from '../src/gpu/device.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import type { Graph } from '../src/ir/graph.js';
import type { RT } from '../src/ir/tensor.js';
import { ONNX_CORPUS, corpusPath, corpusInput } from '../test/helpers/corpus.js';
import { readBytes, relMaxDiff, PHOTOS } from '../test/helpers/data.js';
import { ortRun } from '../test/helpers/ort.js';
import { COVERAGE_CORPUS } from '../test/helpers/coverage.js';
import { CAFFE_CORPUS, TF_CORPUS } from '../test/helpers/frameworks.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const which = arg('models', '').split(',').filter(Boolean);
const calibCount = Number(arg('calib', '8'));
const device = arg('device', 'auto') as DeviceChoice;

const gpu = device === 'cpu' ? undefined : await acquireGpu();
console.log(`GPU adapter: ${gpu ? gpu.adapterName : 'none'}; calibration on ${calibCount} photos, device ${device}\n`);
const meanBias = (a: RT[], b: RT[]) => (100 * a.reduce((s, o, k) => s + meanError(o.data, b[k].data), 0)) / a.length;
const rows: string[][] = [['model', 'convert ms', 'CPU vs ORT', 'GPU vs CPU', 'WQ8 bias %', 'PTQ bias %', 'worst PTQ cosines']];

for (const m of ONNX_CORPUS.filter((c) => !which.length || which.some((w) => c.file.includes(w)))) {
  const bytes = readBytes(corpusPath(m));
  const load = () => loadModel(bytes, 'ONNX', m.file);
  const t0 = performance.now();
  const float = load();
  const convertMs = performance.now() - t0;
  const held = corpusInput(m, 'kimono.jpg');
  const x: RT[] = [{ shape: held.shape, data: held.nhwc }];
  const ref = await ortRun(corpusPath(m), { [m.input]: { data: held.ort, dims: m.dims } });
  const floatOut = run(readMs(toMs(float)), x);
  const vsOrt = Math.max(...floatOut.map((o, k) => relMaxDiff(o.data, ref[float.tensors[float.outputs[k]].name])));
  let vsCpu = '-';
  if (gpu) {
    const ex = await GpuExecutor.create(gpu, float, 1, { inputShapes: [held.shape] });
    await ex.run([held.nhwc]);
    const out = await ex.outputs();
    ex.destroy();
    vsCpu = Math.max(...out.map((o, k) => relMaxDiff(o.data, floatOut[k].data))).toExponential(1);
  }
  const wq = load();
  weightQuantize(wq, { bitNum: 8, minQuantWeightSize: 0, minQuantWeightChannel: 16 });
  const wqBias = meanBias(run(readMs(toMs(wq)), x), floatOut);

  const calib = PHOTOS.filter((p) => p !== 'kimono.jpg').slice(0, calibCount).map((p) => [corpusInput(m, p).nhwc]);
  const pq: Graph = load();
  process.stderr.write(`${m.file}: calibrating on ${calib.length} photos...\n`);
  const r = await fullQuantize(pq, { count: calib.length, get: (i) => calib[i] }, {
    method: 'MAX_MIN', biasCorrection: true, collect: statisticsCollector({ device, gpu }), reportSamples: 2,
  });
  const ptqBias = meanBias(run(readMs(toMs(pq)), x), floatOut);
  const worst = [...r.rows].sort((a, b) => a.cosine - b.cosine).slice(0, 3).map((w) => `${w.tensor} ${w.cosine.toFixed(3)}`).join(', ');
  rows.push([m.file, convertMs.toFixed(0), vsOrt.toExponential(1), vsCpu, wqBias.toFixed(3), ptqBias.toFixed(2), worst]);
  console.log(rows[rows.length - 1].join(' | '));
}
gpu?.release();
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`\n${rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ')).join('\n')}`);

// The models of every other kind (audio, depth, pose, transcription) and the Caffe and TF ones: float conversion and
// the check each has.
let failed = 0;
console.log('\nmodel | kind | convert ms | measured | ok');
for (const m of [...COVERAGE_CORPUS, ...CAFFE_CORPUS, ...TF_CORPUS].filter((c) => !which.length || which.some((w) => c.file.includes(w)))) {
  const r = await m.check();
  if (!r.ok) failed++;
  console.log([m.file, m.kind, r.convertMs.toFixed(0), r.measured, r.ok ? 'yes' : 'NO'].join(' | '));
}
process.exit(failed ? 1 : 0);
