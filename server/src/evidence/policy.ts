/**
 * Per-guild replay and evidence-export switches. Both are on unless an owner turned them off. A
 * change is an audit row (`evidence.policy`, its detail `{ replay, export }`), and the audit log is
 * where the setting lives: the newest row per (tenant, guild) wins, so the setting survives restarts
 * with no table of its own and every change is on record by construction. Read once per tenant from
 * the log, then kept in a bounded map.
 */
import type { AuditInput, AuditRecord, AuditQuery } from '../store/index.ts';

export interface EvidencePolicy {
  /** The console keeps the last minutes of audio for replay. */
  replay: boolean;
  /** Evidence clips may be exported (needs replay). */
  export: boolean;
}

export const defaultEvidencePolicy: EvidencePolicy = { replay: true, export: true };

/** The audit log as the policy reads and writes it (the Store satisfies it). */
export interface PolicyAuditLog {
  appendAudit(entry: AuditInput): Promise<AuditRecord>;
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
}

export const POLICY_ACTION = 'evidence.policy';
const PAGE = 1000;
/** Tenants whose settings are kept in memory. */
const MAX_TENANTS = 256;
/** Guild settings per tenant. */
const MAX_GUILDS = 10_000;

export class EvidencePolicies {
  readonly #log: PolicyAuditLog;
  readonly #tenants = new Map<string, Promise<Map<string, EvidencePolicy>>>();

  constructor(log: PolicyAuditLog) {
    this.#log = log;
  }

  async get(provider: string, tenant: string, guild: string): Promise<EvidencePolicy> {
    return (await this.#load(provider, tenant)).get(guild) ?? defaultEvidencePolicy;
  }

  /** Records and applies a change; export cannot stay on without replay. */
  async set(provider: string, tenant: string, guild: string, actor: string, next: EvidencePolicy, extra: Record<string, unknown> = {}): Promise<EvidencePolicy> {
    const policy = { replay: next.replay, export: next.replay && next.export };
    const map = await this.#load(provider, tenant);
    await this.#log.appendAudit({ provider, tenant, guild_id: guild, channel_id: null, actor, action: POLICY_ACTION, detail: JSON.stringify({ ...extra, ...policy }) });
    if (!map.has(guild) && map.size >= MAX_GUILDS) map.delete(map.keys().next().value!);
    map.set(guild, policy);
    return policy;
  }

  #load(provider: string, tenant: string): Promise<Map<string, EvidencePolicy>> {
    const key = `${provider}/${tenant}`;
    let p = this.#tenants.get(key);
    if (!p) {
      if (this.#tenants.size >= MAX_TENANTS) this.#tenants.delete(this.#tenants.keys().next().value!);
      p = this.#scan(provider, tenant);
      p.catch(() => this.#tenants.delete(key));
      this.#tenants.set(key, p);
    }
    return p;
  }

  /** Every `evidence.policy` row of the tenant, oldest first, so the newest wins. */
  async #scan(provider: string, tenant: string): Promise<Map<string, EvidencePolicy>> {
    const map = new Map<string, EvidencePolicy>();
    let after: string | undefined;
    for (;;) {
      const rows = await this.#log.listAudit({ provider, tenant, limit: PAGE, ...(after ? { after_id: after } : {}) });
      for (const r of rows) {
        if (r.action !== POLICY_ACTION || !r.guild_id) continue;
        const parsed = parsePolicy(r.detail);
        if (parsed) map.set(r.guild_id, parsed);
      }
      if (rows.length < PAGE) return map;
      after = rows[rows.length - 1]!.id;
    }
  }
}

/** The detail as stored: a JSON object, or its text (the store may give either). */
function parsePolicy(detail: unknown): EvidencePolicy | undefined {
  try {
    const d = (typeof detail === 'string' ? JSON.parse(detail) : detail) as { replay?: unknown; export?: unknown } | null;
    if (d === null || typeof d !== 'object') return undefined;
    if (typeof d.replay !== 'boolean' || typeof d.export !== 'boolean') return undefined;
    return { replay: d.replay, export: d.replay && d.export };
  } catch {
    return undefined;
  }
}
