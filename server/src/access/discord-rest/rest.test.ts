import { Writable } from 'node:stream';
import { DiscordAPIError, REST } from '@discordjs/rest';
import { makeEnvelope, topic } from '@promethean/shared';
import type { Envelope, RestResponse } from '@promethean/shared';
import { InProcessBus, createLogger } from '@promethean/shared/node';
import { startStandin, text as standinText } from '@promethean/standin';
import type { Standin } from '@promethean/standin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordRest } from './index.ts';
import type { RunningDiscordRest } from './index.ts';

const { bucketHash } = standinText;
const TOKEN = 'standin-bot-token-9f8e7d6c5b4a';
const PROXY_KEY = 'proxy-client-key-0123456789abcdef';
let standin: Standin;
let bus: InProcessBus;
let agent: RunningDiscordRest;
const seen: Envelope[] = [];
let logged = '';

// Tests share two loaded cores with other test files, so latency jitter reaches hundreds of ms: the
// margin the agent keeps after each window reset is set above it (production default: 100 ms).
async function startAgent(): Promise<RunningDiscordRest> {
  const destination = new Writable({ write: (chunk: Buffer, _e, cb) => ((logged += chunk.toString()), cb()) });
  return startDiscordRest({
    bus,
    tenant: 'demo',
    botToken: TOKEN,
    apiBase: standin.restApi,
    cdnBase: standin.cdnBase,
    proxy: { clientKey: PROXY_KEY },
    logger: createLogger({ agent: 'discord-rest', level: 'trace', destination }),
    healthIntervalS: 1,
    latencyMarginMs: 400,
  });
}

beforeAll(async () => {
  standin = await startStandin();
  bus = new InProcessBus();
  bus.subscribe('promethean.>', (env) => void seen.push(env));
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.close();
  await standin?.close();
});

function send(intent: string, payload: unknown, corr?: string): Promise<RestResponse> {
  const env = makeEnvelope(intent, payload, { src: 'test-worker', provider: 'discord', tenant: 'demo', ...(corr ? { corr } : {}) });
  const want = corr ?? env.id;
  return new Promise((resolve) => {
    const off = bus.subscribe(topic('discord', 'demo', 'rest.response'), (r) => {
      if (r.corr !== want) return;
      off();
      resolve(r.payload as RestResponse);
    });
    bus.publish(env as Envelope);
  });
}

describe('discord-rest on the bus (real @discordjs/rest against the stand-in)', () => {
  it('answers rest.request by corr with status, bucket and data', async () => {
    standin.text.seedHistory(standin.textChannelId, 10);
    const r = await send('rest.request', { method: 'GET', url: `/channels/${standin.textChannelId}/messages?limit=5` });
    expect(r.status).toBe(200);
    expect(r.ok).toBe(true);
    expect(r.bucket).toBe(bucketHash('message-read'));
    expect((r.data as unknown[]).length).toBe(5);
  });

  it('answers a retried request (same corr, or same idempotency key) from the first result without sending it again', async () => {
    const channel = standin.text.createTextChannel('repeat');
    const before = standin.text.limits.counters.checked;
    const body = { content: 'exactly once' };
    const a = await send('rest.request', { method: 'POST', url: `/channels/${channel.id}/messages`, body }, 'corr-again-1');
    const b = await send('rest.request', { method: 'POST', url: `/channels/${channel.id}/messages`, body }, 'corr-again-1');
    const c = await send('rest.request', { method: 'GET', url: `/channels/${channel.id}/messages`, idempotency_key: 'idem-1' }, 'corr-again-2');
    const d = await send('rest.request', { method: 'GET', url: `/channels/${channel.id}/messages`, idempotency_key: 'idem-1' }, 'corr-again-3');
    expect(b).toEqual(a);
    expect(d).toEqual(c);
    expect(standin.text.limits.counters.checked - before).toBe(2);
    expect(channel.messages).toHaveLength(1);
    expect(agent.runtime.counters['rest.deduped']).toBe(2);
  });

  it('maps social.command.post to a message with allowed_mentions none, a reply reference and a nonce that survives an agent restart', async () => {
    const alice = standin.text.author('alice');
    const original = standin.text.post(standin.textChannelId, { content: 'ping?', authorId: alice });
    const post = { provider: 'discord', tenant: 'demo', space_urn: `urn:discord:channel:demo:${standin.textChannelId}`, in_reply_to: `urn:discord:message:demo:${original.id}`, text: `pong <@${alice}> @everyone`, nonce: 'reply-to-ping-0001' };
    const r = await send('social.command.post', post);
    expect(r.status).toBe(200);
    const made = r.data as { id: string; type: number; mentions: unknown[]; mention_everyone: boolean; message_reference: { message_id: string } };
    expect(made.type).toBe(19);
    expect(made.mentions).toEqual([]);
    expect(made.mention_everyone).toBe(false);
    expect(made.message_reference.message_id).toBe(original.id);
    // A second agent (the first one restarted: its dedupe cache is gone) posts the same PostMessage.
    const hits = standin.text.counters.nonceHits;
    const second = await startAgent();
    try {
      await agent.close();
      const again = await send('social.command.post', post);
      expect((again.data as { id: string }).id).toBe(made.id);
      expect(standin.text.counters.nonceHits).toBe(hits + 1);
    } finally {
      agent = second;
    }
  });

  it('refuses bad input with an error envelope and a counter, and keeps serving', async () => {
    const errors = seen.length;
    const env = makeEnvelope('rest.request' as string, { method: 'GET', url: 'https://evil.example/steal' }, { src: 'test-worker', provider: 'discord', tenant: 'demo' });
    bus.publish(env as Envelope);
    while (!seen.slice(errors).some((e) => e.intent === 'error' && e.corr === env.id)) await new Promise((r) => setTimeout(r, 5));
    const err = seen.slice(errors).find((e) => e.intent === 'error' && e.corr === env.id)!;
    expect((err.payload as { code: string }).code).toBe('schema');
    expect(agent.runtime.counters['rest.bad_input']).toBe(1);
    const ok = await send('rest.request', { method: 'GET', url: '/users/@me' });
    expect(ok.status).toBe(200);
  });

  it('under load gets no 429 beyond the first per bucket: 150 reads over 3 channels and 8 posts to one channel', async () => {
    const channels = [0, 1, 2].map((i) => standin.text.createTextChannel(`load-${i}`));
    for (const c of channels) standin.text.seedHistory(c.id, 200);
    standin.text.limits.reset();
    const reads = Array.from({ length: 150 }, (_, i) => send('rest.request', { method: 'GET', url: `/channels/${channels[i % 3]!.id}/messages?limit=100` }));
    const posts = Array.from({ length: 8 }, (_, i) => send('rest.request', { method: 'POST', url: `/channels/${channels[0]!.id}/messages`, body: { content: `load ${i}` } }));
    const all = await Promise.all([...reads, ...posts]);
    expect(all.every((r) => r.status === 200)).toBe(true);
    for (const [bucket, n] of standin.text.limits.served429) if (bucket !== 'global') expect(n, bucket).toBeLessThanOrEqual(1);
    // The global window: @discordjs/rest counts it from when it sends, the stand-in (like Discord) from
    // when requests arrive; on two loaded cores arrival jitter can spill a few requests into the next
    // window. The agent keeps 5/s in hand; what remains must stay rare (under 5% of the requests).
    expect(standin.text.limits.served429.get('global') ?? 0).toBeLessThan(all.length * 0.05);
  });

  it('never puts the bot token in an envelope or a log line', () => {
    expect(seen.length).toBeGreaterThan(10);
    expect(JSON.stringify(seen)).not.toContain(TOKEN);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged).not.toContain(TOKEN);
  });
});

describe('discord-rest HTTP face (@discordjs/proxy)', () => {
  it('swaps the proxy client key for the tenant token: a REST client without the token acts as the tenant bot', async () => {
    const viaProxy = new REST({ api: agent.proxy.url }).setToken(PROXY_KEY);
    const me = (await viaProxy.get('/users/@me')) as { id: string };
    expect(me.id).toBe(standin.world.botForToken(TOKEN).id);
  });

  it('refuses a wrong key with a typed 401 before anything reaches Discord', async () => {
    const requests = standin.gateway.rest.counters.requests;
    const wrong = new REST({ api: agent.proxy.url }).setToken('not-the-key');
    const error = await wrong.get('/users/@me').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).status).toBe(401);
    expect(((error as DiscordAPIError).rawError as { error: string }).error).toBe('unauthenticated');
    expect(agent.proxy.counters.unauthorized).toBeGreaterThanOrEqual(1);
    expect(standin.gateway.rest.counters.requests).toBe(requests);
  });

  it('shares buckets between clients: 3 REST clients posting 12 messages to one channel meet no 429 beyond the first', async () => {
    const channel = standin.text.createTextChannel('shared');
    standin.text.limits.reset();
    const clients = [0, 1, 2].map(() => new REST({ api: agent.proxy.url }).setToken(PROXY_KEY));
    await Promise.all(clients.flatMap((c, i) => [0, 1, 2, 3].map((j) => c.post(`/channels/${channel.id}/messages`, { body: { content: `c${i}-${j}` } }))));
    expect(channel.messages).toHaveLength(12);
    expect(standin.text.limits.served429.get(`${bucketHash('message-create')}:channels:${channel.id}`) ?? 0).toBeLessThanOrEqual(1);
  }, 30_000);

  it('fetches attachments through /media with the proxy key, never the token; other origins are refused', async () => {
    const bytes = Buffer.from('attachment bytes through the proxy');
    const m = standin.text.post(standin.textChannelId, { content: 'file', attachments: [{ filename: 'a.txt', bytes, contentType: 'text/plain' }] });
    const url = standin.text.cdn.url({ channelId: m.channelId, id: m.attachments[0]!.id, filename: 'a.txt' });
    const base = agent.proxy.url.replace(/\/api$/, '');
    const ok = await fetch(`${base}/media?url=${encodeURIComponent(url)}`, { headers: { authorization: `Bot ${PROXY_KEY}` } });
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(`${base}/media?url=${encodeURIComponent(url)}`)).status).toBe(401);
    expect((await fetch(`${base}/media?url=${encodeURIComponent('http://169.254.169.254/latest')}`, { headers: { authorization: `Bot ${PROXY_KEY}` } })).status).toBe(403);
  });
});
