/**
 * The backfill writing through the bulk loader (store/bulk.ts) in batches of 1,000 rows gathered across
 * pages, as the server runs it: the real hub, the real discord-rest agent against the stand-in, PGlite.
 * The saved cursor must always be where the writes end, so a job stopped between flushes resumes
 * without losing or doubling a message.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { createHub, type Hub } from '../../hub/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../../store/testing.ts';
import type { SqlStore } from '../../store/sqlStore.ts';
import { BulkMessageLoader } from '../../store/bulk.ts';
import { startStandin, type Standin } from '../../../../test/standin/src/standin.ts';
import { startDiscordRest, type RunningDiscordRest } from '../../access/discord-rest/index.ts';
import { startIndexer, type RunningIndexer } from './index.ts';
import { eventually } from '../../../../test/support/until.ts';

const P = 'discord';
const T = 'bulkbf';
const COUNT = 5050;
const FLUSH = 1000;

describe('backfill through the bulk loader, 1,000 rows per write', () => {
  let hub: Hub;
  let standin: Standin;
  let template: PgliteTemplate;
  let store: SqlStore;
  let rest: RunningDiscordRest;
  let loader: BulkMessageLoader;
  const buses: BusClient[] = [];
  const indexers: RunningIndexer[] = [];
  const seen: Envelope[] = [];

  const start = async () => {
    const bus = new BusClient({ url: hub.url, token: hub.agentKey });
    buses.push(bus);
    await bus.connect();
    const indexer = await startIndexer(agentBusFrom(bus), store, { logLevel: 'silent', backfill: { flushRows: FLUSH, write: (rows) => loader.indexMessages(rows) } });
    indexers.push(indexer);
    await indexer.ready;
    return indexer;
  };

  beforeAll(async () => {
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'bulk-backfill-hub-')), writeRuntimeFile: false });
    standin = await startStandin();
    template = await pgliteTemplate();
    store = await template.fresh();
    loader = new BulkMessageLoader(store.sql);
    for (let i = 0; i < 2; i++) buses.push(new BusClient({ url: hub.url, token: hub.agentKey }));
    await Promise.all(buses.map((b) => b.connect()));
    const sub = buses[0]!.subscribe('promethean.p.*.t.*.jobs.backfill.messages.>', (env) => void seen.push(env));
    await sub.ready;
    rest = await startDiscordRest({ bus: agentBusFrom(buses[1]!), tenant: T, botToken: 'bulk-backfill-bot-token', apiBase: standin.restApi, cdnBase: standin.cdnBase, proxy: { clientKey: 'bulk-backfill-proxy-key' }, logLevel: 'silent' });
  }, 120_000);

  afterAll(async () => {
    for (const i of indexers) await i.stop();
    await rest?.close();
    for (const b of buses) b.close();
    await template?.close();
    await standin?.close();
    await hub?.close();
  });

  it('writes every 1,000 rows with the saved cursor at the write; stopped mid-job and resumed, it stores every message exactly once', async () => {
    const channel = standin.text.createTextChannel('bulk-backfill');
    standin.text.seedHistory(channel.id, COUNT);
    const messages = standin.text.store.channel(channel.id).messages;
    const first = await start();
    buses[0]!.publish(makeEnvelope('jobs.backfill.messages.enqueue', { job_id: 'bulk-1', channel_id: channel.id, limit: 100_000 }, { src: 'cli', provider: P, tenant: T }));
    const progress = () => seen.filter((e) => e.intent === 'jobs.backfill.messages.progress').map((e) => (e.payload as { fetched: number }).fetched);
    await eventually(() => progress().length > 0, 'the first progress');
    await first.stop();

    const saved = await store.getBackfillJob({ provider: P, tenant: T, job_id: 'bulk-1' });
    expect(saved).toMatchObject({ status: 'running' });
    expect(saved!.fetched % FLUSH).toBe(0);
    expect(saved!.fetched).toBeLessThan(COUNT);
    // Exactly the written rows are counted, and the cursor is the oldest of them.
    expect(await store.countMessages({ provider: P, tenant: T })).toBe(saved!.fetched);
    const oldest = await store.sql.query<{ id: string }>('SELECT foreign_id AS id FROM messages WHERE tenant = $1 ORDER BY foreign_id::numeric LIMIT 1', [T]);
    expect(saved!.next_before).toBe(oldest.rows[0]!.id);
    expect(progress().every((f) => f % FLUSH === 0)).toBe(true);

    await start();
    const done = await eventually(() => seen.find((e) => e.intent === 'jobs.backfill.messages.done'), 'done after the restart');
    expect(done.payload).toMatchObject({ job_id: 'bulk-1', fetched: COUNT, duplicates: 0, reason: 'exhausted' });
    const stored = await store.sql.query<{ foreign_id: string; content: string; author_id: string; space_id: string }>('SELECT foreign_id, content, author_id, space_id FROM messages WHERE tenant = $1', [T]);
    expect(stored.rows).toHaveLength(COUNT);
    const byId = new Map(stored.rows.map((r) => [r.foreign_id, r]));
    for (const m of messages) expect(byId.get(m.id)).toEqual({ foreign_id: m.id, content: m.content, author_id: m.authorId, space_id: standin.guildId });
    // Five full writes of 1,000 and the last 50 (before and after the restart together).
    expect(loader.counters.rows).toBe(COUNT);
    expect(loader.counters.loads).toBe(Math.ceil(COUNT / FLUSH));
  });
});
