/**
 * `promethean audit export`: the chained rows recorded since a time, as JSON lines, in seq order. The
 * export is itself audited before a row leaves: an `audit.export` record (tenant promethean/system)
 * says who exported which range to where; if it cannot be written, nothing is exported.
 */
import type { AuditRecord, Store } from '../store/index.ts';

export interface AuditExportOptions {
  /** Rows recorded at or after this time (ISO 8601). */
  since: string;
  /** Who exports (`cli:<user>`). */
  actor: string;
  /** Where the lines go, for the record (`stdout` or a file path). */
  to: string;
  /** Extra fields for the export record's detail (host, pid). */
  detail: Record<string, unknown>;
  /** Rows read per query. */
  pageSize: number;
}

export const defaultAuditExportOptions = { to: 'stdout', detail: {}, pageSize: 5000 } satisfies Partial<AuditExportOptions>;

export interface AuditExportResult {
  /** Rows written. */
  rows: number;
  /** The last seq the export covers (the chain's head when it began); null when the log was empty. */
  through_seq: string | null;
  /** The `audit.export` record. */
  record: AuditRecord;
}

/** One exported line: the row with its chain fields, seq first. */
export function exportLine(r: AuditRecord): string {
  return JSON.stringify({
    seq: r.seq, id: r.id, at: r.at, provider: r.provider, tenant: r.tenant, guild_id: r.guild_id, channel_id: r.channel_id,
    actor: r.actor, action: r.action, token_id_hash: r.token_id_hash, detail: r.detail, prev_hash: r.prev_hash, hash: r.hash,
  });
}

/** Records the export, then hands each line (with its newline) to `write`, waiting for it. */
export async function exportAudit(
  store: Store,
  write: (line: string) => Promise<void> | void,
  options: Partial<AuditExportOptions> & Pick<AuditExportOptions, 'since' | 'actor'>,
): Promise<AuditExportResult> {
  const o: AuditExportOptions = { ...defaultAuditExportOptions, ...options };
  const since = new Date(o.since).toISOString();
  const { head } = await store.auditChainState();
  const through = head?.seq ?? null;
  const record = await store.appendAudit({
    provider: 'promethean',
    tenant: 'system',
    actor: o.actor,
    action: 'audit.export',
    detail: { ...o.detail, since, through_seq: through, to: o.to },
  });
  let rows = 0;
  if (through === null) return { rows, through_seq: through, record };
  let after: string | undefined;
  for (;;) {
    const page = await store.readAuditChain({ since, through_seq: through, limit: o.pageSize, ...(after ? { after_seq: after } : {}) });
    for (const r of page) {
      await write(`${exportLine(r)}\n`);
      rows++;
    }
    if (page.length < o.pageSize) break;
    after = page[page.length - 1]!.seq!;
  }
  return { rows, through_seq: through, record };
}
