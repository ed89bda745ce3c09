/**
 * Entry of the message embedder process. Tokenless and storeless: its environment holds the hub URL,
 * the path of its bus key and where the model cache is; never a provider credential or a database.
 * It publishes `embed.vectors` (the server stores them) and answers `embed.query`.
 *
 * Model: `PROMETHEAN_MODELS_DIR` (default `~/.cache/promethean/models`); `PROMETHEAN_EMBED_THREADS`
 * sets onnxruntime's intra-op threads (0: its default).
 */
import { z } from 'zod';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { modelCacheDir } from '../../embed/manifest.ts';
import { openServerEmbedder } from '../../embed/server-embedder.ts';
import { startEmbedder } from './index.ts';

const Env = WorkerEnv.extend({
  PROMETHEAN_MODELS_DIR: z.string().min(1).optional(),
  PROMETHEAN_EMBED_THREADS: z.coerce.number().int().min(0).max(64).default(0),
});

async function main(): Promise<number> {
  const config = readWorkerEnv('message-embedder', Env);
  if (!config) return 2;
  const embedder = await openServerEmbedder({ cacheDir: modelCacheDir({ PROMETHEAN_MODELS_DIR: config.PROMETHEAN_MODELS_DIR }), threads: config.PROMETHEAN_EMBED_THREADS });
  const bus = await connectWorkerBus(config);
  const running = startEmbedder(agentBusFrom(bus), embedder, { logLevel: config.PROMETHEAN_LOG_LEVEL });
  await running.ready;
  return serveUntilStopped(() => running.stop(), () => bus.close(), () => embedder.close());
}

runAsProgram(import.meta.url, 'message-embedder', main);
