import { defineConfig } from 'vite';

// The demo page: a static build (web/dist) with everything bundled, no CDN. Served cross-origin isolated (these
// two headers) the CPU kernels share memory with Web Workers and use every core; without them, one thread.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: 'web',
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { fs: { allow: ['..'] }, headers: isolation },
  preview: { headers: isolation },
});
