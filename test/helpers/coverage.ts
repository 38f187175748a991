/**
 * The corpus models of every kind beyond images (models/corpus/README.md), each with the check a user of it
 * would trust: onnxruntime's outputs for ONNX models (seeded inputs in each input's range), the documented
 * behaviour on real data for TFLite ones. Shared by test/model-coverage.test.ts and `npm run corpus`.
 */
import { loadModel, toMs } from '../../src/convert.js';
import { readMs } from '../../src/ir/import/ms.js';
import { run } from '../../src/cpu/executor.js';
import { readBytes, model, photo, mnistDigits } from './data.js';
import { compareWithOrt } from './ort-compare.js';

export interface CoverageResult {
  /** What was measured, in words with the number. */
  measured: string;
  ok: boolean;
  convertMs: number;
}

export interface CoverageModel {
  file: string;
  /** The failure class of issue #27 it stands for. */
  kind: string;
  check: () => Promise<CoverageResult>;
}

/** Converts through the .ms bytes, as a user's file, and times it. */
function converted(file: string, fmk: 'ONNX' | 'TFLITE') {
  const t0 = performance.now();
  const g = readMs(toMs(loadModel(readBytes(model(`corpus/${file}`)), fmk, file)));
  return { g, convertMs: performance.now() - t0 };
}

const onnxAgainstOrt = (file: string, ranges: Record<string, [number, number]> = {}) => async (): Promise<CoverageResult> => {
  const r = await compareWithOrt(model(`corpus/${file}`), ranges);
  return { measured: `max |ours − onnxruntime| / max |onnxruntime| = ${r.worst.toExponential(2)}`, ok: r.worst <= 1e-4, convertMs: r.convertMs };
};

/** MoveNet keypoints (y, x, score) on the standing person of kimono.jpg: head above shoulders above hips above ankles. */
async function movenet(): Promise<CoverageResult> {
  const { g, convertMs } = converted('movenet-lightning-int8.tflite', 'TFLITE');
  const x = photo('kimono.jpg', 192, 192);
  const [out] = run(g, [{ shape: [1, 192, 192, 3], data: Uint8Array.from(x, (v) => Math.round(v)) }]);
  const y = (k: number) => out.data[k * 3], score = (k: number) => out.data[k * 3 + 2];
  // COCO order: 0 nose, 5/6 shoulders, 11/12 hips, 15/16 ankles
  const ordered = y(0) < Math.min(y(5), y(6)) && Math.max(y(5), y(6)) < Math.min(y(11), y(12)) && Math.max(y(11), y(12)) < Math.min(y(15), y(16));
  const meanScore = [...Array(17).keys()].reduce((s, k) => s + score(k), 0) / 17;
  const inputIsUint8 = g.tensors[g.inputs[0]].dtype === 'uint8';
  return { measured: `nose y ${y(0).toFixed(2)}, shoulders ${y(5).toFixed(2)}, hips ${y(11).toFixed(2)}, ankles ${y(15).toFixed(2)}, mean score ${meanScore.toFixed(2)}, uint8 input ${inputIsUint8}`, ok: ordered && meanScore > 0.3 && inputIsUint8, convertMs };
}

/** Basic Pitch on 2 s sine tones: the note output peaks at the tone's MIDI note (bin = note − 21). */
async function basicPitch(): Promise<CoverageResult> {
  const { g, convertMs } = converted('basic-pitch-nmp.tflite', 'TFLITE');
  const peaks: number[] = [];
  for (const midi of [57, 69, 76]) {
    const hz = 440 * 2 ** ((midi - 69) / 12);
    const x = Float32Array.from({ length: 43844 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / 22050));
    const note = run(g, [{ shape: [1, 43844, 1], data: x }]).find((o) => o.shape[2] === 88)!;
    const mean = new Float64Array(88);
    for (let i = 0; i < note.data.length; i++) mean[i % 88] += note.data[i];
    peaks.push(mean.indexOf(Math.max(...mean)) + 21);
  }
  return { measured: `note peaks at MIDI ${peaks.join(', ')} for tones 57, 69, 76`, ok: String(peaks) === '57,69,76', convertMs };
}

/** The TFLite Micro LSTM reading MNIST row by row: top-1 on 300 real digits. */
async function mnistLstm(): Promise<CoverageResult> {
  const { g, convertMs } = converted('tflm-mnist-lstm.tflite', 'TFLITE');
  const digits = mnistDigits(300);
  let right = 0;
  for (const d of digits) {
    const [out] = run(g, [{ shape: [1, 28, 28], data: d.pixels.map((v) => v / 255) }]);
    const scores = Array.from(out.data);
    if (scores.indexOf(Math.max(...scores)) === d.label) right++;
  }
  return { measured: `top-1 ${((100 * right) / digits.length).toFixed(1)} % on ${digits.length} MNIST digits`, ok: right / digits.length >= 0.95, convertMs };
}

export const COVERAGE_CORPUS: CoverageModel[] = [
  { file: 'dtln-1.onnx', kind: 'recurrent (LSTM with its default activations spelled out)', check: onnxAgainstOrt('dtln-1.onnx', { input_2: [0, 2] }) },
  { file: 'gtcrn-simple.onnx', kind: 'recurrent (PyTorch GRU, linear_before_reset = 1, unrolled)', check: onnxAgainstOrt('gtcrn-simple.onnx') },
  { file: 'tflm-mnist-lstm.tflite', kind: 'recurrent (TFLite UNIDIRECTIONAL_SEQUENCE_LSTM, clipped cell)', check: mnistLstm },
  { file: 'lite-mono-tiny-dec-640x192.onnx', kind: 'shape arithmetic (Pad from Shape, Resize scales from Concat)', check: onnxAgainstOrt('lite-mono-tiny-dec-640x192.onnx') },
  { file: 'basic-pitch-nmp.tflite', kind: 'layout (Conv1D as EXPAND_DIMS + CONV_2D)', check: basicPitch },
  { file: 'movenet-lightning-int8.tflite', kind: 'TFLite integer tensors (uint8 input, requantization)', check: movenet },
];
