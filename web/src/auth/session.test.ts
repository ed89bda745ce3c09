import { describe, expect, it } from 'vitest';
import type { FetchLike } from '../net/http.ts';
import { parseSessionInfo, signIn, takeLoginToken } from './session.ts';

describe('takeLoginToken', () => {
  it('returns the token and replaces the address with / before returning', () => {
    const replaced: string[] = [];
    expect(takeLoginToken('#token=abc.DEF-123', (u) => replaced.push(u))).toBe('abc.DEF-123');
    expect(replaced).toEqual(['/']);
  });

  it('leaves the address alone without a token', () => {
    const replaced: string[] = [];
    expect(takeLoginToken('', (u) => replaced.push(u))).toBeNull();
    expect(takeLoginToken('#section-2', (u) => replaced.push(u))).toBeNull();
    expect(replaced).toEqual([]);
  });

  it('still scrubs an empty token= from the address', () => {
    const replaced: string[] = [];
    expect(takeLoginToken('#token=', (u) => replaced.push(u))).toBeNull();
    expect(replaced).toEqual(['/']);
  });
});

describe('signIn', () => {
  const me = { role: 'moderator', tenant: 'acme', name: 'Riley', guilds: ['1'], channels: null, expires_at: '2030-01-01T00:00:00.000Z' };

  it('POSTs the login token as a Bearer header to /api/session', async () => {
    const calls: Array<[string, RequestInit | undefined]> = [];
    const fetchFn: FetchLike = async (url, init) => {
      calls.push([url, init]);
      return Response.json(me);
    };
    const out = await signIn(fetchFn, 'tok');
    expect(out).toEqual({ kind: 'signed-in', session: { ...me } });
    expect(calls[0]![0]).toBe('/api/session');
    expect(calls[0]![1]).toMatchObject({ method: 'POST', headers: { authorization: 'Bearer tok' } });
  });

  it('asks /api/me without a token; a 401 is a signed-out result that says how to sign in', async () => {
    const urls: string[] = [];
    const fetchFn: FetchLike = async (url) => {
      urls.push(url);
      return Response.json({ error: { code: 'unauthenticated', message: 'no session' } }, { status: 401 });
    };
    const out = await signIn(fetchFn, null);
    expect(urls).toEqual(['/api/me']);
    expect(out.kind).toBe('signed-out');
    expect(out.kind === 'signed-out' && out.message).toContain('npx promethean login');
  });

  it('reports an unreachable server as a retryable error, not as signed out', async () => {
    const out = await signIn(async () => Promise.reject(new TypeError('offline')), null);
    expect(out).toMatchObject({ kind: 'error', retryable: true });
  });
});

describe('parseSessionInfo', () => {
  it('defaults the optional fields and drops non-string ids', () => {
    expect(parseSessionInfo({ role: 'owner', tenant: null, guilds: ['1', 2] })).toEqual({
      role: 'owner', tenant: null, name: null, guilds: ['1'], channels: null, expires_at: null,
    });
    expect(parseSessionInfo({ tenant: 'x' })).toBeUndefined();
    expect(parseSessionInfo('nope')).toBeUndefined();
  });
});
