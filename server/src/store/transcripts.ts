/**
 * Live transcripts' part of the store (migration 007): `duck.transcript.segment` rows upserted by
 * `{session_id}:{segment_id}` (a final result replaces a partial one, never the reverse), listed per
 * session, deleted per user, and purged per tenant by retention. `SqlStore` delegates here, as it
 * does to `TextIndex`, so the SQL of one area stays in one file.
 */
import { z } from 'zod';
import type { SqlClient } from './sql.ts';
import type { PutResult, TenantScope, TranscriptSegmentRow } from './store.ts';
import { TenantScopeSchema, Timestamp, TranscriptSegmentSchema, parseInput } from './schemas.ts';
import { toIso, toSegmentRow } from './rows.ts';

/** One recognised word: offsets in ms from the segment's `start_ns`. */
export interface TranscriptWordRow {
  word: string;
  start_ms: number;
  end_ms: number;
  p?: number;
}

const Word = z.strictObject({
  word: z.string().min(1).max(256).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters'),
  start_ms: z.number().nonnegative(),
  end_ms: z.number().nonnegative(),
  p: z.number().min(0).max(1).optional(),
});

const TranscriptSchema = TranscriptSegmentSchema.and(
  z.object({
    final: z.boolean(),
    words: z.array(Word).max(5000).default([]),
    tokens: z.number().int().nonnegative().max(1_000_000).nullish().transform((v) => v ?? null),
    rtf: z.number().nonnegative().nullish().transform((v) => v ?? null),
    /** When the transcript was made; now when absent. */
    transcribed_at: Timestamp.optional(),
  }),
);

/** A transcript segment to keep (`TranscriptSegmentInput` plus the live-transcript fields). */
export type TranscriptInput = z.input<typeof TranscriptSchema>;

/** A stored transcript with the live-transcript columns. */
export interface TranscriptRow extends TranscriptSegmentRow {
  final: boolean;
  words: TranscriptWordRow[];
  tokens: number | null;
  rtf: number | null;
  transcribed_at: string;
}

/** `stale`: a partial result for a segment whose final result is already stored (kept as it was). */
export type TranscriptPutResult = PutResult | 'stale';

export interface TranscriptQuery extends TenantScope {
  session_id: string;
  /** Only this speaker. */
  speaker_id?: string;
  /** In session-clock order; at most this many (default 500, at most 10,000). */
  limit?: number;
  /** Final results only (no partial a streaming recogniser may still revise). */
  final_only?: boolean;
  /** Only segments overlapping `[from_ns, to_ns)` on the session clock (decimal strings; either end may be open). */
  from_ns?: string;
  to_ns?: string;
  /** The `limit` newest (latest start) instead of the oldest, still listed in session-clock order. */
  newest?: boolean;
}

/** Where a voice session lives (migration 010): what guild-limited scope checks compare against. */
export interface TranscriptSessionInput extends TenantScope {
  session_id: string;
  guild_id: string;
  channel_id: string;
}

export interface TranscriptSessionRow extends TranscriptSessionInput {
  first_seen: string;
  last_seen: string;
}

export interface TranscriptSessionQuery extends TenantScope {
  guild_id: string;
  /** Only this channel's sessions. */
  channel_id?: string;
  /** At most this many, most recently seen first (default and maximum 10,000). */
  limit?: number;
}

/** Which of a user's transcripts to delete: the whole tenant, or only these sessions (a guild's). */
export interface SpeakerDeleteScope extends TenantScope {
  /** Only these sessions (at most 10,000); absent = every session of the tenant. */
  session_ids?: readonly string[];
}

const Id = z.string().min(1).max(128).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const Ns = z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'must be nanoseconds as a decimal string');
const QuerySchema = TenantScopeSchema.extend({
  session_id: Id,
  speaker_id: Id.optional(),
  limit: z.number().int().min(1).max(10_000).default(500),
  final_only: z.boolean().default(false),
  from_ns: Ns.optional(),
  to_ns: Ns.optional(),
  newest: z.boolean().default(false),
});
const DeleteScopeSchema = TenantScopeSchema.extend({ session_ids: z.array(Id).max(10_000).optional() });
const SessionInputSchema = TenantScopeSchema.extend({ session_id: Id, guild_id: Id, channel_id: Id });
const SessionKeySchema = TenantScopeSchema.extend({ session_id: Id });
const SessionQuerySchema = TenantScopeSchema.extend({ guild_id: Id, channel_id: Id.optional(), limit: z.number().int().min(1).max(10_000).default(10_000) });
const SpeakerSchema = Id;
const CutoffSchema = Timestamp;

const COLUMNS = `provider, tenant, foreign_id, session_id, segment_id, speaker_id, channel_id, text,
  start_ns::text AS start_ns, end_ns::text AS end_ns, lang, confidence, model, final, words, tokens, rtf, transcribed_at`;
/** What makes two results of one segment differ (transcribed_at aside: a redelivery is not a change). */
const CONTENT = ['speaker_id', 'channel_id', 'text', 'start_ns', 'end_ns', 'lang', 'confidence', 'model', 'final', 'words', 'tokens', 'rtf'];

const UPSERT = `
INSERT INTO transcript_segments AS s (provider, tenant, foreign_id, session_id, segment_id, speaker_id, channel_id, text,
  start_ns, end_ns, lang, confidence, model, final, words, tokens, rtf, transcribed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $10::bigint, $11, $12, $13, $14, $15::jsonb, $16, $17, $18::timestamptz)
ON CONFLICT (provider, tenant, foreign_id) DO UPDATE SET
  ${CONTENT.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, transcribed_at = EXCLUDED.transcribed_at, stored_at = now()
WHERE (EXCLUDED.final OR NOT s.final)
  AND (${CONTENT.map((c) => `s.${c}`).join(', ')}) IS DISTINCT FROM (${CONTENT.map((c) => `EXCLUDED.${c}`).join(', ')})
RETURNING (xmax = 0) AS inserted`;
const SELECT_FINAL = 'SELECT final FROM transcript_segments WHERE provider = $1 AND tenant = $2 AND foreign_id = $3';
const SELECT_ONE = `SELECT ${COLUMNS} FROM transcript_segments WHERE provider = $1 AND tenant = $2 AND foreign_id = $3`;
/** $6 final only; $7/$8 the span a row must overlap (NULL = open); $9 the newest instead of the oldest. */
const LIST = `
SELECT * FROM (
  SELECT ${COLUMNS}, start_ns AS sort_ns FROM transcript_segments
  WHERE provider = $1 AND tenant = $2 AND session_id = $3 AND ($4::text IS NULL OR speaker_id = $4)
    AND (NOT $6::boolean OR final)
    AND ($7::bigint IS NULL OR end_ns > $7::bigint OR start_ns >= $7::bigint)
    AND ($8::bigint IS NULL OR start_ns < $8::bigint)
  ORDER BY CASE WHEN $9::boolean THEN -start_ns ELSE start_ns END, CASE WHEN $9::boolean THEN foreign_id END DESC, foreign_id
  LIMIT $5
) picked ORDER BY sort_ns, foreign_id`;
const DELETE_SPEAKER = 'DELETE FROM transcript_segments WHERE provider = $1 AND tenant = $2 AND speaker_id = $3 AND ($4::text[] IS NULL OR session_id = ANY($4::text[]))';
const PURGE_BEFORE = 'DELETE FROM transcript_segments WHERE provider = $1 AND tenant = $2 AND transcribed_at < $3::timestamptz';
const SESSION_UPSERT = `
INSERT INTO transcript_sessions AS t (provider, tenant, session_id, guild_id, channel_id) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (provider, tenant, session_id) DO UPDATE SET guild_id = EXCLUDED.guild_id, channel_id = EXCLUDED.channel_id, last_seen = now()`;
const SESSION_COLUMNS = 'provider, tenant, session_id, guild_id, channel_id, first_seen, last_seen';
const SESSION_ONE = `SELECT ${SESSION_COLUMNS} FROM transcript_sessions WHERE provider = $1 AND tenant = $2 AND session_id = $3`;
const SESSIONS_OF = `
SELECT session_id FROM transcript_sessions
WHERE provider = $1 AND tenant = $2 AND guild_id = $3 AND ($4::text IS NULL OR channel_id = $4)
ORDER BY last_seen DESC, session_id LIMIT $5`;
const TENANTS = 'SELECT DISTINCT provider, tenant FROM transcript_segments ORDER BY provider, tenant LIMIT $1';

function toTranscriptRow(r: Record<string, unknown>): TranscriptRow {
  const words = typeof r.words === 'string' ? (JSON.parse(r.words) as TranscriptWordRow[]) : ((r.words ?? []) as TranscriptWordRow[]);
  return {
    ...toSegmentRow(r),
    final: r.final === true,
    words,
    tokens: r.tokens === null || r.tokens === undefined ? null : Number(r.tokens),
    rtf: r.rtf === null || r.rtf === undefined ? null : Number(r.rtf),
    transcribed_at: toIso(r.transcribed_at),
  };
}

export class TranscriptIndex {
  readonly #sql: SqlClient;
  readonly #onReject: () => void;

  constructor(sql: SqlClient, onReject: () => void) {
    this.#sql = sql;
    this.#onReject = onReject;
  }

  #parse<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
    return parseInput(schema, value, path, this.#onReject);
  }

  async upsertTranscript(input: TranscriptInput): Promise<TranscriptPutResult> {
    const t = this.#parse(TranscriptSchema, input, 'transcript');
    const foreignId = `${t.session_id}:${t.segment_id}`;
    return this.#sql.transaction(async (tx) => {
      const r = await tx.query<{ inserted: boolean }>(UPSERT, [
        t.provider, t.tenant, foreignId, t.session_id, t.segment_id, t.speaker_id, t.channel_id, t.text,
        t.start_ns, t.end_ns, t.lang, t.confidence, t.model, t.final, JSON.stringify(t.words), t.tokens, t.rtf,
        t.transcribed_at ?? new Date().toISOString(),
      ]);
      const row = r.rows[0];
      if (row) return row.inserted ? 'inserted' : 'updated';
      if (t.final) return 'unchanged';
      const stored = await tx.query<{ final: boolean }>(SELECT_FINAL, [t.provider, t.tenant, foreignId]);
      return stored.rows[0]?.final === true ? 'stale' : 'unchanged';
    });
  }

  async getTranscript(key: TenantScope & { foreign_id: string }): Promise<TranscriptRow | undefined> {
    const s = this.#parse(TenantScopeSchema.extend({ foreign_id: Id }), key, 'key');
    const r = await this.#sql.query(SELECT_ONE, [s.provider, s.tenant, s.foreign_id]);
    return r.rows[0] ? toTranscriptRow(r.rows[0]) : undefined;
  }

  async listTranscripts(query: TranscriptQuery): Promise<TranscriptRow[]> {
    const q = this.#parse(QuerySchema, query, 'query');
    const r = await this.#sql.query(LIST, [
      q.provider, q.tenant, q.session_id, q.speaker_id ?? null, q.limit, q.final_only, q.from_ns ?? null, q.to_ns ?? null, q.newest,
    ]);
    return r.rows.map(toTranscriptRow);
  }

  async deleteSpeakerTranscripts(scope: SpeakerDeleteScope, speakerId: string): Promise<number> {
    const s = this.#parse(DeleteScopeSchema, scope, 'scope');
    const u = this.#parse(SpeakerSchema, speakerId, 'speakerId');
    if (s.session_ids?.length === 0) return 0;
    return (await this.#sql.query(DELETE_SPEAKER, [s.provider, s.tenant, u, s.session_ids ?? null])).rowCount;
  }

  async purgeTranscriptsBefore(scope: TenantScope, cutoff: Date | string): Promise<number> {
    const s = this.#parse(TenantScopeSchema, scope, 'scope');
    const c = this.#parse(CutoffSchema, cutoff, 'cutoff');
    return (await this.#sql.query(PURGE_BEFORE, [s.provider, s.tenant, c])).rowCount;
  }

  /** Records (or moves) where a voice session lives. */
  async recordTranscriptSession(input: TranscriptSessionInput): Promise<void> {
    const s = this.#parse(SessionInputSchema, input, 'session');
    await this.#sql.query(SESSION_UPSERT, [s.provider, s.tenant, s.session_id, s.guild_id, s.channel_id]);
  }

  async getTranscriptSession(key: TenantScope & { session_id: string }): Promise<TranscriptSessionRow | undefined> {
    const k = this.#parse(SessionKeySchema, key, 'key');
    const r = await this.#sql.query(SESSION_ONE, [k.provider, k.tenant, k.session_id]);
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      provider: String(row.provider), tenant: String(row.tenant), session_id: String(row.session_id), guild_id: String(row.guild_id),
      channel_id: String(row.channel_id), first_seen: toIso(row.first_seen), last_seen: toIso(row.last_seen),
    };
  }

  /** The recorded sessions of a guild (and channel), most recently seen first. */
  async listTranscriptSessions(query: TranscriptSessionQuery): Promise<string[]> {
    const q = this.#parse(SessionQuerySchema, query, 'query');
    const r = await this.#sql.query<{ session_id: string }>(SESSIONS_OF, [q.provider, q.tenant, q.guild_id, q.channel_id ?? null, q.limit]);
    return r.rows.map((row) => String(row.session_id));
  }

  async transcriptTenants(limit = 10_000): Promise<TenantScope[]> {
    const n = this.#parse(z.number().int().min(1).max(100_000), limit, 'limit');
    const r = await this.#sql.query<{ provider: string; tenant: string }>(TENANTS, [n]);
    return r.rows.map((row) => ({ provider: String(row.provider), tenant: String(row.tenant) }));
  }
}
