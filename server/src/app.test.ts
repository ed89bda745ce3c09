import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditListen, carriesVoice } from './app.ts';
import { startTempHub, type TempHub } from './hub/testing.ts';
import { openPgliteStore, PGLITE_MEMORY, type Store } from './store/index.ts';
import { mountLoginPage } from './web/login-page.ts';

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

describe('login page', () => {
  let hub: TempHub;
  beforeAll(async () => {
    hub = await startTempHub({ mount: (app) => mountLoginPage(app as never) });
  });
  afterAll(() => hub.dispose());

  it('GET /login serves the page that exchanges the fragment token; / redirects there', async () => {
    const page = await fetch(`${hub.httpUrl}/login`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("fetch('/api/session'");
    expect(html).toContain('location.hash');
    const root = await fetch(`${hub.httpUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/login');
  });
});
