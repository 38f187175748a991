/**
 * WebPTQ's library API, the same in Node and in the browser (docs/API.md). Names and options follow
 * converter_lite's flags and MindSpore Lite's config keys:
 *
 *   const g = convert(bytes, { fmk: 'ONNX' });                       // --fmk, --inputShape, ...
 *   quantizeWeights(g, { bitNum: 8 });                               // --quantType=WeightQuant
 *   await quantizeFull(g, samples, { activationQuantMethod: 'KL' }); // --quantType=PostTraining
 *   const ms = toMs(g);                                              // the .ms bytes
 *
 * Everything else in the package is internal.
 */
import { loadModel, toMs as writeModel, Fmk, FMKS } from './convert.js';
import { Graph, UserError } from './ir/graph.js';
import { readMs as readModel } from './ir/import/ms.js';
import { run as runCpu } from './cpu/executor.js';
import { weightQuantize, WeightQuantRow } from './quant/weight-quant.js';
import { fullQuantize, FullQuantResult, REPORT_SAMPLES } from './quant/full-quant.js';
import { fullQuantizeToTarget } from './quant/fallback.js';
import { CALIBRATION_METHODS, CalibrationMethod } from './quant/calibrators.js';
import { integerIoOptions, applyIoTypes, IoDataType } from './quant/io-types.js';
import { collectStatistics as collect, statisticsCollector, DeviceChoice, CollectOptions } from './calibrate.js';
import type { SampleSource, CollectResult, TensorStats } from './quant/stats.js';
import type { RT } from './ir/tensor.js';

export type { Graph, Fmk, SampleSource, CollectResult, TensorStats, WeightQuantRow, FullQuantResult, CalibrationMethod, DeviceChoice, IoDataType };
export { UserError };

/** A tensor given to or returned by `run`: shape (NHWC for 4-D inputs of converted models) and data. */
export type Tensor = RT;

export interface ConvertOptions {
  /** `--fmk`: the source framework. */
  fmk: Fmk;
  /** The model's file name, for messages (default "model"). */
  file?: string;
  /** `--inputShape`: input name -> dims in the source model's layout, fixing dynamic dims. */
  inputShape?: Record<string, number[]>;
  /** `--inputDataFormat`: 4-D inputs of NCHW frameworks stay NCHW with 'NCHW' (default NHWC). */
  inputDataFormat?: 'NHWC' | 'NCHW';
  /** `--weightFile`: the Caffe model's .caffemodel bytes. */
  weightFile?: Uint8Array;
  /** `--inputValue` (ours): input name -> values, fixed at conversion (an If on it folds). */
  inputValue?: Record<string, number[]>;
  /** MindIR: reads an external weight file the model names. */
  readSideFile?: (name: string) => Uint8Array;
}

/** Imports a model in MindSpore Lite form: float, ready to quantize or write. Bad input throws a UserError. */
export function convert(bytes: Uint8Array, o: ConvertOptions): Graph {
  if (!FMKS.includes(o.fmk)) throw new UserError(`fmk must be ${FMKS.join('|')}, got "${o.fmk}"`);
  const file = o.file ?? 'model';
  const map = (r?: Record<string, number[]>) => (r ? new Map(Object.entries(r)) : undefined);
  return loadModel(bytes, o.fmk, file, {
    inputShapes: map(o.inputShape), inputValues: map(o.inputValue), inputDataFormat: o.inputDataFormat,
    weightFile: o.weightFile && { bytes: o.weightFile, file: `${file} weights` }, readSideFile: o.readSideFile,
  });
}

/** The `.ms` bytes of a (float or quantized) graph. */
export function toMs(g: Graph): Uint8Array {
  return writeModel(g);
}

/** Reads a `.ms` file (ours, or MindSpore Lite's). */
export function readMs(bytes: Uint8Array, file = 'model.ms'): Graph {
  return readModel(bytes, file);
}

/** Runs a graph (float or int8) on the CPU executor, as `benchmark` does: one tensor per graph input. */
export function run(g: Graph, inputs: Tensor[]): Tensor[] {
  return runCpu(g, inputs);
}

export interface WeightQuantizeOptions {
  /** `--bitNum`: 1..16 (default 8). */
  bitNum?: number;
  /** `--quantWeightSize`: weights with at most this many elements stay float (default 0). */
  quantWeightSize?: number;
  /** `--quantWeightChannel`: convolutions with at most this many output channels stay float (default 16). */
  quantWeightChannel?: number;
  /** `skip_quant_node`: nodes that keep float weights. */
  skipQuantNode?: string[];
  /** `per_channel` (default true). */
  perChannel?: boolean;
}

/** `--quantType=WeightQuant`: weights quantized in place, activations stay float. One row per weight. */
export function quantizeWeights(g: Graph, o: WeightQuantizeOptions = {}): WeightQuantRow[] {
  const bitNum = o.bitNum ?? 8;
  if (!Number.isInteger(bitNum) || bitNum < 1 || bitNum > 16) throw new UserError(`bitNum must be 1..16, got ${bitNum}`);
  return weightQuantize(g, { bitNum, minQuantWeightSize: o.quantWeightSize ?? 0, minQuantWeightChannel: o.quantWeightChannel ?? 16, skipQuantNode: o.skipQuantNode, perChannel: o.perChannel });
}

export interface FullQuantizeOptions {
  /** `activation_quant_method` (default MAX_MIN). */
  activationQuantMethod?: CalibrationMethod;
  /** `bit_num`: 1..8 (default 8). */
  bitNum?: number;
  /** `bias_correction` (default true). */
  biasCorrection?: boolean;
  /** `per_channel` weights (default true). */
  perChannel?: boolean;
  /** `skip_quant_node`: nodes that stay float. */
  skipQuantNode?: string[];
  /** Where statistics are collected: the GPU when an adapter exists (default 'auto'), or 'gpu' / 'cpu'. */
  device?: DeviceChoice;
  /** Samples per batch of the calibration forward pass (default 8). */
  batchSize?: number;
  /** `accuracy_target` (ours): layers fall back to float until the held-back mean relative error (%) meets it. */
  accuracyTarget?: number;
  /** `--inputDataType` / `--outputDataType`: INT8 or UINT8 graph I/O (default float). */
  inputDataType?: IoDataType;
  outputDataType?: IoDataType;
  /** Batches done of each statistics pass. */
  onProgress?: (done: number, total: number, pass: string) => void;
  /** One-line notices: the adapter used, or why the CPU is. */
  log?: (line: string) => void;
  /** Cancels between batches (rejects with a UserError "cancelled"). */
  signal?: AbortSignal;
}

/**
 * `--quantType=PostTraining`: int8 weights and activations, int32 bias, calibrated on `samples` (a source, or
 * an array of samples: per graph input, one batch element's Float32Array).
 */
export async function quantizeFull(g: Graph, samples: SampleSource | Float32Array[][], o: FullQuantizeOptions = {}): Promise<FullQuantResult> {
  const source: SampleSource = Array.isArray(samples) ? { count: samples.length, get: (i) => samples[i] } : samples;
  if (!source.count) throw new UserError('quantizeFull: the calibration set is empty');
  const method = o.activationQuantMethod ?? 'MAX_MIN';
  if (!CALIBRATION_METHODS.includes(method)) throw new UserError(`activationQuantMethod must be ${CALIBRATION_METHODS.join('|')}, got "${method}"`);
  const bitNum = o.bitNum ?? 8;
  if (!Number.isInteger(bitNum) || bitNum < 1 || bitNum > 8) throw new UserError(`bitNum must be 1..8 for PostTraining, got ${bitNum}`);
  const [input, output] = [o.inputDataType ?? 'DEFAULT', o.outputDataType ?? 'DEFAULT'];
  const onProgress = (done: number, total: number, pass: string) => {
    if (o.signal?.aborted) throw new UserError('cancelled');
    o.onProgress?.(done, total, pass);
  };
  const options = {
    method, bitNum, biasCorrection: o.biasCorrection ?? true, perChannel: o.perChannel ?? true, skipQuantNode: o.skipQuantNode,
    batchSize: o.batchSize ?? 8, reportSamples: REPORT_SAMPLES, ...integerIoOptions(g, input, output),
    collect: statisticsCollector({ device: o.device ?? 'auto', log: o.log, onProgress }),
  };
  const result = o.accuracyTarget === undefined ? await fullQuantize(g, source, options) : await fullQuantizeToTarget(g, source, options, o.accuracyTarget, o.log);
  applyIoTypes(g, input, output, result.ranges, bitNum);
  return result;
}

/** Activation statistics (min/max, histograms) over a calibration set, on the GPU when one exists. */
export function collectStatistics(g: Graph, samples: SampleSource, o: CollectOptions = {}): Promise<CollectResult> {
  return collect(g, samples, o);
}
