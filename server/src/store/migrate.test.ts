import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, parseMigrationFileName } from './migrate.ts';
import { StoreError } from './errors.ts';

describe('migration files', () => {
  it('parseMigrationFileName() reads NNN_name.sql and NNN_name.vector.sql and refuses anything else', () => {
    expect(parseMigrationFileName('001_init.sql')).toEqual({ version: 1, name: 'init', requires: undefined });
    expect(parseMigrationFileName('012_message_embeddings.vector.sql')).toEqual({ version: 12, name: 'message_embeddings', requires: 'vector' });
    for (const bad of ['1_init.sql', '001-init.sql', '001_Init.sql', '001_init.sql.bak', '001_init.gpu.sql', '001_.sql']) {
      expect(parseMigrationFileName(bad)).toBeUndefined();
    }
  });

  it('loadMigrations() returns the bundled migrations in version order, starting at 1', async () => {
    const all = await loadMigrations();
    expect(all.map((m) => m.version)).toEqual(all.map((_, i) => i + 1));
    expect(all[0]?.sql).toContain('CREATE TABLE messages');
  });

  it('loadMigrations() rejects with StoreError on a stray file name or a duplicate version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promethean-migrations-'));
    try {
      await writeFile(join(dir, '001_a.sql'), 'SELECT 1;');
      await writeFile(join(dir, '001_b.sql'), 'SELECT 1;');
      await expect(loadMigrations(dir)).rejects.toThrow(StoreError);
      await rm(join(dir, '001_b.sql'));
      await writeFile(join(dir, 'two.sql'), 'SELECT 1;');
      await expect(loadMigrations(dir)).rejects.toThrow(/does not match/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
