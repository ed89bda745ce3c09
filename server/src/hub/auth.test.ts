import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerToken, loadOrCreateAgentKey, maySubscribe, TokenStore } from './auth.ts';
import { readRuntimeFile, writeRuntimeFile } from './runtime-file.ts';
import { openPgliteStore, PGLITE_MEMORY } from '../store/index.ts';

const KEY = 'a'.repeat(64);
const SID = expect.stringMatching(/^[0-9a-f]{16}$/);

describe('TokenStore', () => {
  it('authenticate() knows the agent key and nothing else', () => {
    const store = new TokenStore(KEY, { loginMs: 1000, sessionMs: 1000 });
    expect(store.authenticate(KEY)).toEqual({ role: 'agent', tenant: null });
    expect(store.authenticate('b'.repeat(64))).toBeUndefined();
    expect(store.authenticate('')).toBeUndefined();
    expect(store.authenticate(undefined)).toBeUndefined();
  });

  it('a login token is single-use and expires; the session keeps its scope', async () => {
    let now = 1_000_000;
    const store = new TokenStore(KEY, { loginMs: 1000, sessionMs: 5000 }, () => now);
    const login = store.issueLoginToken({ tenant: 'demo', guild: 'g1' });
    expect(login.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.authenticate(login.token)).toBeUndefined(); // not a session token
    const session = await store.exchangeLoginToken(login.token);
    expect(store.authenticate(session.token)).toEqual({ role: 'owner', tenant: 'demo', guild: 'g1', sid: SID });
    await expect(store.exchangeLoginToken(login.token)).rejects.toMatchObject({ code: 'unauthenticated' });
    const late = store.issueLoginToken({ tenant: 'demo' });
    now += 1000;
    await expect(store.exchangeLoginToken(late.token)).rejects.toMatchObject({ code: 'unauthenticated' });
    now += 4000;
    expect(store.authenticate(session.token)).toBeUndefined(); // session expired
  });

  it('exchangeLoginToken() rejects malformed tokens with unauthenticated', async () => {
    const store = new TokenStore(KEY, { loginMs: 1000, sessionMs: 1000 });
    for (const t of ['', 'short', 'x'.repeat(500), 'has space in it........']) {
      await expect(store.exchangeLoginToken(t)).rejects.toMatchObject({ code: 'unauthenticated' });
    }
  });

  it('with a store, logins and sessions survive a restart (a new TokenStore); a login still works once; revoked sessions stay out', async () => {
    const db = await openPgliteStore({ dataDir: PGLITE_MEMORY });
    await db.migrate();
    try {
      const before = new TokenStore(KEY, { loginMs: 60_000, sessionMs: 60_000 }, Date.now, db);
      const login = before.issueLoginToken({ tenant: 'demo', channel: 'c1' });
      await login.saved;
      const kept = before.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: 'g1' });
      const revoked = before.issueSessionToken({ role: 'moderator', tenant: 'demo' });
      await Promise.all([kept.saved, revoked.saved]);
      before.revoke(revoked.token);

      const after = new TokenStore(KEY, { loginMs: 60_000, sessionMs: 60_000 }, Date.now, db);
      expect(after.authenticate(kept.token)).toBeUndefined(); // not in this process's memory…
      expect(await after.authenticateAsync(kept.token)).toEqual({ role: 'moderator', tenant: 'demo', guild: 'g1', sid: SID }); // …but in the store
      await expect.poll(() => after.authenticateAsync(revoked.token)).toBeUndefined();
      const session = await after.exchangeLoginToken(login.token);
      expect(session.principal).toEqual({ role: 'owner', tenant: 'demo', channel: 'c1', sid: SID });
      await expect(after.exchangeLoginToken(login.token)).rejects.toMatchObject({ code: 'unauthenticated' });
      // A third process does not get the used login either, and knows the new session.
      const third = new TokenStore(KEY, { loginMs: 60_000, sessionMs: 60_000 }, Date.now, db);
      await expect(third.exchangeLoginToken(login.token)).rejects.toMatchObject({ code: 'unauthenticated' });
      expect(await third.authenticateAsync(session.token)).toEqual({ role: 'owner', tenant: 'demo', channel: 'c1', sid: SID });
    } finally {
      await db.close();
    }
  });

  it('a login exchanged in the issuing process is marked used in the store, so a restart cannot reuse it', async () => {
    const db = await openPgliteStore({ dataDir: PGLITE_MEMORY });
    await db.migrate();
    try {
      const first = new TokenStore(KEY, { loginMs: 60_000, sessionMs: 60_000 }, Date.now, db);
      const login = first.issueLoginToken({ tenant: 'demo' });
      await first.exchangeLoginToken(login.token);
      const second = new TokenStore(KEY, { loginMs: 60_000, sessionMs: 60_000 }, Date.now, db);
      await expect(second.exchangeLoginToken(login.token)).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      await db.close();
    }
  });
});

describe('maySubscribe', () => {
  const session = { role: 'moderator' as const, tenant: 'demo' };
  it.each([
    ['promethean.p.*.t.demo.>', true],
    ['promethean.p.discord.t.demo.voice.audio.pcm', true],
    ['promethean.p.discord.t.demo.*', true],
    ['promethean.p.>', false],
    ['promethean.>', false],
    ['>', false],
    ['promethean.p.*.t.*.>', false],
    ['promethean.p.*.t.other.>', false],
    ['promethean.p.*.t.demo', false],
    ['promethean.*.*.t.demo.>', false],
  ])('a demo session token may subscribe to %s: %s', (pattern, ok) => {
    expect(maySubscribe(session, pattern.split('.'))).toBe(ok);
    expect(maySubscribe({ role: 'agent', tenant: null }, pattern.split('.'))).toBe(true);
  });
});

describe('bearerToken', () => {
  it('reads Authorization: Bearer only', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('agent key and runtime file', () => {
  it('loadOrCreateAgentKey() creates a 0600 256-bit key once and rejects a corrupt one with bad_config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promethean-auth-'));
    try {
      const a = await loadOrCreateAgentKey(dir);
      expect(a.key).toMatch(/^[0-9a-f]{64}$/);
      expect((await stat(a.path)).mode & 0o777).toBe(0o600);
      expect((await loadOrCreateAgentKey(dir)).key).toBe(a.key);
      await writeFile(a.path, 'not a key');
      await expect(loadOrCreateAgentKey(dir)).rejects.toMatchObject({ code: 'bad_config' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('readRuntimeFile() names the bad field of a malformed runtime.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promethean-rt-'));
    try {
      await writeRuntimeFile(dir, { hub_url: 'ws://127.0.0.1:1/bus', key_file: '/k', pid: 42, started_at: new Date(0).toISOString() });
      expect((await readRuntimeFile(dir)).pid).toBe(42);
      await writeFile(join(dir, 'runtime.json'), JSON.stringify({ hub_url: 'http://x', key_file: '/k', pid: 1, started_at: 'x' }));
      await expect(readRuntimeFile(dir)).rejects.toMatchObject({ code: 'bad_config', path: 'hub_url' });
      await writeFile(join(dir, 'runtime.json'), '{');
      await expect(readRuntimeFile(dir)).rejects.toMatchObject({ code: 'bad_config' });
      await expect(writeRuntimeFile(dir, { hub_url: 'ws://h/bus', key_file: '', pid: 1, started_at: new Date().toISOString() })).rejects.toMatchObject({ path: 'key_file' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
