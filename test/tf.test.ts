/**
 * --fmk=TF on the frozen graphs of models/corpus/tf (#28), each against an independent oracle (the same network's
 * TFLite export through our TFLite path; the faces of a real photo), the forms behind them on small GraphDefs
 * against values worked out here, the CLI, and the bad inputs a user meets.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { TF_PROTO } from '../src/ir/import/proto/tf-proto.js';
import { model, readBytes, photo, relMaxDiff, IMAGENET } from './helpers/data.js';
import { cli } from './helpers/cli.js';
import { checkEach } from './helpers/check-each.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';
import { TF_CORPUS, convertFile } from './helpers/frameworks.js';

afterAll(async () => (await testGpu())?.release());

describe('TensorFlow frozen graphs of models/corpus/tf against independent oracles', () => {
  checkEach(TF_CORPUS);
});

// GraphDefs written here with TF's own field numbers.
const graphDef = protobuf.parse(TF_PROTO, { keepCase: true }).root.lookupType('tensorflow.GraphDef');
type Attr = Record<string, unknown>;
const floatConst = (name: string, dims: number[], values: number[]) =>
  ({ name, op: 'Const', attr: { dtype: { type: 1 }, value: { tensor: { dtype: 1, tensor_shape: { dim: dims.map((size) => ({ size })) }, float_val: values } } } });
const intConst = (name: string, values: number[], dims = [values.length]) =>
  ({ name, op: 'Const', attr: { dtype: { type: 3 }, value: { tensor: { dtype: 3, tensor_shape: { dim: dims.map((size) => ({ size })) }, int_val: values } } } });
const placeholder = (name: string, dims: number[]) => ({ name, op: 'Placeholder', attr: { dtype: { type: 1 }, shape: { shape: { dim: dims.map((size) => ({ size })) } } } });
const str = (s: string) => ({ s: new TextEncoder().encode(s) });
const encode = (nodes: { name: string; op: string; input?: string[]; attr?: Attr }[]) => graphDef.encode(graphDef.fromObject({ node: nodes })).finish();

describe('TensorFlow forms on small graphs', () => {
  it('an atrous convolution (SpaceToBatchND, VALID Conv2D, BatchToSpaceND) is one dilated convolution, equal to the direct sum', () => {
    // x [1,6,6,1] of 0..35, a 2x2 kernel of ones at rate 2 with SAME padding: TF pads to 8x8 (paddings [[1,1],[1,1]]).
    const bytes = encode([
      placeholder('x', [1, 6, 6, 1]), floatConst('w', [2, 2, 1, 1], [1]), intConst('block', [2, 2]),
      // TF writes a constant of repeated values as its first value only.
      intConst('pads', [1], [2, 2]), intConst('crops', [0], [2, 2]),
      { name: 's2b', op: 'SpaceToBatchND', input: ['x', 'block', 'pads'] },
      { name: 'conv', op: 'Conv2D', input: ['s2b', 'w'], attr: { strides: { list: { i: [1, 1, 1, 1] } }, padding: str('VALID'), data_format: str('NHWC') } },
      { name: 'y', op: 'BatchToSpaceND', input: ['conv', 'block', 'crops'] },
    ]);
    const g = readMs(toMs(loadModel(bytes, 'TF', 'atrous.pb')));
    expect(g.nodes.map((n) => n.op)).toEqual(['Conv2DFusion']);
    const x = Float32Array.from({ length: 36 }, (_, i) => i);
    const [y] = run(g, [{ shape: [1, 6, 6, 1], data: x }]);
    // y[i][j] = sum of x[i-1+2a][j-1+2b] for a, b in {0, 1}, zero outside.
    const at = (i: number, j: number) => (i >= 0 && i < 6 && j >= 0 && j < 6 ? x[i * 6 + j] : 0);
    const want = Array.from({ length: 36 }, (_, k) => { const [i, j] = [Math.floor(k / 6), k % 6]; return at(i - 1, j - 1) + at(i - 1, j + 1) + at(i + 1, j - 1) + at(i + 1, j + 1); });
    expect(y.shape).toEqual([1, 6, 6, 1]);
    expect(Array.from(y.data)).toEqual(want);
  });

  it('a TF graph on the GPU executor equals the CPU (atrous convolution, FusedBatchNorm, BiasAdd, Relu6, MaxPool SAME)', async (t) => {
    const c = 3;
    const bytes = encode([
      placeholder('x', [1, 8, 8, 2]), floatConst('w', [3, 3, 2, c], Array.from({ length: 18 * c }, (_, i) => Math.sin(i))), intConst('block', [2, 2]),
      intConst('pads', [2], [2, 2]), intConst('crops', [0], [2, 2]),
      { name: 's2b', op: 'SpaceToBatchND', input: ['x', 'block', 'pads'] },
      { name: 'conv', op: 'Conv2D', input: ['s2b', 'w'], attr: { strides: { list: { i: [1, 1, 1, 1] } }, padding: str('VALID') } },
      { name: 'b2s', op: 'BatchToSpaceND', input: ['conv', 'block', 'crops'] },
      floatConst('gamma', [c], [1, 2, 0.5]), floatConst('beta', [c], [0.1, -0.2, 0]), floatConst('mean', [c], [0.3, 0, -1]), floatConst('var', [c], [1, 4, 0.25]),
      { name: 'bn', op: 'FusedBatchNormV3', input: ['b2s', 'gamma', 'beta', 'mean', 'var'], attr: { epsilon: { f: 0.001 }, is_training: { b: false } } },
      floatConst('bias', [c], [0.5, -0.5, 1]), { name: 'ba', op: 'BiasAdd', input: ['bn', 'bias'] },
      { name: 'r6', op: 'Relu6', input: ['ba'] },
      { name: 'y', op: 'MaxPool', input: ['r6'], attr: { ksize: { list: { i: [1, 3, 3, 1] } }, strides: { list: { i: [1, 2, 2, 1] } }, padding: str('SAME') } },
    ]);
    const g = readMs(toMs(loadModel(bytes, 'TF', 'gpu.pb')));
    const x = Float32Array.from({ length: 128 }, (_, i) => Math.cos(i * 0.7) * 3);
    const [want] = run(g, [{ shape: [1, 8, 8, 2], data: x }]);
    expect(want.shape).toEqual([1, 4, 4, c]);
    const ex = await GpuExecutor.create(await gpuOrSkip(t.skip), g, 1);
    try {
      await ex.run([x]);
      const [gpu] = await ex.outputs();
      expect(relMaxDiff(gpu.data, want.data)).toBeLessThan(1e-5);
    } finally {
      ex.destroy();
    }
  });

  it('StridedSlice masks, Pack, MatMul with transpose_b, Mean over H and W, as worked out here', () => {
    const bytes = encode([
      placeholder('x', [1, 2, 3, 4]),
      intConst('b', [0, 0, 1, 0]), intConst('e', [0, 0, 3, 4]), intConst('s', [1, 1, 1, 2]),
      { name: 'sl', op: 'StridedSlice', input: ['x', 'b', 'e', 's'], attr: { begin_mask: { i: 3 }, end_mask: { i: 3 }, shrink_axis_mask: { i: 0 } } },
      intConst('axes', [1, 2]),
      { name: 'mean', op: 'Mean', input: ['sl', 'axes'], attr: { keep_dims: { b: false } } },
      floatConst('w', [3, 2], [1, 0, 0, 1, 1, 1]),
      { name: 'y', op: 'MatMul', input: ['mean', 'w'], attr: { transpose_b: { b: true } } },
    ]);
    const g = readMs(toMs(loadModel(bytes, 'TF', 'small.pb')));
    const x = Float32Array.from({ length: 24 }, (_, i) => i);
    const [y] = run(g, [{ shape: [1, 2, 3, 4], data: x }]);
    // sl = x[:, :, 1:3, 0:4:2] -> channels 0 and 2 of columns 1, 2; mean over rows and columns.
    const m = [0, 2].map((c) => [0, 1].reduce((s, r) => s + [1, 2].reduce((t, col) => t + x[(r * 3 + col) * 4 + c], 0), 0) / 4);
    expect(Array.from(y.data)).toEqual([m[0], m[1], m[0] + m[1]]);
  });
});

describe('converter_lite --fmk=TF', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'webptq-tf-'));
  const convert = (extra: string[], out = path.join(dir, 'out')) => ({ ...cli('converter_lite', ['--fmk=TF', `--outputFile=${out}`, '--quiet', ...extra]), out: `${out}.ms` });

  it('PostTraining with image calibration and WeightQuant of face-mask-det.pb', () => {
    const imgs = path.join(dir, 'imgs');
    mkdirSync(imgs);
    for (const f of ['kimono.jpg', 'grace_hopper.bmp', 'horse-cart.jpg']) writeFileSync(path.join(imgs, f), readBytes(path.join(IMAGENET, f)));
    const cfg = path.join(dir, 'fm.cfg');
    writeFileSync(cfg, `[common_quant_param]\nquant_type=FULL_QUANT\n[data_preprocess_param]\ncalibrate_path=data_1:${imgs}\ncalibrate_size=3\ninput_type=IMAGE\nimage_to_format=RGB\nnormalize_mean=[0,0,0]\nnormalize_std=[255,255,255]\nresize_width=260\nresize_height=260\n`);
    const pb = model('corpus/tf/face-mask-det.pb');
    const ptq = convert([`--modelFile=${pb}`, '--inputShape=data_1:1,260,260,3', `--configFile=${cfg}`, '--device=cpu'], path.join(dir, 'fm_int8'));
    expect(ptq.code, ptq.stderr).toBe(0);
    const int8 = readMs(readBytes(ptq.out));
    expect(int8.nodes.filter((n) => n.quantType === 5).length).toBeGreaterThan(20);
    const float = convertFile('tf/face-mask-det.pb', 'TF').g;
    const x = photo('face.jpg', 260, 260, { std: [255, 255, 255] });
    const [a] = run(int8, [{ shape: [1, 260, 260, 3], data: x }]), [b] = run(float, [{ shape: [1, 260, 260, 3], data: x }]);
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < a.data.length; i++) { dot += a.data[i] * b.data[i]; na += a.data[i] ** 2; nb += b.data[i] ** 2; }
    const cosine = dot / Math.sqrt(na * nb);
    console.log(`face-mask-det.pb PostTraining (3 photos): location output cosine to float ${cosine.toFixed(4)}`);
    expect(cosine).toBeGreaterThan(0.99);
    const wq = convert([`--modelFile=${pb}`, '--quantType=WeightQuant', '--bitNum=8'], path.join(dir, 'fm_w8'));
    expect(wq.code, wq.stderr).toBe(0);
    expect(readBytes(wq.out).length).toBeLessThan(0.35 * readBytes(pb).length);
  }, 300_000);

  it('one line, nothing written: no --inputShape for a shapeless input, a text file, a pbtxt, an unknown op, TF1 control flow', () => {
    const text = path.join(dir, 'notes.pb'), pbtxt = path.join(dir, 'graph.pb'), unknown = path.join(dir, 'unknown.pb'), loop = path.join(dir, 'loop.pb');
    writeFileSync(text, 'These are my notes about the model, not a model at all.\n');
    writeFileSync(pbtxt, 'node {\n  name: "x"\n  op: "Placeholder"\n}\n');
    writeFileSync(unknown, encode([placeholder('x', [1, 4]), { name: 'odd', op: 'FancyOp', input: ['x'] }]));
    writeFileSync(loop, encode([placeholder('x', [1, 4]), { name: 'cond', op: 'Placeholder', attr: { dtype: { type: 10 }, shape: { shape: { dim: [] } } } }, { name: 'sw', op: 'Switch', input: ['x', 'cond'] }]));
    for (const [file, want, extra] of [
      [model('corpus/tf/opencv-face-det-uint8.pb'), /opencv-face-det-uint8\.pb: node data \(Placeholder\): the input's shape is not in the graph: give it with --inputShape=data:/, []],
      [text, /notes\.pb: not a TensorFlow frozen GraphDef \(\.pb\)/, []],
      [pbtxt, /graph\.pb: a text GraphDef \(pbtxt\); --fmk=TF takes the binary frozen graph \(\.pb\)/, []],
      [unknown, /unknown\.pb: node odd \(FancyOp\): unsupported TensorFlow op\. Supported: .*Conv2D/, []],
      [loop, /loop\.pb: node sw \(Switch\): TF1 control flow .* is not supported/, []],
    ] as const) {
      const r = convert([`--modelFile=${file}`, ...extra], path.join(dir, 'bad'));
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(existsSync(path.join(dir, 'bad.ms'))).toBe(false);
    }
  });
});
