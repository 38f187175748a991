/**
 * Conv2DFusion and Conv2dTransposeFusion on NHWC activations with KHWC weights ([Cout, KH, KW, Cin/group]),
 * as MindSpore Lite lays them out. Regular convolutions are im2col + a register-blocked GEMM; depthwise has
 * its own direct loop.
 */
import type { Node } from '../ir/graph.js';
import { convGeometry, deconvGeometry, isDepthwise, ConvGeometry } from '../ir/op-params.js';
import { RT, f32 } from '../ir/tensor.js';
import { applyActivation } from './activation.js';
import { gemmNT } from './gemm.js';
import { wasmConv, fusesActivation } from './wasm/conv.js';

export function conv2d(node: Node, [x, w, bias]: RT[]): RT[] {
  const g = convGeometry(node, x.shape, w.shape);
  const act = (node.attrs.activation_type as number) ?? 0;
  const fast = wasmConv(g, x.data as Float32Array, w.data as Float32Array, bias?.data as Float32Array | undefined, act);
  if (fast) {
    if (!fusesActivation(act)) applyActivation(fast, act);
    return [{ shape: [g.n, g.oh, g.ow, g.oc], data: fast }];
  }
  return [convReference(node, g, x, w, bias)];
}

/** The TypeScript convolution, the reference the WebAssembly kernels are tested against. */
export function convReference(node: Node, g: ConvGeometry, x: RT, w: RT, bias: RT | undefined): RT {
  const out = f32([g.n, g.oh, g.ow, g.oc]);
  const od = out.data as Float32Array;
  convAccumulate(g, x.data as Float32Array, w.data as Float32Array, bias?.data as Float32Array | undefined, od);
  applyActivation(od, (node.attrs.activation_type as number) ?? 0);
  return out;
}

/**
 * The convolution sums (plus bias) into `od`. With integer-valued inputs and a Float64Array output the sums
 * are exact, which is how the int8 kernel gets its int32 accumulators.
 */
export function convAccumulate(
  g: ConvGeometry, xd: Float32Array, wd: Float32Array, bd: ArrayLike<number> | undefined,
  od: Float32Array | Float64Array,
): void {
  const icg = g.ic / g.group;
  const ocg = g.oc / g.group;
  if (isDepthwise(g)) depthwise(g, xd, wd, od);
  else {
    const K = g.kh * g.kw * icg;
    const M = g.oh * g.ow;
    const direct = g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0 && g.group === 1;
    const col = direct ? null : new Float32Array(M * K);
    for (let b = 0; b < g.n; b++) {
      for (let gi = 0; gi < g.group; gi++) {
        let a: Float32Array;
        if (col) {
          im2col(g, xd, b, gi * icg, icg, col);
          a = col;
        } else a = xd.subarray(b * M * g.ic, (b + 1) * M * g.ic);
        const wg = wd.subarray(gi * ocg * K, (gi + 1) * ocg * K);
        // out[m, gi*ocg + co] = sum_k a[m,k] * wg[co,k]
        gemmNT(M, ocg, K, a, K, wg, K, od.subarray(b * M * g.oc), g.oc, gi * ocg);
      }
    }
  }
  if (bd) for (let i = 0; i < od.length; i += g.oc) for (let c = 0; c < g.oc; c++) od[i + c] += bd[c];
}

function im2col(g: ConvGeometry, x: Float32Array, b: number, c0: number, cn: number, col: Float32Array): void {
  let p = 0;
  const base = b * g.ih * g.iw * g.ic;
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++)
      for (let ky = 0; ky < g.kh; ky++) {
        const iy = oy * g.sh - g.padTop + ky * g.dh;
        for (let kx = 0; kx < g.kw; kx++) {
          const ix = ox * g.sw - g.padLeft + kx * g.dw;
          if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw) {
            col.fill(0, p, p + cn);
          } else {
            const src = base + (iy * g.iw + ix) * g.ic + c0;
            for (let c = 0; c < cn; c++) col[p + c] = x[src + c];
          }
          p += cn;
        }
      }
}

function depthwise(g: ConvGeometry, x: Float32Array, w: Float32Array, out: Float32Array | Float64Array): void {
  const C = g.oc;
  const acc = new Float64Array(C);
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++) {
        acc.fill(0);
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky * g.dh;
          if (iy < 0 || iy >= g.ih) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx * g.dw;
            if (ix < 0 || ix >= g.iw) continue;
            const src = ((b * g.ih + iy) * g.iw + ix) * C;
            const wo = ky * g.kw + kx;
            const kk = g.kh * g.kw;
            for (let c = 0; c < C; c++) acc[c] += x[src + c] * w[c * kk + wo];
          }
        }
        const dst = ((b * g.oh + oy) * g.ow + ox) * C;
        for (let c = 0; c < C; c++) out[dst + c] = acc[c];
      }
}

export function convTranspose(node: Node, [x, w, bias]: RT[]): RT[] {
  const a = node.attrs;
  const { n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, group } = deconvGeometry(node, x.shape, w.shape);
  const ocg = oc / group;
  const icg = ic / group;
  const out = f32([n, oh, ow, oc]);
  const od = out.data as Float32Array;
  const xd = x.data as Float32Array;
  const wd = w.data as Float32Array;
  for (let b = 0; b < n; b++)
    for (let iy = 0; iy < ih; iy++)
      for (let ix = 0; ix < iw; ix++)
        for (let gi = 0; gi < group; gi++)
          for (let ci = 0; ci < icg; ci++) {
            const cin = gi * icg + ci;
            const v = xd[((b * ih + iy) * iw + ix) * ic + cin];
            if (v === 0) continue;
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * sh - pt + ky * dh;
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * sw - pl + kx * dw;
                if (ox < 0 || ox >= ow) continue;
                const wo = ((cin * kh + ky) * kw + kx) * ocg;
                const oo = ((b * oh + oy) * ow + ox) * oc + gi * ocg;
                for (let co = 0; co < ocg; co++) od[oo + co] += v * wd[wo + co];
              }
            }
          }
  if (bias) {
    const bd = bias.data as Float32Array;
    for (let i = 0; i < od.length; i += oc) for (let c = 0; c < oc; c++) od[i + c] += bd[c];
  }
  applyActivation(od, (a.activation_type as number) ?? 0);
  return [out];
}
