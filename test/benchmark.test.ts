/** benchmark: MindSpore's mean-error arithmetic, reference files, input checks, exit codes. */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { meanError, parseBenchmarkData, formatBenchmarkData } from '../src/bench/accuracy.js';
import { cli } from './helpers/cli.js';
import { model, mnistDigits } from './helpers/data.js';

describe('mean error (CompareData)', () => {
  it('averages |diff|/|expected| over the out-of-tolerance elements only', () => {
    // element 0 within tolerance (1e-8 + 1e-5*2), element 1 off by 10 %, element 2 off by 50 %
    expect(meanError([2.000001, 1.1, 3], [2, 1, 2])).toBeCloseTo((0.1 / 1 + 1 / 2) / 2, 6);
  });
  it('counts |diff| for |expected| < FLT_EPSILON only above 1e-5', () => {
    expect(meanError([5e-6, 0.5], [0, 0])).toBeCloseTo(0.5, 9); // 5e-6 is ignored, 0.5 counts as |diff|
    expect(meanError([1e-7], [1e-8])).toBe(0); // tiny expected, tiny diff: no error
  });
  it('is 0 for identical outputs', () => {
    expect(meanError([1, 2, 3], [1, 2, 3])).toBe(0);
  });
  it('reads and writes the text format', () => {
    const text = formatBenchmarkData([{ name: 'out', shape: [1, 3], values: [0.5, -1, 2] }]);
    expect(text).toBe('out 2 1 3\n0.5 -1 2\n');
    expect(parseBenchmarkData(text)[0]).toMatchObject({ name: 'out', shape: [1, 3] });
    expect(() => parseBenchmarkData('out 2 1 3\n1 2\n')).toThrow(/expected 3 values, got 2/);
  });
});

describe('benchmark CLI', () => {
  let dir: string, ms: string, input: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'webptq-bench-'));
    ms = path.join(dir, 'mnist');
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${ms}`]).code).toBe(0);
    input = path.join(dir, 'digit.bin');
    writeFileSync(input, mnistDigits(1, 7)[0].pixels);
  });

  it('saves a reference, passes against it, fails with exit 1 on a perturbed one', () => {
    const ref = path.join(dir, 'ref.out');
    const save = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${input}`, `--saveOutput=${ref}`, '--loopCount=2']);
    expect(save.code).toBe(0);
    expect(save.stdout).toMatch(/AvgRunTime = [\d.]+ ms/);
    const pass = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${input}`, `--benchmarkDataFile=${ref}`]);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toContain('Mean bias of all nodes/tensors: 0.000000%');
    const [head, values] = readFileSync(ref, 'utf8').split('\n');
    const bad = path.join(dir, 'bad.out');
    writeFileSync(bad, `${head}\n${values.split(' ').map((v) => String(Number(v) * 1.02)).join(' ')}\n`);
    const fail = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${input}`, `--benchmarkDataFile=${bad}`]);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/Mean bias of all nodes\/tensors: 1\.96\d+%/);
  });

  it('rejects an input file of the wrong size with MindSpore\'s message', () => {
    const short = path.join(dir, 'short.bin');
    writeFileSync(short, new Float32Array(100));
    const r = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${short}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Input binary file size error, required: 3136, in fact: 400/);
  });

  it('--timeProfiling=true prints the time per op type of the timed runs; other values are refused', () => {
    const r = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${input}`, '--loopCount=3', '--timeProfiling=true']);
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\w+\s+[\d.]+\s+[\d.]+%\s+\d+\s+[\d.]+$/.test(l));
    const byType = new Map(rows.map((l) => l.split(/\s+/)).map((c) => [c[0], { percent: parseFloat(c[2]), calls: Number(c[3]) }]));
    // mnist-8 has two convolutions: two per run, three timed runs (the warm-up runs are not counted)
    expect(byType.get('Conv2DFusion')?.calls).toBe(6);
    expect([...byType.values()].reduce((a, e) => a + e.percent, 0)).toBeCloseTo(100, 0);
    const bad = cli('benchmark', [`--modelFile=${ms}.ms`, '--timeProfiling=yes']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^INPUT ILLEGAL: --timeProfiling must be true or false, got "yes"/);
  });

  it('runs MindSpore\'s own lenet_tod_infer.ms with its reference input', () => {
    const x = path.join(dir, 'x2.bin');
    writeFileSync(x, readFileSync(model('ms/x_lenet.bin')).subarray(0, 8192));
    const r = cli('benchmark', [`--modelFile=${model('ms/lenet_tod_infer.ms')}`, `--inDataFile=${x}`, '--loopCount=1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Data of node Default\/network-WithLossCell\/_backbone-LeNet5\/fc3-Dense\/BiasAdd-op121 : /);
  });
});

describe('benchmark --compareModel', () => {
  it('8-bit SqueezeNet against the float one on a real photo: mean bias and per-layer table, worst first', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-cmp-'));
    const f = path.join(dir, 'float'), q = path.join(dir, 'q8');
    const src = model('onnx/squeezenet1.1-fp32.onnx');
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${src}`, `--outputFile=${f}`]).code).toBe(0);
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${src}`, `--outputFile=${q}`, '--quantType=WeightQuant', '--quantWeightChannel=0']).code).toBe(0);
    const { photo } = await import('./helpers/data.js');
    const x = path.join(dir, 'cat.bin');
    writeFileSync(x, photo('cat.bmp', 224, 224, { channels: 'BGR' }));
    const ref = path.join(dir, 'float.out');
    expect(cli('benchmark', [`--modelFile=${f}.ms`, `--inDataFile=${x}`, `--saveOutput=${ref}`, '--loopCount=1', '--warmUpLoopCount=0']).code).toBe(0);
    const csv = path.join(dir, 'layers.csv');
    const r = cli('benchmark', [`--modelFile=${q}.ms`, `--inDataFile=${x}`, `--benchmarkDataFile=${ref}`, `--compareModel=${f}.ms`, `--compareCsv=${csv}`,
      '--loopCount=1', '--warmUpLoopCount=0', '--accuracyThreshold=100']);
    console.log(r.stdout);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Mean bias of all nodes\/tensors: [\d.]+%/);
    expect(r.stdout).toMatch(/Per-layer comparison against .*float\.ms \(40 tensors, worst first\)/);
    const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
    expect(rows.length).toBe(40);
    for (let i = 1; i < rows.length; i++) expect(rows[i]).toBeGreaterThanOrEqual(rows[i - 1]);
    expect(rows[0]).toBeLessThan(1);
    expect(rows[0]).toBeGreaterThan(0.99);
  });
});

describe('benchmark --device=GPU', () => {
  it('runs a float model on WebGPU and matches its CPU reference', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-gpu-bench-'));
    const ms = path.join(dir, 'mnist');
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${ms}`]).code).toBe(0);
    const input = path.join(dir, 'digit.bin');
    writeFileSync(input, mnistDigits(1, 9)[0].pixels);
    const ref = path.join(dir, 'ref.out');
    expect(cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${input}`, `--saveOutput=${ref}`, '--loopCount=1']).code).toBe(0);
    const r = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${input}`, `--benchmarkDataFile=${ref}`, '--device=GPU', '--loopCount=2', '--warmUpLoopCount=1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/GPU adapter: /);
    expect(r.stdout).toMatch(/Mean bias of all nodes\/tensors: 0\.0\d+%/);
    expect(cli('benchmark', [`--modelFile=${ms}.ms`, '--device=NPU']).stderr).toMatch(/INPUT ILLEGAL: device must be CPU\|GPU/);
  });
});

describe('benchmark --device=GPU on an input whose dim 0 is not a batch', () => {
  it('a [3, 4, 5] input is one sample: the GPU output equals the CPU one value for value', async () => {
    const { buildOnnx } = await import('./helpers/onnx-builder.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-gpu-345-'));
    const onnx = path.join(dir, 'm.onnx'), ms = path.join(dir, 'm'), x = path.join(dir, 'x.bin'), ref = path.join(dir, 'ref.out');
    writeFileSync(onnx, buildOnnx({ inputs: [{ name: 'x', dims: [3, 4, 5] }], outputs: ['y'], inits: [{ name: 'c', dims: [5], data: [1, 2, 3, 4, 5] }],
      nodes: [{ op: 'Mul', inputs: ['x', 'c'], outputs: ['y'] }] }));
    writeFileSync(x, Float32Array.from({ length: 60 }, (_, i) => i - 30));
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${onnx}`, `--outputFile=${ms}`]).code).toBe(0);
    expect(cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${x}`, `--saveOutput=${ref}`, '--loopCount=1']).code).toBe(0);
    expect(readFileSync(ref, 'utf8').split('\n')[1].split(' ').length).toBe(60);
    const r = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${x}`, `--benchmarkDataFile=${ref}`, '--device=GPU', '--loopCount=1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Mean bias of all nodes/tensors: 0.000000%');
  });
});

describe('benchmark on quantized models', () => {
  it('runs a full-quantized (int8) .ms on the CPU executor against the float reference', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-int8-bench-'));
    const q = path.join(dir, 'q');
    const cfg = path.join(dir, 'q.cfg');
    writeFileSync(cfg, 'image_path=calib-data/mnist-8\nbatch_count=20\nmethod_x=MAX_MIN\n');
    const conv = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${q}`, '--quantType=PostTraining', `--configFile=${cfg}`, '--device=cpu', '--quiet']);
    expect(conv.code, conv.stderr).toBe(0);
    const r = cli('benchmark', [`--modelFile=${q}.ms`, '--inDataFile=examples/digit7.bin', '--benchmarkDataFile=examples/digit7.out', '--accuracyThreshold=10', '--loopCount=2']);
    expect(r.code).toBe(0);
    const bias = Number(/Mean bias of all nodes\/tensors: ([\d.]+)%/.exec(r.stdout)![1]);
    console.log(`int8 mnist-8 vs onnxruntime float: mean bias ${bias}%`);
    expect(bias).toBeGreaterThan(0); // int8 is not bit-identical to float ...
    expect(bias).toBeLessThan(10); // ... but close
    expect(cli('benchmark', [`--modelFile=${q}.ms`, '--device=GPU']).stderr).toMatch(/full-quantized \(int8\) models run on CPU/);
  });
});

describe('benchmark --inputShapes on a model with symbolic dims', () => {
  it('PP-OCR rec converted without --inputShape equals onnxruntime at two widths and batches, on the CPU and the GPU', async () => {
    const { photo, nhwcToNchw } = await import('./helpers/data.js');
    const { ortRun } = await import('./helpers/ort.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-dyn-bench-'));
    const src = model('corpus/ppocr-rec.onnx'), ms = path.join(dir, 'rec');
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${src}`, `--outputFile=${ms}`]).code).toBe(0);
    for (const [n, w, device] of [[1, 320, 'CPU'], [2, 160, 'CPU'], [1, 96, 'GPU']] as const) {
      const one = photo('kimono.jpg', w, 48, { channels: 'BGR', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] });
      const x = new Float32Array(one.length * n);
      for (let i = 0; i < n; i++) x.set(one.map((v) => v * (1 - 0.3 * i)), i * one.length);
      const ref = (await ortRun(src, { x: { data: nhwcToNchw(x, n, 48, w, 3), dims: [n, 3, 48, w] } }))['softmax_11.tmp_0'];
      const input = path.join(dir, `x${n}x${w}.bin`), out = path.join(dir, `ref${n}x${w}.out`);
      writeFileSync(input, x);
      writeFileSync(out, formatBenchmarkData([{ name: 'softmax_11.tmp_0', shape: [n, w / 8, 6625], values: ref }]));
      const r = cli('benchmark', [`--modelFile=${ms}.ms`, `--inDataFile=${input}`, `--inputShapes=${n},48,${w},3`, `--benchmarkDataFile=${out}`, `--device=${device}`, '--loopCount=1', '--warmUpLoopCount=0']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const bias = Number(/Mean bias of all nodes\/tensors: ([\d.]+)%/.exec(r.stdout)![1]);
      console.log(`ppocr-rec ${n}x48x${w} on ${device}: mean bias vs onnxruntime ${bias}%`);
      expect(bias).toBeLessThan(0.5);
    }
    expect(cli('benchmark', [`--modelFile=${ms}.ms`]).stderr).toMatch(/input x has dynamic dims \[-1,48,-1,3\]: give them with --inputShapes/);
  }, 300_000);
});
