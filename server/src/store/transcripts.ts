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
}

const Id = z.string().min(1).max(128).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const QuerySchema = TenantScopeSchema.extend({ session_id: Id, speaker_id: Id.optional(), limit: z.number().int().min(1).max(10_000).default(500) });
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
const LIST = `
SELECT ${COLUMNS} FROM transcript_segments
WHERE provider = $1 AND tenant = $2 AND session_id = $3 AND ($4::text IS NULL OR speaker_id = $4)
ORDER BY start_ns, foreign_id LIMIT $5`;
const DELETE_SPEAKER = 'DELETE FROM transcript_segments WHERE provider = $1 AND tenant = $2 AND speaker_id = $3';
const PURGE_BEFORE = 'DELETE FROM transcript_segments WHERE provider = $1 AND tenant = $2 AND transcribed_at < $3::timestamptz';
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
    const r = await this.#sql.query(LIST, [q.provider, q.tenant, q.session_id, q.speaker_id ?? null, q.limit]);
    return r.rows.map(toTranscriptRow);
  }

  async deleteSpeakerTranscripts(scope: TenantScope, speakerId: string): Promise<number> {
    const s = this.#parse(TenantScopeSchema, scope, 'scope');
    const u = this.#parse(SpeakerSchema, speakerId, 'speakerId');
    return (await this.#sql.query(DELETE_SPEAKER, [s.provider, s.tenant, u])).rowCount;
  }

  async purgeTranscriptsBefore(scope: TenantScope, cutoff: Date | string): Promise<number> {
    const s = this.#parse(TenantScopeSchema, scope, 'scope');
    const c = this.#parse(CutoffSchema, cutoff, 'cutoff');
    return (await this.#sql.query(PURGE_BEFORE, [s.provider, s.tenant, c])).rowCount;
  }

  async transcriptTenants(limit = 10_000): Promise<TenantScope[]> {
    const n = this.#parse(z.number().int().min(1).max(100_000), limit, 'limit');
    const r = await this.#sql.query<{ provider: string; tenant: string }>(TENANTS, [n]);
    return r.rows.map((row) => ({ provider: String(row.provider), tenant: String(row.tenant) }));
  }
}
