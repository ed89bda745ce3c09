/** Invitations and sessions: a named moderator's link, owners listing and revoking sessions (sockets and listeners closed at once). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope } from '@promethean/shared';
import { startServer, type Server } from '../app.ts';
import { RecordingClient } from '../hub/testing.ts';
import { until } from '../sfu/testing.ts';

const G1 = '1100000000000000001';
const G2 = '1100000000000000002';
const C1 = '1200000000000000001';
const SESSION = `${G1}-${C1}`;

let server: Server;
let dir: string;
let agent: BusClient;

const api = (path: string, init: { method?: string; token?: string; cookie?: string; body?: unknown } = {}) =>
  fetch(`${server.hub.httpUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });

/** Opens an invitation link as a browser would: the fragment's token for a cookie. */
async function signIn(link: string): Promise<string> {
  const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token')!;
  const res = await api('/api/session', { method: 'POST', token });
  expect(res.status).toBe(200);
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sessions-'));
  server = await startServer({ dataDir: dir, port: 0, log: () => undefined });
  agent = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
  await agent.connect();
  agent.publish(makeEnvelope('voice.relay.streams', { session_id: SESSION, guild_id: G1, channel_id: C1, streams: [{ user_id: '2200000000000000001', ssrc: 0x3a3b3c01, payload_type: 120 }] }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' }));
  await until(() => server.streams.producers(SESSION).size === 1, 'the producer');
}, 60_000);

afterAll(async () => {
  agent?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('invitations', () => {
  it('the operator invites a named moderator for a guild and channel; the link becomes a session with that name, scope and lifetime; it is on record', async () => {
    const res = await api('/api/invitations', { method: 'POST', token: server.hub.agentKey, body: { name: 'Ana (night shift)', guild_id: G1, channel_id: C1, ttl_s: 3600 } });
    expect(res.status).toBe(200);
    const { link } = (await res.json()) as { link: string };
    expect(link).toMatch(/\/login#token=[A-Za-z0-9_-]{43}$/);
    const cookie = await signIn(link);
    const me = (await (await api('/api/me', { cookie })).json()) as { role: string; name: string; guilds: string[]; channels: string[] };
    expect(me).toMatchObject({ role: 'moderator', name: 'Ana (night shift)', guilds: [G1], channels: [C1] });
    const sessions = (await (await api('/api/sessions', { token: server.hub.agentKey })).json()) as { sessions: { name: string | null; expires_at: string }[] };
    const ana = sessions.sessions.find((s) => s.name === 'Ana (night shift)')!;
    const lifetime = Date.parse(ana.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    const rows = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(rows.filter((r) => r.action === 'invite' && JSON.stringify(r.detail).includes('Ana (night shift)'))).toHaveLength(1);
  });

  it('a moderator may not invite; an owner limited to one guild may not invite for another', async () => {
    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    expect((await api('/api/invitations', { method: 'POST', token: mod, body: { name: 'x', guild_id: G1 } })).status).toBe(403);
    const owner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G1 }).token;
    expect((await api('/api/invitations', { method: 'POST', token: owner, body: { name: 'x', guild_id: G2 } })).status).toBe(403);
    expect((await api('/api/invitations', { method: 'POST', token: owner, body: { name: 'x', guild_id: G1 } })).status).toBe(200);
    expect((await api('/api/invitations', { method: 'POST', token: owner, body: { name: '', guild_id: G1 } })).status).toBe(400);
  });
});

describe('revoking a session', () => {
  it('closes its sockets and its listeners at once, refuses it from then on, and is on record', async () => {
    const { link } = (await (await api('/api/invitations', { method: 'POST', token: server.hub.agentKey, body: { name: 'Bo', guild_id: G1 } })).json()) as { link: string };
    const cookie = await signIn(link);
    const socket = new RecordingClient(server.hub.url, undefined, { cookie, origin: server.hub.httpUrl });
    await socket.opened();
    const listen = await api('/api/sfu/listen', { method: 'POST', cookie, body: { session_id: SESSION, user_ids: [] } });
    expect(listen.status).toBe(200);
    expect(server.listen.count(SESSION)).toBe(1);

    const owner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo' }).token;
    const list = (await (await api('/api/sessions', { token: owner })).json()) as { sessions: { sid: string; name: string | null }[] };
    const bo = list.sessions.find((s) => s.name === 'Bo')!;
    const res = await api(`/api/sessions/${bo.sid}`, { method: 'DELETE', token: owner });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ revoked: bo.sid, sockets: 1, listeners: 1 });
    await socket.waitFor(() => socket.closeCode !== undefined);
    expect(socket.closeCode).toBe(4001);
    expect(server.listen.count(SESSION)).toBe(0);
    expect((await api('/api/me', { cookie })).status).toBe(401);
    const after = (await (await api('/api/sessions', { token: owner })).json()) as { sessions: { sid: string }[] };
    expect(after.sessions.map((s) => s.sid)).not.toContain(bo.sid);
    const rows = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(rows.filter((r) => r.action === 'session.revoke' && JSON.stringify(r.detail).includes(bo.sid))).toHaveLength(1);
    expect((await api(`/api/sessions/${bo.sid}`, { method: 'DELETE', token: owner })).status).toBe(404);
  });
});
