/**
 * The bulk load path for messages (history backfill, imports): the semantics of `indexMessages` — a
 * key repeated in one call counts once with its last occurrence, a conflict never clears a deletion
 * mark, never replaces a newer edit and never clears a known thread — with a cheaper way in:
 *
 * 1. every row is validated with the same schema as `indexMessages` (a bad row rejects the call
 *    before anything is written; a value the schema admits but the database refuses, such as a
 *    timestamp in year 0, rolls the call back and is a StoreInputError too, naming the row and
 *    column where COPY says which);
 * 2. the rows are staged in a temporary table (`ON COMMIT DROP`: no WAL, no index). Where the driver
 *    can feed COPY input (PGlite: `COPY … FROM '/dev/blob'`; PostgreSQL: `COPY … FROM STDIN` through
 *    pg-copy-streams, postgres-copy.ts), they are encoded once as CSV and loaded with one `COPY`;
 *    otherwise (or with `forceUnnest`) with `INSERT … SELECT FROM unnest(…)` per `stageBatchSize` rows;
 * 3. one `INSERT … SELECT … ON CONFLICT DO UPDATE` merges the staging table into `messages`.
 *
 * All of it runs in one transaction. The result carries the time spent in each step, so a benchmark
 * can say where the ceiling is (validation, encoding, loading, merging into the indexed table).
 */
import { z } from 'zod';
import type { SqlClient, SqlQueryable } from './sql.ts';
import type { UpsertResult } from './store.ts';
import { parseInput } from './schemas.ts';
import { StoreError, StoreInputError } from './errors.ts';
import { IndexMessageSchema, type IndexMessageInput } from './text-index.ts';

export interface BulkIndexOptions {
  /** Rows per staging `INSERT … unnest(…)` where the driver cannot COPY. */
  stageBatchSize: number;
  /** Most rows one call accepts (the whole call is held in memory as CSV text). */
  maxRows: number;
  /** Stage with unnest even where the driver can COPY (benchmarks compare the two). */
  forceUnnest: boolean;
}

export const defaultBulkIndexOptions: BulkIndexOptions = { stageBatchSize: 10_000, maxRows: 1_000_000, forceUnnest: false };

/** Milliseconds spent in each step of one call. */
export interface BulkTimings {
  validate_ms: number;
  /** Building the CSV text (zero when staging with unnest). */
  encode_ms: number;
  /** COPY (or the unnest inserts) into the staging table. */
  load_ms: number;
  /** The one INSERT … SELECT … ON CONFLICT into `messages`. */
  merge_ms: number;
}

export interface BulkIndexResult extends UpsertResult {
  /** How the rows reached the staging table. */
  method: 'copy' | 'unnest';
  timings: BulkTimings;
}

export interface BulkCounters {
  /** Calls rejected with StoreInputError. */
  rejectedInputs: number;
  /** Calls that committed. */
  loads: number;
  /** Distinct rows those calls carried. */
  rows: number;
}

type ParsedRow = z.output<typeof IndexMessageSchema>;

/** Staging and target columns, in COPY / unnest parameter order. */
const COLUMNS = ['provider', 'tenant', 'foreign_id', 'space_id', 'channel_id', 'author_id', 'content', 'created_at', 'edited_at', 'raw', 'thread_id'] as const;
const STAGE = 'promethean_bulk_messages';

const CREATE_STAGE = `
CREATE TEMP TABLE ${STAGE} (
  provider text NOT NULL, tenant text NOT NULL, foreign_id text NOT NULL, space_id text NOT NULL,
  channel_id text NOT NULL, author_id text NOT NULL, content text NOT NULL, created_at timestamptz NOT NULL,
  edited_at timestamptz, raw jsonb NOT NULL, thread_id text
) ON COMMIT DROP`;

const STAGE_UNNEST = `
INSERT INTO ${STAGE} (${COLUMNS.join(', ')})
SELECT p, t, f, s, c, a, body, ca::timestamptz, ea::timestamptz, r::jsonb, th
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
  AS u(p, t, f, s, c, a, body, ca, ea, r, th)`;

/**
 * The conflict rule of `indexMessages` (text-index.ts), reading from the staging table; the bulk
 * tests hold the two paths to the same rows and counts on both drivers.
 */
const MERGE = `
WITH up AS (
  INSERT INTO messages AS m (${COLUMNS.join(', ')})
  SELECT ${COLUMNS.join(', ')} FROM ${STAGE}
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

/**
 * One CSV field in PostgreSQL's CSV format: NULL is an unquoted empty field; every value is quoted
 * (so an empty string, a comma, a newline or a lone `\.` line stays data) with quotes doubled.
 * Written here because the format is four lines and a CSV library would add a dependency for it.
 */
function field(v: string | null): string {
  if (v === null) return '';
  return v.includes('"') ? `"${v.replaceAll('"', '""')}"` : `"${v}"`;
}

/** The rows as one CSV text, columns in COLUMNS order. */
export function messagesCsv(rows: readonly ParsedRow[]): string {
  let out = '';
  for (const m of rows) {
    out += `${field(m.provider)},${field(m.tenant)},${field(m.foreign_id)},${field(m.space_id)},${field(m.channel_id)},${field(m.author_id)},`
      + `${field(m.content)},${field(m.created_at)},${field(m.edited_at)},${field(m.raw)},${field(m.thread_id)}\n`;
  }
  return out;
}

/**
 * A value the schema let through but the database refused (SQLSTATE class 22, data exception: e.g. a
 * timestamp in year 0) as a StoreInputError. COPY names the input line (and column) in the error's
 * context (`COPY <table>, line N, column c: …`); line N is the N-th staged row, `order[N - 1]` its
 * index in the caller's rows. Without a line (unnest staging, the merge) the path is `rows`.
 */
function valueRefused(err: unknown, order: readonly number[]): StoreInputError | undefined {
  const e = err as { code?: unknown; where?: unknown; message?: unknown };
  if (typeof e?.code !== 'string' || !e.code.startsWith('22')) return undefined;
  const at = typeof e.where === 'string' ? /\bCOPY \w+, line (\d+)(?:, column (\w+))?/.exec(e.where) : null;
  const index = at ? order[Number(at[1]) - 1] : undefined;
  const path = index === undefined ? 'rows' : `rows.${index}${at?.[2] ? `.${at[2]}` : ''}`;
  return new StoreInputError(`${path}: ${String(e.message)}`, { path, cause: err });
}

/** The bulk path over one SqlClient (a store's `sql`); see the file comment. */
export class BulkMessageLoader {
  readonly options: BulkIndexOptions;
  readonly #sql: SqlClient;
  readonly #counters: BulkCounters = { rejectedInputs: 0, loads: 0, rows: 0 };

  constructor(sql: SqlClient, options: Partial<BulkIndexOptions> = {}) {
    this.#sql = sql;
    this.options = { ...defaultBulkIndexOptions, ...options };
  }

  get counters(): Readonly<BulkCounters> {
    return { ...this.#counters };
  }

  /** Inserts or updates messages like `Store.indexMessages`, staged and merged in one transaction. */
  async indexMessages(rows: readonly IndexMessageInput[]): Promise<BulkIndexResult> {
    const onReject = () => this.#counters.rejectedInputs++;
    if (!Array.isArray(rows)) parseInput(z.array(z.unknown()), rows, 'rows', onReject);
    if (rows.length > this.options.maxRows) {
      onReject();
      throw new StoreInputError(`rows: at most ${this.options.maxRows} rows per bulk call, got ${rows.length}`, { path: 'rows' });
    }
    const timings: BulkTimings = { validate_ms: 0, encode_ms: 0, load_ms: 0, merge_ms: 0 };
    let t0 = performance.now();
    // Key → index in `rows` of its last occurrence (the row staged); staging order is first-seen order.
    const unique = new Map<string, number>();
    const parsed: ParsedRow[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const m = parseInput(IndexMessageSchema, rows[i], `rows.${i}`, onReject);
      parsed[i] = m;
      unique.set(`${m.provider}\u0000${m.tenant}\u0000${m.foreign_id}`, i);
    }
    const order = [...unique.values()];
    const all = order.map((i) => parsed[i]!);
    timings.validate_ms = performance.now() - t0;
    const copy = this.#sql.copyCsv !== undefined && !this.options.forceUnnest;
    const result: BulkIndexResult = { inserted: 0, updated: 0, unchanged: 0, method: copy ? 'copy' : 'unnest', timings };
    if (all.length === 0) return result;
    let csv: string | undefined;
    if (copy) {
      t0 = performance.now();
      csv = messagesCsv(all);
      timings.encode_ms = performance.now() - t0;
    }
    try {
      await this.#sql.transaction(async (tx) => {
        await tx.exec(CREATE_STAGE);
        t0 = performance.now();
        const staged = csv !== undefined ? await tx.copyCsv!(STAGE, COLUMNS, csv) : await this.#stageUnnest(tx, all);
        if (staged !== all.length) throw new StoreError(`bulk load staged ${staged} of ${all.length} rows`);
        timings.load_ms = performance.now() - t0;
        t0 = performance.now();
        const r = await tx.query<{ inserted: number; updated: number }>(MERGE);
        timings.merge_ms = performance.now() - t0;
        result.inserted = Number(r.rows[0]?.inserted ?? 0);
        result.updated = Number(r.rows[0]?.updated ?? 0);
        result.unchanged = all.length - result.inserted - result.updated;
      });
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const refused = valueRefused(err, order);
      if (refused) {
        onReject();
        throw refused;
      }
      throw new StoreError(`bulk indexMessages() failed: ${(err as Error).message}`, { cause: err });
    }
    this.#counters.loads++;
    this.#counters.rows += all.length;
    return result;
  }

  async #stageUnnest(tx: SqlQueryable, all: readonly ParsedRow[]): Promise<number> {
    let staged = 0;
    for (let start = 0; start < all.length; start += this.options.stageBatchSize) {
      const batch = all.slice(start, start + this.options.stageBatchSize);
      const r = await tx.query(STAGE_UNNEST, COLUMNS.map((k) => batch.map((row) => row[k] ?? null)));
      staged += r.rowCount;
    }
    return staged;
  }
}
