import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditListen, carriesVoice } from './app.ts';
import { RecordingClient, startTempHub, type TempHub } from './hub/testing.ts';
import { makeEnvelope } from '@promethean/shared';
import { openPgliteStore, PGLITE_MEMORY, type Store } from './store/index.ts';
import { mountConsole } from './web/console.ts';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('carriesVoice', () => {
  it.each([
    ['promethean.p.discord.t.demo.voice.audio.pcm', true],
    ['promethean.p.*.t.demo.voice.>', true],
    ['promethean.p.discord.t.demo.>', true],
    ['promethean.>', true],
    ['promethean.p.discord.t.demo.voice.health', false],
    ['promethean.p.discord.t.demo.voice.state.connected', false],
    ['promethean.p.discord.t.demo.duck.transcript.segment', false],
  ])('%s → %s', (pattern, expected) => {
    expect(carriesVoice(pattern)).toBe(expected);
  });
});

describe('listen audit', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: PGLITE_MEMORY });
    await store.migrate();
  });
  afterAll(() => store.close());

  it('a moderator subscribing to voice audio is written to the audit log before it resolves; health is not a listen', async () => {
    await auditListen(store, { role: 'moderator', tenant: 'demo', guild: '42', sid: '0123456789abcdef' }, 'promethean.p.discord.t.demo.voice.audio.pcm');
    expect(auditListen(store, { role: 'moderator', tenant: 'demo' }, 'promethean.p.discord.t.demo.voice.health')).toBeUndefined();
    const records = await store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ actor: 'session:0123456789abcdef', action: 'listen', guild_id: '42' });
    expect(records[0]!.detail).toEqual({ pattern: 'promethean.p.discord.t.demo.voice.audio.pcm', role: 'moderator' });
  });

  it('an agent listening to every tenant is recorded under promethean/system', async () => {
    await auditListen(store, { role: 'agent', tenant: null }, 'promethean.p.*.t.*.voice.audio.pcm');
    const records = await store.listAudit({ provider: 'promethean', tenant: 'system' });
    expect(records.map((r) => r.actor)).toEqual(['agent']);
  });

  it('a hub whose audit write fails refuses the voice subscription (unavailable) and delivers nothing', async () => {
    const failing = { appendAudit: () => Promise.reject(new Error('disk full')) } as unknown as Store;
    const hub = await startTempHub({ beforeSubscribe: (p, pattern) => auditListen(failing, p, pattern) });
    try {
      const { token } = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' });
      const c = new RecordingClient(hub.url, token);
      await c.opened();
      c.send({ op: 'subscribe', pattern: 'promethean.p.discord.t.demo.voice.audio.pcm', ref: 'listen' });
      await c.waitFor(() => c.errors().length === 1);
      expect(c.errors()[0]).toMatchObject({ code: 'unavailable', ref_id: 'listen' });
      await c.subscribe('promethean.p.discord.t.demo.health'); // not a listen: no record needed
      const agent = new RecordingClient(hub.url, hub.agentKey);
      await agent.opened();
      agent.send(makeEnvelope('health', { agent_id: 'x', kind: 'worker', state: 'RUNNING', uptime_s: 1, queue_depth: 0, cpu_pct: 0, rss_mb: 1, heap_mb: 1, latency_ms: {}, counters: {} }, { src: 'x', provider: 'discord', tenant: 'demo' }));
      await c.waitFor(() => c.envelopes().some((e) => e.intent === 'health'));
      expect(c.envelopes().filter((e) => e.intent !== 'error' && e.intent !== 'health')).toEqual([]);
      c.close();
      agent.close();
    } finally {
      await hub.dispose();
    }
  });
});

describe('console serving', () => {
  let hub: TempHub;
  let dist: string;
  beforeAll(async () => {
    dist = await mkdtemp(join(tmpdir(), 'console-dist-'));
    await mkdir(join(dist, 'assets'));
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>console</title><script type="module" src="/assets/app-abc.js"></script>');
    await writeFile(join(dist, 'assets', 'app-abc.js'), 'console.log(1)');
    hub = await startTempHub({ mount: (app) => mountConsole(app, dist) });
  });
  afterAll(async () => {
    await hub.dispose();
    await rm(dist, { recursive: true, force: true });
  });

  it('GET / and /login serve the built index.html with a strict CSP; assets are cached immutably', async () => {
    for (const path of ['/', '/login']) {
      const page = await fetch(`${hub.httpUrl}${path}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>console</title>');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(page.headers.get('cache-control')).toBe('no-store');
    }
    const asset = await fetch(`${hub.httpUrl}/assets/app-abc.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${hub.httpUrl}/assets/../index.html`)).status).not.toBe(500);
    expect((await fetch(`${hub.httpUrl}/assets/nope.js`)).status).toBe(404);
  });

  it('says how to build the console when the build is missing', async () => {
    const empty = await startTempHub({ mount: (app) => mountConsole(app, join(dist, 'missing')) });
    try {
      const page = await fetch(`${empty.httpUrl}/`);
      expect(page.status).toBe(503);
      expect(await page.text()).toContain('npm run build:web');
    } finally {
      await empty.dispose();
    }
  });
});
