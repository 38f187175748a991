/**
 * Conv2DFusion (regular, grouped, depthwise), FullConnection / MatMul with constant weights, and pooling on
 * the WebAssembly kernels. Each returns undefined when the kernels are not loaded; the caller then runs the
 * TypeScript kernel. RELU / RELU6 are applied while storing, other activations by the caller.
 */
import type { ConvGeometry, PoolGeometry } from '../../ir/op-params.js';
import { isDepthwise } from '../../ir/op-params.js';
import { wasmKernels, WasmKernels } from './index.js';

/** Activations the kernels fuse (MindSpore RELU, RELU6); anything else is left to the caller. */
export const fusesActivation = (act: number) => act === 0 || act === 1 || act === 3;
const fused = (act: number) => (fusesActivation(act) ? act : 0);

/** Bias padded to a multiple of 8 floats (the GEMM reads whole panels), cached per array. */
function paddedBias(w: WasmKernels, bias: Float32Array | undefined, from: number, count: number): number {
  if (!bias) return 0;
  return w.cached(bias, `bias${from}/${count}`, Math.ceil(count / 8) * 8, (p) => w.f32.set(bias.subarray(from, from + count), p >> 2));
}

/** Weights [N, K] packed into 8-output panels, cached per array (and slice). */
function packed(w: WasmKernels, weights: Float32Array, from: number, N: number, K: number): number {
  return w.cached(weights, `pack${from}/${N}x${K}`, Math.ceil(N / 8) * 8 * K, (p) => {
    const src = w.put(weights.subarray(from, from + N * K));
    w.k.packWeights(src, N, K, p);
  });
}

/** Depthwise weights [C, KH, KW, 1] as [KH*KW, C], cached. */
function tapMajor(w: WasmKernels, weights: Float32Array, C: number, taps: number): number {
  return w.cached(weights, 'taps', C * taps, (p) => {
    const out = w.f32;
    for (let c = 0; c < C; c++) for (let t = 0; t < taps; t++) out[(p >> 2) + t * C + c] = weights[c * taps + t];
  });
}

/**
 * Threads worth waking for a call of `work` multiply-adds: a wake-up and the wait cost some tens of
 * microseconds, more than a small layer takes on one core.
 */
const threadsFor = (w: WasmKernels, work: number) => (work < 4e5 ? 1 : w.threads);

/** [from, to) cut into `parts` ranges (fewer when small), each but the last a multiple of `align` long. */
export function ranges(from: number, to: number, parts: number, align = 1): [number, number][] {
  const n = to - from, step = Math.max(align, Math.ceil(n / parts / align) * align);
  const out: [number, number][] = [];
  for (let a = from; a < to; a += step) out.push([a, Math.min(to, a + step)]);
  return out.length ? out : [[from, to]];
}

export function wasmConv(g: ConvGeometry, x: Float32Array, weights: Float32Array, bias: Float32Array | undefined, act: number): Float32Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const outFloats = g.n * g.oh * g.ow * g.oc;
  if (isDepthwise(g)) {
    const wp = tapMajor(w, weights, g.oc, g.kh * g.kw);
    const bp = bias ? w.cached(bias, 'raw', g.oc, (p) => w.f32.set(bias, p >> 2)) : 0;
    const xp = w.put(x), op = w.alloc(outFloats);
    w.parallel('depthwise', ranges(0, g.oh, threadsFor(w, outFloats * g.kh * g.kw)).map(([y0, y1]) =>
      [xp, g.n, g.ih, g.iw, g.oc, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, wp, bp, op, fused(act), y0, y1]));
    return finish(w, op, outFloats);
  }
  const groups = packedGroups(w, g, weights, bias);
  const xp = w.put(x), op = w.alloc(outFloats);
  convInto(w, g, xp, groups, act, op, g.oc, 0);
  return finish(w, op, outFloats);
}

/** Packed weights and padded bias per group, cached (so: before the call allocates scratch). */
function packedGroups(w: WasmKernels, g: ConvGeometry, weights: Float32Array, bias: Float32Array | undefined): { wp: number; bp: number }[] {
  const icg = g.ic / g.group, ocg = g.oc / g.group, K = g.kh * g.kw * icg;
  return Array.from({ length: g.group }, (_, gi) => ({ wp: packed(w, weights, gi * ocg * K, ocg, K), bp: paddedBias(w, bias, gi * ocg, ocg) }));
}

/** A regular convolution of the input at xp into [pixels, ldc] at op, its channels from `offset` on. */
function convInto(w: WasmKernels, g: ConvGeometry, xp: number, groups: { wp: number; bp: number }[], act: number, op: number, ldc: number, offset: number): void {
  const icg = g.ic / g.group, ocg = g.oc / g.group, K = g.kh * g.kw * icg, M = g.oh * g.ow;
  const direct = g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0 && g.ih === g.oh && g.iw === g.ow;
  // im2col a tile of output pixels at a time (each thread its own buffer): the tile's rows stay in cache for
  // every weight panel.
  const tile = Math.max(4, Math.min(M, Math.floor(16384 / K) & ~3));
  const parts = ranges(0, M, threadsFor(w, g.n * M * g.oc * K), 4);
  const cols = parts.map(() => (direct ? 0 : w.alloc(tile * K)));
  for (let b = 0; b < g.n; b++)
    groups.forEach(({ wp, bp }, gi) => {
      const out = op + 4 * (b * M * ldc + offset + gi * ocg);
      w.parallel('convTiles', parts.map(([p0, p1], t) => [xp, g.ih, g.iw, g.ic, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft,
        gi * icg, icg, b, p0, p1, cols[t], tile, direct ? 1 : 0, wp, ocg, bp, out, ldc, fused(act)]));
    });
}

/** One convolution of a channel concatenation (wasmConvsConcat). */
export interface ConcatPart { g: ConvGeometry; weights: Float32Array; bias?: Float32Array; act: number }

/**
 * Regular convolutions of one input whose outputs a channel Concat joins (SqueezeNet's expand 1x1 and 3x3),
 * each written straight into its channels of the joined output: the input goes in once, the output comes out
 * once, and nothing is concatenated. The kernels and their sums are wasmConv's, so the values are the
 * separate convolutions' followed by the Concat, exactly. Every part's activation must be one the kernels fuse.
 */
export function wasmConvsConcat(x: Float32Array, parts: ConcatPart[]): Float32Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const { n, oh, ow } = parts[0].g, total = parts.reduce((a, p) => a + p.g.oc, 0);
  const groups = parts.map((p) => packedGroups(w, p.g, p.weights, p.bias));
  const xp = w.put(x), outFloats = n * oh * ow * total, op = w.alloc(outFloats);
  let offset = 0;
  parts.forEach((p, k) => {
    convInto(w, p.g, xp, groups[k], p.act, op, total, offset);
    offset += p.g.oc;
  });
  return finish(w, op, outFloats);
}

/**
 * out[m, n] = x[m, :] . weights[n, :] + bias[n]. `constant`: the weights are a model constant, packed once
 * and kept (FullConnection); otherwise (MatMul of two activations) they are packed into scratch every call.
 */
export function wasmGemm(M: number, N: number, K: number, x: Float32Array, weights: Float32Array, bias: Float32Array | undefined, act: number, constant: boolean): Float32Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const wpKept = constant ? packed(w, weights, 0, N, K) : 0;
  const bp = bias?.length === N ? paddedBias(w, bias, 0, N) : 0;
  let wp = wpKept;
  if (!constant) {
    wp = w.alloc(Math.ceil(N / 8) * 8 * K);
    w.k.packWeights(w.put(weights), N, K, wp);
  }
  const xp = w.put(x), op = w.alloc(M * N);
  w.parallel('gemm', ranges(0, M, threadsFor(w, M * N * K), 4).map(([m0, m1]) => [m0, m1, N, K, xp, K, wp, bp, op, N, fused(act)]));
  return finish(w, op, M * N);
}

export function wasmPool(p: PoolGeometry, x: Float32Array, isMax: boolean): Float32Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const outFloats = p.n * p.oh * p.ow * p.c;
  const xp = w.put(x), op = w.alloc(outFloats);
  w.parallel('pool', ranges(0, p.oh, threadsFor(w, outFloats * p.kh * p.kw)).map(([y0, y1]) => [xp, p.n, p.ih, p.iw, p.c, p.oh, p.ow, p.kh, p.kw, p.sh, p.sw, p.pt, p.pl, isMax ? 1 : 0, op, y0, y1]));
  return finish(w, op, outFloats);
}

function finish(w: WasmKernels, p: number, floats: number): Float32Array {
  const out = w.read(p, floats);
  w.release();
  return out;
}
