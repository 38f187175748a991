/** Resize on NHWC: nearest and bilinear with MindSpore's coordinate-transform and nearest modes. */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { CoordinateTransformMode as CT, NearestMode as NM, ResizeMethod } from '../ir/schema/ops.js';
import { RT, f32 } from './tensor.js';

export function resize(node: Node, [x, sizeT]: RT[]): RT[] {
  if (x.shape.length !== 4) throw new UserError(`Resize ${node.name}: expects a 4-D NHWC input, got [${x.shape}]`);
  const a = node.attrs;
  const [n, ih, iw, c] = x.shape;
  let oh = a.new_height as number, ow = a.new_width as number;
  if (sizeT) {
    const v = Array.from(sizeT.data as ArrayLike<number>);
    if (sizeT.data instanceof Float32Array) [oh, ow] = [Math.floor(ih * v[0]), Math.floor(iw * v[1])];
    else [oh, ow] = v;
  }
  const mode = (a.coordinate_transform_mode as number) ?? CT.ASYMMETRIC;
  const src = (o: number, inLen: number, outLen: number): number => {
    if (mode === CT.ALIGN_CORNERS) return outLen > 1 ? (o * (inLen - 1)) / (outLen - 1) : 0;
    if (mode === CT.HALF_PIXEL) return (o + 0.5) * (inLen / outLen) - 0.5;
    return o * (inLen / outLen);
  };
  const out = f32([n, oh, ow, c]);
  const od = out.data as Float32Array, xd = x.data as Float32Array;
  if (a.method === ResizeMethod.NEAREST) {
    const nm = (a.nearest_mode as number) ?? NM.NORMAL;
    const pick = (s: number, len: number) => {
      let i: number;
      if (nm === NM.ROUND_HALF_DOWN) i = Math.ceil(s - 0.5);
      else if (nm === NM.ROUND_HALF_UP) i = Math.floor(s + 0.5);
      else if (nm === NM.CEIL) i = Math.ceil(s);
      else if (nm === NM.FLOOR) i = Math.floor(s);
      else i = mode === CT.ALIGN_CORNERS ? Math.round(s) : Math.floor(s);
      return Math.min(Math.max(i, 0), len - 1);
    };
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++) {
        const sy = pick(src(y, ih, oh), ih);
        for (let xx = 0; xx < ow; xx++) {
          const sx = pick(src(xx, iw, ow), iw);
          const s0 = ((b * ih + sy) * iw + sx) * c, d0 = ((b * oh + y) * ow + xx) * c;
          for (let ch = 0; ch < c; ch++) od[d0 + ch] = xd[s0 + ch];
        }
      }
  } else if (a.method === ResizeMethod.LINEAR) {
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++) {
        const fy = Math.min(Math.max(src(y, ih, oh), 0), ih - 1);
        const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, ih - 1), wy = fy - y0;
        for (let xx = 0; xx < ow; xx++) {
          const fx = Math.min(Math.max(src(xx, iw, ow), 0), iw - 1);
          const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, iw - 1), wx = fx - x0;
          const d0 = ((b * oh + y) * ow + xx) * c;
          const p00 = ((b * ih + y0) * iw + x0) * c, p01 = ((b * ih + y0) * iw + x1) * c;
          const p10 = ((b * ih + y1) * iw + x0) * c, p11 = ((b * ih + y1) * iw + x1) * c;
          for (let ch = 0; ch < c; ch++)
            od[d0 + ch] = (xd[p00 + ch] * (1 - wx) + xd[p01 + ch] * wx) * (1 - wy) + (xd[p10 + ch] * (1 - wx) + xd[p11 + ch] * wx) * wy;
        }
      }
  } else throw new UserError(`Resize ${node.name}: method ${a.method} is not supported (nearest and linear are)`);
  return [out];
}
