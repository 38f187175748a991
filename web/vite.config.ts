import { defineConfig } from 'vite';

// The demo page: a static build (web/dist) with everything bundled, no CDN.
export default defineConfig({
  root: 'web',
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { fs: { allow: ['..'] } },
});
