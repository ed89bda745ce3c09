/**
 * Input schemas of the store: every row is checked here before it reaches SQL, so bad input becomes a
 * StoreInputError naming the field instead of a database error (or a silently truncated row).
 */
import { z } from 'zod';
import { ID_TOKEN_RE } from '@promethean/shared';
import { StoreInputError } from './errors.ts';

/** PostgreSQL text cannot hold NUL; reject it up front. */
const Text = z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const Id = Text.pipe(z.string().min(1).max(128));
const Token = z.string().regex(ID_TOKEN_RE, 'must match [a-z0-9_-]+').max(64);
const INT64_MAX = 9223372036854775807n;
const Int64String = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,18})$/, 'must be a non-negative integer as a decimal string')
  .refine((s) => BigInt(s) <= INT64_MAX, 'must fit in a signed 64-bit integer');
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha-256 hash as 64 lowercase hex digits');

/** A timestamp: a Date or an ISO 8601 string with offset; stored and returned as ISO UTC. */
export const Timestamp = z.union([
  z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date'),
  z.iso.datetime({ offset: true }),
]).transform((v) => (typeof v === 'string' ? new Date(v) : v).toISOString());

/** Any JSON value, serialised once here; jsonb refuses `\u0000` in strings. */
const JsonText = z.unknown().transform((value, ctx) => {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? {});
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be JSON-serialisable (${(err as Error).message})` });
    return z.NEVER;
  }
  if (text === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be JSON-serialisable' });
    return z.NEVER;
  }
  if (text.includes('\\u0000')) {
    ctx.addIssue({ code: 'custom', message: 'must not contain NUL characters' });
    return z.NEVER;
  }
  return text;
});

export const TenantScopeSchema = z.object({ provider: Token, tenant: Token });
export const MessageKeySchema = TenantScopeSchema.extend({ foreign_id: Id });

export const MessageSchema = MessageKeySchema.extend({
  space_id: Id,
  channel_id: Id,
  author_id: Id,
  content: Text.pipe(z.string().max(100_000)),
  created_at: Timestamp,
  edited_at: Timestamp.nullish().transform((v) => v ?? null),
  raw: JsonText.optional().transform((v) => v ?? '{}'),
});
export type MessageInput = z.input<typeof MessageSchema>;
export type ParsedMessage = z.output<typeof MessageSchema>;

export const TranscriptSegmentSchema = TenantScopeSchema.extend({
  /** No `:` so that the key `{session_id}:{segment_id}` splits one way only. */
  session_id: Id.refine((s) => !s.includes(':'), 'must not contain ":"'),
  segment_id: Id,
  speaker_id: Id,
  channel_id: Id.nullish().transform((v) => v ?? null),
  text: Text.pipe(z.string().max(100_000)),
  start_ns: Int64String,
  end_ns: Int64String,
  lang: Id.nullish().transform((v) => v ?? null),
  confidence: z.number().min(0).max(1).nullish().transform((v) => v ?? null),
  model: Id.nullish().transform((v) => v ?? null),
}).refine((s) => BigInt(s.end_ns) >= BigInt(s.start_ns), { message: 'end_ns must not precede start_ns', path: ['end_ns'] });
export type TranscriptSegmentInput = z.input<typeof TranscriptSegmentSchema>;
export type ParsedTranscriptSegment = z.output<typeof TranscriptSegmentSchema>;

/**
 * An audit detail: any JSON value. A string holding the JSON text of an object (what the listen service
 * passes) is stored as that object, not as a string, so `detail->>'listener_id'` and readers find it.
 */
const AuditDetail = z.unknown().transform((value) => {
  if (typeof value !== 'string' || !value.startsWith('{')) return value;
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : value;
  } catch {
    return value;
  }
}).pipe(JsonText);

export const AuditSchema = TenantScopeSchema.extend({
  guild_id: Id.nullish().transform((v) => v ?? null),
  channel_id: Id.nullish().transform((v) => v ?? null),
  actor: Id,
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'must be a lowercase action name such as listen or listen.stop'),
  token_id_hash: Sha256Hex.nullish().transform((v) => v ?? null),
  detail: AuditDetail.optional().transform((v) => v ?? '{}'),
});
export type AuditInput = z.input<typeof AuditSchema>;
export type ParsedAudit = z.output<typeof AuditSchema>;

const Seq = Int64String.refine((s) => BigInt(s) >= 1n, 'must be 1 or more');

export const AuditChainQuerySchema = z.object({
  after_seq: Int64String.optional(),
  through_seq: Seq.optional(),
  since: Timestamp.optional(),
  limit: z.number().int().min(1).max(10_000).default(1000),
});

export const ReasonSchema = Text.pipe(z.string().min(1).max(200));

export const AuditQuerySchema = TenantScopeSchema.extend({
  guild_id: Id.optional(),
  channel_id: Id.optional(),
  after_id: Int64String.optional(),
  limit: z.number().int().min(1).max(10_000).default(100),
});

/** Where a token may be used; `*` as provider or tenant means any (an owner's token). */
export const TokenScopeSchema = z.object({
  provider: z.union([Token, z.literal('*')]),
  tenant: z.union([Token, z.literal('*')]),
  guild_id: Id.optional(),
  channel_id: Id.optional(),
});
export type TokenScope = z.infer<typeof TokenScopeSchema>;

export const TokenSchema = z.object({
  token_hash: Sha256Hex,
  kind: z.enum(['login', 'session', 'agent']),
  role: z.enum(['owner', 'moderator', 'agent']),
  scope: z.array(TokenScopeSchema).min(1).max(256),
  expires_at: Timestamp,
  /** Whom an invitation was made for (free text or a Discord id). */
  label: z.string().min(1).max(200).nullish().transform((v) => v ?? null),
  /** For a login token: the lifetime of the session it becomes, in seconds. */
  session_ttl_s: z.number().int().min(60).max(2_592_000).nullish().transform((v) => v ?? null),
});
export type TokenInput = z.input<typeof TokenSchema>;

export const TokenHashSchema = Sha256Hex;
export const ModelSchema = Id;
export const SearchKSchema = z.number().int().min(1).max(1000);

/** Parses `value` or throws StoreInputError whose path is `${path}.${first issue path}`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, path: string, onReject?: () => void): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  onReject?.();
  const issue = result.error.issues[0];
  const where = [path, ...(issue?.path ?? []).map(String)].filter((p) => p.length > 0).join('.');
  throw new StoreInputError(`${where}: ${issue?.message ?? 'invalid'}`, { path: where, cause: result.error });
}
