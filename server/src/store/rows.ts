/** Database rows → the store's row types (timestamps as ISO strings; both drivers return Date or string). */
import type { AuditRecord, MessageRow, TokenRow, TranscriptSegmentRow } from './store.ts';
import type { TokenScope } from './schemas.ts';

export function toIso(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return new Date(String(value)).toISOString();
}

function toIsoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : toIso(value);
}

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** jsonb comes back parsed from both drivers; a string would mean a driver was set up to skip parsing. */
function json(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

export function toMessageRow(r: Record<string, unknown>): MessageRow {
  return {
    provider: String(r.provider),
    tenant: String(r.tenant),
    foreign_id: String(r.foreign_id),
    space_id: String(r.space_id),
    channel_id: String(r.channel_id),
    author_id: String(r.author_id),
    content: String(r.content),
    created_at: toIso(r.created_at),
    edited_at: toIsoOrNull(r.edited_at),
    raw: json(r.raw),
  };
}

export function toSegmentRow(r: Record<string, unknown>): TranscriptSegmentRow {
  return {
    provider: String(r.provider),
    tenant: String(r.tenant),
    foreign_id: String(r.foreign_id),
    session_id: String(r.session_id),
    segment_id: String(r.segment_id),
    speaker_id: String(r.speaker_id),
    channel_id: textOrNull(r.channel_id),
    text: String(r.text),
    start_ns: String(r.start_ns),
    end_ns: String(r.end_ns),
    lang: textOrNull(r.lang),
    confidence: r.confidence === null || r.confidence === undefined ? null : Number(r.confidence),
    model: textOrNull(r.model),
  };
}

export function toAuditRecord(r: Record<string, unknown>): AuditRecord {
  return {
    id: String(r.id),
    seq: textOrNull(r.seq),
    prev_hash: textOrNull(r.prev_hash),
    hash: textOrNull(r.hash),
    at: toIso(r.at),
    provider: String(r.provider),
    tenant: String(r.tenant),
    guild_id: textOrNull(r.guild_id),
    channel_id: textOrNull(r.channel_id),
    actor: String(r.actor),
    action: String(r.action),
    token_id_hash: textOrNull(r.token_id_hash),
    detail: json(r.detail),
  };
}

export function toTokenRow(r: Record<string, unknown>): TokenRow {
  return {
    token_hash: String(r.token_hash),
    kind: String(r.kind) as TokenRow['kind'],
    role: String(r.role) as TokenRow['role'],
    scope: json(r.scope) as TokenScope[],
    created_at: toIso(r.created_at),
    expires_at: toIso(r.expires_at),
    used_at: toIsoOrNull(r.used_at),
    revoked_at: toIsoOrNull(r.revoked_at),
    label: r.label === null || r.label === undefined ? null : String(r.label),
    session_ttl_s: r.session_ttl_s === null || r.session_ttl_s === undefined ? null : Number(r.session_ttl_s),
  };
}
