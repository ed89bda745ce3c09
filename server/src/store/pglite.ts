/**
 * The embedded driver: PGlite (PostgreSQL compiled to WebAssembly) with pgvector, keeping its files in a
 * data directory under the project. `dataDir: 'memory://'` keeps everything in memory (tests).
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { SqlClient, SqlQueryable, SqlResult } from './sql.ts';
import { SqlStore } from './sqlStore.ts';
import type { SqlStoreOptions } from './sqlStore.ts';
import { StoreError } from './errors.ts';

/** `<project>/.data/pglite`. */
export const DEFAULT_PGLITE_DATA_DIR = fileURLToPath(new URL('../../../.data/pglite', import.meta.url));
export const PGLITE_MEMORY = 'memory://';

export interface PgliteStoreOptions extends SqlStoreOptions {
  /** Data directory (created if missing), or `memory://` for a throw-away database. */
  dataDir: string;
  /** Load pgvector (on by default; off only to exercise the no-vector paths). */
  vector: boolean;
}

export const defaultPgliteStoreOptions: PgliteStoreOptions = {
  dataDir: DEFAULT_PGLITE_DATA_DIR,
  vector: true,
  batchSize: 5000,
  migrationsDir: undefined,
};

type PgliteLike = Pick<PGlite, 'query' | 'exec' | 'transaction' | 'close' | 'closed'>;

function wrap(db: Pick<PGlite, 'query' | 'exec'>): SqlQueryable {
  return {
    async query<T>(text: string, params: readonly unknown[] = []): Promise<SqlResult<T>> {
      const r = await db.query<T>(text, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(text: string): Promise<void> {
      await db.exec(text);
    },
    // PGlite's documented COPY input: the statement reads '/dev/blob', the query's `blob` option.
    async copyCsv(table: string, columns: readonly string[], csv: string): Promise<number> {
      const r = await db.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob([csv]) });
      return r.affectedRows ?? 0;
    },
  };
}

/** A SqlClient over one PGlite instance (PGlite runs one statement at a time; it queues the rest). */
export function pgliteClient(db: PgliteLike): SqlClient {
  const base = wrap(db);
  return {
    ...base,
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async close() {
      if (!db.closed) await db.close();
    },
  };
}

/** Opens (creating if needed) a PGlite database. Call `migrate()` before use. */
export async function openPgliteStore(options: Partial<PgliteStoreOptions> = {}): Promise<SqlStore> {
  const o = { ...defaultPgliteStoreOptions, ...options };
  if (o.dataDir !== PGLITE_MEMORY) await mkdir(o.dataDir, { recursive: true });
  let db: PGlite;
  try {
    db = o.vector ? await PGlite.create(o.dataDir, { extensions: { vector } }) : await PGlite.create(o.dataDir);
  } catch (err) {
    throw new StoreError(`cannot open PGlite at ${o.dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const client = pgliteClient(db);
  try {
    const caps = o.vector ? await SqlStore.detectCapabilities(client) : { vector: false };
    return new SqlStore('pglite', client, caps, o);
  } catch (err) {
    await client.close();
    throw new StoreError(`cannot query PGlite at ${o.dataDir}: ${(err as Error).message}`, { cause: err });
  }
}
