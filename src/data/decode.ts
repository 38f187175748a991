/** Image decoding in Node: BMP, JPEG and PNG through well-kept pure-JS decoders. */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import bmp from 'bmp-js';
import { UserError } from '../ir/graph.js';
import { checkImageSize, RgbImage } from './images.js';

function rgbaToRgb(rgba: Uint8Array, width: number, height: number, order: 'RGBA' | 'ABGR'): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    if (order === 'RGBA') {
      data[3 * i] = rgba[4 * i];
      data[3 * i + 1] = rgba[4 * i + 1];
      data[3 * i + 2] = rgba[4 * i + 2];
    } else {
      data[3 * i] = rgba[4 * i + 3];
      data[3 * i + 1] = rgba[4 * i + 2];
      data[3 * i + 2] = rgba[4 * i + 1];
    }
  }
  return { width, height, data };
}

/**
 * Uncompressed 24-bit BMP (BI_RGB), the common case, read directly (bmp-js takes ten times longer); undefined
 * for every other kind, which bmp-js decodes.
 */
function decodeBmp24(bytes: Uint8Array): RgbImage | undefined {
  if (bytes.length < 54) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = v.getUint32(10, true), width = v.getInt32(18, true), rawHeight = v.getInt32(22, true);
  if (v.getUint16(28, true) !== 24 || v.getUint32(30, true) !== 0 || width <= 0 || rawHeight === 0) return undefined;
  const height = Math.abs(rawHeight), stride = Math.ceil((24 * width) / 32) * 4;
  if (offset + stride * (height - 1) + width * 3 > bytes.length) return undefined;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    // Rows are stored bottom-up unless the height is negative.
    let src = offset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    for (let x = 0, dst = y * width * 3; x < width; x++, src += 3, dst += 3) {
      data[dst] = bytes[src + 2];
      data[dst + 1] = bytes[src + 1];
      data[dst + 2] = bytes[src];
    }
  }
  return { width, height, data };
}

/**
 * bmp-js reads the palette and pixels right after a 40-byte BITMAPINFOHEADER, whatever the header's size: a
 * V4/V5 header (GIMP's and ImageMagick's default) would shift every pixel. An uncompressed BMP with a larger
 * header is rewritten with the 40-byte one (palette and pixels moved up to follow it).
 */
function withInfoHeader(bytes: Uint8Array): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 54) return bytes;
  const headerSize = v.getUint32(14, true), offset = v.getUint32(10, true);
  if (headerSize <= 40 || v.getUint32(30, true) !== 0 || offset < 14 + headerSize || offset > bytes.length) return bytes;
  const palette = bytes.subarray(14 + headerSize, offset), pixels = bytes.subarray(offset);
  const out = new Uint8Array(54 + palette.length + pixels.length);
  out.set(bytes.subarray(0, 54));
  out.set(palette, 54);
  out.set(pixels, 54 + palette.length);
  const w = new DataView(out.buffer);
  w.setUint32(2, out.length, true);
  w.setUint32(10, 54 + palette.length, true);
  w.setUint32(14, 40, true);
  return out;
}

export function decodeImage(bytes: Uint8Array, file = 'image'): RgbImage {
  checkImageSize(bytes, file);
  try {
    if (bytes[0] === 0x42 && bytes[1] === 0x4d) {
      const fast = decodeBmp24(bytes);
      if (fast) return fast;
      const img = bmp.decode(Buffer.from(withInfoHeader(bytes)));
      return rgbaToRgb(new Uint8Array(img.data), img.width, img.height, 'ABGR');
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      return rgbaToRgb(img.data, img.width, img.height, 'RGBA');
    }
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      const img = PNG.sync.read(Buffer.from(bytes));
      return rgbaToRgb(new Uint8Array(img.data), img.width, img.height, 'RGBA');
    }
  } catch (e) {
    throw new UserError(`${file}: cannot decode image (${(e as Error).message})`);
  }
  throw new UserError(`${file}: not a BMP, JPEG or PNG image`);
}

