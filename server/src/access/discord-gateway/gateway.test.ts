import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayIntentBits } from 'discord.js';
import { SocialMessageCreated } from '@promethean/shared';
import type { Envelope } from '@promethean/shared';
import { InProcessBus } from '@promethean/shared/node';
import { startStandin } from '@promethean/standin';
import type { Standin } from '@promethean/standin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTenantAccess } from '../shared/credentials.ts';
import { DISCORD_GATEWAY_MANIFEST, GatewayFatalError, MESSAGE_CONTENT_HOWTO, SequenceTracker, startDiscordGateway } from './index.ts';
import type { RunningDiscordGateway } from './index.ts';
import { until } from '../../../../test/support/until.ts';

let standin: Standin;
let dir: string;
let bus: InProcessBus;
const seen: Envelope[] = [];
let allowed: { id: string };
let forum: { id: string };
let other: { id: string };
let gateway: RunningDiscordGateway;

function providersYaml(tenants: string[]): string {
  return [
    'version: 1',
    'providers:',
    '  discord:',
    '    tenants:',
    ...tenants.flatMap((t) => [
      `      - id: ${t}`,
      '        credentials:',
      `          bot_token: \${${t.toUpperCase()}_BOT_TOKEN}`,
      '        allow:',
      `          guilds: ["${standin.guildId}"]`,
      `          channels: ["${allowed.id}", "${forum.id}"]`,
    ]),
    '',
  ].join('\n');
}

async function start(tenant: string, file: string, env: Record<string, string>, intents?: number[]): Promise<RunningDiscordGateway> {
  const access = await loadTenantAccess(DISCORD_GATEWAY_MANIFEST, file, 'discord', tenant, env);
  return startDiscordGateway({ bus, tenant, botToken: access.botToken, allows: access.allows, apiBase: standin.restApi, logLevel: 'silent', healthIntervalS: 1, ...(intents ? { intents } : {}) });
}

const published = (intent: string, tenant = 'demo') => seen.filter((e) => e.intent === intent && e.tenant === tenant);
beforeAll(async () => {
  standin = await startStandin();
  dir = await mkdtemp(join(tmpdir(), 'gateway-test-'));
  allowed = standin.text.createTextChannel('allowed');
  forum = standin.text.createForum('allowed-forum');
  other = standin.text.createTextChannel('not-allowed');
  bus = new InProcessBus();
  bus.subscribe('promethean.>', (env) => void seen.push(env));
  await writeFile(join(dir, 'one.yml'), providersYaml(['demo']));
  gateway = await start('demo', join(dir, 'one.yml'), { DEMO_BOT_TOKEN: 'gateway-demo-token' });
});
afterAll(async () => {
  await gateway?.close();
  await standin?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('discord-gateway (real discord.js against the stand-in)', () => {
  it('publishes raw MESSAGE_CREATE and a schema-valid SocialMessageCreated for allowed channels only', async () => {
    const dana = standin.text.author('dana');
    standin.text.post(other.id, { content: 'filtered out', authorId: dana });
    const m = standin.text.post(allowed.id, { content: 'hello gateway', authorId: dana });
    await until('the first SocialMessageCreated', () => published('events.SocialMessageCreated').length >= 1);
    const raw = published('events.MESSAGE_CREATE').map((e) => e.payload as { id: string; content: string; seq: number; shard: number });
    expect(raw.map((r) => r.id)).toEqual([m.id]);
    expect(raw[0]!.content).toBe('hello gateway');
    expect(raw[0]!.shard).toBe(0);
    expect(raw[0]!.seq).toBeGreaterThan(0);
    const social = SocialMessageCreated.parse(published('events.SocialMessageCreated')[0]!.payload);
    expect(social.message_id).toBe(`urn:discord:message:demo:${m.id}`);
    expect(social.space_urn).toBe(`urn:discord:channel:demo:${allowed.id}`);
    expect(social.author_urn).toBe(`urn:discord:user:demo:${dana}`);
    expect(social.text).toBe('hello gateway');
    expect(social.thread_id).toBeUndefined();
    expect(gateway.runtime.counters['gateway.filtered']).toBeGreaterThanOrEqual(1);
  });

  it('publishes thread and forum-post messages (thread_id set), edits, deletes and bulk deletes', async () => {
    const thread = standin.text.createThread(allowed.id, 'topic');
    const t1 = standin.text.post(thread.id, { content: 'in thread' });
    const post = standin.text.createForumPost(forum.id, 'Idea', 'forum post body');
    await until('the post as SocialMessageCreated', () => published('events.SocialMessageCreated').some((e) => (e.payload as { message_id: string }).message_id.endsWith(post.message.id)));
    const inThread = published('events.SocialMessageCreated').map((e) => e.payload as { message_id: string; thread_id?: string });
    expect(inThread.find((p) => p.message_id.endsWith(t1.id))?.thread_id).toBe(`urn:discord:thread:demo:${thread.id}`);
    expect(inThread.find((p) => p.message_id.endsWith(post.message.id))?.thread_id).toBe(`urn:discord:thread:demo:${post.thread.id}`);
    const a = standin.text.post(thread.id, { content: 'x' });
    const b = standin.text.post(thread.id, { content: 'y' });
    standin.text.edit(thread.id, t1.id, 'in thread, edited');
    standin.text.delete(thread.id, a.id);
    standin.text.bulkDelete(thread.id, [b.id]);
    await until('the bulk delete', () => published('events.MESSAGE_DELETE_BULK').length === 1);
    expect((published('events.MESSAGE_UPDATE')[0]!.payload as { content: string; thread_id: string }).content).toBe('in thread, edited');
    expect((published('events.MESSAGE_DELETE')[0]!.payload as { id: string }).id).toBe(a.id);
    expect((published('events.MESSAGE_DELETE_BULK')[0]!.payload as { ids: string[] }).ids).toEqual([b.id]);
  });

  it('resumes after a dropped connection without losing or duplicating events, and reports shard, seq and ping', async () => {
    const before = published('events.MESSAGE_CREATE').length;
    const session = standin.gateway.sessions().find((s) => s.user?.id === gateway.client.user!.id)!;
    session.drop();
    const sent = Array.from({ length: 20 }, (_, i) => standin.text.post(allowed.id, { content: `during outage ${i}` }).id);
    await until('twenty MESSAGE_CREATE', () => published('events.MESSAGE_CREATE').length >= before + 20);
    const after = standin.text.post(allowed.id, { content: 'after outage' }).id;
    await until('the 21st MESSAGE_CREATE', () => published('events.MESSAGE_CREATE').length >= before + 21);
    const ids = published('events.MESSAGE_CREATE').slice(before).map((e) => (e.payload as { id: string }).id);
    expect(ids).toEqual([...sent, after]);
    const c = gateway.runtime.counters;
    expect(c['gateway.resumes']).toBe(1);
    expect(c['gateway.lost']).toBe(0);
    expect(c['gateway.duplicates']).toBe(0);
    expect(c['gateway.shard']).toBe(0);
    expect(c['gateway.seq']).toBe(gateway.agent.sequence.seq);
    expect(typeof c['gateway.ping_ms']).toBe('number');
  });

  it('a second tenant is added by editing providers.yml only: each tenant publishes under its own topic', async () => {
    const file = join(dir, 'two.yml');
    await writeFile(file, providersYaml(['demo', 'second']));
    const second = await start('second', file, { SECOND_BOT_TOKEN: 'gateway-second-token' });
    try {
      const m = standin.text.post(allowed.id, { content: 'for both tenants' });
      await until('the second tenant’s message', () => published('events.SocialMessageCreated', 'second').length === 1);
      await until('the message on the first tenant', () => published('events.SocialMessageCreated').some((e) => (e.payload as { message_id: string }).message_id.endsWith(m.id)));
      const s = published('events.SocialMessageCreated', 'second')[0]!;
      expect(s.dst).toBe('promethean.p.discord.t.second.events.SocialMessageCreated');
      expect((s.payload as { message_id: string }).message_id).toBe(`urn:discord:message:second:${m.id}`);
      expect(second.client.user!.id).not.toBe(gateway.client.user!.id);
    } finally {
      await second.close();
    }
  });

  it('is fatal, with health saying how to enable it, when MESSAGE_CONTENT is missing from the config or refused by Discord', async () => {
    const file = join(dir, 'one.yml');
    const env = { DEMO_BOT_TOKEN: 'gateway-fatal-token' };
    const noContent = await start('demo', file, env, [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]).catch((e: unknown) => e);
    expect(noContent).toBeInstanceOf(GatewayFatalError);
    expect((noContent as Error).message).toBe(MESSAGE_CONTENT_HOWTO);
    standin.text.options.messageContentIntent = false;
    try {
      const refused = await start('demo', file, env).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(GatewayFatalError);
      expect((refused as Error).message).toMatch(/4014.*Message Content Intent/);
    } finally {
      standin.text.options.messageContentIntent = true;
    }
    const health = seen.filter((e) => e.intent === 'health' && (e.payload as { state: string }).state === 'STOPPED').map((e) => e.payload as { reason: string });
    expect(health).toHaveLength(2);
    expect(health[1]!.reason).toContain('Privileged Gateway Intents');
  });

  it('never puts the bot token in an envelope', () => {
    const all = JSON.stringify(seen);
    expect(all).not.toContain('gateway-demo-token');
    expect(all).not.toContain('gateway-second-token');
  });
});

describe('SequenceTracker', () => {
  it('drops replayed sequence numbers as duplicates and counts gaps as lost', () => {
    const t = new SequenceTracker();
    expect(t.accept(1, 'READY')).toBe(true);
    expect([2, 3, 3, 2, 6, 7].map((s) => t.accept(s, 'MESSAGE_CREATE'))).toEqual([true, true, false, false, true, true]);
    expect(t.duplicates).toBe(2);
    expect(t.lost).toBe(2);
    expect(t.accept(1, 'READY')).toBe(true);
    expect(t.accept(2, 'MESSAGE_CREATE')).toBe(true);
  });
});
