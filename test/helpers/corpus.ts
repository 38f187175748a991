/**
 * The real ONNX exports in ../shared/models/corpus with the input each was trained on (models/corpus/README.md):
 * how to make that input from a photo, and the dims onnxruntime takes it in.
 */
import type { ToTensorOptions } from '../../src/data/images.js';
import { model, photo, nhwcToNchw } from './data.js';

export interface CorpusModel {
  file: string;
  input: string;
  /** Dims as the model declares them, symbolic ones fixed (what --inputShape gives). */
  dims: number[];
  /** The declared dims have symbols (-1) and convert only with --inputShape. */
  dynamic?: boolean;
  /** The model's input is NHWC already (tf2onnx); otherwise NCHW. */
  nhwc?: boolean;
  pre?: ToTensorOptions;
}

export const ONNX_CORPUS: CorpusModel[] = [
  { file: 'deeplabv3-mnv2.onnx', input: 'sub_7', dims: [1, 257, 257, 3], nhwc: true, pre: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] } },
  { file: 'espcn-superres.onnx', input: 'input', dims: [1, 1, 224, 224], dynamic: true, pre: { channels: 'GRAY', std: [255] } },
  { file: 'ppocr-rec.onnx', input: 'x', dims: [1, 3, 48, 320], dynamic: true, pre: { channels: 'BGR', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] } },
  { file: 'road-seg-adas.onnx', input: 'data', dims: [1, 512, 896, 3], nhwc: true, pre: { channels: 'BGR' } },
  { file: 'ultraface-slim-320.onnx', input: 'input', dims: [1, 3, 240, 320], pre: { mean: [127, 127, 127], std: [128, 128, 128] } },
  { file: 'yolox-nano.onnx', input: 'images', dims: [1, 3, 416, 416], pre: { channels: 'BGR' } },
  { file: 'yunet-120x160.onnx', input: 'input', dims: [1, 3, 120, 160] },
];

/** The other image models of the corpus the int8 accuracy table scores (`input` names the ONNX input; TFLite inputs are NHWC). */
export const MORE_IMAGE_CORPUS: CorpusModel[] = [
  { file: 'ultraface-rfb-320-nopost.onnx', input: 'input', dims: [1, 3, 240, 320], pre: { mean: [127, 127, 127], std: [128, 128, 128] } },
  { file: 'face-mask-det.tflite', input: '', dims: [1, 260, 260, 3], nhwc: true, pre: { std: [255, 255, 255] } },
  { file: 'mp-selfie-seg.tflite', input: '', dims: [1, 256, 256, 3], nhwc: true, pre: { std: [255, 255, 255] } },
  { file: 'mp-hand-landmark-lite.tflite', input: '', dims: [1, 224, 224, 3], nhwc: true, pre: { std: [255, 255, 255] } },
  { file: 'ultraface-rfb-320-nopost.tflite', input: '', dims: [1, 240, 320, 3], nhwc: true, pre: { mean: [127, 127, 127], std: [128, 128, 128] } },
];

export const corpusPath = (m: CorpusModel) => model(`corpus/${m.file}`);

/** A real photo as the model's input: NHWC for the converted model, and as onnxruntime takes it. */
export function corpusInput(m: CorpusModel, file = 'face.jpg'): { nhwc: Float32Array; shape: number[]; ort: Float32Array } {
  const [n, a, b, c] = m.dims;
  const [h, w, ch] = m.nhwc ? [a, b, c] : [b, c, a];
  const nhwc = photo(file, w, h, m.pre);
  return { nhwc, shape: [n, h, w, ch], ort: m.nhwc ? nhwc : nhwcToNchw(nhwc, n, h, w, ch) };
}
