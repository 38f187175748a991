/**
 * Resize samples where MindSpore Lite's runtime samples (nnacl resize_fp32.c): nearest takes floor() of the
 * source coordinate whatever `nearest_mode` says (round-half-away for align_corners), bilinear blends the
 * taps of CalculateCoordinate. Checked against a reference written here from those rules, on the CPU and GPU,
 * on input dims known only at run time (the Resize stays the runtime's op). With static dims the converter
 * writes onnxruntime's taps instead where they differ (passes/exact-resize): checked against onnxruntime.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import { relMaxDiff, nhwcToNchw } from './helpers/data.js';
import * as ort from 'onnxruntime-node';
import { resize as resizeKernel } from '../src/cpu/resize.js';
import { useWasm, setThreads } from '../src/cpu/wasm/index.js';
import { linearSourceTaps } from '../src/ir/resize-coords.js';
import { CoordinateTransformMode as CT, ResizeMethod } from '../src/ir/schema/ops.js';
import type { Node } from '../src/ir/graph.js';
import { gpuOrSkip, testGpu } from './helpers/gpu.js';

afterAll(async () => (await testGpu())?.release());

const [N, H, W, C] = [1, 3, 5, 2];
const x = Float32Array.from({ length: N * H * W * C }, (_, i) => Math.sin(i * 0.37) * 3);

/** The runtime's source coordinate, in float32 (CalculateHalfPixel / CalculateAlignCorners / CalculateAsymmetric). */
function source(mode: string, o: number, inLen: number, outLen: number): number {
  const f = Math.fround;
  if (mode === 'align_corners') return f(o / f(f(outLen - 1) / f(inLen - 1)));
  if (mode === 'half_pixel') return Math.max(0, f(f(f(o + 0.5) / f(f(outLen) / f(inLen))) - 0.5));
  return f(o / f(f(outLen) / f(inLen)));
}

function reference(mode: string, method: string, oh: number, ow: number): Float32Array {
  const out = new Float32Array(N * oh * ow * C);
  const at = (y: number, xx: number, c: number) => x[(y * W + xx) * C + c];
  for (let y = 0; y < oh; y++)
    for (let xx = 0; xx < ow; xx++)
      for (let c = 0; c < C; c++) {
        const sy = source(mode, y, H, oh), sx = source(mode, xx, W, ow);
        let v: number;
        if (method === 'nearest') {
          const pick = (s: number) => (mode === 'align_corners' ? Math.round(s) : Math.floor(s));
          v = at(pick(sy), pick(sx), c);
        } else {
          const y0 = Math.floor(sy), x0 = Math.floor(sx), y1 = Math.min(y0 + 1, H - 1), x1 = Math.min(x0 + 1, W - 1);
          const wy = sy - y0, wx = sx - x0;
          v = (at(y0, x0, c) * (1 - wx) + at(y0, x1, c) * wx) * (1 - wy) + (at(y1, x0, c) * (1 - wx) + at(y1, x1, c) * wx) * wy;
        }
        out[(y * ow + xx) * C + c] = v;
      }
  return out;
}

const cases = [
  // ONNX's round_prefer_ceil would pick rows 0,0,1,1... for 2x; the runtime floors: 0,0,0,1,...
  { mode: 'half_pixel', method: 'nearest', nearest: 'round_prefer_ceil', size: [7, 11] },
  { mode: 'half_pixel', method: 'nearest', nearest: 'round_prefer_floor', size: [2, 3] },
  { mode: 'asymmetric', method: 'nearest', nearest: 'floor', size: [6, 10] },
  { mode: 'align_corners', method: 'nearest', nearest: 'round_prefer_floor', size: [5, 9] },
  { mode: 'half_pixel', method: 'linear', nearest: 'floor', size: [7, 8] },
  { mode: 'align_corners', method: 'linear', nearest: 'floor', size: [5, 4] },
  { mode: 'asymmetric', method: 'linear', nearest: 'floor', size: [6, 13] },
];

describe('Resize as the MindSpore Lite runtime computes it', () => {
  for (const c of cases)
    it(`${c.method} ${c.mode} (${c.nearest}) ${H}x${W} -> ${c.size.join('x')}: CPU = runtime rule, GPU = CPU`, async (t) => {
      const resize = (dims: number[]) => buildOnnx({
        inputs: [{ name: 'x', dims }], outputs: ['y'],
        inits: [{ name: 'roi', dims: [0], data: [] }, { name: 'sz', dims: [4], data: [N, C, ...c.size], int64: true }],
        nodes: [{ op: 'Resize', inputs: ['x', 'roi', '', 'sz'], outputs: ['y'], attrs: { mode: c.method, coordinate_transformation_mode: c.mode, nearest_mode: c.nearest } }],
      });
      const g = loadModel(resize([N, C, -1, -1]), 'ONNX', 'resize.onnx');
      expect(g.nodes.map((n) => n.op)).toContain('Resize');
      const [cpu] = run(g, [{ shape: [N, H, W, C], data: x }]);
      // The runtime's output is NHWC; the graph output stays NCHW as ONNX declares it.
      const expected = reference(c.mode, c.method, c.size[0], c.size[1]);
      const nchw = cpu.shape[1] === C ? Float32Array.from(expected.keys(), (i) => {
        const ch = Math.floor(i / (c.size[0] * c.size[1])), p = i % (c.size[0] * c.size[1]);
        return expected[p * C + ch];
      }) : expected;
      expect(relMaxDiff(cpu.data, nchw)).toBeLessThan(1e-6);
      const ctx = await gpuOrSkip(t.skip);
      const ex = await GpuExecutor.create(ctx, g, 1, { inputShapes: [[N, H, W, C]] });
      await ex.run([x]);
      const [gpu] = await ex.outputs();
      expect(relMaxDiff(gpu.data, cpu.data)).toBeLessThan(1e-5);
      ex.destroy();

      const fixed = resize([N, C, H, W]);
      const [exact] = run(loadModel(fixed, 'ONNX', 'resize.onnx'), [{ shape: [N, H, W, C], data: x }]);
      const session = await ort.InferenceSession.create(fixed);
      const want = (await session.run({ x: new ort.Tensor('float32', nhwcToNchw(x, N, H, W, C), [N, C, H, W]) })).y.data as Float32Array;
      expect(relMaxDiff(exact.data, want)).toBeLessThan(1e-6);
    });
});

describe('bilinear Resize kernel: rows blended once and reused', () => {
  // The runtime's order per output element: top = blend along x of row lo, bottom = of row hi, then along y.
  function perElement(x: Float32Array, [n, ih, iw, c]: number[], oh: number, ow: number, mode: number): Float32Array {
    const f = Math.fround, blend = (a: number, w: number, b: number) => f(f(a * w) + f(b * f(1 - w)));
    const ty = linearSourceTaps(mode, ih, oh), tx = linearSourceTaps(mode, iw, ow), out = new Float32Array(n * oh * ow * c);
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++)
          for (let ch = 0; ch < c; ch++) {
            const at = (r: number, col: number) => x[((b * ih + r) * iw + col) * c + ch];
            const top = blend(at(ty.lo[y], tx.lo[xx]), tx.loWeight[xx], at(ty.lo[y], tx.hi[xx]));
            const bottom = blend(at(ty.hi[y], tx.lo[xx]), tx.loWeight[xx], at(ty.hi[y], tx.hi[xx]));
            out[((b * oh + y) * ow + xx) * c + ch] = blend(top, ty.loWeight[y], bottom);
          }
    return out;
  }
  const shapes: [number[], number, number][] = [[[2, 33, 33, 3], 257, 257], [[1, 17, 11, 5], 5, 4], [[1, 1, 1, 8], 9, 7], [[1, 4, 6, 2], 4, 6], [[1, 7, 3, 1], 20, 2]];
  const kernels: [string, boolean, number][] = [['TypeScript', false, 1], ['WebAssembly', true, 1], ['WebAssembly on 2 threads', true, 2]];
  for (const [kernel, wasm, threads] of kernels)
    for (const mode of [CT.HALF_PIXEL, CT.ALIGN_CORNERS, CT.ASYMMETRIC])
      it(`${kernel}: equals the per-element blend bit for bit (coordinate mode ${mode}): upscales, downscales, 1x1, identity`, () => {
        expect(useWasm(wasm)).toBe(true); // loaded (whether on or not)
        expect(setThreads(threads)).toBe(threads);
        try {
          for (const [shape, oh, ow] of shapes) {
            const x = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.731) * 5);
            const node = { op: 'Resize', name: 'r', inputs: [0], outputs: [1], attrs: { method: ResizeMethod.LINEAR, coordinate_transform_mode: mode, new_height: oh, new_width: ow } } as unknown as Node;
            const [y] = resizeKernel(node, [{ shape, data: x }]);
            expect(y.shape).toEqual([shape[0], oh, ow, shape[3]]);
            expect(new Uint32Array((y.data as Float32Array).buffer)).toEqual(new Uint32Array(perElement(x, shape, oh, ow, mode).buffer));
          }
        } finally {
          useWasm(true);
          setThreads(1);
        }
      });
});
