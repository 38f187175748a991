/**
 * Full-quantization settings from a config file in either dialect: the r1.x flat `key=value` form
 * (image_path, batch_count, method_x, thread_num, bias_correction) or MindSpore's INI sections
 * ([common_quant_param], [full_quant_param], [data_preprocess_param]).
 */
import { existsSync, statSync } from 'node:fs';
import type { Graph } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import type { FullQuantOptions } from '../quant/full-quant.js';
import type { CalibrationMethod } from '../quant/calibrators.js';
import { ACCURACY_METRICS, AccuracyMetric } from '../quant/fallback.js';
import type { CalibrationSet, ImagePreprocess } from '../quant/calib-data.js';
import { ConfigFile, section, parseBool, parseIntIn } from './config.js';

export const FULL_QUANT_KEYS = {
  '': ['image_path', 'batch_count', 'method_x', 'thread_num', 'bias_correction', 'mixed', 'mean_error_threshold', 'input_shapes'],
  common_quant_param: ['quant_type', 'bit_num', 'min_quant_weight_size', 'min_quant_weight_channel', 'skip_quant_node', 'debug_info_save_path', 'enable_encode', 'workspace'],
  full_quant_param: ['activation_quant_method', 'bias_correction', 'per_channel', 'target_device', 'smooth_alpha', 'enable_smooth_shift', 'accuracy_target', 'accuracy_metric'],
  data_preprocess_param: ['calibrate_path', 'calibrate_size', 'input_type', 'image_to_format', 'normalize_mean', 'normalize_std', 'resize_width',
    'resize_height', 'resize_method', 'center_crop_width', 'center_crop_height'],
} as const;

const CALIBRATE_PATH_MSG = 'calibrate path must pass. The format is input_name_1:input_1_dir,input_name_2:input_2_dir.';

export function isIniConfig(c: ConfigFile): boolean {
  return [...c.sections.keys()].some((s) => s !== '');
}

/** `name:dir,name2:dir2` (last ':' separates) or plain `dir,dir2` in model-input order -> dirs in input order. */
export function mapDirs(g: Graph, spec: string, file: string, key: string): string[] {
  const parts = spec.split(',').map((p) => p.trim().replace(/^["']|["']$/g, '')).filter(Boolean);
  const names = g.inputs.map((id) => g.tensors[id].name);
  const named = parts.map((p) => {
    const i = p.lastIndexOf(':');
    const name = i > 0 ? p.slice(0, i) : undefined;
    if (name !== undefined && names.includes(name)) return { name, dir: p.slice(i + 1) };
    // "name:dir" with a name the model lacks (a Windows drive letter "C:" is a path, not a name)
    if (name !== undefined && name.length > 1 && !/[\\/]/.test(name))
      throw new UserError(`${file}: ${key} names input "${name}", which the model does not have (inputs: ${names.join(', ')})`);
    return { dir: p };
  });
  if (named.length !== names.length) throw new UserError(`model's input tensor cnt: ${names.length} != ${named.length} (${key} in ${file})`);
  if (named.every((n) => 'name' in n && n.name)) {
    return names.map((n) => {
      const hit = named.find((x) => 'name' in x && x.name === n);
      if (!hit) throw new UserError(`${file}: ${key} has no directory for model input ${n}`);
      return hit.dir;
    });
  }
  if (named.some((n) => 'name' in n && n.name)) throw new UserError(`${file}: ${key} mixes name:dir and plain dir entries`);
  return named.map((n) => n.dir);
}

/** MindSpore's methods; the new-format key also takes our extensions MSE and KL_ASYMMETRIC. */
function method(v: string, file: string, flat: boolean): CalibrationMethod {
  if (v === 'MAX_MIN' || v === 'KL' || v === 'REMOVAL_OUTLIER') return v;
  if (v === 'RemovalOutlier') return 'REMOVAL_OUTLIER';
  if (!flat && (v === 'MSE' || v === 'KL_ASYMMETRIC')) return v;
  throw new UserError(`${file}: ${flat ? 'method_x' : 'activation_quant_method'} must be MAX_MIN|KL|${flat ? 'RemovalOutlier' : 'REMOVAL_OUTLIER|MSE|KL_ASYMMETRIC'}, got "${v}"`);
}

function floats(v: string, key: string, file: string): number[] {
  const xs = v.replace(/[[\]]/g, '').split(/[,\s]+/).filter(Boolean).map(Number);
  if (!xs.length || xs.some((x) => !Number.isFinite(x))) throw new UserError(`${file}: ${key} must be a list of numbers, got "${v}"`);
  return xs;
}

/** normalize_mean / normalize_std: one value per channel of the image format; a std of 0 would divide by zero. */
function perChannel(xs: number[], format: string, key: string, file: string): number[] {
  const channels = format === 'GRAY' ? 1 : 3;
  if (xs.length !== channels) throw new UserError(`${file}: ${key} must have ${channels} values for image_to_format=${format}, got ${xs.length}`);
  if (key === 'normalize_std' && xs.some((x) => x === 0)) throw new UserError(`${file}: normalize_std must not be 0`);
  return xs;
}

/** accuracy_target (ours): the mean relative error, in percent, the fallback brings the outputs under. */
/** accuracy_target in the unit of accuracy_metric (MEAN_ERROR: percent > 0; COSINE: (0, 1]; SQNR: dB). */
function accuracyTarget(v: string | undefined, metricKey: string | undefined, count: number, file: string): { value: number; metric: AccuracyMetric } | undefined {
  const metric = (metricKey?.trim().toUpperCase() ?? 'MEAN_ERROR') as AccuracyMetric;
  if (!ACCURACY_METRICS.includes(metric)) throw new UserError(`${file}: accuracy_metric must be ${ACCURACY_METRICS.join('|')}, got "${metricKey}"`);
  if (v === undefined) {
    if (metricKey !== undefined) throw new UserError(`${file}: accuracy_metric needs accuracy_target`);
    return undefined;
  }
  const x = Number(v);
  const ok = v.trim() !== '' && Number.isFinite(x) && (metric === 'COSINE' ? x > 0 && x <= 1 : metric === 'SQNR' || x > 0);
  if (!ok) {
    const want = metric === 'COSINE' ? 'a cosine similarity in (0, 1] (accuracy_metric=COSINE)' : metric === 'SQNR' ? 'an SQNR in dB (accuracy_metric=SQNR)'
      : 'a mean relative error in percent, greater than 0';
    throw new UserError(`${file}: accuracy_target must be ${want}, got "${v}"`);
  }
  if (count < 2) throw new UserError(`${file}: accuracy_target needs calibrate_size >= 2 (a fifth of the samples is held back to measure the error)`);
  return { value: x, metric };
}

/** debug_info_save_path: an existing directory for the debug CSVs. */
function debugDir(v: string | undefined, file: string): string | undefined {
  if (v === undefined) return undefined;
  if (!v.trim() || !existsSync(v) || !statSync(v).isDirectory()) throw new UserError(`${file}: debug_info_save_path ${v} is not an existing directory`);
  return v;
}

export function fullQuantOptions(g: Graph, cfg: ConfigFile, bitNumFlag?: number): { quant: FullQuantOptions; calib: CalibrationSet; accuracyTarget?: { value: number; metric: AccuracyMetric }; debugInfoDir?: string } {
  const f = cfg.file;
  if (!isIniConfig(cfg)) {
    const s = section(cfg, '');
    if (!s.get('image_path')) throw new UserError(`${f}: image_path is required (one calibration directory per model input, comma-separated)`);
    const count = s.has('batch_count') ? parseIntIn(s.get('batch_count')!, 'batch_count', 1, 65535, f) : 100;
    return {
      quant: {
        method: s.has('method_x') ? method(s.get('method_x')!, f, true) : 'KL',
        biasCorrection: s.has('bias_correction') ? parseBool(s.get('bias_correction')!, 'bias_correction', f) : false,
        perChannel: true,
        bitNum: bitNumFlag ?? 8,
      },
      calib: { dirs: mapDirs(g, s.get('image_path')!, f, 'image_path'), count, inputType: 'BIN' },
    };
  }
  const common = section(cfg, 'common_quant_param'), full = section(cfg, 'full_quant_param'), data = section(cfg, 'data_preprocess_param');
  const bits = common.has('bit_num') ? parseIntIn(common.get('bit_num')!, 'bit_num', 1, 8, f) : undefined;
  if (bits !== undefined && bitNumFlag !== undefined && bits !== bitNumFlag) throw new UserError(`--bitNum=${bitNumFlag} contradicts bit_num=${bits} in ${f}`);
  if (!data.get('calibrate_path')) throw new UserError(CALIBRATE_PATH_MSG);
  const count = data.has('calibrate_size') ? parseIntIn(data.get('calibrate_size')!, 'calibrate_size', 1, 65535, f) : 100;
  const inputType = (data.get('input_type') ?? 'BIN').toUpperCase();
  if (inputType !== 'BIN' && inputType !== 'IMAGE') throw new UserError(`${f}: input_type must be IMAGE|BIN, got "${data.get('input_type')}"`);
  let image: ImagePreprocess | undefined;
  if (inputType === 'IMAGE') {
    const format = (data.get('image_to_format') ?? 'RGB').toUpperCase();
    if (format !== 'RGB' && format !== 'BGR' && format !== 'GRAY') throw new UserError(`${f}: image_to_format must be RGB|GRAY|BGR, got "${format}"`);
    const int = (k: string) => (data.has(k) ? parseIntIn(data.get(k)!, k, 1, 65535, f) : undefined);
    const [rw, rh, cw, ch] = ['resize_width', 'resize_height', 'center_crop_width', 'center_crop_height'].map(int);
    if ((rw === undefined) !== (rh === undefined)) throw new UserError(`${f}: resize_width and resize_height go together`);
    if ((cw === undefined) !== (ch === undefined)) throw new UserError(`${f}: center_crop_width and center_crop_height go together`);
    const rm = (data.get('resize_method') ?? 'LINEAR').toUpperCase();
    if (rm !== 'LINEAR' && rm !== 'NEAREST') throw new UserError(`${f}: resize_method must be LINEAR|NEAREST (CUBIC is not supported), got "${rm}"`);
    image = {
      format: format as ImagePreprocess['format'],
      mean: data.has('normalize_mean') ? perChannel(floats(data.get('normalize_mean')!, 'normalize_mean', f), format, 'normalize_mean', f) : undefined,
      std: data.has('normalize_std') ? perChannel(floats(data.get('normalize_std')!, 'normalize_std', f), format, 'normalize_std', f) : undefined,
      resize: rw ? { width: rw, height: rh!, method: rm } : undefined,
      crop: cw ? { width: cw, height: ch! } : undefined,
    };
  }
  if (full.has('target_device')) throw new UserError(`${f}: target_device must be KIRIN|NVGPU|DSP|ASCEND; WebPTQ targets the CPU runtime, so leave it out`);
  return {
    quant: {
      method: full.has('activation_quant_method') ? method(full.get('activation_quant_method')!, f, false) : 'MAX_MIN',
      biasCorrection: full.has('bias_correction') ? parseBool(full.get('bias_correction')!, 'bias_correction', f) : true,
      perChannel: full.has('per_channel') ? parseBool(full.get('per_channel')!, 'per_channel', f) : true,
      bitNum: bits ?? bitNumFlag ?? 8,
      skipQuantNode: common.get('skip_quant_node')?.split(',').map((s) => s.trim()).filter(Boolean),
    },
    calib: { dirs: mapDirs(g, data.get('calibrate_path')!, f, 'calibrate_path'), count, inputType, image },
    accuracyTarget: accuracyTarget(full.get('accuracy_target'), full.get('accuracy_metric'), count, f),
    debugInfoDir: debugDir(common.get('debug_info_save_path'), f),
  };
}
