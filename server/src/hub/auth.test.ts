import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerToken, loadOrCreateAgentKey, maySubscribe, TokenStore } from './auth.ts';
import { readRuntimeFile, writeRuntimeFile } from './runtime-file.ts';

const KEY = 'a'.repeat(64);

describe('TokenStore', () => {
  it('authenticate() knows the agent key and nothing else', () => {
    const store = new TokenStore(KEY, { loginMs: 1000, sessionMs: 1000 });
    expect(store.authenticate(KEY)).toEqual({ role: 'agent', tenant: null });
    expect(store.authenticate('b'.repeat(64))).toBeUndefined();
    expect(store.authenticate('')).toBeUndefined();
    expect(store.authenticate(undefined)).toBeUndefined();
  });

  it('a login token is single-use and expires; the session keeps its scope', () => {
    let now = 1_000_000;
    const store = new TokenStore(KEY, { loginMs: 1000, sessionMs: 5000 }, () => now);
    const login = store.issueLoginToken({ tenant: 'demo', guild: 'g1' });
    expect(login.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.authenticate(login.token)).toBeUndefined(); // not a session token
    const session = store.exchangeLoginToken(login.token);
    expect(store.authenticate(session.token)).toEqual({ role: 'owner', tenant: 'demo', guild: 'g1' });
    expect(() => store.exchangeLoginToken(login.token)).toThrow(expect.objectContaining({ code: 'unauthenticated' }));
    const late = store.issueLoginToken({ tenant: 'demo' });
    now += 1000;
    expect(() => store.exchangeLoginToken(late.token)).toThrow(expect.objectContaining({ code: 'unauthenticated' }));
    now += 4000;
    expect(store.authenticate(session.token)).toBeUndefined(); // session expired
  });

  it('exchangeLoginToken() rejects malformed tokens with unauthenticated', () => {
    const store = new TokenStore(KEY, { loginMs: 1000, sessionMs: 1000 });
    for (const t of ['', 'short', 'x'.repeat(500), 'has space in it........']) {
      expect(() => store.exchangeLoginToken(t)).toThrow(expect.objectContaining({ code: 'unauthenticated' }));
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
  it('reads Authorization: Bearer first, then ?token=', () => {
    expect(bearerToken('Bearer abc', 'q')).toBe('abc');
    expect(bearerToken('bearer   abc', undefined)).toBe('abc');
    expect(bearerToken('Basic abc', 'q')).toBeUndefined();
    expect(bearerToken(undefined, 'q')).toBe('q');
    expect(bearerToken(undefined, '')).toBeUndefined();
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
