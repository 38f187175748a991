/**
 * Stress for the WebAssembly kernel thread pool: every kernel that splits its work over threads (float conv,
 * depthwise, FullConnection, pooling, int8 conv / depthwise / FC / requantization, int8 max pooling), called
 * many times in a row on the pool while other processes keep the cores busy, with the shared memory growing
 * between calls; every output must equal, byte for byte, the same call on one thread. Used by
 * test/pool-stress.test.ts (seconds) and scripts/pool-stress.ts (10,000 calls).
 */
import { spawn, ChildProcess } from 'node:child_process';
import { wasmConv, wasmGemm, wasmPool } from '../../src/cpu/wasm/conv.js';
import { wasmConvInt8, wasmGemmInt8, wasmRequantize, wasmMaxPoolInt8, centeredI16, Requant } from '../../src/cpu/wasm/int8.js';
import { setThreads, wasmKernels } from '../../src/cpu/wasm/index.js';
import { quantizeMultiplier } from '../../src/quant/fixed-point.js';
import type { ConvGeometry, PoolGeometry } from '../../src/ir/op-params.js';

/** Deterministic values in [-1, 1). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
}
const int8Noise = (n: number, seed: number) => Int8Array.from(noise(n, seed), (v) => Math.round(v * 127));
const bytes = (a: ArrayBufferView | undefined) => {
  if (!a) throw new Error('the WebAssembly kernels are not loaded');
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
};

function conv(n: number, ih: number, iw: number, ic: number, oc: number, k: number, stride: number, group = 1): ConvGeometry {
  const oh = Math.floor((ih + 2 * (k >> 1) - k) / stride) + 1, ow = Math.floor((iw + 2 * (k >> 1) - k) / stride) + 1;
  return { n, ih, iw, ic, oh, ow, oc, kh: k, kw: k, sh: stride, sw: stride, dh: 1, dw: 1, padTop: k >> 1, padLeft: k >> 1, group };
}
function pool(n: number, ih: number, iw: number, c: number, k: number, stride: number): PoolGeometry {
  const oh = Math.floor((ih - k) / stride) + 1, ow = Math.floor((iw - k) / stride) + 1;
  return { n, ih, iw, c, oh, ow, kh: k, kw: k, sh: stride, sw: stride, pt: 0, pl: 0 };
}

export interface StressCase { name: string; run(): Uint8Array }

/** The kernel calls, each large enough to be split over every thread. */
export function stressCases(): StressCase[] {
  const requant = (N: number): Requant => ({ mults: Array.from({ length: N }, (_, c) => quantizeMultiplier(2 ** -(8 + (c % 12)) * (0.6 + 0.3 * Math.abs(noise(1, c)[0])))), zeroPoint: -3, lo: -128, hi: 127 });
  const g1 = conv(1, 40, 40, 32, 48, 3, 1), gd = conv(1, 64, 64, 32, 32, 3, 1, 32), gi = conv(2, 32, 32, 24, 40, 3, 2);
  const x1 = noise(40 * 40 * 32, 1), w1 = noise(48 * 9 * 32, 2), b1 = noise(48, 3);
  const xd = noise(64 * 64 * 32, 4), wd = noise(32 * 9, 5), bd = noise(32, 6);
  const xf = noise(256 * 512, 7), wf = noise(384 * 512, 8), bf = noise(384, 9);
  const p = pool(1, 96, 96, 32, 3, 1), xp = noise(96 * 96 * 32, 10);
  const xi = int8Noise(2 * 32 * 32 * 24, 11), wi = int8Noise(40 * 9 * 24, 12), bi = Int32Array.from(noise(40, 13), (v) => Math.round(v * 5000));
  const xdi = int8Noise(64 * 64 * 32, 14), wdi = int8Noise(32 * 9, 15);
  const xfi = int8Noise(200 * 512, 16), wfi = int8Noise(300 * 512, 17), bfi = Int32Array.from(noise(300, 18), (v) => Math.round(v * 9000));
  const sums = Int32Array.from(noise(600 * 96, 19), (v) => Math.round(v * 2 ** 24));
  const pi = pool(1, 96, 96, 32, 2, 2), xpi = int8Noise(96 * 96 * 32, 20);
  // just above the size that splits: each part takes microseconds, so a worker is back asleep before the caller
  // has finished posting (the interleaving that raced)
  const small = Int32Array.from(noise(256 * 100, 21), (v) => Math.round(v * 2 ** 20));
  return [
    { name: 'float conv 3x3', run: () => bytes(wasmConv(g1, x1, w1, b1, 1)) },
    { name: 'float depthwise', run: () => bytes(wasmConv(gd, xd, wd, bd, 3)) },
    { name: 'FullConnection', run: () => bytes(wasmGemm(256, 384, 512, xf, wf, bf, 0, true)) },
    { name: 'max pooling', run: () => bytes(wasmPool(p, xp, true)) },
    { name: 'average pooling', run: () => bytes(wasmPool(p, xp, false)) },
    { name: 'int8 conv, strided, batch 2', run: () => bytes(wasmConvInt8(gi, xi, 3, wi, () => 0, bi, requant(40))) },
    { name: 'int8 depthwise', run: () => bytes(wasmConvInt8(gd, xdi, -5, wdi, () => 0, undefined, requant(32))) },
    { name: 'int8 FC', run: () => bytes(wasmGemmInt8(200, 300, 512, xfi, 1, wfi, () => centeredI16(wfi, 0), bfi, requant(300))) },
    { name: 'int8 requantization', run: () => bytes(wasmRequantize(sums, 600, 96, undefined, requant(96))) },
    { name: 'int8 max pooling', run: () => bytes(wasmMaxPoolInt8(pi, xpi)) },
    ...Array.from({ length: 10 }, () => ({ name: 'int8 requantization, small', run: () => bytes(wasmRequantize(small, 256, 100, undefined, requant(100))) })),
  ];
}

/** `count` processes that spin on a core each until `stop()`. */
export function busyProcesses(count: number): { stop(): void } {
  const children: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
  const stop = () => children.forEach((c) => c.kill('SIGKILL'));
  process.once('exit', stop);
  return { stop };
}

export interface StressResult { calls: number; errors: string[]; mismatches: string[]; splitCalls: number; memoryMiB: number }

/**
 * `calls` kernel calls cycling through the cases on every thread the pool has, each compared with its one-thread
 * output; every `growEvery` calls a new constant is packed, so the shared memory grows while workers run (up to
 * 256 MiB). `only` keeps the cases whose name contains it.
 */
export function stressPool(calls: number, growEvery = 25, onProgress?: (done: number) => void, only?: string): StressResult {
  const k = wasmKernels();
  if (!k) throw new Error('the WebAssembly kernels are not loaded');
  const cases = stressCases().filter((c) => !only || c.name.includes(only));
  setThreads(1);
  const want = cases.map((c) => c.run().slice());
  const threads = setThreads(64);
  const errors: string[] = [], mismatches: string[] = [];
  const splitBefore = k.splitCalls;
  for (let i = 0; i < calls; i++) {
    const c = cases[i % cases.length];
    try {
      const got = c.run();
      if (Buffer.compare(Buffer.from(got), Buffer.from(want[i % cases.length])) !== 0) mismatches.push(`call ${i} (${c.name}) on ${threads} threads`);
    } catch (e) {
      errors.push(`call ${i} (${c.name}): ${(e as Error).message}`);
    }
    if (i % growEvery === growEvery - 1 && k.memory.buffer.byteLength < 256 * 2 ** 20) {
      // a weight array the kernels have not seen: packed into a new persistent region, growing the memory
      const g = conv(1, 16, 16, 64, 64, 3, 1);
      wasmConv(g, noise(16 * 16 * 64, i), noise(64 * 9 * 64, i + 1), undefined, 0);
    }
    if (onProgress && i % 500 === 499) onProgress(i + 1);
  }
  return { calls, errors, mismatches, splitCalls: k.splitCalls - splitBefore, memoryMiB: k.memory.buffer.byteLength / 2 ** 20 };
}
