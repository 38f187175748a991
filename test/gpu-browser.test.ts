/** The GPU executor module imports and runs in headless Chromium (WebGPU on SwiftShader) and agrees with Node. */
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { loadModel } from '../src/convert.js';
import { run } from '../src/cpu/executor.js';
import { model, readBytes, mnistDigits, relMaxDiff, ROOT } from './helpers/data.js';
import { launchChromium, serve, CHROMIUM } from './helpers/browser.js';

/** The test page's script (test/browser/entry.ts bundled for the browser); skips where Chromium is missing, outside CI. */
async function pageBundle(skip: () => void): Promise<string> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error('CI must run the browser test: /usr/bin/chromium is missing');
    skip();
  }
  const bundle = await build({
    entryPoints: [path.join(ROOT, 'test/browser/entry.ts')], bundle: true, format: 'esm', platform: 'browser', write: false,
    external: ['node:*', 'webgpu'], logLevel: 'error',
  });
  return bundle.outputFiles[0].text;
}

describe('GPU executor in the browser', () => {
  it('runs mnist-8 in headless Chromium with the values computed in Node', async (t) => {
    const bundle = await pageBundle(t.skip);
    const digit = mnistDigits(1, 42)[0];
    const onnx = readBytes(model('onnx/mnist-8.onnx'));
    const server = await serve({
      '/': ['text/html', '<!doctype html><script type="module" src="/bundle.js"></script>'],
      '/bundle.js': ['text/javascript', bundle],
      '/mnist-8.onnx': ['application/octet-stream', onnx],
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => 'webptq' in globalThis);
      const result = await page.evaluate(async (input) => {
        const bytes = await (await fetch('/mnist-8.onnx')).arrayBuffer();
        return (globalThis as unknown as { webptq: { runOnGpu: (b: ArrayBuffer, x: number[]) => Promise<{ adapter: string; output: number[] }> } }).webptq.runOnGpu(bytes, input);
      }, Array.from(digit.pixels));
      const g = loadModel(onnx, 'ONNX', 'mnist-8.onnx');
      const [cpu] = run(g, [{ shape: [1, 28, 28, 1], data: digit.pixels }]);
      console.log(`browser adapter: ${result.adapter}; max|browser-node|/max = ${relMaxDiff(result.output, cpu.data).toExponential(2)}`);
      expect(result.output).toHaveLength(10);
      expect(relMaxDiff(result.output, cpu.data)).toBeLessThan(1e-4);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});

describe('CPU executor in the browser', () => {
  it('splits kernels over Web Workers on a cross-origin isolated page, runs on one thread otherwise, with the values computed in Node', async (t) => {
    const bundle = await pageBundle(t.skip);
    const file = 'onnx/squeezenet1.1-fp32.onnx', onnx = readBytes(model(file));
    const input = Array.from({ length: 224 * 224 * 3 }, (_, i) => 100 * Math.sin(i / 37));
    const [node] = run(loadModel(onnx, 'ONNX', file), [{ shape: [1, 224, 224, 3], data: Float32Array.from(input) }]);
    const site = {
      '/': ['text/html', '<!doctype html><script type="module" src="/bundle.js"></script>'] as [string, string],
      '/bundle.js': ['text/javascript', bundle] as [string, string],
      '/model.onnx': ['application/octet-stream', onnx] as [string, Uint8Array],
    };
    const browser = await launchChromium();
    try {
      for (const isolated of [true, false]) {
        const server = await serve(site, isolated);
        try {
          const page = await browser.newPage();
          await page.goto(server.url);
          await page.waitForFunction(() => 'webptq' in globalThis);
          const r = await page.evaluate(async (x) => {
            const bytes = await (await fetch('/model.onnx')).arrayBuffer();
            type Api = { runOnCpu: (b: ArrayBuffer, n: string, s: number[], x: number[]) => { output: number[]; threads: number; splitCalls: number; isolated: boolean; cores: number } };
            return (globalThis as unknown as { webptq: Api }).webptq.runOnCpu(bytes, 'squeezenet', [1, 224, 224, 3], x);
          }, input);
          console.log(`browser CPU, ${isolated ? '' : 'not '}cross-origin isolated: ${r.threads} thread(s), ${r.splitCalls} calls split, ${r.cores} cores`);
          expect(r.isolated).toBe(isolated);
          expect(relMaxDiff(r.output, node.data)).toBeLessThan(1e-5);
          if (!isolated) expect([r.threads, r.splitCalls]).toEqual([1, 0]);
          else if (r.cores > 1) {
            expect(r.threads).toBe(Math.min(16, r.cores));
            expect(r.splitCalls).toBeGreaterThan(0);
          }
          await page.close();
        } finally {
          await server.close();
        }
      }
    } finally {
      await browser.close();
    }
  });
});
