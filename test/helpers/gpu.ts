/** The test GPU: a hardware adapter, or SwiftShader (CI installs Debian's chromium for it). */
import { acquireGpu, GpuContext } from '../../src/gpu/device.js';

let ctx: Promise<GpuContext | undefined> | undefined;

export function testGpu(): Promise<GpuContext | undefined> {
  ctx ??= acquireGpu().then((c) => {
    if (c) console.log(`GPU tests run on: ${c.adapterName}`);
    else if (process.env.CI) throw new Error('CI must run the GPU tests: no WebGPU adapter (is chromium with SwiftShader installed?)');
    return c;
  });
  return ctx;
}

/** Outside CI a machine without any adapter skips GPU tests; in CI that is a failure. */
export async function gpuOrSkip(skip: (note: string) => void): Promise<GpuContext> {
  const c = await testGpu();
  if (!c) skip('no WebGPU adapter on this machine');
  return c!;
}
