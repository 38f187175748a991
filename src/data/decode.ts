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

export function decodeImage(bytes: Uint8Array, file = 'image'): RgbImage {
  checkImageSize(bytes, file);
  try {
    if (bytes[0] === 0x42 && bytes[1] === 0x4d) {
      const img = bmp.decode(Buffer.from(bytes));
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

