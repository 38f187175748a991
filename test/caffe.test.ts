/**
 * --fmk=CAFFE on the real Caffe models of models/corpus/caffe (#28): each against an independent oracle — the
 * same network's ONNX export in onnxruntime, its TFLite export through our TFLite path, MNIST labels, the faces
 * of a real photo — plus the protobuf text reader, the CLI with its weight file, and the bad inputs a user meets.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readMs } from '../src/ir/import/ms.js';
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
