/**
 * Buffer usage flags (the values of WebGPU's GPUBufferUsage / GPUMapMode, named here so no module needs the
 * browser globals), and compiled pipelines cached per device by WGSL source: a kernel compiles once per process.
 */
export const BufferUsage = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, STORAGE: 0x0080, QUERY_RESOLVE: 0x0200 } as const;
export const MapMode = { READ: 0x0001 } as const;

/** Storage buffers the kernels read and write, which can also be uploaded to and read back. */
export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;

const caches = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** The compute pipeline for `code` on `device`, compiled on first use. */
export function pipelineFor(device: GPUDevice, code: string, label?: string): Promise<GPUComputePipeline> {
  let cache = caches.get(device);
  if (!cache) caches.set(device, (cache = new Map()));
  let p = cache.get(code);
  if (!p) {
    p = device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code, label }), entryPoint: 'main' }, label });
    cache.set(code, p);
  }
  return p;
}

/** Staging buffers kept per device and size for the next read (a few per size: reads in flight at once). */
const staging = new WeakMap<GPUDevice, Map<number, GPUBuffer[]>>();
const MAX_KEPT_PER_SIZE = 4;

/**
 * Copies `bytes` of a buffer back to the CPU through a staging buffer, reused from earlier reads of the same
 * size. The copy is queued at once (after the work already submitted), so a caller may submit more work and
 * await the result later: the map overlaps that work.
 */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  let pool = staging.get(device);
  if (!pool) staging.set(device, (pool = new Map()));
  const free = pool.get(size) ?? [];
  pool.set(size, free);
  const buf = free.pop() ?? device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, buf, 0, size);
  device.queue.submit([enc.finish()]);
  await buf.mapAsync(MapMode.READ);
  const copy = buf.getMappedRange().slice(0, bytes);
  buf.unmap();
  if (free.length < MAX_KEPT_PER_SIZE) free.push(buf);
  else buf.destroy();
  return copy;
}
