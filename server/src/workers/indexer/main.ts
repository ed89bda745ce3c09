/**
 * Entry of the message indexer process. Tokenless: its environment holds the hub URL, the path of its
 * bus key, where the store is, and the retention setting; never a provider credential.
 *
 * Store: `DATABASE_URL` (PostgreSQL, shared with the server) or `PROMETHEAN_INDEX_PGLITE_DIR` (a PGlite
 * data directory this process owns: PGlite is single-process, so it cannot share the server's).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BusClient } from '@promethean/shared';
import { agentBusFrom, runAsProgram, untilStopped } from '@promethean/shared/node';
import { createStore } from '../../store/index.ts';
import { parseRetention, startIndexer } from './index.ts';

const WorkerEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  DATABASE_URL: z.string().min(1).optional(),
  PROMETHEAN_INDEX_PGLITE_DIR: z.string().min(1).optional(),
  /** `provider/tenant=days,*=days` (see docs/configuration.md). */
  PROMETHEAN_INDEXER_RETENTION: z.string().optional(),
  PROMETHEAN_INDEXER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
}).refine((e) => e.DATABASE_URL !== undefined || e.PROMETHEAN_INDEX_PGLITE_DIR !== undefined, {
  message: 'set DATABASE_URL or PROMETHEAN_INDEX_PGLITE_DIR', path: ['DATABASE_URL'],
});

async function main(): Promise<number> {
  const r = WorkerEnv.safeParse(process.env);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    console.error(`message-indexer: ${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const config = r.data;
  let retentionDays: Record<string, number>;
  try {
    retentionDays = parseRetention(config.PROMETHEAN_INDEXER_RETENTION);
  } catch (err) {
    console.error(`message-indexer: ${(err as Error).message}`);
    return 2;
  }
  const store = await createStore(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : { dataDir: config.PROMETHEAN_INDEX_PGLITE_DIR! });
  const token = (await readFile(config.PROMETHEAN_AGENT_TOKEN_FILE, 'utf8')).trim();
  const bus = new BusClient({ url: config.PROMETHEAN_HUB_URL, token });
  await bus.connect();
  const indexer = await startIndexer(agentBusFrom(bus), store, {
    logLevel: config.PROMETHEAN_LOG_LEVEL, retentionDays, backfill: { maxConcurrentJobs: config.PROMETHEAN_INDEXER_CONCURRENCY },
  });
  await indexer.ready;
  process.send?.({ type: 'ready' });
  await untilStopped();
  await indexer.stop();
  bus.close();
  await store.close();
  return 0;
}

runAsProgram(import.meta.url, 'message-indexer', main);
