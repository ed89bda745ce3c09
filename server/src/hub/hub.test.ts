import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, makeEnvelope } from '@promethean/shared';
import { RecordingClient, startTempHub, type TempHub } from './testing.ts';
import { readRuntimeFile } from './runtime-file.ts';

let hub: TempHub | undefined;
const clients: RecordingClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

async function client(token?: string): Promise<RecordingClient> {
  const c = new RecordingClient(hub!.url, token ?? hub!.agentKey);
  clients.push(c);
  await c.opened();
  return c;
}

const env = (provider: string, tenant: string, intent: string, payload: unknown = { n: 1 }) =>
  makeEnvelope(intent, payload as never, { src: 'test', provider, tenant });

describe('hub HTTP', () => {
  it('GET /healthz answers 200 without a token', async () => {
    hub = await startTempHub();
    const res = await fetch(`${hub.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
  });

  it('GET /metrics needs a token and returns counters', async () => {
    hub = await startTempHub();
    expect((await fetch(`${hub.httpUrl}/metrics`)).status).toBe(401);
    const res = await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.agentKey}` } });
    expect(res.status).toBe(200);
    const m = (await res.json()) as { published: number; rss_bytes: number };
    expect(m.published).toBe(0);
    expect(m.rss_bytes).toBeGreaterThan(1_000_000);
  });

  it('mount adds routes that can use the hub token check', async () => {
    hub = await startTempHub({
      mount(app, ctx) {
        app.get('/api/whoami', (c) => {
          const p = ctx.authenticate(c.req.header('authorization')?.replace(/^Bearer /, ''));
          return p ? c.json(p) : c.json({ error: 'unauthenticated' }, 401);
        });
      },
    });
    expect((await fetch(`${hub.httpUrl}/api/whoami`)).status).toBe(401);
    const res = await fetch(`${hub.httpUrl}/api/whoami`, { headers: { authorization: `Bearer ${hub.agentKey}` } });
    expect(await res.json()).toEqual({ role: 'agent', tenant: null });
  });

  it('writes agent.key and runtime.json with mode 0600, and removes runtime.json on close()', async () => {
    hub = await startTempHub();
    const key = await stat(join(hub.dataDir, 'agent.key'));
    expect(key.mode & 0o777).toBe(0o600);
    const rt = await stat(join(hub.dataDir, 'runtime.json'));
    expect(rt.mode & 0o777).toBe(0o600);
    const info = await readRuntimeFile(hub.dataDir);
    expect(info).toMatchObject({ hub_url: hub.url, key_file: hub.agentKeyFile, pid: process.pid });
    expect(hub.agentKey).toMatch(/^[0-9a-f]{64}$/);
    await hub.close();
    await hub.close(); // idempotent
    await expect(readRuntimeFile(hub.dataDir)).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('keeps the agent key across restarts of the same data directory', async () => {
    hub = await startTempHub();
    const first = hub.agentKey;
    await hub.close();
    const again = await startTempHub({ dataDir: hub.dataDir });
    try {
      expect(again.agentKey).toBe(first);
    } finally {
      await again.close();
    }
  });
});

describe('hub auth', () => {
  it('refuses a WebSocket upgrade without a valid token with 401', async () => {
    hub = await startTempHub();
    await expect(new RecordingClient(hub.url).opened()).rejects.toThrow('HTTP 401');
    await expect(new RecordingClient(hub.url, 'x'.repeat(43)).opened()).rejects.toThrow('HTTP 401');
    await expect(new RecordingClient(hub.url, undefined, { authorization: 'Bearer nope' }).opened()).rejects.toThrow('HTTP 401');
    expect(hub.metrics().unauthenticated).toBe(3);
  });

  it('accepts the agent key as Authorization: Bearer', async () => {
    hub = await startTempHub();
    const c = new RecordingClient(hub.url, undefined, { authorization: `Bearer ${hub.agentKey}` });
    clients.push(c);
    await c.opened();
  });

  it('POST /api/session exchanges a one-time login token for an HttpOnly SameSite=Strict cookie (no token in the body); a second use gets 401', async () => {
    hub = await startTempHub();
    const login = hub.issueLoginToken({ tenant: 'demo' });
    const res = await fetch(`${hub.httpUrl}/api/session`, { method: 'POST', body: JSON.stringify({ token: login.token }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ role: 'owner', tenant: 'demo' });
    expect(JSON.stringify(body)).not.toMatch(/[A-Za-z0-9_-]{43}/);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^promethean_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure'); // plain http on loopback
    const cookie = setCookie.split(';')[0]!;
    const again = await fetch(`${hub.httpUrl}/api/session`, { method: 'POST', headers: { authorization: `Bearer ${login.token}` } });
    expect(again.status).toBe(401);
    // The login token itself is not a session token.
    await expect(new RecordingClient(hub.url, login.token).opened()).rejects.toThrow('HTTP 401');
    // The cookie opens /api/me and the bus, from the hub's own origin only.
    const me = await fetch(`${hub.httpUrl}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ role: 'owner', tenant: 'demo' });
    const c = new RecordingClient(hub.url, undefined, { cookie, origin: hub.httpUrl });
    clients.push(c);
    await c.opened();
    await c.subscribe('promethean.p.*.t.demo.>');
    await expect(new RecordingClient(hub.url, undefined, { cookie, origin: 'http://evil.example' }).opened()).rejects.toThrow('HTTP 401');
    expect((await fetch(`${hub.httpUrl}/api/me`, { headers: { cookie, origin: 'http://evil.example' } })).status).toBe(401);
    // Logging out revokes the session.
    expect((await fetch(`${hub.httpUrl}/api/logout`, { method: 'POST', headers: { cookie } })).status).toBe(204);
    expect((await fetch(`${hub.httpUrl}/api/me`, { headers: { cookie } })).status).toBe(401);
  });

  it('POST /api/session answers 401 for an unknown token and 413 for a huge body', async () => {
    hub = await startTempHub();
    const unknown = await fetch(`${hub.httpUrl}/api/session`, { method: 'POST', body: JSON.stringify({ token: 'A'.repeat(43) }) });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    expect((await fetch(`${hub.httpUrl}/api/session`, { method: 'POST', body: 'not json' })).status).toBe(401);
    const huge = await fetch(`${hub.httpUrl}/api/session`, { method: 'POST', body: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
  });

  it('a session token gets forbidden for another tenant, on subscribe and on publish', async () => {
    hub = await startTempHub();
    const { token } = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
    const c = await client(token);
    c.send({ op: 'subscribe', pattern: 'promethean.p.*.t.other.>', ref: 'a' });
    c.send({ op: 'subscribe', pattern: 'promethean.>', ref: 'b' });
    c.send({ op: 'subscribe', pattern: 'promethean.p.discord.t.*.health', ref: 'c' });
    const foreign = env('discord', 'other', 'health.ping');
    c.send(foreign);
    await c.waitFor(() => c.errors().length === 4);
    expect(c.errors().map((e) => [e.code, e.ref_id])).toEqual([
      ['forbidden', 'a'],
      ['forbidden', 'b'],
      ['forbidden', 'c'],
      ['forbidden', foreign.id],
    ]);
    expect(hub.metrics().errors.forbidden).toBe(4);
    expect(hub.metrics().published).toBe(0);
  });

  it('a revoked session token can no longer connect', async () => {
    hub = await startTempHub();
    const { token } = hub.issueSessionToken({ role: 'owner', tenant: 'demo' });
    await client(token);
    expect(hub.revokeSession(token)).toBe(true);
    await expect(new RecordingClient(hub.url, token).opened()).rejects.toThrow('HTTP 401');
  });
});

describe('hub routing', () => {
  it('routes by NATS wildcards: * is one token, > one or more trailing tokens', async () => {
    hub = await startTempHub();
    const a = await client();
    const b = await client();
    const c = await client();
    await a.subscribe('promethean.p.*.t.demo.voice.>');
    await b.subscribe('promethean.p.discord.t.demo.*');
    await c.subscribe('promethean.p.discord.t.*.voice.audio.pcm');
    const pub = await client();
    const sent = [
      env('discord', 'demo', 'voice.control.x'), // a
      env('slack', 'demo', 'voice.a.b.c'), // a
      env('discord', 'demo', 'status'), // b
      env('discord', 'demo', 'voice'), // b (and not a: > needs one more token)
      env('discord', 'other', 'voice.audio.pcm', {
        session_id: 's', user_id: 'u', ts_monotonic_ns: '1', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' },
        rtp: { ssrc: 1, seq: 1, timestamp: 960 }, data_b64: 'AAAA',
      }), // c
      env('discord', 'other', 'voice.audio.rtp.x'), // nobody
    ];
    for (const e of sent) pub.send(e);
    await a.waitFor(() => a.envelopes().length === 2);
    await b.waitFor(() => b.envelopes().length === 2);
    await c.waitFor(() => c.envelopes().length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.envelopes().map((e) => e.id)).toEqual([sent[0]!.id, sent[1]!.id]);
    expect(b.envelopes().map((e) => e.id)).toEqual([sent[2]!.id, sent[3]!.id]);
    expect(c.envelopes().map((e) => e.id)).toEqual([sent[4]!.id]);
    expect(pub.received).toHaveLength(0); // no error replies
    expect(hub.metrics().published).toBe(6);
    expect(hub.metrics().delivered).toBe(5 + 3); // 5 deliveries + 3 acks
  });

  it('delivers once per connection even when several of its patterns match, and stops after unsubscribe', async () => {
    hub = await startTempHub();
    const a = await client();
    await a.subscribe('promethean.>');
    await a.subscribe('promethean.p.x.t.y.>');
    const e1 = env('x', 'y', 'one');
    a.send(e1);
    await a.waitFor(() => a.envelopes().length === 1);
    a.send({ op: 'unsubscribe', pattern: 'promethean.>', ref: 'u1' });
    a.send({ op: 'unsubscribe', pattern: 'promethean.p.x.t.y.>', ref: 'u2' });
    await a.waitFor(() => a.received.some((m) => (m.json as { ref?: string })?.ref === 'u2'));
    a.send(env('x', 'y', 'two'));
    await new Promise((r) => setTimeout(r, 100));
    expect(a.envelopes().map((e) => e.id)).toEqual([e1.id]);
  });

  it('forwards text as the same text bytes and binary frames as the same binary bytes', async () => {
    hub = await startTempHub();
    const sub = await client();
    await sub.subscribe('promethean.p.discord.t.demo.>');
    const pub = await client();
    const text = JSON.stringify(env('discord', 'demo', 'note'));
    const pcm = new Uint8Array(1920).map((_, i) => i & 0xff);
    const frame = encodeFrame(
      env('discord', 'demo', 'voice.audio.pcm', {
        session_id: 's', user_id: 'u', ts_monotonic_ns: '123', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' },
        rtp: { ssrc: 1, seq: 2, timestamp: 960 }, attachment: 0,
      }),
      [pcm],
    );
    pub.send(text);
    pub.send(frame);
    await sub.waitFor(() => sub.received.length === 3);
    expect(sub.received[1]!.binary).toBe(false);
    expect(sub.received[1]!.data.toString('utf8')).toBe(text);
    expect(sub.received[2]!.binary).toBe(true);
    expect(Buffer.compare(sub.received[2]!.data, Buffer.from(frame))).toBe(0);
  });
});

describe('tokens stay out of URLs', () => {
  it('a valid agent key in ?token= is refused (401): keys go in the Authorization header only', async () => {
    hub = await startTempHub();
    await expect(new RecordingClient(`${hub.url}?token=${hub.agentKey}`).opened()).rejects.toThrow('HTTP 401');
    const res = await fetch(`${hub.httpUrl}/metrics?token=${hub.agentKey}`);
    expect(res.status).toBe(401);
    const ok = await client(hub.agentKey);
    await ok.subscribe('promethean.p.*.t.demo.>');
  });
});
