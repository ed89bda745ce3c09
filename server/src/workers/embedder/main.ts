/**
 * Entry of the message embedder process. Tokenless: its environment holds the hub URL, the path of its
 * bus key, where the store is and where the model cache is; never a provider credential.
 *
 * Store: `DATABASE_URL` (PostgreSQL with pgvector, shared with the server) or
 * `PROMETHEAN_EMBED_PGLITE_DIR` (a PGlite data directory this process owns: PGlite is single-process).
 * Model: `PROMETHEAN_MODELS_DIR` (default `~/.cache/promethean/models`).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BusClient } from '@promethean/shared';
import { agentBusFrom, runAsProgram, untilStopped } from '@promethean/shared/node';
import { modelCacheDir } from '../../embed/manifest.ts';
import { openServerEmbedder } from '../../embed/server-embedder.ts';
import { createStore, SqlStore } from '../../store/index.ts';
import { startEmbedder } from './index.ts';

const WorkerEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  DATABASE_URL: z.string().min(1).optional(),
  PROMETHEAN_EMBED_PGLITE_DIR: z.string().min(1).optional(),
  PROMETHEAN_MODELS_DIR: z.string().min(1).optional(),
  PROMETHEAN_EMBED_THREADS: z.coerce.number().int().min(0).max(64).default(0),
}).refine((e) => e.DATABASE_URL !== undefined || e.PROMETHEAN_EMBED_PGLITE_DIR !== undefined, {
  message: 'set DATABASE_URL or PROMETHEAN_EMBED_PGLITE_DIR', path: ['DATABASE_URL'],
});

async function main(): Promise<number> {
  const r = WorkerEnv.safeParse(process.env);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    console.error(`message-embedder: ${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const config = r.data;
  const embedder = await openServerEmbedder({ cacheDir: modelCacheDir({ PROMETHEAN_MODELS_DIR: config.PROMETHEAN_MODELS_DIR }), threads: config.PROMETHEAN_EMBED_THREADS });
  const store = await createStore(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : { dataDir: config.PROMETHEAN_EMBED_PGLITE_DIR! });
  if (!(store instanceof SqlStore) || !store.capabilities.vector) {
    await store.close();
    console.error('message-embedder: the store has no pgvector (PGlite has it; PostgreSQL needs the vector extension)');
    return 2;
  }
  const token = (await readFile(config.PROMETHEAN_AGENT_TOKEN_FILE, 'utf8')).trim();
  const bus = new BusClient({ url: config.PROMETHEAN_HUB_URL, token });
  await bus.connect();
  const running = startEmbedder(agentBusFrom(bus), store, embedder, { logLevel: config.PROMETHEAN_LOG_LEVEL });
  await running.ready;
  process.send?.({ type: 'ready' });
  await untilStopped();
  await running.stop();
  bus.close();
  await embedder.close();
  await store.close();
  return 0;
}

runAsProgram(import.meta.url, 'message-embedder', main);
