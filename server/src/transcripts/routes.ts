/**
 * Transcript history and deletion per user over HTTP:
 *
 * - `GET /api/sessions/:session_id/transcripts?speaker=&from_ns=&to_ns=&limit=&provider=` →
 *   `{ session_id, lines, truncated }`: the session's final lines in session-clock order; the `limit`
 *   (default 200, at most 1,000) newest when more match. `from_ns` / `to_ns` (session-clock ns,
 *   decimal strings) keep the lines overlapping that span (the evidence export's clip). An owner or
 *   moderator of the tenant; a session limited to a guild (or channel) reads only sessions the server
 *   knows to be in it ({@link SessionScopes}: the relay's announcements, recorded in the store).
 * - `DELETE /api/transcripts/speakers/:user_id?provider=` → `{ user_id, deleted, scope, audit_id }`:
 *   owners only. A tenant-wide owner deletes everything the user said in the tenant; an owner limited
 *   to a guild (or channel), only in the sessions known to be in it. On the audit log
 *   (`transcripts.delete`) before anything is deleted: no record, no deletion (503 `unavailable`);
 *   how many rows went is recorded after (`transcripts.deleted`).
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { PrometheanError, type ErrorCode } from '@promethean/shared';
import type { HubEnv, HubMountContext, Principal } from '../hub/index.ts';
import { principalKey } from '../listen/service.ts';
import type { Store, TranscriptRow } from '../store/index.ts';
import type { SessionScopes } from './session-scopes.ts';

export type TranscriptRouteStore = Pick<Store, 'listTranscripts' | 'deleteSpeakerTranscripts' | 'appendAudit'>;

export interface TranscriptRoutesDeps {
  store: TranscriptRouteStore;
  /** Which guild and channel each voice session belongs to. */
  scopes: SessionScopes;
  /** Progress and warning lines. */
  log?: ((line: string) => void) | undefined;
}

export interface TranscriptRoutesCounters {
  /** History requests answered. */
  history: number;
  /** Deletions made, and rows they removed. */
  deletions: number;
  deletedRows: number;
  /** Requests refused (auth, scope, bad parameters, audit unavailable). */
  refused: number;
}

/** One final line as the console and the evidence sidecar read it. */
export interface TranscriptLineView {
  segment_id: string;
  speaker_id: string;
  text: string;
  /** Session-clock ns of the segment's first and last sample (decimal strings). */
  start_ns: string;
  end_ns: string;
  lang: string | null;
  confidence: number | null;
  transcribed_at: string;
}

const Id = z.string().regex(/^[0-9A-Za-z_.@-]{1,128}$/, 'must be an id');
const Ns = z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'must be nanoseconds as a decimal string');
const Provider = z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must be a provider name').default('discord');
export const HISTORY_DEFAULT_LIMIT = 200;
export const HISTORY_MAX_LIMIT = 1000;
const HistoryQuery = z
  .strictObject({
    provider: Provider,
    speaker: Id.optional(),
    from_ns: Ns.optional(),
    to_ns: Ns.optional(),
    limit: z.coerce.number().int().min(1).max(HISTORY_MAX_LIMIT).default(HISTORY_DEFAULT_LIMIT),
  })
  .refine((q) => q.from_ns === undefined || q.to_ns === undefined || BigInt(q.to_ns) > BigInt(q.from_ns), { message: 'to_ns must be after from_ns', path: ['to_ns'] });
const ProviderQuery = z.strictObject({ provider: Provider });
/** The session id as the STT worker keys transcripts (no `:`). */
const SessionId = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => !/[:\u0000-\u001f\u007f]/.test(s), 'must be a session id (no ":" or control characters)');

type Scoped = Principal & { tenant: string };

export function lineView(r: TranscriptRow): TranscriptLineView {
  return { segment_id: r.segment_id, speaker_id: r.speaker_id, text: r.text, start_ns: r.start_ns, end_ns: r.end_ns, lang: r.lang, confidence: r.confidence, transcribed_at: r.transcribed_at };
}

export function mountTranscriptRoutes(app: Hono<HubEnv>, ctx: HubMountContext, deps: TranscriptRoutesDeps): TranscriptRoutesCounters {
  const counters: TranscriptRoutesCounters = { history: 0, deletions: 0, deletedRows: 0, refused: 0 };
  const refuse = (code: ErrorCode, message: string, options: { cause?: unknown; path?: string } = {}) => {
    counters.refused++;
    return new PrometheanError(code, message, options);
  };
  const parse = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> => {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw refuse('schema', `${path || what}: ${issue.message}`, { path: path || what });
  };
  const session = async (c: Context): Promise<Scoped> => {
    const p = await ctx.authenticateRequest(c);
    if (!p) throw refuse('unauthenticated', 'sign in first: open the login link printed by promethean start');
    if (p.role !== 'owner' && p.role !== 'moderator') throw refuse('forbidden', 'a moderator or owner session is needed');
    if (p.tenant === null) throw refuse('forbidden', 'a tenant session is needed');
    return p as Scoped;
  };

  app.get('/api/sessions/:session_id/transcripts', async (c) => {
    const p = await session(c);
    const sessionId = parse(SessionId, c.req.param('session_id'), 'session_id');
    const q = parse(HistoryQuery, c.req.query(), 'query');
    const info = await deps.scopes.lookup(q.provider, p.tenant, sessionId);
    if (info && (info.tenant !== p.tenant || info.provider !== q.provider)) throw refuse('forbidden', `session ${sessionId} is not a session of this tenant`);
    if (p.guild !== undefined || p.channel !== undefined) {
      // A limited session reads only what is known to be inside its limits.
      if (!info) throw refuse('forbidden', `the guild of session ${sessionId} is not known to this server (the relay never announced it here); a session limited to a guild cannot read it`);
      if (p.guild !== undefined && info.guildId !== p.guild) throw refuse('forbidden', `this session is limited to guild ${p.guild}`);
      if (p.channel !== undefined && info.channelId !== p.channel) throw refuse('forbidden', `this session is limited to channel ${p.channel}`);
    }
    // One more than asked tells whether older lines were left out.
    const rows = await deps.store.listTranscripts({
      provider: q.provider, tenant: p.tenant, session_id: sessionId, final_only: true, newest: true, limit: q.limit + 1,
      ...(q.speaker ? { speaker_id: q.speaker } : {}), ...(q.from_ns ? { from_ns: q.from_ns } : {}), ...(q.to_ns ? { to_ns: q.to_ns } : {}),
    });
    const truncated = rows.length > q.limit;
    counters.history++;
    return c.json({ session_id: sessionId, lines: (truncated ? rows.slice(1) : rows).map(lineView), truncated });
  });

  app.delete('/api/transcripts/speakers/:user_id', async (c) => {
    const p = await session(c);
    if (p.role !== 'owner') throw refuse('forbidden', 'only an owner may delete a user’s transcripts');
    const userId = parse(Id, c.req.param('user_id'), 'user_id');
    const { provider } = parse(ProviderQuery, c.req.query(), 'query');
    const limited = p.guild !== undefined || p.channel !== undefined;
    // An owner limited to a guild reaches the sessions known to be in it (a channel limit narrows further).
    if (limited && p.guild === undefined) throw refuse('forbidden', 'a session limited to a channel but no guild cannot delete transcripts');
    const sessionIds = limited ? await deps.scopes.sessionsOf(provider, p.tenant, p.guild!, p.channel) : undefined;
    const scope = limited ? { kind: 'guild' as const, guild_id: p.guild!, ...(p.channel ? { channel_id: p.channel } : {}), sessions: sessionIds!.length } : { kind: 'tenant' as const };
    const actor = principalKey(p);
    const base = { provider, tenant: p.tenant, guild_id: p.guild ?? null, channel_id: p.channel ?? null, actor };
    let audit: { id: string };
    try {
      audit = await deps.store.appendAudit({ ...base, action: 'transcripts.delete', detail: { user_id: userId, scope, role: p.role, ...(p.name ? { name: p.name } : {}) } });
    } catch (cause) {
      throw refuse('unavailable', 'the deletion could not be written to the audit log, so nothing was deleted; check the store and try again', { cause });
    }
    const deleted = await deps.store.deleteSpeakerTranscripts({ provider, tenant: p.tenant, ...(sessionIds ? { session_ids: sessionIds } : {}) }, userId);
    counters.deletions++;
    counters.deletedRows += deleted;
    // How many went is on record too; the deletion stands even if this second row cannot be written.
    await deps.store
      .appendAudit({ ...base, action: 'transcripts.deleted', detail: { user_id: userId, deleted, request_audit_id: audit.id } })
      .catch((error: unknown) => deps.log?.(`transcripts: deleted ${deleted} rows of ${userId} but could not record the count: ${(error as Error).message}`));
    return c.json({ user_id: userId, deleted, scope, audit_id: audit.id });
  });

  return counters;
}
