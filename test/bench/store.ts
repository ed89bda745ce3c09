/**
 * `promethean bench store`: upserting 10,000 social messages, in rows per second (median of the
 * repetitions; each repetition writes 10,000 fresh keys into a migrated database).
 *
 * - `upsert-10k pglite` / `upsert-10k postgres`: `Store.upsertMessages()`, one `INSERT … SELECT FROM
 *   unnest(…) ON CONFLICT DO UPDATE` per 5,000 rows, both batches in one transaction. Each driver is
 *   the other's baseline.
 * - `upsert-10k row-by-row <driver>`: the approach a user writes first — the same upsert statement
 *   once per row inside one transaction — with the batched row of the same driver as its baseline.
 *   Both approaches validate every row with the same schema, so the difference is the SQL strategy.
 *
 * PGlite runs on a data directory on disk (as `promethean start` does); PostgreSQL 15 is a throw-away
 * server (test/support/postgres.ts) with default durability, reached over TCP on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';
import { hasPostgres, startPostgres } from '../support/postgres.ts';
import { openPgliteStore } from '../../server/src/store/pglite.ts';
import { openPostgresStore } from '../../server/src/store/postgres.ts';
import type { SqlStore } from '../../server/src/store/sqlStore.ts';
import type { MessageInput } from '../../server/src/store/store.ts';
import { MessageSchema } from '../../server/src/store/schemas.ts';
import { UPSERT_ONE_MESSAGE } from '../../server/src/store/queries.ts';
import { PGlite } from '@electric-sql/pglite';
import { pgliteClient } from '../../server/src/store/pglite.ts';
import { SqlStore as SqlStoreClass } from '../../server/src/store/sqlStore.ts';
import { IndexMessageSchema, type IndexMessageInput } from '../../server/src/store/text-index.ts';

const ROWS = 10_000;

function rowsFor(rep: string): MessageInput[] {
  const base = Date.UTC(2026, 0, 1);
  return Array.from({ length: ROWS }, (_, i) => ({
    provider: 'discord',
    tenant: 'bench',
    foreign_id: `${rep}-${i}`,
    space_id: '1100000000000000001',
    channel_id: '1100000000000000002',
    author_id: `1100000000000000${String(100 + (i % 50))}`,
    content: `message ${i} of ${rep}: the quick brown fox jumps over the lazy dog`,
    created_at: new Date(base + i * 1000),
    raw: { id: `${rep}-${i}`, type: 0, attachments: [], mentions: [] },
  }));
}

async function batched(store: SqlStore, rows: MessageInput[]): Promise<void> {
  const r = await store.upsertMessages(rows);
  if (r.inserted !== rows.length) throw new Error(`expected ${rows.length} inserts, got ${JSON.stringify(r)}`);
}

async function rowByRow(store: SqlStore, rows: MessageInput[]): Promise<void> {
  await store.sql.transaction(async (tx) => {
    for (const input of rows) {
      const m = MessageSchema.parse(input);
      await tx.query(UPSERT_ONE_MESSAGE, [
        m.provider, m.tenant, m.foreign_id, m.space_id, m.channel_id, m.author_id, m.content, m.created_at, m.edited_at, m.raw,
      ]);
    }
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rows per second of `write`, median over `reps` repetitions of 10,000 fresh rows. */
async function measure(ctx: BenchContext, label: string, reps: number, write: (rows: MessageInput[]) => Promise<void>): Promise<number> {
  const rates: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const rows = rowsFor(`${label.replace(/\W+/g, '_')}_${rep}`);
    const t0 = performance.now();
    await write(rows);
    const seconds = (performance.now() - t0) / 1000;
    rates.push(ROWS / seconds);
    ctx.log(`store: ${label} rep ${rep + 1}/${reps}: ${Math.round(ROWS / seconds)} rows/s`);
  }
  return median(rates);
}

async function measureDriver(ctx: BenchContext, store: SqlStore, reps: number): Promise<{ batched: number; naive: number }> {
  await store.migrate();
  await store.upsertMessages(rowsFor('warmup').slice(0, 500));
  const b = await measure(ctx, `batched ${store.driver}`, reps, (rows) => batched(store, rows));
  const n = await measure(ctx, `row-by-row ${store.driver}`, reps, (rows) => rowByRow(store, rows));
  return { batched: b, naive: n };
}

// ---- The text index's bulk path (issue 12): 100,000 rows per repetition. ----
const INDEX_ROWS = 100_000;

function indexRowsFor(rep: string, n = INDEX_ROWS): IndexMessageInput[] {
  const base = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, i) => ({
    provider: 'discord',
    tenant: 'bench-index',
    foreign_id: `${rep}-${i}`,
    space_id: '1100000000000000001',
    channel_id: '1100000000000000002',
    author_id: `1100000000000000${String(100 + (i % 50))}`,
    content: `message ${i} of ${rep}: the quick brown fox jumps over the lazy dog`,
    created_at: new Date(base + i * 1000),
    thread_id: null,
    raw: { id: `${rep}-${i}`, type: 0 },
  }));
}

/** `indexMessages()` (validation + unnest upsert + generated content hash), and validation alone. */
async function measureIndex(ctx: BenchContext, store: SqlStore, reps: number): Promise<{ index: number; validate: number }> {
  await store.migrate();
  const index: number[] = [];
  const validate: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const rows = indexRowsFor(`ix_${store.driver}_${rep}`);
    let t0 = performance.now();
    for (const r of rows) IndexMessageSchema.parse(r);
    validate.push(INDEX_ROWS / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    const r = await store.indexMessages(rows);
    if (r.inserted !== INDEX_ROWS) throw new Error(`expected ${INDEX_ROWS} inserts, got ${JSON.stringify(r)}`);
    index.push(INDEX_ROWS / ((performance.now() - t0) / 1000));
    ctx.log(`store: index-100k ${store.driver} rep ${rep + 1}/${reps}: ${Math.round(index.at(-1)!)} rows/s (validation alone ${Math.round(validate.at(-1)!)} rows/s)`);
  }
  return { index: median(index), validate: median(validate) };
}

/** CSV field: quoted, quotes doubled (PostgreSQL's CSV format). */
const csv = (v: string): string => `"${v.replaceAll('"', '""')}"`;

/**
 * The loading ceiling on PGlite: `COPY messages FROM '/dev/blob'` (CSV) into the migrated table, fresh
 * keys, no conflict handling and no validation — what the bulk path could reach at most.
 */
async function measurePgliteCopy(ctx: BenchContext, dir: string, reps: number): Promise<number> {
  const db = await PGlite.create(dir);
  try {
    await new SqlStoreClass('pglite', pgliteClient(db), { vector: false }).migrate();
    const rates: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const rows = indexRowsFor(`copy_${rep}`);
      const t0 = performance.now();
      let text = '';
      for (const m of rows) {
        text += `${m.provider},${m.tenant},${csv(m.foreign_id)},${m.space_id},${m.channel_id},${m.author_id},${csv(m.content)},${(m.created_at as Date).toISOString()},${csv(JSON.stringify(m.raw))}\n`;
      }
      await db.query("COPY messages (provider, tenant, foreign_id, space_id, channel_id, author_id, content, created_at, raw) FROM '/dev/blob' WITH (FORMAT csv)", [], { blob: new Blob([text]) });
      rates.push(INDEX_ROWS / ((performance.now() - t0) / 1000));
      ctx.log(`store: copy-100k pglite rep ${rep + 1}/${reps}: ${Math.round(rates.at(-1)!)} rows/s`);
    }
    return median(rates);
  } finally {
    await db.close();
  }
}

const suite: BenchSuite = {
  name: 'store',
  description: 'upserts of 10,000 messages (rows/s): PGlite vs PostgreSQL, batched unnest vs row by row in a transaction',
  async run(ctx) {
    const reps = ctx.quick ? 1 : 5;
    const results = new Map<string, { batched: number; naive: number }>();
    const indexResults = new Map<string, { index: number; validate: number }>();
    let copyCeiling: number | undefined;

    const dir = await mkdtemp(join(tmpdir(), 'promethean-bench-pglite-'));
    try {
      const store = await openPgliteStore({ dataDir: dir });
      try {
        results.set('pglite', await measureDriver(ctx, store, reps));
        indexResults.set('pglite', await measureIndex(ctx, store, ctx.quick ? 1 : 3));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const copyDir = await mkdtemp(join(tmpdir(), 'promethean-bench-pglite-copy-'));
    try {
      copyCeiling = await measurePgliteCopy(ctx, copyDir, ctx.quick ? 1 : 3);
    } finally {
      await rm(copyDir, { recursive: true, force: true });
    }

    if (hasPostgres()) {
      const server = await startPostgres({ durable: true, database: 'promethean_bench' });
      try {
        const store = await openPostgresStore({ url: server.url });
        try {
          results.set('postgres', await measureDriver(ctx, store, reps));
          indexResults.set('postgres', await measureIndex(ctx, store, ctx.quick ? 1 : 3));
        } finally {
          await store.close();
        }
      } finally {
        await server.stop();
      }
    } else {
      ctx.log('store: PostgreSQL 15 binaries not found; postgres rows skipped');
    }

    const rows: BenchRow[] = [];
    for (const [driver, r] of results) {
      const other = driver === 'pglite' ? 'postgres' : 'pglite';
      const otherResult = results.get(other);
      rows.push({
        suite: 'store',
        name: `upsert-10k ${driver}`,
        unit: 'rows/s',
        value: r.batched,
        p50: r.batched,
        ...(otherResult ? { baseline: { name: `upsert-10k ${other}`, value: otherResult.batched } } : {}),
      });
    }
    for (const [driver, r] of results) {
      rows.push({
        suite: 'store',
        name: `upsert-10k row-by-row ${driver}`,
        unit: 'rows/s',
        value: r.naive,
        p50: r.naive,
        baseline: { name: `upsert-10k ${driver}`, value: r.batched },
      });
    }
    for (const [driver, r] of indexResults) {
      rows.push({
        suite: 'store', name: `index-100k ${driver}`, unit: 'rows/s', value: r.index, p50: r.index,
        ...(results.get(driver) ? { baseline: { name: `upsert-10k ${driver}`, value: results.get(driver)!.batched } } : {}),
      });
      rows.push({ suite: 'store', name: `index-100k validation only ${driver}`, unit: 'rows/s', value: r.validate, p50: r.validate });
    }
    if (copyCeiling !== undefined) {
      const ix = indexResults.get('pglite');
      rows.push({ suite: 'store', name: 'copy-100k pglite (load ceiling)', unit: 'rows/s', value: copyCeiling, p50: copyCeiling, ...(ix ? { baseline: { name: 'index-100k pglite', value: ix.index } } : {}) });
    }
    return rows;
  },
};

export default suite;
