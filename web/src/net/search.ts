/**
 * The console's side of `GET /api/search`: stored messages of the session's tenant, by exact phrase,
 * by meaning (`semantic`, through the embeddings) or both (exact matches first, then the nearest by
 * meaning). The server confines every search to the session's guild and channel; the console narrows
 * further to the selected voice session's guild (and channel when asked).
 *
 * Tolerant of what a server can do: one without semantic search refuses `semantic` (`unsupported`,
 * or 503 `unavailable` while no embedder is connected; a server that predates the mode refuses the
 * value); the search then runs as an exact phrase and says why. A `both` search the server had to
 * answer with exact matches only carries its `note`, shown the same way.
 */
import { ApiError } from '../errors.ts';
import { requestJson, type FetchLike } from './http.ts';

/** `phrase` travels as `phrase`, which every version of the route accepts (newer ones also say `exact`). */
export type SearchMode = 'phrase' | 'semantic' | 'both';

export interface SearchQuery {
  /** The words (1..500 characters after trimming). */
  q: string;
  mode: SearchMode;
  /** Narrow to one guild (the server refuses widening a limited session). */
  guild?: string | null;
  channel?: string | null;
  /** 1..100; the server's default is 25. */
  limit?: number;
}

/** One hit as the server sends it. */
export interface SearchHit {
  id: string;
  guild_id: string;
  channel_id: string;
  thread_id: string | null;
  author_id: string;
  content: string;
  created_at: string;
  edited_at: string | null;
  /** Which search found it, where the server says (`both`: the phrase, and among the nearest). */
  match?: 'exact' | 'semantic' | 'both';
  /** Cosine distance, semantic hits only. */
  distance?: number;
}

export interface SearchResult {
  /** The mode that produced the hits (phrase when semantic search was unavailable). */
  mode: SearchMode;
  hits: SearchHit[];
  /** Why the hits are not what was asked for, if they are not. */
  notice: string | null;
  /** Hits in the answer that were malformed and left out. */
  dropped: number;
}

export const MAX_QUERY_CHARS = 500;

/** The request path; only the parameters the route accepts (it refuses unknown ones). */
export function searchPath(query: SearchQuery): string {
  // encodeURIComponent rather than URLSearchParams: a space travels as %20, which every query parser reads alike.
  const params: Array<[string, string]> = [['q', query.q.trim()], ['mode', query.mode]];
  if (query.guild) params.push(['guild', query.guild]);
  if (query.channel) params.push(['channel', query.channel]);
  if (query.limit !== undefined) params.push(['limit', String(Math.max(1, Math.min(100, Math.round(query.limit))))]);
  return `/api/search?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
}

const str = (v: unknown): v is string => typeof v === 'string';
const MATCHES: ReadonlySet<string> = new Set(['exact', 'semantic', 'both']);

/** The well-formed hits of an answer body; anything else is counted and left out. */
export function parseHits(body: unknown): { hits: SearchHit[]; dropped: number } {
  const raw = (body as { hits?: unknown } | null | undefined)?.hits;
  if (!Array.isArray(raw)) return { hits: [], dropped: 0 };
  const hits: SearchHit[] = [];
  let dropped = 0;
  for (const h of raw) {
    const x = h as Record<string, unknown> | null;
    if (!x || !str(x.id) || !str(x.guild_id) || !str(x.channel_id) || !str(x.author_id) || !str(x.content) || !str(x.created_at)) {
      dropped++;
      continue;
    }
    hits.push({
      id: x.id,
      guild_id: x.guild_id,
      channel_id: x.channel_id,
      thread_id: str(x.thread_id) ? x.thread_id : null,
      author_id: x.author_id,
      content: x.content,
      created_at: x.created_at,
      edited_at: str(x.edited_at) ? x.edited_at : null,
      ...(str(x.match) && MATCHES.has(x.match) ? { match: x.match as SearchHit['match'] } : {}),
      ...(typeof x.distance === 'number' && Number.isFinite(x.distance) ? { distance: x.distance } : {}),
    });
  }
  return { hits, dropped };
}

/** The answer's own mode (`exact` is the route's newer name for a phrase search); `asked` when absent. */
function answeredMode(body: unknown, asked: SearchMode): SearchMode {
  const m = (body as { mode?: unknown } | null | undefined)?.mode;
  if (m === 'exact' || m === 'phrase') return 'phrase';
  return m === 'semantic' || m === 'both' ? m : asked;
}

/** A refusal that means "this server cannot search by meaning now", as opposed to a bad query or scope. */
export function semanticUnavailable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  if (error.code === 'unsupported' || error.code === 'unavailable' || error.status === 501) return true;
  // A server that predates the mode refuses the parameter value itself.
  return error.status === 400 && error.code === 'schema' && /mode/.test(error.message);
}

/** A server's message as a sentence: capitalised, one full stop. */
function sentence(message: string): string {
  const s = message.trim().replace(/[.;:]+$/, '');
  return s ? `${s.charAt(0).toUpperCase()}${s.slice(1)}.` : '';
}

/** "semantic search is …: why" → "Semantic search is …: why. Showing exact-phrase matches instead." */
function fallbackNotice(message: string): string {
  return `${sentence(message) || 'Search by meaning is not available on this server.'} Showing exact-phrase matches instead.`;
}

/** Runs a search; one by meaning the server cannot do runs again as an exact phrase. */
export async function searchMessages(fetchFn: FetchLike, query: SearchQuery, signal?: AbortSignal): Promise<SearchResult> {
  const run = async (mode: SearchMode): Promise<SearchResult> => {
    const body = await requestJson<unknown>(fetchFn, searchPath({ ...query, mode }), signal ? { signal } : {});
    const note = (body as { note?: unknown } | null | undefined)?.note;
    return { mode: answeredMode(body, mode), ...parseHits(body), notice: str(note) && note.trim() ? sentence(note) : null };
  };
  if (query.mode === 'phrase') return run('phrase');
  try {
    return await run(query.mode);
  } catch (error) {
    if (!semanticUnavailable(error)) throw error;
    const phrase = await run('phrase');
    return { ...phrase, notice: fallbackNotice(error instanceof ApiError ? error.message : '') };
  }
}
