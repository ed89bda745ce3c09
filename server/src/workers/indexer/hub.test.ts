import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
import { createHub, type Hub } from '../../hub/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../../store/testing.ts';
import type { SqlStore } from '../../store/sqlStore.ts';
import { startStandin, type Standin } from '../../../../test/standin/src/standin.ts';
import { startIndexer, type RunningIndexer } from './index.ts';
import { FakeRestAgent } from './fake-rest-agent.ts';
import { agentBusFrom } from '@promethean/shared/node';
import { startDiscordRest, type RunningDiscordRest } from '../../access/discord-rest/index.ts';
import { progressBar, runBackfill } from '../../cli/commands/backfill.ts';
import { eventually } from '../../../../test/support/until.ts';

const P = 'discord';
const urn = (kind: string, id: string, tenant = 'demo') => `urn:${P}:${kind}:${tenant}:${id}`;

describe('message indexer over the real hub, the real stand-in and PGlite', () => {
  let hub: Hub;
  let standin: Standin;
  let template: PgliteTemplate;
  let store: SqlStore;
  let workerBus: BusClient;
  let agentBus: BusClient;
  let producer: BusClient;
  let indexer: RunningIndexer;
  let fake: FakeRestAgent;
  let realBus: BusClient;
  let realAgent: RunningDiscordRest;
  const seen: Envelope[] = [];

  beforeAll(async () => {
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'indexer-hub-')), writeRuntimeFile: false });
    standin = await startStandin();
    template = await pgliteTemplate();
    store = await template.fresh();
    workerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    agentBus = new BusClient({ url: hub.url, token: hub.agentKey });
    realBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([workerBus.connect(), agentBus.connect(), realBus.connect(), producer.connect()]);
    const subs = [
      producer.subscribe('promethean.p.*.t.*.jobs.backfill.messages.>', (env) => void seen.push(env)),
      producer.subscribe('promethean.p.*.t.*.error', (env) => void seen.push(env)),
    ];
    fake = new FakeRestAgent(agentBus, standin.restApi, ['real']);
    realAgent = await startDiscordRest({ bus: agentBusFrom(realBus), tenant: 'real', botToken: 'indexer-test-bot-token', apiBase: standin.restApi, cdnBase: standin.cdnBase, proxy: { clientKey: 'indexer-test-proxy-key' }, logLevel: 'silent' });
    const fakeSub = agentBus.subscribe('promethean.p.*.t.*.rest.request', () => undefined);
    fakeSub();
    fake.start();
    indexer = await startIndexer(workerBus, store, { logLevel: 'silent', backfill: { backoffMs: 10 } });
    await Promise.all([indexer.ready, ...subs.map((s) => s.ready)]);
  }, 60_000);

  afterAll(async () => {
    await indexer?.stop();
    fake?.stop();
    await realAgent?.close();
    for (const b of [workerBus, agentBus, realBus, producer]) b?.close();
    await template?.close();
    await standin?.close();
    await hub?.close();
  });

  const publish = (intent: string, payload: unknown, tenant = 'demo') =>
    producer.publish(makeEnvelope(intent, payload as never, { src: 'discord-gateway', provider: P, tenant }));

  const enqueue = (payload: PayloadOf<'jobs.backfill.messages.enqueue'>, tenant = 'demo') =>
    producer.publish(makeEnvelope('jobs.backfill.messages.enqueue', payload, { src: 'cli', provider: P, tenant }));

  const ended = (jobId: string) =>
    eventually(() => seen.find((e) => (e.intent === 'jobs.backfill.messages.done' || e.intent === 'jobs.backfill.messages.error') && (e.payload as { job_id: string }).job_id === jobId), `job ${jobId} to end`, 60_000);

  const created = (id: string, text: string, tenant = 'demo') => ({
    message_id: urn('message', id, tenant), author_urn: urn('user', '5', tenant), space_urn: urn('channel', '77', tenant), text,
    attachments: [], created_at: '2026-01-01T00:00:00.000Z', provider: P, tenant, provider_payload: { guild_id: '9', id },
  });

  it('stores a live SocialMessageCreated, then applies MESSAGE_UPDATE, MESSAGE_DELETE and MESSAGE_DELETE_BULK', async () => {
    for (const id of ['111', '112', '113']) publish('events.SocialMessageCreated', created(id, `hello ${id}`));
    const key = { provider: P, tenant: 'demo', foreign_id: '111' };
    const first = await eventually(() => store.getIndexedMessage(key), 'the live message');
    expect(first).toMatchObject({ content: 'hello 111', channel_id: '77', author_id: '5', space_id: '9', deleted_at: null });
    publish('events.MESSAGE_UPDATE', { id: '111', channel_id: '77', guild_id: '9', content: 'hello edited', edited_timestamp: '2026-01-01T00:05:00.000Z' });
    await eventually(async () => (await store.getIndexedMessage(key))?.content === 'hello edited', 'the edit');
    publish('events.MESSAGE_DELETE', { id: '111', channel_id: '77', guild_id: '9' });
    await eventually(async () => (await store.getIndexedMessage(key))?.deleted_at, 'the delete');
    publish('events.MESSAGE_DELETE_BULK', { ids: ['112', '113'], channel_id: '77', guild_id: '9' });
    await eventually(async () => (await store.getIndexedMessage({ ...key, foreign_id: '113' }))?.deleted_at, 'the bulk delete');
    expect((await store.getIndexedMessage({ ...key, foreign_id: '112' }))?.deleted_at).not.toBeNull();
    expect(indexer.runtime.counters['live.edits_updated']).toBe(1);
    expect(indexer.runtime.counters['live.deleted']).toBe(3);
  });

  it('answers bad envelopes with typed error envelopes and counts them, and keeps indexing', async () => {
    const before = seen.filter((e) => e.intent === 'error').length;
    publish('events.SocialMessageCreated', { ...created('201', 'x'), message_id: urn('message', '201', 'someone-else') });
    publish('events.MESSAGE_DELETE', { channel_id: '77' });
    publish('events.MESSAGE_DELETE_BULK', { ids: ['not-a-snowflake'], channel_id: '77' });
    const errors = await eventually(() => {
      const e = seen.filter((x) => x.intent === 'error').slice(before);
      return e.length >= 3 ? e : undefined;
    }, 'three error envelopes');
    expect(errors.map((e) => (e.payload as { code: string }).code)).toEqual(['schema', 'schema', 'schema']);
    expect(errors.map((e) => (e.payload as { path: string }).path).sort()).toEqual(['payload.id', 'payload.ids.0', 'payload.message_id']);
    expect(indexer.runtime.counters['rejected.events.SocialMessageCreated']).toBe(1);
    expect(indexer.runtime.counters['rejected.events.MESSAGE_DELETE']).toBe(1);
    expect(indexer.runtime.counters['rejected.events.MESSAGE_DELETE_BULK']).toBe(1);
    publish('events.SocialMessageCreated', created('202', 'still indexing'));
    await eventually(() => store.getIndexedMessage({ provider: P, tenant: 'demo', foreign_id: '202' }), 'a good message after the bad ones');
  });

  it('backfills a channel\'s whole history through rest.request, page by page, and a known job id runs nothing', async () => {
    const channel = standin.text.createTextChannel('backfill-all');
    standin.text.seedHistory(channel.id, 1050);
    const expected = standin.text.store.channel(channel.id).messages.map((m) => m.id).sort();
    const calls = fake.calls.length;
    enqueue({ job_id: 'all-1', channel_id: channel.id, limit: 100_000 }, 'bf');
    const done = await ended('all-1');
    expect(done.intent).toBe('jobs.backfill.messages.done');
    expect(done.payload).toMatchObject({ fetched: 1050, duplicates: 0, reason: 'exhausted', oldest_id: expected[0] });
    const pages = fake.calls.slice(calls).filter((c) => c.tenant === 'bf' && c.url.includes('/messages'));
    expect(pages).toHaveLength(11);
    expect(pages.every((c) => c.url.startsWith(`/channels/${channel.id}/messages?limit=100`))).toBe(true);
    const progress = seen.filter((e) => e.intent === 'jobs.backfill.messages.progress' && (e.payload as { job_id: string }).job_id === 'all-1');
    expect(progress.map((e) => (e.payload as { fetched: number }).fetched)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    const stored = await store.sql.query<{ foreign_id: string }>('SELECT foreign_id FROM messages WHERE tenant = $1 AND channel_id = $2 ORDER BY foreign_id', ['bf', channel.id]);
    expect(stored.rows.map((r) => r.foreign_id).sort()).toEqual(expected);
    const one = standin.text.store.channel(channel.id).messages[500]!;
    expect(await store.getIndexedMessage({ provider: P, tenant: 'bf', foreign_id: one.id })).toMatchObject({ content: one.content, author_id: one.authorId, space_id: standin.guildId });

    const callsBefore = fake.calls.length;
    const endsBefore = seen.filter((e) => e.intent === 'jobs.backfill.messages.done').length;
    enqueue({ job_id: 'all-1', channel_id: channel.id, limit: 100_000 }, 'bf');
    await eventually(() => seen.filter((e) => e.intent === 'jobs.backfill.messages.done').length > endsBefore, 'the known job to be announced again');
    expect(fake.calls.length).toBe(callsBefore);
  });

  it('backfills through the real discord-rest agent against the stand-in\'s limits', async () => {
    const channel = standin.text.createTextChannel('backfill-real');
    standin.text.seedHistory(channel.id, 3000);
    const before = realAgent.runtime.counters['handled.rest.request'] ?? 0;
    enqueue({ job_id: 'real-1', channel_id: channel.id, limit: 100_000 }, 'real');
    const done = await ended('real-1');
    expect(done.intent).toBe('jobs.backfill.messages.done');
    expect(done.payload).toMatchObject({ fetched: 3000, reason: 'exhausted' });
    // One channel lookup and 31 pages (the last one empty), all answered by the real agent.
    expect((realAgent.runtime.counters['handled.rest.request'] ?? 0) - before).toBe(32);
    const stored = await store.sql.query<{ n: number }>('SELECT count(DISTINCT foreign_id)::int AS n FROM messages WHERE tenant = $1 AND channel_id = $2 AND space_id = $3', ['real', channel.id, standin.guildId]);
    expect(Number(stored.rows[0]!.n)).toBe(3000);
  });

  it('stops at the job\'s limit and at its `after` id', async () => {
    const channel = standin.text.createTextChannel('backfill-bounds');
    standin.text.seedHistory(channel.id, 400);
    const ids = standin.text.store.channel(channel.id).messages.map((m) => m.id);
    enqueue({ job_id: 'lim-1', channel_id: channel.id, limit: 250 }, 'bounds');
    expect((await ended('lim-1')).payload).toMatchObject({ fetched: 250, reason: 'limit' });
    enqueue({ job_id: 'after-1', channel_id: channel.id, after: ids[99]!, limit: 10_000 }, 'bounds-after');
    expect((await ended('after-1')).payload).toMatchObject({ fetched: 300, reason: 'after', oldest_id: ids[100] });
    expect(await store.countMessages({ provider: P, tenant: 'bounds-after' })).toBe(300);
  });

  it('waits out 429s and transient 5xx answers, and fails a job on a 403 with a non-retryable error', async () => {
    const channel = standin.text.createTextChannel('backfill-limits');
    standin.text.seedHistory(channel.id, 150);
    const limited = indexer.runtime.counters['backfill.rate_limited'] ?? 0;
    fake.failNext = { n: 2, status: 429, retry_after_ms: 30 };
    enqueue({ job_id: 'rl-1', channel_id: channel.id, limit: 1000 }, 'limits');
    expect((await ended('rl-1')).payload).toMatchObject({ fetched: 150, reason: 'exhausted' });
    expect(indexer.runtime.counters['backfill.rate_limited']).toBe(limited + 2);
    fake.failNext = { n: 2, status: 502 };
    enqueue({ job_id: 'rl-2', channel_id: channel.id, limit: 1000 }, 'limits-5xx');
    expect((await ended('rl-2')).payload).toMatchObject({ fetched: 150 });
    fake.failNext = { n: 1, status: 403 }; // the channel lookup is refused
    enqueue({ job_id: 'denied', channel_id: channel.id, limit: 1000 }, 'limits');
    const err = await ended('denied');
    expect(err.intent).toBe('jobs.backfill.messages.error');
    expect(err.payload).toMatchObject({ status: 403, retryable: false, fetched: 0 });
    expect(await store.getBackfillJob({ provider: P, tenant: 'limits', job_id: 'denied' })).toMatchObject({ status: 'error' });
  });

  it('promethean backfill (runBackfill) enqueues a job, renders progress and resolves with done', async () => {
    const channel = standin.text.createTextChannel('backfill-cli');
    standin.text.seedHistory(channel.id, 230);
    const lines: { text: string; final: boolean }[] = [];
    const outcome = await runBackfill({ url: hub.url, token: hub.agentKey }, { provider: P, tenant: 'cli', channelId: channel.id, limit: 1000 }, (text, final) => lines.push({ text, final }));
    expect(outcome).toMatchObject({ ok: true, done: { fetched: 230, reason: 'exhausted' } });
    expect(lines.filter((l) => l.final)).toHaveLength(1);
    expect(lines.at(-1)!.text).toContain('230 / 1,000 messages');
    expect(lines.map((l) => l.text).some((t) => t.includes('100 / 1,000'))).toBe(true);
    expect(progressBar(230, 1000, 10)).toBe('[██░░░░░░░░]');
    expect(await store.countMessages({ provider: P, tenant: 'cli' })).toBe(230);
  });

  it('serves a second tenant with no change to the worker: its own rows, its own REST requests', async () => {
    publish('events.SocialMessageCreated', created('500', 'tenant one'), 'demo');
    publish('events.SocialMessageCreated', created('500', 'tenant two', 'second'), 'second');
    const a = await eventually(() => store.getIndexedMessage({ provider: P, tenant: 'demo', foreign_id: '500' }), 'tenant one');
    const b = await eventually(() => store.getIndexedMessage({ provider: P, tenant: 'second', foreign_id: '500' }), 'tenant two');
    expect([a.content, b.content]).toEqual(['tenant one', 'tenant two']);
    const channel = standin.text.createTextChannel('backfill-second');
    standin.text.seedHistory(channel.id, 30);
    const calls = fake.calls.length;
    enqueue({ job_id: 'second-1', channel_id: channel.id, limit: 100 }, 'second');
    expect((await ended('second-1')).payload).toMatchObject({ fetched: 30 });
    expect(fake.calls.slice(calls).map((c) => `${c.tenant} ${c.url.split('?')[0]}`)).toEqual([`second /channels/${channel.id}`, `second /channels/${channel.id}/messages`]);
    expect((await store.searchMessageText({ provider: P, tenant: 'second', phrase: 'tenant two' })).map((m) => m.foreign_id)).toEqual(['500']);
    expect(await store.searchMessageText({ provider: P, tenant: 'demo', phrase: 'tenant two' })).toEqual([]);
  });
});
