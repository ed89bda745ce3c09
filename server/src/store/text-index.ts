/**
 * The text layer's part of the store (migration 005): indexed messages (thread, deletion mark, content
 * hash), the bulk index path, edits, deletes, retention, exact-phrase search, attachment metadata
 * deduplicated by sha-256, and resumable backfill jobs. `SqlStore` delegates here, as it does to
 * `AuditLog`, so the SQL of one area stays in one file.
 */
import { z } from 'zod';
import { ID_TOKEN_RE } from '@promethean/shared';
import { columnsOf, type SqlClient, type SqlQueryable } from './sql.ts';
import type { MessageKey, MessageRow, TenantScope, UpsertResult } from './store.ts';
import { MessageSchema, Timestamp, parseInput } from './schemas.ts';
import { toIso, toMessageRow } from './rows.ts';

/** A message as the indexers store it: the message row plus the thread it belongs to. */
export type IndexMessageInput = z.input<typeof IndexMessageSchema>;

/** A stored message with the index's columns. */
export interface IndexedMessageRow extends MessageRow {
  thread_id: string | null;
  /** When a deletion was seen; null while the message exists. */
  deleted_at: string | null;
  /** sha-256 (hex) of the UTF-8 content, computed by the database. */
  content_hash: string;
}

/** An edit seen live (MESSAGE_UPDATE): new content as of `edited_at`. */
export interface MessageEdit extends MessageKey {
  content: string;
  edited_at: string | Date;
}

/** `stale`: the stored row already holds an edit at least as new; `missing`: no such message. */
export type EditResult = 'updated' | 'unchanged' | 'stale' | 'missing';

export interface TextSearchQuery extends TenantScope {
  /** Matched as an exact phrase, case-insensitively, anywhere in the content. */
  phrase: string;
  /** Only these guilds (`space_id`); absent = every guild. */
  guild_ids?: readonly string[];
  /** Only these channels; absent = every channel. */
  channel_ids?: readonly string[];
  /** Newest first; at most this many (default 50, at most 500). */
  limit?: number;
}

export type AttachmentStatus = 'stored' | 'oversize' | 'failed';

export interface AttachmentInput extends MessageKey {
  message_id: string;
  channel_id?: string | null;
  filename?: string | null;
  /** What the provider said the type was. */
  declared_type?: string | null;
  declared_size?: number | null;
  status: AttachmentStatus;
  /** With status `stored`: the bytes' hash, size and sniffed type. */
  sha256?: string | null;
  size?: number | null;
  content_type?: string | null;
  error?: string | null;
}

export interface AttachmentRow extends MessageKey {
  message_id: string;
  channel_id: string | null;
  filename: string | null;
  declared_type: string | null;
  declared_size: number | null;
  status: AttachmentStatus;
  sha256: string | null;
  size: number | null;
  content_type: string | null;
  error: string | null;
}

/** `blob`: whether the bytes' hash was new to the store (`none` when nothing was stored). */
export interface AttachmentPutResult {
  blob: 'new' | 'known' | 'none';
}

export interface BackfillJobInput extends TenantScope {
  job_id: string;
  channel_id: string;
  before?: string | null;
  after?: string | null;
  max_messages: number;
}

export type BackfillStatus = 'running' | 'done' | 'error';

export interface BackfillJobRow extends TenantScope {
  job_id: string;
  channel_id: string;
  status: BackfillStatus;
  before: string | null;
  after: string | null;
  max_messages: number;
  /** The cursor: the next page is fetched with `before=next_before`. */
  next_before: string | null;
  fetched: number;
  duplicates: number;
  oldest_id: string | null;
  reason: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface BackfillJobUpdate extends TenantScope {
  job_id: string;
  status: BackfillStatus;
  next_before: string | null;
  fetched: number;
  duplicates: number;
  oldest_id?: string | null;
  reason?: string | null;
  error?: string | null;
}

const Text = z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const Id = Text.pipe(z.string().min(1).max(128));
const OptId = Id.nullish().transform((v) => v ?? null);
const Token = z.string().regex(ID_TOKEN_RE, 'must match [a-z0-9_-]+').max(64);
const Snowflake = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'must be a decimal id');
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha-256 hash as 64 lowercase hex digits');

export const IndexMessageSchema = MessageSchema.extend({ thread_id: OptId });
type ParsedIndexMessage = z.output<typeof IndexMessageSchema>;

const Scope = z.object({ provider: Token, tenant: Token });
const KeySchema = Scope.extend({ foreign_id: Id });
const EditSchema = KeySchema.extend({ content: Text.pipe(z.string().max(100_000)), edited_at: Timestamp });
const IdsSchema = z.array(Id).max(10_000);
const SearchSchema = Scope.extend({
  phrase: Text.pipe(z.string().trim().min(1).max(500)),
  guild_ids: z.array(Id).max(1000).optional(),
  channel_ids: z.array(Id).max(1000).optional(),
  limit: z.number().int().min(1).max(500).default(50),
});
const AttachmentSchema = KeySchema.extend({
  message_id: Id,
  channel_id: OptId,
  filename: Text.pipe(z.string().max(1024)).nullish().transform((v) => v ?? null),
  declared_type: Text.pipe(z.string().max(255)).nullish().transform((v) => v ?? null),
  declared_size: z.number().int().nonnegative().nullish().transform((v) => v ?? null),
  status: z.enum(['stored', 'oversize', 'failed']),
  sha256: Sha256.nullish().transform((v) => v ?? null),
  size: z.number().int().nonnegative().nullish().transform((v) => v ?? null),
  content_type: Text.pipe(z.string().min(1).max(255)).nullish().transform((v) => v ?? null),
  error: Text.pipe(z.string().max(2000)).nullish().transform((v) => v ?? null),
}).refine((a) => (a.status === 'stored') === (a.sha256 !== null && a.size !== null && a.content_type !== null), {
  message: 'sha256, size and content_type are required exactly when status is stored',
  path: ['status'],
});
const JobKeySchema = Scope.extend({ job_id: Text.pipe(z.string().min(1).max(128)) });
const JobSchema = JobKeySchema.extend({
  channel_id: Id,
  before: Snowflake.nullish().transform((v) => v ?? null),
  after: Snowflake.nullish().transform((v) => v ?? null),
  max_messages: z.number().int().min(1).max(1_000_000),
});
const JobUpdateSchema = JobKeySchema.extend({
  status: z.enum(['running', 'done', 'error']),
  next_before: Snowflake.nullable(),
  fetched: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  oldest_id: Snowflake.nullish().transform((v) => v ?? null),
  reason: Text.pipe(z.string().max(64)).nullish().transform((v) => v ?? null),
  error: Text.pipe(z.string().max(2000)).nullish().transform((v) => v ?? null),
});
const CutoffSchema = Timestamp;

const COLUMNS = 'provider, tenant, foreign_id, space_id, channel_id, author_id, content, created_at, edited_at, raw, thread_id';
const INDEXED_COLUMNS = `${COLUMNS}, deleted_at, content_hash`;

/**
 * Eleven parallel arrays unnested into rows. Unlike `upsertMessages`, a conflict leaves `deleted_at`
 * alone (a backfill page fetched before a live delete cannot bring the message back) and keeps the
 * stored content when it carries a newer edit than the incoming row.
 */
const INDEX_MESSAGES = `
WITH up AS (
  INSERT INTO messages AS m (${COLUMNS})
  SELECT p, t, f, s, c, a, body, ca::timestamptz, ea::timestamptz, r::jsonb, th
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
    AS u(p, t, f, s, c, a, body, ca, ea, r, th)
  ON CONFLICT (provider, tenant, foreign_id) DO UPDATE SET
    space_id = EXCLUDED.space_id, channel_id = EXCLUDED.channel_id, author_id = EXCLUDED.author_id,
    content = EXCLUDED.content, created_at = EXCLUDED.created_at, edited_at = EXCLUDED.edited_at,
    raw = EXCLUDED.raw, thread_id = coalesce(EXCLUDED.thread_id, m.thread_id), stored_at = now()
  WHERE (m.space_id, m.channel_id, m.author_id, m.content, m.created_at, m.edited_at, m.raw, coalesce(EXCLUDED.thread_id, m.thread_id))
      IS DISTINCT FROM (EXCLUDED.space_id, EXCLUDED.channel_id, EXCLUDED.author_id, EXCLUDED.content,
                        EXCLUDED.created_at, EXCLUDED.edited_at, EXCLUDED.raw, m.thread_id)
    AND (m.edited_at IS NULL OR (EXCLUDED.edited_at IS NOT NULL AND EXCLUDED.edited_at >= m.edited_at))
  RETURNING (xmax = 0) AS inserted
)
SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated FROM up`;

const SELECT_INDEXED = `SELECT ${INDEXED_COLUMNS} FROM messages WHERE provider = $1 AND tenant = $2 AND foreign_id = $3`;

/** One statement: the stored row's state before, and whether this edit applied. */
const EDIT_MESSAGE = `
WITH old AS (SELECT content, edited_at FROM messages WHERE provider = $1 AND tenant = $2 AND foreign_id = $3),
upd AS (
  UPDATE messages AS m SET content = $4, edited_at = $5::timestamptz, stored_at = now()
  WHERE m.provider = $1 AND m.tenant = $2 AND m.foreign_id = $3
    AND (m.edited_at IS NULL OR m.edited_at < $5::timestamptz) AND m.content IS DISTINCT FROM $4
  RETURNING 1
)
SELECT (SELECT count(*) FROM old)::int AS found, (SELECT count(*) FROM upd)::int AS updated,
       (SELECT count(*) FROM old WHERE edited_at IS NOT NULL AND edited_at >= $5::timestamptz AND content IS DISTINCT FROM $4)::int AS stale`;

const MARK_DELETED = `
UPDATE messages SET deleted_at = coalesce($4::timestamptz, now())
WHERE provider = $1 AND tenant = $2 AND foreign_id = ANY($3::text[]) AND deleted_at IS NULL`;

const PURGE_BEFORE = 'DELETE FROM messages WHERE provider = $1 AND tenant = $2 AND created_at < $3::timestamptz';

/** `strpos(lower(…))` rather than LIKE: the phrase needs no escaping of `%` and `_`. */
const SEARCH_TEXT = `
SELECT ${INDEXED_COLUMNS} FROM messages
WHERE provider = $1 AND tenant = $2 AND deleted_at IS NULL
  AND ($3::text[] IS NULL OR space_id = ANY($3::text[]))
  AND ($4::text[] IS NULL OR channel_id = ANY($4::text[]))
  AND strpos(lower(content), lower($5)) > 0
ORDER BY created_at DESC, foreign_id DESC LIMIT $6`;

const PUT_BLOB = `
INSERT INTO attachment_blobs (sha256, size, content_type) VALUES ($1, $2::bigint, $3)
ON CONFLICT (sha256) DO NOTHING RETURNING 1`;
const PUT_ATTACHMENT = `
INSERT INTO attachments (provider, tenant, foreign_id, message_id, channel_id, filename, declared_type, declared_size, status, sha256, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint, $9, $10, $11)
ON CONFLICT (provider, tenant, foreign_id) DO UPDATE SET
  message_id = EXCLUDED.message_id, channel_id = EXCLUDED.channel_id, filename = EXCLUDED.filename,
  declared_type = EXCLUDED.declared_type, declared_size = EXCLUDED.declared_size, status = EXCLUDED.status,
  sha256 = EXCLUDED.sha256, error = EXCLUDED.error, indexed_at = now()`;
const SELECT_ATTACHMENT = `
SELECT a.provider, a.tenant, a.foreign_id, a.message_id, a.channel_id, a.filename, a.declared_type, a.declared_size,
       a.status, a.sha256, a.error, b.size, b.content_type
FROM attachments a LEFT JOIN attachment_blobs b USING (sha256)
WHERE a.provider = $1 AND a.tenant = $2 AND a.foreign_id = $3`;

const JOB_COLUMNS = `provider, tenant, job_id, channel_id, status, before_id, after_id, max_messages, next_before, fetched,
  duplicates, oldest_id, reason, error, created_at, updated_at`;
const INSERT_JOB = `
INSERT INTO backfill_jobs (provider, tenant, job_id, channel_id, status, before_id, after_id, max_messages, next_before)
VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $5)
ON CONFLICT (provider, tenant, job_id) DO NOTHING RETURNING ${JOB_COLUMNS}`;
const SELECT_JOB = `SELECT ${JOB_COLUMNS} FROM backfill_jobs WHERE provider = $1 AND tenant = $2 AND job_id = $3`;
const UPDATE_JOB = `
UPDATE backfill_jobs SET status = $4, next_before = $5, fetched = $6, duplicates = $7, oldest_id = coalesce($8, oldest_id),
  reason = $9, error = $10, updated_at = now()
WHERE provider = $1 AND tenant = $2 AND job_id = $3 RETURNING ${JOB_COLUMNS}`;
const RUNNING_JOBS = `SELECT ${JOB_COLUMNS} FROM backfill_jobs WHERE status = 'running' ORDER BY created_at, job_id LIMIT $1`;

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function toIndexedRow(r: Record<string, unknown>): IndexedMessageRow {
  return {
    ...toMessageRow(r),
    thread_id: str(r.thread_id),
    deleted_at: r.deleted_at === null || r.deleted_at === undefined ? null : toIso(r.deleted_at),
    content_hash: String(r.content_hash),
  };
}

function toAttachmentRow(r: Record<string, unknown>): AttachmentRow {
  return {
    provider: String(r.provider),
    tenant: String(r.tenant),
    foreign_id: String(r.foreign_id),
    message_id: String(r.message_id),
    channel_id: str(r.channel_id),
    filename: str(r.filename),
    declared_type: str(r.declared_type),
    declared_size: num(r.declared_size),
    status: String(r.status) as AttachmentStatus,
    sha256: str(r.sha256),
    size: num(r.size),
    content_type: str(r.content_type),
    error: str(r.error),
  };
}

function toJobRow(r: Record<string, unknown>): BackfillJobRow {
  return {
    provider: String(r.provider),
    tenant: String(r.tenant),
    job_id: String(r.job_id),
    channel_id: String(r.channel_id),
    status: String(r.status) as BackfillStatus,
    before: str(r.before_id),
    after: str(r.after_id),
    max_messages: Number(r.max_messages),
    next_before: str(r.next_before),
    fetched: Number(r.fetched),
    duplicates: Number(r.duplicates),
    oldest_id: str(r.oldest_id),
    reason: str(r.reason),
    error: str(r.error),
    created_at: toIso(r.created_at),
    updated_at: toIso(r.updated_at),
  };
}

/** The columns of INDEX_MESSAGES, in its parameter order. */
const INDEX_COLUMNS = ['provider', 'tenant', 'foreign_id', 'space_id', 'channel_id', 'author_id', 'content', 'created_at', 'edited_at', 'raw', 'thread_id'] as const;

/** The text index over one SqlClient; every method validates first (`onReject` counts refusals). */
export class TextIndex {
  readonly #sql: SqlClient;
  readonly #onReject: () => void;
  readonly #batchSize: number;

  constructor(sql: SqlClient, batchSize: number, onReject: () => void) {
    this.#sql = sql;
    this.#batchSize = batchSize;
    this.#onReject = onReject;
  }

  #parse<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
    return parseInput(schema, value, path, this.#onReject);
  }

  async indexMessages(rows: readonly IndexMessageInput[]): Promise<UpsertResult> {
    if (!Array.isArray(rows)) this.#parse(z.array(z.unknown()), rows, 'rows');
    const unique = new Map<string, ParsedIndexMessage>();
    for (let i = 0; i < rows.length; i++) {
      const m = this.#parse(IndexMessageSchema, rows[i], `rows.${i}`);
      unique.set(`${m.provider}\u0000${m.tenant}\u0000${m.foreign_id}`, m);
    }
    const all = [...unique.values()];
    const result: UpsertResult = { inserted: 0, updated: 0, unchanged: 0 };
    if (all.length === 0) return result;
    const write = async (tx: SqlQueryable) => {
      for (let start = 0; start < all.length; start += this.#batchSize) {
        const batch = all.slice(start, start + this.#batchSize);
        const r = await tx.query<{ inserted: number; updated: number }>(INDEX_MESSAGES, columnsOf(batch, INDEX_COLUMNS));
        const inserted = Number(r.rows[0]?.inserted ?? 0);
        const updated = Number(r.rows[0]?.updated ?? 0);
        result.inserted += inserted;
        result.updated += updated;
        result.unchanged += batch.length - inserted - updated;
      }
    };
    if (all.length <= this.#batchSize) await write(this.#sql);
    else await this.#sql.transaction(write);
    return result;
  }

  async getIndexedMessage(key: MessageKey): Promise<IndexedMessageRow | undefined> {
    const k = this.#parse(KeySchema, key, 'key');
    const r = await this.#sql.query(SELECT_INDEXED, [k.provider, k.tenant, k.foreign_id]);
    return r.rows[0] ? toIndexedRow(r.rows[0]) : undefined;
  }

  async editMessage(edit: MessageEdit): Promise<EditResult> {
    const e = this.#parse(EditSchema, edit, 'edit');
    const r = await this.#sql.query<{ found: number; updated: number; stale: number }>(EDIT_MESSAGE, [e.provider, e.tenant, e.foreign_id, e.content, e.edited_at]);
    const row = r.rows[0]!;
    if (Number(row.found) === 0) return 'missing';
    if (Number(row.updated) > 0) return 'updated';
    return Number(row.stale) > 0 ? 'stale' : 'unchanged';
  }

  async markMessagesDeleted(scope: TenantScope, ids: readonly string[], at?: Date): Promise<number> {
    const s = this.#parse(Scope, scope, 'scope');
    const list = this.#parse(IdsSchema, ids, 'ids');
    if (list.length === 0) return 0;
    const when = at === undefined ? null : this.#parse(Timestamp, at, 'at');
    const r = await this.#sql.query(MARK_DELETED, [s.provider, s.tenant, list, when]);
    return r.rowCount;
  }

  async purgeMessagesBefore(scope: TenantScope, cutoff: Date | string): Promise<number> {
    const s = this.#parse(Scope, scope, 'scope');
    const c = this.#parse(CutoffSchema, cutoff, 'cutoff');
    const r = await this.#sql.query(PURGE_BEFORE, [s.provider, s.tenant, c]);
    return r.rowCount;
  }

  async searchMessageText(query: TextSearchQuery): Promise<IndexedMessageRow[]> {
    const q = this.#parse(SearchSchema, query, 'query');
    const r = await this.#sql.query(SEARCH_TEXT, [q.provider, q.tenant, q.guild_ids ?? null, q.channel_ids ?? null, q.phrase, q.limit]);
    return r.rows.map(toIndexedRow);
  }

  async putAttachment(input: AttachmentInput): Promise<AttachmentPutResult> {
    const a = this.#parse(AttachmentSchema, input, 'attachment');
    return this.#sql.transaction(async (tx) => {
      let blob: AttachmentPutResult['blob'] = 'none';
      if (a.status === 'stored') {
        const b = await tx.query(PUT_BLOB, [a.sha256, String(a.size), a.content_type]);
        blob = b.rows.length > 0 ? 'new' : 'known';
      }
      await tx.query(PUT_ATTACHMENT, [
        a.provider, a.tenant, a.foreign_id, a.message_id, a.channel_id, a.filename, a.declared_type,
        a.declared_size === null ? null : String(a.declared_size), a.status, a.sha256, a.error,
      ]);
      return { blob };
    });
  }

  async getAttachment(key: MessageKey): Promise<AttachmentRow | undefined> {
    const k = this.#parse(KeySchema, key, 'key');
    const r = await this.#sql.query(SELECT_ATTACHMENT, [k.provider, k.tenant, k.foreign_id]);
    return r.rows[0] ? toAttachmentRow(r.rows[0]) : undefined;
  }

  async createBackfillJob(input: BackfillJobInput): Promise<{ created: boolean; job: BackfillJobRow }> {
    const j = this.#parse(JobSchema, input, 'job');
    const r = await this.#sql.query(INSERT_JOB, [j.provider, j.tenant, j.job_id, j.channel_id, j.before, j.after, j.max_messages]);
    if (r.rows[0]) return { created: true, job: toJobRow(r.rows[0]) };
    const existing = await this.#sql.query(SELECT_JOB, [j.provider, j.tenant, j.job_id]);
    return { created: false, job: toJobRow(existing.rows[0]!) };
  }

  async getBackfillJob(key: TenantScope & { job_id: string }): Promise<BackfillJobRow | undefined> {
    const k = this.#parse(JobKeySchema, key, 'key');
    const r = await this.#sql.query(SELECT_JOB, [k.provider, k.tenant, k.job_id]);
    return r.rows[0] ? toJobRow(r.rows[0]) : undefined;
  }

  async updateBackfillJob(update: BackfillJobUpdate): Promise<BackfillJobRow | undefined> {
    const u = this.#parse(JobUpdateSchema, update, 'update');
    const r = await this.#sql.query(UPDATE_JOB, [u.provider, u.tenant, u.job_id, u.status, u.next_before, u.fetched, u.duplicates, u.oldest_id, u.reason, u.error]);
    return r.rows[0] ? toJobRow(r.rows[0]) : undefined;
  }

  async listRunningBackfillJobs(limit = 1000): Promise<BackfillJobRow[]> {
    const n = this.#parse(z.number().int().min(1).max(10_000), limit, 'limit');
    const r = await this.#sql.query(RUNNING_JOBS, [n]);
    return r.rows.map(toJobRow);
  }
}
