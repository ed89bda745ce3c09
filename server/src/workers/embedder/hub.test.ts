import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type Envelope, type TransformersEmbedder } from '@promethean/shared';
import { requires } from '../../../../test/support/requires.ts';
import { openServerEmbedder } from '../../embed/server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from '../../embed/testing.ts';
import { createHub, type Hub } from '../../hub/index.ts';
import { openPgliteStore, PGLITE_MEMORY, type SqlStore } from '../../store/index.ts';
import { startEmbedder, type RunningEmbedder } from './index.ts';

const P = 'discord';
const urn = (kind: string, id: string, tenant = 'demo') => `urn:${P}:${kind}:${tenant}:${id}`;
const MODEL = requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);

async function until<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!MODEL)('message embedder over the real hub, PGlite + pgvector and the real model', () => {
  let hub: Hub;
  let store: SqlStore;
  let embedder: TransformersEmbedder;
  let workerBus: BusClient;
  let producer: BusClient;
  let running: RunningEmbedder;
  const errors: Envelope[] = [];

  beforeAll(async () => {
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'embedder-hub-')), writeRuntimeFile: false });
    store = await openPgliteStore({ dataDir: PGLITE_MEMORY });
    await store.migrate();
    embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
    workerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([workerBus.connect(), producer.connect()]);
    const sub = producer.subscribe('promethean.p.*.t.*.error', (env) => void errors.push(env));
    running = startEmbedder(workerBus, store, embedder, { logLevel: 'silent', flushMs: 20 });
    await Promise.all([running.ready, (sub as { ready?: Promise<void> }).ready]);
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
    for (const b of [workerBus, producer]) b?.close();
    await embedder?.close();
    await store?.close();
    await hub?.close();
  });

  const created = (id: string, text: string, tenant = 'demo', channel = '77') => ({
    message_id: urn('message', id, tenant), author_urn: urn('user', '5', tenant), space_urn: urn('channel', channel, tenant), text,
    attachments: [], created_at: '2026-01-01T00:00:00.000Z', provider: P, tenant, provider_payload: { guild_id: '9', id },
  });
  const publish = (payload: ReturnType<typeof created>, tenant = 'demo') =>
    producer.publish(makeEnvelope('events.SocialMessageCreated', payload as never, { src: 'discord-gateway', provider: P, tenant }));
  const count = async (tenant = 'demo') =>
    (await store.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM text_embeddings WHERE tenant = $1', [tenant])).rows[0]!.n;

  it('embeds live messages of every tenant into text_embeddings, searchable by meaning within the tenant', async () => {
    publish(created('1', 'Someone stole my bicycle from outside the library.'));
    publish(created('2', 'The meeting was postponed until next week.', 'demo', '78'));
    publish(created('3', 'Please mute your microphone when you are not speaking.'));
    publish(created('9', 'A thief took my bike.', 'second'), 'second');
    await until(async () => (await count('demo')) === 3 && (await count('second')) === 1, 'four vectors');
    const hits = await running.search.search({ provider: P, tenant: 'demo', text: 'my bike was taken', k: 3 });
    expect(hits[0]).toMatchObject({ kind: 'message', foreign_id: '1', space_id: '9', channel_id: '77' });
    const other = await running.search.search({ provider: P, tenant: 'second', text: 'my bike was taken', k: 3 });
    expect(other.map((h) => h.foreign_id)).toEqual(['9']);
  });

  it('a redelivered message is not embedded again (content hash); an edited text is', async () => {
    const before = running.runtime.counters['embed.embedded'] ?? 0;
    publish(created('1', 'Someone stole my bicycle from outside the library.'));
    await until(() => (running.runtime.counters['embed.unchanged'] ?? 0) >= 1, 'the duplicate to be seen');
    expect(running.runtime.counters['embed.embedded']).toBe(before);
    publish(created('1', 'The server crashed because it ran out of memory.'));
    await until(() => (running.runtime.counters['embed.embedded'] ?? 0) === before + 1, 'the changed text');
    const [top] = await running.search.search({ provider: P, tenant: 'demo', text: 'the machine ran out of RAM', k: 1 });
    expect(top!.foreign_id).toBe('1');
    expect(await count('demo')).toBe(3);
  });

  it('a bad envelope gets a typed error envelope and a counter, and embedding goes on', async () => {
    publish({ ...created('50', 'x'), message_id: urn('message', '50', 'someone-else') });
    const err = await until(() => errors.find((e) => (e.payload as { path?: string }).path === 'payload.message_id'), 'an error envelope');
    expect((err.payload as { code: string }).code).toBe('schema');
    expect(running.runtime.counters['rejected.events.SocialMessageCreated']).toBe(1);
    publish(created('51', 'Stop spamming links in the general chat.'));
    await until(async () => (await count('demo')) === 4, 'a good message after the bad one');
  });
});
