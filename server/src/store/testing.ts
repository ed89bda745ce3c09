/**
 * Test helpers for the store: fresh, migrated in-memory PGlite stores cloned from one template, which
 * is several times faster than starting PGlite and migrating it for every test.
 */
import { PGlite } from '@electric-sql/pglite';
import { pgliteClient } from './pglite.ts';
import { SqlStore } from './sqlStore.ts';

export interface PgliteTemplate {
  /** A new store holding what the template held when it was made (the migrated, empty schema). */
  fresh(): Promise<SqlStore>;
  /** Closes the template and every store it handed out; idempotent. */
  close(): Promise<void>;
}

/** A migrated in-memory PGlite (without pgvector) to clone stores from. */
export async function pgliteTemplate(): Promise<PgliteTemplate> {
  const db = await PGlite.create('memory://');
  const template = new SqlStore('pglite', pgliteClient(db), { vector: false });
  await template.migrate();
  const handed = new Set<SqlStore>();
  return {
    async fresh() {
      const store = new SqlStore('pglite', pgliteClient(await db.clone()), { vector: false });
      handed.add(store);
      return store;
    },
    async close() {
      await Promise.all([...handed].map((s) => s.close()));
      handed.clear();
      await template.close();
    },
  };
}
