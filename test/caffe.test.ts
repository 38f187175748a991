/**
 * --fmk=CAFFE on the real Caffe models of models/corpus/caffe (#28): each against an independent oracle — the
 * same network's ONNX export in onnxruntime, its TFLite export through our TFLite path, MNIST labels, the faces
 * of a real photo — plus the protobuf text reader, the CLI with its weight file, and the bad inputs a user meets.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { CAFFE_PROTO } from '../src/ir/import/proto/caffe-proto.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import { run } from '../src/cpu/executor.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { parseProtoText, one, all } from '../src/ir/import/proto-text.js';
import { readBytes, relMaxDiff, mnistDigits } from './helpers/data.js';
import { cli } from './helpers/cli.js';
import { checkEach } from './helpers/check-each.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';
import { CAFFE_CORPUS, caffeFiles, convertCaffe, lenetInput, lenetTop1 } from './helpers/frameworks.js';

afterAll(async () => (await testGpu())?.release());

describe('protobuf text format', () => {
  it('reads nested messages, repeated fields, enums, strings with escapes, lists and comments', () => {
    const m = parseProtoText(`name: "a\\"b" # comment
      layer { name: 'x' 'y' type: "Conv" param { lr_mult: 1 } param { lr_mult: 2.5e-1 } }
      layers < dim: [1, 2, 3] pool: MAX flag: true neg: -4 hex: 0x1F inf: -inf >`, 'm.prototxt');
    expect(one(m, 'name')).toBe('a"b');
    const layer = one(m, 'layer') as Record<string, unknown[]>;
    expect(one(layer as never, 'name')).toBe('xy');
    expect(all(layer as never, 'param').map((p) => one(p as never, 'lr_mult'))).toEqual([1, 0.25]);
    const l = one(m, 'layers') as never;
    expect(all(l, 'dim')).toEqual([1, 2, 3]);
    expect([one(l, 'pool'), one(l, 'flag'), one(l, 'neg'), one(l, 'hex'), one(l, 'inf')]).toEqual(['MAX', true, -4, 31, -Infinity]);
    expect(() => parseProtoText('layer { name: "x"', 'bad.prototxt')).toThrow(/bad\.prototxt:1: missing '}'/);
  });
});

describe('Caffe models of models/corpus/caffe against independent oracles', () => {
  checkEach(CAFFE_CORPUS);

  it('lenet-mnist on the GPU executor equals the CPU on 10 digits', async (t) => {
    const { g } = convertCaffe('lenet-mnist', new Map([['data', [1, 1, 28, 28]]]));
    const ex = await GpuExecutor.create(await gpuOrSkip(t.skip), g, 1);
    try {
      for (const d of mnistDigits(10)) {
        await ex.run([lenetInput(d)]);
        const [gpu] = await ex.outputs();
        expect(relMaxDiff(gpu.data, run(g, [{ shape: [1, 28, 28, 1], data: lenetInput(d) }])[0].data)).toBeLessThan(1e-4);
      }
    } finally {
      ex.destroy();
    }
  });
});

describe('converter_lite --fmk=CAFFE', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'webptq-caffe-'));
  const lenet = caffeFiles('lenet-mnist');
  const convert = (extra: string[], out = path.join(dir, 'out')) =>
    ({ ...cli('converter_lite', ['--fmk=CAFFE', `--outputFile=${out}`, '--quiet', ...extra]), out: `${out}.ms` });

  it('PostTraining lenet-mnist from 16 calibration digits keeps ≥ 98 % on 2,000 digits in int8', () => {
    const calib = path.join(dir, 'calib');
    mkdirSync(calib);
    for (const [k, d] of mnistDigits(16, 3000).entries()) {
      const x = lenetInput(d);
      writeFileSync(path.join(calib, `${String(k).padStart(2, '0')}.bin`), new Uint8Array(x.buffer));
    }
    const cfg = path.join(dir, 'lenet.cfg');
    writeFileSync(cfg, `[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\n[data_preprocess_param]\ncalibrate_path=data:${calib}\ncalibrate_size=16\ninput_type=BIN\n`);
    const r = convert([`--modelFile=${lenet.prototxt}`, `--weightFile=${lenet.caffemodel}`, '--inputShape=data:1,1,28,28', `--configFile=${cfg}`, '--device=cpu'], path.join(dir, 'lenet_int8'));
    expect(r.code, r.stderr).toBe(0);
    const g = readMs(readBytes(r.out));
    expect(g.nodes.filter((n) => n.quantType === 5).length).toBeGreaterThanOrEqual(4);
    const top1 = lenetTop1(g, 2000);
    console.log(`lenet-mnist (Caffe) PostTraining int8: ${(100 * top1).toFixed(1)} % top-1 on 2,000 digits`);
    expect(top1).toBeGreaterThanOrEqual(0.98);
  });

  it('WeightQuant of a Caffe model; one line naming the file for a missing weight file, weights of another net, a binary prototxt, an unknown layer', () => {
    const wq = convert([`--modelFile=${lenet.prototxt}`, `--weightFile=${lenet.caffemodel}`, '--quantType=WeightQuant', '--bitNum=8'], path.join(dir, 'lenet_w8'));
    expect(wq.code, wq.stderr).toBe(0);
    expect(readBytes(wq.out).length).toBeLessThan(0.3 * readBytes(lenet.caffemodel).length);
    const det1 = caffeFiles('mtcnn-det1'), det2 = caffeFiles('mtcnn-det2');
    const unknown = path.join(dir, 'unknown.prototxt');
    writeFileSync(unknown, 'input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\nlayer { name: "odd" type: "FancyNorm" bottom: "data" top: "y" }\n');
    for (const [args, want] of [
      [[`--modelFile=${lenet.prototxt}`], /lenet-mnist\.prototxt: a Caffe model needs its weights: --weightFile=/],
      [[`--modelFile=${det1.prototxt}`, `--weightFile=${det2.caffemodel}`], /mtcnn-det1\.prototxt: layer conv1 \(Convolution\): the weights \(shape \[28,3,3,3\]\) do not match num_output 10 .*is .*mtcnn-det2\.caffemodel the caffemodel of this prototxt\?/],
      [[`--modelFile=${lenet.caffemodel}`, `--weightFile=${lenet.caffemodel}`], /lenet-mnist\.caffemodel: not a Caffe prototxt \(protobuf text\): line \d+: unexpected byte/],
      [[`--modelFile=${lenet.prototxt}`, `--weightFile=${lenet.prototxt}`], /lenet-mnist\.prototxt: not a Caffe caffemodel/],
      [[`--modelFile=${unknown}`, `--weightFile=${lenet.caffemodel}`], /unknown\.prototxt: layer odd \(FancyNorm\): unsupported Caffe layer type\. Supported: .*Convolution/],
    ] as const) {
      const r = convert([...args], path.join(dir, 'bad'));
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(existsSync(path.join(dir, 'bad.ms'))).toBe(false);
    }
  });
});

describe('Caffe layers against the same network written as ONNX, in onnxruntime', () => {
  it('Convolution, BatchNorm + Scale, in-place ReLU, Eltwise with coefficients, AVE pooling (ceil), Slice, Concat, Power, InnerProduct, Softmax', async () => {
    const seeded = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.37 + k) * 0.7);
    const w = seeded(3 * 2 * 3 * 3, 1), b = seeded(3, 2), mean = seeded(3, 3), variance = seeded(3, 4).map((v) => v * v + 0.1);
    const factor = 2, gamma = seeded(3, 5), beta = seeded(3, 6), fc = seeded(4 * 3 * 3 * 3, 7), fcb = seeded(4, 8);
    const prototxt = `name: "mix"
input: "data" input_dim: 1 input_dim: 2 input_dim: 5 input_dim: 5
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "bn" batch_norm_param { eps: 0.001 } }
layer { name: "scale" type: "Scale" bottom: "bn" top: "bn" scale_param { bias_term: true } }
layer { name: "relu" type: "ReLU" bottom: "bn" top: "bn" }
layer { name: "sum" type: "Eltwise" bottom: "bn" bottom: "conv" top: "sum" eltwise_param { operation: SUM coeff: 1 coeff: -0.5 } }
layer { name: "pool" type: "Pooling" bottom: "sum" top: "pool" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "slice" type: "Slice" bottom: "pool" top: "a" top: "b" slice_param { axis: 1 slice_point: 1 } }
layer { name: "cat" type: "Concat" bottom: "b" bottom: "a" top: "cat" }
layer { name: "pow" type: "Power" bottom: "cat" top: "pow" power_param { power: 2 scale: 0.5 shift: 1 } }
layer { name: "fc" type: "InnerProduct" bottom: "pow" top: "fc" inner_product_param { num_output: 4 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
`;
    const netType = protobuf.parse(CAFFE_PROTO, { keepCase: true }).root.lookupType('caffe.NetParameter');
    const blob = (data: Float32Array, dim: number[]) => ({ shape: { dim }, data: Array.from(data) });
    const weights = netType.encode(netType.fromObject({ name: 'mix', layer: [
      { name: 'conv', type: 'Convolution', blobs: [blob(w, [3, 2, 3, 3]), blob(b, [3])] },
      // Caffe stores the running sums and their scale factor.
      { name: 'bn', type: 'BatchNorm', blobs: [blob(mean.map((v) => v * factor), [3]), blob(variance.map((v) => v * factor), [3]), blob(Float32Array.of(factor), [1])] },
      { name: 'scale', type: 'Scale', blobs: [blob(gamma, [3]), blob(beta, [3])] },
      { name: 'fc', type: 'InnerProduct', blobs: [blob(fc, [4, 27]), blob(fcb, [4])] },
    ] })).finish();
    const g = readMs(toMs(loadModel(new TextEncoder().encode(prototxt), 'CAFFE', 'mix.prototxt', { weightFile: { bytes: weights, file: 'mix.caffemodel' } })));

    // The same network in ONNX; Caffe's AVE pooling of a 5x5 map with kernel 2, stride 2 rounds up to 3x3, its
    // last window clipped to the input: onnxruntime's ceil_mode with count_include_pad=0 does the same.
    const onnx = buildOnnx({
      inputs: [{ name: 'data', dims: [1, 2, 5, 5] }], outputs: ['prob'],
      inits: [{ name: 'w', dims: [3, 2, 3, 3], data: w }, { name: 'b', dims: [3], data: b }, { name: 'mean', dims: [3], data: mean }, { name: 'var', dims: [3], data: variance },
        { name: 'one', dims: [3], data: [1, 1, 1] }, { name: 'zero', dims: [3], data: [0, 0, 0] }, { name: 'gamma', dims: [3, 1, 1], data: gamma }, { name: 'beta', dims: [3, 1, 1], data: beta },
        { name: 'half', dims: [], data: [-0.5] }, { name: 'pscale', dims: [], data: [0.5] }, { name: 'pshift', dims: [], data: [1] }, { name: 'two', dims: [], data: [2] },
        { name: 'fc', dims: [4, 27], data: fc }, { name: 'fcb', dims: [4], data: fcb }, { name: 'split', dims: [2], data: [1, 2], int64: true }],
      nodes: [
        { op: 'Conv', inputs: ['data', 'w', 'b'], outputs: ['conv'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'BatchNormalization', inputs: ['conv', 'one', 'zero', 'mean', 'var'], outputs: ['bn'], attrs: { epsilon: 0.0010000000474974513 } },
        { op: 'Mul', inputs: ['bn', 'gamma'], outputs: ['sc'] }, { op: 'Add', inputs: ['sc', 'beta'], outputs: ['sb'] }, { op: 'Relu', inputs: ['sb'], outputs: ['r'] },
        { op: 'Mul', inputs: ['conv', 'half'], outputs: ['hc'] }, { op: 'Add', inputs: ['r', 'hc'], outputs: ['sum'] },
        { op: 'AveragePool', inputs: ['sum'], outputs: ['pool'], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } },
        { op: 'Split', inputs: ['pool', 'split'], outputs: ['a', 'bb'], attrs: { axis: 1 } }, { op: 'Concat', inputs: ['bb', 'a'], outputs: ['cat'], attrs: { axis: 1 } },
        { op: 'Mul', inputs: ['cat', 'pscale'], outputs: ['ps'] }, { op: 'Add', inputs: ['ps', 'pshift'], outputs: ['pa'] }, { op: 'Pow', inputs: ['pa', 'two'], outputs: ['pow'] },
        { op: 'Flatten', inputs: ['pow'], outputs: ['flat'], attrs: { axis: 1 } }, { op: 'Gemm', inputs: ['flat', 'fc', 'fcb'], outputs: ['fco'], attrs: { transB: 1 } },
        { op: 'Softmax', inputs: ['fco'], outputs: ['prob'], attrs: { axis: 1 } },
      ],
    });
    const x = seeded(50, 9).map((v) => v * 3);
    const session = await ort.InferenceSession.create(onnx);
    const want = (await session.run({ data: new ort.Tensor('float32', x, [1, 2, 5, 5]) })).prob.data as Float32Array;
    const nhwc = Float32Array.from({ length: 50 }, (_, i) => x[(i % 2) * 25 + Math.floor(i / 2)]);
    const [got] = run(g, [{ shape: [1, 5, 5, 2], data: nhwc }]);
    expect(g.tensors[g.outputs[0]].name).toBe('prob');
    expect(relMaxDiff(got.data, want)).toBeLessThan(1e-5);
  });
});
