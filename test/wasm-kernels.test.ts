/**
 * The WebAssembly SIMD kernels against the TypeScript reference kernels: convolutions of every shape class,
 * pooling, FullConnection, and every shared model run end to end both ways (float within 1e-5 relative).
 * Also: the committed module is what the AssemblyScript source compiles to.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useWasm, wasmKernels, setThreads } from '../src/cpu/wasm/index.js';
import { conv2d, convReference } from '../src/cpu/conv.js';
import { pool, poolReference } from '../src/cpu/pool.js';
import { fullConnection } from '../src/cpu/matmul.js';
import { convGeometry, poolGeometry } from '../src/ir/op-params.js';
import { loadModel, Fmk } from '../src/convert.js';
import { run, runNode } from '../src/cpu/executor.js';
import { Graph } from '../src/ir/graph.js';
import type { Node } from '../src/ir/graph.js';
import { conv2dInt8, quantDTypeCast, int8WindowMax, int8WindowMaxReference } from '../src/cpu/int8.js';
import { wasmRequantize } from '../src/cpu/wasm/int8.js';
import { quantizeMultiplier, multiplyByQuantizedMultiplier } from '../src/quant/fixed-point.js';
import { accumulateMinMax, accumulateMinMaxReference, accumulateHistogram, accumulateHistogramReference, HIST_BINS } from '../src/quant/stats.js';
import type { RT } from '../src/ir/tensor.js';
import { ROOT, model, readBytes, relMaxDiff } from './helpers/data.js';
import { ONNX_CORPUS, corpusPath, corpusInput } from './helpers/corpus.js';

afterAll(() => useWasm(true));

const rand = (n: number, seed: number) => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
};
/** Models the relaxed build is compared on: every kernel it changes (GEMM, im2col conv, depthwise). */
const RELAXED_MODELS: [string, number[]][] = [[model('onnx/squeezenet1.1-fp32.onnx'), [1, 224, 224, 3]], [model('corpus/ultraface-slim-320.onnx'), [1, 240, 320, 3]]];
const node = (op: string, attrs: Record<string, unknown>): Node => ({ name: op, op, attrs, inputs: [], outputs: [], quantType: 0 });

describe('WebAssembly kernels', () => {
  it('load here (Node 20 has SIMD), and the committed module is current', () => {
    expect(useWasm(true)).toBe(true);
    const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('the relaxed-SIMD build (fused multiply-add) loads in Node 20 and computes the shared models within 1e-5 of the baseline', () => {
    // The tests run the baseline build (vitest.config.ts); a child process with the default runs the relaxed one.
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-relaxed-'));
    const script = path.join(dir, 'outputs.mts');
    writeFileSync(script, `
import { loadModel } from ${JSON.stringify(path.join(ROOT, 'src/convert.ts'))};
import { run } from ${JSON.stringify(path.join(ROOT, 'src/cpu/executor.ts'))};
import { wasmVariant } from ${JSON.stringify(path.join(ROOT, 'src/cpu/wasm/index.ts'))};
import { readFileSync } from 'node:fs';
const out: Record<string, number[]> = {};
for (const [file, shape] of ${JSON.stringify(RELAXED_MODELS)}) {
  const g = loadModel(new Uint8Array(readFileSync(file)), 'ONNX', file);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.013) * 2);
  out[file] = Array.from(run(g, [{ shape, data: x }])[0].data);
}
console.log(JSON.stringify({ variant: wasmVariant(), out }));
`);
    const child = (relaxed: string) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WEBPTQ_RELAXED_SIMD: relaxed } });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { variant: string; out: Record<string, number[]> };
    };
    const relaxed = child('1'), baseline = child('0');
    expect([relaxed.variant, baseline.variant]).toEqual(['relaxed-simd', 'simd']);
    for (const [file] of RELAXED_MODELS) expect(relMaxDiff(relaxed.out[file], baseline.out[file]), file).toBeLessThan(1e-5);
  }, 300_000);

  const convs: [string, number[], number[], Record<string, unknown>][] = [
    ['3x3 stride 2 pad 1 + RELU', [1, 13, 11, 5], [9, 3, 3, 5], { stride: [2, 2], pad_list: [1, 1, 1, 1], activation_type: 1 }],
    ['1x1 direct (GEMM on the input) + RELU6', [2, 7, 6, 16], [20, 1, 1, 16], { activation_type: 3 }],
    ['1x1 stride 2 (not direct)', [1, 9, 9, 8], [8, 1, 1, 8], { stride: [2, 2] }],
    ['dilated 3x3, asymmetric pads, odd channels', [1, 10, 12, 3], [7, 3, 3, 3], { dilation: [2, 3], pad_list: [2, 1, 3, 0] }],
    ['grouped (4 groups of 3 -> 2)', [1, 8, 8, 12], [8, 3, 3, 3], { group: 4, pad_list: [1, 1, 1, 1] }],
    ['depthwise 3x3 stride 2, C = 10 (a vector tail)', [2, 9, 9, 10], [10, 3, 3, 1], { group: 10, stride: [2, 2], pad_list: [1, 1, 1, 1], activation_type: 3 }],
    ['depthwise 5x5 dilated, TANH after', [1, 12, 12, 8], [8, 5, 5, 1], { group: 8, dilation: [2, 2], pad_list: [4, 4, 4, 4], activation_type: 10 }],
    ['large K (3x3x64), many outputs', [1, 14, 14, 64], [70, 3, 3, 64], { pad_list: [1, 1, 1, 1] }],
  ];
  for (const [name, xs, ws, attrs] of convs)
    it(`Conv2DFusion ${name}: equals the TypeScript kernel`, () => {
      const n = node('Conv2DFusion', { kernel_size: ws.slice(1, 3), stride: [1, 1], dilation: [1, 1], pad_list: [0, 0, 0, 0], group: 1, ...attrs });
      const x: RT = { shape: xs, data: rand(xs.reduce((a, b) => a * b), 1) };
      const w: RT = { shape: ws, data: rand(ws.reduce((a, b) => a * b), 2) };
      const b: RT = { shape: [ws[0]], data: rand(ws[0], 3) };
      const [fast] = conv2d(n, [x, w, b]);
      const ref = convReference(n, convGeometry(n, xs, ws), x, w, b);
      expect(fast.shape).toEqual(ref.shape);
      expect(relMaxDiff(fast.data, ref.data)).toBeLessThan(1e-5);
    });

  for (const [name, attrs] of [['max 3x3 stride 2 ceil', { kernel_size: [3, 3], strides: [2, 2], round_mode: 1 }], ['average 2x2 with padding excluded', { kernel_size: [2, 2], strides: [1, 1], pad: [1, 0, 1, 0] }]] as const)
    it(`pooling ${name}: equals the TypeScript kernel`, () => {
      const n = node(name.startsWith('max') ? 'MaxPoolFusion' : 'AvgPoolFusion', { pad: [0, 0, 0, 0], ...attrs });
      const x: RT = { shape: [2, 11, 9, 7], data: rand(2 * 11 * 9 * 7, 4) };
      expect(relMaxDiff(pool(n, [x])[0].data, poolReference(n, x).data)).toBeLessThan(1e-6);
    });

  // int8: the same geometry classes, bit for bit (exact int32 sums, the runtime's requantization)
  const int8Cases: [string, number[], number[], Record<string, unknown>][] = [
    ['3x3 stride 2, odd K (3 channels), RELU6', [1, 11, 9, 3], [12, 3, 3, 3], { stride: [2, 2], pad_list: [1, 1, 1, 1], activation_type: 3 }],
    ['1x1 over 16 channels', [2, 6, 5, 16], [9, 1, 1, 16], {}],
    ['3x3 pad 1, 43 outputs (a lane tail), 13 tiles split over the threads, requantized per tile', [1, 30, 30, 24], [43, 3, 3, 24], { pad_list: [1, 1, 1, 1], activation_type: 1 }],
    ['depthwise 3x3 stride 2 pad 1, 20 channels (eight-lane steps and a tail), RELU6', [1, 13, 11, 20], [20, 3, 3, 1], { group: 20, stride: [2, 2], pad_list: [1, 1, 1, 1], activation_type: 3 }],
    ['depthwise 5x5 dilated 2, 8 channels, two samples, rows over the threads', [2, 40, 36, 8], [8, 5, 5, 1], { group: 8, dilation: [2, 2], pad_list: [4, 4, 4, 4] }],
    ['grouped 2 x (5 -> 4), dilated', [1, 9, 9, 10], [8, 3, 3, 5], { group: 2, dilation: [2, 2], pad_list: [2, 2, 2, 2], activation_type: 1 }],
  ];
  for (const [name, xs, ws, attrs] of int8Cases)
    it(`int8 Conv2DFusion ${name}: bit-exact with the TypeScript int8 kernel`, () => {
      const g = new Graph();
      const q = (scale: number, zeroPoint: number) => [{ scale, zeroPoint }];
      const xi = g.addTensor({ name: 'x', shape: xs, dtype: 'int8', quant: q(0.05, -7) });
      const wi = g.addConst('w', Int8Array.from(rand(ws.reduce((a, b) => a * b), 12), (v) => Math.round(v * 127)), ws);
      g.tensors[wi].quant = Array.from({ length: ws[0] }, (_, c) => ({ scale: 0.01 + 0.001 * c, zeroPoint: 0 }));
      const bi = g.addConst('b', Int32Array.from(rand(ws[0], 13), (v) => Math.round(v * 5000)), [ws[0]]);
      const yi = g.addTensor({ name: 'y', shape: [], dtype: 'int8', quant: q(0.11, 3) });
      const n: Node = { name: 'conv', op: 'Conv2DFusion', inputs: [xi, wi, bi], outputs: [yi], quantType: 5,
        attrs: { kernel_size: ws.slice(1, 3), stride: [1, 1], dilation: [1, 1], pad_list: [0, 0, 0, 0], group: 1, ...attrs } };
      const x: RT = { shape: xs, data: Int8Array.from(rand(xs.reduce((a, b) => a * b), 14), (v) => Math.round(v * 127)) };
      const args: RT[] = [x, { shape: ws, data: g.tensors[wi].data! }, { shape: [ws[0]], data: g.tensors[bi].data! }];
      const [fast] = conv2dInt8(n, args, g);
      useWasm(false);
      const [ref] = conv2dInt8(n, args, g);
      useWasm(true);
      expect(Array.from(fast.data)).toEqual(Array.from(ref.data));
      // a bias changed in place (bias correction's revert did) is read again, not taken from the kernels' copy
      const bias = args[2].data as Int32Array;
      for (let c = 0; c < bias.length; c += 2) bias[c] += 3000;
      const [fastAfter] = conv2dInt8(n, args, g);
      useWasm(false);
      const [refAfter] = conv2dInt8(n, args, g);
      useWasm(true);
      expect(Array.from(refAfter.data)).not.toEqual(Array.from(ref.data));
      expect(Array.from(fastAfter.data)).toEqual(Array.from(refAfter.data));
    });

  it('int8 requantization: the SIMD lanes and the scalar tail equal the TypeScript definition, edge values included', () => {
    const N = 4 * 9 + 3, rows = 40;
    // Real multipliers from 1e-9 (right shift 29+) to 3e3 (left shift 12), one per channel, and a few
    // hand-made extremes: multiplier INT32_MIN with left shift 31 meets the saturating corner.
    const mults = Array.from({ length: N }, (_, c) => quantizeMultiplier(10 ** (-9 + (12.5 * c) / N) * (c % 5 === 4 ? -1 : 1)));
    mults[3] = { multiplier: -2147483648, leftShift: 31, rightShift: 0 };
    mults[7] = { multiplier: 1 << 30, leftShift: 0, rightShift: 31 };
    const extremes = [0, 1, -1, 2147483647, -2147483648, 1073741824, -1073741825, 65535, -65536];
    const sums = Int32Array.from({ length: rows * N }, (_, i) => (i % 11 < extremes.length ? extremes[i % 11] : Math.round((rand(1, i)[0] - 0.5) * 2 ** (1 + (i % 31)))));
    const bias = Int32Array.from({ length: N }, (_, c) => (c % 6 === 0 ? 2147483600 * (c % 12 ? 1 : -1) : Math.round((rand(1, 900 + c)[0] - 0.5) * 1e6)));
    for (const b of [bias, undefined])
      for (const [zp, lo, hi] of [[-3, -128, 127], [10, 10, 127], [0, -128, 0]]) {
        const r = { mults, zeroPoint: zp, lo, hi };
        const want = Int8Array.from(sums, (s, i) => {
          const c = i % N;
          const x = Math.max(-2147483648, Math.min(2147483647, s + (b ? b[c] : 0)));
          return Math.max(lo, Math.min(hi, multiplyByQuantizedMultiplier(x, mults[c]) + zp));
        });
        expect(Array.from(wasmRequantize(sums, rows, N, b, r)!)).toEqual(Array.from(want));
      }
  });

  it('int8 requantization where no corner can occur (no left shift, no overflow): the shortcut path equals the definition for every span of right shifts', () => {
    const N = 16 * 3 + 4 + 3, rows = 9;
    const sums = Int32Array.from({ length: rows * N }, (_, i) => Math.round((rand(1, 7000 + i)[0] - 0.5) * 2 ** (8 + (i % 20))));
    const bias = Int32Array.from({ length: N }, (_, c) => Math.round((rand(1, 800 + c)[0] - 0.5) * 2e5));
    for (const [lowest, span] of [[9, 0], [7, 1], [6, 3], [5, 7], [3, 12], [0, 20], [1, 30]]) {
      // right shifts from `lowest` to `lowest + span` (real multipliers 2^-(e+1) .. 2^-e, a few negative)
      const mults = Array.from({ length: N }, (_, c) => quantizeMultiplier(2 ** -(lowest + ((c * 5) % (span + 1))) * (0.55 + 0.4 * rand(1, c)[0] ** 2) * (c % 9 === 8 ? -1 : 1)));
      expect(Math.max(...mults.map((m) => m.rightShift)) - Math.min(...mults.map((m) => m.rightShift))).toBe(span);
      expect(mults.every((m) => m.leftShift === 0)).toBe(true);
      for (const b of [bias, undefined]) {
        const r = { mults, zeroPoint: 5, lo: -128, hi: 127 };
        const want = Int8Array.from(sums, (s, i) => Math.max(-128, Math.min(127, multiplyByQuantizedMultiplier(s + (b ? b[i % N] : 0), mults[i % N]) + 5)));
        expect(Array.from(wasmRequantize(sums, rows, N, b, r)!)).toEqual(Array.from(want));
      }
    }
  });

  it('a part that fails on a worker runs again on the calling thread: a call throws, never hangs, and the pool goes on', (t) => {
    const k = wasmKernels();
    if (!k || k.workers === 0) return t.skip();
    console.log(`pool: ${k.workers} worker(s)`);
    const threads = k.threads;
    setThreads(2);
    try {
      const out = k.alloc(16), a = k.put(new Float32Array(16).fill(1)), packed = k.alloc(64), bias = k.put(new Float32Array(4)); // scratch is not zeroed
      k.k.packWeights(k.put(new Float32Array(16).fill(2)), 4, 4, packed);
      const part = (m0: number, m1: number, src: number) => [m0, m1, 4, 4, src, 4, packed, bias, out, 4, 0];
      // the worker's rows read far past the memory: it traps there, then here, and the error reaches the caller
      expect(() => k.parallel('gemm', [part(0, 2, a), part(2, 4, 0x7ff00000)])).toThrow(/out of bounds/);
      k.parallel('gemm', [part(0, 2, a), part(2, 4, a)]);
      expect(Array.from(k.read(out, 16))).toEqual(new Array(16).fill(8));
    } finally {
      k.release();
      setThreads(threads);
    }
  });

  it('QuantDTypeCast both ways: bit-exact, ties, NaN and infinities included', () => {
    const g = new Graph();
    const f = g.addTensor({ name: 'f', shape: [0], dtype: 'float32' });
    const q = g.addTensor({ name: 'q', shape: [0], dtype: 'int8', quant: [{ scale: 0.1, zeroPoint: -3 }] });
    const toInt8: Node = { name: 'q', op: 'QuantDTypeCast', attrs: { src_t: 43, dst_t: 32 }, inputs: [f], outputs: [q], quantType: 0 };
    const back: Node = { name: 'd', op: 'QuantDTypeCast', attrs: { src_t: 32, dst_t: 43 }, inputs: [q], outputs: [f], quantType: 0 };
    const xs = Float32Array.from([...rand(4093, 15).map((v) => v * 20), 0.05, -0.05, 0.15, -0.25, 12.75, -12.85, NaN, Infinity, -Infinity, 1e30, -1e30]);
    const x: RT = { shape: [xs.length], data: xs };
    const both = (node: Node, input: RT) => {
      const fast = quantDTypeCast(node, [input], g)[0];
      useWasm(false);
      const ref = quantDTypeCast(node, [input], g)[0];
      useWasm(true);
      return [fast, ref];
    };
    const [qf, qr] = both(toInt8, x);
    expect(Array.from(qf.data)).toEqual(Array.from(qr.data));
    const [ff, fr] = both(back, qf);
    expect(Array.from(ff.data)).toEqual(Array.from(fr.data));
  });

  for (const [name, shape, attrs] of [
    ['3x3 stride 2 ceil, 37 channels (two vectors and a tail), rows split over 2 threads', [2, 63, 61, 37], { kernel_size: [3, 3], strides: [2, 2], round_mode: 1 }],
    ['2x2 stride 1 with padding, 5 channels (tail only)', [1, 12, 9, 5], { kernel_size: [2, 2], strides: [1, 1], pad: [1, 0, 1, 0] }],
  ] as const)
    it(`int8 max pooling ${name}: bit-exact with the TypeScript window max`, () => {
      const n = node('MaxPoolFusion', { pad: [0, 0, 0, 0], ...attrs });
      const geo = poolGeometry(n, [...shape]);
      const x = Int8Array.from(rand(shape.reduce((a: number, b: number) => a * b, 1), 16), (v) => Math.round(v * 127.5 - 0.5));
      x[0] = -128;
      const threads = wasmKernels()!.threads;
      setThreads(2);
      try {
        expect(Array.from(int8WindowMax(geo, x))).toEqual(Array.from(int8WindowMaxReference(geo, x)));
      } finally {
        setThreads(threads);
      }
    });

  it('calibration statistics: min / max with NaN and Inf counts, and the 2048-bin |x| histogram, equal the TypeScript loops', () => {
    const interval = Math.fround(3.7 / HIST_BINS);
    const edges = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 2 ** -52, -(2 ** -52), 2 ** -51, 3.7, -3.7, 5, -1e30, interval, 7 * interval, -(2047 * interval), 2048 * interval];
    for (const length of [edges.length, 4099, 3]) {
      const d = new Float32Array(length);
      const r = rand(length, 21);
      for (let i = 0; i < length; i++) d[i] = i < edges.length ? edges[i] : i % 7 === 0 ? Math.round(r[i] * 100) * interval : r[i] * 4;
      const fresh = () => ({ tensor: 0, name: 't', min: Infinity, max: -Infinity, nanCount: 0, infCount: 0 });
      const fast = fresh(), ref = fresh();
      accumulateMinMax(fast, d);
      accumulateMinMaxReference(ref, d);
      expect([fast.min === ref.min, fast.max === ref.max, fast.nanCount, fast.infCount]).toEqual([true, true, ref.nanCount, ref.infCount]);
      const hf = new Float64Array(HIST_BINS), hr = new Float64Array(HIST_BINS);
      accumulateHistogram(hf, 3.7, d);
      accumulateHistogramReference(hr, interval, d);
      expect(Array.from(hf)).toEqual(Array.from(hr));
    }
  });

  it('FullConnection with bias and RELU: equals the TypeScript GEMM', () => {
    const n = node('FullConnection', { has_bias: true, activation_type: 1 });
    const x: RT = { shape: [5, 37], data: rand(5 * 37, 5) }, w: RT = { shape: [19, 37], data: rand(19 * 37, 6) }, b: RT = { shape: [19], data: rand(19, 7) };
    const fast = fullConnection(n, [x, w, b])[0];
    useWasm(false);
    const ref = fullConnection(n, [x, w, b])[0];
    useWasm(true);
    expect(relMaxDiff(fast.data, ref.data)).toBeLessThan(1e-5);
  });

  const models: [string, Fmk, () => RT][] = [
    ['onnx/squeezenet1.1-fp32.onnx', 'ONNX', () => ({ shape: [1, 224, 224, 3], data: rand(224 * 224 * 3, 8).map((v) => 128 + 100 * v) })],
    ['tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE', () => ({ shape: [1, 96, 96, 3], data: rand(96 * 96 * 3, 9) })],
    ['tflite/resnet8-cifar10-float.tflite', 'TFLITE', () => ({ shape: [1, 32, 32, 3], data: rand(32 * 32 * 3, 10).map((v) => 128 + 100 * v) })],
    ['tflite/kws-dscnn-hybrid.tflite', 'TFLITE', () => ({ shape: [1, 49, 10, 1], data: rand(490, 11).map((v) => 20 * v) })],
    ...ONNX_CORPUS.filter((m) => !m.file.startsWith('road')).map((m): [string, Fmk, () => RT] => [`corpus/${m.file}`, 'ONNX', () => {
      const x = corpusInput(m);
      return { shape: x.shape, data: x.nhwc };
    }]),
  ];
  // Every conv / FC / pooling node of the model, given the same inputs, both ways (float32 vs the reference's
  // double accumulation differ by a few 1e-7 per op); end to end they drift apart like two runtimes do.
  const KERNEL_OPS = new Set(['Conv2DFusion', 'FullConnection', 'MaxPoolFusion', 'AvgPoolFusion']);
  for (const [file, fmk, input] of models)
    it(`${file}: every conv, FC and pooling node equals the TypeScript kernel on the same inputs`, () => {
      const m = ONNX_CORPUS.find((c) => file.endsWith(c.file));
      const g = loadModel(readBytes(file.startsWith('corpus/') ? corpusPath(m!) : model(file)), fmk, file, m ? { inputShapes: new Map([[m.input, m.dims]]) } : {});
      const x = input();
      const values = new Map<number, RT>([[g.inputs[0], x]]);
      const valueOf = (id: number) => values.get(id) ?? { shape: g.tensors[id].shape, data: g.tensors[id].data! };
      let worst = 0, checked = 0;
      for (const n of g.nodes) {
        const ins = n.inputs.filter((i) => i >= 0).map(valueOf);
        const outs = runNode(n, ins, g);
        if (KERNEL_OPS.has(n.op)) {
          useWasm(false);
          const [ref] = runNode(n, ins, g);
          useWasm(true);
          const d = relMaxDiff(outs[0].data, ref.data);
          expect(d, `${n.op} ${n.name}`).toBeLessThan(1e-5);
          worst = Math.max(worst, d);
          checked++;
        }
        n.outputs.forEach((o, k) => values.set(o, outs[k]));
      }
      const [fast] = run(g, [x]);
      useWasm(false);
      const [ref] = run(g, [x]);
      useWasm(true);
      console.log(`${file}: ${checked} nodes, worst ${worst.toExponential(2)}; end to end ${relMaxDiff(fast.data, ref.data).toExponential(2)}`);
      expect(checked).toBeGreaterThan(0);
      expect(relMaxDiff(fast.data, ref.data)).toBeLessThan(1e-4);
    }, 120_000);
});
