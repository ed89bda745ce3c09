import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditListen, carriesVoice } from './app.ts';
import { startTempHub, type TempHub } from './hub/testing.ts';
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

  it('a moderator subscribing to voice audio is written to the audit log; health is not', async () => {
    const logs: string[] = [];
    auditListen(store, { role: 'moderator', tenant: 'demo', guild: '42' }, 'promethean.p.discord.t.demo.voice.audio.pcm', (l) => logs.push(l));
    auditListen(store, { role: 'moderator', tenant: 'demo' }, 'promethean.p.discord.t.demo.voice.health', (l) => logs.push(l));
    await new Promise((r) => setTimeout(r, 200));
    const records = await store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(logs).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ actor: 'moderator', action: 'listen', guild_id: '42' });
    expect(records[0]!.detail).toEqual({ pattern: 'promethean.p.discord.t.demo.voice.audio.pcm' });
  });

  it('an agent listening to every tenant is recorded under promethean/system', async () => {
    const logs: string[] = [];
    auditListen(store, { role: 'agent', tenant: null }, 'promethean.p.*.t.*.voice.audio.pcm', (l) => logs.push(l));
    await new Promise((r) => setTimeout(r, 200));
    expect(logs).toEqual([]);
    const records = await store.listAudit({ provider: 'promethean', tenant: 'system' });
    expect(records.map((r) => r.actor)).toEqual(['agent']);
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
