/** converter_lite --quantType=PostTraining as a user runs it: both config dialects, calibration data errors. */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync, existsSync, copyFileSync, readdirSync } from 'node:fs';
import { cppFloat } from '../src/quant/debug-info.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli, cliAsync } from './helpers/cli.js';
import { model, mnistDigits, ROOT, IMAGENET, argmax, PHOTOS, photo } from './helpers/data.js';
import { run } from '../src/cpu/executor.js';
import { readMs } from '../src/ir/import/ms.js';
import { statisticsCollector } from '../src/calibrate.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { loadModel } from '../src/convert.js';
import { readBytes } from './helpers/data.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import type { SampleSource } from '../src/quant/stats.js';

let dir: string, digits: string;
const mnist = model('onnx/mnist-8.onnx');
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'webptq-pt-'));
  digits = path.join(dir, 'digits');
  mkdirSync(digits);
  mnistDigits(12, 200).forEach((d, i) => writeFileSync(path.join(digits, `d${String(i).padStart(2, '0')}.bin`), d.pixels));
});
const convert = (cfg: string, ...extra: string[]) => {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.cfg`);
  writeFileSync(file, cfg);
  const out = path.join(dir, `out${Math.random().toString(36).slice(2)}`);
  return { ...cli('converter_lite', ['--fmk=ONNX', `--modelFile=${mnist}`, `--outputFile=${out}`, '--quantType=PostTraining', `--configFile=${file}`, '--device=cpu', ...extra]), out };
};

describe('converter_lite --quantType=PostTraining', () => {
  it('reads the seed\'s flat config, prints the report, writes every QuantParam field', () => {
    const r = convert(`image_path=${digits}\nbatch_count=10\nmethod_x=KL\nthread_num=2\nbias_correction=true\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Full quantization \(KL, 10 calibration samples, statistics on CPU\)/);
    expect(r.stdout).toMatch(/Convolution28\s+\[[-\d.]+, [-\d.]+\]\s+[\d.e+-]+\s+-?\d+\s+[\d.]+%\s+0\.9\d+/);
    expect(r.stderr).toMatch(/calibration minmax: batch \d+\/\d+/);
    const bytes = new Uint8Array(readFileSync(`${r.out}.ms`));
    const g = readMs(bytes);
    expect(g.nodes.filter((n) => n.quantType === 5).map((n) => n.op)).toEqual(['Conv2DFusion', 'Conv2DFusion', 'Transpose', 'Reshape', 'MatMulFusion']);
    // explicit QuantParams: defaults such as numBits 8 and roundType 1 are present in the file
    const conv = g.nodes.find((n) => n.op === 'Conv2DFusion')!;
    expect(g.tensors[conv.inputs[0]].quant![0]).toMatchObject({ numBits: 8, roundType: 1, multiplier: 1, inited: true, dstDtype: 32 });
  });

  it('reads MindSpore\'s INI sections with image input and preprocessing', () => {
    const imgs = path.join(dir, 'imgs');
    mkdirSync(imgs);
    for (const f of ['cat.bmp', 'owl.jpg', 'fish.png']) copyFileSync(path.join(IMAGENET, f), path.join(imgs, f));
    const r = convert(`[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\n[full_quant_param]\nactivation_quant_method=MAX_MIN\nbias_correction=false\n` +
      `[data_preprocess_param]\ncalibrate_path=Input3:${imgs}\ncalibrate_size=3\ninput_type=IMAGE\nimage_to_format=GRAY\nnormalize_mean=[0]\nnormalize_std=[1]\nresize_width=28\nresize_height=28\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MAX_MIN, 3 calibration samples/);
  });

  it('takes our MSE method and MindSpore\'s skip_quant_node: the named convolution stays float', () => {
    const r = convert(`[common_quant_param]\nquant_type=FULL_QUANT\nskip_quant_node=Convolution28\n[full_quant_param]\nactivation_quant_method=MSE\nbias_correction=false\n` +
      `[data_preprocess_param]\ncalibrate_path=Input3:${digits}\ncalibrate_size=10\ninput_type=BIN\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Full quantization \(MSE, 10 calibration samples/);
    const g = readMs(new Uint8Array(readFileSync(`${r.out}.ms`)));
    const convs = g.nodes.filter((n) => n.op === 'Conv2DFusion');
    expect(convs.map((n) => [n.name, n.quantType === 5])).toEqual([['Convolution28', false], ['Convolution110', true]]);
    expect(g.tensors[convs[0].inputs[1]].dtype).toBe('float32');
  });

  it('--inputDataType/--outputDataType INT8 and UINT8: integer graph I/O with QuantParams, no border cast, the same predictions', () => {
    const cfg = `[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\nactivation_quant_method=MAX_MIN\nbias_correction=false\n` +
      `[data_preprocess_param]\ncalibrate_path=Input3:${digits}\ncalibrate_size=12\ninput_type=BIN\n`;
    const load = (...flags: string[]) => {
      const r = convert(cfg, ...flags);
      expect(r.code, r.stderr).toBe(0);
      return readMs(new Uint8Array(readFileSync(`${r.out}.ms`)));
    };
    const floatIo = load(), int8Io = load('--inputDataType=INT8', '--outputDataType=INT8'), uint8Io = load('--inputDataType=UINT8', '--outputDataType=UINT8');
    // No cast at all: the first conv reads the graph input, the MatMul writes the graph output, and the two
    // MaxPools run int8 on their input's parameters (float I/O keeps MindSpore's float pooling between casts).
    const casts = (g: typeof floatIo) => g.nodes.filter((n) => n.op === 'QuantDTypeCast');
    expect(casts(floatIo).length).toBe(6);
    expect(casts(int8Io)).toEqual([]);
    const pools = int8Io.nodes.filter((n) => n.op === 'MaxPoolFusion');
    expect(pools.map((n) => [n.quantType, int8Io.tensors[n.inputs[0]].dtype, int8Io.tensors[n.outputs[0]].dtype])).toEqual([[5, 'int8', 'int8'], [5, 'int8', 'int8']]);
    for (const n of pools) expect(int8Io.tensors[n.outputs[0]].quant).toEqual(int8Io.tensors[n.inputs[0]].quant);
    expect(int8Io.nodes.every((n) => n.quantType === 5)).toBe(true);
    expect(int8Io.nodes.find((n) => n.inputs[0] === int8Io.inputs[0])!.op).toBe('Conv2DFusion');
    const [inT, outT] = [int8Io.tensors[int8Io.inputs[0]], int8Io.tensors[int8Io.outputs[0]]];
    expect([inT.name, inT.dtype, outT.name, outT.dtype]).toEqual(['Input3', 'int8', 'Plus214_Output_0', 'int8']);
    expect(inT.quant).toHaveLength(1);
    expect(outT.quant).toHaveLength(1);
    const u = [uint8Io.tensors[uint8Io.inputs[0]], uint8Io.tensors[uint8Io.outputs[0]]];
    expect(u.map((t) => t.dtype)).toEqual(['uint8', 'uint8']);
    expect(u[0].quant![0].zeroPoint).toBe(inT.quant![0].zeroPoint + 128);
    const border = casts(uint8Io);
    expect(border.map((n) => [n.name.split('_')[0], n.attrs.src_t, n.attrs.dst_t]).sort()).toEqual([['int8touint8', 32, 37], ['uint8toint8', 37, 32]]);
    // The caller quantizes the input as the float model's border cast would (C round of x / scale + zp).
    const p = inT.quant![0], inv = Math.fround(1 / Math.fround(p.scale));
    const q = (x: Float32Array) => Int8Array.from(x, (v) => { const r = Math.fround(Math.fround(v * inv) + p.zeroPoint); return Math.max(-128, Math.min(127, Math.sign(r) * Math.round(Math.abs(r)))); });
    const test = mnistDigits(2000, 3000);
    let same = 0;
    const correct = [0, 0, 0];
    for (const d of test) {
      const xq = q(d.pixels);
      const outs = [run(floatIo, [{ shape: [1, 28, 28, 1], data: d.pixels }])[0].data, run(int8Io, [{ shape: [1, 28, 28, 1], data: xq }])[0].data,
        run(uint8Io, [{ shape: [1, 28, 28, 1], data: Uint8Array.from(xq, (v) => v + 128) }])[0].data];
      const preds = outs.map(argmax);
      preds.forEach((pr, k) => (correct[k] += pr === d.label ? 1 : 0));
      if (preds[1] === preds[0] && preds[2] === preds[0]) same++;
      expect(Array.from(outs[2], (v) => v - 128)).toEqual(Array.from(outs[1]));
    }
    console.log(`mnist-8 int8 on 2,000 digits: ${correct.map((c) => (c / 20).toFixed(2) + '%').join(' / ')} (float I/O / INT8 / UINT8), same top-1 on ${same}`);
    expect(correct[1]).toBe(correct[0]);
    expect(correct[2]).toBe(correct[0]);
    expect(same).toBe(test.length);
    const badType = convert(cfg, '--inputDataType=INT4');
    expect(badType.code).toBe(1);
    expect(badType.stderr.trim()).toBe('INPUT ILLEGAL: inputDataType must be FLOAT|INT8|UINT8|DEFAULT, got "INT4"');
  }, 120_000);

  it('INT8 I/O where float nodes read the input and compute the output (a final Softmax): QuantDTypeCasts with calibrated parameters', () => {
    // x -> Sigmoid (float) -> Conv 1x1 (int8) -> Softmax over channels (float) -> y
    const onnx = path.join(dir, 'softmax-head.onnx');
    writeFileSync(onnx, buildOnnx({
      inputs: [{ name: 'x', dims: [1, 2, 4, 4] }], outputs: ['y'],
      inits: [{ name: 'w', dims: [3, 2, 1, 1], data: [1.5, -2, 0.5, 1, -1, 3] }, { name: 'b', dims: [3], data: [0.1, 0, -0.2] }],
      nodes: [{ op: 'Sigmoid', inputs: ['x'], outputs: ['s'] }, { op: 'Conv', inputs: ['s', 'w', 'b'], outputs: ['c'] }, { op: 'Softmax', inputs: ['c'], outputs: ['y'], attrs: { axis: 1 } }],
    }));
    const calib = path.join(dir, 'softmax-calib');
    mkdirSync(calib);
    const sample = (k: number) => Float32Array.from({ length: 32 }, (_, i) => Math.sin(i * 1.3 + k) * 4);
    for (let k = 0; k < 8; k++) writeFileSync(path.join(calib, `s${k}.bin`), sample(k));
    const cfg = path.join(dir, 'softmax.cfg');
    writeFileSync(cfg, `[common_quant_param]\nquant_type=FULL_QUANT\n[data_preprocess_param]\ncalibrate_path=x:${calib}\ncalibrate_size=8\ninput_type=BIN\n`);
    const out = path.join(dir, 'softmax-int8');
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${onnx}`, `--outputFile=${out}`, `--configFile=${cfg}`, '--device=cpu', '--inputDataType=INT8', '--outputDataType=INT8', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const g = readMs(readBytes(`${out}.ms`));
    const [inT, outT] = [g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]];
    expect([inT.name, inT.dtype, outT.name, outT.dtype]).toEqual(['x', 'int8', 'y', 'int8']);
    const [pi, po] = [inT.quant![0], outT.quant![0]];
    const float = loadModel(readBytes(onnx), 'ONNX', 'softmax-head.onnx');
    // MAX_MIN: each border's int8 range is the calibration samples' range (widened to hold 0), to a step.
    const range = (p: typeof pi) => [(-128 - p.zeroPoint) * p.scale, (127 - p.zeroPoint) * p.scale];
    const xs = Array.from({ length: 8 }, (_, k) => sample(k)), ys = xs.map((x) => run(float, [{ shape: [1, 4, 4, 2], data: x }])[0].data);
    const seen = (vs: ArrayLike<number>[]) => [Math.min(0, ...vs.flatMap((v) => Array.from(v))), Math.max(0, ...vs.flatMap((v) => Array.from(v)))];
    for (const [p, vs] of [[pi, xs], [po, ys]] as const) {
      const [lo, hi] = range(p), [slo, shi] = seen(vs);
      expect(Math.abs(lo - slo)).toBeLessThan(p.scale);
      expect(Math.abs(hi - shi)).toBeLessThan(p.scale);
    }
    for (let k = 0; k < 8; k++) {
      const x = sample(k);
      const xq = Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v / pi.scale + pi.zeroPoint))));
      const [yq] = run(g, [{ shape: [1, 4, 4, 2], data: xq }]);
      const [yf] = run(float, [{ shape: [1, 4, 4, 2], data: Float32Array.from(xq, (q) => (q - pi.zeroPoint) * pi.scale) }]);
      // Dequantized, each value is within a few output steps of float on the same (quantized) input.
      const worst = Math.max(...Array.from(yq.data, (q, i) => Math.abs((q - po.zeroPoint) * po.scale - yf.data[i])));
      expect(worst).toBeLessThan(4 * po.scale);
    }
  });

  it('accuracy_target keeps the most helpful layers in float until the held-back error is under it, and says which', () => {
    const cfg = (target: number) => `[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\nactivation_quant_method=MAX_MIN\nbias_correction=false\naccuracy_target=${target}\n` +
      `[data_preprocess_param]\ncalibrate_path=Input3:${digits}\ncalibrate_size=12\ninput_type=BIN\n`;
    const summary = (stdout: string) => {
      const m = stdout.match(/all int8: ([\d.]+)%; result: ([\d.]+)%\n {2}kept in float: (.*)\n {2}int8 weights: ([\d.]+)%/);
      expect(m, stdout).toBeTruthy();
      return { before: Number(m![1]), after: Number(m![2]), kept: m![3] === 'none' ? [] : m![3].split(', '), int8Share: Number(m![4]) };
    };
    const loose = convert(cfg(1000));
    expect(loose.code).toBe(0);
    const all = summary(loose.stdout);
    expect(all.kept).toEqual([]);
    expect(all.after).toBe(all.before);
    const target = all.before / 2;
    const r = convert(cfg(target));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Accuracy target [\d.]+% mean relative error on 12 calibration samples, each held back once \(5-fold\): met/);
    const s = summary(r.stdout);
    console.log(`mnist-8 accuracy_target ${target.toFixed(3)}%: ${s.before}% -> ${s.after}%, float: ${s.kept.join(', ')}, int8 weights ${s.int8Share}%`);
    expect(s.kept.length).toBeGreaterThan(0);
    expect(s.after).toBeLessThanOrEqual(target);
    const g = readMs(new Uint8Array(readFileSync(`${r.out}.ms`)));
    // The kept layers compute in float from int8 weights (QUANT_WEIGHT, per channel); the others are int8.
    for (const n of g.nodes.filter((x) => ['Conv2DFusion', 'MatMulFusion'].includes(x.op))) {
      expect([n.name, n.quantType]).toEqual([n.name, s.kept.includes(n.name) ? 4 : 5]);
      expect(g.tensors[n.inputs[1]].dtype).toBe('int8');
    }
    expect(s.int8Share).toBe(100);
  }, 120_000);

  it('accuracy_metric=COSINE: layers fall back until the worst held-back output cosine reaches the target', () => {
    const cfg = (target: number) => `[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\nactivation_quant_method=MAX_MIN\nbias_correction=false\n` +
      `accuracy_target=${target}\naccuracy_metric=COSINE\n[data_preprocess_param]\ncalibrate_path=Input3:${digits}\ncalibrate_size=12\ninput_type=BIN\n`;
    const cosines = (stdout: string) => {
      const m = stdout.match(/all int8: cosine ([\d.]+); result: cosine ([\d.]+)\n {2}kept in float: (.*)\n/);
      expect(m, stdout).toBeTruthy();
      return { before: Number(m![1]), after: Number(m![2]), kept: m![3] === 'none' ? [] : m![3].split(', ') };
    };
    const all = cosines(convert(cfg(0.5)).stdout);
    expect(all.kept).toEqual([]);
    // halfway from all int8 to float
    const target = Number((1 - (1 - all.before) / 2).toFixed(5));
    const r = convert(cfg(target));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Accuracy target worst output cosine [\d.]+ on 12 calibration samples, each held back once \(5-fold\): met/);
    const s = cosines(r.stdout);
    console.log(`mnist-8 worst held-back cosine ${all.before} all int8, target ${target}: ${s.after} with ${s.kept.join(', ')} float`);
    expect(s.kept.length).toBeGreaterThan(0);
    expect(s.after).toBeGreaterThanOrEqual(target);
  }, 120_000);

  it('debug_info_save_path writes MindSpore\'s quant_param.csv, round_<i>.csv and output_summary.csv', () => {
    const dbg = path.join(dir, 'debug');
    mkdirSync(dbg);
    const cfg = `[common_quant_param]\nquant_type=FULL_QUANT\ndebug_info_save_path=${dbg}\n[full_quant_param]\nactivation_quant_method=MAX_MIN\nbias_correction=false\n` +
      `[data_preprocess_param]\ncalibrate_path=Input3:${digits}\ncalibrate_size=3\ninput_type=BIN\n`;
    const r = convert(cfg);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dbg).sort()).toEqual(['output_summary.csv', 'quant_param.csv', 'round_0.csv', 'round_1.csv', 'round_2.csv']);
    const csv = (f: string) => readFileSync(path.join(dbg, f), 'utf8').trim().split('\n').map((l) => l.split(','));
    const params = csv('quant_param.csv');
    expect(params[0].join(',')).toBe('NodeName,NodeType,TensorName,ElementsNum,Dims,Scale,ZeroPoint,Bits,CorrectionVar,CorrectionMean,');
    const g = readMs(new Uint8Array(readFileSync(`${r.out}.ms`)));
    const expected = g.nodes.reduce((a, n) => a + [...n.inputs.filter((i) => i >= 0), ...n.outputs].reduce((b, id) => b + (g.tensors[id].quant?.length ?? 0), 0), 0);
    expect(params.length - 1).toBe(expected);
    const round = csv('round_1.csv');
    expect(round[0].join(',')).toBe(',NodeName,NodeType,TensorName,InOutFlag,DataTypeFlag,TensorTypeFlag,Min,Q1,Median,Q3,Max,Mean,Var,Sparsity,Clip,CosineSimilarity,');
    const convOut = round.filter((row) => row[1] === 'Convolution110' && row[4] === 'Output');
    expect(convOut.map((row) => row[5])).toEqual(['Origin', 'Dequant']);
    expect(Number(convOut[1][16])).toBeGreaterThan(0.99);
    expect(Number(convOut[1][16])).toBeLessThan(1);
    const weights = round.filter((row) => row[1] === 'Convolution110' && row[6] === 'Weight' && row[5] === 'Dequant');
    expect(weights).toHaveLength(2); // int8 weight and int32 bias, both dequantized
    for (const w of weights) expect(Number(w[16])).toBeGreaterThan(0.999);
    const summary = csv('output_summary.csv');
    expect(summary.map((row) => row.slice(0, 2).join(','))).toEqual(['Round,TensorName', '0,Plus214_Output_0', '1,Plus214_Output_0', '2,Plus214_Output_0']);
    for (const row of summary.slice(1)) expect(Number(row[2])).toBeGreaterThan(0.99);
    const missing = convert(cfg.replace(dbg, path.join(dir, 'no-such-dir')));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/debug_info_save_path .*no-such-dir is not an existing directory/);
    expect(['1e-05', '0.000123', '123456', '1.23457e+06', '0.1', '-2.5', '0'].join()).toBe([1e-5, 0.000123, 123456, 1234567, 0.1, -2.5, 0].map(cppFloat).join());
  });

  it('accuracy_target on SqueezeNet with REMOVAL_OUTLIER (17 photos): top-1 back to >= 16/17 with >= 80 % of the weights int8, layers listed', async () => {
    const imgs = path.join(dir, 'photos17');
    mkdirSync(imgs);
    for (const f of PHOTOS) copyFileSync(path.join(IMAGENET, f), path.join(imgs, f));
    const cfgFile = path.join(dir, 'ro-target.cfg');
    writeFileSync(cfgFile, `[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\nactivation_quant_method=REMOVAL_OUTLIER\naccuracy_target=150\n` +
      `[data_preprocess_param]\ncalibrate_path=data_0:${imgs}\ncalibrate_size=17\ninput_type=IMAGE\nimage_to_format=BGR\nnormalize_mean=[0,0,0]\nnormalize_std=[1,1,1]\nresize_width=224\nresize_height=224\n`);
    const out = path.join(dir, 'sq-target');
    const r = await cliAsync('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/squeezenet1.1-fp32.onnx')}`, `--outputFile=${out}`, `--configFile=${cfgFile}`, '--device=cpu', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const kept = r.stdout.match(/kept in float: (.*)\n/)![1].split(', ');
    const [share, compute] = r.stdout.match(/int8 weights: ([\d.]+)% of the quantizable weight elements \(int8 compute on ([\d.]+)%/)!.slice(1).map(Number);
    expect(r.stdout).toMatch(/Accuracy target 150% mean relative error on 17 calibration samples, each held back once \(5-fold\): met/);
    const q = readMs(new Uint8Array(readFileSync(`${out}.ms`)));
    const float = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'sq');
    let same = 0;
    for (const p of PHOTOS) {
      const x = photo(p, 224, 224, { channels: 'BGR' });
      if (argmax(run(q, [{ shape: [1, 224, 224, 3], data: x }])[0].data) === argmax(run(float, [{ shape: [1, 224, 224, 3], data: x }])[0].data)) same++;
    }
    console.log(`SqueezeNet REMOVAL_OUTLIER accuracy_target 150%: ${kept.length} layers float (${kept.join(', ')}), ${share}% of weights int8 (int8 compute on ${compute}%), top-1 = float on ${same}/17`);
    expect(kept.length).toBeGreaterThan(0);
    for (const name of kept) expect(q.nodes.find((n) => n.name === name)!.quantType).toBe(4);
    expect(share).toBeGreaterThanOrEqual(80);
    // All int8, REMOVAL_OUTLIER agrees on 14/17 (its clipped logits flip near ties).
    expect(same).toBeGreaterThanOrEqual(16);
  }, 300_000);

  const bad: [string, string, RegExp][] = [
    ['no calibration path (INI)', '[common_quant_param]\nquant_type=FULL_QUANT\n', /^calibrate path must pass\. The format is input_name_1:input_1_dir,input_name_2:input_2_dir\.$/m],
    ['no image_path (flat)', 'batch_count=5\n', /image_path is required/],
    ['more samples than files', `image_path=DIGITS\nbatch_count=50\n`, /has 12 files, fewer than the 50 samples/],
    ['a directory per input mismatch', `image_path=DIGITS,DIGITS\nbatch_count=5\n`, /model's input tensor cnt: 1 != 2/],
    ['a bad method', `image_path=DIGITS\nmethod_x=MEDIAN\n`, /method_x must be MAX_MIN\|KL\|RemovalOutlier/],
    ['a bad batch_count', `image_path=DIGITS\nbatch_count=zero\n`, /INPUT ILLEGAL: batch_count should be \[1,65535\]/],
    ['a missing directory', `image_path=/no/such/dir\nbatch_count=1\n`, /calibration directory \/no\/such\/dir does not exist/],
    ['a calibrate_path naming an input the model lacks', '[common_quant_param]\nquant_type=FULL_QUANT\n[data_preprocess_param]\ncalibrate_path=data:DIGITS\ncalibrate_size=4\n',
      /calibrate_path names input "data", which the model does not have \(inputs: Input3\)/],
    ['a bad bool', '[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\nbias_correction=maybe\n[data_preprocess_param]\ncalibrate_path=Input3:DIGITS\n', /bias_correction must be true or false/],
    ['a line without =', 'image_path DIGITS\n', /expected key=value/],
    ['accuracy_target 0', '[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\naccuracy_target=0\n[data_preprocess_param]\ncalibrate_path=Input3:DIGITS\ncalibrate_size=4\n',
      /accuracy_target must be a mean relative error in percent, greater than 0, got "0"/],
    ['a cosine accuracy_target above 1', '[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\naccuracy_target=1.5\naccuracy_metric=COSINE\n[data_preprocess_param]\ncalibrate_path=Input3:DIGITS\ncalibrate_size=4\n',
      /accuracy_target must be a cosine similarity in \(0, 1\] \(accuracy_metric=COSINE\), got "1.5"/],
    ['an unknown accuracy_metric', '[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\naccuracy_target=0.9\naccuracy_metric=PSNR\n[data_preprocess_param]\ncalibrate_path=Input3:DIGITS\ncalibrate_size=4\n',
      /accuracy_metric must be MEAN_ERROR\|COSINE\|SQNR, got "PSNR"/],
    ['accuracy_metric without accuracy_target', '[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\naccuracy_metric=SQNR\n[data_preprocess_param]\ncalibrate_path=Input3:DIGITS\ncalibrate_size=4\n',
      /accuracy_metric needs accuracy_target/],
    ['accuracy_target with one sample', '[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\naccuracy_target=2\n[data_preprocess_param]\ncalibrate_path=Input3:DIGITS\ncalibrate_size=1\n',
      /accuracy_target needs calibrate_size >= 2/],
  ];
  for (const [what, cfg, msg] of bad)
    it(`fails cleanly on ${what}`, () => {
      const r = convert(cfg.replace(/DIGITS/g, digits));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(`${r.out}.ms`)).toBe(false);
    });

  it('rejects a calibration .bin of the wrong size with MindSpore\'s message', () => {
    const odd = path.join(dir, 'odd');
    mkdirSync(odd);
    writeFileSync(path.join(odd, 'a.bin'), new Float32Array(100));
    const r = convert(`image_path=${odd}\nbatch_count=1\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Input binary file size error, required: 3136, in fact: 400/);
  });

  it('warns about unknown keys, and validates --bitNum and --device', () => {
    const r = convert(`image_path=${digits}\nbatch_count=4\nmethod_x=MAX_MIN\nshiny=yes\n`);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/unknown key "shiny" is ignored/);
    expect(convert(`image_path=${digits}\n`, '--bitNum=9').stderr).toMatch(/bitNum should be in \[1,8\] for PostTraining/);
    expect(convert(`image_path=${digits}\n`, '--device=tpu').stderr).toMatch(/INPUT ILLEGAL: device must be auto\|gpu\|cpu/);
  });
});

describe('memory', () => {
  it('full quantization over 1,000 samples uses no more memory than over 100', async () => {
    const g0 = () => loadModel(readBytes(model('tflite/ad01-autoencoder-float.tflite')), 'TFLITE', 'ad01');
    const source = (count: number): SampleSource => ({ count, get: (i) => [Float32Array.from({ length: 640 }, (_, k) => Math.sin((k + i * 7) / 11) * (1 + (i % 5)))] });
    const gc = (globalThis as { gc?: () => void }).gc!;
    expect(gc).toBeTypeOf('function');
    const measure = async (count: number) => {
      gc();
      const before = process.memoryUsage().heapUsed;
      let peak = before;
      await fullQuantize(g0(), source(count), {
        method: 'REMOVAL_OUTLIER', biasCorrection: false, batchSize: 50, reportSamples: 10,
        collect: statisticsCollector({ device: 'cpu', onProgress: () => { gc(); peak = Math.max(peak, process.memoryUsage().heapUsed); } }),
      });
      return peak - before;
    };
    const small = await measure(100), large = await measure(1000);
    console.log(`full quantization heap growth: ${(small / 1e6).toFixed(2)} MB (100 samples) vs ${(large / 1e6).toFixed(2)} MB (1,000)`);
    expect(large).toBeLessThan(small + 8e6);
  });
});
void ROOT;
