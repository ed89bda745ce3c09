/**
 * `promethean bench embed`: all-MiniLM-L6-v2 embedding cost, in milliseconds per sentence (median of
 * the rounds), per backend, from the same ONNX file:
 *
 * - `onnxruntime-node batch N`: the server Embedder (transformers.js over onnxruntime-node).
 * - `onnxruntime-web wasm batch N (chromium)`: the same shared embedder in headless Chromium
 *   (transformers.js's web build, onnxruntime-web WASM; one thread, as the page is not cross-origin
 *   isolated), the server's row as its baseline.
 *
 * Sentences are the 72 of the paraphrase fixture (7–17 words). Batch 1 is one sentence per call (a
 * search query); batch 24 is the indexer's shape.
 */
import { readFileSync } from 'node:fs';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';
import { loadModelManifest } from '../../server/src/embed/manifest.ts';
import { openServerEmbedder } from '../../server/src/embed/server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from '../../server/src/embed/testing.ts';
import { serveEmbedPage } from '../fixtures/embed/browser/serve.ts';
import { chromiumAvailable, launchChromium } from '../support/chromium.ts';

const SENTENCES = (JSON.parse(readFileSync(new URL('../fixtures/embed/paraphrases.json', import.meta.url), 'utf8')) as {
  cases: { anchor: string; paraphrase: string; distractor: string }[];
}).cases.flatMap((c) => [c.anchor, c.paraphrase, c.distractor]);

const BATCHES = [1, 24] as const;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Per-sentence ms rows from per-call timings of `batch`-sentence calls. */
function row(name: string, callsMs: number[], batch: number, baseline?: BenchRow): BenchRow {
  const per = callsMs.map((ms) => ms / batch).sort((a, b) => a - b);
  return {
    suite: 'embed',
    name,
    unit: 'ms/sentence',
    value: quantile(per, 0.5),
    p50: quantile(per, 0.5),
    p95: quantile(per, 0.95),
    p99: quantile(per, 0.99),
    ...(baseline ? { baseline: { name: baseline.name, value: baseline.value } } : {}),
  };
}

/** The calls of one round: the sentences cut into `batch`-sized calls. */
function calls(batch: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i + batch <= SENTENCES.length; i += batch) out.push(SENTENCES.slice(i, i + batch));
  return out;
}

const suite: BenchSuite = {
  name: 'embed',
  description: 'all-MiniLM-L6-v2 ms per sentence: onnxruntime-node vs onnxruntime-web WASM in Chromium',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    if (!embeddingModelInstalled()) throw new Error(`bench embed needs the all-MiniLM-L6-v2 model: ${INSTALL_HINT}`);
    const rounds = ctx.quick ? 1 : 3;
    const rows: BenchRow[] = [];
    const nodeRows = new Map<number, BenchRow>();

    const embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
    try {
      await embedder.embed(SENTENCES.slice(0, 8)); // warm-up: the first run allocates
      for (const batch of BATCHES) {
        const ms: number[] = [];
        for (let r = 0; r < rounds; r++) {
          for (const texts of calls(batch)) {
            const t0 = performance.now();
            await embedder.embed(texts);
            ms.push(performance.now() - t0);
          }
        }
        const r = row(`onnxruntime-node batch ${batch}`, ms, batch);
        nodeRows.set(batch, r);
        rows.push(r);
        ctx.log(`bench embed: ${r.name} ${r.value.toFixed(2)} ms/sentence`);
      }
    } finally {
      await embedder.close();
    }

    if (!chromiumAvailable()) {
      ctx.log('bench embed: no Chromium at /usr/bin/chromium; the browser rows are left out');
      return rows;
    }
    const server = await serveEmbedPage(await loadModelManifest(), TEST_MODEL_CACHE);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => (window as unknown as { __embed?: unknown }).__embed !== undefined);
      type Api = { ready(): Promise<unknown>; time(t: string[], rounds: number): Promise<number[]> };
      await page.evaluate(() => (window as unknown as { __embed: Api }).__embed.ready());
      await page.evaluate((t) => (window as unknown as { __embed: Api }).__embed.time(t, 1), SENTENCES.slice(0, 8));
      for (const batch of BATCHES) {
        const ms: number[] = [];
        for (let r = 0; r < rounds; r++) {
          for (const texts of calls(batch)) {
            ms.push(...(await page.evaluate(({ t }) => (window as unknown as { __embed: Api }).__embed.time(t, 1), { t: texts })));
          }
        }
        const r = row(`onnxruntime-web wasm batch ${batch} (chromium)`, ms, batch, nodeRows.get(batch));
        rows.push(r);
        ctx.log(`bench embed: ${r.name} ${r.value.toFixed(2)} ms/sentence`);
      }
    } finally {
      await browser.close();
      await server.close();
    }
    return rows;
  },
};

export default suite;
