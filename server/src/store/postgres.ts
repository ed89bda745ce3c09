/**
 * The PostgreSQL driver (`DATABASE_URL`): a `pg` pool. Vector search is reported only where the server
 * offers the pgvector extension (`pg_available_extensions`).
 */
import pg from 'pg';
import type { SqlClient, SqlQueryable, SqlResult } from './sql.ts';
import { SqlStore } from './sqlStore.ts';
import type { SqlStoreOptions } from './sqlStore.ts';
import { StoreError } from './errors.ts';
import { copyCsvFrom } from './postgres-copy.ts';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** `postgres://user:pass@host:port/db`. */
  url: string;
  /** Most connections the pool opens. */
  maxConnections: number;
  /** Milliseconds to wait for a connection before failing. */
  connectTimeoutMs: number;
}

export const defaultPostgresStoreOptions: Omit<PostgresStoreOptions, 'url'> = {
  maxConnections: 10,
  connectTimeoutMs: 10_000,
  batchSize: 5000,
  migrationsDir: undefined,
};

function wrap(c: pg.Pool | pg.PoolClient): SqlQueryable {
  return {
    async query<T>(text: string, params: readonly unknown[] = []): Promise<SqlResult<T>> {
      const r = await c.query(text, params as unknown[]);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(text: string): Promise<void> {
      await c.query(text);
    },
    // COPY FROM STDIN through pg-copy-streams (postgres-copy.ts); outside a transaction on a pooled connection.
    async copyCsv(table: string, columns: readonly string[], csv: string): Promise<number> {
      if (!(c instanceof pg.Pool)) return copyCsvFrom(c, table, columns, csv);
      const conn = await c.connect();
      try {
        return await copyCsvFrom(conn, table, columns, csv);
      } finally {
        conn.release();
      }
    },
  };
}

/** A SqlClient over a pool; a transaction holds one connection from BEGIN to COMMIT / ROLLBACK. */
export function postgresClient(pool: pg.Pool): SqlClient {
  let closing: Promise<void> | undefined;
  return {
    ...wrap(pool),
    async transaction(fn) {
      const conn = await pool.connect();
      let broken: unknown;
      try {
        await conn.query('BEGIN');
        const out = await fn(wrap(conn));
        await conn.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await conn.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr;
        }
        throw err;
      } finally {
        // A connection whose ROLLBACK failed is in an unknown state: destroy it instead of reusing it.
        conn.release(broken instanceof Error ? broken : undefined);
      }
    },
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}

/** Redacts the password of a connection URL for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

/** Connects (checking the server answers) and reports capabilities. Call `migrate()` before use. */
export async function openPostgresStore(options: Partial<PostgresStoreOptions> & { url: string }): Promise<SqlStore> {
  const o = { ...defaultPostgresStoreOptions, ...options };
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.maxConnections,
    connectionTimeoutMillis: o.connectTimeoutMs,
  });
  let store: SqlStore | undefined;
  // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', () => store?.noteConnectionError());
  const client = postgresClient(pool);
  try {
    const caps = await SqlStore.detectCapabilities(client);
    store = new SqlStore('postgres', client, caps, o);
    return store;
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new StoreError(`cannot connect to PostgreSQL at ${redactUrl(o.url)}: ${(err as Error).message}`, { cause: err });
  }
}
