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
 * - `bulk-100k <driver> (copy|unnest)`: the bulk load path (server/src/store/bulk.ts: validation,
 *   staging in a temporary table by COPY — `FROM '/dev/blob'` on PGlite, `FROM STDIN` through
 *   pg-copy-streams on PostgreSQL — or by unnest inserts, one merge), beside `index-100k` (the
 *   batched upsert); each step alone as rows/s (where the ceiling is), the same rows again (all
 *   unchanged), the cost of the channel index, and backfill-sized calls of 100 rows on both paths.
 * - `copy-100k <driver> (load ceiling)`: CSV encoding plus one COPY straight into `messages` (fresh
 *   keys, no validation, no conflict handling): what any load into the indexed table could reach;
 *   beside it the same into a copy of the table with its primary key only and into one with no
 *   index (the generated sha-256 column as a plain one in both), so the rows show what they cost.
 *
 * PGlite runs on a data directory on disk (as `promethean start` does); PostgreSQL 15 is a throw-away
 * server (test/support/postgres.ts) with default durability, reached over TCP on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';
import { hasPostgres, startPostgres } from '../support/postgres.ts';
import { openPgliteStore } from '../../server/src/store/pglite.ts';
import { openPostgresStore } from '../../server/src/store/postgres.ts';
import type { SqlStore } from '../../server/src/store/sqlStore.ts';
import type { MessageInput } from '../../server/src/store/store.ts';
import { MessageSchema } from '../../server/src/store/schemas.ts';
import { UPSERT_ONE_MESSAGE } from '../../server/src/store/queries.ts';
import { IndexMessageSchema, type IndexMessageInput } from '../../server/src/store/text-index.ts';
import { BulkMessageLoader, messagesCsv, type BulkTimings } from '../../server/src/store/bulk.ts';

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

/** Rows/s of the bulk path and of each of its steps (median over the repetitions). */
interface BulkMeasure {
  method: string;
  rate: number;
  /** Rows per second of each step alone: where the ceiling is. */
  steps: Record<keyof BulkTimings, number>;
  /** The same 100,000 rows loaded again: every row meets a conflict and is left unchanged. */
  repeat: number;
}

/**
 * `BulkMessageLoader.indexMessages()` (server/src/store/bulk.ts): validation, one COPY (PGlite) or
 * unnest inserts (PostgreSQL through pg) into a temporary table, one merge into `messages`.
 */
async function measureBulk(ctx: BenchContext, store: SqlStore, reps: number, forceUnnest = false): Promise<BulkMeasure> {
  await store.migrate();
  const loader = new BulkMessageLoader(store.sql, { forceUnnest });
  const rates: number[] = [];
  const repeats: number[] = [];
  const steps: Record<keyof BulkTimings, number[]> = { validate_ms: [], encode_ms: [], load_ms: [], merge_ms: [] };
  let method = '';
  for (let rep = 0; rep < reps; rep++) {
    const rows = indexRowsFor(`bulk_${store.driver}_${forceUnnest ? 'u' : 'c'}_${rep}`);
    let t0 = performance.now();
    const r = await loader.indexMessages(rows);
    rates.push(INDEX_ROWS / ((performance.now() - t0) / 1000));
    if (r.inserted !== INDEX_ROWS) throw new Error(`expected ${INDEX_ROWS} inserts, got ${JSON.stringify(r)}`);
    method = r.method;
    for (const k of Object.keys(steps) as (keyof BulkTimings)[]) if (r.timings[k] > 0) steps[k].push(INDEX_ROWS / (r.timings[k] / 1000));
    t0 = performance.now();
    const again = await loader.indexMessages(rows);
    repeats.push(INDEX_ROWS / ((performance.now() - t0) / 1000));
    if (again.unchanged !== INDEX_ROWS) throw new Error(`expected ${INDEX_ROWS} unchanged, got ${JSON.stringify(again)}`);
    const t = r.timings;
    ctx.log(`store: bulk-100k ${store.driver} (${r.method}) rep ${rep + 1}/${reps}: ${Math.round(rates.at(-1)!)} rows/s — validate ${t.validate_ms.toFixed(0)} ms, encode ${t.encode_ms.toFixed(0)} ms, load ${t.load_ms.toFixed(0)} ms, merge ${t.merge_ms.toFixed(0)} ms; repeat ${Math.round(repeats.at(-1)!)} rows/s`);
  }
  const m = (v: number[]) => (v.length > 0 ? median(v) : 0);
  return { method, rate: median(rates), repeat: median(repeats), steps: { validate_ms: m(steps.validate_ms), encode_ms: m(steps.encode_ms), load_ms: m(steps.load_ms), merge_ms: m(steps.merge_ms) } };
}

/**
 * Backfill-sized writes: 200 pages of 100 fresh rows, each page its own call, through `indexMessages`
 * and through the bulk loader (what the backfill would pay per page on either path).
 */
async function measurePages(ctx: BenchContext, store: SqlStore): Promise<{ index: number; bulk: number }> {
  const pages = 200;
  const loader = new BulkMessageLoader(store.sql);
  const out = { index: 0, bulk: 0 };
  for (const path of ['index', 'bulk'] as const) {
    const rows = indexRowsFor(`page_${store.driver}_${path}`, pages * 100);
    const t0 = performance.now();
    for (let p = 0; p < pages; p++) {
      const page = rows.slice(p * 100, p * 100 + 100);
      const r = path === 'index' ? await store.indexMessages(page) : await loader.indexMessages(page);
      if (r.inserted !== 100) throw new Error(`expected 100 inserts, got ${JSON.stringify(r)}`);
    }
    out[path] = (pages * 100) / ((performance.now() - t0) / 1000);
    ctx.log(`store: pages-100 ${store.driver} ${path}: ${Math.round(out[path])} rows/s`);
  }
  return out;
}

/**
 * What the secondary index costs a bulk load on PGlite: 100,000 fresh rows with
 * `messages_channel_created` in place, then (in the same throw-away database) 100,000 more with it
 * dropped, and the time to build it again over the whole table afterwards.
 */
async function measureIndexCost(ctx: BenchContext, dir: string): Promise<{ withIndex: number; withoutIndex: number; rebuildMs: number }> {
  const store = await openPgliteStore({ dataDir: dir, vector: false });
  try {
    await store.migrate();
    const loader = new BulkMessageLoader(store.sql);
    let t0 = performance.now();
    await loader.indexMessages(indexRowsFor('ixcost_a'));
    const withIndex = INDEX_ROWS / ((performance.now() - t0) / 1000);
    await store.sql.exec('DROP INDEX messages_channel_created');
    t0 = performance.now();
    await loader.indexMessages(indexRowsFor('ixcost_b'));
    const withoutIndex = INDEX_ROWS / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    await store.sql.exec('CREATE INDEX messages_channel_created ON messages (provider, tenant, channel_id, created_at)');
    const rebuildMs = performance.now() - t0;
    ctx.log(`store: bulk-100k pglite with the channel index ${Math.round(withIndex)} rows/s, without ${Math.round(withoutIndex)} rows/s; rebuilding it over 200,000 rows ${rebuildMs.toFixed(0)} ms`);
    return { withIndex, withoutIndex, rebuildMs };
  } finally {
    await store.close();
  }
}

/** Rows/s of one COPY of 100,000 fresh rows into `messages` and into two copies of it (median of reps). */
interface CopyCeiling {
  /** Into `messages`: primary key, `messages_channel_created`, the generated sha-256 column. */
  messages: number;
  /** Into a copy with the primary key only (no channel index, hash as a plain column). */
  primaryKeyOnly: number;
  /** Into a copy with no index at all (hash as a plain column): the bare heap. */
  bare: number;
}

/**
 * The loading ceiling: the rows (validated outside the clock) encoded as CSV and loaded with one
 * `COPY … FROM …` — fresh keys, no conflict handling, no staging: what the bulk path could reach at
 * most on this driver — into `messages` and into two copies of it without parts of its cost, so the
 * rows say what the table's indexes and generated column cost.
 */
async function measureCopyCeiling(ctx: BenchContext, store: SqlStore, reps: number): Promise<CopyCeiling> {
  await store.migrate();
  const columns = ['provider', 'tenant', 'foreign_id', 'space_id', 'channel_id', 'author_id', 'content', 'created_at', 'edited_at', 'raw', 'thread_id'];
  await store.sql.exec(`
    CREATE TABLE bench_messages_bare (LIKE messages INCLUDING DEFAULTS);
    CREATE TABLE bench_messages_pk (LIKE messages INCLUDING DEFAULTS);
    ALTER TABLE bench_messages_pk ADD PRIMARY KEY (provider, tenant, foreign_id);`);
  const targets = { messages: 'messages', primaryKeyOnly: 'bench_messages_pk', bare: 'bench_messages_bare' } as const;
  const rates: Record<keyof CopyCeiling, number[]> = { messages: [], primaryKeyOnly: [], bare: [] };
  try {
    for (let rep = 0; rep < reps; rep++) {
      // Interleaved, so a change in the shared machine's load touches every target alike.
      for (const [key, table] of Object.entries(targets) as [keyof CopyCeiling, string][]) {
        const rows = indexRowsFor(`copy_${store.driver}_${key}_${rep}`).map((r) => IndexMessageSchema.parse(r));
        const t0 = performance.now();
        const copied = await store.sql.transaction((tx) => tx.copyCsv!(table, columns, messagesCsv(rows)));
        rates[key].push(INDEX_ROWS / ((performance.now() - t0) / 1000));
        if (copied !== INDEX_ROWS) throw new Error(`expected ${INDEX_ROWS} rows copied into ${table}, got ${copied}`);
        ctx.log(`store: copy-100k ${store.driver} into ${table} rep ${rep + 1}/${reps}: ${Math.round(rates[key].at(-1)!)} rows/s`);
      }
    }
  } finally {
    await store.sql.exec('DROP TABLE bench_messages_bare; DROP TABLE bench_messages_pk;');
  }
  return { messages: median(rates.messages), primaryKeyOnly: median(rates.primaryKeyOnly), bare: median(rates.bare) };
}

/** Creates database `name` on the server of `url`; resolves to its URL. */
async function createDatabase(url: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return url.replace(/\/[^/]+$/, `/${name}`);
}

const suite: BenchSuite = {
  name: 'store',
  description: 'upserts of 10,000 messages (rows/s): PGlite vs PostgreSQL, batched unnest vs row by row in a transaction; 100,000 through the bulk path (COPY, merge) vs the batched upsert',
  async run(ctx) {
    const reps = ctx.quick ? 1 : 5;
    const results = new Map<string, { batched: number; naive: number }>();
    const indexResults = new Map<string, { index: number; validate: number }>();
    const bulkResults = new Map<string, BulkMeasure>();
    const pageResults = new Map<string, { index: number; bulk: number }>();
    const copyCeilings = new Map<string, CopyCeiling>();

    const dir = await mkdtemp(join(tmpdir(), 'promethean-bench-pglite-'));
    try {
      const store = await openPgliteStore({ dataDir: dir });
      try {
        results.set('pglite', await measureDriver(ctx, store, reps));
        indexResults.set('pglite', await measureIndex(ctx, store, ctx.quick ? 1 : 3));
        bulkResults.set('pglite', await measureBulk(ctx, store, ctx.quick ? 1 : 3));
        bulkResults.set('pglite unnest', await measureBulk(ctx, store, ctx.quick ? 1 : 3, true));
        pageResults.set('pglite', await measurePages(ctx, store));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    let indexCost: { withIndex: number; withoutIndex: number; rebuildMs: number } | undefined;
    const costDir = await mkdtemp(join(tmpdir(), 'promethean-bench-pglite-ixcost-'));
    try {
      indexCost = await measureIndexCost(ctx, costDir);
    } finally {
      await rm(costDir, { recursive: true, force: true });
    }
    const copyDir = await mkdtemp(join(tmpdir(), 'promethean-bench-pglite-copy-'));
    try {
      const store = await openPgliteStore({ dataDir: copyDir, vector: false });
      try {
        copyCeilings.set('pglite', await measureCopyCeiling(ctx, store, ctx.quick ? 1 : 3));
      } finally {
        await store.close();
      }
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
          bulkResults.set('postgres', await measureBulk(ctx, store, ctx.quick ? 1 : 3));
          bulkResults.set('postgres unnest', await measureBulk(ctx, store, ctx.quick ? 1 : 3, true));
          pageResults.set('postgres', await measurePages(ctx, store));
        } finally {
          await store.close();
        }
        // The load ceiling in a database of its own, so `messages` starts as empty as PGlite's does.
        const copyStore = await openPostgresStore({ url: await createDatabase(server.url, 'promethean_bench_copy') });
        try {
          copyCeilings.set('postgres', await measureCopyCeiling(ctx, copyStore, ctx.quick ? 1 : 3));
        } finally {
          await copyStore.close();
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
    for (const [driver, c] of copyCeilings) {
      const ix = indexResults.get(driver);
      const name = `copy-100k ${driver} (load ceiling)`;
      rows.push({ suite: 'store', name, unit: 'rows/s', value: c.messages, p50: c.messages, ...(ix ? { baseline: { name: `index-100k ${driver}`, value: ix.index } } : {}) });
      rows.push({ suite: 'store', name: `copy-100k ${driver} into a copy of messages with the primary key only`, unit: 'rows/s', value: c.primaryKeyOnly, p50: c.primaryKeyOnly, baseline: { name, value: c.messages } });
      rows.push({ suite: 'store', name: `copy-100k ${driver} into a copy of messages without indexes`, unit: 'rows/s', value: c.bare, p50: c.bare, baseline: { name, value: c.messages } });
    }
    for (const [key, b] of bulkResults) {
      const driver = key.split(' ')[0]!;
      const ix = indexResults.get(driver);
      const name = `bulk-100k ${driver} (${b.method})`;
      rows.push({ suite: 'store', name, unit: 'rows/s', value: b.rate, p50: b.rate, ...(ix ? { baseline: { name: `index-100k ${driver}`, value: ix.index } } : {}) });
      rows.push({ suite: 'store', name: `${name} repeat (all unchanged)`, unit: 'rows/s', value: b.repeat, p50: b.repeat, baseline: { name, value: b.rate } });
      for (const [step, rate] of Object.entries(b.steps)) {
        if (rate > 0) rows.push({ suite: 'store', name: `${name} step ${step.replace('_ms', '')} alone`, unit: 'rows/s', value: rate, p50: rate });
      }
    }
    if (indexCost) {
      rows.push({ suite: 'store', name: 'bulk-100k pglite without messages_channel_created', unit: 'rows/s', value: indexCost.withoutIndex, p50: indexCost.withoutIndex, baseline: { name: 'bulk-100k pglite with it (same database)', value: indexCost.withIndex } });
      rows.push({ suite: 'store', name: 'rebuild messages_channel_created over 200k rows', unit: 'ms', value: indexCost.rebuildMs, p50: indexCost.rebuildMs });
    }
    for (const [driver, r] of pageResults) {
      rows.push({ suite: 'store', name: `pages-100 bulk ${driver} (200 calls of 100 rows)`, unit: 'rows/s', value: r.bulk, p50: r.bulk, baseline: { name: `pages-100 index ${driver}`, value: r.index } });
    }
    return rows;
  },
};

export default suite;
