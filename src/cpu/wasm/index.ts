/**
 * The WebAssembly SIMD kernels (assembly/kernels.ts) behind the CPU executor's convolutions, GEMMs and pooling.
 * One memory holds packed weights (packed once per weight array, kept while the process runs) followed by a
 * per-call arena for the activations a kernel reads and writes. Where WebAssembly or SIMD is missing, or
 * WEBPTQ_WASM=0, `wasmKernels()` is undefined and the TypeScript kernels run (they stay the reference in tests).
 *
 * Threads: the memory is shared and worker threads (Node's worker_threads; in a browser Web Workers, when the
 * page is cross-origin isolated so that memory can be shared) instantiate the same module on it; a kernel call
 * is split into ranges (rows, pixels), each worker runs one and the calling thread the first, then waits on an
 * atomic counter (spinning, on a page's main thread, where Atomics.wait is refused). The executor stays
 * synchronous. A page that is not cross-origin isolated runs the kernels on one thread.
 */
import { KERNELS_WASM_BASE64, KERNELS_SHARED_WASM_BASE64 } from './kernels.generated.js';

export interface Exports {
  packWeights(w: number, N: number, K: number, out: number): void;
  gemm(m0: number, m1: number, N: number, K: number, a: number, lda: number, packed: number, bias: number, c: number, ldc: number, act: number): void;
  convTiles(x: number, ih: number, iw: number, ic: number, ow: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
    pt: number, pl: number, c0: number, cg: number, b: number, p0: number, p1: number, col: number, tile: number, direct: number,
    packed: number, N: number, bias: number, out: number, ldc: number, act: number): void;
  depthwise(x: number, n: number, ih: number, iw: number, C: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number,
    dh: number, dw: number, pt: number, pl: number, w: number, bias: number, out: number, act: number, oy0: number, oy1: number): void;
  pool(x: number, n: number, ih: number, iw: number, C: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, isMax: number, out: number, oy0: number, oy1: number): void;
  depthwiseI8(x: number, xZp: number, n: number, ih: number, iw: number, C: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number,
    dh: number, dw: number, pt: number, pl: number, w: number, acc: number, oy0: number, oy1: number): void;
  poolMaxI8(x: number, n: number, ih: number, iw: number, C: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, out: number, oy0: number, oy1: number): void;
  packWeightsI16(w: number, N: number, K: number, out: number): void;
  gemmI16(m0: number, m1: number, N: number, K: number, a: number, lda: number, packed: number, acc: number, ldc: number): void;
  convTilesI16(x: number, xZp: number, ih: number, iw: number, ic: number, ow: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
    pt: number, pl: number, c0: number, cg: number, b: number, p0: number, p1: number, col: number, tile: number, packed: number, N: number, acc: number, ldc: number): void;
  convRequantI16(x: number, xZp: number, ih: number, iw: number, ic: number, ow: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
    pt: number, pl: number, b: number, p0: number, p1: number, col: number, tile: number, packed: number, N: number, acc: number, spec: number, out: number): void;
  requantize(acc: number, rows: number, N: number, bias: number, mult: number, leftPow: number, rshift: number, rmask: number, zp: number, lo: number, hi: number, out: number): void;
  quantizeF32(x: number, count: number, inverseScale: number, zp: number, out: number): void;
  dequantizeI8(q: number, count: number, scale: number, zp: number, out: number): void;
  minMaxF32(x: number, count: number, out: number): void;
  histogramF32(x: number, count: number, interval: number, bins: number, hist: number): void;
}

/** The kernels workers can run, by index in a task. */
export const TASKS = ['gemm', 'convTiles', 'depthwise', 'pool', 'gemmI16', 'convTilesI16', 'requantize', 'poolMaxI8', 'convRequantI16', 'depthwiseI8'] as const;
export type Task = (typeof TASKS)[number];

/** Below this the module's own data lives (a few bytes of scratch). */
const HEAP_BASE = 65536;
const PAGE = 65536;

/**
 * Control words: [0] generation, [1] workers done, [2] the memory's size in pages when the task was posted, [3]
 * unused; then one task slot per worker: kernel index, status (1 when the part threw), argument count, arguments.
 */
const HEADER = 4;
/** Worker threads that ended after starting (none should): the pool then runs on the calling thread. */
let lostWorkers = 0;
/** How long a call may wait on workers that make no progress before it fails. */
const STALL_MS = 120_000;
/** Checks of a control word before a thread sleeps on it (tens of microseconds: about a wake-up's cost). */
const SPIN = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.WEBPTQ_SPIN ?? 20000);
const SLOT = 40;
const CONTROL_WORDS = HEADER + 16 * SLOT;

export class WasmKernels {
  private top = HEAP_BASE;
  private arenaTop = HEAP_BASE;
  private cache = new WeakMap<object, Map<string, number>>();
  /** Threads a call is split over (this one included); at most the workers started plus one. */
  threads = 1;
  /** Calls that were split over more than one thread (tests check that a pool is really used). */
  splitCalls = 0;

  /** `canWait`: this thread may block in Atomics.wait (not a page's main thread). */
  constructor(readonly memory: WebAssembly.Memory, readonly k: Exports, private control?: Int32Array, readonly workers = 0, private canWait = true) {
    this.threads = workers + 1;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
  }

  /** Float32 view of the memory (a new one after the memory grew). */
  get f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** Floats that stay for the process (packed weights): only while no scratch is allocated. */
  private persistent(floats: number): number {
    if (this.arenaTop !== this.top) throw new Error('WasmKernels: constants must be prepared before a call allocates scratch');
    const p = this.top;
    this.top += Math.ceil(floats / 4) * 16;
    this.arenaTop = this.top;
    this.ensure(this.top);
    return p;
  }

  /** Scratch for one kernel call: released by `release()`. */
  alloc(floats: number): number {
    const p = this.arenaTop;
    this.arenaTop += Math.ceil(floats / 4) * 16;
    this.ensure(this.arenaTop);
    return p;
  }

  release(): void {
    this.arenaTop = this.top;
  }

  /** Copies `data` into the arena; returns its pointer. */
  put(data: Float32Array): number {
    const p = this.alloc(data.length);
    this.f32.set(data, p >> 2);
    return p;
  }

  read(p: number, floats: number): Float32Array {
    return this.f32.slice(p >> 2, (p >> 2) + floats);
  }

  /** Copies any typed array (int16 operands, int32 parameters) into the arena; returns its pointer. */
  putBytes(data: ArrayBufferView): number {
    const p = this.alloc(Math.ceil(data.byteLength / 4));
    new Uint8Array(this.memory.buffer, p, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return p;
  }

  readInt8(p: number, count: number): Int8Array {
    return new Int8Array(this.memory.buffer, p, count).slice();
  }

  /**
   * A derived form of a constant (packed weights, padded bias), computed once per array and `key`; call before
   * the kernel call allocates its scratch.
   */
  cached(owner: object, key: string, floats: number, fill: (p: number) => void): number {
    let m = this.cache.get(owner);
    if (!m) this.cache.set(owner, (m = new Map()));
    let p = m.get(key);
    if (p === undefined) {
      p = this.persistent(floats);
      fill(p); // may use scratch above it for the source data
      this.release();
      m.set(key, p);
    }
    return p;
  }

  /**
   * Runs `task` once per part: parts[0] on this thread, the others on workers, and returns when all are done.
   * Each part is the kernel's full argument list.
   */
  parallel(task: Task, parts: number[][]): void {
    if (lostWorkers) this.control = undefined; // a worker thread ended: one thread from now on
    const c = this.control;
    if (!c || parts.length === 1) {
      for (const args of parts) (this.k[task] as (...a: number[]) => void)(...args);
      return;
    }
    if (parts.length > this.threads) throw new Error(`WasmKernels: ${parts.length} parts for ${this.threads} threads`);
    if (parts.some((p) => p.length > SLOT - 3)) throw new Error(`WasmKernels: ${task} takes more arguments than a task slot holds`);
    for (let w = 0; w < this.workers; w++) {
      const args = parts[w + 1], base = HEADER + w * SLOT;
      c[base] = args ? TASKS.indexOf(task) : -1;
      c[base + 1] = 0;
      if (args) {
        c[base + 2] = args.length;
        c.set(args, base + 3);
      }
    }
    c[2] = this.memory.buffer.byteLength / PAGE;
    this.splitCalls++;
    Atomics.store(c, 1, 0);
    Atomics.add(c, 0, 1);
    Atomics.notify(c, 0);
    const run = (args: number[]) => (this.k[task] as (...a: number[]) => void)(...args);
    run(parts[0]);
    for (let i = 0; i < SPIN && Atomics.load(c, 1) !== this.workers; i++);
    // Waits re-check every second, so no missed wake-up can stall a call for long; a worker that ended has its
    // part run here, and a pool that stops answering altogether is an error rather than a hang.
    let last = -1, since = Date.now();
    for (;;) {
      const done = Atomics.load(c, 1);
      if (done === this.workers) break;
      if (lostWorkers) {
        for (const args of parts.slice(1)) run(args); // every part computes its outputs afresh: repeating one is harmless
        this.control = undefined;
        return;
      }
      if (done !== last) [last, since] = [done, Date.now()];
      else if (Date.now() - since > STALL_MS) throw new Error(`WebAssembly kernel threads stopped answering (${task}: ${done} of ${this.workers} parts done)`);
      if (this.canWait) Atomics.wait(c, 1, done, 1000);
    }
    // A part a worker could not run (its view of the grown memory lagging, say) runs here: the same
    // arithmetic on the same memory, so the result does not depend on which thread ran it.
    for (let w = 0; w < this.workers; w++) if (c[HEADER + w * SLOT + 1] && parts[w + 1]) run(parts[w + 1]);
  }
}

/** What a worker runs: instantiate the module on the shared memory, say so, then serve task slots forever. */
const SERVE_SOURCE = `
function serve({ module, memory, control, slot, names, slotWords, header, spin }, ready) {
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = names.map((n) => k[n]);
  const c = new Int32Array(control);
  let gen = Atomics.load(c, 0);
  let pages = memory.buffer.byteLength / 65536;
  ready();
  for (;;) {
    // A layer's next call usually comes within tens of microseconds: spin briefly before sleeping, since waking
    // a sleeping thread costs about as much.
    for (let i = 0; i < spin && Atomics.load(c, 0) === gen; i++);
    if (Atomics.wait(c, 0, gen, 1000) === 'timed-out' && Atomics.load(c, 0) === gen) continue; // re-check each second
    gen = Atomics.load(c, 0);
    const base = header + slot * slotWords;
    const fn = c[base];
    try {
      // The main thread grew the shared memory: growing by 0 pages here makes this thread's instance see the new
      // size at once (bulk memory copies check it), instead of whenever the engine's interrupt arrives.
      if (c[2] !== pages) {
        memory.grow(0);
        pages = c[2];
      }
      if (fn >= 0) fns[fn](...c.subarray(base + 3, base + 3 + c[base + 2]));
    } catch {
      c[base + 1] = 1; // the main thread runs this part itself; a worker never dies with the pool waiting on it
    }
    Atomics.add(c, 1, 1);
    Atomics.notify(c, 1);
  }
}`;
const NODE_WORKER_SOURCE = `${SERVE_SOURCE}
const { parentPort, workerData } = require('node:worker_threads');
serve(workerData, () => parentPort.postMessage('ready'));`;
const WEB_WORKER_SOURCE = `${SERVE_SOURCE}
onmessage = (e) => serve(e.data, () => postMessage('ready'));`;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

interface PoolSetup { module: WebAssembly.Module; memory: WebAssembly.Memory; control: Int32Array; count: number }
const workerData = (p: PoolSetup, slot: number) => ({
  module: p.module, memory: p.memory, control: p.control.buffer, slot, names: [...TASKS], slotWords: SLOT, header: HEADER, spin: SPIN,
});

/** Worker threads for the kernels (Node, shared memory available, more than one core). */
async function startNodeWorkers(p: PoolSetup): Promise<number> {
  const { Worker } = await import('node:worker_threads');
  await Promise.all(Array.from({ length: p.count }, (_, slot) => new Promise<void>((resolve, reject) => {
    const w = new Worker(NODE_WORKER_SOURCE, { eval: true, workerData: workerData(p, slot) });
    w.once('message', () => {
      w.unref(); // the pool never keeps a process alive (only its start-up does)
      w.once('exit', () => lostWorkers++);
      resolve();
    });
    w.once('error', reject);
  })));
  return p.count;
}

/** Web Workers for the kernels (a cross-origin isolated page: the memory can be shared with them). */
async function startWebWorkers(p: PoolSetup): Promise<number> {
  const url = URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  await Promise.all(Array.from({ length: p.count }, (_, slot) => new Promise<void>((resolve, reject) => {
    const w = new Worker(url);
    w.onmessage = () => resolve();
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage(workerData(p, slot));
  })));
  URL.revokeObjectURL(url);
  return p.count;
}

async function load(): Promise<WasmKernels | undefined> {
  const g = globalThis as { process?: { env?: Record<string, string | undefined>; versions?: { node?: string } }; crossOriginIsolated?: boolean;
    navigator?: { hardwareConcurrency?: number }; document?: unknown };
  const env = g.process?.env;
  if (env?.WEBPTQ_WASM === '0' || typeof WebAssembly === 'undefined') return undefined;
  try {
    const isNode = !!g.process?.versions?.node;
    // a page shares memory with Web Workers only when cross-origin isolated (COOP + COEP headers)
    const webPool = !isNode && g.crossOriginIsolated === true && typeof Worker !== 'undefined';
    const cores = isNode ? (await import('node:os')).availableParallelism() : webPool ? g.navigator?.hardwareConcurrency ?? 1 : 1;
    const wanted = Math.max(1, Math.min(16, Number(env?.WEBPTQ_THREADS) || cores));
    if (wanted > 1 && typeof SharedArrayBuffer !== 'undefined') {
      const memory = new WebAssembly.Memory({ initial: 2, maximum: 32768, shared: true });
      const module = await WebAssembly.compile(decode(KERNELS_SHARED_WASM_BASE64));
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
      const setup = { module, memory, control, count: wanted - 1 };
      const workers = await (isNode ? startNodeWorkers(setup) : startWebWorkers(setup).catch(() => 0));
      // a page's main thread may not block in Atomics.wait (a worker's may)
      if (workers) return new WasmKernels(memory, instance.exports as unknown as Exports, control, workers, isNode || g.document === undefined);
    }
    const memory = new WebAssembly.Memory({ initial: 2 });
    // Asynchronous: browsers refuse synchronous compiles of more than 4 KB on the main thread.
    const { instance } = await WebAssembly.instantiate(decode(KERNELS_WASM_BASE64), { env: { memory } });
    return new WasmKernels(memory, instance.exports as unknown as Exports);
  } catch {
    return undefined; // no SIMD (an old engine): the TypeScript kernels run
  }
}

const loaded = await load();
let enabled = true;

/** The kernels, unless not loadable or switched off (tests compare them with the TypeScript reference). */
export function wasmKernels(): WasmKernels | undefined {
  return enabled ? loaded : undefined;
}

/** Switches the WebAssembly kernels on or off (default on); returns whether they are loaded at all. */
export function useWasm(on: boolean): boolean {
  enabled = on;
  return !!loaded;
}

/**
 * Threads the kernels split a call over (1..the workers started + 1; `--numThreads` / NumThreads). Returns the
 * number in effect.
 */
export function setThreads(n: number): number {
  if (loaded) loaded.threads = Math.max(1, Math.min(n, loaded.workers + 1));
  return loaded?.threads ?? 1;
}
