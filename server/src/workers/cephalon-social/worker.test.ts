/**
 * The worker's decisions before any LLM call, over the in-process bus: bad input, tenants, bots,
 * guilds that are off, channels, repeated deliveries and the cooldown. No LLM is configured here:
 * where a reply is attempted, its failure is counted and the worker goes on. Replies made by the
 * real LLM are in cephalon.e2e.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEnvelope, type Envelope } from '@promethean/shared';
import { InProcessBus, loadManifest } from '@promethean/shared/node';
import { CephalonSocialPolicy, parseCephalonSocialConfig } from './config.ts';
import { startCephalonSocial, type RunningCephalonSocial } from './index.ts';

const CONFIG = `
version: 1
social:
  tenants:
    - id: demo
      bot_user_id: "900"
      names: [promethean]
      guilds:
        - { id: "10", enabled: true, cooldown_s: 60, channels: ["20", "21"] }
        - { id: "11", enabled: false }
`;

let running: RunningCephalonSocial | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 2));
}

function setup() {
  const bus = new InProcessBus();
  const seen: Envelope[] = [];
  bus.subscribe('promethean.>', (env) => void seen.push(env));
  let llmCalls = 0;
  running = startCephalonSocial(bus, {
    policy: new CephalonSocialPolicy(parseCephalonSocialConfig(CONFIG)),
    llmFor: () => {
      llmCalls++;
      throw new Error('no LLM is configured in this test');
    },
    restHistory: false,
    logLevel: 'silent',
  });
  const r = running;
  const counter = (name: string) => r.runtime.counters[name] ?? 0;
  const send = (payload: unknown, tenant = 'demo') => bus.publish(makeEnvelope('events.SocialMessageCreated', payload as never, { src: 'discord-gateway', provider: 'discord', tenant }));
  return { bus, seen, counter, send, running: r, llmCalls: () => llmCalls };
}

let next = 1000;
function message(o: { text: string; guild?: string | null; channel?: string; author?: string; bot?: boolean; mentions?: string[]; id?: string; tenant?: string }) {
  const tenant = o.tenant ?? 'demo';
  const id = o.id ?? String(next++);
  const channel = o.channel ?? '20';
  const author = o.author ?? '500';
  return {
    message_id: `urn:discord:message:${tenant}:${id}`, author_urn: `urn:discord:user:${tenant}:${author}`, space_urn: `urn:discord:channel:${tenant}:${channel}`,
    text: o.text, attachments: [], created_at: '2026-01-01T00:00:00.000Z', provider: 'discord', tenant,
    provider_payload: {
      id, channel_id: channel, ...(o.guild === null ? {} : { guild_id: o.guild ?? '10' }),
      author: { id: author, username: 'dana', bot: o.bot ?? false }, content: o.text,
      mentions: (o.mentions ?? []).map((m) => ({ id: m, username: m === '900' ? 'promethean-bot' : 'someone', bot: m === '900' })),
    },
  };
}

describe('cephalon-social worker (before the LLM)', () => {
  it('answers a malformed SocialMessageCreated or one of another tenant with a typed error, and counts it', async () => {
    const t = setup();
    t.send({ ...message({ text: 'x' }), created_at: 'yesterday' });
    t.send(message({ text: 'x', tenant: 'other' }), 'demo');
    await until(() => t.seen.filter((e) => e.intent === 'error').length === 2);
    const errors = t.seen.filter((e) => e.intent === 'error').map((e) => e.payload as { code: string; path: string });
    expect(errors).toEqual([expect.objectContaining({ code: 'schema', path: 'payload.created_at' }), expect.objectContaining({ code: 'forbidden', path: 'payload.tenant' })]);
    expect(t.counter('rejected.events.SocialMessageCreated')).toBe(2);
  });

  it('ignores bots and unaddressed messages; counts mentions in guilds, channels and DMs that are off', async () => {
    const t = setup();
    t.send(message({ text: '<@900> hi', mentions: ['900'], bot: true, author: '901' }));
    t.send(message({ text: 'just chatting' }));
    t.send(message({ text: '<@900> in a guild that is off', mentions: ['900'], guild: '11' }));
    t.send(message({ text: 'promethean, in a guild nobody configured', guild: '12' }));
    t.send(message({ text: '<@900> in another channel', mentions: ['900'], channel: '29' }));
    t.send(message({ text: '<@900> in a DM', mentions: ['900'], guild: null }));
    await until(() => t.counter('messages.seen') === 6);
    await until(() => t.counter('mentions') === 4);
    expect(t.counter('mentions.guild_off')).toBe(2);
    expect(t.counter('mentions.channel_off')).toBe(1);
    expect(t.counter('mentions.no_guild')).toBe(1);
    expect(t.counter('mentions.by_ping')).toBe(3);
    expect(t.counter('mentions.by_name')).toBe(1);
    expect(t.counter('mentions.queued')).toBe(0);
    expect(t.llmCalls()).toBe(0);
  });

  it('takes one reply per mention and per channel cooldown; a failing LLM is counted, not fatal', async () => {
    const t = setup();
    t.send(message({ text: '<@900> first', mentions: ['900'], id: '7001' }));
    await until(() => t.counter('mentions.queued') === 1);
    t.send(message({ text: '<@900> first', mentions: ['900'], id: '7001' }));
    t.send(message({ text: '<@900> second, same channel', mentions: ['900'] }));
    t.send(message({ text: 'Promethean: other channel', channel: '21' }));
    await until(() => t.counter('mentions') === 4);
    await t.running.worker.idle();
    expect(t.counter('mentions.repeated')).toBe(1);
    expect(t.counter('mentions.cooldown')).toBe(1);
    expect(t.counter('mentions.queued')).toBe(2);
    expect(t.counter('replies.failed')).toBe(2);
    expect(t.llmCalls()).toBe(2);
    expect(t.seen.some((e) => e.intent === 'social.command.post')).toBe(false);
    expect(t.running.runtime.state).toBe('RUNNING');
  });

  it('its manifest declares exactly what it publishes, and no provider capability', async () => {
    const m = await loadManifest(fileURLToPath(new URL('./agent.yml', import.meta.url)));
    expect(m.kind).toBe('worker');
    expect([...m.outputs].sort()).toEqual(['error', 'health', 'rest.request', 'social.command.post']);
    expect(m.capabilities.some((c) => String(c).startsWith('provider.'))).toBe(false);
  });
});
