/** DYNAMIC_QUANT: int8 MatMul weights, activations quantized per tensor at run time, float output. */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel } from '../src/convert.js';
import { writeMs } from '../src/ir/export/ms.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { dynamicQuantize } from '../src/quant/dynamic-quant.js';
import { model, readBytes, mnistDigits, argmax, photo, PHOTOS } from './helpers/data.js';
import { cli } from './helpers/cli.js';
import type { RT } from '../src/ir/tensor.js';

const mnist = () => loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'mnist');

describe('dynamic quantization', () => {
  const float = mnist();
  const g = mnist();
  const rows = dynamicQuantize(g);
  const written = readMs(writeMs(g, { explicitQuantParams: true }));

  it('marks the MatMul and its DynamicQuant QUANT_DYNAMIC, with symmetric per-channel int8 weights and a float bias', () => {
    expect(rows).toEqual([{ node: 'Times212', quantized: true, reason: undefined }]);
    const mm = written.nodes.find((n) => n.name === 'Times212')!;
    const dq = written.nodes.find((n) => n.op === 'DynamicQuant')!;
    expect([mm.quantType, dq.quantType, dq.name, dq.outputs[0]]).toEqual([6, 6, 'Times212_dynamic_cast_node_1', mm.inputs[0]]);
    expect(dq.attrs).toMatchObject({ symmetric: false, dst_type: 32, activation_channel: false });
    const w = written.tensors[mm.inputs[1]];
    expect(w.dtype).toBe('int8');
    expect(w.quant).toHaveLength(10);
    expect(w.quant!.every((q) => q.zeroPoint === 0)).toBe(true);
    expect(Math.min(...(w.data as Int8Array))).toBeGreaterThanOrEqual(-127);
    expect(written.tensors[mm.inputs[2]].dtype).toBe('float32');
    expect(written.tensors[mm.outputs[0]].dtype).toBe('float32');
  });

  it('computes what an independent int8 MatMul gives, and keeps mnist-8 within 0.3 points of float on 2,000 digits', () => {
    const mm = written.nodes.find((n) => n.name === 'Times212')!;
    const w = written.tensors[mm.inputs[1]], bias = written.tensors[mm.inputs[2]].data as Float32Array;
    const [K, N] = w.shape; // [256, 10], not transposed
    const floatMm = float.nodes.find((n) => n.name === 'Times212')!;
    const test = mnistDigits(2000, 3000);
    let correct = 0, correctFloat = 0, worst = 0;
    for (const [i, d] of test.entries()) {
      let x: RT | undefined;
      const want = run(float, [{ shape: [1, 28, 28, 1], data: d.pixels }], { observe: (id, v) => { if (id === floatMm.inputs[0]) x = v; } })[0].data;
      const got = run(written, [{ shape: [1, 28, 28, 1], data: d.pixels }])[0].data;
      correct += argmax(got) === d.label ? 1 : 0;
      correctFloat += argmax(want) === d.label ? 1 : 0;
      if (i < 50) {
        // Written here: asymmetric 8-bit over the live [min, max], int8 products, float64 scaling.
        const lo = Math.min(...x!.data), hi = Math.max(...x!.data), s = (hi - lo) / 255, zp = Math.round(-128 - lo / s);
        const xq = Array.from(x!.data, (v) => Math.max(-128, Math.min(127, Math.round(v / s) + zp)));
        for (let c = 0; c < N; c++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += (xq[k] - zp) * (w.data as Int8Array)[k * N + c];
          const ref = acc * s * w.quant![c].scale + bias[c];
          worst = Math.max(worst, Math.abs(got[c] - ref) / (Math.abs(ref) + 1));
        }
      }
    }
    console.log(`mnist-8 DYNAMIC_QUANT: ${(correct / 20).toFixed(2)}% on 2,000 digits (float ${(correctFloat / 20).toFixed(2)}%); worst difference from the independent MatMul ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    expect(correctFloat - correct).toBeLessThanOrEqual(6);
  }, 60_000);
});

describe('converter_lite quant_type=DYNAMIC_QUANT', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'webptq-dyn-'));
  });
  const convert = (file: string, cfg: string) => {
    const c = path.join(dir, `${Math.random().toString(36).slice(2)}.cfg`);
    writeFileSync(c, cfg);
    const out = path.join(dir, Math.random().toString(36).slice(2));
    return { ...cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model(file)}`, `--outputFile=${out}`, `--configFile=${c}`]), out };
  };
  it('converts mnist-8 and SqueezeNet (no MatMul: stays float, as MindSpore quantizes only MatMulFusion); the benchmark prints the mean bias', () => {
    const r = convert('onnx/mnist-8.onnx', '[common_quant_param]\nquant_type=DYNAMIC_QUANT\n[dynamic_quant_param]\nquant_strategy=ALWC\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Dynamic quantization: 1 of 1 MatMulFusion nodes int8/);
    const ref = path.join(dir, 'ref.out');
    const f = path.join(dir, 'float');
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${f}`]).code).toBe(0);
    expect(cli('benchmark', [`--modelFile=${f}.ms`, `--saveOutput=${ref}`, '--loopCount=1']).code).toBe(0);
    const b = cli('benchmark', [`--modelFile=${r.out}.ms`, `--benchmarkDataFile=${ref}`, '--loopCount=1', '--accuracyThreshold=50']);
    expect(b.code).toBe(0);
    expect(b.stdout + b.stderr).toMatch(/Mean bias of all nodes\/tensors: [\d.]+%/);
    const sq = convert('onnx/squeezenet1.1-fp32.onnx', '[common_quant_param]\nquant_type=DYNAMIC_QUANT\n');
    expect(sq.stdout).toMatch(/0 of 0 MatMulFusion nodes int8/);
    const q = readMs(new Uint8Array(readFileSync(`${sq.out}.ms`))), fl = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'sq');
    let same = 0;
    for (const p of PHOTOS) {
      const x = photo(p, 224, 224, { channels: 'BGR' });
      if (argmax(run(q, [{ shape: [1, 224, 224, 3], data: x }])[0].data) === argmax(run(fl, [{ shape: [1, 224, 224, 3], data: x }])[0].data)) same++;
    }
    expect(same).toBe(17);
  }, 120_000);
  it('checks bit_num and quant_strategy with MindSpore\'s messages', () => {
    const bits = convert('onnx/mnist-8.onnx', '[common_quant_param]\nquant_type=DYNAMIC_QUANT\nbit_num=4\n');
    expect([bits.code, bits.stderr.trim()]).toEqual([1, 'INPUT ILLEGAL: bit_num should be 8.']);
    const acwl = convert('onnx/mnist-8.onnx', '[common_quant_param]\nquant_type=DYNAMIC_QUANT\n[dynamic_quant_param]\nquant_strategy=ACWL\n');
    expect(acwl.code).toBe(1);
    expect(acwl.stderr).toMatch(/quant_strategy=ACWL \(per-channel activations\) is not supported/);
    const bad = convert('onnx/mnist-8.onnx', '[common_quant_param]\nquant_type=DYNAMIC_QUANT\n[dynamic_quant_param]\nquant_strategy=FAST\n');
    expect(bad.stderr).toMatch(/quant_strategy must be ALWC\|ACWL, got "FAST"/);
  });
});
