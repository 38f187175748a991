/** `benchmark`: MindSpore Lite's accuracy and speed tool for .ms models, on the CPU executor. */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { UserError, Graph, Node, sizeOf, bytesPerElement } from '../ir/graph.js';
import { OpProfile } from '../bench/profile.js';
import { QuantType } from '../ir/schema/ops.js';
import { readMs } from '../ir/import/ms.js';
import { hasDynamicInputs } from '../ir/passes/shapes.js';
import { checkTensorSize } from '../ir/validate.js';
import { run, isQuantizedGraph } from '../cpu/executor.js';
import { applyNumThreads } from './threads.js';
import type { RT } from '../ir/tensor.js';
import { parseBenchmarkData, formatBenchmarkData, meanError, hasNonFinite, cosineSimilarity } from '../bench/accuracy.js';
import { readFileOrFail, writeFileAtomic, runCli, float32FromBytes } from './io.js';
import { compareLayers, formatLayerTable, layerCsv } from '../bench/compare.js';
import { int8Divergences, divergenceLine } from '../quant/int8-check.js';
import { acquireGpu, gpuUnavailableReason } from '../gpu/device.js';
import { GpuExecutor } from '../gpu/executor.js';

function num(v: string, flag: string, integer = true): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new UserError(`INPUT ILLEGAL: ${flag} must be a ${integer ? 'integer' : 'number'}, got "${v}"`);
  return n;
}

/** MindSpore's boolean flag values. */
function flag(v: string, name: string): boolean {
  if (v === 'true' || v === 'false') return v === 'true';
  throw new UserError(`INPUT ILLEGAL: ${name} must be true or false, got "${v}"`);
}

/** Deterministic uniform [0.1, 1) inputs when no --inDataFile is given. */
function randomInput(shape: number[], seed: number): Float32Array {
  const a = new Float32Array(sizeOf(shape));
  let s = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    a[i] = 0.1 + 0.9 * ((s >>> 0) / 4294967296);
  }
  return a;
}

/** Input values at `shapes` (one per graph input, default the declared ones): from files, else random. */
export function loadInputs(g: Graph, files: string[], shapes = g.inputs.map((id) => g.tensors[id].shape)): RT[] {
  if (files.length && files.length !== g.inputs.length)
    throw new UserError(`--inDataFile: model has ${g.inputs.length} inputs, got ${files.length} files`);
  return g.inputs.map((id, i) => {
    const t = g.tensors[id], shape = shapes[i];
    if (shape.some((d) => d < 0)) throw new UserError(`input ${t.name} has dynamic dims [${shape}]: give them with --inputShapes`);
    checkTensorSize(t.name, shape, bytesPerElement[t.dtype]);
    if (!files.length) {
      const r = randomInput(shape, 1234 + i);
      // int8 / uint8 inputs (--inputDataType of a PostTraining model): random integers over the whole type
      return { shape, data: t.dtype === 'int8' ? Int8Array.from(r, (v) => Math.floor((v - 0.1) / 0.9 * 256) - 128) : t.dtype === 'uint8' ? Uint8Array.from(r, (v) => Math.floor((v - 0.1) / 0.9 * 256)) : r };
    }
    const bytes = readFileOrFail(files[i], 'input file');
    const need = sizeOf(shape) * bytesPerElement[t.dtype];
    if (bytes.length !== need) throw new UserError(`Input binary file size error, required: ${need}, in fact: ${bytes.length} (${files[i]})`);
    const own = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + need);
    const data = t.dtype === 'int32' ? new Int32Array(own) : t.dtype === 'int8' ? new Int8Array(own) : t.dtype === 'uint8' ? new Uint8Array(own) : float32FromBytes(bytes);
    return { shape, data };
  });
}

/**
 * --inputShapes: the shapes to run at. A model with symbolic dims keeps them (the executors resolve its shape
 * subgraphs from the inputs); a static model is resized as MindSpore Lite's benchmark does.
 */
function inputShapesOf(g: Graph, spec: string): number[][] {
  const shapes = spec.split(':').filter(Boolean).map((s) => s.split(',').map((d) => num(d, '--inputShapes')));
  if (shapes.length !== g.inputs.length) throw new UserError(`--inputShapes: model has ${g.inputs.length} inputs, got ${shapes.length} shapes`);
  if (!hasDynamicInputs(g)) g.inputs.forEach((id, i) => (g.tensors[id].shape = shapes[i]));
  return shapes;
}

/** A GPU inference function for a float model; the device is released when the process ends. */
async function gpuRunner(g: Graph, inputs: RT[], log: (s: string) => void): Promise<() => Promise<RT[]>> {
  if (isQuantizedGraph(g))
    throw new UserError('--device=GPU runs float and weight-quantized models; full-quantized (int8) models run on CPU, as do dynamic-quantized ones');
  const ctx = await acquireGpu();
  if (!ctx) {
    const why = gpuUnavailableReason();
    throw new UserError(`--device=GPU: no WebGPU adapter found${why ? ` (${why})` : ''}: install a GPU driver, or chromium for SwiftShader`);
  }
  log(`GPU adapter: ${ctx.adapterName}`);
  // One pass at the inputs' own shapes: dim 0 is not necessarily a batch (a [3, 4, 5] input is one sample),
  // and a model with symbolic dims is specialized to these shapes.
  const ex = await GpuExecutor.create(ctx, g, 1, hasDynamicInputs(g) ? { inputShapes: inputs.map((t) => t.shape) } : {});
  return async () => {
    await ex.run(inputs.map((t) => t.data as Float32Array));
    return ex.outputs();
  };
}

export function benchmarkMain(argv: string[]): Promise<number> {
  return runCli(async () => {
    const program = new Command('benchmark')
      .option('--modelFile <path>', '.ms model to run')
      .option('--inDataFile <files>', 'raw input files, comma or space separated, in model-input order (random when absent)', '')
      .option('--benchmarkDataFile <path>', 'reference outputs in MindSpore benchmark text format', '')
      .option('--accuracyThreshold <pct>', 'fail when the mean bias is above this many percent', '0.5')
      .option('--cosineDistanceThreshold <v>', 'fail when an output\'s cosine similarity is below this (enabled when >= -1)', '-1.1')
      .option('--loopCount <n>', 'timed runs', '10')
      .option('--warmUpLoopCount <n>', 'untimed runs first', '3')
      .option('--numThreads <n>', 'threads of the CPU executor\'s WebAssembly kernels (at most the cores)', '2')
      .option('--device <d>', 'CPU, or GPU (WebGPU; hardware adapter, else SwiftShader)', 'CPU')
      .option('--inputShapes <shapes>', 'resize inputs: "1,32,32,3:1,10"')
      .option('--saveOutput <path>', 'write this run\'s outputs as a benchmark data file')
      .option('--compareModel <path>', 'a reference .ms (e.g. the float model): per-layer cosine, SQNR and max error, worst first')
      .option('--compareCsv <path>', 'with --compareModel: also write the per-layer table as CSV')
      .option('--timeProfiling <bool>', 'true: print the time per op type over the timed runs (CPU)', 'false')
      .exitOverride()
      .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    try {
      program.parse(argv, { from: 'user' });
    } catch (e) {
      return (e as { exitCode?: number }).exitCode ?? 1;
    }
    const o = program.opts();
    if (!o.modelFile) throw new UserError('INPUT MISSING: modelFile is necessary');
    const device = String(o.device).toUpperCase();
    if (device !== 'CPU' && device !== 'GPU') throw new UserError(`INPUT ILLEGAL: device must be CPU|GPU, got "${o.device}"`);
    const loops = num(o.loopCount, '--loopCount'), warm = num(o.warmUpLoopCount, '--warmUpLoopCount');
    o.numThreads = applyNumThreads(o.numThreads);
    const threshold = num(o.accuracyThreshold, '--accuracyThreshold', false);
    const cosThreshold = num(o.cosineDistanceThreshold, '--cosineDistanceThreshold', false);
    if (loops < 1) throw new UserError('INPUT ILLEGAL: loopCount must be greater than 0');
    const g = readMs(readFileOrFail(o.modelFile, 'model file'), o.modelFile);
    const shapes = o.inputShapes ? inputShapesOf(g, o.inputShapes) : undefined;
    const inputs = loadInputs(g, (o.inDataFile as string).split(/[,\s]+/).filter(Boolean), shapes);
    const log = (s: string) => process.stdout.write(`${s}\n`);
    log(`ModelPath = ${o.modelFile}`);
    log(`InDataPath = ${o.inDataFile}`);
    log(`LoopCount = ${loops}, WarmUpLoopCount = ${warm}, NumThreads = ${o.numThreads}, Device = ${o.device}`);

    const profiling = flag(o.timeProfiling, '--timeProfiling');
    if (profiling && device === 'GPU') throw new UserError('--timeProfiling: per-op times are measured on the CPU executor; drop --device=GPU');
    const profile = new OpProfile();
    let timed = false;
    const timeNode = profiling ? (node: Node, ms: number, route?: string) => timed && profile.record(node, ms, route) : undefined;
    const infer = device === 'GPU' ? await gpuRunner(g, inputs, log) : async () => run(g, inputs, { timeNode });
    let outputs: RT[] = [];
    for (let i = 0; i < warm; i++) outputs = await infer();
    const times: number[] = [];
    timed = true;
    for (let i = 0; i < loops; i++) {
      const t0 = performance.now();
      outputs = await infer();
      times.push(performance.now() - t0);
      profile.endRun();
    }
    if (profiling) process.stdout.write(profile.format());
    const names = g.outputs.map((id) => g.tensors[id].name);
    let failed = false;
    outputs.forEach((out, k) => {
      log(`Data of node ${names[k]} : ${Array.from(out.data.slice(0, 20), (v) => Number(v.toPrecision(7))).join(' ')}`);
      if (hasNonFinite(out.data)) {
        log(`Output ${names[k]} contains NaN or Inf`);
        failed = true;
      }
    });
    if (o.saveOutput) {
      writeFileAtomic(o.saveOutput, formatBenchmarkData(outputs.map((out, k) => ({ name: names[k], shape: out.shape, values: out.data }))));
      log(`Saved outputs to ${o.saveOutput}`);
    }
    if (o.benchmarkDataFile) {
      const refs = parseBenchmarkData(readFileSync(o.benchmarkDataFile, 'utf8'), o.benchmarkDataFile);
      const refNames = refs.map((r) => r.name).sort().join();
      if (refNames !== [...names].sort().join())
        throw new UserError(`${o.benchmarkDataFile}: output names [${refs.map((r) => r.name)}] do not match the model's outputs [${names}]`);
      let total = 0;
      for (const r of refs) {
        const out = outputs[names.indexOf(r.name)];
        if (out.data.length !== r.values.length)
          throw new UserError(`${o.benchmarkDataFile}: tensor ${r.name} has ${r.values.length} values, the model outputs ${out.data.length}`);
        const err = meanError(out.data, r.values);
        total += err;
        log(`Mean bias of node/tensor ${r.name} : ${(err * 100).toFixed(6)}%`);
        if (cosThreshold >= -1) {
          const cos = cosineSimilarity(out.data, r.values);
          log(`Cosine similarity of ${r.name} : ${cos.toFixed(6)}`);
          if (cos < cosThreshold) failed = true;
        }
      }
      const meanBias = (total / refs.length) * 100;
      log(`Mean bias of all nodes/tensors: ${meanBias.toFixed(6)}%`);
      log('=======================================================');
      if (meanBias > threshold) {
        log(`Mean bias ${meanBias.toFixed(6)}% is above the accuracy threshold ${threshold}%`);
        failed = true;
      }
    }
    if (o.compareModel) {
      const ref = readMs(readFileOrFail(o.compareModel, 'compare model'), o.compareModel);
      if (o.inputShapes) inputShapesOf(ref, o.inputShapes);
      const rows = compareLayers(g, ref, inputs);
      if (!rows.length) throw new UserError(`--compareModel: ${o.compareModel} shares no tensor names with ${o.modelFile}`);
      log(`Per-layer comparison against ${o.compareModel} (${rows.length} tensors, worst first):`);
      process.stdout.write(formatLayerTable(rows));
      // An int8 model: is any int8 node off by more than its rounding (a kernel, not a range, is wrong)?
      if (g.nodes.some((n) => n.quantType === QuantType.QUANT_ALL)) log(divergenceLine(int8Divergences(g, inputs)));
      if (o.compareCsv) writeFileAtomic(o.compareCsv, layerCsv(rows));
    } else if (o.compareCsv) throw new UserError('--compareCsv needs --compareModel');
    const avg = times.reduce((a, b) => a + b, 0) / times.length;
    log(`Model = ${o.modelFile.split('/').pop()}, NumThreads = ${o.numThreads}, MinRunTime = ${Math.min(...times).toFixed(3)} ms, MaxRuntime = ${Math.max(...times).toFixed(3)} ms, AvgRunTime = ${avg.toFixed(3)} ms`);
    if (failed) {
      process.stderr.write('Run Benchmark failed\n');
      return 1;
    }
    return 0;
  });
}
