import { REST, DiscordAPIError } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin } from '../standin.ts';
import type { Standin } from '../standin.ts';
import { bucketHash, ROUTE_LIMITS } from './limits.ts';

let standin: Standin;
const TOKEN = 'text-test-token';

beforeAll(async () => {
  standin = await startStandin({ text: { attachmentTtlMs: 60_000 } });
});
afterAll(async () => {
  await standin?.close();
});

const raw = (path: string, init: RequestInit = {}, token = TOKEN) =>
  fetch(`${standin.restApi}/v10${path}`, { ...init, headers: { authorization: `Bot ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });

describe('stand-in text: history and paging', () => {
  it('seeds 100,000 messages and pages them newest first through @discordjs/rest with before=', async () => {
    const channel = standin.text.createTextChannel('history');
    const seeded = standin.text.seedHistory(channel.id, 100_000);
    expect(seeded).toBeDefined();
    const rest = new REST({ api: standin.restApi }).setToken('pager-token');
    const first = (await rest.get(`/channels/${channel.id}/messages`)) as { id: string; content: string }[];
    expect(first).toHaveLength(50);
    expect(first[0]!.id).toBe(seeded!.newestId);
    for (let i = 1; i < first.length; i++) expect(BigInt(first[i - 1]!.id) > BigInt(first[i]!.id)).toBe(true);
    const page = (await rest.get(`/channels/${channel.id}/messages`, { query: new URLSearchParams({ before: first.at(-1)!.id, limit: '100' }) })) as { id: string }[];
    expect(page).toHaveLength(100);
    expect(BigInt(page[0]!.id) < BigInt(first.at(-1)!.id)).toBe(true);
    const oldest = (await rest.get(`/channels/${channel.id}/messages`, { query: new URLSearchParams({ after: '0', limit: '3' }) })) as { id: string }[];
    expect(oldest.map((m) => m.id).at(-1)).toBe(seeded!.oldestId);
    const one = (await rest.get(`/channels/${channel.id}/messages/${seeded!.oldestId}`)) as { content: string };
    expect(one.content).toBe('history message 1 of 100000 in #history');
  });

  it('refuses limit 101 with Discord\'s Invalid Form Body error and an unknown channel with 10003', async () => {
    const rest = new REST({ api: standin.restApi }).setToken('limit-token');
    const bad = await rest.get(`/channels/${standin.textChannelId}/messages`, { query: new URLSearchParams({ limit: '101' }) }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(DiscordAPIError);
    expect((bad as DiscordAPIError).code).toBe(50035);
    const unknown = await rest.get('/channels/1234567/messages').catch((e: unknown) => e);
    expect((unknown as DiscordAPIError).code).toBe(10003);
  });

  it('lists the guild for /users/@me/guilds and its channels, threads and forums in /guilds/{id}/channels', async () => {
    const forum = standin.text.createForum('ideas');
    const rest = new REST({ api: standin.restApi }).setToken('list-token');
    const guilds = (await rest.get('/users/@me/guilds')) as { id: string }[];
    expect(guilds.map((g) => g.id)).toEqual([standin.guildId]);
    const channels = (await rest.get(`/guilds/${standin.guildId}/channels`)) as { id: string; type: number }[];
    expect(channels.find((c) => c.id === forum.id)?.type).toBe(15);
    expect(channels.find((c) => c.id === standin.textChannelId)?.type).toBe(0);
  });
});

describe('stand-in text: live authors', () => {
  it('the demo world (autoplay, as the CLI runs it) seeds #general with 200 messages of history', async () => {
    const demo = await startStandin({ autoplay: true });
    try {
      expect(demo.text.store.channel(demo.textChannelId).messages).toHaveLength(200);
    } finally {
      await demo.close();
    }
  });

  it('startAuthors() posts round robin into the channel until stopped', async () => {
    const channel = standin.text.createTextChannel('live');
    const stop = standin.text.startAuthors({ channelId: channel.id, names: ['erin', 'frank'], intervalMs: 20 });
    while (channel.messages.length < 4) await new Promise((r) => setTimeout(r, 10));
    stop();
    const count = channel.messages.length;
    const authors = channel.messages.slice(0, 4).map((m) => standin.world.users.get(m.authorId)?.username);
    expect(authors).toEqual(['erin', 'frank', 'erin', 'frank']);
    await new Promise((r) => setTimeout(r, 60));
    expect(channel.messages.length).toBe(count);
  });
});

describe('stand-in text: message creation rules', () => {
  it('enforce_nonce returns the first message for a repeated nonce; without it a new one is made', async () => {
    const post = async (body: unknown) => (await (await raw(`/channels/${standin.textChannelId}/messages`, { method: 'POST', body: JSON.stringify(body) }, 'nonce-token')).json()) as { id: string; nonce?: string };
    const a = await post({ content: 'once', nonce: 'n-1', enforce_nonce: true });
    const b = await post({ content: 'once', nonce: 'n-1', enforce_nonce: true });
    const c = await post({ content: 'once', nonce: 'n-1' });
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect(a.nonce).toBe('n-1');
  });

  it('honours allowed_mentions and message_reference (a reply is type 19 with referenced_message)', async () => {
    const alice = standin.text.author('alice');
    const original = standin.text.post(standin.textChannelId, { content: 'question?', authorId: alice });
    const res = await raw(`/channels/${standin.textChannelId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: `answer <@${alice}> @everyone`, allowed_mentions: { parse: [] }, message_reference: { message_id: original.id } }),
    }, 'mention-token');
    const m = (await res.json()) as { type: number; mentions: unknown[]; mention_everyone: boolean; referenced_message: { id: string } };
    expect(m.type).toBe(19);
    expect(m.mentions).toEqual([]);
    expect(m.mention_everyone).toBe(false);
    expect(m.referenced_message.id).toBe(original.id);
    const pinged = (await (await raw(`/channels/${standin.textChannelId}/messages`, { method: 'POST', body: JSON.stringify({ content: `hi <@${alice}>` }) }, 'mention-token')).json()) as { mentions: { id: string }[] };
    expect(pinged.mentions.map((u) => u.id)).toEqual([alice]);
  });

  it('serves attachments at signed URLs that expire; a tampered or expired URL is a 404; refresh signs a new one', async () => {
    const rest = new REST({ api: standin.restApi }).setToken('files-token');
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7) & 255);
    const m = (await rest.post(`/channels/${standin.textChannelId}/messages`, { body: { content: 'file' }, files: [{ name: 'data.bin', data: Buffer.from(bytes), contentType: 'application/octet-stream' }] })) as { attachments: { url: string; size: number }[] };
    const url = m.attachments[0]!.url;
    expect(new URL(url).searchParams.get('hm')).toMatch(/^[0-9a-f]{64}$/);
    const got = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
    expect((await fetch(url.replace(/hm=([0-9a-f])/, (_, c: string) => `hm=${c === '0' ? '1' : '0'}`))).status).toBe(404);
    standin.text.cdn.ttlMs = -5000;
    const expired = standin.text.cdn.refresh(url)!;
    standin.text.cdn.ttlMs = 60_000;
    expect((await fetch(expired)).status).toBe(404);
    const refreshed = (await rest.post('/attachments/refresh-urls', { body: { attachment_urls: [expired] } })) as { refreshed_urls: { refreshed: string }[] };
    expect((await fetch(refreshed.refreshed_urls[0]!.refreshed)).status).toBe(200);
  });
});

describe('stand-in text: Discord rate limits', () => {
  it('reports X-RateLimit-* on every answer; GET page and GET one share a bucket hash', async () => {
    const a = await raw(`/channels/${standin.textChannelId}/messages?limit=1`, {}, 'hdr-token');
    const msg = ((await a.json()) as { id: string }[])[0]!;
    const b = await raw(`/channels/${standin.textChannelId}/messages/${msg.id}`, {}, 'hdr-token');
    for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-reset-after', 'x-ratelimit-bucket']) expect(a.headers.get(h)).not.toBeNull();
    expect(a.headers.get('x-ratelimit-bucket')).toBe(bucketHash('message-read'));
    expect(b.headers.get('x-ratelimit-bucket')).toBe(a.headers.get('x-ratelimit-bucket'));
    expect(Number(b.headers.get('x-ratelimit-remaining'))).toBe(Number(a.headers.get('x-ratelimit-remaining')) - 1);
  });

  it('answers the 6th message create in 5 s with Discord\'s 429 body, Retry-After and scope, and counts it per bucket', async () => {
    const limit = ROUTE_LIMITS.find((r) => r.bucket === 'message-create')!;
    const channel = standin.text.createTextChannel('flood');
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i <= limit.limit; i++) {
      last = await raw(`/channels/${channel.id}/messages`, { method: 'POST', body: JSON.stringify({ content: `m${i}` }) }, 'flood-token');
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array(limit.limit).fill(200), 429]);
    const body = (await last!.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['global', 'message', 'retry_after']);
    expect(body.global).toBe(false);
    expect(body.retry_after as number).toBeGreaterThan(0);
    expect(body.retry_after as number).toBeLessThanOrEqual(5);
    expect(Number(last!.headers.get('retry-after'))).toBe(Math.ceil(body.retry_after as number));
    expect(last!.headers.get('x-ratelimit-scope')).toBe('user');
    expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(standin.text.limits.served429.get(`${bucketHash('message-create')}:channels:${channel.id}`)).toBe(1);
  });

  it('limits each bot to 50 requests per second globally (global: true, X-RateLimit-Global)', async () => {
    // A stand-in whose limiter clock stands still: all 60 requests fall in one window however slow the machine is.
    let now = 1_700_000_000_000;
    const frozen = await startStandin({ text: { clock: () => now } });
    try {
      const channels = Array.from({ length: 6 }, (_, i) => frozen.text.createTextChannel(`g${i}`));
      const statuses: number[] = [];
      let limited: Response | undefined;
      for (let i = 0; i < 60; i++) {
        const r = await fetch(`${frozen.restApi}/v10/channels/${channels[i % 6]!.id}/messages?limit=1`, { headers: { authorization: 'Bot global-token' } });
        statuses.push(r.status);
        if (r.status === 429) limited ??= r;
        else await r.arrayBuffer();
      }
      expect(statuses).toEqual([...Array(50).fill(200), ...Array(10).fill(429)]);
      const body = (await limited!.json()) as { global: boolean; retry_after: number };
      expect(body.global).toBe(true);
      expect(body.retry_after).toBe(1);
      expect(limited!.headers.get('retry-after')).toBe('1');
      expect(limited!.headers.get('x-ratelimit-global')).toBe('true');
      expect(limited!.headers.get('x-ratelimit-scope')).toBe('global');
      expect(limited!.headers.get('x-ratelimit-bucket')).toBeNull();
      expect(frozen.text.limits.served429.get('global')).toBe(10);
      now += 1000;
      expect((await fetch(`${frozen.restApi}/v10/channels/${channels[0]!.id}/messages?limit=1`, { headers: { authorization: 'Bot global-token' } })).status).toBe(200);
    } finally {
      await frozen.close();
    }
  });
});
