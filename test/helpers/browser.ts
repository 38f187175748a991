/**
 * Headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) with WebGPU on SwiftShader, and a
 * loopback HTTP server for the page, its bundle and model files.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Playwright gives every launch a fresh temporary profile (a new user-data-dir). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * Serves the given path -> (content type, body) map on 127.0.0.1; returns the base URL and a close().
 * `isolated`: with the headers that make the page cross-origin isolated (memory shared with Web Workers).
 */
export async function serve(files: Record<string, [string, Uint8Array | string]>, isolated = false): Promise<{ url: string; close: () => Promise<void> }> {
  const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = http.createServer((req, res) => {
    const f = files[(req.url ?? '/').split('?')[0]];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[0], ...isolation }).end(f[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
