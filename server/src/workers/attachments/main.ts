/**
 * Entry of the attachment indexer process. Tokenless: the hub URL, its bus key, the store, the media
 * proxies (`provider/tenant=URL,…`) and the proxy client key file; never a provider credential.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { createStore } from '../../store/index.ts';
import { ProxyMediaFetcher, startAttachmentIndexer } from './index.ts';

const Proxies = z.string().transform((text, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z0-9_-]+\/[a-z0-9_-]+)=(https?:\/\/\S+)$/.exec(pair);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `"${pair}" is not provider/tenant=http(s)://…` });
      return z.NEVER;
    }
    out[m[1]!] = m[2]!;
  }
  return out;
});

const Env = WorkerEnv.extend({
  DATABASE_URL: z.string().min(1).optional(),
  PROMETHEAN_INDEX_PGLITE_DIR: z.string().min(1).optional(),
  PROMETHEAN_MEDIA_PROXIES: Proxies,
  PROMETHEAN_REST_PROXY_KEY_FILE: z.string().min(1),
  PROMETHEAN_ATTACHMENT_MAX_BYTES: z.coerce.number().int().min(1).max(1024 * 1024 * 1024).default(10 * 1024 * 1024),
}).refine((e) => e.DATABASE_URL !== undefined || e.PROMETHEAN_INDEX_PGLITE_DIR !== undefined, {
  message: 'set DATABASE_URL or PROMETHEAN_INDEX_PGLITE_DIR', path: ['DATABASE_URL'],
});

async function main(): Promise<number> {
  const config = readWorkerEnv('attachment-indexer', Env);
  if (!config) return 2;
  const store = await createStore(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : { dataDir: config.PROMETHEAN_INDEX_PGLITE_DIR! });
  const clientKey = (await readFile(config.PROMETHEAN_REST_PROXY_KEY_FILE, 'utf8')).trim();
  const bus = await connectWorkerBus(config);
  const indexer = startAttachmentIndexer(agentBusFrom(bus), store, new ProxyMediaFetcher({ proxies: config.PROMETHEAN_MEDIA_PROXIES, clientKey }), {
    logLevel: config.PROMETHEAN_LOG_LEVEL, maxBytes: config.PROMETHEAN_ATTACHMENT_MAX_BYTES,
  });
  await indexer.ready;
  return serveUntilStopped(() => indexer.stop(), () => bus.close(), () => store.close());
}

runAsProgram(import.meta.url, 'attachment-indexer', main);
