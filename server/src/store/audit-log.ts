/**
 * The audit log's writer and chain keeper, shared by both drivers through `SqlStore`.
 *
 * Appends never fork the chain: within a process they run one after another (a promise queue, which
 * also keeps head notifications in chain order), and each runs in a transaction that first takes a
 * transaction-scoped advisory lock, so a second process on the same PostgreSQL database (say
 * `promethean audit export` next to a running server) waits for the lock instead of reading the same
 * tail. `seq` is the tail's seq + 1 under that lock, so it has no gaps (a rolled-back append takes no
 * number); unique indexes on `seq` and `prev_hash` refuse a fork should anything get past the lock.
 */
import { InvalidStateError } from '@promethean/shared';
import type { SqlClient, SqlQueryable } from './sql.ts';
import type { AuditChainOptions, AuditChainState, AuditChainUse, AuditRecord } from './store.ts';
import type { ParsedAudit } from './schemas.ts';
import { GENESIS_HASH, auditHash, checkAuditKey } from './audit-chain.ts';
import { StoreError } from './errors.ts';
import * as q from './queries.ts';
import { toAuditRecord, toIso } from './rows.ts';

/** Rows chained per statement when sealing rows from before the chain. */
const SEAL_BATCH = 5000;

interface TailRow {
  seq: string | null;
  hash: string | null;
  now: unknown;
}

export interface AuditChainReadQuery {
  after_seq?: string | undefined;
  through_seq?: string | undefined;
  since?: string | undefined;
  limit: number;
}

export class AuditLog {
  readonly #sql: SqlClient;
  #chain: AuditChainOptions | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  append(entry: ParsedAudit): Promise<AuditRecord> {
    return this.#serial(async () => {
      const chain = this.#chain;
      const record = await this.#sql.transaction(async (tx) => {
        const tail = await lockTail(tx);
        const at = toIso(tail.now);
        let seq: string | null = null;
        let prev: string | null = null;
        let hash: string | null = null;
        if (chain) {
          seq = (BigInt(tail.seq ?? '0') + 1n).toString();
          prev = tail.hash ?? GENESIS_HASH;
          hash = auditHash(chain.key, { ...entry, seq, prev_hash: prev, at, detail: JSON.parse(entry.detail) as unknown });
        } else if (tail.seq !== null) {
          throw new InvalidStateError('the audit log is hash-chained and this store holds no chain key (call useAuditChain first)');
        }
        const r = await tx.query(q.APPEND_AUDIT, [
          at, entry.provider, entry.tenant, entry.guild_id, entry.channel_id, entry.actor, entry.action, entry.token_id_hash,
          entry.detail, seq, prev, hash,
        ]);
        if (!r.rows[0]) throw new StoreError('appendAudit returned no row');
        return toAuditRecord(r.rows[0]);
      });
      if (chain?.onHead && record.seq !== null && record.hash !== null) {
        try {
          await chain.onHead({ seq: record.seq, hash: record.hash });
        } catch (cause) {
          throw new StoreError(`audit record seq ${record.seq} was written, but the chain head could not be: ${(cause as Error).message}`, { cause });
        }
      }
      return record;
    });
  }

  use(options: AuditChainOptions): Promise<AuditChainUse> {
    checkAuditKey(options.key);
    const chain: AuditChainOptions = { key: Uint8Array.from(options.key), ...(options.onHead ? { onHead: options.onHead } : {}) };
    const seal = options.seal !== false;
    return this.#serial(async () => {
      const result = await this.#sql.transaction(async (tx) => {
        const tail = await lockTail(tx);
        const sealed = seal && tail.seq === null ? await sealUnchained(tx, chain.key) : 0;
        return { sealed, ...(await readState(tx)) };
      });
      this.#chain = chain;
      if (result.sealed > 0 && result.head && chain.onHead) await chain.onHead(result.head);
      return result;
    });
  }

  state(): Promise<AuditChainState> {
    return readState(this.#sql);
  }

  async read(query: AuditChainReadQuery): Promise<AuditRecord[]> {
    const r = await this.#sql.query(q.READ_AUDIT_CHAIN, [query.after_seq ?? null, query.through_seq ?? null, query.since ?? null, query.limit]);
    return r.rows.map(toAuditRecord);
  }

  async closeOpenListens(reason: string): Promise<AuditRecord[]> {
    const open = await this.#sql.query<Record<string, unknown> & { listener_id: string }>(q.OPEN_LISTENS);
    const closed: AuditRecord[] = [];
    for (const row of open.rows) {
      const start = toAuditRecord(row);
      const detail = objectOf(start.detail);
      closed.push(await this.append({
        provider: start.provider,
        tenant: start.tenant,
        guild_id: start.guild_id,
        channel_id: start.channel_id,
        actor: start.actor,
        action: 'listen.stop',
        token_id_hash: start.token_id_hash,
        detail: JSON.stringify({
          listener_id: row.listener_id,
          session_id: typeof detail.session_id === 'string' ? detail.session_id : null,
          reason,
          start_seq: start.seq,
          start_id: start.id,
        }),
      }));
    }
    return closed;
  }

  /** Runs `fn` once every earlier audit write of this store has settled. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }
}

/** Takes the audit lock (held until the transaction ends) and reads the chain's tail and the clock. */
async function lockTail(tx: SqlQueryable): Promise<TailRow> {
  await tx.query(q.AUDIT_LOCK, [q.AUDIT_LOCK_KEY.toString()]);
  const tail = (await tx.query<TailRow>(q.AUDIT_TAIL)).rows[0];
  if (!tail) throw new StoreError('the audit tail query returned no row');
  return tail;
}

async function readState(db: SqlQueryable): Promise<AuditChainState> {
  const tail = (await db.query<TailRow>(q.AUDIT_TAIL)).rows[0];
  const un = (await db.query<{ unchained: number; first_unchained_id: string | null }>(q.AUDIT_UNCHAINED)).rows[0];
  return {
    head: tail?.seq && tail.hash ? { seq: String(tail.seq), hash: String(tail.hash) } : null,
    unchained: Number(un?.unchained ?? 0),
    first_unchained_id: un?.first_unchained_id ?? null,
  };
}

/** Chains every row without a seq, in id order, starting at seq 1; returns how many. */
async function sealUnchained(tx: SqlQueryable, key: Uint8Array): Promise<number> {
  let seq = 0n;
  let prev = GENESIS_HASH;
  for (;;) {
    const rows = (await tx.query(q.SELECT_UNCHAINED, [SEAL_BATCH])).rows.map(toAuditRecord);
    if (rows.length === 0) return Number(seq);
    const ids: string[] = [];
    const seqs: string[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (const row of rows) {
      seq += 1n;
      const hash = auditHash(key, { ...row, seq: seq.toString(), prev_hash: prev });
      ids.push(row.id);
      seqs.push(seq.toString());
      prevs.push(prev);
      hashes.push(hash);
      prev = hash;
    }
    const r = await tx.query(q.SEAL_AUDIT, [ids, seqs, prevs, hashes]);
    if (r.rowCount !== rows.length) throw new StoreError(`sealing the audit log changed ${r.rowCount} of ${rows.length} rows`);
  }
}

function objectOf(value: unknown): Record<string, unknown> {
  if (typeof value === 'string' && value.startsWith('{')) {
    try {
      return objectOf(JSON.parse(value) as unknown);
    } catch {
      return {};
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
