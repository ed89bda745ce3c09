import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity, EmbedInputError, InvalidStateError, MINILM_L6_V2, PrometheanError } from '@promethean/shared';
import type { TransformersEmbedder } from '@promethean/shared';
import { requires } from '../../../test/support/requires.ts';
import { openServerEmbedder } from './server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from './testing.ts';

const MODEL = requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);

describe('openServerEmbedder', () => {
  it('rejects with unavailable, naming the install command, when the model is not in the cache', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'no-models-'));
    try {
      const err = await openServerEmbedder({ cacheDir: empty }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrometheanError);
      expect((err as PrometheanError).code).toBe('unavailable');
      expect((err as Error).message).toContain('promethean models install all-MiniLM-L6-v2');
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});

describe.skipIf(!MODEL)('the server Embedder (all-MiniLM-L6-v2 on onnxruntime-node)', () => {
  let embedder: TransformersEmbedder;
  beforeAll(async () => {
    embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE, batchSize: 4, maxTexts: 40, maxChars: 5000, maxPending: 2 });
  });
  afterAll(() => embedder?.close());

  it('reports the model id and 384 dimensions', () => {
    expect(embedder.model).toBe('all-MiniLM-L6-v2');
    expect(embedder.dimensions).toBe(MINILM_L6_V2.dimensions);
  });

  it('embed() returns one unit-length 384-d vector per text, in order; [] for []', async () => {
    const texts = ['first text', 'a second, rather different sentence', 'first text'];
    const v = await embedder.embed(texts);
    expect(v).toHaveLength(3);
    for (const x of v) {
      expect(x).toBeInstanceOf(Float32Array);
      expect(x.length).toBe(384);
      expect(Math.hypot(...x)).toBeCloseTo(1, 5);
    }
    expect(cosineSimilarity(v[0]!, v[2]!)).toBeCloseTo(1, 6);
    expect(cosineSimilarity(v[0]!, v[1]!)).toBeLessThan(0.9);
    expect(await embedder.embed([])).toEqual([]);
  });

  it('a text gets the same vector alone and padded in a batch of several (over batch boundaries)', async () => {
    const texts = Array.from({ length: 9 }, (_, i) => `sentence number ${i} ${'with more words '.repeat(i)}`);
    const together = await embedder.embed(texts);
    for (const [i, t] of texts.entries()) {
      const [alone] = await embedder.embed([t]);
      expect(cosineSimilarity(alone!, together[i]!)).toBeGreaterThan(0.99999);
    }
  });

  it('rejects bad input with EmbedInputError naming the index, and counts it', async () => {
    const before = embedder.counters.rejectedInputs;
    const notString = await embedder.embed(['ok', 42 as unknown as string]).catch((e: unknown) => e);
    expect(notString).toBeInstanceOf(EmbedInputError);
    expect((notString as EmbedInputError).path).toBe('texts.1');
    await expect(embedder.embed(['x'.repeat(5001)])).rejects.toBeInstanceOf(EmbedInputError);
    await expect(embedder.embed(Array.from({ length: 41 }, () => 'x'))).rejects.toBeInstanceOf(EmbedInputError);
    await expect(embedder.embed('text' as unknown as string[])).rejects.toBeInstanceOf(EmbedInputError);
    expect(embedder.counters.rejectedInputs).toBe(before + 4);
  });

  it('refuses calls beyond maxPending with rate_limited, and the accepted ones still resolve', async () => {
    const calls = [embedder.embed(['a']), embedder.embed(['b']), embedder.embed(['c'])];
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(((results[2] as PromiseRejectedResult).reason as PrometheanError).code).toBe('rate_limited');
    expect(embedder.counters.rejectedBusy).toBe(1);
  });

  it('close() is idempotent and later calls reject with InvalidStateError', async () => {
    const other = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
    await Promise.all([other.close(), other.close()]);
    await expect(other.embed(['x'])).rejects.toBeInstanceOf(InvalidStateError);
  });
});
