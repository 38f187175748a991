/**
 * nnacl's float approximations (src/cpu/nnacl-math.ts) against the same formulas compiled as C float arithmetic
 * (scripts/nnacl-math-golden.c, output in test/fixtures): every value bit for bit. And what makes them matter:
 * they are not Math.exp / Math.tanh rounded to float, so an int8 rounding downstream can differ.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModel, toMs } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import type { RT } from '../src/ir/tensor.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import {
  nnaclExp, nnaclExpScalar, nnaclSigmoid, nnaclSwish, nnaclTanh, nnaclGeluTanh, nnaclElu, nnaclSoftplus, nnaclSoftmaxRow,
} from '../src/cpu/nnacl-math.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/nnacl-math-golden.json', import.meta.url), 'utf8')) as Record<string, number[]>;
const asFloats = (bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);
const bitsOf = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];
const inputs = asFloats(golden.inputs);

const FUNCTIONS: Record<string, (x: number) => number> = {
  exp: nnaclExp, expScalar: nnaclExpScalar, sigmoid: nnaclSigmoid, swish: nnaclSwish, tanh: nnaclTanh,
  geluTanh: nnaclGeluTanh, elu: (x) => nnaclElu(x, 1.5), softplus: nnaclSoftplus,
};

describe('nnacl float math', () => {
  for (const [name, fn] of Object.entries(FUNCTIONS))
    it(`${name} equals the C float computation on ${inputs.length} inputs, bit for bit`, () => {
      const wrong = [...inputs].flatMap((x, i) => (bitsOf(fn(x)) === golden[name][i] ? [] : [`${name}(${x}) = ${fn(x)}, C ${asFloats([golden[name][i]])[0]}`]));
      expect(wrong.slice(0, 5)).toEqual([]);
    });

  it('softmax over a last axis of 87 (16-, 8- and 4-lane blocks and a scalar tail) equals the C computation', () => {
    const x = inputs.slice(22, 22 + 87), out = new Float32Array(87);
    nnaclSoftmaxRow(x, 0, 87, out);
    expect([...new Uint32Array(out.buffer)]).toEqual(golden.softmaxRow87);
  });

  it('is the runtime approximation, not exp: close to Math.exp yet different on many inputs', () => {
    let differs = 0, worstNear = 0, worst = 0;
    for (const x of inputs) {
      if (Math.abs(x) > 80) continue;
      const want = Math.exp(x), got = nnaclExp(x), rel = Math.abs(got - want) / want;
      // ln 2 written as 0.693147 costs 1.8e-7 of r per unit of n = x / ln 2: the error grows with |x|.
      if (Math.abs(x) < 2) worstNear = Math.max(worstNear, rel);
      worst = Math.max(worst, rel);
      if (got !== Math.fround(want)) differs++;
    }
    expect(worstNear).toBeLessThan(4e-6); // the degree-5 polynomial on |r| <= ln2/2: r^6/720 = 2.4e-6
    expect(worst).toBeLessThan(1e-5);
    expect(differs).toBeGreaterThan(inputs.length / 4);
    // Tanh's Pade form is 1e-4 from tanh near |x| = 5, where it is clamped to +-1.
    expect(Math.abs(nnaclTanh(4.9999) - Math.tanh(4.9999))).toBeGreaterThan(5e-5);
  });
});

describe('the int8 executor computes float ops as the runtime does', () => {
  // Conv -> SiLU (Sigmoid, Mul) -> Conv -> Softmax over channels, full-quantized: the Sigmoid and the Softmax stay
  // float between QuantDTypeCasts, as MindSpore's node selection leaves them.
  const c = 4, hw = 6;
  let s = 99;
  const noise = (n: number) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
  const onnx = buildOnnx({
    inputs: [{ name: 'x', dims: [1, c, hw, hw] }], outputs: ['y'],
    inits: [{ name: 'w1', dims: [c, c, 1, 1], data: noise(c * c) }, { name: 'w2', dims: [c, c, 1, 1], data: noise(c * c) }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1'], outputs: ['a'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Sigmoid', inputs: ['a'], outputs: ['sa'] },
      { op: 'Mul', inputs: ['a', 'sa'], outputs: ['silu'] },
      { op: 'Conv', inputs: ['silu', 'w2'], outputs: ['b'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Transpose', inputs: ['b'], outputs: ['bt'], attrs: { perm: [0, 2, 3, 1] } },
      { op: 'Softmax', inputs: ['bt'], outputs: ['y'], attrs: { axis: -1 } },
    ],
  });
  const sample = () => [Float32Array.from(noise(c * hw * hw), (v) => 4 * v)];

  it('Sigmoid and Softmax of a PostTraining model are nnacl\'s, bit for bit; the float model keeps exp', async () => {
    const q = loadModel(onnx, 'ONNX', 'silu.onnx'), float = q.clone();
    const calib = [sample(), sample(), sample()];
    await fullQuantize(q, { count: 3, get: (i) => calib[i] }, { method: 'MAX_MIN', reportSamples: 0 });
    const ms = readMs(toMs(q));
    const inputs: RT[] = [{ shape: [1, hw, hw, c], data: sample()[0] }];
    for (const [graph, runtime] of [[ms, true], [float, false]] as const) {
      const values = new Map<number, RT>();
      run(graph, inputs, { observe: (id, v) => values.set(id, v) });
      const sig = graph.nodes.find((n) => n.op === 'Activation')!, soft = graph.nodes.find((n) => n.op === 'Softmax')!;
      expect(graph.tensors[sig.outputs[0]].dtype).toBe('float32');
      const x = values.get(sig.inputs[0])!.data as Float32Array, y = values.get(sig.outputs[0])!.data as Float32Array;
      const expected = Float32Array.from(x, runtime ? nnaclSigmoid : (v) => 1 / (1 + Math.exp(-v)));
      expect(y).toEqual(expected);
      const sx = values.get(soft.inputs[0])!.data as Float32Array, sy = values.get(soft.outputs[0])!.data as Float32Array;
      const rows = new Float32Array(sx.length);
      for (let r = 0; r < sx.length / c; r++) nnaclSoftmaxRow(sx, r * c, c, rows);
      if (runtime) expect(sy).toEqual(rows);
      else expect(sy).not.toEqual(rows);
    }
  });
});
