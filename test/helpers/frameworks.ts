/**
 * The Caffe and TensorFlow models of models/corpus (#28), each with an independent oracle: the same network's
 * ONNX export in onnxruntime, its TFLite export through our TFLite path, MNIST labels, the faces of a real
 * photo. Shared by test/caffe.test.ts, test/tf.test.ts and `npm run corpus`.
 */
import { loadModel, toMs, Fmk } from '../../src/convert.js';
import { readMs } from '../../src/ir/import/ms.js';
import { run } from '../../src/cpu/executor.js';
import { formatViolations } from '../../src/ir/formats.js';
import type { Graph } from '../../src/ir/graph.js';
import type { RT } from '../../src/ir/tensor.js';
import path from 'node:path';
import { decodeImage } from '../../src/data/decode.js';
import { resizeBilinear, toTensor } from '../../src/data/images.js';
import { model, readBytes, photo, nhwcToNchw, relMaxDiff, mnistDigits, argmax, IMAGENET } from './data.js';
import { ortRun } from './ort.js';
import type { CoverageModel, CoverageResult } from './coverage.js';

export const caffeFiles = (name: string) => ({ prototxt: model(`corpus/caffe/${name}.prototxt`), caffemodel: model(`corpus/caffe/${name}.caffemodel`) });

/** A corpus model converted through the .ms bytes, as a user's file, timed; the writer's label rules checked. */
function converted(load: () => Graph): { g: Graph; convertMs: number } {
  const t0 = performance.now();
  const g = load();
  const violations = formatViolations(g);
  if (violations.length) throw new Error(`MindSpore Lite would refuse the conversion: ${violations[0]}`);
  return { g: readMs(toMs(g)), convertMs: performance.now() - t0 };
}

export function convertCaffe(name: string, inputShapes?: Map<string, number[]>): { g: Graph; convertMs: number } {
  const f = caffeFiles(name);
  return converted(() => loadModel(readBytes(f.prototxt), 'CAFFE', `${name}.prototxt`, { inputShapes, weightFile: { bytes: readBytes(f.caffemodel), file: `${name}.caffemodel` } }));
}

export function convertFile(rel: string, fmk: Fmk): { g: Graph; convertMs: number } {
  return converted(() => loadModel(readBytes(model(`corpus/${rel}`)), fmk, rel));
}

export const outputNamed = (g: Graph, outs: RT[], name: string): Float32Array => outs[g.outputs.findIndex((id) => g.tensors[id].name === name)].data as Float32Array;

/** UltraFace RFB-320 against its ONNX export in onnxruntime on face.jpg. */
async function ultraface(): Promise<CoverageResult> {
  const { g, convertMs } = convertCaffe('ultraface-rfb-320');
  const x = photo('face.jpg', 320, 240, { mean: [127, 127, 127], std: [128, 128, 128] });
  const outs = run(g, [{ shape: [1, 240, 320, 3], data: x }]);
  const want = await ortRun(model('corpus/ultraface-rfb-320-nopost.onnx'), { input: { data: nhwcToNchw(x, 1, 240, 320, 3), dims: [1, 3, 240, 320] } });
  const worst = Math.max(...['scores', 'boxes'].map((n) => relMaxDiff(outputNamed(g, outs, n), want[n])));
  return { measured: `max |ours − onnxruntime (ONNX export)| / max |out| = ${worst.toExponential(2)}`, ok: worst < 1e-4, convertMs };
}

/** A face-mask detector export against face-mask-det.tflite through our TFLite path on face.jpg (locations, classes). */
export const againstFaceMaskTflite = (convert: () => { g: Graph; convertMs: number }) => async (): Promise<CoverageResult> => {
  const { g, convertMs } = convert();
  const t = convertFile('face-mask-det.tflite', 'TFLITE').g;
  const x = photo('face.jpg', 260, 260, { std: [255, 255, 255] });
  const a = run(g, [{ shape: [1, 260, 260, 3], data: x }]), b = run(t, [{ shape: [1, 260, 260, 3], data: x }]);
  const sameShapes = String(a.map((o) => o.shape)) === String(b.map((o) => o.shape));
  const worst = sameShapes ? Math.max(...a.map((o, k) => relMaxDiff(o.data, b[k].data))) : Infinity;
  return { measured: `outputs ${a.map((o) => `[${o.shape}]`).join(' ')}; max |ours − TFLite export| / max |out| = ${worst.toExponential(2)}`, ok: worst < 1e-4, convertMs };
};

export const lenetInput = (d: { pixels: Float32Array }) => d.pixels.map((v) => v * 0.00390625);

/** LeNet top-1 on real MNIST digits. */
export function lenetTop1(g: Graph, count: number): number {
  let right = 0;
  for (const d of mnistDigits(count)) if (argmax(run(g, [{ shape: [1, 28, 28, 1], data: lenetInput(d) }])[0].data) === d.label) right++;
  return right / count;
}

async function lenet(): Promise<CoverageResult> {
  const { g, convertMs } = convertCaffe('lenet-mnist', new Map([['data', [1, 1, 28, 28]]]));
  const top1 = lenetTop1(g, 2000);
  return { measured: `top-1 ${(100 * top1).toFixed(1)} % on 2,000 MNIST digits`, ok: top1 >= 0.98, convertMs };
}

/**
 * face.jpg (or a square crop of it: x, y, side in pixels) as MTCNN's MATLAB code feeds it: (x − 127.5) / 128,
 * H and W swapped, imread's RGB order.
 */
export function mtcnnInput(w: number, h: number, crop?: [number, number, number]): Float32Array {
  const pre = { mean: [127.5, 127.5, 127.5], std: [128, 128, 128] };
  let img: Float32Array;
  if (crop) {
    const full = decodeImage(readBytes(path.join(IMAGENET, 'face.jpg')));
    const [x0, y0, side] = crop;
    const data = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) data.set(full.data.subarray(((y0 + y) * full.width + x0) * 3, ((y0 + y) * full.width + x0 + side) * 3), y * side * 3);
    img = toTensor(resizeBilinear({ width: side, height: side, data }, w, h), pre);
  } else img = photo('face.jpg', w, h, pre);
  const swapped = new Float32Array(img.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) swapped[(x * h + y) * 3 + c] = img[(y * w + x) * 3 + c];
  return swapped;
}

/** The four faces of face.jpg (512x355) as fractions of width and height, x0, y0, x1, y1, read off the photo. */
export const FACES = [[0, 0.2, 0.13, 0.5], [0.25, 0.25, 0.45, 0.6], [0.45, 0.1, 0.7, 0.45], [0.82, 0.25, 0.98, 0.55]];
const inFace = ([x, y]: number[]) => FACES.findIndex(([x0, y0, x1, y1]) => x >= x0 && x <= x1 && y >= y0 && y <= y1);

/** MTCNN P-Net (fully convolutional) at two sizes: its face probability peaks on a face, and finds at least 3 of the 4. */
async function pnet(): Promise<CoverageResult> {
  const found: string[] = [];
  let ok = true, convertMs = 0;
  for (const [w, h] of [[128, 89], [160, 111]]) {
    const c = convertCaffe('mtcnn-det1', new Map([['data', [1, 3, w, h]]]));
    convertMs = Math.max(convertMs, c.convertMs);
    const outs = run(c.g, [{ shape: [1, w, h, 3], data: mtcnnInput(w, h) }]);
    const prob = outs[c.g.outputs.findIndex((id) => c.g.tensors[id].name === 'prob1')];
    // [1, 2, W', H'] (NCHW as Caffe's; W first, the image being transposed): a cell per 12x12 window at stride 2.
    const [, , A, B] = prob.shape;
    const face = prob.data.subarray(A * B);
    const centre = (k: number) => [(Math.floor(k / B) * 2 + 6) / w, ((k % B) * 2 + 6) / h];
    const best = argmax(face);
    const faces = new Set([...face.keys()].filter((k) => face[k] > 0.95).map((k) => inFace(centre(k))).filter((i) => i >= 0));
    ok &&= A === Math.ceil((w - 2) / 2) - 4 && face[best] > 0.95 && inFace(centre(best)) >= 0 && faces.size >= 3;
    found.push(`${w}x${h}: peak ${face[best].toFixed(3)} at (${centre(best).map((v) => v.toFixed(2))}), ${faces.size} of 4 faces > 0.95`);
  }
  return { measured: found.join('; '), ok, convertMs };
}

/**
 * R-Net and O-Net: finite outputs with the documented shapes, probabilities summing to one; a face crop (the man
 * on the right of face.jpg) scores as a face, a crop of his shirt does not.
 */
const rnetOnet = (name: string, size: number, shapes: Record<string, number[]>) => async (): Promise<CoverageResult> => {
  const { g, convertMs } = convertCaffe(name);
  const pFace = (crop: [number, number, number]) => {
    const outs = run(g, [{ shape: [1, size, size, 3], data: mtcnnInput(size, size, crop) }]);
    const got = Object.fromEntries(g.outputs.map((id, k) => [g.tensors[id].name, outs[k].shape]));
    const p = outputNamed(g, outs, 'prob1');
    const ok = JSON.stringify(got) === JSON.stringify(shapes) && outs.every((o) => o.data.every(Number.isFinite)) && Math.abs(p[0] + p[1] - 1) < 1e-5;
    return { got, ok, p: p[1] };
  };
  const face = pFace([236, 30, 120]), shirt = pFace([250, 230, 120]);
  return {
    measured: `outputs ${Object.entries(face.got).map(([n, s]) => `${n} [${s}]`).join(', ')}; p(face) ${face.p.toFixed(3)} on a face crop, ${shirt.p.toFixed(3)} on a shirt crop`,
    ok: face.ok && shirt.ok && face.p > 0.5 && shirt.p < 0.5, convertMs,
  };
};

/**
 * OpenCV's SSD face detector (8-bit weights dequantized in the graph, atrous convolution): its most confident
 * prior lies on a face of face.jpg, and so do those of at least two faces. Priors: 38², 19², 10², 5², 5², 5²
 * cells with 4, 6, 6, 6, 4, 4 boxes (the heads' shapes); a prior's place is its cell's centre.
 */
export function ssdFacePriors(conf: Float32Array): { score: number; at: number[]; face: number }[] {
  const levels = [[38, 4], [19, 6], [10, 6], [5, 6], [5, 4], [5, 4]];
  const centre = (p: number) => {
    for (const [side, boxes] of levels) {
      if (p < side * side * boxes) {
        const cell = Math.floor(p / boxes);
        return [((cell % side) + 0.5) / side, (Math.floor(cell / side) + 0.5) / side];
      }
      p -= side * side * boxes;
    }
    return [-1, -1];
  };
  return Array.from({ length: conf.length / 2 }, (_, p) => ({ score: conf[2 * p + 1], at: centre(p), face: inFace(centre(p)) })).sort((a, b) => b.score - a.score);
}

async function opencvFaces(): Promise<CoverageResult> {
  const t0 = performance.now();
  const g = readMs(toMs(loadModel(readBytes(model('corpus/tf/opencv-face-det-uint8.pb')), 'TF', 'opencv-face-det-uint8.pb', { inputShapes: new Map([['data', [1, 300, 300, 3]]]) })));
  const convertMs = performance.now() - t0;
  const outs = run(g, [{ shape: [1, 300, 300, 3], data: photo('face.jpg', 300, 300, { channels: 'BGR', mean: [104, 177, 123] }) }]);
  const priors = ssdFacePriors(outputNamed(g, outs, 'mbox_conf_flatten'));
  const confident = priors.filter((p) => p.score > 0.9);
  const faces = new Set(confident.map((p) => p.face).filter((f) => f >= 0));
  const top = priors[0];
  return {
    measured: `top detection ${top.score.toFixed(3)} at (${top.at.map((v) => v.toFixed(2))}) on face ${top.face}; ${confident.length} priors > 0.9 on ${faces.size} faces, ${confident.filter((p) => p.face < 0).length} off them`,
    ok: top.score > 0.9 && top.face >= 0 && faces.size >= 2 && confident.every((p) => p.face >= 0), convertMs,
  };
}

export const TF_CORPUS: CoverageModel[] = [
  { file: 'tf/face-mask-det.pb', kind: 'TF: FusedBatchNorm, Shape/StridedSlice/Pack reshapes, dynamic batch', check: againstFaceMaskTflite(() => convertFile('tf/face-mask-det.pb', 'TF')) },
  { file: 'tf/opencv-face-det-uint8.pb', kind: 'TF: Dequantize MIN_FIRST weights, atrous SpaceToBatchND/BatchToSpaceND, L2 normalization', check: opencvFaces },
];

export const CAFFE_CORPUS: CoverageModel[] = [
  { file: 'caffe/ultraface-rfb-320', kind: 'Caffe: Conv, ReLU, Concat, Eltwise, Permute, Reshape, Softmax', check: ultraface },
  { file: 'caffe/face-mask-det', kind: 'Caffe: in-place Sigmoid, Permute, Reshape, Concat', check: againstFaceMaskTflite(() => convertCaffe('face-mask-det')) },
  { file: 'caffe/lenet-mnist', kind: 'Caffe: Input layer, InnerProduct', check: lenet },
  { file: 'caffe/mtcnn-det1', kind: 'Caffe: fully convolutional P-Net, PReLU, ceil pooling', check: pnet },
  { file: 'caffe/mtcnn-det2', kind: 'Caffe: R-Net', check: rnetOnet('mtcnn-det2', 24, { 'conv5-2': [1, 4], prob1: [1, 2] }) },
  { file: 'caffe/mtcnn-det3', kind: 'Caffe: O-Net, Dropout', check: rnetOnet('mtcnn-det3', 48, { 'conv6-2': [1, 4], 'conv6-3': [1, 10], prob1: [1, 2] }) },
];

