/**
 * Entry of the message indexer process. Tokenless: its environment holds the hub URL, the path of its
 * bus key, where the store is, and the retention setting; never a provider credential.
 *
 * Store: `DATABASE_URL` (PostgreSQL, shared with the server) or `PROMETHEAN_INDEX_PGLITE_DIR` (a PGlite
 * data directory this process owns: PGlite is single-process, so it cannot share the server's).
 */
import { z } from 'zod';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { createStore } from '../../store/index.ts';
import { parseRetention, startIndexer } from './index.ts';

const Env = WorkerEnv.extend({
  DATABASE_URL: z.string().min(1).optional(),
  PROMETHEAN_INDEX_PGLITE_DIR: z.string().min(1).optional(),
  /** `provider/tenant=days,*=days` (see docs/configuration.md). */
  PROMETHEAN_INDEXER_RETENTION: z.string().optional(),
  PROMETHEAN_INDEXER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
}).refine((e) => e.DATABASE_URL !== undefined || e.PROMETHEAN_INDEX_PGLITE_DIR !== undefined, {
  message: 'set DATABASE_URL or PROMETHEAN_INDEX_PGLITE_DIR', path: ['DATABASE_URL'],
});

async function main(): Promise<number> {
  const config = readWorkerEnv('message-indexer', Env);
  if (!config) return 2;
  let retentionDays: Record<string, number>;
  try {
    retentionDays = parseRetention(config.PROMETHEAN_INDEXER_RETENTION);
  } catch (err) {
    console.error(`message-indexer: ${(err as Error).message}`);
    return 2;
  }
  const store = await createStore(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : { dataDir: config.PROMETHEAN_INDEX_PGLITE_DIR! });
  const bus = await connectWorkerBus(config);
  const indexer = await startIndexer(agentBusFrom(bus), store, {
    logLevel: config.PROMETHEAN_LOG_LEVEL, retentionDays, backfill: { maxConcurrentJobs: config.PROMETHEAN_INDEXER_CONCURRENCY },
  });
  await indexer.ready;
  return serveUntilStopped(() => indexer.stop(), () => bus.close(), () => store.close());
}

runAsProgram(import.meta.url, 'message-indexer', main);
