/**
 * Fuzz test of the server's HTTP face and its cookie/Origin checks: thousands of seeded, mutated
 * requests (methods, paths, bodies, Authorization and Cookie headers, Origins) against the real
 * server (hub, store, SFU, console routes). The oracle is the generator: no request may get a 5xx,
 * none without a valid credential may get a 2xx from a guarded route, a cookie from a foreign Origin
 * never authenticates, and the server keeps answering.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Server } from '../server/src/app.ts';
import { seededRandom } from './support/prng.ts';

const REQUESTS = 3000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x0c00c1e5);
const rand = seededRandom(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** Routes that must never answer 2xx without a valid credential. */
const GUARDED: { method: string; path: string }[] = [
  { method: 'GET', path: '/api/me' },
  { method: 'GET', path: '/api/audit' },
  { method: 'POST', path: '/api/login-link' },
  { method: 'POST', path: '/api/sfu/listen' },
  { method: 'POST', path: '/api/sfu/listeners/abc/answer' },
  { method: 'POST', path: '/api/sfu/listeners/abc/producers' },
  { method: 'DELETE', path: '/api/sfu/listeners/abc' },
  { method: 'GET', path: '/metrics' },
];
const OPEN: { method: string; path: string }[] = [
  { method: 'POST', path: '/api/session' },
  { method: 'POST', path: '/api/logout' },
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/login' },
  { method: 'GET', path: '/assets/../../etc/passwd' },
  { method: 'GET', path: '/assets/%2e%2e%2fpackage.json' },
];

function junk(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(int(32, 126));
  return s;
}

function body(): string | undefined {
  switch (int(0, 6)) {
    case 0:
      return undefined;
    case 1:
      return junk(int(0, 300));
    case 2:
      return JSON.stringify({ session_id: junk(int(0, 200)), user_ids: pick([[], ['x'], 'nope', null, [junk(10)]]) });
    case 3:
      return JSON.stringify({ sdp: junk(int(0, 2000)) });
    case 4:
      return JSON.stringify({ token: junk(int(0, 80)) });
    case 5:
      return 'x'.repeat(int(100_000, 200_000));
    default:
      return '{"user_ids":' + '['.repeat(int(1, 2000));
  }
}

let server: Server;
let dir: string;
let validCookie: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuzz-http-'));
  server = await startServer({ dataDir: dir, port: 0, log: () => undefined });
  const login = server.hub.issueLoginToken({ tenant: 'demo' });
  const res = await fetch(`${server.hub.httpUrl}/api/session`, { method: 'POST', headers: { authorization: `Bearer ${login.token}` } });
  validCookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('HTTP fuzz', () => {
  it(`${REQUESTS} mutated requests: no 5xx, no 2xx on a guarded route without a credential, foreign Origins never authenticate a cookie`, async () => {
    const origin = server.hub.httpUrl;
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const guarded = rand() < 0.6;
      const route = guarded ? pick(GUARDED) : pick(OPEN);
      const headers: Record<string, string> = {};
      // (Logging out with the valid cookie would end the session the run relies on.)
      const credential = route.path === '/api/logout' ? int(0, 3) : int(0, 5);
      // 0: none; 1: junk bearer; 2: junk cookie; 3: the valid cookie from a foreign origin; 4: valid cookie, own origin; 5: cookie with junk around it
      if (credential === 1) headers.authorization = pick(['Bearer ', 'Bearer x', `Bearer ${junk(43)}`, 'Basic abc', junk(20)]);
      if (credential === 2) headers.cookie = pick([`promethean_session=${junk(43)}`, junk(100), 'promethean_session=', `promethean_session=${'A'.repeat(5000)}`]);
      if (credential === 3) {
        headers.cookie = validCookie;
        headers.origin = pick(['http://evil.example', 'null', `${origin}.evil.example`, 'https://127.0.0.1']);
      }
      if (credential === 4) {
        headers.cookie = validCookie;
        if (rand() < 0.5) headers.origin = origin;
      }
      if (credential === 5) headers.cookie = `a=b; ${validCookie.replace('=', '=x')}; c=d`;
      if (rand() < 0.3) headers['content-type'] = pick(['application/json', 'text/plain', junk(10)]);
      const b = route.method === 'GET' ? undefined : body();
      const res = await fetch(`${origin}${route.path}${rand() < 0.1 ? `?token=${junk(43)}` : ''}`, { method: route.method, headers, ...(b !== undefined ? { body: b } : {}) });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `${route.method} ${route.path} with credential kind ${credential}`).toBeLessThan(500);
      const authenticated = credential === 4;
      if (guarded && !authenticated && route.path !== '/api/login-link') expect(res.status, `${route.method} ${route.path} without a credential`).toBeGreaterThanOrEqual(400);
      if (route.path === '/api/login-link') expect(res.status).toBeGreaterThanOrEqual(400); // only the hub key mints links
    }
    // Every kind of answer showed up, and the server still answers.
    expect([...statuses.keys()].some((s) => s >= 400 && s < 500)).toBe(true);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin}/api/me`, { headers: { cookie: validCookie } })).status).toBe(200);
  }, 240_000);
});
