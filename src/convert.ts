/** Library entry points: load any supported model into MindSpore Lite form, and write it as .ms. */
import { Graph, UserError, FmkType } from './ir/graph.js';
import { importOnnx } from './ir/import/onnx.js';
import { importTflite } from './ir/import/tflite.js';
import { importMindIr } from './ir/import/mindir.js';
import { importCaffe } from './ir/import/caffe.js';
import { importTf } from './ir/import/tf.js';
import { readMs } from './ir/import/ms.js';
import { writeMs } from './ir/export/ms.js';
import { toMindSporeForm } from './ir/passes/index.js';
import { runNode } from './cpu/executor.js';
import { mislabelledNhwcInputs } from './ir/formats.js';
import { quantizeAsGiven } from './quant/full-quant.js';
import { checkImported, checkShapes } from './ir/validate.js';
import { RUNTIME_LOADABLE_OPS } from './ir/schema/runtime-ops.js';

export type Fmk = 'TF' | 'TFLITE' | 'CAFFE' | 'MINDIR' | 'ONNX' | 'MSLITE';
export const FMKS: readonly Fmk[] = ['TF', 'TFLITE', 'CAFFE', 'MINDIR', 'ONNX', 'MSLITE'];

export interface LoadOptions {
  /** `--inputShape`: name -> dims in the source model's layout. */
  inputShapes?: Map<string, number[]>;
  /** `--inputValue` (ours): name -> values; the input becomes a constant (an If on it then folds). */
  inputValues?: Map<string, number[]>;
  /** `--weightFile`: a Caffe model's weights (the caffemodel), with its path for messages. */
  weightFile?: { bytes: Uint8Array; file: string };
  /** `--inputDataFormat`: NHWC (default) or NCHW for 4-D inputs of NCHW frameworks. */
  inputDataFormat?: 'NHWC' | 'NCHW';
  /** Reads a file the model refers to (MindIR external weights), relative to the model. */
  readSideFile?: (name: string) => Uint8Array;
}

/** Imports a model file and rewrites it into MindSpore Lite form (ops, NHWC layout, fusions). */
export function loadModel(bytes: Uint8Array, fmk: Fmk, file: string, opts: LoadOptions = {}): Graph {
  /** The checks an untrusted file gets around the passes (ir/validate). */
  const form = (imported: Graph): Graph => {
    checkImported(imported, file);
    try {
      const g = toMindSporeForm(imported, runNode);
      checkShapes(g, file);
      return g;
    } catch (e) {
      // A shape rule names the node and the field; the line names the file too.
      if (e instanceof UserError && !e.message.startsWith(file)) throw new UserError(`${file}: ${e.message}`);
      throw e;
    }
  };
  switch (fmk) {
    case 'ONNX':
      return loadable(form(importOnnx(bytes, file, { inputShapes: opts.inputShapes, inputValues: opts.inputValues, keepNCHWInputs: opts.inputDataFormat === 'NCHW' })), file);
    case 'TFLITE': {
      const g = form(importTflite(bytes, file));
      // A fully quantized model (int8 activations) runs int8 with its own parameters where our int8 kernels exist.
      if (g.tensors.some((t, id) => t.quant && !g.isConst(id))) quantizeAsGiven(g);
      return loadable(g, file);
    }
    case 'CAFFE': {
      if (!opts.weightFile) throw new UserError(`${file}: a Caffe model needs its weights: --weightFile=<net>.caffemodel`);
      const caffe = { prototxt: bytes, prototxtFile: file, caffemodel: opts.weightFile.bytes, caffemodelFile: opts.weightFile.file };
      return loadable(form(importCaffe(caffe, { inputShapes: opts.inputShapes, keepNCHWInputs: opts.inputDataFormat === 'NCHW' })), file);
    }
    case 'TF':
      return loadable(form(importTf(bytes, file, { inputShapes: opts.inputShapes })), file);
    case 'MINDIR':
      return loadable(form(importMindIr(bytes, file, { inputShapes: opts.inputShapes, keepNCHWInputs: opts.inputDataFormat === 'NCHW', readExternal: opts.readSideFile })), file);
    case 'MSLITE': {
      const g = readMs(bytes, file);
      checkImported(g, file);
      checkShapes(g, file);
      g.fmkType = FmkType.MSLITE;
      g.version = 'MindSpore Lite 2.7.0';
      return g;
    }
    default:
      throw new UserError(`--fmk=${fmk} is not supported by WebPTQ yet (supported: ONNX, TFLITE, CAFFE, TF, MINDIR, MSLITE)`);
  }
}

/** Refuses a conversion whose `.ms` the runtime would reject at InferShape for a tensor's format label. */
function loadable(g: Graph, file: string): Graph {
  const refused = mislabelledNhwcInputs(g);
  if (refused.length) throw new UserError(`${file}: MindSpore Lite would refuse the converted model: ${refused[0]}`);
  const unloadable = g.nodes.find((n) => !RUNTIME_LOADABLE_OPS.has(n.op));
  if (unloadable) throw new UserError(`${file}: MindSpore Lite would refuse the converted model: node ${unloadable.name} is a ${unloadable.op}, which its runtime cannot load`);
  return g;
}

export function toMs(g: Graph): Uint8Array {
  return writeMs(g);
}

/** Parses `--inputValue=name:16000;name2:1,2,3` (ours): the values an input is fixed to at conversion. */
export function parseInputValues(spec: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const part of spec.split(';').filter((s) => s.trim())) {
    const i = part.lastIndexOf(':');
    const values = part.slice(i + 1).split(',').map((d) => Number(d.trim()));
    if (i <= 0 || !values.length || values.some((v) => !Number.isFinite(v)))
      throw new UserError(`--inputValue: expected name:v0,v1,...[;name2:...] with numbers, got "${part}"`);
    m.set(part.slice(0, i).trim(), values);
  }
  return m;
}

/** Parses `--inputShape=name:1,3,224,224;name2:...`. */
export function parseInputShapes(spec: string, flag = '--inputShape'): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const part of spec.split(';').filter((s) => s.trim())) {
    const i = part.lastIndexOf(':');
    const dims = part.slice(i + 1).split(',').map((d) => Number(d.trim()));
    if (i <= 0 || dims.some((d) => !Number.isInteger(d) || d <= 0))
      throw new UserError(`${flag}: expected name:d0,d1,...[;name2:...] with positive integer dims, got "${part}"`);
    m.set(part.slice(0, i).trim(), dims);
  }
  return m;
}
