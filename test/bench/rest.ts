/**
 * `promethean bench rest`: the discord-rest proxy with 10 concurrent clients sharing one tenant's
 * buckets, side by side with the same 10 clients each using plain @discordjs/rest with the bot token
 * straight against the stand-in (which enforces Discord's limits: 50 requests/s per bot globally,
 * per-route buckets). Both runs use the same token, channels and request mix in the same process.
 *
 * - `reads …`: every client pages `GET /channels/{id}/messages?limit=100` over 5 channels.
 * - `posts …`: every client posts into one shared channel (Discord: 5 per 5 s per channel).
 * - `429s …`: 429 answers the stand-in served during the run, and those beyond the first per bucket.
 */
import { REST } from '@discordjs/rest';
import { InProcessBus } from '../../shared/src/node/agent/in-process-bus.ts';
import { startDiscordRest } from '../../server/src/access/discord-rest/index.ts';
import { startStandin } from '../standin/src/standin.ts';
import type { Standin } from '../standin/src/standin.ts';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';

const CLIENTS = 10;
const TOKEN = 'bench-rest-bot-token';
const PROXY_KEY = 'bench-rest-proxy-client-key';

interface RunResult {
  requests: number;
  seconds: number;
  served429: number;
  beyondFirst: number;
}

async function measure(standin: Standin, clients: REST[], work: (c: REST, i: number) => Promise<number>, log: (m: string) => void): Promise<RunResult> {
  standin.text.limits.reset();
  const t0 = performance.now();
  const counts = await Promise.all(clients.map((c, i) => work(c, i)));
  const seconds = (performance.now() - t0) / 1000;
  let beyondFirst = 0;
  for (const n of standin.text.limits.served429.values()) beyondFirst += Math.max(0, n - 1);
  if (standin.text.limits.total429 > 0) log(`bench rest: 429s served per bucket: ${JSON.stringify(Object.fromEntries(standin.text.limits.served429))}`);
  return { requests: counts.reduce((a, b) => a + b, 0), seconds, served429: standin.text.limits.total429, beyondFirst };
}

function rows(kind: string, proxy: RunResult, plain: RunResult): BenchRow[] {
  const base = `plain @discordjs/rest ×${CLIENTS}`;
  return [
    { suite: 'rest', name: `${kind} ${CLIENTS} clients via proxy`, unit: 'req/s', value: proxy.requests / proxy.seconds, baseline: { name: base, value: plain.requests / plain.seconds } },
    { suite: 'rest', name: `${kind} 429s served via proxy`, unit: '429s', value: proxy.served429, baseline: { name: base, value: plain.served429 } },
    { suite: 'rest', name: `${kind} 429s beyond first per bucket via proxy`, unit: '429s', value: proxy.beyondFirst, baseline: { name: base, value: plain.beyondFirst } },
  ];
}

const suite: BenchSuite = {
  name: 'rest',
  description: `REST proxy: ${CLIENTS} concurrent clients sharing buckets vs plain @discordjs/rest, against the stand-in's Discord limits`,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const readsPerClient = ctx.quick ? 20 : 60;
    const postsPerClient = ctx.quick ? 1 : 2;
    const standin = await startStandin();
    const agent = await startDiscordRest({ bus: new InProcessBus(), tenant: 'bench', botToken: TOKEN, apiBase: standin.restApi, cdnBase: standin.cdnBase, proxy: { clientKey: PROXY_KEY }, logLevel: 'silent' });
    try {
      const channels = Array.from({ length: 5 }, (_, i) => standin.text.createTextChannel(`bench-${i}`));
      for (const c of channels) standin.text.seedHistory(c.id, 1000);
      const viaProxy = Array.from({ length: CLIENTS }, () => new REST({ api: agent.proxy.url }).setToken(PROXY_KEY));
      const plain = Array.from({ length: CLIENTS }, () => new REST({ api: standin.restApi }).setToken(TOKEN));
      const reads = async (c: REST, i: number) => {
        for (let j = 0; j < readsPerClient; j++) await c.get(`/channels/${channels[(i + j) % channels.length]!.id}/messages`, { query: new URLSearchParams({ limit: '100' }) });
        return readsPerClient;
      };
      const postsInto = (channelId: string) => async (c: REST, i: number) => {
        for (let j = 0; j < postsPerClient; j++) await c.post(`/channels/${channelId}/messages`, { body: { content: `bench post ${i}.${j}` } });
        return postsPerClient;
      };
      ctx.log(`bench rest: reads, ${CLIENTS} clients × ${readsPerClient} via the proxy`);
      const readsProxy = await measure(standin, viaProxy, reads, ctx.log);
      ctx.log(`bench rest: reads, ${CLIENTS} clients × ${readsPerClient} with plain @discordjs/rest`);
      const readsPlain = await measure(standin, plain, reads, ctx.log);
      ctx.log(`bench rest: posts, ${CLIENTS} clients × ${postsPerClient} via the proxy`);
      const postsProxy = await measure(standin, viaProxy, postsInto(standin.text.createTextChannel('bench-posts-proxy').id), ctx.log);
      ctx.log(`bench rest: posts, ${CLIENTS} clients × ${postsPerClient} with plain @discordjs/rest`);
      const postsPlain = await measure(standin, plain, postsInto(standin.text.createTextChannel('bench-posts-plain').id), ctx.log);
      for (const c of [...viaProxy, ...plain]) {
        c.clearHashSweeper();
        c.clearHandlerSweeper();
      }
      return [...rows('reads', readsProxy, readsPlain), ...rows('posts', postsProxy, postsPlain)];
    } finally {
      await agent.close();
      await standin.close();
    }
  },
};

export default suite;
