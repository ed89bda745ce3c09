import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedError } from '@promethean/shared';
import type { TransformersEmbedder } from '@promethean/shared';
import { requires } from '../../../test/support/requires.ts';
import { openPgliteStore, PGLITE_MEMORY, StoreInputError } from '../store/index.ts';
import type { SqlStore } from '../store/index.ts';
import { contentHash, SemanticSearch } from './semantic-search.ts';
import { openServerEmbedder } from './server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from './testing.ts';

const MODEL = requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);
const ACME = { provider: 'discord', tenant: 'acme' };
const OTHER = { provider: 'discord', tenant: 'other' };

describe('contentHash', () => {
  it('is the sha-256 of model id, NUL and text (checked against a fixed digest)', () => {
    // printf 'm\0hello' | sha256sum
    expect(contentHash('m', 'hello')).toBe('ceeefc2ffbf7e824321da8464fe34abee4df8ad14b6349190542d95d327911da');
  });
});

describe('SemanticSearch without pgvector', () => {
  it('refuses to start with UnsupportedError', () => {
    // Only the capability flag is read; the real no-pgvector store is PostgreSQL 15 (postgres.test.ts).
    const fakeNoVectorStore = { capabilities: { vector: false }, sql: undefined as unknown as SqlStore['sql'] };
    const fakeEmbedder = { model: 'x', dimensions: 384, embed: async () => [], close: async () => undefined };
    expect(() => new SemanticSearch(fakeNoVectorStore, fakeEmbedder)).toThrow(UnsupportedError);
  });
});

describe.skipIf(!MODEL)('SemanticSearch over PGlite + pgvector', () => {
  let store: SqlStore;
  let embedder: TransformersEmbedder;
  let search: SemanticSearch;

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: PGLITE_MEMORY });
    await store.migrate();
    embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
    search = new SemanticSearch(store, embedder);
  });
  afterAll(async () => {
    await embedder?.close();
    await store?.close();
  });

  const MESSAGES = [
    { kind: 'message', foreign_id: '1', space_id: 'g1', channel_id: 'c1', text: 'Someone stole my bicycle from outside the library.' },
    { kind: 'message', foreign_id: '2', space_id: 'g1', channel_id: 'c1', text: 'The meeting was postponed until next week.' },
    { kind: 'message', foreign_id: '3', space_id: 'g1', channel_id: 'c2', text: 'Please mute your microphone when you are not speaking.' },
    { kind: 'transcript', foreign_id: 's1:1', space_id: 'g2', channel_id: 'c9', text: 'My bike got nicked last night near the books place.' },
  ];

  it('index() embeds new texts, and is idempotent by content hash', async () => {
    expect(await search.index(ACME, MESSAGES)).toEqual({ embedded: 4, unchanged: 0 });
    expect(await search.index(ACME, MESSAGES)).toEqual({ embedded: 0, unchanged: 4 });
    const rows = await store.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM text_embeddings');
    expect(rows.rows[0]!.n).toBe(4);
    const stored = await store.sql.query<{ content_hash: string }>("SELECT content_hash FROM text_embeddings WHERE foreign_id = '2'");
    expect(stored.rows[0]!.content_hash).toBe(contentHash('all-MiniLM-L6-v2', MESSAGES[1]!.text));
  });

  it('a changed text is embedded again and replaces its vector', async () => {
    const edited = { ...MESSAGES[1]!, text: 'The server crashed because it ran out of memory.' };
    expect(await search.index(ACME, [edited, MESSAGES[0]!])).toEqual({ embedded: 1, unchanged: 1 });
    const [top] = await search.search({ ...ACME, text: 'the machine went down after exhausting its RAM', k: 1 });
    expect(top!.foreign_id).toBe('2');
  });

  it('search() ranks by meaning within the tenant, nearest first, with similarity = 1 − distance', async () => {
    const hits = await search.search({ ...ACME, text: 'a thief took my bike', k: 4 });
    expect(hits.map((h) => h.foreign_id).slice(0, 2).sort()).toEqual(['1', 's1:1']);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.distance).toBeGreaterThanOrEqual(hits[i - 1]!.distance);
    for (const h of hits) expect(h.similarity).toBeCloseTo(1 - h.distance, 12);
  });

  it('filters by kind, guild and channel, and never crosses tenants', async () => {
    await search.index(OTHER, [{ kind: 'message', foreign_id: '1', space_id: 'g1', channel_id: 'c1', text: 'a thief took my bike' }]);
    const kinds = await search.search({ ...ACME, text: 'a thief took my bike', kinds: ['transcript'] });
    expect(kinds.map((h) => h.foreign_id)).toEqual(['s1:1']);
    const guild = await search.search({ ...ACME, text: 'a thief took my bike', space_ids: ['g1'] });
    expect(guild.every((h) => h.space_id === 'g1')).toBe(true);
    const channel = await search.search({ ...ACME, text: 'a thief took my bike', channel_ids: ['c2'] });
    expect(channel.map((h) => h.foreign_id)).toEqual(['3']);
    const other = await search.search({ ...OTHER, text: 'bike', k: 10 });
    expect(other.map((h) => h.foreign_id)).toEqual(['1']);
    expect(other[0]!.similarity).toBeGreaterThan(0.5);
  });

  it('remove() drops vectors', async () => {
    expect(await search.remove(ACME, 'message', ['3', 'nope'])).toBe(1);
    expect((await search.search({ ...ACME, text: 'microphone', channel_ids: ['c2'] })).length).toBe(0);
  });

  it('bad input is a StoreInputError naming the field, counted; nothing is written', async () => {
    const before = search.counters.rejectedInputs;
    const cases: Array<() => Promise<unknown>> = [
      () => search.index({ provider: 'discord', tenant: 'Bad Tenant' }, MESSAGES),
      () => search.index(ACME, [{ kind: 'Message', foreign_id: '9', text: 'x' }]),
      () => search.index(ACME, [{ kind: 'message', foreign_id: '', text: 'x' }]),
      () => search.index(ACME, [{ kind: 'message', foreign_id: '9', text: 'nul \u0000 inside' }]),
      () => search.search({ ...ACME, text: '' }),
      () => search.search({ ...ACME, text: 'x', k: 1000 }),
    ];
    for (const c of cases) await expect(c()).rejects.toBeInstanceOf(StoreInputError);
    const err = await search.index(ACME, [{ kind: 'message', foreign_id: '9', text: 1 as unknown as string }]).catch((e: unknown) => e);
    expect((err as StoreInputError).path).toBe('items.0.text');
    expect(search.counters.rejectedInputs).toBe(before + cases.length + 1);
    const n = await store.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM text_embeddings WHERE foreign_id = '9'");
    expect(n.rows[0]!.n).toBe(0);
  });
});
