/**
 * The audit log's hash chain, format `promethean.audit.v1`:
 *
 *   hash = HMAC-SHA256(key, canonical(["promethean.audit.v1", seq, prev_hash, at, provider, tenant,
 *                                      guild_id, channel_id, actor, action, token_id_hash, detail]))
 *
 * `canonical` is JSON with object keys sorted (by UTF-16 code unit) at every depth and no whitespace;
 * `seq` is a decimal string, `at` ISO 8601 UTC with milliseconds, absent values `null`. `prev_hash` of
 * seq 1 is {@link GENESIS_HASH}. The key is 256 random bits kept outside the database, so whoever can
 * write the database but not read the key cannot produce a row that verifies. The store writes with
 * it; `server/src/audit/verify.ts` checks with it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const AUDIT_CHAIN_FORMAT = 'promethean.audit.v1';
/** `prev_hash` of the first row. */
export const GENESIS_HASH = '0'.repeat(64);
/** Bytes of an audit chain key. */
export const AUDIT_KEY_BYTES = 32;

/** The fields a row's hash covers (everything but the database's own `id`). */
export interface AuditChainFields {
  seq: string;
  prev_hash: string;
  at: string;
  provider: string;
  tenant: string;
  guild_id: string | null;
  channel_id: string | null;
  actor: string;
  action: string;
  token_id_hash: string | null;
  detail: unknown;
}

/** JSON with sorted object keys and no whitespace; `undefined` members of objects are left out as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form; inside arrays JSON.stringify writes null.
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function').sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The exact bytes a row's HMAC is computed over. */
export function auditCanonical(row: AuditChainFields): string {
  return canonicalJson([
    AUDIT_CHAIN_FORMAT, row.seq, row.prev_hash, row.at, row.provider, row.tenant, row.guild_id, row.channel_id,
    row.actor, row.action, row.token_id_hash, row.detail,
  ]);
}

/** HMAC-SHA256 of the row's canonical form, as 64 lowercase hex digits. */
export function auditHash(key: Uint8Array, row: AuditChainFields): string {
  return createHmac('sha256', key).update(auditCanonical(row), 'utf8').digest('hex');
}

/** Constant-time comparison of two hex hashes (false when either is not 64 hex digits). */
export function sameHash(a: string | null, b: string | null): boolean {
  if (a === null || b === null || !/^[0-9a-f]{64}$/.test(a) || !/^[0-9a-f]{64}$/.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** Throws unless `key` is a 256-bit key. */
export function checkAuditKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== AUDIT_KEY_BYTES) {
    throw new TypeError(`the audit chain key must be ${AUDIT_KEY_BYTES} bytes`);
  }
}
