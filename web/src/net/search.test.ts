import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import type { FetchLike } from './http.ts';
import { parseHits, searchMessages, searchPath, semanticUnavailable } from './search.ts';

const HIT = { id: '1', guild_id: 'g1', channel_id: 'c1', thread_id: null, author_id: 'u1', content: 'the bike was stolen', created_at: '2026-01-01T00:00:01.000Z', edited_at: null };

/** Answers each request from `routes` by its `mode` parameter and records the paths asked. */
function server(routes: Record<string, { status: number; body: unknown }>, seen: string[]): FetchLike {
  return async (url) => {
    seen.push(url);
    const mode = new URL(url, 'http://console.test').searchParams.get('mode') ?? 'phrase';
    const r = routes[mode]!;
    return new Response(JSON.stringify(r.body), { status: r.status, headers: { 'content-type': 'application/json' } });
  };
}

describe('searchPath', () => {
  it('sends only the parameters the route accepts, trimmed and clamped', () => {
    const u = new URL(searchPath({ q: '  bike was stolen ', mode: 'phrase', guild: 'g1', channel: null, limit: 500 }), 'http://x');
    expect(u.pathname).toBe('/api/search');
    expect([...u.searchParams.entries()]).toEqual([['q', 'bike was stolen'], ['mode', 'phrase'], ['guild', 'g1'], ['limit', '100']]);
    expect(searchPath({ q: 'a&b=c d', mode: 'semantic', guild: 'g1', channel: 'c2' })).toBe('/api/search?q=a%26b%3Dc%20d&mode=semantic&guild=g1&channel=c2');
  });
});

describe('parseHits', () => {
  it('keeps well-formed hits and counts the rest', () => {
    const r = parseHits({ hits: [HIT, { ...HIT, id: 2 }, null, { ...HIT, id: '3', distance: 0.25, match: 'semantic' }, { ...HIT, id: '4', distance: 'near', match: 'fuzzy' }] });
    expect(r.hits.map((h) => h.id)).toEqual(['1', '3', '4']);
    expect(r.hits[1]).toMatchObject({ distance: 0.25, match: 'semantic' });
    expect('distance' in r.hits[2]!).toBe(false);
    expect('match' in r.hits[2]!).toBe(false);
    expect(r.dropped).toBe(2);
    expect(parseHits({})).toEqual({ hits: [], dropped: 0 });
    expect(parseHits(undefined)).toEqual({ hits: [], dropped: 0 });
  });
});

describe('searchMessages', () => {
  it('runs an exact phrase search and returns its hits; the route\'s newer name for the mode reads the same', async () => {
    for (const answered of ['phrase', 'exact']) {
      const seen: string[] = [];
      const r = await searchMessages(server({ phrase: { status: 200, body: { mode: answered, hits: [{ ...HIT, match: 'exact' }] } } }, seen), { q: 'bike', mode: 'phrase', guild: 'g1' });
      expect(r).toMatchObject({ mode: 'phrase', notice: null, dropped: 0 });
      expect(r.hits).toEqual([{ ...HIT, match: 'exact' }]);
      expect(seen).toEqual(['/api/search?q=bike&mode=phrase&guild=g1']);
    }
  });

  it('shows the note of a search for both that the server answered with exact matches only', async () => {
    const seen: string[] = [];
    const note = 'semantic search unavailable (unavailable): no embedder is connected; showing exact matches only';
    const r = await searchMessages(server({ both: { status: 200, body: { mode: 'exact', requested: 'both', note, hits: [HIT] } } }, seen), { q: 'bike', mode: 'both', guild: 'g1' });
    expect(r).toMatchObject({ mode: 'phrase', notice: 'Semantic search unavailable (unavailable): no embedder is connected; showing exact matches only.' });
    expect(seen).toEqual(['/api/search?q=bike&mode=both&guild=g1']);
  });

  it('returns semantic hits with their distances when the server has an embedder', async () => {
    const seen: string[] = [];
    const r = await searchMessages(server({ semantic: { status: 200, body: { mode: 'semantic', hits: [{ ...HIT, distance: 0.1 }] } } }, seen), { q: 'stolen bicycle', mode: 'semantic' });
    expect(r).toMatchObject({ mode: 'semantic', notice: null });
    expect(r.hits[0]!.distance).toBe(0.1);
    expect(seen).toHaveLength(1);
  });

  it('falls back to an exact phrase, and says so, when the server has no embedder connected (503 unavailable)', async () => {
    const seen: string[] = [];
    const fetchFn = server(
      {
        semantic: { status: 503, body: { error: { code: 'unavailable', message: 'no embedder is connected: start promethean embed' } } },
        phrase: { status: 200, body: { mode: 'exact', hits: [HIT] } },
      },
      seen,
    );
    const r = await searchMessages(fetchFn, { q: 'bike', mode: 'semantic', guild: 'g1' });
    expect(r).toMatchObject({ mode: 'phrase', hits: [HIT], notice: 'No embedder is connected: start promethean embed. Showing exact-phrase matches instead.' });
    expect(seen).toHaveLength(2);
  });

  it('falls back to an exact phrase, and says so, when the server refuses semantic search as unsupported', async () => {
    const seen: string[] = [];
    const fetchFn = server(
      {
        semantic: { status: 400, body: { error: { code: 'unsupported', message: 'semantic search is not available on this server (no embedder configured)' } } },
        phrase: { status: 200, body: { mode: 'phrase', hits: [HIT] } },
      },
      seen,
    );
    const r = await searchMessages(fetchFn, { q: 'bike', mode: 'semantic', guild: 'g1' });
    expect(r.mode).toBe('phrase');
    expect(r.hits).toEqual([HIT]);
    expect(r.notice).toBe('Semantic search is not available on this server (no embedder configured). Showing exact-phrase matches instead.');
    expect(seen).toEqual(['/api/search?q=bike&mode=semantic&guild=g1', '/api/search?q=bike&mode=phrase&guild=g1']);
  });

  it('passes other refusals on as ApiError (scope, sign-in), without a fallback', async () => {
    const seen: string[] = [];
    const fetchFn = server({ semantic: { status: 403, body: { error: { code: 'forbidden', message: 'this session may search guild g1 only' } } } }, seen);
    const e = await searchMessages(fetchFn, { q: 'bike', mode: 'semantic', guild: 'g2' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 403, code: 'forbidden' });
    expect(seen).toHaveLength(1);
  });
});

describe('semanticUnavailable', () => {
  it('is true for unsupported, 501 and a server that does not know the mode; false otherwise', () => {
    expect(semanticUnavailable(new ApiError(400, 'unsupported', 'x'))).toBe(true);
    expect(semanticUnavailable(new ApiError(501, 'http_501', 'Not Implemented'))).toBe(true);
    expect(semanticUnavailable(new ApiError(503, 'unavailable', 'no embedder'))).toBe(true);
    expect(semanticUnavailable(new ApiError(400, 'schema', 'mode: Invalid option'))).toBe(true);
    expect(semanticUnavailable(new ApiError(400, 'schema', 'q: must not be empty'))).toBe(false);
    expect(semanticUnavailable(new ApiError(401, 'unauthenticated', 'sign in'))).toBe(false);
    expect(semanticUnavailable(new ApiError(503, 'internal', 'x'))).toBe(false);
    expect(semanticUnavailable(new Error('boom'))).toBe(false);
  });
});
