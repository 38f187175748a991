/**
 * Bilinear Resize on the WebAssembly kernels: the same float blends, in the same order, as the TypeScript
 * kernel of ../resize.ts (the reference; tests compare them bit for bit), output rows split over the threads
 * (each with its own two cached input rows). Undefined when the kernels are not loaded.
 */
import type { LinearTaps } from '../../ir/resize-coords.js';
import { wasmKernels } from './index.js';
import { ranges } from './conv.js';

export function wasmResizeBilinear(x: Float32Array, [n, ih, iw, c]: number[], oh: number, ow: number, ty: LinearTaps, tx: LinearTaps): Float32Array | undefined {
  const w = wasmKernels();
  if (!w) return undefined;
  const xp = w.put(x);
  const [yLo, yHi, yW, xLo, xHi, xW] = [ty.lo, ty.hi, ty.loWeight, tx.lo, tx.hi, tx.loWeight].map((a) => w.putBytes(a));
  const rowLen = ow * c, outFloats = n * oh * rowLen, op = w.alloc(outFloats);
  // a thread per part only where there is enough work to pay for waking it
  const parts = ranges(0, oh, outFloats < 2e5 ? 1 : w.threads);
  const caches = parts.map(() => w.alloc(2 * rowLen));
  for (let b = 0; b < n; b++)
    w.parallel('resizeBilinear', parts.map(([y0, y1], t) => [xp, ih, iw, c, oh, ow, yLo, yHi, yW, xLo, xHi, xW, b, y0, y1, caches[t], op]));
  const out = w.read(op, outFloats);
  w.release();
  return out;
}
