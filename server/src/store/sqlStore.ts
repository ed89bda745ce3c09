/**
 * The one implementation of {@link Store} over a {@link SqlClient}. The drivers (`pglite.ts`,
 * `postgres.ts`) only open a client and say which they are.
 */
import { InvalidStateError, PrometheanError, UnsupportedError } from '@promethean/shared';

import type {
  AuditChainOptions, AuditChainQuery, AuditChainState, AuditChainUse, AuditQuery, AuditRecord, MessageKey,
  MessageMatch, MessageRow, MigrateResult, PutResult, Store, StoreCapabilities, StoreCounters, StoreDriver, TenantScope,
  TokenRow, TranscriptSegmentRow, UpsertResult,
} from './store.ts';
import { EMBEDDING_DIMENSIONS } from './store.ts';
import type { AuditInput, MessageInput, ParsedMessage, TokenInput, TranscriptSegmentInput } from './schemas.ts';
import {
  AuditChainQuerySchema, AuditQuerySchema, AuditSchema, MessageKeySchema, MessageSchema, ModelSchema, ReasonSchema,
  SearchKSchema, TenantScopeSchema, TokenHashSchema, TokenSchema, TranscriptSegmentSchema, parseInput,
} from './schemas.ts';
import { columnsOf, vectorLiteral } from './sql.ts';
import type { SqlClient } from './sql.ts';
import { StoreError, StoreInputError } from './errors.ts';
import { loadMigrations, runMigrations } from './migrate.ts';
import * as q from './queries.ts';
import { toAuditRecord, toMessageRow, toSegmentRow, toTokenRow } from './rows.ts';
import { z } from 'zod';

const TenantIdSchema = z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must match [a-z0-9_-]+');
const ListLimitSchema = z.number().int().min(1).max(10_000);
import { AuditLog } from './audit-log.ts';
import { TextIndex } from './text-index.ts';
import type {
  AttachmentInput, AttachmentPutResult, AttachmentRow, BackfillJobInput, BackfillJobRow, BackfillJobUpdate, EditResult,
  IndexMessageInput, IndexedMessageRow, MessageEdit, TextSearchQuery,
} from './text-index.ts';
import { AUDIT_KEY_BYTES } from './audit-chain.ts';
import { TranscriptIndex } from './transcripts.ts';
import type {
  SpeakerDeleteScope, TranscriptInput, TranscriptPutResult, TranscriptQuery, TranscriptRow, TranscriptSessionInput, TranscriptSessionQuery,
  TranscriptSessionRow,
} from './transcripts.ts';
import { ModerationStore } from './moderation.ts';
import { BrainSwitchStore, type BrainSwitchInput, type BrainSwitchQuery, type BrainSwitchRow } from './bot-brains.ts';
import type {
  ModerationFlagClip, ModerationFlagDecision, ModerationFlagInput, ModerationFlagQuery, ModerationFlagRow, ModerationRuleInput,
  ModerationRuleKey, ModerationRuleRow,
} from './moderation.ts';

export interface SqlStoreOptions {
  /** Rows per upsert statement (all batches of one call share a transaction). */
  batchSize: number;
  /** Folder of migration files; the bundled `migrations/` by default. */
  migrationsDir: string | undefined;
}

export const defaultSqlStoreOptions: SqlStoreOptions = { batchSize: 5000, migrationsDir: undefined };

export class SqlStore implements Store {
  readonly driver: StoreDriver;
  readonly capabilities: StoreCapabilities;
  readonly #counters: StoreCounters = { rejectedInputs: 0, connectionErrors: 0 };
  readonly #options: SqlStoreOptions;
  readonly #inflight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;
  #iterativeScan: boolean | undefined;
  readonly #audit: AuditLog;
  readonly #text: TextIndex;
  readonly #transcripts: TranscriptIndex;
  readonly #moderation: ModerationStore;
  readonly #brains: BrainSwitchStore;
  /** The SQL client; for tests and benchmarks that must reach past the interface. */
  readonly sql: SqlClient;

  constructor(driver: StoreDriver, sql: SqlClient, capabilities: StoreCapabilities, options: Partial<SqlStoreOptions> = {}) {
    this.driver = driver;
    this.sql = sql;
    this.capabilities = Object.freeze({ ...capabilities });
    this.#options = { ...defaultSqlStoreOptions, ...options };
    this.#audit = new AuditLog(sql);
    this.#text = new TextIndex(sql, this.#options.batchSize, () => this.#counters.rejectedInputs++);
    this.#transcripts = new TranscriptIndex(sql, () => this.#counters.rejectedInputs++);
    this.#moderation = new ModerationStore(sql, () => this.#counters.rejectedInputs++);
    this.#brains = new BrainSwitchStore(sql, () => this.#counters.rejectedInputs++);
  }

  /** Asks the database what it can do (pgvector available?). */
  static async detectCapabilities(sql: SqlClient): Promise<StoreCapabilities> {
    const r = await sql.query<{ available: boolean }>(q.VECTOR_AVAILABLE);
    return { vector: r.rows[0]?.available === true };
  }

  get counters(): Readonly<StoreCounters> {
    return { ...this.#counters };
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Called by a driver when an idle connection reports an error. */
  noteConnectionError(): void {
    this.#counters.connectionErrors++;
  }

  migrate(): Promise<MigrateResult> {
    return this.#run('migrate', async () => {
      const migrations = await loadMigrations(this.#options.migrationsDir);
      return runMigrations(this.sql, migrations, this.capabilities);
    });
  }

  upsertMessages(rows: readonly MessageInput[]): Promise<UpsertResult> {
    return this.#run('upsertMessages', async () => {
      if (!Array.isArray(rows)) throw this.#reject('rows: must be an array', 'rows');
      const unique = new Map<string, ParsedMessage>();
      for (let i = 0; i < rows.length; i++) {
        const m = this.#parse(MessageSchema, rows[i], `rows.${i}`);
        unique.set(`${m.provider}\u0000${m.tenant}\u0000${m.foreign_id}`, m);
      }
      const all = [...unique.values()];
      const result: UpsertResult = { inserted: 0, updated: 0, unchanged: 0 };
      if (all.length === 0) return result;
      const size = this.#options.batchSize;
      await this.sql.transaction(async (tx) => {
        for (let start = 0; start < all.length; start += size) {
          const batch = all.slice(start, start + size);
          const r = await tx.query<{ inserted: number; updated: number }>(q.UPSERT_MESSAGES, columnsOf(batch, UPSERT_COLUMNS));
          const inserted = Number(r.rows[0]?.inserted ?? 0);
          const updated = Number(r.rows[0]?.updated ?? 0);
          result.inserted += inserted;
          result.updated += updated;
          result.unchanged += batch.length - inserted - updated;
        }
      });
      return result;
    });
  }

  getMessage(key: MessageKey): Promise<MessageRow | undefined> {
    return this.#run('getMessage', async () => {
      const k = this.#parse(MessageKeySchema, key, 'key');
      const r = await this.sql.query(q.SELECT_MESSAGE, [k.provider, k.tenant, k.foreign_id]);
      return r.rows[0] ? toMessageRow(r.rows[0]) : undefined;
    });
  }

  countMessages(scope: TenantScope): Promise<number> {
    return this.#run('countMessages', async () => {
      const s = this.#parse(TenantScopeSchema, scope, 'scope');
      const r = await this.sql.query<{ n: number }>(q.COUNT_MESSAGES, [s.provider, s.tenant]);
      return Number(r.rows[0]?.n ?? 0);
    });
  }

  putTranscriptSegment(segment: TranscriptSegmentInput): Promise<PutResult> {
    return this.#run('putTranscriptSegment', async () => {
      const s = this.#parse(TranscriptSegmentSchema, segment, 'segment');
      const r = await this.sql.query<{ inserted: boolean }>(q.PUT_SEGMENT, [
        s.provider, s.tenant, `${s.session_id}:${s.segment_id}`, s.session_id, s.segment_id, s.speaker_id,
        s.channel_id, s.text, s.start_ns, s.end_ns, s.lang, s.confidence, s.model,
      ]);
      const row = r.rows[0];
      if (!row) return 'unchanged';
      return row.inserted ? 'inserted' : 'updated';
    });
  }

  getTranscriptSegment(key: MessageKey): Promise<TranscriptSegmentRow | undefined> {
    return this.#run('getTranscriptSegment', async () => {
      const k = this.#parse(MessageKeySchema, key, 'key');
      const r = await this.sql.query(q.SELECT_SEGMENT, [k.provider, k.tenant, k.foreign_id]);
      return r.rows[0] ? toSegmentRow(r.rows[0]) : undefined;
    });
  }

  appendAudit(entry: AuditInput): Promise<AuditRecord> {
    return this.#run('appendAudit', async () => this.#audit.append(this.#parse(AuditSchema, entry, 'entry')));
  }

  listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#run('listAudit', async () => {
      const a = this.#parse(AuditQuerySchema, query, 'query');
      const r = await this.sql.query(q.LIST_AUDIT, [
        a.provider, a.tenant, a.guild_id ?? null, a.channel_id ?? null, a.after_id ?? null, a.limit,
      ]);
      return r.rows.map(toAuditRecord);
    });
  }

  useAuditChain(options: AuditChainOptions): Promise<AuditChainUse> {
    return this.#run('useAuditChain', async () => {
      const key: unknown = options?.key;
      if (!(key instanceof Uint8Array) || key.length !== AUDIT_KEY_BYTES) throw this.#reject(`options.key: must be ${AUDIT_KEY_BYTES} bytes`, 'options.key');
      if (options.onHead !== undefined && typeof options.onHead !== 'function') throw this.#reject('options.onHead: must be a function', 'options.onHead');
      return this.#audit.use(options);
    });
  }

  auditChainState(): Promise<AuditChainState> {
    return this.#run('auditChainState', () => this.#audit.state());
  }

  readAuditChain(query: AuditChainQuery = {}): Promise<AuditRecord[]> {
    return this.#run('readAuditChain', async () => this.#audit.read(this.#parse(AuditChainQuerySchema, query, 'query')));
  }

  closeOpenListens(reason: string): Promise<AuditRecord[]> {
    return this.#run('closeOpenListens', async () => this.#audit.closeOpenListens(this.#parse(ReasonSchema, reason, 'reason')));
  }

  putToken(token: TokenInput): Promise<void> {
    return this.#run('putToken', async () => {
      const t = this.#parse(TokenSchema, token, 'token');
      const r = await this.sql.query(q.INSERT_TOKEN, [t.token_hash, t.kind, t.role, JSON.stringify(t.scope), t.expires_at, t.label, t.session_ttl_s]);
      if (r.rowCount === 0) throw this.#reject('token.token_hash: a token with this hash already exists', 'token.token_hash');
    });
  }

  getToken(tokenHash: string): Promise<TokenRow | undefined> {
    return this.#run('getToken', async () => {
      const h = this.#parse(TokenHashSchema, tokenHash, 'tokenHash');
      const r = await this.sql.query(q.SELECT_TOKEN, [h]);
      return r.rows[0] ? toTokenRow(r.rows[0]) : undefined;
    });
  }

  consumeToken(tokenHash: string, now: Date = new Date()): Promise<TokenRow | undefined> {
    return this.#run('consumeToken', async () => {
      const h = this.#parse(TokenHashSchema, tokenHash, 'tokenHash');
      if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw this.#reject('now: must be a valid Date', 'now');
      const r = await this.sql.query(q.CONSUME_TOKEN, [h, now.toISOString()]);
      return r.rows[0] ? toTokenRow(r.rows[0]) : undefined;
    });
  }

  listSessions(tenant: string, limit = 500, now: Date = new Date()): Promise<TokenRow[]> {
    return this.#run('listSessions', async () => {
      const t = this.#parse(TenantIdSchema, tenant, 'tenant');
      const n = this.#parse(ListLimitSchema, limit, 'limit');
      const r = await this.sql.query(q.LIST_SESSIONS, [now.toISOString(), t, n]);
      return r.rows.map(toTokenRow);
    });
  }

  revokeToken(tokenHash: string): Promise<boolean> {
    return this.#run('revokeToken', async () => {
      const h = this.#parse(TokenHashSchema, tokenHash, 'tokenHash');
      const r = await this.sql.query(q.REVOKE_TOKEN, [h]);
      return r.rowCount > 0;
    });
  }

  setMessageEmbedding(key: MessageKey, vector: ArrayLike<number>, model: string): Promise<boolean> {
    return this.#run('setMessageEmbedding', async () => {
      this.#requireVector('setMessageEmbedding');
      const k = this.#parse(MessageKeySchema, key, 'key');
      const literal = this.#vector(vector);
      const m = this.#parse(ModelSchema, model, 'model');
      const r = await this.sql.query(q.SET_EMBEDDING, [k.provider, k.tenant, k.foreign_id, m, literal]);
      return r.rowCount > 0;
    });
  }

  searchMessages(scope: TenantScope, vector: ArrayLike<number>, k: number): Promise<MessageMatch[]> {
    return this.#run('searchMessages', async () => {
      this.#requireVector('searchMessages');
      const s = this.#parse(TenantScopeSchema, scope, 'scope');
      const literal = this.#vector(vector);
      const limit = this.#parse(SearchKSchema, k, 'k');
      if (this.#iterativeScan === undefined) {
        const v = await this.sql.query<{ extversion: string }>(q.VECTOR_VERSION);
        this.#iterativeScan = versionAtLeast(v.rows[0]?.extversion ?? '0', [0, 8]);
      }
      const iterative = this.#iterativeScan;
      return this.sql.transaction(async (tx) => {
        // A tenant filter after an approximate index scan could return fewer than k rows; pgvector ≥ 0.8
        // keeps scanning until k rows pass the filter.
        if (iterative) await tx.exec('SET LOCAL hnsw.iterative_scan = strict_order');
        const r = await tx.query(q.SEARCH_MESSAGES, [s.provider, s.tenant, literal, limit]);
        return r.rows.map((row) => ({ message: toMessageRow(row), distance: Number(row.distance) }));
      });
    });
  }

  indexMessages(rows: readonly IndexMessageInput[]): Promise<UpsertResult> {
    return this.#run('indexMessages', () => this.#text.indexMessages(rows));
  }

  getIndexedMessage(key: MessageKey): Promise<IndexedMessageRow | undefined> {
    return this.#run('getIndexedMessage', () => this.#text.getIndexedMessage(key));
  }

  editMessage(edit: MessageEdit): Promise<EditResult> {
    return this.#run('editMessage', () => this.#text.editMessage(edit));
  }

  markMessagesDeleted(scope: TenantScope, ids: readonly string[], at?: Date): Promise<number> {
    return this.#run('markMessagesDeleted', () => this.#text.markMessagesDeleted(scope, ids, at));
  }

  purgeMessagesBefore(scope: TenantScope, cutoff: Date | string): Promise<number> {
    return this.#run('purgeMessagesBefore', () => this.#text.purgeMessagesBefore(scope, cutoff));
  }

  searchMessageText(query: TextSearchQuery): Promise<IndexedMessageRow[]> {
    return this.#run('searchMessageText', () => this.#text.searchMessageText(query));
  }

  putAttachment(attachment: AttachmentInput): Promise<AttachmentPutResult> {
    return this.#run('putAttachment', () => this.#text.putAttachment(attachment));
  }

  getAttachment(key: MessageKey): Promise<AttachmentRow | undefined> {
    return this.#run('getAttachment', () => this.#text.getAttachment(key));
  }

  createBackfillJob(job: BackfillJobInput): Promise<{ created: boolean; job: BackfillJobRow }> {
    return this.#run('createBackfillJob', () => this.#text.createBackfillJob(job));
  }

  getBackfillJob(key: TenantScope & { job_id: string }): Promise<BackfillJobRow | undefined> {
    return this.#run('getBackfillJob', () => this.#text.getBackfillJob(key));
  }

  updateBackfillJob(update: BackfillJobUpdate): Promise<BackfillJobRow | undefined> {
    return this.#run('updateBackfillJob', () => this.#text.updateBackfillJob(update));
  }

  listRunningBackfillJobs(limit?: number): Promise<BackfillJobRow[]> {
    return this.#run('listRunningBackfillJobs', () => this.#text.listRunningBackfillJobs(limit));
  }

  putModerationRule(rule: ModerationRuleInput): Promise<{ created: boolean; rule: ModerationRuleRow }> {
    return this.#run('putModerationRule', () => this.#moderation.putModerationRule(rule));
  }

  listModerationRules(query: TenantScope & { guild_id?: string }): Promise<ModerationRuleRow[]> {
    return this.#run('listModerationRules', () => this.#moderation.listModerationRules(query));
  }

  deleteModerationRule(key: ModerationRuleKey): Promise<ModerationRuleRow | undefined> {
    return this.#run('deleteModerationRule', () => this.#moderation.deleteModerationRule(key));
  }

  putModerationFlag(flag: ModerationFlagInput): Promise<{ created: boolean; flag: ModerationFlagRow }> {
    return this.#run('putModerationFlag', () => this.#moderation.putModerationFlag(flag));
  }

  getModerationFlag(key: TenantScope & { id: string }): Promise<ModerationFlagRow | undefined> {
    return this.#run('getModerationFlag', () => this.#moderation.getModerationFlag(key));
  }

  listModerationFlags(query: ModerationFlagQuery): Promise<ModerationFlagRow[]> {
    return this.#run('listModerationFlags', () => this.#moderation.listModerationFlags(query));
  }

  decideModerationFlag(decision: ModerationFlagDecision): Promise<{ changed: boolean; flag: ModerationFlagRow } | undefined> {
    return this.#run('decideModerationFlag', () => this.#moderation.decideModerationFlag(decision));
  }

  getModerationFlagClip(key: TenantScope & { id: string }): Promise<ModerationFlagClip | undefined> {
    return this.#run('getModerationFlagClip', () => this.#moderation.getModerationFlagClip(key));
  }

  putBrainSwitch(input: BrainSwitchInput): Promise<BrainSwitchRow> {
    return this.#run('putBrainSwitch', () => this.#brains.putBrainSwitch(input));
  }

  listBrainSwitches(query: BrainSwitchQuery = {}): Promise<BrainSwitchRow[]> {
    return this.#run('listBrainSwitches', () => this.#brains.listBrainSwitches(query));
  }

  upsertTranscript(transcript: TranscriptInput): Promise<TranscriptPutResult> {
    return this.#run('upsertTranscript', () => this.#transcripts.upsertTranscript(transcript));
  }

  getTranscript(key: MessageKey): Promise<TranscriptRow | undefined> {
    return this.#run('getTranscript', () => this.#transcripts.getTranscript(key));
  }

  listTranscripts(query: TranscriptQuery): Promise<TranscriptRow[]> {
    return this.#run('listTranscripts', () => this.#transcripts.listTranscripts(query));
  }

  deleteSpeakerTranscripts(scope: SpeakerDeleteScope, speakerId: string): Promise<number> {
    return this.#run('deleteSpeakerTranscripts', () => this.#transcripts.deleteSpeakerTranscripts(scope, speakerId));
  }

  purgeTranscriptsBefore(scope: TenantScope, cutoff: Date | string): Promise<number> {
    return this.#run('purgeTranscriptsBefore', () => this.#transcripts.purgeTranscriptsBefore(scope, cutoff));
  }

  transcriptTenants(limit?: number): Promise<TenantScope[]> {
    return this.#run('transcriptTenants', () => this.#transcripts.transcriptTenants(limit));
  }

  recordTranscriptSession(input: TranscriptSessionInput): Promise<void> {
    return this.#run('recordTranscriptSession', () => this.#transcripts.recordTranscriptSession(input));
  }

  getTranscriptSession(key: TenantScope & { session_id: string }): Promise<TranscriptSessionRow | undefined> {
    return this.#run('getTranscriptSession', () => this.#transcripts.getTranscriptSession(key));
  }

  listTranscriptSessions(query: TranscriptSessionQuery): Promise<string[]> {
    return this.#run('listTranscriptSessions', () => this.#transcripts.listTranscriptSessions(query));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inflight]);
      await this.sql.close();
    })();
    return this.#closing;
  }

  async #run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new InvalidStateError(`${op}() called on a closed ${this.driver} store`);
    const p = fn();
    this.#inflight.add(p);
    try {
      return await p;
    } catch (err) {
      if (err instanceof PrometheanError) throw err;
      throw new StoreError(`${op}() failed on ${this.driver}: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#inflight.delete(p);
    }
  }

  #parse<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
    return parseInput(schema, value, path, () => this.#counters.rejectedInputs++);
  }

  #reject(message: string, path: string): StoreInputError {
    this.#counters.rejectedInputs++;
    return new StoreInputError(message, { path });
  }

  #requireVector(op: string): void {
    if (!this.capabilities.vector) throw new UnsupportedError(`${op}() needs pgvector, which this ${this.driver} database lacks`);
  }

  /** Checks length, finiteness and a non-zero norm (cosine distance is undefined for a zero vector). */
  #vector(values: ArrayLike<number>): string {
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number') throw this.#reject('vector: must be an array of numbers', 'vector');
    if (values.length !== EMBEDDING_DIMENSIONS) throw this.#reject(`vector: must have ${EMBEDDING_DIMENSIONS} dimensions, got ${values.length}`, 'vector');
    let norm = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw this.#reject(`vector.${i}: must be a finite number`, `vector.${i}`);
      norm += v * v;
    }
    if (norm === 0) throw this.#reject('vector: must not be all zeros', 'vector');
    return vectorLiteral(values);
  }
}

/** The columns of UPSERT_MESSAGES, in its parameter order. */
const UPSERT_COLUMNS = ['provider', 'tenant', 'foreign_id', 'space_id', 'channel_id', 'author_id', 'content', 'created_at', 'edited_at', 'raw'] as const;

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    const b = min[i]!;
    if (a !== b) return a > b;
  }
  return true;
}
