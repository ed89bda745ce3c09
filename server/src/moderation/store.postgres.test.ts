/** Moderation rules and flags on a throw-away PostgreSQL 15 server (a fresh database per test). */
import { afterAll, beforeAll, describe } from 'vitest';
import pg from 'pg';
import { requires } from '../../../test/support/requires.ts';
import { hasPostgres, startPostgres, POSTGRES_INSTALL_HINT, type RunningPostgres } from '../../../test/support/postgres.ts';
import { openPostgresStore } from '../store/postgres.ts';
import type { Store } from '../store/index.ts';
import { runModerationStoreSuite } from './store.suite.ts';

const available = requires('PostgreSQL 15 server', hasPostgres(), POSTGRES_INSTALL_HINT);

describe.skipIf(!available)('moderation on PostgreSQL', () => {
  let server: RunningPostgres;
  let n = 0;
  const opened: Store[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await server?.stop();
  });

  runModerationStoreSuite('postgres', async () => {
    const name = `moderation_${++n}`;
    const admin = new pg.Client({ connectionString: server.url.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const store = await openPostgresStore({ url: server.url.replace(/\/[^/]+$/, `/${name}`) });
    opened.push(store);
    await store.migrate();
    return store;
  });
});
