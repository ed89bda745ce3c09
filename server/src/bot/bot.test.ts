/**
 * The console's bot controls through the real server (hub, PGlite store, audit chain): the kill switch
 * silences the real mixer, "say this" reaches the TTS worker's topic as a spoken reply, and the brain
 * switches turn the real cephalon-voice worker on and off without a restart. Each is on record first.
 * The only stand-in is the LLM (`FakeLlm`): the question here is whether the brain is asked, not what it says.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { startServer, type Server } from '../app.ts';
import { until } from '../sfu/testing.ts';
import type { Completion, CompleteInput, Llm } from '../speech/index.ts';
import { startMixer, type RunningMixer } from '../workers/mixer/index.ts';
import { CephalonVoicePolicy, CephalonVoiceSection, startCephalonVoice, type RunningCephalonVoice } from '../workers/cephalon-voice/index.ts';

const G1 = '1100000000000000001';
const G2 = '1100000000000000009';
const C1 = '1200000000000000001';
const C2 = '1200000000000000002';
const SESSION = 'vs-bot-1';
const route = { provider: 'discord', tenant: 'demo' };

/** Answers every question with one fixed line and counts the questions. */
class FakeLlm implements Llm {
  readonly name = 'fake';
  readonly questions: CompleteInput[] = [];
  async complete(input: CompleteInput): Promise<Completion> {
    this.questions.push(input);
    return { text: 'It is noon.', finishReason: 'stop', promptTokens: 10, completionTokens: 4, tokensPerSecond: 1, models: [] };
  }
}

let server: Server;
let dir: string;
let agent: BusClient;
let mixerBus: BusClient;
let mixer: RunningMixer;
const seen: Envelope[] = [];

const sid = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);
const api = (method: 'GET' | 'POST' | 'PUT', path: string, token: string | undefined, body?: unknown) =>
  fetch(`${server.hub.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
const rows = async (action: string) => (await server.store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === action);
/** Ids of the hub's connections now. */
const connectionIds = () => new Set(server.hub.metrics().per_connection.map((c) => c.id));
/** Whether a connection opened after `before` holds at least `n` subscriptions. */
const subscribedSince = (before: Set<number>, n: number) => server.hub.metrics().per_connection.some((c) => !before.has(c.id) && c.subscriptions >= n);
const detailOf = (r: { detail: unknown }) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bot-routes-'));
  server = await startServer({ dataDir: dir, port: 0, log: () => undefined });
  agent = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
  await agent.connect();
  const before = connectionIds();
  mixerBus = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
  await mixerBus.connect();
  mixer = startMixer(agentBusFrom(mixerBus), { logLevel: 'silent' });
  await agent.subscribe('promethean.p.discord.t.demo.>', (e) => void seen.push(e)).ready;
  // The voice session the bot is in, as the bridge announces it.
  agent.publish(makeEnvelope('voice.relay.streams', { session_id: SESSION, guild_id: G1, channel_id: C1, streams: [] }, { src: 'discord-voice-access', ...route }));
  await until(() => server.streams.session(SESSION) !== undefined, 'the voice session');
  // The mixer's two subscriptions (play and stop) are in the hub's routing table.
  await until(() => subscribedSince(before, 2), 'the mixer subscribed');
}, 60_000);

afterAll(async () => {
  mixer?.stop();
  agent?.close();
  mixerBus?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the kill switch (POST /api/bot/stop)', () => {
  it('a moderator of the channel silences the bot: on record first, the mixer drops what plays and what waits; another channel\'s moderator gets 403 and leaves no record', async () => {
    const play = (id: string) =>
      agent.publish(makeEnvelope('voice.play.pcm', { session_id: SESSION, play_id: id, format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, attachment: 0 }, { src: 'tts', ...route }), [new Uint8Array(48000 * 2 * 5)]);
    play('reply:long-1');
    play('reply:long-2');
    await until(() => mixer.worker.mixer.depth === 2, 'two requests queued');
    await until(() => seen.some((e) => e.intent === 'voice.play.pcm.out'), 'the first frame out');
    const elsewhere = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, channel: C2 }).token;
    const refused = await api('POST', '/api/bot/stop', elsewhere, { session_id: SESSION });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'forbidden' } });
    expect((await api('POST', '/api/bot/stop', undefined, { session_id: SESSION })).status).toBe(401);
    expect((await api('POST', '/api/bot/stop', elsewhere, { session: SESSION })).status).toBe(400);
    expect(mixer.worker.mixer.depth).toBe(2);

    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, channel: C1 }).token;
    const res = await api('POST', '/api/bot/stop', mod, { session_id: SESSION });
    expect(res.status).toBe(202);
    await until(() => mixer.worker.mixer.depth === 0, 'the queue dropped');
    const stops = seen.filter((e) => e.intent === 'voice.play.stop');
    expect(stops).toHaveLength(1);
    expect(stops[0]!.src).toBe(`client:${sid(mod)}`);
    const recorded = await rows('bot.silence');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ guild_id: G1, channel_id: C1, actor: `session:${sid(mod)}` });
    expect(detailOf(recorded[0]!)).toMatchObject({ role: 'moderator', session_id: SESSION, envelope_id: stops[0]!.id });
    // A reply the TTS worker finishes after the kill switch does not start.
    play('reply:late');
    await until(() => (mixer.runtime.counters['play.held'] ?? 0) === 1, 'the late reply held back');
    expect(mixer.worker.mixer.depth).toBe(0);
  });
});

describe('"say this" (POST /api/bot/say)', () => {
  it('an owner\'s line goes to the TTS worker as a spoken reply from its session, on record with the text and its sha-256; a moderator may not; a long or two-line text is a 400 naming the field', async () => {
    const owner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G1 }).token;
    const res = await api('POST', '/api/bot/say', owner, { session_id: SESSION, text: '  Please keep it civil, everyone.  ' });
    expect(res.status).toBe(202);
    const { segment_id } = (await res.json()) as { segment_id: string };
    expect(segment_id).toMatch(/^say:[A-Za-z0-9_-]{16}$/);
    await until(() => seen.some((e) => e.intent === 'duck.reply.message'), 'the reply on the bus');
    const reply = seen.find((e) => e.intent === 'duck.reply.message')!;
    expect(reply.src).toBe(`client:${sid(owner)}`);
    expect(reply.payload).toMatchObject({ session_id: SESSION, segment_id, text: 'Please keep it civil, everyone.', speak: true });
    const recorded = await rows('bot.say');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ guild_id: G1, channel_id: C1, actor: `session:${sid(owner)}` });
    expect(detailOf(recorded[0]!)).toMatchObject({
      role: 'owner',
      session_id: SESSION,
      segment_id,
      text: 'Please keep it civil, everyone.',
      text_sha256: createHash('sha256').update('Please keep it civil, everyone.').digest('hex'),
    });

    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, channel: C1 }).token;
    const denied = await api('POST', '/api/bot/say', mod, { session_id: SESSION, text: 'hello' });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toBe('a moderator may not publish duck.reply.message');
    const long = await api('POST', '/api/bot/say', owner, { session_id: SESSION, text: 'x'.repeat(301) });
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({ error: { code: 'schema', message: expect.stringContaining('payload.text') } });
    expect((await api('POST', '/api/bot/say', owner, { session_id: SESSION, text: 'one\ntwo' })).status).toBe(400);
    const other = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G2 }).token;
    expect((await api('POST', '/api/bot/say', other, { session_id: SESSION, text: 'hello' })).status).toBe(403);
    expect(await rows('bot.say')).toHaveLength(1);
    expect(seen.filter((e) => e.intent === 'duck.reply.message')).toHaveLength(1);
  });
});

describe('brain switches (GET/PUT /api/bot/brains)', () => {
  let voiceBus: BusClient | undefined;
  let voice: RunningCephalonVoice | undefined;
  afterAll(async () => {
    await voice?.stop();
    voiceBus?.close();
  });

  it('an owner turns the voice brain on and off: on record, stored, and the running worker follows without a restart; a moderator may not', async () => {
    const llm = new FakeLlm();
    const before = connectionIds();
    voiceBus = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
    await voiceBus.connect();
    // Nothing in cephalon.yml: off everywhere, as by default.
    voice = startCephalonVoice(agentBusFrom(voiceBus), new CephalonVoicePolicy(CephalonVoiceSection.parse({})), () => llm, { logLevel: 'silent' });
    const v = voice;
    const counter = (name: string) => v.runtime.counters[name] ?? 0;
    // Its three subscriptions (sessions, transcripts, switches) are in the hub's routing table.
    await until(() => subscribedSince(before, 3), 'cephalon-voice subscribed');
    agent.publish(makeEnvelope('voice.state.connected', { guild_id: G1, channel_id: C1, session_id: SESSION, ssrc_map: {}, sample_rate: 48000, channels: 1, frame_hop_ms: 20, status: 'connected' }, { src: 'discord-voice-access', ...route }));
    let segment = 0;
    const ask = () =>
      agent.publish(
        makeEnvelope(
          'duck.transcript.segment',
          { session_id: SESSION, segment_id: `seg-${++segment}`, speaker: '2200000000000000001', text: 'Promethean, what time is it?', final: true, ts_start_ns: '1000', ts_end_ns: '2000', confidence: 0.9, tokens: 5, latency_ms: 100 },
          { src: 'stt', ...route },
        ),
      );
    ask();
    await until(() => counter('cephalon.guild_off') === 1, 'the question ignored while the brain is off');
    expect(llm.questions).toHaveLength(0);

    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1 }).token;
    expect((await api('PUT', '/api/bot/brains', mod, { guild_id: G1, brain: 'voice', enabled: true })).status).toBe(403);
    expect((await api('GET', `/api/bot/brains?guild_id=${G1}`, mod)).status).toBe(403);
    const otherOwner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G2 }).token;
    expect((await api('PUT', '/api/bot/brains', otherOwner, { guild_id: G1, brain: 'voice', enabled: true })).status).toBe(403);
    const owner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G1 }).token;
    expect((await api('PUT', '/api/bot/brains', owner, { guild_id: G1, brain: 'telepathy', enabled: true })).status).toBe(400);
    expect(await (await api('GET', `/api/bot/brains?guild_id=${G1}`, owner)).json()).toEqual({ provider: 'discord', guild_id: G1, brains: { voice: null, social: null } });

    const on = await api('PUT', '/api/bot/brains', owner, { guild_id: G1, brain: 'voice', enabled: true });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ guild_id: G1, brain: 'voice', enabled: true, updated_by: `session:${sid(owner)}` });
    const recorded = await rows('bot.brain.set');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ guild_id: G1, actor: `session:${sid(owner)}` });
    expect(detailOf(recorded[0]!)).toMatchObject({ brain: 'voice', enabled: true, role: 'owner' });
    expect(await server.store.listBrainSwitches({ provider: 'discord', tenant: 'demo' })).toMatchObject([{ guild_id: G1, brain: 'voice', enabled: true }]);
    await until(() => v.worker.toggles.state('discord', 'demo', G1) === true, 'the worker learnt the switch');
    ask();
    await until(() => seen.some((e) => e.intent === 'duck.reply.message' && e.src === 'cephalon-voice'), 'the brain answered');
    expect(llm.questions).toHaveLength(1);
    const state = (await (await api('GET', `/api/bot/brains?guild_id=${G1}`, owner)).json()) as { brains: { voice: { enabled: boolean; updated_by: string }; social: unknown } };
    expect(state.brains.voice).toMatchObject({ enabled: true, updated_by: `session:${sid(owner)}` });
    expect(state.brains.social).toBeNull();

    expect((await api('PUT', '/api/bot/brains', owner, { guild_id: G1, brain: 'voice', enabled: false })).status).toBe(200);
    await until(() => v.worker.toggles.state('discord', 'demo', G1) === false, 'the worker learnt the switch is off');
    expect(await rows('bot.brain.set')).toHaveLength(2);
  });

  it('a worker that starts after the change asks for the switches and learns them', async () => {
    const lateBus = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
    await lateBus.connect();
    const late = startCephalonVoice(agentBusFrom(lateBus), new CephalonVoicePolicy(CephalonVoiceSection.parse({})), () => new FakeLlm(), { logLevel: 'silent' });
    try {
      await until(() => late.worker.toggles.state('discord', 'demo', G1) === false, 'the late worker learnt the stored switch');
      expect(late.worker.enabled('discord', 'demo', G1)).toBe(false);
    } finally {
      await late.stop();
      lateBus.close();
    }
  });
});
