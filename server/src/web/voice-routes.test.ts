/** Steering the bot from the console: the guild's voice channels, join / move / leave for owners only, on record. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { startServer, type Server } from '../app.ts';
import { until } from '../sfu/testing.ts';

const G1 = '1100000000000000001';
const V1 = '1200000000000000001';
const V2 = '1200000000000000002';
let server: Server;
let dir: string;
let agent: BusClient;
const controls: Envelope[] = [];

const api = (path: string, token: string | undefined, body?: unknown) =>
  fetch(`${server.hub.httpUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voice-routes-'));
  server = await startServer({ dataDir: dir, port: 0, log: () => undefined });
  agent = new BusClient({ url: server.hub.url, token: server.hub.agentKey });
  await agent.connect();
  await agent.subscribe('promethean.p.discord.t.demo.voice.control.>', (e) => void controls.push(e)).ready;
  agent.publish(makeEnvelope('voice.channels', { guild_id: G1, guild_name: 'Guild', bot_channel_id: V1, channels: [{ channel_id: V1, name: 'General', allowed: true }, { channel_id: V2, name: 'Quiet', allowed: true }] }, { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' }));
  const owner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo' }).token;
  await until(async () => (await api(`/api/voice/channels?guild_id=${G1}`, owner)).status === 200, 'the channels');
}, 60_000);

afterAll(async () => {
  agent?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('/api/voice', () => {
  it('lists the guild\'s voice channels and where the bot is; a session limited to a channel sees only it; another guild\'s session gets 403', async () => {
    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    expect(await (await api(`/api/voice/channels?guild_id=${G1}`, mod)).json()).toMatchObject({ bot_channel_id: V1, channels: [{ name: 'General' }, { name: 'Quiet' }] });
    const one = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, channel: V2 }).token;
    expect(((await (await api(`/api/voice/channels?guild_id=${G1}`, one)).json()) as { channels: unknown[] }).channels).toEqual([{ channel_id: V2, name: 'Quiet', allowed: true }]);
    const other = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: '1999999999999999999' }).token;
    expect((await api(`/api/voice/channels?guild_id=${G1}`, other)).status).toBe(403);
    expect((await api(`/api/voice/channels?guild_id=${G1}`, undefined)).status).toBe(401);
  });

  it('an owner moves the bot and makes it leave (on record, asked over the bus); a moderator may not', async () => {
    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    expect((await api('/api/voice/join', mod, { guild_id: G1, channel_id: V2 })).status).toBe(403);
    const owner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo', guild: G1 }).token;
    expect((await api('/api/voice/join', owner, { guild_id: G1, channel_id: V2 })).status).toBe(202);
    expect((await api('/api/voice/leave', owner, { guild_id: G1 })).status).toBe(202);
    expect((await api('/api/voice/join', owner, { guild_id: 'x', channel_id: V2 })).status).toBe(400);
    await until(() => controls.length === 2, 'the two control envelopes');
    expect(controls.map((e) => [e.intent, e.src, (e.payload as { channel_id?: string }).channel_id])).toEqual([
      ['voice.control.join', 'server', V2],
      ['voice.control.leave', 'server', undefined],
    ]);
    const rows = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(rows.filter((r) => r.action === 'voice.join' || r.action === 'voice.leave').map((r) => r.action)).toEqual(['voice.join', 'voice.leave']);
  });
});
