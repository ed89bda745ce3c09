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

  it('follows the owners\' console switches at run time: they win over cephalon.yml; a guild nobody switched follows the file', async () => {
    const t = setup();
    // At start it asks the server for the switch tables.
    await until(() => t.seen.some((e) => e.intent === 'cephalon.toggles.query'));
    expect(t.seen.find((e) => e.intent === 'cephalon.toggles.query')).toMatchObject({ src: 'cephalon-social', provider: 'promethean', tenant: 'system', payload: { worker: 'cephalon-social' } });
    const toggles = (list: { guild_id: string; enabled: boolean; brain?: 'voice' | 'social' }[]) =>
      t.bus.publish(makeEnvelope('cephalon.toggles', { toggles: list.map((x) => ({ brain: 'social' as const, updated_by: 'session:0123456789abcdef', updated_at: '2026-01-01T00:00:00.000Z', ...x })) }, { src: 'server', provider: 'discord', tenant: 'demo' }));
    // Guild 11 is off in the file, 12 is not listed, 10 is on; the voice brain's switch is not this worker's.
    toggles([{ guild_id: '11', enabled: true }, { guild_id: '12', enabled: true }, { guild_id: '10', enabled: false }, { guild_id: '13', enabled: true, brain: 'voice' }]);
    await until(() => t.counter('toggles.applied') === 1);
    t.send(message({ text: '<@900> in 11, now on', mentions: ['900'], guild: '11' }));
    t.send(message({ text: '<@900> in 12, on in any channel', mentions: ['900'], guild: '12', channel: '77' }));
    t.send(message({ text: '<@900> in 10, now off', mentions: ['900'], guild: '10' }));
    t.send(message({ text: '<@900> in 13, only the voice brain is on', mentions: ['900'], guild: '13' }));
    await until(() => t.counter('mentions') === 4);
    await t.running.worker.idle();
    expect(t.counter('mentions.guild_off')).toBe(2);
    expect(t.counter('mentions.queued')).toBe(2);
    expect(t.llmCalls()).toBe(2);
    // A new table replaces the old one: with no switches left, the file decides again.
    toggles([]);
    await until(() => t.counter('toggles.applied') === 2);
    expect(t.running.worker.toggles.state('discord', 'demo', '11')).toBeUndefined();
    t.send(message({ text: '<@900> in 10 again', mentions: ['900'], guild: '10', channel: '21' }));
    t.send(message({ text: '<@900> in 11 again', mentions: ['900'], guild: '11' }));
    await until(() => t.counter('mentions') === 6);
    await t.running.worker.idle();
    expect(t.counter('mentions.guild_off')).toBe(3);
    expect(t.llmCalls()).toBe(3);
  });

  it('a malformed switch table is a typed error and changes nothing', async () => {
    const t = setup();
    t.bus.publish(makeEnvelope('cephalon.toggles', { toggles: [{ guild_id: '11', brain: 'social', enabled: 'yes' }] } as never, { src: 'server', provider: 'discord', tenant: 'demo' }));
    await until(() => t.seen.some((e) => e.intent === 'error'));
    expect(t.seen.find((e) => e.intent === 'error')!.payload).toMatchObject({ code: 'schema', path: 'payload.toggles.0.enabled' });
    expect(t.counter('toggles.rejected')).toBe(1);
    expect(t.running.worker.toggles.state('discord', 'demo', '11')).toBeUndefined();
  });

  it('its manifest declares exactly what it publishes, and no provider capability', async () => {
    const m = await loadManifest(fileURLToPath(new URL('./agent.yml', import.meta.url)));
    expect(m.kind).toBe('worker');
    expect([...m.outputs].sort()).toEqual(['cephalon.toggles.query', 'error', 'health', 'rest.request', 'social.command.post']);
    expect(m.capabilities.some((c) => String(c).startsWith('provider.'))).toBe(false);
  });
});
