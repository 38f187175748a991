/**
 * The WebAssembly SIMD kernels (assembly/kernels.ts) behind the CPU executor's convolutions, GEMMs and pooling.
 * One memory holds packed weights (packed once per weight array, kept while the process runs) followed by a
 * per-call arena for the activations a kernel reads and writes. Where WebAssembly or SIMD is missing, or
 * WEBPTQ_WASM=0, `wasmKernels()` is undefined and the TypeScript kernels run (they stay the reference in tests).
 *
 * Threads: the memory is shared and worker threads (Node's worker_threads; in a browser Web Workers, when the
 * page is cross-origin isolated so that memory can be shared) instantiate the same module on it; a kernel call
 * is split into ranges (rows, pixels), each worker runs one and the calling thread the first, then waits for
 * each worker to report that call's generation in its own slot (spinning, on a page's main thread, where
 * Atomics.wait is refused). The executor stays synchronous. A page that is not cross-origin isolated runs the kernels on one thread.
 */
import { nodeBuiltin } from '../../node-builtin.js';
import { KERNELS_WASM_BASE64, KERNELS_SHARED_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64, KERNELS_RELAXED_SHARED_WASM_BASE64 } from './kernels.generated.js';
import { outputFloats } from '../recycle.js';

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
  resizeBilinear(x: number, ih: number, iw: number, c: number, oh: number, ow: number, yLo: number, yHi: number, yW: number,
    xLo: number, xHi: number, xW: number, b: number, y0: number, y1: number, cache: number, out: number): void;
}

/** The kernels workers can run, by index in a task. */
export const TASKS = ['gemm', 'convTiles', 'depthwise', 'pool', 'gemmI16', 'convTilesI16', 'requantize', 'poolMaxI8', 'convRequantI16', 'depthwiseI8', 'resizeBilinear'] as const;
export type Task = (typeof TASKS)[number];

/** Below this the module's own data lives (a few bytes of scratch). */
const HEAP_BASE = 65536;
const PAGE = 65536;

/**
 * Control words: [0] the memory's size in pages at the last post; then one slot per worker: the generation of
 * the call last posted to it, the generation it last finished, kernel index, status (1 when the part threw),
 * argument count, arguments. A worker acts on a change of its own posted word and reports the generation it
 * finished in its own word; the caller waits for its call's generation in the slots it posted to. Nothing is
 * counted, and nothing one call leaves behind can be taken for another call's completion.
 */
const HEADER = 1;
const POSTED = 0, FINISHED = 1, KERNEL = 2, STATUS = 3, ARGC = 4, ARGS = 5;
/** Worker slots whose thread ended after starting (none should): their parts run on the calling thread. */
const lostSlots = new Set<number>();
/** How long a call waits on a worker that has not finished its part before it fails (a bug, not load). */
const STALL_MS = 600_000;
/** Checks of a control word before a thread sleeps on it (tens of microseconds: about a wake-up's cost). */
const envVar = (name: string) => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
const SPIN = Number(envVar('WEBPTQ_SPIN') ?? 20000);
const SLOT = 40;
const CONTROL_WORDS = HEADER + 16 * SLOT;
/**
 * Fault injection for the stress test: the caller pauses this long (ms) between posting a part and waking its
 * worker, where an oversubscribed machine rarely deschedules it (the window the old pool's race needed).
 */
const POST_PAUSE_MS = Number(envVar('WEBPTQ_POOL_POST_PAUSE_MS') ?? 0);

export class WasmKernels {
  private top = HEAP_BASE;
  private arenaTop = HEAP_BASE;
  private cache = new WeakMap<object, Map<string, number>>();
  /** Threads a call is split over (this one included); at most the workers started plus one. */
  threads = 1;
  /** Calls that were split over more than one thread (tests check that a pool is really used). */
  splitCalls = 0;
  /** The last call's generation (posted to the slots it uses). */
  private generation = 0;

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
    const out = outputFloats(floats);
    out.set(this.f32.subarray(p >> 2, (p >> 2) + floats));
    return out;
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
   * Runs `task` once per part: parts[0] on this thread, the others on workers, and returns when all are done
   * (also when this thread's part throws: no worker is still writing when the caller goes on). Each part is the
   * kernel's full argument list.
   */
  parallel(task: Task, parts: number[][]): void {
    const c = this.control;
    const run = (args: number[]) => (this.k[task] as (...a: number[]) => void)(...args);
    if (!c || parts.length === 1) {
      for (const args of parts) run(args);
      return;
    }
    if (parts.length > this.threads) throw new Error(`WasmKernels: ${parts.length} parts for ${this.threads} threads`);
    if (parts.some((p) => p.length > SLOT - ARGS)) throw new Error(`WasmKernels: ${task} takes more arguments than a task slot holds`);
    const gen = (this.generation = (this.generation + 1) | 0 || 1);
    c[0] = this.memory.buffer.byteLength / PAGE;
    const slots = parts.slice(1).map((args, w) => {
      const base = HEADER + w * SLOT;
      c[base + KERNEL] = TASKS.indexOf(task);
      c[base + STATUS] = 0;
      c[base + ARGC] = args.length;
      c.set(args, base + ARGS);
      Atomics.store(c, base + POSTED, gen);
      if (POST_PAUSE_MS) for (const until = performance.now() + POST_PAUSE_MS; performance.now() < until;);
      Atomics.notify(c, base + POSTED);
      return base;
    });
    this.splitCalls++;
    try {
      run(parts[0]);
    } finally {
      slots.forEach((base, w) => this.finished(c, w, base, gen, task, () => run(parts[w + 1])));
    }
    // A part a worker could not run (its view of the grown memory lagging, say) runs here: the same
    // arithmetic on the same memory, so the result does not depend on which thread ran it.
    slots.forEach((base, w) => c[base + STATUS] && run(parts[w + 1]));
    if (lostSlots.size) this.control = undefined; // a worker thread ended: one thread from now on
  }

  /**
   * Waits until worker `w` has finished call `gen`. Its thread having ended, its part runs here instead (nothing
   * else can be writing it then). Waits re-check every second, so a missed wake-up costs a second at most.
   */
  private finished(c: Int32Array, w: number, base: number, gen: number, task: Task, runHere: () => void): void {
    for (let i = 0; i < SPIN && Atomics.load(c, base + FINISHED) !== gen; i++);
    const since = Date.now();
    for (;;) {
      const seen = Atomics.load(c, base + FINISHED);
      if (seen === gen) return;
      if (lostSlots.has(w)) return runHere();
      if (Date.now() - since > STALL_MS) throw new Error(`WebAssembly kernel thread ${w + 1} has not finished its part of ${task} in ${STALL_MS / 60000} minutes`);
      if (this.canWait) Atomics.wait(c, base + FINISHED, seen, 1000);
    }
  }
}

/** What a worker runs: instantiate the module on the shared memory, say so, then serve task slots forever. */
const SERVE_SOURCE = `
function serve({ module, memory, control, slot, names, slotWords, header, spin, at }, ready) {
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = names.map((n) => k[n]);
  const c = new Int32Array(control);
  const base = header + slot * slotWords;
  let seen = Atomics.load(c, base + at.POSTED);
  let pages = memory.buffer.byteLength / 65536;
  ready();
  for (;;) {
    // A layer's next call usually comes within tens of microseconds: spin briefly before sleeping, since waking
    // a sleeping thread costs about as much. Only a new value of this slot's posted word is a call: however a
    // wait ends (woken, even by a notify meant for the call just finished, or timed out), look again.
    for (let i = 0; i < spin && Atomics.load(c, base + at.POSTED) === seen; i++);
    if (Atomics.load(c, base + at.POSTED) === seen) {
      Atomics.wait(c, base + at.POSTED, seen, 1000);
      continue;
    }
    const gen = Atomics.load(c, base + at.POSTED);
    seen = gen;
    try {
      // The main thread grew the shared memory: growing by 0 pages here makes this thread's instance see the new
      // size at once (bulk memory copies check it), instead of whenever the engine's interrupt arrives.
      if (c[0] !== pages) {
        memory.grow(0);
        pages = c[0];
      }
      fns[c[base + at.KERNEL]](...c.subarray(base + at.ARGS, base + at.ARGS + c[base + at.ARGC]));
    } catch {
      c[base + at.STATUS] = 1; // the main thread runs this part itself; a worker never dies with the pool waiting on it
    }
    Atomics.store(c, base + at.FINISHED, gen);
    Atomics.notify(c, base + at.FINISHED);
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
  at: { POSTED, FINISHED, KERNEL, STATUS, ARGC, ARGS },
});

/** Worker threads for the kernels (Node, shared memory available, more than one core). */
async function startNodeWorkers(p: PoolSetup): Promise<number> {
  const { Worker } = await nodeBuiltin<typeof import('node:worker_threads')>('worker_threads');
  await Promise.all(Array.from({ length: p.count }, (_, slot) => new Promise<void>((resolve, reject) => {
    const w = new Worker(NODE_WORKER_SOURCE, { eval: true, workerData: workerData(p, slot) });
    w.once('message', () => {
      w.unref(); // the pool never keeps a process alive (only its start-up does)
      w.once('exit', () => lostSlots.add(slot));
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

/**
 * Whether the engine takes the relaxed-SIMD build (fused multiply-add): Node 20 behind a V8 flag, which must be
 * set before the module is compiled; browsers and newer Node natively. WEBPTQ_RELAXED_SIMD=0 keeps the baseline.
 */
async function relaxedSimd(isNode: boolean, env: Record<string, string | undefined> | undefined): Promise<boolean> {
  if (env?.WEBPTQ_RELAXED_SIMD === '0') return false;
  if (isNode) {
    try {
      (await nodeBuiltin<typeof import('node:v8')>('v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // an engine without the flag validates the module or not by itself
    }
  }
  return WebAssembly.validate(decode(KERNELS_RELAXED_WASM_BASE64));
}

let variant: 'relaxed-simd' | 'simd' | undefined;

/** Which build of the kernels runs: 'relaxed-simd' (FMA), 'simd', or undefined (the TypeScript kernels). */
export function wasmVariant(): 'relaxed-simd' | 'simd' | undefined {
  return loaded ? variant : undefined;
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
    const cores = isNode ? (await nodeBuiltin<typeof import('node:os')>('os')).availableParallelism() : webPool ? g.navigator?.hardwareConcurrency ?? 1 : 1;
    const wanted = Math.max(1, Math.min(16, Number(env?.WEBPTQ_THREADS) || cores));
    const relaxed = await relaxedSimd(isNode, env);
    variant = relaxed ? 'relaxed-simd' : 'simd';
    if (wanted > 1 && typeof SharedArrayBuffer !== 'undefined') {
      const memory = new WebAssembly.Memory({ initial: 2, maximum: 32768, shared: true });
      const module = await WebAssembly.compile(decode(relaxed ? KERNELS_RELAXED_SHARED_WASM_BASE64 : KERNELS_SHARED_WASM_BASE64));
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
      const setup = { module, memory, control, count: wanted - 1 };
      const workers = await (isNode ? startNodeWorkers(setup) : startWebWorkers(setup).catch(() => 0));
      // a page's main thread may not block in Atomics.wait (a worker's may)
      if (workers) return new WasmKernels(memory, instance.exports as unknown as Exports, control, workers, isNode || g.document === undefined);
    }
    const memory = new WebAssembly.Memory({ initial: 2 });
    // Asynchronous: browsers refuse synchronous compiles of more than 4 KB on the main thread.
    const { instance } = await WebAssembly.instantiate(decode(relaxed ? KERNELS_RELAXED_WASM_BASE64 : KERNELS_WASM_BASE64), { env: { memory } });
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
