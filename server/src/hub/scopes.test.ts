/** What a browser session may publish and receive: grants by role, src tied to the session, guild and channel scope. */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEnvelope } from '@promethean/shared';
import { RecordingClient, startTempHub, type TempHub } from './testing.ts';

let hub: TempHub | undefined;
const clients: RecordingClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

async function client(token: string): Promise<RecordingClient> {
  const c = new RecordingClient(hub!.url, token);
  clients.push(c);
  await c.opened();
  return c;
}

const sid = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);
const G1 = '1100000000000000001';
const G2 = '1100000000000000009';
const C1 = '1200000000000000001';
const C2 = '1200000000000000002';
const join = (guild: string, channel: string, src: string) =>
  makeEnvelope('voice.control.join', { guild_id: guild, channel_id: channel, prefer_opus: true, self_mute: false, self_deaf: false }, { src, provider: 'discord', tenant: 'demo' });
const state = (session: string, guild: string, channel: string) =>
  makeEnvelope('voice.state.connected', { guild_id: guild, channel_id: channel, session_id: session, ssrc_map: {}, sample_rate: 48000, channels: 1, frame_hop_ms: 20, status: 'connected' }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' });
const pcm = (session: string, seq: number) =>
  makeEnvelope(
    'voice.audio.pcm',
    { session_id: session, user_id: '2200000000000000001', ts_monotonic_ns: '1', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, rtp: { ssrc: 1, seq, timestamp: 0 }, data_b64: Buffer.alloc(1920).toString('base64') },
    { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' },
  );
const seqOf = (e: Record<string, unknown>) => (e.payload as { rtp?: { seq: number } }).rtp?.seq;

describe('publishing from a browser session', () => {
  it('a moderator may not make the bot join, leave or speak: forbidden, nothing delivered', async () => {
    hub = await startTempHub();
    const agent = await client(hub.agentKey);
    await agent.subscribe('promethean.p.discord.t.demo.voice.>');
    const { token } = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
    const mod = await client(token);
    const src = `client:${sid(token)}`;
    mod.send(join(G1, C1, src));
    mod.send(makeEnvelope('voice.play.opus', { session_id: 's', data_b64: 'AAAA' } as never, { src, provider: 'discord', tenant: 'demo' }));
    mod.send(makeEnvelope('voice.control.leave', { guild_id: G1 } as never, { src, provider: 'discord', tenant: 'demo' }));
    await mod.waitFor(() => mod.errors().length === 3);
    expect(mod.errors().map((e) => e.code)).toEqual(['forbidden', 'forbidden', 'forbidden']);
    expect(mod.errors()[0]!.message).toContain('moderator may not publish voice.control.join');
    expect(hub.metrics().published).toBe(0);
    expect(agent.envelopes()).toEqual([]);
  });

  it('an owner may steer the bot with src = client:<session id>, within its guild scope only', async () => {
    hub = await startTempHub();
    const agent = await client(hub.agentKey);
    await agent.subscribe('promethean.p.discord.t.demo.voice.control.>');
    const { token } = hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G1 });
    const owner = await client(token);
    const src = `client:${sid(token)}`;
    owner.send(join(G1, C1, 'discord-voice-access')); // impersonating an agent
    owner.send(join(G2, C1, src)); // another guild
    const ok = join(G1, C1, src);
    owner.send(ok);
    await agent.waitFor(() => agent.envelopes().length === 1);
    await owner.waitFor(() => owner.errors().length === 2);
    expect(owner.errors().map((e) => e.message)).toEqual([`src must be "${src}" for this session`, `this session is limited to guild ${G1}`]);
    expect(agent.envelopes()[0]!.id).toBe(ok.id);
  });
});

describe('receiving in a session limited to a guild or channel', () => {
  it('gets its guild\'s and channel\'s envelopes only; sessions are placed by the agent\'s voice.state.connected; unknown ones are withheld', async () => {
    hub = await startTempHub();
    const agent = await client(hub.agentKey);
    const guildMod = await client(hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1 }).token);
    const channelMod = await client(hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, channel: C2 }).token);
    const tenantMod = await client(hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token);
    for (const c of [guildMod, channelMod, tenantMod]) await c.subscribe('promethean.p.*.t.demo.voice.>');
    agent.send(state('s-g1c1', G1, C1));
    agent.send(state('s-g1c2', G1, C2));
    agent.send(state('s-g2c1', G2, C1));
    agent.send(pcm('s-g1c1', 1));
    agent.send(pcm('s-g1c2', 2));
    agent.send(pcm('s-g2c1', 3));
    agent.send(pcm('s-unknown', 4));
    await tenantMod.waitFor(() => tenantMod.envelopes().length === 7);
    // The agent's envelopes arrive in order on every connection; the last one the guild moderator may see is seq 2.
    await guildMod.waitFor(() => guildMod.envelopes().some((e) => seqOf(e) === 2));
    await channelMod.waitFor(() => channelMod.envelopes().some((e) => seqOf(e) === 2));
    const seen = (c: RecordingClient) => c.envelopes().map((e) => (e.intent === 'voice.audio.pcm' ? `pcm:${(e.payload as { session_id: string }).session_id}` : `state:${(e.payload as { session_id: string }).session_id}`));
    expect(seen(guildMod)).toEqual(['state:s-g1c1', 'state:s-g1c2', 'pcm:s-g1c1', 'pcm:s-g1c2']);
    expect(seen(channelMod)).toEqual(['state:s-g1c2', 'pcm:s-g1c2']);
    expect(seen(tenantMod)).toHaveLength(7);
    expect(hub.metrics().out_of_scope).toBe(3 + 5);
  });

  it('a session cannot teach the hub where a voice session lives (only agents can)', async () => {
    hub = await startTempHub();
    const agent = await client(hub.agentKey);
    const { token } = hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G1 });
    const owner = await client(token);
    await owner.subscribe('promethean.p.*.t.demo.voice.audio.pcm');
    owner.send(makeEnvelope('voice.state.connected', { guild_id: G1, channel_id: C1, session_id: 's-x', ssrc_map: {}, sample_rate: 48000, channels: 1, frame_hop_ms: 20, status: 'connected' }, { src: `client:${sid(token)}`, provider: 'discord', tenant: 'demo' }));
    await owner.waitFor(() => owner.errors().length === 1);
    agent.send(pcm('s-x', 1));
    agent.send(state('s-y', G1, C1));
    agent.send(pcm('s-y', 2));
    await owner.waitFor(() => owner.envelopes().some((e) => seqOf(e) === 2));
    expect(owner.envelopes().filter((e) => e.intent === 'voice.audio.pcm').map(seqOf)).toEqual([2]);
  });
});
