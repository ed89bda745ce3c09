/**
 * The server's half of semantic search over the real hub, real bus clients and real PGlite + pgvector,
 * without the model: the vector writer, the asking side of `embed.query` (timeout, bounds, malformed
 * answers) and `GET /api/search` when no embedder is connected. The embedder process with the real
 * model is in workers/embedder/embedder.e2e.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, MINILM_L6_V2, makeEnvelope, PrometheanError, type Envelope } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { createHub, type Hub } from '../hub/index.ts';
import { mountSearchRoutes } from '../search/routes.ts';
import { openPgliteStore, PGLITE_MEMORY, StoreInputError, type SqlStore } from '../store/index.ts';
import { QUERY_SCOPE, START_EMBEDDER_HINT } from './bus-embedder.ts';
import { contentHash } from './semantic-search.ts';
import { startEmbedService, type RunningEmbedService } from './service.ts';
import { packVectors } from './wire.ts';
import { eventually } from '../../../test/support/until.ts';

const P = 'discord';
const MODEL = MINILM_L6_V2.id;
const DIMS = MINILM_L6_V2.dimensions;
/** The unit vector along axis `k`. */
const axis = (k: number) => {
  const v = new Float32Array(DIMS);
  v[k] = 1;
  return v;
};

describe('semantic search service over the real hub and PGlite + pgvector (no model)', () => {
  let hub: Hub;
  let store: SqlStore;
  let serverBus: BusClient;
  let producer: BusClient;
  let embed: RunningEmbedService;
  const errors: Envelope[] = [];
  /** What FakeEmbedderResponder answers to the next embed.query: the vectors, or a broken answer. */
  let fakeAnswer: 'none' | 'axis0' | 'wrong-count' | 'other-model' = 'none';

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: PGLITE_MEMORY });
    await store.migrate();
    const row = (id: string, content: string, space_id: string, channel_id: string, second: number, tenant = 'demo') => ({
      provider: P, tenant, foreign_id: id, space_id, channel_id, author_id: 'u1', content, created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
    });
    await store.indexMessages([
      row('1', 'my bike was stolen', 'g1', 'c1', 1),
      row('2', 'the meeting moved to friday', 'g1', 'c2', 2),
      row('3', 'my bike was stolen in g2', 'g2', 'c3', 3),
      row('5', 'my bike was stolen (other tenant)', 'g1', 'c1', 5, 'other'),
    ]);
    hub = await createHub({
      dataDir: mkdtempSync(join(tmpdir(), 'embed-service-')), writeRuntimeFile: false,
      mount: (app, ctx) => void mountSearchRoutes(app, ctx, { store, semantic: () => embed?.semantic }),
    });
    serverBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([serverBus.connect(), producer.connect()]);
    embed = startEmbedService(agentBusFrom(serverBus), store, { logLevel: 'silent', embedder: { timeoutMs: 1500, maxPending: 2 } });
    const subs = [
      producer.subscribe('promethean.p.*.t.*.error', (env) => void errors.push(env)),
      // A FAKE embedder (the real one, with the model, is in the e2e test): it answers queries as told,
      // including answers the real one never sends, to check how the asking side treats them.
      producer.subscribe(`promethean.p.${QUERY_SCOPE.provider}.t.${QUERY_SCOPE.tenant}.embed.query`, (env) => {
        if (fakeAnswer === 'none') return;
        const count = (env.payload as { texts: string[] }).texts.length + (fakeAnswer === 'wrong-count' ? 1 : 0);
        const model = fakeAnswer === 'other-model' ? 'another-model' : MODEL;
        producer.publish(
          makeEnvelope('embed.query.result', { model, dims: DIMS, count, encoding: 'f32le', attachment: 0 }, { src: 'message-embedder', ...QUERY_SCOPE, corr: env.id }),
          [packVectors(Array.from({ length: count }, () => axis(0)), DIMS)],
        );
      }),
    ];
    await Promise.all([embed.ready, ...subs.map((s) => s.ready)]);
  }, 120_000);

  afterAll(async () => {
    await embed?.stop();
    for (const b of [serverBus, producer]) b?.close();
    await hub?.close();
    await store?.close();
  });

  const get = async (path: string, token: string) => {
    const res = await fetch(`${hub.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as { mode?: string; note?: string; hits?: { id: string; match: string; distance?: number }[]; error?: { code: string; message: string } } };
  };
  const session = (guild?: string) => hub.issueSessionToken({ role: 'moderator', tenant: 'demo', ...(guild ? { guild } : {}) }).token;
  const publishVectors = (tenant: string, items: { id: string; guild: string; channel: string; text: string; vector: Float32Array }[], over: Record<string, unknown> = {}, bytes?: Uint8Array) =>
    producer.publish(
      makeEnvelope('embed.vectors', {
        model: MODEL, dims: DIMS, encoding: 'f32le', attachment: 0,
        items: items.map((i) => ({ kind: 'message', source_id: i.id, space_id: i.guild, channel_id: i.channel, content_sha256: contentHash(MODEL, i.text) })),
        ...over,
      } as never, { src: 'message-embedder', provider: P, tenant }),
      [bytes ?? packVectors(items.map((i) => i.vector), DIMS)],
    );
  const rows = async () =>
    (await store.sql.query<{ tenant: string; foreign_id: string; content_hash: string; updated_at: string }>('SELECT tenant, foreign_id, content_hash, updated_at::text FROM text_embeddings ORDER BY tenant, foreign_id')).rows;
  const health = (state: string) =>
    makeEnvelope('health', { agent_id: 'message-embedder', kind: 'worker', state, uptime_s: 1, queue_depth: 0, cpu_pct: 0, rss_mb: 1, heap_mb: 1, latency_ms: {}, counters: {} } as never, {
      src: 'message-embedder', ...QUERY_SCOPE, models: [{ name: MODEL, version: '1' }],
    });

  it('with no embedder connected: semantic is 503 naming what to start, both falls back to exact with a note, the default is exact', async () => {
    expect(embed.embedder.available).toBe(false);
    const token = session();
    const semantic = await get('/api/search?q=bike%20was%20stolen&mode=semantic', token);
    expect(semantic.status).toBe(503);
    expect(semantic.body.error).toEqual({ code: 'unavailable', message: START_EMBEDDER_HINT });
    expect(semantic.body.error!.message).toContain('server/src/workers/embedder/main.ts');
    const both = await get('/api/search?q=bike%20was%20stolen&mode=both', token);
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({ mode: 'exact', requested: 'both' });
    expect(both.body.note).toContain('semantic search unavailable (unavailable)');
    expect(both.body.hits!.map((h) => [h.id, h.match])).toEqual([['3', 'exact'], ['1', 'exact']]);
    const plain = await get('/api/search?q=bike%20was%20stolen', token);
    expect(plain.body.mode).toBe('exact');
    expect(plain.body.note).toBeUndefined();
  });

  it('stores embed.vectors from the bus; a repeat is counted unchanged and leaves the row as it was; an edit replaces it', async () => {
    publishVectors('demo', [
      { id: '1', guild: 'g1', channel: 'c1', text: 'my bike was stolen', vector: axis(0) },
      { id: '2', guild: 'g1', channel: 'c2', text: 'the meeting moved to friday', vector: axis(1) },
      { id: '3', guild: 'g2', channel: 'c3', text: 'my bike was stolen in g2', vector: axis(0) },
    ]);
    publishVectors('other', [{ id: '5', guild: 'g1', channel: 'c1', text: 'my bike was stolen (other tenant)', vector: axis(0) }]);
    await eventually(async () => (await rows()).length === 4, 'four stored vectors');
    const before = await rows();
    expect(before.map((r) => [r.tenant, r.foreign_id])).toEqual([['demo', '1'], ['demo', '2'], ['demo', '3'], ['other', '5']]);
    expect(before[0]!.content_hash).toBe(contentHash(MODEL, 'my bike was stolen'));
    const counters = embed.runtime.counters;
    expect(counters['vectors.written']).toBe(4);

    publishVectors('demo', [{ id: '1', guild: 'g1', channel: 'c1', text: 'my bike was stolen', vector: axis(0) }]);
    await eventually(() => (embed.runtime.counters['vectors.unchanged'] ?? 0) === 1, 'the repeat to be seen');
    expect(embed.runtime.counters['vectors.written']).toBe(4);
    expect(await rows()).toEqual(before);

    publishVectors('demo', [{ id: '2', guild: 'g1', channel: 'c2', text: 'the meeting moved to monday', vector: axis(2) }]);
    await eventually(() => embed.runtime.counters['vectors.written'] === 5, 'the edit to be written');
    const after = await rows();
    expect(after.find((r) => r.foreign_id === '2')!.content_hash).toBe(contentHash(MODEL, 'the meeting moved to monday'));
    expect(after).toHaveLength(4);
  });

  it('a malformed embed.vectors gets a typed error envelope back and a counter; nothing is stored', async () => {
    const item = { id: '9', guild: 'g1', channel: 'c1', text: 'nine', vector: axis(3) };
    const nan = axis(3);
    nan[7] = Number.NaN;
    const cases: [string, () => void, string, string][] = [
      ['a short attachment', () => publishVectors('demo', [item], {}, new Uint8Array(100)), 'schema', 'attachments.0'],
      ['a NaN', () => publishVectors('demo', [{ ...item, vector: nan }]), 'schema', 'attachments.0'],
      ['another model', () => publishVectors('demo', [item], { model: 'another-model' }), 'unsupported', 'payload.model'],
      ['other dimensions', () => publishVectors('demo', [item], { dims: 128 }, new Uint8Array(128 * 4)), 'schema', 'payload.dims'],
    ];
    const before = embed.runtime.counters['rejected.embed.vectors'] ?? 0;
    for (const [name, send, code, path] of cases) {
      const seen = errors.length;
      send();
      const err = await eventually(() => errors.slice(seen).find((e) => (e.payload as { path?: string }).path === path), `the error for ${name}`);
      expect(err.payload, name).toMatchObject({ code, path });
      expect(err.tenant).toBe('demo');
    }
    expect(embed.runtime.counters['rejected.embed.vectors']).toBe(before + cases.length);
    expect((await rows()).some((r) => r.foreign_id === '9')).toBe(false);
  });

  it('SemanticSearch.write() refuses another model, a vector of the wrong length and a bad hash with a StoreInputError naming the field', async () => {
    const search = embed.search!;
    const item = { kind: 'message', foreign_id: '9', space_id: 'g1', channel_id: 'c1', content_hash: contentHash(MODEL, 'nine'), vector: axis(4) };
    const path = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof StoreInputError ? e.path : 'not typed'));
    expect(await path(search.write({ provider: P, tenant: 'demo' }, 'another-model', [item]))).toBe('model');
    expect(await path(search.write({ provider: P, tenant: 'demo' }, MODEL, [{ ...item, vector: new Float32Array(3) }]))).toBe('items.0.vector');
    expect(await path(search.write({ provider: P, tenant: 'demo' }, MODEL, [{ ...item, content_hash: 'abc' }]))).toBe('items.0.content_hash');
    expect(await path(search.write({ provider: P, tenant: 'Demo Tenant' }, MODEL, [item]))).toBe('scope.tenant');
    expect((await rows()).some((r) => r.foreign_id === '9')).toBe(false);
  });

  it('asking side: an answer that never comes is a timeout (504 for semantic; both falls back with a note)', async () => {
    fakeAnswer = 'none';
    producer.publish(health('RUNNING'));
    await eventually(() => embed.embedder.available, 'the embedder to count as connected');
    const token = session();
    const semantic = await get('/api/search?q=stolen%20bicycle&mode=semantic', token);
    expect(semantic.status).toBe(504);
    expect(semantic.body.error!.code).toBe('timeout');
    const both = await get('/api/search?q=bike%20was%20stolen&mode=both', token);
    expect(both.body).toMatchObject({ mode: 'exact', requested: 'both' });
    expect(both.body.note).toContain('(timeout)');
    expect(embed.embedder.counters.timeouts).toBe(2);
  });

  it('asking side: at most maxPending queries wait, more are rate_limited, and the waiting ones time out', async () => {
    fakeAnswer = 'none';
    producer.publish(health('RUNNING'));
    await eventually(() => embed.embedder.available, 'the embedder to count as connected');
    const waiting = [embed.embedder.embed(['a']), embed.embedder.embed(['b'])];
    await expect(embed.embedder.embed(['c'])).rejects.toMatchObject({ code: 'rate_limited' });
    for (const w of waiting) await expect(w).rejects.toMatchObject({ code: 'timeout' });
    expect(embed.embedder.pending).toBe(0);
  });

  it('asking side: a right answer gives the vectors; a wrong count or another model is refused as internal', async () => {
    producer.publish(health('RUNNING'));
    await eventually(() => embed.embedder.available, 'the embedder to count as connected');
    fakeAnswer = 'axis0';
    const [v] = await embed.embedder.embed(['anything']);
    expect([...v!]).toEqual([...axis(0)]);
    fakeAnswer = 'wrong-count';
    await expect(embed.embedder.embed(['x'])).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('2 vectors for 1 texts') });
    fakeAnswer = 'other-model';
    await expect(embed.embedder.embed(['x'])).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('another-model') });
    expect(embed.embedder.counters.badAnswers).toBe(2);
  });

  it('both: exact matches first, then the nearest not yet listed, confined to the session guild and tenant', async () => {
    producer.publish(health('RUNNING'));
    await eventually(() => embed.embedder.available, 'the embedder to count as connected');
    fakeAnswer = 'axis0';
    // Stored: demo 1 (axis 0, g1), demo 2 (axis 2, g1), demo 3 (axis 0, g2), other 5 (axis 0).
    const r = await get('/api/search?q=meeting%20moved&mode=both&limit=5', session('g1'));
    expect(r.status).toBe(200);
    expect(r.body.mode).toBe('both');
    expect(r.body.hits!.map((h) => [h.id, h.match])).toEqual([['2', 'both'], ['1', 'semantic']]);
    expect(r.body.hits![1]!.distance).toBeCloseTo(0, 6);
    const semantic = await get('/api/search?q=anything&mode=semantic&limit=5', session());
    expect(semantic.body.hits!.map((h) => h.id).slice(0, 2).sort()).toEqual(['1', '3']);
    expect(semantic.body.hits!.map((h) => h.id)).not.toContain('5');
  });

  it('a STOPPED health from the embedder ends availability at once', async () => {
    producer.publish(health('RUNNING'));
    await eventually(() => embed.embedder.available, 'connected');
    producer.publish(health('STOPPED'));
    await eventually(() => !embed.embedder.available, 'not connected');
    await expect(embed.embedder.embed(['x'])).rejects.toBeInstanceOf(PrometheanError);
    expect(embed.embedder.counters.refusedUnavailable).toBeGreaterThanOrEqual(1);
  });
});
