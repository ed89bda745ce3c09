/**
 * The browser Embedder in real headless Chromium: the shared transformers.js embedder over
 * onnxruntime-web (WASM) loads all-MiniLM-L6-v2 from the server's `/models/` route (the same ONNX file
 * the server runs), and its vectors agree with the server's (onnxruntime-node) for the same texts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { cosineSimilarity } from '@promethean/shared';
import { loadModelManifest } from '../../server/src/embed/manifest.ts';
import { openServerEmbedder } from '../../server/src/embed/server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from '../../server/src/embed/testing.ts';
import { serveEmbedPage, type EmbedPageServer } from '../fixtures/embed/browser/serve.ts';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';
import { requires } from '../support/requires.ts';

const READY = requires('chromium', chromiumAvailable(), 'apt-get install chromium') && requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);

const reference = JSON.parse(readFileSync(new URL('../fixtures/embed/reference.json', import.meta.url), 'utf8')) as { cases: { text: string }[] };
const paraphrases = JSON.parse(readFileSync(new URL('../fixtures/embed/paraphrases.json', import.meta.url), 'utf8')) as { cases: { anchor: string; paraphrase: string }[] };
/** Odd and long texts (one beyond 256 tokens, so truncation must agree) plus ordinary sentences. */
const TEXTS = [...reference.cases.map((c) => c.text), ...paraphrases.cases.slice(0, 4).flatMap((c) => [c.anchor, c.paraphrase])];
/** WASM on one thread of two loaded cores: loading the 86 MiB model and embedding take minutes, not seconds. */
const SLOW_MS = 300_000;

describe.skipIf(!READY)('the Embedder in Chromium (onnxruntime-web WASM) agrees with the server', () => {
  let server: EmbedPageServer;
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    server = await serveEmbedPage(await loadModelManifest(), TEST_MODEL_CACHE);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as { __embed?: unknown }).__embed !== undefined);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads all-MiniLM-L6-v2 (384 dimensions) from /models/', async () => {
    const info = await page.evaluate(() => (window as unknown as { __embed: { ready(): Promise<unknown> } }).__embed.ready());
    expect(info).toEqual({ model: 'all-MiniLM-L6-v2', dimensions: 384 });
  }, SLOW_MS);

  it('browser and server vectors of the same text have cosine ≥ 0.999', async () => {
    const inBrowser = await page.evaluate((texts) => (window as unknown as { __embed: { embed(t: string[]): Promise<number[][]> } }).__embed.embed(texts), TEXTS);
    const embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
    try {
      const onServer = await embedder.embed(TEXTS);
      const cosines = TEXTS.map((_, i) => cosineSimilarity(inBrowser[i]!, onServer[i]!));
      console.log(`browser vs server cosine: min ${Math.min(...cosines).toFixed(7)} over ${TEXTS.length} texts`);
      for (const [i, c] of cosines.entries()) expect(c, TEXTS[i]!.slice(0, 60)).toBeGreaterThanOrEqual(0.999);
    } finally {
      await embedder.close();
    }
  }, SLOW_MS);

  it('the model route serves only the manifest\'s files', async () => {
    const status = (path: string) => fetch(new URL(path, server.url)).then((r) => r.status);
    expect(await status('models/all-MiniLM-L6-v2/config.json')).toBe(200);
    expect(await status('models/all-MiniLM-L6-v2/install.json')).toBe(404);
    expect(await status('models/all-MiniLM-L6-v2/../all-MiniLM-L6-v2/config.json')).toBe(200); // normalised by the URL parser
    expect(await status('models/all-MiniLM-L6-v2/%2e%2e%2finstall.json')).toBe(404);
    expect(await status('models/_ort/ort.all.mjs')).toBe(404);
  });
});
