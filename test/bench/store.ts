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

const suite: BenchSuite = {
  name: 'store',
  description: 'upserts of 10,000 messages (rows/s): PGlite vs PostgreSQL, batched unnest vs row by row in a transaction',
  async run(ctx) {
    const reps = ctx.quick ? 1 : 5;
    const results = new Map<string, { batched: number; naive: number }>();

    const dir = await mkdtemp(join(tmpdir(), 'promethean-bench-pglite-'));
    try {
      const store = await openPgliteStore({ dataDir: dir });
      try {
        results.set('pglite', await measureDriver(ctx, store, reps));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    if (hasPostgres()) {
      const server = await startPostgres({ durable: true, database: 'promethean_bench' });
      try {
        const store = await openPostgresStore({ url: server.url });
        try {
          results.set('postgres', await measureDriver(ctx, store, reps));
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
    return rows;
  },
};

export default suite;
