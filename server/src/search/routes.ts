/**
 * `GET /api/search?q=…&mode=phrase|semantic&provider=&guild=&channel=&limit=`: messages of the
 * session's tenant, confined to the session's guild and channel when it has them (as every HTTP route
 * checks scope), newest first for an exact phrase, nearest first for semantic search.
 *
 * The seam for semantic search: pass a {@link SemanticSearcher} (the embedder's `SemanticSearch`
 * satisfies it). Without one, `mode=semantic` answers an `unsupported` error; phrase search always works.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';
import type { HubEnv, HubMountContext } from '../hub/index.ts';
import type { IndexedMessageRow, Store } from '../store/index.ts';

/** The part of the semantic index the route uses: nearest neighbours by id, confined like the phrase search. */
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
}

export interface SearchRoutesOptions {
  store: Store;
  /** Semantic side; absent = phrase search only. */
  semantic?: SemanticSearcher | undefined;
}

export interface SearchRoutesCounters {
  phrase: number;
  semantic: number;
  refused: number;
}

const Id = z.string().regex(/^[0-9A-Za-z_@-]{1,128}$/, 'must be an id');
const Query = z.strictObject({
  q: z.string().trim().min(1, 'must not be empty').max(500),
  mode: z.enum(['phrase', 'semantic']).default('phrase'),
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
  /** Cosine distance, for semantic hits. */
  distance?: number;
}

function hit(m: IndexedMessageRow, distance?: number): SearchHit {
  return {
    id: m.foreign_id, guild_id: m.space_id, channel_id: m.channel_id, thread_id: m.thread_id, author_id: m.author_id,
    content: m.content, created_at: m.created_at, edited_at: m.edited_at, ...(distance !== undefined ? { distance } : {}),
  };
}

export function mountSearchRoutes(app: Hono<HubEnv>, ctx: HubMountContext, options: SearchRoutesOptions): SearchRoutesCounters {
  const counters: SearchRoutesCounters = { phrase: 0, semantic: 0, refused: 0 };
  const refuse = (code: ConstructorParameters<typeof PrometheanError>[0], message: string) => {
    counters.refused++;
    return new PrometheanError(code, message);
  };
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
    if (q.mode === 'phrase') {
      counters.phrase++;
      const rows = await options.store.searchMessageText({
        ...scope, phrase: q.q, limit: q.limit, ...(guild ? { guild_ids: [guild] } : {}), ...(channel ? { channel_ids: [channel] } : {}),
      });
      return c.json({ mode: 'phrase', hits: rows.map((m) => hit(m)) });
    }
    if (!options.semantic) throw refuse('unsupported', 'semantic search is not available on this server (no embedder configured)');
    counters.semantic++;
    const found = await options.semantic.search({
      ...scope, text: q.q, k: q.limit, kinds: ['message'], ...(guild ? { space_ids: [guild] } : {}), ...(channel ? { channel_ids: [channel] } : {}),
    });
    const hits: SearchHit[] = [];
    for (const f of found) {
      const m = await options.store.getIndexedMessage({ ...scope, foreign_id: f.foreign_id });
      // The vector may outlive its message (deleted, or past retention): skip it. Scope is re-checked on the row.
      if (!m || m.deleted_at !== null || (guild && m.space_id !== guild) || (channel && m.channel_id !== channel)) continue;
      hits.push(hit(m, f.distance));
    }
    return c.json({ mode: 'semantic', hits });
  });
  return counters;
}
