/**
 * A join that never connects ends `failed` after a bounded time, naming the cause where Discord's
 * state gives one, and the session is released (no more health). Real discord.js and
 * @discordjs/voice against the stand-in, whose channel refuses the bot (no CONNECT, or full): as on
 * Discord, the refused op 4 gets no answer at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Client, GatewayIntentBits } from 'discord.js';
import { makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
import { AgentRuntime, InProcessBus } from '@promethean/shared/node';
import { startStandin, type Standin } from '@promethean/standin';
import { VoiceAccessAgent } from '../agent.ts';
import { DiscordVoiceGateway } from '../discord/voice-gateway.ts';
import { until } from '../../../test/support/until.ts';

type State = PayloadOf<'voice.state.connected'>;

describe('a join that never connects', () => {
  let standin: Standin | undefined;
  let client: Client | undefined;
  let stop: (() => void) | undefined;
  afterEach(async () => {
    stop?.();
    await client?.destroy();
    await standin?.close();
    standin = client = stop = undefined;
  });

  async function run(refusal: 'no_connect_permission' | 'channel_full'): Promise<{ states: State[]; health: () => number; agent: VoiceAccessAgent }> {
    standin = await startStandin();
    standin.world.voiceJoinRefusal = refusal;
    if (refusal === 'channel_full') {
      const listener = standin.world.addSpeaker('listener');
      standin.world.setVoiceChannel(listener.id, standin.voiceChannelId, 'listener-session');
    }
    client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: standin.restApi } });
    const ready = new Promise<void>((r) => client!.once('clientReady', () => r()));
    await client.login('join-failure-bot');
    await ready;
    await until('the guild', () => client!.guilds.cache.has(standin!.guildId));
    const bus = new InProcessBus();
    const runtime = new AgentRuntime({ id: 'discord-voice-access', kind: 'access', bus, logLevel: 'silent', provider: 'discord', tenant: 'demo' });
    const agent = new VoiceAccessAgent(runtime, new DiscordVoiceGateway(client), { tenant: 'demo', allows: () => true, healthIntervalMs: 100, session: { joinTimeoutMs: 1500 } });
    const states: State[] = [];
    let health = 0;
    bus.subscribe('promethean.p.discord.t.demo.voice.state.connected', (env) => void states.push(env.payload as State));
    bus.subscribe('promethean.p.discord.t.demo.voice.health', () => void health++);
    agent.start();
    runtime.start();
    stop = () => (agent.stop(), runtime.stop());
    bus.publish(makeEnvelope('voice.control.join', { guild_id: standin.guildId, channel_id: standin.voiceChannelId, session_id: 'jf', prefer_opus: true, self_mute: false, self_deaf: false }, { src: 'test', provider: 'discord', tenant: 'demo' }) as Envelope);
    return { states, health: () => health, agent };
  }

  it('ends failed with "no permission to connect" when the bot lacks CONNECT, and stops reporting health', async () => {
    const { states, health, agent } = await run('no_connect_permission');
    await until('status failed', () => states.some((s) => s.status === 'failed'));
    const failed = states.find((s) => s.status === 'failed')!;
    expect(failed.reason).toMatch(/not connected after 1500 ms: no permission to connect/);
    expect(states.slice(0, -1).every((s) => s.status === 'reconnecting')).toBe(true);
    expect(agent.sessions.size).toBe(0);
    const n = health();
    await new Promise((r) => setTimeout(r, 350)); // three health periods: none for the released session
    expect(health()).toBe(n);
  }, 30_000);

  it('ends failed naming a full channel and its user limit', async () => {
    const { states } = await run('channel_full');
    await until('status failed', () => states.some((s) => s.status === 'failed'));
    expect(states.at(-1)).toMatchObject({ status: 'failed', session_id: 'jf' });
    expect(states.at(-1)!.reason).toMatch(/channel full \(user limit 1\)/);
  }, 30_000);
});
