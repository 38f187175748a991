/** MaxPoolFusion / AvgPoolFusion on NHWC (average excludes padding, as MindSpore and ONNX's default). */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { PadMode } from '../ir/schema/ops.js';
import { RT, f32 } from './tensor.js';
import { applyActivation } from './activation.js';

export interface PoolGeometry {
  n: number; ih: number; iw: number; c: number; oh: number; ow: number; kh: number; kw: number; sh: number; sw: number; pt: number; pl: number;
}

/** Window, stride, padding and output size of a pooling node on an NHWC input (shared with the GPU kernel). */
export function poolGeometry(node: Node, shape: readonly number[]): PoolGeometry {
  if (shape.length !== 4) throw new UserError(`${node.op} ${node.name}: expects a 4-D NHWC input, got [${shape}]`);
  const a = node.attrs;
  const [n, ih, iw, c] = shape;
  let [kh, kw] = (a.kernel_size as number[]) ?? [1, 1];
  let [sh, sw] = (a.strides as number[]) ?? [1, 1];
  let [pt, pb, pl, pr] = (a.pad as number[] | undefined)?.length === 4 ? (a.pad as number[]) : [0, 0, 0, 0];
  let oh: number, ow: number;
  if (a.global) {
    [kh, kw, sh, sw, pt, pb, pl, pr, oh, ow] = [ih, iw, 1, 1, 0, 0, 0, 0, 1, 1];
  } else if (a.pad_mode === PadMode.SAME) {
    oh = Math.ceil(ih / sh);
    ow = Math.ceil(iw / sw);
    const th = Math.max(0, (oh - 1) * sh + kh - ih), tw = Math.max(0, (ow - 1) * sw + kw - iw);
    [pt, pb, pl, pr] = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    if (a.pad_mode === PadMode.VALID) [pt, pb, pl, pr] = [0, 0, 0, 0];
    const round = a.round_mode === 1 ? Math.ceil : Math.floor;
    oh = round((ih + pt + pb - kh) / sh) + 1;
    ow = round((iw + pl + pr - kw) / sw) + 1;
    // With ceil rounding the last window must start inside the (left-padded) input.
    if (a.round_mode === 1) {
      if ((oh - 1) * sh >= ih + pt) oh--;
      if ((ow - 1) * sw >= iw + pl) ow--;
    }
  }
  return { n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl };
}

export function pool(node: Node, [x]: RT[]): RT[] {
  const { n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl } = poolGeometry(node, x.shape);
  const isMax = node.op === 'MaxPoolFusion';
  const out = f32([n, oh, ow, c]);
  const od = out.data as Float32Array, xd = x.data as Float32Array;
  const acc = new Float64Array(c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const y0 = Math.max(oy * sh - pt, 0), y1 = Math.min(oy * sh - pt + kh, ih);
        const x0 = Math.max(ox * sw - pl, 0), x1 = Math.min(ox * sw - pl + kw, iw);
        acc.fill(isMax ? -Infinity : 0);
        for (let iy = y0; iy < y1; iy++)
          for (let ix = x0; ix < x1; ix++) {
            const src = ((b * ih + iy) * iw + ix) * c;
            if (isMax) for (let ch = 0; ch < c; ch++) { const v = xd[src + ch]; if (v > acc[ch]) acc[ch] = v; }
            else for (let ch = 0; ch < c; ch++) acc[ch] += xd[src + ch];
          }
        const count = (y1 - y0) * (x1 - x0);
        const dst = ((b * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) od[dst + ch] = isMax ? acc[ch] : acc[ch] / count;
      }
  applyActivation(od, (node.attrs.activation_type as number) ?? 0);
  return [out];
}
