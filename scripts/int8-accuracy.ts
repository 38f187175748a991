/**
 * npm run accuracy:int8 — full quantization of every image model of ../shared/models/corpus, scored as a user
 * of a detector or segmenter would: the worst output cosine against the float model over held-out photos,
 * per method and with bias correction on and off (kimono.jpg, the shared photos' held-out one, and the worst of all
 * held-out photos), beside the QDQ reference (onnxruntime running the ONNX model
 * with Q/DQ at our own parameters, test/helpers/qdq-reference.ts) and the count of int8 elements our kernels
 * compute beyond rounding of the reference's arithmetic (0 when the arithmetic is right).
 *
 *   npm run accuracy:int8 [-- --models=road-seg,yolox --methods=MAX_MIN,KL,MSE --bc=on,off --calib=16 --held=8 --markdown]
 *
 * Calibration: the first --calib of the shared photos other than kimono.jpg; held out: kimono.jpg and every
 * 60th photo of data/imagenet-500 (--held in all), at each model's own input size and preprocessing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, toMs, Fmk } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { CalibrationMethod } from '../src/quant/calibrators.js';
import { cosineSimilarity } from '../src/bench/accuracy.js';
import type { Graph } from '../src/ir/graph.js';
import type { RT } from '../src/ir/tensor.js';
import { CorpusModel, ONNX_CORPUS, MORE_IMAGE_CORPUS, corpusPath, corpusInput } from '../test/helpers/corpus.js';
import { readBytes, PHOTOS, SHARED } from '../test/helpers/data.js';
import { buildQdqReference, localChecks } from '../test/helpers/qdq-reference.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=') ?? def;
const which = arg('models', '').split(',').filter(Boolean);
const methods = arg('methods', 'MAX_MIN,KL,MSE').split(',') as CalibrationMethod[];
const corrections = arg('bc', 'on,off').split(',').map((v) => v === 'on');
const calibCount = Number(arg('calib', '16')), heldCount = Number(arg('held', '8'));
const markdown = process.argv.includes('--markdown');

const imagenet500 = path.join(SHARED, 'data/imagenet-500');
const more = readFileSync(path.join(imagenet500, 'labels.txt'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[0]);
const held = ['kimono.jpg', ...more.filter((_, i) => i % 60 === 0).map((f) => path.join(imagenet500, f))].slice(0, heldCount);
const calibPhotos = PHOTOS.filter((p) => p !== 'kimono.jpg').slice(0, calibCount);

type Row = { model: string; method: string; bc: string; ours: number; kimono: number; reference?: number; beyond?: number; seconds: number };
const rows: Row[] = [];
const worst = (a: RT[], b: RT[]) => Math.min(...a.map((o, k) => cosineSimilarity(o.data, b[k].data)));
const perPhoto = process.argv.includes('--per-photo');

for (const m of [...ONNX_CORPUS, ...MORE_IMAGE_CORPUS].filter((c) => !which.length || which.some((w) => c.file.includes(w)))) {
  const fmk: Fmk = m.file.endsWith('.tflite') ? 'TFLITE' : 'ONNX';
  const bytes = readBytes(corpusPath(m));
  const load = () => loadModel(bytes, fmk, m.file, m.dynamic ? { inputShapes: new Map([[m.input, m.dims]]) } : {});
  const float = load();
  const inputs = held.map((p) => corpusInput(m, p));
  const floatOuts = inputs.map((x) => run(float, [{ shape: x.shape, data: x.nhwc }]));
  const calib = calibPhotos.map((p) => [corpusInput(m, p).nhwc]);
  for (const method of methods)
    for (const bc of corrections) {
      process.stderr.write(`${m.file} ${method} bias correction ${bc ? 'on' : 'off'}...\n`);
      const t0 = performance.now();
      const q = load(), before = q.clone();
      await fullQuantize(q, { count: calib.length, get: (i) => calib[i] }, { method, biasCorrection: bc, reportSamples: 0 });
      const seconds = (performance.now() - t0) / 1000;
      const ms = readMs(toMs(q));
      const each = inputs.map((x, i) => worst(run(ms, [{ shape: x.shape, data: x.nhwc }]), floatOuts[i]));
      if (perPhoto) process.stderr.write(`  per photo: ${each.map((c, i) => `${path.basename(held[i])} ${c.toFixed(4)}`).join(', ')}\n`);
      const ours = Math.min(...each);
      const row: Row = { model: m.file, method, bc: bc ? 'on' : 'off', ours, kimono: each[0], seconds };
      if (fmk === 'ONNX') Object.assign(row, await reference(m, bytes, before, q, inputs, floatOuts));
      rows.push(row);
      console.log(format(row));
    }
}

/** The QDQ reference's worst cosine over the held-out photos, and our int8 elements beyond its rounding. */
async function reference(m: CorpusModel, bytes: Uint8Array, before: Graph, q: Graph, inputs: ReturnType<typeof corpusInput>[], floatOuts: RT[][]) {
  const feeds = (x: ReturnType<typeof corpusInput>) => ({ [m.input]: new ort.Tensor('float32', x.ort, m.dims) });
  const ref = await buildQdqReference(bytes, before, q, feeds(inputs[0]), [{ shape: inputs[0].shape, data: inputs[0].nhwc }]);
  let cos = 1, beyond = 0;
  for (const [i, x] of inputs.entries()) {
    const got = await ref.run(feeds(x));
    const outs = before.outputs.map((id, k) => ({ shape: floatOuts[i][k].shape, data: got[before.tensors[id].name].data as Float32Array }));
    cos = Math.min(cos, worst(outs, floatOuts[i]));
    if (i === 0) beyond = localChecks(ref, q, got).reduce((a, c) => a + c.unexplained, 0);
  }
  return { reference: cos, beyond };
}

function format(r: Row): string {
  const cells = [r.model, r.method, r.bc, r.kimono.toFixed(4), r.ours.toFixed(4), r.reference?.toFixed(4) ?? '–', r.beyond?.toString() ?? '–', r.seconds.toFixed(0)];
  return markdown ? `| ${cells.join(' | ')} |` : cells.join('  ');
}
console.log(`\ncalibration: ${calibPhotos.length} photos; held out: ${held.map((h) => path.basename(h)).join(', ')}`);
if (markdown) console.log('| model | method | bias correction | kimono.jpg | worst of the held-out | QDQ reference, worst | int8 elements beyond rounding | convert s |\n|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(format(r));
process.exit(0);
