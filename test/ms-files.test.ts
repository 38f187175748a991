/** Real MindSpore Lite .ms files read and executed, and our own .ms files round-tripped byte for byte. */
import { describe, it, expect } from 'vitest';
import { readMs } from '../src/ir/import/ms.js';
import { writeMs } from '../src/ir/export/ms.js';
import { msLoadViolations } from '../src/ir/export/ms-checks.js';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { permute } from '../src/ir/tensor.js';
import type { Graph } from '../src/ir/graph.js';
import { model, readBytes, relMaxDiff } from './helpers/data.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import { ortRun } from './helpers/ort.js';
import { float32FromBytes } from '../src/cli/io.js';

const lenet = () => readMs(readBytes(model('ms/lenet_tod_infer.ms')), 'lenet_tod_infer.ms');

/** The same LeNet in ONNX, with the weights read from the .ms file (KHWC -> OIHW). */
function lenetAsOnnx(g: Graph): Uint8Array {
  const w = (name: string) => g.tensors.find((t) => t.name === name)!;
  const oihw = (name: string) => {
    const t = w(name);
    return { name, dims: [t.shape[0], t.shape[3], t.shape[1], t.shape[2]], data: permute({ shape: t.shape, data: t.data! }, [0, 3, 1, 2]).data as Float32Array };
  };
  const plain = (name: string) => ({ name, dims: w(name).shape, data: w(name).data as Float32Array });
  return buildOnnx({
    inputs: [{ name: 'x', dims: [2, 32, 32, 1] }],
    outputs: ['y'],
    inits: [oihw('conv1.weight'), oihw('conv2.weight'), ...['fc1', 'fc2', 'fc3'].flatMap((f) => [plain(`${f}.weight`), plain(`${f}.bias`)]),
      { name: 'shape', dims: [2], data: [2, -1], int64: true }],
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['x_nchw'], attrs: { perm: [0, 3, 1, 2] } },
      { op: 'Conv', inputs: ['x_nchw', 'conv1.weight'], outputs: ['c1'], attrs: { kernel_shape: [5, 5] } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Conv', inputs: ['p1', 'conv2.weight'], outputs: ['c2'], attrs: { kernel_shape: [5, 5] } },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'MaxPool', inputs: ['r2'], outputs: ['p2'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Reshape', inputs: ['p2', 'shape'], outputs: ['flat'] },
      { op: 'Gemm', inputs: ['flat', 'fc1.weight', 'fc1.bias'], outputs: ['f1'], attrs: { transB: 1 } },
      { op: 'Relu', inputs: ['f1'], outputs: ['a1'] },
      { op: 'Gemm', inputs: ['a1', 'fc2.weight', 'fc2.bias'], outputs: ['f2'], attrs: { transB: 1 } },
      { op: 'Relu', inputs: ['f2'], outputs: ['a2'] },
      { op: 'Gemm', inputs: ['a2', 'fc3.weight', 'fc3.bias'], outputs: ['y'], attrs: { transB: 1 } },
    ],
  });
}

describe('lenet_tod_infer.ms (MindSpore Lite 1.5.0, fmk MINDIR)', () => {
  it('is read with its structure: NHWC input, KHWC weights, Transpose before the flatten', () => {
    const g = lenet();
    expect(g.version).toBe('MindSpore Lite 1.5.0');
    expect(g.tensors[g.inputs[0]]).toMatchObject({ name: 'inputs0', shape: [2, 32, 32, 1], format: 1 });
    expect(g.nodes.map((n) => n.op).slice(0, 7)).toEqual(['Conv2DFusion', 'Activation', 'MaxPoolFusion', 'Conv2DFusion', 'Activation', 'MaxPoolFusion', 'Transpose']);
    expect(g.tensors.find((t) => t.name === 'conv2.weight')!.shape).toEqual([16, 5, 5, 6]);
  });

  it('runs with MindSpore\'s reference input and equals onnxruntime running the same weights', async () => {
    const g = lenet();
    const x = float32FromBytes(readBytes(model('ms/x_lenet.bin')).slice(0, 8192));
    const [out] = run(g, [{ shape: [2, 32, 32, 1], data: x }]);
    const ref = (await ortRun(lenetAsOnnx(g), { x: { data: x, dims: [2, 32, 32, 1] } })).y;
    expect(out.shape).toEqual([2, 10]);
    expect(relMaxDiff(out.data, ref)).toBeLessThan(1e-5);
    // MindSpore's y_lenet.bin is NOT reproduced by these weights: see the issue note. Print both.
    const y = float32FromBytes(readBytes(model('ms/y_lenet.bin')));
    console.log(`lenet logits (ours = onnxruntime): ${Array.from(out.data.slice(0, 10), (v) => v.toExponential(3)).join(' ')}`);
    console.log(`y_lenet.bin row 0:                 ${Array.from(y.slice(0, 10), (v) => v.toExponential(3)).join(' ')}`);
  });
});

describe('ml_face_isface.ms (MindSpore Lite 1.5.0, fmk CAFFE)', () => {
  it('runs and returns two probabilities summing to 1', () => {
    const g = readMs(readBytes(model('ms/ml_face_isface.ms')));
    expect(g.tensors[g.outputs[0]].name).toBe('prob');
    const x = Float32Array.from({ length: 48 * 48 * 3 }, (_, i) => ((i * 37) % 255) / 255);
    const [out] = run(g, [{ shape: [1, 48, 48, 3], data: x }]);
    expect(out.shape).toEqual([1, 2]);
    expect(out.data[0] + out.data[1]).toBeCloseTo(1, 6);
    expect(out.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });
});

describe('conv_train_model-v1.2.ms (MindSpore Lite 1.2.0 schema)', () => {
  it('is readable: inputs, ops and weights decode', () => {
    const g = readMs(readBytes(model('ms/conv_train_model-v1.2.ms')));
    expect(g.version).toBe('MindSpore Lite 1.2.0');
    expect(g.inputs.map((i) => g.tensors[i].name)).toEqual(['inputs0', 'inputs1']);
    expect(g.nodes.map((n) => n.op)).toContain('Conv2DFusion');
    expect(g.tensors.find((t) => t.name === 'layer.weight')!.data!.length).toBe(10 * 5 * 5 * 5);
  });
});

describe('MindSpore Lite load checks', () => {
  it('hold for the real MindSpore files (the checker agrees with the runtime on files it loads)', () => {
    for (const f of ['ms/lenet_tod_infer.ms', 'ms/ml_face_isface.ms']) expect(msLoadViolations(readMs(readBytes(model(f))))).toEqual([]);
  });
  it('catch a broken graph', () => {
    const g = readMs(readBytes(model('ms/ml_face_isface.ms')));
    g.nodes[0].outputs = [g.nodes[0].inputs[1]]; // an op writing into a weight
    expect(msLoadViolations(g).length).toBeGreaterThan(0);
  });
});

describe('.ms round trip', () => {
  const cases: [string, 'ONNX' | 'TFLITE' | 'MSLITE'][] = [
    ['onnx/mnist-8.onnx', 'ONNX'], ['onnx/squeezenet1.1-fp32.onnx', 'ONNX'], ['onnx/ultraface-rfb-320.onnx', 'ONNX'],
    ['tflite/resnet8-cifar10-float.tflite', 'TFLITE'], ['tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE'],
    ['tflite/kws-dscnn-hybrid.tflite', 'TFLITE'], ['tflite/ad01-autoencoder-float.tflite', 'TFLITE'],
    ['ms/lenet_tod_infer.ms', 'MSLITE'], ['ms/ml_face_isface.ms', 'MSLITE'],
  ];
  for (const [file, fmk] of cases) {
    it(`${file}: write, read, write gives identical bytes`, () => {
      const first = writeMs(loadModel(readBytes(model(file)), fmk, file));
      const again = writeMs(readMs(first));
      expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
      // The identifier and version a MindSpore Lite runtime checks.
      expect(new TextDecoder().decode(first.slice(4, 8))).toBe('MSL2');
      expect(readMs(first).version).toBe('MindSpore Lite 2.7.0');
      expect(msLoadViolations(readMs(first))).toEqual([]);
    });
  }
});
