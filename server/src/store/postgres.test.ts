import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { requires } from '../../../test/support/requires.ts';
import { freePort, hasPostgres, startPostgres, POSTGRES_INSTALL_HINT } from '../../../test/support/postgres.ts';
import type { RunningPostgres } from '../../../test/support/postgres.ts';
import { runStoreSuite } from './store.suite.ts';
import { openPostgresStore } from './postgres.ts';
import { createStore } from './config.ts';
import { StoreError } from './errors.ts';

const available = requires('PostgreSQL 15 server', hasPostgres(), POSTGRES_INSTALL_HINT);
// An independent look at the server's extension folder: does this PostgreSQL ship pgvector?
const VECTOR_CONTROL = '/usr/share/postgresql/15/extension/vector.control';

describe.skipIf(!available)('PostgreSQL driver', () => {
  let server: RunningPostgres;
  let dbCount = 0;

  /** A fresh database per store, so every store starts empty and unmigrated like a memory PGlite. */
  async function freshUrl(): Promise<string> {
    const name = `suite_${++dbCount}`;
    const admin = new pg.Client({ connectionString: server.url.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return server.url.replace(/\/[^/]+$/, `/${name}`);
  }

  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  runStoreSuite('postgres', async () => openPostgresStore({ url: await freshUrl(), batchSize: 4000 }), {
    expectVector: existsSync(VECTOR_CONTROL),
  });

  it('two stores migrating one database at once apply each migration exactly once', async () => {
    const url = await freshUrl();
    const [a, b] = await Promise.all([openPostgresStore({ url }), openPostgresStore({ url })]);
    try {
      const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
      const applied = [...ra.applied, ...rb.applied].sort();
      expect(applied).toEqual([...new Set(applied)]);
      expect(applied.length).toBeGreaterThan(0);
      expect(ra.applied.length === 0 || rb.applied.length === 0).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('createStore() with a databaseUrl opens PostgreSQL and migrates it', async () => {
    const store = await createStore({ databaseUrl: await freshUrl() });
    try {
      expect(store.driver).toBe('postgres');
      expect(await store.countMessages({ provider: 'discord', tenant: 'demo' })).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('openPostgresStore() rejects with StoreError, password redacted, when nothing listens', async () => {
    const url = `postgres://u:secret@127.0.0.1:${await freePort()}/x`;
    const err = await openPostgresStore({ url, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).not.toContain('secret');
  });

  it('survives the server dropping its idle connections: counts the error and reconnects', async () => {
    const url = await freshUrl();
    const store = await createStore({ databaseUrl: url });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      expect(await store.countMessages({ provider: 'discord', tenant: 'demo' })).toBe(0);
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      for (let i = 0; i < 100 && store.counters.connectionErrors === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(store.counters.connectionErrors).toBeGreaterThan(0);
      expect(await store.countMessages({ provider: 'discord', tenant: 'demo' })).toBe(0);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
