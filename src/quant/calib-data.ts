/**
 * Calibration sets on disk: one directory per model input, files sorted lexicographically and paired by
 * position across the directories (sample i = the i-th file of every directory). Raw float32 .bin files in
 * the converted model's input layout, or images decoded and preprocessed. Samples are read on demand, so
 * memory stays bounded by a batch whatever the set's size.
 */
import { readdirSync, readFileSync, statSync, openSync, fstatSync, readSync, closeSync } from 'node:fs';
import { outputFloats } from '../cpu/recycle.js';
import path from 'node:path';
import type { Graph } from '../ir/graph.js';
import { UserError, sizeOf } from '../ir/graph.js';
import { resizeBilinear, resizeNearest, centerCrop, toTensor, ToTensorOptions } from '../data/images.js';
import { decodeImage } from '../data/decode.js';
import { checkImageSize } from '../data/images.js';
import { NativeImageDecoder } from '../data/native-decode.js';
import type { SampleSource } from './stats.js';
import { sampleShape } from '../ir/passes/index.js';

export interface ImagePreprocess {
  format: 'RGB' | 'BGR' | 'GRAY';
  mean?: number[];
  std?: number[];
  resize?: { width: number; height: number; method: 'LINEAR' | 'NEAREST' };
  crop?: { width: number; height: number };
}

export interface CalibrationSet {
  /** Directory per graph input, in graph-input order. */
  dirs: string[];
  count: number;
  inputType: 'BIN' | 'IMAGE';
  image?: ImagePreprocess;
}

/** More entries than any calibration set needs (calibrate_size is at most 65535). */
const MAX_CALIBRATION_FILES = 200_000;

/** Regular files of a directory, sorted lexicographically. */
export function listSamples(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new UserError(`calibration directory ${dir} does not exist or cannot be read`);
  }
  // Counted before anything is read; an entry that cannot be examined (a symlink loop, no permission) is
  // named rather than crashing the run.
  if (names.length > MAX_CALIBRATION_FILES)
    throw new UserError(`calibration directory ${dir} has ${names.length} entries (at most ${MAX_CALIBRATION_FILES})`);
  const isFile = (n: string) => {
    try {
      return statSync(path.join(dir, n)).isFile();
    } catch (e) {
      throw new UserError(`calibration file ${path.join(dir, n)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  return names.filter(isFile).sort().map((n) => path.join(dir, n));
}

export function calibrationSource(g: Graph, set: CalibrationSet): SampleSource {
  if (set.dirs.length !== g.inputs.length) throw new UserError(`model's input tensor cnt: ${g.inputs.length} != ${set.dirs.length}`);
  const lists = set.dirs.map((dir) => {
    const list = listSamples(dir);
    if (list.length < set.count) throw new UserError(`calibration directory ${dir} has ${list.length} files, fewer than the ${set.count} samples asked for (batch_count / calibrate_size)`);
    return list;
  });
  // Files pair across inputs by their sorted order: different counts mean the pairs cannot be trusted.
  const k = lists.findIndex((l) => l.length !== lists[0].length);
  if (k > 0) throw new UserError(`calibration directories ${set.dirs[0]} (${lists[0].length} files) and ${set.dirs[k]} (${lists[k].length} files) must hold one file per sample each`);
  const files = lists.map((l) => l.slice(0, set.count));
  // Inputs with symbolic dims take the data's size (calibration runs at it): the count must fit the dims.
  const perSample = g.inputs.map((id) => (g.tensors[id].shape.some((d) => d < 0) ? undefined : sizeOf(g.tensors[id].shape.slice(1)) * (g.tensors[id].shape[0] || 1)));
  return {
    count: set.count,
    // Images of the samples asked for start decoding in the helper thread (when sharp is there).
    prefetch: set.inputType === 'IMAGE' ? (start, end) => {
      for (let i = start; i < Math.min(end, set.count); i++) for (const list of files) requestImage(list[i]);
    } : undefined,
    get: (i) => files.map((list, k) => {
      const file = list[i], want = perSample[k];
      const data = set.inputType === 'IMAGE' ? imageSample(file, set.image!) : binSample(file, want === undefined ? undefined : want * 4);
      if (want === undefined) sampleShape(g, k, data.length);
      else if (data.length !== want)
        throw new UserError(`${file}: preprocessed image has ${data.length} values, input ${g.tensors[g.inputs[k]].name} [${g.tensors[g.inputs[k]].shape}] needs ${want}`);
      refuseNonFinite(data, file, i, g.tensors[g.inputs[k]].name);
      return data;
    }),
  };
}

/**
 * A NaN or infinity in a sample would make every range it reaches meaningless (MindSpore computes them
 * anyway): refused, naming the file, the sample and the first bad element.
 */
function refuseNonFinite(data: Float32Array, file: string, sample: number, input: string): void {
  for (let j = 0; j < data.length; j++)
    if (!Number.isFinite(data[j])) throw new UserError(`calibration file ${file} (sample ${sample + 1}, input ${input}): element ${j} is ${data[j]}; calibration data must be finite`);
}

/** A calibration file's bytes; one that went away or cannot be read since the run started is named. */
function readSample(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UserError(`calibration file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function binSample(file: string, bytes: number | undefined): Float32Array {
  // Read straight into a float buffer the statistics pass hands back after stacking (cpu/recycle): over a
  // large set, a fresh buffer per file is garbage the collector lets pile up.
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    // Linux opens a directory for reading; reading it is what fails (readFileSync's EISDIR)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const size = st.size;
    if (bytes === undefined ? size % 4 : size !== bytes) throw new UserError(`Input binary file size error, required: ${bytes}, in fact: ${size} (${file})`);
    const out = outputFloats(size / 4);
    const view = new Uint8Array(out.buffer, out.byteOffset, size);
    for (let at = 0; at < size;) {
      const got = readSync(fd, view, at, size - at, at);
      if (got === 0) throw new UserError(`calibration file ${file} shrank while it was read`);
      at += got;
    }
    return out;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`calibration file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Starts decoding a calibration image ahead of its use, where the native decoder takes it. */
function requestImage(file: string): void {
  const native = NativeImageDecoder.get();
  if (!native) return;
  const bytes = new Uint8Array(readSample(file));
  checkImageSize(bytes, file);
  if (NativeImageDecoder.handles(bytes)) native.request(file, bytes);
}

/** A calibration image's pixels: sharp in the helper thread for JPEG / PNG when it loads, else the JS decoders. */
function decodeFile(file: string): ReturnType<typeof decodeImage> {
  const native = NativeImageDecoder.get();
  // Asked for ahead: read, size-checked and with the helper thread already.
  if (native?.pending(file)) return native.take(file);
  const bytes = new Uint8Array(readSample(file));
  if (!native || !NativeImageDecoder.handles(bytes)) return decodeImage(bytes, file);
  checkImageSize(bytes, file);
  return native.take(file, bytes);
}

/** Decode, resize, center-crop, then color order and (x - mean) / std, HWC float. */
export function imageSample(file: string, p: ImagePreprocess): Float32Array {
  let img = decodeFile(file);
  if (p.resize) img = p.resize.method === 'NEAREST' ? resizeNearest(img, p.resize.width, p.resize.height) : resizeBilinear(img, p.resize.width, p.resize.height);
  if (p.crop) img = centerCrop(img, p.crop.width, p.crop.height);
  const o: ToTensorOptions = { channels: p.format, mean: p.mean, std: p.std };
  return toTensor(img, o);
}
