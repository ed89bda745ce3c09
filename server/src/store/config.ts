/**
 * Store configuration, parsed once with zod at start-up, and `createStore()`, which picks the driver:
 * PostgreSQL when `databaseUrl` (`DATABASE_URL`) is set, PGlite otherwise.
 */
import { z } from 'zod';
import type { Store } from './store.ts';
import { StoreConfigError } from './errors.ts';
import { DEFAULT_PGLITE_DATA_DIR, openPgliteStore } from './pglite.ts';
import { openPostgresStore } from './postgres.ts';

const PostgresUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.pathname.length > 1;
  } catch {
    return false;
  }
}, 'must be a postgres:// or postgresql:// URL naming a database (postgres://user:pass@host:5432/db)');

export const StoreConfigSchema = z.strictObject({
  /** PostgreSQL connection URL; when absent the embedded PGlite is used. */
  databaseUrl: PostgresUrl.optional(),
  /** PGlite data directory (`memory://` for a throw-away database). */
  dataDir: z.string().min(1).default(DEFAULT_PGLITE_DATA_DIR),
  /** Apply pending migrations when the store opens. */
  migrate: z.boolean().default(true),
  /** Rows per upsert statement. */
  batchSize: z.number().int().min(1).max(100_000).default(5000),
  /** Pool size for PostgreSQL. */
  maxConnections: z.number().int().min(1).max(1000).default(10),
});
export type StoreConfigInput = z.input<typeof StoreConfigSchema>;
export type StoreConfig = z.output<typeof StoreConfigSchema>;

/** Parses store config; a bad field throws StoreConfigError naming it (`path` = the field, or `envName` when given). */
export function parseStoreConfig(input: unknown, envNames: Readonly<Record<string, string>> = {}): StoreConfig {
  const r = StoreConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(root)';
  const name = envNames[field] ?? field;
  throw new StoreConfigError(`store config: ${name} ${issue?.message ?? 'is invalid'}`, { path: name, cause: r.error });
}

/** Reads `DATABASE_URL` from an environment map (empty counts as unset); errors name `DATABASE_URL`. */
export function storeConfigFromEnv(env: Readonly<Record<string, string | undefined>>, rest: Omit<StoreConfigInput, 'databaseUrl'> = {}): StoreConfig {
  const url = env.DATABASE_URL;
  return parseStoreConfig({ ...rest, ...(url ? { databaseUrl: url } : {}) }, { databaseUrl: 'DATABASE_URL' });
}

/** Opens the configured store (and migrates it unless `migrate: false`). */
export async function createStore(config: StoreConfigInput | StoreConfig = {}): Promise<Store> {
  const c = parseStoreConfig(config);
  const store = c.databaseUrl
    ? await openPostgresStore({ url: c.databaseUrl, batchSize: c.batchSize, maxConnections: c.maxConnections })
    : await openPgliteStore({ dataDir: c.dataDir, batchSize: c.batchSize });
  if (c.migrate) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}
