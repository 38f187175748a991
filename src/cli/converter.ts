/** `converter_lite`: MindSpore Lite's converter flags, float conversion to .ms. */
import { Command } from 'commander';
import path from 'node:path';
import { UserError } from '../ir/graph.js';
import { FMKS, Fmk, loadModel, toMs, parseInputShapes, parseInputValues } from '../convert.js';
import { readFileOrFail, readTextOrFail, writeFileAtomic, runCli, handlePendingSignals } from './io.js';
import { parseConfig, section, warnUnknownKeys, ConfigFile } from './config.js';
import { weightQuantOptions, WEIGHT_QUANT_KEYS } from './weight-quant-options.js';
import { weightQuantize, WeightQuantRow } from '../quant/weight-quant.js';
import { writeMs } from '../ir/export/ms.js';
import { fullQuantOptions, FULL_QUANT_KEYS } from './full-quant-options.js';
import { calibrationSource } from '../quant/calib-data.js';
import { REPORT_SAMPLES, fullQuantize, FullQuantResult } from '../quant/full-quant.js';
import { fullQuantizeToTarget, FallbackReport, meetsTarget, formatMetric } from '../quant/fallback.js';
import { statisticsCollector } from '../calibrate.js';
import { progressReporter } from './progress.js';
import { storeConstantsAsFloat16 } from '../ir/passes/fp16.js';
import { IO_DATA_TYPES, integerIoOptions, applyIoTypes } from '../quant/io-types.js';
import { dynamicQuantize } from '../quant/dynamic-quant.js';
import { writeDebugInfo } from '../quant/debug-info.js';
import { readMs } from '../ir/import/ms.js';
import { divergenceLine } from '../quant/int8-check.js';
import { applyNumThreads } from './threads.js';

const HELP_TAIL = `
Converts a model to a MindSpore Lite .ms file (".ms" is appended to --outputFile): float, weight-quantized
(--quantType=WeightQuant, 1-16 bits; bit_num=0 in the config for mixed-bit with FSE storage), fully
int8-quantized (--quantType=PostTraining with a --configFile that names the calibration data; statistics on the
GPU when there is one) or dynamic-quantized (quant_type=DYNAMIC_QUANT in the config). 4-D inputs of NCHW frameworks (ONNX,
Caffe, MindIR) become NHWC unless --inputDataFormat=NCHW; outputs keep the source layout. Examples:
  converter_lite --fmk=ONNX --modelFile=mnist-8.onnx --outputFile=mnist-8
  converter_lite --fmk=TFLITE --modelFile=m.tflite --outputFile=m_w8 --quantType=WeightQuant --bitNum=8
  converter_lite --fmk=CAFFE --modelFile=net.prototxt --weightFile=net.caffemodel --outputFile=net
  converter_lite --fmk=TF --modelFile=frozen.pb --inputShape=input:1,224,224,3 --outputFile=frozen
  converter_lite --fmk=ONNX --modelFile=mnist-8.onnx --outputFile=mnist-8_int8 --quantType=PostTraining --configFile=calib.cfg`;

export function converterMain(argv: string[]): Promise<number> {
  return runCli(async () => {
    const program = new Command('converter_lite')
      .option('--fmk <fmk>', 'source framework: TFLITE|ONNX|CAFFE|TF|MINDIR|MSLITE')
      .option('--modelFile <path>', 'input model file')
      .option('--weightFile <path>', 'CAFFE: the weights (.caffemodel) of the --modelFile prototxt')
      .option('--outputFile <path>', 'output path; .ms is appended')
      .option('--inputShape <spec>', 'fix input dims: "name:1,3,224,224;name2:..."')
      .option('--inputValue <spec>', 'ours (ONNX): fix an input to values at conversion, "name:16000;name2:1,2" (an If on it folds)')
      .option('--inputDataFormat <fmt>', 'NHWC (default) or NCHW layout for 4-D model inputs')
      .option('--quantType <type>', 'WeightQuant|PostTraining')
      .option('--bitNum <n>', 'quantization bits')
      .option('--quantWeightSize <n>', 'skip weights with at most this many elements')
      .option('--quantWeightChannel <n>', 'skip convolutions with at most this many output channels')
      .option('--configFile <path>', 'quantization config file (INI sections, or r1.x flat key=value for PostTraining)')
      .option('--inputDataType <type>', 'PostTraining graph inputs: FLOAT|INT8|UINT8|DEFAULT (int8/uint8 I/O drops the border casts; MaxPools then run int8 too)', 'DEFAULT')
      .option('--outputDataType <type>', 'PostTraining graph outputs: FLOAT|INT8|UINT8|DEFAULT', 'DEFAULT')
      .option('--fp16 <on|off>', 'store float32 constants as float16 (half the size of a float model)', 'off')
      .option('--device <device>', 'calibration device for PostTraining: auto (a hardware GPU, else CPU)|gpu (any adapter, software too)|cpu', 'auto')
      .option('--numThreads <n>', 'threads of the CPU kernels (ours: calibration, bias correction; at most the cores; default all)')
      .option('--quiet', 'no progress lines on stderr')
      .addHelpText('after', HELP_TAIL)
      .exitOverride()
      .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    try {
      program.parse(argv, { from: 'user' });
    } catch (e) {
      const code = (e as { exitCode?: number }).exitCode ?? 1;
      return code;
    }
    const o = program.opts();
    if (!o.fmk) throw new UserError('INPUT MISSING: fmk is necessary');
    if (!FMKS.includes(o.fmk)) throw new UserError('INPUT ILLEGAL: fmk must be TF|TFLITE|CAFFE|MINDIR|ONNX');
    if (!o.modelFile) throw new UserError('INPUT MISSING: model file path is necessary');
    if (!o.outputFile) throw new UserError('INPUT MISSING: output file path is necessary');
    if (o.inputDataFormat && o.inputDataFormat !== 'NHWC' && o.inputDataFormat !== 'NCHW')
      throw new UserError('INPUT ILLEGAL: inputDataFormat must be NHWC|NCHW');
    if (o.quantType !== undefined && o.quantType !== 'WeightQuant' && o.quantType !== 'PostTraining')
      throw new UserError('INPUT ILLEGAL: quantType must be WeightQuant|PostTraining');
    for (const flag of ['inputDataType', 'outputDataType'])
      if (!(IO_DATA_TYPES as readonly string[]).includes(o[flag])) throw new UserError(`INPUT ILLEGAL: ${flag} must be FLOAT|INT8|UINT8|DEFAULT, got "${o[flag]}"`);
    if (o.fp16 !== 'on' && o.fp16 !== 'off') throw new UserError(`INPUT ILLEGAL: fp16 must be on|off, got "${o.fp16}"`);
    if (o.numThreads !== undefined) applyNumThreads(o.numThreads);
    const cfg = o.configFile ? parseConfig(readTextOrFail(o.configFile, 'config file'), o.configFile) : undefined;
    const mode = quantMode(o.quantType, cfg);
    if (!['auto', 'gpu', 'cpu'].includes(o.device)) throw new UserError(`INPUT ILLEGAL: device must be auto|gpu|cpu, got "${o.device}"`);
    if (mode === 'FULL_QUANT' && !cfg) throw new UserError('INPUT MISSING: PostTraining needs --configFile with the calibration data');
    const ptBits = mode === 'FULL_QUANT' && o.bitNum !== undefined ? postTrainingBits(o.bitNum) : undefined;
    const weightOpts = mode === 'WEIGHT_QUANT' ? weightQuantOptions(o, cfg) : undefined;
    if (!mode && (o.bitNum ?? o.quantWeightSize ?? o.quantWeightChannel) !== undefined)
      process.stderr.write('WARNING: --bitNum, --quantWeightSize and --quantWeightChannel only apply with --quantType\n');
    if (cfg && weightOpts) warnUnknownKeys(cfg, { ...WEIGHT_QUANT_KEYS, '': [] }, (s) => process.stderr.write(`${s}\n`));
    if (mode !== 'FULL_QUANT' && [o.inputDataType, o.outputDataType].some((t) => t === 'INT8' || t === 'UINT8'))
      process.stderr.write('WARNING: --inputDataType / --outputDataType INT8|UINT8 only apply to PostTraining models (their tensors have quantization parameters)\n');
    if (cfg && mode === 'DYNAMIC_QUANT') warnUnknownKeys(cfg, DYNAMIC_QUANT_KEYS, (s) => process.stderr.write(`${s}\n`));
    if (cfg && mode === 'FULL_QUANT') warnUnknownKeys(cfg, FULL_QUANT_KEYS, (s) => process.stderr.write(`${s}\n`));

    const bytes = readFileOrFail(o.modelFile, 'model file');
    const g = loadModel(bytes, o.fmk as Fmk, o.modelFile, {
      inputShapes: o.inputShape ? parseInputShapes(o.inputShape) : undefined,
      inputValues: o.inputValue ? parseInputValues(o.inputValue) : undefined,
      inputDataFormat: o.inputDataFormat,
      weightFile: o.weightFile ? { bytes: readFileOrFail(o.weightFile, 'weight file'), file: o.weightFile } : undefined,
      readSideFile: (name) => readFileOrFail(path.join(path.dirname(o.modelFile), name), 'external weight file'),
    });
    const out = `${o.outputFile}.ms`;
    // MindSpore converts to fp16 last, after quantization: what is still float32 is halved.
    const finish = (ms: () => Uint8Array) => {
      if (o.fp16 === 'on') storeConstantsAsFloat16(g);
      return ms();
    };
    if (weightOpts) {
      const floatSize = writeMs(g).length;
      const rows = weightQuantize(g, weightOpts);
      const ms = finish(() => toMs(g));
      process.stdout.write(weightQuantSummary(rows, weightOpts.bitNum, floatSize, ms.length));
      writeFileAtomic(out, ms);
    } else if (mode === 'FULL_QUANT') {
      const { quant, calib, accuracyTarget, debugInfoDir } = fullQuantOptions(g, cfg!, ptBits);
      const float = debugInfoDir ? g.clone() : undefined;
      const samples = calibrationSource(g, calib);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const batchSize = 8;
      const options = {
        // The report's cosines settle within a hundred samples; two more forward passes over a 10,000-sample
        // set would double the conversion (and its allocation churn, the process's peak memory).
        ...quant, batchSize, reportSamples: REPORT_SAMPLES,
        ...integerIoOptions(g, o.inputDataType, o.outputDataType),
        collect: statisticsCollector({ device: o.device, log: o.quiet ? undefined : log, onProgress: progressReporter(!!o.quiet, batchSize) }),
      };
      const floatSize = writeMs(g).length;
      const targeted = accuracyTarget === undefined ? undefined : await fullQuantizeToTarget(g, samples, options, accuracyTarget.value, o.quiet ? undefined : log, accuracyTarget.metric);
      const result = targeted ?? await fullQuantize(g, samples, options);
      applyIoTypes(g, o.inputDataType, o.outputDataType, result.ranges, options.bitNum ?? 8);
      process.stdout.write(fullQuantSummary(result, quant.method, samples.count));
      if (targeted) process.stdout.write(fallbackSummary(targeted.fallback, floatSize, writeMs(g).length));
      if (debugInfoDir) {
        const files = writeDebugInfo(debugInfoDir, float!, readMs(writeMs(g, { explicitQuantParams: true })), samples);
        process.stdout.write(`Debug info: ${files.length} files in ${debugInfoDir} (quant_param.csv, round_0.csv .. round_${samples.count - 1}.csv, output_summary.csv)\n`);
      }
      writeFileAtomic(out, finish(() => writeMs(g, { explicitQuantParams: true })));
    } else if (mode === 'DYNAMIC_QUANT') {
      const rows = dynamicQuantize(g, dynamicQuantOptions(cfg!));
      for (const r of rows) process.stdout.write(r.quantized ? `  dynamic int8 ${r.node}\n` : `  float        ${r.node}: ${r.reason}\n`);
      process.stdout.write(`Dynamic quantization: ${rows.filter((r) => r.quantized).length} of ${rows.length} MatMulFusion nodes int8 (weights per channel, activations per tensor at run time)\n`);
      writeFileAtomic(out, finish(() => writeMs(g, { explicitQuantParams: true })));
    } else writeFileAtomic(out, finish(() => toMs(g)));
    await handlePendingSignals(); // an interrupted write removes the file and exits before success is claimed
    process.stdout.write('CONVERT RESULT SUCCESS:0\n');
    return 0;
  });
}

const DYNAMIC_QUANT_KEYS = {
  common_quant_param: ['quant_type', 'bit_num', 'skip_quant_node', 'debug_info_save_path', 'enable_encode', 'workspace'],
  dynamic_quant_param: ['quant_strategy'],
};

/** [common_quant_param] bit_num and skip_quant_node, [dynamic_quant_param] quant_strategy, with MindSpore's checks. */
function dynamicQuantOptions(cfg: ConfigFile): { skipQuantNode?: string[] } {
  const common = section(cfg, 'common_quant_param'), dyn = section(cfg, 'dynamic_quant_param');
  if (common.has('bit_num') && common.get('bit_num')!.trim() !== '8') throw new UserError('INPUT ILLEGAL: bit_num should be 8.');
  const strategy = dyn.get('quant_strategy') ?? 'ALWC';
  if (strategy !== 'ALWC' && strategy !== 'ACWL') throw new UserError(`${cfg.file}: quant_strategy must be ALWC|ACWL, got "${strategy}"`);
  if (strategy === 'ACWL') throw new UserError(`${cfg.file}: quant_strategy=ACWL (per-channel activations) is not supported; use ALWC`);
  return { skipQuantNode: common.get('skip_quant_node')?.split(',').map((x) => x.trim()).filter(Boolean) };
}

/** The quantization mode the flags and config ask for; they must agree. */
function quantMode(flag: string | undefined, cfg?: ConfigFile): 'WEIGHT_QUANT' | 'FULL_QUANT' | 'DYNAMIC_QUANT' | undefined {
  const fromFlag = flag === 'WeightQuant' ? 'WEIGHT_QUANT' : flag === 'PostTraining' ? 'FULL_QUANT' : undefined;
  const q = cfg && section(cfg, 'common_quant_param').get('quant_type');
  if (q !== undefined && !['WEIGHT_QUANT', 'FULL_QUANT', 'DYNAMIC_QUANT'].includes(q))
    throw new UserError('INPUT ILLEGAL: quant_type must be WEIGHT_QUANT|FULL_QUANT|DYNAMIC_QUANT.');
  if (fromFlag && q && q !== fromFlag) throw new UserError(`--quantType=${flag} contradicts quant_type=${q} in ${cfg!.file}`);
  return (fromFlag ?? q) as 'WEIGHT_QUANT' | 'FULL_QUANT' | 'DYNAMIC_QUANT' | undefined;
}

function weightQuantSummary(rows: WeightQuantRow[], bits: number, floatSize: number, quantSize: number): string {
  const q = rows.filter((r) => r.quantized);
  const before = rows.reduce((a, r) => a + r.bytesBefore, 0), after = rows.reduce((a, r) => a + r.bytesAfter, 0);
  const lines = [`Weight quantization, ${bits === 0 ? 'mixed-bit (FSE)' : `${bits} bit`}:`];
  for (const r of rows)
    lines.push(r.quantized
      ? `  quantized ${r.tensor} (${r.node}): ${r.channels} channel${r.channels === 1 ? '' : 's'}, ${r.compress}, ${r.bytesBefore} -> ${r.bytesAfter} bytes`
      : `  skipped   ${r.tensor} (${r.node}): ${r.reason}`);
  lines.push(`${q.length} of ${rows.length} weight tensors quantized, ${rows.length - q.length} skipped; weights ${before} -> ${after} bytes; ` +
    `model ${floatSize} -> ${quantSize} bytes (${(quantSize / floatSize).toFixed(3)}x)`);
  return `${lines.join('\n')}\n`;
}

function postTrainingBits(v: string): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim())) throw new UserError('bitNum should be a valid number.');
  if (n < 1 || n > 8) throw new UserError('bitNum should be in [1,8] for PostTraining (int8 storage).');
  return n;
}

function fallbackSummary(r: FallbackReport, floatSize: number, size: number): string {
  const met = meetsTarget(r.metric, r.errorAfter, r.target) ? 'met' : 'NOT met (every int8 layer tried)';
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const what = r.metric === 'MEAN_ERROR' ? `${r.target}% mean relative error` : `worst output ${formatMetric(r.metric, r.target)}`;
  return `Accuracy target ${what} on ${r.samples} calibration samples, each held back once (${r.folds}-fold): ${met}\n` +
    `  all int8: ${formatMetric(r.metric, r.errorBefore)}; result: ${formatMetric(r.metric, r.errorAfter)}\n` +
    `  kept in float: ${r.keptFloat.length ? r.keptFloat.join(', ') : 'none'}\n` +
    `  int8 weights: ${pct(r.int8WeightShare)} of the quantizable weight elements (int8 compute on ${pct(r.int8ComputeShare)}, the float layers' weights stored int8); ` +
    `model ${floatSize} -> ${size} bytes (${(size / floatSize).toFixed(3)}x)\n`;
}


function fullQuantSummary(r: FullQuantResult, method: string, samples: number): string {
  const reported = samples > REPORT_SAMPLES ? `; report on the first ${REPORT_SAMPLES}` : '';
  const lines = [`Full quantization (${method}, ${samples} calibration samples, statistics on ${r.device}${reported}):`,
    `  int8 nodes: ${r.quantizedNodes.length}; float nodes: ${r.floatNodes.length}${r.floatNodes.length ? ` (${r.floatNodes.join(', ')})` : ''}`,
    `  ${'tensor'.padEnd(40)} ${'range'.padStart(26)} ${'scale'.padStart(11)} ${'zp'.padStart(5)} ${'clipped'.padStart(9)} ${'cosine'.padStart(9)}`];
  for (const x of r.rows)
    lines.push(`  ${x.tensor.slice(-40).padEnd(40)} ${`[${x.min.toPrecision(5)}, ${x.max.toPrecision(5)}]`.padStart(26)} ${x.scale.toExponential(3).padStart(11)} ` +
      `${String(x.zeroPoint).padStart(5)} ${(x.clippedFraction * 100).toFixed(3).padStart(8)}% ${x.cosine.toFixed(5).padStart(9)}`);
  lines.push(`  ${divergenceLine(r.divergences)}`);
  return `${lines.join('\n')}\n`;
}
