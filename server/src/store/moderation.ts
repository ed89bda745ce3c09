/**
 * The moderation part of the store (migration 008): per-guild watch rules edited over HTTP, and the
 * flags raised when a rule matched a transcript, with the clip of the matched span when the server
 * kept one. `SqlStore` delegates here, as it does to `TextIndex`, so the SQL of one area stays in one
 * file. Every method validates first (`onReject` counts refusals).
 */
import { z } from 'zod';
import { ID_TOKEN_RE } from '@promethean/shared';
import type { SqlClient } from './sql.ts';
import type { TenantScope } from './store.ts';
import { Timestamp, parseInput } from './schemas.ts';
import { toIso } from './rows.ts';

export type ModerationRuleKind = 'phrase' | 'regex' | 'semantic';
export type ModerationFlagStatus = 'open' | 'acknowledged' | 'dismissed';

export interface ModerationRuleKey extends TenantScope {
  guild_id: string;
  /** `[a-z0-9][a-z0-9_-]{0,63}`, unique within the guild. */
  rule_id: string;
}

export interface ModerationRuleInput extends ModerationRuleKey {
  kind: ModerationRuleKind;
  label?: string | null;
  /** The phrase, the regular expression, or the text a semantic rule compares against. */
  pattern: string;
  /** Semantic rules only: the cosine similarity a match must reach (0 < t ≤ 1). */
  threshold?: number | null;
  enabled?: boolean;
  /** Who wrote this version (an actor as the audit log names it). */
  updated_by: string;
}

export interface ModerationRuleRow extends ModerationRuleKey {
  kind: ModerationRuleKind;
  label: string | null;
  pattern: string;
  threshold: number | null;
  enabled: boolean;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

export interface ModerationFlagInput extends TenantScope {
  guild_id: string;
  channel_id?: string | null;
  session_id: string;
  segment_id: string;
  speaker_id: string;
  rule_id: string;
  rule_kind: ModerationRuleKind;
  rule_label?: string | null;
  rule_pattern: string;
  text: string;
  /** UTF-16 offsets of the match in `text`. */
  span_start: number;
  span_end: number;
  span_text: string;
  /** Monotonic ns (decimal strings). */
  span_start_ns: string;
  span_end_ns: string;
  clip_start_ns: string;
  clip_end_ns: string;
  /** The clip as s16le mono at `clip_rate_hz`, when the server kept it. */
  clip_pcm?: Uint8Array | null;
  clip_rate_hz?: number | null;
  score?: number | null;
}

export interface ModerationFlagRow extends TenantScope {
  /** The store's id (decimal). */
  id: string;
  /** `{session_id}:{segment_id}:{rule_id}`. */
  foreign_id: string;
  guild_id: string;
  channel_id: string | null;
  session_id: string;
  segment_id: string;
  speaker_id: string;
  rule_id: string;
  rule_kind: ModerationRuleKind;
  rule_label: string | null;
  rule_pattern: string;
  text: string;
  span_start: number;
  span_end: number;
  span_text: string;
  span_start_ns: string;
  span_end_ns: string;
  clip_start_ns: string;
  clip_end_ns: string;
  /** Whether the clip's audio is stored (`getModerationFlagClip`). */
  has_clip: boolean;
  score: number | null;
  status: ModerationFlagStatus;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
}

export interface ModerationFlagQuery extends TenantScope {
  /** Only these guilds; absent = every guild. */
  guild_ids?: readonly string[];
  /** Only flags of these channels; absent = every channel. */
  channel_ids?: readonly string[];
  status?: ModerationFlagStatus;
  /** Only flags with a smaller id (paging backwards). */
  before_id?: string;
  /** Newest first; at most this many (default 50, at most 500). */
  limit?: number;
}

export interface ModerationFlagDecision extends TenantScope {
  id: string;
  status: 'acknowledged' | 'dismissed';
  decided_by: string;
}

export interface ModerationFlagClip {
  pcm: Uint8Array;
  rate_hz: number;
}

const Text = z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const Id = Text.pipe(z.string().min(1).max(128));
const Token = z.string().regex(ID_TOKEN_RE, 'must match [a-z0-9_-]+').max(64);
const Scope = z.object({ provider: Token, tenant: Token });
const RuleId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 of [a-z0-9_-], starting with a letter or digit');
const Ns = z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'must be nanoseconds as a decimal string');
const DbId = z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a decimal id');
const Kind = z.enum(['phrase', 'regex', 'semantic']);
/** Largest stored clip: 60 s of 16-bit mono at 16 kHz is 1.92 MB. */
export const MAX_CLIP_BYTES = 4 * 1024 * 1024;

const RuleKeySchema = Scope.extend({ guild_id: Id, rule_id: RuleId });
const RuleSchema = RuleKeySchema.extend({
  kind: Kind,
  label: Text.pipe(z.string().max(200)).nullish().transform((v) => v ?? null),
  pattern: Text.pipe(z.string().min(1).max(2000)),
  threshold: z.number().gt(0).max(1).nullish().transform((v) => v ?? null),
  enabled: z.boolean().default(true),
  updated_by: Id,
}).refine((r) => (r.kind === 'semantic') === (r.threshold !== null), { message: 'a threshold is required for semantic rules and only for them', path: ['threshold'] });
const RuleListSchema = Scope.extend({ guild_id: Id.optional() });

/** Whether decimal `end` ≥ `start`; true when either is not a decimal (its own check reports that). */
function notBefore(start: unknown, end: unknown): boolean {
  const d = /^[0-9]{1,20}$/;
  if (typeof start !== 'string' || typeof end !== 'string' || !d.test(start) || !d.test(end)) return true;
  return BigInt(end) >= BigInt(start);
}

const FlagSchema = Scope.extend({
  guild_id: Id,
  channel_id: Id.nullish().transform((v) => v ?? null),
  session_id: Id.refine((s) => !s.includes(':'), 'must not contain ":"'),
  segment_id: Id.refine((s) => !s.includes(':'), 'must not contain ":"'),
  speaker_id: Id,
  rule_id: RuleId,
  rule_kind: Kind,
  rule_label: Text.pipe(z.string().max(200)).nullish().transform((v) => v ?? null),
  rule_pattern: Text.pipe(z.string().min(1).max(2000)),
  text: Text.pipe(z.string().max(20_000)),
  span_start: z.number().int().nonnegative().max(20_000),
  span_end: z.number().int().nonnegative().max(20_000),
  span_text: Text.pipe(z.string().max(2000)),
  span_start_ns: Ns,
  span_end_ns: Ns,
  clip_start_ns: Ns,
  clip_end_ns: Ns,
  clip_pcm: z.instanceof(Uint8Array).refine((b) => b.byteLength > 0 && b.byteLength <= MAX_CLIP_BYTES && b.byteLength % 2 === 0, `must be 2 to ${MAX_CLIP_BYTES} bytes of 16-bit samples`).nullish().transform((v) => v ?? null),
  clip_rate_hz: z.number().int().min(8000).max(48000).nullish().transform((v) => v ?? null),
  score: z.number().min(-1).max(1).nullish().transform((v) => v ?? null),
})
  // Refines run even when a field failed its own check: compare only values of the right shape.
  .refine((f) => typeof f.text !== 'string' || (f.span_end >= f.span_start && f.span_end <= f.text.length), { message: 'span must lie within text', path: ['span_end'] })
  .refine((f) => notBefore(f.span_start_ns, f.span_end_ns), { message: 'span_end_ns must not precede span_start_ns', path: ['span_end_ns'] })
  .refine((f) => notBefore(f.clip_start_ns, f.clip_end_ns), { message: 'clip_end_ns must not precede clip_start_ns', path: ['clip_end_ns'] })
  .refine((f) => (f.clip_pcm === null) === (f.clip_rate_hz === null), { message: 'clip_pcm and clip_rate_hz go together', path: ['clip_rate_hz'] });

const FlagKeySchema = Scope.extend({ id: DbId });
const FlagQuerySchema = Scope.extend({
  guild_ids: z.array(Id).max(1000).optional(),
  channel_ids: z.array(Id).max(1000).optional(),
  status: z.enum(['open', 'acknowledged', 'dismissed']).optional(),
  before_id: DbId.optional(),
  limit: z.number().int().min(1).max(500).default(50),
});
const DecisionSchema = FlagKeySchema.extend({ status: z.enum(['acknowledged', 'dismissed']), decided_by: Id, at: Timestamp.optional() });

const RULE_COLUMNS = 'provider, tenant, guild_id, rule_id, kind, label, pattern, threshold, enabled, updated_by, created_at, updated_at';
const PUT_RULE = `
INSERT INTO moderation_rules AS r (provider, tenant, guild_id, rule_id, kind, label, pattern, threshold, enabled, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (provider, tenant, guild_id, rule_id) DO UPDATE SET
  kind = EXCLUDED.kind, label = EXCLUDED.label, pattern = EXCLUDED.pattern, threshold = EXCLUDED.threshold,
  enabled = EXCLUDED.enabled, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING ${RULE_COLUMNS}, (xmax = 0) AS inserted`;
const LIST_RULES = `
SELECT ${RULE_COLUMNS} FROM moderation_rules
WHERE provider = $1 AND tenant = $2 AND ($3::text IS NULL OR guild_id = $3)
ORDER BY guild_id, rule_id LIMIT 10000`;
const DELETE_RULE = `
DELETE FROM moderation_rules WHERE provider = $1 AND tenant = $2 AND guild_id = $3 AND rule_id = $4
RETURNING ${RULE_COLUMNS}`;

const FLAG_COLUMNS = `id, provider, tenant, foreign_id, guild_id, channel_id, session_id, segment_id, speaker_id, rule_id,
  rule_kind, rule_label, rule_pattern, text, span_start, span_end, span_text, span_start_ns, span_end_ns, clip_start_ns,
  clip_end_ns, (clip_pcm IS NOT NULL) AS has_clip, score, status, created_at, decided_by, decided_at`;
/** A repeated key returns the stored flag (`inserted` false), untouched. */
const PUT_FLAG = `
WITH ins AS (
  INSERT INTO moderation_flags (provider, tenant, foreign_id, guild_id, channel_id, session_id, segment_id, speaker_id,
    rule_id, rule_kind, rule_label, rule_pattern, text, span_start, span_end, span_text, span_start_ns, span_end_ns,
    clip_start_ns, clip_end_ns, clip_pcm, clip_rate_hz, score)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::bigint, $18::bigint, $19::bigint,
    $20::bigint, $21, $22, $23)
  ON CONFLICT (provider, tenant, foreign_id) DO NOTHING
  RETURNING ${FLAG_COLUMNS}, true AS inserted
)
SELECT * FROM ins
UNION ALL
SELECT ${FLAG_COLUMNS}, false AS inserted FROM moderation_flags
WHERE provider = $1 AND tenant = $2 AND foreign_id = $3 AND NOT EXISTS (SELECT 1 FROM ins)`;
const SELECT_FLAG = `SELECT ${FLAG_COLUMNS} FROM moderation_flags WHERE provider = $1 AND tenant = $2 AND id = $3::bigint`;
const LIST_FLAGS = `
SELECT ${FLAG_COLUMNS} FROM moderation_flags
WHERE provider = $1 AND tenant = $2
  AND ($3::text[] IS NULL OR guild_id = ANY($3::text[]))
  AND ($4::text[] IS NULL OR channel_id = ANY($4::text[]))
  AND ($5::text IS NULL OR status = $5)
  AND ($6::bigint IS NULL OR id < $6::bigint)
ORDER BY id DESC LIMIT $7`;
/** Only an open flag changes; a decided one is returned as it is (`changed` false). */
const DECIDE_FLAG = `
WITH upd AS (
  UPDATE moderation_flags SET status = $4, decided_by = $5, decided_at = coalesce($6::timestamptz, now())
  WHERE provider = $1 AND tenant = $2 AND id = $3::bigint AND status = 'open'
  RETURNING ${FLAG_COLUMNS}, true AS changed
)
SELECT * FROM upd
UNION ALL
SELECT ${FLAG_COLUMNS}, false AS changed FROM moderation_flags
WHERE provider = $1 AND tenant = $2 AND id = $3::bigint AND NOT EXISTS (SELECT 1 FROM upd)`;
const SELECT_CLIP = `SELECT clip_pcm, clip_rate_hz FROM moderation_flags WHERE provider = $1 AND tenant = $2 AND id = $3::bigint AND clip_pcm IS NOT NULL`;

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function toRuleRow(r: Record<string, unknown>): ModerationRuleRow {
  return {
    provider: String(r.provider),
    tenant: String(r.tenant),
    guild_id: String(r.guild_id),
    rule_id: String(r.rule_id),
    kind: String(r.kind) as ModerationRuleKind,
    label: str(r.label),
    pattern: String(r.pattern),
    threshold: r.threshold === null || r.threshold === undefined ? null : Number(r.threshold),
    enabled: r.enabled === true,
    updated_by: String(r.updated_by),
    created_at: toIso(r.created_at),
    updated_at: toIso(r.updated_at),
  };
}

export function toFlagRow(r: Record<string, unknown>): ModerationFlagRow {
  return {
    id: String(r.id),
    provider: String(r.provider),
    tenant: String(r.tenant),
    foreign_id: String(r.foreign_id),
    guild_id: String(r.guild_id),
    channel_id: str(r.channel_id),
    session_id: String(r.session_id),
    segment_id: String(r.segment_id),
    speaker_id: String(r.speaker_id),
    rule_id: String(r.rule_id),
    rule_kind: String(r.rule_kind) as ModerationRuleKind,
    rule_label: str(r.rule_label),
    rule_pattern: String(r.rule_pattern),
    text: String(r.text),
    span_start: Number(r.span_start),
    span_end: Number(r.span_end),
    span_text: String(r.span_text),
    span_start_ns: String(r.span_start_ns),
    span_end_ns: String(r.span_end_ns),
    clip_start_ns: String(r.clip_start_ns),
    clip_end_ns: String(r.clip_end_ns),
    has_clip: r.has_clip === true,
    score: r.score === null || r.score === undefined ? null : Number(r.score),
    status: String(r.status) as ModerationFlagStatus,
    created_at: toIso(r.created_at),
    decided_by: str(r.decided_by),
    decided_at: r.decided_at === null || r.decided_at === undefined ? null : toIso(r.decided_at),
  };
}

/** Rules and flags over one SqlClient. */
export class ModerationStore {
  readonly #sql: SqlClient;
  readonly #onReject: () => void;

  constructor(sql: SqlClient, onReject: () => void) {
    this.#sql = sql;
    this.#onReject = onReject;
  }

  #parse<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
    return parseInput(schema, value, path, this.#onReject);
  }

  async putModerationRule(input: ModerationRuleInput): Promise<{ created: boolean; rule: ModerationRuleRow }> {
    const r = this.#parse(RuleSchema, input, 'rule');
    const res = await this.#sql.query(PUT_RULE, [r.provider, r.tenant, r.guild_id, r.rule_id, r.kind, r.label, r.pattern, r.threshold, r.enabled, r.updated_by]);
    const row = res.rows[0]!;
    return { created: row.inserted === true, rule: toRuleRow(row) };
  }

  async listModerationRules(query: TenantScope & { guild_id?: string }): Promise<ModerationRuleRow[]> {
    const q = this.#parse(RuleListSchema, query, 'query');
    const res = await this.#sql.query(LIST_RULES, [q.provider, q.tenant, q.guild_id ?? null]);
    return res.rows.map(toRuleRow);
  }

  async deleteModerationRule(key: ModerationRuleKey): Promise<ModerationRuleRow | undefined> {
    const k = this.#parse(RuleKeySchema, key, 'key');
    const res = await this.#sql.query(DELETE_RULE, [k.provider, k.tenant, k.guild_id, k.rule_id]);
    return res.rows[0] ? toRuleRow(res.rows[0]) : undefined;
  }

  async putModerationFlag(input: ModerationFlagInput): Promise<{ created: boolean; flag: ModerationFlagRow }> {
    const f = this.#parse(FlagSchema, input, 'flag');
    const res = await this.#sql.query(PUT_FLAG, [
      f.provider, f.tenant, `${f.session_id}:${f.segment_id}:${f.rule_id}`, f.guild_id, f.channel_id, f.session_id, f.segment_id,
      f.speaker_id, f.rule_id, f.rule_kind, f.rule_label, f.rule_pattern, f.text, f.span_start, f.span_end, f.span_text,
      f.span_start_ns, f.span_end_ns, f.clip_start_ns, f.clip_end_ns, f.clip_pcm, f.clip_rate_hz, f.score,
    ]);
    const row = res.rows[0]!;
    return { created: row.inserted === true, flag: toFlagRow(row) };
  }

  async getModerationFlag(key: TenantScope & { id: string }): Promise<ModerationFlagRow | undefined> {
    const k = this.#parse(FlagKeySchema, key, 'key');
    const res = await this.#sql.query(SELECT_FLAG, [k.provider, k.tenant, k.id]);
    return res.rows[0] ? toFlagRow(res.rows[0]) : undefined;
  }

  async listModerationFlags(query: ModerationFlagQuery): Promise<ModerationFlagRow[]> {
    const q = this.#parse(FlagQuerySchema, query, 'query');
    const res = await this.#sql.query(LIST_FLAGS, [q.provider, q.tenant, q.guild_ids ?? null, q.channel_ids ?? null, q.status ?? null, q.before_id ?? null, q.limit]);
    return res.rows.map(toFlagRow);
  }

  async decideModerationFlag(decision: ModerationFlagDecision & { at?: Date | string }): Promise<{ changed: boolean; flag: ModerationFlagRow } | undefined> {
    const d = this.#parse(DecisionSchema, decision, 'decision');
    const res = await this.#sql.query(DECIDE_FLAG, [d.provider, d.tenant, d.id, d.status, d.decided_by, d.at ?? null]);
    const row = res.rows[0];
    return row ? { changed: row.changed === true, flag: toFlagRow(row) } : undefined;
  }

  async getModerationFlagClip(key: TenantScope & { id: string }): Promise<ModerationFlagClip | undefined> {
    const k = this.#parse(FlagKeySchema, key, 'key');
    const res = await this.#sql.query<{ clip_pcm: Uint8Array; clip_rate_hz: number }>(SELECT_CLIP, [k.provider, k.tenant, k.id]);
    const row = res.rows[0];
    if (!row) return undefined;
    // pg returns a Buffer, PGlite a Uint8Array: hand out a plain Uint8Array either way.
    const b = row.clip_pcm;
    return { pcm: new Uint8Array(b.buffer, b.byteOffset, b.byteLength), rate_hz: Number(row.clip_rate_hz) };
  }
}
