/**
 * Conv2DFusion and Conv2dTransposeFusion on NHWC activations with KHWC weights ([Cout, KH, KW, Cin/group]),
 * as MindSpore Lite lays them out. Regular convolutions are im2col + a register-blocked GEMM; depthwise has
 * its own direct loop.
 */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { PadMode } from '../ir/schema/ops.js';
import { RT, f32 } from './tensor.js';
import { applyActivation } from './activation.js';
import { gemmNT } from './gemm.js';

export interface ConvGeometry {
  n: number; ih: number; iw: number; ic: number;
  oh: number; ow: number; oc: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  padTop: number; padLeft: number; group: number;
}

/** Output size and padding for SAME (TF split: top = total/2), VALID or explicit pads. */
export function convGeometry(node: Node, input: readonly number[], weightShape: readonly number[]): ConvGeometry {
  if (input.length !== 4) throw new UserError(`${node.op} ${node.name}: expects a 4-D NHWC input, got [${input}]`);
  const a = node.attrs;
  const [n, ih, iw, ic] = input;
  const [oc, kh, kw] = weightShape;
  const [sh, sw] = (a.stride as number[]) ?? [1, 1];
  const [dh, dw] = (a.dilation as number[]) ?? [1, 1];
  const group = (a.group as number) || 1;
  const ekh = (kh - 1) * dh + 1;
  const ekw = (kw - 1) * dw + 1;
  let oh: number, ow: number, padTop = 0, padLeft = 0;
  const mode = a.pad_mode as number;
  if (mode === PadMode.SAME) {
    oh = Math.ceil(ih / sh);
    ow = Math.ceil(iw / sw);
    padTop = Math.floor(Math.max(0, (oh - 1) * sh + ekh - ih) / 2);
    padLeft = Math.floor(Math.max(0, (ow - 1) * sw + ekw - iw) / 2);
  } else if (mode === PadMode.VALID) {
    oh = Math.floor((ih - ekh) / sh) + 1;
    ow = Math.floor((iw - ekw) / sw) + 1;
  } else {
    const [t, b, l, r] = (a.pad_list as number[] | undefined)?.length === 4 ? (a.pad_list as number[]) : [0, 0, 0, 0];
    padTop = t;
    padLeft = l;
    oh = Math.floor((ih + t + b - ekh) / sh) + 1;
    ow = Math.floor((iw + l + r - ekw) / sw) + 1;
  }
  return { n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, padTop, padLeft, group };
}

export function conv2d(node: Node, [x, w, bias]: RT[]): RT[] {
  const g = convGeometry(node, x.shape, w.shape);
  const out = f32([g.n, g.oh, g.ow, g.oc]);
  const od = out.data as Float32Array;
  convAccumulate(node, g, x.data as Float32Array, w.shape, w.data as Float32Array, bias?.data as Float32Array | undefined, od);
  applyActivation(od, (node.attrs.activation_type as number) ?? 0);
  return [out];
}

/**
 * The convolution sums (plus bias) into `od`. With integer-valued inputs and a Float64Array output the sums
 * are exact, which is how the int8 kernel gets its int32 accumulators.
 */
export function convAccumulate(
  node: Node, g: ConvGeometry, xd: Float32Array, wShape: number[], wd: Float32Array, bd: ArrayLike<number> | undefined,
  od: Float32Array | Float64Array,
): void {
  const w = { shape: wShape };
  const icg = g.ic / g.group;
  const ocg = g.oc / g.group;
  if (w.shape[3] !== icg) throw new UserError(`Conv2DFusion ${node.name}: weight [${w.shape}] does not match input channels ${g.ic} / group ${g.group}`);
  if (g.group === g.ic && g.group === g.oc && icg === 1) depthwise(g, xd, wd, od);
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

/**
 * Transposed convolution. Weight [Cin, KH, KW, Cout/group] (the ONNX [Cin, Cout/g, KH, KW] weight moved to
 * channels-last). Output size: (i-1)*s - padBegin - padEnd + dilated kernel + output_padding.
 */
export interface DeconvGeometry {
  n: number; ih: number; iw: number; ic: number; oh: number; ow: number; oc: number; kh: number; kw: number;
  sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; group: number;
}

export function deconvGeometry(node: Node, input: readonly number[], weightShape: readonly number[]): DeconvGeometry {
  const a = node.attrs;
  const [n, ih, iw, ic] = input;
  const [, kh, kw, ocg] = weightShape;
  const group = (a.group as number) || 1;
  const [sh, sw] = (a.stride as number[]) ?? [1, 1];
  const [dh, dw] = (a.dilation as number[]) ?? [1, 1];
  const [pt, pb, pl, pr] = (a.pad_list as number[] | undefined)?.length === 4 ? (a.pad_list as number[]) : [0, 0, 0, 0];
  const [oph, opw] = (a.output_paddings as number[] | undefined) ?? [0, 0];
  const oh = (ih - 1) * sh - pt - pb + (kh - 1) * dh + 1 + (oph ?? 0);
  const ow = (iw - 1) * sw - pl - pr + (kw - 1) * dw + 1 + (opw ?? 0);
  return { n, ih, iw, ic, oh, ow, oc: ocg * group, kh, kw, sh, sw, dh, dw, pt, pl, group };
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
