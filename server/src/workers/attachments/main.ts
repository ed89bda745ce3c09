/**
 * Entry of the attachment indexer process. Tokenless: the hub URL, its bus key, the store, the media
 * proxies (`provider/tenant=URL,…`) and the proxy client key file; never a provider credential.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BusClient } from '@promethean/shared';
import { agentBusFrom, runAsProgram, untilStopped } from '@promethean/shared/node';
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

const WorkerEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  DATABASE_URL: z.string().min(1).optional(),
  PROMETHEAN_INDEX_PGLITE_DIR: z.string().min(1).optional(),
  PROMETHEAN_MEDIA_PROXIES: Proxies,
  PROMETHEAN_REST_PROXY_KEY_FILE: z.string().min(1),
  PROMETHEAN_ATTACHMENT_MAX_BYTES: z.coerce.number().int().min(1).max(1024 * 1024 * 1024).default(10 * 1024 * 1024),
}).refine((e) => e.DATABASE_URL !== undefined || e.PROMETHEAN_INDEX_PGLITE_DIR !== undefined, {
  message: 'set DATABASE_URL or PROMETHEAN_INDEX_PGLITE_DIR', path: ['DATABASE_URL'],
});

async function main(): Promise<number> {
  const r = WorkerEnv.safeParse(process.env);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    console.error(`attachment-indexer: ${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const config = r.data;
  const store = await createStore(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : { dataDir: config.PROMETHEAN_INDEX_PGLITE_DIR! });
  const clientKey = (await readFile(config.PROMETHEAN_REST_PROXY_KEY_FILE, 'utf8')).trim();
  const token = (await readFile(config.PROMETHEAN_AGENT_TOKEN_FILE, 'utf8')).trim();
  const bus = new BusClient({ url: config.PROMETHEAN_HUB_URL, token });
  await bus.connect();
  const indexer = startAttachmentIndexer(agentBusFrom(bus), store, new ProxyMediaFetcher({ proxies: config.PROMETHEAN_MEDIA_PROXIES, clientKey }), {
    logLevel: config.PROMETHEAN_LOG_LEVEL, maxBytes: config.PROMETHEAN_ATTACHMENT_MAX_BYTES,
  });
  await indexer.ready;
  process.send?.({ type: 'ready' });
  await untilStopped();
  indexer.stop();
  bus.close();
  await store.close();
  return 0;
}

runAsProgram(import.meta.url, 'attachment-indexer', main);
