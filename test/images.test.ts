/** Image decoding and preprocessing: BMP headers worked by hand, resize and normalization against plain formulas. */
import { describe, it, expect } from 'vitest';
import { decodeImage } from '../src/data/decode.js';
import { resizeBilinear, toTensor, RgbImage } from '../src/data/images.js';
import { NativeImageDecoder } from '../src/data/native-decode.js';
import { calibrationSource } from '../src/quant/calib-data.js';
import { loadModel } from '../src/convert.js';
import { readBytes, PHOTOS, IMAGENET, model, ROOT } from './helpers/data.js';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** A BMP of `img` (RGB rows top to bottom): 24-bit, or 8-bit with a palette of its distinct colors. */
function makeBmp(img: RgbImage, o: { bits: 24 | 8; header: 40 | 124; topDown?: boolean }): Uint8Array {
  const colors = [...new Set(Array.from({ length: img.width * img.height }, (_, i) => img.data.slice(3 * i, 3 * i + 3).join(',')))];
  const palette = o.bits === 8 ? colors.length * 4 : 0;
  const stride = Math.ceil((o.bits * img.width) / 32) * 4;
  const offset = 14 + o.header + palette;
  const out = new Uint8Array(offset + stride * img.height);
  const v = new DataView(out.buffer);
  out[0] = 0x42; out[1] = 0x4d;
  v.setUint32(2, out.length, true);
  v.setUint32(10, offset, true);
  v.setUint32(14, o.header, true);
  v.setInt32(18, img.width, true);
  v.setInt32(22, o.topDown ? -img.height : img.height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, o.bits, true);
  v.setUint32(46, o.bits === 8 ? colors.length : 0, true);
  if (o.bits === 8) colors.forEach((c, k) => { const [r, g, b] = c.split(',').map(Number); out.set([b, g, r, 0], 14 + o.header + 4 * k); });
  for (let y = 0; y < img.height; y++) {
    const row = offset + (o.topDown ? y : img.height - 1 - y) * stride;
    for (let x = 0; x < img.width; x++) {
      const [r, g, b] = img.data.slice(3 * (y * img.width + x), 3 * (y * img.width + x) + 3);
      if (o.bits === 24) out.set([b, g, r], row + 3 * x);
      else out[row + x] = colors.indexOf(`${r},${g},${b}`);
    }
  }
  return out;
}

describe('BMP decoding', () => {
  // 5 x 3 (rows padded to 16 bytes at 24 bits, 8 at 8 bits), seven distinct colors.
  const img: RgbImage = { width: 5, height: 3, data: Uint8Array.from({ length: 45 }, (_, i) => [10, 200, 30, 255, 0, 77, 5][(i * 7 + (i >> 2)) % 7]) };
  for (const bits of [24, 8] as const)
    for (const header of [40, 124] as const)
      for (const topDown of [false, true])
        it(`${bits}-bit, ${header}-byte header, ${topDown ? 'top-down' : 'bottom-up'}: the pixels written`, () => {
          const got = decodeImage(makeBmp(img, { bits, header, topDown }), 't.bmp');
          expect([got.width, got.height]).toEqual([5, 3]);
          expect(Array.from(got.data)).toEqual(Array.from(img.data));
        });

  it('the shared photos\' V5-header BMPs decode at the pixel-data offset (bmp-js read them 28 pixels early)', () => {
    const bytes = readBytes(path.join(IMAGENET, 'bird.bmp'));
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    expect([v.getUint32(10, true), v.getUint32(14, true)]).toEqual([138, 124]);
    const got = decodeImage(bytes, 'bird.bmp');
    // The first stored byte triple (the bottom-left pixel, BGR) at the offset.
    const [b, g, r] = bytes.slice(138, 141);
    expect(Array.from(got.data.slice((got.height - 1) * got.width * 3, (got.height - 1) * got.width * 3 + 3))).toEqual([r, g, b]);
  });
});

describe('preprocessing', () => {
  it('resizeBilinear and toTensor equal the plain formulas (OpenCV pixel centers; (x - mean) / std)', () => {
    for (const file of PHOTOS.slice(0, 6)) {
      const src = decodeImage(readBytes(path.join(IMAGENET, file)), file);
      for (const [w, h] of [[224, 224], [37, 301]]) {
        const got = resizeBilinear(src, w, h);
        const at = (x: number, y: number, c: number) => src.data[(y * src.width + x) * 3 + c];
        for (let k = 0; k < 200; k++) {
          const x = (k * 7919) % w, y = (k * 104729) % h, c = k % 3;
          const fx = Math.min(Math.max((x + 0.5) * (src.width / w) - 0.5, 0), src.width - 1), fy = Math.min(Math.max((y + 0.5) * (src.height / h) - 0.5, 0), src.height - 1);
          const x0 = Math.floor(fx), y0 = Math.floor(fy), x1 = Math.min(x0 + 1, src.width - 1), y1 = Math.min(y0 + 1, src.height - 1), wx = fx - x0, wy = fy - y0;
          const want = Math.round((at(x0, y0, c) * (1 - wx) + at(x1, y0, c) * wx) * (1 - wy) + (at(x0, y1, c) * (1 - wx) + at(x1, y1, c) * wx) * wy);
          expect(got.data[(y * w + x) * 3 + c]).toBe(want);
        }
        const bgr = toTensor(got, { channels: 'BGR', mean: [1, 2, 3], std: [2, 4, 8] });
        const chw = toTensor(got, { channels: 'RGB', layout: 'CHW' });
        const gray = toTensor(got, { channels: 'GRAY', mean: [5], std: [3] });
        for (let i = 0; i < w * h; i += 97) {
          const [r, g, b] = got.data.slice(3 * i, 3 * i + 3);
          expect(Array.from(bgr.slice(3 * i, 3 * i + 3))).toEqual([(b - 1) / 2, (g - 2) / 4, (r - 3) / 8].map(Math.fround));
          expect([chw[i], chw[w * h + i], chw[2 * w * h + i]]).toEqual([r, g, b]);
          expect(gray[i]).toBe(Math.fround((0.299 * r + 0.587 * g + 0.114 * b - 5) / 3));
        }
      }
    }
  });
});

describe('calibration images through sharp (the helper-thread decoder)', () => {
  const native = NativeImageDecoder.get();
  it('sharp loads here (an optional dependency that npm ci installs)', () => {
    expect(native).toBeDefined();
  });

  it('PNG pixels equal pngjs; JPEG within decoder rounding of jpeg-js; a broken JPEG is one error line naming the file', () => {
    for (const file of PHOTOS.filter((f) => !f.endsWith('.bmp'))) {
      const bytes = readBytes(path.join(IMAGENET, file));
      const js = decodeImage(bytes, file), n = native!.take(file, bytes);
      expect([n.width, n.height]).toEqual([js.width, js.height]);
      let sum = 0;
      for (let i = 0; i < js.data.length; i++) sum += Math.abs(js.data[i] - n.data[i]);
      if (file.endsWith('.png')) expect(sum).toBe(0);
      else expect(sum / js.data.length).toBeLessThan(1.5);
    }
    const jpg = readBytes(path.join(IMAGENET, 'owl.jpg'));
    const broken = jpg.slice(0, 600);
    expect(() => native!.take('broken.jpg', broken)).toThrow(/^broken\.jpg: cannot decode image \(.+\)$/);
  });

  it('a calibration source gives the same tensors with and without decoding ahead', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-img-'));
    for (const f of PHOTOS) copyFileSync(path.join(IMAGENET, f), path.join(dir, f));
    const g = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'sq');
    const set = { dirs: [dir], count: 17, inputType: 'IMAGE' as const, image: { format: 'BGR' as const, resize: { width: 224, height: 224, method: 'LINEAR' as const } } };
    const plain = calibrationSource(g, set), ahead = calibrationSource(g, set);
    ahead.prefetch!(0, 17);
    for (let i = 0; i < 17; i++) expect(ahead.get(i)[0]).toEqual(plain.get(i)[0]);
  });
});

describe('without sharp (WEBPTQ_IMAGE_DECODER=js)', () => {
  it('calibration images go through jpeg-js / pngjs: the helper thread is not started and the tensors are the JS decoders\'', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-js-'));
    for (const f of ['owl.jpg', 'fish.png']) copyFileSync(path.join(IMAGENET, f), path.join(dir, f));
    const script = `
      const { NativeImageDecoder } = await import(${JSON.stringify(path.join(ROOT, 'dist/data/native-decode.js'))});
      const { calibrationSource } = await import(${JSON.stringify(path.join(ROOT, 'dist/quant/calib-data.js'))});
      const { Graph } = await import(${JSON.stringify(path.join(ROOT, 'dist/ir/graph.js'))});
      const g = new Graph();
      g.inputs = [g.addTensor({ name: 'x', shape: [1, 32, 32, 3], dtype: 'float32' })];
      const src = calibrationSource(g, { dirs: [${JSON.stringify(dir)}], count: 2, inputType: 'IMAGE', image: { format: 'RGB', resize: { width: 32, height: 32, method: 'LINEAR' } } });
      src.prefetch(0, 2);
      console.log(JSON.stringify({ native: NativeImageDecoder.get() !== undefined, data: [0, 1].map((i) => Array.from(src.get(i)[0])) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, WEBPTQ_IMAGE_DECODER: 'js' }, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { native: boolean; data: number[][] };
    expect(got.native).toBe(false);
    // fish.png sorts first
    ['fish.png', 'owl.jpg'].forEach((f, i) =>
      expect(got.data[i]).toEqual(Array.from(toTensor(resizeBilinear(decodeImage(readBytes(path.join(IMAGENET, f)), f), 32, 32)))));
  });
});
