/**
 * The bulk load path must leave exactly the rows, and report exactly the counts, that the existing
 * `indexMessages` upsert does: both run the same steps side by side on two fresh stores of the same
 * driver (real PGlite and real PostgreSQL 15, each with COPY and with unnest staging), and whole
 * tables are compared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { requires } from '../../../test/support/requires.ts';
import { hasPostgres, startPostgres, POSTGRES_INSTALL_HINT, type RunningPostgres } from '../../../test/support/postgres.ts';
import { pgliteTemplate, type PgliteTemplate } from './testing.ts';
import { openPostgresStore } from './postgres.ts';
import type { SqlStore } from './sqlStore.ts';
import type { IndexMessageInput } from './text-index.ts';
import type { UpsertResult } from './store.ts';
import { StoreInputError } from './errors.ts';
import { BulkMessageLoader } from './bulk.ts';

const P = 'discord';
const DELETED_AT = new Date(Date.UTC(2026, 5, 1));

function msg(tenant: string, id: number, over: Partial<IndexMessageInput> = {}): IndexMessageInput {
  return {
    provider: P, tenant, foreign_id: String(5000 + id), space_id: 'g1', channel_id: `c${id % 3}`, author_id: `u${id % 7}`,
    content: `message ${id}`, created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)), raw: { id: String(5000 + id) }, ...over,
  };
}
const at = (minute: number) => new Date(Date.UTC(2026, 1, 1, 0, minute));

/** Text that CSV or a careless encoder could bend. */
const AWKWARD = ['', '"', '""quoted""', 'a,b,c', 'line one\nline two', 'crlf\r\nend', '\\.', '\\.\nafter the marker', 'back\\slash \\N',
  'NULL', '   ', 'tab\there', 'émoji 🎙️ ünïcödé 漢字', `${'long '.repeat(4000)}end`];

async function dump(store: SqlStore): Promise<unknown[]> {
  const r = await store.sql.query(`
    SELECT provider, tenant, foreign_id, space_id, channel_id, author_id, content, created_at, edited_at, raw::text AS raw,
           thread_id, deleted_at, content_hash
    FROM messages ORDER BY provider, tenant, foreign_id`);
  return r.rows.map((row) => ({ ...row, created_at: String(new Date(row.created_at as string).toISOString()), edited_at: row.edited_at === null ? null : new Date(row.edited_at as string).toISOString(), deleted_at: row.deleted_at === null ? null : new Date(row.deleted_at as string).toISOString() }));
}

/** Two stores of one driver, the same steps on both; every test has its own tenants and its own loader. */
interface Pair {
  index: SqlStore;
  bulk: SqlStore;
  loader: BulkMessageLoader;
}

function counts(r: UpsertResult): UpsertResult {
  return { inserted: r.inserted, updated: r.updated, unchanged: r.unchanged };
}

function runBulkSuite(name: string, open: () => Promise<{ index: SqlStore; bulk: SqlStore }>, method: 'copy' | 'unnest'): void {
  describe(`bulk indexMessages on ${name}`, () => {
    let stores: { index: SqlStore; bulk: SqlStore };
    beforeAll(async () => {
      stores = await open();
    }, 60_000);
    const pair = async (): Promise<Pair> => ({ ...stores, loader: new BulkMessageLoader(stores.bulk.sql, { forceUnnest: method === 'unnest' }) });

    /** Runs one batch through both paths; both must report the same counts. */
    async function both(p: Pair, rows: IndexMessageInput[]): Promise<UpsertResult> {
      const expected = await p.index.indexMessages(rows);
      const got = await p.loader.indexMessages(rows);
      expect(got.method).toBe(method);
      expect(counts(got)).toEqual(expected);
      return expected;
    }

    it('leaves the same rows and counts as indexMessages through repeats, reloads, edits, deletions and threads', async () => {
      const p = await pair();
      const t = 'bulk-eq';
      const first = [
        ...Array.from({ length: 300 }, (_, i) => msg(t, i, i % 10 === 0 ? { thread_id: `th${i}` } : {})),
        // Repeated keys in one call: the last occurrence wins.
        msg(t, 5, { content: 'first repeat of 5' }),
        msg(t, 5, { content: 'last repeat of 5' }),
        msg('bulk-other', 1),
      ];
      expect(await both(p, first)).toEqual({ inserted: 301, updated: 0, unchanged: 0 });
      expect(await dump(p.bulk)).toEqual(await dump(p.index));
      expect(await both(p, first)).toEqual({ inserted: 0, updated: 0, unchanged: 301 });

      for (const s of [p.index, p.bulk]) {
        expect(await s.markMessagesDeleted({ provider: P, tenant: t }, ['5010', '5011'], DELETED_AT)).toBe(2);
        expect(await s.editMessage({ provider: P, tenant: t, foreign_id: '5020', content: 'live edit at minute 30', edited_at: at(30) })).toBe('updated');
      }
      const second = [
        msg(t, 10, { content: 'a deleted message, backfilled again' }), // content changes, the deletion mark stays
        msg(t, 11), // identical to what is stored: unchanged, still deleted
        msg(t, 20, { content: 'an older edit', edited_at: at(10) }), // older than the live edit: stale, kept
        msg(t, 21, { content: 'a newer edit', edited_at: at(40) }),
        msg(t, 30), // thread_id absent: the known thread stays
        msg(t, 41, { thread_id: 'th-new' }), // a thread where there was none
        msg(t, 50, { author_id: 'someone-else', raw: { id: '5050', edited: true, note: 'say "hi", then go' } }),
        ...Array.from({ length: 50 }, (_, i) => msg(t, 1000 + i)),
      ];
      const r = await both(p, second);
      expect(r).toEqual({ inserted: 50, updated: 4, unchanged: 3 });
      expect(await dump(p.bulk)).toEqual(await dump(p.index));

      const got = await p.bulk.getIndexedMessage({ provider: P, tenant: t, foreign_id: '5010' });
      expect(got).toMatchObject({ content: 'a deleted message, backfilled again', deleted_at: DELETED_AT.toISOString() });
      expect(await p.bulk.getIndexedMessage({ provider: P, tenant: t, foreign_id: '5020' })).toMatchObject({ content: 'live edit at minute 30' });
      expect(await p.bulk.getIndexedMessage({ provider: P, tenant: t, foreign_id: '5030' })).toMatchObject({ thread_id: 'th30' });
      expect(await p.bulk.getIndexedMessage({ provider: P, tenant: t, foreign_id: '5005' })).toMatchObject({ content: 'last repeat of 5' });
      expect(p.loader.counters).toMatchObject({ loads: 3, rows: 301 + 301 + second.length, rejectedInputs: 0 });
    });

    it('carries awkward text through staging unchanged: quotes, commas, newlines, backslashes, a lone \\. line, empty content, unicode', async () => {
      const p = await pair();
      const t = 'bulk-text';
      const rows = AWKWARD.map((content, i) => msg(t, i, { content, author_id: content === '' ? 'u0' : `a${i}`, raw: { text: content, nested: { q: '"', list: [1, 'x,y', null] } }, thread_id: i % 2 ? content.slice(0, 20) || null : null }));
      expect(await both(p, rows)).toEqual({ inserted: AWKWARD.length, updated: 0, unchanged: 0 });
      expect(await dump(p.bulk)).toEqual(await dump(p.index));
      for (let i = 0; i < AWKWARD.length; i++) {
        const row = await p.bulk.getIndexedMessage({ provider: P, tenant: t, foreign_id: String(5000 + i) });
        expect(row?.content).toBe(AWKWARD[i]);
        expect(row?.raw).toEqual({ text: AWKWARD[i], nested: { q: '"', list: [1, 'x,y', null] } });
      }
      expect(await both(p, rows)).toEqual({ inserted: 0, updated: 0, unchanged: AWKWARD.length });
    });

    it('rejects a bad row with StoreInputError naming it, counts the refusal and writes nothing', async () => {
      const p = await pair();
      const t = 'bulk-bad';
      const rows: unknown[] = [msg(t, 1), msg(t, 2, { content: 'nul \u0000 inside' })];
      const err = await p.loader.indexMessages(rows as IndexMessageInput[]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreInputError);
      expect((err as StoreInputError).message).toMatch(/^rows\.1\.content: /);
      expect(await p.loader.indexMessages('not rows' as unknown as IndexMessageInput[]).catch((e: unknown) => e)).toBeInstanceOf(StoreInputError);
      expect(p.loader.counters).toMatchObject({ rejectedInputs: 2, loads: 0 });
      expect(await p.bulk.countMessages({ provider: P, tenant: t })).toBe(0);
      const small = new BulkMessageLoader(p.bulk.sql, { maxRows: 2 });
      expect(await small.indexMessages([msg(t, 1), msg(t, 2), msg(t, 3)]).catch((e: unknown) => e)).toBeInstanceOf(StoreInputError);
      expect(small.counters.rejectedInputs).toBe(1);
      expect(await p.loader.indexMessages([])).toMatchObject({ inserted: 0, updated: 0, unchanged: 0 });
    });

    it('turns a value the schema admits but the database refuses (year 0) into StoreInputError naming the row, counted, nothing written', async () => {
      const p = await pair();
      const t = 'bulk-refused';
      // Staged in first-seen key order: 5001 (last occurrence, rows[2]), 5002 (rows[1]), 5003 (rows[3]).
      const rows = [msg(t, 1), msg(t, 2), msg(t, 1, { content: 'again' }), msg(t, 3, { created_at: '0000-01-01T00:00:00Z' })];
      const err = await p.loader.indexMessages(rows).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreInputError);
      // COPY reports the line and column; unnest staging cannot say which row.
      const path = method === 'copy' ? 'rows.3.created_at' : 'rows';
      expect((err as StoreInputError).path).toBe(path);
      expect((err as StoreInputError).message).toMatch(new RegExp(`^${path.replaceAll('.', '\\.')}: date/time field value out of range`));
      expect(p.loader.counters).toMatchObject({ rejectedInputs: 1, loads: 0 });
      expect(await p.bulk.countMessages({ provider: P, tenant: t })).toBe(0);
    });

    it('stages in several unnest batches or one COPY and still merges once (5,001 rows, batches of 2,000)', async () => {
      const p = await pair();
      const loader = new BulkMessageLoader(p.bulk.sql, { stageBatchSize: 2000, forceUnnest: method === 'unnest' });
      const rows = Array.from({ length: 5001 }, (_, i) => msg('bulk-many', i));
      const expected = await p.index.indexMessages(rows);
      expect(counts(await loader.indexMessages(rows))).toEqual(expected);
      expect(expected.inserted).toBe(5001);
      expect(await dump(p.bulk)).toEqual(await dump(p.index));
    });
  });
}

describe('bulk load path', () => {
  let template: PgliteTemplate;
  beforeAll(async () => {
    template = await pgliteTemplate();
  });
  afterAll(async () => {
    await template?.close();
  });
  const pglitePair = async () => ({ index: await template.fresh(), bulk: await template.fresh() });
  runBulkSuite('PGlite (COPY FROM /dev/blob)', pglitePair, 'copy');
  runBulkSuite('PGlite (unnest staging)', pglitePair, 'unnest');
});

const available = requires('PostgreSQL 15 server', hasPostgres(), POSTGRES_INSTALL_HINT);

describe.skipIf(!available)('bulk load path on PostgreSQL', () => {
  let server: RunningPostgres;
  let dbCount = 0;
  const stores: SqlStore[] = [];

  async function freshStore(): Promise<SqlStore> {
    const name = `bulk_${++dbCount}`;
    const admin = new pg.Client({ connectionString: server.url.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const store = await openPostgresStore({ url: server.url.replace(/\/[^/]+$/, `/${name}`) });
    stores.push(store);
    await store.migrate();
    return store;
  }

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await server?.stop();
  });

  const postgresPair = async () => ({ index: await freshStore(), bulk: await freshStore() });
  runBulkSuite('PostgreSQL 15 (COPY FROM STDIN)', postgresPair, 'copy');
  runBulkSuite('PostgreSQL 15 (unnest staging)', postgresPair, 'unnest');
});
