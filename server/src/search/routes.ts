/**
 * `GET /api/search?q=…&mode=exact|semantic|both&provider=&guild=&channel=&limit=`: messages of the
 * session's tenant, confined to the session's guild and channel when it has them (as every HTTP route
 * checks scope).
 *
 * - `exact` (`phrase` is accepted as its old name): the phrase, case-insensitively, newest first.
 * - `semantic`: nearest first by meaning, through a {@link SemanticSearcher} (the server's semantic
 *   index: query vector from the embedder process, nearest rows from pgvector). Without a searcher it
 *   answers `unsupported`; with one but no embedder connected, `unavailable` (503) saying what to start.
 * - `both` (the default while an embedder is connected, else `exact`): the exact matches first (newest
 *   first), then the semantic ones not already listed (nearest first), at most `limit` in all. When the
 *   semantic side cannot answer (no embedder, a timeout) it falls back to the exact matches with a
 *   `note` saying why.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';
import type { HubEnv, HubMountContext } from '../hub/index.ts';
import type { IndexedMessageRow, Store } from '../store/index.ts';

/** The part of the semantic index the route uses: nearest neighbours by id, confined like the exact search. */
export interface SemanticSearcher {
  search(query: {
    provider: string;
    tenant: string;
    text: string;
    k?: number;
    kinds?: readonly string[];
    space_ids?: readonly string[];
    channel_ids?: readonly string[];
  }): Promise<{ kind: string; foreign_id: string; distance: number }[]>;
  /** Whether a search can be answered now (an embedder is connected); absent = always. */
  readonly available?: boolean;
}

export interface SearchRoutesOptions {
  store: Store;
  /** Semantic side, or a getter for one wired after the routes are mounted; absent = exact search only. */
  semantic?: SemanticSearcher | (() => SemanticSearcher | undefined) | undefined;
}

export interface SearchRoutesCounters {
  exact: number;
  semantic: number;
  both: number;
  /** `both` answered with exact matches only because the semantic side could not answer. */
  fallbacks: number;
  refused: number;
}

const Id = z.string().regex(/^[0-9A-Za-z_@-]{1,128}$/, 'must be an id');
const Query = z.strictObject({
  q: z.string().trim().min(1, 'must not be empty').max(500),
  mode: z.enum(['exact', 'phrase', 'semantic', 'both']).optional(),
  provider: z.string().regex(/^[a-z0-9_-]{1,64}$/).default('discord'),
  guild: Id.optional(),
  channel: Id.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});

/** One hit as the console shows it (no raw provider payload). */
export interface SearchHit {
  id: string;
  guild_id: string;
  channel_id: string;
  thread_id: string | null;
  author_id: string;
  content: string;
  created_at: string;
  edited_at: string | null;
  /** Which search found it (`both`: the exact phrase and among the nearest). */
  match: 'exact' | 'semantic' | 'both';
  /** Cosine distance, for semantic hits. */
  distance?: number;
}

function hit(m: IndexedMessageRow, match: SearchHit['match'], distance?: number): SearchHit {
  return {
    id: m.foreign_id, guild_id: m.space_id, channel_id: m.channel_id, thread_id: m.thread_id, author_id: m.author_id,
    content: m.content, created_at: m.created_at, edited_at: m.edited_at, match, ...(distance !== undefined ? { distance } : {}),
  };
}

/** Errors of the semantic side that `both` answers with a note instead of failing. */
const FALLBACK_CODES = new Set(['unavailable', 'timeout', 'rate_limited']);

export function mountSearchRoutes(app: Hono<HubEnv>, ctx: HubMountContext, options: SearchRoutesOptions): SearchRoutesCounters {
  const counters: SearchRoutesCounters = { exact: 0, semantic: 0, both: 0, fallbacks: 0, refused: 0 };
  const refuse = (code: ConstructorParameters<typeof PrometheanError>[0], message: string) => {
    counters.refused++;
    return new PrometheanError(code, message);
  };
  const semanticSide = (): SemanticSearcher | undefined => (typeof options.semantic === 'function' ? options.semantic() : options.semantic);

  app.get('/api/search', async (c) => {
    const principal = await ctx.authenticateRequest(c);
    if (!principal) throw refuse('unauthenticated', 'sign in first: open the login link printed by promethean start');
    if (principal.tenant === null) throw refuse('forbidden', 'search needs a tenant session');
    const r = Query.safeParse(c.req.query());
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw refuse('schema', `${issue.path.join('.') || 'query'}: ${issue.message}`);
    }
    const q = r.data;
    // A session limited to a guild or channel may narrow further, never widen.
    if (principal.guild !== undefined && q.guild !== undefined && q.guild !== principal.guild) throw refuse('forbidden', `this session may search guild ${principal.guild} only`);
    if (principal.channel !== undefined && q.channel !== undefined && q.channel !== principal.channel) throw refuse('forbidden', `this session may search channel ${principal.channel} only`);
    const guild = principal.guild ?? q.guild;
    const channel = principal.channel ?? q.channel;
    const scope = { provider: q.provider, tenant: principal.tenant };
    const semantic = semanticSide();
    const mode = q.mode === 'phrase' ? 'exact' : (q.mode ?? (semantic && semantic.available !== false ? 'both' : 'exact'));

    const exact = async (): Promise<SearchHit[]> => {
      const rows = await options.store.searchMessageText({
        ...scope, phrase: q.q, limit: q.limit, ...(guild ? { guild_ids: [guild] } : {}), ...(channel ? { channel_ids: [channel] } : {}),
      });
      return rows.map((m) => hit(m, 'exact'));
    };
    const nearest = async (s: SemanticSearcher): Promise<SearchHit[]> => {
      const found = await s.search({
        ...scope, text: q.q, k: q.limit, kinds: ['message'], ...(guild ? { space_ids: [guild] } : {}), ...(channel ? { channel_ids: [channel] } : {}),
      });
      const hits: SearchHit[] = [];
      for (const f of found) {
        const m = await options.store.getIndexedMessage({ ...scope, foreign_id: f.foreign_id });
        // The vector may outlive its message (deleted, or past retention): skip it. Scope is re-checked on the row.
        if (!m || m.deleted_at !== null || (guild && m.space_id !== guild) || (channel && m.channel_id !== channel)) continue;
        hits.push(hit(m, 'semantic', f.distance));
      }
      return hits;
    };

    if (mode === 'exact') {
      counters.exact++;
      return c.json({ mode: 'exact', hits: await exact() });
    }
    if (mode === 'semantic') {
      if (!semantic) throw refuse('unsupported', 'semantic search is not available on this server: its database has no pgvector');
      counters.semantic++;
      return c.json({ mode: 'semantic', hits: await nearest(semantic) });
    }
    counters.both++;
    const exactHits = await exact();
    let semanticHits: SearchHit[];
    try {
      if (!semantic) throw new PrometheanError('unsupported', 'this database has no pgvector');
      semanticHits = await nearest(semantic);
    } catch (error) {
      if (!(error instanceof PrometheanError) || !(FALLBACK_CODES.has(error.code) || error.code === 'unsupported')) throw error;
      counters.fallbacks++;
      return c.json({ mode: 'exact', requested: 'both', note: `semantic search unavailable (${error.code}): ${error.message}; showing exact matches only`, hits: exactHits });
    }
    const byId = new Map(semanticHits.map((h) => [h.id, h]));
    const merged: SearchHit[] = exactHits.map((h) => {
      const s = byId.get(h.id);
      return s ? { ...h, match: 'both' as const, distance: s.distance! } : h;
    });
    const listed = new Set(merged.map((h) => h.id));
    for (const h of semanticHits) if (!listed.has(h.id)) merged.push(h);
    return c.json({ mode: 'both', hits: merged.slice(0, q.limit) });
  });
  return counters;
}
