/**
 * Versioned migrations: `migrations/NNN_name.sql`, applied in version order inside one transaction and
 * recorded in `schema_migrations`. A file named `NNN_name.vector.sql` needs pgvector: where the database
 * lacks it, the migration is skipped (not recorded), so it applies once pgvector appears.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { SqlClient } from './sql.ts';
import type { MigrateResult, StoreCapabilities } from './store.ts';
import { StoreError } from './errors.ts';

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Advisory lock key ("prometh" in ASCII) so two processes never migrate at once. */
const MIGRATION_LOCK_KEY = 0x70726f6d657468n;

export interface Migration {
  version: number;
  name: string;
  /** A capability the migration needs; absent for plain SQL. */
  requires: keyof StoreCapabilities | undefined;
  sql: string;
}

const FILE_RE = /^(\d{3})_([a-z0-9_]+)(\.vector)?\.sql$/;

/** Parses a migration file name; undefined when the name does not follow `NNN_name[.vector].sql`. */
export function parseMigrationFileName(file: string): Omit<Migration, 'sql'> | undefined {
  const m = FILE_RE.exec(file);
  if (!m) return undefined;
  return { version: Number(m[1]), name: m[2]!, requires: m[3] ? 'vector' : undefined };
}

/** Reads every migration of `dir`, sorted by version. Throws StoreError on a stray file or a duplicate version. */
export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  const seen = new Set<number>();
  for (const file of files) {
    const meta = parseMigrationFileName(file);
    if (!meta) throw new StoreError(`migration file "${file}" does not match NNN_name[.vector].sql`);
    if (seen.has(meta.version)) throw new StoreError(`migration version ${meta.version} appears twice (${file})`);
    seen.add(meta.version);
    out.push({ ...meta, sql: await readFile(join(dir, file), 'utf8') });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** Applies the pending migrations in one transaction; returns what it applied and skipped. */
export async function runMigrations(
  client: SqlClient,
  migrations: readonly Migration[],
  capabilities: StoreCapabilities,
): Promise<MigrateResult> {
  return client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY.toString()]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(done.rows.map((r) => Number(r.version)));
    const result: MigrateResult = { applied: [], skipped: [] };
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      if (m.requires && !capabilities[m.requires]) {
        result.skipped.push(m.version);
        continue;
      }
      try {
        await tx.exec(m.sql);
      } catch (err) {
        throw new StoreError(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      result.applied.push(m.version);
    }
    return result;
  });
}
