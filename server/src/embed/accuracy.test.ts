/**
 * Accuracy of the one embedding model on hand-written paraphrase cases (test/fixtures/embed/
 * paraphrases.json, committed before any model scored them): for each anchor, the paraphrase (few
 * shared words) should rank above the distractor (many shared words, another meaning) in ≥ 90 % of
 * cases, and a bag-of-words baseline, scored in the same test, should do clearly worse. The model beats
 * the baseline but does NOT reach 90 % here: see the known-failure test below.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity } from '@promethean/shared';
import type { TransformersEmbedder } from '@promethean/shared';
import { requires } from '../../../test/support/requires.ts';
import { openServerEmbedder } from './server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from './testing.ts';

interface Case {
  anchor: string;
  paraphrase: string;
  distractor: string;
}
const CASES = (JSON.parse(readFileSync(new URL('../../../test/fixtures/embed/paraphrases.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases;

/** Cosine of lower-cased word counts: the baseline the model must beat. */
function bagCosine(a: string, b: string): number {
  const bag = (t: string) => {
    const m = new Map<string, number>();
    for (const w of t.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) m.set(w, (m.get(w) ?? 0) + 1);
    return m;
  };
  const x = bag(a);
  const y = bag(b);
  let dot = 0;
  for (const [w, n] of x) dot += n * (y.get(w) ?? 0);
  const norm = (m: Map<string, number>) => Math.sqrt([...m.values()].reduce((s, n) => s + n * n, 0));
  return norm(x) * norm(y) === 0 ? 0 : dot / (norm(x) * norm(y));
}

const MODEL = requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);

describe.skipIf(!MODEL)('all-MiniLM-L6-v2 on paraphrases with distractors', () => {
  let embedder: TransformersEmbedder;
  beforeAll(async () => {
    embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
  });
  afterAll(() => embedder?.close());

  it('the fixture has at least 20 cases, each paraphrase sharing fewer words with the anchor than its distractor', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    for (const c of CASES) expect(bagCosine(c.anchor, c.paraphrase), c.anchor).toBeLessThan(bagCosine(c.anchor, c.distractor));
  });

  /** How often the paraphrase outranks the distractor, for the model and for bag-of-words. */
  async function score(): Promise<{ model: number; baseline: number; misses: string[] }> {
    const vectors = await embedder.embed(CASES.flatMap((c) => [c.anchor, c.paraphrase, c.distractor]));
    let model = 0;
    let baseline = 0;
    const misses: string[] = [];
    CASES.forEach((c, i) => {
      const [a, p, d] = [vectors[3 * i]!, vectors[3 * i + 1]!, vectors[3 * i + 2]!];
      if (cosineSimilarity(a, p) > cosineSimilarity(a, d)) model++;
      else misses.push(c.anchor);
      if (bagCosine(c.anchor, c.paraphrase) > bagCosine(c.anchor, c.distractor)) baseline++;
    });
    console.log(`paraphrase ranked first: model ${model}/${CASES.length}, bag-of-words ${baseline}/${CASES.length}; model misses: ${misses.join(' | ')}`);
    return { model: model / CASES.length, baseline: baseline / CASES.length, misses };
  }

  it('the model ranks the paraphrase first more often than the bag-of-words baseline', async () => {
    const r = await score();
    expect(r.model).toBeGreaterThan(r.baseline);
  });

  // KNOWN FAILURE, kept visible: issue 10 asks for ≥ 90 %. On this fixture (written before any model
  // scored it) all-MiniLM-L6-v2 ranks the paraphrase first in 3 of 24 cases, and sentence-transformers
  // itself gives the same 3 of 24 (docs/embeddings.md): the distractors reuse the anchor's words in
  // another order or with one word flipped, which a mean-pooled bi-encoder scores as near-duplicates.
  // `it.fails` turns red the day the criterion is met (another model, a reranker, or a revised fixture),
  // so this line is then removed.
  it.fails('issue 10 criterion: the paraphrase ranks first in ≥ 90 % of cases (NOT met by all-MiniLM-L6-v2 on this fixture)', async () => {
    const r = await score();
    expect(r.model).toBeGreaterThanOrEqual(0.9);
  });
});
