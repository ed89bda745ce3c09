import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStoreSuite, message } from './store.suite.ts';
import { openPgliteStore, PGLITE_MEMORY } from './pglite.ts';

// PGlite bundles pgvector: the capability must be there, so vector search can never silently vanish.
runStoreSuite('pglite', () => openPgliteStore({ dataDir: PGLITE_MEMORY, batchSize: 4000 }), { expectVector: true });

describe('PGlite driver', () => {
  it('keeps rows in its data directory across close() and reopen, and migrate() then applies nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promethean-pglite-'));
    try {
      const first = await openPgliteStore({ dataDir: dir });
      expect((await first.migrate()).applied.length).toBeGreaterThan(0);
      await first.upsertMessages([message('persist', 1, { content: 'kept' })]);
      await first.close();
      const second = await openPgliteStore({ dataDir: dir });
      expect(await second.migrate()).toEqual({ applied: [], skipped: [] });
      expect((await second.getMessage({ provider: 'discord', tenant: 'persist', foreign_id: '1' }))?.content).toBe('kept');
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips the vector migration where pgvector is missing and applies it once pgvector is there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promethean-pglite-'));
    try {
      const plain = await openPgliteStore({ dataDir: dir, vector: false });
      expect(plain.capabilities.vector).toBe(false);
      // Which files need pgvector follows from their names (`NNN_name.vector.sql`), read independently here.
      const files = await readdir(new URL('./migrations/', import.meta.url));
      const versions = files.filter((f) => f.endsWith('.sql')).sort().map((f) => ({ v: Number(f.slice(0, 3)), vector: f.endsWith('.vector.sql') }));
      const plainVersions = versions.filter((m) => !m.vector).map((m) => m.v);
      const vectorVersions = versions.filter((m) => m.vector).map((m) => m.v);
      expect(plainVersions).toEqual(expect.arrayContaining([1, 3, 4, 5]));
      expect(vectorVersions).toContain(2);
      expect(await plain.migrate()).toEqual({ applied: plainVersions, skipped: vectorVersions });
      await plain.close();
      const withVector = await openPgliteStore({ dataDir: dir });
      expect(await withVector.migrate()).toEqual({ applied: vectorVersions, skipped: [] });
      await withVector.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
