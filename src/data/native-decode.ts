/**
 * JPEG and PNG decoding through sharp (libvips with libjpeg-turbo / libspng), when the optional package loads:
 * about ten times faster than jpeg-js. Decoding runs in a helper thread, so a caller can ask for the next
 * batch's files ahead (`request`) and block only when it needs one (`take`, synchronous: calibration sources
 * are synchronous). Like OpenCV's imread (what MindSpore's converter reads calibration images with), an embedded
 * ICC profile is not applied and 4:2:0 chroma is upsampled smoothly, where jpeg-js replicates it: pixel values
 * differ from jpeg-js by a few levels (mean 0.5-1.0 on the shared photos). BMP (which sharp cannot read) and
 * every image when sharp is missing go through decode.ts.
 * `WEBPTQ_IMAGE_DECODER=js` turns this off, for results identical to the browser-independent JS decoders.
 */
import { createRequire } from 'node:module';
import { Worker, MessageChannel, MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { UserError } from '../ir/graph.js';
import { RgbImage, MAX_IMAGE_PIXELS } from './images.js';

interface Decoded {
  id: number;
  width?: number;
  height?: number;
  data?: Uint8Array;
  error?: string;
}

/** The helper thread: decodes what it is sent with sharp, posts the RGB pixels, and bumps the shared counter. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const sharp = require(workerData.sharpPath);
const { port, maxPixels } = workerData;
const done = new Int32Array(workerData.done);
port.on('message', async ({ id, bytes }) => {
  let msg;
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .removeAlpha().keepIccProfile().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(info.channels + ' channels after conversion to sRGB');
    const pixels = new Uint8Array(data);
    msg = { id, width: info.width, height: info.height, data: pixels };
  } catch (e) {
    msg = { id, error: String((e && e.message) || e) };
  }
  port.postMessage(msg, msg.data ? [msg.data.buffer] : []);
  Atomics.add(done, 0, 1);
  Atomics.notify(done, 0);
});
`;

/** How long a caller waits for one image before giving up on the helper thread. */
const WAIT_MS = 60_000;

export class NativeImageDecoder {
  private readonly port: MessagePort;
  private readonly done: Int32Array;
  private readonly results = new Map<number, Decoded>();
  /** File -> request id, for files asked for and not yet taken. */
  private readonly requested = new Map<string, number>();
  private nextId = 1;

  private constructor(sharpPath: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.done = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(WORKER_SOURCE, {
      eval: true, workerData: { sharpPath, port: port2, done: this.done.buffer, maxPixels: MAX_IMAGE_PIXELS }, transferList: [port2],
    });
    // Neither the thread nor its port keeps the process alive once the work is done.
    worker.unref();
    this.port.unref();
  }

  private static instance: NativeImageDecoder | null | undefined;

  /** The process's decoder, or undefined when sharp does not load (or WEBPTQ_IMAGE_DECODER=js). */
  static get(): NativeImageDecoder | undefined {
    if (NativeImageDecoder.instance === undefined) {
      NativeImageDecoder.instance = null;
      if (process.env.WEBPTQ_IMAGE_DECODER !== 'js') {
        try {
          const require = createRequire(import.meta.url);
          // sharp is loaded on the main thread first, so its shared libraries outlive the helper (glibc).
          require('sharp');
          NativeImageDecoder.instance = new NativeImageDecoder(require.resolve('sharp'));
        } catch {
          // optional dependency absent or its native part unusable: the JS decoders serve
        }
      }
    }
    return NativeImageDecoder.instance ?? undefined;
  }

  /** Whether sharp reads this file: JPEG and PNG by their magic bytes. */
  static handles(bytes: Uint8Array): boolean {
    return (bytes[0] === 0xff && bytes[1] === 0xd8) || (bytes[0] === 0x89 && bytes[1] === 0x50);
  }

  /** Starts decoding `file` (its bytes already read and size-checked) in the helper thread. */
  request(file: string, bytes: Uint8Array): void {
    if (this.requested.has(file)) return;
    const id = this.nextId++;
    this.requested.set(file, id);
    this.port.postMessage({ id, bytes });
  }

  /** Whether `file` was requested and not yet taken (its bytes are with the helper thread). */
  pending(file: string): boolean {
    return this.requested.has(file);
  }

  /** The decoded image of `file`, requested now (from `bytes`) if it was not already; blocks until it is ready. */
  take(file: string, bytes?: Uint8Array): RgbImage {
    if (!this.requested.has(file)) {
      if (!bytes) throw new Error(`NativeImageDecoder: ${file} was not requested and no bytes were given`);
      this.request(file, bytes);
    }
    const id = this.requested.get(file)!;
    this.requested.delete(file);
    const r = this.wait(id);
    if (r.error !== undefined) throw new UserError(`${file}: cannot decode image (${r.error})`);
    return { width: r.width!, height: r.height!, data: r.data! };
  }

  private wait(id: number): Decoded {
    for (;;) {
      const seen = Atomics.load(this.done, 0);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.results.set((m.message as Decoded).id, m.message as Decoded);
      const r = this.results.get(id);
      if (r) {
        this.results.delete(id);
        return r;
      }
      if (Atomics.wait(this.done, 0, seen, WAIT_MS) === 'timed-out') throw new UserError(`the image decoding thread did not answer in ${WAIT_MS / 1000} s`);
    }
  }
}
