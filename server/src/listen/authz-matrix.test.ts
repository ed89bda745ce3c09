/**
 * The authorization matrix below the UI: every kind of wrong credential against every way in —
 * bus subscribe, bus publish, SFU consume, HTTP routes — is refused with a typed error, and nothing
 * (no envelope, no offer) reaches the client. Counted, not assumed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope } from '@promethean/shared';
import { startServer, type Server } from '../app.ts';
import { RecordingClient } from '../hub/testing.ts';
import { until } from '../sfu/testing.ts';

const GUILD = '1100000000000000001';
const CHANNEL = '1100000000000000002';
const SESSION = `${GUILD}-${CHANNEL}`;
const SPEAKER = { user_id: '2200000000000000001', ssrc: 0x2a2b3c01, payload_type: 120 };

let server: Server;
let dir: string;
let agent: BusClient;

type Kind = 'no token' | 'expired' | 'revoked' | 'other tenant' | 'other guild' | 'other channel' | 'missing grant';
const KINDS: Kind[] = ['no token', 'expired', 'revoked', 'other tenant', 'other guild', 'other channel', 'missing grant'];

/** A credential of each kind (undefined = none). "missing grant" is a moderator of the right scope. */
async function credential(kind: Kind): Promise<string | undefined> {
  const hub = server.hub;
  switch (kind) {
    case 'no token':
      return undefined;
    case 'expired': {
      const token = randomBytes(32).toString('base64url');
      await server.store.putToken({ token_hash: createHash('sha256').update(token).digest('hex'), kind: 'session', role: 'owner', scope: [{ provider: '*', tenant: 'demo' }], expires_at: new Date(Date.now() - 1000).toISOString() });
      return token;
    }
    case 'revoked': {
      const { token } = hub.issueSessionToken({ role: 'owner', tenant: 'demo' });
      hub.revokeSession(token);
      return token;
    }
    case 'other tenant':
      return hub.issueSessionToken({ role: 'owner', tenant: 'other' }).token;
    case 'other guild':
      return hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: '1999999999999999999' }).token;
    case 'other channel':
      return hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: GUILD, channel: '1999999999999999998' }).token;
    case 'missing grant':
      return hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: GUILD, channel: CHANNEL }).token;
  }
}

const sid = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authz-'));
  server = await startServer({ dataDir: dir, port: 0, log: () => undefined });
  agent = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
  await agent.connect();
  agent.publish(makeEnvelope('voice.state.connected', { guild_id: GUILD, channel_id: CHANNEL, session_id: SESSION, ssrc_map: {}, sample_rate: 48000, channels: 1, frame_hop_ms: 20, status: 'connected' }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' }));
  agent.publish(makeEnvelope('voice.relay.streams', { session_id: SESSION, guild_id: GUILD, channel_id: CHANNEL, streams: [SPEAKER] }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' }));
  await until(() => server.streams.producers(SESSION).size === 1, 'the producer');
  // One real listen on record, so the audit checks below have this session's rows to withhold.
  const { token } = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo' });
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const offer = (await (await fetch(`${server.hub.httpUrl}/api/sfu/listen`, { method: 'POST', headers: auth, body: JSON.stringify({ session_id: SESSION, user_ids: [] }) })).json()) as { listener_id: string };
  await fetch(`${server.hub.httpUrl}/api/sfu/listeners/${offer.listener_id}`, { method: 'DELETE', headers: auth });
  const rows = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
  expect(rows.filter((r) => r.guild_id === GUILD && r.channel_id === CHANNEL).length).toBeGreaterThanOrEqual(2);
}, 60_000);

afterAll(async () => {
  agent?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each(KINDS)('%s', (kind) => {
  it('bus subscribe: refused, or (scoped to another guild/channel) receives none of this session\'s audio', async () => {
    const token = await credential(kind);
    if (kind === 'no token' || kind === 'expired' || kind === 'revoked') {
      await expect(new RecordingClient(server.hub.url, token).opened()).rejects.toThrow('HTTP 401');
      return;
    }
    const c = new RecordingClient(server.hub.url, token);
    try {
      await c.opened();
      const pattern = kind === 'other tenant' ? 'promethean.p.*.t.demo.voice.>' : 'promethean.p.*.t.demo.voice.audio.pcm';
      c.send({ op: 'subscribe', pattern, ref: 'listen' });
      if (kind === 'other tenant') {
        await c.waitFor(() => c.errors().length === 1);
        expect(c.errors()[0]).toMatchObject({ code: 'forbidden', ref_id: 'listen' });
      } else {
        await c.waitFor(() => c.received.some((m) => (m.json as { ref?: string } | undefined)?.ref === 'listen'));
      }
      const before = server.hub.metrics().out_of_scope;
      for (let seq = 0; seq < 5; seq++) {
        agent.publish(makeEnvelope('voice.audio.pcm', { session_id: SESSION, user_id: SPEAKER.user_id, ts_monotonic_ns: '1', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, rtp: { ssrc: 1, seq, timestamp: 0 }, data_b64: Buffer.alloc(1920).toString('base64') }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' }));
      }
      // The agent's audio went out; this client got none of it.
      if (kind === 'other tenant') await until(() => server.hub.metrics().published >= 5, 'the audio published');
      else if (kind === 'missing grant') await c.waitFor(() => c.envelopes().filter((e) => e.intent === 'voice.audio.pcm').length === 5); // a moderator in scope may listen
      else await until(() => server.hub.metrics().out_of_scope >= before + 5, 'the audio withheld');
      if (kind !== 'missing grant') expect(c.envelopes().filter((e) => e.intent === 'voice.audio.pcm')).toHaveLength(0);
    } finally {
      c.close();
    }
  });

  it('bus publish of a control intent: refused with a typed error, nothing delivered', async () => {
    const token = await credential(kind);
    if (kind === 'no token' || kind === 'expired' || kind === 'revoked') {
      await expect(new RecordingClient(server.hub.url, token).opened()).rejects.toThrow('HTTP 401');
      return;
    }
    const c = new RecordingClient(server.hub.url, token);
    const watcher = new RecordingClient(server.hub.url, server.hub.agentKey);
    try {
      await Promise.all([c.opened(), watcher.opened()]);
      await watcher.subscribe('promethean.p.*.t.*.voice.control.>');
      const tenant = kind === 'other tenant' ? 'other' : 'demo';
      c.send(makeEnvelope('voice.control.join', { guild_id: GUILD, channel_id: CHANNEL, prefer_opus: true, self_mute: false, self_deaf: false }, { src: `client:${sid(token!)}`, provider: 'discord', tenant: 'demo' }));
      await c.waitFor(() => c.errors().length === 1);
      expect(c.errors()[0]!.code).toBe('forbidden');
      void tenant;
      expect(watcher.envelopes()).toHaveLength(0);
    } finally {
      c.close();
      watcher.close();
    }
  });

  it('SFU consume: refused with a typed error and no offer', async () => {
    const token = await credential(kind);
    const res = await fetch(`${server.hub.httpUrl}/api/sfu/listen`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ session_id: SESSION, user_ids: [] }),
    });
    const body = (await res.json()) as { error?: { code: string }; sdp?: string };
    if (kind === 'missing grant') {
      // Listening is what a moderator's grant is for: allowed, and closed again at once.
      expect(res.status).toBe(200);
      await fetch(`${server.hub.httpUrl}/api/sfu/listeners/${(body as { listener_id: string }).listener_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      return;
    }
    expect(res.status).toBe(kind === 'no token' || kind === 'expired' || kind === 'revoked' ? 401 : 403);
    expect(body.error?.code).toMatch(/^(unauthenticated|forbidden)$/);
    expect(body.sdp).toBeUndefined();
  });

  it('HTTP routes (the audit log, minting login links): refused with a typed error', async () => {
    const token = await credential(kind);
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const audit = await fetch(`${server.hub.httpUrl}/api/audit`, { headers });
    const link = await fetch(`${server.hub.httpUrl}/api/login-link`, { method: 'POST', headers });
    const unauth = kind === 'no token' || kind === 'expired' || kind === 'revoked';
    if (kind === 'other tenant' || kind === 'other guild' || kind === 'other channel') {
      // An owner reads its own tenant's, guild's or channel's log: none of this session's rows.
      expect(audit.status).toBe(200);
      const rows = ((await audit.json()) as { rows: { tenant: string; guild_id: string | null; channel_id: string | null }[] }).rows;
      expect(rows.filter((r) => r.tenant === 'demo' && r.guild_id === GUILD && r.channel_id === CHANNEL)).toEqual([]);
    } else {
      expect(audit.status).toBe(unauth ? 401 : 403);
    }
    expect(link.status).toBe(unauth ? 401 : 403);
    expect(((await link.json()) as { error: { code: string } }).error.code).toBe(unauth ? 'unauthenticated' : 'forbidden');
  });
});
