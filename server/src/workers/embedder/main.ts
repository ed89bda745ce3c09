/**
 * Entry of the message embedder process. Tokenless: its environment holds the hub URL, the path of its
 * bus key, where the store is and where the model cache is; never a provider credential.
 *
 * Store: `DATABASE_URL` (PostgreSQL with pgvector, shared with the server) or
 * `PROMETHEAN_EMBED_PGLITE_DIR` (a PGlite data directory this process owns: PGlite is single-process).
 * Model: `PROMETHEAN_MODELS_DIR` (default `~/.cache/promethean/models`).
 */
import { z } from 'zod';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { modelCacheDir } from '../../embed/manifest.ts';
import { openServerEmbedder } from '../../embed/server-embedder.ts';
import { createStore, SqlStore } from '../../store/index.ts';
import { startEmbedder } from './index.ts';

const Env = WorkerEnv.extend({
  DATABASE_URL: z.string().min(1).optional(),
  PROMETHEAN_EMBED_PGLITE_DIR: z.string().min(1).optional(),
  PROMETHEAN_MODELS_DIR: z.string().min(1).optional(),
  PROMETHEAN_EMBED_THREADS: z.coerce.number().int().min(0).max(64).default(0),
}).refine((e) => e.DATABASE_URL !== undefined || e.PROMETHEAN_EMBED_PGLITE_DIR !== undefined, {
  message: 'set DATABASE_URL or PROMETHEAN_EMBED_PGLITE_DIR', path: ['DATABASE_URL'],
});

async function main(): Promise<number> {
  const config = readWorkerEnv('message-embedder', Env);
  if (!config) return 2;
  const embedder = await openServerEmbedder({ cacheDir: modelCacheDir({ PROMETHEAN_MODELS_DIR: config.PROMETHEAN_MODELS_DIR }), threads: config.PROMETHEAN_EMBED_THREADS });
  const store = await createStore(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : { dataDir: config.PROMETHEAN_EMBED_PGLITE_DIR! });
  if (!(store instanceof SqlStore) || !store.capabilities.vector) {
    await store.close();
    console.error('message-embedder: the store has no pgvector (PGlite has it; PostgreSQL needs the vector extension)');
    return 2;
  }
  const bus = await connectWorkerBus(config);
  const running = startEmbedder(agentBusFrom(bus), store, embedder, { logLevel: config.PROMETHEAN_LOG_LEVEL });
  await running.ready;
  return serveUntilStopped(() => running.stop(), () => bus.close(), () => embedder.close(), () => store.close());
}

runAsProgram(import.meta.url, 'message-embedder', main);
