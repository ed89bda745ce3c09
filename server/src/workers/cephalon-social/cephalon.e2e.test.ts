/**
 * cephalon-social end to end: two stand-ins (two guilds), each with the real discord-gateway and
 * discord-rest agents (discord.js and @discordjs/rest), the real hub, the worker on its own bus
 * connection, and the local speech server's Gemma as the LLM. Simulated authors mention the bot;
 * the stand-in's channel must then hold the bot's reply to the mention, sent with allowed_mentions
 * none, or, where replies are off, nothing (the worker's counters show that it decided).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, type Envelope } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { startStandin, type Standin } from '@promethean/standin';
import { speechInstalled, startSpeech } from '../../../../test/e2e/speech-support.ts';
import { startDiscordGateway, type RunningDiscordGateway } from '../../access/discord-gateway/index.ts';
import { startDiscordRest, type RunningDiscordRest } from '../../access/discord-rest/index.ts';
import { createHub, type Hub } from '../../hub/index.ts';
import type { LocalSpeechServer } from '../../speech/local-server.ts';
import { OpenAiEndpoint, OpenAiLlm } from '../../speech/openai-driver.ts';
import { CephalonSocialPolicy, parseCephalonSocialConfig } from './config.ts';
import type { WatchRules } from './filter.ts';
import { startCephalonSocial, type RunningCephalonSocial } from './index.ts';

const installed = speechInstalled();
const TOKENS = { demo: 'cephalon-e2e-demo-token', other: 'cephalon-e2e-other-token' } as const;
const MAX_REPLY = 300;

async function until<T>(probe: () => T, what: string | (() => string), timeoutMs = 240_000): Promise<NonNullable<T>> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v as NonNullable<T>;
    if (performance.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Tenant {
  standin: Standin;
  gateway: RunningDiscordGateway;
  rest: RunningDiscordRest;
  botId: string;
}

describe.skipIf(!installed)('cephalon-social: a bot that answers (stand-in, access agents, hub, local LLM)', { timeout: 300_000 }, () => {
  let hub: Hub;
  let speech: LocalSpeechServer;
  let demo: Tenant;
  let other: Tenant;
  let cephalon: RunningCephalonSocial;
  const buses: BusClient[] = [];
  const seen: Envelope[] = [];
  let watchedChannel = '';
  const watch: WatchRules = (r) => (r.channelId === watchedChannel ? { allow: false, rule: 'e2e-block' } : { allow: true });

  const bus = async () => {
    const b = new BusClient({ url: hub.url, token: hub.agentKey });
    await b.connect();
    buses.push(b);
    return b;
  };

  async function tenant(id: keyof typeof TOKENS, standin: Standin): Promise<Tenant> {
    const rest = await startDiscordRest({ bus: agentBusFrom(await bus()), tenant: id, botToken: TOKENS[id], apiBase: standin.restApi, cdnBase: standin.cdnBase, proxy: { clientKey: `cephalon-e2e-${id}-proxy-key` }, logLevel: 'silent' });
    const gateway = await startDiscordGateway({ bus: agentBusFrom(await bus()), tenant: id, botToken: TOKENS[id], allows: () => true, apiBase: standin.restApi, logLevel: 'silent' });
    return { standin, gateway, rest, botId: gateway.client.user!.id };
  }

  beforeAll(async () => {
    speech = await startSpeech();
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'cephalon-hub-')), writeRuntimeFile: false });
    const [a, b] = await Promise.all([startStandin(), startStandin()]);
    demo = await tenant('demo', a);
    other = await tenant('other', b);
    const observer = await bus();
    await observer.subscribe('promethean.>', (env) => void seen.push(env)).ready;
    // Replies on in demo's guild only. The other tenant (a second bot, in a stand-in of its own)
    // lists its guild as off; another guild of it is on, so the tenant as such is configured.
    const config = parseCephalonSocialConfig(`
version: 1
social:
  defaults: { max_tokens: 24, history: 10, max_reply_chars: ${MAX_REPLY} }
  tenants:
    - id: demo
      guilds:
        - { id: "${demo.standin.guildId}", enabled: true, cooldown_s: 600 }
    - id: other
      guilds:
        - { id: "${other.standin.guildId}", enabled: false }
        - { id: "1", enabled: true }
`);
    const endpoint = new OpenAiEndpoint({ name: 'local', baseUrl: speech.url });
    cephalon = startCephalonSocial(agentBusFrom(await bus()), {
      policy: new CephalonSocialPolicy(config),
      llmFor: () => new OpenAiLlm(endpoint, { model: 'gemma-3-270m-q4_k_m' }),
      watch,
      maxQueued: 1,
      logLevel: 'silent',
    });
    await cephalon.ready;
  }, 300_000);

  afterAll(async () => {
    await cephalon?.stop();
    for (const t of [demo, other]) {
      await t?.gateway.close();
      await t?.rest.close();
      await t?.standin.close();
    }
    for (const b of buses) b.close();
    await hub?.close();
    await speech?.close();
  });

  const counter = (name: string) => cephalon.runtime.counters[name] ?? 0;
  /** What a timed-out wait reports: the worker's counters say how far each mention got. */
  const waitingFor = (what: string) => () => `${what}; worker counters ${JSON.stringify(cephalon.runtime.counters)}`;
  const botMessages = (t: Tenant, channelId: string) => t.standin.text.store.channel(channelId).messages.filter((m) => m.authorId === t.botId);

  it('a mention in an enabled guild gets a reply that references it, with allowed_mentions none', async () => {
    const text = demo.standin.text;
    const ask = text.createTextChannel('ask');
    text.post(ask.id, { content: 'the nightly build failed again', authorId: text.author('alice') });
    text.post(ask.id, { content: 'the disk on the build machine was full', authorId: text.author('bob') });
    const mention = text.post(ask.id, { content: `<@${demo.botId}> why did the nightly build fail?`, authorId: text.author('dana') });
    expect(mention.mentions).toEqual([demo.botId]);

    const [reply] = await until(() => (botMessages(demo, ask.id).length > 0 ? botMessages(demo, ask.id) : undefined), waitingFor('the bot to reply'));
    expect(reply!.type).toBe(19);
    expect(reply!.reference).toEqual({ message_id: mention.id, channel_id: ask.id, guild_id: demo.standin.guildId });
    // A reply pings the author it answers unless allowed_mentions says otherwise: nobody was pinged.
    expect(reply!.mentions).toEqual([]);
    expect(reply!.mentionEveryone).toBe(false);
    expect(reply!.content.trim().length).toBeGreaterThan(0);
    expect([...reply!.content].length).toBeLessThanOrEqual(MAX_REPLY);
    expect(counter('identity.learnt')).toBe(1);
    expect(counter('history.rest')).toBe(1);
    expect(counter('replies.posted')).toBe(1);
    const post = seen.find((e) => e.intent === 'social.command.post')!;
    expect(post).toMatchObject({ src: 'cephalon-social', tenant: 'demo', payload: { in_reply_to: `urn:discord:message:demo:${mention.id}`, space_urn: `urn:discord:channel:demo:${ask.id}`, text: reply!.content } });
  });

  it('a mention in a guild that is not enabled is seen and counted, and gets no reply', async () => {
    const before = { completions: counter('llm.completions'), queued: counter('mentions.queued') };
    const text = other.standin.text;
    const mention = text.post(other.standin.textChannelId, { content: `<@${other.botId}> are you there?`, authorId: text.author('erin') });
    expect(mention.mentions).toEqual([other.botId]);
    await until(() => counter('mentions.guild_off') === 1, waitingFor('the mention to be processed'));
    expect(counter('mentions.queued')).toBe(before.queued);
    expect(counter('llm.completions')).toBe(before.completions);
    expect(botMessages(other, other.standin.textChannelId)).toEqual([]);
  });

  it('a second mention in the same channel within its cooldown gets no reply', async () => {
    const text = demo.standin.text;
    const ask = text.store.topLevel().find((c) => c.name === 'ask')!;
    text.post(ask.id, { content: `<@${demo.botId}> and the weekly build?`, authorId: text.author('dana') });
    await until(() => counter('mentions.cooldown') === 1, waitingFor('the cooldown to refuse it'));
    expect(botMessages(demo, ask.id)).toHaveLength(1);
  });

  it('a reply the watch rules block is not posted', async () => {
    const text = demo.standin.text;
    const watched = text.createTextChannel('watched');
    watchedChannel = watched.id;
    text.post(watched.id, { content: `<@${demo.botId}> say something`, authorId: text.author('frank') });
    await until(() => counter('replies.blocked') === 1, waitingFor('the watch rule to block the reply'));
    expect(botMessages(demo, watched.id)).toEqual([]);
  });

  it('the mention queue is bounded: beyond it the oldest waiting mention is dropped', async () => {
    const text = demo.standin.text;
    const channels = ['q1', 'q2', 'q3'].map((n) => text.createTextChannel(n));
    // One is being answered, one waits; the third pushes the waiting one out (maxQueued: 1).
    for (const c of channels) text.post(c.id, { content: `<@${demo.botId}> hello`, authorId: text.author('gina') });
    await until(() => botMessages(demo, channels[0]!.id).length === 1 && botMessages(demo, channels[2]!.id).length === 1, waitingFor('replies in q1 and q3'));
    expect(counter('queue.dropped')).toBe(1);
    // The dropped mention is never answered: nothing of it waits any more.
    expect(cephalon.worker.queued).toBe(0);
    expect(channels.map((c) => botMessages(demo, c.id).length)).toEqual([1, 0, 1]);
  });

  it('no envelope carries a bot token', () => {
    const all = JSON.stringify(seen);
    for (const token of Object.values(TOKENS)) expect(all).not.toContain(token);
  });
});
