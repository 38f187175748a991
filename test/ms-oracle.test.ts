/**
 * MindSpore Lite's own runtime as the oracle: `../shared/models/ms-oracle` holds `.ms` files our converter
 * wrote, their inputs, and what MindSpore Lite 2.7.0's CPU runtime computed for them (outputs, and per-layer
 * dumps where they once differed). Our benchmark must reproduce every one; files written now must decode, by
 * the runtime's rules, to the weights the converter meant; formats must be what the runtime infers.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readMs } from '../src/ir/import/ms.js';
import { writeMs } from '../src/ir/export/ms.js';
import { run } from '../src/cpu/executor.js';
import { parseBenchmarkData } from '../src/bench/accuracy.js';
import { quantizeTensor, encodeWeight } from '../src/quant/weight-quant.js';
import { dequantizeWeight } from '../src/quant/dequant.js';
import { quantize, qRange } from '../src/quant/params.js';
import { channelOf } from '../src/quant/preferred-dim.js';
import { loadModel } from '../src/convert.js';
import { Graph, Format, FmkType, Tensor } from '../src/ir/graph.js';
import { formatViolations, runtimeFormats } from '../src/ir/formats.js';
import { msLoadViolations } from '../src/ir/export/ms-checks.js';
import { model, readBytes } from './helpers/data.js';
import { cli } from './helpers/cli.js';
import { COMPRESS, runtimeIntegers, runtimeDequant } from './helpers/ms-weight-decoder.js';

const ORACLE = model('ms-oracle');
const inputOf = (name: string) =>
  name.startsWith('mnist') ? 'mnist-input.bin' : name.startsWith('squeezenet') ? 'squeezenet-input.bin' : name.startsWith('hand') ? 'hand-input.bin'
    : name.startsWith('lowlight2') ? 'lowlight2-wq4.input.bin' : 'lowlight-input.bin';
const floats = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

describe('benchmark reproduces MindSpore Lite 2.7.0 on every oracle file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oracle-'));
  for (const file of readdirSync(ORACLE).filter((f) => f.endsWith('.ms')).sort()) {
    const name = file.slice(0, -3);
    it(name, () => {
      const saved = path.join(dir, `${name}.out`);
      const r = cli('benchmark', [`--modelFile=${path.join(ORACLE, file)}`, `--inDataFile=${path.join(ORACLE, inputOf(name))}`,
        `--benchmarkDataFile=${path.join(ORACLE, `${name}.expected.out`)}`, '--loopCount=1', '--warmUpLoopCount=0', `--saveOutput=${saved}`]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const ours = parseBenchmarkData(readFileSync(saved, 'utf8'));
      const theirs = parseBenchmarkData(readFileSync(path.join(ORACLE, `${name}.expected.out`), 'utf8'));
      for (const ref of theirs) {
        const out = ours.find((o) => o.name === ref.name)!.values;
        let diff = 0, max = 0;
        ref.values.forEach((v, i) => ((diff = Math.max(diff, Math.abs(out[i] - v))), (max = Math.max(max, Math.abs(v)))));
        console.log(`${name} ${ref.name}: max |ours - runtime| / max |runtime| = ${(diff / max).toExponential(2)}`);
        expect(diff).toBeLessThanOrEqual(1e-5 * max);
      }
    });
  }
});

/** Every node output the runtime dumped (`<node>_output_0_...`, `/` written as `.`), against ours for the same input. */
function compareDumps(msFile: string, input: string, dumps: string): { tensor: string; differing: number; maxDiff: number; maxAbs: number; int8: boolean }[] {
  const g = readMs(readBytes(path.join(ORACLE, msFile)));
  const inT = g.tensors[g.inputs[0]];
  const ours = new Map<string, ArrayLike<number>>();
  run(g, [{ shape: inT.shape, data: floats(readBytes(path.join(ORACLE, input))) }], { observe: (id, v, node) => { if (node.outputs[0] === id) ours.set(node.name.replace(/\//g, '.'), v.data); } });
  return readdirSync(path.join(ORACLE, 'dumps', dumps)).sort().map((f) => {
    const [, tensor, type] = /^(.*)_output_0_shape_[\d_]+_(Int8|Float32)_N\w+\.bin$/.exec(f)!;
    const bytes = readBytes(path.join(ORACLE, 'dumps', dumps, f));
    const ref = type === 'Int8' ? new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length) : floats(bytes);
    const mine = ours.get(tensor);
    if (!mine) throw new Error(`${dumps}: no tensor ${tensor} in our run`);
    expect(mine.length).toBe(ref.length);
    let differing = 0, maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(mine[i] - ref[i]);
      if (d > 0) differing++;
      maxDiff = Math.max(maxDiff, d);
      maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
    }
    return { tensor, differing, maxDiff, maxAbs, int8: type === 'Int8' };
  });
}

describe('per-layer dumps of the runtime', () => {
  it('squeezenet-ptq-MAX_MIN: every int8 tensor equal value for value', () => {
    const rows = compareDumps('squeezenet-ptq-MAX_MIN.ms', 'squeezenet-input.bin', 'squeezenet-ptq-MAX_MIN');
    expect(rows.filter((r) => r.int8).length).toBeGreaterThan(30);
    for (const r of rows) expect(r.int8 ? r.differing : r.maxDiff, r.tensor).toBeLessThanOrEqual(r.int8 ? 0 : 1e-5 * r.maxAbs);
  });
  for (const [ms, input, dumps] of [['mnist-8-wq2.ms', 'mnist-input.bin', 'mnist-8-wq2'], ['lowlight-agllnet-256.ms', 'lowlight-input.bin', 'lowlight-agllnet-256']])
    it(`${dumps}: every float tensor within 1e-5 of its max`, () => {
      for (const r of compareDumps(ms, input, dumps)) expect(r.maxDiff, r.tensor).toBeLessThanOrEqual(1e-5 * r.maxAbs);
    });
});

describe('weights decode, by the runtime\'s rules, to what the converter meant', () => {
  // Conv [Cout, KH, KW, Cin] per channel along dim 0; MatMul B [K, N] along its last dim (where SPARSE's
  // flat channel rule and the preferred dim disagree); transposed conv [Cin, KH, KW, Cout] along the last dim.
  const shapes: [string, number[], number][] = [['conv', [6, 3, 3, 4], 0], ['matmul', [40, 12], 1], ['deconv', [5, 3, 3, 6], 3]];
  // Mostly small weights with exact zeros, so that INDEXING and SPARSE have something to gain.
  const weights = (n: number) => Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : Math.sin(i * 1.7) * (1 + (i % 5)) * 0.1));
  for (let bits = 1; bits <= 16; bits++)
    it(`${bits} bits: every storage, every layout`, () => {
      for (const [what, shape, dim] of shapes) {
        const t: Tensor = { name: what, dtype: 'float32', shape, format: 0, data: weights(shape.reduce((a, b) => a * b, 1)) };
        const original = t.data as Float32Array;
        quantizeTensor(t, dim, { bitNum: bits, biasCorrection: true });
        const params = t.quant!;
        const chan = channelOf(shape, dim);
        const [qmin, qmax] = qRange(bits);
        const meant = Array.from(original, (x, j) => quantize(x, params[chan(j)].scale, params[chan(j)].zeroPoint, qmin, qmax) + 0); // no -0
        const bytesOf = (s: { raw?: Uint8Array; data?: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number } }) =>
          s.raw ?? new Uint8Array(s.data!.buffer, s.data!.byteOffset, s.data!.byteLength);
        // the storage the converter chose, then every storage the width allows
        expect(runtimeIntegers(bytesOf(t as never), t.compress ?? 0, bits, meant.length, params), `${what} chosen storage`).toEqual(meant);
        const storages = [bits === 8 || bits === 16 ? COMPRESS.NONE : COMPRESS.BITPACKING, COMPRESS.INDEXING, COMPRESS.SPARSE];
        for (const compress of storages) {
          const s = encodeWeight(Int32Array.from(meant), params, bits, compress);
          expect(runtimeIntegers(bytesOf(s as never), compress, bits, meant.length, params), `${what} storage ${compress}`).toEqual(meant);
        }
        // and our executor dequantizes them as the runtime does
        const g = new Graph();
        const w = g.addTensor(t);
        const x = g.addTensor({ name: 'x', shape: [1] });
        const op = what === 'matmul' ? 'MatMulFusion' : what === 'conv' ? 'Conv2DFusion' : 'Conv2dTransposeFusion';
        const node = g.addNode({ name: 'n', op, inputs: [x, w], outputs: [x], attrs: what === 'deconv' ? { in_channel: 5, out_channel: 6, group: 1 } : {} });
        const expected = runtimeDequant(meant, shape, dim, params);
        const ours = dequantizeWeight(g, node, 1);
        for (let j = 0; j < ours.length; j++) if (Math.abs(ours[j] - expected[j]) > 1e-6 * (1 + Math.abs(expected[j]))) expect.fail(`${what} element ${j}: ${ours[j]} vs ${expected[j]}`);
      }
    });
});

describe('tensor formats are what the runtime infers', () => {
  it('an ONNX model that is NHWC already (DeepLabV3) labels its graph input NHWC and loads', () => {
    const g = loadModel(readBytes(model('corpus/deeplabv3-mnv2.onnx')), 'ONNX', 'deeplabv3-mnv2.onnx');
    expect(g.tensors[g.inputs[0]]).toMatchObject({ shape: [1, 257, 257, 3], format: Format.NHWC });
    const written = readMs(writeMs(g));
    expect(msLoadViolations(written)).toEqual([]);
    expect(formatViolations(written)).toEqual([]);
  });

  it('labels flip only at NCHW<->NHWC transposes, as the runtime\'s transpose infer does', () => {
    const g = new Graph();
    g.fmkType = FmkType.TFLITE;
    const x = g.addTensor({ name: 'x', shape: [1, 4, 4, 8], format: Format.NHWC });
    g.inputs = [x];
    const t = (input: number, perm: number[], name: string) => {
      const out = g.addTensor({ name, shape: [] });
      g.addNode({ name, op: 'Transpose', inputs: [input, g.addConst(`${name}_perm`, Int32Array.from(perm), [perm.length])], outputs: [out] });
      return out;
    };
    const a = t(x, [0, 2, 1, 3], 'swap_hw');
    const b = t(a, [0, 3, 1, 2], 'to_nchw');
    const c = t(b, [0, 2, 3, 1], 'to_nhwc');
    const labels = runtimeFormats(g);
    expect([labels[a], labels[b], labels[c]]).toEqual([Format.NHWC, Format.NCHW, Format.NHWC]);
  });

  it('every model the tests convert writes labels the runtime agrees with', () => {
    for (const [file, fmk] of [['onnx/mnist-8.onnx', 'ONNX'], ['onnx/squeezenet1.1-fp32.onnx', 'ONNX'], ['onnx/ultraface-rfb-320.onnx', 'ONNX'],
      ['tflite/resnet8-cifar10-float.tflite', 'TFLITE'], ['tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE'], ['corpus/yolox-nano.onnx', 'ONNX'],
      ['corpus/yunet-120x160.onnx', 'ONNX'], ['corpus/mp-hand-landmark-lite.tflite', 'TFLITE']] as const) {
      const g = readMs(writeMs(loadModel(readBytes(model(file)), fmk, file)));
      expect(formatViolations(g), file).toEqual([]);
      for (const id of g.inputs) if (g.tensors[id].shape.length === 4) expect(g.tensors[id].format, file).toBe(Format.NHWC);
    }
  });
});
