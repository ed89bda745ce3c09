/**
 * Listening below the UI: the server in this process (hub, store, werift SFU), a relay announcement
 * and plain RTP as the bridge sends them, and a Node WebRTC peer consuming like a browser.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope } from '@promethean/shared';
import { startServer, type Server } from '../app.ts';
import { RtpTestSender, until } from '../sfu/testing.ts';
import { createWeriftReceiver } from '../sfu/werift/werift-receiver.ts';
import { ListenService } from './service.ts';
import { RelayStreams } from './streams.ts';

const GUILD = '1100000000000000001';
const CHANNEL = '1100000000000000002';
const SESSION = `${GUILD}-${CHANNEL}`;
const ALICE = { user_id: '2200000000000000001', ssrc: 0x1a2b3c01, payload_type: 120 };
const BOB = { user_id: '2200000000000000002', ssrc: 0x1a2b3c02, payload_type: 120 };

let server: Server;
let dir: string;
let agent: BusClient;

async function post(path: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${server.hub.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

function announce(streams: (typeof ALICE)[]): void {
  agent.publish(makeEnvelope('voice.relay.streams', { session_id: SESSION, guild_id: GUILD, channel_id: CHANNEL, streams }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' }));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'listen-'));
  server = await startServer({ dataDir: dir, port: 0, log: () => undefined });
  agent = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
  await agent.connect();
  announce([ALICE, BOB]);
  await until(() => server.streams.producers(SESSION).size === 2, 'the announced producers');
}, 60_000);

afterAll(async () => {
  agent?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

type Case = [what: string, token: () => string | undefined, status: 401 | 403];

describe('POST /api/sfu/listen: who may consume', () => {
  it.each<Case>([
    ['no token', () => undefined, 401],
    ['an unknown token', () => randomBytes(32).toString('base64url'), 401],
    ['a revoked session', (): string => {
      const { token } = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
      server.hub.revokeSession(token);
      return token;
    }, 401],
    ['another tenant', () => server.hub.issueSessionToken({ role: 'owner', tenant: 'other' }).token, 403],
    ['another guild', () => server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: '1999999999999999999' }).token, 403],
    ['another channel', () => server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: GUILD, channel: '1999999999999999998' }).token, 403],
  ])('%s is refused with a typed error and no offer', async (_what, token, status) => {
    const res = await post('/api/sfu/listen', { session_id: SESSION, user_ids: [] }, token());
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error?: { code: string }; sdp?: string };
    expect(body.error?.code).toBe(status === 401 ? 'unauthenticated' : 'forbidden');
    expect(body.sdp).toBeUndefined();
    expect(server.listen.count(SESSION)).toBe(0);
  });

  it('an expired session (in the store, past its expiry) is refused with 401', async () => {
    const token = randomBytes(32).toString('base64url');
    await server.store.putToken({
      token_hash: createHash('sha256').update(token).digest('hex'),
      kind: 'session',
      role: 'owner',
      scope: [{ provider: '*', tenant: 'demo' }],
      expires_at: new Date(Date.now() - 1000).toISOString(),
    });
    expect((await post('/api/sfu/listen', { session_id: SESSION, user_ids: [] }, token)).status).toBe(401);
  });

  it('bad bodies get 400 schema errors, an unknown session 404', async () => {
    const { token } = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
    expect((await post('/api/sfu/listen', { session_id: 'a b' }, token)).status).toBe(400);
    expect((await post('/api/sfu/listen', { nope: 1 }, token)).status).toBe(400);
    const unknown = await post('/api/sfu/listen', { session_id: 'no-such-session', user_ids: [] }, token);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('a moderator scoped to the guild consumes each speaker on its own track', () => {
  it('gets byte-identical Opus payloads per speaker, and the listen is audited at start and stop', async () => {
    const { token } = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: GUILD });
    const res = await post('/api/sfu/listen', { session_id: SESSION, user_ids: [] }, token);
    expect(res.status).toBe(200);
    const offer = (await res.json()) as { listener_id: string; kind: 'sdp'; sdp: string; tracks: { mid: string; user_id: string }[] };
    expect(offer.tracks.map((t) => t.user_id).sort()).toEqual([ALICE.user_id, BOB.user_id]);
    const starts = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(starts.filter((r) => r.action === 'listen.start' && JSON.stringify(r.detail).includes(offer.listener_id))).toHaveLength(1);

    const receiver = await createWeriftReceiver();
    const sender = await RtpTestSender.open(server.sfu.ingest);
    try {
      const answer = await receiver.accept({ kind: 'sdp', sdp: offer.sdp, tracks: [], skipped: [] });
      expect((await post(`/api/sfu/listeners/${offer.listener_id}/answer`, { sdp: answer.sdp }, token)).status).toBe(204);
      // Another session may not touch this listener: it does not exist for them.
      const other = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
      expect((await post(`/api/sfu/listeners/${offer.listener_id}/producers`, { user_ids: [] }, other)).status).toBe(404);
      await until(() => receiver.connectionState === 'connected', 'the peer connection', 20_000);
      const midOf = (u: string) => offer.tracks.find((t) => t.user_id === u)!.mid;
      const sentA = await sender.stream(ALICE.ssrc, 50, { gapMs: 2 });
      const sentB = await sender.stream(BOB.ssrc, 50, { gapMs: 2 });
      await until(() => receiver.received(midOf(ALICE.user_id)).length >= 50 && receiver.received(midOf(BOB.user_id)).length >= 50, 'every packet', 20_000);
      const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
      expect(receiver.received(midOf(ALICE.user_id)).slice(-50).map((p) => hex(p.payload))).toEqual(sentA.map((p) => hex(p.payload)));
      expect(receiver.received(midOf(BOB.user_id)).slice(-50).map((p) => hex(p.payload))).toEqual(sentB.map((p) => hex(p.payload)));

      const del = await fetch(`${server.hub.httpUrl}/api/sfu/listeners/${offer.listener_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      expect(del.status).toBe(204);
      const rows = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
      expect(rows.filter((r) => r.action === 'listen.stop' && JSON.stringify(r.detail).includes(offer.listener_id))).toHaveLength(1);
      expect(server.listen.count(SESSION)).toBe(0);
    } finally {
      sender.close();
      await receiver.close();
    }
  }, 60_000);

  it('publishes voice.listeners with the count when listeners come and go', async () => {
    const counts: number[] = [];
    const sub = agent.subscribe('promethean.p.discord.t.demo.voice.listeners', (e) => counts.push((e.payload as { count: number }).count));
    await sub.ready;
    const { token } = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo' });
    const offer = (await (await post('/api/sfu/listen', { session_id: SESSION, user_ids: [ALICE.user_id] }, token)).json()) as { listener_id: string; tracks: unknown[] };
    expect(offer.tracks).toHaveLength(1);
    await fetch(`${server.hub.httpUrl}/api/sfu/listeners/${offer.listener_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    await until(() => counts.length >= 2, 'two voice.listeners envelopes');
    expect(counts.slice(-2)).toEqual([1, 0]);
    sub();
  });
});

describe('ListenService', () => {
  it('refuses a listen whose audit record cannot be written, and keeps no listener', async () => {
    const streams = new RelayStreams(server.sfu);
    try {
      await streams.apply({ provider: 'discord', tenant: 'demo', session_id: 'audit-fails', guild_id: GUILD, channel_id: CHANNEL, streams: [{ user_id: 'u1', ssrc: 0x55aa0001, payload_type: 120 }] });
      const announced: number[] = [];
      const service = new ListenService(streams, { appendAudit: () => Promise.reject(new Error('disk full')) }, (_info, n) => announced.push(n));
      await expect(service.listen({ role: 'owner', tenant: 'demo' }, 'audit-fails', [])).rejects.toMatchObject({ code: 'unavailable' });
      expect(service.count('audit-fails')).toBe(0);
      expect(announced).toEqual([]);
      expect(streams.router('audit-fails')!.listeners()).toHaveLength(0);
    } finally {
      streams.close();
    }
  });
});
