/**
 * The moderator console build: `npx vite build --config web/vite.config.ts` → web/dist (index.html +
 * hashed assets under /assets/). `npx vite --config web/vite.config.ts` serves it with /api and /bus
 * proxied to a running hub (PROMETHEAN_HUB, default http://127.0.0.1:8787).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const hub = process.env.PROMETHEAN_HUB ?? 'http://127.0.0.1:8787';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
  // Module workers with their own chunks (the analysis worker loads onnxruntime-web lazily).
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': { target: hub, changeOrigin: false },
      '/bus': { target: hub.replace(/^http/, 'ws'), ws: true },
    },
  },
});
