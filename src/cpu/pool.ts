/** MaxPoolFusion / AvgPoolFusion on NHWC (average excludes padding, as MindSpore and ONNX's default). */
import type { Node } from '../ir/graph.js';
import { poolGeometry } from '../ir/op-params.js';
import type { PoolGeometry } from '../ir/op-params.js';
import { RT, f32 } from '../ir/tensor.js';
import { applyActivation } from './activation.js';
import { wasmPool } from './wasm/conv.js';

export function pool(node: Node, [x]: RT[]): RT[] {
  const geo = poolGeometry(node, x.shape);
  const isMax = node.op === 'MaxPoolFusion';
  const fast = wasmPool(geo, x.data as Float32Array, isMax);
  if (fast) {
    applyActivation(fast, (node.attrs.activation_type as number) ?? 0);
    return [{ shape: [geo.n, geo.oh, geo.ow, geo.c], data: fast }];
  }
  return [poolReference(node, x)];
}

/**
 * Visits every output pixel of a pooling: `dst`, its offset in the NHWC output, and the offsets of the input
 * pixels its window covers (padding excluded), through `each`.
 */
export function forEachPoolWindow(p: PoolGeometry, window: (dst: number, each: (visit: (src: number) => void) => void, count: number) => void): void {
  const { n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl } = p;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const y0 = Math.max(oy * sh - pt, 0), y1 = Math.min(oy * sh - pt + kh, ih);
        const x0 = Math.max(ox * sw - pl, 0), x1 = Math.min(ox * sw - pl + kw, iw);
        const each = (visit: (src: number) => void) => {
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) visit(((b * ih + iy) * iw + ix) * c);
        };
        window(((b * oh + oy) * ow + ox) * c, each, (y1 - y0) * (x1 - x0));
      }
}

/** The TypeScript pooling, the reference the WebAssembly kernel is tested against. */
export function poolReference(node: Node, x: RT): RT {
  const geo = poolGeometry(node, x.shape);
  const { n, c, oh, ow } = geo;
  const isMax = node.op === 'MaxPoolFusion';
  const out = f32([n, oh, ow, c]);
  const od = out.data as Float32Array, xd = x.data as Float32Array;
  const acc = new Float64Array(c);
  forEachPoolWindow(geo, (dst, each, count) => {
    acc.fill(isMax ? -Infinity : 0);
    each((src) => {
      if (isMax) for (let ch = 0; ch < c; ch++) { const v = xd[src + ch]; if (v > acc[ch]) acc[ch] = v; }
      else for (let ch = 0; ch < c; ch++) acc[ch] += xd[src + ch];
    });
    for (let ch = 0; ch < c; ch++) od[dst + ch] = isMax ? acc[ch] : acc[ch] / count;
  });
  applyActivation(od, (node.attrs.activation_type as number) ?? 0);
  return out;
}
