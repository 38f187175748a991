/**
 * Resize on NHWC: nearest and bilinear, sampling where MindSpore Lite's runtime samples (see ir/resize-coords).
 * Bilinear runs on the WebAssembly kernels when they are loaded; the loop here is their reference.
 */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { CoordinateTransformMode as CT, ResizeMethod } from '../ir/schema/ops.js';
import { nearestSourceIndices, linearSourceTaps, cubicSourceTaps } from '../ir/resize-coords.js';
import { RT, f32 } from '../ir/tensor.js';
import { resizeOutputSize } from '../ir/op-params.js';
import { wasmResizeBilinear } from './wasm/resize.js';

export function resize(node: Node, [x, sizeT]: RT[]): RT[] {
  const a = node.attrs;
  const [n, ih, iw, c] = x.shape;
  const [oh, ow] = resizeOutputSize(node, x.shape, sizeT);
  const mode = (a.coordinate_transform_mode as number) ?? CT.ASYMMETRIC;
  const xd = x.data as Float32Array;
  if (a.method === ResizeMethod.LINEAR) {
    const fast = wasmResizeBilinear(xd, x.shape, oh, ow, linearSourceTaps(mode, ih, oh), linearSourceTaps(mode, iw, ow));
    if (fast) return [{ shape: [n, oh, ow, c], data: fast }];
  }
  const out = f32([n, oh, ow, c]);
  const od = out.data as Float32Array;
  if (a.method === ResizeMethod.NEAREST) {
    const sy = nearestSourceIndices(mode, ih, oh), sx = nearestSourceIndices(mode, iw, ow);
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          const s0 = ((b * ih + sy[y]) * iw + sx[xx]) * c, d0 = ((b * oh + y) * ow + xx) * c;
          for (let ch = 0; ch < c; ch++) od[d0 + ch] = xd[s0 + ch];
        }
  } else if (a.method === ResizeMethod.LINEAR) {
    // Rows first, then columns, each a float blend, as the runtime's InterpRow / InterpCol: an input row is
    // blended along x once and kept while the output rows that read it go by (an upscale by 8 reads each 8 times).
    const ty = linearSourceTaps(mode, ih, oh), tx = linearSourceTaps(mode, iw, ow);
    const f = Math.fround, rowLen = ow * c;
    const cached = [{ row: -1, data: new Float32Array(rowLen) }, { row: -1, data: new Float32Array(rowLen) }];
    let next = 0;
    const blendedRow = (b: number, iy: number): Float32Array => {
      const key = b * ih + iy;
      // the slot not used last is the one filled: top's row stays while bottom's is made
      for (let k = 0; k < 2; k++) if (cached[k].row === key) return (next = k ^ 1), cached[k].data;
      const e = cached[next];
      next ^= 1;
      e.row = key;
      const r = e.data, base = key * iw;
      for (let xx = 0; xx < ow; xx++) {
        const s0 = (base + tx.lo[xx]) * c, s1 = (base + tx.hi[xx]) * c, w = tx.loWeight[xx], v = f(1 - w), d = xx * c;
        for (let ch = 0; ch < c; ch++) r[d + ch] = f(f(xd[s0 + ch] * w) + f(xd[s1 + ch] * v));
      }
      return r;
    };
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++) {
        const top = blendedRow(b, ty.lo[y]), bottom = blendedRow(b, ty.hi[y]);
        const w = ty.loWeight[y], v = f(1 - w), d0 = (b * oh + y) * rowLen;
        for (let i = 0; i < rowLen; i++) od[d0 + i] = f(f(top[i] * w) + f(bottom[i] * v));
      }
  } else if (a.method === ResizeMethod.CUBIC) {
    // Rows first, then columns, as the runtime's BicubicInterpRow / BicubicInterpCol.
    const coeff = (a.cubic_coeff as number) ?? -0.75;
    const ty = cubicSourceTaps(mode, ih, oh, coeff), tx = cubicSourceTaps(mode, iw, ow, coeff);
    const row = new Float32Array(4 * ow * c);
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++) {
        for (let k = 0; k < 4; k++) {
          const r0 = (b * ih + ty.index[4 * y + k]) * iw;
          for (let xx = 0; xx < ow; xx++)
            for (let ch = 0; ch < c; ch++) {
              let v = 0;
              for (let j = 0; j < 4; j++) v += xd[(r0 + tx.index[4 * xx + j]) * c + ch] * tx.weight[4 * xx + j];
              row[(k * ow + xx) * c + ch] = v;
            }
        }
        const d0 = (b * oh + y) * ow * c;
        for (let i = 0; i < ow * c; i++) {
          let v = 0;
          for (let k = 0; k < 4; k++) v += row[k * ow * c + i] * ty.weight[4 * y + k];
          od[d0 + i] = v;
        }
      }
  } else throw new UserError(`Resize ${node.name}: method ${a.method} is not supported (nearest, linear and cubic are)`);
  return [out];
}
