import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../hub/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import type { SqlStore } from '../store/sqlStore.ts';
import { mountSearchRoutes, type SearchRoutesCounters, type SemanticSearcher } from './routes.ts';

const P = 'discord';

/** A FAKE semantic index (the real one needs the embedding model): returns fixed ids nearest first. */
class FakeSemanticSearcher implements SemanticSearcher {
  readonly queries: Parameters<SemanticSearcher['search']>[0][] = [];
  async search(query: Parameters<SemanticSearcher['search']>[0]) {
    this.queries.push(query);
    return [{ kind: 'message', foreign_id: '4', distance: 0.1 }, { kind: 'message', foreign_id: '3', distance: 0.2 }, { kind: 'message', foreign_id: '1', distance: 0.3 }];
  }
}

describe('GET /api/search', () => {
  let hub: Hub;
  let plainHub: Hub;
  let template: PgliteTemplate;
  let store: SqlStore;
  let counters: SearchRoutesCounters;
  const semantic = new FakeSemanticSearcher();

  beforeAll(async () => {
    template = await pgliteTemplate();
    store = await template.fresh();
    const row = (id: string, content: string, space_id: string, channel_id: string, second: number, tenant = 'demo') => ({
      provider: P, tenant, foreign_id: id, space_id, channel_id, author_id: 'u1', content, created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
    });
    await store.indexMessages([
      row('1', 'the bike was stolen', 'g1', 'c1', 1),
      row('2', 'a Bike Was Stolen again', 'g1', 'c2', 2),
      row('3', 'the bike was stolen in g2', 'g2', 'c3', 3),
      row('4', 'nothing about bikes', 'g1', 'c1', 4),
      row('5', 'the bike was stolen (other tenant)', 'g1', 'c1', 5, 'other'),
    ]);
    await store.markMessagesDeleted({ provider: P, tenant: 'demo' }, ['4']);
    hub = await createHub({
      dataDir: mkdtempSync(join(tmpdir(), 'search-hub-')), writeRuntimeFile: false,
      mount: (app, ctx) => {
        counters = mountSearchRoutes(app, ctx, { store, semantic });
      },
    });
    plainHub = await createHub({
      dataDir: mkdtempSync(join(tmpdir(), 'search-hub-plain-')), writeRuntimeFile: false,
      mount: (app, ctx) => void mountSearchRoutes(app, ctx, { store }),
    });
  });
  afterAll(async () => {
    await hub?.close();
    await plainHub?.close();
    await template?.close();
  });

  const get = async (path: string, token?: string, on: Hub = hub) => {
    const res = await fetch(`${on.httpUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as { mode?: string; hits?: { id: string; match?: string; distance?: number }[]; error?: { code: string } } };
  };
  const ids = (r: { body: { hits?: { id: string }[] } }) => r.body.hits?.map((h) => h.id);

  it('mode=exact finds a phrase case-insensitively in the session\'s tenant only, newest first, without deleted messages', async () => {
    const token = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    const r = await get('/api/search?q=bike%20was%20stolen&mode=exact', token);
    expect(r.status).toBe(200);
    expect(ids(r)).toEqual(['3', '2', '1']);
    expect(ids(await get('/api/search?q=bike%20was%20stolen&channel=c1&mode=exact', token))).toEqual(['1']);
    expect(ids(await get('/api/search?q=bike%20was%20stolen&guild=g2&mode=exact', token))).toEqual(['3']);
    expect(ids(await get('/api/search?q=bikes&mode=exact', token))).toEqual([]);
    // `phrase`, the mode's old name, is the same search.
    expect(await get('/api/search?q=bike%20was%20stolen&mode=phrase', token)).toEqual(r);
  });

  it('without a semantic side the default is exact; with one that is available it is both (exact first, then nearest)', async () => {
    const token = plainHub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    const plain = await get('/api/search?q=bike%20was%20stolen', token, plainHub);
    expect(plain.body.mode).toBe('exact');
    expect(ids(plain)).toEqual(['3', '2', '1']);
    const both = await get('/api/search?q=was%20stolen%20again', hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token);
    expect(both.body.mode).toBe('both');
    // Exact: 2. Nearest (the FAKE's fixed answer): 4 (deleted, dropped), 3, 1.
    expect(both.body.hits?.map((h) => [h.id, h.match])).toEqual([['2', 'exact'], ['3', 'semantic'], ['1', 'semantic']]);
  });

  it('confines a session limited to a guild or channel, and refuses widening it', async () => {
    const guildOnly = hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: 'g1' }).token;
    expect(ids(await get('/api/search?q=bike%20was%20stolen&mode=exact', guildOnly))).toEqual(['2', '1']);
    expect((await get('/api/search?q=bike&guild=g2', guildOnly)).status).toBe(403);
    const channelOnly = hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: 'g1', channel: 'c2' }).token;
    expect(ids(await get('/api/search?q=stolen&mode=exact', channelOnly))).toEqual(['2']);
    expect((await get('/api/search?q=stolen&channel=c1', channelOnly)).body.error?.code).toBe('forbidden');
  });

  it('refuses unauthenticated and malformed requests with typed errors and counts them', async () => {
    const before = counters.refused;
    expect((await get('/api/search?q=bike')).status).toBe(401);
    const token = hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    expect((await get('/api/search?q=', token)).body.error?.code).toBe('schema');
    expect((await get('/api/search?q=x&limit=1000', token)).body.error?.code).toBe('schema');
    expect((await get('/api/search?q=x&mode=fuzzy', token)).body.error?.code).toBe('schema');
    expect((await get('/api/search?q=x&extra=1', token)).body.error?.code).toBe('schema');
    expect(counters.refused).toBe(before + 5);
  });

  it('mode=semantic asks the semantic index within the scope and joins live rows; without one it is unsupported', async () => {
    const token = hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: 'g1' }).token;
    const r = await get('/api/search?q=stolen%20bicycle&mode=semantic&limit=5', token);
    expect(r.status).toBe(200);
    // 4 is deleted, 3 is in another guild: both dropped; 1 stays with its distance.
    expect(r.body.hits).toEqual([expect.objectContaining({ id: '1', distance: 0.3 })]);
    expect(semantic.queries.at(-1)).toMatchObject({ provider: P, tenant: 'demo', text: 'stolen bicycle', k: 5, space_ids: ['g1'], kinds: ['message'] });
    const plainToken = plainHub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    expect((await get('/api/search?q=x&mode=semantic', plainToken, plainHub)).body.error?.code).toBe('unsupported');
  });
});
