/** Weight-quantization settings from the r1.x CLI flags and/or an INI config, validated as MindSpore does. */
import { UserError } from '../ir/graph.js';
import type { WeightQuantOptions } from '../quant/weight-quant.js';
import type { MixedBitOptions } from '../quant/mixed-bit.js';
import { ConfigFile, section, parseBool, parseIntIn } from './config.js';

export interface WeightQuantFlags {
  bitNum?: string;
  quantWeightSize?: string;
  quantWeightChannel?: string;
}

function flagNumber(v: string, name: string, min: number, max: number | undefined, rangeMsg: string): number {
  const n = Number(v);
  if (v.trim() === '' || !/^-?\d+$/.test(v.trim()) || !Number.isFinite(n)) throw new UserError(`${name} should be a valid number.`);
  if (n < min || (max !== undefined && n > max)) throw new UserError(rangeMsg);
  return n;
}

export function weightQuantOptions(flags: WeightQuantFlags, cfg?: ConfigFile): WeightQuantOptions {
  const o: WeightQuantOptions = { bitNum: 8, minQuantWeightSize: 0, minQuantWeightChannel: 16, skipQuantNode: [], perChannel: true, biasCorrection: true };
  const fromFlags: Partial<WeightQuantOptions> = {};
  if (flags.bitNum !== undefined) fromFlags.bitNum = flagNumber(flags.bitNum, 'bitNum', 1, 16, 'bitNum should be greater than zero and lesser than 16 currently.');
  if (flags.quantWeightSize !== undefined)
    fromFlags.minQuantWeightSize = flagNumber(flags.quantWeightSize, 'quantWeightSize', 0, undefined, 'quantWeightSize should be greater than or equal to zero.');
  if (flags.quantWeightChannel !== undefined)
    fromFlags.minQuantWeightChannel = flagNumber(flags.quantWeightChannel, 'quantWeightChannel', 0, undefined, 'quantWeightChannel should be greater than or equal to zero.');
  const fromCfg: Partial<WeightQuantOptions> = {};
  if (cfg) {
    const common = section(cfg, 'common_quant_param');
    const wq = section(cfg, 'weight_quant_param');
    const f = cfg.file;
    if (common.has('bit_num')) {
      const b = parseIntIn(common.get('bit_num')!, 'bit_num', 0, 16, f);
      fromCfg.bitNum = b;
      if (b === 0) o.mixedBit = mixedBitOptions(cfg);
    }
    if (common.has('enable_encode')) {
      const encode = parseBool(common.get('enable_encode')!, 'enable_encode', f);
      const bits = fromCfg.bitNum ?? fromFlags.bitNum ?? 8;
      if (!encode && bits !== 8 && bits !== 16) throw new UserError(`${f}: enable_encode must be true when bit_num is in [0,7] or [9,15] (bit_num=${bits})`);
      o.encode = encode;
    }
    if (common.has('min_quant_weight_size')) fromCfg.minQuantWeightSize = parseIntIn(common.get('min_quant_weight_size')!, 'min_quant_weight_size', 0, 65535, f);
    if (common.has('min_quant_weight_channel')) fromCfg.minQuantWeightChannel = parseIntIn(common.get('min_quant_weight_channel')!, 'min_quant_weight_channel', 0, 65535, f);
    if (common.has('skip_quant_node')) o.skipQuantNode = common.get('skip_quant_node')!.split(',').map((s) => s.trim()).filter(Boolean);
    if (wq.has('per_channel')) o.perChannel = parseBool(wq.get('per_channel')!, 'per_channel', f);
    if (wq.has('bias_correction')) o.biasCorrection = parseBool(wq.get('bias_correction')!, 'bias_correction', f);
    if (wq.has('clip_search')) o.clipSearch = parseBool(wq.get('clip_search')!, 'clip_search', f);
    const names: Record<string, [string, string]> = {
      bitNum: ['--bitNum', 'bit_num'], minQuantWeightSize: ['--quantWeightSize', 'min_quant_weight_size'], minQuantWeightChannel: ['--quantWeightChannel', 'min_quant_weight_channel'],
    };
    for (const k of Object.keys(names) as (keyof typeof names)[]) {
      const a = fromFlags[k as keyof WeightQuantOptions], b = fromCfg[k as keyof WeightQuantOptions];
      if (a !== undefined && b !== undefined && a !== b)
        throw new UserError(`${names[k][0]}=${a} contradicts ${names[k][1]}=${b} in ${f}`);
    }
  }
  return { ...o, ...fromCfg, ...fromFlags };
}

/** [mixed_bit_weight_quant_param] with MindSpore's ranges: init_scale in (0, 1), max_iterations in [40, 65535]. */
function mixedBitOptions(cfg: ConfigFile): MixedBitOptions {
  const m = section(cfg, 'mixed_bit_weight_quant_param'), f = cfg.file;
  const initScale = m.has('init_scale') ? Number(m.get('init_scale')) : 0.02;
  if (!(initScale > 0 && initScale < 1)) throw new UserError(`${f}: init_scale should be in (0, 1), got "${m.get('init_scale')}"`);
  return {
    initScale,
    maxIterations: m.has('max_iterations') ? parseIntIn(m.get('max_iterations')!, 'max_iterations', 40, 65535, f) : 40,
    autoTune: m.has('auto_tune') ? parseBool(m.get('auto_tune')!, 'auto_tune', f) : false,
  };
}

export const WEIGHT_QUANT_KEYS = {
  common_quant_param: ['quant_type', 'bit_num', 'min_quant_weight_size', 'min_quant_weight_channel', 'skip_quant_node', 'debug_info_save_path', 'enable_encode', 'workspace'],
  mixed_bit_weight_quant_param: ['init_scale', 'auto_tune', 'use_cv_data', 'max_iterations'],
  weight_quant_param: ['per_channel', 'bias_correction', 'clip_search', 'dequant_strategy', 'quant_strategy', 'update_mindir', 'max_segments'],
} as const;
