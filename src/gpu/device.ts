/**
 * WebGPU device acquisition, the same code in Node (npm `webgpu`, i.e. Dawn) and in the browser
 * (`navigator.gpu`). Prefers a hardware adapter; in Node, when none exists, falls back to SwiftShader's
 * software Vulkan driver if it is installed (Debian's chromium package ships it).
 */
/// <reference types="@webgpu/types" />
import { nodeBuiltin } from '../node-builtin.js';

export interface GpuContext {
  device: GPUDevice;
  /** Human-readable adapter, e.g. "NVIDIA ... (nvidia ampere)" or "SwiftShader driver 5.0.0 (google swiftshader)". */
  adapterName: string;
  software: boolean;
  /** Lets a Node process exit: drops the Dawn instance. */
  release(): void;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

function describe(a: GPUAdapter): { name: string; software: boolean } {
  const i = a.info;
  const parts = [i.description, [i.vendor, i.architecture].filter(Boolean).join(' ')].filter(Boolean);
  const name = parts.length ? `${parts[0]}${parts[1] ? ` (${parts[1]})` : ''}` : 'unknown adapter';
  return { name, software: /swiftshader|llvmpipe|lavapipe|software/i.test(`${i.architecture} ${i.description} ${i.device}`) };
}

async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  // Ask for the adapter's real limits: the defaults (128 MiB bindings, 8 storage buffers) are too small for big layers.
  const l = adapter.limits;
  return adapter.requestDevice({
    // timestamp queries, where the adapter has them, time bench:gpu's op kinds on the device itself
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
}

let unavailable = '';

/** Why the last acquireGpu found no adapter, for the CPU fallback's line ('' when it did not say). */
export function gpuUnavailableReason(): string {
  return unavailable;
}

/**
 * Whether dlopen would find libvulkan.so.1 where it looks: LD_LIBRARY_PATH, the ld.so cache, the default
 * directories. A system without an ld.so cache (musl, Nix) is given the benefit of the doubt.
 */
export async function vulkanLoaderPresent(env = process.env, cacheFile = '/etc/ld.so.cache'): Promise<boolean> {
  const fs = await nodeBuiltin<typeof import('node:fs')>('fs');
  const name = 'libvulkan.so.1';
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/lib', '/usr/lib', '/lib64', '/usr/lib64'];
  if (dirs.some((d) => fs.existsSync(`${d}/${name}`))) return true;
  if (!fs.existsSync(cacheFile)) return true;
  return fs.readFileSync(cacheFile).includes(name);
}

/**
 * Whether Linux exposes a GPU a hardware Vulkan driver could open: a DRM render node (Mesa, AMD, Intel, the
 * NVIDIA open driver), NVIDIA's device files, or WSL2's /dev/dxg. No such node, no hardware adapter.
 */
export async function gpuDeviceNodePresent(dev = '/dev'): Promise<boolean> {
  const fs = await nodeBuiltin<typeof import('node:fs')>('fs');
  const list = (d: string) => {
    try {
      return fs.readdirSync(d);
    } catch {
      return [];
    }
  };
  return list(`${dev}/dri`).some((f) => f.startsWith('renderD')) || list(dev).some((f) => /^nvidia\d+$/.test(f) || f === 'dxg');
}

/**
 * Returns a device, or undefined when this machine has no usable adapter. `software: false` (calibration's
 * `auto` in Node) takes a hardware adapter only: SwiftShader or llvmpipe computes on the CPU far slower than the
 * CPU executor (~0.7 GFLOP/s), and starting SwiftShader makes Dawn print its own warning; `--device=gpu` (and
 * the tests) still use them.
 */
export async function acquireGpu(o: { software?: boolean } = {}): Promise<GpuContext | undefined> {
  const allowSoftware = o.software ?? true;
  if (!isNode) {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    const adapter = gpu && (await gpu.requestAdapter({ powerPreference: 'high-performance' }));
    if (!adapter) return undefined;
    const d = describe(adapter);
    return { device: await requestDevice(adapter), adapterName: d.name, software: d.software, release: () => {} };
  }
  unavailable = '';
  // Without a Vulkan loader Dawn prints its own multi-line warning with a stack; say it in our line instead.
  if (process.platform === 'linux' && !(await vulkanLoaderPresent())) {
    unavailable = 'no Vulkan loader (libvulkan.so.1) on this machine';
    return undefined;
  }
  // Likewise without a GPU: Dawn would enumerate the software drivers it cannot use and warn about each.
  if (process.platform === 'linux' && !allowSoftware && !(await gpuDeviceNodePresent())) {
    unavailable = 'no GPU device node (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)';
    return undefined;
  }
  const mod = 'webgpu';
  let dawn: { create: (o: string[]) => GPU; globals: object };
  try {
    dawn = await import(/* @vite-ignore */ mod);
  } catch (e) {
    // `webgpu` (Dawn for every platform, 130 MB) is an optional dependency: `npm install --omit=optional` leaves it out.
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    unavailable = 'the optional package webgpu is not installed';
    return undefined;
  }
  const { create, globals } = dawn;
  Object.assign(globalThis, globals);
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  let gpu: GPU | undefined = create([]);
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter && !process.env.VK_ICD_FILENAMES && allowSoftware) {
    const { existsSync } = await nodeBuiltin<typeof import('node:fs')>('fs');
    if (existsSync(SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      gpu = create([]);
      adapter = await gpu.requestAdapter();
    }
  }
  if (!adapter) {
    unavailable = allowSoftware ? 'Vulkan found no device' : 'Vulkan found no hardware adapter';
    return undefined;
  }
  const d = describe(adapter);
  if (d.software && !allowSoftware) {
    unavailable = `only the software adapter ${d.name}, slower than the CPU executor; --device=gpu uses it`;
    return undefined;
  }
  const device = await requestDevice(adapter);
  return {
    device,
    adapterName: d.name,
    software: d.software,
    release: () => {
      device.destroy();
      gpu = undefined;
    },
  };
}
