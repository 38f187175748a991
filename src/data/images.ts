/**
 * Image preprocessing MindSpore's calibration offers: resize, center crop, color order, mean/std, on 8-bit
 * RGB images. Pure functions, shared by Node and the browser demo (decoding is in decode.ts for Node and
 * the browser's own decoder in the page).
 */
import { UserError } from '../ir/graph.js';

/** 8-bit RGB, row-major HWC. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Bilinear resize with OpenCV's INTER_LINEAR pixel-center convention. */
export function resizeBilinear(img: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const src = img.data, rowLen = img.width * 3;
  const sx = img.width / width, sy = img.height / height;
  // Column taps once per image: byte offsets of x0 / x1 and the weight of x1.
  const x0s = new Int32Array(width), x1s = new Int32Array(width), wxs = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
    const x0 = Math.floor(fx);
    x0s[x] = x0 * 3;
    x1s[x] = Math.min(x0 + 1, img.width - 1) * 3;
    wxs[x] = fx - x0;
  }
  for (let y = 0, o = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy), wy = fy - y0;
    const r0 = y0 * rowLen, r1 = Math.min(y0 + 1, img.height - 1) * rowLen;
    for (let x = 0; x < width; x++) {
      const a = x0s[x], b = x1s[x], wx = wxs[x];
      for (let c = 0; c < 3; c++, o++) {
        const v = (src[r0 + a + c] * (1 - wx) + src[r0 + b + c] * wx) * (1 - wy) + (src[r1 + a + c] * (1 - wx) + src[r1 + b + c] * wx) * wy;
        out[o] = Math.round(v);
      }
    }
  }
  return { width, height, data: out };
}

export function centerCrop(img: RgbImage, width: number, height: number): RgbImage {
  if (width > img.width || height > img.height) throw new UserError(`center crop ${width}x${height} is larger than the image ${img.width}x${img.height}`);
  const x0 = Math.floor((img.width - width) / 2), y0 = Math.floor((img.height - height) / 2);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + width) * 3), y * width * 3);
  return { width, height, data: out };
}

export interface ToTensorOptions {
  channels?: 'RGB' | 'BGR' | 'GRAY';
  mean?: number[];
  std?: number[];
  /** Output layout; NHWC is what converted models take. */
  layout?: 'HWC' | 'CHW';
}

/** Float32 tensor data from an 8-bit image: (pixel - mean) / std per channel. */
export function toTensor(img: RgbImage, o: ToTensorOptions = {}): Float32Array {
  const order = o.channels ?? 'RGB';
  const c = order === 'GRAY' ? 1 : 3;
  const n = img.width * img.height;
  const out = new Float32Array(n * c);
  const d = img.data;
  // Source channel of each output channel, and that channel's mean and std.
  const from = order === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const mean = Array.from({ length: c }, (_, k) => o.mean?.[k] ?? 0), std = Array.from({ length: c }, (_, k) => o.std?.[k] ?? 1);
  const chw = o.layout === 'CHW';
  for (let i = 0; i < n; i++) {
    if (order === 'GRAY') {
      out[i] = (0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2] - mean[0]) / std[0];
      continue;
    }
    for (let k = 0; k < 3; k++) out[chw ? k * n + i : i * 3 + k] = (d[3 * i + from[k]] - mean[k]) / std[k];
  }
  return out;
}

/** Area (box-filter) resize, OpenCV's INTER_AREA for shrinking: every source pixel contributes by overlap. */
export function resizeArea(img: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const sx = img.width / width, sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = y * sy, y1 = y0 + sy;
    for (let x = 0; x < width; x++) {
      const x0 = x * sx, x1 = x0 + sx;
      const acc = [0, 0, 0];
      let wsum = 0;
      for (let yy = Math.floor(y0); yy < Math.min(Math.ceil(y1), img.height); yy++) {
        const wy = Math.min(yy + 1, y1) - Math.max(yy, y0);
        for (let xx = Math.floor(x0); xx < Math.min(Math.ceil(x1), img.width); xx++) {
          const w = wy * (Math.min(xx + 1, x1) - Math.max(xx, x0));
          const p = (yy * img.width + xx) * 3;
          acc[0] += img.data[p] * w; acc[1] += img.data[p + 1] * w; acc[2] += img.data[p + 2] * w;
          wsum += w;
        }
      }
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = Math.round(acc[c] / wsum);
    }
  }
  return { width, height, data: out };
}

export function resizeNearest(img: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.floor((y * img.height) / height), img.height - 1);
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.floor((x * img.width) / width), img.width - 1);
      out.set(img.data.subarray((sy * img.width + sx) * 3, (sy * img.width + sx) * 3 + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data: out };
}

/**
 * Antialiased Lanczos-3 resize (Pillow's ANTIALIAS / LANCZOS): separable, the kernel widened by the shrink
 * factor, weights normalised, horizontal pass then vertical, each rounded to 8 bits.
 */
export function resizeLanczos(img: RgbImage, width: number, height: number): RgbImage {
  const pass = (src: Uint8Array, sw: number, sh: number, horizontal: boolean): Uint8Array => {
    const inLen = horizontal ? sw : sh, outLen = horizontal ? width : height;
    const dw = horizontal ? width : sw, dh = horizontal ? sh : height;
    const out = new Uint8Array(dw * dh * 3);
    const scale = inLen / outLen, fscale = Math.max(scale, 1), support = 3 * fscale;
    const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
    const lanczos = (x: number) => (Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0);
    for (let o = 0; o < outLen; o++) {
      const center = (o + 0.5) * scale;
      const lo = Math.max(0, Math.floor(center - support + 0.5)), hi = Math.min(inLen, Math.floor(center + support + 0.5));
      const w: number[] = [];
      let sum = 0;
      for (let k = lo; k < hi; k++) {
        const v = lanczos((k - center + 0.5) / fscale);
        w.push(v);
        sum += v;
      }
      const other = horizontal ? dh : dw;
      for (let j = 0; j < other; j++)
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let k = lo; k < hi; k++) {
            const si = horizontal ? (j * sw + k) * 3 + c : (k * sw + j) * 3 + c;
            acc += src[si] * w[k - lo];
          }
          const di = horizontal ? (j * dw + o) * 3 + c : (o * dw + j) * 3 + c;
          out[di] = Math.min(255, Math.max(0, Math.round(acc / sum)));
        }
    }
    return out;
  };
  const h = pass(img.data, img.width, img.height, true);
  return { width, height, data: pass(h, width, img.height, false) };
}

/** Images above this many pixels are refused before decoding (a 8K photo is 33 MPix). */
export const MAX_IMAGE_PIXELS = 64e6;

/** Width and height from the header alone (BMP, PNG, JPEG's SOF marker); undefined when not found. */
export function imageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) return { width: v.getInt32(18, true), height: Math.abs(v.getInt32(22, true)) };
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50) return { width: v.getUint32(16), height: v.getUint32(20) };
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    // markers: FF xx, then a 2-byte length; SOF0..SOF15 (not C4 DHT, C8 JPG, CC DAC) hold height, width
    for (let p = 2; p + 9 < bytes.length;) {
      if (bytes[p] !== 0xff) return undefined;
      const m = bytes[p + 1];
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { p += 2; continue; }
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { width: v.getUint16(p + 7), height: v.getUint16(p + 5) };
      p += 2 + v.getUint16(p + 2);
    }
  }
  return undefined;
}

/** Refuses, from the header, an image too large to decode (before any pixel memory is taken). */
export function checkImageSize(bytes: Uint8Array, file: string): void {
  const size = imageSize(bytes);
  if (size && (size.width <= 0 || size.height <= 0 || size.width * size.height > MAX_IMAGE_PIXELS))
    throw new UserError(`${file}: image of ${size.width}x${size.height} pixels refused (at most ${MAX_IMAGE_PIXELS / 1e6} megapixels, positive sizes)`);
}
