/**
 * The `Store` interface: what the server keeps in PostgreSQL (PGlite embedded, or a real server when
 * `DATABASE_URL` is set). Workers depend on this interface only; `createStore()` picks the driver.
 *
 * Every row carries `provider` and `tenant`; keyed rows are unique on `(provider, tenant, foreign_id)`.
 * Timestamps are ISO 8601 UTC strings; monotonic nanoseconds are bigint decimal strings.
 */
import type { MessageInput, TranscriptSegmentInput, AuditInput, TokenInput, TokenScope } from './schemas.ts';

import type {
  AttachmentInput, AttachmentPutResult, AttachmentRow, BackfillJobInput, BackfillJobRow, BackfillJobUpdate, EditResult,
  IndexMessageInput, IndexedMessageRow, MessageEdit, TextSearchQuery,
} from './text-index.ts';
import type {
  SpeakerDeleteScope, TranscriptInput, TranscriptPutResult, TranscriptQuery, TranscriptRow, TranscriptSessionInput, TranscriptSessionQuery,
  TranscriptSessionRow,
} from './transcripts.ts';
import type {
  ModerationFlagClip, ModerationFlagDecision, ModerationFlagInput, ModerationFlagQuery, ModerationFlagRow, ModerationRuleInput,
  ModerationRuleKey, ModerationRuleRow,
} from './moderation.ts';
import type { BrainSwitchInput, BrainSwitchQuery, BrainSwitchRow } from './bot-brains.ts';

export type { MessageInput, TranscriptSegmentInput, AuditInput, TokenInput, TokenScope };
export type {
  SpeakerDeleteScope, TranscriptInput, TranscriptPutResult, TranscriptQuery, TranscriptRow, TranscriptSessionInput, TranscriptSessionQuery,
  TranscriptSessionRow, TranscriptWordRow,
} from './transcripts.ts';
export type {
  ModerationFlagClip, ModerationFlagDecision, ModerationFlagInput, ModerationFlagQuery, ModerationFlagRow, ModerationFlagStatus,
  ModerationRuleInput, ModerationRuleKey, ModerationRuleKind, ModerationRuleRow,
} from './moderation.ts';
export type { BrainSwitchInput, BrainSwitchName, BrainSwitchQuery, BrainSwitchRow } from './bot-brains.ts';
export type {
  AttachmentInput, AttachmentPutResult, AttachmentRow, BackfillJobInput, BackfillJobRow, BackfillJobUpdate, EditResult,
  IndexMessageInput, IndexedMessageRow, MessageEdit, TextSearchQuery,
};

/** The dimension of `message_embeddings.embedding` (the bundled Universal Sentence Encoder lite is 512-d). */
export const EMBEDDING_DIMENSIONS = 512;

/** `(provider, tenant)`: the routing and storage scope every query is confined to. */
export interface TenantScope {
  provider: string;
  tenant: string;
}

export interface MessageKey extends TenantScope {
  /** The provider's id of the message (a Discord snowflake). */
  foreign_id: string;
}

/** A social message as stored. */
export interface MessageRow extends MessageKey {
  /** Guild / workspace id. */
  space_id: string;
  channel_id: string;
  author_id: string;
  content: string;
  created_at: string;
  edited_at: string | null;
  /** The provider's payload as received (jsonb). */
  raw: unknown;
}

/** What a batched upsert did: rows new, rows changed, rows identical to what was stored. */
export interface UpsertResult {
  inserted: number;
  updated: number;
  unchanged: number;
}

export type PutResult = 'inserted' | 'updated' | 'unchanged';

/** A transcript segment as stored; `foreign_id` is `{session_id}:{segment_id}`. */
export interface TranscriptSegmentRow extends MessageKey {
  session_id: string;
  segment_id: string;
  speaker_id: string;
  channel_id: string | null;
  text: string;
  start_ns: string;
  end_ns: string;
  lang: string | null;
  confidence: number | null;
  model: string | null;
}

/**
 * One audit record; `id` is the database's append order (bigint as decimal string). `seq`, `prev_hash`
 * and `hash` place it in the hash chain (see `audit-chain.ts`); they are null only for a row written
 * without the chain key that has not been chained yet.
 */
export interface AuditRecord {
  id: string;
  /** Position in the chain: 1, 2, 3, … across every tenant, without gaps. */
  seq: string | null;
  /** `hash` of the row at `seq - 1` (64 zeros for seq 1). */
  prev_hash: string | null;
  /** HMAC-SHA256 of the row's canonical form under the chain key (64 hex digits). */
  hash: string | null;
  at: string;
  provider: string;
  tenant: string;
  guild_id: string | null;
  channel_id: string | null;
  /** Who: a user or agent id. */
  actor: string;
  /** What: `listen`, `listen.stop`, `login`, … */
  action: string;
  /** sha-256 (hex) of the token id that authorised it, when one did. */
  token_id_hash: string | null;
  detail: unknown;
}

export interface AuditQuery extends TenantScope {
  guild_id?: string;
  channel_id?: string;
  /** Only records with an id greater than this (paging). */
  after_id?: string;
  /** At most this many records (default 100, at most 10,000). */
  limit?: number;
}

/** The last row of the audit chain: what `<dataDir>/audit-head.json` holds. */
export interface AuditHead {
  seq: string;
  hash: string;
}

export interface AuditChainOptions {
  /** The 256-bit HMAC key, kept outside the database. */
  key: Uint8Array;
  /**
   * Called with the new head after each append commits (and after sealing), in chain order; the append
   * waits for it and rejects when it throws (the row is committed by then).
   */
  onHead?: (head: AuditHead) => Promise<void> | void;
  /** Chain the rows from before the chain when nothing is chained yet (default true). */
  seal?: boolean;
}

export interface AuditChainState {
  /** The chain's last row; null while nothing is chained. */
  head: AuditHead | null;
  /** Rows outside the chain: written without the key after the chain began, or inserted by hand. */
  unchained: number;
  /** The lowest id among them. */
  first_unchained_id: string | null;
}

export interface AuditChainUse extends AuditChainState {
  /** Rows from before the chain that this call chained (in id order). */
  sealed: number;
}

export interface AuditChainQuery {
  /** Only rows with a seq greater than this. */
  after_seq?: string;
  /** Only rows with a seq at most this. */
  through_seq?: string;
  /** Only rows recorded at or after this time. */
  since?: string | Date;
  /** At most this many rows (default 1000, at most 10,000). */
  limit?: number;
}

export type TokenKind = 'login' | 'session' | 'agent';
export type TokenRole = 'owner' | 'moderator' | 'agent';

/** A token or session as stored: only the hash of the secret is kept. */
export interface TokenRow {
  token_hash: string;
  /** `login` tokens are one-time (see `consumeToken`); `session` and `agent` tokens are reusable until they expire. */
  kind: TokenKind;
  role: TokenRole;
  scope: TokenScope[];
  created_at: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
  /** Whom an invitation was made for. */
  label: string | null;
  /** For a login token: the lifetime of the session it becomes. */
  session_ttl_s: number | null;
}

export interface MessageMatch {
  message: MessageRow;
  /** Cosine distance (0 = same direction, 2 = opposite). */
  distance: number;
}

export interface StoreCapabilities {
  /** pgvector is available: `setMessageEmbedding` and `searchMessages` work. */
  vector: boolean;
}

export interface MigrateResult {
  /** Versions applied by this call, in order. */
  applied: number[];
  /** Versions skipped because the database lacks what they need (the vector migrations without pgvector). */
  skipped: number[];
}

export interface StoreCounters {
  /** Calls rejected with StoreInputError. */
  rejectedInputs: number;
  /** Errors reported by idle connections (PostgreSQL pool). */
  connectionErrors: number;
}

export type StoreDriver = 'pglite' | 'postgres';

export interface Store {
  readonly driver: StoreDriver;
  readonly capabilities: StoreCapabilities;
  readonly counters: Readonly<StoreCounters>;
  readonly closed: boolean;

  /** Applies pending migrations in order, in one transaction; a no-op when none is pending. */
  migrate(): Promise<MigrateResult>;

  /**
   * Inserts or updates messages by `(provider, tenant, foreign_id)`; one statement per batch, all batches
   * in one transaction (a bad row rejects the whole call before anything is written). A key repeated in
   * one call counts once, with its last occurrence; the counts add up to the number of distinct keys.
   */
  upsertMessages(rows: readonly MessageInput[]): Promise<UpsertResult>;
  getMessage(key: MessageKey): Promise<MessageRow | undefined>;
  countMessages(scope: TenantScope): Promise<number>;

  /** Idempotent by `{session_id}:{segment_id}` within (provider, tenant). */
  putTranscriptSegment(segment: TranscriptSegmentInput): Promise<PutResult>;
  getTranscriptSegment(key: MessageKey): Promise<TranscriptSegmentRow | undefined>;

  /**
   * Appends one record; there is no update or delete (the table refuses them). With a chain key (see
   * `useAuditChain`) the record gets the next seq, the previous row's hash and its own HMAC; appends are
   * serialised by an in-process queue and, across processes, by a transaction-scoped advisory lock.
   * Without a key a record is written unchained, which is refused once the log has a chain.
   */
  appendAudit(entry: AuditInput): Promise<AuditRecord>;
  /** Records of one tenant in append order. */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /**
   * Keys the audit chain for later appends. When nothing is chained yet (and `seal` is not false), rows
   * written before the chain (by an older version, or without a key) are chained first, in id order, in
   * one transaction; the trigger lets each such row be sealed once.
   */
  useAuditChain(options: AuditChainOptions): Promise<AuditChainUse>;
  /** The chain's head and the rows outside it. */
  auditChainState(): Promise<AuditChainState>;
  /** Chained records of every tenant in seq order (verification, export). */
  readAuditChain(query?: AuditChainQuery): Promise<AuditRecord[]>;
  /**
   * Appends a `listen.stop` (detail `{ listener_id, session_id, reason, start_seq }`) for every
   * `listen.start` that has no stop with the same listener id: listens a crash left open.
   */
  closeOpenListens(reason: string): Promise<AuditRecord[]>;

  /** Stores a new token by its hash; a hash already stored is refused with StoreInputError (a used token never comes back). */
  putToken(token: TokenInput): Promise<void>;
  getToken(tokenHash: string): Promise<TokenRow | undefined>;
  /** Marks a one-time `login` token used; returns it only if it was unused, unrevoked and unexpired at `now`. */
  consumeToken(tokenHash: string, now?: Date): Promise<TokenRow | undefined>;
  /** Returns whether a token with that hash existed and was not already revoked. */
  revokeToken(tokenHash: string): Promise<boolean>;
  /** A tenant's sessions that are neither expired nor revoked, newest first. */
  listSessions(tenant: string, limit?: number, now?: Date): Promise<TokenRow[]>;

  /** Sets the embedding of a stored message; false when the message does not exist. UnsupportedError without pgvector. */
  setMessageEmbedding(key: MessageKey, vector: ArrayLike<number>, model: string): Promise<boolean>;
  /** The `k` messages of a tenant nearest to `vector` by cosine distance. UnsupportedError without pgvector. */
  searchMessages(scope: TenantScope, vector: ArrayLike<number>, k: number): Promise<MessageMatch[]>;

  // The text index (migration 005; see text-index.ts).
  /**
   * Bulk path of the indexers: like `upsertMessages` plus `thread_id`, but a conflict never clears a
   * deletion mark and never replaces a newer edit with older content.
   */
  indexMessages(rows: readonly IndexMessageInput[]): Promise<UpsertResult>;
  getIndexedMessage(key: MessageKey): Promise<IndexedMessageRow | undefined>;
  /** Applies an edit seen live unless the stored row holds one at least as new. */
  editMessage(edit: MessageEdit): Promise<EditResult>;
  /** Marks messages deleted (they stay, so a late backfill cannot revive them); returns how many were marked. */
  markMessagesDeleted(scope: TenantScope, ids: readonly string[], at?: Date): Promise<number>;
  /** Retention: deletes a tenant's messages created before `cutoff`; returns how many. */
  purgeMessagesBefore(scope: TenantScope, cutoff: Date | string): Promise<number>;
  /** Exact-phrase (case-insensitive) search within one tenant, optionally some guilds / channels; newest first. */
  searchMessageText(query: TextSearchQuery): Promise<IndexedMessageRow[]>;
  /** Records an attachment; a `stored` one adds its blob row unless that sha-256 is already known. */
  putAttachment(attachment: AttachmentInput): Promise<AttachmentPutResult>;
  getAttachment(key: MessageKey): Promise<AttachmentRow | undefined>;
  /** Creates a running job; a known job id is returned as stored (`created: false`). */
  createBackfillJob(job: BackfillJobInput): Promise<{ created: boolean; job: BackfillJobRow }>;
  getBackfillJob(key: TenantScope & { job_id: string }): Promise<BackfillJobRow | undefined>;
  /** Saves a job's cursor and counts (after each page) or its end. */
  updateBackfillJob(update: BackfillJobUpdate): Promise<BackfillJobRow | undefined>;
  /** Jobs of every tenant still running: what a restarted indexer resumes. */
  listRunningBackfillJobs(limit?: number): Promise<BackfillJobRow[]>;

  // Moderation (migration 008; see moderation.ts).
  /** Creates or replaces a guild's watch rule by `(provider, tenant, guild_id, rule_id)`. */
  putModerationRule(rule: ModerationRuleInput): Promise<{ created: boolean; rule: ModerationRuleRow }>;
  /** A tenant's stored rules (one guild's when `guild_id` is given), by guild and rule id. */
  listModerationRules(query: TenantScope & { guild_id?: string }): Promise<ModerationRuleRow[]>;
  /** Deletes a rule; returns it as it was, undefined when there was none. */
  deleteModerationRule(key: ModerationRuleKey): Promise<ModerationRuleRow | undefined>;
  /** Records a flag; idempotent by `{session_id}:{segment_id}:{rule_id}` (a repeat returns the stored flag, `created: false`). */
  putModerationFlag(flag: ModerationFlagInput): Promise<{ created: boolean; flag: ModerationFlagRow }>;
  getModerationFlag(key: TenantScope & { id: string }): Promise<ModerationFlagRow | undefined>;
  /** A tenant's flags, newest first, optionally confined to guilds, channels and a status. */
  listModerationFlags(query: ModerationFlagQuery): Promise<ModerationFlagRow[]>;
  /** Acknowledges or dismisses an open flag (`changed: false` and the flag as stored when it was already decided). */
  decideModerationFlag(decision: ModerationFlagDecision): Promise<{ changed: boolean; flag: ModerationFlagRow } | undefined>;
  /** The stored audio of a flag's clip, when the server kept it. */
  getModerationFlagClip(key: TenantScope & { id: string }): Promise<ModerationFlagClip | undefined>;

  // Brain switches (migration 009; see bot-brains.ts).
  /** Sets whether a brain answers in a guild (an owner's console switch); returns the stored row. */
  putBrainSwitch(input: BrainSwitchInput): Promise<BrainSwitchRow>;
  /** Stored switches (one tenant's, one guild's, or all), by provider, tenant, guild and brain. */
  listBrainSwitches(query?: BrainSwitchQuery): Promise<BrainSwitchRow[]>;

  // Live transcripts (migration 007; see transcripts.ts).
  /**
   * Keeps a `duck.transcript.segment` by `{session_id}:{segment_id}`: a final result replaces a partial
   * one; a partial for a segment whose final is stored is refused as `stale`; a repeat is `unchanged`.
   */
  upsertTranscript(transcript: TranscriptInput): Promise<TranscriptPutResult>;
  getTranscript(key: MessageKey): Promise<TranscriptRow | undefined>;
  /** One session's transcripts (optionally one speaker's) in session-clock order. */
  listTranscripts(query: TranscriptQuery): Promise<TranscriptRow[]>;
  /** Deletes every transcript of one speaker in a tenant (or only in `scope.session_ids`); returns how many. */
  deleteSpeakerTranscripts(scope: SpeakerDeleteScope, speakerId: string): Promise<number>;
  /** Retention: deletes a tenant's transcripts made before `cutoff`; returns how many. */
  purgeTranscriptsBefore(scope: TenantScope, cutoff: Date | string): Promise<number>;
  /** The tenants that have transcripts (what a retention sweep visits). */
  transcriptTenants(limit?: number): Promise<TenantScope[]>;
  /** Records (or moves) the guild and channel of a voice session (migration 010). */
  recordTranscriptSession(input: TranscriptSessionInput): Promise<void>;
  getTranscriptSession(key: TenantScope & { session_id: string }): Promise<TranscriptSessionRow | undefined>;
  /** The recorded sessions of a guild (and channel), most recently seen first. */
  listTranscriptSessions(query: TranscriptSessionQuery): Promise<string[]>;

  /** Idempotent; waits for calls in flight, then closes the database. Later calls throw InvalidStateError. */
  close(): Promise<void>;
}
