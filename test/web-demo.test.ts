/**
 * The browser demo end to end in headless Chromium (WebGPU on SwiftShader): the bundled example quantized with
 * PostTraining gives the same .ms bytes as converter_lite for the same model, data and settings; a corrupt model
 * shows its error. Writes the screenshot docs/demo.png that the README shows.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, model } from './helpers/data.js';
import { launchChromium, serve, CHROMIUM } from './helpers/browser.js';
import { cli } from './helpers/cli.js';
import { buildOnnx } from './helpers/onnx-builder.js';

function files(dir: string, base = dir): Record<string, [string, Uint8Array]> {
  const out: Record<string, [string, Uint8Array]> = {};
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) Object.assign(out, files(p, base));
    else {
      const type = f.endsWith('.html') ? 'text/html' : f.endsWith('.js') ? 'text/javascript' : f.endsWith('.css') ? 'text/css' : 'application/octet-stream';
      out[`/${path.relative(base, p)}`] = [type, new Uint8Array(readFileSync(p))];
    }
  }
  out['/'] = out['/index.html'];
  return out;
}

describe('browser demo', () => {
  it('quantizes the bundled example to the same bytes as the CLI, and reports corrupt and hostile input with one line', async (t) => {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error('CI must run the demo test: /usr/bin/chromium is missing');
      t.skip();
    }
    const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'error'], { cwd: ROOT, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-demo-'));
    const cliOut = path.join(dir, 'mnist-8');
    const conv = cli('converter_lite', ['--fmk=ONNX', '--modelFile=examples/mnist-8.onnx', `--outputFile=${cliOut}`, '--quantType=PostTraining',
      '--configFile=calib-data/mnist-8.cfg', '--device=gpu', '--quiet']);
    expect(conv.code, conv.stderr).toBe(0);
    const server = await serve(files(path.join(ROOT, 'web/dist')));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1200, height: 1000 } });
      const external: string[] = [];
      page.on('request', (r) => { if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) external.push(r.url()); });
      await page.goto(server.url);
      await page.click('#example');
      await page.waitForFunction(() => !(document.getElementById('quantize') as HTMLButtonElement).disabled);
      await page.click('#quantize');
      await page.waitForSelector('#results:not([hidden])', { timeout: 240_000 });
      expect(await page.textContent('#adapter')).toMatch(/calibrating on the GPU: .*swiftshader/i);
      expect(await page.textContent('#progress')).toMatch(/done: 20 samples/);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      const saved = path.join(dir, 'browser.ms');
      await download.saveAs(saved);
      expect(download.suggestedFilename()).toBe('mnist-8.ms');
      const a = readFileSync(saved), b = readFileSync(`${cliOut}.ms`);
      expect(a.length).toBe(b.length);
      expect(a.equals(b)).toBe(true);
      expect(await page.locator('#table tbody tr').count()).toBe(8);
      expect(await page.locator('#table canvas').count()).toBe(8);
      const shot = await page.screenshot({ fullPage: true });
      writeFileSync(path.join(ROOT, 'docs/demo.png'), shot);

      // A corrupt model: one clear message in the page.
      const onnx = readFileSync(model('onnx/mnist-8.onnx'));
      await page.setInputFiles('#model-file', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: onnx.subarray(0, 5000) });
      await page.waitForSelector('#error:not([hidden])');
      expect(await page.textContent('#error')).toMatch(/broken\.onnx: not a valid ONNX model/);
      expect(await page.isDisabled('#quantize')).toBe(true);

      // Hostile input gets the CLI's one-line messages in the page too.
      const huge = buildOnnx({ inputs: [{ name: 'x', dims: [1, 3, 100000, 100000] }], outputs: ['y'], inits: [{ name: 'w', dims: [4, 3, 3, 3], data: new Float32Array(108) }],
        nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'] }] });
      await page.setInputFiles('#model-file', { name: 'huge.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(huge) });
      await page.waitForFunction(() => /would need/.test(document.getElementById('error')!.textContent ?? ''));
      expect(await page.textContent('#error')).toMatch(/^huge\.onnx: tensor x \[1,100000,100000,3\] would need 120 GB \(the limit is 2 GiB/);
      const pool = buildOnnx({ inputs: [{ name: 'x', dims: [1, 3, 8, 8] }], outputs: ['y'], inits: [], nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [1e9, 1e9] } }] });
      await page.setInputFiles('#model-file', { name: 'pool.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(pool) });
      await page.waitForFunction(() => /out of range/.test(document.getElementById('error')!.textContent ?? ''));
      expect(await page.textContent('#error')).toMatch(/^pool\.onnx: MaxPoolFusion MaxPool_0: kernel \[1000000000,1000000000\] is out of range/);
      // a calibration image whose header claims 50,000 x 50,000 pixels, with the example model
      await page.click('#example');
      await page.waitForFunction(() => !(document.getElementById('quantize') as HTMLButtonElement).disabled);
      const png = Buffer.from(readFileSync(path.join(ROOT, '..', 'shared/data/imagenet/fish.png')));
      png.writeUInt32BE(50000, 16);
      png.writeUInt32BE(50000, 20);
      await page.setInputFiles('#data-files', [{ name: 'huge.png', mimeType: 'image/png', buffer: png }]);
      await page.click('#quantize');
      await page.waitForSelector('#error:not([hidden])');
      expect(await page.textContent('#error')).toBe('huge.png: image of 50000x50000 pixels refused (at most 64 megapixels, positive sizes)');
      expect(external).toEqual([]); // works offline: nothing fetched from elsewhere
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
