/**
 * `GET /models/<name>/<file>`: the model cache's files for the console's in-browser models, and
 * `GET /models/_ort/<file>`: the onnxruntime-web runtime that transformers.js's web build needs (it
 * would fetch it from a CDN otherwise). Only what the model manifest lists (for models in the cache) and
 * the two runtime files are served; any other path is 404. Files are immutable per sha256: the ETag is
 * the manifest's sha256.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Env, Hono } from 'hono';
import type { ModelManifest } from './manifest.ts';
import { modelDir } from './manifest.ts';

/** The onnxruntime-web build transformers.js's web bundle runs (it sets the asyncify variant itself). */
export const ORT_RUNTIME_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'] as const;

/** The folder of the onnxruntime-web that `@huggingface/transformers` depends on (its own nested copy when npm nested one). */
export function transformersOrtDir(): string {
  const req = createRequire(import.meta.url);
  // Resolved from inside transformers.js's own folder, so its nested copy wins over the workspace's.
  const transformersDist = dirname(req.resolve('@huggingface/transformers'));
  return dirname(req.resolve(`onnxruntime-web/${ORT_RUNTIME_FILES[1]}`, { paths: [transformersDist] }));
}

const TYPES: Record<string, string> = {
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  mjs: 'text/javascript',
  wasm: 'application/wasm',
};

export interface ModelRoutesOptions {
  manifest: ModelManifest;
  /** The model cache (`modelCacheDir()`). */
  cacheDir: string;
  /** The onnxruntime-web dist folder; `transformersOrtDir()` by default. */
  ortDir?: string;
}

export interface ModelRoutesCounters {
  served: number;
  notFound: number;
}

export function mountModelRoutes<E extends Env>(app: Hono<E>, options: ModelRoutesOptions): ModelRoutesCounters {
  const counters: ModelRoutesCounters = { served: 0, notFound: 0 };
  const files = new Map<string, { path: string; etag?: string }>();
  for (const m of options.manifest.models) {
    if (m.location !== 'cache') continue;
    for (const f of m.files) files.set(`${m.name}/${f.path}`, { path: join(modelDir(m, options.cacheDir), f.path), etag: f.sha256 });
  }
  const ortDir = options.ortDir ?? transformersOrtDir();
  for (const f of ORT_RUNTIME_FILES) files.set(`_ort/${f}`, { path: join(ortDir, f) });

  app.get('/models/*', async (c) => {
    const rel = decodeURIComponent(c.req.path.slice('/models/'.length));
    const file = files.get(rel);
    const st = file ? await stat(file.path).catch(() => undefined) : undefined;
    if (!file || !st?.isFile()) {
      counters.notFound++;
      return c.text('not found', 404);
    }
    const etag = file.etag ? `"${file.etag}"` : `"${st.size}-${Math.floor(st.mtimeMs)}"`;
    c.header('etag', etag);
    c.header('cache-control', 'public, max-age=3600');
    c.header('x-content-type-options', 'nosniff');
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    counters.served++;
    c.header('content-type', TYPES[rel.slice(rel.lastIndexOf('.') + 1)] ?? 'application/octet-stream');
    c.header('content-length', String(st.size));
    return c.body(Readable.toWeb(createReadStream(file.path)) as ReadableStream);
  });
  return counters;
}
