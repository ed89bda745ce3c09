/**
 * The console's bot actions on the bus: the kill switch (`voice.play.stop`) for owners and moderators
 * within their scope, "say this" (`duck.reply.message` held to ConsoleSayLine) for owners only, and
 * both on record (`beforePublish`) before the hub delivers them.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEnvelope, type Envelope } from '@promethean/shared';
import { grantsOf, publishRefusal, type EnvelopeScope, type Principal } from './auth.ts';
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
const route = { provider: 'discord', tenant: 'demo' };
const state = (session: string, guild: string, channel: string) =>
  makeEnvelope('voice.state.connected', { guild_id: guild, channel_id: channel, session_id: session, ssrc_map: {}, sample_rate: 48000, channels: 1, frame_hop_ms: 20, status: 'connected' }, { src: 'discord-voice-access', ...route });
const stop = (session: string, src: string) => makeEnvelope('voice.play.stop', { session_id: session, reason: 'silenced' }, { src, ...route });
const say = (session: string, src: string, text: string, segment = 'say:abcdefgh1234') =>
  makeEnvelope('duck.reply.message', { session_id: session, segment_id: segment, text, latency_ms: 0, speak: true }, { src, ...route });

describe('publishRefusal: the bot-action grants', () => {
  const where: Record<string, EnvelopeScope> = { s1: { guild: G1, channel: C1 }, s2: { guild: G2, channel: C2 } };
  const lookup = (id: string) => where[id];
  const moderator: Principal = { role: 'moderator', tenant: 'demo', guild: G1, channel: C1, sid: 'aaaaaaaaaaaaaaaa' };
  const owner: Principal = { role: 'owner', tenant: 'demo', guild: G1, sid: 'bbbbbbbbbbbbbbbb' };
  const tenantOwner: Principal = { role: 'owner', tenant: 'demo', sid: 'cccccccccccccccc' };
  const src = (p: Principal) => `client:${p.sid}`;

  it('grants: owners control, silence and speak; moderators silence only', () => {
    expect(grantsOf(owner)).toEqual(['owner', 'control', 'silence', 'speak']);
    expect(grantsOf(moderator)).toEqual(['moderator', 'silence']);
  });

  it('a moderator may silence a voice session inside its channel, not one elsewhere, not an unknown one', () => {
    expect(publishRefusal(moderator, stop('s1', src(moderator)), lookup)).toBeUndefined();
    expect(publishRefusal(moderator, stop('s2', src(moderator)), lookup)).toEqual({ code: 'forbidden', message: `voice session s2 is outside this session's scope (channel ${C1})` });
    expect(publishRefusal(moderator, stop('s9', src(moderator)), lookup)?.message).toBe('voice session s9 is not known to be inside this session\'s scope');
    expect(publishRefusal(moderator, stop('s1', src(moderator)))?.code).toBe('forbidden');
  });

  it('a moderator may not make the bot say anything; an owner may, within its guild', () => {
    expect(publishRefusal(moderator, say('s1', src(moderator), 'hello'), lookup)).toEqual({ code: 'forbidden', message: 'a moderator may not publish duck.reply.message' });
    expect(publishRefusal(owner, say('s1', src(owner), 'hello'), lookup)).toBeUndefined();
    expect(publishRefusal(owner, say('s2', src(owner), 'hello'), lookup)?.message).toBe(`voice session s2 is outside this session's scope (guild ${G1})`);
    // A tenant-wide owner is not confined to a guild: an unknown session is no one's business but its own.
    expect(publishRefusal(tenantOwner, say('s9', src(tenantOwner), 'hello'), lookup)).toBeUndefined();
  });

  it('"say this" is held to one line of at most 300 characters in a say: segment, spoken', () => {
    const bad = (env: Envelope) => publishRefusal(owner, env, lookup);
    expect(bad(say('s1', src(owner), 'x'.repeat(301)))).toMatchObject({ code: 'schema', path: 'payload.text' });
    expect(bad(say('s1', src(owner), 'x'.repeat(300)))).toBeUndefined();
    expect(bad(say('s1', src(owner), 'two\nlines'))).toMatchObject({ code: 'schema', path: 'payload.text' });
    expect(bad(say('s1', src(owner), '   '))).toMatchObject({ code: 'schema', path: 'payload.text' });
    expect(bad(say('s1', src(owner), 'hello', 'seg-7'))).toMatchObject({ code: 'schema', path: 'payload.segment_id' });
    const silent = makeEnvelope('duck.reply.message', { session_id: 's1', segment_id: 'say:abcdefgh1234', text: 'hi', latency_ms: 0, speak: false }, { src: src(owner), ...route });
    expect(bad(silent)).toMatchObject({ code: 'schema', path: 'payload.speak' });
  });

  it('src, tenant and the other intents stay as they were', () => {
    expect(publishRefusal(owner, stop('s1', 'mixer'), lookup)?.message).toBe(`src must be "${src(owner)}" for this session`);
    const elsewhere = makeEnvelope('voice.play.stop', { session_id: 's1' }, { src: src(owner), provider: 'discord', tenant: 'other' });
    expect(publishRefusal(owner, elsewhere, lookup)?.message).toBe('this session may not publish to tenant "other"');
    const opus = makeEnvelope('voice.play.opus', { session_id: 's1', data_b64: 'AAAA' } as never, { src: src(owner), ...route });
    expect(publishRefusal(owner, opus, lookup)?.message).toBe('a owner may not publish voice.play.opus');
  });
});

describe('bot actions through the hub', () => {
  it('a moderator\'s kill switch is recorded with the voice session\'s guild and channel, then delivered; outside its scope it is refused and never recorded', async () => {
    const recorded: { principal: Principal; id: string; scope: EnvelopeScope | undefined }[] = [];
    hub = await startTempHub({
      beforePublish: async (principal, env, scope) => {
        recorded.push({ principal, id: env.id, scope });
      },
    });
    const agent = await client(hub.agentKey);
    await agent.subscribe('promethean.p.discord.t.demo.voice.>');
    agent.send(state('s1', G1, C1));
    agent.send(state('s2', G2, C2));
    // Delivered back to the agent only after the hub placed both sessions.
    await agent.waitFor(() => agent.envelopes().length === 2);
    const stops = () => agent.envelopes().filter((e) => e.intent === 'voice.play.stop');
    const { token } = hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, channel: C1 });
    const mod = await client(token);
    const src = `client:${sid(token)}`;
    const first = stop('s1', src);
    const outside = stop('s2', src);
    mod.send(outside);
    await mod.waitFor(() => mod.errors().length === 1);
    expect(mod.errors()[0]).toMatchObject({ code: 'forbidden', ref_id: outside.id });
    mod.send(first);
    await agent.waitFor(() => stops().length === 1);
    expect(stops()[0]!.id).toBe(first.id);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ id: first.id, scope: { guild: G1, channel: C1 }, principal: { role: 'moderator', sid: sid(token) } });
  });

  it('an owner\'s "say this" is delivered only once recorded; when the record fails it is refused with unavailable and not delivered', async () => {
    let fail = false;
    const recorded: string[] = [];
    hub = await startTempHub({
      beforePublish: async (_principal, env) => {
        if (fail) throw new Error('the store is down');
        recorded.push(env.id);
      },
    });
    const tts = await client(hub.agentKey);
    await tts.subscribe('promethean.p.discord.t.demo.duck.reply.message');
    const bridge = await client(hub.agentKey);
    await bridge.subscribe('promethean.p.discord.t.demo.voice.state.connected');
    bridge.send(state('s1', G1, C1));
    await bridge.waitFor(() => bridge.envelopes().length === 1);
    const { token } = hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G1 });
    const owner = await client(token);
    const src = `client:${sid(token)}`;
    fail = true;
    const lost = say('s1', src, 'this one is not on record');
    owner.send(lost);
    await owner.waitFor(() => owner.errors().length === 1);
    expect(owner.errors()[0]).toMatchObject({ code: 'unavailable', ref_id: lost.id });
    fail = false;
    const spoken = say('s1', src, 'Please keep it civil, everyone.', 'say:second12345');
    owner.send(spoken);
    await tts.waitFor(() => tts.envelopes().length === 1);
    expect(tts.envelopes()[0]).toMatchObject({ id: spoken.id, src, payload: { text: 'Please keep it civil, everyone.', speak: true } });
    expect(recorded).toEqual([spoken.id]);
    // A too-long line is a schema error naming the field, counted by the hub.
    const long = say('s1', src, 'y'.repeat(301), 'say:third123456');
    owner.send(long);
    await owner.waitFor(() => owner.errors().length === 2);
    expect(owner.errors()[1]).toMatchObject({ code: 'schema', ref_id: long.id });
    expect(hub.metrics().errors.schema).toBe(1);
    expect(tts.envelopes()).toHaveLength(1);
  });

  it('an agent\'s own voice.play.stop is not a console action: never held for the audit hook', async () => {
    let calls = 0;
    hub = await startTempHub({ beforePublish: async () => void calls++ });
    const mixer = await client(hub.agentKey);
    await mixer.subscribe('promethean.p.discord.t.demo.voice.play.stop');
    const agent = await client(hub.agentKey);
    const env = stop('s1', 'cephalon-voice');
    agent.send(env);
    await mixer.waitFor(() => mixer.envelopes().length === 1);
    expect(calls).toBe(0);
  });
});
