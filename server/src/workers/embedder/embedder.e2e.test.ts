/**
 * The message embedder as its own process with the real all-MiniLM-L6-v2, against the real hub (with
 * the embedder's own key, granted its manifest's outputs), the server's half (message indexer, vector
 * writer, `GET /api/search`) on real PGlite + pgvector, and the same model in this process as the
 * reference.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, cosineSimilarity, makeEnvelope, MINILM_L6_V2, type Envelope, type PayloadOf, type TransformersEmbedder } from '@promethean/shared';
import { agentBusFrom, loadManifest } from '@promethean/shared/node';
import { requires } from '../../../../test/support/requires.ts';
import { QUERY_SCOPE, START_EMBEDDER_HINT } from '../../embed/bus-embedder.ts';
import { contentHash } from '../../embed/semantic-search.ts';
import { openServerEmbedder } from '../../embed/server-embedder.ts';
import { startEmbedService, type RunningEmbedService } from '../../embed/service.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from '../../embed/testing.ts';
import { unpackVectors } from '../../embed/wire.ts';
import { issueAgentKey } from '../../hub/agent-keys.ts';
import { createHub, type Hub } from '../../hub/index.ts';
import { mountSearchRoutes } from '../../search/routes.ts';
import { openPgliteStore, PGLITE_MEMORY, type SqlStore } from '../../store/index.ts';
import { startIndexer, type RunningIndexer } from '../indexer/index.ts';
import { eventually } from '../../../../test/support/until.ts';

const P = 'discord';
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const MANIFEST = fileURLToPath(new URL('./agent.yml', import.meta.url));
const MODEL = requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);
const urn = (kind: string, id: string, tenant: string) => `urn:${P}:${kind}:${tenant}:${id}`;

describe.skipIf(!MODEL)('message embedder process: vectors over the bus, stored by the server, searched through GET /api/search', () => {
  let hub: Hub;
  let store: SqlStore;
  let reference: TransformersEmbedder;
  let serverBus: BusClient;
  let producer: BusClient;
  let indexer: RunningIndexer;
  let embed: RunningEmbedService;
  let child: ChildProcess | undefined;
  const vectors: { env: Envelope<'embed.vectors'>; attachments: Uint8Array[] }[] = [];
  const errors: Envelope[] = [];
  const results: Envelope[] = [];

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'embedder-e2e-'));
    const keyFile = await issueAgentKey(dataDir, 'message-embedder', { outputs: (await loadManifest(MANIFEST)).outputs, readonly: false });
    store = await openPgliteStore({ dataDir: PGLITE_MEMORY });
    await store.migrate();
    hub = await createHub({ dataDir, writeRuntimeFile: false, mount: (app, ctx) => void mountSearchRoutes(app, ctx, { store, semantic: () => embed?.semantic }) });
    serverBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([serverBus.connect(), producer.connect()]);
    // The server's half, as server/src/app.ts wires it: the message indexer and the embed service on its bus and store.
    indexer = await startIndexer(agentBusFrom(serverBus), store, { logLevel: 'silent' });
    embed = startEmbedService(agentBusFrom(serverBus), store, { logLevel: 'silent' });
    const subs = [
      producer.subscribe('promethean.p.*.t.*.embed.vectors', (env, attachments) => void vectors.push({ env: env as Envelope<'embed.vectors'>, attachments })),
      producer.subscribe('promethean.p.*.t.*.error', (env) => void errors.push(env)),
      producer.subscribe(`promethean.p.${QUERY_SCOPE.provider}.t.${QUERY_SCOPE.tenant}.embed.query.result`, (env) => void results.push(env)),
    ];
    await Promise.all([indexer.ready, embed.ready, ...subs.map((s) => s.ready)]);
    reference = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });

    child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        PATH: process.env.PATH ?? '', PROMETHEAN_HUB_URL: hub.url, PROMETHEAN_AGENT_TOKEN_FILE: keyFile,
        PROMETHEAN_MODELS_DIR: TEST_MODEL_CACHE, PROMETHEAN_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const c = child;
    await new Promise<void>((resolve, reject) => {
      c.once('message', (m) => ((m as { type?: string }).type === 'ready' ? resolve() : reject(new Error(`unexpected message ${JSON.stringify(m)}`))));
      c.once('exit', (code) => reject(new Error(`the embedder exited with ${code} before ready`)));
    });
    await eventually(() => embed.embedder.available, 'the server to see the embedder');
  }, 240_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await embed?.stop();
    await indexer?.stop();
    for (const b of [serverBus, producer]) b?.close();
    await reference?.close();
    await hub?.close();
    await store?.close();
  });

  const message = (tenant: string, id: string, guild: string, channel: string, text: string): PayloadOf<'events.SocialMessageCreated'> => ({
    message_id: urn('message', id, tenant), author_urn: urn('user', '5', tenant), space_urn: urn('channel', channel, tenant), text,
    attachments: [], created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, Number(id))).toISOString(), provider: P, tenant, provider_payload: { guild_id: guild, id },
  });
  const publish = (m: PayloadOf<'events.SocialMessageCreated'>) =>
    producer.publish(makeEnvelope('events.SocialMessageCreated', m, { src: 'discord-gateway', provider: P, tenant: m.tenant }));
  const stored = async (tenant: string, id: string) =>
    (await store.sql.query<{ content_hash: string; updated_at: string }>('SELECT content_hash, updated_at::text FROM text_embeddings WHERE tenant = $1 AND foreign_id = $2', [tenant, id])).rows;
  const get = async (path: string, token: string) => {
    const res = await fetch(`${hub.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as { mode?: string; note?: string; hits?: { id: string; match: string; guild_id: string }[]; error?: { code: string; message: string } } };
  };
  const session = (guild?: string) => hub.issueSessionToken({ role: 'moderator', tenant: 'demo', ...(guild ? { guild } : {}) }).token;
  /** Guilds as Discord snowflakes (the normalizer reads guild_id only when it is one). */
  const G1 = '900000000000000001';
  const G2 = '900000000000000002';
  const BIKE = 'Someone stole my bicycle from outside the library.';

  it('publishes vectors for a message equal to the in-process model run (cosine ≥ 0.999), with its content hash and scope', async () => {
    publish(message('demo', '1', G1, '7701', BIKE));
    const got = await eventually(() => vectors.find((v) => v.env.payload.items.some((i) => i.source_id === '1')), 'embed.vectors for message 1');
    expect(got.env).toMatchObject({ src: 'message-embedder', provider: P, tenant: 'demo', models: [{ name: MINILM_L6_V2.id, version: '1' }] });
    expect(got.env.payload).toMatchObject({ model: MINILM_L6_V2.id, dims: 384, encoding: 'f32le' });
    expect(got.env.payload.items).toEqual([{ kind: 'message', source_id: '1', space_id: G1, channel_id: '7701', content_sha256: contentHash(MINILM_L6_V2.id, BIKE) }]);
    const [v] = unpackVectors(got.attachments[got.env.payload.attachment], 1, 384);
    const [ref] = await reference.embed([BIKE]);
    expect(cosineSimilarity(v!, ref!)).toBeGreaterThanOrEqual(0.999);
  });

  it('the server stores them, and a repeat is published again but not stored twice', async () => {
    const [first] = await eventually(async () => {
      const r = await stored('demo', '1');
      return r.length === 1 ? r : undefined;
    }, 'the vector of message 1 in text_embeddings');
    expect(first!.content_hash).toBe(contentHash(MINILM_L6_V2.id, BIKE));
    const unchanged = embed.runtime.counters['vectors.unchanged'] ?? 0;
    const published = vectors.length;
    publish(message('demo', '1', G1, '7701', BIKE));
    await eventually(() => (embed.runtime.counters['vectors.unchanged'] ?? 0) === unchanged + 1, 'the repeat to reach the writer');
    await eventually(() => vectors.length === published + 1, 'the repeat\'s vectors on the bus');
    expect(await stored('demo', '1')).toEqual([first]);
  });

  it('GET /api/search mode=semantic returns the nearest stored message first, never another tenant\'s or an ungranted guild\'s', async () => {
    // The nearest texts to the query are in guild g2 and in tenant "other": a session of g1 must not see them.
    publish(message('demo', '2', G1, '7702', 'The meeting was postponed until next week.'));
    publish(message('demo', '3', G1, '7701', 'Please mute your microphone when you are not speaking.'));
    publish(message('demo', '4', G2, '7709', 'My bike was taken by a thief last night.'));
    publish(message('other', '5', G1, '7701', 'My bike was taken by a thief.'));
    await eventually(async () => (await stored('demo', '4')).length === 1 && (await stored('other', '5')).length === 1 && (await stored('demo', '3')).length === 1, 'every vector stored');
    for (const id of ['2', '3', '4']) await eventually(async () => (await store.getIndexedMessage({ provider: P, tenant: 'demo', foreign_id: id })) !== undefined, `message ${id} stored by the indexer`);

    const g1 = await get('/api/search?q=my%20bike%20was%20taken&mode=semantic&limit=10', session(G1));
    expect(g1.status).toBe(200);
    expect(g1.body.mode).toBe('semantic');
    expect(g1.body.hits![0]!.id).toBe('1');
    expect(g1.body.hits!.map((h) => h.id).sort()).toEqual(['1', '2', '3']);
    expect(g1.body.hits!.every((h) => h.guild_id === G1)).toBe(true);

    const all = await get('/api/search?q=my%20bike%20was%20taken&mode=semantic&limit=10', session());
    expect(all.body.hits!.map((h) => h.id).slice(0, 2).sort()).toEqual(['1', '4']);
    expect(all.body.hits!.map((h) => h.id)).not.toContain('5');
    // Below the route too: the index itself never answers with another tenant's vector.
    const raw = await embed.search!.search({ provider: P, tenant: 'demo', text: 'my bike was taken', k: 10 });
    expect(raw.map((h) => h.foreign_id).sort()).toEqual(['1', '2', '3', '4']);

    expect((await get(`/api/search?q=bike&mode=semantic&guild=${G2}`, session(G1))).status).toBe(403);
  });

  it('both (the default while the embedder is connected): the exact phrase first, then the nearest', async () => {
    const r = await get('/api/search?q=postponed%20until%20next%20week&limit=3', session(G1));
    expect(r.status).toBe(200);
    expect(r.body.mode).toBe('both');
    expect(r.body.hits!.map((h) => [h.id, h.match])[0]).toEqual(['2', 'both']);
    expect(r.body.hits!.slice(1).every((h) => h.match === 'semantic')).toBe(true);
  });

  it('a malformed message gets a typed error envelope; a query for another model is answered unsupported', async () => {
    const bad = { ...message('demo', '50', G1, '7701', 'x'), message_id: urn('message', '50', 'someone-else') };
    publish(bad);
    const err = await eventually(() => errors.find((e) => e.src === 'message-embedder' && (e.payload as { path?: string }).path === 'payload.message_id'), 'the embedder\'s error envelope');
    expect((err.payload as { code: string }).code).toBe('schema');
    const q = makeEnvelope('embed.query', { texts: ['hello'], model: 'another-model' }, { src: 'test', ...QUERY_SCOPE });
    producer.publish(q);
    const answer = await eventually(() => results.find((e) => e.corr === q.id), 'the answer');
    expect(answer.payload).toMatchObject({ count: 0, error: { code: 'unsupported' } });
  });

  it('with the embedder stopped, semantic answers 503 naming what to start and both falls back to exact with a note', async () => {
    const exited = new Promise((r) => child!.once('exit', r));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    await eventually(() => !embed.embedder.available, 'the server to notice the embedder stopped', 10_000);
    const semantic = await get('/api/search?q=my%20bike&mode=semantic', session());
    expect(semantic.status).toBe(503);
    expect(semantic.body.error).toEqual({ code: 'unavailable', message: START_EMBEDDER_HINT });
    const both = await get('/api/search?q=postponed%20until&mode=both', session());
    expect(both.body).toMatchObject({ mode: 'exact', requested: 'both' });
    expect(both.body.note).toContain('unavailable');
    expect(both.body.hits!.map((h) => h.id)).toEqual(['2']);
  });
});
