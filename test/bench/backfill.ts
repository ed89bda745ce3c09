/**
 * `promethean bench backfill`: backfilling 100,000 messages of one stand-in channel (Discord's limits:
 * 50 message reads per second per route, 50 requests per second per bot) the way `promethean backfill`
 * does it — the message indexer pages `GET /channels/{id}/messages?before=&limit=100` through
 * `rest.request` on the real hub, the real discord-rest access agent sends them (@discordjs/rest
 * buckets), and every page is upserted into PGlite on disk — side by side with a plain @discordjs/rest
 * client paging the same channel with the same token in the same run (no bus, no store).
 *
 * Rows: messages per second of each, and the 429s the stand-in served beyond the first per bucket
 * (goal: zero).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REST } from '@discordjs/rest';
import { BusClient, makeEnvelope, type Envelope } from '../../shared/src/index.ts';
import { agentBusFrom } from '../../shared/src/node/index.ts';
import { createHub } from '../../server/src/hub/index.ts';
import { startDiscordRest } from '../../server/src/access/discord-rest/index.ts';
import { openPgliteStore } from '../../server/src/store/pglite.ts';
import { startIndexer } from '../../server/src/workers/indexer/index.ts';
import { startStandin, type Standin } from '../standin/src/standin.ts';
import type { BenchRow, BenchSuite } from './types.ts';

const TOKEN = 'bench-backfill-bot-token';
const PROXY_KEY = 'bench-backfill-proxy-key';

function beyondFirst(standin: Standin): { total: number; beyond: number } {
  let beyond = 0;
  for (const n of standin.text.limits.served429.values()) beyond += Math.max(0, n - 1);
  return { total: standin.text.limits.total429, beyond };
}

async function plainPaging(standin: Standin, channelId: string, expected: number): Promise<{ seconds: number; messages: number }> {
  const rest = new REST({ api: standin.restApi }).setToken(TOKEN);
  const t0 = performance.now();
  let before: string | undefined;
  let messages = 0;
  try {
    for (;;) {
      const page = (await rest.get(`/channels/${channelId}/messages`, { query: new URLSearchParams({ limit: '100', ...(before ? { before } : {}) }) })) as { id: string }[];
      messages += page.length;
      if (page.length < 100) break;
      before = page.at(-1)!.id;
    }
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
  if (messages !== expected) throw new Error(`plain client paged ${messages} messages, expected ${expected}`);
  return { seconds: (performance.now() - t0) / 1000, messages };
}

const suite: BenchSuite = {
  name: 'backfill',
  description: 'history backfill of 100,000 messages through the indexer + discord-rest agent vs a plain @discordjs/rest pager (msg/s, 429s beyond the first per bucket)',
  async run(ctx) {
    const count = ctx.quick ? 10_000 : 100_000;
    const dataDir = await mkdtemp(join(tmpdir(), 'promethean-bench-backfill-'));
    const standin = await startStandin();
    const hub = await createHub({ dataDir: join(dataDir, 'hub'), writeRuntimeFile: false });
    const store = await openPgliteStore({ dataDir: join(dataDir, 'pglite') });
    await store.migrate();
    const buses = [0, 1, 2].map(() => new BusClient({ url: hub.url, token: hub.agentKey }));
    await Promise.all(buses.map((b) => b.connect()));
    const [workerBus, agentBus, cliBus] = buses as [BusClient, BusClient, BusClient];
    const agent = await startDiscordRest({ bus: agentBusFrom(agentBus), tenant: 'bench', botToken: TOKEN, apiBase: standin.restApi, cdnBase: standin.cdnBase, proxy: { clientKey: PROXY_KEY }, logLevel: 'silent' });
    const indexer = await startIndexer(agentBusFrom(workerBus), store, { logLevel: 'silent' });
    try {
      await indexer.ready;
      const channel = standin.text.createTextChannel('bench-backfill');
      standin.text.seedHistory(channel.id, count);
      ctx.log(`backfill: seeded ${count} messages; indexer + agent run`);

      standin.text.limits.reset();
      const done = new Promise<Envelope>((resolve) => {
        const sub = cliBus.subscribe('promethean.p.discord.t.bench.jobs.backfill.messages.>', (env) => {
          if (env.intent === 'jobs.backfill.messages.done' || env.intent === 'jobs.backfill.messages.error') resolve(env);
          else if (env.intent === 'jobs.backfill.messages.progress' && (env.payload as { fetched: number }).fetched % 20_000 === 0) ctx.log(`backfill: ${(env.payload as { fetched: number }).fetched} messages`);
        });
        void sub.ready.then(() => cliBus.publish(makeEnvelope('jobs.backfill.messages.enqueue', { job_id: 'bench-1', channel_id: channel.id, limit: 1_000_000 }, { src: 'cli', provider: 'discord', tenant: 'bench' })));
      });
      const t0 = performance.now();
      const end = await done;
      const seconds = (performance.now() - t0) / 1000;
      if (end.intent !== 'jobs.backfill.messages.done') throw new Error(`backfill failed: ${JSON.stringify(end.payload)}`);
      const fetched = (end.payload as { fetched: number }).fetched;
      if (fetched !== count || (await store.countMessages({ provider: 'discord', tenant: 'bench' })) !== count) throw new Error(`backfill stored ${fetched}, expected ${count}`);
      const indexed = beyondFirst(standin);
      ctx.log(`backfill: indexer ${Math.round(count / seconds)} msg/s, 429s ${indexed.total} (${indexed.beyond} beyond the first per bucket)`);

      standin.text.limits.reset();
      const plain = await plainPaging(standin, channel.id, count);
      const plain429 = beyondFirst(standin);
      ctx.log(`backfill: plain @discordjs/rest ${Math.round(count / plain.seconds)} msg/s, 429s ${plain429.total} (${plain429.beyond} beyond the first per bucket)`);

      const rows: BenchRow[] = [
        { suite: 'backfill', name: `backfill-${count / 1000}k indexer via discord-rest → pglite`, unit: 'msg/s', value: count / seconds, baseline: { name: 'plain @discordjs/rest paging', value: count / plain.seconds } },
        { suite: 'backfill', name: 'backfill 429s beyond first per bucket (indexer)', unit: '429s', value: indexed.beyond, baseline: { name: 'plain @discordjs/rest', value: plain429.beyond } },
        { suite: 'backfill', name: 'backfill 429s total (indexer)', unit: '429s', value: indexed.total, baseline: { name: 'plain @discordjs/rest', value: plain429.total } },
      ];
      return rows;
    } finally {
      await indexer.stop();
      await agent.close();
      for (const b of buses) b.close();
      await store.close();
      await hub.close();
      await standin.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

export default suite;
