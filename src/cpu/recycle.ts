/**
 * Activation buffers reused from one run of a graph to the next, while the statistics pass runs it over the
 * calibration set.
 *
 * Why: each run's activations die together, but V8 returns an ArrayBuffer's memory only when a scavenge finds
 * its small JS wrapper dead, and the young generation fills with wrappers slowly. Dead activations then pile
 * up (about 25 MiB on mnist-8, more on larger models) and peak RSS grows with the number of samples until the
 * collector's steady state. Handing dead activations back to the next run keeps memory at one run's buffers.
 *
 * Safe by construction: only buffers this module handed out while a recycling run was active can come back,
 * the executor gives one back only when no live value refers to its ArrayBuffer, and `endRecycling` drops them.
 */
/** Each buffer handed out, with the stretch it belongs to (a buffer kept from an earlier stretch never comes back). */
const handedOut = new WeakMap<ArrayBuffer, number>();
const free = new Map<number, Float32Array[]>();
let depth = 0;
let stretch = 0;

/** A float32 output buffer of `n` elements; its contents are undefined unless `zeroed` (kernels overwrite it). */
export function outputFloats(n: number, zeroed = false): Float32Array {
  if (depth === 0) return new Float32Array(n);
  const reused = free.get(n)?.pop();
  if (reused) return zeroed ? reused.fill(0) : reused;
  const a = new Float32Array(n);
  handedOut.set(a.buffer as ArrayBuffer, stretch);
  return a;
}

/**
 * The buffer `a` views when it is one `outputFloats` handed out in this stretch (a view of part of it too:
 * an op that slices without copying keeps the whole buffer alive).
 */
export function recyclableBuffer(a: unknown): ArrayBuffer | undefined {
  if (depth === 0 || !ArrayBuffer.isView(a)) return undefined;
  const b = a.buffer as ArrayBuffer;
  return handedOut.get(b) === stretch ? b : undefined;
}

/** Gives a dead activation's buffer to the next `outputFloats` of its size. */
export function giveBack(b: ArrayBuffer): void {
  const a = new Float32Array(b);
  let list = free.get(a.length);
  if (!list) free.set(a.length, (list = []));
  list.push(a);
}
/** Starts a stretch of runs whose dead activations are reused (nested stretches share the buffers). */
export function beginRecycling(): void {
  if (depth++ === 0) stretch++;
}

/** Ends it; the last one drops every kept buffer. */
export function endRecycling(): void {
  if (--depth === 0) free.clear();
}
