/**
 * The brain switches of the store (migration 009): per (provider, tenant, guild, brain) whether an
 * owner turned cephalon-voice or cephalon-social on or off from the console. `SqlStore` delegates
 * here, as it does to the moderation store. Every method validates first (`onReject` counts refusals).
 */
import { z } from 'zod';
import { ID_TOKEN_RE } from '@promethean/shared';
import type { SqlClient } from './sql.ts';
import type { TenantScope } from './store.ts';
import { parseInput } from './schemas.ts';
import { toIso } from './rows.ts';

export type BrainSwitchName = 'voice' | 'social';

export interface BrainSwitchInput extends TenantScope {
  guild_id: string;
  brain: BrainSwitchName;
  enabled: boolean;
  /** Who set it (an actor as the audit log names it). */
  updated_by: string;
}

export interface BrainSwitchRow extends BrainSwitchInput {
  updated_at: string;
}

export interface BrainSwitchQuery {
  /** One tenant (both or neither of provider and tenant); absent = every tenant. */
  provider?: string;
  tenant?: string;
  guild_id?: string;
  /** At most this many rows (default and most 20,000). */
  limit?: number;
}

const NoNul = z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const Id = NoNul.pipe(z.string().min(1).max(128));
const Token = z.string().regex(ID_TOKEN_RE, 'must match [a-z0-9_-]+').max(64);
const Brain = z.enum(['voice', 'social']);
const InputSchema = z.object({ provider: Token, tenant: Token, guild_id: Id, brain: Brain, enabled: z.boolean(), updated_by: NoNul.pipe(z.string().min(1).max(200)) });
const QuerySchema = z
  .object({ provider: Token.optional(), tenant: Token.optional(), guild_id: Id.optional(), limit: z.number().int().min(1).max(20_000).default(20_000) })
  .refine((q) => (q.provider === undefined) === (q.tenant === undefined), { message: 'provider and tenant go together', path: ['tenant'] });

const COLUMNS = 'provider, tenant, guild_id, brain, enabled, updated_by, updated_at';
const PUT = `
INSERT INTO bot_brains AS b (provider, tenant, guild_id, brain, enabled, updated_by)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (provider, tenant, guild_id, brain) DO UPDATE SET
  enabled = EXCLUDED.enabled, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING ${COLUMNS}`;
const LIST = `
SELECT ${COLUMNS} FROM bot_brains
WHERE ($1::text IS NULL OR (provider = $1 AND tenant = $2)) AND ($3::text IS NULL OR guild_id = $3)
ORDER BY provider, tenant, guild_id, brain LIMIT $4`;

function toRow(r: Record<string, unknown>): BrainSwitchRow {
  return {
    provider: String(r.provider),
    tenant: String(r.tenant),
    guild_id: String(r.guild_id),
    brain: String(r.brain) as BrainSwitchName,
    enabled: r.enabled === true,
    updated_by: String(r.updated_by),
    updated_at: toIso(r.updated_at),
  };
}

export class BrainSwitchStore {
  readonly #sql: SqlClient;
  readonly #onReject: () => void;

  constructor(sql: SqlClient, onReject: () => void) {
    this.#sql = sql;
    this.#onReject = onReject;
  }

  async putBrainSwitch(input: BrainSwitchInput): Promise<BrainSwitchRow> {
    const v = parseInput(InputSchema, input, '', this.#onReject);
    const r = await this.#sql.query<Record<string, unknown>>(PUT, [v.provider, v.tenant, v.guild_id, v.brain, v.enabled, v.updated_by]);
    return toRow(r.rows[0]!);
  }

  async listBrainSwitches(query: BrainSwitchQuery = {}): Promise<BrainSwitchRow[]> {
    const q = parseInput(QuerySchema, query, '', this.#onReject);
    const r = await this.#sql.query<Record<string, unknown>>(LIST, [q.provider ?? null, q.tenant ?? null, q.guild_id ?? null, q.limit]);
    return r.rows.map(toRow);
  }
}
