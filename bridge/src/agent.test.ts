import { afterEach, describe, expect, it } from 'vitest';
import { makeEnvelope, type Envelope } from '@promethean/shared';
import { AgentRuntime, InProcessBus } from '@promethean/shared/node';
import { VoiceAccessAgent, type VoiceAccessAgentOptions } from './agent.ts';
import { loadProviderAccess, type AllowCheck } from './credentials.ts';
import { PROVIDERS_FILE } from './integration/harness.ts';
import type { VoiceGateway } from './discord/voice-gateway.ts';

/** A gateway for input-validation tests only: reaching it is itself a failure. */
const unreachableGateway: VoiceGateway = {
  join() {
    throw new Error('the gateway must not be reached by invalid input');
  },
};

const allowAll: AllowCheck = () => true;

function setup(allows: AllowCheck = allowAll, extra: Partial<VoiceAccessAgentOptions> = {}) {
  const bus = new InProcessBus();
  const runtime = new AgentRuntime({ id: 'discord-voice-access', kind: 'access', bus, logLevel: 'silent', provider: 'discord', tenant: 'demo' });
  const agent = new VoiceAccessAgent(runtime, unreachableGateway, { tenant: 'demo', allows, ...extra });
  const errors: Envelope[] = [];
  bus.subscribe('promethean.p.discord.t.demo.error', (env) => void errors.push(env));
  agent.start();
  runtime.start();
  const send = (intent: string, payload: unknown, attachments: Uint8Array[] = []) =>
    bus.publish(makeEnvelope(intent, payload, { src: 'test', provider: 'discord', tenant: 'demo' }) as Envelope, attachments);
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { agent, runtime, errors, send, settle };
}

describe('VoiceAccessAgent input handling', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('answers a malformed voice.control.join with a schema error naming the field, and does not join', async () => {
    const { agent, runtime, errors, send, settle } = setup();
    cleanup = () => (agent.stop(), runtime.stop());
    send('voice.control.join', { guild_id: 'g1' });
    await settle();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.payload).toMatchObject({ code: 'schema', path: 'payload.channel_id' });
    expect(agent.sessions.size).toBe(0);
  });

  it('answers leave, set-bitrate and playback for an unknown session with invalid_state errors', async () => {
    const { agent, runtime, errors, send, settle } = setup();
    cleanup = () => (agent.stop(), runtime.stop());
    send('voice.control.leave', { guild_id: 'g9' });
    send('voice.control.set-bitrate', { session_id: 'nope', bitrate: 64000 });
    send('voice.play.opus', { session_id: 'nope', frame_ms: 20, attachment: 0 }, [Uint8Array.of(0xfc, 1, 2)]);
    await settle();
    expect(errors.map((e) => (e.payload as { code: string }).code)).toEqual(['invalid_state', 'invalid_state', 'invalid_state']);
  });

  it('rejects a voice.play.pcm.out frame that is not 1920 samples and one whose attachment is missing', async () => {
    const { agent, runtime, errors, send, settle } = setup();
    cleanup = () => (agent.stop(), runtime.stop());
    const fmt = { rate_hz: 48000, channels: 2, codec: 'pcm_s16le' };
    send('voice.play.pcm.out', { session_id: 's', seq: 0, format: fmt, attachment: 0 }, [new Uint8Array(100)]);
    send('voice.play.pcm.out', { session_id: 's', seq: 1, format: fmt, attachment: 2 }, []);
    send('voice.play.pcm.out', { session_id: 's', seq: 2, format: fmt, attachment: 0 }, [new Uint8Array(3)]);
    await settle();
    expect(errors.map((e) => (e.payload as { code: string }).code)).toEqual(['schema', 'bad_frame', 'bad_frame']);
    expect(runtime.state).toBe('RUNNING');
  });

  it('refuses voice.control.join for a guild the providers.yml allow-list does not admit with forbidden, counts it, and does not join', async () => {
    const access = await loadProviderAccess(PROVIDERS_FILE, 'discord', 'demo', { DISCORD_BOT_TOKEN: 'unused', DISCORD_GUILD_ID: '1200000000000000001' });
    const { agent, runtime, errors, send, settle } = setup(access.allows);
    cleanup = () => (agent.stop(), runtime.stop());
    send('voice.control.join', { guild_id: '1299999999999999999', channel_id: '1300000000000000001', prefer_opus: true, self_mute: false, self_deaf: false });
    await settle();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.payload).toMatchObject({ code: 'forbidden', path: 'payload.guild_id' });
    expect(runtime.counters.joins_forbidden).toBe(1);
    expect(agent.sessions.size).toBe(0);
  });

  it('refuses a join to a channel outside an allow-list of channels, naming the channel', async () => {
    const allows: AllowCheck = (w) => w.guild_id === 'g1' && (w.channel_id === undefined || w.channel_id === 'c1');
    const { agent, runtime, errors, send, settle } = setup(allows);
    cleanup = () => (agent.stop(), runtime.stop());
    send('voice.control.join', { guild_id: 'g1', channel_id: 'c2', prefer_opus: true, self_mute: false, self_deaf: false });
    await settle();
    expect(errors.map((e) => e.payload)).toMatchObject([{ code: 'forbidden', path: 'payload.channel_id' }]);
    expect(runtime.counters.joins_forbidden).toBe(1);
    expect(agent.sessions.size).toBe(0);
  });

  it('answers a malformed voice.listeners with a schema error; a count for a session it does not hold changes no presence', async () => {
    const shown: (string | null)[] = [];
    const { agent, runtime, errors, send, settle } = setup(allowAll, { presence: { setActivity: (t) => void shown.push(t) } });
    cleanup = () => (agent.stop(), runtime.stop());
    send('voice.listeners', { session_id: 's', guild_id: 'g1', channel_id: 'c1', count: -1 });
    send('voice.listeners', { session_id: 's', guild_id: 'g1', channel_id: 'c1', count: 2 });
    await settle();
    expect(errors.map((e) => e.payload)).toMatchObject([{ code: 'schema', path: 'payload.count' }]);
    expect(runtime.counters['handled.voice.listeners']).toBe(2);
    expect(shown).toEqual([]);
  });
});
